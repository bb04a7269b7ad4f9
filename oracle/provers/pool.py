"""Local proving in warm worker processes: a bounded number at once, each job cancellable.

A worker is a process forked from a forkserver that has already imported EZKL. It
pays its start once, before its first job (a child also imports the parent's main
module: for the ``zkoracle`` console script, the whole CLI, seconds on a loaded
machine), then proves job after job. Cancelling a job ends the process proving it, so
a proof nobody waits for any more stops using the CPU at once (a thread running
``ezkl.prove`` could not be stopped); a fresh worker starts at once in its place, as
after a worker that died, or one still holding much memory after a big proof. A crash in
EZKL ends only its worker, never the pool's process.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TypeVar, cast

from oracle.circuits.artifacts import CircuitArtifacts
from oracle.exceptions import ProverBusyError, ProverError, ZkOracleError
from oracle.inference import split_by_shapes
from oracle.provers.base import Proof
from oracle.provers.local import ProvingMaterial, prove_material

ProveTarget = Callable[[ProvingMaterial, Sequence[Sequence[float]]], Proof]
T = TypeVar("T")

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["oracle.provers.local"])
_READY = "ready"
WORKER_NAME = "zkoracle proving worker"
# A worker still resident above this after its job is replaced, so an idle pool holds little memory.
RECYCLE_RESIDENT_BYTES = 1 << 30

log = logging.getLogger(__name__)


class _Worker:
    """One worker process, running ``(target, args)`` calls one after another until it is ended."""

    def __init__(self, name: str) -> None:
        self._connection, child_end = _CONTEXT.Pipe(duplex=True)
        self.process = _CONTEXT.Process(target=_serve, args=(child_end,), name=name, daemon=True)
        self.process.start()
        child_end.close()  # the child holds its own end; recv() sees EOF when the child ends
        self._ready = False

    def wait_ready(self) -> float:
        """Seconds spent waiting for the worker to finish starting (0 once it has)."""
        if self._ready:
            return 0.0
        started = time.perf_counter()
        self._ready = self._connection.recv() == _READY  # EOFError: it died starting
        return time.perf_counter() - started

    def call(self, target: Callable[..., T], args: tuple[object, ...]) -> tuple[str, object]:
        """``("done", value)`` or ``("error", message)``; EOFError when the process ends first."""
        self._connection.send((target, args))
        return self._connection.recv()

    def bloated(self) -> bool:
        """Whether it still holds more memory than a fresh worker should, after a big proof: ended then, not kept."""
        try:
            pages = int(Path(f"/proc/{self.process.pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):  # no procfs: keep it
            return False
        return pages * os.sysconf("SC_PAGE_SIZE") > RECYCLE_RESIDENT_BYTES

    def end(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join()
        self._connection.close()


class ProofJob:
    """One submitted proof: wait for it with ``future``, stop it with :meth:`cancel`."""

    def __init__(self, label: str) -> None:
        self.future: Future[Proof] = Future()
        self.label = label
        self.submitted = time.perf_counter()
        self._lock = threading.RLock()  # a done-callback may cancel the job it was called for
        self._worker: _Worker | None = None
        self._cancelled = False
        self._proving = False  # counted as running by its pool, no longer as waiting

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        """End the job's process if it has one; its waiter is told at once, even while a worker is starting for it."""
        with self._lock:
            self._cancelled = True
            if self._worker is not None and self._worker.process.is_alive():
                self._worker.process.kill()
        self._settle(exception=ProverError(f"proving job for circuit {self.label} was cancelled"))

    def _attach(self, worker: _Worker | None) -> bool:
        """Whether the job may run on ``worker`` (None: it is done with it); False once cancelled."""
        with self._lock:
            if self._cancelled and worker is not None:
                return False
            self._worker = worker
            return True

    def _settle(self, *, result: Proof | None = None, exception: BaseException | None = None) -> None:
        """The job's outcome, unless it already has one (a cancelled job's)."""
        with self._lock:
            if self.future.done():
                return
            if exception is not None:
                self.future.set_exception(exception)
            else:
                self.future.set_result(cast(Proof, result))


class PoolProver:
    """At most ``workers`` proofs at a time, each in a warm worker process; up to ``queue`` more wait their turn.

    A job waits until a worker is ready for it (one may be starting), then runs.
    ``queue=None`` lets any number wait (the node's own proving); a prover serving others
    bounds it, so that a job it cannot start soon is refused at once instead of left to age.
    Workers start with the first job, or all at once with :meth:`warm`.
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
        self._closed = False
        # One slot per worker thread; None until a worker is started in it.
        self._idle: queue_module.SimpleQueue[_Worker | None] = queue_module.SimpleQueue()
        for _ in range(workers):
            self._idle.put(None)

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

    def warm(self) -> None:
        """Start every worker now, in the background, so that no job waits for one to start."""
        threading.Thread(target=self._warm, name="zkoracle-warm-workers", daemon=True).start()

    def _warm(self) -> None:
        slots = [self._idle.get() for _ in range(self.workers)]  # a job that comes meanwhile waits for its slot
        try:
            for index, slot in enumerate(slots):
                slots[index] = slot or _Worker(WORKER_NAME)
        except Exception as exc:  # the jobs start their workers themselves, and report it if it still fails
            log.warning("cannot start a proving worker: %s", exc)
        finally:
            for slot in slots:
                self._idle.put(slot)

    def prove(self, circuit: CircuitArtifacts, inputs: Sequence[float]) -> Proof:
        tensors = split_by_shapes(inputs, circuit.manifest.input_shapes)
        return self.submit(ProvingMaterial.of(circuit), tensors).future.result()

    def submit(self, material: ProvingMaterial, tensors: Sequence[Sequence[float]]) -> ProofJob:
        """Queue a proof of one flat list per model input tensor; :class:`ProverBusyError` when :attr:`full`."""
        job = ProofJob(material.label)
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
        """Stop taking jobs, cancel those not finished (their processes end now) and end the idle workers."""
        self._closed = True
        self._executor.shutdown(wait=False, cancel_futures=False)
        with self._lock:
            unfinished = list(self._jobs)
        for job in unfinished:
            job.cancel()
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue_module.Empty:
                return
            if worker is not None:
                worker.end()

    def _full(self) -> bool:
        if self.queue is None:
            return False
        # A cancelled job gives its place up at once: its process is ended, or never starts.
        taken = sum(1 for job in self._jobs if not job.cancelled)
        return taken >= self.workers + self.queue

    def _run(self, job: ProofJob, material: ProvingMaterial, tensors: list[list[float]]) -> None:
        picked = time.perf_counter()
        worker = self._idle.get()  # one slot per executor thread: never waits
        try:
            if job.cancelled or job.future.done():  # no worker is started for a job nobody waits for any more
                job._settle(
                    exception=ProverError(f"proving job for circuit {job.label} was cancelled before it started")
                )
                return
            worker = worker or _Worker(WORKER_NAME)
            proof = self._on_worker(worker, job, material, tensors)
            job._settle(result=dataclasses.replace(proof, stages={"queue": picked - job.submitted, **proof.stages}))
        except ZkOracleError as exc:
            job._settle(exception=exc)
        except Exception as exc:  # e.g. no process could be started: the waiter must still get an answer
            job._settle(exception=ProverError(f"cannot run a proving process for {material.label}: {exc}"))
        finally:
            with self._lock:  # the job's place is free before its worker is replaced
                if job._proving:
                    self._running -= 1
                else:
                    self._waiting -= 1
                self._jobs.discard(job)
            self._idle.put(self._keep(worker))

    def _keep(self, worker: _Worker | None) -> _Worker | None:
        """What the slot holds for the next job: the same worker, or, when it was ended, a fresh one started now."""
        if worker is not None and (self._closed or not worker.process.is_alive() or worker.bloated()):
            worker.end()
            worker = None
        if worker is not None or self._closed:
            return worker
        try:
            return _Worker(WORKER_NAME)
        except Exception as exc:  # the next job tries again, and reports it if it still fails
            log.warning("cannot start a proving worker: %s", exc)
            return None

    def _on_worker(
        self, worker: _Worker, job: ProofJob, material: ProvingMaterial, tensors: list[list[float]]
    ) -> Proof:
        what = f"proving job for circuit {material.label}"
        if not job._attach(worker):
            raise ProverError(f"{what} was cancelled before it started")
        with self._lock:  # running: on a worker that it alone may use, and that cancel() ends
            self._waiting -= 1
            self._running += 1
            job._proving = True
        try:
            waited = worker.wait_ready()
            sent = time.perf_counter()
            proof = cast(Proof, _outcome(worker.call(self._target, (material, tensors))))
        except EOFError:
            worker.process.join()
            if job.cancelled:
                raise ProverError(f"{what} was cancelled") from None
            raise ProverError(
                f"the proving process for circuit {material.label} died (exit code {worker.process.exitcode}); "
                "check its memory use"
            ) from None
        finally:
            job._attach(None)
        # What the target's own stages leave out: sending the job, writing its files, sending the proof back.
        transfer = max(0.0, time.perf_counter() - sent - sum(proof.stages.values()))
        return dataclasses.replace(proof, stages={"worker_start": waited, **proof.stages, "worker_transfer": transfer})


def run_isolated(target: Callable[..., T], *args: object, what: str) -> T:
    """``target(*args)`` in a process of its own, started like a proving worker and ended after the call.

    For EZKL calls other than proving (a key setup): they hold the GIL and hundreds of
    megabytes for seconds, which a prover's HTTP server must not.
    """
    worker = _Worker(f"process for {what}")
    try:
        worker.wait_ready()
        outcome = worker.call(target, args)
    except EOFError:
        worker.process.join()
        raise ProverError(
            f"the process for {what} died (exit code {worker.process.exitcode}); check its memory use"
        ) from None
    finally:
        worker.end()
    return cast(T, _outcome(outcome))


def _outcome(outcome: tuple[str, object]) -> object:
    kind, value = outcome
    if kind == "error":
        raise ProverError(str(value))
    return value


def _serve(connection: Connection) -> None:
    """A worker's life: say it is ready, then run each call sent until the pool lets go of its end of the pipe."""
    if not _tell(connection, _READY):
        return
    while True:
        try:
            target, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            result: tuple[str, object] = ("done", target(*args))
        except ZkOracleError as exc:
            result = ("error", str(exc))
        if not _tell(connection, result):
            return


def _tell(connection: Connection, message: object) -> bool:
    """Whether the pool could be told: False once nobody is left to answer."""
    try:
        connection.send(message)
    except OSError:  # a broken pipe, a reset connection
        return False
    return True
