"""Campaign relevance: does a post belong to *this* campaign?

The campaign file's `[relevance]` table names the region (places, landmarks, institutions)
and the themes; its `hashtags` are the campaign's own tags; `foreign_hashtags` are other
regions' campaign tags, and `nearby` the places next to the region that count neither for nor
against it. `config/moderation/places.txt` (user-overridable) names places elsewhere: German
towns, large cities, holiday regions. The tags posts are collected by never count as a region
word (every post carries one). A post is measured against the lists on the folded text (case,
umlauts, leetspeak and `#` do not matter): a word or phrase counts when it starts a word, and a
term written with a trailing `*` also matches longer words (`siegerl*` → „Siegerländer“).

The signals feed the model (as features next to the text) and the combination in the engine:
a post with another region's campaign tag and nothing of this region is off-topic; one that
names another place and nothing of this region waits for a person (newcomers name the town
they left), and so does a job ad (`job_ads`) that names no place of this region. A campaign
whose file names no region or theme has nothing to be elsewhere from: no place counts there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from campaign_worker.config.campaigns import Campaign
from campaign_worker.home import Home
from campaign_worker.moderation.blocklist import list_path
from campaign_worker.moderation.normalize import fold
from campaign_worker.moderation.terms import read_text, uncommented

MAX_EVIDENCE = 3


@dataclass(frozen=True)
class Signals:
    """What a post shows of the campaign: matched region words, themes, own and foreign tags."""

    region: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    own_tag: bool = False
    foreign: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # places elsewhere (`places.txt`) the post names
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
        """Carries another region's campaign tag or names another place, and nothing of this region."""
        return bool(self.foreign or self.places) and not self.region

    def features(self) -> tuple[float, float, float, float]:
        """The signals as numbers for the model: region, theme, own tag, elsewhere."""
        return (float(bool(self.region)), float(bool(self.themes)), float(self.own_tag), float(self.elsewhere))

    def evidence(self) -> tuple[str, ...]:
        shown = [f"Bezug: {w}" for w in (self.region + self.themes)[:MAX_EVIDENCE]]
        shown += [f"fremde Kampagne: #{t}" for t in self.foreign[:MAX_EVIDENCE]]
        shown += [f"anderer Ort: {p}" for p in self.places[:MAX_EVIDENCE]]
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
    # A word each match must leave whole in the text (a term's longest word, or its words run
    # together as in a hashtag); None when a term has an open end. Most texts hold none of them,
    # and a set lookup per word is far cheaper than the scan (a list of 1,500 towns).
    keys: frozenset[str] | None = None

    def found(self, text: str) -> tuple[str, ...]:
        """The matched texts in order, each once: what `pick.finditer` would give."""
        if self.keys is not None and self.keys.isdisjoint(_WORDS.findall(text)):
            return ()
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


_WORDS = re.compile(r"[^\W_]+")


def _pattern(terms: list[str], hashtag: bool = False) -> _Matcher | None:
    parts: set[str] = set()
    keys: set[str] | None = set()
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
        pieces = [piece for w in words for piece in _WORDS.findall(w)]
        if open_end or not pieces or keys is None:
            keys = None  # no word every match must contain: always scan
        else:
            keys |= {max(pieces, key=len), "".join(pieces)}
        atoms = [atom for n, w in enumerate(words) for atom in ([_SEPARATOR] if n else []) + [re.escape(c) for c in w]]
        body = _SEPARATOR.join(re.escape(w) for w in words)
        parts.add(body + (r"\w*" if open_end else _WORD_END))
        # For finding where a term starts, an open end (`\w*`) always matches: the term may stop there.
        sequences.append(atoms if open_end else atoms + [_WORD_END])
    if not parts:
        return None
    prefix = r"#" if hashtag else r"(?<![^\W_])"
    pick = re.compile(prefix + "(?:" + "|".join(sorted(parts, key=len, reverse=True)) + ")")
    return _Matcher(re.compile(prefix + "(?:" + _trie(sequences) + ")"), pick, frozenset(keys) if keys is not None else None)


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


PLACES_FILE = "places.txt"


def read_places(path: Path) -> tuple[str, ...]:
    """The places of a list file: one per line, comments as in the other lists (`#`)."""
    return tuple(line for raw in read_text(path, "place list").splitlines() if (line := uncommented(raw)))


def load_places(home: Home) -> tuple[str, ...]:
    """The places elsewhere from the user's home or the shipped defaults; none when neither has the file."""
    path = list_path(home, PLACES_FILE, required=False)
    return read_places(path) if path is not None else ()


class RelevanceRule:
    """The relevance lists of one campaign, compiled once; `places` are the places elsewhere."""

    def __init__(self, campaign: Campaign, places: tuple[str, ...] = ()):
        settings = campaign.relevance
        own = list(campaign.hashtags) + list(campaign.drafts.extra_hashtags)
        self.region = _compiled(tuple(settings.region))
        self.themes = _compiled(tuple(settings.themes))
        self.own_tags = _compiled(tuple(own), hashtag=True)
        self.collected_tags = _compiled(tuple(campaign.hashtags), hashtag=True)  # what posts are collected by
        self.foreign = _compiled(tuple(settings.foreign_hashtags), hashtag=True)
        self.job_ads = _compiled(tuple(settings.job_ads))
        self.nearby = _compiled(tuple(settings.nearby))
        self.places = _compiled(places)
        # Shown as the list writes them („in Gießen“), whether matched spaced or run together.
        self.place_names = {key: place for place in places for key in _keys(place)}
        # Without region words or themes nothing says what belongs to the campaign, so nothing
        # may be rejected as off-topic (a new campaign starts here).
        self.configured = bool(settings.region or settings.themes)

    def signals(self, folded_text: str) -> Signals:
        """The campaign's signals in a post's folded text (caption plus hashtags)."""
        # The tags posts are collected by say nothing of the region: every post carries one
        # (#südwestfalen is a tag of the medical campaign and a region word of both).
        prose = self.collected_tags.pick.sub(" ", folded_text) if self.collected_tags else folded_text
        region = _found(self.region, prose)
        return Signals(
            region=region,
            themes=_found(self.themes, prose),
            own_tag=bool(self.own_tags and self.own_tags.scan.search(folded_text)),
            foreign=tuple(m.lstrip("#") for m in _found(self.foreign, folded_text)),
            job_ad=_found(self.job_ads, prose),
            places=() if region else self._places(prose),
        )

    def _places(self, prose: str) -> tuple[str, ...]:
        """Places elsewhere named in the text; the campaign's nearby places are not elsewhere."""
        if self.places is None or not self.configured:
            return ()
        found = _found(self.places, self.nearby.pick.sub(" ", prose) if self.nearby else prose)
        return tuple(dict.fromkeys(self.place_names.get(_keys(match)[0], match) for match in found))


def _keys(term: str) -> tuple[str, str]:
    """A term's folded words, spaced and run together: how a match is traced back to its term."""
    words = _WORDS.findall(fold(term))
    return " ".join(words), "".join(words)


@lru_cache(maxsize=64)
def _compiled(terms: tuple[str, ...], hashtag: bool = False) -> _Matcher | None:
    return _pattern(list(terms), hashtag)


def _found(matcher: _Matcher | None, text: str) -> tuple[str, ...]:
    return matcher.found(text) if matcher is not None else ()
