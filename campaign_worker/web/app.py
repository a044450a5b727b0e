"""The web application: `create_app(workspace_or_home)` wires sessions, headers, templates and routes.

Templates are looked up through the home's `templates/` search path, so a user's
`templates/web/queue.html` replaces the shipped one. Nothing here starts a scheduler: the web
process only reads and records decisions.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from campaign_worker.home import Home
from campaign_worker.workspace import Workspace
from campaign_worker.web import api, draft_controls, drafts_api, pages, wall
from campaign_worker.web.auth import LoginRequired, LoginThrottle
from campaign_worker.web.queueview import CountsCache
from campaign_worker.web.sessions import LIFETIME as SESSION_LIFETIME
from campaign_worker.web.rendering import Renderer, render

SECRET_ENV = "CAMPAIGN_WORKER_WEB_SECRET"
SESSION_COOKIE = "cw_session"
STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
PUBLIC_PREFIX = "/wall/"  # the public wall: no session, no cookies, framing decided per campaign
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    """Adds the security headers to every response; a route may set a stricter one itself."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                public = scope["path"].startswith(PUBLIC_PREFIX)
                headers += [(name, value) for name, value in SECURITY_HEADERS
                            if name not in present and not (public and name in (b"x-frame-options", b"cross-origin-opener-policy"))]
                if b"cache-control" not in present and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class Sessions(SessionMiddleware):
    """Signed-cookie sessions everywhere but the public wall, which neither reads nor sets a cookie."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith(PUBLIC_PREFIX):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def session_secret(home: Home, secret: str | None) -> str:
    """The explicit secret, else $CAMPAIGN_WORKER_WEB_SECRET, else one kept in data/web-secret (0600)."""
    if secret:
        return secret
    if os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = home.data_dir / "web-secret"
    if path.exists():
        return path.read_text().strip()
    home.ensure_dirs()
    value = secrets.token_urlsafe(48)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value)
    return value


def create_app(workspace_or_home: Workspace | Home | str | os.PathLike, *, secret: str | None = None,
               secure_cookies: bool = False, throttle: LoginThrottle | None = None,
               counts_ttl: float = 15.0, wall_ttl: float = wall.CACHE_TTL) -> FastAPI:
    """The moderation web app for one workspace (or a home, opened and migrated here)."""
    workspace = workspace_or_home if isinstance(workspace_or_home, Workspace) else Workspace.open(workspace_or_home)
    app = FastAPI(
        title="campaign-worker",
        summary="Moderationswarteschlange und Entwürfe / moderation queue and drafts API",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs load scripts from a CDN
        redoc_url=None,
    )
    app.state.workspace = workspace
    app.state.renderer = Renderer(workspace.home)
    app.state.throttle = throttle or LoginThrottle()
    app.state.counts = CountsCache(ttl=counts_ttl)

    app.state.wall_renderer = None
    app.state.wall_cache = wall.WallCache(wall_ttl)
    app.add_middleware(
        Sessions,
        secret_key=session_secret(workspace.home, secret),
        session_cookie=SESSION_COOKIE,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        same_site="lax",
        https_only=secure_cookies,
    )
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(pages.router)
    app.include_router(draft_controls.router)
    app.include_router(api.router)
    app.include_router(drafts_api.router)
    app.include_router(wall.router)
    _install_error_pages(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _install_error_pages(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _exc: LoginRequired):
        return RedirectResponse("/login?next=" + quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe=""), status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith(PUBLIC_PREFIX):
            return PlainTextResponse("Nicht gefunden / not found" if exc.status_code == 404 else str(exc.status_code),
                                     status_code=exc.status_code, headers={"Cache-Control": "public, max-age=60"})
        if _is_api(request):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))
        return render(request, "web/error.html", {"status": exc.status_code, "detail": exc.detail}, status=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            # An id that is no id (0, negative, beyond 2⁶³, not a number) names nothing.
            raise StarletteHTTPException(404)
        if _is_api(request):
            return JSONResponse({"detail": jsonable_encoder(exc.errors())}, status_code=422)
        fields = ", ".join(str(e.get("loc", ["?"])[-1]) for e in exc.errors())
        return render(request, "web/error.html", {"status": 400, "detail": fields}, status=400)
