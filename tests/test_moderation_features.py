"""The model's features (`ngrams` via `model.featurise`): what an n-gram and a word are, how they
are weighted, that training and prediction compute the same thing, and that the hashes are
stable across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from campaign_worker.moderation.model import MODEL_PATH, N_FEATURES, N_WORD_FEATURES, NGRAMS, Shape, TextModel, account_text
from campaign_worker.moderation.ngrams import hashed_ngrams, hashed_words, inverse_document_frequency, side_by_side, tfidf
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.train import Counts, _matrix

CAPTIONS = ("Krönchen im Gegenlicht 👑 #MeinHerzTrägtKrone", "d u  I d i o t", "", "   ", "a",
            "Ärztin in Bad Laasphe\n\tneue Stelle", "hallo hallo hallo", "x\0y z")
PINNED_AB = [31174, 41498, 44825, 88356, 183572, 218863]  # " a", "ab", "b ", " ab", "ab ", " ab "
PINNED_WORDS = [85421, 167898, 215149]  # "ab", "cd" and "ab cd", in column order


def reference(text: str, low: int = 2, high: int = 5) -> Counter:
    """The n-grams by definition: every 2–5 characters inside each space-padded word."""
    grams: Counter = Counter()
    for word in text.split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@pytest.mark.parametrize("text", CAPTIONS)
def test_each_text_gets_its_own_n_grams_counted(text):
    # With 2**30 columns, collisions in these few n-grams are practically impossible.
    found = hashed_ngrams([text], 2**30, (2, 5))
    assert sorted(found.values[found.indptr[0] : found.indptr[1]]) == sorted(reference(text).values())


def test_words_and_word_pairs_are_counted():
    found = hashed_words(["hallo hallo welt", "a b", "Grüße, Team!"], 2**30)
    per_text = [sorted(found.values[found.indptr[i] : found.indptr[i + 1]].tolist()) for i in range(3)]
    # hallo ×2, welt, "hallo hallo", "hallo welt"; one-letter words count for nothing; punctuation splits.
    assert per_text == [[1.0, 1.0, 1.0, 2.0], [], [1.0, 1.0, 1.0]]


def test_counts_are_weighted_tf_idf_and_normalised():
    found = hashed_ngrams(["hallo hallo welt"], 2**10, (2, 5))
    idf = np.linspace(1.0, 3.0, 2**10)
    weighted = tfidf(found, idf)
    expected = (1 + np.log(found.values)) * idf[found.columns]
    assert np.allclose(weighted.values, expected / np.linalg.norm(expected))
    df = np.array([0.0, 1.0, 2.0, 5.0])
    assert np.allclose(inverse_document_frequency(df, 10), np.log(11 / (1 + df)) + 1)


def test_what_training_did_not_learn_dilutes_a_post_instead_of_vanishing():
    """A rare column is left at zero in training but keeps its share of the norm, as at prediction."""
    texts = ["hallo welt", "hallo team", "hallo welt team", "zzqx hallo"]
    counts = Counts(texts)
    learned_all = _matrix(counts, np.zeros((4, 1)), np.ones(Shape().n_columns))
    df = counts.document_frequency(np.arange(4))
    kept = _matrix(counts, np.zeros((4, 1)), np.ones(Shape().n_columns), df >= 2)
    last = kept.getrow(3).toarray().ravel()
    assert 0 < np.linalg.norm(last) < 1  # "zzqx" (in one text) took part of the norm and adds nothing
    assert np.allclose(last[last != 0], learned_all.getrow(3).toarray().ravel()[last != 0])


def test_the_word_block_follows_each_texts_n_grams():
    texts = ["hallo welt", "", "a", "x y z zz", "Grüße Team Siegen 👑", ""]
    chars, words = hashed_ngrams(texts, 2**10, (2, 5)), hashed_words(texts, 2**10)
    both = side_by_side(chars, words, 2**10)
    for i in range(len(texts)):
        got = both.columns[both.indptr[i] : both.indptr[i + 1]].tolist()
        expected = (chars.columns[chars.indptr[i] : chars.indptr[i + 1]].tolist()
                    + [c + 2**10 for c in words.columns[words.indptr[i] : words.indptr[i + 1]].tolist()])
        assert got == expected
    assert both.indptr[-1] == len(chars.columns) + len(words.columns) and len(both.values) == both.indptr[-1]


def test_a_text_scores_the_same_alone_and_inside_a_batch():
    model = TextModel.load(MODEL_PATH)
    texts = [normalize(c).text for c in CAPTIONS]
    batch = model.features(texts)
    for i, text in enumerate(texts):
        alone = model.features([text])
        sl = slice(batch.indptr[i], batch.indptr[i + 1])
        assert np.array_equal(batch.columns[sl], alone.columns) and np.allclose(batch.values[sl], alone.values)


def test_prediction_uses_exactly_the_features_training_used():
    model = TextModel.load(MODEL_PATH)
    texts = [normalize(c).text for c in CAPTIONS]
    authors = ["Heimat_Zuerst88", None, "lena.sgn", "", "x", "Dr. Aylin Özdemir", "follow4follow", "a_b"]
    trained = _matrix(Counts(texts, authors), np.zeros((len(texts), 4)), model.idf)[:, : model.shape.n_columns]
    predicted = model.features(texts, authors)
    assert np.array_equal(trained.indptr, predicted.indptr)
    assert np.array_equal(trained.indices, predicted.columns)
    assert np.allclose(trained.data, predicted.values)
    assert (predicted.columns >= N_FEATURES).any()  # the word block is there
    assert (predicted.columns >= N_FEATURES + N_WORD_FEATURES).any()  # and the account names'


def test_an_account_name_is_read_as_its_words():
    assert account_text("Heimat_Zuerst88") == "heimat zuerst"
    assert account_text("dr.aylin.özdemir") == "dr aylin oezdemir"
    assert account_text("__1488__") == "" and account_text(None) == ""
    assert len(account_text("a" * 500)) == 60  # Instagram allows 30 characters; longer names are cut


def test_the_account_name_is_a_block_of_its_own_and_empty_without_a_name():
    model = TextModel.load(MODEL_PATH)
    text = normalize("Krönchen im Gegenlicht 👑").text
    alone = model.features([text])
    with_name = model.features([text], ["krone.fan"])
    shape = model.shape
    caption_part = with_name.columns < shape.n_text
    # The caption's columns and weights do not change with the name (each block is normalised on its own).
    assert np.array_equal(with_name.columns[caption_part], alone.columns)
    assert np.allclose(with_name.values[caption_part], alone.values)
    assert (with_name.columns >= shape.n_text).sum() > 0 and (alone.columns < shape.n_text).all()
    assert np.array_equal(model.features([text], [None]).columns, alone.columns)


def columns_of(text: str) -> list[int]:
    return hashed_ngrams([text], N_FEATURES, NGRAMS).columns.tolist() + hashed_words([text], N_WORD_FEATURES).columns.tolist()


def test_the_hash_is_the_same_in_every_process():
    code = ("import json; from tests.test_moderation_features import columns_of; "
            "print(json.dumps(columns_of('Krönchen im Gegenlicht 👑 #meinherztraegtkrone')))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    here = columns_of("Krönchen im Gegenlicht 👑 #meinherztraegtkrone")
    assert json.loads(runs[0]) == json.loads(runs[1]) == here
    # Pinned: a change of a hash must come with a retrained model (and a new `FEATURES` name).
    assert hashed_ngrams(["ab"], N_FEATURES, NGRAMS).columns.tolist() == PINNED_AB
    assert hashed_words(["ab cd"], N_WORD_FEATURES).columns.tolist() == PINNED_WORDS


def test_a_model_trained_with_other_features_is_refused(tmp_path):
    with np.load(MODEL_PATH, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    params = json.loads(str(arrays["params"]))
    params["features"] = "sklearn-murmurhash"
    arrays["params"] = np.array(json.dumps(params))
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    with pytest.raises(Exception) as error:
        TextModel.load(old)
    assert "moderate-train" in str(error.value)



def test_a_names_evidence_is_the_same_whether_it_was_scored_in_a_batch_first():
    text = normalize("Gratis testen, nur heute #meinherztraegtkrone").text
    scored, fresh = TextModel.load(MODEL_PATH), TextModel.load(MODEL_PATH)
    named, alone = scored.predict_both([text], np.zeros((1, len(scored.extra))), ["gratis.follower.24"])
    assert named[0, 1] > alone[0, 1]  # the name adds to P(spam); without it the caption alone speaks
    spam = scored.labels.index("spam")
    evidence = scored.evidence(text, spam, author="gratis.follower.24")
    assert evidence == fresh.evidence(text, spam, author="gratis.follower.24")
    assert "Kontoname: gratis.follower.24" in evidence
