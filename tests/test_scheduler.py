"""Scheduling semantics: persisted jobs, coalesced misfires, feeds that do not wait on each other.

The feeds here are stand-ins that record their ticks: what is under test is when
APScheduler calls them, not what a tick does (tests/test_node.py covers that).
"""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import create_engine, text

from oracle.feeds.schema import FeedSpec, ScheduleSpec
from oracle.reports import RoundReport
from oracle.scheduler import FeedScheduler, job_id
from oracle.schedules import schedule_trigger, seconds_to_next_tick
from oracle.store import Round, Store


class RecordingFeed:
    """A feed node's schedule-facing side; with ``other_chains``, each tick also reports that many lane postings."""

    def __init__(self, spec: FeedSpec, *, seconds: float = 0.0, other_chains: int = 0) -> None:
        self.spec = spec
        self.ticks: list[float] = []
        self._seconds = seconds
        self._other_chains = other_chains
        self.on_lane_report: Callable[[RoundReport], None] = lambda _report: None
        self.drained = False

    def tick(self) -> RoundReport:
        self.ticks.append(time.monotonic())
        time.sleep(self._seconds)
        row = Round(feed_id=self.spec.id, deployment_id=0, circuit_key="k", inputs_json="[]", model_output=1.0)
        for chain in range(self._other_chains):
            self.on_lane_report(RoundReport(round=row, reading=None, quantization_error=0.0, chain_id=chain, lane=True))
        return RoundReport(round=row, reading=None, quantization_error=0.0, trigger="test", skipped=False)

    def drain(self, *, timeout: float | None = None) -> None:
        self.drained = True


def _feed(demo_spec: FeedSpec, feed_id: str, interval: float, *, seconds: float = 0.0) -> RecordingFeed:
    spec = demo_spec.model_copy(update={"id": feed_id, "schedule": ScheduleSpec(interval_seconds=interval)})
    return RecordingFeed(spec, seconds=seconds)


def _next_run(url: str, feed_id: str) -> datetime | None:
    job = SQLAlchemyJobStore(url=url, tablename="apscheduler_jobs").lookup_job(job_id(feed_id))
    return None if job is None else job.next_run_time


def _rewind(url: str, identifier: str, when: datetime) -> None:
    """Move a persisted job's next run into the past, as if the node had been down since then."""
    engine = create_engine(url)
    with engine.begin() as connection:
        state = pickle.loads(
            connection.execute(
                text("SELECT job_state FROM apscheduler_jobs WHERE id = :id"), {"id": identifier}
            ).scalar_one()
        )
        state["next_run_time"] = when
        connection.execute(
            text("UPDATE apscheduler_jobs SET job_state = :state, next_run_time = :at WHERE id = :id"),
            {"state": pickle.dumps(state), "at": when.timestamp(), "id": identifier},
        )


def test_a_slow_feed_does_not_hold_up_another(demo_spec: FeedSpec) -> None:
    slow = _feed(demo_spec, "slow", 30, seconds=3.0)
    fast = _feed(demo_spec, "fast", 0.5)
    stop = threading.Event()
    threading.Timer(2.5, stop.set).start()
    FeedScheduler([slow, fast], on_report=lambda _report: None).run(rounds=None, stop=stop)  # type: ignore[list-item]
    assert len(slow.ticks) == 1
    assert len(fast.ticks) >= 4  # kept ticking while the slow feed's first tick was still running


def test_jobs_persist_and_missed_ticks_coalesce_into_one(demo_spec: FeedSpec, tmp_path: Path) -> None:
    url = Store.sqlite(tmp_path / "db.sqlite").url
    feed = _feed(demo_spec, "persisted", 60)
    FeedScheduler([feed], on_report=lambda _report: None, jobstore_url=url).run(rounds=1)  # type: ignore[list-item]
    scheduled = _next_run(url, "persisted")
    assert scheduled is not None and scheduled > datetime.now(UTC) + timedelta(seconds=50)

    # The node was down for an hour: sixty ticks were missed.
    _rewind(url, job_id("persisted"), datetime.now(UTC) - timedelta(hours=1))

    restarted = _feed(demo_spec, "persisted", 60)
    stop = threading.Event()
    threading.Timer(2.0, stop.set).start()
    FeedScheduler([restarted], on_report=lambda _report: None, jobstore_url=url).run(rounds=None, stop=stop)  # type: ignore[list-item]
    assert len(restarted.ticks) == 1  # one catch-up tick, not sixty
    rescheduled = _next_run(url, "persisted")
    assert rescheduled is not None and rescheduled > datetime.now(UTC)


def test_jobs_of_feeds_no_longer_run_are_removed(demo_spec: FeedSpec, tmp_path: Path) -> None:
    url = Store.sqlite(tmp_path / "db.sqlite").url
    FeedScheduler([_feed(demo_spec, "old", 60)], on_report=lambda _r: None, jobstore_url=url).run(rounds=1)  # type: ignore[list-item]
    FeedScheduler([_feed(demo_spec, "new", 60)], on_report=lambda _r: None, jobstore_url=url).run(rounds=1)  # type: ignore[list-item]
    assert _next_run(url, "old") is None and _next_run(url, "new") is not None


def test_cron_schedules_tick_on_the_crontab(demo_spec: FeedSpec) -> None:
    spec = demo_spec.model_copy(update={"schedule": ScheduleSpec(cron="*/5 * * * *")})
    noon = datetime(2026, 11, 25, 12, 3, 30, tzinfo=UTC).timestamp()
    assert seconds_to_next_tick(spec.schedule, now=noon) == 90.0  # next at 12:05:00
    assert str(schedule_trigger(spec.schedule)).startswith("cron[")


def test_a_round_posted_to_other_chains_counts_once_and_their_reports_come_with_it(demo_spec: FeedSpec) -> None:
    feed = RecordingFeed(demo_spec.model_copy(update={"schedule": ScheduleSpec(interval_seconds=0.2)}), other_chains=2)
    printed: list[RoundReport] = []
    reports = FeedScheduler([feed], on_report=printed.append).run(rounds=2)  # type: ignore[list-item]
    counted = sum(not report.lane for report in reports)
    assert counted >= 2 and counted == len(feed.ticks)  # a tick that fired while stopping is reported too
    assert sum(report.lane for report in reports) == 2 * counted and printed == reports
    assert feed.drained  # the other chains' postings under way were waited for
