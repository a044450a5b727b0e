"""What a campaign's week holds, as figures for the digest: key figures against the previous
week and a four-week trend, posts per day, top posts, highlights, audiences, hashtags,
partners, ready drafts, what waits for a decision and how collection went.

A week is an ISO week, Monday 00:00 to the next Monday 00:00 in the campaign's time zone (so a
daylight-saving week has 167 or 169 hours). Nothing here renders; `digest.py` does.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import and_, func, select

from campaign_worker.config.campaigns import Campaign
from campaign_worker.config.worker import WebSettings
from campaign_worker.moderation import blocklist, duplicates, explain, spam
from campaign_worker.publish.drafts import excerpt
from campaign_worker.sources.status import STATUSES
from campaign_worker.store.db import reading
from campaign_worker.store.models import (
    campaign_post_table as cp,
    draft_table as draft,
    media_table as media,
    post_media_table as post_media,
    post_table as post,
    source_state_table as source_state,
)

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

TREND_WEEKS = 4
OPEN_STATES = ("new", "pending", "later")
CHANNEL_NAMES = {"instagram": "Instagram", "facebook": "Facebook", "linkedin": "LinkedIn"}
LOCALES = {"de": "de_DE", "en": "en_GB"}


# --- the week ---------------------------------------------------------------------------------

def week_start_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class Week:
    """One ISO week of one campaign: Monday to Sunday in the campaign's time zone."""

    monday: date
    tz: ZoneInfo

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @cached_property
    def start(self) -> datetime:
        """Monday 00:00 in the campaign's zone, as UTC (so that differences count real hours)."""
        return datetime.combine(self.monday, time(0), tzinfo=self.tz).astimezone(timezone.utc)

    @cached_property
    def end(self) -> datetime:
        """The next Monday 00:00 (exclusive), as UTC."""
        return datetime.combine(self.monday + timedelta(days=7), time(0), tzinfo=self.tz).astimezone(timezone.utc)

    @property
    def number(self) -> int:
        return self.monday.isocalendar()[1]

    @property
    def label(self) -> str:
        """'2026-W41', the file name of the week's page."""
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    def shifted(self, weeks: int) -> Week:
        return Week(self.monday + timedelta(days=7 * weeks), self.tz)

    def days(self) -> list[date]:
        return [self.monday + timedelta(days=i) for i in range(7)]

    def day_index(self, moment: datetime) -> int:
        return (moment.astimezone(self.tz).date() - self.monday).days

    def kw(self, language: str = "de") -> str:
        return f"KW {self.number}" if language == "de" else f"Week {self.number}"

    def span(self, language: str = "de") -> str:
        """'5.–11. Oktober 2026', '28. September – 4. Oktober 2026', '29. Dezember 2025 – 4. Januar 2026'."""
        locale = LOCALES.get(language, "de_DE")
        first, last = self.monday, self.sunday
        dot = "." if language == "de" else ""
        full = "d. MMMM y" if language == "de" else "d MMMM y"
        if (first.year, first.month) == (last.year, last.month):
            return f"{first.day}{dot}–{format_date(last, full, locale=locale)}"
        if first.year == last.year:
            return f"{format_date(first, full[:-2], locale=locale)} – {format_date(last, full, locale=locale)}"
        return f"{format_date(first, full, locale=locale)} – {format_date(last, full, locale=locale)}"

    def title(self, language: str = "de") -> str:
        """'KW 41 · 5.–11. Oktober 2026'."""
        return f"{self.kw(language)} · {self.span(language)}"


def campaign_week(campaign: Campaign, day: date) -> Week:
    return Week(week_start_of(day), campaign.tz)


def last_complete_week(campaign: Campaign, now: datetime) -> date:
    """Monday of the last week (Mon–Sun, campaign time) that has fully passed at `now`."""
    today = now.astimezone(campaign.tz).date()
    return week_start_of(today) - timedelta(days=7)


# --- names a reader understands -----------------------------------------------------------------

def rule_label(rule: str | None, language: str = "de") -> str:
    """'spam.emoji' → 'Beschriftung fast nur aus Emojis'; unknown ids stay as they are."""
    if not rule:
        return "ohne Regel" if language == "de" else "no rule"
    index = 0 if language == "de" else 1
    for table in (spam.SIGNALS, duplicates.REASONS):
        if rule in table:
            return table[rule][index]
    names = explain.RULE_NAMES["de" if language == "de" else "en"]
    if rule.startswith("blocklist.") and rule.split(".", 1)[1] in blocklist.REASONS:
        return f"{names['blocklist']}: {blocklist.REASONS[rule.split('.', 1)[1]][index]}"
    if rule in names:
        return names[rule]
    prefix = rule.split(".", 1)[0]
    return names.get(prefix, rule)


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel.capitalize())


def audience_label(campaign: Campaign, key: str) -> str:
    for audience in campaign.audiences:
        if audience.key == key:
            return (audience.label_en or audience.label) if campaign.language == "en" else audience.label
    return key


# --- links ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Links:
    """Addresses in the web app (base URL from `config/worker.toml` `[web]`)."""

    web: WebSettings
    campaign: str

    def post(self, post_id: int) -> str:
        return self.web.link(f"/posts/{self.campaign}/{post_id}")

    def draft(self, draft_id: int) -> str:
        return self.web.link(f"/drafts/{draft_id}")

    def drafts(self) -> str:
        return self.web.link("/drafts?" + urlencode({"campaign": self.campaign, "status": "approved"}))

    def queue(self, week: Week, state: str = "pending") -> str:
        query = {"campaign": self.campaign, "state": state, "since": week.monday.isoformat(), "until": week.sunday.isoformat()}
        return self.web.link("/queue?" + urlencode(query))


def safe_permalink(url: str | None) -> str | None:
    """A post's address on its platform, only if it is a plain web address."""
    if url and url.startswith(("https://", "http://")) and not any(c in url for c in ' "<>\n'):
        return url[:500]
    return None


# --- figures --------------------------------------------------------------------------------

@dataclass
class KeyFigures:
    collected: int = 0
    approved: int = 0
    rejected: int = 0
    open: int = 0
    new_contributors: int = 0
    partner_posts: int = 0
    likes: int = 0
    comments: int = 0

    @property
    def approval_rate(self) -> float | None:
        """Approved among the decided posts (approved + rejected)."""
        decided = self.approved + self.rejected
        return self.approved / decided if decided else None

    @property
    def partner_share(self) -> float | None:
        return self.partner_posts / self.collected if self.collected else None

    @property
    def community_share(self) -> float | None:
        return 1 - self.partner_share if self.collected else None

    def as_dict(self) -> dict:
        return {"collected": self.collected, "approved": self.approved, "rejected": self.rejected, "open": self.open,
                "approval_rate": self.approval_rate, "new_contributors": self.new_contributors,
                "partner_share": self.partner_share, "likes": self.likes, "comments": self.comments}


FIGURE_ORDER = ("collected", "approved", "rejected", "approval_rate", "new_contributors", "partner_share", "likes", "comments")
RATES = frozenset({"approval_rate", "partner_share"})


@dataclass
class FigureRow:
    key: str
    value: float | int | None
    previous: float | int | None
    trend: list[float | int | None]

    @property
    def is_rate(self) -> bool:
        return self.key in RATES

    @property
    def change(self) -> float | int | None:
        """Against the previous week: a count difference, or percentage points for rates."""
        if self.value is None or self.previous is None:
            return None
        if self.is_rate:
            return round((self.value - self.previous) * 100)
        return self.value - self.previous


@dataclass
class PostRef:
    post_id: int
    author: str | None
    caption: str = field(repr=False)
    posted_at: datetime
    likes: int
    comments: int
    state: str
    audiences: list[str]
    company: str | None  # the partner company, if a partner posted it
    post_url: str
    permalink: str | None
    thumb_sha: str | None = None

    @property
    def engagement(self) -> int:
        return self.likes + self.comments

    @cached_property
    def excerpt(self) -> str:
        return excerpt(self.caption, 200)

    @property
    def partner(self) -> bool:
        return self.company is not None


@dataclass
class DraftRef:
    draft_id: int
    audience: str
    channel: str
    excerpt: str
    problems: list[str]
    url: str


@dataclass
class SourceHealth:
    source: str
    hashtag: str
    status: str | None
    label: str
    failure: bool
    last_success_at: datetime | None
    posts_new: int


@dataclass
class WeekDigest:
    campaign: Campaign
    week: Week
    links: Links
    figures: KeyFigures
    rows: list[FigureRow]
    trend_weeks: list[Week]
    per_day: list[dict[str, int]]  # seven days: approved / open / rejected
    top_posts: list[PostRef]
    highlights: list[PostRef]
    gallery: list[PostRef]
    audiences: list[tuple[str, int]]
    hashtags: list[tuple[str, int]]
    contributors: list[tuple[str, int, str | None]]
    partners_active: list[tuple[str, int, int]]  # company, posts, likes + comments
    partners_silent: list[str]
    drafts_ready: list[DraftRef]
    drafts_in_work: int
    pending: list[PostRef]
    pending_total: int
    queue_url: str
    rejected_by_rule: list[tuple[str, int]]
    health: list[SourceHealth]
    thumbs: dict[str, bytes] = field(default_factory=dict, repr=False)

    @property
    def empty(self) -> bool:
        return self.figures.collected == 0

    @property
    def counts(self) -> dict:
        """What the digest row stores and the archive lists."""
        return {**self.figures.as_dict(), "week": self.week.label, "kw": self.week.number,
                "highlights": len(self.highlights), "pending": self.pending_total, "drafts_ready": len(self.drafts_ready)}


def _partner_companies(campaign: Campaign) -> dict[str, str]:
    return {account.lower(): partner.name for partner in campaign.partners for account in partner.accounts}


def _key_figures(rows: list, first_posts: dict[str, datetime], companies: dict[str, str], week: Week) -> KeyFigures:
    figures = KeyFigures()
    authors = set()
    for row in rows:
        figures.collected += 1
        if row.state == "approved":
            figures.approved += 1
        elif row.state == "rejected":
            figures.rejected += 1
        else:
            figures.open += 1
        author = (row.author_username or "").lower()
        if author in companies:
            figures.partner_posts += 1
        if row.state != "rejected":
            figures.likes += row.like_count or 0
            figures.comments += row.comment_count or 0
        if author:
            authors.add(author)
    figures.new_contributors = sum(1 for a in authors if week.start <= first_posts.get(a, week.start) < week.end)
    return figures


def gather(ws: Workspace, campaign: Campaign, monday: date, web: WebSettings | None = None) -> WeekDigest:
    """Everything the week's page, mail and text show, read in one go."""
    week = campaign_week(campaign, monday)
    weeks = [week.shifted(-i) for i in range(TREND_WEEKS - 1, -1, -1)]
    links = Links(web or WebSettings(), campaign.slug)
    companies = _partner_companies(campaign)
    in_campaign = cp.c.campaign == campaign.slug
    with reading(ws.engine) as connection:
        window = connection.execute(
            select(cp.c.posted_at, cp.c.state, post.c.author_username, post.c.like_count, post.c.comment_count)
            .join(post, post.c.id == cp.c.post_id)
            .where(in_campaign, cp.c.posted_at >= weeks[0].start, cp.c.posted_at < week.end)
        ).all()
        first_posts = {
            (author or "").lower(): first for author, first in connection.execute(
                select(post.c.author_username, func.min(cp.c.posted_at)).join(post, post.c.id == cp.c.post_id)
                .where(in_campaign, cp.c.posted_at < week.end, post.c.author_username.is_not(None))
                .group_by(post.c.author_username))
        }
        this_week = connection.execute(
            select(cp.c.post_id, cp.c.posted_at, cp.c.state, cp.c.rule, cp.c.audiences, cp.c.reason_de, cp.c.reason_en,
                   post.c.author_username, post.c.caption, post.c.hashtags, post.c.like_count, post.c.comment_count,
                   post.c.permalink)
            .join(post, post.c.id == cp.c.post_id)
            .where(in_campaign, cp.c.posted_at >= week.start, cp.c.posted_at < week.end)
            .order_by(cp.c.posted_at, cp.c.post_id)
        ).all()
        drafts_ready = connection.execute(
            select(draft.c.id, draft.c.audience, draft.c.channel, draft.c.text, draft.c.problems)
            .where(draft.c.campaign == campaign.slug, draft.c.status == "approved", draft.c.updated_at < week.end)
            .order_by(draft.c.updated_at.desc(), draft.c.id.desc()).limit(10)
        ).all()
        drafts_in_work = connection.execute(
            select(func.count()).select_from(draft.join(cp, and_(cp.c.post_id == draft.c.post_id, cp.c.campaign == draft.c.campaign)))
            .where(in_campaign, draft.c.status == "draft", cp.c.posted_at >= week.start, cp.c.posted_at < week.end)
        ).scalar_one()
        health_rows = connection.execute(select(source_state).where(source_state.c.campaign == campaign.slug)
                                         .order_by(source_state.c.key)).all()
        pictures = {
            row.post_id: row.sha256 for row in connection.execute(
                select(post_media.c.post_id, media.c.sha256).join(media, media.c.sha256 == post_media.c.media_sha256)
                .join(cp, and_(cp.c.post_id == post_media.c.post_id, in_campaign))
                .where(cp.c.posted_at >= week.start, cp.c.posted_at < week.end, cp.c.state != "rejected",
                       post_media.c.position == 0, media.c.status == "ok"))
        }
        digest = _assemble(campaign, week, weeks, links, companies, window, first_posts, this_week, set(pictures))
    digest.drafts_ready = [
        DraftRef(r.id, audience_label(campaign, r.audience), channel_name(r.channel), excerpt(r.text, 160), list(r.problems or []),
                 links.draft(r.id))
        for r in drafts_ready
    ]
    digest.drafts_in_work = drafts_in_work
    digest.health = [_health(row, campaign.language) for row in health_rows]
    for ref in digest.highlights + digest.gallery:
        ref.thumb_sha = pictures.get(ref.post_id)
        if ref.thumb_sha and ref.thumb_sha not in digest.thumbs:
            path = ws.media.path_for(ref.thumb_sha, thumb=True)
            if path.is_file():
                digest.thumbs[ref.thumb_sha] = path.read_bytes()
            else:
                ref.thumb_sha = None
    digest.gallery = [ref for ref in digest.gallery if ref.thumb_sha]
    return digest


def _health(row, language: str) -> SourceHealth:
    info = STATUSES.get(row.last_status or "")
    label = (info.de if language == "de" else info.en) if info else (row.last_status or ("noch nicht gelaufen" if language == "de" else "not run yet"))
    hashtag = row.key.rsplit("/", 1)[-1] if row.key.count("/") >= 2 else ""
    return SourceHealth(row.source_id, hashtag, row.last_status, label, bool(info and info.failure), row.last_success_at,
                        row.posts_new or 0)


def _ref(row, links: Links, companies: dict[str, str]) -> PostRef:
    return PostRef(
        post_id=row.post_id, author=row.author_username, caption=row.caption or "", posted_at=row.posted_at,
        likes=row.like_count or 0, comments=row.comment_count or 0, state=row.state, audiences=list(row.audiences or []),
        company=companies.get((row.author_username or "").lower()), post_url=links.post(row.post_id),
        permalink=safe_permalink(row.permalink),
    )


def _by_engagement(refs: list[PostRef]) -> list[PostRef]:
    return sorted(refs, key=lambda r: (-r.engagement, r.posted_at, r.post_id))


def _interleave(first: list[PostRef], second: list[PostRef], limit: int) -> list[PostRef]:
    out: list[PostRef] = []
    for i in range(max(len(first), len(second))):
        out += [lst[i] for lst in (first, second) if i < len(lst)]
    return out[:limit]


def _assemble(campaign: Campaign, week: Week, weeks: list[Week], links: Links, companies: dict[str, str],
              window: list, first_posts: dict[str, datetime], this_week: list, pictured: set[int]) -> WeekDigest:
    per_week: list[list] = [[] for _ in weeks]
    for row in window:
        index = _week_index(weeks, row.posted_at)
        if index is not None:
            per_week[index].append(row)
    figures = [_key_figures(rows, first_posts, companies, w) for rows, w in zip(per_week, weeks)]
    current, previous = figures[-1], figures[-2]
    rows = [FigureRow(key, getattr(current, key), getattr(previous, key), [getattr(f, key) for f in figures])
            for key in FIGURE_ORDER]

    per_day = [{"approved": 0, "open": 0, "rejected": 0} for _ in range(7)]
    kept: list = []
    for row in this_week:
        group = row.state if row.state in ("approved", "rejected") else "open"
        per_day[week.day_index(row.posted_at)][group] += 1
        if row.state != "rejected":
            kept.append(row)
    refs = [_ref(row, links, companies) for row in kept]
    ranked = _by_engagement(refs)
    settings = campaign.digest
    # Community posts first (approved ones before those still waiting), partners in between.
    community = [r for r in ranked if not r.partner and r.state == "approved"]
    community += [r for r in ranked if not r.partner and r.state in OPEN_STATES]
    partner = [r for r in ranked if r.partner and r.state == "approved"]
    highlights = _interleave(community, partner, settings.highlights)
    gallery = [r for r in ranked if r.state == "approved" and r.post_id in pictured][: settings.gallery]

    tags = {t for t in campaign.hashtags}
    hashtags = Counter(t for row in kept for t in dict.fromkeys(row.hashtags or []) if t not in tags)
    audiences = Counter(a for row in kept for a in dict.fromkeys(row.audiences or []))
    authors = Counter(row.author_username for row in kept if row.author_username)
    partner_posts: Counter = Counter()
    partner_reach: Counter = Counter()
    for ref in refs:
        if ref.company:
            partner_posts[ref.company] += 1
            partner_reach[ref.company] += ref.engagement
    names = list(dict.fromkeys(p.name for p in campaign.partners))
    pending_refs = [r for r in refs if r.state == "pending"]
    rejected = Counter(rule_label(row.rule, campaign.language) for row in this_week if row.state == "rejected")
    return WeekDigest(
        campaign=campaign, week=week, links=links, figures=current, rows=rows, trend_weeks=weeks, per_day=per_day,
        top_posts=ranked[: settings.top_posts], highlights=highlights, gallery=gallery,
        audiences=[(audience_label(campaign, k), n) for k, n in sorted(audiences.items(), key=lambda kv: (-kv[1], kv[0]))],
        hashtags=sorted(hashtags.items(), key=lambda kv: (-kv[1], kv[0]))[:10],
        contributors=[(a, n, companies.get(a.lower())) for a, n in sorted(authors.items(), key=lambda kv: (-kv[1], kv[0].lower()))[:5]],
        partners_active=sorted(((n, partner_posts[n], partner_reach[n]) for n in names if partner_posts[n]), key=lambda x: (-x[1], x[0])),
        partners_silent=[n for n in names if not partner_posts[n]],
        drafts_ready=[], drafts_in_work=0,
        pending=pending_refs[:10], pending_total=len(pending_refs), queue_url=links.queue(week),
        rejected_by_rule=sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0])), health=[],
    )


def _week_index(weeks: list[Week], moment: datetime) -> int | None:
    for index, w in enumerate(weeks):
        if w.start <= moment < w.end:
            return index
    return None
