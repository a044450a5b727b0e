"""The weekly digest for the marketing team: what came in, how the week compares with the last
ones, what is worth reposting, which drafts are ready and what needs a decision — as a
self-contained HTML page per week with an index, a text file, and one e-mail per recipient.

The figures come from `digest_figures.py`, the chart from `digest_chart.py`, the message from
`digest_email.py`, the words and filters from `digest_templates.py`. Pictures are the local thumbnails, embedded in the page (data URIs) and
attached to the e-mail (cid:), so no reader's client ever fetches anything from Instagram.
Files are written atomically with mode 0644, so a web server may serve them.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from campaign_worker.config.campaigns import Campaign
from campaign_worker.files import remove_leftovers, write_atomic
from campaign_worker.publish.digest_chart import render_chart
from campaign_worker.publish.digest_figures import (
    WeekDigest,
    campaign_week,
    gather,
    last_complete_week,
    week_start_of,
)
from campaign_worker.publish.digest_email import compose
from campaign_worker.publish.digest_templates import environment, render_template, texts
from campaign_worker.store.db import reading, transaction, upsert
from campaign_worker.store.models import campaign_post_table as cp, digest_delivery_table as delivery, digest_table
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.config.worker import SmtpSettings, WorkerSettings
    from campaign_worker.workspace import Workspace

__all__ = ["last_complete_week", "week_start_of", "render_week", "render_due", "send_week", "build_email"]
FILE_MODE = 0o644


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode("ascii")


def _write_atomic(path: Path, data: str | bytes) -> None:
    write_atomic(path, data, mode=FILE_MODE)


@dataclass
class RenderedDigest:
    campaign: str
    week_start: date
    html_path: Path
    text_path: Path
    counts: dict
    title: str  # 'KW 41 · 5.–11. Oktober 2026'


def _settings(ws: Workspace) -> WorkerSettings:
    from campaign_worker.config.worker import load_settings

    return load_settings(ws.home)


def digest_folder(ws: Workspace, campaign: Campaign) -> Path:
    return ws.home.output_dir / "digests" / campaign.slug


def render_week(ws: Workspace, campaign: Campaign, monday: date, settings: WorkerSettings | None = None) -> RenderedDigest:
    """Render (or re-render) one week's digest page and text, record it and refresh the index."""
    settings = settings or _settings(ws)
    digest = gather(ws, campaign, week_start_of(monday), settings.web)
    monday = digest.week.monday
    chart = _data_uri(render_chart(digest), "image/png")
    folder = digest_folder(ws, campaign)
    remove_leftovers(folder)  # temp files of a render that was killed or ran out of disk
    html_path = folder / f"{digest.week.label}.html"
    text_path = folder / f"{digest.week.label}.txt"
    html = render_template(ws.home, digest, "digest/digest.html.j2", lambda sha: _data_uri(digest.thumbs[sha], "image/jpeg")
                           if sha in digest.thumbs else None, chart)
    _write_atomic(html_path, html)
    _write_atomic(text_path, render_template(ws.home, digest, "digest/digest.txt.j2", lambda sha: None, None))
    with transaction(ws.engine) as connection:
        upsert(connection, digest_table, [{
            "campaign": campaign.slug, "week_start": monday, "html_path": str(html_path), "text_path": str(text_path),
            "counts": digest.counts, "created_at": utcnow(),
        }], ("campaign", "week_start"), ("html_path", "text_path", "counts", "created_at"))
    _write_index(ws, campaign)
    return RenderedDigest(campaign.slug, monday, html_path, text_path, digest.counts, digest.week.title(campaign.language))


def _write_index(ws: Workspace, campaign: Campaign) -> None:
    with reading(ws.engine) as connection:
        rows = [dict(r._mapping) for r in connection.execute(
            select(digest_table.c.week_start, digest_table.c.counts).where(digest_table.c.campaign == campaign.slug)
            .order_by(digest_table.c.week_start.desc()))]
    for row in rows:
        row["week"] = campaign_week(campaign, row["week_start"])
    page = environment(ws.home, campaign).get_template("digest/index.html.j2").render(c=campaign, digests=rows, t=texts(campaign.language))
    _write_atomic(digest_folder(ws, campaign) / "index.html", page)


def build_email(ws: Workspace, campaign: Campaign, monday: date, sender: str, recipient: str | None = None,
                settings: WorkerSettings | None = None):
    """The week's digest as one recipient's message (text, inlined HTML, chart and thumbnails as cid: parts)."""
    settings = settings or _settings(ws)
    digest = gather(ws, campaign, week_start_of(monday), settings.web)
    return compose(ws, digest, sender, recipient or (campaign.digest.recipients[0] if campaign.digest.recipients else sender))


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
        monday = campaign_week(campaign, monday).shifted(1).monday
    return weeks


def delivered_to(connection, campaign: str, monday: date) -> set[str]:
    """Recipients who already received this week's digest."""
    query = select(delivery.c.recipient).where(delivery.c.campaign == campaign, delivery.c.week_start == monday,
                                               delivery.c.status == "sent")
    return {r for (r,) in connection.execute(query)}


def _record(ws: Workspace, campaign: str, monday: date, recipient: str, *, message_id: str | None, error: str | None) -> None:
    now = utcnow()
    with transaction(ws.engine) as connection:
        row = connection.execute(select(delivery.c.id, delivery.c.attempts).where(
            delivery.c.campaign == campaign, delivery.c.week_start == monday, delivery.c.recipient == recipient)).first()
        values = {"status": "failed" if error else "sent", "message_id": message_id, "error": error, "updated_at": now,
                  "sent_at": None if error else now}
        if row is None:
            connection.execute(delivery.insert().values(campaign=campaign, week_start=monday, recipient=recipient, attempts=1, **values))
        else:
            connection.execute(delivery.update().where(delivery.c.id == row.id).values(attempts=row.attempts + 1, **values))


def send_week(ws: Workspace, campaign: Campaign, monday: date, smtp: SmtpSettings | None = None,
              settings: WorkerSettings | None = None) -> int:
    """Mail one week's digest, one message per recipient who has not had it yet; returns how many
    were sent now. Each outcome is recorded; if any failed, `MailError` names them after the rest
    were tried, and the next run sends only those."""
    from campaign_worker.publish.mailer import MailError, send_message

    settings = settings or _settings(ws)
    smtp = smtp or settings.smtp
    monday = week_start_of(monday)
    with reading(ws.engine) as connection:
        done = delivered_to(connection, campaign.slug, monday)
    waiting = [r for r in dict.fromkeys(campaign.digest.recipients) if r not in done]
    if not waiting:
        return 0
    digest = gather(ws, campaign, monday, settings.web)
    failures, sent = [], 0
    for recipient in waiting:
        message = compose(ws, digest, smtp.sender, recipient)
        try:
            send_message(smtp, message, [recipient])
        except MailError as exc:
            failures.append(f"{recipient}: {exc}")
            _record(ws, campaign.slug, monday, recipient, message_id=None, error=str(exc)[:2000])
        else:
            sent += 1
            _record(ws, campaign.slug, monday, recipient, message_id=message["Message-ID"], error=None)
    if not failures:
        with transaction(ws.engine) as connection:
            connection.execute(digest_table.update().where(digest_table.c.campaign == campaign.slug,
                                                           digest_table.c.week_start == monday).values(sent_at=utcnow()))
    else:
        raise MailError(f"Wochenüberblick {campaign.slug} {week_label(monday)}: {len(failures)} von {len(waiting)} "
                        f"Mails nicht zugestellt, der nächste Lauf versucht es erneut / not delivered, retried next run: "
                        + "; ".join(failures))
    return sent


def render_due(ws: Workspace, campaigns: list[str] | None = None, *, now: datetime | None = None, smtp: SmtpSettings | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> dict:
    """The scheduled task: each campaign's last complete week, rendered once and — where the
    campaign asks for it — mailed once to each recipient. A failed mail is sent on the next run."""
    now = now or utcnow()
    settings = _settings(ws)

    def one(campaign: Campaign) -> dict:
        monday = last_complete_week(campaign, now)
        with reading(ws.engine) as connection:
            existing = connection.execute(select(digest_table.c.sent_at).where(
                digest_table.c.campaign == campaign.slug, digest_table.c.week_start == monday)).first()
        counts = {"rendered": 0, "existing": 1 if existing else 0, "mailed": 0}
        if existing is None:
            render_week(ws, campaign, monday, settings)
            counts["rendered"] = 1
        if campaign.digest.send_email and campaign.digest.recipients and (existing is None or existing.sent_at is None):
            counts["mailed"] = send_week(ws, campaign, monday, smtp, settings)
        return counts

    return ws.for_each(campaigns, one, should_stop)


def summary(row: dict, campaign: Campaign | None, language: str = "de") -> dict:
    """A stored digest row as the web app lists it: 'KW 41 · 5.–11. Oktober 2026' and labelled figures."""
    from campaign_worker.publish.digest_figures import FIGURE_ORDER, RATES, Week
    from campaign_worker.timeutil import BERLIN

    week = Week(row["week_start"], campaign.tz if campaign else BERLIN)
    counts = dict(row.get("counts") or {})
    if "by_state" in counts and "approved" not in counts:  # digests stored before key figures existed
        counts.update({k: v for k, v in counts["by_state"].items() if k in ("approved", "rejected")})
    words = texts(language)
    figures = [(words[key], counts[key], key in RATES) for key in FIGURE_ORDER if counts.get(key) is not None]
    return {"title": week.title(language), "kw": week.kw(language), "figures": figures}


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
