"""The moderation queue: states of a post in a campaign, and the audit trail of every change.

States: `new` (collected, not yet seen by the rules) → `pending` (a person must look) →
`approved` | `rejected` | `later`. People may move a post between any of the last four and
undo their last step. Every change appends a `ModerationEvent` in the same transaction as the
state change. Rules act only on posts no person has decided.

Every change reads the post's current state under a row lock (`SELECT … FOR UPDATE` on
PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers), so concurrent moderators
queue up per post and each event's `from` is the previous event's `to`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Iterable

from sqlalchemy import and_, exists, func, literal, or_, select, update
from sqlalchemy.engine import Connection

from campaign_worker.store.models import (
    CampaignPost,
    Post,
    campaign_post_table as cp,
    media_table,
    moderation_event_table as ev,
    post_media_table,
    post_table as post,
)
from campaign_worker.timeutil import utcnow
from campaign_worker.moderation.verdict import Verdict
from campaign_worker.errors import CampaignWorkerError

STATES = ("new", "pending", "approved", "rejected", "later")
HUMAN_TARGETS = ("pending", "approved", "rejected", "later")
DECISION_STATE = {"approve": "approved", "reject": "rejected", "review": "pending"}
STATE_LABELS = {
    "de": {"new": "neu", "pending": "offen", "approved": "freigegeben", "rejected": "abgelehnt", "later": "später"},
    "en": {"new": "new", "pending": "pending", "approved": "approved", "rejected": "rejected", "later": "later"},
}

class QueueError(CampaignWorkerError):
    """A queue action that cannot be done; the message says why."""


@dataclass(frozen=True)
class Change:
    post_id: int
    from_state: str
    to_state: str
    event_id: int | None


def _current(connection: Connection, campaign: str, post_id: int):
    """The post's queue row, locked until the transaction ends (the state it changes from)."""
    row = connection.execute(
        select(cp).where(cp.c.campaign == campaign, cp.c.post_id == post_id).with_for_update()
    ).first()
    if row is None:
        raise QueueError(f"Beitrag {post_id} ist nicht in der Kampagne {campaign!r} / post {post_id} is not in campaign {campaign!r}")
    return row


def _append_event(connection: Connection, **values) -> int:
    values.setdefault("at", utcnow())
    values.setdefault("evidence", [])
    result = connection.execute(ev.insert().values(**values))
    return result.inserted_primary_key[0]


def apply_rule_verdict(
    connection: Connection,
    campaign: str,
    post_id: int,
    verdict: Verdict,
    audiences: Iterable[str] = (),
    *,
    recheck: bool = False,
    score: float | None = None,
) -> Change | None:
    """Record the rules' outcome for a post no person has decided yet.

    Without `recheck` only `new` posts are touched; with it, also posts the rules decided
    before (a changed list or setting). A human decision is never overridden.
    """
    row = _current(connection, campaign, post_id)
    if row.human or (row.state != "new" and not recheck):
        return None
    to_state = DECISION_STATE[verdict.decision]
    evidence = list(verdict.evidence)[:5]
    values = dict(
        state=to_state,
        decided_by=f"rule:{verdict.rule}",
        rule=verdict.rule,
        reason_de=verdict.reason_de[:500],
        reason_en=verdict.reason_en[:500],
        evidence=evidence,
        audiences=list(audiences),
        score=score,
        updated_at=utcnow(),
    )
    if row.state == to_state and row.rule == verdict.rule and row.state != "new":
        if score is not None:  # same decision after a retrained model: keep the score current, no new event
            connection.execute(update(cp).where(cp.c.campaign == campaign, cp.c.post_id == post_id).values(score=score))
        return None
    connection.execute(
        update(cp).where(cp.c.campaign == campaign, cp.c.post_id == post_id, cp.c.human.is_(False)).values(**values)
    )
    event_id = _append_event(
        connection,
        campaign=campaign,
        post_id=post_id,
        actor=f"rule:{verdict.rule}",
        from_state=row.state,
        to_state=to_state,
        rule=verdict.rule,
        reason_de=values["reason_de"],
        reason_en=values["reason_en"],
        evidence=evidence,
    )
    return Change(post_id, row.state, to_state, event_id)


def decide(
    connection: Connection,
    campaign: str,
    post_ids: Iterable[int],
    to_state: str,
    user: str,
    reason: str | None = None,
) -> list[Change]:
    """A person moves posts to `to_state`; one event per post that actually changes."""
    if to_state not in HUMAN_TARGETS:
        raise QueueError(f"unbekannter Zustand / unknown state {to_state!r}; erlaubt / allowed: {', '.join(HUMAN_TARGETS)}")
    reason = (reason or "").strip()[:500] or None
    changes = []
    wanted = list(dict.fromkeys(post_ids))
    # Lock the rows in one order (by id), so two bulk actions on overlapping posts never deadlock.
    connection.execute(
        select(cp.c.post_id).where(cp.c.campaign == campaign, cp.c.post_id.in_(wanted)).order_by(cp.c.post_id).with_for_update()
    ).all()
    for post_id in wanted:
        row = _current(connection, campaign, post_id)
        if row.state == to_state and row.human:
            continue
        connection.execute(
            update(cp)
            .where(cp.c.campaign == campaign, cp.c.post_id == post_id)
            .values(state=to_state, human=True, decided_by=f"user:{user}", updated_at=utcnow(),
                    **({"reason_de": reason, "reason_en": reason, "rule": None, "evidence": []} if reason else {}))
        )
        event_id = _append_event(
            connection, campaign=campaign, post_id=post_id, actor=f"user:{user}",
            from_state=row.state, to_state=to_state, reason_de=reason, reason_en=reason,
        )
        changes.append(Change(post_id, row.state, to_state, event_id))
    return changes


def undo(connection: Connection, campaign: str, post_id: int, user: str) -> Change:
    """Revert the last change of a post (its own event stays; a new one records the undo)."""
    row = _current(connection, campaign, post_id)
    last = connection.execute(
        select(ev).where(ev.c.campaign == campaign, ev.c.post_id == post_id).order_by(ev.c.id.desc()).limit(1)
    ).first()
    if last is None or last.from_state == "new" and last.actor.startswith("rule:") and not row.human:
        raise QueueError("Nichts rückgängig zu machen / nothing to undo")
    back = last.from_state if last.from_state != "new" else "pending"
    # The state before the last change, with the reason that held then.
    previous = connection.execute(
        select(ev).where(ev.c.campaign == campaign, ev.c.post_id == post_id, ev.c.id < last.id).order_by(ev.c.id.desc()).limit(1)
    ).first()
    human = bool(previous is not None and previous.actor.startswith("user:"))
    values = dict(state=back, human=human, decided_by=previous.actor if previous else None, updated_at=utcnow())
    if previous is not None:
        values.update(rule=previous.rule, reason_de=previous.reason_de, reason_en=previous.reason_en, evidence=previous.evidence)
    connection.execute(update(cp).where(cp.c.campaign == campaign, cp.c.post_id == post_id).values(**values))
    event_id = _append_event(
        connection, campaign=campaign, post_id=post_id, actor=f"user:{user}",
        from_state=row.state, to_state=back,
        reason_de=f"Rückgängig: Ereignis #{last.id}", reason_en=f"undo of event #{last.id}",
    )
    return Change(post_id, row.state, back, event_id)


def history(connection: Connection, campaign: str, post_id: int) -> list[dict]:
    rows = connection.execute(
        select(ev).where(ev.c.campaign == campaign, ev.c.post_id == post_id).order_by(ev.c.id)
    )
    return [dict(r._mapping) for r in rows]


def counts(connection: Connection, campaign: str | None = None) -> dict[str, dict[str, int]]:
    """{campaign: {state: n}} with every state present."""
    query = select(cp.c.campaign, cp.c.state, func.count()).group_by(cp.c.campaign, cp.c.state)
    if campaign:
        query = query.where(cp.c.campaign == campaign)
    result: dict[str, dict[str, int]] = {}
    for slug, state, n in connection.execute(query):
        result.setdefault(slug, dict.fromkeys(STATES, 0))[state] = n
    return result


@dataclass
class QueueFilter:
    campaign: str
    state: str | None = "pending"
    hashtag: str | None = None
    author: str | None = None
    rule: str | None = None
    source: str | None = None
    audience: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None


def _json_array_contains(connection: Connection, column, value: str):
    """`value` is an element of the JSON array in `column`, evaluated in SQL on either dialect."""
    if connection.dialect.name == "postgresql":
        elements = func.json_array_elements_text(column).table_valued("value").alias("elements")
    else:
        elements = func.json_each(column).table_valued("value").alias("elements")
    return exists(select(literal(1)).select_from(elements).where(elements.c.value == value))


def list_entries(connection: Connection, flt: QueueFilter, *, limit: int = 50, after: tuple[datetime, int] | None = None) -> list[dict]:
    """Newest first, keyset-paginated by (posted_at, post_id); every filter runs in SQL.

    With a state given, the order comes straight from `ix_campaign_post_queue`; the other
    filters only drop rows while walking it.
    """
    query = (
        select(
            cp.c.post_id, cp.c.campaign, cp.c.state, cp.c.rule, cp.c.reason_de, cp.c.reason_en, cp.c.evidence,
            cp.c.audiences, cp.c.score, cp.c.decided_by, cp.c.human, cp.c.posted_at, cp.c.updated_at,
            post.c.platform, post.c.external_id, post.c.author_username, post.c.caption, post.c.hashtags,
            post.c.permalink, post.c.media_type, post.c.source_id,
        )
        .join(post, post.c.id == cp.c.post_id)
        .where(cp.c.campaign == flt.campaign)
    )
    if flt.state:
        query = query.where(cp.c.state == flt.state)
    if flt.author:
        query = query.where(func.lower(post.c.author_username) == flt.author.lower().lstrip("@"))
    if flt.rule:
        query = query.where(cp.c.rule == flt.rule)
    if flt.source:
        query = query.where(post.c.source_id == flt.source)
    if flt.since:
        query = query.where(cp.c.posted_at >= flt.since)
    if flt.until:
        query = query.where(cp.c.posted_at < flt.until)
    if flt.text:
        pattern = f"%{_escape_like(flt.text.strip())}%"
        query = query.where(or_(post.c.caption.ilike(pattern, escape="\\"), post.c.author_username.ilike(pattern, escape="\\")))
    if flt.hashtag:
        query = query.where(_json_array_contains(connection, post.c.hashtags, flt.hashtag.strip().lower().lstrip("#")))
    if flt.audience:
        query = query.where(_json_array_contains(connection, cp.c.audiences, flt.audience.strip()))
    if after is not None:
        query = query.where(or_(cp.c.posted_at < after[0], and_(cp.c.posted_at == after[0], cp.c.post_id < after[1])))
    query = query.order_by(cp.c.posted_at.desc(), cp.c.post_id.desc()).limit(limit)
    return [dict(r._mapping) for r in connection.execute(query)]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_post_id(connection: Connection, ref: str) -> int:
    """A post given as its number, `platform:id` or a bare shortcode (as people type it)."""
    if ref.isascii() and ref.isdigit():
        number = int(ref)
        if not 0 < number < 2**63:  # no stored id is that large: say so instead of overflowing the database
            raise QueueError(f"Beitrag {ref!r} nicht gefunden (Nummer, Shortcode oder plattform:id) / post not found")
        return number
    platform, _, external = ref.rpartition(":")
    query = select(Post.id).where(Post.external_id == external)
    if platform:
        query = query.where(Post.platform == platform)
    ids = connection.execute(query).scalars().all()
    if len(ids) != 1:
        raise QueueError(f"Beitrag {ref!r} nicht gefunden (Nummer, Shortcode oder plattform:id) / post not found")
    return ids[0]


def entry(connection: Connection, campaign: str, post_id: int) -> dict | None:
    """One post in a campaign: its queue state and reasons with author, caption and time; None if absent."""
    row = connection.execute(
        select(CampaignPost.state, CampaignPost.rule, CampaignPost.reason_de, CampaignPost.reason_en, CampaignPost.evidence,
               CampaignPost.audiences, Post.author_username, Post.caption, Post.posted_at)
        .join(Post, Post.id == CampaignPost.post_id)
        .where(CampaignPost.campaign == campaign, CampaignPost.post_id == post_id)
    ).first()
    return dict(row._mapping) if row is not None else None


def listed_entry(connection: Connection, campaign: str, post_id: int) -> dict | None:
    """One post as `list_entries` returns it, whatever its state; None if not in the campaign."""
    posted_at = connection.execute(
        select(cp.c.posted_at).where(cp.c.campaign == campaign, cp.c.post_id == post_id)
    ).scalar()
    if posted_at is None:
        return None
    # The keyset position right before this post, so the one-row page starts with it.
    rows = list_entries(connection, QueueFilter(campaign=campaign, state=None), limit=1, after=(posted_at, post_id + 1))
    return rows[0] if rows and rows[0]["post_id"] == post_id else None


def thumbnails(connection: Connection, post_ids: list[int]) -> dict[int, str]:
    """post id → sha256 of its first picture that has a stored thumbnail."""
    if not post_ids:
        return {}
    rows = connection.execute(
        select(post_media_table.c.post_id, media_table.c.sha256)
        .join(media_table, media_table.c.sha256 == post_media_table.c.media_sha256)
        .where(
            post_media_table.c.post_id.in_(post_ids),
            media_table.c.status == "ok",
            media_table.c.thumb_path.is_not(None),
        )
        .order_by(post_media_table.c.post_id, post_media_table.c.position)
    )
    found: dict[int, str] = {}
    for post_id, sha in rows:
        found.setdefault(post_id, sha)
    return found


def thumbnail_path(connection: Connection, sha256: str) -> str | None:
    """The stored thumbnail of a picture (relative to the media folder), if it was fetched well."""
    row = connection.execute(
        select(media_table.c.thumb_path, media_table.c.status).where(media_table.c.sha256 == sha256)
    ).first()
    return row.thumb_path if row is not None and row.status == "ok" and row.thumb_path else None


def position_of(connection: Connection, campaign: str, post_id: int) -> tuple[datetime, int] | None:
    """Where a post stands in the campaign's newest-first order: the `after` of the next page."""
    row = connection.execute(
        select(cp.c.posted_at, cp.c.post_id).where(cp.c.campaign == campaign, cp.c.post_id == post_id)
    ).first()
    return (row.posted_at, row.post_id) if row is not None else None
