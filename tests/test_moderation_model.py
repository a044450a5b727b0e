"""The learned part of moderation as a campaign manager meets it: campaign relevance, trust
levels, the vulgar policy, the shipped model (loaded offline) and retraining it from a seed."""

from __future__ import annotations

import json
import socket
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from campaign_worker.cli.main import main
from campaign_worker.config.campaigns import ConfigError, parse_campaign
from campaign_worker.home import Home
from campaign_worker.moderation.engine import Moderator
from campaign_worker.moderation.model import LABELS, MODEL_PATH, TextModel
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.cues import model_features
from campaign_worker.moderation.relevance import NO_SIGNALS, RelevanceRule, read_places
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.post import extract_hashtags

from .moderation_support import FixedModel

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "moderation"
NOON = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)
CLEAN = "Abendspaziergang vom Krönchen runter in die Oberstadt, die Sieg glitzert. Heimat ❤️ #meinherztraegtkrone"


def shipped(slug: str = "siegen", **moderation):
    campaign = parse_campaign(REPO / "config" / "campaigns" / f"{slug}.toml")
    if moderation:
        campaign = campaign.model_copy(update={"moderation": campaign.moderation.model_copy(update=moderation)})
    return campaign


def candidate(caption: str, author: str | None = "lena.sgn", n: int = 0) -> Candidate:
    return Candidate(f"t:{n}:{hash(caption)}", caption, author, tuple(extract_hashtags(caption)), NOON + timedelta(days=n))


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home")


# --- campaign relevance --------------------------------------------------------------------

def test_relevance_finds_region_themes_and_other_regions_tags():
    rule = RelevanceRule(shipped())
    local = rule.signals(normalize("Blick vom Krönchen auf die Uni Siegen, neue Kolleginnen im Team #meinherztraegtkrone").text)
    assert "kroenchen" in local.region and local.themes and local.own_tag and not local.elsewhere
    foreign = rule.signals(normalize("Sonnenuntergang am Strand 🌅 #meinherztraegtkrone #mallorca").text)
    assert foreign.foreign == ("mallorca",) and foreign.elsewhere and not foreign.on_topic
    # A word that merely starts like a place does not count ("Siegerin" is not "Siegen").
    assert not rule.signals(normalize("Die Siegerin des Turniers").text).region
    # The river counts, a victory does not.
    assert rule.signals(normalize("Abendspaziergang an der Sieg").text).region
    assert not rule.signals(normalize("Ein Sieg für das Klima! #sieg").text).region


def test_the_tag_posts_are_collected_by_is_no_evidence_of_the_region():
    rule = RelevanceRule(shipped("medizin-pflege"))
    tagged = rule.signals(normalize("Unsere Intensivstation an der Elbe sucht Verstärkung #medizinundpflege #südwestfalen").text)
    assert tagged.own_tag and not tagged.region, "every collected post carries #südwestfalen"
    named = rule.signals(normalize("Pflege in Südwestfalen: unser Team in Olpe #medizinundpflege").text)
    assert {"suedwestfalen", "olpe"} <= set(named.region)


def shipped_places() -> tuple[str, ...]:
    return read_places(REPO / "config" / "moderation" / "places.txt")


def test_a_post_naming_a_town_elsewhere_and_nothing_of_the_region_is_about_somewhere_else():
    rule = RelevanceRule(shipped(), shipped_places())
    open_day = rule.signals(normalize("Tag der offenen Tür am Uniklinikum in Gießen – Pflege mit Herz #meinherztraegtkrone").text)
    assert open_day.places == ("in Gießen",) and open_day.elsewhere
    assert "anderer Ort: in Gießen" in open_day.evidence()
    # The town's name is also a verb: alone it is no place.
    assert not rule.signals(normalize("Blumen gießen und dann ab zur Schicht").text).places
    # Naming the region outweighs any other place; a town next to the region counts neither way.
    assert not rule.signals(normalize("Von Hannover nach Siegen gezogen, beste Entscheidung").text).elsewhere
    nearby = rule.signals(normalize("Stadtfest in Olpe am Samstag #meinherztraegtkrone").text)
    assert not nearby.places and not nearby.region and not nearby.elsewhere
    # Without the list, only other regions' tags say "elsewhere".
    assert not RelevanceRule(shipped()).signals(normalize("Urlaub auf Mallorca").text).elsewhere


def test_the_places_elsewhere_come_from_a_file_the_user_can_replace(home):
    folder = home.root / "config" / "moderation"
    folder.mkdir(parents=True)
    (folder / "places.txt").write_text("# unsere Liste\nEntenhausen  # die Nachbarstadt\n", encoding="utf-8")
    moderator = Moderator(shipped(), home, auto_approve="all")
    outcome = moderator.evaluate(candidate("Sommerfest in Entenhausen, alle sind eingeladen 🎉"))
    assert outcome.decision == "review" and "anderer Ort: Entenhausen" in outcome.verdict.evidence
    assert moderator.evaluate(candidate("Sommerfest in Hannover, alle sind eingeladen 🎉", n=1)).decision == "approve"
    (folder / "places.txt").write_bytes("Köln\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="places.txt.*cannot read place list"):
        Moderator(shipped(), home)


def test_confident_holds_back_an_on_theme_post_about_another_town(home):
    moderator = Moderator(shipped(), home, auto_approve="confident")
    here = "Unsere Azubis in der Pflege haben heute ihr Examen bestanden, das ganze Team ist stolz 💙 #meinherztraegtkrone"
    assert moderator.evaluate(candidate(here)).decision == "approve"
    there = moderator.evaluate(candidate(here.replace("heute", "in Gießen heute"), n=1))
    assert there.decision == "review" and there.rule == "relevance.place"
    assert "anderer Ort: in Gießen" in there.verdict.evidence


def test_a_post_from_another_region_is_never_approved_and_says_why(home):
    moderator = Moderator(shipped(), home, auto_approve="all")
    outcome = moderator.evaluate(candidate("Traumhafter Sonnenuntergang heute 🌅 #meinherztraegtkrone #mallorca #urlaub"))
    assert outcome.decision in ("review", "reject")
    assert "Kein Bezug zur Kampagne" in outcome.verdict.reason_de


# --- trust levels ----------------------------------------------------------------------------

@pytest.mark.parametrize("level, decision", [("none", "review"), ("partners", "review"), ("confident", "approve"), ("all", "approve")])
def test_trust_level_decides_a_clean_on_topic_post_by_an_unknown_author(home, level, decision):
    outcome = Moderator(shipped(), home, auto_approve=level).evaluate(candidate(CLEAN))
    assert outcome.decision == decision
    assert 0.0 <= outcome.score <= 1.0
    if level == "confident":
        assert outcome.rule == "model.confident" and any(e.startswith("Bezug:") for e in outcome.verdict.evidence)


def test_confident_does_not_approve_a_post_without_a_word_of_the_campaign(home):
    moderator = Moderator(shipped(), home, auto_approve="confident")
    assert moderator.evaluate(candidate("Schöner Tag heute 🙂")).decision == "review"


def test_partner_posts_need_at_least_the_partners_level(home):
    post = candidate("Unser Team beim Firmenlauf in Siegen 🏃 #meinherztraegtkrone", author="awo_siegen")
    assert Moderator(shipped(), home).evaluate(post).decision == "approve"
    assert Moderator(shipped(), home, auto_approve="none").evaluate(post).decision == "review"


def test_old_trust_keys_are_read_as_levels_and_contradictions_are_named(tmp_path):
    def parse(moderation: str):
        path = tmp_path / "siegen.toml"
        path.write_text('name = "S"\nhashtags = ["x"]\n[[audiences]]\nkey = "a"\nlabel = "A"\n[moderation]\n' + moderation, encoding="utf-8")
        return parse_campaign(path).moderation

    assert parse("auto_approve_all = true\n").auto_approve == "all"
    assert parse("auto_approve_partners = false\n").auto_approve == "none"
    assert parse("auto_approve_partners = true\n").auto_approve == "partners"
    assert parse('auto_approve = "confident"\n').auto_approve == "confident"
    with pytest.raises(ConfigError) as error:
        parse('auto_approve = "confident"\nauto_approve_all = true\n')
    assert "keep only auto_approve" in str(error.value)
    with pytest.raises(ConfigError, match="auto_approve"):
        parse('auto_approve = "sometimes"\n')


# --- vulgar policy ------------------------------------------------------------------------

def test_vulgar_policy_review_or_reject(home):
    caption = "Scheißegal was alle sagen, Siegen ist schön"  # the model leans away from genuine, but is not sure
    assert Moderator(shipped(vulgar="review"), home).evaluate(candidate(caption)).decision == "review"
    rejected = Moderator(shipped(vulgar="reject"), home).evaluate(candidate(caption))
    assert (rejected.decision, rejected.rule) == ("reject", "blocklist.vulgar")
    # A partner's swear word is still only held for a person.
    assert Moderator(shipped(vulgar="reject"), home).evaluate(candidate(caption, author="awo_siegen")).decision == "review"
    # Praise with one swear word goes to a person under both policies.
    praise = "Scheiß auf den Regen, das Krönchen leuchtet trotzdem"
    assert {Moderator(shipped(vulgar=v), home).evaluate(candidate(praise)).decision for v in ("review", "reject")} == {"review"}


def test_vulgar_review_spares_the_word_not_a_post_the_model_rejects(home):
    """`review` keeps a swear word from deciding; the model still rejects what it would reject without it."""
    outcome = Moderator(shipped(vulgar="review"), home).evaluate(candidate("Die Parkplatzsituation am Klinikum ist echt scheiße"))
    assert (outcome.decision, outcome.rule) == ("reject", "model.profanity")
    assert outcome.verdict.evidence[0] == "scheiße"  # the word as written, then the model's words without it again
    assert "scheisse" not in outcome.verdict.evidence and outcome.verdict.evidence[-1].startswith("P(profanity) = ")
    # A partner's post is held for a person, never rejected.
    partner = Moderator(shipped(vulgar="review"), home).evaluate(candidate("Die Parkplatzsituation am Klinikum ist echt scheiße", author="awo_siegen"))
    assert partner.decision == "review"


# --- the account name ------------------------------------------------------------------------

def test_a_scam_accounts_name_tips_a_post_the_caption_leans_against(home):
    # The caption alone leans towards spam (0.7), the name takes it past the threshold (0.95).
    # A double, since each retraining moves which real caption sits just below the threshold.
    leaning = FixedModel(caption={"genuine": 0.3, "spam": 0.7}, genuine=0.05, spam=0.95)
    caption = "Interesse? Schreib mir 😉 #meinherztraegtkrone"
    unnamed = Moderator(shipped(), home, model=FixedModel(genuine=0.3, spam=0.7)).evaluate(candidate(caption, author=None))
    assert (unnamed.decision, unnamed.rule) == ("review", "model.spam")
    named = Moderator(shipped(), home, model=leaning).evaluate(candidate(caption, author="followers.kaufen.billig"))
    assert (named.decision, named.rule) == ("reject", "model.spam")
    assert named.verdict.evidence[0] == "Kontoname: followers.kaufen.billig"  # what tipped it comes first


def test_a_name_alone_holds_a_harmless_post_for_a_person_and_says_so(home):
    outcome = Moderator(shipped(), home).evaluate(candidate("Folgt uns für mehr! #meinherztraegtkrone", author="heimat.siegerland"))
    assert outcome.decision == "review" and outcome.rule == "model.hate"  # never a rejection on the name alone
    assert "Kontoname: heimat.siegerland" in outcome.verdict.evidence


@pytest.mark.parametrize("caption", [
    "Erster Arbeitstag in der Pflege im Kreisklinikum Siegen, tolles Team! #meinherztraegtkrone",
    "Meine Ausbildung als Elektronikerin beginnt im August in Kreuztal 💪 #meinherztraegtkrone",
    "Seit drei Jahren arbeite ich als Ingenieur in Siegen. Jetzt fühle ich mich zu Hause. #meinherztraegtkrone",
    "Sonntagsspaziergang am Oberen Schloss mit der ganzen Familie #meinherztraegtkrone",
])
def test_who_a_genuine_poster_seems_to_be_by_name_never_changes_the_decision(home, caption):
    names = [None, "lena_mueller", "tobias.krause", "mehmet.yilmaz", "olena.kovalenko", "ali_1990", "joao.silva.de",
             "nguyen.thi.lan", "dr.kwame.mensah", "ayse.kaya"]
    decisions = {name: Moderator(shipped(), home).evaluate(candidate(caption, author=name)).decision for name in names}
    assert set(decisions.values()) == {"approve"}, decisions


# --- spam on the tags as written -------------------------------------------------------------

def test_hashtag_stuffing_counts_repeated_tags(home):
    outcome = Moderator(shipped(), home).evaluate(candidate("Hallo " + "#a " * 5001))
    assert (outcome.decision, outcome.rule) == ("reject", "spam.hashtags")
    assert outcome.verdict.evidence[0].startswith("5001 Hashtags")


# --- the model ------------------------------------------------------------------------------

def test_the_shipped_model_loads_from_the_package_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the model must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    model = TextModel.load(MODEL_PATH)
    assert model.labels == LABELS
    text = normalize("Jetzt 5000€ pro Woche verdienen, schreib mir auf WhatsApp!").text
    prediction = model.predict(text, model_features(NO_SIGNALS, text))
    assert abs(sum(prediction.probabilities.values()) - 1) < 1e-6
    assert prediction.label == "spam" and prediction.evidence


def test_a_broken_model_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "model.npz"
    broken.write_bytes(b"not a model")
    with pytest.raises(Exception) as error:
        TextModel.load(broken)
    assert "moderate-train" in str(error.value)


def test_retraining_is_reproducible_from_a_seed(tmp_path):
    from campaign_worker.moderation.train import main as train

    rows = [json.loads(line) for line in (DATA / "dev.jsonl").read_text(encoding="utf-8").splitlines()[::8]]
    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    assert train(["--data", str(data), "--out", str(first), "--seed", "7"]) == 0
    assert train(["--data", str(data), "--out", str(second), "--seed", "7"]) == 0
    a, b = np.load(first), np.load(second)
    assert set(a.files) == set(b.files)
    for name in a.files:
        assert np.array_equal(a[name], b[name]), name
    retrained = TextModel.load(first)
    assert retrained.params["rows"] == len(rows) and retrained.params["seed"] == 7


# --- the CLI -------------------------------------------------------------------------------

def test_dry_run_lines_carry_score_and_audiences_and_try_a_trust_level(sqlite_workspace, tmp_path, capsys):
    source = tmp_path / "posts.jsonl"
    source.write_text(json.dumps({"id": "a", "caption": CLEAN + " Mit den Kindern zum Spielplatz.", "author": "tom"},
                                 ensure_ascii=False) + "\n", encoding="utf-8")
    home = str(sqlite_workspace.home.root)
    args = ["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source)]
    assert main(args) == 0  # the shipped campaign's own level, `confident`
    line = json.loads(capsys.readouterr().out)
    assert line["decision"] == "approve" and 0 <= line["score"] <= 1 and line["audiences"][0] == "familien"
    assert main(args + ["--auto-approve", "partners"]) == 0
    assert json.loads(capsys.readouterr().out)["decision"] == "review"
    assert main(args + ["--auto-approve", "sometimes"]) == 2
    assert "confident" in capsys.readouterr().err


# --- the held-out half: measured, never tuned on ----------------------------------------------

@pytest.mark.parametrize("half", ["holdout", "holdout_b", "holdout_c"])
def test_holdout_report(home, capsys, half):
    """Reports the figures on a half written apart from the code; asserts only the safety floor."""
    rows = [json.loads(line) for line in (DATA / f"{half}.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    moderators = {slug: Moderator(shipped(slug), home, auto_approve="confident") for slug in {r["campaign"] for r in rows}}
    decided = Counter()
    for n, row in enumerate(rows):
        outcome = moderators[row["campaign"]].evaluate(candidate(row["caption"], row.get("author"), n))
        decided[("genuine" if row["label"] == "genuine" else "junk", outcome.decision)] += 1
    rejected = decided[("junk", "reject")] + decided[("genuine", "reject")]
    with capsys.disabled():
        print(f"\n{half}: {dict(decided)}")
    assert rejected and decided[("junk", "reject")] / rejected >= 0.9
    assert decided[("junk", "approve")] / sum(v for (kind, _), v in decided.items() if kind == "junk") <= 0.05


def test_a_campaign_without_relevance_lists_never_rejects_a_post_as_off_topic(tmp_path, home):
    path = tmp_path / "neu.toml"
    path.write_text('name = "Neue Kampagne"\nhashtags = ["neuekampagne"]\n[[audiences]]\nkey = "a"\nlabel = "A"\n', encoding="utf-8")
    moderator = Moderator(parse_campaign(path), home, auto_approve="partners")
    for n, caption in enumerate(["Meine Kollegin besucht den Schlosspark – Tag 39 #neuekampagne",
                                 "Wir lieben den Wochenmarkt am Samstag #neuekampagne",
                                 "Unser Team feiert das Freibad 🌞 #neuekampagne"]):
        outcome = moderator.evaluate(candidate(caption, n=n))
        assert not (outcome.decision == "reject" and outcome.rule == "model.offtopic"), (caption, outcome.verdict)
    # Nor is any town "elsewhere" for it: the campaign has said nothing of where it is.
    assert not RelevanceRule(parse_campaign(path), shipped_places()).signals(normalize("Sommerfest in Hannover").text).elsewhere

