"""The model's features (`ngrams.hashed_ngrams` via `model.featurise`): what an n-gram is, that
training and prediction compute the same thing, and that the hash is stable across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from campaign_worker.moderation.model import MODEL_PATH, N_FEATURES, TextModel, featurise
from campaign_worker.moderation.ngrams import hashed_ngrams
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.train import _matrix

CAPTIONS = ("Krönchen im Gegenlicht 👑 #MeinHerzTrägtKrone", "d u  I d i o t", "", "   ", "a",
            "Ärztin in Bad Laasphe\n\tneue Stelle", "hallo hallo hallo", "x\0y z")
PINNED_AB = [31174, 41498, 44825, 88356, 183572, 218863]  # " a", "ab", "b ", " ab", "ab ", " ab "


def reference(text: str, low: int = 2, high: int = 5) -> Counter:
    """The n-grams by definition: every 2–5 characters inside each space-padded word."""
    grams: Counter = Counter()
    for word in text.split():
        padded = f" {word} "
        for n in range(low, high + 1):
            grams.update(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


@pytest.mark.parametrize("text", CAPTIONS)
def test_each_text_gets_its_own_n_grams_counted_and_normalised(text):
    # With 2**30 columns, collisions in these few n-grams are practically impossible.
    found = hashed_ngrams([text], 2**30, (2, 5))
    counts = sorted(reference(text).values())
    values = found.values[found.indptr[0] : found.indptr[1]]
    assert len(values) == len(counts)
    if counts:
        assert np.allclose(sorted(values), np.array(counts) / np.sqrt(np.sum(np.square(counts))))


def test_a_text_scores_the_same_alone_and_inside_a_batch():
    texts = [normalize(c).text for c in CAPTIONS]
    batch = featurise(texts)
    for i, text in enumerate(texts):
        alone = featurise([text])
        sl = slice(batch.indptr[i], batch.indptr[i + 1])
        assert np.array_equal(batch.columns[sl], alone.columns) and np.allclose(batch.values[sl], alone.values)


def test_prediction_uses_exactly_the_features_training_used():
    texts = [normalize(c).text for c in CAPTIONS]
    trained = _matrix(texts, np.zeros((len(texts), 4)))[:, :N_FEATURES]
    model = TextModel.load(MODEL_PATH)
    predicted = model.features(texts)
    assert np.array_equal(trained.indptr, predicted.indptr)
    assert np.array_equal(trained.indices, predicted.columns)
    assert np.allclose(trained.data, predicted.values)


def test_the_hash_is_the_same_in_every_process():
    code = ("import json, sys; from campaign_worker.moderation.model import featurise; "
            "f = featurise(['Krönchen im Gegenlicht 👑 #meinherztraegtkrone']); print(json.dumps(f.columns.tolist()))")
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")]
    here = featurise(["Krönchen im Gegenlicht 👑 #meinherztraegtkrone"]).columns.tolist()
    assert json.loads(runs[0]) == json.loads(runs[1]) == here
    # Pinned: a change of the hash must come with a retrained model (and a new `FEATURES` name).
    assert featurise(["ab"]).columns.tolist() == PINNED_AB


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

