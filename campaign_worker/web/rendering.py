"""What the views share: the page renderer, the request's language and workspace, flash messages
and safe redirect targets.

Views reach the app's state (`workspace`, `renderer`, `throttle`, `counts`) through
`request.app.state`, set by `app.create_app`; they never import `app`, so the app can import
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import Path, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment

from campaign_worker.home import Home
from campaign_worker.moderation.queue import STATE_LABELS, STATES
from campaign_worker.publish.drafts import status_label
from campaign_worker.publish.problems import in_language as problem_in_language
from campaign_worker.publish.templating import make_environment
from campaign_worker.timeutil import as_utc
from campaign_worker.web.auth import CSRF_FIELD, csrf_token, current_account
from campaign_worker.web.i18n import LANGUAGES, evidence_item, format_day, format_number, format_time, gettext_for, pick_language, translations
from campaign_worker.workspace import Workspace

MAX_ID = 2**63 - 1  # the largest row id any database stores; larger ids name nothing
# A row id in a URL path: anything else (0, negative, too large, not a number) answers 404.
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]

class Renderer:
    """One Jinja2 environment per language, with German/English gettext and Babel filters."""

    def __init__(self, home: Home):
        self.home = home
        self._environments: dict[str, Environment] = {}

    def environment(self, language: str) -> Environment:
        if language not in self._environments:
            env = make_environment(self.home, language, escape_all=True, strict=False, keep_trailing_newline=False,
                                   translations=translations(language))
            env.filters["dt"] = lambda value, style="medium": format_time(value, language, style)
            env.filters["day"] = lambda value, style="medium": format_day(value, language, style)
            env.filters["num"] = lambda value: format_number(value, language)
            env.filters["iso"] = lambda value: as_utc(value).isoformat() if value else ""
            env.filters["evidence"] = lambda item: evidence_item(str(item), language)
            env.filters["problem"] = lambda item: problem_in_language(str(item), language)
            env.globals.update(
                STATES=STATES,
                state_label=lambda state: STATE_LABELS[language].get(state, state),
                draft_status=lambda status: status_label(status, language),
                quote=lambda value: quote(str(value), safe=""),
                LANGUAGES=LANGUAGES,
            )
            self._environments[language] = env
        return self._environments[language]

    def page(self, request: Request, name: str, context: dict | None = None, status: int = 200) -> HTMLResponse:
        language = request_language(request)
        account = current_account(request)
        values = {
            "request": request,
            "user": account,
            "lang": language,
            "csrf_token": csrf_token(request),
            "csrf_field": CSRF_FIELD,
            "flash": request.session.pop("flash", None),
            "path": request.url.path,
            "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        }
        values.update(context or {})
        html = self.environment(language).get_template(name).render(values)
        return HTMLResponse(html, status_code=status)


def workspace_of(request: Request) -> Workspace:
    """The workspace the app was made for."""
    return request.app.state.workspace


def render(request: Request, name: str, context: dict | None = None, status: int = 200) -> HTMLResponse:
    """The page `name` rendered by the app's renderer."""
    return request.app.state.renderer.page(request, name, context, status)


def request_language(request: Request) -> str:
    chosen = request.session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    account = current_account(request)
    return pick_language(account.language if account else None)


def translator(request: Request) -> Callable[[str], str]:
    """`gettext` in the language of this request."""
    return gettext_for(request_language(request))


def flash(request: Request, message: str) -> None:
    request.session["flash"] = message[:300]


def local_path(target: str | None, default: str = "/queue") -> str:
    """Only same-site paths are redirect targets (no //host or scheme)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target or "\n" in target or "\r" in target:
        return default
    return target
