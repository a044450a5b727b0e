"""The learned part of moderation: a linear classifier on character n-grams and words of the folded text.

Where word lists stop (coded hate, scams that look like the campaign's own posts, off-topic
posts with the campaign tag), a small model trained on labelled captions gives each post a
probability per label: genuine, spam, profanity, hate, offtopic. Features are two hashed
blocks of the folded caption, each weighted tf-idf and normalised on its own
(`ngrams`: character 2–5-grams of each word, and words with word pairs; only the idf per
column and the coefficients are stored), plus the campaign relevance signals and word
families (`cues.model_features`).

The weights ship inside the package as `model.npz` (numpy arrays, no pickle): the feature
parameters, the idf per column, the label names, the intercepts and the non-zero coefficient
columns. `train.py` rebuilds the file from `tests/data/` with a fixed seed. Posts are scored
a batch at a time (`predict_many`); evidence for a verdict is the words of the caption whose
features pushed most towards the predicted label, computed only for the posts that need it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.moderation.cues import NAMES as CUE_NAMES
from campaign_worker.moderation.ngrams import HashedNgrams, hashed_ngrams, hashed_words, side_by_side, tfidf

LABELS = ("genuine", "spam", "profanity", "hate", "offtopic")
MODEL_PATH = Path(__file__).with_name("model.npz")
N_FEATURES = 2**18  # character n-gram columns
N_WORD_FEATURES = 2**18  # word and word-pair columns, after them
NGRAMS = (2, 5)
# Names the feature function a model was trained with; a file made with another one is refused.
FEATURES = "tfidf:char_wb-fnv1a-fmix32+words-crc32"
EXTRA = ("relevance.region", "relevance.theme", "relevance.own_tag", "relevance.elsewhere") + CUE_NAMES
CHUNK = 1_000  # texts hashed at once: bounds the n-gram arrays to a few MB
_WORD_RE = re.compile(r"[^\W_]{3,}")
_WORD_CACHE = 200_000  # words whose contributions are remembered for evidence


class ModelError(CampaignWorkerError):
    """The shipped model file is missing or unreadable."""


def featurise(texts: Sequence[str], idf: np.ndarray, n_features: int = N_FEATURES, n_word_features: int = N_WORD_FEATURES,
              ngrams: tuple[int, int] = NGRAMS) -> HashedNgrams:
    """The text features both training and prediction use (one function, so they cannot disagree)."""
    return weigh(hashed_ngrams(texts, n_features, ngrams), hashed_words(texts, n_word_features), idf, n_features)


def weigh(chars: HashedNgrams, words: HashedNgrams, idf: np.ndarray, n_features: int) -> HashedNgrams:
    """Both blocks' counts weighted tf-idf, each normalised on its own; the word columns after the `n_features` character ones."""
    return side_by_side(tfidf(chars, idf[:n_features]), tfidf(words, idf[n_features:]), n_features)


@dataclass(frozen=True)
class Prediction:
    """Probability per label, the most likely label, and the words that led there."""

    probabilities: dict[str, float]
    evidence: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def genuine(self) -> float:
        return self.probabilities["genuine"]


class TextModel:
    """A trained classifier: weights over hashed n-grams plus relevance features."""

    def __init__(self, labels: tuple[str, ...], intercept: np.ndarray, idf: np.ndarray, columns: np.ndarray,
                 weights: np.ndarray, extra: np.ndarray, params: dict):
        self.labels = labels
        self.intercept = intercept.astype(np.float64)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.params = params
        self._n_features = int(params["n_features"])
        self._n_word_features = int(params["n_word_features"])
        self._ngrams = (int(params["ngrams"][0]), int(params["ngrams"][1]))
        self._columns = np.asarray(columns, dtype=np.int64)
        # Hashed column → row of `_weights`; columns training kept no weight for point at the zero row at the end.
        self._row = np.full(self._n_features + self._n_word_features, len(columns), dtype=np.int32)
        self._row[self._columns] = np.arange(len(columns), dtype=np.int32)
        self._weights = np.vstack([np.asarray(weights, dtype=np.float64), np.zeros((1, len(labels)))])
        self.extra = extra.astype(np.float64)
        self._words: dict[str, np.ndarray] = {}

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "TextModel":
        try:
            with np.load(path, allow_pickle=False) as data:
                params = json.loads(str(data["params"]))
                if params.get("features") != FEATURES:
                    raise ValueError(f"trained with features {params.get('features', 'sklearn-murmurhash')!r}, "
                                     f"this version computes {FEATURES!r}")
                return cls(tuple(str(x) for x in data["labels"]), data["intercept"], data["idf"], data["columns"],
                           data["weights"], data["extra"], params)
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"Moderationsmodell {path} nicht lesbar / cannot read the moderation model: {exc}. "
                             "Neu trainieren mit / retrain with: campaign-worker moderate-train") from None

    def save(self, path: Path) -> None:
        np.savez_compressed(path, labels=np.array(self.labels), intercept=self.intercept.astype(np.float32),
                            idf=self.idf.astype(np.float32), columns=self._columns.astype(np.int32), weights=self._weights[:-1].astype(np.float32),
                            extra=self.extra.astype(np.float32), params=np.array(json.dumps(self.params)))

    @property
    def n_columns(self) -> int:
        """How many hashed columns (n-grams and words) carry weights."""
        return len(self._columns)

    def features(self, texts: Sequence[str]) -> HashedNgrams:
        """The weighted features of `texts`, with this model's parameters and idf."""
        return featurise(texts, self.idf, self._n_features, self._n_word_features, self._ngrams)

    def scores_many(self, texts: Sequence[str], extra: np.ndarray) -> np.ndarray:
        """Raw class scores, one row per text; `extra` holds each text's relevance features."""
        scores = np.empty((len(texts), len(self.labels)))
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            scores[start : start + len(chunk)] = self._text_scores(self.features(chunk))
        return scores + self.intercept + np.asarray(extra, dtype=np.float64).reshape(len(texts), len(self.extra)) @ self.extra

    def _text_scores(self, found: HashedNgrams) -> np.ndarray:
        """Σ value × weight per text and label: one sparse × dense product (scipy's C loop).

        The product runs over the compact weight rows (a few MB) rather than a dense table of
        every hashed column: gathering from the large table cost more than the hashing itself.
        """
        from scipy.sparse import csr_matrix

        rows = np.take(self._row, found.columns)
        matrix = csr_matrix((found.values, rows, found.indptr), shape=(len(found.indptr) - 1, len(self._weights)))
        return np.asarray(matrix @ self._weights)

    def predict_many(self, texts: Sequence[str], extra: np.ndarray) -> np.ndarray:
        """P(label) per text (rows) and label (columns, in `self.labels` order)."""
        scores = self.scores_many(texts, extra)
        exp = np.exp(scores - scores.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)

    def predict(self, text: str, extra: tuple[float, ...], explain: bool = True) -> Prediction:
        """One text's prediction (the batch path with a batch of one), with evidence if asked."""
        probabilities = self.predict_many([text], np.asarray([extra], dtype=np.float64))[0]
        result = {label: float(p) for label, p in zip(self.labels, probabilities)}
        if not explain:
            return Prediction(result)
        return Prediction(result, self.evidence(text, int(np.argmax(probabilities))))

    def evidence(self, text: str, label: int, top: int = 3) -> tuple[str, ...]:
        """The caption's words whose features push most towards `label` (against genuine)."""
        words = list(dict.fromkeys(_WORD_RE.findall(text)))
        if not words:
            return ()
        sums = self._word_sums(words)
        contributions = sums[:, label] - sums[:, 0] if label else sums[:, 0]
        scored = sorted(zip(contributions.tolist(), words), reverse=True)
        return tuple(word for contribution, word in scored[:top] if contribution > 0)

    def _word_sums(self, words: list[str]) -> np.ndarray:
        """Each word's feature scores per label, as a caption of that word alone; remembered per word."""
        cache = self._words
        missing = [w for w in words if w not in cache]
        if missing:
            if len(cache) + len(missing) > _WORD_CACHE:
                cache.clear()
            for word, row in zip(missing, self._text_scores(self.features(missing))):
                cache[word] = row
        return np.array([cache[w] for w in words])


@lru_cache(maxsize=1)
def shipped_model() -> TextModel:
    """The model inside the package (loaded once per process; no network)."""
    return TextModel.load(MODEL_PATH)
