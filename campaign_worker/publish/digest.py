"""The weekly digest for the marketing team: what came in, what is worth reposting, which drafts
are ready and what needs a decision — as a self-contained HTML page and as an e-mail.

Weeks run Monday to Sunday in the campaign's time zone. Pictures are the local thumbnails,
embedded in the page (data URIs) and attached to the e-mail (cid:), so no reader's client
ever fetches anything from Instagram.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, select

from campaign_worker.config.campaigns import Campaign
from campaign_worker.files import remove_leftovers, write_atomic
from campaign_worker.store.db import reading, transaction, upsert
from campaign_worker.publish.drafts import excerpt
from campaign_worker.store.models import (
    campaign_post_table as cp,
    digest_table,
    draft_table as draft,
    media_table as media,
    post_media_table as post_media,
    post_table as post,
)
from campaign_worker.timeutil import utcnow
from campaign_worker.moderation.queue import STATE_LABELS, STATES
from campaign_worker.publish.templating import make_environment

if TYPE_CHECKING:
    from campaign_worker.config.worker import SmtpSettings
    from campaign_worker.workspace import Workspace

def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def last_complete_week(campaign: Campaign, now: datetime) -> date:
    """Monday of the last week (Mon–Sun, campaign time) that has fully passed at `now`."""
    today = now.astimezone(campaign.tz).date()
    return week_start_of(today) - timedelta(days=7)


def week_bounds(campaign: Campaign, monday: date) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), tzinfo=campaign.tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=campaign.tz)
    return start, end


@dataclass
class Highlight:
    post_id: int
    author: str | None
    excerpt: str
    posted_at: datetime
    likes: int | None
    audiences: list[str]
    partner: bool
    thumb_sha: str | None = None
    thumb_bytes: bytes | None = field(default=None, repr=False)

    @property
    def data_uri(self) -> str | None:
        if not self.thumb_bytes:
            return None
        return "data:image/jpeg;base64," + base64.b64encode(self.thumb_bytes).decode("ascii")


@dataclass
class DigestContent:
    campaign: Campaign
    week_start: date
    week_end: date
    counts: dict
    highlights: list[Highlight]
    drafts_by_audience: dict[str, dict[str, int]]
    sample_drafts: list[dict]
    pending: list[dict]
    rejected_by_rule: list[tuple[str, int]]
    partner_posts: list[tuple[str, int]]


def gather(ws: Workspace, campaign: Campaign, monday: date) -> DigestContent:
    start, end = week_bounds(campaign, monday)
    in_week = and_(cp.c.campaign == campaign.slug, cp.c.posted_at >= start, cp.c.posted_at < end)
    partners = campaign.partner_accounts
    with reading(ws.engine) as connection:
        by_state = dict.fromkeys(STATES, 0)
        by_state.update({s: n for s, n in connection.execute(select(cp.c.state, func.count()).where(in_week).group_by(cp.c.state))})
        approved = [
            dict(r._mapping)
            for r in connection.execute(
                select(post.c.id, post.c.author_username, post.c.caption, post.c.like_count, cp.c.posted_at, cp.c.audiences)
                .join(cp, cp.c.post_id == post.c.id)
                .where(in_week, cp.c.state == "approved")
            )
        ]
        approved.sort(key=lambda r: (-(r["like_count"] or 0), r["posted_at"]))
        highlights = [
            Highlight(r["id"], r["author_username"], excerpt(r["caption"], 200), r["posted_at"], r["like_count"],
                      r["audiences"] or [], (r["author_username"] or "").lower() in partners)
            for r in approved[: campaign.digest.highlights]
        ]
        thumbs = {
            r.post_id: r.sha256
            for r in connection.execute(
                select(post_media.c.post_id, media.c.sha256)
                .join(media, media.c.sha256 == post_media.c.media_sha256)
                .where(post_media.c.post_id.in_([h.post_id for h in highlights]), post_media.c.position == 0,
                       media.c.status == "ok")
            )
        }
        draft_rows = connection.execute(
            select(draft.c.audience, draft.c.channel, draft.c.status, func.count())
            .join(cp, and_(cp.c.post_id == draft.c.post_id, cp.c.campaign == draft.c.campaign))
            .where(in_week, draft.c.status != "discarded")
            .group_by(draft.c.audience, draft.c.channel, draft.c.status)
        ).all()
        samples = [
            dict(r._mapping)
            for r in connection.execute(
                select(draft.c.audience, draft.c.channel, draft.c.text, draft.c.problems)
                .join(cp, and_(cp.c.post_id == draft.c.post_id, cp.c.campaign == draft.c.campaign))
                .where(in_week, draft.c.channel == (campaign.drafts.channels[0] if campaign.drafts.channels else "instagram"))
                .order_by(draft.c.audience, draft.c.id)
            )
        ]
        pending = [
            dict(r._mapping)
            for r in connection.execute(
                select(post.c.id, post.c.author_username, post.c.caption, cp.c.reason_de, cp.c.reason_en, cp.c.posted_at)
                .join(cp, cp.c.post_id == post.c.id)
                .where(in_week, cp.c.state == "pending")
                .order_by(cp.c.posted_at)
                .limit(10)
            )
        ]
        rejected = connection.execute(
            select(cp.c.rule, func.count()).where(in_week, cp.c.state == "rejected").group_by(cp.c.rule).order_by(func.count().desc())
        ).all()
        authors = connection.execute(
            select(post.c.author_username, func.count()).join(cp, cp.c.post_id == post.c.id).where(in_week).group_by(post.c.author_username)
        ).all()
    for h in highlights:
        h.thumb_sha = thumbs.get(h.post_id)
        if h.thumb_sha:
            path = ws.media.path_for(h.thumb_sha, thumb=True)
            h.thumb_bytes = path.read_bytes() if path.exists() else None
    drafts_by_audience: dict[str, dict[str, int]] = {}
    for audience, channel, status, n in draft_rows:
        drafts_by_audience.setdefault(audience, Counter())[channel] += n
    first_per_audience: dict[str, dict] = {}
    for row in samples:
        first_per_audience.setdefault(row["audience"], row)
    for row in pending:
        row["excerpt"] = excerpt(row.pop("caption"), 140)
    partner_posts = sorted(((a, n) for a, n in authors if (a or "").lower() in partners), key=lambda x: (-x[1], x[0]))
    counts = {
        "collected": sum(by_state.values()),
        "by_state": by_state,
        "drafts": sum(sum(c.values()) for c in drafts_by_audience.values()),
        "highlights": len(highlights),
        "partner_posts": sum(n for _, n in partner_posts),
    }
    return DigestContent(campaign, monday, monday + timedelta(days=6), counts, highlights,
                         {k: dict(v) for k, v in drafts_by_audience.items()}, list(first_per_audience.values()),
                         pending, [(r or "–", n) for r, n in rejected], partner_posts)


def _render(ws: Workspace, content: DigestContent, template: str, image_src: Callable[[Highlight], str | None]) -> str:
    env = make_environment(ws.home, content.campaign.language, content.campaign.tz)
    labels = STATE_LABELS.get(content.campaign.language, STATE_LABELS["de"])
    return env.get_template(template).render(d=content, c=content.campaign, labels=labels, image_src=image_src)


def _write_atomic(path: Path, text: str) -> None:
    write_atomic(path, text, mode=0o644)


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class RenderedDigest:
    campaign: str
    week_start: date
    html_path: Path
    text_path: Path
    counts: dict


def render_week(ws: Workspace, campaign: Campaign, monday: date) -> RenderedDigest:
    """Render (or re-render) one week's digest page and e-mail text, and record it."""
    monday = week_start_of(monday)
    content = gather(ws, campaign, monday)
    folder = ws.home.output_dir / "digests" / campaign.slug
    html_path = folder / f"{week_label(monday)}.html"
    text_path = folder / f"{week_label(monday)}.txt"
    remove_leftovers(folder)  # temp files of a render that was killed or ran out of disk
    _write_atomic(html_path, _render(ws, content, "digest/digest.html.j2", lambda h: h.data_uri))
    _write_atomic(text_path, _render(ws, content, "digest/digest.txt.j2", lambda h: None))
    with transaction(ws.engine) as connection:
        upsert(connection, digest_table, [{
            "campaign": campaign.slug, "week_start": monday, "html_path": str(html_path), "text_path": str(text_path),
            "counts": content.counts, "created_at": utcnow(),
        }], ("campaign", "week_start"), ("html_path", "text_path", "counts", "created_at"))
    _write_index(ws, campaign)
    return RenderedDigest(campaign.slug, monday, html_path, text_path, content.counts)


def _write_index(ws: Workspace, campaign: Campaign) -> None:
    with reading(ws.engine) as connection:
        rows = [dict(r._mapping) for r in connection.execute(
            select(digest_table.c.week_start, digest_table.c.counts).where(digest_table.c.campaign == campaign.slug)
            .order_by(digest_table.c.week_start.desc()))]
    for row in rows:
        row["label"] = week_label(row["week_start"])
    env = make_environment(ws.home, campaign.language, campaign.tz)
    page = env.get_template("digest/index.html.j2").render(c=campaign, digests=rows)
    _write_atomic(ws.home.output_dir / "digests" / campaign.slug / "index.html", page)


def build_email(ws: Workspace, campaign: Campaign, monday: date, sender: str) -> EmailMessage:
    """The digest as a multipart e-mail: plain text, HTML with the thumbnails attached inline."""
    content = gather(ws, campaign, monday)
    cids = {h.post_id: make_msgid(domain="campaign-worker.local") for h in content.highlights if h.thumb_bytes}
    message = EmailMessage()
    subject_week = week_label(monday)
    message["Subject"] = f"{campaign.name}: Wochenüberblick {subject_week}" if campaign.language == "de" else f"{campaign.name}: weekly digest {subject_week}"
    message["From"] = sender
    message["To"] = ", ".join(campaign.digest.recipients)
    message.set_content(_render(ws, content, "digest/digest.txt.j2", lambda h: None))
    message.add_alternative(_render(ws, content, "digest/digest.html.j2", lambda h: f"cid:{cids[h.post_id][1:-1]}" if h.post_id in cids else None), subtype="html")
    html_part = message.get_payload()[1]
    for h in content.highlights:
        if h.post_id in cids:
            html_part.add_related(h.thumb_bytes, "image", "jpeg", cid=cids[h.post_id])
    return message


def weeks_with_posts(ws: Workspace, campaign: Campaign) -> list[date]:
    """Mondays of every week in which the campaign has posts (campaign time)."""
    with reading(ws.engine) as connection:
        first, last = connection.execute(select(func.min(cp.c.posted_at), func.max(cp.c.posted_at)).where(cp.c.campaign == campaign.slug)).one()
    if first is None:
        return []
    monday = week_start_of(first.astimezone(campaign.tz).date())
    end = last.astimezone(campaign.tz).date()
    weeks = []
    while monday <= end:
        weeks.append(monday)
        monday += timedelta(days=7)
    return weeks


def send_week(ws: Workspace, campaign: Campaign, monday: date, smtp: SmtpSettings | None = None) -> int:
    """Mail one week's digest to the campaign's recipients and note when; returns the number of recipients."""
    from campaign_worker.publish.mailer import send_message
    from campaign_worker.config.worker import load_settings

    smtp = smtp or load_settings(ws.home).smtp
    monday = week_start_of(monday)
    recipients = list(campaign.digest.recipients)
    if not recipients:
        return 0
    send_message(smtp, build_email(ws, campaign, monday, smtp.sender), recipients)
    with transaction(ws.engine) as connection:
        connection.execute(digest_table.update().where(digest_table.c.campaign == campaign.slug,
                                                       digest_table.c.week_start == monday).values(sent_at=utcnow()))
    return len(recipients)


def render_due(ws: Workspace, campaigns: list[str] | None = None, *, now: datetime | None = None, smtp: SmtpSettings | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The scheduled task: each campaign's last complete week, rendered once and — where the
    campaign asks for it — mailed once. A mail that failed is sent on the next run."""
    now = now or utcnow()

    def one(campaign: Campaign) -> dict:
        monday = last_complete_week(campaign, now)
        with reading(ws.engine) as connection:
            existing = connection.execute(select(digest_table.c.sent_at).where(
                digest_table.c.campaign == campaign.slug, digest_table.c.week_start == monday)).first()
        counts = {"rendered": 0, "existing": 1 if existing else 0, "mailed": 0}
        if existing is None:
            render_week(ws, campaign, monday)
            counts["rendered"] = 1
        if campaign.digest.send_email and campaign.digest.recipients and (existing is None or existing.sent_at is None):
            counts["mailed"] = send_week(ws, campaign, monday, smtp)
        return counts

    return ws.for_each(campaigns, one, should_stop)


def recent_digests(connection, limit: int = 500) -> list[dict]:
    """Stored digests, newest week first (every column)."""
    query = select(digest_table).order_by(digest_table.c.week_start.desc(), digest_table.c.campaign).limit(limit)
    return [dict(r._mapping) for r in connection.execute(query)]


def digest_row(connection, digest_id: int) -> dict | None:
    row = connection.execute(select(digest_table).where(digest_table.c.id == digest_id)).first()
    return dict(row._mapping) if row is not None else None


def last_digest_weeks(connection) -> dict[str, date]:
    """campaign → the Monday of its newest stored digest."""
    query = select(digest_table.c.campaign, func.max(digest_table.c.week_start)).group_by(digest_table.c.campaign)
    return {slug: week for slug, week in connection.execute(query)}
