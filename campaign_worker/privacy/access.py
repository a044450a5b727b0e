"""Access on request (DSGVO Art. 15): a ZIP with everything stored about one person.

`export_author(ws, handle, platform, target)` writes:

- `daten.json`: every stored post of the person (all columns, including the platform's own
  data), its place in each campaign with the decision and its reason, the full decision
  history, the drafts made from it, and what registered exporters add (e.g. rights records);
- `medien/<sha256>.jpg`: the stored pictures (the metadata-free copies that are kept);
- `Anschreiben.md`: a German cover letter (template `privacy/auskunft.md.j2`, overridable in
  the home's `templates/`), with the retention periods of each campaign.

The file is written atomically; an existing file at `target` is replaced.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from campaign_worker.privacy.erase import author_condition, checked_subject
from campaign_worker.privacy.erasers import run_exporters
from campaign_worker.publish.templating import make_environment
from campaign_worker.store.db import reading
from campaign_worker.store.models import (
    campaign_post_table as cp,
    draft_table as draft,
    media_table as media,
    moderation_event_table as event,
    post_media_table as post_media,
    post_table as post,
)
from campaign_worker.store.suppression import privacy_key, subject_key, suppressed_subjects
from campaign_worker.timeutil import BERLIN, utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace


def _rows(connection, query) -> list[dict]:
    return [dict(r._mapping) for r in connection.execute(query)]


def collect_records(ws: Workspace, handle: str, platform: str | None = None) -> dict[str, Any]:
    """Every stored record about the person, as plain data."""
    handle, platform = checked_subject(handle, platform)
    with reading(ws.engine) as connection:
        posts = _rows(connection, select(post).where(author_condition(handle, platform)).order_by(post.c.posted_at, post.c.id))
        ids = [p["id"] for p in posts]
        pictures = _rows(connection, select(post_media, media.c.status, media.c.path, media.c.width, media.c.height)
                         .outerjoin(media, media.c.sha256 == post_media.c.media_sha256)
                         .where(post_media.c.post_id.in_(ids)).order_by(post_media.c.post_id, post_media.c.position))
        memberships = _rows(connection, select(cp).where(cp.c.post_id.in_(ids)).order_by(cp.c.post_id, cp.c.campaign))
        events = _rows(connection, select(event).where(event.c.post_id.in_(ids)).order_by(event.c.post_id, event.c.id))
        drafts = _rows(connection, select(draft).where(draft.c.post_id.in_(ids)).order_by(draft.c.post_id, draft.c.id))
        key = privacy_key(ws.home)
        suppressed = bool(suppressed_subjects(connection, [subject_key(key, handle, platform), subject_key(key, handle)]))
    return {
        "person": {"handle": handle, "platform": platform or "alle / all"},
        "created_at": utcnow(),
        "suppressed": suppressed,
        "posts": posts,
        "pictures": pictures,
        "campaign_decisions": memberships,
        "decision_history": events,
        "drafts": drafts,
        **run_exporters(ws, ids),
    }


def _json_default(value: Any) -> str:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value)


def cover_letter(ws: Workspace, records: dict[str, Any]) -> str:
    env = make_environment(ws.home, "de", BERLIN)
    campaigns = sorted({m["campaign"] for m in records["campaign_decisions"]})
    return env.get_template("privacy/auskunft.md.j2").render(
        r=records, today=utcnow().astimezone(BERLIN).date(),
        campaigns=[ws.campaigns[c] for c in campaigns if c in ws.campaigns],
        unknown_campaigns=[c for c in campaigns if c not in ws.campaigns],
    )


def export_author(ws: Workspace, handle: str, platform: str | None, target: Path | str) -> dict[str, int]:
    """Write the person's export to `target` (a .zip); returns what it holds."""
    records = collect_records(ws, handle, platform)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    files = 0
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".export-", suffix=".part")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("daten.json", json.dumps(records, ensure_ascii=False, indent=2, default=_json_default))
            archive.writestr("Anschreiben.md", cover_letter(ws, records))
            for sha in sorted({p["media_sha256"] for p in records["pictures"] if p["media_sha256"] and p["status"] == "ok"}):
                path = ws.media.path_for(sha)
                if path.is_file():
                    archive.write(path, f"medien/{sha}.jpg")
                    files += 1
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"posts": len(records["posts"]), "decisions": len(records["decision_history"]),
            "drafts": len(records["drafts"]), "media_files": files}
