"""The automatic moderation rules as a campaign manager meets them: what is held, rejected or
approved, why, and that harmless words and place names are left alone."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from pathlib import Path

import pytest

from campaign_worker.config.campaigns import Campaign, ConfigError, parse_campaign
from campaign_worker.home import Home
from campaign_worker.moderation.duplicates import ImageIndex
from campaign_worker.moderation.engine import Moderator, Outcome
from campaign_worker.moderation.explain import format_outcome, outcome_json
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.post import extract_hashtags

TAG = "#meinherztraegtkrone"
NOON = datetime(2026, 5, 4, 10, 0, tzinfo=timezone.utc)
CORPUS = Path(__file__).parent / "data" / "moderation_corpus.jsonl"


def make_campaign(**moderation) -> Campaign:
    return Campaign.model_validate({
        "slug": "siegen",
        "name": "Siegen – Mein Herz trägt Krone",
        "hashtags": ["meinherztraegtkrone"],
        "audiences": [{"key": "fachkraefte", "label": "Fachkräfte", "keywords": ["job", "pflege"]}],
        "partners": [{"name": "AWO Siegen", "accounts": ["awo_siegen"]}],
        "own_accounts": ["meinherztraegtkrone"],
        "blocked_accounts": ["troll_siegen"],
        "drafts": {"extra_hashtags": ["siegen", "siegerland"]},
        "moderation": moderation,
    })


_counter = iter(range(1_000_000))


def post(caption: str, author: str | None = "anna_k", *, hashtags=(), images=(), at: datetime = NOON, key: str | None = None) -> Candidate:
    return Candidate(
        key=key or f"instagram:{next(_counter)}",
        caption=caption,
        author=author,
        hashtags=tuple(hashtags),
        posted_at=at,
        image_hashes=tuple(images),
    )


@pytest.fixture
def moderator(home: Home) -> Moderator:
    return Moderator(make_campaign(), home)


def judge(moderator: Moderator, caption: str, author: str | None = "anna_k", **kwargs) -> Outcome:
    return moderator.evaluate(post(caption, author, **kwargs))


def check(outcome: Outcome, rule: str):
    return next(c.verdict for c in outcome.checks if c.rule == rule)


# --- normalisation -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("SCHEIẞE", "scheisse"),
        ("Scheiße", "scheisse"),
        ("4rschl0ch!!!", "arschloch!!!"),
        ("a.r.s.c.h", "arsch"),
        ("s c h e i ß e", "scheisse"),
        ("A u s l ä n d e r  r a u s", "auslaender raus"),
        ("𝐟𝐮𝐜𝐤 ｙｏｕ", "fuck you"),
        ("Arsch\u00adloch", "arschloch"),
        ("Café Größe", "cafe groesse"),
        ("@awo_siegen 2024 um 18:30 für 50 €", "@awo_siegen 2024 um 18:30 fuer 50 €"),
    ],
)
def test_normalisation_folds_what_people_use_to_dodge_filters(written, folded):
    assert normalize(written).text == folded


def test_folded_text_maps_back_to_what_was_written():
    texts = [json.loads(line)["caption"] for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(5)
    alphabet = "aäöüßAÄÖÜ 1357@$!€.*-_😍𝐟ＦİẞéÉxyz\u00ad\u0301"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 30))) for _ in range(500)]
    for text in texts:
        fast, mapped = normalize(text), normalize(text, keep_origin=True)
        assert fast.text == mapped.text, text
        assert len(mapped.origin) == len(mapped.text)
        assert mapped.origin == sorted(mapped.origin)
    spaced = normalize("Du bist ein A.r.s.c.h.l.o.c.h!")
    start = spaced.text.index("arschloch")
    assert spaced.snippet(start, start + len("arschloch")) == "A.r.s.c.h.l.o.c.h"


# --- blocklist -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("caption", "rule"),
    [
        ("Du bist ein Arschloch", "blocklist.insult"),
        ("Du bist ein A.r.s.c.h.l.o.c.h", "blocklist.insult"),
        ("4rschl0ch", "blocklist.insult"),
        ("ARSCHLOOOOCH", "blocklist.insult"),
        ("Arsch\u00adloch", "blocklist.insult"),
        ("H u r e n s o h n", "blocklist.insult"),
        ("Du Vollidiot", "blocklist.insult"),
        ("Ihr Schwachköpfe", "blocklist.insult"),
        ("f*ck you", "blocklist.insult"),
        ("𝐟𝐮𝐜𝐤 𝐲𝐨𝐮", "blocklist.insult"),
        ("b!tch", "blocklist.insult"),
        ("a$$hole", "blocklist.insult"),
        ("Ausländer raus!", "blocklist.hate"),
        ("A u s l ä n d e r  r a u s", "blocklist.hate"),
        ("n1gg3r", "blocklist.hate"),
        ("Sexdate gesucht", "blocklist.sexual"),
        ("0nlyF4ns link in bio", "blocklist.sexual"),
    ],
)
def test_insults_slurs_and_sex_spam_are_rejected_however_spelt(moderator, caption, rule):
    outcome = judge(moderator, f"{caption} {TAG}")
    assert (outcome.decision, outcome.rule) == ("reject", rule)


@pytest.mark.parametrize(
    "caption",
    [
        "Abendstimmung am Schwanenteich",
        "Ich arbeite als Assistenzärztin, mein Mann als Assistenzarzt",
        "Klassentreffen nach 15 Jahren",
        "Spielplatz am Schlosspark getestet",
        "Neues Wohngebiet im Hüttental",
        "Moved here from Sussex, my colleague from Scunthorpe",
        "Erste Arschbombe der Saison im Freibad",
        "Im Satz ein Hurenkind entdeckt",
        "Fortbildung zum Thema Spastik bei Kindern",
        "Wir suchen Mitarbeiter*innen und Kolleg*innen",
        "Ansporn für alle Azubis",
        "Marschmusik beim Schützenfest",
        "Neue Tischlampe fürs Homeoffice",
        "Graduated summa cum laude",
        "Ein Ass im Ärmel",
        "Dicke Freunde seit der Grundschule",
        "Das Sextett spielt im Schlosspark",
        "Arnold Schwarzenegger war auch mal hier",
    ],
)
def test_harmless_words_that_contain_a_bad_substring_pass(moderator, caption):
    outcome = judge(moderator, f"{caption} {TAG}")
    assert check(outcome, "blocklist") is None
    assert outcome.decision == "review" and not outcome.rule.startswith(("blocklist", "spam"))


def test_german_compounds_with_a_vulgar_first_part_are_held_not_passed(moderator):
    outcome = judge(moderator, f"Was für ein Scheißtag {TAG}")
    vulgar = check(outcome, "blocklist")
    assert (vulgar.decision, vulgar.rule, vulgar.evidence) == ("review", "blocklist.vulgar", ("Scheißtag",))
    assert outcome.decision != "approve"
    assert check(judge(moderator, f"Spaziergang im Schlosspark {TAG}"), "blocklist") is None


def test_words_that_end_in_a_vulgar_word_and_an_insult_that_is_also_a_german_word(moderator):
    assert check(judge(moderator, f"Da hab ich hingepisst, bestes Erlebnis {TAG}"), "blocklist").evidence == ("hingepisst",)
    # „bellend“ is a British insult and German for barking: the list only asks a person.
    dog = check(judge(moderator, f"Der Hund lief bellend durch den Schlosspark {TAG}"), "blocklist")
    assert (dog.decision, dog.rule, dog.evidence) == ("review", "blocklist.insult", ("bellend",))


def test_masked_words_are_read_as_the_mildest_word_they_can_stand_for(moderator):
    assert check(judge(moderator, "f**k"), "blocklist").rule == "blocklist.vulgar"  # fuck, not "fick"
    assert check(judge(moderator, "Sch***e"), "blocklist").rule == "blocklist.vulgar"  # Scheiße, not "Schlampe"


def test_evidence_shows_the_original_spelling_and_reasons_are_in_both_languages(moderator):
    caption = "Ihr seid " + "Arschloch" + "gesicht" * 20 + ", 4rschl0ch, A.r.s.c.h.l.o.c.h, Idioten, Vollidioten, Penner und Trottel"
    verdict = judge(moderator, caption).verdict
    assert verdict.evidence[0] == "Arschloch" + "gesicht" * 10 + "…"  # cut to 80 characters
    assert verdict.evidence[1:3] == ("4rschl0ch", "A.r.s.c.h.l.o.c.h")
    assert len(verdict.evidence) == 5  # of seven matches
    assert verdict.reason("de") == "Beleidigung" and verdict.reason("en") == "Insult"
    vulgar = check(judge(moderator, "Scheiße"), "blocklist")
    assert vulgar.reason_de == "Vulgäre Sprache" and vulgar.reason_en == "Vulgar language"


def test_campaign_allow_words_excuse_a_matching_word(home):
    strict = Moderator(make_campaign(), home)
    assert judge(strict, f"Arschbacken-Alarm am Freibad {TAG}").rule == "blocklist.vulgar"
    relaxed = Moderator(make_campaign(allow_words=["Arschbacken"]), home)
    assert check(judge(relaxed, f"Arschbacken-Alarm am Freibad {TAG}"), "blocklist") is None


def test_a_list_file_in_the_home_replaces_the_shipped_one(home):
    folder = home.root / "config" / "moderation"
    folder.mkdir(parents=True)
    (folder / "blocklist-de.txt").write_text("[insult]\nkronenklauer*\n[vulgar]\nmist\n", encoding="utf-8")
    (folder / "allowlist.txt").write_text("assistenz*\n", encoding="utf-8")
    moderator = Moderator(make_campaign(), home)
    assert judge(moderator, "Ihr Kronenklauer!").rule == "blocklist.insult"
    assert check(judge(moderator, "So ein Mist"), "blocklist").rule == "blocklist.vulgar"
    assert check(judge(moderator, "Arschloch"), "blocklist") is None  # not in the user's German list
    assert judge(moderator, "fuck you").rule == "blocklist.insult"  # the shipped English list still applies


def test_a_stricter_user_list_still_spares_allowlisted_words(home):
    folder = home.root / "config" / "moderation"
    folder.mkdir(parents=True)
    (folder / "blocklist-en.txt").write_text("[insult]\nass*\n", encoding="utf-8")
    moderator = Moderator(make_campaign(), home)
    assert judge(moderator, "You ass").rule == "blocklist.insult"
    assert check(judge(moderator, "Assistenzarzt und Klassentreffen, assessment centre"), "blocklist") is None


def test_a_broken_list_file_is_reported_with_file_and_line(home):
    folder = home.root / "config" / "moderation"
    folder.mkdir(parents=True)
    (folder / "blocklist-de.txt").write_text("arschloch\n[insults]\nidiot\n[insult]\n*\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        Moderator(make_campaign(), home)
    text = error.value.render()
    assert "blocklist-de.txt" in text
    assert "line 1" in text and "line 2" in text and "line 5" in text
    assert "[insults]" in text


def test_an_unknown_blocklist_name_is_a_config_error(home):
    with pytest.raises(ConfigError, match="blocklist-fr.txt"):
        Moderator(make_campaign(blocklists=["de", "fr"]), home)


# --- spam ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("caption", "rule"),
    [
        ("Nice pic! DM us for promo 🔥", "spam.phrase"),
        ("Wanna be featured? Send it to @bestof.germany", "spam.promo"),
        ("Collab? DM @promo_king", "spam.promo"),
        ("I made $12,000 trading bitcoin. WhatsApp +1 555 234 8890", "spam.crypto"),
        ("Thanks to @crypto_expert_anna I now earn $3000 every week", "spam.crypto"),
        ("Make money online from home, no experience needed", "spam.phrase"),
        ("Escort Siegen diskret 0151 23456789", "spam.phone"),
        ("Heiße Dates in deiner Nähe, ruf an: +49 152 0439 7761", "blocklist.sexual"),
        ("Kredit ohne Schufa! WhatsApp 0176 12345678", "spam.phrase"),
        ("Need a loan? Call +44 7700 900123", "spam.phone"),
        ("Shop now, use code SUMMER50, free shipping", "spam.hints"),
        (f"{TAG} #follow4follow #like4like #f4f", "spam.bait_tags"),
    ],
)
def test_spam_is_rejected(moderator, caption, rule):
    outcome = judge(moderator, caption)
    assert (outcome.decision, outcome.rule) == ("reject", rule)
    assert outcome.verdict.evidence


def test_one_advertising_cue_alone_does_not_hold_a_partner_post(moderator):
    outcome = judge(moderator, f"Alle offenen Stellen findest du über den Link in Bio {TAG}", "awo_siegen")
    assert (outcome.decision, outcome.rule) == ("approve", "author.partner")
    two = judge(moderator, f"Link in Bio – jetzt bestellen! {TAG}", "awo_siegen")
    assert two.decision == "review" and check(two, "spam").rule == "spam.hints"


def test_job_ads_with_salary_phone_and_whatsapp_are_not_spam(moderator):
    for caption in (
        f"Wechselprämie 3.000 € für Pflegekräfte – Fragen per WhatsApp an 0151 23456789 {TAG}",
        f"Girls' Day bei uns, Anmeldung unter 0271 12345-0 {TAG}",
        f"Physiotherapie: Massage und Krankengymnastik, Termine unter 0271 555123 {TAG}",
        f"Verdiene bis zu 65.000 € im Jahr! DM für Infos {TAG}",
        f"Nebenbei studieren und Geld verdienen: Werkstudentenjobs, 15 €/h {TAG}",
        f"Vortrag an der Uni: Wie funktioniert eigentlich Bitcoin? {TAG}",
    ):
        assert check(judge(moderator, caption), "spam") is None, caption


def test_hashtag_stuffing_is_held_and_rejected_with_other_spam_signs(moderator):
    unrelated = " ".join(f"#tag{n}word" for n in range(22))
    stuffed = judge(moderator, f"Sunset {TAG} {unrelated}")
    assert stuffed.decision != "approve" and check(stuffed, "spam").rule == "spam.hashtags"
    assert check(stuffed, "spam").decision == "review" and check(stuffed, "spam").evidence[0].startswith("23 Hashtags")
    with_bait = judge(moderator, f"Sunset {TAG} {unrelated} #followme")
    assert with_bait.decision == "reject"
    related = " ".join(f"#siegen{n}" for n in range(22))
    assert check(judge(moderator, f"Mein Siegen {TAG} {related}"), "spam") is None


def test_bait_hashtags_are_shown_as_written_also_from_outside_the_caption(moderator):
    in_caption = judge(moderator, f"Morning {TAG} #Follow4Follow #like4like #f4f")
    assert in_caption.verdict.evidence == ("#Follow4Follow", "#like4like", "#f4f")
    outside = moderator.evaluate(post(f"Morning {TAG}", hashtags=["meinherztraegtkrone", "like4like", "follow4follow", "l4l"]))
    assert (outside.decision, outside.rule) == ("reject", "spam.bait_tags")
    assert outside.verdict.evidence == ("#like4like", "#follow4follow", "#l4l")


def test_captions_of_almost_only_emoji_go_to_review_and_emoji_walls_are_spam(home):
    moderator = Moderator(make_campaign(auto_approve_all=True), home)
    reaction = judge(moderator, f"🔥🔥🔥💯💯🚀 {TAG}")
    assert (reaction.decision, reaction.rule) == ("review", "spam.emoji")
    # A wall under the campaign's own tag may be a fan's: held; without it, a bot's: rejected.
    fan = judge(moderator, f"🔥🔥🔥😍😍😍💯💯💯👑👑👑 {TAG}")
    assert (fan.decision, fan.rule) == ("review", "spam.emoji")
    wall = judge(moderator, "🔥🔥🔥😍😍😍💯💯💯👑👑👑 #instagood")
    assert (wall.decision, wall.rule) == ("reject", "spam.emoji")
    assert check(judge(moderator, f"Wir suchen dich! 🚀🚀🚀 {TAG}"), "spam") is None


# --- duplicates ----------------------------------------------------------------------------

LONG = f"Endlich wieder Stadtfest in Siegen, die ganze Stadt ist auf den Beinen und feiert {TAG}"


def test_the_same_post_again_is_rejected_even_from_a_partner(moderator):
    first = judge(moderator, LONG, "awo_siegen", images=["0f1e2d3c4b5a6978"], key="instagram:first")
    again = judge(moderator, LONG + " ", "awo_siegen", images=["0f1e2d3c4b5a6979"])
    assert first.decision == "approve"
    assert (again.decision, again.rule) == ("reject", "duplicate.same_post")
    assert again.verdict.evidence == ("instagram:first",)


def test_a_nearly_identical_picture_from_someone_else_goes_to_review(home):
    moderator = Moderator(make_campaign(duplicate_max_distance=4), home)
    original = post("Mein Foto vom Stadtfest", "lotte", images=["0f1e2d3c4b5a6978"])
    moderator.remember(original)
    near = judge(moderator, "Schönes Bild!", "olga", images=["0f1e2d3c4b5a697b"])  # 2 bits apart
    far = judge(moderator, "Anderes Bild", "olga", images=["0f1e2d3c4b5a6987"])  # 8 bits apart
    assert (near.decision, near.rule) == ("review", "duplicate.image")
    assert near.verdict.evidence == (f"{original.key} (Δ 2)",)
    assert check(far, "duplicate") is None


def test_copied_text_from_another_account_is_rejected_short_texts_do_not_count(moderator):
    text = f"Hey, we love your content! Check out our page for more amazing travel photos {TAG}"
    assert check(judge(moderator, text, "copycat_one"), "duplicate") is None
    copied = judge(moderator, text.replace("content!", "content !!").upper(), "copycat_two")
    assert (copied.decision, copied.rule) == ("reject", "duplicate.caption_copy")
    judge(moderator, f"Schön hier {TAG}", "a1")
    assert check(judge(moderator, f"Schön hier! {TAG}", "a2"), "duplicate") is None


def test_the_same_text_by_the_same_author_with_a_new_picture_is_held(moderator):
    judge(moderator, LONG, "awo_siegen", images=["1111111111111111"])
    again = judge(moderator, LONG, "awo_siegen", images=["ffffffff00000000"])
    assert (again.decision, again.rule) == ("review", "duplicate.caption")


def test_reposts_of_the_campaigns_own_posts_are_rejected(moderator):
    own = judge(moderator, f"Unser Motiv des Monats: die Krone über der Oberstadt {TAG}", "meinherztraegtkrone", images=["c3a5f0e1b2d49687"])
    assert own.decision == "approve"
    repost = judge(moderator, f"Wie schön! {TAG}", "fan_franzi", images=["c3a5f0e1b2d49686"])
    assert (repost.decision, repost.rule) == ("reject", "duplicate.own_repost")


def test_judging_a_known_post_again_does_not_find_itself(moderator):
    candidate = post(LONG, "lotte", images=["0f1e2d3c4b5a6978"])
    moderator.remember(candidate)
    assert check(moderator.evaluate(candidate), "duplicate") is None


def test_image_index_finds_exactly_the_hashes_within_the_distance():
    rng = random.Random(3)
    for distance in (0, 3, 6, 12):
        index, stored = ImageIndex(distance), []
        for number in range(3000):
            value = rng.getrandbits(64)
            if stored and rng.random() < 0.3:
                value = rng.choice(stored) ^ sum(1 << b for b in rng.sample(range(64), rng.randrange(0, 10)))
            index.add(64, value, number)
            stored.append(value)
        for _ in range(100):
            query = rng.choice(stored) ^ sum(1 << b for b in rng.sample(range(64), rng.randrange(0, 10)))
            expected = {n: (v ^ query).bit_count() for n, v in enumerate(stored) if (v ^ query).bit_count() <= distance}
            assert index.near(64, query) == expected


# --- authors -------------------------------------------------------------------------------

def test_partners_are_approved_and_others_wait_for_a_person(moderator):
    partner = judge(moderator, f"Wir suchen Pflegekräfte {TAG}", "AWO_Siegen")
    assert (partner.decision, partner.rule) == ("approve", "author.partner")
    assert partner.verdict.reason_de == "Vertrauenswürdiges Partnerkonto"
    stranger = judge(moderator, f"Wir suchen Pflegekräfte {TAG}", "someone")
    assert stranger.decision == "review" and check(stranger, "author.partner") is None
    anonymous = judge(moderator, f"Wir suchen Pflegekräfte {TAG}", None)
    assert anonymous.decision == "review"


def test_partner_approval_can_be_switched_off_and_approve_all_switched_on(home):
    off = Moderator(make_campaign(auto_approve_partners=False), home)
    assert judge(off, f"Wir suchen Pflegekräfte {TAG}", "awo_siegen").decision == "review"
    everyone = Moderator(make_campaign(auto_approve_all=True), home)
    outcome = judge(everyone, f"Schöner Tag in Siegen mit der Familie {TAG}", "someone")
    assert (outcome.decision, outcome.rule) == ("approve", "default")
    assert judge(everyone, f"Du Idiot {TAG}", "someone").decision == "reject"


def test_blocked_accounts_are_rejected_whatever_they_post(moderator):
    outcome = judge(moderator, f"Schöner Tag in Siegen {TAG}", "Troll_Siegen")
    assert (outcome.decision, outcome.rule) == ("reject", "author.blocked")
    assert outcome.verdict.evidence == ("@Troll_Siegen",)


def test_blocking_beats_partnership(home):
    campaign = make_campaign().model_copy(update={"blocked_accounts": ["awo_siegen"]})
    assert judge(Moderator(campaign, home), f"Hallo {TAG}", "awo_siegen").rule == "author.blocked"


def test_daily_cap_counts_posts_per_local_day(home):
    moderator = Moderator(make_campaign(author_daily_cap=2), home)
    # 22:30 UTC on 4 May is 00:30 on 5 May in Berlin (summer time): a new day.
    times = [datetime(2026, 5, 4, h, 30, tzinfo=timezone.utc) for h in (8, 9, 10, 22)]
    outcomes = [moderator.evaluate(post(f"Bild {n} vom Tag {TAG}", "awo_siegen", at=t)) for n, t in enumerate(times)]
    assert [o.decision for o in outcomes] == ["approve", "approve", "review", "approve"]
    capped = outcomes[2].verdict
    assert capped.rule == "author.daily_cap"
    assert capped.reason_de == "Mehr als 2 Beiträge dieses Kontos am 04.05.2026"
    assert capped.evidence == ("@awo_siegen: 3",)


def test_language_filter_holds_other_languages(home):
    moderator = Moderator(make_campaign(languages=["de"]), home)
    english = judge(moderator, f"We moved here with the kids and we love it so much {TAG}", "awo_siegen")
    assert (english.decision, english.rule) == ("review", "language")
    assert english.verdict.reason_de == "Sprache: Englisch (erwartet: de)"
    german = judge(moderator, f"Wir sind mit den Kindern hergezogen und es ist so schön {TAG}", "awo_siegen")
    assert german.decision == "approve"
    assert judge(moderator, f"Siegen ❤️ {TAG}", "awo_siegen").decision == "approve"  # too short to tell


# --- combination and explanation -----------------------------------------------------------

@pytest.mark.parametrize("quoted", ['„Ausländer raus“', '"Ausländer raus"', "«Ausländer raus»", "“Ausländer raus”"])
def test_hate_in_quotation_marks_goes_to_a_person_the_same_words_unquoted_are_rejected(moderator, quoted):
    """Posts against hate quote the comments they received; the list alone does not reject them."""
    blocklist = check(judge(moderator, f"Unter unserem Foto stand {quoted}. Wir haben es gemeldet. {TAG}"), "blocklist")
    assert (blocklist.decision, blocklist.rule) == ("review", "blocklist.quoted")
    assert "Anführungszeichen" in blocklist.reason_de and blocklist.evidence == ("Ausländer raus",)
    plain = check(judge(moderator, f"Ausländer raus aus Siegen! {TAG}"), "blocklist")
    assert (plain.decision, plain.rule) == ("reject", "blocklist.hate")
    half = check(judge(moderator, f"„Ausländer raus“ sag ich, Ausländer raus! {TAG}"), "blocklist")
    assert half.decision == "reject", "one unquoted use is enough"


def test_a_partner_post_with_an_insult_is_held_for_review_not_approved_nor_rejected(moderator):
    outcome = judge(moderator, f"Unser Kunde ist ein Arschloch {TAG}", "awo_siegen")
    assert (outcome.decision, outcome.rule) == ("review", "blocklist.insult")
    assert outcome.verdict.reason_de.startswith("Partnerkonto, daher Prüfung statt Ablehnung")
    assert outcome.verdict.reason_en.startswith("Trusted account, so review instead of rejection")
    assert outcome.verdict.evidence == ("Arschloch",)
    assert check(outcome, "author.partner").decision == "approve"


def test_the_most_serious_rejection_names_the_outcome(moderator):
    outcome = judge(moderator, "Scheiße, DM us for promo, du Idiot")
    assert (outcome.decision, outcome.rule) == ("reject", "blocklist.insult")
    assert check(outcome, "spam").decision == "reject"
    assert [c.rule for c in outcome.checks] == [
        "author.blocked", "author.partner", "blocklist", "spam", "duplicate", "author.daily_cap", "language",
        "relevance", "model",
    ]


def test_every_verdict_has_reasons_in_both_languages(moderator):
    captions = ["Du Idiot", "Scheiße", "DM us for promo", "🔥🔥🔥💯💯🚀", f"Hallo {TAG}"]
    for caption in captions:
        outcome = judge(moderator, caption, "awo_siegen")
        for verdict in [outcome.verdict] + [c.verdict for c in outcome.checks if c.verdict]:
            assert verdict.reason_de and verdict.reason_en and verdict.rule
            assert all(len(e) <= 80 for e in verdict.evidence) and len(verdict.evidence) <= 5


def test_explain_table_and_json_line(moderator):
    outcome = judge(moderator, "Escort Siegen sexy 0151 23456789")
    german = format_outcome(outcome, "de")
    assert german.splitlines()[0] == "Ergebnis: ABLEHNEN (spam.phone) – Telefonnummer mit Escort- oder Kreditwerbung"
    assert "Sperrliste" in german and "prüfen" in german and "keine Einwände" in german
    assert "Fundstellen: Escort | 0151 23456789" in german
    english = format_outcome(outcome, "en")
    assert english.startswith("Result: REJECT (spam.phone)") and "no objection" in english
    assert outcome_json("post-7", outcome) == {
        "id": "post-7",
        "decision": "reject",
        "rule": "spam.phone",
        "reason": "Telefonnummer mit Escort- oder Kreditwerbung",
        "evidence": ["Escort", "0151 23456789"],
        "score": outcome.score,
    }
    assert outcome_json("post-7", outcome, "en")["reason"] == "Phone number with escort or loan advertising"


# --- the labelled corpus -------------------------------------------------------------------

def test_corpus_is_well_formed():
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 400
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert {"id", "caption", "author", "label", "expected"} <= set(row)
        assert row["label"] in {"genuine", "spam", "insult", "hate", "sexual", "offtopic"}
        assert row["expected"] in {"approve", "reject", "review"}
    assert {r["label"] for r in rows} == {"genuine", "spam", "insult", "hate", "sexual", "offtopic"}


def test_corpus_meets_the_quality_targets(home):
    """The shipped lists on the labelled corpus (the bench prints the details)."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    siegen = parse_campaign(Path(__file__).parent.parent / "config" / "campaigns" / "siegen.toml")
    moderator = Moderator(siegen.model_copy(update={"blocked_accounts": ["followers_fabrik", "troll_siegen"]}), home)
    results = []
    for row in rows:
        candidate = Candidate(
            key=row["id"], caption=row["caption"], author=row["author"],
            hashtags=tuple(row.get("hashtags") or extract_hashtags(row["caption"])),
            posted_at=datetime.fromisoformat(row["posted_at"]), image_hashes=(row["image_hash"],),
        )
        results.append((row, moderator.evaluate(candidate)))
    # The model now rejects junk the rules alone left for review: precision is judged by the label.
    rejected = [row for row, o in results if o.decision == "reject"]
    should = [row for row in rows if row["expected"] == "reject"]
    assert sum(r["label"] != "genuine" for r in rejected) / len(rejected) >= 0.97
    assert sum(r["expected"] == "reject" for r in rejected) / len(should) >= 0.85
    substring_accidents = [row["id"] for row, o in results
                           if row["label"] == "genuine" and o.decision == "reject" and o.rule.startswith("blocklist")]
    assert substring_accidents == []


def test_the_spam_lure_gate_misses_nothing_its_patterns_find():
    """`_LURE_RE` finding nothing must mean each lure pattern finds nothing (it only saves passes)."""
    from campaign_worker.moderation import spam

    rows = [json.loads(line) for line in (Path(__file__).parent / "data" / "moderation" / "dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    patterns = (spam._PROMO_RE, spam._CRYPTO_RE, spam._EARNINGS_RE, spam._ESCORT_RE, spam._LOAN_RE)
    texts = [normalize(row["caption"]).text.replace("_", " ") for row in rows]
    assert any(spam._LURE_RE.search(t) for t in texts)
    for text in texts:
        if spam._LURE_RE.search(text) is None:
            assert not any(p.search(text) for p in patterns), text
