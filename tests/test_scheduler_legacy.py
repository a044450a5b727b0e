"""A scheduler database made by the previous layout still starts and runs its jobs.

`tests/data/legacy_scheduler.sqlite3` was written by `campaign-worker run` before the modules
moved into rooms: alembic at 0003_web, and APScheduler's job store holding the five shipped
jobs, each pickled with the text reference `campaign_worker.scheduler:fire`. Here it is started
the way `run` starts it (shipped jobs, lock check, `WorkerScheduler.start`) under a fake clock.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.util import ref_to_obj
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from campaign_worker import scheduler as scheduler_package
from campaign_worker.home import DATABASE_ENV
from campaign_worker.scheduler import ledger, lock as scheduler_lock, tasks
from campaign_worker.scheduler.jobs import load_jobs
from campaign_worker.scheduler.service import FUNC_REF, JOBSTORE_TABLE, WorkerScheduler
from campaign_worker.store.migrate import current_revision, head_revision, include_name
from campaign_worker.store.models import JobRun
from campaign_worker.workspace import Workspace
from tests.scheduler_support import Clock, patch_apscheduler_clock, quiet_settings, wait_for

UTC = timezone.utc
LEGACY = Path(__file__).parent / "data" / "legacy_scheduler.sqlite3"
JOBS = ["collect", "digest", "drafts", "moderate", "retention"]
# The old process stopped at 15:26; its earliest stored run is collect's at 15:30:30 (jittered).
BEFORE_FIRST_RUN = datetime(2026, 11, 27, 15, 27, tzinfo=UTC)


def stored_jobs(path: Path) -> dict[str, tuple[float | None, bytes]]:
    """The job store's rows as APScheduler wrote them: id → (next_run_time, pickled state)."""
    with sqlite3.connect(path) as connection:
        rows = connection.execute(f"SELECT id, next_run_time, job_state FROM {JOBSTORE_TABLE}").fetchall()
    return {job_id: (next_run, state) for job_id, next_run, state in rows}


def ledger_rows(engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.execute(select(JobRun).order_by(JobRun.id)).scalars())


@pytest.fixture
def legacy(home, monkeypatch):
    """The legacy database as the home's own database file, opened as `run` opens it."""
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    target = Path(home.database_url.removeprefix("sqlite:///"))
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(LEGACY, target)
    before = stored_jobs(target)
    ws = Workspace.open(home)
    yield ws, target, before
    ws.close()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(BEFORE_FIRST_RUN)
    patch_apscheduler_clock(monkeypatch, clock)
    return clock


def test_the_fixture_is_what_the_old_layout_wrote():
    jobs = stored_jobs(LEGACY)
    assert sorted(jobs) == JOBS
    assert all(b"campaign_worker.scheduler" in state and b"fire" in state for _, state in jobs.values())
    with sqlite3.connect(LEGACY) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [("0003_web",)]
    assert ref_to_obj(FUNC_REF) is scheduler_package.fire


def test_legacy_schema_matches_the_models(legacy):
    ws, _, _ = legacy
    assert current_revision(ws.engine) == head_revision()
    with ws.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, SQLModel.metadata) == []


def test_stored_jobs_are_kept_and_fire(legacy, home, clock, monkeypatch):
    ws, path, before = legacy
    collected: list[datetime] = []

    def collect_offline(ws, campaigns, should_stop):  # the real collect would go to the platforms
        collected.append(clock())
        return {"collected": 0}

    monkeypatch.setitem(tasks.TASKS, "collect", collect_offline)
    settings = quiet_settings()
    worker = WorkerScheduler(ws, settings, specs=load_jobs(home), clock=clock)
    try:
        scheduler_lock.ensure_free(ws.engine, ttl=settings.scheduler.lock_ttl_seconds, owner=worker.owner)
        report = worker.start()
        assert (report.added, report.rescheduled, report.updated, report.removed) == ([], [], [], [])
        assert (report.catch_up, report.missed, report.recovery, report.abandoned) == ([], [], [], [])

        # Kept as stored: same rows, same pickled state, same next run times.
        assert stored_jobs(path) == before
        expected = {name: datetime.fromtimestamp(next_run, tz=UTC) for name, (next_run, _) in before.items()}
        assert worker.next_runs() == expected
        assert {job.id: job.func_ref for job in worker.scheduler.get_jobs()} == dict.fromkeys(JOBS, FUNC_REF)

        # collect fires at its stored (jittered) time, for its nominal 15:30 slot.
        clock.set(expected["collect"])
        worker.scheduler.wakeup()
        (run,) = wait_for(lambda: [r for r in ledger_rows(ws.engine) if r.status != "running"])
        assert (run.job, run.kind, run.status, run.counts) == ("collect", "scheduled", "ok", {"collected": 0})
        assert ledger.as_utc(run.slot) == datetime(2026, 11, 27, 15, 30, tzinfo=UTC)
        assert collected == [expected["collect"]]

        # moderate runs its real task on the legacy tables.
        clock.set(expected["moderate"])
        worker.scheduler.wakeup()
        wait_for(lambda: len([r for r in ledger_rows(ws.engine) if r.status != "running"]) == 2)
        moderate = ledger_rows(ws.engine)[-1]
        assert (moderate.job, moderate.status, moderate.error) == ("moderate", "ok", None)
        assert ledger.as_utc(moderate.slot) == datetime(2026, 11, 27, 15, 40, tzinfo=UTC)

        after = worker.next_runs()
        assert after["collect"] > expected["collect"] and after["moderate"] > expected["moderate"]
        assert {name: after[name] for name in ("digest", "drafts", "retention")} == {
            name: expected[name] for name in ("digest", "drafts", "retention")
        }
    finally:
        worker.shutdown(wait=True)
    assert scheduler_lock.holder(ws.engine) is None
