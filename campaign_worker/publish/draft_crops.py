"""The crops of drafts: made when drafts are composed, re-made when a picture's focal point moves.

A draft's crops are the ratios its channel needs (`crops.CHANNEL_CROPS`) of its post's first
picture, around the focal point stored on the draft (`focal_x`, `focal_y`; the focal point
belongs to the picture, so every draft of a post carries the same one). Crops are files under
`data/crops/<campaign>/`, named by picture, focal point and ratio: each picture is decoded
once per run, existing files are reused, and files no draft lists any more are removed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING

from sqlalchemy import and_, select, update

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.publish.crops import CHANNEL_CROPS, clamp_focal, make_picture_crops
from campaign_worker.store.db import reading, transaction
from campaign_worker.store.models import draft_table as draft, media_table as media, post_media_table as post_media

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)


def _crop_rows(connection, campaign: str, *, draft_ids: list[int] | None = None, post_id: int | None = None) -> list:
    query = (select(draft.c.id, draft.c.channel, draft.c.focal_x, draft.c.focal_y, draft.c.crops, post_media.c.media_sha256)
             .join(post_media, and_(post_media.c.post_id == draft.c.post_id, post_media.c.position == 0))
             .where(draft.c.campaign == campaign, draft.c.status != "discarded").order_by(draft.c.id))
    if draft_ids is not None:
        query = query.where(draft.c.id.in_(draft_ids))
    if post_id is not None:
        query = query.where(draft.c.post_id == post_id)
    return connection.execute(query).all()


def _has_files(ws: Workspace, crops: list[dict] | None) -> bool:
    return bool(crops) and all((ws.home.root / c.get("path", "")).is_file() for c in crops or [])


def crop_drafts(ws: Workspace, campaign: str, rows: list) -> int:
    """Make the crops of these drafts (rows of `_crop_rows`), one decode per picture; returns drafts done."""
    from PIL.Image import DecompressionBombError

    target = ws.home.root / "data" / "crops" / campaign
    by_picture: dict[str, list] = defaultdict(list)
    for row in rows:
        if row.channel in CHANNEL_CROPS:
            by_picture[row.media_sha256].append(row)
    stored: dict[int, list[dict]] = {}
    for sha256, drafts in by_picture.items():
        source = ws.media.path_for(sha256)
        if not source.is_file():
            continue
        wanted: dict[tuple[float, float], set[str]] = defaultdict(set)
        for row in drafts:
            wanted[clamp_focal((row.focal_x, row.focal_y))].update(CHANNEL_CROPS[row.channel])
        try:
            made = make_picture_crops(source, target, sha256, wanted)
        except (OSError, ValueError, DecompressionBombError) as exc:  # a broken picture costs its crops, not the run
            log.warning("no crops for picture %s: %s", sha256[:16], exc)
            continue
        for row in drafts:
            crops = {c.ratio: c for c in made[clamp_focal((row.focal_x, row.focal_y))]}
            stored[row.id] = [{"ratio": r, "path": str(crops[r].path.relative_to(ws.home.root)), "width": crops[r].width,
                               "height": crops[r].height} for r in CHANNEL_CROPS[row.channel]]
    if stored:
        with transaction(ws.engine) as connection:
            for draft_id, crops in stored.items():
                connection.execute(update(draft).where(draft.c.id == draft_id).values(crops=crops))
    return len(stored)


def crop_new_drafts(ws: Workspace, campaign: str, draft_ids: list[int]) -> int:
    """Crops for drafts just composed (those with a picture); returns how many got them."""
    done = 0
    for start in range(0, len(draft_ids), 500):
        with reading(ws.engine) as connection:
            rows = _crop_rows(connection, campaign, draft_ids=draft_ids[start:start + 500])
        done += crop_drafts(ws, campaign, [r for r in rows if not _has_files(ws, r.crops)])
    return done


def make_draft_crops(ws: Workspace, campaign: str, limit: int = 1000) -> int:
    """Crops for the campaign's drafts that have a picture and no crop files (yet, or any more)."""
    with reading(ws.engine) as connection:
        rows = _crop_rows(connection, campaign)
    return crop_drafts(ws, campaign, [r for r in rows if not _has_files(ws, r.crops)][:limit])


def set_focal(ws: Workspace, campaign: str, post_id: int, focal: tuple[float, float]) -> int:
    """Move the focal point of a post's picture for all its drafts and re-make their crops; returns drafts re-cropped.

    Crop files that no draft lists afterwards are removed.
    """
    if not all(isinstance(v, (int, float)) and 0.0 <= v <= 1.0 for v in focal):
        raise CampaignWorkerError("Fokuspunkt: x und y zwischen 0 und 1 / focal point: x and y between 0 and 1")
    with transaction(ws.engine) as connection:
        before = {c.get("path") for row in connection.execute(select(draft.c.crops).where(
            draft.c.campaign == campaign, draft.c.post_id == post_id)) for c in row.crops or []}
        connection.execute(update(draft).where(draft.c.campaign == campaign, draft.c.post_id == post_id)
                           .values(focal_x=focal[0], focal_y=focal[1]))
    with reading(ws.engine) as connection:
        rows = _crop_rows(connection, campaign, post_id=post_id)
    done = crop_drafts(ws, campaign, rows)
    forget_crop_files(ws, campaign, before)
    return done


def forget_crop_files(ws: Workspace, campaign: str, paths: set[str | None]) -> int:
    """Delete those of `paths` (relative to the home) that no draft of the campaign lists; returns how many went."""
    with reading(ws.engine) as connection:
        listed = {c.get("path") for row in connection.execute(select(draft.c.crops).where(draft.c.campaign == campaign))
                  for c in row.crops or []}
    root = ws.home.root.resolve()
    removed = 0
    for path in paths - listed:
        file = (root / (path or "")).resolve()
        if root in file.parents and file.is_file():
            file.unlink()
            removed += 1
    return removed


def post_picture(connection, post_id: int) -> tuple[str, int | None, int | None] | None:
    """(sha256, width, height) of a post's first picture, the one its drafts are cropped from, or None."""
    row = connection.execute(select(media.c.sha256, media.c.width, media.c.height)
                             .join(post_media, post_media.c.media_sha256 == media.c.sha256)
                             .where(post_media.c.post_id == post_id, post_media.c.position == 0)).first()
    return (row.sha256, row.width, row.height) if row is not None else None
