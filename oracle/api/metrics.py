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


def _histogram(
    name: str,
    documentation: str,
    buckets: Sequence[float],
    labels: list[str],
    by_key: dict[tuple[str, ...], list[float]],
) -> Metric:
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, values in sorted(by_key.items()):
        cumulative = [(str(bound), float(sum(v <= bound for v in values))) for bound in buckets]
        cumulative.append(("+Inf", float(len(values))))
        family.add_metric(list(key), cumulative, sum_value=math.fsum(values))
    return family


class StoreCollector(Collector):
    """Every per-feed family is labelled by chain too, as a feed posts each round to each of its chains;
    prove time alone is per proof (one per round, whichever chains it is posted to)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[Metric]:
        by_status: Counter[tuple[str, str, str]] = Counter()
        failures: Counter[tuple[str, str, str]] = Counter()
        prove: dict[tuple[str, ...], list[float]] = defaultdict(list)
        gas: dict[tuple[str, ...], list[float]] = defaultdict(list)
        for figures in self._store.round_figures():
            feed, chain, status = figures.feed_id, str(figures.chain_id), figures.status
            by_status[(feed, chain, status.value)] += 1
            if status is RoundStatus.FAILED:
                failures[(feed, chain, failure_label(figures.failure_kind, figures.failure_error))] += 1
            # A round posting another round's proof carries that round's prove time: counted there.
            if figures.prove_seconds is not None and figures.proof_round_id is None:
                prove[(feed,)].append(figures.prove_seconds)
            if status is RoundStatus.LANDED and figures.gas_used is not None:
                gas[(feed, chain)].append(float(figures.gas_used))
        feed_chains = sorted({(feed, chain) for feed, chain, _status in by_status})

        # Landed and failed are final states, so their counts only grow: counters. The others move on: a gauge.
        rounds = GaugeMetricFamily(
            "zkoracle_rounds", "Rounds by feed, chain and current status", labels=["feed", "chain", "status"]
        )
        landed = CounterMetricFamily("zkoracle_rounds_landed", "Rounds accepted on-chain", labels=["feed", "chain"])
        for feed, chain in feed_chains:
            for status in RoundStatus:
                rounds.add_metric([feed, chain, status.value], float(by_status[(feed, chain, status.value)]))
            landed.add_metric([feed, chain], float(by_status[(feed, chain, RoundStatus.LANDED.value)]))
        yield rounds
        yield landed

        failed = CounterMetricFamily(
            "zkoracle_round_failures",
            "Failed rounds by feed, chain and reason: the failure kind, and the contract's error when one refused "
            "the round",
            labels=["feed", "chain", "reason"],
        )
        for (feed, chain, reason), count in sorted(failures.items()):
            failed.add_metric([feed, chain, reason], float(count))
        yield failed

        yield _histogram(
            "zkoracle_prove_seconds",
            "Seconds to prove a round (witness and proof), once per proof whichever chains it is posted to",
            PROVE_BUCKETS,
            ["feed"],
            prove,
        )
        yield _histogram(
            "zkoracle_submit_gas",
            "Gas used by each landed ZkOracle.submit or submitSlices",
            GAS_BUCKETS,
            ["feed", "chain"],
            gas,
        )

        queue = GaugeMetricFamily(
            "zkoracle_relayer_queue_depth", "Rounds proven or submitted but not yet landed", labels=["feed", "chain"]
        )
        for feed, chain in feed_chains:
            waiting = (
                by_status[(feed, chain, RoundStatus.PROVEN.value)]
                + by_status[(feed, chain, RoundStatus.SUBMITTED.value)]
            )
            queue.add_metric([feed, chain], float(waiting))
        yield queue


def registry_for(store: Store) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store))
    return registry
