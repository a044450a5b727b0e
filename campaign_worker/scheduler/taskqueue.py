"""What the scale-out task queue holds: jobs per queue and state, and the workers still alive.

Read from procrastinate's tables for `status` and `/metrics`; without PostgreSQL or before
migration 0012 there is no task queue and the overview is None.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def queue_overview(engine: Engine, stalled_after_seconds: float = 30) -> dict | None:
    """Queue depth, jobs per state and living workers; None when the database has no task queue."""
    if engine.dialect.name != "postgresql":
        return None
    from sqlalchemy import text

    from campaign_worker.store.db import reading

    with reading(engine) as connection:
        if not connection.execute(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")).scalar():
            return None
        rows = connection.execute(
            text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")
        ).all()
        alive = connection.execute(
            text("SELECT count(*) FROM procrastinate_workers WHERE last_heartbeat > now() - make_interval(secs => :secs)"),
            {"secs": stalled_after_seconds},
        ).scalar_one()
    by_state: dict[str, int] = {}
    depth: dict[str, int] = {}
    for queue, status, count in rows:
        by_state[status] = by_state.get(status, 0) + count
        if status == "todo":
            depth[queue] = count
    return {"workers_alive": alive, "jobs_by_state": by_state, "queue_depth": depth}
