"""The public wall routes: `/wall/<campaign>[/<audience>]`, its feeds, pictures, theme and scripts.

No sign-in, no session and no cookies (the app's session layer skips `/wall/`). Each campaign
decides who may frame its wall (`[wall] embed_origins` → CSP `frame-ancestors`). Pages and
feeds carry an ETag and Last-Modified and may be cached for `MAX_AGE` seconds; the rendered
result is kept in the process for `ttl` seconds, so a rejected post leaves the wall within a
minute (`ttl + MAX_AGE`).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from time import monotonic

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, Response
from markupsafe import escape

from campaign_worker.config.campaigns import Campaign
from campaign_worker.publish import wall as walls
from campaign_worker.timeutil import utcnow
from campaign_worker.web.reading import reading
from campaign_worker.web.rendering import workspace_of

router = APIRouter(prefix="/wall", include_in_schema=False)

MAX_AGE = 45  # seconds a browser or proxy may keep a page or feed
CACHE_TTL = 10.0  # seconds the app keeps a rendered page
LANGUAGES = ("de", "en")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ASSET_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".webp": "image/webp"}
FEED_TYPES = {"json": "application/feed+json; charset=utf-8", "atom": "application/atom+xml; charset=utf-8"}


def wall_policy(campaign: Campaign, kind: str = "page") -> str:
    """The Content-Security-Policy of a wall response: only its own files, framed by the listed origins."""
    ancestors = " ".join(["'self'", *campaign.wall.embed_origins])
    if kind != "page":
        return f"default-src 'none'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'; sandbox"
    return (f"default-src 'none'; img-src 'self'; style-src 'self'; script-src 'self'; base-uri 'none'; "
            f"form-action 'none'; frame-ancestors {ancestors}")


@dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str
    etag: str
    last_modified: str | None
    expires: float


class WallCache:
    """Rendered walls and feeds per (campaign, audience, language, kind), for `ttl` seconds."""

    def __init__(self, ttl: float = CACHE_TTL):
        self.ttl = ttl
        self._items: dict[tuple, Rendered] = {}
        self._versions: dict[tuple, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def changed_at(self, key: tuple, version: str, updated_at: datetime | None) -> datetime | None:
        """When this view last changed: its newest post's change, or when this process first saw a new
        version (a post that left the wall leaves no newer row behind, but must still move Last-Modified on)."""
        seen = self._versions.get(key)
        if seen is None or updated_at is None:
            since = updated_at
        elif seen[0] == version:
            since = seen[1]
        else:
            since = max(updated_at, utcnow().replace(microsecond=0), seen[1] + timedelta(seconds=1))  # HTTP dates count seconds
        if since is not None:
            self._versions[key] = (version, since)
        return since

    def get(self, key: tuple, build) -> Rendered:
        item = self._items.get(key)
        if item is not None and item.expires > monotonic():
            return item
        with self._lock:
            item = self._items.get(key)
            if item is None or item.expires <= monotonic():
                item = build()
                if self.ttl > 0:
                    self._items[key] = item
        return item


def _campaign(request: Request, slug: str) -> Campaign:
    campaign = workspace_of(request).campaigns.get(slug)
    if campaign is None or not campaign.wall.enabled:
        raise HTTPException(404)
    return campaign


def _language(request: Request, campaign: Campaign) -> str:
    chosen = request.query_params.get("lang")
    return chosen if chosen in LANGUAGES else campaign.language


def _state(request: Request) -> tuple[walls.WallRenderer, WallCache]:
    state = request.app.state
    if getattr(state, "wall_renderer", None) is None:
        state.wall_renderer = walls.WallRenderer(workspace_of(request))
    if getattr(state, "wall_cache", None) is None:
        state.wall_cache = WallCache()
    return state.wall_renderer, state.wall_cache


def _links(request: Request, campaign: Campaign) -> walls.WallLinks:
    root = f"/wall/{campaign.slug}/"
    base = str(request.base_url).rstrip("/")
    return walls.WallLinks(root, absolute=base + root, logo_suffix=walls.logo_suffix(campaign))


def _build(request: Request, campaign: Campaign, audience: str | None, language: str, kind: str) -> Rendered:
    renderer, cache = _state(request)
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        try:
            wall = walls.load_wall(connection, campaign, audience)
        except walls.WallError:
            raise HTTPException(404) from None
    links = _links(request, campaign)
    if kind == "page":
        here = links.page(audience)
        languages = {code: f"{here}?lang={code}" for code in LANGUAGES}
        body = renderer.page(wall, links, language, languages_link=languages).encode()
        media_type = "text/html; charset=utf-8"
    elif kind == "json":
        body = json.dumps(walls.json_feed(wall, links, language), ensure_ascii=False).encode()
        media_type = FEED_TYPES["json"]
    else:
        body = walls.atom_feed(wall, links, language).encode()
        media_type = FEED_TYPES["atom"]
    etag = f'"{wall.version[:24]}-{language}-{kind}"'
    changed = cache.changed_at((campaign.slug, audience, language, kind), wall.version, wall.updated_at)
    modified = format_datetime(changed, usegmt=True) if changed else None
    return Rendered(body, media_type, etag, modified, monotonic() + cache.ttl)


def _not_modified(request: Request, item: Rendered) -> bool:
    """RFC 9110: If-None-Match decides when present; If-Modified-Since only without it."""
    tags = request.headers.get("if-none-match")
    if tags is not None:
        return item.etag in [t.strip().removeprefix("W/") for t in tags.split(",")] or tags.strip() == "*"
    since = request.headers.get("if-modified-since")
    if since and item.last_modified:
        try:
            return parsedate_to_datetime(item.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _respond(request: Request, slug: str, audience: str | None, kind: str) -> Response:
    campaign = _campaign(request, slug)
    language = _language(request, campaign)
    _renderer, cache = _state(request)
    item = cache.get((slug, audience, language, kind), lambda: _build(request, campaign, audience, language, kind))
    headers = {
        "ETag": item.etag,
        "Cache-Control": f"public, max-age={MAX_AGE}",
        "Content-Security-Policy": wall_policy(campaign, "page" if kind == "page" else "feed"),
        "Vary": "Accept-Encoding",
    }
    if item.last_modified:
        headers["Last-Modified"] = item.last_modified
    if kind != "page":
        headers["Access-Control-Allow-Origin"] = "*"  # feeds are public and read by other sites' scripts
    if _not_modified(request, item):
        return Response(status_code=304, headers=headers)
    return Response(item.body, media_type=item.media_type, headers=headers)


@router.get("/{slug}")
@router.get("/{slug}/")
def wall_page(request: Request, slug: str) -> Response:
    return _respond(request, slug, None, "page")


@router.get("/{slug}/feed.{kind}")
def wall_feed(request: Request, slug: str, kind: str) -> Response:
    if kind not in FEED_TYPES:
        raise HTTPException(404)
    return _respond(request, slug, None, kind)


@router.get("/{slug}/theme.css")
def wall_theme(request: Request, slug: str) -> Response:
    campaign = _campaign(request, slug)
    return Response(walls.theme_css(campaign), media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": f"public, max-age={MAX_AGE}", "Content-Security-Policy": wall_policy(campaign, "file")})


@router.get("/{slug}/assets/{name}")
def wall_asset(request: Request, slug: str, name: str) -> Response:
    campaign = _campaign(request, slug)
    path = walls.asset_file(workspace_of(request), name)
    if path is None:
        raise HTTPException(404)
    headers = {"Cache-Control": "public, max-age=3600", "Content-Security-Policy": wall_policy(campaign, "file")}
    if name == "embed.js":
        headers["Access-Control-Allow-Origin"] = "*"  # loaded by the embedding site
        headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return FileResponse(path, media_type=ASSET_TYPES[path.suffix], headers=headers)


@router.get("/{slug}/logo{suffix}")
def wall_logo(request: Request, slug: str, suffix: str) -> Response:
    campaign = _campaign(request, slug)
    path = walls.logo_file(workspace_of(request), campaign)
    if path is None or suffix != walls.logo_suffix(campaign) or suffix not in LOGO_TYPES:
        raise HTTPException(404)
    return FileResponse(path, media_type=LOGO_TYPES[suffix],
                        headers={"Cache-Control": "public, max-age=3600", "Content-Security-Policy": wall_policy(campaign, "file")})


@router.get("/{slug}/media/{name}")
def wall_picture(request: Request, slug: str, name: str) -> Response:
    """A picture of a post the wall shows, in one web size; anything else is not found."""
    campaign = _campaign(request, slug)
    sha, _, rest = name.partition("-")
    size = rest.removesuffix(".jpg")
    if not SHA256_RE.match(sha) or not rest.endswith(".jpg") or not size.isdigit() or int(size) not in walls.WEB_SIZES:
        raise HTTPException(404)
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        if not walls.picture_on_wall(connection, campaign, sha):
            raise HTTPException(404)
    path = walls.media_file(ws.media, sha, int(size))
    if path is None:
        raise HTTPException(404)
    return FileResponse(path, media_type="image/jpeg",
                        headers={"Cache-Control": f"public, max-age={MAX_AGE}", "Content-Security-Policy": wall_policy(campaign, "file")})


@router.get("/{slug}/{audience}")
@router.get("/{slug}/{audience}/")
def wall_audience_page(request: Request, slug: str, audience: str) -> Response:
    return _respond(request, slug, audience, "page")


@router.get("/{slug}/{audience}/feed.{kind}")
def wall_audience_feed(request: Request, slug: str, audience: str, kind: str) -> Response:
    if kind not in FEED_TYPES:
        raise HTTPException(404)
    return _respond(request, slug, audience, kind)


def snippet(base_url: str, campaign: Campaign, audience: str | None = None) -> str:
    """The HTML a campaign's own website pastes in to show its wall."""
    root = f"{base_url.rstrip('/')}/wall/{campaign.slug}"
    src = f"{root}/{audience}" if audience else root
    title = campaign.wall.title or campaign.name
    return (f'<iframe src="{escape(src)}" title="{escape(title)}" data-campaign-wall loading="lazy" '
            f'style="width:100%;height:800px;border:0"></iframe>\n'
            f'<script src="{escape(root)}/assets/embed.js" async></script>')
