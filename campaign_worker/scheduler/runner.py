"""Running one job for one slot: claim it in the ledger, run the task, record the outcome.

Used by the scheduler for every scheduled, catch-up and recovery run, and by `run-job` for
one-off runs. Failed attempts are retried `max_retries` times with a growing pause that a stop
request cuts short. After each run the alert state is updated (mail after N failures in a row,
one recovery mail).

Recording a run's end is never skipped: when the database stays locked, the job thread tries
again with a growing pause for `scheduler.record_retry_seconds`. A run whose end still could
not be recorded is left to the scheduler's watchdog (`reap_stale`), which marks it abandoned
once the database answers, so no row stays `running` for good and later slots run again.
The runner writes the ledger through `engine` (the scheduler's own, with short lock waits).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from campaign_worker.scheduler import alerts, ledger
from campaign_worker.config.campaigns import ConfigError
from campaign_worker.scheduler.jobs import JobSpec
from campaign_worker.store.models import JobRun
from campaign_worker.timeutil import utcnow
from campaign_worker.config.worker import WorkerSettings
from campaign_worker.scheduler.tasks import TASKS, Task

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

BUSY_GRACE_S = 2.0  # how long a run waits for the same job's earlier run in this process before it is skipped


@dataclass
class RunOutcome:
    job: str
    slot: datetime
    status: str  # ok | partial | failed | duplicate (slot already taken) | busy (job running elsewhere)
    run_id: int | None = None
    counts: dict = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0
    seconds: float = 0.0


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ConfigError):
        return exc.render()
    tail = "".join(traceback.format_exception(exc)[-6:])
    return f"{type(exc).__name__}: {exc}\n{tail}"


class JobRunner:
    """Runs jobs of one workspace; shares a stop flag with whoever may ask it to stop."""

    def __init__(
        self,
        ws: Workspace,
        settings: WorkerSettings,
        *,
        stop_event: threading.Event | None = None,
        owner: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        engine: Engine | None = None,
        tasks: dict[str, Task] | None = None,
    ):
        self.ws = ws
        self.engine = engine or ws.engine
        self.tasks = tasks or TASKS
        self.settings = settings
        self.stop_event = stop_event or threading.Event()
        self.owner = owner or ledger.owner_id()
        self.clock = clock
        self._busy: dict[str, threading.Lock] = {}
        self._busy_guard = threading.Lock()
        self._active: set[int] = set()  # runs a thread of this runner is working on

    def should_stop(self) -> bool:
        return self.stop_event.is_set()

    def _job_lock(self, name: str) -> threading.Lock:
        with self._busy_guard:
            return self._busy.setdefault(name, threading.Lock())

    def run(
        self,
        spec: JobSpec,
        slot: datetime,
        *,
        kind: str = "scheduled",
        campaigns: list[str] | None = None,
        retry_of: int | None = None,
        take_over: bool = False,
    ) -> RunOutcome:
        """Claim (job, slot) and run it; `take_over` continues a run whose worker died."""
        slot = ledger.as_utc(slot)
        extra = {"job": spec.name, "slot": slot.isoformat(), "kind": kind}
        lock = self._job_lock(spec.name)
        # A starting worker can get a catch-up slot and the next one within milliseconds; the
        # first usually ends moments later, so wait that long before calling the job busy.
        if not lock.acquire(timeout=BUSY_GRACE_S):
            ledger.record(self.engine, spec.name, slot, "skipped", kind=kind, error="Job lief noch / job still running")
            log.warning("übersprungen, läuft noch / skipped, still running: %s", spec.name, extra=extra)
            return RunOutcome(spec.name, slot, "busy")
        try:
            return self._run_claimed(spec, slot, kind, campaigns or spec.campaigns, retry_of, extra, take_over)
        finally:
            lock.release()

    def reap_stale(self) -> list[int]:
        """Mark this process's running rows that no thread works on any more as abandoned."""
        with self._busy_guard:
            active = set(self._active)
        return ledger.abandon_own(self.engine, self.owner, active, now=self.clock())

    def _claim(self, spec: JobSpec, slot: datetime, kind: str, retry_of: int | None) -> ledger.Claim:
        claim = ledger.claim(self.engine, spec.name, slot, kind=kind, owner=self.owner, retry_of=retry_of, now=self.clock())
        if claim.reason == "running" and self.reap_stale():
            # The job's running row was our own, left without an end: it is abandoned now.
            claim = ledger.claim(self.engine, spec.name, slot, kind=kind, owner=self.owner, retry_of=retry_of, now=self.clock())
        return claim

    def _run_claimed(self, spec: JobSpec, slot: datetime, kind: str, campaigns: list[str] | None,
                     retry_of: int | None, extra: dict, take_over: bool = False) -> RunOutcome:
        engine = self.engine
        claim = self._claim(spec, slot, kind, retry_of)
        if not claim.ok and take_over:
            claim = ledger.take_over(engine, spec.name, slot, owner=self.owner)
        if not claim.ok:
            if claim.reason == "running":
                ledger.record(engine, spec.name, slot, "skipped", kind=kind, error="Job lief in einem anderen Prozess / job running elsewhere")
                log.warning("übersprungen, läuft anderswo / skipped, running elsewhere: %s", spec.name, extra=extra)
                return RunOutcome(spec.name, slot, "busy")
            log.info("Slot schon erledigt / slot already taken: %s %s", spec.name, slot.isoformat(), extra=extra)
            return RunOutcome(spec.name, slot, "duplicate")
        extra["run_id"] = claim.run_id
        with self._busy_guard:
            self._active.add(claim.run_id)
        try:
            log.info("Start %s (%s, Slot %s)", spec.name, kind, slot.isoformat(), extra=extra)
            started = time.monotonic()
            try:
                outcome = self._attempts(spec, slot, campaigns, claim.run_id, extra)
            except BaseException as exc:  # Ctrl+C twice, SystemExit: record before leaving
                self._record_end(claim.run_id, "failed", extra, error=f"unterbrochen / interrupted: {exc!r}")
                raise
            outcome.seconds = time.monotonic() - started
            recorded = self._record_end(claim.run_id, outcome.status, extra, counts=outcome.counts, error=outcome.error,
                                        attempts=outcome.attempts)
        finally:
            with self._busy_guard:
                self._active.discard(claim.run_id)
        level = logging.INFO if outcome.status == "ok" else logging.WARNING
        log.log(level, "Ende %s: %s in %.1f s %s", spec.name, outcome.status, outcome.seconds, outcome.counts or "", extra={**extra, "status": outcome.status})
        if recorded:
            self._alerts(spec.name, claim.run_id)
        else:
            self.reap_stale_quietly()
        return outcome

    def _record_end(self, run_id: int, status: str, extra: dict, **values) -> bool:
        """`ledger.finish`, tried again with a growing pause while the database is locked."""
        deadline = time.monotonic() + self.settings.scheduler.record_retry_seconds
        pause = 0.1
        while True:
            try:
                ledger.finish(self.engine, run_id, status, now=self.clock(), **values)
                return True
            except OperationalError as exc:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.error("Ende des Laufs #%s nicht gespeichert / could not record the run's end: %s", run_id,
                              str(exc.orig or exc).splitlines()[0], extra=extra)
                    return False
                log.warning("Ende des Laufs #%s: Datenbank gesperrt, neuer Versuch in %.1f s / database locked, retrying",
                            run_id, min(pause, left), extra=extra)
                time.sleep(min(pause, left))
                pause = min(pause * 2, 10.0)

    def reap_stale_quietly(self) -> None:
        try:
            self.reap_stale()
        except OperationalError as exc:  # still locked: the scheduler's watchdog tries again
            log.warning("Wächter: Datenbank gesperrt / watchdog: database locked: %s", str(exc.orig or exc).splitlines()[0])

    def _attempts(self, spec: JobSpec, slot: datetime, campaigns: list[str] | None, run_id: int, extra: dict) -> RunOutcome:
        task = self.tasks.get(spec.task) or TASKS[spec.task]
        stopped_early = False

        def should_stop() -> bool:
            nonlocal stopped_early
            if self.stop_event.is_set():
                stopped_early = True
                return True
            return False

        error = None
        counts: dict = {}
        attempts = 0
        for attempt in range(spec.max_retries + 1):
            attempts = attempt + 1
            if attempt:
                ledger.set_attempts(self.engine, run_id, attempts)
            try:
                counts = task(self.ws, list(campaigns) if campaigns else None, should_stop) or {}
                error = None
                break
            except Exception as exc:  # a task failure is recorded, never fatal for the scheduler
                error = describe_error(exc)
                log.warning("Versuch %d von %s fehlgeschlagen / attempt failed: %s", attempts, spec.name, exc, extra=extra)
                if attempt < spec.max_retries and self.stop_event.wait(spec.retry_delay_seconds * (2**attempt)):
                    stopped_early = True
                    break
        if error is not None:
            status = "failed"
        elif stopped_early:
            status = "partial"
        else:
            status = "ok"
        return RunOutcome(spec.name, slot, status, run_id, counts, error, attempts)

    def _alerts(self, job: str, run_id: int) -> None:
        try:
            with ledger.read_session(self.engine) as session:
                run = session.get(JobRun, run_id)
            alerts.after_run(self.engine, self.settings, job, run)
        except Exception:  # alerts must never break the run bookkeeping
            log.exception("Alarmprüfung fehlgeschlagen / alert check failed for %s", job)
