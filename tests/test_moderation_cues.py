"""What the model reads besides n-grams (word families), how two agreeing signals reject, and
which data training accepts."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from campaign_worker.config.campaigns import parse_campaign
from campaign_worker.home import Home
from campaign_worker.moderation.cues import NAMES, cue_features
from campaign_worker.moderation.engine import Moderator, analysis_text
from campaign_worker.moderation.model import LABELS, shipped_model
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.train import load_training, training_paths
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.post import extract_hashtags

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


class _Fixed:
    """A model double that gives every text the same probabilities."""

    def __init__(self, **probabilities: float):
        self.labels = LABELS
        self.params = dict(shipped_model().params)
        self.row = [probabilities.get(label, 0.0) for label in LABELS]

    def predict_many(self, texts, extra):
        return np.array([self.row] * len(texts))

    def evidence(self, text, label):
        return ()


def moderator(tmp_path, model) -> Moderator:
    campaign = parse_campaign(REPO / "config" / "campaigns" / "siegen.toml")
    return Moderator(campaign, Home(tmp_path / "home"), model=model)


def post(caption: str, author: str = "lena.sgn") -> Candidate:
    return Candidate("t:1", caption, author, extract_hashtags(caption), NOON)


WEAK_SPAM = "Neue Kollektion im Shop 🛍️ Rabattcode SIEGEN10, Link in Bio! #meinherztraegtkrone"


@pytest.mark.parametrize("p_spam, decision", [(0.7, "reject"), (0.3, "review")])
def test_a_review_request_backed_by_the_model_rejects(tmp_path, p_spam, decision):
    outcome = moderator(tmp_path, _Fixed(genuine=1 - p_spam, spam=p_spam)).evaluate(post(WEAK_SPAM))
    assert outcome.decision == decision and outcome.rule.startswith("spam.")
    if decision == "reject":
        assert "(vom Modell bestätigt)" in outcome.verdict.reason_de
        assert f"P(spam) = {p_spam:.2f}" in outcome.verdict.evidence


def test_a_partners_post_is_never_rejected_by_agreement(tmp_path):
    outcome = moderator(tmp_path, _Fixed(genuine=0.1, spam=0.9)).evaluate(post(WEAK_SPAM, author="awo_siegen"))
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
    with pytest.raises(ValueError, match="holdout"):
        load_training([REPO / "tests" / "data" / "moderation" / "holdout.jsonl"])
