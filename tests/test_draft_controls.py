"""The draft page's manager controls (audiences, focal point) and crops made at compose time."""

from __future__ import annotations

import re

from PIL import Image
from sqlalchemy import select

from campaign_worker.moderation.queue import decide
from campaign_worker.publish import crops as crops_module
from campaign_worker.publish.draft_crops import make_draft_crops
from campaign_worker.publish.drafts import compose
from campaign_worker.publish.limits import image_problems
from campaign_worker.publish.problems import ADDRESS, RIGHTS, TOO_LONG, UNKNOWN_AUTHOR
from campaign_worker.publish.problems import in_language as draft_problem
from campaign_worker.sources.storing import import_posts
from campaign_worker.store.db import transaction
from campaign_worker.store.models import audience_override_table

from .helpers import image_ref, post
from .test_drafts import drafts_of
from .web_support import add_accounts, signed_in

CAPTION = "Heute startet Jonas seine Ausbildung zum Mechatroniker bei uns – willkommen im Team! #meinherztraegtkrone"


def _post_with_picture(ws, tmp_path, caption=CAPTION, author="datasec_siegen") -> int:
    """An approved post whose picture is red on the left fifth and blue elsewhere (1600×800)."""
    path = tmp_path / "bild.jpg"
    picture = Image.new("RGB", (1600, 800), (20, 60, 200))
    picture.paste((220, 20, 20), (0, 0, 320, 800))
    picture.save(path, "JPEG", quality=92)
    summary = import_posts(ws, "siegen", "test", [post(1, caption, author=author, media=[image_ref(path)])])
    post_id = list(summary.post_ids.values())[0]
    with transaction(ws.engine) as connection:
        decide(connection, "siegen", [post_id], "approved", "maria")
    return post_id


def _by(ws):
    return {(r.audience, r.channel): r for r in drafts_of(ws)}


def test_compose_makes_the_channels_crops_decoding_each_picture_once(sqlite_workspace, tmp_path, monkeypatch):
    decodes = []
    real = crops_module.open_srgb
    monkeypatch.setattr(crops_module, "open_srgb", lambda *a, **k: decodes.append(a) or real(*a, **k))
    _post_with_picture(sqlite_workspace, tmp_path)
    counts = compose(sqlite_workspace, ["siegen"])
    assert counts["created"] == 3 and counts["cropped"] == 3 and len(decodes) == 1
    drafts = _by(sqlite_workspace)
    assert [c["ratio"] for c in drafts[("azubis", "instagram")].crops] == ["4x5", "1x1", "9x16"]
    assert [c["ratio"] for c in drafts[("azubis", "linkedin")].crops] == ["1.91x1", "1x1"]
    shared = {c["path"] for d in drafts.values() for c in d.crops if c["ratio"] == "1x1"}
    assert len(shared) == 1, "the channels of one post share their 1:1 crop"
    for crop in drafts[("azubis", "facebook")].crops:
        with Image.open(sqlite_workspace.home.root / crop["path"]) as made:
            assert made.size == (crop["width"], crop["height"]) and not made.getexif()
    assert make_draft_crops(sqlite_workspace, "siegen") == 0 and len(decodes) == 1  # nothing missing, nothing decoded
    (sqlite_workspace.home.root / drafts[("azubis", "instagram")].crops[0]["path"]).unlink()
    assert make_draft_crops(sqlite_workspace, "siegen") == 1 and len(decodes) == 2  # `drafts crops` re-makes what is gone


def test_a_manager_sets_the_audiences_on_the_draft_page_and_edited_drafts_stay(sqlite_workspace, tmp_path):
    post_id = _post_with_picture(sqlite_workspace, tmp_path)
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    client, token = signed_in(sqlite_workspace, "moderator")
    drafts = _by(sqlite_workspace)
    assert set(drafts) == {("azubis", c) for c in ("instagram", "facebook", "linkedin")}
    edited = drafts[("azubis", "linkedin")].id
    assert client.post(f"/drafts/{edited}", data={"text": "Von Hand geschrieben.", "csrf_token": token}).status_code == 303
    draft_id = drafts[("azubis", "instagram")].id
    page = client.get(f"/drafts/{draft_id}").text
    assert "<h2 id=\"audiences-heading\">Zielgruppen</h2>" in page and "automatisch erkannt" in page
    assert "<td>Auszubildende</td>" in page and "ausbildung" in page.lower()  # the matched word, with its score

    response = client.post(f"/drafts/{draft_id}/audiences",
                           data={"primary": "familien", "also": ["fachkraefte", "familien"], "csrf_token": token})
    assert response.status_code == 303
    drafts = _by(sqlite_workspace)
    assert set(drafts) == {("familien", c) for c in ("instagram", "facebook", "linkedin")} | {("azubis", "linkedin")}
    assert drafts[("azubis", "linkedin")].text == "Von Hand geschrieben."  # edited: never touched
    assert response.headers["location"] == f"/drafts/{drafts[('familien', 'instagram')].id}"
    page = client.get(response.headers["location"]).text
    assert "Zielgruppen gespeichert: Familien, Fachkräfte" in page and "von Hand festgelegt (moderator," in page
    assert "Änderungen der Zielgruppen" in page
    with sqlite_workspace.engine.connect() as connection:
        override = connection.execute(select(audience_override_table)).one()
    assert override.audiences == ["familien", "fachkraefte"] and override.set_by == "moderator"
    assert override.history[-1]["by"] == "moderator" and override.history[-1]["before"] == []

    familien_ig = drafts[("familien", "instagram")].id
    response = client.post(f"/drafts/{familien_ig}/audiences", data={"primary": "familien", "reset": "1", "csrf_token": token})
    assert response.status_code == 303
    assert {a for a, _ in _by(sqlite_workspace)} == {"azubis"}  # back to the matching
    with sqlite_workspace.engine.connect() as connection:
        override = connection.execute(select(audience_override_table)).one()
    assert override.audiences == [] and len(override.history) == 2  # the audit trail stays
    assert post_id == override.post_id


def test_bad_audience_input_gets_a_clear_error_and_needs_role_and_token(sqlite_workspace, tmp_path):
    _post_with_picture(sqlite_workspace, tmp_path)
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    draft_id = drafts_of(sqlite_workspace)[0].id
    viewer, token = signed_in(sqlite_workspace, "viewer")
    assert viewer.post(f"/drafts/{draft_id}/audiences", data={"primary": "familien", "csrf_token": token}).status_code == 403
    assert 'action="/drafts/%d/audiences"' % draft_id not in viewer.get(f"/drafts/{draft_id}").text
    client, token = signed_in(sqlite_workspace, "moderator")
    assert client.post(f"/drafts/{draft_id}/audiences", data={"primary": "familien"}).status_code == 403
    response = client.post(f"/drafts/{draft_id}/audiences", data={"primary": "<b>rentner</b>", "csrf_token": token})
    assert response.status_code == 400 and "Unbekannte Zielgruppe" in response.text and "<b>rentner" not in response.text
    assert client.post(f"/drafts/{draft_id}/audiences", data={"csrf_token": token}).status_code == 400
    assert "Traceback" not in response.text


def test_the_focal_point_is_set_by_click_or_numbers_and_the_crops_follow(sqlite_workspace, tmp_path):
    _post_with_picture(sqlite_workspace, tmp_path)
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    client, token = signed_in(sqlite_workspace, "moderator")
    drafts = _by(sqlite_workspace)
    draft_id = drafts[("azubis", "instagram")].id
    old_files = {sqlite_workspace.home.root / c["path"] for d in drafts.values() for c in d.crops}
    page = client.get(f"/drafts/{draft_id}").text
    assert 'type="image" name="spot"' in page and 'name="focal_x" min="0" max="1" step="0.01" value="0.50"' in page

    response = client.post(f"/drafts/{draft_id}/focal", data={"focal_x": "0,1", "focal_y": "0.5", "csrf_token": token})
    assert response.status_code == 303
    drafts = _by(sqlite_workspace)
    assert {(d.focal_x, d.focal_y) for d in drafts.values()} == {(0.1, 0.5)}  # the picture's point, for every channel
    story = drafts[("azubis", "instagram")].crops[2]
    assert story["ratio"] == "9x16" and "-0100-0500-" in story["path"]
    with Image.open(sqlite_workspace.home.root / story["path"]) as made:
        red, _g, blue = made.convert("RGB").getpixel((made.width // 2, made.height // 2))
    assert red > 150 and blue < 100, "the story crop sits on the red left edge"
    assert not [p for p in old_files if p.exists()], "crops of the old focal point are removed"
    assert "Fokuspunkt auf x 0,10 und y 0,50 gesetzt" in client.get(f"/drafts/{draft_id}").text

    response = client.post(f"/drafts/{draft_id}/focal", data={"spot.x": "432", "spot.y": "60", "spot_w": "480",
                                                            "spot_h": "240", "csrf_token": token})
    assert response.status_code == 303
    assert {(d.focal_x, d.focal_y) for d in _by(sqlite_workspace).values()} == {(0.9, 0.25)}

    for bad in ({"focal_x": "1.5", "focal_y": "0.5"}, {"focal_x": "abc", "focal_y": "0.5"}, {"focal_x": "", "focal_y": ""},
                {"spot.x": "900", "spot.y": "10", "spot_w": "480", "spot_h": "240"}, {"focal_x": "nan", "focal_y": "0.5"}):
        response = client.post(f"/drafts/{draft_id}/focal", data={**bad, "csrf_token": token})
        assert response.status_code == 400 and "zwischen 0 und 1" in response.text, bad
    assert client.post(f"/drafts/{draft_id}/focal", data={"focal_x": "0.5", "focal_y": "0.5"}).status_code == 403
    # New drafts of the post (another audience chosen) keep the picture's focal point and get their crops.
    assert client.post(f"/drafts/{draft_id}/audiences", data={"primary": "familien", "csrf_token": token}).status_code == 303
    drafts = _by(sqlite_workspace)
    assert {a for a, _ in drafts} == {"familien"} and {(d.focal_x, d.focal_y) for d in drafts.values()} == {(0.9, 0.25)}
    assert all(d.crops and "-0900-0250-" in d.crops[0]["path"] for d in drafts.values())


def test_a_broken_picture_costs_its_crops_not_the_compose_run(sqlite_workspace, tmp_path):
    _post_with_picture(sqlite_workspace, tmp_path)
    with sqlite_workspace.engine.connect() as connection:
        from campaign_worker.store.models import post_media_table

        sha = connection.execute(select(post_media_table.c.media_sha256)).scalar()
    sqlite_workspace.media.path_for(sha).write_bytes(b"\xff\xd8\xff\xe0 not a picture any more")
    counts = compose(sqlite_workspace, ["siegen"])
    assert counts["created"] == 3 and counts["cropped"] == 0
    assert all(d.crops == [] for d in drafts_of(sqlite_workspace))


def test_the_draft_page_speaks_the_viewers_language_and_shows_probabilities_as_percent(sqlite_workspace, tmp_path):
    _post_with_picture(sqlite_workspace, tmp_path)
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    client, token = signed_in(sqlite_workspace, "moderator")
    draft_id = _by(sqlite_workspace)[("azubis", "instagram")].id
    german = client.get(f"/drafts/{draft_id}").text
    assert ": Auszubildende · Instagram</h1>" in german and "<h2>Bildrechte</h2>" in german and "<strong>offen</strong>" in german and "erkennbare Personen: nein" in german
    assert ">Wahrscheinlichkeit<" in german and ">Punkte<" not in german
    shares = [int(v) for v in re.findall(r"<td>(\d+) %</td>", german)]
    assert shares and all(0 <= v <= 100 for v in shares), "the audience's probability as a percentage"
    assert "Darf geteilt werden: Beiträge von Partnern" in german and "(für die Bio)" in german  # a partner's post

    client.post("/lang", data={"lang": "en", "next": f"/drafts/{draft_id}", "csrf_token": token})
    english = client.get(f"/drafts/{draft_id}").text
    assert ": Apprentices · Instagram</h1>" in english and "<h2>Picture rights</h2>" in english and "<strong>open</strong>" in english and "recognisable people: no" in english
    assert ">Probability<" in english and "May be shared: a post by a partner" in english and "(for the bio)" in english
    assert '<span class="badge">Draft</span>' in english and "Set status: Ready" in english
    assert '<span class="badge">Entwurf</span>' in german and "Status setzen: Bereit" in german
    listing = client.get("/drafts").text
    assert '<span class="badge">Draft</span>' in listing and ">Ready</option>" in listing
    assert ">Apprentices</td>" in listing, "the campaign's own English audience label"
    assert "<span>Page 1</span>" in listing and "Seite" not in listing
    for german_word in ("Bildrechte", "Einwilligung", "Minderjährige", "Vorschau", "Zeichen", "Entwurf", "Bereit"):
        assert german_word not in english


def test_why_a_draft_may_not_be_shared_is_said_in_the_viewers_language(sqlite_workspace, tmp_path):
    # Not a partner, so permission is needed; a sunset speaks to no audience in particular.
    _post_with_picture(sqlite_workspace, tmp_path, caption="Abendrot über dem Krönchen 🌅 #meinherztraegtkrone", author="lena.sgn")
    compose(sqlite_workspace, ["siegen"])
    add_accounts(sqlite_workspace)
    client, token = signed_in(sqlite_workspace, "moderator")
    draft_id = _by(sqlite_workspace)[("alle", "instagram")].id
    german = client.get(f"/drafts/{draft_id}").text
    assert "Bildrechte nicht geklärt (Status: offen): Erlaubnis einholen und eintragen" in german
    client.post("/lang", data={"lang": "en", "next": f"/drafts/{draft_id}", "csrf_token": token})
    english = client.get(f"/drafts/{draft_id}").text
    assert "Picture rights not cleared (status: open): ask for permission and record it" in english
    assert ": All audiences · Instagram</h1>" in english and ": Alle Zielgruppen · Instagram</h1>" in german
    assert 'disabled title="Picture rights not cleared' in english, "the greyed-out button says why, too"
    rights = english[english.index('<section class="rights">'):]
    assert "Bildrechte" not in rights[:rights.index("</section>")]
    assert "<li>Clear the picture rights: ask @lena.sgn for permission before the post is shared</li>" in english
    assert "<li>Bildrechte klären: Erlaubnis von @lena.sgn einholen, bevor der Beitrag geteilt wird</li>" in german


def test_a_drafts_picture_problems_read_in_english_on_english_pages():
    problems = image_problems("instagram", 3000, 800) + image_problems("instagram", 200, 250)
    assert [draft_problem(p, "en") for p in problems] == [
        "Picture must be cropped: aspect ratio 3.75 is outside 4:5 to 1.91:1", "Picture too narrow: 200 px (at least 320 px)"]
    assert [draft_problem(p, "de") for p in problems] == problems
    assert draft_problem("Etwas Neues", "en") == "Etwas Neues", "an unknown problem is shown as stored"


def test_the_composers_other_problems_read_in_english_too():
    assert draft_problem(TOO_LONG.text(length=2301, limit=2200), "en") == "Text too long: 2301 of 2200 characters"
    assert draft_problem(ADDRESS.text(quote="du", draft="Sie"), "en") == "Check the form of address: the quote says „du“, the draft „Sie“"
    assert draft_problem(RIGHTS.text(who=UNKNOWN_AUTHOR), "en") == "Clear the picture rights: ask the author for permission before the post is shared"
    assert RIGHTS.text(who=UNKNOWN_AUTHOR) == "Bildrechte klären: Erlaubnis von der Urheberin oder dem Urheber einholen, bevor der Beitrag geteilt wird"
