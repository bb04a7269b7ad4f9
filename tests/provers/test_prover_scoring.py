"""Scores and selection, on a real SQLite store, with a clock the test moves."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from oracle.provers.remote import ProverEndpoint
from oracle.provers.scoring import LOST_RACE_LATENCY_FACTOR, Outcome, Scoreboard, ScoringPolicy
from oracle.store import Store

A, B, C = (ProverEndpoint(hotkey=name * 48, url=f"http://127.0.0.1:900{i}") for i, name in enumerate("ABC"))


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.sqlite(tmp_path / "node.db")


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _board(store: Store, clock: Clock, **policy: float) -> Scoreboard:
    return Scoreboard(store, policy=ScoringPolicy(**policy), rng=random.Random(7), clock=clock)


def test_an_invalid_proof_sinks_the_score_and_benches_for_the_cooldown(store: Store, clock: Clock) -> None:
    board = _board(store, clock, explore=0.0, cooldown_seconds=60.0)
    for _ in range(3):
        board.record(A, Outcome.VALID, latency=2.0, proof_bytes=3000)
        board.record(B, Outcome.VALID, latency=2.0, proof_bytes=3000)
    before = board.scores()[B.hotkey]

    board.record(B, Outcome.INVALID, latency=0.1, proof_bytes=3000)

    after = board.scores()
    assert after[B.hotkey] < 0.2 * before and after[B.hotkey] < after[A.hotkey]
    assert board.benched(B.hotkey) and not board.benched(A.hotkey)
    assert board.choose([A, B, C], 3) == [A, C]
    clock.now += timedelta(seconds=61)
    assert not board.benched(B.hotkey)
    assert board.choose([A, B, C], 3)[-1] == B  # back, but last


def test_a_lost_race_counts_as_slower_than_the_time_it_was_given(store: Store, clock: Clock) -> None:
    board = _board(store, clock)
    board.record(A, Outcome.VALID, latency=4.0, proof_bytes=3000)
    board.record(B, Outcome.LOST, latency=4.0)

    records = {r.hotkey: r for r in board.records()}
    assert records[B.hotkey].latency_seconds == pytest.approx(4.0 * LOST_RACE_LATENCY_FACTOR)
    assert records[B.hotkey].validity == pytest.approx(board.policy.prior_validity)  # losing is no lie
    assert board.scores()[A.hotkey] > board.scores()[B.hotkey]


def test_failures_lower_validity_gently_and_do_not_bench(store: Store, clock: Clock) -> None:
    board = _board(store, clock)
    board.record(A, Outcome.FAILED)
    board.record(B, Outcome.INVALID)
    records = {r.hotkey: r for r in board.records()}
    assert records[B.hotkey].validity < records[A.hotkey].validity < board.policy.prior_validity
    assert not board.benched(A.hotkey) and records[A.hotkey].latency_seconds is None


def test_selection_prefers_scores_then_idleness_and_keeps_exploring(store: Store, clock: Clock) -> None:
    greedy = _board(store, clock, explore=0.0)
    greedy.record(A, Outcome.VALID, latency=5.0, proof_bytes=3000)
    greedy.record(B, Outcome.VALID, latency=1.0, proof_bytes=3000)
    assert greedy.choose([A, B, C], 2) == [B, A]  # C is unknown: prior validity only
    assert greedy.choose([A, B, C], 2, busy={B.hotkey: 1}) == [A, C]  # spread our own load first

    curious = _board(store, clock, explore=0.3)
    first_picks = {curious.choose([A, B, C], 1)[0] for _ in range(200)}
    assert first_picks == {A, B, C}
    counts = [curious.choose([A, B, C], 1)[0] for _ in range(300)].count(B)
    assert counts > 200  # mostly the best


def test_scores_survive_a_restart(store: Store, clock: Clock) -> None:
    board = _board(store, clock)
    board.record(A, Outcome.VALID, latency=2.0, proof_bytes=3072)
    board.record(B, Outcome.INVALID)

    again = _board(store, clock)

    assert again.scores() == board.scores()
    assert again.benched(B.hotkey)
    restored = {r.hotkey: r for r in again.records()}
    assert (restored[A.hotkey].valid, restored[A.hotkey].proof_bytes, restored[B.hotkey].invalid) == (1, 3072, 1)


def test_a_busy_prover_is_left_alone_for_the_time_it_asked_and_its_record_is_untouched(
    store: Store, clock: Clock
) -> None:
    board = _board(store, clock, explore=0.0, cooldown_seconds=600.0)
    board.record(A, Outcome.VALID, latency=1.0, proof_bytes=3000)
    before = [r.model_dump() for r in board.records()]

    board.defer(A, seconds=30.0)

    assert board.deferred(A.hotkey) and not board.benched(A.hotkey)
    assert board.choose([A, B, C], 3) == [B, C]  # the best prover, but it asked for time
    assert [r.model_dump() for r in board.records()] == before
    assert [r.model_dump() for r in _board(store, clock).records()] == before  # nothing stored either
    with pytest.raises(ValueError, match="not scored"):
        board.record(A, Outcome.BUSY)
    clock.now += timedelta(seconds=31)
    assert not board.deferred(A.hotkey)
    assert board.choose([A, B, C], 3) == [A, B, C]  # back, in its place

    board.defer(B, seconds=1e12)  # a prover cannot ask for more than the cool-down
    clock.now += timedelta(seconds=601)
    assert not board.deferred(B.hotkey)


def test_the_wait_for_a_busy_prover_is_the_soonest_time_asked_and_none_for_the_benched(
    store: Store, clock: Clock
) -> None:
    board = _board(store, clock)
    assert board.eligible_in([A, B]) is None  # nobody asked for time: nothing to wait for

    board.defer(A, seconds=20.0)
    board.defer(B, seconds=5.0)
    assert board.eligible_in([A, B]) == pytest.approx(5.0)
    assert board.eligible_in([A, C]) == pytest.approx(20.0)

    board.record(B, Outcome.INVALID)  # benched: waiting for it would be waiting for nothing
    assert board.eligible_in([B]) is None
    clock.now += timedelta(seconds=30)
    assert board.eligible_in([A]) == 0.0  # its time is up: ask it now
