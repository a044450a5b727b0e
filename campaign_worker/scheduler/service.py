"""The long-running scheduler behind `campaign-worker run` (APScheduler 3.11).

Start-up order matters (APScheduler's defaults drop runs after a restart):
1. take the one-scheduler-per-database lock;
2. start APScheduler *paused* with its persistent job store (table `apscheduler_jobs` in the
   same database) — stored next run times survive restarts;
3. mark `running` ledger rows of dead processes as abandoned;
4. reconcile with `jobs/`: add missing jobs, reschedule only jobs whose trigger fingerprint
   changed, update options, remove jobs no longer declared;
5. plan what is owed: a job whose stored next run time passed while we were stopped runs once
   now for its latest missed slot (a "catch-up"), and an abandoned run that nothing has redone
   since runs once more (a "recovery"); both as one-off jobs in a memory store;
6. resume.

While running, the main loop beats the lock's heartbeat and, on the same tick, a watchdog
marks this process's runs whose end could not be recorded as abandoned, and an audit gives
every due slot that got no run (APScheduler coalesced it, the loop was late) a `missed` row
with the reason; slots missed while stopped get theirs at start. `overdue` tells `/healthz`
which jobs have not completed a slot for longer than their schedule allows.

The job store, the lock and the ledger use an engine of their own with a short lock wait
(`scheduler.db_lock_timeout_seconds`), so the scheduler never queues behind pipeline work.

Stored jobs reference `campaign_worker.scheduler:fire` with the job name as the only argument;
the job's schedule and options come from `jobs/*.toml`. Every run goes through the ledger, which
keys it on its nominal slot (`JobSpec.slot_for`), so a slot runs at most once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.base import run_job
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import MetaData, Table, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import NoSuchTableError, OperationalError

from campaign_worker.scheduler import ledger, lock as scheduler_lock
from campaign_worker.files import remove_leftovers
from campaign_worker.store.db import bookkeeping_engine, one_statement, reading
from campaign_worker.scheduler.runner import JobRunner
from campaign_worker.scheduler.jobs import JobSpec, load_jobs, overdue as overdue_jobs
from campaign_worker.timeutil import utcnow
from campaign_worker.config.worker import WorkerSettings

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

FUNC_REF = "campaign_worker.scheduler:fire"
JOBSTORE_TABLE = "apscheduler_jobs"
PERSISTENT = "default"
VOLATILE = "volatile"

STOPPED = "verpasst, während der Scheduler stand / missed while stopped"
MAX_MISSED = 5000  # slots recorded as missed per job and start (a month of one-minute slots is 43,200)

_active: "WorkerScheduler | None" = None
_slot_context = threading.local()


def fire(name: str, **options) -> None:
    """What APScheduler calls (a text reference with primitive arguments)."""
    worker = _active
    if worker is None:
        raise RuntimeError(f"job {name!r} fired, but no scheduler is active in this process")
    worker.fire(name, options)


class LedgerJobStore(SQLAlchemyJobStore):
    """APScheduler's SQLAlchemy store, surviving a locked database when it stores a next run time.

    APScheduler lets an error from `update_job` end its main loop for good. Not storing the new
    time is harmless: the job comes due again and its slot, already in the ledger, is not re-run.
    """

    def update_job(self, job):
        try:
            super().update_job(job)
        except OperationalError as exc:
            log.warning("Job-Speicher gesperrt, nächster Lauf von %s nicht gespeichert / job store locked: %s",
                        job.id, str(exc.orig or exc).splitlines()[0])


class SlotExecutor(ThreadPoolExecutor):
    """A thread pool that tells the job which scheduled time it is running for."""

    def _do_submit_job(self, job, run_times):
        def call(job, alias, run_times, logger_name):
            _slot_context.run_time = run_times[-1]
            try:
                return run_job(job, alias, run_times, logger_name)
            finally:
                _slot_context.run_time = None

        def done(future):
            exc = future.exception()
            if exc:
                self._run_job_error(job.id, exc, getattr(exc, "__traceback__", None))
            else:
                self._run_job_success(job.id, future.result())

        self._pool.submit(call, job, job._jobstore_alias, run_times, self._logger.name).add_done_callback(done)


@dataclass
class StartReport:
    abandoned: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    rescheduled: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    catch_up: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    recovery: list[str] = field(default_factory=list)


class WorkerScheduler:
    def __init__(
        self,
        ws: Workspace,
        settings: WorkerSettings,
        *,
        specs: dict[str, JobSpec] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.ws = ws
        self.settings = settings
        self.clock = clock
        self.stop_event = threading.Event()
        self.owner = ledger.owner_id()
        self.specs = specs if specs is not None else load_jobs(ws.home)
        self.engine = bookkeeping_engine(ws.engine, lock_timeout_s=settings.scheduler.db_lock_timeout_seconds)
        self.runner = JobRunner(ws, settings, stop_event=self.stop_event, owner=self.owner, clock=clock, engine=self.engine)
        self.scheduler = BackgroundScheduler(
            jobstores={PERSISTENT: LedgerJobStore(engine=one_statement(self.engine), tablename=JOBSTORE_TABLE), VOLATILE: MemoryJobStore()},
            executors={"default": SlotExecutor(settings.scheduler.max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=timezone.utc,
            daemon=True,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)
        self.scheduler.add_listener(self._on_max_instances, EVENT_JOB_MAX_INSTANCES)
        self.report = StartReport()
        self.started_at: datetime | None = None
        self._audited_until: dict[str, datetime] = {}
        self._lock_held = False

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> StartReport:
        """Take the lock, reconcile, plan what is owed, resume. Raises `SchedulerLocked`."""
        global _active
        if _active is not None and _active is not self:
            raise RuntimeError("another scheduler is active in this process")
        scheduler_lock.acquire(self.engine, ttl=self.settings.scheduler.lock_ttl_seconds, owner=self.owner, now=self.clock())
        self._lock_held = True
        try:
            self.scheduler.start(paused=True)
            _active = self
            abandoned = ledger.mark_abandoned(
                self.engine,
                me=self.owner,
                scheduler_kinds_are_dead=True,
                older_than=timedelta(hours=self.settings.scheduler.abandon_after_hours),
                now=self.clock(),
            )
            self.report.abandoned = [f"{run.job}#{run.id}" for run in abandoned]
            remove_leftovers(self.ws.home.media_dir)
            remove_leftovers(self.ws.home.output_dir)
            self.reconcile()
            self._plan_owed()
            self.started_at = self.clock()
            self._audited_until = dict.fromkeys(self.enabled_specs(), self.started_at)
            self.scheduler.resume()
        except BaseException:
            self.shutdown()
            raise
        log.info(
            "Scheduler läuft / running: %d Jobs; neu %s, geändert %s, entfernt %s, nachgeholt %s, wiederholt %s",
            len(self.enabled_specs()), self.report.added, self.report.rescheduled, self.report.removed,
            self.report.catch_up, self.report.recovery,
        )
        return self.report

    def request_stop(self) -> None:
        """Ask running jobs to stop after their current step and the main loop to end."""
        if not self.stop_event.is_set():
            log.info("Stopp angefordert / stop requested; laufende Jobs beenden ihren Schritt")
        self.stop_event.set()

    def serve(self, *, on_tick: Callable[[], None] | None = None) -> None:
        """Block until a stop is requested; keep the lock's heartbeat fresh meanwhile."""
        interval = self.settings.scheduler.heartbeat_seconds
        while not self.stop_event.wait(interval):
            try:
                if not scheduler_lock.heartbeat(self.engine, self.owner, now=self.clock()):
                    log.error("Scheduler-Sperre verloren / scheduler lock lost; stopping")
                    self._lock_held = False
                    self.request_stop()
                    continue
            except Exception as exc:  # database briefly unreachable: keep going, try again
                log.warning("Herzschlag fehlgeschlagen / heartbeat failed: %s", exc)
            self.watch()
            if on_tick is not None:
                on_tick()

    def watch(self) -> None:
        """One watchdog round: abandon own runs left without an end, account for missed slots."""
        try:
            self.runner.reap_stale()
            self.account_for_slots()
        except Exception as exc:  # locked or unreachable: the next tick tries again
            log.warning("Wächter / watchdog: %s", str(exc).splitlines()[0])

    def account_for_slots(self) -> dict[str, int]:
        """Give every slot that is past its grace time and has no ledger row a `missed` row."""
        now = self.clock()
        margin = timedelta(seconds=self.settings.scheduler.db_lock_timeout_seconds + 2 * self.settings.scheduler.heartbeat_seconds)
        recorded: dict[str, int] = {}
        for name, spec in sorted(self.enabled_specs().items()):
            since = self._audited_until.get(name)
            if since is None:
                continue
            until = now - timedelta(seconds=spec.jitter_seconds + spec.misfire_grace_seconds) - margin
            slots = _slots(spec, since, until)
            if slots:
                taken = ledger.slots_between(self.engine, name, slots[0], slots[-1])
                owed = [slot for slot in slots if slot not in taken]
                recorded[name] = ledger.record_many(
                    self.engine, name, owed, "missed", now=now,
                    error="nicht gestartet (Scheduler verzögert oder Lauf zusammengefasst) / not started (scheduler late or run coalesced)",
                )
                if recorded[name]:
                    log.warning("%d verpasste Slots von %s eingetragen / missed slots recorded", recorded[name], name, extra={"job": name})
                self._audited_until[name] = slots[-1] + timedelta(microseconds=1)
        return recorded

    def overdue(self, now: datetime | None = None) -> list[dict]:
        """Jobs that have not completed a slot for longer than their schedule allows (for `/healthz`)."""
        if self.started_at is None:
            return []
        return overdue_jobs(self.enabled_specs(), ledger.last_completed_slots(self.engine), self.started_at, now or self.clock())

    def shutdown(self, wait: bool = True) -> None:
        global _active
        self.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)
        if self._lock_held:
            try:
                scheduler_lock.release(self.engine, self.owner)
            except Exception as exc:
                log.warning("Sperre nicht freigegeben / lock not released: %s", exc)
            self._lock_held = False
        if _active is self:
            _active = None
        if self.engine is not self.ws.engine:
            self.engine.dispose()
        log.info("Scheduler beendet / stopped")

    # -- reconcile -------------------------------------------------------------------------------

    def enabled_specs(self) -> dict[str, JobSpec]:
        return {name: spec for name, spec in self.specs.items() if spec.enabled}

    @staticmethod
    def _options(spec: JobSpec) -> dict:
        return {
            "name": spec.name,
            "misfire_grace_time": spec.misfire_grace_seconds,
            "coalesce": True,
            "max_instances": 1,
        }

    def reconcile(self) -> None:
        """Make the job store match `jobs/` without losing stored next run times."""
        existing = {job.id: job for job in self.scheduler.get_jobs(jobstore=PERSISTENT)}
        for name, spec in sorted(self.enabled_specs().items()):
            fingerprint = spec.fingerprint()
            options = self._options(spec)
            job = existing.pop(name, None)
            if job is None:
                self.scheduler.add_job(
                    FUNC_REF, trigger=spec.build_trigger(), id=name, args=[name],
                    kwargs={"trigger_fp": fingerprint}, jobstore=PERSISTENT, **options,
                )
                self.report.added.append(name)
            elif job.kwargs.get("trigger_fp") != fingerprint:
                self.scheduler.reschedule_job(name, jobstore=PERSISTENT, trigger=spec.build_trigger())
                self.scheduler.modify_job(name, PERSISTENT, func=FUNC_REF, args=[name], kwargs={"trigger_fp": fingerprint}, **options)
                self.report.rescheduled.append(name)
            elif job.func_ref != FUNC_REF or any(getattr(job, key) != value for key, value in options.items()):
                self.scheduler.modify_job(name, PERSISTENT, func=FUNC_REF, args=[name], **options)
                self.report.updated.append(name)
        for name in sorted(existing):
            self.scheduler.remove_job(name, jobstore=PERSISTENT)
            self.report.removed.append(name)

    def _plan_owed(self) -> None:
        """Catch up missed slots once, and re-run abandoned runs nothing has redone."""
        now = self.clock()
        specs = self.enabled_specs()
        retry_for = {
            run.job: run.id
            for run in ledger.owed_recoveries(self.engine)
            if run.job in specs and run.kind != "manual"
        }
        for name, spec in sorted(specs.items()):
            job = self.scheduler.get_job(name, jobstore=PERSISTENT)
            if job is None or job.next_run_time is None or job.next_run_time >= now or name in self.report.added:
                if name in retry_for:
                    self._one_off(name, "recovery", now, retry_for[name])
                    self.report.recovery.append(name)
                continue
            missed_slot = spec.last_slot(now) or spec.slot_for(job.next_run_time)
            # Every slot before the latest one stays missed; the latest is caught up (or missed).
            ledger.record_many(self.engine, name, _slots(spec, spec.slot_for(job.next_run_time), missed_slot)[:-1][-MAX_MISSED:], "missed",
                               error=STOPPED, now=now)
            after = now + timedelta(microseconds=1)  # the missed slot itself is the catch-up's
            self.scheduler.modify_job(name, PERSISTENT, next_run_time=spec.build_trigger().get_next_fire_time(None, after))
            taken = ledger.slot_run(self.engine, name, missed_slot)
            if taken is not None:
                # Killed right after the run began, before APScheduler stored the next time:
                # that slot is in the ledger already; redo it only if it was abandoned.
                retry_of = taken.id if taken.status == "abandoned" else retry_for.get(name)
                if retry_of is not None and taken.kind != "manual":
                    self._one_off(name, "recovery", now, retry_of)
                    self.report.recovery.append(name)
            elif spec.catch_up:
                self._one_off(name, "catchup", missed_slot, retry_for.get(name))
                self.report.catch_up.append(name)
            else:
                ledger.record(self.engine, name, missed_slot, "missed", error=STOPPED)
                self.report.missed.append(name)
                if name in retry_for:
                    self._one_off(name, "recovery", now, retry_for[name])
                    self.report.recovery.append(name)

    def _one_off(self, name: str, kind: str, slot: datetime, retry_of: int | None) -> None:
        self.scheduler.add_job(
            FUNC_REF, trigger="date", run_date=self.clock(), id=f"{kind}:{name}", name=f"{kind}:{name}",
            args=[name], kwargs={"slot": ledger.as_utc(slot).isoformat(), "kind": kind, "retry_of": retry_of},
            jobstore=VOLATILE, misfire_grace_time=None, coalesce=True, max_instances=1, replace_existing=True,
        )

    # -- running -----------------------------------------------------------------------------------

    def fire(self, name: str, options: dict) -> None:
        spec = self.specs.get(name)
        if spec is None:
            log.error("Job %s ist nicht (mehr) deklariert / not declared (any more)", name)
            return
        if "slot" in options:
            slot = datetime.fromisoformat(options["slot"])
            kind = options.get("kind", "scheduled")
        else:
            run_time = getattr(_slot_context, "run_time", None) or self.clock()
            slot = spec.slot_for(run_time)
            kind = "scheduled"
        if self.stop_event.is_set():
            log.info("nicht gestartet, Stopp angefordert / not started, stopping: %s", name)
            return
        self.runner.run(spec, slot, kind=kind, retry_of=options.get("retry_of"))

    def _on_missed(self, event) -> None:
        spec = self.specs.get(event.job_id)
        if spec is None:
            return
        slot = spec.slot_for(event.scheduled_run_time)
        ledger.record(self.engine, spec.name, slot, "missed", error="zu spät gestartet (misfire_grace_seconds) / missed its grace time")
        log.warning("verpasst / missed: %s slot %s", spec.name, slot.isoformat(), extra={"job": spec.name})

    def _on_max_instances(self, event) -> None:
        spec = self.specs.get(event.job_id)
        if spec is None:
            return
        for run_time in event.scheduled_run_times[-1:]:
            ledger.record(self.engine, spec.name, spec.slot_for(run_time), "skipped", error="vorheriger Lauf noch aktiv / previous run still active")

    # -- reading -----------------------------------------------------------------------------------

    def next_runs(self) -> dict[str, datetime | None]:
        return {job.id: job.next_run_time for job in self.scheduler.get_jobs(jobstore=PERSISTENT)}


def _slots(spec: JobSpec, start: datetime, end: datetime) -> list[datetime]:
    """The nominal slots of `spec` with start <= slot <= end, in UTC (at most MAX_MISSED + 1)."""
    trigger = spec.build_trigger(jitter=False)
    slots: list[datetime] = []
    cursor = trigger.get_next_fire_time(None, start)
    while cursor is not None and cursor <= end and len(slots) <= MAX_MISSED:
        slots.append(cursor.astimezone(timezone.utc))
        cursor = trigger.get_next_fire_time(cursor, cursor + timedelta(microseconds=1))
    return slots


def stored_next_runs(engine: Engine) -> dict[str, datetime]:
    """Next run times from the job store table, without starting a scheduler (for `status`)."""
    with reading(engine) as connection:
        try:
            table = Table(JOBSTORE_TABLE, MetaData(), autoload_with=connection)
        except NoSuchTableError:
            return {}
        rows = connection.execute(select(table.c.id, table.c.next_run_time)).all()
    return {job_id: datetime.fromtimestamp(ts, tz=timezone.utc) for job_id, ts in rows if ts is not None}
