"""A feed's schedule as APScheduler runs it: the trigger that ticks the feed, and when it next fires.

Apart from :mod:`oracle.scheduler` because the heartbeat decision (:mod:`oracle.triggers`)
also needs the next tick, and the scheduler module depends on the node that makes it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from oracle.feeds.schema import ScheduleSpec


def schedule_trigger(schedule: ScheduleSpec) -> BaseTrigger:
    """The APScheduler trigger for ``schedule``."""
    if schedule.cron is not None:
        return CronTrigger.from_crontab(schedule.cron, timezone=UTC)
    return IntervalTrigger(seconds=schedule.interval_seconds, timezone=UTC)


def seconds_to_next_tick(schedule: ScheduleSpec, *, now: float) -> float:
    """How long after ``now`` the next tick comes (used to post heartbeats one tick early)."""
    if schedule.interval_seconds is not None:
        return schedule.interval_seconds
    moment = datetime.fromtimestamp(now, UTC)
    upcoming = schedule_trigger(schedule).get_next_fire_time(None, moment)
    return (upcoming - moment).total_seconds() if upcoming else 0.0
