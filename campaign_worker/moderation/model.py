"""The learned part of moderation: a linear classifier on character n-grams of the folded text.

Where word lists stop (coded hate, scams that look like the campaign's own posts, off-topic
posts with the campaign tag), a small model trained on labelled captions gives each post a
probability per label: genuine, spam, profanity, hate, offtopic. Features are hashed
character 2–5-grams of the folded caption (stateless: only the coefficients are stored) plus
the campaign relevance signals (`relevance.Signals.features`).

The weights ship inside the package as `model.npz` (numpy arrays, no pickle): the vectorizer's
parameters, the label names, the intercepts and the non-zero coefficient columns. `train.py`
rebuilds the file from `tests/data/` with a fixed seed. Evidence for a verdict is the words of
the caption whose n-grams pushed most towards the predicted label.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.moderation.cues import NAMES as CUE_NAMES

LABELS = ("genuine", "spam", "profanity", "hate", "offtopic")
MODEL_PATH = Path(__file__).with_name("model.npz")
N_FEATURES = 2**18
NGRAMS = (2, 5)
EXTRA = ("relevance.region", "relevance.theme", "relevance.own_tag", "relevance.elsewhere") + CUE_NAMES
_WORD_RE = re.compile(r"[^\W_]{3,}")


class ModelError(CampaignWorkerError):
    """The shipped model file is missing or unreadable."""


def vectorizer(n_features: int = N_FEATURES, ngrams: tuple[int, int] = NGRAMS):
    """The hashing vectorizer both training and prediction use (stateless)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(analyzer="char_wb", ngram_range=ngrams, n_features=n_features,
                             alternate_sign=False, lowercase=False, norm="l2", dtype=np.float32)


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

    def __init__(self, labels: tuple[str, ...], intercept: np.ndarray, columns: np.ndarray, weights: np.ndarray,
                 extra: np.ndarray, params: dict):
        self.labels = labels
        self.intercept = intercept.astype(np.float64)
        self.params = params
        self._vectorizer = vectorizer(int(params["n_features"]), tuple(params["ngrams"]))
        self._analyze = self._vectorizer.build_analyzer()
        self._n_features = int(params["n_features"])
        self._column: dict[str, int] = {}
        self._index = {int(c): i for i, c in enumerate(columns)}
        # Dense lookup: hashed column → row of `weights` (or the zero row at the end).
        self._row = np.full(int(params["n_features"]), len(columns), dtype=np.int32)
        self._row[columns] = np.arange(len(columns), dtype=np.int32)
        self._weights = np.vstack([weights.astype(np.float64), np.zeros((1, len(labels)))])
        self.extra = extra.astype(np.float64)

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> "TextModel":
        try:
            with np.load(path, allow_pickle=False) as data:
                params = json.loads(str(data["params"]))
                return cls(tuple(str(x) for x in data["labels"]), data["intercept"], data["columns"],
                           data["weights"], data["extra"], params)
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"Moderationsmodell {path} nicht lesbar / cannot read the moderation model: {exc}. "
                             "Neu trainieren mit / retrain with: campaign-worker moderate-train") from None

    def save(self, path: Path) -> None:
        columns = np.array(sorted(self._index), dtype=np.int32)
        rows = self._row[columns]
        np.savez_compressed(path, labels=np.array(self.labels), intercept=self.intercept.astype(np.float32),
                            columns=columns, weights=self._weights[rows].astype(np.float32),
                            extra=self.extra.astype(np.float32), params=np.array(json.dumps(self.params)))

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The hashed columns of `text` and their l2-normalised counts, as the vectorizer makes them.

        Same result as `HashingVectorizer.transform([text])`, without its per-call checks (which
        cost five times the n-grams themselves); each n-gram's column is remembered.
        """
        counts: dict[int, int] = {}
        column = self._column
        for gram in self._analyze(text):
            index = column.get(gram)
            if index is None:
                index = column[gram] = _hash_column(gram, self._n_features)
                if len(column) > 500_000:
                    column.clear()
            counts[index] = counts.get(index, 0) + 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        columns = np.fromiter(counts, dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        return columns, values / np.sqrt(values @ values)

    def scores(self, text: str, extra: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw class scores, and the hashed columns with their values (for evidence)."""
        columns, values = self.features(text)
        scores = self.intercept + values @ self._weights[self._row[columns]] + np.asarray(extra) @ self.extra
        return scores, columns, values

    def predict(self, text: str, extra: tuple[float, ...], explain: bool = True) -> Prediction:
        scores, columns, values = self.scores(text, extra)
        exp = np.exp(scores - scores.max())
        probabilities = exp / exp.sum()
        result = {label: float(p) for label, p in zip(self.labels, probabilities)}
        if not explain:
            return Prediction(result)
        return Prediction(result, self._evidence(text, int(np.argmax(probabilities))))

    def _evidence(self, text: str, label: int, top: int = 3) -> tuple[str, ...]:
        """The caption's words whose n-grams push most towards `label` (against genuine)."""
        weights = self._weights[:, label] - self._weights[:, 0] if label else self._weights[:, 0]
        scored = []
        for word in dict.fromkeys(_WORD_RE.findall(text)):
            columns, values = self.features(f" {word} ")
            contribution = float(values @ weights[self._row[columns]])
            scored.append((contribution, word))
        scored.sort(reverse=True)
        return tuple(word for contribution, word in scored[:top] if contribution > 0)


def _hash_column(gram: str, n_features: int) -> int:
    """The column scikit-learn's hashing gives `gram` (signed 32-bit murmurhash3, seed 0)."""
    from sklearn.utils import murmurhash3_32

    h = murmurhash3_32(gram, seed=0)
    return (2147483647 - (n_features - 1)) % n_features if h == -2147483648 else abs(h) % n_features


@lru_cache(maxsize=1)
def shipped_model() -> TextModel:
    """The model inside the package (loaded once per process; no network)."""
    return TextModel.load(MODEL_PATH)
