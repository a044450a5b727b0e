"""Which audiences a post speaks to, read from what the post says.

The caption's words are the evidence; hashtags count as weak evidence and the campaign's own
hashtags not at all. Words are folded like hashtags (ä → ae), so „Ärztin“ and „Aerztin“ match
alike, and German compounds are read from their head: in „Pflegeausbildung“ the last part
(„ausbildung“) decides, the first („pflege“) counts only a little. Built-in words for the
well-known keys (`audience_words.py`, German and English) are joined by each audience's
`keywords` from the campaign file. `match_audiences` returns the audiences best first, each
with its score and the words that matched, so a person can see why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from campaign_worker.config.campaigns import Campaign, fold_hashtag
from campaign_worker.moderation import audience_model
from campaign_worker.moderation.audience_words import AUDIENCE_WORDS, JOB_TITLES, TRAINING_AUDIENCE

HASHTAG_WEIGHT = 0.4  # a hashtag is weaker evidence than a sentence
MODIFIER_WEIGHT = 0.3  # a compound's front part („Pflege“ in „Pflegeazubi“)
KEYWORD_WEIGHT = 1.0  # a campaign keyword not in the built-in words
TRAINING_CONTEXT = 1.5  # this much training evidence makes a post about training (job titles then count little)
WEAK_HEAD = 1.0  # a compound's last part weaker than this („-team“, „-dienst“) leaves its front part its full weight
MIN_SCORE = 1.0  # an audience needs at least this much evidence
SECONDARY_SHARE = 0.5  # a further audience needs this share of the best one's probability …
SECONDARY_MIN = 0.5  # … and to be more likely than not (most posts speak to one audience)
RULE_SECONDARY_SHARE = 0.6  # without the model: this share of the best rule evidence
RULE_SLOPE = 3.0  # how fast the rules' evidence becomes certain on the probability scale

_WORD = re.compile(r"[a-z0-9ß]+")
_HASHTAG = re.compile(r"(?<![\w&])#(\w+)")
_MENTION = re.compile(r"(?<![\w.])@[\w.]+")
_URL = re.compile(r"https?://\S+|www\.\S+")
# Gender forms written with a sign are read as one word: „Ärzt:innen“ → „Ärztinnen“, „Tischler/in“ → „Tischlerin“.
_GENDER = re.compile(r"(?<=[^\W\d_])[:*_/·](?=in(?:nen)?\b)", re.IGNORECASE)


@dataclass(frozen=True)
class AudienceMatch:
    key: str
    score: float
    words: tuple[str, ...]  # the post's words that matched, as written in the lexicon


@dataclass(frozen=True)
class _Term:
    audience: str
    text: str
    weight: float
    mode: str  # "prefix" | "infix" | "word" | "phrase"


def fold_text(text: str) -> str:
    """Lower case with umlauts folded the way hashtags are („Ärztin“ → „aerztin“)."""
    return fold_hashtag(text)


def _term(audience: str, spec: str, weight: float) -> _Term:
    if spec.startswith("*"):
        mode, text = "infix", spec[1:]
    elif spec.startswith("="):
        mode, text = "word", spec[1:]
    else:
        mode, text = "prefix", spec
    text = fold_text(text)
    if not _WORD.fullmatch(text):
        mode = "phrase"  # several words or punctuation: matched in the running text
    return _Term(audience, text, weight, mode)


@lru_cache(maxsize=64)
def _lexicon(audiences: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[dict[str, list[_Term]], list[tuple[re.Pattern[str], _Term]]]:
    """Single-word terms by their first two letters, and phrase terms as patterns."""
    terms: dict[tuple[str, str], _Term] = {}
    for key, keywords in audiences:
        for spec, weight in AUDIENCE_WORDS.get(key, {}).items():
            term = _term(key, spec, weight)
            terms[(key, term.text)] = term
        for keyword in keywords:
            term = _term(key, keyword, KEYWORD_WEIGHT)
            terms.setdefault((key, term.text), term)
    by_start: dict[str, list[_Term]] = {}
    phrases: list[tuple[re.Pattern[str], _Term]] = []
    for term in terms.values():
        if term.mode == "phrase":
            phrases.append((re.compile(r"(?<![a-z0-9])" + re.escape(term.text) + r"(?![a-z0-9])"), term))
        elif term.mode == "infix":
            by_start.setdefault("", []).append(term)
        else:
            by_start.setdefault(term.text[:2], []).append(term)
    return by_start, phrases


def _word_hits(word: str, by_start: dict[str, list[_Term]]) -> list[tuple[int, _Term]]:
    """(end position in the word, term) for every term that matches this word."""
    hits = []
    for term in by_start.get(word[:2], ()):
        if term.mode == "word" and word == term.text or term.mode == "prefix" and word.startswith(term.text):
            hits.append((len(term.text), term))
    for term in by_start.get("", ()):
        at = word.rfind(term.text)
        if at >= 0:
            hits.append((at + len(term.text), term))
    return hits


_HITS_CACHE_SIZE = 50_000


def _evidence(words: list[str], weight: float, by_start, found: dict[str, dict[str, float]]) -> None:
    cache = by_start.setdefault(None, {})  # word → hits, per lexicon (bounded)
    for word in words:
        hits = cache.get(word)
        if hits is None:
            if len(cache) > _HITS_CACHE_SIZE:
                cache.clear()
            hits = cache[word] = _word_hits(word, by_start)
        if not hits:
            continue
        # The compound's head is its last part: the term that ends last (the longest on a tie).
        head_end = max(end for end, _ in hits)
        head = max((t for end, t in hits if end == head_end), key=lambda t: len(t.text))
        best: dict[str, tuple[float, str]] = {}  # one word is one piece of evidence per audience
        for end, term in hits:
            share = 1.0 if term.audience == head.audience or head.weight < WEAK_HEAD else MODIFIER_WEIGHT
            value = term.weight * weight * share
            if value > best.get(term.audience, (0.0, ""))[0]:
                best[term.audience] = (value, term.text)
        for audience, (value, text) in best.items():
            current = found.setdefault(audience, {})
            if value > current.get(text, 0.0):
                current[text] = value


def read_post(campaign: Campaign, caption: str, hashtags: tuple[str, ...] | list[str] = ()) -> tuple[str, list[str]]:
    """The folded prose (without links, mentions and hashtags) and the folded hashtags, minus the campaign's own."""
    text = _GENDER.sub("", _URL.sub(" ", _MENTION.sub(" ", caption or "")))
    own = set(campaign.hashtags)
    tags = sorted({fold_text(t) for t in [*_HASHTAG.findall(text), *hashtags]} - own)
    return fold_text(_HASHTAG.sub(" ", text)), tags


def rule_evidence(campaign: Campaign, prose: str, tags: list[str]) -> dict[str, dict[str, float]]:
    """Per audience of the campaign: the matched words and what each counts (no threshold applied)."""
    by_start, phrases = _lexicon(tuple((a.key, tuple(a.keywords)) for a in campaign.audiences))
    found: dict[str, dict[str, float]] = {}
    _evidence(_WORD.findall(prose), 1.0, by_start, found)
    _evidence(tags, HASHTAG_WEIGHT, by_start, found)
    for pattern, term in phrases:
        if pattern.search(prose):
            current = found.setdefault(term.audience, {})
            current[term.text] = max(current.get(term.text, 0.0), term.weight)
    keys = {a.key for a in campaign.audiences}
    if sum(found.get(TRAINING_AUDIENCE, {}).values()) >= TRAINING_CONTEXT:
        for audience, titles in JOB_TITLES.items():
            words = found.get(audience, {})
            for text in words.keys() & titles:
                words[text] *= MODIFIER_WEIGHT
    return {key: words for key, words in found.items() if key in keys}


def rule_probability(score: float) -> float:
    """The rules' evidence on the model's scale: 0.5 exactly at MIN_SCORE."""
    return 1.0 / (1.0 + math.exp(-RULE_SLOPE * (score - MIN_SCORE)))


def match_audiences(campaign: Campaign, caption: str, hashtags: tuple[str, ...] | list[str] = ()) -> list[AudienceMatch]:
    """The campaign's audiences this post speaks to, best first, with scores and matched words.

    The score is a probability (0–1): the learned model's for the audience keys it knows, the
    rules' evidence mapped onto the same scale for the others (a campaign's own audience with
    its `keywords`). Empty when nothing in the post points to an audience (a landscape photo).
    """
    prose, tags = read_post(campaign, caption, hashtags)
    found = rule_evidence(campaign, prose, tags)
    scores = {key: sum(words.values()) for key, words in found.items()}
    keys = [a.key for a in campaign.audiences]
    strongest = max(scores.values(), default=0.0)
    model = audience_model.shipped()
    reading = model.read(prose, tags) if model and model.knows_any(keys) else None
    learned = model.probabilities(reading, scores, keys) if reading is not None else {}
    candidates = []
    for order, key in enumerate(keys):
        if key in learned:
            probability, needed = learned[key], model.threshold
        else:
            probability, needed = rule_probability(scores.get(key, 0.0)), 0.5
            if scores.get(key, 0.0) < strongest * RULE_SECONDARY_SHARE:
                continue
        if probability >= needed:
            candidates.append((probability, order, key))
    if not candidates:
        return []
    candidates.sort(key=lambda c: (-c[0], c[1]))
    floor = max(candidates[0][0] * SECONDARY_SHARE, SECONDARY_MIN)
    matches = []
    for n, (probability, _, key) in enumerate(candidates):
        if n and probability < floor:
            continue
        words = found.get(key, {})
        explained = tuple(sorted(words, key=lambda t: -words[t]))
        if key in learned:
            explained += tuple(w for w in model.words_for(reading, prose, key) if w not in explained)
        matches.append(AudienceMatch(key, round(probability, 3), explained))
    return matches
