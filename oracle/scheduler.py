"""Ticking feeds on their schedules with APScheduler."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from oracle.node import FeedNode, RoundReport

Report = Callable[[RoundReport], None]


class FeedScheduler:
    """One job per feed; a slow tick is never run twice at once and missed ticks coalesce."""

    def __init__(self, nodes: Sequence[FeedNode], *, on_report: Report) -> None:
        self._nodes = list(nodes)
        self._on_report = on_report
        self._reports: queue.Queue[RoundReport | BaseException] = queue.Queue()
        self._scheduler = BackgroundScheduler(executors={"default": ThreadPoolExecutor(max(1, len(self._nodes)))})

    def run(self, *, rounds: int | None, stop: threading.Event | None = None) -> list[RoundReport]:
        """Tick until ``rounds`` rounds have ended (landed or failed), or forever when None."""
        stop = stop or threading.Event()
        now = datetime.now(timezone.utc)
        for node in self._nodes:
            self._scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=node.spec.schedule.interval_seconds),
                args=[node],
                id=node.spec.id,
                next_run_time=now,
                max_instances=1,
                coalesce=True,
                misfire_grace_time=None,
            )
        finished: list[RoundReport] = []
        self._scheduler.start()
        try:
            while not stop.is_set() and (rounds is None or len(finished) < rounds):
                try:
                    item = self._reports.get(timeout=0.5)
                except queue.Empty:
                    continue
                if isinstance(item, BaseException):
                    raise item
                finished.append(item)
                self._on_report(item)
        finally:
            self._scheduler.shutdown(wait=True)
        return finished

    def _tick(self, node: FeedNode) -> None:
        try:
            self._reports.put(node.tick())
        except BaseException as exc:  # surfaced in the main thread, not lost in a worker
            self._reports.put(exc)
