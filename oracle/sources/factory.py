"""A running source from a feed's ``[source]`` settings.

Kept apart from :mod:`oracle.sources.settings` so that reading feed.toml never loads
the sources' implementations (HTTP clients, web3, the feed's own code).
"""

from __future__ import annotations

from oracle.exceptions import SourceError
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.evm_aggregator import EvmAggregatorSource
from oracle.sources.evm_view import EvmViewSource
from oracle.sources.file import FileSource
from oracle.sources.http_json import HttpJsonSource
from oracle.sources.python_callable import CallableSource
from oracle.sources.settings import (
    BundleSourceSpec,
    CallableSourceSpec,
    EvmAggregatorSourceSpec,
    EvmViewSourceSpec,
    FileSourceSpec,
    HttpJsonSourceSpec,
    SourceSpec,
    SyntheticSourceSpec,
)
from oracle.sources.synthetic import SyntheticPriceSource


def create_source(settings: SourceSpec, context: SourceContext | None = None) -> InputSource:
    """The source ``settings`` describe; ``context`` is what an on-chain source needs from the node.

    A bundle's source is made of its member feeds' sources, which only the feeds room can read:
    a feed's source, bundle or not, comes from :func:`oracle.feeds.source.feed_source`.
    """
    match settings:
        case SyntheticSourceSpec():
            return SyntheticPriceSource.from_settings(settings)
        case EvmViewSourceSpec():
            return EvmViewSource.from_settings(settings, context)
        case EvmAggregatorSourceSpec():
            return EvmAggregatorSource.from_settings(settings, context)
        case HttpJsonSourceSpec():
            return HttpJsonSource.from_settings(settings)
        case FileSourceSpec():
            return FileSource.from_settings(settings)
        case CallableSourceSpec():
            return CallableSource.from_settings(settings)
        case BundleSourceSpec():
            raise SourceError(
                f"bundle source of {settings.folder}: its members are feeds; build it with oracle.feeds.source.feed_source"
            )
