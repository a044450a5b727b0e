"""Audience matching, cleaned quotes, crops, rights gating, posting slots and exports of drafts."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import Image

from campaign_worker.cli.main import main
from campaign_worker.moderation.audiences import match_audiences
from campaign_worker.publish.crops import MIN_WIDTH, SIZES, crop_box, make_crops
from campaign_worker.publish.drafts import Composer, compose, edit_draft, list_drafts
from campaign_worker.publish.export import guard_cell, render
from campaign_worker.publish.limits import CHANNELS, cut, grapheme_len
from campaign_worker.publish.quotes import clean_quote
from campaign_worker.publish.rights import RightsNotCleared, record
from campaign_worker.publish.slots import upcoming
from campaign_worker.store.db import reading, transaction

from .helpers import post
from .test_drafts import approve, drafts_of
from .web_support import add_accounts, signed_in

BERLIN = ZoneInfo("Europe/Berlin")


# --- audiences --------------------------------------------------------------------------

def keys(campaign, caption):
    return [m.key for m in match_audiences(campaign, caption)]


def test_compound_head_decides_and_umlaut_spellings_match(sqlite_workspace):
    pflege = sqlite_workspace.campaign("medizin-pflege")
    assert keys(pflege, "Erster Tag in der Pflegeausbildung in Olpe!")[0] == "azubis"  # head „ausbildung“, not „pflege“
    assert keys(pflege, "Neue Assistenzärztin in der Inneren")[0] == "aerzte"
    assert keys(pflege, "Neue Assistenzaerztin in der Inneren")[0] == "aerzte"
    matches = match_audiences(pflege, "Nachtdienst auf der Intensivstation, alle Patienten stabil.")
    assert matches[0].key == "pflege" and "nachtdienst" in matches[0].words and 0.5 <= matches[0].score <= 1


def test_hashtags_alone_are_weak_and_english_posts_match(sqlite_workspace):
    siegen = sqlite_workspace.campaign("siegen")
    assert keys(siegen, "Abendrot über dem Krönchen #heimat #wandern #natur") == []
    assert keys(siegen, "Sonnenuntergang #job") == []  # one hashtag is not enough evidence
    assert keys(siegen, "Got my first job as a software engineer in Siegen!")[0] == "fachkraefte"
    assert keys(siegen, "Our kids love the new playground in Weidenau")[0] == "familien"


def test_a_managers_override_decides_the_drafts(sqlite_workspace, capsys):
    ids = approve(sqlite_workspace, [post(1, "Ausbildung zum Mechatroniker gestartet!", author="datasec_siegen")])
    post_id = list(ids.values())[0]
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "drafts", "audience", str(post_id), "-c", "siegen", "--set", "familien"]) == 0
    compose(sqlite_workspace, ["siegen"])
    assert {r.audience for r in drafts_of(sqlite_workspace)} == {"familien"}
    assert main(["--home", home, "drafts", "audience", str(post_id), "-c", "siegen", "--set", "rentner"]) == 2
    assert "Unbekannte Zielgruppe rentner" in capsys.readouterr().err


# --- copy -------------------------------------------------------------------------------

def test_quotes_lose_first_person_link_phrases_and_tags():
    quote = clean_quote("Tolle Aussicht! Mehr Infos auf unserer Website: https://x.example 👉 Link in Bio #meinherztraegtkrone @anna")
    assert quote.text == "Tolle Aussicht!" and quote.removed_links
    assert clean_quote("#a #b #c").text == ""
    assert clean_quote("Kommen Sie vorbei, wir freuen uns auf Sie!").address == "Sie"
    assert clean_quote("Bewirb dich jetzt bei uns!").address == "du"
    assert clean_quote("Day 3 in Siegen and I love this place, the people are so kind").language == "en"


def test_channel_copy_follows_its_conventions(sqlite_workspace):
    siegen = sqlite_workspace.campaign("siegen")
    composer = Composer(sqlite_workspace.home, siegen)
    caption = "Kommen Sie zu uns ins Team! Mehr auf unserer Website #jobs"
    insta = composer.compose(siegen.audience("azubis"), "instagram", caption, "datasec_siegen", trusted=True)
    linked = composer.compose(siegen.audience("azubis"), "linkedin", caption, "datasec_siegen", trusted=True)
    assert "Link in Bio" in insta.text and "https://" not in insta.text and insta.link == "https://www.siegen.de/"
    assert "@datasec_siegen" in insta.text and "– Datasec" in linked.text and "@" not in linked.text
    assert "https://www.siegen.de/" in linked.text and "Mehr auf unserer Website" not in linked.text
    assert any("Anrede prüfen" in p for p in insta.problems)  # Sie-quote in a du-draft
    empty = composer.compose(siegen.audience("familien"), "facebook", "#nurhashtags", None, trusted=True)
    assert "„“" not in empty.text and "unserer Community" not in empty.text and "\n\n\n" not in empty.text


def test_a_weeks_drafts_do_not_all_open_alike(sqlite_workspace):
    approve(sqlite_workspace, [post(n, f"Ausbildung zur Tischlerin, Woche {n}", author="datasec_siegen") for n in range(1, 8)])
    compose(sqlite_workspace, ["siegen"])
    openings = {r.text.split("\n")[0] for r in drafts_of(sqlite_workspace) if r.channel == "instagram"}
    assert len(openings) >= 2


@pytest.mark.parametrize("channel", ["instagram", "facebook", "linkedin"])
@pytest.mark.parametrize("piece", ["👨‍👩‍👧", "e\u0301", "🇩🇪"])
def test_every_limit_counts_graphemes_with_emoji_and_combining_marks(sqlite_workspace, channel, piece):
    siegen = sqlite_workspace.campaign("siegen")
    limit = CHANNELS[channel].max_chars
    caption = (piece + " ") * (limit // 2 + 50)
    composed = Composer(sqlite_workspace.home, siegen).compose(siegen.audience("familien"), channel, caption, "lena", trusted=True)
    assert grapheme_len(composed.text) <= limit
    assert grapheme_len(piece) == 1 and grapheme_len(cut(piece * 10, 5)) <= 5


# --- pictures ---------------------------------------------------------------------------

def test_crops_have_the_channel_sizes_and_no_metadata(tmp_path):
    source = tmp_path / "photo.jpg"
    exif = Image.Exif()
    exif[0x010F] = "Kamera GmbH"  # Make
    Image.new("RGB", (3000, 2000), (200, 30, 30)).save(source, exif=exif.tobytes())
    crops = make_crops(source, tmp_path / "out", "d1", "instagram", focal=(0.9, 0.5))
    assert [c.ratio for c in crops] == ["4x5", "1x1", "9x16"]
    for crop in crops:
        with Image.open(crop.path) as picture:
            assert picture.size == SIZES[crop.ratio] and picture.format == "JPEG" and picture.mode == "RGB"
            assert not picture.getexif() and "icc_profile" not in picture.info
    left, top, right, bottom = crop_box(3000, 2000, SIZES["4x5"], (0.9, 0.5))
    assert right == 3000 and top == 0 and abs((right - left) / (bottom - top) - 0.8) < 0.01  # focal point to the right


def test_a_small_picture_is_not_blown_up_but_kept_at_the_platforms_minimum_width(tmp_path):
    source = tmp_path / "small.jpg"
    Image.new("RGB", (640, 640), (20, 120, 60)).save(source)
    narrow = tmp_path / "narrow.jpg"
    Image.new("RGB", (200, 600), (20, 120, 60)).save(narrow)
    made = {c.ratio: c for c in make_crops(source, tmp_path / "out", "small", "instagram")}
    assert {r: (c.width, c.height) for r, c in made.items()} == {"4x5": (512, 640), "1x1": (640, 640), "9x16": (360, 640)}
    (square,) = [c for c in make_crops(narrow, tmp_path / "out", "narrow", "instagram") if c.ratio == "1x1"]
    for crop in [*made.values(), square]:
        with Image.open(crop.path) as picture:
            assert picture.size == (crop.width, crop.height)
    assert (square.width, square.height) == (MIN_WIDTH, MIN_WIDTH)  # 200 px wide: scaled up to what Instagram takes


# --- rights -----------------------------------------------------------------------------

def test_drafts_without_cleared_rights_cannot_be_ready_in_cli_and_library(sqlite_workspace, capsys):
    approve(sqlite_workspace, [post(1, "Ausbildung zur Tischlerin!", author="fremde.person")])
    compose(sqlite_workspace, ["siegen"])
    draft = drafts_of(sqlite_workspace)[0]
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "drafts", "ready", str(draft.id)]) == 2
    assert "Bildrechte nicht geklärt" in capsys.readouterr().err
    assert main(["--home", home, "drafts", "rights", str(draft.id)]) == 0
    assert "Dürfen wir es" in capsys.readouterr().out  # the request comment to paste
    assert main(["--home", home, "drafts", "rights", str(draft.id), "--status", "granted", "--minors", "--user", "maria"]) == 0
    with pytest.raises(RightsNotCleared, match="Minderjährige"), transaction(sqlite_workspace.engine) as connection:
        edit_draft(connection, draft.id, "maria", status="approved", ws=sqlite_workspace)
    assert main(["--home", home, "drafts", "rights", str(draft.id), "--consent", "--user", "maria"]) == 0
    assert "maria" in capsys.readouterr().out  # who answered, and when
    capsys.readouterr()
    assert main(["--home", home, "drafts", "ready", str(draft.id)]) == 0
    assert "1 Entwurf bereit" in capsys.readouterr().out
    with transaction(sqlite_workspace.engine) as connection:
        record(connection, "siegen", draft.post_id, "maria", status="declined")
    data, result = render(sqlite_workspace, "siegen", "json")
    assert json.loads(data) == [] and result.held_back[0][0] == draft.id  # declined later: not exported


def test_web_and_api_refuse_to_mark_uncleared_drafts_ready(sqlite_workspace):
    approve(sqlite_workspace, [post(1, "Ausbildung zur Tischlerin!", author="fremde.person")])
    compose(sqlite_workspace, ["siegen"])
    draft = drafts_of(sqlite_workspace)[0]
    add_accounts(sqlite_workspace)
    client, token = signed_in(sqlite_workspace, "moderator")
    response = client.post(f"/drafts/{draft.id}/status", data={"status": "approved", "csrf_token": token})
    assert response.status_code == 409 and "Bildrechte" in response.text
    assert drafts_of(sqlite_workspace)[0].status == "draft"


# --- slots and exports ------------------------------------------------------------------

def test_slots_keep_local_time_across_daylight_saving():
    after = datetime(2026, 10, 20, 12, 0, tzinfo=timezone.utc)
    slots = upcoming(["di 18:00"], BERLIN, after, 3)  # 20 Oct (CEST), 27 Oct and 3 Nov (CET)
    assert [s.astimezone(BERLIN).strftime("%d.%m. %H:%M") for s in slots] == ["20.10. 18:00", "27.10. 18:00", "03.11. 18:00"]
    assert [s.hour for s in slots] == [16, 17, 17]  # UTC moves, the wall clock does not


def test_exports_parse_back_and_guard_formulas(sqlite_workspace, tmp_path):
    from icalendar import Calendar

    approve(sqlite_workspace, [post(1, "=HYPERLINK(\"http://evil\") Ausbildung zur Tischlerin", author="datasec_siegen")])
    compose(sqlite_workspace, ["siegen"])
    with transaction(sqlite_workspace.engine) as connection:
        for row in list_drafts(connection, "siegen"):
            edit_draft(connection, row["id"], "maria", status="approved", ws=sqlite_workspace)
        edit_draft(connection, row["id"], "maria", text="=1+2 Formel am Anfang")
    rows = json.loads(render(sqlite_workspace, "siegen", "json")[0])
    assert len(rows) == 3 and all(r["slot"].endswith("Z") for r in rows)
    exported = list(csv.DictReader(io.StringIO(render(sqlite_workspace, "siegen", "csv")[0].decode())))
    assert [int(r["id"]) for r in exported] == [r["id"] for r in rows]
    assert any(r["text"] == "'=1+2 Formel am Anfang" for r in exported) and guard_cell("@x") == "'@x"
    bulk = list(csv.DictReader(io.StringIO(render(sqlite_workspace, "siegen", "ayrshare")[0].decode())))
    assert set(bulk[0]) == {"post", "platforms", "mediaUrls", "scheduleDate"} and {b["platforms"] for b in bulk} == {"instagram", "facebook", "linkedin"}
    calendar = Calendar.from_ical(render(sqlite_workspace, "siegen", "ics")[0])
    events = calendar.walk("VEVENT")
    assert len(events) == 3 and all(e.decoded("dtstart").tzinfo is not None for e in events)
    archive = zipfile.ZipFile(io.BytesIO(render(sqlite_workspace, "siegen", "zip")[0]))
    assert {"entwuerfe.csv", "entwuerfe.json", "entwuerfe.ics", "ayrshare.csv"} <= set(archive.namelist())


def test_drafts_page_filters_by_audience_and_channel_and_pages(sqlite_workspace, monkeypatch):
    from campaign_worker.web import pages

    approve(sqlite_workspace, [post(n, f"Ausbildung zur Tischlerin Nr. {n}", author="datasec_siegen") for n in range(1, 4)])
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    client, _ = signed_in(sqlite_workspace, "moderator")
    page = client.get("/drafts?campaign=siegen&audience=azubis&channel=linkedin").text
    assert page.count('href="/drafts/') == 3 and ">LinkedIn</td>" in page and ">Instagram</td>" not in page
    assert ">Auszubildende</td>" in page and ">azubis</td>" not in page  # labels, not keys
    monkeypatch.setattr(pages, "DRAFTS_PER_PAGE", 4)
    first, second = client.get("/drafts?campaign=siegen").text, client.get("/drafts?campaign=siegen&page=3").text
    assert first.count('href="/drafts/') == 4 and "page=2" in first
    assert second.count('href="/drafts/') == 1 and "page=2" in second and "page=4" not in second
