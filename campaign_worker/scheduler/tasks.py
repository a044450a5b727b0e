"""The tasks a job can name: `TASKS[name](ws, campaigns, should_stop) -> counts`.

A task does one stage of the pipeline for the given campaigns (None = all) and returns a dict of
counts for the run ledger. Long tasks call `should_stop()` between steps and return early (with
what they did so far) when it says so. Tasks are idempotent: re-running one never duplicates.
The stage modules (and SQLAlchemy) are imported when the task runs, so a job file can be
validated without them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]
Task = Callable[["Workspace", "list[str] | None", StopCheck], dict]

TASKS: dict[str, Task] = {}


def task(name: str):
    """Register a task under `name` (also usable by tests to add their own)."""

    def register(function: Task) -> Task:
        TASKS[name] = function
        return function

    return register


def _as_counts(result) -> dict:
    if result is None:
        return {}
    if hasattr(result, "as_counts"):
        return dict(result.as_counts())
    if isinstance(result, dict):
        return dict(result)
    return {"result": str(result)}


@task("collect")
def collect_task(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    from campaign_worker.sources.collect import collect

    return _as_counts(collect(ws, campaigns, should_stop=should_stop))


@task("moderate")
def moderate_task(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    from campaign_worker.moderation.job import moderate

    return _as_counts(moderate(ws, campaigns, should_stop=should_stop))


@task("compose_drafts")
def compose_drafts_task(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    from campaign_worker.publish.drafts import compose

    return _as_counts(compose(ws, campaigns, should_stop=should_stop))


@task("digest")
def digest_task(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    from campaign_worker.publish.digest import render_due

    return _as_counts(render_due(ws, campaigns, should_stop=should_stop))


# -- retention ------------------------------------------------------------------------------------

LEDGER_KEEP_DAYS = 90
LEDGER_KEEP_PER_JOB = 50


@task("retention")
def retention_task(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    """Keep the run ledger bounded, then apply the data-retention rules of the privacy module."""
    from campaign_worker.config.worker import load_settings

    settings = load_settings(ws.home)
    counts = {"ledger_deleted": prune_ledger(ws.engine, settings.retention.ledger_keep_days, settings.retention.ledger_keep_per_job)}
    if should_stop():
        return counts
    counts.update(_privacy_retention(ws, campaigns, should_stop))
    return counts


def prune_ledger(engine: Engine, keep_days: int = LEDGER_KEEP_DAYS, keep_per_job: int = LEDGER_KEEP_PER_JOB) -> int:
    """Delete finished runs older than `keep_days`, always keeping each job's newest `keep_per_job`."""
    from sqlalchemy import and_, delete, func, select

    from campaign_worker.store.db import transaction
    from campaign_worker.store.models import JobRun

    cutoff = utcnow() - timedelta(days=keep_days)
    with transaction(engine) as connection:
        ranked = (
            select(JobRun.id, func.row_number().over(partition_by=JobRun.job, order_by=JobRun.id.desc()).label("rank"))
            .subquery()
        )
        keep = select(ranked.c.id).where(ranked.c.rank <= keep_per_job)
        result = connection.execute(
            delete(JobRun).where(
                and_(JobRun.started_at < cutoff, JobRun.status != "running", JobRun.id.not_in(keep))
            )
        )
    return result.rowcount or 0


def _privacy_retention(ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
    """Hook: `campaign_worker.privacy.apply_retention(ws, campaigns, should_stop) -> dict` once it exists."""
    try:
        from campaign_worker.privacy import apply_retention  # type: ignore[attr-defined]
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.privacy":
            raise
        log.debug("no privacy retention rules installed yet")
        return {}
    return _as_counts(apply_retention(ws, campaigns, should_stop=should_stop))
