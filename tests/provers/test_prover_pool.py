"""The local process pool: bounded concurrency and queue, errors, and cancellation that ends the process.

Its real proofs are checked where the network falls back to it (test_prover_network).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from oracle.exceptions import ProverBusyError, ProverError
from oracle.provers import Proof
from oracle.provers.local import ProvingMaterial
from oracle.provers.pool import PoolProver

NOWHERE = ProvingMaterial(
    compiled=Path("/nonexistent/network.ezkl"), pk=Path("/nonexistent/pk.key"), srs=Path("/x"), label="x"
)


def nap(material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> Proof:
    time.sleep(30)
    return Proof(document=b"{}", prover="nap", prove_seconds=30.0)


def exit_abruptly(material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> Proof:
    os._exit(3)


def _wait_for(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert condition(), "condition not reached in time"


def test_at_most_workers_jobs_run_and_cancelling_ends_them_at_once() -> None:
    pool = PoolProver(workers=2, target=nap)
    jobs = [pool.submit(NOWHERE, [[1.0]]) for _ in range(3)]
    _wait_for(lambda: (pool.running, pool.waiting) == (2, 1))

    started = time.monotonic()
    for job in jobs:
        job.cancel()
    for job in jobs:
        with pytest.raises(ProverError, match="cancelled"):
            job.future.result(timeout=5)
    assert time.monotonic() - started < 5
    _wait_for(lambda: (pool.running, pool.waiting) == (0, 0))


def test_a_full_queue_refuses_a_job_at_once_until_a_place_is_given_up() -> None:
    pool = PoolProver(workers=1, queue=1, target=nap)
    running, waiting = pool.submit(NOWHERE, [[1.0]]), pool.submit(NOWHERE, [[1.0]])
    _wait_for(lambda: (pool.running, pool.waiting) == (1, 1))
    assert pool.full

    with pytest.raises(ProverBusyError, match="no room"):
        pool.submit(NOWHERE, [[1.0]])

    waiting.cancel()  # its place is free at once, though it still sits in line behind the running job
    assert not pool.full and pool.waiting == 1
    again = pool.submit(NOWHERE, [[1.0]])
    assert pool.full
    pool.close()
    for job in (running, waiting, again):
        with pytest.raises(ProverError, match="cancelled"):
            job.future.result(timeout=5)


def test_proving_errors_and_dead_workers_become_prover_errors() -> None:
    with pytest.raises(ProverError, match="proving failed for circuit x"):
        PoolProver(workers=1).submit(NOWHERE, [[1.0]]).future.result(timeout=30)
    with pytest.raises(ProverError, match="died \\(exit code 3\\)"):
        PoolProver(workers=1, target=exit_abruptly).submit(NOWHERE, [[1.0]]).future.result(timeout=30)


def whose_after(material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> Proof:
    """Sleeps ``tensors[0][0]`` seconds, then names the process it ran in."""
    time.sleep(tensors[0][0])
    return Proof(document=str(os.getpid()).encode(), prover="whose", prove_seconds=0.0)


def test_jobs_share_a_warm_worker_until_one_is_cancelled_and_its_worker_replaced() -> None:
    pool = PoolProver(workers=1, target=whose_after)
    pool.warm()
    first = pool.submit(NOWHERE, [[0.0]]).future.result(timeout=60)
    second = pool.submit(NOWHERE, [[0.0]]).future.result(timeout=10)
    assert second.document == first.document and second.stages["worker_start"] == 0.0

    doomed = pool.submit(NOWHERE, [[30.0]])
    _wait_for(lambda: pool.running == 1)
    doomed.cancel()
    with pytest.raises(ProverError, match="cancelled"):
        doomed.future.result(timeout=5)
    after = pool.submit(NOWHERE, [[0.0]]).future.result(timeout=60)
    assert after.document != first.document  # the cancelled job's process was ended, not reused
    pool.close()
