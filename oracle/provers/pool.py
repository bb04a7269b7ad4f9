"""Local proving in worker processes: a bounded number at once, each one cancellable.

Every job runs in its own process, forked from a forkserver that has already
imported EZKL, so starting one costs milliseconds and cancelling one means ending
that process: a proof nobody waits for any more stops using the CPU at once (a
thread running ``ezkl.prove`` could not be stopped).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from typing import TypeVar

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverBusyError, ProverError, ZkOracleError
from oracle.inference import split_by_shapes
from oracle.provers.base import Proof
from oracle.provers.local import ProvingMaterial, prove_material

ProveTarget = Callable[[ProvingMaterial, Sequence[Sequence[float]]], Proof]
T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["oracle.provers.local"])


class ProofJob:
    """One submitted proof: wait for it with ``future``, stop it with :meth:`cancel`."""

    def __init__(self) -> None:
        self.future: Future[Proof] = Future()
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._cancelled = False

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._process is not None and self._process.is_alive():
                self._process.kill()

    def _start(self, process: multiprocessing.process.BaseProcess) -> bool:
        with self._lock:
            if self._cancelled:
                return False
            self._process = process
            process.start()
            return True


class PoolProver:
    """At most ``workers`` proofs at a time, each in its own process; up to ``queue`` more wait their turn.

    ``queue=None`` lets any number wait (the node's own proving); a prover serving others
    bounds it, so that a job it cannot start soon is refused at once instead of left to age.
    """

    name = "local-pool"

    def __init__(self, *, workers: int = 1, queue: int | None = None, target: ProveTarget = prove_material) -> None:
        if workers < 1:
            raise ProverError(f"a prover pool needs at least one worker, got {workers}")
        if queue is not None and queue < 0:
            raise ProverError(f"a prover pool's queue holds zero or more jobs, got {queue}")
        self.workers = workers
        self.queue = queue
        self._target = target
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="zkoracle-prove")
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0
        self._jobs: set[ProofJob] = set()

    @property
    def running(self) -> int:
        return self._running

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def full(self) -> bool:
        """Every worker taken and the queue full: :meth:`submit` would refuse a job now."""
        with self._lock:
            return self._full()

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        tensors = split_by_shapes(inputs, circuit.manifest.input_shapes)
        return self.submit(ProvingMaterial.of(circuit), tensors).future.result()

    def submit(self, material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> ProofJob:
        """Queue a proof of one flat list per model input tensor; :class:`ProverBusyError` when :attr:`full`."""
        job = ProofJob()
        with self._lock:
            if self._full():
                raise ProverBusyError(
                    f"all {self.workers} worker(s) are proving and {self.queue} job(s) wait: no room for another"
                )
            self._waiting += 1
            self._jobs.add(job)
        self._executor.submit(self._run, job, material, [[float(x) for x in tensor] for tensor in tensors])
        return job

    def close(self) -> None:
        """Stop taking jobs and cancel those not finished (their processes end now)."""
        self._executor.shutdown(wait=False, cancel_futures=False)
        with self._lock:
            unfinished = list(self._jobs)
        for job in unfinished:
            job.cancel()

    def _full(self) -> bool:
        if self.queue is None:
            return False
        # A cancelled job gives its place up at once: its process is ended, or never starts.
        taken = sum(1 for job in self._jobs if not job.cancelled)
        return taken >= self.workers + self.queue

    def _run(self, job: ProofJob, material: ProvingMaterial, tensors: list[list[float]]) -> None:
        with self._lock:
            self._waiting -= 1
            self._running += 1
        try:
            if not job.future.set_running_or_notify_cancel():
                return
            try:
                job.future.set_result(self._in_process(job, material, tensors))
            except ZkOracleError as exc:
                job.future.set_exception(exc)
            except Exception as exc:  # e.g. no process could be started: the waiter must still get an answer
                job.future.set_exception(ProverError(f"cannot run a proving process for {material.label}: {exc}"))
        finally:
            with self._lock:
                self._running -= 1
                self._jobs.discard(job)

    def _in_process(self, job: ProofJob, material: ProvingMaterial, tensors: list[list[float]]) -> Proof:
        return _in_child(
            self._target,
            (material, tensors),
            what=f"proving job for circuit {material.label}",
            process_name=f"proving process for circuit {material.label}",
            start=job._start,
            cancelled=lambda: job.cancelled,
        )


def run_isolated(target: Callable[..., T], *args: object, what: str) -> T:
    """``target(*args)`` in a process of its own, forked like a proving job's.

    For EZKL calls other than proving (a key setup): they hold the GIL and hundreds of
    megabytes for seconds, which a prover's HTTP server must not.
    """
    return _in_child(target, args, what=what, process_name=f"process for {what}")


def _start_now(process: multiprocessing.process.BaseProcess) -> bool:
    process.start()
    return True


def _in_child(
    target: Callable[..., T],
    args: tuple[object, ...],
    *,
    what: str,
    process_name: str,
    start: Callable[[multiprocessing.process.BaseProcess], bool] = _start_now,
    cancelled: Callable[[], bool] = lambda: False,
) -> T:
    """``target(*args)`` in a forked child; ``start`` may refuse to start it (a cancelled job)."""
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    process = _CONTEXT.Process(target=_work, args=(target, args, sender), daemon=True)
    try:
        started = start(process)
        sender.close()  # the child holds its own end; recv() sees EOF when the child ends without answering
        if not started:
            raise ProverError(f"{what} was cancelled before it started")
        try:
            outcome, value = receiver.recv()
        except EOFError:
            process.join()
            if cancelled():
                raise ProverError(f"{what} was cancelled") from None
            raise ProverError(f"the {process_name} died (exit code {process.exitcode}); check its memory use") from None
        process.join()
    finally:
        receiver.close()
    if outcome == "error":
        raise ProverError(value)
    return value


def _work(target: Callable[..., object], args: tuple[object, ...], sender: Connection) -> None:
    try:
        result = ("done", target(*args))
    except ZkOracleError as exc:
        result = ("error", str(exc))
    sender.send(result)
    sender.close()
