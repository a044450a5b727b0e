"""Campaign relevance: does a post belong to *this* campaign?

The campaign file's `[relevance]` table names the region (places, landmarks, institutions)
and the themes; its `hashtags` are the campaign's own tags; `foreign_hashtags` are other
regions' campaign tags. The tags posts are collected by never count as a region word (every
post carries one). A post is measured against them on the folded text (case, umlauts,
leetspeak and `#` do not matter): a word or phrase counts when it starts a word, and a term
written with a trailing `*` also matches longer words (`siegerl*` → „Siegerländer“).

The signals feed the model (as features next to the text) and the combination in the engine:
a post with another region's campaign tag and nothing of this region is off-topic, and a job
ad (`job_ads`) that names nothing of this region is left to a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from campaign_worker.config.campaigns import Campaign
from campaign_worker.moderation.normalize import fold

MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Signals:
    """What a post shows of the campaign: matched region words, themes, own and foreign tags."""

    region: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    own_tag: bool = False
    foreign: tuple[str, ...] = ()
    job_ad: tuple[str, ...] = ()  # words of a job ad (not a model feature: it only holds approvals back)

    @property
    def on_topic(self) -> bool:
        """Names the region or a theme of the campaign."""
        return bool(self.region or self.themes)

    @property
    def job_ad_elsewhere(self) -> bool:
        """A job ad that names no place of the region: it may be any region's employer."""
        return bool(self.job_ad) and not self.region

    @property
    def elsewhere(self) -> bool:
        """Carries another region's campaign tag and names nothing of this region."""
        return bool(self.foreign) and not self.region

    def features(self) -> tuple[float, float, float, float]:
        """The signals as numbers for the model: region, theme, own tag, elsewhere."""
        return (float(bool(self.region)), float(bool(self.themes)), float(self.own_tag), float(self.elsewhere))

    def evidence(self) -> tuple[str, ...]:
        shown = [f"Bezug: {w}" for w in (self.region + self.themes)[:MAX_EVIDENCE]]
        shown += [f"fremde Kampagne: #{t}" for t in self.foreign[:MAX_EVIDENCE]]
        return tuple(shown)


NO_SIGNALS = Signals()


_SEPARATOR = r"[\W_]*"
_WORD_END = r"(?!\w)"


@dataclass(frozen=True)
class _Matcher:
    """One list of terms, compiled twice: `scan` finds where a term starts, `pick` which term it is.

    `pick` is the flat alternation (longest pattern first), whose order decides between terms that
    both match at one place ("siegen" and "siegen-wittgenstein"). Tried at every position it is
    slow, so `scan`, the same terms as a character trie, finds the places and `pick` only runs there.
    """

    scan: re.Pattern[str]
    pick: re.Pattern[str]

    def found(self, text: str) -> tuple[str, ...]:
        """The matched texts in order, each once: what `pick.finditer` would give."""
        found: dict[str, None] = {}
        position = 0
        while (start := self.scan.search(text, position)) is not None:
            match = self.pick.match(text, start.start())
            if match is None:  # cannot happen (both match at the same places); never loop on it
                position = start.start() + 1
                continue
            found[match.group()] = None
            position = match.end()
        return tuple(found)


def _pattern(terms: list[str], hashtag: bool = False) -> _Matcher | None:
    parts: set[str] = set()
    sequences: list[list[str]] = []  # each term as regex atoms, for the trie
    for term in terms:
        folded = fold(term.strip().lstrip("#")).strip()
        if not folded:
            continue
        open_end = folded.endswith("*")
        folded = folded.rstrip("*").strip()
        if not folded:
            continue
        # Phrases match across any separator ("oberes schloss", "oberes-schloss", "#obersschloss" no).
        words = [folded.replace(" ", "")] if hashtag else folded.split()
        atoms = [atom for n, w in enumerate(words) for atom in ([_SEPARATOR] if n else []) + [re.escape(c) for c in w]]
        body = _SEPARATOR.join(re.escape(w) for w in words)
        parts.add(body + (r"\w*" if open_end else _WORD_END))
        # For finding where a term starts, an open end (`\w*`) always matches: the term may stop there.
        sequences.append(atoms if open_end else atoms + [_WORD_END])
    if not parts:
        return None
    prefix = r"#" if hashtag else r"(?<![^\W_])"
    pick = re.compile(prefix + "(?:" + "|".join(sorted(parts, key=len, reverse=True)) + ")")
    return _Matcher(re.compile(prefix + "(?:" + _trie(sequences) + ")"), pick)


def _trie(sequences: list[list[str]]) -> str:
    """A regex matching wherever one of the atom sequences matches, shared prefixes factored out.

    Only whether something matches counts (not which sequence), so below a sequence's end the
    longer ones are left out.
    """
    root: dict = {}
    for atoms in sequences:
        node = root
        for atom in atoms:
            node = node.setdefault(atom, {})
        node[None] = {}

    def build(node: dict) -> str:
        if None in node:
            return ""
        branches = [atom + build(child) for atom, child in node.items()]
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"

    return build(root)


class RelevanceRule:
    """The relevance lists of one campaign, compiled once."""

    def __init__(self, campaign: Campaign):
        settings = campaign.relevance
        own = list(campaign.hashtags) + list(campaign.drafts.extra_hashtags)
        self.region = _compiled(tuple(settings.region))
        self.themes = _compiled(tuple(settings.themes))
        self.own_tags = _compiled(tuple(own), hashtag=True)
        self.collected_tags = _compiled(tuple(campaign.hashtags), hashtag=True)  # what posts are collected by
        self.foreign = _compiled(tuple(settings.foreign_hashtags), hashtag=True)
        self.job_ads = _compiled(tuple(settings.job_ads))
        # Without region words or themes nothing says what belongs to the campaign, so nothing
        # may be rejected as off-topic (a new campaign starts here).
        self.configured = bool(settings.region or settings.themes)

    def signals(self, folded_text: str) -> Signals:
        """The campaign's signals in a post's folded text (caption plus hashtags)."""
        # The tags posts are collected by say nothing of the region: every post carries one
        # (#südwestfalen is a tag of the medical campaign and a region word of both).
        prose = self.collected_tags.pick.sub(" ", folded_text) if self.collected_tags else folded_text
        return Signals(
            region=_found(self.region, prose),
            themes=_found(self.themes, prose),
            own_tag=bool(self.own_tags and self.own_tags.scan.search(folded_text)),
            foreign=tuple(m.lstrip("#") for m in _found(self.foreign, folded_text)),
            job_ad=_found(self.job_ads, prose),
        )


@lru_cache(maxsize=64)
def _compiled(terms: tuple[str, ...], hashtag: bool = False) -> _Matcher | None:
    return _pattern(list(terms), hashtag)


def _found(matcher: _Matcher | None, text: str) -> tuple[str, ...]:
    return matcher.found(text) if matcher is not None else ()
