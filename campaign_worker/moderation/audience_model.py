"""The learned part of audience matching: one logistic regression per well-known audience key.

The word rules (`audiences.py`) see what a lexicon can name; what they miss are audiences a
post only implies (a job title without a job word, „Rückkehrertreffen“, a team outing of a
ward). A small linear model per audience key reads the folded caption in two blocks, each
weighted tf-idf (sublinear term counts) and normalised on its own, so the words weigh as much
as the many character pieces: the words and word pairs, and the character 2–5-grams of each
word (what carries over to compounds and spellings it has not seen). Hashtags join both as
`tag_…` words. The rule evidence for that audience (its own score and the best other
audience's) is a third input.

The weights ship inside the package as `audience_model.npz` (numpy arrays, no pickle): the
feature vocabulary with its idf weights, one coefficient column per audience key, the
rule-feature coefficients, the intercepts and the decision threshold. `audience_train.py`
rebuilds it from the labelled development captions with a fixed seed
(`python -m campaign_worker.moderation.audience_train`); it hands `word_terms` and
`char_terms` below to scikit-learn's `TfidfVectorizer`, so training and prediction read a post
the same way. Prediction needs numpy only. An audience key the model does not know (one a
campaign adds) is decided by the rules alone.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("audience_model.npz")
CHAR_NGRAMS = (2, 5)
BLOCKS = ("w:", "c:")  # vocabulary prefixes: words and word pairs, character n-grams
RULE_FEATURES = ("own", "other", "own_enough", "own_best")
EXPLAIN_MIN = 0.5  # what a word must add to an audience's score (log-odds) to be named as evidence
_CHAR_CACHE = 100_000  # words whose n-gram rows are remembered

_TOKEN = re.compile(r"[a-z0-9ß_]{2,}")
_WORD = re.compile(r"[a-z0-9ß]+")
# Function words and numbers are never named as evidence („in“, „auf“, „2026“).
STOPWORDS = frozenset("""
a ab aber alle allem allen aller alles als also am an and are as at auch auf aus bei beim bin bis bist but by da dann das
dass dem den der des die dir doch du ein eine einem einen einer eines er es for from fuer gibt hab habe haben hat hatte he
her hier his i ich ihr ihre im in ins is ist it ja jede jeden jeder jetzt kann man me mehr mein meine meinem meinen meiner
mich mir mit my nach nicht noch nur ob oder of on or our schon sehr she sich sie sind so the their they this to uber um und
uns unser unsere unserem unseren unserer us vom von vor war waren was we were wenn wer what when who wie wir with wird you
your zu zum zur zwei drei vier
""".split())


def content_words(prose: str) -> list[str]:
    return [w for w in _WORD.findall(prose) if w not in STOPWORDS and not w.isdigit() and len(w) > 1]


def model_text(prose: str, tags: Sequence[str]) -> str:
    """What the model reads: the folded prose, then the folded hashtags as `tag_…` words."""
    return " ".join([prose, *("tag_" + tag for tag in tags)])


def word_terms(text: str) -> list[str]:
    """The words (two characters or more) and each pair of neighbouring words."""
    tokens = _TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


def char_terms(text: str) -> list[str]:
    """The character n-grams inside each space-padded word (scikit-learn's `char_wb` analyzer)."""
    terms: list[str] = []
    for word in text.lower().split():
        terms.extend(_char_grams(word))
    return terms


@lru_cache(maxsize=65536)
def _char_grams(word: str) -> tuple[str, ...]:
    padded = f" {word} "
    grams: list[str] = []
    low, high = CHAR_NGRAMS
    for n in range(low, high + 1):
        if n >= len(padded):  # a short word counts once, whole
            grams.append(padded)
            break
        grams.extend(padded[start:start + n] for start in range(len(padded) - n + 1))
    return tuple(grams)


def rule_features(scores: dict[str, float], key: str) -> list[float]:
    """The rule evidence for one audience as model inputs (see RULE_FEATURES)."""
    own = scores.get(key, 0.0)
    other = max((v for k, v in scores.items() if k != key), default=0.0)
    return [math.log1p(own), math.log1p(other), float(own >= 1.0), float(own >= 1.0 and own >= other)]


@dataclass(frozen=True)
class Reading:
    """One post as the model reads it: its vocabulary rows with their tf-idf weights, and each block's norm."""

    rows: np.ndarray  # int64
    values: np.ndarray  # float64, each block l2-normalised
    norms: tuple[float, float]  # (words, characters), before normalising


@dataclass
class AudienceModel:
    keys: tuple[str, ...]
    vocabulary: dict[str, int]  # "w:<term>" / "c:<term>" → row of coef and idf
    idf: np.ndarray  # (len(vocabulary),)
    coef: np.ndarray  # (len(vocabulary), len(keys))
    rule_coef: np.ndarray  # (len(RULE_FEATURES), len(keys))
    intercept: np.ndarray  # (len(keys),)
    params: dict

    @property
    def threshold(self) -> float:
        return float(self.params["threshold"])

    def knows_any(self, keys: Sequence[str]) -> bool:
        return any(k in self._column for k in keys)

    def read(self, prose: str, tags: Sequence[str]) -> Reading:
        """The post's two blocks (words, character n-grams): sublinear tf × idf, each l2-normalised."""
        text = model_text(prose, tags).lower()
        words = Counter([row for row in map(self._words.get, word_terms(text)) if row is not None])
        chars = Counter(chain.from_iterable(map(self._char_rows, text.split())))
        rows, values, norms = [], [], []
        for block in (words, chars):
            at = np.fromiter(block, dtype=np.int64, count=len(block))
            weight = (1.0 + np.log(np.fromiter(block.values(), dtype=np.float64, count=len(block)))) * self.idf[at]
            norm = float(np.sqrt(np.dot(weight, weight)))
            rows.append(at)
            values.append(weight / norm if norm else weight)
            norms.append(norm)
        return Reading(np.concatenate(rows), np.concatenate(values), (norms[0], norms[1]))

    def probabilities(self, reading: Reading, rule_scores: dict[str, float], keys: Sequence[str]) -> dict[str, float]:
        """Probability per audience key in `keys` that the model knows."""
        text = reading.values @ self.coef[reading.rows]
        scale = float(self.params["rule_scale"])
        out = {}
        for key in keys:
            j = self._column.get(key)
            if j is not None:
                z = text[j] + self.intercept[j] + scale * float(np.dot(rule_features(rule_scores, key), self.rule_coef[:, j]))
                out[key] = 1.0 / (1.0 + math.exp(-z))
        return out

    def words_for(self, reading: Reading, prose: str, key: str, limit: int = 3) -> tuple[str, ...]:
        """The post's words that pushed most towards this audience (explanation for the model's part).

        A word's push is what its own row and its character n-grams add to the score, counted
        as if it occurred once.
        """
        j = self._column.get(key)
        word_norm, char_norm = reading.norms
        if j is None or not char_norm:
            return ()
        weighed = {}
        for word in set(content_words(prose)):
            if len(word) > 3:
                row = self._words.get(word)
                own = self.idf[row] * self.coef[row, j] / word_norm if row is not None and word_norm else 0.0
                weighed[word] = own + self._char_push(word)[j] / char_norm
        return tuple(w for w, v in sorted(weighed.items(), key=lambda x: (-x[1], x[0]))[:limit] if v >= EXPLAIN_MIN)

    def _char_rows(self, word: str) -> tuple[int, ...]:
        rows = self._char_cache.get(word)
        if rows is None:
            if len(self._char_cache) > _CHAR_CACHE:
                self._char_cache.clear()
                self._push_cache.clear()
            rows = self._char_cache[word] = tuple(r for r in map(self._chars.get, _char_grams(word)) if r is not None)
        return rows

    def _char_push(self, word: str) -> np.ndarray:
        """Per key: the word's character n-grams' idf × coefficient, summed (before the post's norm)."""
        push = self._push_cache.get(word)
        if push is None:
            rows = list(self._char_rows(word))
            push = self._push_cache[word] = self.idf[rows] @ self.coef[rows]
        return push

    def __post_init__(self) -> None:
        self._column = {k: j for j, k in enumerate(self.keys)}
        words, chars = BLOCKS
        self._words = {term[len(words):]: row for term, row in self.vocabulary.items() if term.startswith(words)}
        self._chars = {term[len(chars):]: row for term, row in self.vocabulary.items() if term.startswith(chars)}
        self._char_cache: dict[str, tuple[int, ...]] = {}  # word → its character n-grams' rows
        self._push_cache: dict[str, np.ndarray] = {}  # word → _char_push

    def save(self, path: Path) -> None:
        order = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        with open(path, "wb") as handle:
            np.savez_compressed(handle, keys=np.array(self.keys), vocabulary=np.array(order), idf=self.idf.astype(np.float64),
                                coef=self.coef.astype(np.float32), rule_coef=self.rule_coef.astype(np.float64),
                                intercept=self.intercept.astype(np.float64), params=np.array(json.dumps(self.params, sort_keys=True)))


def read(path: Path) -> AudienceModel:
    with np.load(path, allow_pickle=False) as data:
        vocabulary = {str(f): i for i, f in enumerate(data["vocabulary"])}
        return AudienceModel(tuple(str(k) for k in data["keys"]), vocabulary, data["idf"], data["coef"].astype(np.float64),
                             data["rule_coef"], data["intercept"], json.loads(str(data["params"])))


@lru_cache(maxsize=1)
def shipped() -> AudienceModel | None:
    """The packaged model, or None when the file is absent or unreadable (rules alone then)."""
    try:
        return read(MODEL_PATH)
    except (OSError, ValueError, KeyError):
        return None
