"""Scoring remote provers the way a subnet validator scores miners, and choosing whom to ask.

Per hotkey: moving averages of validity, latency and proof size. An invalid proof
is penalised hard and benches the prover for a cool-down; being slower than the
accepted proof counts against latency. A prover that answers "busy" (429) is not
scored at all: it is only left alone until the time it asked for has passed.
Selection takes the best scores first but, with a small probability per slot, a
random eligible prover instead, so newcomers and the recovering get the chance to
show what they are worth.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from oracle.provers.remote import ProverEndpoint
from oracle.store import Store
from oracle.store.models import utcnow
from oracle.store.provers import ProverRecord, load_prover_records, save_prover_record

# A prover cancelled because another's proof won took longer than the time it was given:
# its true latency is unknown but larger, so it is counted this much above that time.
LOST_RACE_LATENCY_FACTOR = 1.5


class Outcome(StrEnum):
    VALID = "valid"  # passed every check (and was used, or could have been)
    INVALID = "invalid"  # failed verification or did not match our own inference
    FAILED = "failed"  # no usable answer
    LOST = "lost"  # cancelled: another prover's proof was accepted first
    BUSY = "busy"  # no room for the job now (429): ask another; not scored, see Scoreboard.defer


@dataclass(frozen=True)
class ScoringPolicy:
    alpha: float = 0.3  # weight of the newest observation in each average
    invalid_alpha: float = 0.9  # an invalid proof nearly erases earned validity
    cooldown_seconds: float = 600.0
    explore: float = 0.1  # chance per slot of asking a random eligible prover
    latency_weight: float = 0.3
    size_weight: float = 0.1
    prior_validity: float = 0.5  # a prover never heard from is neither trusted nor shunned


def score_of(
    record: ProverRecord, *, best_latency: float | None, best_size: float | None, policy: ScoringPolicy
) -> float:
    """Validity scaled by speed and compactness relative to the best known prover: 0 (useless) to 1."""
    speed = best_latency / record.latency_seconds if best_latency and record.latency_seconds else 0.5
    compact = best_size / record.proof_bytes if best_size and record.proof_bytes else 0.5
    rest = 1.0 - policy.latency_weight - policy.size_weight
    return record.validity * (rest + policy.latency_weight * speed + policy.size_weight * compact)


def scores(records: Sequence[ProverRecord], *, policy: ScoringPolicy) -> dict[str, float]:
    latencies = [r.latency_seconds for r in records if r.latency_seconds]
    sizes = [r.proof_bytes for r in records if r.proof_bytes]
    best_latency, best_size = min(latencies, default=None), min(sizes, default=None)
    return {r.hotkey: score_of(r, best_latency=best_latency, best_size=best_size, policy=policy) for r in records}


def is_benched(record: ProverRecord, now: datetime) -> bool:
    return record.benched_until is not None and record.benched_until > now


class Scoreboard:
    """Every prover's record, in memory and in the store; safe to share between threads."""

    def __init__(
        self,
        store: Store,
        *,
        policy: ScoringPolicy | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.policy = policy or ScoringPolicy()
        self._store = store
        self._rng = rng or random.Random()
        self._clock = clock
        self._lock = threading.Lock()
        self._records = {record.hotkey: record for record in load_prover_records(store)}
        # Busy provers and when they asked to be asked again; a busy spell is no merit or fault, so never stored.
        self._deferred: dict[str, datetime] = {}

    def records(self) -> list[ProverRecord]:
        with self._lock:
            return sorted(self._records.values(), key=lambda r: r.hotkey)

    def scores(self) -> dict[str, float]:
        return scores(self.records(), policy=self.policy)

    def benched(self, hotkey: str) -> bool:
        with self._lock:
            record = self._records.get(hotkey)
            return record is not None and is_benched(record, self._clock())

    def deferred(self, hotkey: str) -> bool:
        """Whether the prover said it was busy and the time it asked to be left alone has not passed."""
        with self._lock:
            return self._is_deferred(hotkey, self._clock())

    def defer(self, endpoint: ProverEndpoint, *, seconds: float) -> None:
        """Leave a busy prover alone for ``seconds`` (at most the cool-down), without touching its record."""
        seconds = min(max(seconds, 0.0), self.policy.cooldown_seconds)
        with self._lock:
            self._deferred[endpoint.hotkey] = self._clock() + timedelta(seconds=seconds)

    def eligible_in(self, endpoints: Sequence[ProverEndpoint]) -> float | None:
        """Seconds until the first of the deferred ``endpoints`` that is not benched may be asked again.

        Zero when one already may; None when none of them is deferred (nothing to wait for).
        """
        now = self._clock()
        with self._lock:
            waits = [
                (until - now).total_seconds()
                for endpoint in endpoints
                if (until := self._deferred.get(endpoint.hotkey)) is not None
                and not is_benched(self._records.get(endpoint.hotkey) or self._fresh(endpoint), now)
            ]
        return max(0.0, min(waits)) if waits else None

    def choose(
        self, endpoints: Sequence[ProverEndpoint], k: int, *, busy: Mapping[str, int] | None = None
    ) -> list[ProverEndpoint]:
        """Up to ``k`` provers to ask: not benched nor deferred, least busy with our requests first, then best scored."""
        busy = busy or {}
        now = self._clock()
        with self._lock:
            candidates = [self._records.get(e.hotkey) or self._fresh(e) for e in endpoints]
            eligible = {r.hotkey for r in candidates if not is_benched(r, now) and not self._is_deferred(r.hotkey, now)}
            known = scores(candidates, policy=self.policy)
        pool = sorted(
            (e for e in endpoints if e.hotkey in eligible), key=lambda e: (busy.get(e.hotkey, 0), -known[e.hotkey])
        )
        chosen: list[ProverEndpoint] = []
        while pool and len(chosen) < k:
            pick = self._rng.choice(pool) if self._rng.random() < self.policy.explore else pool[0]
            pool.remove(pick)
            chosen.append(pick)
        return chosen

    def record(
        self,
        endpoint: ProverEndpoint,
        outcome: Outcome,
        *,
        latency: float | None = None,
        proof_bytes: int | None = None,
    ) -> None:
        if outcome is Outcome.BUSY:
            raise ValueError("a busy answer is not scored: defer the prover instead")
        policy = self.policy
        with self._lock:
            record = self._records.setdefault(endpoint.hotkey, self._fresh(endpoint))
            record.url = endpoint.url
            if outcome is Outcome.VALID:
                record.valid += 1
                record.validity = _mix(record.validity, 1.0, policy.alpha)
                record.proof_bytes = _ema(record.proof_bytes, proof_bytes, policy.alpha)
            elif outcome is Outcome.INVALID:
                record.invalid += 1
                record.validity = _mix(record.validity, 0.0, policy.invalid_alpha)
                record.benched_until = self._clock() + timedelta(seconds=policy.cooldown_seconds)
            elif outcome is Outcome.FAILED:
                record.failed += 1
                record.validity = _mix(record.validity, 0.0, policy.alpha)
            else:
                record.lost += 1
                latency = latency * LOST_RACE_LATENCY_FACTOR if latency is not None else None
            if outcome is not Outcome.INVALID:  # a fast lie says nothing about speed
                record.latency_seconds = _ema(record.latency_seconds, latency, policy.alpha)
            record.last_outcome = outcome.value
            record.updated_at = self._clock()
            save_prover_record(self._store, record)

    def _is_deferred(self, hotkey: str, now: datetime) -> bool:
        until = self._deferred.get(hotkey)
        return until is not None and until > now

    def _fresh(self, endpoint: ProverEndpoint) -> ProverRecord:
        return ProverRecord(hotkey=endpoint.hotkey, url=endpoint.url, validity=self.policy.prior_validity)


def _mix(current: float, observed: float, alpha: float) -> float:
    return (1.0 - alpha) * current + alpha * observed


def _ema(current: float | None, observed: float | None, alpha: float) -> float | None:
    """A moving average that starts at its first observation; no observation leaves it as it was."""
    if observed is None:
        return current
    return float(observed) if current is None else _mix(current, observed, alpha)
