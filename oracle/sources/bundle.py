"""A bundle's inputs: each member feed's source, through the member's own ``[input]``, in member order.

The bundle's composed model (see :mod:`oracle.feeds.bundle`) takes the members' inputs
one after the other, then the one observation time they share; so a round fetches every
member's source as that member's own feed would, and lays the values out the same way.
The members are feeds, which this room does not read: :func:`oracle.feeds.source.feed_source`
loads them and hands each one's running source and ``[input]`` transform in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from oracle.sources.base import InputSource

# A member feed's ``[input]``: its source's values to its model's inputs.
ValueTransform = Callable[[Sequence[float]], Sequence[float]]


class BundleSource(InputSource):
    def __init__(self, members: Sequence[tuple[InputSource, ValueTransform]]) -> None:
        self.members = list(members)

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        values: list[float] = []
        for source, transform in self.members:
            values += transform(source.fetch(now=now))
        return values
