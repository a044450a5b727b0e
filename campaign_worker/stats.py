"""Counts for operators: posts, media, moderation states, drafts and digests per campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from campaign_worker.store.db import reading
from campaign_worker.store.models import Digest, Draft, Media, ModerationEvent, Post
from campaign_worker.moderation.queue import counts as queue_counts

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace


def collect_stats(ws: Workspace) -> dict:
    with reading(ws.engine) as connection:
        states = queue_counts(connection)
        drafts = {
            (campaign, status): n
            for campaign, status, n in connection.execute(
                select(Draft.campaign, Draft.status, func.count()).group_by(Draft.campaign, Draft.status)
            )
        }
        digests = dict(connection.execute(select(Digest.campaign, func.count()).group_by(Digest.campaign)).all())
        events = dict(connection.execute(select(ModerationEvent.campaign, func.count()).group_by(ModerationEvent.campaign)).all())
        posts = connection.execute(select(func.count()).select_from(Post)).scalar_one()
        media = dict(connection.execute(select(Media.status, func.count()).group_by(Media.status)).all())
    campaigns = {}
    for slug in sorted(set(ws.campaigns) | set(states)):
        campaigns[slug] = {
            "posts": sum(states.get(slug, {}).values()),
            "states": states.get(slug, {}),
            "drafts": {status: n for (c, status), n in drafts.items() if c == slug},
            "digests": digests.get(slug, 0),
            "moderation_events": events.get(slug, 0),
        }
    return {"posts": posts, "media": {"ok": media.get("ok", 0), "rejected": media.get("rejected", 0)}, "campaigns": campaigns}
