"""The queue as the web UI shows it: filters from the query string, cards, pagination tokens.

Shared by the HTML pages and the JSON API, so both list exactly the same posts.
"""

from __future__ import annotations

import re
import threading
from time import monotonic
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape
from sqlalchemy.engine import Connection

from campaign_worker.moderation import queue
from campaign_worker.config.campaigns import Campaign
from campaign_worker.timeutil import BERLIN
from campaign_worker.timeutil import as_utc
from campaign_worker.errors import CampaignWorkerError

PAGE_SIZE = 30
MAX_PAGE_SIZE = 200
MAX_POST_ID = 2**63 - 1
# On escaped text: a '#' right after '&' belongs to an entity such as &#39;, not a hashtag.
_TAG_IN_ESCAPED = re.compile(r"(?<![&\w#])#(\w{1,100})", re.UNICODE)
_SAFE_LINK = re.compile(r"^https://[^\s\"'<>]+$")


class FilterError(CampaignWorkerError, ValueError):
    """A filter value that cannot be understood; the message names the field."""


@dataclass
class QueueQuery:
    campaign: str
    state: str | None = "pending"
    hashtag: str = ""
    source: str = ""
    audience: str = ""
    rule: str = ""
    since: date | None = None
    until: date | None = None
    q: str = ""
    after: tuple[datetime, int] | None = None
    limit: int = PAGE_SIZE
    extra: dict = field(default_factory=dict)

    def to_filter(self) -> queue.QueueFilter:
        return queue.QueueFilter(
            campaign=self.campaign,
            state=self.state,
            hashtag=self.hashtag or None,
            rule=self.rule or None,
            source=self.source or None,
            audience=self.audience or None,
            since=_berlin_midnight(self.since) if self.since else None,
            until=_berlin_midnight(self.until + timedelta(days=1)) if self.until else None,
            text=self.q or None,
        )

    def params(self, **override) -> dict[str, str]:
        """The query string of this view (without the page position unless overridden)."""
        values = {
            "campaign": self.campaign,
            "state": self.state or "all",
            "hashtag": self.hashtag,
            "source": self.source,
            "audience": self.audience,
            "rule": self.rule,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "q": self.q,
        }
        values.update(override)
        return {k: v for k, v in values.items() if v}

    def url(self, **override) -> str:
        return "/queue?" + urlencode(self.params(**override))


def _berlin_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BERLIN).astimezone(timezone.utc)


def _parse_day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise FilterError(f"{name}: {value[:40]!r} (JJJJ-MM-TT / YYYY-MM-DD)") from None


def encode_after(posted_at: datetime, post_id: int) -> str:
    return f"{as_utc(posted_at).astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')}~{post_id}"


def decode_after(token: str | None) -> tuple[datetime, int] | None:
    if not token:
        return None
    try:
        stamp, post_id = token.split("~", 1)
        position = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc), int(post_id)
        if not 0 <= position[1] <= MAX_POST_ID:
            raise ValueError("post id out of range")
        return position
    except ValueError:
        raise FilterError(f"after: {token[:60]!r}") from None


def parse_query(params, campaigns: dict[str, Campaign]) -> QueueQuery:
    """A `QueueQuery` from request query parameters; unknown campaign or state → FilterError."""
    slug = (params.get("campaign") or "").strip()
    if not slug:
        if not campaigns:
            raise FilterError("campaign: keine Kampagnen konfiguriert / no campaigns configured")
        slug = sorted(campaigns)[0]
    if slug not in campaigns:
        raise FilterError(f"campaign: {slug[:64]!r}")
    state = (params.get("state") or "pending").strip()
    if state != "all" and state not in queue.STATES:
        raise FilterError(f"state: {state[:20]!r}")
    try:
        limit = min(MAX_PAGE_SIZE, max(1, int(params.get("limit") or PAGE_SIZE)))
    except ValueError:
        raise FilterError("limit") from None
    return QueueQuery(
        campaign=slug,
        state=None if state == "all" else state,
        hashtag=(params.get("hashtag") or "").strip().lstrip("#").lower()[:100],
        source=(params.get("source") or "").strip()[:100],
        audience=(params.get("audience") or "").strip()[:32],
        rule=(params.get("rule") or "").strip()[:64],
        since=_parse_day("since", params.get("since")),
        until=_parse_day("until", params.get("until")),
        q=(params.get("q") or "").strip()[:200],
        after=decode_after(params.get("after")),
        limit=limit,
    )


def caption_html(caption: str, campaign: str) -> Markup:
    """The caption escaped first; hashtags then become links to the hashtag filter."""
    escaped = str(escape(caption or ""))

    def link(match: re.Match) -> str:
        tag = match.group(1)
        href = "/queue?" + urlencode({"campaign": campaign, "state": "all", "hashtag": tag.lower()})
        return f'<a class="tag" href="{escape(href)}">#{tag}</a>'

    return Markup(_TAG_IN_ESCAPED.sub(link, escaped))


def safe_permalink(url: str | None) -> str | None:
    """Only plain https links are ever rendered (never javascript: or data:)."""
    return url if url and _SAFE_LINK.match(url) and len(url) <= 500 else None


def load_page(connection: Connection, query: QueueQuery) -> tuple[list[dict], str | None]:
    """Entries of one page (with `thumb`), and the token of the next page if there is one."""
    entries = queue.list_entries(connection, query.to_filter(), limit=query.limit + 1, after=query.after)
    more = len(entries) > query.limit
    entries = entries[: query.limit]
    thumbs = queue.thumbnails(connection, [e["post_id"] for e in entries])
    for entry in entries:
        entry["thumb"] = thumbs.get(entry["post_id"])
        entry["permalink"] = safe_permalink(entry.get("permalink"))
    token = encode_after(entries[-1]["posted_at"], entries[-1]["post_id"]) if more and entries else None
    return entries, token


def load_entry(connection: Connection, campaign: str, post_id: int) -> dict | None:
    """One entry as `load_page` shows it, whatever its state."""
    entry = queue.listed_entry(connection, campaign, post_id)
    if entry is None:
        return None
    entry["thumb"] = queue.thumbnails(connection, [post_id]).get(post_id)
    entry["permalink"] = safe_permalink(entry.get("permalink"))
    return entry


def state_counts(connection: Connection, campaign: str) -> dict[str, int]:
    return queue.counts(connection, campaign).get(campaign, dict.fromkeys(queue.STATES, 0))


class CountsCache:
    """Posts per state for the page header, recounted at most every `ttl` seconds.

    Counting a million rows costs SQLite ~70 ms, more than the rest of the page. Changes made
    through this app are applied to the cached numbers at once; changes by other processes
    (collectors, rules) show up within `ttl`. `ttl=0` always counts.
    """

    def __init__(self, ttl: float = 15.0, clock=monotonic):
        self.ttl = ttl
        self.clock = clock
        self._counts: dict[str, tuple[float, dict[str, int]]] = {}
        self._version: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, connection: Connection, campaign: str) -> dict[str, int]:
        with self._lock:
            cached = self._counts.get(campaign)
            if cached and self.clock() - cached[0] < self.ttl:
                return dict(cached[1])
            version = self._version.get(campaign, 0)
        counted_at = self.clock()
        counts = state_counts(connection, campaign)
        with self._lock:
            if self._version.get(campaign, 0) == version:  # no change was applied meanwhile
                self._counts[campaign] = (counted_at, dict(counts))
        return counts

    def apply(self, campaign: str, changes) -> None:
        """Move the changed posts between states in the cached numbers."""
        with self._lock:
            self._version[campaign] = self._version.get(campaign, 0) + 1
            cached = self._counts.get(campaign)
            if cached is None:
                return
            counts = cached[1]
            for change in changes:
                if change.from_state != change.to_state:
                    counts[change.from_state] = max(0, counts.get(change.from_state, 0) - 1)
                    counts[change.to_state] = counts.get(change.to_state, 0) + 1


def entry_json(entry: dict, language: str) -> dict:
    """What the API returns for one queue entry (times as ISO 8601 UTC)."""
    return {
        "post_id": entry["post_id"],
        "campaign": entry["campaign"],
        "state": entry["state"],
        "platform": entry["platform"],
        "author": entry["author_username"],
        "caption": entry["caption"],
        "hashtags": entry["hashtags"] or [],
        "posted_at": as_utc(entry["posted_at"]).isoformat(),
        "source": entry["source_id"],
        "rule": entry["rule"],
        "reason": entry["reason_en"] if language == "en" else entry["reason_de"],
        "evidence": entry["evidence"] or [],
        "audiences": entry["audiences"] or [],
        "score": entry.get("score"),
        "decided_by": entry["decided_by"],
        "human": bool(entry["human"]),
        "thumb_url": f"/media/{quote(entry['thumb'])}/thumb" if entry.get("thumb") else None,
    }
