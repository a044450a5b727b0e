"""Handing drafts over: CSV, JSON, iCalendar and a planning tool's bulk-upload CSV, or a ZIP.

Only drafts marked ready (`approved`) whose picture rights are cleared are exported; the rest
are counted as held back. Every CSV cell that a spreadsheet would read as a formula (starting
with =, +, -, @, tab or carriage return) is prefixed with an apostrophe. Times are the planned
slots: UTC in JSON and the bulk CSV, Europe/Berlin (the campaign's zone) in the readable CSV.
The bulk CSV follows Ayrshare's documented bulk-post template (`post`, `platforms`,
`mediaUrls`, `scheduleDate` in UTC as YYYY-MM-DDThh:mm:ssZ).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from sqlalchemy import select

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.publish.drafts import draft_blocker
from campaign_worker.store.db import reading
from campaign_worker.store.models import draft_table as draft

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

FORMATS = ("csv", "json", "ics", "ayrshare", "zip")
FIELDS = ("id", "post_id", "campaign", "audience", "channel", "slot", "text", "link", "alt_text", "crops")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Export:
    rows: list[dict]
    held_back: list[tuple[int, str]] = field(default_factory=list)  # (draft id, reason)


def guard_cell(value) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def collect(ws: Workspace, campaign: str) -> Export:
    """The campaign's ready drafts in slot order, and the ones held back for their rights."""
    c = ws.campaign(campaign)
    result = Export([])
    with reading(ws.engine) as connection:
        rows = [dict(r._mapping) for r in connection.execute(
            select(draft).where(draft.c.campaign == c.slug, draft.c.status == "approved").order_by(draft.c.slot_at, draft.c.id))]
        for row in rows:
            reason = draft_blocker(ws, connection, row)
            if reason:
                result.held_back.append((row["id"], str(reason)))
                continue
            slot = row["slot_at"]
            result.rows.append({
                "id": row["id"], "post_id": row["post_id"], "campaign": c.slug, "audience": row["audience"],
                "channel": row["channel"], "slot_utc": slot.astimezone(timezone.utc) if slot else None,
                "slot": slot.astimezone(c.tz) if slot else None, "text": row["text"], "link": row["link"] or "",
                "alt_text": row["alt_text"] or "", "crops": [crop["path"] for crop in row["crops"] or []],
            })
    return result


def _iso_z(moment: datetime | None) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def to_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for row in rows:
        values = {**row, "slot": row["slot"].isoformat() if row["slot"] else "", "crops": " ".join(row["crops"])}
        writer.writerow([guard_cell(values[f]) for f in FIELDS])
    return buffer.getvalue()


def to_json(rows: list[dict]) -> str:
    plain = [{**{f: row[f] for f in FIELDS}, "slot": _iso_z(row["slot_utc"]) or None} for row in rows]
    return json.dumps(plain, ensure_ascii=False, indent=2) + "\n"


def to_ayrshare(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(("post", "platforms", "mediaUrls", "scheduleDate"))
    for row in rows:
        text = row["text"] + (f"\n\n{row['link']}" if row["link"] and row["channel"] != "instagram" and row["link"] not in row["text"] else "")
        writer.writerow([guard_cell(text), row["channel"], guard_cell(", ".join(row["crops"])), _iso_z(row["slot_utc"])])
    return buffer.getvalue()


def to_ics(rows: list[dict], campaign_name: str) -> str:
    from icalendar import Calendar, Event

    calendar = Calendar()
    calendar.add("prodid", "-//campaign-worker//Entwürfe//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{campaign_name} – geplante Beiträge")
    stamp = datetime.now(timezone.utc)
    for row in rows:
        if not row["slot_utc"]:
            continue
        event = Event()
        event.add("uid", f"draft-{row['id']}@campaign-worker")
        event.add("dtstamp", stamp)
        event.add("dtstart", row["slot"])
        event.add("duration", timedelta(minutes=15))
        event.add("summary", f"{row['channel'].capitalize()}: {row['text'].splitlines()[0][:60]}")
        event.add("description", row["text"] + (f"\n\nLink: {row['link']}" if row["link"] else ""))
        calendar.add_component(event)
    return calendar.to_ical().decode("utf-8")


def render(ws: Workspace, campaign: str, fmt: str) -> tuple[bytes, Export]:
    """The export of one campaign's ready drafts in `fmt`, as bytes."""
    if fmt not in FORMATS:
        raise CampaignWorkerError(f"--format {fmt!r}: erlaubt sind {', '.join(FORMATS)} / use one of {', '.join(FORMATS)}")
    result = collect(ws, campaign)
    name = ws.campaign(campaign).name
    if fmt == "csv":
        return to_csv(result.rows).encode("utf-8"), result
    if fmt == "json":
        return to_json(result.rows).encode("utf-8"), result
    if fmt == "ics":
        return to_ics(result.rows, name).encode("utf-8"), result
    if fmt == "ayrshare":
        return to_ayrshare(result.rows).encode("utf-8"), result
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("entwuerfe.csv", to_csv(result.rows))
        archive.writestr("entwuerfe.json", to_json(result.rows))
        archive.writestr("entwuerfe.ics", to_ics(result.rows, name))
        archive.writestr("ayrshare.csv", to_ayrshare(result.rows))
        for row in result.rows:
            for path in row["crops"]:
                source = ws.home.root / path
                if source.is_file():
                    archive.write(source, f"bilder/{source.name}")
    return buffer.getvalue(), result
