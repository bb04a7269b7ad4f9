"""bench.soak's bookkeeping: the feeds it writes, and the round period it expects of the node."""

from __future__ import annotations

from pathlib import Path

from bench.soak import CHAINS, HEARTBEAT_SECONDS, INTERVAL_SECONDS, post_period, write_feeds
from oracle.evm.anvil import AnvilNode
from oracle.feeds.loader import load_feed
from oracle.store import Round
from oracle.triggers import decide


def test_the_soak_feeds_post_to_both_chains_on_the_heartbeat_the_benchmark_expects(tmp_path: Path) -> None:
    anvils = {name: AnvilNode(chain_id=chain) for name, chain in CHAINS.items()}  # never started: only their URLs
    folders = write_feeds(tmp_path, 3, anvils)
    specs = [load_feed(folder) for folder in folders]
    assert [spec.id for spec in specs] == ["soak-1", "soak-2", "soak-3"]
    assert {target.chain_id for target in specs[0].targets.values()} == set(CHAINS.values())

    # The node's own trigger, ticked on the schedule after a landed round: it posts when bench.soak says.
    spec, landed_at = specs[0], 1_000_000
    last = Round(feed_id=spec.id, deployment_id=1, circuit_key="k", inputs_json="[]", observed_at=landed_at)
    last.model_output = 1.0
    tick = 0
    while True:
        tick += 1
        now = landed_at + tick * INTERVAL_SECONDS + 0.4  # a tick's fetch starts a little after it fires
        observed = Round(feed_id=spec.id, deployment_id=1, circuit_key="k", inputs_json="[]", observed_at=int(now))
        observed.model_output = 1.0
        if decide(spec, observed, last, now=now).post:
            break
    assert tick * INTERVAL_SECONDS == post_period(INTERVAL_SECONDS, HEARTBEAT_SECONDS) < HEARTBEAT_SECONDS
