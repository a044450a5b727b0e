"""Audience matching: compounds, umlaut spellings, English posts, audiences a campaign adds, the learned part."""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from campaign_worker.config.campaigns import parse_campaign
from campaign_worker.home import defaults_root
from campaign_worker.moderation import audience_model
from campaign_worker.moderation.audience_train import data_dir, main as train_main
from campaign_worker.moderation.audiences import match_audiences


@pytest.fixture(scope="module")
def shipped():
    folder = defaults_root() / "config" / "campaigns"
    return {p.stem: parse_campaign(p) for p in folder.glob("*.toml")}


def keys(campaign, caption):
    return [m.key for m in match_audiences(campaign, caption)]


def test_compound_heads_decide(shipped):
    pflege = shipped["medizin-pflege"]
    assert keys(pflege, "Heute startet meine Pflegeausbildung im Klinikum Olpe!")[0] == "azubis"
    assert keys(pflege, "Zehn Jahre Intensivpflegekraft und kein bisschen müde.")[0] == "pflege"
    assert keys(pflege, "Unsere neue Oberärztin der Kardiologie stellt sich vor.")[0] == "aerzte"
    siegen = shipped["siegen"]
    assert keys(siegen, "Mein Ausbildungsplatz als Zimmerer ist sicher!")[0] == "azubis"


@pytest.mark.parametrize("caption", ["Wir suchen Ärztinnen und Ärzte für unsere Klinik in Soest.",
                                     "Wir suchen Aerztinnen und Aerzte fuer unsere Klinik in Soest."])
def test_both_umlaut_spellings_match_alike(shipped, caption):
    matches = match_audiences(shipped["medizin-pflege"], caption)
    assert matches[0].key == "aerzte" and any("aerzt" in w for w in matches[0].words)


def test_english_posts_match_their_audiences(shipped):
    pflege, siegen = shipped["medizin-pflege"], shipped["siegen"]
    assert keys(pflege, "Third night shift in a row as a nurse on the ICU, coffee is my best friend")[0] == "pflege"
    assert keys(pflege, "As a medical student I spent my elective in Siegen and loved it")[0] == "studierende"
    assert keys(pflege, "Looking for doctors: residency in internal medicine, visa support")[0] == "aerzte"
    assert keys(siegen, "We moved here with our two kids and the playground is five minutes away")[0] == "familien"
    assert keys(siegen, "Started my apprenticeship as a carpenter today!")[0] == "azubis"


def test_a_post_without_audience_words_has_none(shipped):
    assert keys(shipped["siegen"], "Nebel über dem Hüttental, oben scheint die Sonne #siegerland") == []


def test_matches_are_ordered_scored_and_explained(shipped):
    matches = match_audiences(shipped["siegen"], "Wir suchen eine Elektronikerin (m/w/d) in Vollzeit, unbefristet.")
    assert matches[0].key == "fachkraefte" and matches[0].words
    assert all(0 <= m.score <= 1 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_an_audience_a_campaign_adds_is_matched_by_its_keywords(tmp_path):
    path = tmp_path / "rente.toml"
    path.write_text(
        'name = "Ruhestand im Siegerland"\nhashtags = ["ruhestand"]\n'
        '[[audiences]]\nkey = "senioren"\nlabel = "Seniorinnen und Senioren"\nkeywords = ["ruhestand", "rentner", "enkel"]\n'
        '[[audiences]]\nkey = "familien"\nlabel = "Familien"\nkeywords = ["familie"]\n', encoding="utf-8")
    campaign = parse_campaign(path)
    matches = match_audiences(campaign, "Seit drei Wochen im Ruhestand und endlich Zeit für den Garten.")
    assert [m.key for m in matches] == ["senioren"] and "ruhestand" in matches[0].words
    assert keys(campaign, "Als Rentnerin im Siegerland: Wandern statt Pendeln") == ["senioren"]
    assert keys(campaign, "Abendrot über dem Krönchen") == []


def test_the_learned_part_loads_without_network(monkeypatch, shipped):
    def no_network(*args, **kwargs):
        raise AssertionError("the audience model must not touch the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    audience_model.shipped.cache_clear()
    model = audience_model.shipped()
    assert model is not None and {"fachkraefte", "azubis", "familien", "pflege", "aerzte", "studierende"} <= set(model.keys)
    assert 0 < model.threshold < 1
    with np.load(audience_model.MODEL_PATH, allow_pickle=False) as data:  # numpy arrays only, no pickle
        assert set(data.files) >= {"keys", "vocabulary", "idf", "coef", "rule_coef", "intercept", "params"}
    assert keys(shipped["medizin-pflege"], "Erste Woche als Assistenzärztin in der Inneren")[0] == "aerzte"


def test_without_the_model_file_the_rules_decide(monkeypatch, shipped, tmp_path):
    monkeypatch.setattr(audience_model, "MODEL_PATH", tmp_path / "missing.npz")
    audience_model.shipped.cache_clear()
    try:
        assert audience_model.shipped() is None
        assert keys(shipped["medizin-pflege"], "Pflegeausbildung in Olpe gestartet!")[0] == "azubis"
    finally:
        audience_model.shipped.cache_clear()


def test_retraining_is_reproducible_from_the_seed(tmp_path):
    sample = tmp_path / "sample.jsonl"
    lines = (data_dir() / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    genuine = [line for line in lines if json.loads(line)["label"] == "genuine"]
    sample.write_text("\n".join(genuine[:160]) + "\n", encoding="utf-8")
    for name in ("a", "b"):
        assert train_main(["--data", str(sample), "--out", str(tmp_path / f"{name}.npz"), "--seed", "7"]) == 0
    a, b = audience_model.read(tmp_path / "a.npz"), audience_model.read(tmp_path / "b.npz")
    assert a.keys == b.keys and a.vocabulary == b.vocabulary and a.params == b.params
    assert np.array_equal(a.coef, b.coef) and np.array_equal(a.intercept, b.intercept)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_prediction_reads_a_post_as_training_weighed_it(tmp_path, shipped):
    """The model's own reading equals scikit-learn's tf-idf of the same analyzers (what training fits on)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    from campaign_worker.moderation.audiences import read_post

    rows = [json.loads(line) for line in (data_dir() / "dev.jsonl").read_text(encoding="utf-8").splitlines()]
    genuine = [r for r in rows if r["label"] == "genuine" and r["campaign"] in shipped][:200]
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in genuine), encoding="utf-8")
    assert train_main(["--data", str(sample), "--out", str(tmp_path / "m.npz")]) == 0
    model = audience_model.read(tmp_path / "m.npz")

    posts = [read_post(shipped[r["campaign"]], r["caption"]) for r in genuine]
    texts = [audience_model.model_text(prose, tags) for prose, tags in posts]
    vectorisers = [TfidfVectorizer(analyzer=a, min_df=2, sublinear_tf=True).fit(texts)
                   for a in (audience_model.word_terms, audience_model.char_terms)]
    expected = hstack([v.transform(texts) for v in vectorisers]).toarray()
    assert expected.shape[1] == len(model.vocabulary)
    for n in (0, 57, 199):
        reading = model.read(*posts[n])
        got = np.zeros(len(model.vocabulary))
        got[reading.rows] = reading.values
        assert np.allclose(got, expected[n]) and len(reading.rows) > 20


@pytest.mark.parametrize("held_out", ["holdout.jsonl", "holdout_b.jsonl", "holdout_c.jsonl"])
def test_training_refuses_the_held_out_halves(tmp_path, held_out):
    with pytest.raises(SystemExit, match="only measured"):
        train_main(["--data", str(data_dir() / held_out), "--out", str(tmp_path / "x.npz")])
    assert not (tmp_path / "x.npz").exists()


def test_gender_forms_weak_compound_heads_and_training_context(shipped):
    pflege, siegen = shipped["medizin-pflege"], shipped["siegen"]
    assert keys(pflege, "Wir suchen Assistenzärzt:innen für die Innere Medizin") == ["aerzte"]
    assert keys(siegen, "Wir suchen Elektroniker:innen in Vollzeit")[0] == "fachkraefte"
    assert keys(pflege, "Notarztdienst heute, vier Einsätze")[0] == "aerzte"  # „-dienst“ is too weak a head to decide
    # A job title in a post about training names what is trained for: the audience is the trainees.
    assert keys(siegen, "Ausbildung zum Elektroniker für Betriebstechnik bei uns in Kreuztal, Start August") == ["azubis"]
    assert keys(pflege, "Ausbildung zur Pflegefachfrau beginnt im Oktober") == ["azubis"]
