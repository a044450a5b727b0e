"""Who is asking, and may they: sessions, roles, CSRF tokens and login throttling.

The browser keeps a signed, HttpOnly, SameSite=Lax cookie (Starlette's itsdangerous session)
holding a session token, the CSRF token that every state-changing request must echo (as the
form field `csrf_token`, or as the `X-CSRF-Token` header for the JSON API) and the language.
The session itself lives in the database (`web.sessions`): logout, a password change or the
removal of the account end it there, so an old copy of the cookie opens nothing.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque

from fastapi import Form, Header, HTTPException, Request

from campaign_worker.web.sessions import end_session, open_session, session_user
from campaign_worker.web.users import Account, stored_account

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """A page needs a signed-in user; answered with a redirect to the login page."""


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf(request: Request, supplied: str | None) -> None:
    expected = request.session.get("csrf")
    if not expected or not supplied or not secrets.compare_digest(str(expected), str(supplied)):
        raise HTTPException(403, detail="csrf")


def start_session(request: Request, account: Account) -> None:
    """Sign in: a fresh session (new token, new CSRF token) so nothing from before the login carries over."""
    finish_session(request)
    token = open_session(request.app.state.workspace.engine, account.id)
    request.session.update(sid=token, csrf=secrets.token_urlsafe(32))


def finish_session(request: Request) -> None:
    """Sign out: the session ends in the database, the cookie keeps only the language."""
    end_session(request.app.state.workspace.engine, request.session.get("sid"))
    language = request.session.get("lang")
    request.session.clear()
    if language:
        request.session["lang"] = language


def current_account(request: Request) -> Account | None:
    if hasattr(request.state, "account"):
        return request.state.account
    account = None
    engine = request.app.state.workspace.engine
    user_id = session_user(engine, request.session.get("sid"))
    stored = stored_account(engine, user_id) if user_id is not None else None
    if stored is not None and stored[0].active:
        account = stored[0]
    else:
        request.session.pop("sid", None)
    request.state.account = account
    return account


class PageGuard:
    """A page dependency: signed in (else the login page) with at least `role` (else 403)."""

    def __init__(self, role: str = "viewer"):
        self.role = role

    def __call__(self, request: Request) -> Account:
        account = current_account(request)
        if account is None:
            raise LoginRequired()
        if not account.may(self.role):
            raise HTTPException(403, detail="role")
        return account


class FormGuard(PageGuard):
    """A form post: signed in, allowed, and carrying the session's CSRF token."""

    def __call__(self, request: Request, csrf_token: str = Form("")) -> Account:  # type: ignore[override]
        account = super().__call__(request)
        check_csrf(request, csrf_token)
        return account


class ApiGuard:
    """An API call: 401 without a session, 403 without the role or (for changes) the CSRF header."""

    def __init__(self, role: str = "viewer", *, changes: bool = False):
        self.role = role
        self.changes = changes

    def __call__(self, request: Request, x_csrf_token: str | None = Header(None, include_in_schema=False)) -> Account:
        account = current_account(request)
        if account is None:
            raise HTTPException(401, detail="login required", headers={"WWW-Authenticate": "Session"})
        if not account.may(self.role):
            raise HTTPException(403, detail="role")
        if self.changes:
            check_csrf(request, x_csrf_token)
        return account


class LoginThrottle:
    """At most `limit` failed logins per (user name, client address) in `window` seconds."""

    def __init__(self, limit: int = 5, window: float = 900.0, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures[key]
        cutoff = self.clock() - self.window
        while failures and failures[0] < cutoff:
            failures.popleft()
        return failures

    def wait_seconds(self, username: str, address: str) -> int:
        """0 if a login may be tried now, else the seconds until it may."""
        with self._lock:
            failures = self._recent((username.lower(), address))
            if len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - self.clock()) + 1)

    def failed(self, username: str, address: str) -> None:
        with self._lock:
            self._recent((username.lower(), address)).append(self.clock())
            if len(self._failures) > 10_000:  # keep memory bounded under a spray of names
                for key in [k for k, v in self._failures.items() if not v][:5_000]:
                    del self._failures[key]

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._failures.pop((username.lower(), address), None)
