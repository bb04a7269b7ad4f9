"""Prometheus metrics, computed from the store at scrape time.

The node and the API are separate processes sharing only the database, so every figure
is derived from the rounds table when Prometheus scrapes, never counted in memory.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from oracle.store import RoundStatus, Store, failure_label

PROVE_BUCKETS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
GAS_BUCKETS = (250_000.0, 500_000.0, 600_000.0, 700_000.0, 800_000.0, 1_000_000.0, 1_500_000.0, 2_000_000.0)


def _histogram(name: str, documentation: str, buckets: Sequence[float], by_feed: dict[str, list[float]]) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=["feed"])
    for feed, values in sorted(by_feed.items()):
        cumulative = [(str(bound), float(sum(v <= bound for v in values))) for bound in buckets]
        cumulative.append(("+Inf", float(len(values))))
        family.add_metric([feed], cumulative, sum_value=math.fsum(values))
    return family


class StoreCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        by_status: Counter[tuple[str, str]] = Counter()
        failures: Counter[tuple[str, str]] = Counter()
        prove: dict[str, list[float]] = defaultdict(list)
        gas: dict[str, list[float]] = defaultdict(list)
        for feed, status, kind, error, prove_seconds, gas_used in self._store.round_figures():
            by_status[(feed, status.value)] += 1
            if status is RoundStatus.FAILED:
                failures[(feed, failure_label(kind, error))] += 1
            if prove_seconds is not None:
                prove[feed].append(prove_seconds)
            if status is RoundStatus.LANDED and gas_used is not None:
                gas[feed].append(float(gas_used))
        feeds = sorted({feed for feed, _status in by_status})

        # Landed and failed are final states, so their counts only grow: counters. The others move on: a gauge.
        rounds = GaugeMetricFamily("zkoracle_rounds", "Rounds by feed and current status", labels=["feed", "status"])
        landed = CounterMetricFamily("zkoracle_rounds_landed", "Rounds accepted on-chain", labels=["feed"])
        for feed in feeds:
            for status in RoundStatus:
                rounds.add_metric([feed, status.value], float(by_status[(feed, status.value)]))
            landed.add_metric([feed], float(by_status[(feed, RoundStatus.LANDED.value)]))
        yield rounds
        yield landed

        failed = CounterMetricFamily(
            "zkoracle_round_failures",
            "Failed rounds by feed and reason: the failure kind, and the contract's error when one refused the round",
            labels=["feed", "reason"],
        )
        for (feed, reason), count in sorted(failures.items()):
            failed.add_metric([feed, reason], float(count))
        yield failed

        yield _histogram("zkoracle_prove_seconds", "Seconds to prove a round (witness and proof)", PROVE_BUCKETS, prove)
        yield _histogram(
            "zkoracle_submit_gas", "Gas used by each landed ZkOracle.submit or submitSlices", GAS_BUCKETS, gas
        )

        queue = GaugeMetricFamily(
            "zkoracle_relayer_queue_depth", "Rounds proven or submitted but not yet landed", labels=["feed"]
        )
        for feed in feeds:
            waiting = by_status[(feed, RoundStatus.PROVEN.value)] + by_status[(feed, RoundStatus.SUBMITTED.value)]
            queue.add_metric([feed], float(waiting))
        yield queue


def registry_for(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry
