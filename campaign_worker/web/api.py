"""The JSON API for queue actions (used by the page script; schema at /api/openapi.json).

Reading needs a session; changing needs the moderator role and the `X-CSRF-Token` header.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.web.users import Account
from campaign_worker.web.auth import ApiGuard
from campaign_worker.web.queueview import FilterError, entry_json, load_page, parse_query
from campaign_worker.web.reading import reading
from campaign_worker.web.rendering import MAX_ID, RowId, request_language, workspace_of

router = APIRouter(prefix="/api", tags=["queue"])
reader = ApiGuard("viewer")
changer = ApiGuard("moderator", changes=True)

ACTION_STATES = {"approve": "approved", "reject": "rejected", "later": "later", "pending": "pending"}


PostId = Annotated[int, Field(ge=1, le=MAX_ID)]


class DecideRequest(BaseModel):
    campaign: str = Field(max_length=64)
    post_ids: list[PostId] = Field(min_length=1, max_length=500)
    action: Literal["approve", "reject", "later", "pending"]
    reason: str | None = Field(default=None, max_length=500)


class UndoRequest(BaseModel):
    campaign: str = Field(max_length=64)
    post_id: PostId


class ChangeOut(BaseModel):
    post_id: int
    from_state: str
    to_state: str
    event_id: int | None


class ChangesOut(BaseModel):
    changes: list[ChangeOut]
    counts: dict[str, int]


class QueueEntryOut(BaseModel):
    post_id: int
    campaign: str
    state: str
    platform: str
    author: str | None
    caption: str
    hashtags: list[str]
    posted_at: str
    source: str | None
    rule: str | None
    reason: str | None
    evidence: list[str]
    audiences: list[str]
    score: float | None = Field(None, description="The model's probability that the post is genuine (0–1), from the last rule run")
    decided_by: str | None
    human: bool
    thumb_url: str | None


class QueuePageOut(BaseModel):
    entries: list[QueueEntryOut]
    next: str | None = Field(description="pass as `after` to get the next page")
    counts: dict[str, int]


def _campaign(request: Request, slug: str) -> str:
    if slug not in workspace_of(request).campaigns:
        raise HTTPException(404, detail=f"unknown campaign {slug[:64]!r}")
    return slug


def _counts_after(request: Request, campaign: str, changes: list[queue.Change]) -> dict[str, int]:
    cache = request.app.state.counts
    cache.apply(campaign, changes)
    with reading(workspace_of(request).engine) as connection:
        return cache.get(connection, campaign)


def _changes(changes: list[queue.Change]) -> list[ChangeOut]:
    return [ChangeOut(post_id=c.post_id, from_state=c.from_state, to_state=c.to_state, event_id=c.event_id) for c in changes]


@router.get("/queue", response_model=QueuePageOut, summary="One page of the queue (same filters as the page)")
def list_queue(request: Request, account: Account = Depends(reader)):
    ws = workspace_of(request)
    try:
        query = parse_query(request.query_params, ws.campaigns)
    except FilterError as exc:
        raise HTTPException(400, detail=f"filter not understood: {exc}") from None
    with reading(ws.engine) as connection:
        entries, token = load_page(connection, query)
        counts = request.app.state.counts.get(connection, query.campaign)
    language = request_language(request)
    return {"entries": [entry_json(e, language) for e in entries], "next": token, "counts": counts}


@router.get("/queue/counts", response_model=dict[str, int], summary="Posts per state in one campaign")
def queue_counts(request: Request, campaign: str, account: Account = Depends(reader)):
    with reading(workspace_of(request).engine) as connection:
        return request.app.state.counts.get(connection, _campaign(request, campaign))


@router.post("/queue/decide", response_model=ChangesOut, summary="Approve, reject, keep for later or reopen posts")
def decide(request: Request, body: DecideRequest, account: Account = Depends(changer)):
    ws = workspace_of(request)
    campaign = _campaign(request, body.campaign)
    try:
        with transaction(ws.engine) as connection:
            changes = queue.decide(connection, campaign, body.post_ids, ACTION_STATES[body.action], account.username, body.reason)
    except queue.QueueError as exc:
        raise HTTPException(404, detail=str(exc)) from None
    return {"changes": _changes(changes), "counts": _counts_after(request, campaign, changes)}


@router.post("/queue/undo", response_model=ChangesOut, summary="Undo the last change of a post")
def undo(request: Request, body: UndoRequest, account: Account = Depends(changer)):
    ws = workspace_of(request)
    campaign = _campaign(request, body.campaign)
    try:
        with transaction(ws.engine) as connection:
            change = queue.undo(connection, campaign, body.post_id, account.username)
    except queue.QueueError as exc:
        raise HTTPException(409, detail=str(exc)) from None
    return {"changes": _changes([change]), "counts": _counts_after(request, campaign, [change])}


@router.get("/queue/{campaign}/{post_id}/history", summary="The audit trail of one post")
def post_history(request: Request, campaign: str, post_id: RowId, account: Account = Depends(reader)) -> list[dict]:
    with reading(workspace_of(request).engine) as connection:
        events = queue.history(connection, _campaign(request, campaign), post_id)
    return [{**e, "at": e["at"].isoformat() if e.get("at") else None} for e in events]
