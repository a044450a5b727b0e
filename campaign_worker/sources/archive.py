"""Offline source: a folder that instaloader downloaded (hashtag or profile download).

instaloader stores each post as `<name>.json.xz` (`<name>.json` with `--no-compress-json`),
written by `save_structure_to_file`, next to its picture `<name>.jpg`, or `<name>_1.jpg`,
`<name>_2.jpg`, … for a sidecar. Videos keep their cover as a jpg; the `.mp4` is never read.
`<name>` is `<date>_UTC` unless the user chose another `--filename-pattern`.

The metadata is parsed with instaloader's own loader on a context that cannot reach the
network, and afterwards only the stored node is read: some `Post` properties quietly fetch
what the node lacks (`owner_username`, `typename`, `url`, `get_sidecar_nodes()`), so they are
never touched. A broken file becomes one message in `problems`; the rest of the folder is read.
"""

from __future__ import annotations

import json
import lzma
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import instaloader
from instaloader import ConnectionException, InstaloaderContext, Post

from campaign_worker.config.campaigns import ArchiveConfig
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.post import MAX_MEDIA_PER_POST, MediaRef, MediaType, ParsedPost, make_post
from campaign_worker.sources.base import HashtagRun, Source, register
from campaign_worker.sources.http import RequestBudget
from campaign_worker.sources.status import SourceFailure
from campaign_worker.sources.storing import import_posts
from campaign_worker.store.ingest import PostCounts

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

PLATFORM = "instagram"
PERMALINK = "https://www.instagram.com/p/{}/"
MAX_METADATA_BYTES = 5 * 1024 * 1024  # a post's metadata is a few kB, even with comments
MAX_JSON_BYTES = 50 * 1024 * 1024  # unpacked; guards against xz bombs
MAX_IMAGE_BYTES = 30 * 1024 * 1024
MAX_URL_CHARS = 2000
METADATA_SUFFIXES = (".json.xz", ".json")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")  # instaloader names them after the Content-Type
OTHER_STRUCTURES = {"Profile", "Hashtag", "StoryItem", "FrozenNodeIterator"}
SUPPORTED_TYPENAMES = {"GraphImage": "image", "GraphVideo": "video", "GraphSidecar": "sidecar"}
EARLIEST_TIMESTAMP = 1_262_304_000  # 2010-01-01, Instagram's launch year
LATEST_TIMESTAMP = 4_102_444_800  # 2100-01-01

_SHORTCODE_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_OWNER_ID_RE = re.compile(r"^[0-9]{1,30}$")
_URL_RE = re.compile(r"^https://[^\s\x00-\x1f\x7f]+$")


MAX_RAW_CHARS = 200_000


class ArchiveError(CampaignWorkerError):
    """The folder itself cannot be read (missing, not a folder, no permission)."""


class _FileProblem(Exception):
    """One metadata file cannot be used; the message says why (German / English)."""


class _NotAPost(Exception):
    """A file that is fine but holds no post (profile metadata, other JSON): skipped."""


@dataclass
class ArchiveReadResult:
    """What one pass over an archive folder found.

    `problems` are files that should have been posts but could not be used, or posts whose
    pictures are missing; `skipped` are files that are not posts at all (instaloader's
    profile or hashtag metadata, other JSON files) — nothing to fix there.
    """

    posts: list[ParsedPost] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    duplicates: int = 0  # files holding a post (shortcode) that an earlier file already held


class OfflineContext(InstaloaderContext):
    """An instaloader context whose every network entry point fails at once."""

    def __init__(self) -> None:
        super().__init__(sleep=False, quiet=True, max_connection_attempts=1, iphone_support=False)

    def _offline(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionException("offline archive: no network access")

    get_json = graphql_query = doc_id_graphql_query = graphql_node_list = _offline
    get_iphone_json = get_page_data = _get_page = get_raw = get_and_write_raw = head = _offline
    login = two_factor_login = test_login = _offline


def read_archive(folder: Path | str) -> ArchiveReadResult:
    """Read every post of an instaloader download folder, in file-name order.

    Raises `ArchiveError` only when the folder itself is unusable; every problem with a
    single file is reported in the result instead.
    """
    folder = Path(folder)
    names = _list_files(folder)
    result = ArchiveReadResult()
    seen: dict[str, str] = {}
    context = OfflineContext()
    try:
        for name in sorted(n for n in names if n.endswith(METADATA_SUFFIXES)):
            try:
                post, missing = _read_post(folder, name, names, context)
            except _NotAPost as reason:
                result.skipped.append(f"{name}: {reason}")
                continue
            except _FileProblem as reason:
                result.problems.append(f"{name}: {reason}")
                continue
            if post.external_id in seen:
                result.duplicates += 1
                result.skipped.append(
                    f"{name}: derselbe Beitrag wie {seen[post.external_id]} / same post as {seen[post.external_id]}"
                )
                continue
            seen[post.external_id] = name
            result.posts.append(post)
            result.problems.extend(f"{name}: {message}" for message in missing)
    finally:
        context.close()
    return result


# ---------------------------------------------------------------------------------------------
# Importing a folder: by hand (`import-archive`, the demo) or as a configured source
# ---------------------------------------------------------------------------------------------


def resolve_archive_path(ws: Workspace, path: str | Path) -> Path:
    """A folder given relative to the home; `sample/…` falls back to the bundled sample."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    local = ws.home.root / candidate
    if local.exists() or candidate.parts[:1] != ("sample",):
        return local
    bundled = ws.home.find("sample", str(Path(*candidate.parts[1:])))
    return bundled or local


def import_archive(ws: Workspace, campaign_slug: str, folder: Path, *, source_id: str = "archive",
                   should_stop: Callable[[], bool] = lambda: False,
                   on_progress: Callable[[int, int], None] | None = None) -> PostCounts:
    """Import an instaloader download folder into a campaign (idempotent)."""
    if not folder.is_dir():
        raise FileNotFoundError(f"Ordner nicht gefunden / folder not found: {folder}")
    result = read_archive(folder)
    counts = import_posts(ws, campaign_slug, source_id, result.posts, should_stop=should_stop, on_progress=on_progress)
    counts.problems[:0] = list(result.problems)
    counts.duplicates += result.duplicates
    return counts


@register
class ArchiveSource(Source):
    """The folder of an `archive` source, read whole on every run: storing twice stores once."""

    type = "archive"
    per_hashtag = False
    config: ArchiveConfig

    def make_budget(self) -> RequestBudget:
        return RequestBudget(0, reason="liest nur Dateien / reads files only")

    def collect(self, run: HashtagRun) -> None:
        folder = resolve_archive_path(self.ws, self.config.path)
        if not folder.is_dir():
            raise SourceFailure("not_configured", f"Ordner fehlt / folder missing: {folder}")
        try:
            run.counts.add(import_archive(self.ws, self.campaign.slug, folder, source_id=self.config.id,
                                          should_stop=run.should_stop))
        except ArchiveError as exc:
            raise SourceFailure("not_configured", str(exc)) from None
        run.complete = True

    def summary(self, run: HashtagRun, detail: str) -> str:
        if detail:
            return detail
        counts = run.counts
        text = f"{counts.posts_new + counts.posts_seen} Beiträge gelesen / posts read"
        if counts.problems:
            text += f"; {len(counts.problems)} Probleme / problems: " + " | ".join(counts.problems[:5])
        return text


def _list_files(folder: Path) -> set[str]:
    if not folder.exists():
        raise ArchiveError(f"Ordner nicht gefunden / folder not found: {folder}")
    if not folder.is_dir():
        raise ArchiveError(f"Kein Ordner / not a folder: {folder}")
    try:
        with os.scandir(folder) as entries:
            # Symbolic links are ignored: a folder from elsewhere must not point us at other files.
            return {entry.name for entry in entries if entry.is_file(follow_symlinks=False)}
    except OSError as error:
        raise ArchiveError(f"Ordner nicht lesbar / folder not readable: {folder} ({error.strerror})") from None


def _read_post(
    folder: Path, name: str, names: set[str], context: InstaloaderContext
) -> tuple[ParsedPost, list[str]]:
    """The post stored in one metadata file, and messages for pictures that are missing."""
    document = _load_json(folder / name)
    return parse_document(document, context, folder=folder, name=name, names=names)


def parse_document(
    document: Any,
    context: InstaloaderContext,
    *,
    folder: Path = Path("."),
    name: str = "post.json",
    names: set[str] = frozenset(),
) -> tuple[ParsedPost, list[str]]:
    """One instaloader metadata document (already decoded JSON) → the post, plus missing-picture messages."""
    _check_post_structure(document, compressed=name.endswith(".xz"))
    try:
        post = instaloader.load_structure(context, document)
    except Exception as error:  # instaloader asserts and raises on shapes it does not know
        raise _FileProblem(f"keine lesbare instaloader-Struktur / unreadable instaloader structure ({error!r})")
    if not isinstance(post, Post):
        raise _FileProblem("kein Beitrag (Post) / not a post structure")
    return _to_parsed_post(post._node, folder, _stem(name), names, name)


def _load_json(path: Path) -> Any:
    try:
        size = path.stat().st_size
        if size > MAX_METADATA_BYTES:
            raise _FileProblem(
                f"Datei zu groß ({size // 1024} KB, höchstens {MAX_METADATA_BYTES // 1024} KB), übersprungen"
                f" / file too large ({size // 1024} KB, at most {MAX_METADATA_BYTES // 1024} KB), skipped"
            )
        data = path.read_bytes()
    except OSError as error:
        raise _FileProblem(f"nicht lesbar / not readable ({error.strerror})") from None
    if not data:
        raise _FileProblem("leere Datei / empty file")
    if path.name.endswith(".xz"):
        data = _unpack_xz(data)
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        raise _FileProblem(
            f"kein gültiges JSON (Zeile {error.lineno}) / invalid JSON (line {error.lineno}): {error.msg}"
        ) from None
    except (UnicodeDecodeError, RecursionError):
        raise _FileProblem("kein gültiges JSON / invalid JSON") from None


def _unpack_xz(data: bytes) -> bytes:
    decompressor = lzma.LZMADecompressor()
    try:
        unpacked = decompressor.decompress(data, max_length=MAX_JSON_BYTES + 1)
    except lzma.LZMAError:
        raise _FileProblem("beschädigt, kein gültiges xz-Archiv / corrupt, not valid xz data") from None
    if len(unpacked) > MAX_JSON_BYTES:
        raise _FileProblem(
            f"entpackt größer als {MAX_JSON_BYTES // (1024 * 1024)} MB, übersprungen"
            f" / larger than {MAX_JSON_BYTES // (1024 * 1024)} MB unpacked, skipped"
        )
    if not decompressor.eof:
        raise _FileProblem("unvollständig (xz-Archiv abgeschnitten) / truncated xz data")
    return unpacked


def _check_post_structure(document: Any, *, compressed: bool) -> None:
    """Raise unless `document` is an instaloader Post structure that is readable offline."""
    meta = document.get("instaloader") if isinstance(document, dict) else None
    if not isinstance(meta, dict) or "node" not in document:
        if isinstance(document, dict) and "shortcode" in document:
            raise _FileProblem(
                "altes instaloader-3-Format ohne Inhalt, nur online lesbar"
                " / old instaloader 3 format without content, readable online only"
            )
        if compressed:
            raise _FileProblem("keine instaloader-Metadaten / not instaloader metadata")
        raise _NotAPost("keine instaloader-Metadaten / not instaloader metadata")
    node_type = meta.get("node_type")
    if node_type in OTHER_STRUCTURES:
        raise _NotAPost(f"instaloader-{node_type}, kein Beitrag / not a post")
    if node_type != "Post":
        raise _FileProblem(f"kein Beitrag (Typ {str(node_type)[:40]!r}) / not a post structure")
    node = document["node"]
    if not isinstance(node, dict):
        raise _FileProblem("Beitrag ohne Inhalt / post structure without content")
    shortcode = node.get("shortcode", node.get("code"))
    if not isinstance(shortcode, str) or not _SHORTCODE_RE.match(shortcode):
        raise _FileProblem("Beitrag ohne gültigen Shortcode / post without a valid shortcode")


def _stem(name: str) -> str:
    for suffix in METADATA_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _to_parsed_post(
    node: dict[str, Any], folder: Path, stem: str, names: set[str], file_name: str
) -> tuple[ParsedPost, list[str]]:
    shortcode = node.get("shortcode", node.get("code"))
    media_type = _media_type(node)
    media, missing = _media(node, media_type, folder, stem, names)
    post = make_post(
        platform=PLATFORM,
        external_id=shortcode,
        caption=_caption(node),
        posted_at=_posted_at(node),
        author_username=_owner_username(node),
        author_id=_owner_id(node),
        permalink=PERMALINK.format(shortcode),
        media_type=media_type,
        media=media,
        like_count=_count(node, "edge_media_preview_like", "edge_liked_by"),
        comment_count=_count(node, "edge_media_to_comment", "edge_media_to_parent_comment"),
        raw=_raw(node, file_name),
    )
    return post, missing


def _raw(node: dict[str, Any], file_name: str) -> dict[str, Any]:
    """The node as instaloader stored it, kept with the post unless it is unreasonably large."""
    raw: dict[str, Any] = {"source_file": file_name, "typename": node.get("__typename"), "mediaid": _media_id(node)}
    if len(json.dumps(node, ensure_ascii=False)) <= MAX_RAW_CHARS:
        raw["node"] = node
    return raw


def _posted_at(node: dict[str, Any]) -> datetime:
    # instaloader prefers "date" (older downloads) over "taken_at_timestamp"
    stamp = node.get("date", node.get("taken_at_timestamp"))
    if isinstance(stamp, bool) or not isinstance(stamp, (int, float)):
        raise _FileProblem("Beitrag ohne Zeitstempel / post without a timestamp")
    if not EARLIEST_TIMESTAMP <= stamp <= LATEST_TIMESTAMP:
        raise _FileProblem(f"unmöglicher Zeitstempel {stamp} / impossible timestamp {stamp}")
    return datetime.fromtimestamp(stamp, timezone.utc)


def _caption(node: dict[str, Any]) -> str:
    edges = _dig(node, "edge_media_to_caption", "edges")
    if isinstance(edges, list) and edges:
        text = _dig(edges[0], "node", "text")
    else:
        text = node.get("caption")
    return text if isinstance(text, str) else ""


def _media_type(node: dict[str, Any]) -> MediaType:
    known = SUPPORTED_TYPENAMES.get(node.get("__typename"))  # type: ignore[arg-type]
    if known:
        return known  # type: ignore[return-value]
    if isinstance(_dig(node, "edge_sidecar_to_children", "edges"), list):
        return "sidecar"
    return "video" if node.get("is_video") is True else "image"


def _media(
    node: dict[str, Any], media_type: MediaType, folder: Path, stem: str, names: set[str]
) -> tuple[list[MediaRef], list[str]]:
    """Local pictures of the post; `position` counts from 0 in the order Instagram shows them."""
    if media_type != "sidecar":
        children = [(stem, media_type == "video", node.get("video_url"))]
    else:
        children = _sidecar_children(node, stem, names)
    media: list[MediaRef] = []
    missing: list[str] = []
    for position, (image_stem, is_video, video_url) in enumerate(children[:MAX_MEDIA_PER_POST]):
        path, problem = _find_image(folder, image_stem, names)
        if problem:
            missing.append(problem)
            continue
        media.append(
            MediaRef(
                position=position,
                kind="video" if is_video else "image",
                local_path=path,
                video_url=_safe_url(video_url) if is_video else None,
            )
        )
    return media, missing


def _sidecar_children(node: dict[str, Any], stem: str, names: set[str]) -> list[tuple[str, bool, Any]]:
    edges = _dig(node, "edge_sidecar_to_children", "edges")
    if isinstance(edges, list) and edges:
        children = []
        for index, edge in enumerate(edges, start=1):
            child = _dig(edge, "node")
            child = child if isinstance(child, dict) else {}
            children.append((f"{stem}_{index}", child.get("is_video") is True, child.get("video_url")))
        return children
    # A hashtag node saved without its full metadata lists no children: trust the files.
    children = []
    while any(f"{stem}_{len(children) + 1}{suffix}" in names for suffix in IMAGE_SUFFIXES):
        children.append((f"{stem}_{len(children) + 1}", False, None))
        if len(children) >= MAX_MEDIA_PER_POST:
            break
    return children


def _find_image(folder: Path, image_stem: str, names: set[str]) -> tuple[Path | None, str | None]:
    for suffix in IMAGE_SUFFIXES:
        if f"{image_stem}{suffix}" in names:
            path = folder / f"{image_stem}{suffix}"
            try:
                size = path.stat().st_size
            except OSError as error:
                return None, f"Bild nicht lesbar / image not readable: {path.name} ({error.strerror})"
            if size == 0:
                return None, f"Bild leer / image empty: {path.name}"
            if size > MAX_IMAGE_BYTES:
                return None, f"Bild zu groß / image too large: {path.name} ({size // (1024 * 1024)} MB)"
            return path, None
    return None, f"Bild fehlt / image missing: {image_stem}.jpg"


def _owner_username(node: dict[str, Any]) -> str | None:
    """The stored name as it is: `make_post` decides whether it is usable and reports it if not."""
    for username in (_dig(node, "owner", "username"), _dig(node, "iphone_struct", "user", "username")):
        if isinstance(username, str) and username:
            return username
    return None


def _owner_id(node: dict[str, Any]) -> str | None:
    owner_id = _dig(node, "owner", "id")
    if isinstance(owner_id, bool):
        return None
    owner_id = str(owner_id) if isinstance(owner_id, (int, str)) else None
    return owner_id if owner_id and _OWNER_ID_RE.match(owner_id) else None


def _media_id(node: dict[str, Any]) -> str | None:
    media_id = node.get("id")
    media_id = str(media_id) if isinstance(media_id, (int, str)) and not isinstance(media_id, bool) else None
    return media_id if media_id and _OWNER_ID_RE.match(media_id) else None


def _count(node: dict[str, Any], *edges: str) -> int | None:
    for edge in edges:
        value = _dig(node, edge, "count")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _safe_url(value: Any) -> str | None:
    if isinstance(value, str) and len(value) <= MAX_URL_CHARS and _URL_RE.match(value):
        return value
    return None


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value
