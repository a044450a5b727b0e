"""The learned part of audience matching: one logistic regression per well-known audience key.

The word rules (`audiences.py`) see what a lexicon can name; what they miss are audiences a
post only implies (a job title without a job word, „Rückkehrertreffen“, a team outing of a
ward). A small linear model per audience key reads the folded caption — its words, word pairs,
hashtags and character 3–5-grams of each word — together with the rule evidence for that
audience (its own score and the best other audience's), and gives a probability.

The weights ship inside the package as `audience_model.npz` (numpy arrays, no pickle): the
feature vocabulary, one coefficient column per audience key, the rule-feature coefficients,
the intercepts and the decision threshold. `audience_train.py` rebuilds it from the labelled
development captions with a fixed seed (`python -m campaign_worker.moderation.audience_train`).
Prediction needs numpy only. An audience key the model does not know (one a campaign adds)
is decided by the rules alone.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("audience_model.npz")
CHAR_NGRAMS = (3, 5)
RULE_FEATURES = ("own", "other", "own_enough", "own_best")
EXPLAIN_MIN = 0.2  # a word's weight for an audience to be named as evidence

_WORD = re.compile(r"[a-z0-9ß]+")
# Function words and numbers say nothing about an audience; left out, the model cannot learn
# the small data's accidents from them („in“ for doctors, „auf“ for nurses).
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


def features(prose: str, tags: list[str] | tuple[str, ...]) -> set[str]:
    """The text features of a post: folded prose and its hashtags (folded, without `#`)."""
    words = content_words(prose)
    out: set[str] = set()
    for i, word in enumerate(words):
        out.add("w:" + word)
        if i:
            out.add("b:" + words[i - 1] + " " + word)
    for tag in tags:
        out.add("t:" + tag)
    for char in set(prose):  # pictographs say a lot in captions: 🩺 💉 🎓 👶
        if ord(char) > 0x2000 and unicodedata.category(char) == "So":
            out.add("e:" + char)
    for word in {*words, *tags}:
        out.update(_char_grams(word))
    return out


@lru_cache(maxsize=65536)
def _char_grams(word: str) -> tuple[str, ...]:
    low, high = CHAR_NGRAMS
    padded = f" {word} "
    return tuple({"c:" + padded[start:start + n] for n in range(low, high + 1) for start in range(len(padded) - n + 1)})


def rule_features(scores: dict[str, float], key: str) -> list[float]:
    """The rule evidence for one audience as model inputs (see RULE_FEATURES)."""
    own = scores.get(key, 0.0)
    other = max((v for k, v in scores.items() if k != key), default=0.0)
    return [math.log1p(own), math.log1p(other), float(own >= 1.0), float(own >= 1.0 and own >= other)]


@dataclass
class AudienceModel:
    keys: tuple[str, ...]
    vocabulary: dict[str, int]
    coef: np.ndarray  # (len(vocabulary), len(keys))
    rule_coef: np.ndarray  # (len(RULE_FEATURES), len(keys))
    intercept: np.ndarray  # (len(keys),)
    params: dict

    @property
    def threshold(self) -> float:
        return float(self.params["threshold"])

    def probabilities(self, prose: str, tags, rule_scores: dict[str, float], keys) -> dict[str, float]:
        """Probability per audience key in `keys` that the model knows."""
        if not any(k in self._column for k in keys):
            return {}
        return self.probabilities_from(features(prose, tags), rule_scores, keys)

    def probabilities_from(self, found: set[str], rule_scores: dict[str, float], keys) -> dict[str, float]:
        known = [k for k in keys if k in self._column]
        vocabulary = self.vocabulary
        rows = [vocabulary[f] for f in found if f in vocabulary]
        text = self.coef[rows].sum(axis=0) / math.sqrt(len(rows)) if rows else np.zeros(len(self.keys))
        scale = float(self.params["rule_scale"])
        out = {}
        for key in known:
            j = self._column[key]
            z = text[j] + self.intercept[j] + scale * float(np.dot(rule_features(rule_scores, key), self.rule_coef[:, j]))
            out[key] = 1.0 / (1.0 + math.exp(-z))
        return out

    def words_for(self, prose: str, key: str, limit: int = 3) -> tuple[str, ...]:
        """The post's words that pushed most towards this audience (explanation for the model's part)."""
        j = self._column.get(key)
        if j is None:
            return ()
        weighed = {w: self.coef[self.vocabulary["w:" + w], j] for w in set(content_words(prose))
                   if len(w) > 3 and "w:" + w in self.vocabulary}
        return tuple(w for w, v in sorted(weighed.items(), key=lambda x: -x[1])[:limit] if v >= EXPLAIN_MIN)

    def __post_init__(self) -> None:
        self._column = {k: j for j, k in enumerate(self.keys)}

    def save(self, path: Path) -> None:
        order = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        with open(path, "wb") as handle:
            np.savez_compressed(handle, keys=np.array(self.keys), vocabulary=np.array(order), coef=self.coef.astype(np.float32),
                                rule_coef=self.rule_coef.astype(np.float64), intercept=self.intercept.astype(np.float64),
                                params=np.array(json.dumps(self.params, sort_keys=True)))


def read(path: Path) -> AudienceModel:
    with np.load(path, allow_pickle=False) as data:
        vocabulary = {str(f): i for i, f in enumerate(data["vocabulary"])}
        return AudienceModel(tuple(str(k) for k in data["keys"]), vocabulary, data["coef"].astype(np.float64),
                             data["rule_coef"], data["intercept"], json.loads(str(data["params"])))


@lru_cache(maxsize=1)
def shipped() -> AudienceModel | None:
    """The packaged model, or None when the file is absent or unreadable (rules alone then)."""
    try:
        return read(MODEL_PATH)
    except (OSError, ValueError, KeyError):
        return None
