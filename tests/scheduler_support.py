"""Helpers for the scheduler tests: a controllable clock for APScheduler, probe tasks, waiting."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

from campaign_worker.scheduler.jobs import JobSpec
from campaign_worker.config.worker import AlertSettings, MetricsSettings, SchedulerSettings, WorkerSettings


class Clock:
    """A settable 'now' shared by our code and APScheduler (see `patch_apscheduler_clock`)."""

    def __init__(self, start: datetime):
        self._now = start.astimezone(timezone.utc)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, value: datetime) -> None:
        with self._lock:
            self._now = value.astimezone(timezone.utc)

    def advance(self, **delta) -> None:
        with self._lock:
            self._now += timedelta(**delta)


def patch_apscheduler_clock(monkeypatch, clock: Clock) -> None:
    """APScheduler 3 reads `datetime.now` in the scheduler loop and in the executor's misfire check."""

    class ClockDateTime(datetime):
        @classmethod
        def now(cls, tz=None):
            current = clock()
            return current.astimezone(tz) if tz else current.replace(tzinfo=None)

    monkeypatch.setattr("apscheduler.schedulers.base.datetime", ClockDateTime)
    monkeypatch.setattr("apscheduler.executors.base.datetime", ClockDateTime)


def spec(name: str, task: str, **fields) -> JobSpec:
    data = {"name": name, "task": task, "trigger": {"type": "interval", "minutes": 30}}
    data.update(fields)
    return JobSpec.model_validate(data)


def quiet_settings(**alerts) -> WorkerSettings:
    return WorkerSettings(
        scheduler=SchedulerSettings(heartbeat_seconds=0.05, lock_ttl_seconds=60),
        metrics=MetricsSettings(enabled=False),
        alerts=AlertSettings(**alerts) if alerts else AlertSettings(enabled=False),
    )


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not reached in time")
