"""Heartbeat and deviation triggers: every tick infers, only some ticks are proven and posted."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from web3 import Web3

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.circuits.feed import FeedCircuit
from oracle.deployments.lifecycle import ensure_deployment
from oracle.evm.anvil import AnvilNode
from oracle.feeds.answer import Answer
from oracle.feeds.schema import FeedSpec, ScheduleSpec, TriggerSpec
from oracle.node import FeedNode
from oracle.provers import LocalProver
from oracle.sources.base import InputSource
from oracle.store import Round, RoundAnswer, RoundStatus, Store
from oracle.triggers import decide, decide_answers


def _spec(demo_spec: FeedSpec, *, deviation: float | None, heartbeat: int) -> FeedSpec:
    return demo_spec.model_copy(
        update={
            "trigger": TriggerSpec(deviation_percent=deviation),
            "onchain": demo_spec.onchain.model_copy(update={"heartbeat_seconds": heartbeat}),
            "schedule": ScheduleSpec(interval_seconds=1),
        }
    )


def _round(output: float, observed_at: int) -> Round:
    return Round(
        feed_id="demo", deployment_id=1, circuit_key="k", inputs_json="[]", model_output=output, observed_at=observed_at
    )


@pytest.mark.parametrize(
    ("last", "new", "now", "post", "why"),
    [
        (None, 100.0, 1000, True, "first round"),
        (100.0, 100.4, 1005, False, "deviation 0.400% < 1.0%, heartbeat due in 55s"),
        (100.0, 101.0, 1005, True, "deviation 1.000% ≥ 1.0%"),
        (100.0, 98.5, 1005, True, "deviation 1.500% ≥ 1.0%"),
        (100.0, 100.0, 1059, True, "heartbeat (59s since the last round, heartbeat 60s)"),
        (0.0, 0.1, 1005, True, "deviation inf% ≥ 1.0%"),
    ],
)
def test_decision(demo_spec: FeedSpec, last: float | None, new: float, now: int, post: bool, why: str) -> None:
    spec = _spec(demo_spec, deviation=1.0, heartbeat=60)
    previous = None if last is None else _round(last, 1000)
    decision = decide(spec, _round(new, now), previous, now=now)
    assert (decision.post, decision.reason) == (post, why)


def test_without_a_threshold_every_tick_posts(demo_spec: FeedSpec) -> None:
    spec = _spec(demo_spec, deviation=None, heartbeat=0)
    assert decide(spec, _round(100.0, 1001), _round(100.0, 1000), now=1001).post


def test_a_tick_in_the_second_of_the_last_round_is_held_however_far_it_moved(demo_spec: FeedSpec) -> None:
    spec = _spec(demo_spec, deviation=1.0, heartbeat=60)
    decision = decide(spec, _round(150.0, 1000), _round(100.0, 1000), now=1000.6)
    assert (decision.post, decision.kind) == (False, "not later")
    assert decision.reason == (
        "observed at 1000, not after the last landed round's 1000: the oracle takes only later observations"
    )


def test_each_answer_is_held_in_the_second_of_its_last_round(demo_spec: FeedSpec) -> None:
    spec = _spec(demo_spec, deviation=1.0, heartbeat=60)
    answers = [
        Answer(
            id="a",
            position=0,
            offset=0,
            decimals=8,
            description="a",
            heartbeat_seconds=60,
            deviation_percent=1.0,
            min_answer=None,
            max_answer=None,
        )
    ]
    landed = RoundAnswer(round_id=1, answer_id="a", model_output=100.0)
    last = {"a": (landed, _round(100.0, 1000))}
    held = decide_answers(spec, answers, {"a": 150.0}, last, now=1000.5, observed_at=1000)
    assert (held["a"].post, held["a"].kind) == (False, "not later")
    assert decide_answers(spec, answers, {"a": 150.0}, last, now=1001, observed_at=1001)["a"].post


class SteppedSource(InputSource):
    """Flat prices until ``jump`` is set."""

    def __init__(self, prices: Sequence[float]) -> None:
        self.prices = list(prices)
        self.factor = 1.0

    def fetch(self, *, now: float | None = None) -> Sequence[float]:
        return [p * self.factor for p in self.prices]


def test_flat_inputs_post_only_heartbeats_and_a_jump_posts_at_once(
    w3: Web3, anvil: AnvilNode, demo_spec: FeedSpec, demo_circuit: CircuitArtifacts, tmp_path: Path
) -> None:
    spec = _spec(demo_spec, deviation=1.0, heartbeat=10)
    store = Store.sqlite(tmp_path / "db.sqlite")
    deployment = ensure_deployment(store, w3, anvil.rpc_url, spec, FeedCircuit.whole(demo_circuit))
    source = SteppedSource(demo_spec.load_samples()[0])
    node = FeedNode(
        spec,
        FeedCircuit.whole(demo_circuit),
        store=store,
        w3=w3,
        deployment=deployment,
        prover=LocalProver(),
        proofs_dir=tmp_path,
        source=source,
    )
    # Ticks at chosen times within the contract's 15 s future skew of the chain's clock.
    start = int(time.time()) - 3
    first = node.tick(now=start)
    flat = node.tick(now=start + 2)
    heartbeat = node.tick(now=start + 10)
    source.factor = 1.05
    jump = node.tick(now=start + 11)

    assert first.landed and first.trigger == "first round"
    assert flat.skipped and not flat.landed and flat.round.id is None  # nothing proven, nothing stored
    assert heartbeat.landed and heartbeat.trigger is not None and heartbeat.trigger.startswith("heartbeat")
    assert jump.landed and jump.trigger is not None and jump.trigger.startswith("deviation")
    landed = store.rounds(feed_id="demo", status=RoundStatus.LANDED)
    assert [r.observed_at for r in landed] == [start, start + 10, start + 11]
    assert len(store.rounds(feed_id="demo")) == 3
