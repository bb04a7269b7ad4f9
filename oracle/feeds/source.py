"""A feed's running source: its ``[source]``, or for a bundle every member feed's own source."""

from __future__ import annotations

from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.bundle import BundleSource
from oracle.sources.factory import create_source
from oracle.sources.settings import BundleSourceSpec


def feed_source(spec: FeedSpec, context: SourceContext | None = None) -> InputSource:
    """``spec``'s source; ``context`` is what an on-chain source needs from the node.

    A bundle fetches each member's source through that member's own ``[input]``, in member
    order, as the member's own feed would (see :mod:`oracle.sources.bundle`).
    """
    if isinstance(spec.source, BundleSourceSpec):
        members = [load_feed(folder) for folder in spec.source.member_folders]
        return BundleSource([(feed_source(member, context), member.input.apply) for member in members])
    return create_source(spec.source, context)
