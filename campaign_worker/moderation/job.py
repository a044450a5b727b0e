"""The moderation job: run a campaign's rules over its new posts and record the outcome.

Posts are evaluated oldest first, a batch at a time (`Moderator.evaluate_many`), after the
campaign's earlier posts were shown to the rules as history (duplicates, per-author caps). The rules run outside any transaction; each
small batch of outcomes is one short transaction, so a killed run loses nothing (unfinished
posts are still `new` and are evaluated next time) and other writers never wait for the rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from campaign_worker.moderation.audiences import match_audiences
from campaign_worker.config.campaigns import Campaign
from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import (
    campaign_post_table as cp,
    media_table as media,
    post_media_table as post_media,
    post_table as post,
)
from campaign_worker.timeutil import utcnow
from campaign_worker.moderation.engine import Moderator, Outcome
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.moderation.queue import apply_rule_verdict

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

BATCH = 500  # posts evaluated between two stop checks
WRITE_BATCH = 50  # outcomes written per transaction
HISTORY_DAYS = 180


def _image_hashes(connection: Connection, post_ids: list[int]) -> dict[int, tuple[str, ...]]:
    hashes: dict[int, list[str]] = {}
    for start in range(0, len(post_ids), BATCH):
        chunk = post_ids[start : start + BATCH]
        rows = connection.execute(
            select(post_media.c.post_id, media.c.phash)
            .join(media, media.c.sha256 == post_media.c.media_sha256)
            .where(post_media.c.post_id.in_(chunk), media.c.phash.is_not(None), media.c.status == "ok")
            .order_by(post_media.c.post_id, post_media.c.position)
        )
        for post_id, phash in rows:
            hashes.setdefault(post_id, []).append(phash)
    return {k: tuple(v) for k, v in hashes.items()}


def _candidates(connection: Connection, where, order_oldest_first: bool = True) -> Iterator[tuple[Candidate, dict]]:
    query = (
        select(post.c.id, post.c.platform, post.c.external_id, post.c.caption, post.c.author_username,
               post.c.author_id, post.c.hashtags, post.c.posted_at)
        .join(cp, cp.c.post_id == post.c.id)
        .where(*where)
        .order_by(post.c.posted_at if order_oldest_first else post.c.posted_at.desc(), post.c.id)
    )
    rows = [dict(r._mapping) for r in connection.execute(query)]
    hashes = _image_hashes(connection, [r["id"] for r in rows])
    for row in rows:
        yield Candidate(
            key=f"{row['platform']}:{row['external_id']}",
            caption=row["caption"] or "",
            author=row["author_username"],
            hashtags=tuple(row["hashtags"] or ()),
            posted_at=row["posted_at"],
            image_hashes=hashes.get(row["id"], ()),
            platform=row["platform"],
            author_id=row["author_id"],
        ), row


def evaluate_post(ws: Workspace, campaign: Campaign, post_id: int) -> tuple[Candidate, Outcome]:
    """The rules' verdicts on one stored post, with the campaign's other posts as history; stores nothing."""
    moderator = Moderator(campaign, ws.home)
    with reading(ws.engine) as connection:
        target = list(_candidates(connection, [cp.c.campaign == campaign.slug, post.c.id == post_id]))
        if not target:
            raise LookupError(f"Beitrag {post_id} ist nicht in der Kampagne {campaign.slug!r}")
        candidate, row = target[0]
        for earlier, _ in _candidates(connection, [cp.c.campaign == campaign.slug, post.c.posted_at < row["posted_at"],
                                                   cp.c.state != "new"]):
            moderator.remember(earlier)
    return candidate, moderator.evaluate(candidate)


def moderate_campaign(ws: Workspace, campaign: Campaign, *, recheck: bool = False, should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
    """Evaluate the campaign's undecided posts; returns counts per resulting state."""
    counts = {"evaluated": 0, "approved": 0, "rejected": 0, "pending": 0, "unchanged": 0}
    moderator = Moderator(campaign, ws.home)
    since = utcnow() - timedelta(days=HISTORY_DAYS)
    if recheck:
        known = [cp.c.campaign == campaign.slug, cp.c.human.is_(True)]
        todo = [cp.c.campaign == campaign.slug, cp.c.human.is_(False)]
    else:
        known = [cp.c.campaign == campaign.slug, cp.c.state != "new"]
        todo = [cp.c.campaign == campaign.slug, cp.c.state == "new"]
    with reading(ws.engine) as connection:
        for candidate, _ in _candidates(connection, known + [cp.c.posted_at >= since]):
            moderator.remember(candidate)
        work = list(_candidates(connection, todo))
    for start in range(0, len(work), BATCH):
        if should_stop():
            break
        # The rules run outside any transaction; only the outcomes are written, a few at a time,
        # so other writers (the scheduler, moderators) wait milliseconds, not a whole batch.
        batch = work[start : start + BATCH]
        outcomes = moderator.evaluate_many([candidate for candidate, _ in batch])
        evaluated = [
            (row["id"], outcome, [m.key for m in match_audiences(campaign, candidate.caption, candidate.hashtags)])
            for (candidate, row), outcome in zip(batch, outcomes)
        ]
        for first in range(0, len(evaluated), WRITE_BATCH):
            with transaction(ws.engine) as connection:
                changes = [
                    apply_rule_verdict(connection, campaign.slug, post_id, outcome.verdict, audiences, recheck=recheck,
                                       score=outcome.score)
                    for post_id, outcome, audiences in evaluated[first : first + WRITE_BATCH]
                ]
            for change in changes:
                counts["evaluated"] += 1
                if change is None:
                    counts["unchanged"] += 1
                else:
                    counts[change.to_state] += 1
    return counts


def moderate(ws: Workspace, campaigns: list[str] | None = None, *, recheck: bool = False, should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The scheduled task: every selected campaign, counts per campaign and in total."""
    return ws.for_each(campaigns, lambda c: moderate_campaign(ws, c, recheck=recheck, should_stop=should_stop), should_stop)
