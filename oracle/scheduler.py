"""Ticking feeds on their schedules with APScheduler.

Jobs live in the node's database (APScheduler's SQLAlchemy job store), so a restarted
node keeps each feed's schedule: ticks missed while it was down coalesce into one run
at start. A job stores only a text reference and the feed id; the live node objects
are looked up in this process when the job fires.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from oracle.node import FeedNode
from oracle.reports import RoundReport
from oracle.schedules import schedule_trigger

log = logging.getLogger(__name__)
Report = Callable[[RoundReport], None]

_TICKS: dict[str, Callable[[], None]] = {}  # job id -> the running node's tick
# How long a finished run waits for a feed's other chains to settle the rounds under way there:
# a relay follows its transaction for up to two minutes before leaving it for the next run.
LANE_DRAIN_SECONDS = 180.0


def run_job(job_id: str) -> None:
    """The target every persisted job names: it must be importable by text, so it is module-level."""
    tick = _TICKS.get(job_id)
    if tick is None:
        log.warning("job %s fired but its feed is not running in this process", job_id)
        return
    tick()


def job_id(feed_id: str) -> str:
    return f"feed:{feed_id}"


class FeedScheduler:
    """One job per feed; a slow tick is never run twice at once, and missed ticks coalesce."""

    def __init__(self, nodes: Sequence[FeedNode], *, on_report: Report, jobstore_url: str | None = None) -> None:
        self._nodes = list(nodes)
        self._on_report = on_report
        self._reports: queue.Queue[RoundReport | BaseException] = queue.Queue()
        store: BaseJobStore = (
            SQLAlchemyJobStore(url=jobstore_url, tablename="apscheduler_jobs") if jobstore_url else MemoryJobStore()
        )
        self._scheduler = BackgroundScheduler(
            jobstores={"default": store},
            # One thread per feed: proving runs in worker processes, so feeds do not wait on each other.
            executors={"default": ThreadPoolExecutor(max(1, len(self._nodes)))},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )

    def run(self, *, rounds: int | None, stop: threading.Event | None = None) -> list[RoundReport]:
        """Tick until ``rounds`` rounds have been posted or have failed (skipped ticks do not count).

        A round posted to a feed's other chains counts once; their reports (``lane``) come
        with it, and those still under way when the last round is in are waited for.
        """
        stop = stop or threading.Event()
        for node in self._nodes:
            node.on_lane_report = self._reports.put
        self._scheduler.start(paused=True)
        completed = False
        try:
            self._schedule()
            self._scheduler.resume()
            reports = self._collect(rounds, stop)
            completed = not stop.is_set()
        finally:
            # Paused first: a job coming due while the executors shut down would be submitted to a
            # closed pool, and APScheduler would print that as a traceback. A lookup for due jobs
            # that began before the pause holds the job stores' lock until it has submitted them,
            # so taking that lock waits it out.
            self._scheduler.pause()
            with self._scheduler._jobstores_lock:
                pass
            self._scheduler.shutdown(wait=True)
            for node in self._nodes:
                _TICKS.pop(job_id(node.spec.id), None)
                node.drain(timeout=LANE_DRAIN_SECONDS if completed else 0)
        return reports + self._pending()

    def _pending(self) -> list[RoundReport]:
        """The reports that came in after the last counted round (the other chains', as they finished)."""
        pending = []
        while True:
            try:
                item = self._reports.get_nowait()
            except queue.Empty:
                return pending
            if isinstance(item, BaseException):
                raise item
            self._on_report(item)
            pending.append(item)

    def _schedule(self) -> None:
        wanted = {job_id(node.spec.id): node for node in self._nodes}
        for job in self._scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()  # a feed this node no longer runs
        for identifier, node in wanted.items():
            _TICKS[identifier] = lambda node=node: self._tick(node)
            trigger = schedule_trigger(node.spec.schedule)
            job = self._scheduler.get_job(identifier)
            if job is None:
                self._scheduler.add_job(
                    run_job, trigger, args=[identifier], id=identifier, next_run_time=datetime.now(UTC)
                )
            elif str(job.trigger) != str(trigger):
                job.reschedule(trigger)
            # else: keep the persisted next run time; if it passed while the node was down,
            # the missed ticks coalesce into one run right away.

    def _collect(self, rounds: int | None, stop: threading.Event) -> list[RoundReport]:
        finished: list[RoundReport] = []
        while not stop.is_set() and (rounds is None or self._counted(finished) < rounds):
            try:
                item = self._reports.get(timeout=0.5)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                raise item
            self._on_report(item)
            if not item.skipped:
                finished.append(item)
        return finished

    @staticmethod
    def _counted(reports: list[RoundReport]) -> int:
        return sum(not report.lane for report in reports)

    def _tick(self, node: FeedNode) -> None:
        try:
            self._reports.put(node.tick())
        except BaseException as exc:  # surfaced in the main thread, not lost in a worker
            self._reports.put(exc)
