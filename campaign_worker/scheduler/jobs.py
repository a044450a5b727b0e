"""Job declarations: `jobs/<name>.toml` says which task runs when, for which campaigns.

Operators change *when* things run here without touching Python. A home with its own `jobs/`
folder replaces the shipped jobs completely (a job set is one decision, not a merge).

Two trigger kinds:
- `cron`: named weekdays, hours and minutes in the job's time zone (default Europe/Berlin).
  Hours must be named, and 02:00–03:00 local time is refused in zones with daylight saving:
  that hour is skipped in March and happens twice in October.
- `interval`: every N seconds, minutes or hours, aligned to the clock in UTC (e.g. :00 and :30),
  so runs are evenly spaced across DST changes and every run has a fixed, predictable slot.
  N must divide the next unit (minutes: 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30; hours: 1, 2, 3, 4,
  6, 8, 12); seconds are meant for tests.

The trigger is always an APScheduler `CronTrigger` (nothing custom is pickled into the job
store). A run's *slot* is the nominal fire time without jitter; the ledger keys runs on it.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Literal, Union
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from campaign_worker.config.campaigns import ConfigError, check_campaigns, known_zone, read_toml, validate
from campaign_worker.home import Home, defaults_root

JOB_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_DE = {
    "mon": ("Mo", "montags"),
    "tue": ("Di", "dienstags"),
    "wed": ("Mi", "mittwochs"),
    "thu": ("Do", "donnerstags"),
    "fri": ("Fr", "freitags"),
    "sat": ("Sa", "samstags"),
    "sun": ("So", "sonntags"),
}
DIVISORS = {"seconds": 60, "minutes": 60, "hours": 24}
UNIT_DE = {"seconds": ("Sekunde", "Sekunden"), "minutes": ("Minute", "Minuten"), "hours": ("Stunde", "Stunden")}
DAY_RE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$")
CRON_NUMBER_RE = re.compile(r"^\d{1,2}(-\d{1,2})?(/\d{1,2})?$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _cron_field(value: int | list[int] | str, low: int, high: int, what: str) -> str:
    """int, list of ints or a cron expression ("8", "8,14", "0-59/15") → validated cron text."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, int):
        value = [value]
    if isinstance(value, list):
        if not value:
            raise ValueError(f"{what}: the list is empty")
        for number in value:
            if not isinstance(number, int) or isinstance(number, bool) or not low <= number <= high:
                raise ValueError(f"{what}: {number!r} is not between {low} and {high}")
        return ",".join(str(n) for n in sorted(set(value)))
    text = str(value).strip()
    if text == "*":
        return text
    for part in text.split(","):
        if not CRON_NUMBER_RE.match(part.strip()):
            raise ValueError(f"{what}: {text!r} is not understood; use a number, a list like [0, 30] or '0-59/15'")
    return text.replace(" ", "")


class CronSchedule(Strict):
    type: Literal["cron"]
    day_of_week: str | list[str] = Field(default="*", description="mon..sun, 'mon-fri', or a list")
    hour: int | list[int] | str
    minute: int | list[int] | str = 0

    @field_validator("day_of_week")
    @classmethod
    def _days(cls, value: str | list[str]) -> str:
        parts = value if isinstance(value, list) else str(value).split(",")
        parts = [str(p).strip().lower() for p in parts if str(p).strip()]
        if parts == ["*"]:
            return "*"
        for part in parts:
            if not DAY_RE.match(part):
                raise ValueError(
                    f"{part!r} is not a weekday; use mon, tue, wed, thu, fri, sat, sun or ranges like 'mon-fri' "
                    "(numbers are refused: crontab counts Monday as 1, APScheduler as 0)"
                )
        if not parts:
            raise ValueError("no weekday given")
        return ",".join(parts)

    @field_validator("hour")
    @classmethod
    def _hour(cls, value) -> str:
        text = _cron_field(value, 0, 23, "hour")
        if text == "*":
            raise ValueError("name the hours (e.g. 8 or [8, 14]); for 'every hour' use type = \"interval\" with hours = 1")
        return text

    @field_validator("minute")
    @classmethod
    def _minute(cls, value) -> str:
        return _cron_field(value, 0, 59, "minute")


class IntervalSchedule(Strict):
    type: Literal["interval"]
    seconds: int | None = Field(default=None, ge=1, le=59)
    minutes: int | None = Field(default=None, ge=1, le=59)
    hours: int | None = Field(default=None, ge=1, le=23)
    offset_minutes: int = Field(default=0, ge=0, le=59, description="shift the runs, e.g. 10 → :10 and :40")

    @model_validator(mode="after")
    def _one_unit(self) -> "IntervalSchedule":
        given = [unit for unit in DIVISORS if getattr(self, unit) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of seconds, minutes or hours")
        unit = given[0]
        every = getattr(self, unit)
        if DIVISORS[unit] % every:
            options = ", ".join(str(n) for n in range(1, DIVISORS[unit]) if DIVISORS[unit] % n == 0)
            raise ValueError(f"{unit} = {every} does not divide {DIVISORS[unit]}; choose one of {options}")
        if unit == "minutes" and self.offset_minutes >= every:
            raise ValueError(f"offset_minutes must be smaller than the interval ({every} minutes)")
        if unit == "seconds" and self.offset_minutes:
            raise ValueError("offset_minutes cannot be combined with seconds")
        return self

    @property
    def unit(self) -> str:
        return next(unit for unit in DIVISORS if getattr(self, unit) is not None)

    @property
    def every(self) -> int:
        return getattr(self, self.unit)

    @property
    def period(self) -> timedelta:
        return timedelta(**{self.unit: self.every})


Schedule = Annotated[Union[CronSchedule, IntervalSchedule], Field(discriminator="type")]


class JobSpec(Strict):
    """One validated `jobs/<name>.toml`."""

    name: str
    task: str
    description: str | None = Field(default=None, max_length=300)
    campaigns: list[str] | None = Field(default=None, description="omitted: all campaigns")
    trigger: Schedule
    timezone: str = "Europe/Berlin"
    jitter_seconds: int = Field(default=0, ge=0, le=3600)
    misfire_grace_seconds: int = Field(default=300, ge=1, le=7 * 86400)
    max_retries: int = Field(default=0, ge=0, le=10)
    retry_delay_seconds: int = Field(default=30, ge=0, le=3600)
    catch_up: bool = Field(default=True, description="run once on start when a run was missed while stopped")
    enabled: bool = True

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:
        from campaign_worker.scheduler.tasks import TASKS

        if value not in TASKS:
            raise ValueError(f"unknown task {value!r}; known tasks: {', '.join(sorted(TASKS))}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return known_zone(value)

    @model_validator(mode="after")
    def _sane(self) -> "JobSpec":
        if isinstance(self.trigger, CronSchedule) and _has_dst(self.tz) and 2 in _cron_hours(self.trigger):
            raise ValueError(
                f"trigger.hour: 02:00–03:00 {self.timezone} is the daylight-saving hour (skipped in March, "
                "twice in October); choose e.g. 01:30 or 03:30"
            )
        gap = self.min_gap()
        if self.jitter_seconds and self.jitter_seconds * 2 > gap.total_seconds():
            raise ValueError(
                f"jitter_seconds = {self.jitter_seconds} is too large: runs can be {int(gap.total_seconds())} s apart; "
                "keep it below half of that"
            )
        return self

    # -- time ---------------------------------------------------------------------------------

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def trigger_zone(self):
        """Cron jobs run in their zone; intervals tick in UTC (evenly spaced across DST)."""
        return self.tz if isinstance(self.trigger, CronSchedule) else timezone.utc

    def cron_fields(self) -> dict[str, str]:
        t = self.trigger
        if isinstance(t, CronSchedule):
            return {"day_of_week": t.day_of_week, "hour": t.hour, "minute": t.minute, "second": "0"}
        steps = lambda every, limit, offset=0: ",".join(str(n) for n in range(offset, limit, every))  # noqa: E731
        if t.unit == "seconds":
            return {"second": steps(t.every, 60)}
        if t.unit == "minutes":
            return {"minute": steps(t.every, 60, t.offset_minutes), "second": "0"}
        return {"hour": steps(t.every, 24), "minute": str(t.offset_minutes), "second": "0"}

    def build_trigger(self, *, jitter: bool = True) -> CronTrigger:
        return CronTrigger(
            **self.cron_fields(),
            timezone=self.trigger_zone(),
            jitter=(self.jitter_seconds or None) if jitter else None,
        )

    def fingerprint(self) -> str:
        """Changes when the trigger changes; the scheduler reschedules only then."""
        data = {"cron": self.cron_fields(), "tz": str(self.trigger_zone()), "jitter": self.jitter_seconds}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    def next_slot(self, after: datetime) -> datetime | None:
        """The first nominal fire time at or after `after`."""
        return self.build_trigger(jitter=False).get_next_fire_time(None, after)

    def slot_for(self, run_time: datetime) -> datetime:
        """The nominal slot a (possibly jittered) run time belongs to, in UTC."""
        start = run_time - timedelta(seconds=self.jitter_seconds)
        slot = self.next_slot(start)
        if slot is None or slot > run_time + timedelta(microseconds=1):
            slot = run_time
        return slot.astimezone(timezone.utc)

    def last_slot(self, now: datetime) -> datetime | None:
        """The latest nominal fire time at or before `now` (searched back up to about 16 days)."""
        trigger = self.build_trigger(jitter=False)
        window = self.min_gap()
        while window <= timedelta(days=16):
            cursor = trigger.get_next_fire_time(None, now - window)
            if cursor is not None and cursor <= now:
                latest = cursor
                while cursor is not None and cursor <= now:
                    latest = cursor
                    cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
                return latest.astimezone(timezone.utc)
            window *= 2
        return None

    def min_gap(self) -> timedelta:
        if isinstance(self.trigger, IntervalSchedule):
            return self.trigger.period
        trigger = self.build_trigger(jitter=False)
        times = []
        cursor = trigger.get_next_fire_time(None, datetime(2026, 1, 5, tzinfo=timezone.utc))
        while cursor is not None and len(times) < 30:
            times.append(cursor)
            cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
        gaps = [b - a for a, b in zip(times, times[1:])]
        return min(gaps) if gaps else timedelta(days=7)

    # -- words --------------------------------------------------------------------------------

    def describe(self) -> str:
        """A short German description, e.g. 'montags um 08:00 (Europe/Berlin) · Aufgabe digest'."""
        parts = [self.describe_when()]
        if self.jitter_seconds:
            parts[0] += f", bis {self.jitter_seconds} s später"
        parts.append(f"Aufgabe {self.task}")
        parts.append("Kampagnen: " + (", ".join(self.campaigns) if self.campaigns else "alle"))
        if self.max_retries:
            parts.append(f"{self.max_retries} Wiederholung(en) bei Fehler")
        if not self.enabled:
            parts.append("ABGESCHALTET")
        return " · ".join(parts)

    def describe_when(self) -> str:
        t = self.trigger
        if isinstance(t, IntervalSchedule):
            singular, plural = UNIT_DE[t.unit]
            text = f"jede {singular}" if t.every == 1 else f"alle {t.every} {plural}"
            if t.unit == "minutes":
                marks = ", ".join(f":{m:02d}" for m in range(t.offset_minutes, 60, t.every))
                text += f" ({marks})" if len(marks) < 40 else ""
            elif t.unit == "hours" and t.offset_minutes:
                text += f" (jeweils :{t.offset_minutes:02d})"
            return text
        days = t.day_of_week
        if days == "*":
            when = "täglich"
        elif days == "mon-fri":
            when = "werktags (Mo–Fr)"
        elif "," not in days and "-" not in days:
            when = DAY_DE[days][1]
        else:
            when = ", ".join(
                "–".join(DAY_DE[d][0] for d in part.split("-")) for part in days.split(",")
            )
        times = [f"{h:02d}:{m:02d}" for h, m in _cron_times(t)]
        shown = ", ".join(times[:6]) + (" …" if len(times) > 6 else "")
        return f"{when} um {shown} ({self.timezone})"


def _has_dst(zone: ZoneInfo) -> bool:
    january = datetime(2026, 1, 15, 12, tzinfo=zone).utcoffset()
    july = datetime(2026, 7, 15, 12, tzinfo=zone).utcoffset()
    return january != july


def _cron_times(schedule: CronSchedule) -> list[tuple[int, int]]:
    """The (hour, minute) pairs a cron schedule fires at on a day it runs."""
    trigger = CronTrigger(hour=schedule.hour, minute=schedule.minute, second=0, timezone=timezone.utc)
    start = datetime(2026, 1, 5, tzinfo=timezone.utc)
    pairs = []
    cursor = trigger.get_next_fire_time(None, start)
    while cursor is not None and cursor < start + timedelta(days=1):
        pairs.append((cursor.hour, cursor.minute))
        cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
    return pairs


def _cron_hours(schedule: CronSchedule) -> set[int]:
    return {hour for hour, _ in _cron_times(schedule)}


# -- loading ------------------------------------------------------------------------------------


def overdue(specs: dict[str, JobSpec], completed: dict[str, datetime], since: datetime, now: datetime) -> list[dict]:
    """Enabled jobs (`completed`: newest completed slot per job, in UTC) that have not completed a slot for longer than their schedule allows.

    Allowed: two gaps between slots (the slot due now may still be running) plus jitter and
    misfire grace, counted from the last completed slot or `since` (the scheduler's start),
    whichever is later. Used by `/healthz` and `status`.
    """
    late = []
    for name, spec in sorted(specs.items()):
        if not spec.enabled:
            continue
        last = completed.get(name)
        start = max(last, since) if last is not None else since
        allowed = 2 * spec.min_gap() + timedelta(seconds=spec.jitter_seconds + spec.misfire_grace_seconds)
        if now - start > allowed:
            late.append({"job": name, "last_completed_slot": last.isoformat() if last else None,
                         "allowed_s": int(allowed.total_seconds())})
    return late


def jobs_folder(home: Home) -> Path:
    """The home's own `jobs/` if it has one (it replaces the shipped set), else the shipped jobs."""
    own = home.root / "jobs"
    if own.is_dir():
        return own
    return defaults_root() / "jobs"


def job_files(home: Home) -> list[Path]:
    folder = jobs_folder(home)
    return sorted(folder.glob("*.toml")) if folder.is_dir() else []


def parse_job(path: Path, known_campaigns: set[str] | None = None) -> JobSpec:
    """Parse and validate one job file; the job name is the file name."""
    name = path.stem
    if not JOB_NAME_RE.match(name):
        raise ConfigError(path, [f"file name {name!r} is not a valid job name (a-z, 0-9, - and _)"])
    data = read_toml(path)
    if "name" in data and data["name"] != name:
        raise ConfigError(path, [f"name: {data['name']!r} differs from the file name {name!r}; remove the key or rename the file"])
    data["name"] = name
    spec = validate(JobSpec, data, path)
    if known_campaigns is not None and spec.campaigns:
        unknown = [slug for slug in spec.campaigns if slug not in known_campaigns]
        if unknown:
            known = ", ".join(sorted(known_campaigns)) or "none"
            raise ConfigError(path, [f"campaigns: unknown campaign(s) {', '.join(unknown)}; known: {known}"])
    return spec


def check_jobs(home: Home) -> tuple[list[JobSpec], list[ConfigError]]:
    """Every job file of the home: the valid specs and one error per broken file."""
    campaigns, campaign_errors = check_campaigns(home)
    known = set(campaigns) if not campaign_errors else None
    specs: list[JobSpec] = []
    errors: list[ConfigError] = []
    for path in job_files(home):
        try:
            specs.append(parse_job(path, known))
        except ConfigError as exc:
            errors.append(exc)
    return specs, errors


def load_jobs(home: Home) -> dict[str, JobSpec]:
    """All job specs by name; raises the first error (a scheduler must not start half-configured)."""
    specs, errors = check_jobs(home)
    if errors:
        raise errors[0]
    return {spec.name: spec for spec in specs}


def get_job(home: Home, name: str) -> JobSpec:
    jobs = load_jobs(home)
    if name not in jobs:
        known = ", ".join(sorted(jobs)) or "keine / none"
        raise ConfigError(jobs_folder(home) / f"{name}.toml", [f"kein Job / no job {name!r}; vorhanden / known: {known}"])
    return jobs[name]
