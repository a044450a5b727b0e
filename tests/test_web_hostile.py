"""The web app under hostile URLs and stolen cookies.

Every route, with ids 0, -1, 2⁶³, `abc` and 10,000 characters, as each role and anonymously:
never a 500, and a signed-in reader gets 404 for an id that names nothing. Sessions live on the
server: logout, a password change and removing the account make an old cookie worthless.
"""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from campaign_worker.web import api, pages
from campaign_worker.web.app import SESSION_COOKIE
from campaign_worker.web.users import remove_user, set_password

from .test_web_routes import site  # noqa: F401  (the fixture: posts, accounts, a draft, a digest)
from .web_support import PASSWORD, make_client, signed_in

BAD_IDS = ["0", "-1", str(2**63), str(10**30), "abc", "1.5", "x" * 10_000]
ROLES = ("viewer", "moderator", "admin")


def routes():
    """Every route and method; signing out comes last, or it would end the sweep's own session."""
    found = [(method, route.path) for router in (pages.router, api.router) for route in router.routes
             if isinstance(route, APIRoute) for method in route.methods]
    return sorted(found, key=lambda route: route[1] == "/logout")


def bad_urls(path: str) -> list[str]:
    """The route's path with each bad value in each place holder (the others valid)."""
    holders = re.findall(r"\{(\w+)\}", path)
    good = {"campaign": "siegen", "sha256": "a" * 64}
    urls = []
    for holder in holders:
        for bad in BAD_IDS:
            url = path
            for other in holders:
                url = url.replace("{" + other + "}", bad if other == holder else good.get(other, "1"))
            urls.append(url)
    return urls or [path + "?campaign=" + "x" * 10_000 + "&after=2026-11-02T09:00:00.000000~" + str(2**63)]


def send(client, method, url, token):
    if method == "GET":
        return client.get(url)
    if url.startswith("/api/"):
        return client.post(url, json={"campaign": "siegen", "post_ids": [2**63], "post_id": 2**63, "action": "later"},
                           headers={"X-CSRF-Token": token})
    return client.post(url, data={"csrf_token": token, "campaign": "siegen", "action": "approve", "post_ids": [str(2**63)],
                                  "text": "Neu", "status": "approved"})


@pytest.mark.parametrize("role", (None, *ROLES))
def test_no_url_answers_500(site, role):  # noqa: F811
    if role is None:
        client, token = make_client(site), ""
    else:
        client, token = signed_in(site, role)
    for method, path in routes():
        for url in bad_urls(path):
            response = send(client, method, url, token)
            assert response.status_code < 500, (role, method, url[:80], response.status_code)
            if role and method == "GET" and "{" in path and re.search(r"/(0|-1|\d{19,}|abc|1\.5)(/|$)", url):
                assert response.status_code == 404, (role, url[:80], response.status_code)
    for url in ("/" + "a" * 10_000, "/static/" + "a" * 10_000, "/posts/" + "%00" * 100 + "/1", "/api/" + "b" * 10_000):
        assert client.get(url).status_code in (303, 401, 404), url[:40]


def test_an_out_of_range_id_in_a_request_body_is_refused_not_a_crash(site):  # noqa: F811
    client, token = signed_in(site, "moderator")
    response = client.post("/api/queue/decide", json={"campaign": "siegen", "post_ids": [2**63], "action": "later"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 422
    response = client.post("/queue/action", data={"csrf_token": token, "campaign": "siegen", "action": "approve",
                                                  "post_ids": [str(2**63)]})
    assert response.status_code == 404


# --- sessions end on the server ----------------------------------------------------------------


def with_cookie(ws, cookie: str):
    client = make_client(ws)
    client.cookies.set(SESSION_COOKIE, cookie)
    return client


def test_logout_makes_the_old_cookie_worthless(site):  # noqa: F811
    client, token = signed_in(site, "moderator")
    other, _ = signed_in(site, "moderator")  # the same person in a second browser
    stolen = client.cookies[SESSION_COOKIE]
    assert with_cookie(site, stolen).get("/queue").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    response = with_cookie(site, stolen).get("/queue")
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert with_cookie(site, stolen).get("/api/queue?campaign=siegen").status_code == 401
    assert other.get("/queue").status_code == 200  # logging out in one browser leaves the other signed in


@pytest.mark.parametrize("change", ["password", "removal"])
def test_password_change_and_removal_end_every_session_of_the_account(site, change):  # noqa: F811
    client, _ = signed_in(site, "viewer")
    bystander, _ = signed_in(site, "moderator")
    stolen = client.cookies[SESSION_COOKIE]
    if change == "password":
        set_password(site.engine, "viewer", "ein-ganz-neues-passwort")
    else:
        remove_user(site.engine, "viewer")
    assert with_cookie(site, stolen).get("/queue").status_code == 303
    assert client.get("/drafts").status_code == 303
    assert bystander.get("/queue").status_code == 200
    if change == "password":
        fresh = make_client(site)
        from .web_support import log_in
        assert log_in(fresh, "viewer", PASSWORD).status_code == 401
        assert log_in(fresh, "viewer", "ein-ganz-neues-passwort").status_code == 303
