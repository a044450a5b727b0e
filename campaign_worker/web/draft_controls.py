"""The draft page's manager controls: a post's audiences and its picture's focal point.

Both are plain form posts with the session's CSRF token (no script needed). Audiences: the
matching's findings (scores, matched words) are shown beside the current choice; a manager
sets a primary audience plus further ones, or hands the choice back to the matching. The
choice is audited (`publish.audience_choice`) and the post's drafts are recomposed at once:
new drafts for the chosen audiences, untouched drafts of others removed, edited ones kept.
Focal point: a click on the picture (`<input type="image">` sends the click's pixel position)
or two number inputs (0–1) move it; every crop of the post's drafts is re-made around it.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from campaign_worker.config.campaigns import Campaign
from campaign_worker.errors import CampaignWorkerError
from campaign_worker.publish import audience_choice, draft_crops, drafts
from campaign_worker.store.db import transaction
from campaign_worker.store.models import draft_table
from campaign_worker.web.auth import FormGuard
from campaign_worker.web.i18n import N_
from campaign_worker.web.reading import reading
from campaign_worker.web.rendering import RowId, flash, request_language, translator, workspace_of
from campaign_worker.web.users import Account

router = APIRouter(include_in_schema=False)
moderator_form = FormGuard("moderator")

PICKER_WIDTH = 480  # CSS pixels of the focal-point picture on the draft page
SOURCE_LABELS = {"override": N_("set by hand"), "stored": N_("from moderation"), "matched": N_("from the matching"),
                 "none": N_("none found")}


def audience_label(campaign: Campaign, key: str, language: str) -> str:
    """An audience's name in `language`; the general audience's too (a post that speaks to no one in particular)."""
    found = drafts.general_audience(campaign) if key == drafts.GENERAL else next((a for a in campaign.audiences if a.key == key), None)
    if found is None:
        return key
    return (found.label_en or found.label) if language == "en" else found.label


def _parsed(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def controls(connection, campaign: Campaign, row: dict, language: str) -> dict:
    """What the draft page needs for both controls."""
    found = audience_choice.post_review(connection, campaign, row["post_id"])
    picture = draft_crops.post_picture(connection, row["post_id"])
    picker = None
    if picture is not None:
        sha256, width, height = picture
        picker = {"sha256": sha256, "width": PICKER_WIDTH,
                  "height": round(PICKER_WIDTH * height / width) if width and height else PICKER_WIDTH}
    return {
        "audience_options": [(a.key, audience_label(campaign, a.key, language)) for a in campaign.audiences],
        "audience_matches": [{"key": m.key, "label": audience_label(campaign, m.key, language), "score": m.score, "words": m.words}
                             for m in found.matches],
        "audience_chosen": list(found.chosen), "audience_source": SOURCE_LABELS[found.source],
        "audience_override": found.override,
        "audience_history": [{**entry, "at": _parsed(entry.get("at"))} for entry in reversed((found.override or {}).get("history") or [])],
        "audience_labels": {a.key: audience_label(campaign, a.key, language) for a in campaign.audiences},
        "draft_audience": audience_label(campaign, row["audience"], language),
        "picker": picker, "focal": (row.get("focal_x", 0.5), row.get("focal_y", 0.5)),
    }


def _draft_and_campaign(request: Request, draft_id: int) -> tuple[dict, Campaign]:
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        row = drafts.draft_row(connection, draft_id)
    if row is None:
        raise HTTPException(404)
    campaign = ws.campaigns.get(row["campaign"])
    if campaign is None:
        raise HTTPException(400, detail=translator(request)("Unknown campaign."))
    return row, campaign


@router.post("/drafts/{draft_id}/audiences")
def set_audiences(request: Request, draft_id: RowId, account: Account = Depends(moderator_form), primary: str = Form(""),
                  also: list[str] = Form([]), reset: str = Form("")):
    _ = translator(request)
    row, campaign = _draft_and_campaign(request, draft_id)
    ws = workspace_of(request)
    keys = [] if reset else [primary[:64], *(k[:64] for k in also[:20] if k != primary)]
    if not reset and not primary:
        raise HTTPException(400, detail=_("Choose a primary audience."))
    try:
        with transaction(ws.engine) as connection:
            audience_choice.set_audiences(connection, campaign, row["post_id"], keys, account.username)
    except CampaignWorkerError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    counts = drafts.compose_campaign(ws, campaign, post_ids={row["post_id"]})
    with reading(ws.engine) as connection:
        chosen = audience_choice.post_review(connection, campaign, row["post_id"]).chosen
        target = connection.execute(select(draft_table.c.id).where(
            draft_table.c.campaign == campaign.slug, draft_table.c.post_id == row["post_id"],
            draft_table.c.audience == (chosen[0] if chosen else row["audience"]), draft_table.c.channel == row["channel"])).scalar()
        still_there = drafts.draft_row(connection, draft_id) is not None
    flash(request, _("Audiences saved: %(audiences)s. New drafts: %(created)s; untouched drafts removed: %(removed)s; "
                     "edited drafts stay as they are.") % {
        "audiences": ", ".join(audience_label(campaign, k, request_language(request)) for k in chosen) or "—",
        "created": counts["created"], "removed": counts["removed"]})
    if target or still_there:
        return RedirectResponse(f"/drafts/{target or draft_id}", status_code=303)
    return RedirectResponse(f"/drafts?campaign={campaign.slug}", status_code=303)


def _focal_value(value: str, scale: str = "") -> float | None:
    """A number from a form field (0–1, or pixels when `scale` gives the picture's displayed size), or None."""
    try:
        number = float(value.replace(",", ".").strip())
        if scale:
            number = number / float(scale)
    except (ValueError, ZeroDivisionError):
        return None
    return number if 0.0 <= number <= 1.0 else None


@router.post("/drafts/{draft_id}/focal")
def set_focal(request: Request, draft_id: RowId, account: Account = Depends(moderator_form), focal_x: str = Form(""),
              focal_y: str = Form(""), spot_x: str = Form("", alias="spot.x"), spot_y: str = Form("", alias="spot.y"),
              spot_w: str = Form(""), spot_h: str = Form("")):
    _ = translator(request)
    row, campaign = _draft_and_campaign(request, draft_id)
    if spot_x or spot_y:  # a click on the picture: pixels within its displayed size
        x, y = _focal_value(spot_x[:20], spot_w[:20] or str(PICKER_WIDTH)), _focal_value(spot_y[:20], spot_h[:20] or "0")
    else:
        x, y = _focal_value(focal_x[:20]), _focal_value(focal_y[:20])
    if x is None or y is None:
        raise HTTPException(400, detail=_("The focal point needs x and y between 0 and 1 (for example 0.5)."))
    ws = workspace_of(request)
    try:
        done = draft_crops.set_focal(ws, campaign.slug, row["post_id"], (round(x, 3), round(y, 3)))
    except CampaignWorkerError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    shown = (lambda v: f"{v:.2f}".replace(".", ",")) if request_language(request) == "de" else (lambda v: f"{v:.2f}")
    flash(request, _("Focal point set to x %(x)s and y %(y)s; crops re-made (drafts: %(count)s).")
          % {"x": shown(x), "y": shown(y), "count": done})
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)
