"""The weekly digest: German page and e-mail, escaped content, local pictures only."""

from __future__ import annotations

import io
from datetime import date, datetime, timezone

from PIL import Image
from sqlalchemy import func, select

from campaign_worker.store.db import transaction
from campaign_worker.publish.digest import build_email, last_complete_week, render_due, render_week
from campaign_worker.store.ingest import attach_media, store_posts
from campaign_worker.store.models import Digest
from campaign_worker.post import MediaRef
from campaign_worker.moderation.queue import decide

from .helpers import post

MONDAY = date(2026, 10, 5)


def jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), colour).save(buffer, "JPEG")
    return buffer.getvalue()


def seed(ws):
    posts = [
        post(1, "Feierabend am <script>alert(1)</script> Schlosspark #meinherztraegtkrone", author="awo_siegen",
             media=[MediaRef(0, url="https://scontent.cdninstagram.com/x.jpg")], like_count=40),
        post(2, "Familienausflug auf den Giersberg", author="lena", like_count=3),
        post(3, "Wer weiß mehr?", author="tom"),
        post(200, "Nächste Woche", author="tom"),
    ]
    ids = store_posts(ws.engine, "siegen", "test", posts).post_ids
    stored = ws.media.store_bytes(jpeg((200, 30, 30)))
    with transaction(ws.engine) as connection:
        attach_media(connection, ids["instagram:C00001"], 0, stored.as_row())
        decide(connection, "siegen", [ids["instagram:C00001"], ids["instagram:C00002"]], "approved", "maria")
        decide(connection, "siegen", [ids["instagram:C00003"]], "pending", "maria")
    return ids


def test_page_is_german_escaped_and_self_contained(sqlite_workspace):
    seed(sqlite_workspace)
    rendered = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY)
    html = rendered.html_path.read_text(encoding="utf-8")
    assert "Montag, 5. Oktober bis Sonntag, 11. Oktober 2026" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "data:image/jpeg;base64," in html
    assert "cdninstagram" not in html and "http://" not in html
    assert rendered.counts["collected"] == 3 and rendered.counts["by_state"]["approved"] == 2
    assert "@awo_siegen" in html and "Partner" in html
    assert "Wer weiß mehr?" in html  # waiting for a decision
    text = rendered.text_path.read_text(encoding="utf-8")
    assert "WARTET AUF ENTSCHEIDUNG" in text and "@tom" in text
    index = (rendered.html_path.parent / "index.html").read_text(encoding="utf-8")
    assert "2026-W41.html" in index


def test_rendering_again_replaces_the_week(sqlite_workspace):
    seed(sqlite_workspace)
    siegen = sqlite_workspace.campaign("siegen")
    render_week(sqlite_workspace, siegen, MONDAY)
    render_week(sqlite_workspace, siegen, date(2026, 10, 8))  # any day of the same week
    with sqlite_workspace.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(Digest)).scalar_one() == 1


def test_render_due_takes_the_last_complete_week_once(sqlite_workspace):
    seed(sqlite_workspace)
    siegen = sqlite_workspace.campaign("siegen")
    monday_morning = datetime(2026, 10, 12, 6, 0, tzinfo=timezone.utc)  # 08:00 in Berlin
    assert last_complete_week(siegen, monday_morning) == MONDAY
    assert render_due(sqlite_workspace, ["siegen"], now=monday_morning)["rendered"] == 1
    assert render_due(sqlite_workspace, ["siegen"], now=monday_morning)["rendered"] == 0


def test_email_carries_text_html_and_inline_pictures(sqlite_workspace):
    seed(sqlite_workspace)
    message = build_email(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY, "digest@example.org")
    assert message["Subject"] == "Siegen – Mein Herz trägt Krone: Wochenüberblick 2026-W41"
    assert message["To"] == "marketing@example.org"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "EMPFEHLUNGEN ZUM TEILEN" in plain
    assert 'src="cid:' in html and "data:image" not in html
    images = [part for part in message.walk() if part.get_content_type() == "image/jpeg"]
    assert len(images) == 1 and images[0]["Content-ID"]


def mailing(ws):
    siegen = ws.campaign("siegen")
    ws.campaigns["siegen"] = siegen.model_copy(update={"digest": siegen.digest.model_copy(update={"send_email": True})})


def test_digest_is_mailed_once_to_the_recipients(sqlite_workspace, smtp):
    seed(sqlite_workspace)
    mailing(sqlite_workspace)
    monday_morning = datetime(2026, 10, 12, 6, 0, tzinfo=timezone.utc)
    result = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert (result["rendered"], result["mailed"]) == (1, 1)
    (message,) = smtp.messages
    assert smtp.envelopes[0].rcpt_tos == ["marketing@example.org"]
    assert "Wochenüberblick 2026-W41" in message["Subject"]
    assert [p.get_content_type() for p in message.walk() if p.get_content_maintype() == "image"] == ["image/jpeg"]
    again = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert (again["rendered"], again["mailed"]) == (0, 0) and len(smtp.messages) == 1


def test_a_failed_mail_is_sent_on_the_next_run(sqlite_workspace, smtp):
    import pytest

    from campaign_worker.publish.mailer import MailError
    from tests.conftest import free_port

    seed(sqlite_workspace)
    mailing(sqlite_workspace)
    monday_morning = datetime(2026, 10, 12, 6, 0, tzinfo=timezone.utc)
    unreachable = smtp.settings.model_copy(update={"port": free_port(), "timeout_seconds": 2})
    with pytest.raises(MailError):
        render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=unreachable)
    retry = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert (retry["rendered"], retry["mailed"]) == (0, 1) and len(smtp.messages) == 1
