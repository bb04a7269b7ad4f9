"""Prometheus metrics scraped from the running API, checked against the rounds in the store."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from oracle.store import FailureKind, RoundStatus
from tests.api.conftest import LiveFeed


def _samples(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_rounds_failures_prove_time_gas_and_queue(client: httpx.Client, live_feed: LiveFeed) -> None:
    samples = _samples(client)
    rows = live_feed.store.rounds(feed_id="demo")
    landed = [r for r in rows if r.status is RoundStatus.LANDED]
    proven = [r.prove_seconds for r in rows if r.prove_seconds is not None]
    # Every figure but prove time is per chain; the demo feed is on the session's Anvil only.
    on_chain = (("chain", str(live_feed.node.deployment.chain_id)), ("feed", "demo"))
    feed = (("feed", "demo"),)

    assert samples[("zkoracle_rounds", (*on_chain, ("status", "landed")))] == len(landed)
    assert samples[("zkoracle_rounds", (*on_chain, ("status", "proven")))] == 1
    assert samples[("zkoracle_rounds_landed_total", on_chain)] == len(landed)
    failures = [r for r in rows if r.status is RoundStatus.FAILED]
    assert failures and all(r.failure_kind is FailureKind.SOURCE for r in failures)
    assert samples[("zkoracle_round_failures_total", (*on_chain, ("reason", "source")))] == len(failures)
    assert samples[("zkoracle_prove_seconds_count", feed)] == len(proven)
    assert samples[("zkoracle_prove_seconds_sum", feed)] == pytest.approx(sum(proven))
    assert samples[("zkoracle_submit_gas_count", on_chain)] == len(landed)
    assert samples[("zkoracle_submit_gas_sum", on_chain)] == sum(int(r.gas_used or 0) for r in landed)
    infinite = samples[("zkoracle_submit_gas_bucket", (*on_chain, ("le", "+Inf")))]
    assert infinite == len(landed) and samples[("zkoracle_submit_gas_bucket", (*on_chain, ("le", "250000.0")))] == 0
    assert samples[("zkoracle_relayer_queue_depth", on_chain)] == 1  # the proven round waiting for the relayer
