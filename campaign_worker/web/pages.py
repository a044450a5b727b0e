"""The HTML pages. Every page works without JavaScript: forms post, the server redirects back."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from campaign_worker.moderation import queue
from campaign_worker.publish import digest as digests, drafts
from campaign_worker.publish.rights import RightsNotCleared
from campaign_worker.scheduler.ledger import latest_run_rows, recent_run_rows
from campaign_worker.sources.status import source_state_rows
from campaign_worker.store.db import transaction
from campaign_worker.timeutil import utcnow
from campaign_worker.web.users import Account, authenticate
from campaign_worker.web import draft_controls
from campaign_worker.web.auth import FormGuard, PageGuard, check_csrf, finish_session, start_session
from campaign_worker.web.i18n import LANGUAGES
from campaign_worker.web.queueview import FilterError, caption_html, load_entry, load_page, parse_query
from campaign_worker.web.reading import reading
from campaign_worker.web.wall import snippet as wall_snippet
from campaign_worker.web.rendering import MAX_ID, RowId, flash, local_path, render, request_language, translator, workspace_of
from campaign_worker.workspace import Workspace

router = APIRouter(include_in_schema=False)
viewer = PageGuard("viewer")
moderator_form = FormGuard("moderator")
admin = PageGuard("admin")
admin_form = FormGuard("admin")

ACTIONS = {"approve": "approved", "reject": "rejected", "later": "later", "pending": "pending"}
DRAFT_STATUSES = ("draft", "approved", "discarded")
DRAFTS_PER_PAGE = 50
THUMB_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")

def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


# --- signing in and out ---------------------------------------------------------------

@router.get("/")
def index() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/queue"):
    return render(request, "web/login.html", {"next": local_path(next)})


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/queue"),
          csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    _ = translator(request)
    throttle = request.app.state.throttle
    name, address = username.strip().lower()[:64], _client(request)
    wait = throttle.wait_seconds(name, address)
    if wait:
        message = _("Too many failed attempts. Try again in %(minutes)s minutes.") % {"minutes": max(1, round(wait / 60))}
        return render(request, "web/login.html", {"next": local_path(next), "error": message, "username": name}, status=429)
    account = authenticate(workspace_of(request).engine, name, password)
    if account is None:
        throttle.failed(name, address)
        return render(request, "web/login.html", {"next": local_path(next), "error": _("Unknown user name or wrong password."),
                                                   "username": name}, status=401)
    throttle.succeeded(name, address)
    start_session(request, account)
    return RedirectResponse(local_path(next), status_code=303)


@router.post("/logout")
def logout(request: Request, csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    finish_session(request)
    return RedirectResponse("/login", status_code=303)


@router.post("/lang")
def switch_language(request: Request, lang: str = Form("de"), next: str = Form("/queue"), csrf_token: str = Form("")):
    check_csrf(request, csrf_token)
    if lang in LANGUAGES:
        request.session["lang"] = lang
    return RedirectResponse(local_path(next), status_code=303)


# --- the queue -------------------------------------------------------------------------

@router.get("/queue")
def queue_page(request: Request, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    params = request.query_params
    if not params.get("campaign") and len(ws.campaigns) > 1:
        # Without a choice: the campaign where most posts wait for a person, not the first by name.
        with reading(ws.engine) as connection:
            waiting = {slug: request.app.state.counts.get(connection, slug).get("pending", 0) for slug in ws.campaigns}
        params = {**params, "campaign": max(sorted(waiting), key=lambda slug: waiting[slug])}
    try:
        query = parse_query(params, ws.campaigns)
    except FilterError as exc:
        _ = translator(request)
        raise HTTPException(400, detail=_("Filter not understood: %(field)s") % {"field": str(exc)}) from None
    with reading(ws.engine) as connection:
        entries, next_token = load_page(connection, query)
        counts = request.app.state.counts.get(connection, query.campaign)
    for entry in entries:
        entry["caption_html"] = caption_html(entry["caption"], query.campaign)
    campaign = ws.campaigns[query.campaign]
    return render(request, "web/queue.html", {
        "query": query,
        "entries": entries,
        "next_url": query.url(after=next_token) if next_token else None,
        "first_url": query.url() if query.after else None,
        "counts": counts,
        "campaign": campaign,
        "campaigns": ws.campaigns,
        "audience_labels": {a.key: (a.label_en or a.label) if request_language(request) == "en" else a.label for a in campaign.audiences},
        "can_decide": account.may("moderator"),
        "state_labels": {state: queue.STATE_LABELS[request_language(request)][state] for state in queue.STATES},
        "js_texts": _script_texts(request),
    })


def _script_texts(request: Request) -> dict[str, str]:
    _ = translator(request)
    return {"reason": _("Reason for rejecting"), "done": _("Saved."), "undone": _("Undone."), "failed": _("Not saved:"),
            "decided_by": _("Decided by")}


@router.post("/queue/action")
def queue_action(request: Request, account: Account = Depends(moderator_form), campaign: str = Form(...),
                 action: str = Form(...), post_ids: list[int] = Form([]), reason: str = Form(""), back: str = Form("/queue")):
    ws = workspace_of(request)
    _ = translator(request)
    if campaign not in ws.campaigns:
        raise HTTPException(400, detail=_("Unknown campaign."))
    if any(not 1 <= post_id <= MAX_ID for post_id in post_ids):
        raise HTTPException(404)
    if not post_ids:
        flash(request, _("Nothing selected."))
        return RedirectResponse(local_path(back), status_code=303)
    if action not in ACTIONS and action != "undo":
        raise HTTPException(400, detail=_("Unknown action."))
    try:
        with transaction(ws.engine) as connection:
            if action == "undo":
                changes = [queue.undo(connection, campaign, post_id, account.username) for post_id in dict.fromkeys(post_ids)]
            else:
                changes = queue.decide(connection, campaign, post_ids, ACTIONS[action], account.username, reason or None)
    except queue.QueueError as exc:
        flash(request, str(exc))
        return RedirectResponse(local_path(back), status_code=303)
    request.app.state.counts.apply(campaign, changes)
    flash(request, _("%(count)s post(s) changed.") % {"count": len(changes)})
    return RedirectResponse(local_path(back), status_code=303)


@router.get("/posts/{campaign}/{post_id}")
def post_page(request: Request, campaign: str, post_id: RowId, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    if campaign not in ws.campaigns:
        raise HTTPException(404)
    with reading(ws.engine) as connection:
        history = queue.history(connection, campaign, post_id)
        entry = load_entry(connection, campaign, post_id)
    if entry is None:
        raise HTTPException(404)
    entry["caption_html"] = caption_html(entry["caption"], campaign)
    return render(request, "web/post.html", {"entry": entry, "history": history, "campaign": ws.campaigns[campaign],
                                             "can_decide": account.may("moderator")})


@router.get("/media/{sha256}/thumb")
def thumbnail(request: Request, sha256: str, account: Account = Depends(viewer)):
    if not SHA256_RE.match(sha256):
        raise HTTPException(404)
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        thumb = queue.thumbnail_path(connection, sha256)
    if thumb is None:
        raise HTTPException(404)
    root = ws.home.media_dir.resolve()
    path = (root / thumb).resolve()
    content_type = THUMB_TYPES.get(path.suffix.lower())
    if content_type is None or not path.is_relative_to(root) or not path.is_file():
        raise HTTPException(404)
    return FileResponse(path, media_type=content_type, headers={"Cache-Control": "private, max-age=86400"})


# --- drafts ------------------------------------------------------------------------------

@router.get("/drafts")
def drafts_page(request: Request, campaign: str = "", status: str = "", audience: str = "", channel: str = "",
                page: int = 1, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    page = max(1, min(page, 10_000))
    with reading(ws.engine) as connection:
        rows = drafts.recent_drafts(connection, campaign, status, DRAFTS_PER_PAGE + 1, audience=audience, channel=channel,
                                    offset=(page - 1) * DRAFTS_PER_PAGE)
    language = request_language(request)
    labels = {(slug, a.key): draft_controls.audience_label(c, a.key, language) for slug, c in ws.campaigns.items() for a in c.audiences}
    audiences = {key: label for (_slug, key), label in labels.items()} | {drafts.GENERAL: translator(request)("All audiences")}
    return render(request, "web/drafts.html", {
        "drafts": rows[:DRAFTS_PER_PAGE], "campaigns": ws.campaigns, "campaign": campaign, "status": status, "statuses": DRAFT_STATUSES,
        "audience": audience, "channel": channel, "audiences": audiences, "audience_labels": labels, "channels": drafts.CHANNEL_LABELS,
        "page": page, "has_next": len(rows) > DRAFTS_PER_PAGE,
        "query": {"campaign": campaign, "status": status, "audience": audience, "channel": channel}})


def _draft(request: Request, draft_id: int) -> dict:
    with reading(workspace_of(request).engine) as connection:
        draft = drafts.draft_row(connection, draft_id)
    if draft is None:
        raise HTTPException(404)
    return draft


@router.get("/drafts/{draft_id}")
def draft_page(request: Request, draft_id: RowId, account: Account = Depends(viewer)):
    draft = _draft(request, draft_id)
    ws = workspace_of(request)
    campaign = ws.campaigns.get(draft["campaign"])
    with reading(ws.engine) as connection:
        source = drafts.draft_source(connection, draft["post_id"])
        review = drafts.draft_review(ws, connection, draft)
        extra = draft_controls.controls(connection, campaign, draft, request_language(request)) if campaign else {}
    return render(request, "web/draft.html", {"draft": draft, "source": source, "statuses": DRAFT_STATUSES,
                                              "can_edit": account.may("moderator"), **review, **extra})


@router.get("/drafts/{draft_id}/crops/{ratio}.jpg")
def draft_crop(request: Request, draft_id: RowId, ratio: str, account: Account = Depends(viewer)):
    draft = _draft(request, draft_id)
    path = drafts.crop_file(workspace_of(request), draft, ratio)
    if path is None:
        raise HTTPException(404)
    return FileResponse(path, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post("/drafts/{draft_id}")
def draft_save(request: Request, draft_id: RowId, account: Account = Depends(moderator_form), text: str = Form(...)):
    _ = translator(request)
    draft = _draft(request, draft_id)
    text = text.replace("\r\n", "\n").strip()
    limit = drafts.channel_limit(draft["channel"])
    if not text or drafts.grapheme_len(text) > limit:
        raise HTTPException(400, detail=_("The text must have 1 to %(max)s characters.") % {"max": limit})
    with transaction(workspace_of(request).engine) as connection:
        drafts.edit_draft(connection, draft_id, account.username, text=text)
    flash(request, _("Draft saved."))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


@router.post("/drafts/{draft_id}/status")
def draft_status(request: Request, draft_id: RowId, account: Account = Depends(moderator_form), status: str = Form(...)):
    _ = translator(request)
    if status not in DRAFT_STATUSES:
        raise HTTPException(400, detail=_("Unknown status."))
    _draft(request, draft_id)
    ws = workspace_of(request)
    try:
        with transaction(ws.engine) as connection:
            drafts.edit_draft(connection, draft_id, account.username, status=status, ws=ws)
    except RightsNotCleared as exc:
        raise HTTPException(409, detail=str(exc)) from None
    flash(request, _("Status changed."))
    return RedirectResponse(f"/drafts/{draft_id}", status_code=303)


# --- digests -----------------------------------------------------------------------------

@router.get("/digests")
def digests_page(request: Request, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        rows = digests.recent_digests(connection)
    language = request_language(request)
    for row in rows:
        row["summary"] = digests.summary(row, ws.campaigns.get(row["campaign"]), language)
    return render(request, "web/digests.html", {"digests": rows, "campaigns": ws.campaigns})


def _digest(request: Request, digest_id: int) -> dict:
    with reading(workspace_of(request).engine) as connection:
        digest = digests.digest_row(connection, digest_id)
    if digest is None:
        raise HTTPException(404)
    return digest


def digest_file(request: Request, digest: dict) -> Path | None:
    """The stored HTML file, only if it lies inside the project's data folder."""
    home = workspace_of(request).home
    root = home.data_dir.resolve()
    candidate = Path(digest["html_path"])
    path = (candidate if candidate.is_absolute() else home.output_dir / candidate).resolve()
    if not path.is_relative_to(root) or not path.is_file() or path.suffix.lower() not in (".html", ".htm"):
        return None
    return path


@router.get("/digests/{digest_id}")
def digest_page(request: Request, digest_id: RowId, account: Account = Depends(viewer)):
    digest = _digest(request, digest_id)
    ws = workspace_of(request)
    campaign = ws.campaigns.get(digest["campaign"])
    return render(request, "web/digest.html", {
        "digest": digest, "available": digest_file(request, digest) is not None, "campaign": campaign,
        "summary": digests.summary(digest, campaign, request_language(request)),
    })


# The stored digest is shown in a sandboxed frame of its own: no scripts, no forms, no remote
# loads; only inline styles (mail HTML needs them) and local or inline images.
DIGEST_POLICY = ("default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; base-uri 'none'; "
                 "form-action 'none'; frame-ancestors 'self'; sandbox")


@router.get("/digests/{digest_id}/html")
def digest_html(request: Request, digest_id: RowId, account: Account = Depends(viewer)):
    path = digest_file(request, _digest(request, digest_id))
    if path is None:
        raise HTTPException(404)
    return Response(path.read_bytes(), media_type="text/html; charset=utf-8",
                    headers={"Content-Security-Policy": DIGEST_POLICY, "X-Frame-Options": "SAMEORIGIN"})


# --- operations ------------------------------------------------------------------------------

@router.get("/health")
def health_page(request: Request, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        latest = latest_run_rows(connection)
        recent = recent_run_rows(connection, limit=50)
        sources = source_state_rows(connection)
    planned = planned_jobs(ws)
    names = sorted(set(planned) | {row["job"] for row in latest})
    jobs = [{"name": name, "plan": planned.get(name), "last": next((r for r in latest if r["job"] == name), None)} for name in names]
    broken = [ws.broken[slug] for slug in sorted(ws.broken)]
    return render(request, "web/health.html", {"jobs": jobs, "recent": recent, "sources": sources, "broken": broken})


def planned_jobs(ws: Workspace) -> dict[str, dict]:
    """job name → schedule text, enabled flag and next planned time, from the job files."""
    try:
        from campaign_worker.scheduler.jobs import check_jobs
    except ImportError:  # the scheduler's area is optional for the web UI
        return {}
    try:
        jobs, _errors = check_jobs(ws.home)  # broken files are reported by `config check`
    except Exception:
        return {}
    now = utcnow()
    planned = {}
    for job in jobs:
        try:
            upcoming = job.next_slot(now) if job.enabled else None
        except Exception:
            upcoming = None
        planned[job.name] = {"when": job.describe_when(), "enabled": job.enabled, "next": upcoming}
    return planned


@router.get("/campaigns")
def campaigns_page(request: Request, account: Account = Depends(viewer)):
    ws = workspace_of(request)
    with reading(ws.engine) as connection:
        counts = {slug: request.app.state.counts.get(connection, slug) for slug in ws.campaigns}
        draft_counts = drafts.draft_counts(connection)
        last_digests = digests.last_digest_weeks(connection)
    overview = [
        {"campaign": c, "counts": counts.get(slug, dict.fromkeys(queue.STATES, 0)), "drafts": draft_counts.get(slug, {}),
         "last_digest": last_digests.get(slug), "snippet": wall_snippet(str(request.base_url), c)}
        for slug, c in sorted(ws.campaigns.items())
    ]
    return render(request, "web/campaigns.html", {"overview": overview})


# --- privacy (admins only) ----------------------------------------------------------------

@router.get("/privacy")
def privacy_page(request: Request, account: Account = Depends(admin)):
    from campaign_worker.privacy.erase import erasure_log

    return render(request, "web/privacy.html", {"erasures": erasure_log(workspace_of(request))})


@router.post("/privacy/erase")
def privacy_erase(request: Request, account: Account = Depends(admin_form), author: str = Form(""),
                  platform: str = Form(""), confirm: str = Form("")):
    """Erase one person (DSGVO Art. 17) from every campaign and put them on the suppression list."""
    from campaign_worker.privacy.erase import PrivacyError, erase_author

    _ = translator(request)
    if confirm != "yes":
        raise HTTPException(400, detail=_("Tick the box to confirm the erasure."))
    try:
        result = erase_author(workspace_of(request), author, platform or None, requested_by=f"web:{account.username}")
    except PrivacyError as exc:
        raise HTTPException(400, detail=str(exc)) from None
    flash(request, _("Erasure %(id)s done: %(posts)s post(s) and %(files)s file(s) removed; the person will not be collected again.")
          % {"id": result.erasure_id, "posts": result.counts.get("posts_removed", 0), "files": result.counts.get("media_files_removed", 0)})
    return RedirectResponse("/privacy", status_code=303)
