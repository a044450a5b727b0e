"""Every route of the web app, for every role: who may read, who may change, and CSRF."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.routing import APIRoute

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.store.models import Digest, Draft
from campaign_worker.timeutil import utcnow
from campaign_worker.web import api, draft_controls, drafts_api, pages
from .web_support import add_accounts, csrf_of, make_client, seed_posts, signed_in


@pytest.fixture
def site(sqlite_workspace):
    ws = sqlite_workspace
    ids = seed_posts(ws)
    add_accounts(ws)
    (ws.home.output_dir / "digest-siegen.html").write_text("<h1>Woche</h1>", encoding="utf-8")
    with transaction(ws.engine) as connection:
        connection.execute(Draft.__table__.insert().values(
            campaign="siegen", post_id=ids["p1"], audience="familien", channel="instagram", text="Entwurf", hashtags=[],
            status="draft", problems=[], created_at=utcnow(), updated_at=utcnow()))
        connection.execute(Digest.__table__.insert().values(
            campaign="siegen", week_start=date(2026, 11, 2), html_path="digest-siegen.html", counts={"neu": 3}, created_at=utcnow()))
    ws.ids = ids
    return ws


def reads(ws):
    p1 = ws.ids["p1"]
    return [
        "/", "/queue", "/queue?campaign=siegen&state=all", f"/posts/siegen/{p1}", "/drafts", "/drafts/1",
        "/digests", "/digests/1", "/digests/1/html", "/health", "/campaigns",
    ]


def api_reads(ws):
    return ["/api/queue?campaign=siegen", "/api/queue/counts?campaign=siegen", f"/api/queue/siegen/{ws.ids['p1']}/history",
            "/api/drafts?campaign=siegen", "/api/drafts/1"]


def form_posts(ws):
    p2 = ws.ids["p2"]
    return [
        ("/queue/action", {"campaign": "siegen", "action": "approve", "post_ids": [str(p2)], "back": "/queue"}),
        ("/drafts/1", {"text": "Neuer Text für Familien"}),
        ("/drafts/1/status", {"status": "discarded"}),
        ("/drafts/1/audiences", {"primary": "fachkraefte", "also": ["familien"]}),
        ("/drafts/1/focal", {"focal_x": "0.3", "focal_y": "0.6"}),
    ]


def api_posts(ws):
    p3 = ws.ids["p3"]
    return [
        ("/api/queue/decide", {"campaign": "siegen", "post_ids": [p3], "action": "later"}),
        ("/api/queue/undo", {"campaign": "siegen", "post_id": p3}),
        ("/api/drafts/1/status", {"status": "discarded"}),
    ]


def test_the_matrix_covers_every_route(site):
    covered = {"/", "/login", "/logout", "/lang", "/queue", "/queue/action", "/posts/{campaign}/{post_id}",
               "/media/{sha256}/thumb", "/drafts", "/drafts/{draft_id}", "/drafts/{draft_id}/status", "/drafts/{draft_id}/crops/{ratio}.jpg", "/digests",
               "/digests/{digest_id}", "/digests/{digest_id}/html", "/health", "/campaigns", "/api/queue",
               "/api/queue/counts", "/api/queue/decide", "/api/queue/undo", "/api/queue/{campaign}/{post_id}/history",
               "/privacy", "/privacy/erase", "/drafts/{draft_id}/audiences", "/drafts/{draft_id}/focal", "/api/drafts",
               "/api/drafts/{draft_id}", "/api/drafts/{draft_id}/status", "/api/drafts/{draft_id}/export"}
    routes = {route.path for router in (pages.router, api.router, draft_controls.router, drafts_api.router)
              for route in router.routes if isinstance(route, APIRoute)}
    assert routes == covered, "a route was added or removed: extend the role tests"


def test_anonymous_gets_the_login_page_or_401(site):
    client = make_client(site)
    for path in reads(site):
        response = client.get(path)
        if path == "/":
            assert response.headers["location"] == "/queue"
            continue
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next="), path
    assert client.get("/login").status_code == 200
    token = csrf_of(client.get("/login").text)
    for path, data in form_posts(site):
        response = client.post(path, data={**data, "csrf_token": token})
        assert response.status_code == 303 and response.headers["location"].startswith("/login"), path
    for path in api_reads(site):
        assert client.get(path).status_code == 401, path
    for path, body in api_posts(site):
        assert client.post(path, json=body, headers={"X-CSRF-Token": token}).status_code == 401, path
    assert client.get(f"/media/{'a' * 64}/thumb").status_code == 303


def test_a_viewer_reads_everything_and_changes_nothing(site):
    client, token = signed_in(site, "viewer")
    for path in reads(site):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
    for path in api_reads(site):
        assert client.get(path).status_code == 200, path
    queue_html = client.get("/queue?campaign=siegen").text
    assert 'action="/queue/action"' not in queue_html, "viewers get no action buttons"
    for path, data in form_posts(site):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    for path, body in api_posts(site):
        assert client.post(path, json=body, headers={"X-CSRF-Token": token}).status_code == 403, path
    with site.engine.connect() as connection:
        assert queue.counts(connection, "siegen")["siegen"]["pending"] == 6
        assert connection.execute(Draft.__table__.select()).first().text == "Entwurf"


@pytest.mark.parametrize("role", ["moderator", "admin"])
def test_moderators_and_admins_change_with_a_csrf_token_only(site, role):
    client, token = signed_in(site, role)
    for path in reads(site):
        assert client.get(path, follow_redirects=True).status_code == 200, path
    for path, data in form_posts(site):
        assert client.post(path, data=data).status_code == 403, f"{path} without token"
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 403, f"{path} with a forged token"
    for path, body in api_posts(site):
        assert client.post(path, json=body).status_code == 403, f"{path} without header"
        assert client.post(path, json=body, data=None, headers={"X-CSRF-Token": "forged"}).status_code == 403
    with site.engine.connect() as connection:
        assert queue.counts(connection, "siegen")["siegen"]["pending"] == 6, "nothing changed without a token"
    for path, data in form_posts(site):
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 303, path
    for path, body in api_posts(site):
        assert client.post(path, json=body, headers={"X-CSRF-Token": token}).status_code == 200, path
    with site.engine.connect() as connection:
        events = queue.history(connection, "siegen", site.ids["p2"])
        draft = connection.execute(Draft.__table__.select()).first()
    assert events[-1]["actor"] == f"user:{role}" and events[-1]["to_state"] == "approved"
    assert (draft.text, draft.status, draft.edited_by) == ("Neuer Text für Familien", "discarded", role)


def test_csrf_is_checked_on_login_logout_and_language(site):
    client = make_client(site)
    client.get("/login")
    assert client.post("/login", data={"username": "admin", "password": "richtig-geheim-42"}).status_code == 403
    client, token = signed_in(site, "viewer")
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/lang", data={"lang": "en"}).status_code == 403
    assert client.get("/queue").status_code == 200, "still signed in"


def test_security_headers_on_every_kind_of_response(site):
    client, _ = signed_in(site, "viewer")
    anonymous = make_client(site)
    responses = [client.get("/queue"), client.get("/api/queue?campaign=siegen"), client.get("/static/app.js"),
                 client.get("/nowhere"), anonymous.get("/login"), anonymous.get("/api/queue"), client.get("/api/openapi.json")]
    for response in responses:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp and "object-src 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"


def test_session_cookie_is_signed_httponly_and_lax(site):
    client = make_client(site)
    token = csrf_of(client.get("/login").text)
    response = client.post("/login", data={"username": "viewer", "password": "richtig-geheim-42", "csrf_token": token})
    cookie = response.headers["set-cookie"].lower()
    assert "cw_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    value = client.cookies["cw_session"]
    client.cookies.set("cw_session", value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert client.get("/queue").status_code == 303, "a tampered cookie is no session"


def test_openapi_schema_describes_the_queue_and_drafts_api_only(site):
    schema = make_client(site).get("/api/openapi.json").json()
    assert set(schema["paths"]) == {"/api/queue", "/api/queue/counts", "/api/queue/decide", "/api/queue/undo",
                                    "/api/queue/{campaign}/{post_id}/history", "/api/drafts", "/api/drafts/{draft_id}",
                                    "/api/drafts/{draft_id}/status", "/api/drafts/{draft_id}/export"}
    assert {"DecideRequest", "StatusRequest", "DraftOut"} <= set(schema["components"]["schemas"])
    assert make_client(site).get("/docs").status_code == 404, "no interactive docs (they load a CDN)"


def test_only_an_admin_erases_a_person_from_the_web_app_with_token_and_confirmation(site):
    erase = {"author": "@autor_1", "platform": "", "confirm": "yes"}
    anonymous = make_client(site)
    assert anonymous.get("/privacy").status_code == 303
    for role in ("viewer", "moderator"):
        client, token = signed_in(site, role)
        assert client.get("/privacy").status_code == 403
        assert client.post("/privacy/erase", data={**erase, "csrf_token": token}).status_code == 403
        assert 'href="/privacy"' not in client.get("/campaigns").text
    client, token = signed_in(site, "admin")
    assert 'href="/privacy"' in client.get("/campaigns").text
    assert client.post("/privacy/erase", data=erase).status_code == 403
    assert client.post("/privacy/erase", data={**erase, "confirm": "", "csrf_token": token}).status_code == 400
    refused = client.post("/privacy/erase", data={**erase, "author": "<script>", "csrf_token": token})
    assert refused.status_code == 400 and "kein Benutzername" in refused.text and "<script>" not in refused.text
    with site.engine.connect() as connection:
        assert queue.counts(connection, "siegen")["siegen"]["pending"] == 6

    done = client.post("/privacy/erase", data={**erase, "csrf_token": token})

    assert done.status_code == 303 and done.headers["location"] == "/privacy"
    page = client.get("/privacy").text
    assert "Löschung 1 erledigt: 1 Beitrag" in page and "web:admin" in page and "autor_1" not in page
    with site.engine.connect() as connection:
        assert queue.counts(connection, "siegen")["siegen"]["pending"] == 5
