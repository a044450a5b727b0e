"""The public wall of a campaign: which posts it shows, the page, its feeds and its static export.

A wall shows approved posts only, newest first, and of those only what the campaign's wall
policy (`[wall] policy` in the campaign file) allows: `all`, `partners` (partner and own
accounts) or `rights_cleared` (those plus posts whose reuse rights are cleared, read through
`rights_statuses`). `/wall/<campaign>/<audience>` narrows it to the posts tagged for one
audience.

Nothing internal goes out: no post or database ids, no moderation states or reasons, no
e-mail addresses (masked in captions too). Pictures come from the local media store in web
sizes; the page never makes the visitor's browser contact a platform.

`WallLinks` decides how the page addresses its pictures, styles and feeds: root-relative
under `/wall/<campaign>/` for the web app, relative paths for the static export (which then
works from `file://` and from any folder of a web space).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from jinja2 import Environment
from markupsafe import escape
from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Connection

from campaign_worker.config.campaigns import USERNAME_RE, Audience, Campaign
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.files import write_atomic
from campaign_worker.moderation.queue import _json_array_contains
from campaign_worker.publish.templating import make_environment
from campaign_worker.store.db import reading
from campaign_worker.store.models import campaign_post_table as cp, media_table, post_media_table, post_table as post
from campaign_worker.timeutil import as_utc

if TYPE_CHECKING:
    from campaign_worker.media.store import MediaStore
    from campaign_worker.privacy.removal import Removal
    from campaign_worker.workspace import Workspace

RIGHTS_CLEARED = "cleared"
RIGHTS_UNKNOWN = "unknown"
WEB_SIZES = (480, 960)  # longest side of each picture size a wall offers (480 is the stored thumbnail)
CAPTION_CHARS = 600
BATCH = 200
ASSETS = ("wall.css", "wall.js", "embed.js")
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+", re.UNICODE)
_SAFE_LINK = re.compile(r"^https://[^\s\"'<>]+$")
_USERNAME = re.compile(USERNAME_RE)

TEXTS = {
    "de": {
        "photo_by": "Foto von @%(author)s",
        "photo": "Foto",
        "by": "von",
        "on_platform": "Originalbeitrag ansehen",
        "all": "Alle",
        "audiences": "Zielgruppen",
        "empty": "Noch keine Beiträge.",
        "feeds": "Abonnieren",
        "json_feed": "JSON Feed",
        "atom_feed": "Atom-Feed",
        "language": "Sprache",
        "logo": "Logo",
        "posts": "Beiträge",
        "new_tab": "(öffnet in neuem Tab)",
        "mail_hidden": "[E-Mail]",
    },
    "en": {
        "photo_by": "Photo by @%(author)s",
        "photo": "Photo",
        "by": "by",
        "on_platform": "View the original post",
        "all": "All",
        "audiences": "Audiences",
        "empty": "No posts yet.",
        "feeds": "Subscribe",
        "json_feed": "JSON Feed",
        "atom_feed": "Atom feed",
        "language": "Language",
        "logo": "Logo",
        "posts": "Posts",
        "new_tab": "(opens in a new tab)",
        "mail_hidden": "[e-mail]",
    },
}


class WallError(CampaignWorkerError):
    """A wall that cannot be shown or written, with what to do about it."""


def rights_statuses(connection: Connection, campaign: str, post_ids: list[int]) -> dict[int, str]:
    """post id → reuse-rights status (`cleared`, or anything else: not cleared) in `campaign`.

    The one place the wall asks about rights, answered from the drafts' rights records: a post
    is cleared when its author granted reuse and, where recognisable people or minors are in
    the picture, their consent is recorded too (KUG §22). Without a record it is `unknown`.
    """
    from campaign_worker.publish.rights import blocker
    from campaign_worker.store.models import post_rights_table as rights

    statuses = dict.fromkeys(post_ids, RIGHTS_UNKNOWN)
    for start in range(0, len(post_ids), 500):
        chunk = post_ids[start:start + 500]
        rows = connection.execute(select(rights).where(rights.c.campaign == campaign, rights.c.post_id.in_(chunk))).mappings()
        for row in rows:
            statuses[row["post_id"]] = RIGHTS_CLEARED if blocker(dict(row), trusted=False) is None else row["status"]
    return statuses


@dataclass(frozen=True)
class WallPicture:
    sha256: str
    width: int
    height: int

    def sizes(self) -> list[tuple[int, int]]:
        """(size name, real width) of each web size, smallest first; sizes above the original are left out."""
        longest = max(self.width, self.height)
        found: list[tuple[int, int]] = []
        for size in WEB_SIZES:
            factor = min(1.0, size / longest)
            found.append((size, max(1, round(self.width * factor))))
            if factor == 1.0:
                break
        return found


@dataclass(frozen=True)
class WallPost:
    """One post as the public sees it: nothing but what the platform already shows."""

    key: str  # "<platform>-<external id>", public (it is in the permalink)
    platform: str
    author: str | None
    author_url: str | None
    permalink: str | None
    caption: str
    posted_at: datetime
    picture: WallPicture | None


@dataclass
class Wall:
    campaign: Campaign
    audience: Audience | None
    posts: list[WallPost]
    version: str  # changes whenever what the wall shows changes (the ETag)
    updated_at: datetime | None  # the newest change among the shown posts

    @property
    def title(self) -> str:
        return self.campaign.wall.title or self.campaign.name


def trusted_accounts(campaign: Campaign) -> frozenset[str]:
    return campaign.partner_accounts | frozenset(a.lower() for a in campaign.own_accounts)


def _candidates(connection: Connection, campaign: Campaign, audience: str | None, limit: int,
                after: tuple[datetime, int] | None = None, sha256: str | None = None) -> list[dict]:
    """Approved posts newest first (walking `ix_campaign_post_queue`), narrowed in SQL where the policy allows."""
    query = (
        select(cp.c.post_id, cp.c.posted_at, cp.c.updated_at, post.c.platform, post.c.external_id,
               post.c.author_username, post.c.caption, post.c.permalink)
        .join(post, post.c.id == cp.c.post_id)
        .where(cp.c.campaign == campaign.slug, cp.c.state == "approved")
    )
    if campaign.wall.policy == "partners":
        query = query.where(func.lower(post.c.author_username).in_(sorted(trusted_accounts(campaign))))
    if audience:
        query = query.where(_json_array_contains(connection, cp.c.audiences, audience))
    if sha256:
        query = query.where(cp.c.post_id.in_(select(post_media_table.c.post_id).where(post_media_table.c.media_sha256 == sha256)))
    if after is not None:
        query = query.where(or_(cp.c.posted_at < after[0], and_(cp.c.posted_at == after[0], cp.c.post_id < after[1])))
    query = query.order_by(cp.c.posted_at.desc(), cp.c.post_id.desc()).limit(limit)
    return [dict(row._mapping) for row in connection.execute(query)]


def _allowed(connection: Connection, campaign: Campaign, rows: list[dict]) -> list[dict]:
    """The rows the policy lets through (`all` and `partners` were settled in SQL)."""
    if campaign.wall.policy != "rights_cleared" or not rows:
        return rows
    trusted = trusted_accounts(campaign)
    unsettled = [r["post_id"] for r in rows if (r["author_username"] or "").lower() not in trusted]
    rights = rights_statuses(connection, campaign.slug, unsettled) if unsettled else {}
    return [r for r in rows if (r["author_username"] or "").lower() in trusted or rights.get(r["post_id"]) == RIGHTS_CLEARED]


def allowed_rows(connection: Connection, campaign: Campaign, audience: str | None = None, limit: int | None = None) -> list[dict]:
    """The newest `limit` approved posts the wall policy allows, as database rows (internal: ids included)."""
    limit = limit or campaign.wall.max_posts
    if campaign.wall.policy != "rights_cleared":
        return _candidates(connection, campaign, audience, limit)
    found: list[dict] = []
    after = None
    while len(found) < limit:
        batch = _candidates(connection, campaign, audience, BATCH, after)
        found += _allowed(connection, campaign, batch)
        if len(batch) < BATCH:
            break
        after = (batch[-1]["posted_at"], batch[-1]["post_id"])
    return found[:limit]


def _pictures(connection: Connection, post_ids: list[int]) -> dict[int, WallPicture]:
    """post id → its first picture that was stored well."""
    if not post_ids:
        return {}
    rows = connection.execute(
        select(post_media_table.c.post_id, media_table.c.sha256, media_table.c.width, media_table.c.height)
        .join(media_table, media_table.c.sha256 == post_media_table.c.media_sha256)
        .where(post_media_table.c.post_id.in_(post_ids), media_table.c.status == "ok",
               media_table.c.path.is_not(None), media_table.c.thumb_path.is_not(None),
               media_table.c.width.is_not(None), media_table.c.height.is_not(None))
        .order_by(post_media_table.c.post_id, post_media_table.c.position)
    )
    found: dict[int, WallPicture] = {}
    for post_id, sha, width, height in rows:
        found.setdefault(post_id, WallPicture(sha, int(width), int(height)))
    return found


def public_caption(caption: str) -> str:
    """The caption as the wall shows it: e-mail addresses masked, at most CAPTION_CHARS characters."""
    text = _EMAIL.sub("[E-Mail]", caption or "").strip()
    return text if len(text) <= CAPTION_CHARS else text[:CAPTION_CHARS - 1].rstrip() + "…"


def _public_post(row: dict, picture: WallPicture | None) -> WallPost:
    author = row["author_username"] if row["author_username"] and not _EMAIL.search(row["author_username"]) else None
    author_url = None
    if author and row["platform"] == "instagram" and _USERNAME.match(author):
        author_url = f"https://www.instagram.com/{author}/"
    permalink = row["permalink"] if row["permalink"] and _SAFE_LINK.match(row["permalink"]) else None
    key = re.sub(r"[^A-Za-z0-9_-]", "_", f"{row['platform']}-{row['external_id']}")[:120]
    return WallPost(key=key, platform=row["platform"], author=author, author_url=author_url, permalink=permalink,
                    caption=public_caption(row["caption"]), posted_at=as_utc(row["posted_at"]), picture=picture)


def load_wall(connection: Connection, campaign: Campaign, audience_key: str | None = None) -> Wall:
    """What the wall (of one audience, or all) shows now."""
    audience = None
    if audience_key is not None:
        try:
            audience = campaign.audience(audience_key)
        except KeyError:
            raise WallError(f"Zielgruppe {audience_key!r} gibt es in {campaign.slug} nicht / unknown audience") from None
    rows = allowed_rows(connection, campaign, audience_key)
    pictures = _pictures(connection, [r["post_id"] for r in rows])
    digest = hashlib.sha256(campaign.model_dump_json().encode())
    for row in rows:
        picture = pictures.get(row["post_id"])
        digest.update(f"|{row['post_id']}:{as_utc(row['updated_at']).isoformat()}:{picture.sha256 if picture else ''}".encode())
    updated = max((as_utc(r["updated_at"]) for r in rows), default=None)
    return Wall(campaign=campaign, audience=audience, posts=[_public_post(r, pictures.get(r["post_id"])) for r in rows],
                version=digest.hexdigest()[:32], updated_at=updated)


def picture_on_wall(connection: Connection, campaign: Campaign, sha256: str) -> bool:
    """Whether a post the wall may show carries this picture (the only pictures served publicly)."""
    rows = _candidates(connection, campaign, None, BATCH, sha256=sha256)
    return bool(_allowed(connection, campaign, rows))


# --- addresses, page and feeds ---------------------------------------------------------------

@dataclass(frozen=True)
class WallLinks:
    """How a wall page refers to its parts. `root` ends with '/'; `static` means file paths (export)."""

    root: str
    static: bool = False
    absolute: str | None = None  # absolute root for feed links, when known
    logo_suffix: str = ".png"

    def page(self, audience: str | None = None) -> str:
        if self.static:
            return f"{self.root}{audience}/index.html" if audience else f"{self.root}index.html"
        return f"{self.root}{audience}" if audience else self.root.rstrip("/")

    def feed(self, kind: str, audience: str | None = None) -> str:
        return f"{self.root}{audience + '/' if audience else ''}feed.{kind}"

    def media(self, sha256: str, size: int) -> str:
        return f"{self.root}media/{sha256}-{size}.jpg"

    def asset(self, name: str) -> str:
        return f"{self.root}assets/{name}"

    @property
    def theme(self) -> str:
        return f"{self.root}theme.css"

    @property
    def logo(self) -> str:
        return f"{self.root}logo{self.logo_suffix}"

    def srcset(self, picture: WallPicture) -> str:
        return ", ".join(f"{self.media(picture.sha256, size)} {width}w" for size, width in picture.sizes())

    def absolute_link(self, link: str) -> str:
        """A link made absolute for feeds (relative root links stay relative without a known address)."""
        if not self.absolute:
            return link
        return self.absolute.rstrip("/") + "/" + link[len(self.root):]


def theme_css(campaign: Campaign) -> str:
    """The campaign's colours as CSS custom properties (validated `#rrggbb` values only)."""
    wall = campaign.wall
    return (f":root {{ --wall-bg: {wall.background}; --wall-text: {wall.text}; --wall-accent: {wall.accent}; }}\n")


def logo_file(ws: Workspace, campaign: Campaign) -> Path | None:
    """The configured logo, if it exists inside the home."""
    if not campaign.wall.logo:
        return None
    root = ws.home.root.resolve()
    path = (root / campaign.wall.logo).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def logo_suffix(campaign: Campaign) -> str:
    suffix = Path(campaign.wall.logo or "logo.png").suffix.lower()
    return ".jpg" if suffix == ".jpeg" else suffix


def asset_file(ws: Workspace, name: str) -> Path | None:
    """A wall asset (`templates/wall/assets/<name>`), the home's own copy first."""
    return ws.home.find("templates", f"wall/assets/{name}") if name in ASSETS else None


@dataclass
class WallRenderer:
    """Jinja2 environments for wall pages, one per language and time zone (user templates first)."""

    ws: Workspace
    _environments: dict[tuple[str, str], Environment] = field(default_factory=dict)

    def environment(self, language: str, timezone: str) -> Environment:
        key = (language, timezone)
        if key not in self._environments:
            self._environments[key] = make_environment(self.ws.home, language, ZoneInfo(timezone), escape_all=True,
                                                       strict=False, keep_trailing_newline=False)
        return self._environments[key]

    def page(self, wall: Wall, links: WallLinks, language: str, *, languages_link: dict[str, str] | None = None) -> str:
        env = self.environment(language, wall.campaign.timezone)
        campaign = wall.campaign
        texts = TEXTS[language]
        intro = campaign.wall.intro_en if language == "en" and campaign.wall.intro_en else campaign.wall.intro
        return env.get_template("wall/wall.html").render(
            wall=wall, campaign=campaign, links=links, t=texts, lang=language, intro=intro,
            audiences=[(a.key, (a.label_en or a.label) if language == "en" else a.label) for a in campaign.audiences],
            audience_label=_audience_label(wall.audience, language),
            has_logo=bool(campaign.wall.logo), languages_link=languages_link or {},
            alt=lambda p: alt_text(p, language),
        )


def _audience_label(audience: Audience | None, language: str) -> str | None:
    if audience is None:
        return None
    return (audience.label_en or audience.label) if language == "en" else audience.label


def alt_text(item: WallPost, language: str) -> str:
    """Alt text: who took the photo and the start of its caption (hashtags kept as words)."""
    texts = TEXTS[language]
    head = texts["photo_by"] % {"author": item.author} if item.author else texts["photo"]
    words = item.caption.replace("\n", " ").strip()
    if not words:
        return head
    short = words if len(words) <= 160 else words[:159].rstrip() + "…"
    return f"{head}: {short}"


def feed_title(wall: Wall, language: str) -> str:
    label = _audience_label(wall.audience, language)
    return f"{wall.title} – {label}" if label else wall.title


def _item_html(item: WallPost, links: WallLinks, language: str) -> str:
    parts = []
    if item.picture:
        size, width = item.picture.sizes()[-1]
        src = links.absolute_link(links.media(item.picture.sha256, size))
        height = round(item.picture.height * width / item.picture.width)
        parts.append(f'<p><img src="{escape(src)}" width="{width}" height="{height}" alt="{escape(alt_text(item, language))}"></p>')
    if item.caption:
        parts.append("<p>" + "<br>".join(str(escape(line)) for line in item.caption.split("\n")) + "</p>")
    credit = [str(escape(TEXTS[language]["photo_by"] % {"author": item.author}))] if item.author else []
    if item.permalink:
        credit.append(f'<a href="{escape(item.permalink)}">{escape(TEXTS[language]["on_platform"])}</a>')
    if credit:
        parts.append("<p>" + " · ".join(credit) + "</p>")
    return "\n".join(parts)


def _item_id(wall: Wall, item: WallPost) -> str:
    return f"tag:campaign-worker,2026:{wall.campaign.slug}/{item.key}"


def json_feed(wall: Wall, links: WallLinks, language: str) -> dict:
    """The wall as a JSON Feed 1.1 document."""
    audience = wall.audience.key if wall.audience else None
    feed: dict = {
        "version": JSON_FEED_VERSION,
        "title": feed_title(wall, language),
        "home_page_url": links.absolute_link(links.page(audience)),
        "feed_url": links.absolute_link(links.feed("json", audience)),
        "language": language,
        "items": [],
    }
    intro = wall.campaign.wall.intro_en if language == "en" and wall.campaign.wall.intro_en else wall.campaign.wall.intro
    if intro:
        feed["description"] = intro
    for item in wall.posts:
        entry: dict = {
            "id": _item_id(wall, item),
            "content_html": _item_html(item, links, language),
            "content_text": item.caption,
            "date_published": item.posted_at.isoformat(),
        }
        if item.permalink:
            entry["url"] = item.permalink
        if item.picture:
            entry["image"] = links.absolute_link(links.media(item.picture.sha256, item.picture.sizes()[-1][0]))
        if item.author:
            author = {"name": "@" + item.author}
            if item.author_url:
                author["url"] = item.author_url
            entry["authors"] = [author]
        feed["items"].append(entry)
    return feed


def atom_feed(wall: Wall, links: WallLinks, language: str) -> str:
    """The wall as an Atom (RFC 4287) document."""
    ET.register_namespace("", ATOM_NS)
    audience = wall.audience.key if wall.audience else None

    def sub(parent, tag, text=None, **attrs):
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", {k.rstrip("_"): v for k, v in attrs.items()})
        if text is not None:
            element.text = text
        return element

    root = ET.Element(f"{{{ATOM_NS}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": language})
    sub(root, "id", f"tag:campaign-worker,2026:{wall.campaign.slug}/{audience or 'all'}")
    sub(root, "title", feed_title(wall, language))
    newest = max((p.posted_at for p in wall.posts), default=None)
    sub(root, "updated", (wall.updated_at or newest or datetime(2026, 1, 1).astimezone()).isoformat())
    sub(root, "link", rel="self", href=links.absolute_link(links.feed("atom", audience)), type="application/atom+xml")
    sub(root, "link", rel="alternate", href=links.absolute_link(links.page(audience)), type="text/html")
    sub(sub(root, "author"), "name", wall.title)
    for item in wall.posts:
        entry = sub(root, "entry")
        sub(entry, "id", _item_id(wall, item))
        title = item.caption.split("\n", 1)[0][:80] or (TEXTS[language]["photo_by"] % {"author": item.author} if item.author else TEXTS[language]["photo"])
        sub(entry, "title", title)
        sub(entry, "updated", item.posted_at.isoformat())
        sub(entry, "published", item.posted_at.isoformat())
        if item.author:
            author = sub(entry, "author")
            sub(author, "name", "@" + item.author)
            if item.author_url:
                sub(author, "uri", item.author_url)
        if item.permalink:
            sub(entry, "link", rel="alternate", href=item.permalink, type="text/html")
        sub(entry, "content", _item_html(item, links, language), type="html")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode")


# --- static export ------------------------------------------------------------------------------

def _write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)


def media_file(media: MediaStore, sha256: str, size: int) -> Path | None:
    """The file behind a wall picture size: the stored thumbnail for the smallest, else a web copy."""
    if size not in WEB_SIZES:
        return None
    if size == WEB_SIZES[0]:
        thumb = media.path_for(sha256, thumb=True)
        return thumb if thumb.is_file() else None
    return media.web_copy(sha256, size)


def export_campaign(ws: Workspace, campaign: Campaign, target: Path, renderer: WallRenderer | None = None) -> dict[str, int]:
    """Write the wall of `campaign` as a static site into `target/<slug>/`, replacing the previous export whole."""
    renderer = renderer or WallRenderer(ws)
    target = Path(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{campaign.slug}-", dir=target))
    except OSError as exc:
        raise WallError(f"Ordner {target} nicht beschreibbar / cannot write to {target}: {exc.strerror or exc}") from None
    counts = {"pages": 0, "posts": 0, "pictures": 0}
    try:
        pictures: set[tuple[str, int]] = set()
        with reading(ws.engine) as connection:
            walls = [load_wall(connection, campaign, None)] + [load_wall(connection, campaign, a.key) for a in campaign.audiences]
        language = campaign.language
        for wall in walls:
            audience = wall.audience.key if wall.audience else None
            links = WallLinks("../" if audience else "", static=True, absolute=_export_root(campaign, audience),
                              logo_suffix=logo_suffix(campaign))
            folder = building / audience if audience else building
            _write(folder / "index.html", renderer.page(wall, links, language))
            _write(folder / "feed.json", json.dumps(json_feed(wall, links, language), ensure_ascii=False, indent=1))
            _write(folder / "feed.atom", atom_feed(wall, links, language))
            counts["pages"] += 1
            if not audience:
                counts["posts"] = len(wall.posts)
            pictures |= {(p.picture.sha256, size) for p in wall.posts if p.picture for size, _w in p.picture.sizes()}
        for sha, size in sorted(pictures):
            source = media_file(ws.media, sha, size)
            if source is not None:
                (building / "media").mkdir(exist_ok=True)
                shutil.copyfile(source, building / "media" / f"{sha}-{size}.jpg")
                counts["pictures"] += 1
        _write(building / "theme.css", theme_css(campaign))
        for name in ASSETS:
            path = asset_file(ws, name)
            if path is not None:
                _write(building / "assets" / name, path.read_bytes())
        logo = logo_file(ws, campaign)
        if logo is not None:
            _write(building / f"logo{logo_suffix(campaign)}", logo.read_bytes())
        os.chmod(building, 0o755)
        final, old = target / campaign.slug, target / f".{campaign.slug}.old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        building.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _remember_export(ws, campaign, target)
    return counts


EXPORTS_FILE = "wall-exports.json"  # in data/: where each campaign's wall was exported, for erasure


def _remember_export(ws: Workspace, campaign: Campaign, target: Path) -> None:
    path = ws.home.data_dir / EXPORTS_FILE
    known = recorded_exports(ws)
    folders = known.setdefault(campaign.slug, [])
    folder = str(Path(target).resolve())
    if folder not in folders:
        folders.append(folder)
        write_atomic(path, json.dumps(known, indent=1, sort_keys=True), mode=0o600)


def recorded_exports(ws: Workspace) -> dict[str, list[str]]:
    """Campaign slug → folders its wall was exported to (as `wall export` wrote them)."""
    path = ws.home.data_dir / EXPORTS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): [str(f) for f in v] for k, v in data.items() if isinstance(v, list)}


def refresh_exports(ws: Workspace, removal: Removal) -> dict[str, int]:
    """Privacy eraser: export again every recorded static wall of the campaigns a removal touched.

    Each export replaces the previous one whole, so the removed posts and pictures are gone from
    the campaign's own web space folder too (what was already copied elsewhere is not ours).
    """
    touched = {slug for slug, _post in removal.memberships}
    counts = {"exports": 0}
    for slug, folders in recorded_exports(ws).items():
        campaign = ws.campaigns.get(slug)
        if campaign is None or slug not in touched:
            continue
        for folder in folders:
            if (Path(folder) / slug).is_dir():
                export_campaign(ws, campaign, Path(folder))
                counts["exports"] += 1
    return counts


def _export_root(campaign: Campaign, audience: str | None) -> str | None:
    """Feeds of an export link to the published copy when `[wall] public_url` says where it lives."""
    if not campaign.wall.public_url:
        return None
    return campaign.wall.public_url.rstrip("/") + "/"
