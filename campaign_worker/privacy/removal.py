"""Removing posts for good: what retention and erasure share.

A `Removal` names (campaign, post id) memberships to drop. Posts left in no campaign go as a
whole: their rows, their decisions, their drafts, their pictures and thumbnails (unless another
post still uses the same picture), and whatever registered erasers derived from them (crops,
walls). Each digest week that showed them is rendered again. The plan holds ids and hashes
only, so it can be stored and an interrupted removal completed by running it again; every
step is idempotent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, tuple_

from campaign_worker.privacy.erasers import run_erasers
from campaign_worker.publish.digest import render_week, week_start_of
from campaign_worker.store.db import transaction
from campaign_worker.store.models import (
    campaign_post_table as cp,
    digest_table,
    draft_table as draft,
    media_table as media,
    moderation_event_table as event,
    post_media_table as post_media,
    post_table as post,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)
CHUNK = 500


@dataclass
class Removal:
    memberships: list[tuple[str, int]] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)  # posts that go as a whole
    media: list[str] = field(default_factory=list)  # pictures no remaining post uses
    weeks: list[tuple[str, str]] = field(default_factory=list)  # (campaign, Monday ISO) digests to render again

    def __bool__(self) -> bool:
        return bool(self.memberships or self.post_ids or self.media or self.weeks)

    def as_plan(self) -> dict:
        return {"memberships": [list(m) for m in self.memberships], "post_ids": self.post_ids,
                "media": self.media, "weeks": [list(w) for w in self.weeks]}

    @classmethod
    def from_plan(cls, plan: dict | None) -> Removal:
        plan = plan or {}
        return cls([(c, int(p)) for c, p in plan.get("memberships", [])], [int(p) for p in plan.get("post_ids", [])],
                    list(plan.get("media", [])), [(c, w) for c, w in plan.get("weeks", [])])

    def merge(self, other: Removal) -> Removal:
        return Removal(sorted(set(self.memberships) | set(other.memberships)), sorted(set(self.post_ids) | set(other.post_ids)),
                       sorted(set(self.media) | set(other.media)), sorted(set(self.weeks) | set(other.weeks)))


def _chunks(items: list) -> list[list]:
    return [items[i:i + CHUNK] for i in range(0, len(items), CHUNK)]


def plan_removal(ws: Workspace, connection: Connection, memberships: list[tuple[str, int]],
                 orphans: list[int] = ()) -> Removal:
    """What dropping `memberships` removes: the posts left in no campaign (and `orphans`, posts in
    none already), their pictures, the digest weeks that showed them."""
    memberships = sorted(set(memberships))
    if not memberships and not orphans:
        return Removal()
    dropped_by_post: dict[int, set[str]] = {}
    for campaign, post_id in memberships:
        dropped_by_post.setdefault(post_id, set()).add(campaign)
    post_ids: list[int] = []
    weeks: set[tuple[str, str]] = set()
    digests = {(c, w) for c, w in connection.execute(select(digest_table.c.campaign, digest_table.c.week_start))}
    for ids in _chunks(sorted(dropped_by_post)):
        remaining: dict[int, set[str]] = {}
        for campaign, post_id, posted_at in connection.execute(select(cp.c.campaign, cp.c.post_id, cp.c.posted_at).where(cp.c.post_id.in_(ids))):
            remaining.setdefault(post_id, set()).add(campaign)
            if campaign in dropped_by_post[post_id]:
                c = ws.campaigns.get(campaign)
                monday = week_start_of(posted_at.astimezone(c.tz).date()) if c else None
                if monday is not None and (campaign, monday) in digests:
                    weeks.add((campaign, monday.isoformat()))
        post_ids += [i for i in ids if not (remaining.get(i, set()) - dropped_by_post[i])]
    post_ids = sorted(set(post_ids) | set(orphans))
    shas: set[str] = set()
    for ids in _chunks(post_ids):
        shas.update(connection.execute(select(post_media.c.media_sha256).where(
            post_media.c.post_id.in_(ids), post_media.c.media_sha256.is_not(None))).scalars())
    shared: set[str] = set()
    for chunk in _chunks(sorted(shas)):
        shared.update(connection.execute(select(post_media.c.media_sha256).where(
            post_media.c.media_sha256.in_(chunk), post_media.c.post_id.not_in(post_ids))).scalars())
    return Removal(memberships, post_ids, sorted(shas - shared), sorted(weeks))


def execute(ws: Workspace, removal: Removal) -> dict[str, int]:
    """Carry out a removal; safe to call again with the same plan after an interruption."""
    counts = {"posts_removed": 0, "memberships_removed": 0, "media_files_removed": 0, "digests_rerendered": 0}
    counts.update(run_erasers(ws, removal, "before"))
    for sha in removal.media:
        counts["media_files_removed"] += ws.media.delete(sha)
    with transaction(ws.engine) as connection:
        counts["memberships_removed"], counts["posts_removed"] = delete_rows(connection, removal)
    counts["digests_rerendered"] = rerender_weeks(ws, removal.weeks)
    counts.update({k: counts.get(k, 0) + v for k, v in run_erasers(ws, removal, "after").items()})
    return counts


def delete_rows(connection: Connection, removal: Removal) -> tuple[int, int]:
    """Delete memberships (with their decisions and drafts), then whole posts and unused pictures."""
    memberships = posts = 0
    for chunk in _chunks(removal.memberships):
        pairs = tuple_(cp.c.campaign, cp.c.post_id).in_(chunk)
        connection.execute(delete(draft).where(tuple_(draft.c.campaign, draft.c.post_id).in_(chunk)))
        connection.execute(delete(event).where(tuple_(event.c.campaign, event.c.post_id).in_(chunk)))
        memberships += connection.execute(delete(cp).where(pairs)).rowcount or 0
    for ids in _chunks(removal.post_ids):
        for table in (draft, event, cp, post_media):
            connection.execute(delete(table).where(table.c.post_id.in_(ids)))
        posts += connection.execute(delete(post).where(post.c.id.in_(ids))).rowcount or 0
    for chunk in _chunks(removal.media):
        used = select(post_media.c.media_sha256).where(post_media.c.media_sha256.in_(chunk))
        connection.execute(delete(media).where(media.c.sha256.in_(chunk), media.c.sha256.not_in(used)))
    return memberships, posts


def rerender_weeks(ws: Workspace, weeks: list[tuple[str, str]]) -> int:
    """Render each stored digest week again from what is left; a campaign no longer configured loses its pages."""
    done = 0
    for slug, monday in weeks:
        campaign = ws.campaigns.get(slug)
        week = date.fromisoformat(monday)
        if campaign is not None:
            render_week(ws, campaign, week)
            done += 1
            continue
        with transaction(ws.engine) as connection:
            rows = connection.execute(select(digest_table.c.html_path, digest_table.c.text_path).where(
                digest_table.c.campaign == slug, digest_table.c.week_start == week)).all()
            connection.execute(delete(digest_table).where(digest_table.c.campaign == slug, digest_table.c.week_start == week))
        for row in rows:
            for path in (row.html_path, row.text_path):
                if path:
                    Path(path).unlink(missing_ok=True)
    return done


def memberships_of(connection: Connection, condition) -> list[tuple[str, int]]:
    """The (campaign, post id) pairs of the posts matching `condition` (a clause on `post`)."""
    query = select(cp.c.campaign, cp.c.post_id).join(post, post.c.id == cp.c.post_id).where(condition)
    return [(c, p) for c, p in connection.execute(query)]


def orphan_posts(connection: Connection, condition) -> list[int]:
    """Posts matching `condition` that belong to no campaign (they go too)."""
    query = select(post.c.id).where(condition, ~select(cp.c.post_id).where(cp.c.post_id == post.c.id).exists())
    return list(connection.execute(query).scalars())

