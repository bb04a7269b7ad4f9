"""A bundle's inputs: each member feed's source, through the member's own ``[input]``, in member order.

The bundle's composed model (see :mod:`oracle.feeds.bundle`) takes the members' inputs
one after the other, then the one observation time they share; so a round fetches every
member's source as that member's own feed would, and lays the values out the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from oracle.feeds.loader import load_feed
from oracle.feeds.schema import FeedSpec
from oracle.sources.base import InputSource, SourceContext
from oracle.sources.settings import BundleSourceSpec, SourceSpec


class BundleSource(InputSource):
    def __init__(self, members: Sequence[tuple[FeedSpec, InputSource]]) -> None:
        self.members = list(members)

    @classmethod
    def from_settings(
        cls,
        settings: BundleSourceSpec,
        context: SourceContext | None,
        *,
        create: Callable[[SourceSpec, SourceContext | None], InputSource],
    ) -> BundleSource:
        specs = [load_feed(folder) for folder in settings.member_folders]
        return cls([(spec, create(spec.source, context)) for spec in specs])

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        values: list[float] = []
        for spec, source in self.members:
            values += spec.input.apply(source.fetch(now=now))
        return values
