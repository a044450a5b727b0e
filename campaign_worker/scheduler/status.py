"""The operator's view of the worker as plain data: jobs (last and next run), sources, the scheduler.

`status_data` is what `campaign-worker status` shows and prints with `--json`; `next_runs` is
what `campaign-worker jobs` lists. Both read the database only, so they work while the
scheduler runs in another process and when it does not run at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Engine

from campaign_worker.config.worker import load_settings
from campaign_worker.scheduler import ledger, lock as scheduler_lock
from campaign_worker.scheduler.alerts import alerting_jobs
from campaign_worker.scheduler.jobs import JobSpec, overdue
from campaign_worker.store.models import SourceState
from campaign_worker.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace


def _iso(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value else None


def next_runs(engine: Engine, specs: dict[str, JobSpec], now: datetime) -> dict[str, tuple[datetime | None, bool]]:
    """Next run per job: (time, stored) — stored in the job store, or computed from the trigger."""
    # APScheduler is imported only here, when someone asks for the next runs.
    from campaign_worker.scheduler.service import stored_next_runs

    stored = stored_next_runs(engine)
    result = {}
    for name, spec in specs.items():
        if not spec.enabled:
            result[name] = (None, False)
        elif name in stored:
            result[name] = (stored[name], True)
        else:
            result[name] = (spec.next_slot(now), False)
    return result


def status_data(ws: Workspace, specs: dict[str, JobSpec], now: datetime | None = None) -> dict:
    """Everything `status` shows, as plain data (also the `--json` output)."""
    now = now or utcnow()
    engine = ws.engine
    last = ledger.last_runs(engine)
    upcoming = next_runs(engine, specs, now)
    alerting = set(alerting_jobs(engine))
    jobs = []
    for name, spec in sorted(specs.items()):
        run = last.get(name)
        duration = None
        if run is not None and run.finished_at and run.status in ledger.FINISHED:
            duration = round((as_utc(run.finished_at) - as_utc(run.started_at)).total_seconds(), 1)
        next_at, stored = upcoming[name]
        jobs.append({
            "job": name,
            "task": spec.task,
            "schedule": spec.describe_when(),
            "enabled": spec.enabled,
            "last_slot": _iso(run.slot) if run else None,
            "last_started": _iso(run.started_at) if run else None,
            "last_status": run.status if run else None,
            "last_kind": run.kind if run else None,
            "duration_s": duration,
            "last_error": (run.error or "").strip().splitlines()[0][:300] if run and run.error else None,
            "next_run": _iso(next_at),
            "next_run_stored": stored,
            "consecutive_failures": ledger.consecutive_failures(engine, name),
            "alerting": name in alerting,
        })
    with ledger.read_session(engine) as session:
        states = session.execute(select(SourceState).order_by(SourceState.key)).scalars().all()
        sources = [
            {
                "key": s.key,
                "campaign": s.campaign,
                "source": s.source_id,
                "last_status": s.last_status,
                "last_run": _iso(s.last_run_at),
                "last_success": _iso(s.last_success_at),
                "not_before": _iso(s.not_before),
                "waiting": bool(s.not_before and as_utc(s.not_before) > now),
                "message": (s.last_message or "")[:300] or None,
            }
            for s in states
        ]
    holder = scheduler_lock.holder(engine)
    scheduler = {"running": False}
    late: list[dict] = []
    if holder:
        age = (now - holder["heartbeat_at"]).total_seconds() if holder["heartbeat_at"] else None
        scheduler = {
            "running": age is not None and age < load_settings(ws.home).scheduler.lock_ttl_seconds,
            "owner": holder["owner"],
            "since": _iso(holder["acquired_at"]),
            "heartbeat_age_s": round(age, 1) if age is not None else None,
        }
        if scheduler["running"] and holder["acquired_at"]:
            late = overdue(specs, ledger.last_completed_slots(engine), as_utc(holder["acquired_at"]), now)
    from campaign_worker.scheduler.taskqueue import queue_overview

    workers = queue_overview(engine, load_settings(ws.home).workers.stalled_after_seconds)
    return {"now": now.isoformat(), "scheduler": scheduler, "overdue_jobs": late, "workers": workers, "jobs": jobs, "sources": sources}
