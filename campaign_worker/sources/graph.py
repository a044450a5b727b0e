"""The official Instagram Graph API hashtag search (Business/Creator account, app review).

`ig_hashtag_search` turns a hashtag into its id once (kept in the state); `/{id}/recent_media`
(newest first, last 24 hours only) and `/{id}/top_media` deliver up to 50 posts a page with an
`after` cursor. Meta allows 30 unique hashtags per account in a rolling 7 days: every hashtag
queried is remembered with its time in the state, and a new hashtag beyond the quota ends with
`quota_exhausted` until the oldest one ages out. The API has no user names, so the author is
left empty; the shortcode from the permalink identifies the post, so a post seen through
instaloader too is stored once.

The account id and token come from environment variables named in the configuration. The
token is sent as a query parameter (as documented), so it is cut out of every message and of
urllib3's debug log.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import time
from datetime import datetime, timedelta
from typing import Any

import requests
from sqlalchemy import select

from campaign_worker.config.campaigns import InstagramGraphConfig
from campaign_worker.post import MediaRef, ParsedPost, make_post
from campaign_worker.sources.base import HashtagRun, Source, register
from campaign_worker.sources.http import JsonClient, RequestBudget, RetryPolicy, not_before_after
from campaign_worker.sources.status import SourceFailure
from campaign_worker.store.db import reading
from campaign_worker.store.models import source_state_table
from campaign_worker.timeutil import utcnow

log = logging.getLogger(__name__)

PLATFORM = "instagram"
GRAPH_HOST = "https://graph.facebook.com"
FIELDS = "id,caption,media_type,media_url,permalink,timestamp,like_count,comments_count,children"
PAGE_SIZE = 50
QUOTA = 30
QUOTA_WINDOW = timedelta(days=7)
RECENT_WINDOW = timedelta(hours=24)
RATE_LIMIT_CODES = {4, 17, 32, 613}
_PERMALINK_RE = re.compile(r"^https://www\.instagram\.com/(?:p|reel|tv)/([A-Za-z0-9_-]{1,64})/?")
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s\"']+")


class _RedactTokens(logging.Filter):
    """urllib3 logs request lines at DEBUG, query string included: cut the token out."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "access_token=" in message:
            record.msg, record.args = _TOKEN_IN_URL.sub(r"\1***", message), ()
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactTokens())


class GraphClient(JsonClient):
    """A JSON client that knows the account and the API version."""

    user_id: str = ""
    token: str = ""
    base: str = ""

    def account_marker(self) -> str:
        return hashlib.sha256(self.user_id.encode()).hexdigest()[:16]

    def call(self, path: str, params: dict[str, Any], what: str) -> Any:
        return self.get(f"{self.base}/{path}", {**params, "access_token": self.token}, what=what)


def _graph_error(response: requests.Response, body: Any) -> SourceFailure | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None
    code, subcode = error.get("code"), error.get("error_subcode")
    text = f"Graph API #{code}" + (f"/{subcode}" if subcode else "") + f": {str(error.get('message', ''))[:200]}"
    text = _TOKEN_IN_URL.sub(r"\1***", text)
    if code == 190 or code == 102:
        return SourceFailure("login_required", f"{text} – Zugangstoken erneuern / renew the access token")
    if code in RATE_LIMIT_CODES or (isinstance(code, int) and 80001 <= code <= 80014):
        return SourceFailure("rate_limited", text, not_before=not_before_after(3600))
    if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
        return SourceFailure("login_required",
                             f"{text} – Berechtigung „Instagram Public Content Access“ fehlt / permission missing")
    if "hashtag" in text.lower() and "limit" in text.lower():
        return SourceFailure("quota_exhausted", text, not_before=not_before_after(QUOTA_WINDOW.total_seconds()))
    if code in (1, 2) or response.status_code >= 500:
        return SourceFailure("network", text, retryable=True)
    if code == 100:
        return SourceFailure("not_configured", f"{text} – Konto-ID/Hashtag prüfen / check account id and hashtag")
    return SourceFailure("malformed_response", text)


def client_for(source: InstagramGraphConfig, http: requests.Session, budget: RequestBudget, policy: RetryPolicy) -> GraphClient:
    user_id, token = os.environ.get(source.user_id_env, "").strip(), os.environ.get(source.token_env, "").strip()
    missing = [name for name, value in ((source.user_id_env, user_id), (source.token_env, token)) if not value]
    if missing:
        raise SourceFailure("not_configured", f"Umgebungsvariable fehlt / environment variable missing: {', '.join(missing)}")
    client = GraphClient(http, budget, policy, secrets=(token,), error_mapper=_graph_error)
    client.user_id, client.token, client.base = user_id, token, f"{GRAPH_HOST}/{source.api_version}"
    return client


def shortcode_of(permalink: Any) -> str | None:
    match = _PERMALINK_RE.match(permalink) if isinstance(permalink, str) else None
    return match.group(1) if match else None


def post_from_media(item: dict[str, Any]) -> ParsedPost:
    """A hashtag media object as a ParsedPost; the Graph API names no author."""
    code = shortcode_of(item.get("permalink"))
    external_id = code or str(item.get("id") or "")
    if not external_id:
        raise ValueError("media without id")
    posted = datetime.strptime(str(item["timestamp"]), "%Y-%m-%dT%H:%M:%S%z")
    kind = {"IMAGE": "image", "VIDEO": "video", "CAROUSEL_ALBUM": "sidecar"}.get(item.get("media_type"), "image")
    media: list[MediaRef] = []
    url = item.get("media_url") if isinstance(item.get("media_url"), str) and item["media_url"].startswith("https://") else None
    children = ((item.get("children") or {}).get("data")) or []
    if kind == "sidecar" and any(isinstance(c, dict) and c.get("media_url") for c in children):
        for child in children:
            child_url = child.get("media_url") if str(child.get("media_url", "")).startswith("https://") else None
            if child.get("media_type") == "VIDEO":
                media.append(MediaRef(len(media), "video", url=None, video_url=child_url))
            else:
                media.append(MediaRef(len(media), "image", url=child_url))
    elif kind == "video":
        media.append(MediaRef(0, "video", url=None, video_url=url))  # no cover picture in this API
    else:
        media.append(MediaRef(0, "image", url=url))
    return make_post(
        platform=PLATFORM,
        external_id=external_id,
        caption=item.get("caption"),
        posted_at=posted,
        author_username=None,
        permalink=item.get("permalink") if code else None,
        media_type=kind,
        media=media,
        like_count=item.get("like_count"),
        comment_count=item.get("comments_count"),
        raw={"source": "graph_api", "id": str(item.get("id", ""))},
    )


def queried_hashtags(run: HashtagRun, account: str) -> dict[str, float]:
    """Hashtag → last query time (epoch) of this account, over every state row, within 7 days."""
    cutoff = time.time() - QUOTA_WINDOW.total_seconds()
    found: dict[str, float] = {}
    table = source_state_table
    with reading(run.ws.engine) as connection:
        for key, extra in connection.execute(select(table.c.key, table.c.extra)):
            graph = (extra or {}).get("graph") or {}
            if graph.get("account") == account and graph.get("queried_at", 0) >= cutoff and graph.get("hashtag"):
                found[graph["hashtag"]] = max(found.get(graph["hashtag"], 0), graph["queried_at"])
    return found


def _reserve_quota(run: HashtagRun, client: GraphClient, graph: dict) -> None:
    account = client.account_marker()
    recent = queried_hashtags(run, account)
    if run.hashtag not in recent and len(recent) >= QUOTA:
        oldest = min(recent.values())
        until = datetime.fromtimestamp(oldest, tz=utcnow().tzinfo) + QUOTA_WINDOW
        raise SourceFailure("quota_exhausted", f"{len(recent)} Hashtags in 7 Tagen / hashtags in 7 days", not_before=until)
    graph.update(account=account, hashtag=run.hashtag, queried_at=time.time())


def _hashtag_id(run: HashtagRun, client: GraphClient, graph: dict) -> str:
    if graph.get("hashtag_id") and graph.get("id_for") == run.hashtag:
        return graph["hashtag_id"]
    body = client.call("ig_hashtag_search", {"user_id": client.user_id, "q": run.hashtag}, f"#{run.hashtag} ig_hashtag_search")
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        raise SourceFailure("malformed_response", "ig_hashtag_search ohne data / without data")
    if not data or not isinstance(data[0], dict) or not data[0].get("id"):
        raise SourceFailure("endpoint_gone", f"Hashtag #{run.hashtag} bei der Graph API unbekannt / unknown to the Graph API")
    graph.update(hashtag_id=str(data[0]["id"]), id_for=run.hashtag)
    return graph["hashtag_id"]


@register
class GraphSource(Source):
    """The official Graph API hashtag search; its account and token come from the environment."""

    type = "instagram_graph"
    config: InstagramGraphConfig
    client: GraphClient  # made by `open`

    def open(self) -> None:
        self.client = client_for(self.config, self.http, self.budget, self.policy.for_interval(self.config.poll_interval_hours))

    def collect(self, run: HashtagRun) -> None:
        """Each configured edge of the hashtag; `recent_media` stops at the first stored post."""
        source, client = self.config, self.client
        graph = run.extra.setdefault("graph", {})
        if source.poll_interval_hours > 24:
            run.note(f"Abfrageintervall {source.poll_interval_hours:g} h > 24 h: recent_media zeigt nur 24 h, Beiträge können fehlen / "
                     "poll interval over 24 h: recent_media covers only 24 h, posts may be missed")
        last_complete = graph.get("complete_at")
        if last_complete and time.time() - last_complete > RECENT_WINDOW.total_seconds():
            run.note("letzter vollständiger Lauf > 24 h her: mögliche Lücke / last complete run over 24 h ago: possible gap")
        _reserve_quota(run, client, graph)
        hashtag_id = _hashtag_id(run, client, graph)
        cursors = dict((run.cursor or {}).get("after") or {})
        run.strategy = run.strategy or "graph_api"
        for edge in source.edges:
            after = cursors.get(edge)
            while True:
                params = {"user_id": client.user_id, "fields": FIELDS, "limit": PAGE_SIZE}
                if after:
                    params["after"] = after
                body = client.call(f"{hashtag_id}/{edge}", params, f"#{run.hashtag} {edge}")
                data = body.get("data") if isinstance(body, dict) else None
                if not isinstance(data, list):
                    raise SourceFailure("malformed_response", f"{edge} ohne data / without data")
                run.pages += 1
                posts = []
                for item in data:
                    try:
                        posts.append(post_from_media(item))
                    except (ValueError, TypeError, KeyError, AttributeError):
                        run.skipped_nodes += 1
                if edge == "recent_media":  # newest first: what follows a stored post is stored too
                    fresh = run.before_known(posts)
                else:
                    known = run.known(PLATFORM, [p.external_id for p in posts])
                    fresh = [p for p in posts if p.external_id not in known]
                run.store(posts)  # known ones count as seen; their missing pictures are fetched again
                paging = body.get("paging") or {}
                after = (paging.get("cursors") or {}).get("after")
                if len(fresh) < len(posts) or not paging.get("next") or not after or not data:
                    cursors.pop(edge, None)
                    run.save_cursor({"after": cursors} if cursors else None)
                    break
                cursors[edge] = after
                run.save_cursor({"after": cursors})
                run.check_stop()
        graph["complete_at"] = time.time()
        run.save_cursor(None)
        run.complete = True
