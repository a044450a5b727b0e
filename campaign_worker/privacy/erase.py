"""Erasure on request (DSGVO Art. 17): one person's posts and everything made from them.

`erase_author(ws, handle, platform)` first puts the person on the suppression list (a keyed
hash, `store.suppression`), so no later collection stores them again. Then it removes their
posts in every campaign with pictures, thumbnails, decisions, drafts, crops and wall entries
(`privacy.removal`), renders each digest week that showed them again, and replaces mentions
of "@handle" in what others wrote (captions, stored platform data, drafts).

Progress is stored (`erasure`: the keyed hash and a plan of ids) before anything is deleted,
so an erasure that is killed halfway is completed by running it again; every step is
idempotent. When it is done, the record keeps only that an erasure happened, when, by whom
it was requested and the counts: not who was erased.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import Text, cast, func, select, update

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.privacy.removal import Removal, execute, memberships_of, orphan_posts, plan_removal
from campaign_worker.store.db import flush_deleted, reading, transaction
from campaign_worker.store.models import draft_table as draft, erasure_table as erasure, post_table as post
from campaign_worker.store.suppression import normal_handle, privacy_key, subject_key, suppress
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

HANDLE_RE = re.compile(r"^[\w.\-]{1,100}$", re.UNICODE)
PLATFORMS_RE = re.compile(r"^[a-z0-9_]{1,32}$")
REDACTED = "[entfernt]"


class PrivacyError(CampaignWorkerError):
    """A privacy request that cannot be carried out as given."""


def checked_subject(handle: str, platform: str | None) -> tuple[str, str | None]:
    """The normalised handle and platform, or a PrivacyError saying what to fix."""
    name = normal_handle(handle or "")
    if not HANDLE_RE.match(name):
        raise PrivacyError(
            f"--author: {handle!r} ist kein Benutzername (Buchstaben, Ziffern, . _ -; bis 100 Zeichen) / "
            "is not a user name (letters, digits, . _ -; up to 100 characters)")
    if platform is not None:
        platform = platform.strip().lower()
        if not PLATFORMS_RE.match(platform):
            raise PrivacyError(f"--platform: {platform!r} ist keine Plattform wie instagram oder mastodon / "
                               "is not a platform such as instagram or mastodon")
    return name, platform


def author_condition(handle: str, platform: str | None):
    condition = func.lower(post.c.author_username) == handle
    return condition if platform is None else condition & (post.c.platform == platform)


@dataclass
class ErasureResult:
    erasure_id: int
    resumed: bool
    counts: dict[str, int]


def erase_author(ws: Workspace, handle: str, platform: str | None = None, *, requested_by: str = "cli") -> ErasureResult:
    """Erase one person (on one platform, or all); completes an earlier interrupted erasure of them."""
    handle, platform = checked_subject(handle, platform)
    key = privacy_key(ws.home)
    subject = subject_key(key, handle, platform)
    with transaction(ws.engine) as connection:
        suppress(connection, key, handle, platform)
        running = connection.execute(select(erasure.c.id, erasure.c.plan).where(
            erasure.c.subject == subject, erasure.c.status == "running").order_by(erasure.c.id)).first()
        condition = author_condition(handle, platform)
        fresh = plan_removal(ws, connection, memberships_of(connection, condition), orphan_posts(connection, condition))
        removal = fresh.merge(Removal.from_plan(running.plan)) if running else fresh
        if running:
            erasure_id = running.id
            connection.execute(update(erasure).where(erasure.c.id == erasure_id).values(plan=removal.as_plan()))
        else:
            erasure_id = connection.execute(erasure.insert().values(
                subject=subject, status="running", requested_by=requested_by[:100], plan=removal.as_plan(), counts={},
                started_at=utcnow())).inserted_primary_key[0]
    log.info("Löschung %s begonnen / erasure %s started%s", erasure_id, erasure_id, " (fortgesetzt / resumed)" if running else "")
    counts = execute(ws, removal)
    counts["mentions_redacted"] = redact_mentions(ws, handle)
    counts["exports_removed"] = remove_exports(ws, handle)
    with transaction(ws.engine) as connection:
        connection.execute(update(erasure).where(erasure.c.id == erasure_id).values(
            subject=None, status="done", plan={}, counts=counts, finished_at=utcnow()))
    flush_deleted(ws.engine)
    log.info("Löschung %s abgeschlossen / erasure %s done: %s", erasure_id, erasure_id, counts)
    return ErasureResult(erasure_id, running is not None, counts)


def _redact_text(text: str, pattern: re.Pattern) -> str:
    return pattern.sub(REDACTED, text)


def _redact_json(value: Any, handle: str, pattern: re.Pattern) -> Any:
    if isinstance(value, str):
        return REDACTED if value.strip().lstrip("@").lower() == handle else _redact_text(value, pattern)
    if isinstance(value, list):
        return [_redact_json(v, handle, pattern) for v in value]
    if isinstance(value, dict):
        return {k: _redact_json(v, handle, pattern) for k, v in value.items()}
    return value


def redact_mentions(ws: Workspace, handle: str) -> int:
    """Replace "@handle" in other people's captions, stored platform data and drafts; returns rows changed."""
    pattern = re.compile(rf"@{re.escape(handle)}(?![\w.])", re.IGNORECASE)
    needle = f"%{handle}%"
    changed = 0
    with transaction(ws.engine) as connection:
        posts = connection.execute(select(post.c.id, post.c.caption, post.c.raw).where(
            func.lower(post.c.caption).like(needle) | func.lower(cast(post.c.raw, Text)).like(needle))).all()
        for row in posts:
            caption = _redact_text(row.caption or "", pattern)
            raw = _redact_json(row.raw, handle, pattern)
            if caption != row.caption or raw != row.raw:
                connection.execute(update(post).where(post.c.id == row.id).values(caption=caption, raw=raw))
                changed += 1
        drafts = connection.execute(select(draft.c.id, draft.c.text).where(func.lower(draft.c.text).like(needle))).all()
        for row in drafts:
            text = _redact_text(row.text, pattern)
            if text != row.text:
                connection.execute(update(draft).where(draft.c.id == row.id).values(text=text))
                changed += 1
    return changed


def export_folder(ws: Workspace):
    """Where `privacy export` puts its ZIPs unless told otherwise."""
    return ws.home.output_dir / "auskunft"


def export_name(handle: str, day) -> str:
    return f"auskunft-{handle}-{day:%Y%m%d}.zip"


def remove_exports(ws: Workspace, handle: str) -> int:
    """Access exports of the person still lying in the default folder go too."""
    removed = 0
    for path in export_folder(ws).glob(f"auskunft-{handle}-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9].zip"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def erasure_log(ws: Workspace, limit: int = 50) -> list[dict]:
    """The latest erasures: id, status, who asked, when, counts (never whom they concerned)."""
    with reading(ws.engine) as connection:
        rows = connection.execute(select(erasure.c.id, erasure.c.status, erasure.c.requested_by, erasure.c.started_at,
                                         erasure.c.finished_at, erasure.c.counts).order_by(erasure.c.id.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
