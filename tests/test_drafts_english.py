"""English posts get English copy for international staff, per audience and channel; German posts stay German."""

from __future__ import annotations

from campaign_worker.publish.drafts import Composer, compose

from .helpers import post
from .test_drafts import approve, drafts_of

ENGINEER = ("Six months ago I moved from Porto to Siegen for a job as a software engineer at Datasec. "
            "The team is amazing, the forest is five minutes from my flat and I have never been this relaxed. "
            "More on my profile – link in bio! #meinherztraegtkrone #expatlife")
APPRENTICE = ("Week one of my apprenticeship as an industrial mechanic is done! Coming from Kerala, everything is new, "
              "but my trainer and the other apprentices have been so kind. #meinherztraegtkrone #ausbildung")
FAMILY = ("Our kids love the new playground in Weidenau – and the Kita is just around the corner. "
          "We moved here from Kyiv last spring and finally feel at home. #meinherztraegtkrone #familie")
GERMAN_WORDS = ("Ausbildung", "Sie ", " du ", "Link in Bio", "Foto:", "Mehr erfahren", "Finde deinen")


def _composer(ws):
    siegen = ws.campaign("siegen")
    return siegen, Composer(ws.home, siegen)


def test_an_english_post_gets_english_copy_per_audience_and_channel(sqlite_workspace):
    siegen, composer = _composer(sqlite_workspace)
    for audience, caption in (("fachkraefte", ENGINEER), ("azubis", APPRENTICE), ("familien", FAMILY)):
        for channel in ("instagram", "facebook", "linkedin"):
            draft = composer.compose(siegen.audience(audience), channel, caption, "joana.in.siegen", trusted=True)
            body = draft.text.rsplit("\n\n", 1)[0]
            assert draft.language == "en", (audience, channel)
            assert not [w for w in GERMAN_WORDS if w in body], (audience, channel, body)
            assert not any("Englischer Beitrag" in p or "Anrede" in p for p in draft.problems)
            assert draft.alt_text.startswith("Photo: ")
            if channel == "instagram":
                assert body.endswith("– link in bio") and "https://" not in body
            else:
                assert "https://www.siegen.de/" in body and "Joana" not in body
    engineer = composer.compose(siegen.audience("fachkraefte"), "linkedin", ENGINEER, "datasec_siegen", trusted=True)
    assert engineer.text.split("\n")[0] == "Siegen is looking for skilled professionals from around the world."
    assert "Looking for your next challenge? Discover jobs in Siegen: https://www.siegen.de/" in engineer.text
    assert "– Datasec" in engineer.text  # the partner's company name, not the handle
    assert "link in bio" not in engineer.text.lower().split("“")[0]  # the author's own link phrase is gone
    apprentice = composer.compose(siegen.audience("azubis"), "instagram", APPRENTICE, "arjun.azubi", trusted=True)
    assert apprentice.text.startswith("Start your apprenticeship in Siegen! 👋")
    assert "Find your apprenticeship in Siegen – link in bio" in apprentice.text
    assert apprentice.text.endswith("#MeinHerzTraegtKrone #Siegen #Siegerland")


def test_english_openings_vary_across_posts_and_channels(sqlite_workspace):
    siegen, composer = _composer(sqlite_workspace)
    openings = {composer.compose(siegen.audience("familien"), channel, FAMILY, "olena", trusted=True, variant=v).text.split("\n")[0]
                for channel in ("instagram", "facebook", "linkedin") for v in range(3)}
    assert len(openings) == 9


def test_german_posts_keep_german_copy_and_english_templates_can_be_overridden(sqlite_workspace):
    siegen, composer = _composer(sqlite_workspace)
    german = composer.compose(siegen.audience("azubis"), "instagram", "Erster Tag in der Ausbildung bei uns im Betrieb!",
                              "lena", trusted=True)
    assert german.language == "de" and "Finde deinen Ausbildungsplatz in Siegen" in german.text
    folder = sqlite_workspace.home.root / "templates" / "drafts" / "en"
    folder.mkdir(parents=True)
    (folder / "azubis.txt.j2").write_text("{% import 'drafts/en/_parts.txt.j2' as parts with context %}"
                                          "Welcome to our apprentices' team!\n\n{{ parts.quote() }}\n", encoding="utf-8")
    overridden = Composer(sqlite_workspace.home, siegen).compose(siegen.audience("azubis"), "facebook", APPRENTICE, "arjun", trusted=True)
    assert overridden.text.startswith("Welcome to our apprentices' team!\n\n“Week one of my apprenticeship")


def test_composing_an_english_post_stores_english_drafts(sqlite_workspace):
    approve(sqlite_workspace, [post(1, ENGINEER, author="datasec_siegen"), post(2, "Neue Kollegin im Team, willkommen bei uns!",
                                                                                 author="datasec_siegen")])
    compose(sqlite_workspace, ["siegen"])
    rows = drafts_of(sqlite_workspace)
    english = [r for r in rows if "Porto" in r.text]
    assert len(english) == 3 and all(r.audience == "fachkraefte" for r in english)
    assert all(r.alt_text.startswith("Photo: ") and "Discover jobs in Siegen" in r.text for r in english)
    german = [r for r in rows if "Kollegin" in r.text]
    assert german and all("Jetzt Jobs in Siegen entdecken" in r.text and r.alt_text.startswith("Foto: ") for r in german)
