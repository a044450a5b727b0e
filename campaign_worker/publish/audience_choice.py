"""A manager's choice of a post's audiences, which drafts follow instead of the matching.

The choice (primary first) is stored per campaign and post in `audience_override`; every
change appends who made it, when, and what was chosen before to the row's `history`, so the
choice is audited like the queue's decisions and the rights' answers. An empty choice hands
the decision back to the matching (the history stays). `review` explains what the matching
found (scores and matched words) beside the current choice, for the draft page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from campaign_worker.config.campaigns import Campaign
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.moderation.audiences import AudienceMatch, match_audiences
from campaign_worker.store.db import insert_ignore
from campaign_worker.store.models import audience_override_table as table, campaign_post_table as cp, post_table as post
from campaign_worker.timeutil import utcnow

MAX_AUDIENCES = 10


@dataclass(frozen=True)
class AudienceReview:
    """What the draft page shows: the matching's findings and the keys drafts follow, primary first."""

    matches: tuple[AudienceMatch, ...]
    chosen: tuple[str, ...]
    source: str  # "override" (a manager chose), "stored" (moderation's audiences), "matched" or "none"
    override: dict | None  # the stored row with `set_by`, `set_at` and `history`, or None


def override_row(connection, campaign: str, post_id: int) -> dict | None:
    row = connection.execute(select(table).where(table.c.campaign == campaign, table.c.post_id == post_id)).first()
    return dict(row._mapping) if row is not None else None


def check_keys(campaign: Campaign, keys: list[str]) -> list[str]:
    """The keys without repeats, or a clear error naming unknown ones and the allowed ones."""
    keys = list(dict.fromkeys(k.strip() for k in keys if k and k.strip()))
    known = [a.key for a in campaign.audiences]
    unknown = [k[:40] for k in keys if k not in known]
    if unknown or not keys or len(keys) > MAX_AUDIENCES:
        raise CampaignWorkerError(f"Unbekannte Zielgruppe {', '.join(unknown) or '(keine)'}: erlaubt sind "
                                  f"{', '.join(known)} / unknown audience, use {', '.join(known)}")
    return keys


def set_audiences(connection, campaign: Campaign, post_id: int, keys: list[str], user: str) -> dict:
    """Store a manager's audiences for a post (primary first; `[]` hands back to the matching), audited."""
    keys = check_keys(campaign, keys) if keys else []
    if connection.execute(select(cp.c.post_id).where(cp.c.campaign == campaign.slug, cp.c.post_id == post_id)).first() is None:
        raise CampaignWorkerError(f"Beitrag {post_id} ist nicht in der Kampagne {campaign.slug!r} / "
                                  f"post {post_id} is not in campaign {campaign.slug!r}")
    now = utcnow()
    insert_ignore(connection, table, [{"campaign": campaign.slug, "post_id": post_id, "audiences": [], "set_by": user,
                                       "set_at": now, "history": []}], ("campaign", "post_id"))
    row = override_row(connection, campaign.slug, post_id)
    assert row is not None
    if row["audiences"] != keys:
        entry = {"by": user, "at": now.isoformat(timespec="seconds"), "audiences": keys, "before": row["audiences"]}
        connection.execute(update(table).where(table.c.id == row["id"]).values(
            audiences=keys, set_by=user, set_at=now, history=[*(row["history"] or []), entry]))
    return override_row(connection, campaign.slug, post_id) or row


def review(campaign: Campaign, caption: str, hashtags: list[str] | tuple[str, ...], stored: list[str] | None,
           override: dict | None) -> AudienceReview:
    """The matching's findings for a post beside the audiences its drafts follow."""
    matches = tuple(match_audiences(campaign, caption or "", tuple(hashtags or ())))
    known = {a.key for a in campaign.audiences}
    for source, keys in (("override", (override or {}).get("audiences")), ("stored", stored),
                         ("matched", [m.key for m in matches])):
        chosen = tuple(k for k in keys or () if k in known)
        if chosen:
            return AudienceReview(matches, chosen, source, override)
    return AudienceReview(matches, (), "none", override)


def post_review(connection, campaign: Campaign, post_id: int) -> AudienceReview:
    """`review` for a stored post: its caption and hashtags, moderation's audiences and the manager's choice."""
    row = connection.execute(select(post.c.caption, post.c.hashtags, cp.c.audiences).join(cp, cp.c.post_id == post.c.id)
                             .where(cp.c.campaign == campaign.slug, post.c.id == post_id)).first()
    if row is None:
        return AudienceReview((), (), "none", None)
    return review(campaign, row.caption, row.hashtags or [], row.audiences, override_row(connection, campaign.slug, post_id))
