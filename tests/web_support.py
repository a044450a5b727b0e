"""Test data and helpers for the web UI tests: a workspace with posts, accounts and a signed-in client."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from fastapi.testclient import TestClient

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.moderation.verdict import Verdict
from campaign_worker.post import make_post
from campaign_worker.web.users import add_user
from campaign_worker.web import create_app
from campaign_worker.workspace import Workspace

PASSWORD = "richtig-geheim-42"
ROLES = ("viewer", "moderator", "admin")
START = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)
XSS_CAPTION = ('Schön hier #MeinHerzTraegtKrone <script>window.__pwned=1</script> '
               '<img src=x onerror="window.__pwned=2"> "quoted" & \'single\' #familie')
XSS_AUTHOR = '"><svg onload=alert(1)>'


def seed_posts(ws: Workspace, campaign: str = "siegen", count: int = 6, *, source: str = "archiv") -> dict[str, int]:
    """`count` posts one hour apart, held for review by a rule; returns external id → post id."""
    posts = [
        replace(make_post(
            platform="instagram",
            external_id=f"p{i}",
            caption=XSS_CAPTION if i == 0 else f"Wandern im Siegerland #meinherztraegtkrone #natur Beitrag {i}",
            posted_at=START + timedelta(hours=i),
            author_username=f"autor_{i}",
            permalink="javascript:window.__pwned=3" if i == 0 else f"https://www.instagram.com/p/p{i}/",
        ), author_username=XSS_AUTHOR if i == 0 else f"autor_{i}")  # stored before names were checked: still escaped
        for i in range(count)
    ]
    result = store_posts(ws.engine, campaign, source, posts)
    verdict = Verdict("review", "new_author", "Neuer Autor: erst prüfen", "New author: check first", ("autor",))
    with transaction(ws.engine) as connection:
        for key, post_id in result.post_ids.items():
            audiences = ["familien"] if key.endswith(("p0", "p2", "p4")) else ["fachkraefte"]
            queue.apply_rule_verdict(connection, campaign, post_id, verdict, audiences)
    return {key.split(":", 1)[1]: post_id for key, post_id in result.post_ids.items()}


def add_accounts(ws: Workspace) -> None:
    for role in ROLES:
        add_user(ws.engine, role, PASSWORD, role)


def make_client(ws: Workspace, **kwargs) -> TestClient:
    return TestClient(create_app(ws, secret="test-secret", **kwargs), follow_redirects=False)


def csrf_of(html: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token, "next": "/queue"})


def signed_in(ws: Workspace, role: str) -> tuple[TestClient, str]:
    client = make_client(ws)
    response = log_in(client, role)
    assert response.status_code == 303, response.text
    return client, csrf_of(client.get("/campaigns").text)
