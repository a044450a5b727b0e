"""One scheduler per database: a row in `scheduler_lock` with its owner and a heartbeat.

APScheduler's persistent job store must never be shared by two schedulers (duplicate or missed
runs), so `run` takes this lock first and refuses to start when another live process holds it.
A holder is live while its heartbeat is fresh; on the same machine a holder whose process is
gone is stale at once (so a restart after `kill -9` does not have to wait).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.models import scheduler_lock_table as table
from campaign_worker.scheduler.ledger import owner_alive, owner_id
from campaign_worker.timeutil import as_utc, utcnow
from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"


class SchedulerLocked(CampaignWorkerError):
    """Another scheduler runs on this database."""

    def __init__(self, owner: str, heartbeat_at: datetime | None, ttl: float):
        self.owner = owner
        self.heartbeat_at = heartbeat_at
        age = f"{(utcnow() - heartbeat_at).total_seconds():.0f} s" if heartbeat_at else "?"
        super().__init__(
            f"Ein anderer Scheduler läuft bereits auf dieser Datenbank (Prozess {owner}, letzter Herzschlag vor {age}). "
            f"Beende ihn zuerst; ist er abgestürzt, gilt die Sperre nach {ttl:.0f} s als verwaist. / "
            f"Another scheduler already runs on this database ({owner}); stop it first."
        )


def _holder_is_live(owner: str | None, heartbeat_at: datetime | None, ttl: float, now: datetime) -> bool:
    if not owner or heartbeat_at is None:
        return False
    alive = owner_alive(owner)
    if alive is False:
        return False
    return as_utc(heartbeat_at) > now - timedelta(seconds=ttl)


def acquire(engine: Engine, *, ttl: float, owner: str | None = None, now: datetime | None = None) -> str:
    """Take the lock or raise `SchedulerLocked`; returns the owner id written."""
    owner = owner or owner_id()
    now = now or utcnow()
    with transaction(engine) as connection:
        insert_ignore(connection, table, [{"name": LOCK_NAME, "owner": None}], ["name"])
        row = connection.execute(select(table).where(table.c.name == LOCK_NAME).with_for_update()).mappings().one()
        if row["owner"] not in (None, owner) and _holder_is_live(row["owner"], row["heartbeat_at"], ttl, now):
            raise SchedulerLocked(row["owner"], as_utc(row["heartbeat_at"]), ttl)
        if row["owner"] and row["owner"] != owner:
            log.warning("verwaiste Scheduler-Sperre übernommen / took over stale scheduler lock of %s", row["owner"])
        connection.execute(
            update(table).where(table.c.name == LOCK_NAME).values(owner=owner, acquired_at=now, heartbeat_at=now)
        )
    return owner


def ensure_free(engine: Engine, *, ttl: float, owner: str | None = None, now: datetime | None = None) -> None:
    """Raise `SchedulerLocked` when another live scheduler holds the lock (read-only pre-check)."""
    owner = owner or owner_id()
    current = holder(engine)
    if current and current["owner"] != owner and _holder_is_live(current["owner"], current["heartbeat_at"], ttl, now or utcnow()):
        raise SchedulerLocked(current["owner"], current["heartbeat_at"], ttl)


def heartbeat(engine: Engine, owner: str, now: datetime | None = None) -> bool:
    """Refresh the heartbeat; False when the lock was taken over (the caller must stop)."""
    with transaction(engine) as connection:
        result = connection.execute(
            update(table).where(table.c.name == LOCK_NAME, table.c.owner == owner).values(heartbeat_at=now or utcnow())
        )
    return result.rowcount == 1


def release(engine: Engine, owner: str) -> None:
    with transaction(engine) as connection:
        connection.execute(
            update(table).where(table.c.name == LOCK_NAME, table.c.owner == owner).values(owner=None, heartbeat_at=None)
        )


def holder(engine: Engine) -> dict | None:
    """The current holder (owner, acquired_at, heartbeat_at) or None."""
    with reading(engine) as connection:
        row = connection.execute(select(table).where(table.c.name == LOCK_NAME)).mappings().first()
    if not row or not row["owner"]:
        return None
    return {"owner": row["owner"], "acquired_at": as_utc(row["acquired_at"]), "heartbeat_at": as_utc(row["heartbeat_at"])}
