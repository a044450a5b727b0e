"""The weekly digest a marketing lead reads on Monday: exact figures of a fixture week (week
boundaries in Berlin time, daylight saving, the trend), links that lead to existing pages,
template overrides, readable files, and the e-mail through a real SMTP server."""

from __future__ import annotations

import io
import re
import stat
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import func, select

from campaign_worker.config.worker import WebSettings
from campaign_worker.moderation.queue import decide
from campaign_worker.post import MediaRef, make_post
from campaign_worker.publish.digest import build_email, last_complete_week, render_due, render_week, send_week
from campaign_worker.publish.digest_figures import Week, gather, rule_label
from campaign_worker.publish.mailer import MailError
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import attach_media, store_posts
from campaign_worker.store.models import Digest, campaign_post_table, digest_delivery_table, draft_table
from campaign_worker.timeutil import utcnow
from tests.conftest import free_port

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = date(2026, 10, 5)  # KW 41


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).astimezone(timezone.utc)


def jpeg(colour) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), colour).save(buffer, "JPEG")
    return buffer.getvalue()


# (n, author, Berlin time, state, rule, likes, comments, audiences, extra hashtags)
FIXTURE = [
    (1, "awo_siegen", "2026-10-05T00:00", "approved", None, 40, 5, ["azubis"], "#ausbildung"),
    (2, "lena", "2026-10-06T12:00", "approved", None, 3, 1, ["familien"], "#familie #ausbildung"),
    (3, "tom", "2026-10-07T09:30", "pending", None, 10, 2, ["fachkraefte"], ""),
    (4, "spam_bot", "2026-10-08T18:00", "rejected", "spam.emoji", 100, 9, [], "#follow4follow"),
    (5, "datasec_siegen", "2026-10-11T23:59", "approved", None, 7, 0, ["fachkraefte"], "#karriere"),
    (6, "tom", "2026-10-12T00:00", "pending", None, 1, 0, [], ""),  # Monday 00:00: next week
    (7, "lena", "2026-09-28T10:00", "approved", None, 5, 0, [], ""),  # KW 40
    (8, "old_hand", "2026-10-04T23:59", "approved", None, 0, 0, [], ""),  # KW 40, Sunday 23:59
    (9, "x_early", "2026-09-23T10:00", "approved", None, 0, 0, [], ""),  # KW 39
]


def seed(ws, rows=FIXTURE):
    posts = [
        make_post(platform="instagram", external_id=f"C{n:05d}", author_username=author, posted_at=berlin(at),
                  caption=f"Beitrag {n} von {author} <script>alert({n})</script> #meinherztraegtkrone {tags}",
                  like_count=likes, comment_count=comments, permalink=f"https://www.instagram.com/p/C{n:05d}/",
                  media=[MediaRef(0, url="https://scontent.cdninstagram.com/x.jpg")] if n in (1, 2) else [])
        for n, author, at, state, rule, likes, comments, audiences, tags in rows
    ]
    ids = store_posts(ws.engine, "siegen", "test", posts).post_ids
    by_n = {n: ids[f"instagram:C{n:05d}"] for n, *_ in rows}
    with transaction(ws.engine) as connection:
        for n, colour in ((1, (200, 30, 30)), (2, (30, 30, 200))):
            if n in by_n:
                attach_media(connection, by_n[n], 0, ws.media.store_bytes(jpeg(colour)).as_row())
        for n, author, at, state, rule, likes, comments, audiences, tags in rows:
            decide(connection, "siegen", [by_n[n]], state, "maria")
            connection.execute(campaign_post_table.update().where(campaign_post_table.c.post_id == by_n[n])
                               .values(rule=rule, audiences=audiences))
    return by_n


def add_draft(ws, post_id, status="approved", text="Azubis gesucht! Komm zur AWO Siegen. #meinherztraegtkrone"):
    with transaction(ws.engine) as connection:
        return connection.execute(draft_table.insert().values(
            campaign="siegen", post_id=post_id, audience="azubis", channel="linkedin", text=text, hashtags=[],
            status=status, problems=[], created_at=berlin("2026-10-09T10:00"), updated_at=berlin("2026-10-09T10:00"))).inserted_primary_key[0]


def test_week_titles_and_boundaries_in_berlin_time():
    week = Week(MONDAY, BERLIN)
    assert week.title() == "KW 41 · 5.–11. Oktober 2026"
    assert Week(date(2026, 9, 28), BERLIN).title() == "KW 40 · 28. September – 4. Oktober 2026"
    assert Week(date(2025, 12, 29), BERLIN).title() == "KW 1 · 29. Dezember 2025 – 4. Januar 2026"
    assert week.title("en") == "Week 41 · 5–11 October 2026"
    assert week.start <= berlin("2026-10-11T23:59") < week.end <= berlin("2026-10-12T00:00")
    dst = Week(date(2026, 10, 19), BERLIN)  # clocks go back on Sunday, 25 October
    assert (dst.end - dst.start).total_seconds() == 169 * 3600
    assert dst.day_index(berlin("2026-10-25T23:30")) == 6
    assert berlin("2026-10-26T00:10") >= dst.end


def test_key_figures_of_the_fixture_week_against_the_previous_week(workspace):
    seed(workspace)
    digest = gather(workspace, workspace.campaign("siegen"), MONDAY)
    rows = {r.key: r for r in digest.rows}
    assert {k: rows[k].value for k in rows} == {
        "collected": 5, "approved": 3, "rejected": 1, "approval_rate": 0.75, "new_contributors": 4,
        "partner_share": 0.4, "likes": 60, "comments": 8}
    assert {k: rows[k].previous for k in rows} == {
        "collected": 2, "approved": 2, "rejected": 0, "approval_rate": 1.0, "new_contributors": 2,
        "partner_share": 0.0, "likes": 5, "comments": 0}
    assert rows["collected"].change == 3 and rows["approval_rate"].change == -25
    assert rows["collected"].trend == [0, 1, 2, 5]
    assert [w.number for w in digest.trend_weeks] == [38, 39, 40, 41]
    assert digest.per_day == [
        {"approved": 1, "open": 0, "rejected": 0}, {"approved": 1, "open": 0, "rejected": 0},
        {"approved": 0, "open": 1, "rejected": 0}, {"approved": 0, "open": 0, "rejected": 1},
        {"approved": 0, "open": 0, "rejected": 0}, {"approved": 0, "open": 0, "rejected": 0},
        {"approved": 1, "open": 0, "rejected": 0}]
    assert [p.author for p in digest.top_posts] == ["awo_siegen", "tom", "datasec_siegen", "lena"]
    # Community posts are highlighted too, the waiting one marked as such; rejected ones never.
    assert [(p.author, p.state) for p in digest.highlights] == [
        ("lena", "approved"), ("awo_siegen", "approved"), ("tom", "pending"), ("datasec_siegen", "approved")]
    assert digest.audiences == [("Fachkräfte", 2), ("Auszubildende", 1), ("Familien", 1)]
    assert digest.hashtags == [("ausbildung", 2), ("familie", 1), ("karriere", 1)]
    assert digest.partners_active == [("AWO Siegen", 1, 45), ("Datasec", 1, 7)]
    assert "Wahl Group" in digest.partners_silent and "AWO Siegen" not in digest.partners_silent
    assert digest.rejected_by_rule == [("Beschriftung fast nur aus Emojis", 1)]
    assert digest.pending_total == 1 and digest.pending[0].author == "tom"


def test_a_daylight_saving_week_counts_by_berlin_days(sqlite_workspace):
    seed(sqlite_workspace, [
        (1, "anna", "2026-10-19T00:00", "approved", None, 1, 0, [], ""),
        (2, "anna", "2026-10-25T02:30", "approved", None, 1, 0, [], ""),  # the doubled hour
        (3, "bert", "2026-10-25T23:59", "pending", None, 1, 0, [], ""),
        (4, "bert", "2026-10-26T00:00", "pending", None, 1, 0, [], ""),
    ])
    digest = gather(sqlite_workspace, sqlite_workspace.campaign("siegen"), date(2026, 10, 21))
    assert digest.week.title() == "KW 43 · 19.–25. Oktober 2026"
    assert digest.figures.collected == 3
    assert [sum(day.values()) for day in digest.per_day] == [1, 0, 0, 0, 0, 0, 2]


def test_an_empty_week_says_so(sqlite_workspace):
    rendered = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), date(2026, 11, 2))
    html = rendered.html_path.read_text(encoding="utf-8")
    assert "In dieser Woche kam kein Beitrag herein." in html
    assert "Wochenüberblick KW 45 · 2.–8. November 2026" in html
    assert rendered.counts["collected"] == 0
    assert "In dieser Woche kam kein Beitrag herein." in rendered.text_path.read_text(encoding="utf-8")


def test_page_is_german_escaped_self_contained_and_readable(sqlite_workspace):
    ids = seed(sqlite_workspace)
    add_draft(sqlite_workspace, ids[1])
    rendered = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY)
    html = rendered.html_path.read_text(encoding="utf-8")
    assert "<title>Wochenüberblick KW 41 · 5.–11. Oktober 2026 – Siegen – Mein Herz trägt Krone</title>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert html.count('src="data:image/jpeg;base64,') >= 2 and 'src="data:image/png;base64,' in html  # thumbnails, chart
    assert not re.search(r'src="(?!data:)', html) and "cdninstagram" not in html
    assert "Beschriftung fast nur aus Emojis" in html and "spam.emoji" not in html
    assert "LinkedIn" in html and "Linkedin" not in html
    assert "75\xa0%" in html and "−25 Pp." in html  # German percentages, change in percentage points
    assert "AWO Siegen" in html and "Wahl Group" in html  # active and silent partners by company name
    text = rendered.text_path.read_text(encoding="utf-8")
    for section in ("EMPFEHLUNGEN ZUM TEILEN", "ENTWÜRFE, BEREIT FÜR NÄCHSTE WOCHE", "WARTET AUF ENTSCHEIDUNG (1)",
                    "AUTOMATISCH ABGELEHNT", "PARTNER", "Datasec"):
        assert section in text
    index = rendered.html_path.parent / "index.html"
    assert '<a href="2026-W41.html">KW 41 · 5.–11. Oktober 2026</a>' in index.read_text(encoding="utf-8")
    for path in (rendered.html_path, rendered.text_path, index):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_links_lead_to_existing_pages_of_the_web_app(sqlite_workspace):
    from .web_support import add_accounts, signed_in

    ids = seed(sqlite_workspace)
    draft_id = add_draft(sqlite_workspace, ids[1])
    rendered = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY)
    html = rendered.html_path.read_text(encoding="utf-8")
    base = WebSettings().base_url
    links = sorted(set(re.findall(r'href="([^"]+)"', html)))
    app_links = [link.replace("&amp;", "&") for link in links if link.startswith(base)]
    assert f"{base}/posts/siegen/{ids[3]}" in app_links and f"{base}/drafts/{draft_id}" in app_links
    assert f"{base}/queue?campaign=siegen&state=pending&since=2026-10-05&until=2026-10-11" in app_links
    assert f"https://www.instagram.com/p/C{1:05d}/" in links  # the permalink
    add_accounts(sqlite_workspace)
    client, _ = signed_in(sqlite_workspace, "viewer")
    for link in app_links:
        response = client.get(link.removeprefix(base))
        assert response.status_code == 200, link
    queue_page = client.get(f"/queue?campaign=siegen&state=pending&since=2026-10-05&until=2026-10-11").text
    assert "Beitrag 3 von tom" in queue_page and "Beitrag 6 von tom" not in queue_page


def test_base_url_comes_from_worker_toml(sqlite_workspace):
    seed(sqlite_workspace)
    config = sqlite_workspace.home.root / "config"
    config.mkdir(exist_ok=True)
    (config / "worker.toml").write_text('[web]\nbase_url = "https://kampagne.example.org/app"\n', encoding="utf-8")
    html = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY).html_path.read_text(encoding="utf-8")
    assert 'href="https://kampagne.example.org/app/posts/siegen/' in html and "127.0.0.1:8000" not in html


def test_a_template_in_the_home_overrides_the_shipped_one(sqlite_workspace):
    seed(sqlite_workspace)
    folder = sqlite_workspace.home.root / "templates" / "digest"
    folder.mkdir(parents=True)
    (folder / "digest.txt.j2").write_text("Kurz: {{ w.title() }}, {{ d.figures.collected }} Beiträge\n", encoding="utf-8")
    rendered = render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY)
    assert rendered.text_path.read_text(encoding="utf-8") == "Kurz: KW 41 · 5.–11. Oktober 2026, 5 Beiträge\n"


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


def test_rule_names_are_translated():
    assert rule_label("duplicate.caption_copy") == "Text von einem anderen Konto kopiert"
    assert rule_label("blocklist.insult") == "Sperrliste: Beleidigung"
    assert rule_label("author.daily_cap", "en") == "Daily cap"


# --- e-mail ---------------------------------------------------------------------------------

def campaign_with(ws, **digest):
    siegen = ws.campaign("siegen")
    ws.campaigns["siegen"] = siegen.model_copy(update={"digest": siegen.digest.model_copy(update=digest)})
    return ws.campaigns["siegen"]


def test_one_message_per_recipient_with_headers_parts_and_inlined_tables(sqlite_workspace, smtp):
    ids = seed(sqlite_workspace)
    add_draft(sqlite_workspace, ids[1])
    siegen = campaign_with(sqlite_workspace, recipients=["lea@example.org", "max@example.org"], send_email=True)
    render_week(sqlite_workspace, siegen, MONDAY)
    assert send_week(sqlite_workspace, siegen, MONDAY, smtp.settings) == 2
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == ["lea@example.org", "max@example.org"]
    assert all(len(e.rcpt_tos) == 1 for e in smtp.envelopes)
    first, second = smtp.messages
    assert first["To"] != second["To"] and first["Message-ID"] != second["Message-ID"]
    for message in smtp.messages:
        assert message["Subject"] == "Wochenüberblick KW 41 – Siegen – Mein Herz trägt Krone"
        assert message["Date"].datetime.tzinfo is not None
        assert re.fullmatch(r"<[^<>@\s]+@example\.org>", message["Message-ID"])
        assert message["List-Unsubscribe"].startswith("<mailto:worker@example.org?subject=")
        plain = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for section in ("EMPFEHLUNGEN ZUM TEILEN", "Azubis gesucht!", "WARTET AUF ENTSCHEIDUNG (1)", "Beitrag 3 von tom",
                        "AUTOMATISCH ABGELEHNT", "Beschriftung fast nur aus Emojis", "Diese Woche still", "Datasec"):
            assert section.lower() in plain.lower() and section.lower() in html.lower(), section
        assert "<style" not in html and "display: grid" not in html and "display: flex" not in html
        assert 'style="' in html and "<table" in html
        images = {part["Content-ID"][1:-1]: part.get_content_type() for part in message.walk()
                  if part.get_content_maintype() == "image"}
        referenced = set(re.findall(r'src="cid:([^"]+)"', html))
        assert referenced == set(images) and sorted(images.values()) == ["image/jpeg", "image/jpeg", "image/png"]
    # A second send sends nothing.
    assert send_week(sqlite_workspace, siegen, MONDAY, smtp.settings) == 0 and len(smtp.messages) == 2


def test_a_refused_recipient_is_recorded_and_retried_alone(workspace, smtp):
    sqlite_workspace = workspace  # on SQLite and PostgreSQL
    seed(sqlite_workspace)
    campaign_with(sqlite_workspace, recipients=["lea@example.org", "voll@example.org"], send_email=True)
    monday_morning = datetime(2026, 10, 12, 6, 0, tzinfo=timezone.utc)
    smtp.refuse.add("voll@example.org")
    with pytest.raises(MailError, match="voll@example.org"):
        render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    with sqlite_workspace.engine.connect() as connection:
        rows = {r.recipient: (r.status, r.attempts) for r in connection.execute(select(digest_delivery_table))}
    assert rows == {"lea@example.org": ("sent", 1), "voll@example.org": ("failed", 1)}
    smtp.refuse.clear()
    retry = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert (retry["rendered"], retry["mailed"]) == (0, 1)
    assert [e.rcpt_tos for e in smtp.envelopes] == [["lea@example.org"], ["voll@example.org"]]
    again = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert again["mailed"] == 0 and len(smtp.messages) == 2


def test_an_unreachable_server_is_retried_by_the_next_run(sqlite_workspace, smtp):
    seed(sqlite_workspace)
    campaign_with(sqlite_workspace, send_email=True)
    monday_morning = datetime(2026, 10, 12, 6, 0, tzinfo=timezone.utc)
    unreachable = smtp.settings.model_copy(update={"port": free_port(), "timeout_seconds": 2})
    with pytest.raises(MailError):
        render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=unreachable)
    retry = render_due(sqlite_workspace, ["siegen"], now=monday_morning, smtp=smtp.settings)
    assert (retry["rendered"], retry["mailed"]) == (0, 1) and len(smtp.messages) == 1


def test_build_email_for_one_recipient(sqlite_workspace):
    seed(sqlite_workspace)
    message = build_email(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY, "worker@example.org")
    assert message["To"] == "marketing@example.org"
    assert message["Subject"] == "Wochenüberblick KW 41 – Siegen – Mein Herz trägt Krone"


def test_web_archive_names_weeks_and_labels_figures(sqlite_workspace):
    from .web_support import add_accounts, signed_in

    seed(sqlite_workspace)
    render_week(sqlite_workspace, sqlite_workspace.campaign("siegen"), MONDAY)
    add_accounts(sqlite_workspace)
    client, _ = signed_in(sqlite_workspace, "viewer")
    archive = client.get("/digests").text
    assert "KW 41 · 5.–11. Oktober 2026" in archive
    page = client.get("/digests/1").text
    assert "Freigabequote: 75 %" in page and "Gesammelt: 5" in page
    assert "by_state" not in page and "{" not in page.split("<main", 1)[-1].split("</main>", 1)[0]
