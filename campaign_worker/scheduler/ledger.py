"""The run ledger: who ran which job for which slot, how it ended, and what is still owed.

A run is claimed by INSERTing its (job, slot) row with status `running` in its own transaction.
The unique key (job, slot) lets only one process do a slot's work; a partial unique index
(one `running` row per job) keeps two runs of the same job from overlapping, across processes.
A process that dies leaves a `running` row behind; the next start marks it `abandoned` and
re-runs what is owed (see `scheduler/service.py`).

Statuses: running → ok | partial (stopped early) | failed; abandoned (owner died, or its end
could not be recorded); missed (not run, too late, with the reason); skipped (the job was
still running). Every due slot gets one of these rows, so each slot can be accounted for.
All times are stored in UTC.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.models import JobRun, job_run_table
from campaign_worker.timeutil import utcnow
from campaign_worker.timeutil import as_utc

log = logging.getLogger(__name__)

FINISHED = ("ok", "partial", "failed")
ERROR_LIMIT = 4000


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """An ORM session for reads that never waits for a writer (SQLite: deferred BEGIN)."""
    with reading(engine) as connection:
        with Session(bind=connection, expire_on_commit=False) as session:
            yield session


# -- process identity -------------------------------------------------------------------------------


def _process_start_ticks(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (Linux), to tell reused pids apart."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return fields[19]
    except (OSError, IndexError):
        return None


def owner_id(pid: int | None = None) -> str:
    """'host:pid:start' — unique per process on this machine, even when pids are reused."""
    pid = pid or os.getpid()
    return f"{socket.gethostname()[:60]}:{pid}:{_process_start_ticks(pid) or '-'}"


def owner_alive(owner: str | None) -> bool | None:
    """True/False for owners on this host; None when we cannot tell (another host)."""
    if not owner:
        return False
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return None
    if host != socket.gethostname()[:60]:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    current = _process_start_ticks(pid)
    return current is None or start == "-" or current == start


# -- claiming and finishing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    """The outcome of trying to claim a slot: `run_id` is set when this process owns the run."""

    run_id: int | None
    reason: str | None = None  # "done" (slot taken) or "running" (job busy elsewhere)

    @property
    def ok(self) -> bool:
        return self.run_id is not None


def claim(
    engine: Engine,
    job: str,
    slot: datetime,
    *,
    kind: str = "scheduled",
    owner: str | None = None,
    retry_of: int | None = None,
    now: datetime | None = None,
) -> Claim:
    """Insert the (job, slot) row as `running`; only one caller ever gets a given slot."""
    slot = as_utc(slot)
    row = {
        "job": job,
        "slot": slot,
        "status": "running",
        "started_at": now or utcnow(),
        "counts": {},
        "owner": owner or owner_id(),
        "kind": kind,
        "attempts": 0,
        "retry_of": retry_of,
    }
    try:
        with transaction(engine) as connection:
            run_id = connection.execute(insert(JobRun).values(**row).returning(JobRun.id)).scalar_one()
        return Claim(run_id)
    except IntegrityError:
        pass
    with reading(engine) as connection:
        taken = connection.execute(
            select(JobRun.id).where(JobRun.job == job, JobRun.slot == slot)
        ).first()
    return Claim(None, "done" if taken else "running")


def take_over(engine: Engine, job: str, slot: datetime, *, owner: str | None = None) -> Claim:
    """Continue the unfinished run of (job, slot) whose process died (a stalled scale-out job).

    The slot keeps its one row: it becomes this process's run again, one attempt later.
    """
    with transaction(engine) as connection:
        run_id = connection.execute(
            update(JobRun)
            .where(JobRun.job == job, JobRun.slot == as_utc(slot), JobRun.status.in_(("running", "abandoned")))
            .values(status="running", owner=owner or owner_id(), finished_at=None, attempts=JobRun.attempts + 1)
            .returning(JobRun.id)
        ).scalar_one_or_none()
    return Claim(run_id) if run_id is not None else Claim(None, "done")


def record(
    engine: Engine,
    job: str,
    slot: datetime,
    status: str,
    *,
    kind: str = "scheduled",
    error: str | None = None,
    now: datetime | None = None,
) -> bool:
    """A run that did not happen (missed, skipped): one finished row, unless the slot is taken."""
    now = now or utcnow()
    try:
        with transaction(engine) as connection:
            connection.execute(
                insert(JobRun).values(
                    job=job, slot=as_utc(slot), status=status, started_at=now, finished_at=now,
                    counts={}, error=error, owner=owner_id(), kind=kind, attempts=0,
                )
            )
        return True
    except IntegrityError:
        return False


def record_many(engine: Engine, job: str, slots: list[datetime], status: str, *, error: str, now: datetime | None = None) -> int:
    """`record` for many slots in one short transaction; slots already in the ledger stay as they are."""
    if not slots:
        return 0
    now = now or utcnow()
    me = owner_id()
    rows = [
        {"job": job, "slot": as_utc(slot), "status": status, "started_at": now, "finished_at": now, "counts": {},
         "error": error, "owner": me, "kind": "scheduled", "attempts": 0, "retry_of": None}
        for slot in slots
    ]
    with transaction(engine) as connection:
        before = connection.execute(select(func.count()).select_from(JobRun).where(JobRun.job == job)).scalar_one()
        insert_ignore(connection, job_run_table, rows, ["job", "slot"])
        after = connection.execute(select(func.count()).select_from(JobRun).where(JobRun.job == job)).scalar_one()
    return after - before


def slots_between(engine: Engine, job: str, start: datetime, end: datetime) -> set[datetime]:
    """The slots of `job` in the ledger with start <= slot <= end."""
    with reading(engine) as connection:
        rows = connection.execute(
            select(JobRun.slot).where(JobRun.job == job, JobRun.slot >= as_utc(start), JobRun.slot <= as_utc(end))
        ).scalars().all()
    return {as_utc(slot) for slot in rows}


def abandon_own(engine: Engine, owner: str, active: set[int], *, now: datetime | None = None) -> list[int]:
    """Mark `owner`'s running rows that no thread of it is working on as abandoned; returns their ids.

    That happens when a run's end could not be recorded (the database stayed locked longer
    than the retries): the row would otherwise stay `running` and block every later slot.
    """
    with reading(engine) as connection:
        ids = connection.execute(select(JobRun.id).where(JobRun.status == "running", JobRun.owner == owner)).scalars().all()
    stale = [run_id for run_id in ids if run_id not in active]
    if not stale:
        return []
    with transaction(engine) as connection:
        connection.execute(
            update(JobRun)
            .where(JobRun.id.in_(stale), JobRun.status == "running")
            .values(status="abandoned", finished_at=now or utcnow(),
                    error="Ende des Laufs nicht gespeichert (Datenbank gesperrt) / the run's end could not be recorded (database locked)")
        )
    for run_id in stale:
        log.error("Lauf #%s ohne gespeichertes Ende als abgebrochen markiert / run without recorded end marked abandoned", run_id)
    return stale


def set_attempts(engine: Engine, run_id: int, attempts: int) -> None:
    with transaction(engine) as connection:
        connection.execute(update(JobRun).where(JobRun.id == run_id).values(attempts=attempts))


def finish(
    engine: Engine,
    run_id: int,
    status: str,
    *,
    counts: dict[str, Any] | None = None,
    error: str | None = None,
    attempts: int | None = None,
    now: datetime | None = None,
) -> None:
    if status not in FINISHED:
        raise ValueError(f"not a final status: {status}")
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now or utcnow(),
        "counts": _jsonable(counts or {}),
        "error": error[:ERROR_LIMIT] if error else None,
    }
    if attempts is not None:
        values["attempts"] = attempts
    with transaction(engine) as connection:
        connection.execute(update(JobRun).where(JobRun.id == run_id).values(**values))


def _jsonable(counts: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(counts, default=str))


# -- abandoned runs ---------------------------------------------------------------------------------


def mark_abandoned(
    engine: Engine,
    *,
    me: str | None = None,
    scheduler_kinds_are_dead: bool = False,
    older_than: timedelta = timedelta(hours=12),
    now: datetime | None = None,
) -> list[JobRun]:
    """Mark `running` rows whose process is gone as `abandoned`; returns them.

    On this host a row is abandoned when its pid is gone. With `scheduler_kinds_are_dead` (we
    hold the scheduler lock) every scheduled/catch-up/recovery row of another process is, since
    only a lock holder runs those. Rows of unknown hosts are abandoned after `older_than`.
    """
    me = me or owner_id()
    now = now or utcnow()
    with reading(engine) as connection:
        rows = connection.execute(select(JobRun).where(JobRun.status == "running")).mappings().all()
    dead: list[int] = []
    for row in rows:
        if row["owner"] == me:
            continue
        alive = owner_alive(row["owner"])
        if alive is False:
            dead.append(row["id"])
        elif scheduler_kinds_are_dead and row["kind"] != "manual":
            dead.append(row["id"])
        elif alive is None and as_utc(row["started_at"]) < now - older_than:
            dead.append(row["id"])
    if not dead:
        return []
    with transaction(engine) as connection:
        connection.execute(
            update(JobRun)
            .where(JobRun.id.in_(dead), JobRun.status == "running")
            .values(status="abandoned", finished_at=now, error="Prozess beendet, bevor der Lauf fertig war / process died during the run")
        )
    with read_session(engine) as session:
        marked = session.execute(select(JobRun).where(JobRun.id.in_(dead), JobRun.status == "abandoned")).scalars().all()
    for run in marked:
        log.warning("abgebrochener Lauf markiert / marked abandoned run: %s slot %s (owner %s)", run.job, run.slot, run.owner)
    return list(marked)


def owed_recoveries(engine: Engine) -> list[JobRun]:
    """Per job, the newest abandoned run that nothing has re-run or superseded since."""
    with read_session(engine) as connection:
        abandoned = connection.execute(
            select(JobRun).where(JobRun.status == "abandoned").order_by(JobRun.job, JobRun.id.desc())
        ).scalars().all()
        owed: list[JobRun] = []
        seen: set[str] = set()
        for run in abandoned:
            if run.job in seen:
                continue
            seen.add(run.job)
            later = connection.execute(
                select(func.count()).select_from(JobRun).where(
                    JobRun.job == run.job,
                    or_(JobRun.retry_of == run.id, and_(JobRun.id > run.id, JobRun.status.in_(("ok", "running")))),
                )
            ).scalar_one()
            if not later:
                owed.append(run)
    return owed


def slot_run(engine: Engine, job: str, slot: datetime) -> JobRun | None:
    """The ledger row of (job, slot), if any."""
    with read_session(engine) as session:
        return session.execute(select(JobRun).where(JobRun.job == job, JobRun.slot == as_utc(slot))).scalars().first()


# -- reading ----------------------------------------------------------------------------------------


def consecutive_failures(engine: Engine, job: str, limit: int = 200) -> int:
    """How many of the job's latest finished runs failed in a row."""
    with reading(engine) as connection:
        statuses = connection.execute(
            select(JobRun.status)
            .where(JobRun.job == job, JobRun.status.in_(FINISHED + ("abandoned",)))
            .order_by(JobRun.id.desc())
            .limit(limit)
        ).scalars().all()
    count = 0
    for status in statuses:
        if status in ("failed", "abandoned"):
            count += 1
        else:
            break
    return count


def last_runs(engine: Engine, jobs: list[str] | None = None) -> dict[str, JobRun]:
    """The newest row of each job (any status)."""
    with read_session(engine) as connection:
        newest = select(func.max(JobRun.id)).group_by(JobRun.job)
        query = select(JobRun).where(JobRun.id.in_(newest))
        if jobs:
            query = query.where(JobRun.job.in_(jobs))
        return {run.job: run for run in connection.execute(query).scalars().all()}


def last_completed_slots(engine: Engine) -> dict[str, datetime]:
    """Per job, the newest slot a run completed (ok, or partial when stopped early)."""
    with reading(engine) as connection:
        rows = connection.execute(
            select(JobRun.job, func.max(JobRun.slot)).where(JobRun.status.in_(("ok", "partial"))).group_by(JobRun.job)
        ).all()
    return {job: as_utc(slot) for job, slot in rows if slot}


def last_success(engine: Engine) -> dict[str, datetime]:
    with reading(engine) as connection:
        rows = connection.execute(
            select(JobRun.job, func.max(JobRun.finished_at)).where(JobRun.status == "ok").group_by(JobRun.job)
        ).all()
    return {job: as_utc(at) for job, at in rows if at}


def runs_by_status(engine: Engine) -> dict[tuple[str, str], int]:
    with reading(engine) as connection:
        rows = connection.execute(select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status)).all()
    return {(job, status): count for job, status, count in rows}


def runs(engine: Engine, job: str | None = None, limit: int = 100) -> list[JobRun]:
    with read_session(engine) as connection:
        query = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
        if job:
            query = query.where(JobRun.job == job)
        return list(connection.execute(query).scalars().all())


def latest_run_rows(connection) -> list[dict]:
    """The newest run of each job as plain rows, by job name (for reading pages)."""
    newest = select(func.max(job_run_table.c.id)).group_by(job_run_table.c.job)
    query = select(job_run_table).where(job_run_table.c.id.in_(newest)).order_by(job_run_table.c.job)
    return [dict(r._mapping) for r in connection.execute(query)]


def recent_run_rows(connection, limit: int = 50) -> list[dict]:
    """The last `limit` runs of any job as plain rows, newest first."""
    query = select(job_run_table).order_by(job_run_table.c.id.desc()).limit(limit)
    return [dict(r._mapping) for r in connection.execute(query)]
