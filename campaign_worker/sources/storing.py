"""From parsed posts to stored posts with their pictures: the one way every source stores data.

Posts are stored first (idempotent batches), then each picture that is not stored yet:
local files from archives, URLs through a capped HTTPS download. A picture that fails is left
unlinked and is tried again next run; a picture that is bad is stored as rejected with its
reason, and so is one the server announced as too large: it is fetched once, never again.
Either way the post itself is kept.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from campaign_worker.store.db import reading, transaction
from campaign_worker.store.ingest import PostCounts, attach_media, missing_media, store_posts
from campaign_worker.store.suppression import without_suppressed
from campaign_worker.post import MediaRef, ParsedPost

if TYPE_CHECKING:
    from campaign_worker.media.download import MediaFetchError
    from campaign_worker.media.store import StoredMedia
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)


def import_posts(
    ws: Workspace,
    campaign_slug: str,
    source_id: str | None,
    posts: Iterable[ParsedPost],
    *,
    session: requests.Session | None = None,
    download_media: bool = True,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int, int], None] | None = None,
) -> PostCounts:
    """Store posts for a campaign, then their missing pictures; `on_progress(done, total)` per picture.

    Posts of people on the suppression list (erased on request) are dropped unseen."""
    posts = without_suppressed(ws.engine, ws.home, list(posts))
    summary = store_posts(ws.engine, campaign_slug, source_id, posts)
    if not download_media:
        return summary
    refs = {(p.platform, p.external_id): {m.position: m for m in p.media} for p in posts}
    key_of = {post_id: tuple(key.split(":", 1)) for key, post_id in summary.post_ids.items()}
    with reading(ws.engine) as connection:
        todo = missing_media(connection, summary.post_ids.values())
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


def _store_one(ws: Workspace, ref: MediaRef | None, row: dict, session: requests.Session | None,
               summary: PostCounts) -> StoredMedia | None:
    from campaign_worker.media.download import MediaFetchError, fetch_bytes

    try:
        if ref is not None and ref.local_path is not None:
            return ws.media.store_file(Path(ref.local_path))
        url = (ref.url if ref is not None else None) or row.get("source_url")
        if not url:
            return None
        try:
            data = fetch_bytes(session or requests.Session(), url, ws.media.limits)
        except MediaFetchError as exc:
            if exc.code != "too_large":
                raise
            return _rejected_unfetched(url, exc)
        return ws.media.store_bytes(data)
    except (MediaFetchError, OSError) as exc:
        summary.media_failed += 1
        summary.problems.append(f"Bild {row['position']} von Beitrag {row['post_id']}: {exc}")
        log.warning("media of post %s position %s not stored: %s", row["post_id"], row["position"], exc)
        return None


def _rejected_unfetched(url: str, error: MediaFetchError) -> StoredMedia:
    """A picture refused before its bytes arrived, keyed by its address (query left out: CDN
    signatures change, the path does not), so that the next run does not fetch it again."""
    from campaign_worker.media.store import StoredMedia

    key = hashlib.sha256(f"unfetched {url.split('?', 1)[0]}".encode()).hexdigest()
    return StoredMedia(sha256=key, status="rejected", reject_reason=str(error)[:300])
