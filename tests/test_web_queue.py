"""The queue page and its actions as a campaign manager sees them."""

from __future__ import annotations

import re
from datetime import date

import pytest

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.store.models import Digest, Media, PostMedia
from campaign_worker.timeutil import utcnow
from campaign_worker.web.users import set_password
from campaign_worker.web.auth import LoginThrottle
from .web_support import add_accounts, csrf_of, log_in, make_client, seed_posts, signed_in

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"


@pytest.fixture
def site(sqlite_workspace):
    ws = sqlite_workspace
    ws.ids = seed_posts(ws)
    add_accounts(ws)
    return ws


@pytest.fixture
def any_site(workspace):
    """The same seeded site on SQLite and, when reachable, PostgreSQL."""
    workspace.ids = seed_posts(workspace)
    add_accounts(workspace)
    return workspace


def cards(html: str) -> list[str]:
    return re.findall(r'<article class="card[^"]*" id="post-(\d+)"', html)


def test_captions_and_names_are_escaped_and_hashtags_highlighted(site):
    client, _ = signed_in(site, "viewer")
    html = client.get("/queue?campaign=siegen").text
    assert "<script>window.__pwned" not in html and "<img src=x" not in html and "<svg onload" not in html
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&#34;window.__pwned=2&#34;&gt;" in html
    assert "@&#34;&gt;&lt;svg onload=alert(1)&gt;" in html
    assert '<a class="tag" href="/queue?campaign=siegen&amp;state=all&amp;hashtag=meinherztraegtkrone">#MeinHerzTraegtKrone</a>' in html
    assert "&#39;single&#39;" in html, "entities are not mistaken for hashtags"
    assert "javascript:" not in html, "only https permalinks become links"


def test_cards_show_reason_evidence_audience_time_and_source_in_german(site):
    client, _ = signed_in(site, "viewer")
    html = client.get("/queue?campaign=siegen").text
    assert '<html lang="de">' in html
    assert "Neuer Autor: erst prüfen" in html and '<code class="rule">new_author</code>' in html
    assert "<li>autor</li>" in html
    assert "Familien" in html and "Fachkräfte" in html
    assert "02.11.2026, 10:00:00" in html, "09:00 UTC shown as Berlin time (CET)"
    assert "Quelle: archiv" in html
    assert 'data-count="pending">6<' in html
    assert "Warteschlange" in html and ">Freigeben</button>" not in html, "viewers see no buttons"


def test_the_english_switch(site):
    client, token = signed_in(site, "moderator")
    response = client.post("/lang", data={"lang": "en", "next": "/queue?campaign=siegen", "csrf_token": token})
    assert response.headers["location"] == "/queue?campaign=siegen"
    html = client.get("/queue?campaign=siegen").text
    assert '<html lang="en">' in html and "Queue" in html and "Approve" in html
    assert "New author: check first" in html and "2 Nov 2026, 10:00:00" in html
    assert client.post("/lang", data={"lang": "de", "next": "https://evil.example/", "csrf_token": token}).headers["location"] == "/queue"


def test_thumbnails_come_from_the_local_store_only(site):
    sha = "ab" * 32
    thumb = site.home.media_dir / "thumbs" / f"{sha}.jpg"
    thumb.parent.mkdir(parents=True)
    thumb.write_bytes(JPEG)
    (site.home.data_dir / "secret.jpg").write_bytes(b"secret")
    with transaction(site.engine) as connection:
        connection.execute(Media.__table__.insert(), [
            {"sha256": sha, "status": "ok", "mime": "image/jpeg", "path": f"{sha}.jpg", "thumb_path": f"thumbs/{sha}.jpg", "created_at": utcnow()},
            {"sha256": "cd" * 32, "status": "ok", "mime": "image/jpeg", "path": "x.jpg", "thumb_path": "../secret.jpg", "created_at": utcnow()},
            {"sha256": "ef" * 32, "status": "rejected", "mime": "image/jpeg", "path": "y.jpg", "thumb_path": f"thumbs/{sha}.jpg", "created_at": utcnow()},
        ])
        connection.execute(PostMedia.__table__.update().where(PostMedia.__table__.c.post_id == site.ids["p5"]).values(media_sha256=sha))
        connection.execute(PostMedia.__table__.insert().values(post_id=site.ids["p5"], position=0, kind="image",
                                                               source_url="https://scontent.cdninstagram.com/x.jpg", media_sha256=sha))
    client, _ = signed_in(site, "viewer")
    html = client.get("/queue?campaign=siegen").text
    assert f'<img src="/media/{sha}/thumb"' in html
    assert not re.search(r'<img[^>]+src="(https?:)?//', html), "no picture from another host"
    assert "cdninstagram" not in html
    response = client.get(f"/media/{sha}/thumb")
    assert response.status_code == 200 and response.headers["content-type"] == "image/jpeg" and response.content == JPEG
    assert client.get(f"/media/{'cd' * 32}/thumb").status_code == 404, "paths outside the media folder are refused"
    assert client.get(f"/media/{'ef' * 32}/thumb").status_code == 404, "rejected media are not shown"
    assert client.get(f"/media/{'00' * 32}/thumb").status_code == 404
    assert client.get("/media/..%2Fsecret.jpg/thumb").status_code == 404


def test_single_bulk_and_undo_through_forms_name_the_user(site):
    client, token = signed_in(site, "moderator")
    ids = site.ids
    back = "/queue?campaign=siegen"
    response = client.post("/queue/action", data={"csrf_token": token, "campaign": "siegen", "action": "reject",
                                                  "post_ids": [str(ids["p1"])], "reason": "Werbung", "back": back})
    assert response.status_code == 303 and response.headers["location"] == back
    assert "1 Beitrag/Beiträge geändert." in client.get(back).text
    client.post("/queue/action", data={"csrf_token": token, "campaign": "siegen", "action": "reject",
                                       "post_ids": [str(ids["p2"]), str(ids["p3"])], "reason": "Spam", "back": back})
    client.post("/queue/action", data={"csrf_token": token, "campaign": "siegen", "action": "undo",
                                       "post_ids": [str(ids["p3"])], "back": back})
    with site.engine.connect() as connection:
        counts = queue.counts(connection, "siegen")["siegen"]
        trail = queue.history(connection, "siegen", ids["p1"])
        undone = queue.history(connection, "siegen", ids["p3"])
    assert counts["rejected"] == 2 and counts["pending"] == 4
    assert trail[-1]["actor"] == "user:moderator" and trail[-1]["reason_de"] == "Werbung"
    assert undone[-1]["actor"] == "user:moderator" and undone[-1]["to_state"] == "pending"
    html = client.get(back).text
    assert str(ids["p1"]) not in cards(html), "decided posts leave the pending view"
    history_page = client.get(f"/posts/siegen/{ids['p1']}").text
    assert "user:moderator" in history_page and "Werbung" in history_page


def test_the_json_api_decides_undoes_and_counts(any_site):
    client, token = signed_in(any_site, "moderator")
    p = any_site.ids
    response = client.post("/api/queue/decide", json={"campaign": "siegen", "post_ids": [p["p1"], p["p2"]], "action": "approve"},
                           headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    assert response.json()["counts"] == {"new": 0, "pending": 4, "approved": 2, "rejected": 0, "later": 0}
    assert [c["to_state"] for c in response.json()["changes"]] == ["approved", "approved"]
    response = client.post("/api/queue/undo", json={"campaign": "siegen", "post_id": p["p2"]}, headers={"X-CSRF-Token": token})
    assert response.json()["changes"][0]["to_state"] == "pending"
    bad = client.post("/api/queue/decide", json={"campaign": "siegen", "post_ids": [p["p1"]], "action": "delete"}, headers={"X-CSRF-Token": token})
    assert bad.status_code == 422
    missing = client.post("/api/queue/decide", json={"campaign": "siegen", "post_ids": [999999], "action": "approve"}, headers={"X-CSRF-Token": token})
    assert missing.status_code == 404
    unknown = client.post("/api/queue/decide", json={"campaign": "nirgendwo", "post_ids": [p["p1"]], "action": "approve"}, headers={"X-CSRF-Token": token})
    assert unknown.status_code == 404
    listing = client.get("/api/queue?campaign=siegen&state=approved").json()
    assert [e["post_id"] for e in listing["entries"]] == [p["p1"]] and listing["entries"][0]["decided_by"] == "user:moderator"


def test_keyset_pagination_and_filters(any_site):
    client, _ = signed_in(any_site, "viewer")
    p = any_site.ids
    first = client.get("/queue?campaign=siegen&limit=4").text
    assert cards(first) == [str(p[f"p{i}"]) for i in (5, 4, 3, 2)]
    next_url = re.search(r'<a href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).text
    assert cards(second) == [str(p["p1"]), str(p["p0"])] and 'rel="next"' not in second
    assert cards(client.get("/queue?campaign=siegen&audience=familien").text) == [str(p[f"p{i}"]) for i in (4, 2, 0)]
    assert cards(client.get("/queue?campaign=siegen&hashtag=%23Familie").text) == [str(p["p0"])]
    assert cards(client.get("/queue?campaign=siegen&q=Beitrag%203").text) == [str(p["p3"])]
    assert cards(client.get("/queue?campaign=siegen&q=autor_4").text) == [str(p["p4"])]
    assert cards(client.get("/queue?campaign=siegen&source=anderswo").text) == []
    assert len(cards(client.get("/queue?campaign=siegen&rule=new_author&source=archiv").text)) == 6
    assert cards(client.get("/queue?campaign=siegen&since=2026-11-02&until=2026-11-02").text) == [str(p[f"p{i}"]) for i in (5, 4, 3, 2, 1, 0)]
    assert cards(client.get("/queue?campaign=siegen&since=2026-11-03").text) == []
    assert client.get("/queue?campaign=siegen&state=erledigt").status_code == 400
    assert client.get("/queue?campaign=siegen&since=gestern").status_code == 400
    assert client.get("/queue?campaign=nirgendwo").status_code == 400
    assert client.get("/queue?campaign=siegen&after=kaputt").status_code == 400


def test_login_throttle_logout_and_password_change(site):
    client = make_client(site, throttle=LoginThrottle(limit=3, window=600))
    for _ in range(3):
        assert log_in(client, "moderator", "falsch-falsch").status_code == 401
    blocked = log_in(client, "moderator")
    assert blocked.status_code == 429 and "Zu viele Fehlversuche" in blocked.text
    assert log_in(client, "viewer").status_code == 303, "another name is not blocked"
    token = csrf_of(client.get("/queue").text)
    assert client.post("/logout", data={"csrf_token": token}).headers["location"] == "/login"
    assert client.get("/queue").status_code == 303
    other, _ = signed_in(site, "admin")
    assert other.get("/queue").status_code == 200
    set_password(site.engine, "admin", "ein-ganz-neues-passwort")
    assert other.get("/queue").status_code == 303, "a new password ends old sessions"
    assert log_in(make_client(site), "niemand", "egal-egal-egal").status_code == 401


def test_login_redirects_only_to_local_pages(site):
    client = make_client(site)
    token = csrf_of(client.get("/login?next=//evil.example/x").text)
    response = client.post("/login", data={"username": "viewer", "password": "richtig-geheim-42", "csrf_token": token,
                                           "next": "https://evil.example/"})
    assert response.headers["location"] == "/queue"


def test_digest_is_shown_sandboxed_and_only_from_the_data_folder(site):
    (site.home.output_dir / "w45.html").write_text("<h1>Woche 45</h1><script>alert(1)</script>", encoding="utf-8")
    outside = site.home.root.parent / "outside.html"
    outside.write_text("<h1>geheim</h1>", encoding="utf-8")
    with transaction(site.engine) as connection:
        connection.execute(Digest.__table__.insert(), [
            {"campaign": "siegen", "week_start": date(2026, 11, 2), "html_path": "w45.html", "counts": {}, "created_at": utcnow()},
            {"campaign": "siegen", "week_start": date(2026, 10, 26), "html_path": str(outside), "counts": {}, "created_at": utcnow()},
        ])
    client, _ = signed_in(site, "viewer")
    assert "KW 45 · 2.–8. November 2026" in client.get("/digests").text
    page = client.get("/digests/1").text
    assert '<iframe class="digest" src="/digests/1/html" sandbox' in page
    raw = client.get("/digests/1/html")
    assert raw.status_code == 200 and "Woche 45" in raw.text
    assert "sandbox" in raw.headers["content-security-policy"] and "script-src" not in raw.headers["content-security-policy"]
    assert client.get("/digests/2/html").status_code == 404
    assert "fehlt" in client.get("/digests/2").text


def test_a_template_in_the_users_folder_wins(site):
    custom = site.home.root / "templates" / "web"
    custom.mkdir(parents=True)
    (custom / "login.html").write_text('{% extends "web/base.html" %}{% block content %}<h1>Willkommen beim Landkreis</h1>'
                                       '{{ "<b>" }}{% endblock %}', encoding="utf-8")
    html = make_client(site).get("/login").text
    assert "Willkommen beim Landkreis" in html and "&lt;b&gt;" in html, "user templates are autoescaped too"


def test_catalogs_work_from_the_po_files_alone(tmp_path, monkeypatch):
    import shutil

    from campaign_worker.web import i18n

    copy = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, copy)
    for compiled in copy.rglob("*.mo"):
        compiled.unlink()
    monkeypatch.setattr(i18n, "LOCALE_DIR", copy)
    i18n.translations.cache_clear()
    try:
        assert i18n.gettext_for("de")("Reject") == "Ablehnen"
        assert i18n.gettext_for("en")("Reject") == "Reject"
    finally:
        i18n.translations.cache_clear()


def test_health_lists_jobs_with_last_and_next_run_and_sources(site):
    from datetime import datetime, timezone

    from campaign_worker.store.models import JobRun, SourceState

    with transaction(site.engine) as connection:
        connection.execute(JobRun.__table__.insert().values(
            job="kaputt", slot=datetime(2026, 11, 20, 7, tzinfo=timezone.utc), status="failed",
            started_at=datetime(2026, 11, 20, 7, tzinfo=timezone.utc), counts={}, error="Instagram antwortete 401 <b>"))
        connection.execute(SourceState.__table__.insert().values(
            key="siegen/insta/meinherztraegtkrone", campaign="siegen", source_id="insta", last_status="rate_limited",
            not_before=datetime(2026, 11, 22, 12, tzinfo=timezone.utc), extra={}))
    client, _ = signed_in(site, "viewer")
    html = client.get("/health").text
    assert "kaputt" in html and "fehlgeschlagen" in html and "20.11.2026, 08:00:00" in html
    assert "Instagram antwortete 401 &lt;b&gt;" in html
    assert "siegen/insta/meinherztraegtkrone" in html and "22.11.2026, 13:00:00" in html


def test_every_message_has_a_german_translation():
    from babel.messages.pofile import read_po

    from campaign_worker.web.i18n import LOCALE_DIR

    with (LOCALE_DIR / "de" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    assert [m.id for m in catalog if m.id and not m.string] == []


@pytest.mark.timeout(20)
def test_pages_do_not_wait_for_a_writer(site):
    from sqlalchemy import text

    client, _ = signed_in(site, "viewer")
    writer = site.engine.connect()
    writer.begin()  # BEGIN IMMEDIATE: holds SQLite's write lock, as a collector run does
    writer.execute(text("UPDATE campaign_post SET state = 'later' WHERE post_id = :id"), {"id": site.ids["p1"]})
    try:
        response = client.get("/queue?campaign=siegen")
        assert response.status_code == 200 and len(cards(response.text)) == 6, "the uncommitted change is not seen"
    finally:
        writer.rollback()
        writer.close()


def test_drafts_are_listed_edited_and_approved_escaped(site):
    from campaign_worker.store.models import Draft

    with transaction(site.engine) as connection:
        connection.execute(Draft.__table__.insert().values(
            campaign="siegen", post_id=site.ids["p1"], audience="azubis", channel="instagram",
            text="Komm nach Siegen!</textarea><script>window.__pwned=1</script>", hashtags=["siegen"],
            status="draft", problems=["Zu viele Hashtags (7 > 5)"], created_at=utcnow(), updated_at=utcnow()))
    client, token = signed_in(site, "moderator")
    listing = client.get("/drafts?campaign=siegen&status=draft").text
    assert "Komm nach Siegen!&lt;/textarea&gt;" in listing and "<script>window" not in listing
    page = client.get("/drafts/1").text
    assert "&lt;/textarea&gt;&lt;script&gt;" in page and "Zu viele Hashtags (7 &gt; 5)" in page
    assert client.post("/drafts/1", data={"csrf_token": token, "text": "   "}).status_code == 400
    client.post("/drafts/1", data={"csrf_token": token, "text": "Komm nach Siegen – mach deine Ausbildung hier."})
    assert client.post("/drafts/1/status", data={"csrf_token": token, "status": "approved"}).status_code == 409  # rights not cleared
    from campaign_worker.publish.rights import record

    with transaction(site.engine) as connection:
        record(connection, "siegen", site.ids["p1"], "moderator", status="granted")
    assert client.post("/drafts/1/status", data={"csrf_token": token, "status": "approved"}).status_code == 303
    assert client.post("/drafts/1/status", data={"csrf_token": token, "status": "published"}).status_code == 400
    assert "Bereit" in client.get("/drafts?status=approved").text
    assert client.get("/drafts/99").status_code == 404


def test_evidence_labels_follow_the_page_language(site):
    from campaign_worker.moderation.verdict import Verdict

    verdict = Verdict("review", "relevance.elsewhere", "Kein Bezug zur Kampagne", "No relation to the campaign",
                      ("Bezug: Krönchen", "fremde Kampagne: #pflegeinberlin", "Gegenrede: warnung", "anderer Ort: in giessen",
                       "Kontoname: followers.fabrik"))
    with transaction(site.engine) as connection:
        queue.apply_rule_verdict(connection, "siegen", site.ids["p1"], verdict, ["fachkraefte"], recheck=True)
    client, token = signed_in(site, "moderator")
    german = client.get("/queue?campaign=siegen").text
    assert "<li>Bezug: Krönchen</li>" in german and "<li>fremde Kampagne: #pflegeinberlin</li>" in german
    client.post("/lang", data={"lang": "en", "next": "/queue", "csrf_token": token})
    english = client.get("/queue?campaign=siegen").text
    assert "<li>Relation: Krönchen</li>" in english and "<li>other campaign: #pflegeinberlin</li>" in english
    assert "<li>counter-speech: warnung</li>" in english and "Bezug:" not in english
    assert "<li>place elsewhere: in giessen</li>" in english and "<li>anderer Ort: in giessen</li>" in german
    assert "<li>account name: followers.fabrik</li>" in english and "<li>Kontoname: followers.fabrik</li>" in german
