"""Composing drafts: one text per approved post, audience and channel, within the platform limits.

Each audience has its own template (`templates/drafts/<audience>.txt.j2`, falling back to
`default.txt.j2`), so copy differs by audience and not only by channel. A draft records the
problems a person must solve before publishing (image crop, rights, length).
Composing is idempotent: an existing draft is kept; `refresh` re-renders only untouched ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jinja2 import TemplateNotFound
from sqlalchemy import and_, func, select, update

from campaign_worker.moderation.audiences import guess_audiences
from campaign_worker.config.campaigns import Audience, Campaign, fold_hashtag
from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.publish.limits import CHANNELS, cut, grapheme_len, image_problems
from campaign_worker.store.models import (
    Draft,
    campaign_post_table as cp,
    draft_table as draft,
    media_table as media,
    post_media_table as post_media,
    post_table as post,
)
from campaign_worker.timeutil import utcnow
from campaign_worker.publish.templating import make_environment

if TYPE_CHECKING:
    from campaign_worker.home import Home
    from campaign_worker.workspace import Workspace

EXCERPT_CHARS = 280
_HASHTAG_OR_MENTION = re.compile(r"(?<!\w)[#@][\w.]+", re.UNICODE)


@dataclass(frozen=True)
class ComposedDraft:
    audience: str
    channel: str
    text: str
    hashtags: tuple[str, ...]
    problems: tuple[str, ...]


def excerpt(caption: str, limit: int = EXCERPT_CHARS) -> str:
    """The caption's words without hashtags and mentions, in one paragraph."""
    text = _HASHTAG_OR_MENTION.sub("", caption or "")
    text = re.sub(r"\s+", " ", text).strip(" -–,;")
    return cut(text, limit) if text else ""


def draft_hashtags(campaign: Campaign, channel: str) -> tuple[str, ...]:
    tags = [*campaign.hashtags, *(fold_hashtag(t) for t in campaign.drafts.extra_hashtags)]
    limit = campaign.drafts.max_hashtags if channel == "instagram" else min(campaign.drafts.max_hashtags, 3)
    return tuple(dict.fromkeys(tags))[:limit]


class Composer:
    """Renders drafts for one campaign; templates are loaded once."""

    def __init__(self, home: Home, campaign: Campaign):
        self.campaign = campaign
        self.env = make_environment(home, campaign.language, campaign.tz)

    def _template(self, audience: Audience):
        try:
            return self.env.get_template(f"drafts/{audience.key}.txt.j2")
        except TemplateNotFound:
            return self.env.get_template("drafts/default.txt.j2")

    def compose(self, audience: Audience, channel: str, caption: str, author: str | None,
                trusted: bool, image: tuple[int | None, int | None] = (None, None)) -> ComposedDraft:
        limits = CHANNELS[channel]
        tags = draft_hashtags(self.campaign, channel)
        tag_line = " ".join(f"#{t}" for t in tags)
        credit = f"@{author}" if author else "unserer Community"
        body_for = lambda text: self._template(audience).render(  # noqa: E731
            campaign=self.campaign, audience=audience, channel=channel, du=audience.tone == "du",
            excerpt=text, author=author, credit=credit,
        ).strip()
        full = excerpt(caption)
        body = body_for(full)
        room = limits.max_chars - grapheme_len(tag_line) - 2
        if grapheme_len(body) > room and full:
            # Shorten only the quoted caption; the call to action stays whole.
            overflow = grapheme_len(body) - room
            body = body_for(cut(full, max(20, grapheme_len(full) - overflow - 1)))
        text = f"{body}\n\n{tag_line}" if tag_line else body
        problems = list(image_problems(channel, *image))
        if grapheme_len(text) > limits.max_chars:
            problems.append(f"Text zu lang: {grapheme_len(text)} von {limits.max_chars} Zeichen")
        if not trusted:
            problems.append(f"Bildrechte klären: Erlaubnis von {credit} einholen, bevor der Beitrag geteilt wird")
        return ComposedDraft(audience.key, channel, text, tags, tuple(problems))


def _approved_posts(connection, campaign: Campaign) -> list[dict]:
    query = (
        select(post.c.id, post.c.caption, post.c.author_username, cp.c.audiences)
        .join(cp, cp.c.post_id == post.c.id)
        .where(cp.c.campaign == campaign.slug, cp.c.state == "approved")
        .order_by(cp.c.posted_at, post.c.id)
    )
    rows = [dict(r._mapping) for r in connection.execute(query)]
    first_images = {
        r.post_id: (r.width, r.height)
        for r in connection.execute(
            select(post_media.c.post_id, media.c.width, media.c.height)
            .join(media, media.c.sha256 == post_media.c.media_sha256)
            .join(cp, and_(cp.c.post_id == post_media.c.post_id, cp.c.campaign == campaign.slug, cp.c.state == "approved"))
            .where(post_media.c.position == 0)
        )
    }
    for row in rows:
        row["image"] = first_images.get(row["id"], (None, None))
    return rows


def compose_campaign(ws: Workspace, campaign: Campaign, *, refresh: bool = False, should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
    composer = Composer(ws.home, campaign)
    trusted_accounts = campaign.partner_accounts | {a.lower() for a in campaign.own_accounts}
    with reading(ws.engine) as connection:
        posts = _approved_posts(connection, campaign)
        existing = {
            (r.post_id, r.audience, r.channel): (r.status, r.edited_by)
            for r in connection.execute(select(draft.c.post_id, draft.c.audience, draft.c.channel, draft.c.status, draft.c.edited_by)
                                        .where(draft.c.campaign == campaign.slug))
        }
    counts = {"posts": len(posts), "created": 0, "refreshed": 0, "kept": 0}
    keys = [a.key for a in campaign.audiences]
    for start in range(0, len(posts), 200):
        if should_stop():
            break
        new_rows, refreshed = [], []
        now = utcnow()
        for row in posts[start : start + 200]:
            trusted = (row["author_username"] or "").lower() in trusted_accounts
            guessed = row["audiences"] or guess_audiences(campaign, row["caption"] or "")
            for key in [k for k in guessed if k in keys] or keys:
                for channel in campaign.drafts.channels:
                    target = (row["id"], key, channel)
                    if target in existing and not (refresh and existing[target] == ("draft", None)):
                        counts["kept"] += 1
                        continue
                    composed = composer.compose(campaign.audience(key), channel, row["caption"], row["author_username"], trusted, row["image"])
                    values = {"text": composed.text, "hashtags": list(composed.hashtags), "problems": list(composed.problems), "updated_at": now}
                    if target in existing:
                        refreshed.append((target, values))
                    else:
                        new_rows.append({"campaign": campaign.slug, "post_id": row["id"], "audience": key, "channel": channel,
                                         "status": "draft", "created_at": now, **values})
        with transaction(ws.engine) as connection:
            insert_ignore(connection, draft, new_rows, ("campaign", "post_id", "audience", "channel"))
            for (post_id, key, channel), values in refreshed:
                connection.execute(update(draft).where(
                    draft.c.campaign == campaign.slug, draft.c.post_id == post_id, draft.c.audience == key,
                    draft.c.channel == channel, draft.c.status == "draft", draft.c.edited_by.is_(None)).values(**values))
        counts["created"] += len(new_rows)
        counts["refreshed"] += len(refreshed)
    return counts


def compose(ws: Workspace, campaigns: list[str] | None = None, *, refresh: bool = False, should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The scheduled task: drafts for every selected campaign."""
    return ws.for_each(campaigns, lambda c: compose_campaign(ws, c, refresh=refresh, should_stop=should_stop), should_stop)


DRAFT_FIELDS = ("id", "post_id", "audience", "channel", "status", "text", "hashtags", "problems")


def list_drafts(connection, campaign: str, *, audience: str | None = None, channel: str | None = None,
                status: str | None = None, limit: int = 100) -> list[dict]:
    """A campaign's drafts as plain rows (`DRAFT_FIELDS`), by post, audience and channel."""
    query = select(*(getattr(Draft, f) for f in DRAFT_FIELDS)).where(Draft.campaign == campaign)
    if audience:
        query = query.where(Draft.audience == audience)
    if channel:
        query = query.where(Draft.channel == channel)
    if status:
        query = query.where(Draft.status == status)
    query = query.order_by(Draft.post_id, Draft.audience, Draft.channel).limit(limit)
    return [dict(r._mapping) for r in connection.execute(query)]


def recent_drafts(connection, campaign: str = "", status: str = "", limit: int = 200) -> list[dict]:
    """The most recently changed drafts (every column), optionally of one campaign and status."""
    query = select(draft).order_by(draft.c.updated_at.desc(), draft.c.id.desc()).limit(limit)
    if campaign:
        query = query.where(draft.c.campaign == campaign)
    if status:
        query = query.where(draft.c.status == status)
    return [dict(r._mapping) for r in connection.execute(query)]


def draft_row(connection, draft_id: int) -> dict | None:
    row = connection.execute(select(draft).where(draft.c.id == draft_id)).first()
    return dict(row._mapping) if row is not None else None


def draft_source(connection, post_id: int):
    """Caption and author of the post a draft was made from (a row), or None."""
    return connection.execute(select(post.c.caption, post.c.author_username).where(post.c.id == post_id)).first()


def edit_draft(connection, draft_id: int, user: str, *, text: str | None = None, status: str | None = None) -> None:
    """A person's change to a draft's text or status, stamped with who and when."""
    values = {"text": text} if text is not None else {}
    if status is not None:
        values["status"] = status
    connection.execute(update(draft).where(draft.c.id == draft_id).values(**values, edited_by=user, updated_at=utcnow()))


def draft_counts(connection) -> dict[str, dict[str, int]]:
    """{campaign: {status: n}} for the statuses that have drafts."""
    counts: dict[str, dict[str, int]] = {}
    for slug, status, n in connection.execute(
        select(draft.c.campaign, draft.c.status, func.count()).group_by(draft.c.campaign, draft.c.status)
    ):
        counts.setdefault(slug, {})[status] = n
    return counts
