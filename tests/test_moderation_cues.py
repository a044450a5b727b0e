"""What the model reads besides n-grams (word families), how two agreeing signals reject, and
which data training accepts."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from campaign_worker.config.campaigns import parse_campaign
from campaign_worker.home import Home
from campaign_worker.moderation.cues import NAMES, countered_by, cue_features
from campaign_worker.moderation.engine import Moderator, analysis_text
from campaign_worker.moderation.model import LABELS
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.train import JUNK_FLOOR, LONG_POST_FLOORS, LONG_POST_WORDS, REJECT_FLOOR, load_training, thresholds, training_paths
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.post import extract_hashtags

from .moderation_support import FixedModel

REPO = Path(__file__).resolve().parent.parent
NOON = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)


def cues(caption: str) -> set[str]:
    return {name for name, value in zip(NAMES, cue_features(normalize(caption).text)) if value}


def test_word_families_group_what_a_post_talks_about():
    assert {"cue.people", "cue.hostile", "cue.people+hostile"} <= cues("Ausländer raus aus Siegen!!!")
    assert {"cue.people", "cue.hostile"} <= cues("A u s l ä n d e r   r a u s"), "spelling tricks are undone first"
    assert {"cue.money", "cue.contact", "cue.money+contact"} <= cues("Verdiene 500 € am Tag – schreib mir per WhatsApp")
    assert "cue.elsewhere" in cues("Endlich Urlaub auf Mallorca 🌴")
    assert cues("Krönchen im Gegenlicht. Mehr muss man nicht sagen.") == set()
    assert "cue.hostile" not in cues("Wir planen voraus und gehen heraus in die Natur"), "word starts only"


def moderator(tmp_path, model) -> Moderator:
    campaign = parse_campaign(REPO / "config" / "campaigns" / "siegen.toml")
    return Moderator(campaign, Home(tmp_path / "home"), model=model)


def post(caption: str, author: str = "lena.sgn") -> Candidate:
    return Candidate("t:1", caption, author, extract_hashtags(caption), NOON)


WEAK_SPAM = "Neue Kollektion im Shop 🛍️ Rabattcode SIEGEN10, Link in Bio! #meinherztraegtkrone"


@pytest.mark.parametrize("p_spam, decision", [(0.7, "reject"), (0.3, "review")])
def test_a_review_request_backed_by_the_model_rejects(tmp_path, p_spam, decision):
    outcome = moderator(tmp_path, FixedModel(genuine=1 - p_spam, spam=p_spam)).evaluate(post(WEAK_SPAM))
    assert outcome.decision == decision and outcome.rule.startswith("spam.")
    if decision == "reject":
        assert "(vom Modell bestätigt)" in outcome.verdict.reason_de
        assert f"P(spam) = {p_spam:.2f}" in outcome.verdict.evidence


def test_the_model_is_given_each_posts_account_name(tmp_path):
    seen: list = []

    class Recording(FixedModel):
        def predict_both(self, texts, extra, authors):
            seen.extend(authors)
            return super().predict_both(texts, extra, authors)

    model = Recording(genuine=0.99)
    moderator(tmp_path, model).evaluate_many([post("Krönchen im Abendlicht", author="lena.sgn"),
                                             Candidate("t:2", "Hallo Siegen", None, (), NOON)])
    assert seen == ["lena.sgn", None]


def test_an_account_name_never_condemns_a_post_on_its_own(tmp_path):
    caption = "Folgt uns für mehr! #meinherztraegtkrone"
    by_name = moderator(tmp_path, FixedModel(genuine=0.01, hate=0.99, caption={"genuine": 0.8, "hate": 0.1})).evaluate(post(caption))
    assert by_name.decision == "review" and by_name.rule == "model.hate"  # the model's doubt, for a person
    leaning = moderator(tmp_path, FixedModel(genuine=0.01, hate=0.99, caption={"genuine": 0.4, "hate": 0.55})).evaluate(post(caption))
    assert leaning.decision == "reject" and leaning.rule == "model.hate"  # the name tips what the caption leans to


def test_an_approval_rests_on_the_caption_alone(tmp_path):
    caption = "Krönchen im Abendlicht über Siegen #meinherztraegtkrone"
    trusted_name = FixedModel(genuine=0.999, caption={"genuine": 0.6, "offtopic": 0.4})
    assert moderator(tmp_path, trusted_name).evaluate(post(caption)).decision == "review"
    odd_name = FixedModel(genuine=0.7, spam=0.3, caption={"genuine": 0.999})
    approved = moderator(tmp_path, odd_name).evaluate(post(caption))
    assert approved.decision == "approve" and "P(genuine) = 1.00" in approved.verdict.evidence
    assert approved.score == 0.7  # the score shown counts the name against the post, never for it
    flattered = moderator(tmp_path, FixedModel(genuine=0.99, caption={"genuine": 0.8, "offtopic": 0.2})).evaluate(post(caption))
    assert flattered.score == 0.8


def test_a_partners_post_is_never_rejected_by_agreement(tmp_path):
    outcome = moderator(tmp_path, FixedModel(genuine=0.1, spam=0.9)).evaluate(post(WEAK_SPAM, author="awo_siegen"))
    assert outcome.decision == "review"


def test_hashtags_the_caption_shows_are_not_added_again_in_another_spelling():
    caption = "Krönchen im Abendlicht #MeinHerzTrägtKrone"
    shown = Candidate("t:2", caption, None, extract_hashtags(caption) + ("siegerland",), NOON)
    assert analysis_text(shown) == caption + "\n#siegerland"


def test_training_reads_every_file_but_the_holdout_and_maps_old_labels():
    paths = training_paths()
    assert all(p.is_file() for p in paths) and not any(p.name == "holdout.jsonl" for p in paths)
    rows = load_training(paths)
    assert {r["label"] for r in rows} == set(LABELS), "insult and sexual of the old corpus count as profanity"
    assert len({r["source"] for r in rows}) == len(paths)
    assert not any(p.name.startswith("holdout") for p in paths)
    for held_out in ("holdout.jsonl", "holdout_b.jsonl", "holdout_c.jsonl"):
        with pytest.raises(ValueError, match="only measured"):
            load_training([REPO / "tests" / "data" / "moderation" / held_out])


def test_training_data_with_an_account_name_that_is_not_text_is_refused(tmp_path):
    data = tmp_path / "odd.jsonl"
    data.write_text('{"id": "x-1", "caption": "Hallo Siegen", "label": "genuine", "author": 7}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="'author' must be a string .* in x-1"):
        load_training([data])


def medizin_moderator(tmp_path, model) -> Moderator:
    campaign = parse_campaign(REPO / "config" / "campaigns" / "medizin-pflege.toml")
    return Moderator(campaign, Home(tmp_path / "home"), model=model)


SCAM = "Anerkennung garantiert in 4 Wochen, Gebühr nur 2.500 €. Schreib uns auf WhatsApp! #medizinundpflege"
WARNING = "Achtung, Betrüger! Ein Account verspricht „Anerkennung garantiert gegen 2.500 €“. Bitte nicht zahlen. #medizinundpflege"


def test_a_post_warning_against_a_scam_goes_to_a_person_not_to_rejection(tmp_path):
    sure_spam = FixedModel(genuine=0.01, spam=0.99)
    assert medizin_moderator(tmp_path, sure_spam).evaluate(post(SCAM)).verdict.rule == "model.spam"
    assert medizin_moderator(tmp_path, sure_spam).evaluate(post(SCAM)).decision == "reject"
    warned = medizin_moderator(tmp_path, sure_spam).evaluate(post(WARNING))
    assert warned.decision == "review" and warned.verdict.reason_de.startswith("Möglicherweise Warnung oder Gegenrede, daher Prüfung: ")
    assert any(e.startswith("Gegenrede: ") for e in warned.verdict.evidence)


def test_counter_speech_also_stops_agreement_between_rule_and_model(tmp_path):
    warned = "Achtung, Fake: " + WEAK_SPAM
    outcome = moderator(tmp_path, FixedModel(genuine=0.3, spam=0.7)).evaluate(post(warned))
    assert outcome.decision == "review"


def test_a_hate_code_quoted_to_report_it_goes_to_a_person_and_stays_rejected_without_counter_speech(tmp_path):
    unsure = FixedModel(genuine=0.4, hate=0.6)  # below the model's own dispute of a rule
    reported = ("Saw a sticker with '1488' on a lamppost near Siegen station today. Reported it to the city "
                "and scraped it off. #meinherztraegtkrone")
    outcome = moderator(tmp_path, unsure).evaluate(post(reported))
    assert outcome.decision == "review" and outcome.rule == "blocklist.hate"
    assert outcome.verdict.reason_de.startswith("Möglicherweise Warnung oder Gegenrede, daher Prüfung: ")
    plain = moderator(tmp_path, unsure).evaluate(post("Siegen bleibt deutsch 1488 #meinherztraegtkrone"))
    assert plain.decision == "reject" and plain.rule == "blocklist.hate"


def test_the_hate_code_written_apart_is_never_approved_and_the_model_confirms_it(tmp_path):
    sure = FixedModel(genuine=0.99, hate=0.005)  # a sunset post with the code looks genuine to a text model
    sunset = moderator(tmp_path, sure).evaluate(post("Sonnenuntergang am Giersberg 🌄 14/88 🌿 #meinherztraegtkrone"))
    assert (sunset.decision, sunset.rule, sunset.verdict.evidence) == ("review", "blocklist.hate", ("14/88",))
    agreeing = moderator(tmp_path, FixedModel(genuine=0.3, hate=0.65)).evaluate(post("Grüße aus dem Siegerland, 14-88 #meinherztraegtkrone"))
    assert (agreeing.decision, agreeing.rule) == ("reject", "blocklist.hate")


def test_counter_speech_words_per_label():
    assert countered_by("spam", normalize("ACHTUNG Phishing!!").text) == "achtung"
    assert countered_by("spam", normalize("Liebe Kolleginnen: zahlt KEINE Vermittlungsgebühr!").text) == "zahlt keine"
    assert countered_by("spam", normalize("Nurses never pay for a job offer here").text) == "never pay"
    assert countered_by("hate", normalize("Sticker with a code on the station. Reported it.").text) == "report"
    assert countered_by("hate", normalize("Wir stehen gegen Hetze").text) is not None
    assert countered_by("hate", normalize("Gegenüber vom Bahnhof").text) is None, "whole word only"
    assert countered_by("profanity", normalize("Achtung").text) is None, "no counter-speech for insults"
    assert countered_by("offtopic", normalize("Nach 3 Jahren Berlin wieder hier #berlin").text) == "wieder hier"
    assert countered_by("offtopic", normalize("Wir sind aus München hergezogen").text) == "hergezogen"
    assert countered_by("offtopic", normalize("Sonnenuntergang am Strand #mallorca").text) is None
    reported = normalize('Unter unserem Foto stand „Heimatliebe statt Multikulti 88“. Danke an alle, die widersprochen haben.').text
    assert countered_by("hate", reported) == "„heimatliebe statt multikulti 88“"
    assert countered_by("hate", normalize('Die neuen „Fachkräfte“ sind bestimmt super').text) is None, "scare quotes"
    assert countered_by("spam", normalize('„Garantierter Gewinn“ – jetzt DM!').text) is None, "scams quote their promises"


def test_how_hate_introduces_itself_is_not_counter_speech():
    """„Nichts gegen …, aber“, „bald kein Platz mehr“ and a label in scare quotes open hate posts;
    standing against hate, or quoting a comment received, still holds a post for a person."""
    def hate_counter(caption: str) -> str | None:
        return countered_by("hate", normalize(caption).text)

    assert hate_counter("Ich hab ja nichts gegen Ausländer, aber hier wird es zu viel") is None
    assert hate_counter("Für deutsche Kinder ist im Schwimmbad bald kein Platz mehr") is None
    assert hate_counter('Another "skilled worker" on the wall, sure 🙄') is None
    assert hate_counter("Sie kriegen alles, die „anderer Herkunft“ zuerst") is None
    assert hate_counter("Kein Platz für Hass in Siegen!") == "kein platz fuer hass"
    assert hate_counter("Samstag demonstrieren wir gegen Rassismus am Bahnhof") == "gegen rassismus"
    assert hate_counter("No place for hate on our ward") == "no place for hate"
    assert hate_counter("Someone wrote „go back to your country“ under my photo") == "„go back to your country“"
    assert countered_by("offtopic", normalize("Back from Erasmus in Barcelona, happy to be home").text) == "back from"


def test_another_regions_job_ad_with_the_campaigns_themes_can_be_rejected_as_off_topic(tmp_path):
    """Themes (Pflege, Klinik) are shared by every region; only a place of the region vetoes „kein Bezug“."""
    elsewhere = FixedModel(genuine=0.01, offtopic=0.99)
    munich = medizin_moderator(tmp_path, elsewhere).evaluate(post("Pflegefachkraft für unsere Klinik in München gesucht! #medizinundpflege"))
    assert munich.decision == "reject" and munich.verdict.rule == "model.offtopic"
    olpe = medizin_moderator(tmp_path, elsewhere).evaluate(post("Pflegefachkraft für unsere Klinik in Olpe gesucht! #medizinundpflege"))
    assert olpe.decision == "review"


def test_genuine_posts_with_counter_speech_do_not_raise_the_reject_threshold():
    y = np.array([0] * 1000 + [1] * 10)
    probabilities = np.zeros((len(y), len(LABELS)))
    probabilities[:, 0] = 0.9
    probabilities[:1000, 1] = 0.1
    probabilities[0, 1] = probabilities[1, 1] = 0.97  # two genuine scam warnings the model reads as scams
    probabilities[1000:, 1] = 0.95
    texts = ["achtung betrueger"] * 2 + ["krone"] * 998 + ["gebuehr"] * 10
    assert thresholds(probabilities, y)["reject_at.spam"] > 0.97
    assert thresholds(probabilities, y, texts)["reject_at.spam"] == REJECT_FLOOR


def test_the_approval_threshold_comes_from_the_predictions_without_names():
    y = np.array([0] * 100 + [1] * 1000 + [0] * 100 + [1] * 1000)  # the same posts, with names, then without
    probabilities = np.zeros((len(y), len(LABELS)))
    probabilities[:, 0] = 0.5
    probabilities[100:1100, 0] = 0.3  # with their names, the junk posts look like junk
    probabilities[1200:, 0] = np.linspace(0.9, 0.99, 1000)  # on their captions alone some look genuine
    without = np.arange(len(y)) >= 1100
    assert thresholds(probabilities, y, approving=without)["approve_at"] > 0.98
    assert thresholds(probabilities, y)["approve_at"] < thresholds(probabilities, y, approving=without)["approve_at"]


def test_someone_who_moved_here_from_another_city_goes_to_a_person_not_to_rejection(tmp_path):
    sure_offtopic = FixedModel(genuine=0.01, offtopic=0.99)
    away = moderator(tmp_path, sure_offtopic).evaluate(post("Drei Wochen Sonne und Tapas 🌞 #meinherztraegtkrone #barcelona"))
    assert away.decision == "reject" and away.rule in ("model.offtopic", "relevance.elsewhere")
    back = moderator(tmp_path, sure_offtopic).evaluate(post("Nach 3 Jahren Berlin wieder hier – fehlt mir nicht. #meinherztraegtkrone #berlin"))
    assert back.decision == "review"
    learned = next(c.verdict for c in back.checks if c.rule == "model")
    assert learned.decision == "review" and learned.reason_de.startswith("Erwähnt einen Umzug oder eine Rückkehr hierher")
    assert "Bezug: wieder hier" in learned.evidence


def test_a_text_the_model_likes_does_not_dispute_a_repost_of_the_campaigns_picture(tmp_path):
    sure_genuine = FixedModel(genuine=0.99)
    judge = moderator(tmp_path, sure_genuine)
    own = Candidate("t:own", "Unser Motiv des Monats: die Krone #meinherztraegtkrone", "meinherztraegtkrone",
                    ("meinherztraegtkrone",), NOON, image_hashes=("c3a5f0e1b2d49687",))
    judge.evaluate(own)
    repost = Candidate("t:repost", "Wie schön! #meinherztraegtkrone", "fan_franzi", ("meinherztraegtkrone",), NOON,
                       image_hashes=("c3a5f0e1b2d49686",))
    outcome = judge.evaluate(repost)
    assert (outcome.decision, outcome.rule) == ("reject", "duplicate.own_repost")
    spam = judge.evaluate(post("DM for promo 📩 get featured! #meinherztraegtkrone"))
    assert spam.decision == "review" and "Regel und Modell widersprechen sich" in spam.verdict.reason_de


def test_a_job_ad_naming_no_place_of_the_region_waits_for_a_person(tmp_path):
    """Every region's employers recruit with the same words; only a place of the region lets the machine approve."""
    sure_genuine = FixedModel(genuine=0.999)
    judge = medizin_moderator(tmp_path, sure_genuine)
    anywhere = judge.evaluate(post("Assistenzärzt*innen (m/w/d) für unsere Innere gesucht! Großes Team, U-Bahn vor der Tür. #medizinundpflege"))
    assert (anywhere.decision, anywhere.rule) == ("review", "relevance.job_ad")
    assert anywhere.verdict.reason_de.startswith("Stellenanzeige ohne Ort der Region")
    assert "Stellenanzeige: gesucht" in anywhere.verdict.evidence
    english = judge.evaluate(post("We are hiring nurses for our hospital, an hour from the coast. Link in bio #medizinundpflege"))
    assert english.rule == "relevance.job_ad"
    here = judge.evaluate(post("Assistenzärzt*innen (m/w/d) für unsere Innere in Olpe gesucht! #medizinundpflege"))
    assert (here.decision, here.rule) == ("approve", "model.confident")
    no_ad = judge.evaluate(post("Erste Nachtschicht auf der Intensivstation geschafft, danke an mein Team #medizinundpflege"))
    assert no_ad.decision == "approve", "„Schicht“, „Team“ are themes, not a job ad"


def test_a_campaign_can_turn_the_job_ad_check_off(tmp_path):
    campaign = parse_campaign(REPO / "config" / "campaigns" / "medizin-pflege.toml")
    campaign = campaign.model_copy(update={"relevance": campaign.relevance.model_copy(update={"job_ads": []})})
    judge = Moderator(campaign, Home(tmp_path / "home"), model=FixedModel(genuine=0.999))
    assert judge.evaluate(post("Pflegefachkräfte (m/w/d) für unsere Klinik gesucht! #medizinundpflege")).decision == "approve"


class _Hateful(FixedModel):
    def __init__(self, p_hate: float, **params: float):
        super().__init__(genuine=1 - p_hate, hate=p_hate)
        self.params.update(params)


@pytest.mark.parametrize("caption, decision", [
    ("Na toll, noch mehr von denen auf Station #meinherztraegtkrone", "reject"),  # five words or more
    ("Na toll #meinherztraegtkrone", "review"),  # a short post keeps the higher threshold
])
def test_the_model_rejects_hate_from_a_lower_probability_in_longer_posts(tmp_path, caption, decision):
    judge = moderator(tmp_path, _Hateful(0.85, **{"reject_at.hate": 0.9, "reject_at_long.hate": 0.82, "long_post_words": 5}))
    outcome = judge.evaluate(post(caption))
    assert outcome.decision == decision and outcome.rule == "model.hate"


def test_a_model_file_without_long_post_thresholds_uses_one_threshold(tmp_path):
    old = _Hateful(0.85, **{"reject_at.hate": 0.9})
    old.params.pop("reject_at_long.hate", None)
    old.params.pop("long_post_words", None)
    outcome = moderator(tmp_path, old).evaluate(post("Na toll, noch mehr von denen auf Station #meinherztraegtkrone"))
    assert outcome.decision == "review"


def test_training_sets_the_long_post_hate_threshold_from_long_genuine_posts_only():
    y = np.array([0] * 2000 + [3] * 10)
    probabilities = np.zeros((len(y), len(LABELS)))
    probabilities[:, 0] = 0.5
    probabilities[:2000, 3] = 0.1
    probabilities[:3, 3] = 0.88  # three short genuine posts the model finds hateful („Siegen 🫶“)
    texts = ["siegen"] * 3 + ["ein langer harmloser post aus siegen"] * 1997 + ["na toll noch mehr von denen"] * 10
    chosen = thresholds(probabilities, y, texts)
    assert chosen["reject_at.hate"] == REJECT_FLOOR
    assert chosen["reject_at_long.hate"] == LONG_POST_FLOORS["hate"] and chosen["long_post_words"] == LONG_POST_WORDS


AD = "Neue Folge online, jetzt reinhören 🎧 #meinherztraegtkrone"


def _split(genuine: float, caption: dict[str, float] | None = None, junk_at: float | None = 0.99) -> FixedModel:
    """A model sure the post is junk but torn between spam and off-topic (neither reaches 0.9)."""
    rest = 1 - genuine
    model = FixedModel(caption, genuine=genuine, spam=rest * 0.55, offtopic=rest * 0.45)
    model.params.pop("reject_at.junk", None)
    if junk_at is not None:
        model.params["reject_at.junk"] = junk_at
    return model


def test_a_post_that_is_junk_beyond_doubt_is_rejected_though_no_one_kind_is_sure(tmp_path):
    outcome = moderator(tmp_path, _split(0.004)).evaluate(post(AD))
    assert (outcome.decision, outcome.rule) == ("reject", "model.spam")  # its most likely kind
    assert "P(genuine) = 0.004" in outcome.verdict.evidence


@pytest.mark.parametrize("model", [
    _split(0.03),  # not junk enough
    _split(0.004, caption={"genuine": 0.2, "spam": 0.8}),  # junk only with the name: a name never condemns a post
    _split(0.004, junk_at=None),  # a model file from before `reject_at.junk`
], ids=["doubt-left", "name-only", "older-model"])
def test_junk_beyond_doubt_needs_the_caption_alone_and_the_threshold(tmp_path, model):
    assert moderator(tmp_path, model).evaluate(post(AD)).decision == "review"


def test_training_sets_the_junk_threshold_above_the_genuine_posts_junk_scores():
    y = np.array([0] * 2000 + [1] * 10)
    probabilities = np.zeros((len(y), len(LABELS)))
    probabilities[:2000, 0] = 0.9
    probabilities[:2000, 1] = 0.1
    probabilities[2000:, 0] = 0.001
    probabilities[2000:, 1] = 0.999
    assert thresholds(probabilities, y)["reject_at.junk"] == JUNK_FLOOR  # genuine posts far from junk
    probabilities[:5, 0] = 0.03  # five genuine posts the model finds nearly junk
    probabilities[:5, 1] = 0.97
    assert thresholds(probabilities, y)["reject_at.junk"] == pytest.approx(0.98)  # above all but the top 0.1 %, plus 0.01


def test_a_warning_that_quotes_a_scams_words_goes_to_a_person_and_the_scam_stays_rejected(tmp_path):
    warning = post("Wichtig für alle Neuen: Niemand vom Amt ruft an und sagt „Followers kaufen“ oder verlangt Geld. Legt einfach auf! #meinherztraegtkrone")
    scam = post("Verdoppel dein Geld mit Bitcoin 🚀 20 % im Monat garantiert, meldet euch per DM #meinherztraegtkrone")
    likes_spam = FixedModel(genuine=0.05, spam=0.95)
    rejected = moderator(tmp_path, likes_spam).evaluate(scam)
    assert rejected.decision == "reject" and rejected.rule.startswith("spam.")
    warned = moderator(tmp_path, likes_spam).evaluate(warning)
    assert warned.decision == "review" and warned.rule.startswith("spam.")
    assert warned.verdict.reason_de.startswith("Möglicherweise Warnung oder Gegenrede") and "Gegenrede: niemand" in warned.verdict.evidence
    assert countered_by("spam", normalize("Meldet euch per DM!").text) is None, "how a scam asks to be contacted"
    assert countered_by("spam", normalize("Bitte meldet solche Accounts").text) == "meldet solche"
