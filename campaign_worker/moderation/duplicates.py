"""Duplicate rule: the same picture or the same text as a post the campaign already has.

Pictures are compared by perceptual hash (hex strings as stored by the media store): two
pictures are the same when the Hamming distance of their hashes is at most
`moderation.duplicate_max_distance`. Hashes are indexed in bands (multi-index hashing), so a
lookup probes a few dozen buckets instead of comparing with every earlier picture.

Texts are compared by a fingerprint of the normalised caption without hashtags, mentions,
links and punctuation; captions shorter than a sentence never count as duplicates.

What a match means:
- the same picture *and* text as an earlier post: the same post again → reject (certain);
- a repost of one of the campaign's own accounts' posts → reject;
- the same text as another account's post (copy-and-paste) → reject;
- the same text by the same account, or the same picture with other text → review
  (a new photo with a standing caption, or someone else's photo: rights need checking).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain, combinations, compress
from math import comb
from typing import Iterable

from campaign_worker.moderation.normalize import Normalized
from campaign_worker.moderation.verdict import Verdict

MIN_FINGERPRINT_WORDS = 6
MIN_FINGERPRINT_LETTERS = 30
MAX_PROBES = 2_000  # beyond this many bucket probes per lookup a plain scan is cheaper
MAX_EVIDENCE = 5
RECENT_MATCHES = 50  # earlier posts with the same caption that are looked at

_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|[#@][\w.]+")
_WORD_RE = re.compile(r"[^\W_]+")
_HEX_RE = re.compile(r"^[0-9a-fA-F]{4,256}$")

REASONS = {
    "duplicate.same_post": ("Gleiches Bild und gleicher Text wie ein vorhandener Beitrag", "Same picture and text as an existing post"),
    "duplicate.own_repost": ("Repost eines Beitrags der Kampagne", "Repost of one of the campaign's own posts"),
    "duplicate.caption": ("Gleicher Text wie ein vorhandener Beitrag", "Same text as an existing post"),
    "duplicate.caption_copy": ("Text von einem anderen Konto kopiert", "Text copied from another account"),
    "duplicate.image": ("Gleiches oder fast gleiches Bild wie ein vorhandener Beitrag", "Same or nearly the same picture as an existing post"),
}
CERTAIN = frozenset({"duplicate.same_post"})


def caption_fingerprint(norm: Normalized) -> str | None:
    """The caption's words without tags, mentions, links and punctuation; None if too short to judge."""
    words = _WORD_RE.findall(_STRIP_RE.sub(" ", norm.text))
    if len(words) < MIN_FINGERPRINT_WORDS or sum(map(len, words)) < MIN_FINGERPRINT_LETTERS:
        return None
    return " ".join(words)


def parse_hash(value: str) -> tuple[int, int] | None:
    """(bits, value) of a hex perceptual hash, or None if it is not one."""
    value = value.strip()
    if not _HEX_RE.match(value):
        return None
    return len(value) * 4, int(value, 16)


def parse_hashes(values: tuple[str, ...]) -> list[tuple[int, int]]:
    return [parsed for parsed in map(parse_hash, values) if parsed]


@dataclass(frozen=True)
class Earlier:
    key: str
    author: str | None
    own: bool


class ImageIndex:
    """Near-neighbour lookup of perceptual hashes by Hamming distance (multi-index hashing).

    Each hash is cut into bands; two hashes within `max_distance` differ by at most `radius`
    bits in some band, so a lookup probes each band's value and its few-bit variants and
    compares only the hashes found there. Buckets hold the hash values themselves, so the
    comparison runs in C-level `map`s.
    """

    def __init__(self, max_distance: int):
        self.max_distance = max_distance
        self._tables: dict[int, _BandTable] = {}

    def add(self, bits: int, value: int, post: int) -> None:
        table = self._tables.get(bits)
        if table is None:
            table = self._tables[bits] = _BandTable(bits, self.max_distance)
        table.add(value, post)

    def near(self, bits: int, value: int) -> dict[int, int]:
        """{post number: distance} of every stored hash within max_distance."""
        table = self._tables.get(bits)
        return table.near(value) if table else {}


class _BandTable:
    """The hashes of one bit length, indexed by band."""

    def __init__(self, bits: int, max_distance: int):
        self.max_distance = max_distance
        self.bands = max(1, min(bits // 16, max_distance + 1))
        self.width = -(-bits // self.bands)
        radius = max_distance // self.bands
        self.scan = sum(comb(self.width, r) for r in range(radius + 1)) * self.bands > MAX_PROBES
        # A hash first found in band k differs in more than `radius` bits in each earlier band,
        # so at most max_distance - k * (radius + 1) bits are left to differ in band k: later bands
        # probe fewer variants (the last one of 64-bit hashes at distance 6 only its own value).
        # The variants left out could only find hashes beyond max_distance or found before, so
        # results and their order stay those of probing every band with the full radius.
        self.band_flips = [() if self.scan else _flips(self.width, min(radius, max_distance - band * (radius + 1)))
                           for band in range(self.bands)]
        self.posts: dict[int, list[int]] = {}  # hash → post numbers
        self.buckets: dict[int, list[int]] = {}  # band key → hashes

    def _keys(self, value: int) -> list[int]:
        mask = (1 << self.width) - 1
        return [(band << self.width) | ((value >> (band * self.width)) & mask) for band in range(self.bands)]

    def add(self, value: int, post: int) -> None:
        posts = self.posts.get(value)
        if posts is not None:
            posts.append(post)
            return
        self.posts[value] = [post]
        for key in self._keys(value):
            bucket = self.buckets.get(key)
            if bucket is None:
                self.buckets[key] = [value]
            else:
                bucket.append(value)

    def near(self, value: int) -> dict[int, int]:
        if not self.posts:
            return {}
        if self.scan:
            stored: Iterable[int] = list(self.posts)
        else:
            probes: list[int] = []
            for key, flips in zip(self._keys(value), self.band_flips):
                probes.extend(map(key.__xor__, flips))  # flips never touch the band prefix bits
            stored = list(chain.from_iterable(filter(None, map(self.buckets.get, probes))))
        distances = list(map(int.bit_count, map(value.__xor__, stored)))
        found: dict[int, int] = {}
        for other, distance in compress(zip(stored, distances), map(self.max_distance.__ge__, distances)):
            for post in self.posts[other]:
                found[post] = distance
        return found


@lru_cache(maxsize=64)
def _flips(width: int, radius: int) -> tuple[int, ...]:
    """Every bit mask of `width` bits with at most `radius` bits set, fewest bits first (none if radius < 0)."""
    if radius < 0:
        return ()
    return (0,) + tuple(sum(1 << b for b in combo) for r in range(1, radius + 1) for combo in combinations(range(width), r))


class DuplicateIndex:
    """What the campaign already has, as fingerprints and picture hashes; checks a new post against it."""

    def __init__(self, max_distance: int, own_accounts: frozenset[str]):
        self.own_accounts = own_accounts
        self.images = ImageIndex(max_distance)
        self._posts: list[Earlier] = []
        self._captions: dict[str, list[int]] = {}

    def add(self, key: str, author: str | None, fingerprint: str | None, hashes: list[tuple[int, int]]) -> None:
        """Remember a post; `hashes` are its pictures' `parse_hash` results."""
        number = len(self._posts)
        self._posts.append(Earlier(key, author, (author or "").lower() in self.own_accounts))
        if fingerprint:
            self._captions.setdefault(fingerprint, []).append(number)
        for bits, value in hashes:
            self.images.add(bits, value, number)

    def check(self, key: str, author: str | None, fingerprint: str | None, hashes: list[tuple[int, int]]) -> Verdict | None:
        # The latest matches decide; a caption repeated a thousand times (a spam wave) stays cheap.
        earlier_numbers = self._captions.get(fingerprint, ())[-RECENT_MATCHES:] if fingerprint else ()
        same_text = [self._posts[n] for n in earlier_numbers]
        same_text = [p for p in same_text if p.key != key]
        same_picture: dict[str, tuple[Earlier, int]] = {}
        for bits, value in hashes:
            for number, distance in self.images.near(bits, value).items():
                earlier = self._posts[number]
                if earlier.key != key and distance < same_picture.get(earlier.key, (earlier, 99))[1]:
                    same_picture[earlier.key] = (earlier, distance)
        if not same_text and not same_picture:
            return None
        author_is_own = (author or "").lower() in self.own_accounts
        both = [p for p in same_text if p.key in same_picture]
        own = [p for p in same_text if p.own] + [p for p, _ in same_picture.values() if p.own]
        copied = [p for p in same_text if not _same_author(p.author, author)]
        if both:
            return _verdict("reject", "duplicate.same_post", [p.key for p in both])
        if own and not author_is_own:
            return _verdict("reject", "duplicate.own_repost", [p.key for p in own])
        if copied and author and all(p.author for p in copied):
            return _verdict("reject", "duplicate.caption_copy", [p.key for p in copied])
        if same_text:
            return _verdict("review", "duplicate.caption", [p.key for p in same_text])
        pictures = sorted(same_picture.values(), key=lambda item: item[1])
        return _verdict("review", "duplicate.image", [f"{p.key} (Δ {d})" for p, d in pictures])


def _same_author(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


def _verdict(decision: str, rule: str, evidence: list[str]) -> Verdict:
    reason_de, reason_en = REASONS[rule]
    unique = list(dict.fromkeys(evidence))
    return Verdict(decision, rule, reason_de, reason_en, tuple(unique[:MAX_EVIDENCE]))  # type: ignore[arg-type]
