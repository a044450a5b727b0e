"""Drafts: per audience and channel, German copy in the right tone, within the platforms' limits."""

from __future__ import annotations

from sqlalchemy import select

from campaign_worker.store.db import transaction
from campaign_worker.publish.drafts import Composer, compose, excerpt
from campaign_worker.store.ingest import store_posts
from campaign_worker.publish.limits import grapheme_len, image_problems
from campaign_worker.store.models import Draft, draft_table
from campaign_worker.moderation.queue import decide

from .helpers import post


def approve(ws, posts, campaign="siegen"):
    result = store_posts(ws.engine, campaign, "test", posts)
    with transaction(ws.engine) as connection:
        decide(connection, campaign, list(result.post_ids.values()), "approved", "maria")
    return result.post_ids


def drafts_of(ws):
    with ws.engine.connect() as connection:
        return connection.execute(select(draft_table).order_by(Draft.id)).all()


def test_tone_follows_the_audience(sqlite_workspace):
    siegen = sqlite_workspace.campaign("siegen")
    composer = Composer(sqlite_workspace.home, siegen)
    azubi = composer.compose(siegen.audience("azubis"), "instagram", "Erster Tag in der Ausbildung!", "lena", trusted=True)
    profi = composer.compose(siegen.audience("fachkraefte"), "instagram", "Neues Team, neue Stelle.", "lena", trusted=True)
    assert azubi.text.split("\n")[0] in ("Deine Ausbildung, deine Stadt! 👋", "Ausbildung mit Aussicht – hier bei uns. 🚀",
                                          "Hier lernst du mehr als einen Beruf. 💪", "Dein Start ins Berufsleben kann genau hier beginnen.")
    assert "Sie" not in azubi.text.split("\n")[0] and "Finde deinen" in azubi.text
    assert "finden Sie hier" in profi.text  # the first opening for variant 0
    assert azubi.text.endswith("#MeinHerzTraegtKrone #Siegen #Siegerland")  # readable CamelCase
    assert azubi.problems == ()


def test_hashtags_are_capped_and_folded(sqlite_workspace):
    pflege = sqlite_workspace.campaign("medizin-pflege")
    composed = Composer(sqlite_workspace.home, pflege).compose(pflege.audience("pflege"), "instagram", "Nachtschicht.", None, trusted=False)
    assert composed.hashtags == ("MedizinUndPflege", "Suedwestfalen", "Pflege")
    assert "@" not in composed.text and "unserer Community" not in composed.text and "„Nachtschicht.“\n" in composed.text
    assert any("Bildrechte" in p for p in composed.problems)


def test_long_captions_are_cut_to_the_instagram_limit_counting_emoji_once(sqlite_workspace):
    siegen = sqlite_workspace.campaign("siegen")
    composer = Composer(sqlite_workspace.home, siegen)
    caption = ("Siegen im Herbst 🍂 " * 400).strip()
    composed = composer.compose(siegen.audience("familien"), "instagram", caption, "lena", trusted=True)
    assert grapheme_len(composed.text) <= 2200
    assert "Leben mit Familie in Siegen" in composed.text  # the call to action survives
    assert grapheme_len("🍂👨‍👩‍👧") == 2


def test_excerpt_drops_tags_and_mentions():
    assert excerpt("Blick vom Siegberg @anna #meinherztraegtkrone #siegen") == "Blick vom Siegberg"


def test_image_aspect_is_checked_for_instagram():
    assert image_problems("instagram", 1080, 1350) == []
    assert "Seitenverhältnis 0,56" in image_problems("instagram", 1080, 1920)[0]
    assert image_problems("facebook", 1080, 1920) == []


def test_compose_is_idempotent_and_keeps_edits(sqlite_workspace):
    ids = approve(sqlite_workspace, [post(1, "Erster Ausbildungstag bei der AWO #meinherztraegtkrone", author="awo_siegen")])
    first = compose(sqlite_workspace)
    assert first["created"] == 3  # azubis on instagram, facebook, linkedin
    rows = drafts_of(sqlite_workspace)
    assert {(r.audience, r.channel) for r in rows} == {("azubis", c) for c in ("instagram", "facebook", "linkedin")}
    assert all(r.problems == [] for r in rows)  # partner: no rights problem
    with transaction(sqlite_workspace.engine) as connection:
        connection.execute(draft_table.update().where(Draft.id == rows[0].id).values(text="Von Hand", edited_by="maria"))
    again = compose(sqlite_workspace, refresh=True)
    assert again["created"] == 0 and again["refreshed"] == 2 and again["kept"] == 1
    assert drafts_of(sqlite_workspace)[0].text == "Von Hand"
    assert list(ids.values())


def test_post_without_audience_gets_one_general_draft_per_channel(sqlite_workspace):
    approve(sqlite_workspace, [post(2, "Abendrot über dem Krönchen")])
    assert compose(sqlite_workspace, ["siegen"])["created"] == 3
    assert {r.audience for r in drafts_of(sqlite_workspace)} == {"alle"}


def test_shortlist_is_one_draft_per_post_and_channel_and_all_on_request(sqlite_workspace):
    approve(sqlite_workspace, [post(3, "Ausbildungsstart: unsere neuen Azubis lernen in der Berufsschule und im Betrieb. Und ihre Familien? "
                                       "Die Kinder spielen in der Kita nebenan, am Wochenende geht es zum Familienausflug in den Zoo.",
                                    author="datasec_siegen")])
    assert compose(sqlite_workspace, ["siegen"])["created"] == 3
    assert {r.audience for r in drafts_of(sqlite_workspace)} == {"azubis"}  # the primary audience only
    more = compose(sqlite_workspace, ["siegen"], audiences="all")
    assert more["created"] == 3 and more["kept"] == 3  # familien added, azubis untouched
    assert {r.audience for r in drafts_of(sqlite_workspace)} == {"azubis", "familien"}
    assert compose(sqlite_workspace, ["siegen"], audiences="all")["created"] == 0  # never duplicates


def test_every_template_keeps_its_paragraphs(sqlite_workspace):
    for slug in ("siegen", "medizin-pflege"):
        campaign = sqlite_workspace.campaign(slug)
        composer = Composer(sqlite_workspace.home, campaign)
        for audience in campaign.audiences:
            for channel in ("instagram", "linkedin"):
                text = composer.compose(audience, channel, "Ein schöner Tag.", "lena", trusted=True).text
                paragraphs = text.split("\n\n")
                assert len(paragraphs) == 4, (slug, audience.key, channel, text)
                assert ("https://" in text) == (channel != "instagram"), text  # Instagram: „Link in Bio“
                assert paragraphs[1].startswith("„Ein schöner Tag.“")
                assert audience.cta_text in paragraphs[2]


def test_drafts_list_exports_json_and_csv(sqlite_workspace, capsys):
    import csv
    import io
    import json

    from campaign_worker.cli.main import main

    approve(sqlite_workspace, [post(1, "Erster Tag in der Ausbildung in Siegen!")])
    compose(sqlite_workspace, ["siegen"])
    capsys.readouterr()
    args = ["--home", str(sqlite_workspace.home.root), "drafts", "list", "-c", "siegen", "--channel", "instagram"]
    assert main([*args, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and {r["channel"] for r in rows} == {"instagram"} and isinstance(rows[0]["hashtags"], list)
    assert main([*args, "--format", "csv"]) == 0
    exported = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["id"] for r in exported] == [str(r["id"]) for r in rows]
    assert exported[0]["hashtags"] == " ".join(rows[0]["hashtags"])
    assert exported[0]["slot_at"] == rows[0]["slot_at"] and rows[0]["slot_at"].endswith(("+01:00", "+02:00"))
