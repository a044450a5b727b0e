"""From parsed posts to stored posts with their pictures: the one way every source stores data.

Posts are stored first (idempotent batches), then each picture that is not stored yet:
local files from archives, URLs through a capped HTTPS download. A picture that fails is left
unlinked and is tried again next run; a picture that is bad is stored as rejected with its
reason. Either way the post itself is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from campaign_worker.store.db import reading, transaction
from campaign_worker.store.ingest import attach_media, missing_media, store_posts
from campaign_worker.post import ParsedPost

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    posts_new: int = 0
    posts_seen: int = 0
    joined_campaign: int = 0
    media_ok: int = 0
    media_rejected: int = 0
    media_failed: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: "ImportSummary") -> None:
        """Count another import (of the same run) into this one."""
        for name in ("posts_new", "posts_seen", "joined_campaign", "media_ok", "media_rejected", "media_failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.problems.extend(other.problems)

    def as_counts(self) -> dict[str, int]:
        return {
            "posts_new": self.posts_new,
            "posts_seen": self.posts_seen,
            "joined_campaign": self.joined_campaign,
            "media_ok": self.media_ok,
            "media_rejected": self.media_rejected,
            "media_failed": self.media_failed,
            "problems": len(self.problems),
        }


def import_posts(
    ws,
    campaign_slug: str,
    source_id: str | None,
    posts: Iterable[ParsedPost],
    *,
    session: requests.Session | None = None,
    download_media: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Store posts for a campaign, then their missing pictures; `on_progress(done, total)` per picture."""
    posts = list(posts)
    summary = ImportSummary()
    result = store_posts(ws.engine, campaign_slug, source_id, posts)
    summary.posts_new, summary.posts_seen, summary.joined_campaign = result.new_posts, result.seen_posts, result.joined_campaign
    if not download_media:
        return summary
    refs = {(p.platform, p.external_id): {m.position: m for m in p.media} for p in posts}
    key_of = {post_id: tuple(key.split(":", 1)) for key, post_id in result.post_ids.items()}
    with reading(ws.engine) as connection:
        todo = missing_media(connection, result.post_ids.values())
    for done, row in enumerate(todo, 1):
        if should_stop():
            break
        if on_progress:
            on_progress(done, len(todo))
        ref = refs.get(key_of.get(row["post_id"]), {}).get(row["position"])
        stored = _store_one(ws, ref, row, session, summary)
        if stored is None:
            continue
        with transaction(ws.engine) as connection:
            attach_media(connection, row["post_id"], row["position"], stored.as_row())
        if stored.status == "ok":
            summary.media_ok += 1
        else:
            summary.media_rejected += 1
    return summary


def _store_one(ws, ref, row: dict, session, summary: ImportSummary):
    from campaign_worker.media.store import MediaFetchError, fetch_bytes

    try:
        if ref is not None and ref.local_path is not None:
            return ws.media.store_file(Path(ref.local_path))
        url = (ref.url if ref is not None else None) or row.get("source_url")
        if not url:
            return None
        data = fetch_bytes(session or requests.Session(), url, ws.media.limits)
        return ws.media.store_bytes(data)
    except (MediaFetchError, OSError) as exc:
        summary.media_failed += 1
        summary.problems.append(f"Bild {row['position']} von Beitrag {row['post_id']}: {exc}")
        log.warning("media of post %s position %s not stored: %s", row["post_id"], row["position"], exc)
        return None


def resolve_archive_path(ws, path: str | Path) -> Path:
    """A folder given relative to the home; `sample/…` falls back to the bundled sample."""
    candidate = Path(path).expanduser()
    if candidate.is_absolute():
        return candidate
    local = ws.home.root / candidate
    if local.exists() or candidate.parts[:1] != ("sample",):
        return local
    bundled = ws.home.find("sample", str(Path(*candidate.parts[1:])))
    return bundled or local


def import_archive(ws, campaign_slug: str, folder: Path, *, source_id: str = "archive",
                   should_stop: Callable[[], bool] = lambda: False,
                   on_progress: Callable[[int, int], None] | None = None) -> ImportSummary:
    """Import an instaloader download folder into a campaign (idempotent)."""
    from campaign_worker.sources.archive import read_archive

    if not folder.is_dir():
        raise FileNotFoundError(f"Ordner nicht gefunden / folder not found: {folder}")
    result = read_archive(folder)
    summary = import_posts(ws, campaign_slug, source_id, result.posts, should_stop=should_stop, on_progress=on_progress)
    summary.problems[:0] = list(result.problems)
    return summary
