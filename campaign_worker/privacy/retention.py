"""Retention: posts are kept only as long as the campaign's `[retention]` settings allow.

- rejected posts: `rejected_days` (default 14) after the decision;
- posts nobody decided (new, pending, later): `undecided_days` (default 30) after collection;
- approved posts: while the campaign runs, then `approved_days_after_end` (default 90) after
  `campaign_end`; without an end date they stay.

A post leaves the campaign; once it is in no campaign it goes with its pictures, thumbnails,
drafts, crops and wall entries, and every digest week that showed it is rendered again
(`privacy.removal`). Only counts are recorded (`retention_run`). A pass that was interrupted
is finished by the next one: its plan (ids only) is stored until it is done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, update

from campaign_worker.config.campaigns import Campaign
from campaign_worker.privacy.removal import Removal, execute, plan_removal
from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import campaign_post_table as cp, retention_run_table as retention_run
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

UNDECIDED = ("new", "pending", "later")


def expired_memberships(connection, campaign: Campaign, now: datetime) -> dict[str, list[tuple[str, int]]]:
    """The campaign's posts whose time is up, by reason (rejected, undecided, approved)."""
    rules = campaign.retention
    conditions = {
        "rejected": and_(cp.c.state == "rejected", cp.c.updated_at < now - timedelta(days=rules.rejected_days)),
        "undecided": and_(cp.c.state.in_(UNDECIDED), cp.c.added_at < now - timedelta(days=rules.undecided_days)),
    }
    if rules.campaign_end is not None:
        end = datetime.combine(rules.campaign_end + timedelta(days=1), time(0), tzinfo=campaign.tz)
        if now >= end + timedelta(days=rules.approved_days_after_end):
            conditions["approved"] = cp.c.state == "approved"
    found = {}
    for reason, condition in conditions.items():
        query = select(cp.c.campaign, cp.c.post_id).where(cp.c.campaign == campaign.slug, condition).order_by(cp.c.post_id)
        found[reason] = [(c, p) for c, p in connection.execute(query)]
    return found


def purge_campaign(ws: Workspace, campaign: Campaign, *, now: datetime | None = None, dry_run: bool = False) -> dict[str, int]:
    """Apply the retention rules to one campaign; with `dry_run` only count what would go."""
    now = now or utcnow()
    with reading(ws.engine) as connection:
        expired = expired_memberships(connection, campaign, now)
        removal = plan_removal(ws, connection, [m for pairs in expired.values() for m in pairs])
    counts = {f"{reason}_expired": len(pairs) for reason, pairs in expired.items()}
    counts.update(posts_to_remove=len(removal.post_ids), media_to_remove=len(removal.media), digests_to_render=len(removal.weeks))
    if dry_run or not removal:
        return counts
    with transaction(ws.engine) as connection:
        run_id = connection.execute(retention_run.insert().values(
            campaign=campaign.slug, at=now, counts=counts, plan=removal.as_plan())).inserted_primary_key[0]
    counts.update(execute(ws, removal))
    _finish(ws, run_id, counts)
    log.info("Aufbewahrung / retention %s: %s", campaign.slug, counts)
    return counts


def _finish(ws: Workspace, run_id: int, counts: dict) -> None:
    with transaction(ws.engine) as connection:
        connection.execute(update(retention_run).where(retention_run.c.id == run_id).values(
            counts=counts, plan={}, finished_at=utcnow()))


def finish_interrupted(ws: Workspace) -> int:
    """Complete every retention pass a crash or stop left unfinished; returns how many."""
    with reading(ws.engine) as connection:
        open_runs = connection.execute(select(retention_run.c.id, retention_run.c.counts, retention_run.c.plan)
                                       .where(retention_run.c.finished_at.is_(None)).order_by(retention_run.c.id)).all()
    for run in open_runs:
        counts = dict(run.counts or {})
        counts.update(execute(ws, Removal.from_plan(run.plan)))
        _finish(ws, run.id, counts)
    return len(open_runs)


def apply_retention(ws: Workspace, campaigns: list[str] | None = None, should_stop: Callable[[], bool] = lambda: False,
                    *, now: datetime | None = None, dry_run: bool = False) -> dict:
    """The retention job (`scheduler.tasks` "retention") and `privacy purge`: every selected campaign."""
    resumed = 0 if dry_run else finish_interrupted(ws)
    result = ws.for_each(campaigns, lambda c: purge_campaign(ws, c, now=now, dry_run=dry_run), should_stop)
    if resumed:
        result["interrupted_completed"] = resumed
    return result



