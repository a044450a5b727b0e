"""The JSON API for drafts: list, show, change status, hand one over (schema at /api/openapi.json).

Same rules as the queue API (`web/api.py`): reading needs a session; changing needs the
moderator role and the `X-CSRF-Token` header. A draft whose picture rights are not cleared
(or whose picture shows people or minors without recorded consent) is neither marked ready
nor handed over: both answer 409 with the reason, as the CLI and the draft page refuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from campaign_worker.publish import drafts
from campaign_worker.publish.rights import Blocker, RightsNotCleared
from campaign_worker.store.db import transaction
from campaign_worker.timeutil import as_utc
from campaign_worker.web.auth import ApiGuard
from campaign_worker.web.reading import reading
from campaign_worker.web.rendering import RowId, workspace_of
from campaign_worker.web.users import Account

router = APIRouter(prefix="/api/drafts", tags=["drafts"])
reader = ApiGuard("viewer")
changer = ApiGuard("moderator", changes=True)

DraftStatus = Literal["draft", "approved", "discarded"]


class DraftOut(BaseModel):
    id: int
    campaign: str
    post_id: int
    audience: str
    channel: str
    status: str
    status_label: str
    slot_at: datetime | None
    text: str
    link: str | None
    alt_text: str | None
    hashtags: list[str]
    problems: list[str]
    crops: list[dict]
    focal: tuple[float, float]
    edited_by: str | None
    updated_at: datetime | None
    blocker: str | None = Field(description="why the draft may not be published yet (German), or null when cleared")


class DraftListOut(BaseModel):
    drafts: list[DraftOut]
    next_offset: int | None = Field(description="pass as `offset` to get the next page")


class StatusRequest(BaseModel):
    status: DraftStatus


class HandoffOut(BaseModel):
    id: int
    post_id: int
    campaign: str
    audience: str
    channel: str
    slot: str | None = Field(description="planned time in UTC, YYYY-MM-DDThh:mm:ssZ")
    text: str
    link: str
    alt_text: str
    crops: list[str]


def _out(ws, connection, row: dict) -> dict:
    return {
        **{k: row.get(k) for k in ("id", "campaign", "post_id", "audience", "channel", "status", "slot_at", "text", "link",
                                   "alt_text", "edited_by", "updated_at")},
        "status_label": drafts.status_label(row["status"]),
        "hashtags": row.get("hashtags") or [], "problems": row.get("problems") or [], "crops": row.get("crops") or [],
        "focal": (row.get("focal_x", 0.5), row.get("focal_y", 0.5)),
        "blocker": _text(drafts.draft_blocker(ws, connection, row)) if row["campaign"] in ws.campaigns else None,
    }


def _text(reason: Blocker | None) -> str | None:
    return str(reason) if reason else None  # the API speaks German in its reasons, as the CLI


def _row(connection, draft_id: int) -> dict:
    row = drafts.draft_row(connection, draft_id)
    if row is None:
        raise HTTPException(404, detail=f"Entwurf {draft_id} gibt es nicht / no draft {draft_id}")
    return row


@router.get("", response_model=DraftListOut, summary="Drafts, newest change first (filters as on the drafts page)")
def list_drafts(request: Request, campaign: str = Query("", max_length=64), status: str = Query("", max_length=16),
                audience: str = Query("", max_length=64), channel: str = Query("", max_length=16),
                limit: int = Query(50, ge=1, le=500), offset: int = Query(0, ge=0, le=1_000_000),
                account: Account = Depends(reader)):
    ws = workspace_of(request)
    if campaign and campaign not in ws.campaigns:
        raise HTTPException(404, detail=f"Unbekannte Kampagne / unknown campaign {campaign[:64]!r}")
    if status and status not in drafts.STATUS_LABELS:
        raise HTTPException(400, detail=f"status: erlaubt sind / use one of {', '.join(drafts.STATUS_LABELS)}")
    with reading(ws.engine) as connection:
        rows = drafts.recent_drafts(connection, campaign, status, limit + 1, audience=audience, channel=channel, offset=offset)
        out = [_out(ws, connection, row) for row in rows[:limit]]
    return {"drafts": out, "next_offset": offset + limit if len(rows) > limit else None}


@router.get("/{draft_id}", response_model=DraftOut, summary="One draft, with the reason it may not be published yet")
def show_draft(request: Request, draft_id: RowId, account: Account = Depends(reader)):
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        return _out(ws, connection, _row(connection, draft_id))


@router.post("/{draft_id}/status", response_model=DraftOut,
             summary="Mark a draft ready (approved), back to draft, or discarded; 409 without cleared rights")
def change_status(request: Request, draft_id: RowId, body: StatusRequest, account: Account = Depends(changer)):
    ws = workspace_of(request)
    try:
        with transaction(ws.engine) as connection:
            _row(connection, draft_id)
            drafts.edit_draft(connection, draft_id, account.username, status=body.status, ws=ws)
    except RightsNotCleared as exc:
        raise HTTPException(409, detail=str(exc)) from None
    with reading(ws.engine) as connection:
        return _out(ws, connection, _row(connection, draft_id))


@router.get("/{draft_id}/export", response_model=HandoffOut,
            summary="The hand-off of one ready draft (as in `drafts export --format json`); 409 if not ready or not cleared")
def export_draft(request: Request, draft_id: RowId, account: Account = Depends(reader)):
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        row = _row(connection, draft_id)
        reason = drafts.draft_blocker(ws, connection, row) if row["campaign"] in ws.campaigns else "Kampagne fehlt"
    if reason:
        raise HTTPException(409, detail=f"Entwurf {draft_id} wird nicht übergeben: {reason} / draft {draft_id} is not "
                                        "handed over: picture rights or consent not cleared")
    if row["status"] != "approved":
        raise HTTPException(409, detail=f"Entwurf {draft_id} ist nicht bereit (Status: "
                                        f"{drafts.status_label(row['status'])}) / draft {draft_id} is not ready")
    slot = row["slot_at"]
    return {
        "id": row["id"], "post_id": row["post_id"], "campaign": row["campaign"], "audience": row["audience"],
        "channel": row["channel"], "slot": as_utc(slot).strftime("%Y-%m-%dT%H:%M:%SZ") if slot else None, "text": row["text"],
        "link": row["link"] or "", "alt_text": row["alt_text"] or "", "crops": [c["path"] for c in row["crops"] or []],
    }
