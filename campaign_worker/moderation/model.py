"""The learned part of moderation: a linear classifier on character n-grams and words of the caption and the account name.

Where word lists stop (coded hate, scams that look like the campaign's own posts, off-topic
posts with the campaign tag), a small model trained on labelled captions gives each post a
probability per label: genuine, spam, profanity, hate, offtopic. Features are two hashed
blocks of the folded caption, each weighted tf-idf and normalised on its own (`ngrams`:
character 2–5-grams of each word, and words with word pairs; only the idf per column and the
coefficients are stored), two more such blocks of the account name (its character 2–4-grams,
and its words: „followers.fabrik“, „heimat_zuerst88“, „pflegeschule.freiburg“ say something a
caption may not), plus the campaign relevance signals and word families
(`cues.model_features`). A post without an account name has empty name blocks; training
shows every post once with its name and once without, so the captions carry the model alone
where no name is known. Since the name's blocks are normalised on their own, their part of a
score is separate: `predict_both` gives the probabilities with the name and from the caption
alone in one pass, and the engine lets the name count only against a post (`engine.py`).

The weights ship inside the package as `model.npz` (numpy arrays, no pickle): the feature
parameters, the idf per column, the label names, the intercepts and the non-zero coefficient
columns. `train.py` rebuilds the file from `tests/data/` with a fixed seed. Posts are scored
a batch at a time (`predict_many`); evidence for a verdict is the words of the caption (and
the account name) whose features pushed most towards the predicted label, computed only for
the posts that need it.
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
from campaign_worker.moderation.normalize import fold

LABELS = ("genuine", "spam", "profanity", "hate", "offtopic")
MODEL_PATH = Path(__file__).with_name("model.npz")
N_FEATURES = 2**18  # character n-gram columns
N_WORD_FEATURES = 2**18  # word and word-pair columns, after them
N_ACCOUNT_FEATURES = 2**16  # the account name's n-grams and words, after those
NGRAMS = (2, 5)
ACCOUNT_NGRAMS = (2, 4)
MAX_ACCOUNT_CHARS = 60  # Instagram allows 30; longer names from other sources are cut
# Names the feature function a model was trained with; a file made with another one is refused.
FEATURES = "tfidf:char_wb-fnv1a-fmix32+words-crc32+account"
EXTRA = ("relevance.region", "relevance.theme", "relevance.own_tag", "relevance.elsewhere") + CUE_NAMES
CHUNK = 1_000  # texts hashed at once: bounds the n-gram arrays to a few MB
_WORD_RE = re.compile(r"[^\W_]{3,}")
_NAME_SEPARATORS_RE = re.compile(r"[\W_\d]+")
ACCOUNT_EVIDENCE = "Kontoname: "  # before an account name in a verdict's evidence (English pages: "account name: ")
_WORD_CACHE = 200_000  # words whose contributions are remembered for evidence


class ModelError(CampaignWorkerError):
    """The shipped model file is missing or unreadable."""


@lru_cache(maxsize=2**16)  # a campaign's posters come back; folding a name costs more than looking it up
def account_text(author: str | None) -> str:
    """An account name as words for the model: folded, digits and dots dropped („Heimat_Zuerst88“ → „heimat zuerst“)."""
    return " ".join(_NAME_SEPARATORS_RE.sub(" ", fold((author or "")[:MAX_ACCOUNT_CHARS])).split())


def account_evidence(author: str | None) -> str | None:
    """How an account name stands in a verdict's evidence („Kontoname: …“); None for a name without words."""
    return ACCOUNT_EVIDENCE + author[:MAX_ACCOUNT_CHARS] if author and account_text(author) else None


@dataclass(frozen=True)
class Shape:
    """The model's column blocks: caption n-grams, caption words, account name (n-grams and words)."""

    n_features: int = N_FEATURES
    n_word_features: int = N_WORD_FEATURES
    n_account_features: int = N_ACCOUNT_FEATURES
    ngrams: tuple[int, int] = NGRAMS
    account_ngrams: tuple[int, int] = ACCOUNT_NGRAMS

    @property
    def n_text(self) -> int:
        return self.n_features + self.n_word_features

    @property
    def n_columns(self) -> int:
        return self.n_text + 2 * self.n_account_features


@dataclass(frozen=True)
class Counted:
    """A batch's hashed counts per block, before weighting."""

    chars: HashedNgrams
    words: HashedNgrams
    account_chars: HashedNgrams
    account_words: HashedNgrams

    @classmethod
    def of(cls, texts: Sequence[str], accounts: Sequence[str], shape: Shape) -> "Counted":
        """`texts` folded; `accounts` as `account_text` gives them ("" where none is known)."""
        return cls(hashed_ngrams(texts, shape.n_features, shape.ngrams), hashed_words(texts, shape.n_word_features),
                   hashed_ngrams(accounts, shape.n_account_features, shape.account_ngrams),
                   hashed_words(accounts, shape.n_account_features))


def featurise(texts: Sequence[str], accounts: Sequence[str], idf: np.ndarray, shape: Shape = Shape()) -> HashedNgrams:
    """The features both training and prediction use (one function, so they cannot disagree)."""
    return weigh(Counted.of(texts, accounts, shape), idf, shape)


def weigh(counted: Counted, idf: np.ndarray, shape: Shape) -> HashedNgrams:
    """Each block's counts weighted tf-idf and normalised on its own, side by side (caption n-grams,
    caption words, account n-grams, account words)."""
    n_chars, n_text, n_account = shape.n_features, shape.n_text, shape.n_account_features
    text = side_by_side(tfidf(counted.chars, idf[:n_chars]), tfidf(counted.words, idf[n_chars:n_text]), n_chars)
    # The small name blocks are joined first, so the caption's large arrays are copied once more, not twice.
    account = side_by_side(tfidf(counted.account_chars, idf[n_text : n_text + n_account]),
                           tfidf(counted.account_words, idf[n_text + n_account :]), n_account)
    return side_by_side(text, account, n_text)


@dataclass(frozen=True)
class Prediction:
    """Probability per label, the most likely label, and the words that led there."""

    probabilities: dict[str, float]
    evidence: tuple[str, ...] = ()
    by_caption: dict[str, float] | None = None  # from the caption alone, without the account name (None: the same)

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.__getitem__)

    @property
    def genuine(self) -> float:
        return self.probabilities["genuine"]

    @property
    def caption(self) -> dict[str, float]:
        """P(label) without the account name: what a decision in the post's favour rests on."""
        return self.probabilities if self.by_caption is None else self.by_caption

    @property
    def caption_label(self) -> str:
        """The most likely label without the account name."""
        return max(self.caption, key=self.caption.__getitem__)


class TextModel:
    """A trained classifier: weights over hashed n-grams plus relevance features."""

    def __init__(self, labels: tuple[str, ...], intercept: np.ndarray, idf: np.ndarray, columns: np.ndarray,
                 weights: np.ndarray, extra: np.ndarray, params: dict):
        self.labels = labels
        self.intercept = intercept.astype(np.float64)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.params = params
        self.shape = Shape(int(params["n_features"]), int(params["n_word_features"]), int(params["n_account_features"]),
                           (int(params["ngrams"][0]), int(params["ngrams"][1])),
                           (int(params["account_ngrams"][0]), int(params["account_ngrams"][1])))
        self._columns = np.asarray(columns, dtype=np.int64)
        # Hashed column → row of `_weights`; columns training kept no weight for point at the zero row at the end.
        self._row = np.full(self.shape.n_columns, len(columns), dtype=np.int32)
        self._row[self._columns] = np.arange(len(columns), dtype=np.int32)
        self._weights = np.vstack([np.asarray(weights, dtype=np.float64), np.zeros((1, len(labels)))])
        self.extra = extra.astype(np.float64)
        self._words: dict[str, np.ndarray] = {}
        self._accounts: dict[str, np.ndarray] = {}

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
        """How many hashed columns (n-grams and words of captions and account names) carry weights."""
        return len(self._columns)

    def features(self, texts: Sequence[str], authors: Sequence[str | None] | None = None) -> HashedNgrams:
        """The weighted features of `texts` (folded) and their authors' names, with this model's parameters and idf."""
        accounts = [account_text(a) for a in authors] if authors is not None else [""] * len(texts)
        return featurise(texts, accounts, self.idf, self.shape)

    def scores_many(self, texts: Sequence[str], extra: np.ndarray, authors: Sequence[str | None] | None = None) -> np.ndarray:
        """Raw class scores, one row per text; `extra` holds each text's relevance features, `authors` the account names."""
        return self._scores(texts, extra, authors)[0]

    def _scores(self, texts: Sequence[str], extra: np.ndarray, authors: Sequence[str | None] | None) -> tuple[np.ndarray, np.ndarray]:
        """Raw class scores with the account names, and without them.

        The names' blocks are normalised on their own, so their part of a score does not depend on
        the caption: it is scored from the names alone (as posts without a caption) and added.
        """
        captions = np.empty((len(texts), len(self.labels)))
        names_part = np.zeros((len(texts), len(self.labels)))
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            captions[start : start + len(chunk)] = self._text_scores(self.features(chunk))
            if authors is not None:
                names = authors[start : start + CHUNK]
                part = self._text_scores(self.features([""] * len(chunk), names))
                names_part[start : start + len(chunk)] = part
                self._remember_accounts(names, part)
        base = self.intercept + np.asarray(extra, dtype=np.float64).reshape(len(texts), len(self.extra)) @ self.extra
        return captions + names_part + base, captions + base

    def _text_scores(self, found: HashedNgrams) -> np.ndarray:
        """Σ value × weight per text and label: one sparse × dense product (scipy's C loop).

        The product runs over the compact weight rows (a few MB) rather than a dense table of
        every hashed column: gathering from the large table cost more than the hashing itself.
        """
        from scipy.sparse import csr_matrix

        rows = np.take(self._row, found.columns)
        matrix = csr_matrix((found.values, rows, found.indptr), shape=(len(found.indptr) - 1, len(self._weights)))
        return np.asarray(matrix @ self._weights)

    def predict_many(self, texts: Sequence[str], extra: np.ndarray, authors: Sequence[str | None] | None = None) -> np.ndarray:
        """P(label) per text (rows) and label (columns, in `self.labels` order); no `authors`: no names known."""
        return _softmax(self.scores_many(texts, extra, authors))

    def predict_both(self, texts: Sequence[str], extra: np.ndarray, authors: Sequence[str | None]) -> tuple[np.ndarray, np.ndarray]:
        """`predict_many` with the account names, and from the captions alone (one pass over the features)."""
        named, caption_only = self._scores(texts, extra, authors)
        return _softmax(named), _softmax(caption_only)

    def predict(self, text: str, extra: tuple[float, ...], explain: bool = True, author: str | None = None) -> Prediction:
        """One text's prediction (the batch path with a batch of one), with evidence if asked."""
        probabilities = self.predict_many([text], np.asarray([extra], dtype=np.float64), [author])[0]
        result = {label: float(p) for label, p in zip(self.labels, probabilities)}
        if not explain:
            return Prediction(result)
        return Prediction(result, self.evidence(text, int(np.argmax(probabilities)), author=author))

    def evidence(self, text: str, label: int, top: int = 3, author: str | None = None) -> tuple[str, ...]:
        """The caption's words, and the account name, whose features push most towards `label` (against genuine).

        The name is shown as „Kontoname: …“ when it is among the `top` pushes.
        """
        words = list(dict.fromkeys(_WORD_RE.findall(text)))
        scored: list[tuple[float, str]] = []
        if words:
            sums = self._word_sums(words)
            contributions = sums[:, label] - sums[:, 0] if label else sums[:, 0]
            scored = list(zip(contributions.tolist(), words))
        shown = account_evidence(author)
        if shown:
            name = self._account_sums(author)  # type: ignore[arg-type]
            scored.append((float(name[label] - name[0] if label else name[0]), shown))
        scored.sort(reverse=True)
        return tuple(item for contribution, item in scored[:top] if contribution > 0)

    def _remember_accounts(self, authors: Sequence[str | None], rows: np.ndarray) -> None:
        """Keep each name's part of the scores for its evidence (the same as `_account_sums` computes)."""
        if len(self._accounts) + len(authors) > _WORD_CACHE:
            self._accounts.clear()
        for author, row in zip(authors, rows):
            if author:
                self._accounts[author] = row

    def _account_sums(self, author: str) -> np.ndarray:
        """The account name's feature scores per label (its block is normalised on its own, so they hold in any post)."""
        if author not in self._accounts:
            if len(self._accounts) >= _WORD_CACHE:
                self._accounts.clear()
            self._accounts[author] = self._text_scores(self.features([""], [author]))[0]
        return self._accounts[author]

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


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


@lru_cache(maxsize=1)
def shipped_model() -> TextModel:
    """The model inside the package (loaded once per process; no network)."""
    return TextModel.load(MODEL_PATH)
