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

from oracle.node import FeedNode, RoundReport
from oracle.schedules import schedule_trigger

log = logging.getLogger(__name__)
Report = Callable[[RoundReport], None]

_TICKS: dict[str, Callable[[], None]] = {}  # job id -> the running node's tick


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
        """Tick until ``rounds`` rounds have been posted or have failed (skipped ticks do not count)."""
        stop = stop or threading.Event()
        self._scheduler.start(paused=True)
        try:
            self._schedule()
            self._scheduler.resume()
            return self._collect(rounds, stop)
        finally:
            # Paused first: a job coming due while the executors shut down would be submitted to a
            # closed pool, and APScheduler would print that as a traceback.
            self._scheduler.pause()
            self._scheduler.shutdown(wait=True)
            for node in self._nodes:
                _TICKS.pop(job_id(node.spec.id), None)

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
        while not stop.is_set() and (rounds is None or len(finished) < rounds):
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

    def _tick(self, node: FeedNode) -> None:
        try:
            self._reports.put(node.tick())
        except BaseException as exc:  # surfaced in the main thread, not lost in a worker
            self._reports.put(exc)
