"""The model's features: hashed character n-grams of folded texts, computed for many texts at once.

A text is split into words at whitespace; each word is padded with one space on either side
(" wort "), and every run of 2–5 characters inside a padded word is an n-gram (what
scikit-learn's `char_wb` analyzer makes, except that a word shorter than n gives no n-gram of
length n). Each n-gram is hashed (FNV-1a over its code points, then murmur3's finaliser, with
the length mixed in) to one of `n_features` columns; a text's counts are l2-normalised.

Both training (`train._matrix`) and prediction (`model.TextModel`) call `hashed_ngrams`, so they
cannot disagree. The hash is plain integer arithmetic on code points: the same in every
process and on every machine (no `PYTHONHASHSEED`, no library version in it). Everything runs
in numpy over one code-point array of the whole batch, so a caption costs microseconds, not the
hundreds a Python loop over its n-grams costs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_FNV_OFFSET = np.uint32(2166136261)
_FNV_PRIME = np.uint32(16777619)
_LENGTH_SALT = np.uint32(0x9E3779B9)
_BOUNDARY = np.uint32(0xFFFFFFFF)  # between two texts; not a code point, so no n-gram spans it
_SPACE = np.uint32(ord(" "))


@dataclass(frozen=True)
class HashedNgrams:
    """A batch's features in CSR form: text i owns `columns[indptr[i]:indptr[i+1]]` (sorted, unique)."""

    indptr: np.ndarray  # int64, len(texts) + 1
    columns: np.ndarray  # int64
    values: np.ndarray  # float64, l2-normalised per text

    def rows(self) -> np.ndarray:
        """The text each stored value belongs to."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


def hashed_ngrams(texts: Sequence[str], n_features: int, ngrams: tuple[int, int]) -> HashedNgrams:
    """The l2-normalised hashed n-gram counts of every text (see the module docstring)."""
    if n_features & (n_features - 1):
        raise ValueError(f"n_features must be a power of two, not {n_features}")
    codes, owner = _code_points(texts)
    # (text, column) packed in one integer; 32 bits whenever they fit, since sorting them is most of the cost.
    key_type = np.uint32 if len(texts) * n_features <= 2**32 else np.int64
    owner = owner.astype(key_type)
    keys = []
    for length, hashes, starts in _hashes(codes, ngrams):
        keys.append(owner[starts] * key_type(n_features) + (hashes[starts] & np.uint32(n_features - 1)).astype(key_type))
    flat = np.sort(np.concatenate(keys)).astype(np.int64) if keys else np.zeros(0, dtype=np.int64)
    # Sorting by (text, column) groups equal n-gram columns: their run lengths are the counts.
    first = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1]))) if len(flat) else np.zeros(0, dtype=np.int64)
    distinct = flat[first]
    counts = np.diff(np.append(first, len(flat))).astype(np.float64)
    text = distinct // n_features
    norms = np.sqrt(np.bincount(text, weights=counts * counts, minlength=len(texts)))
    values = counts / norms[text] if len(text) else counts
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(text, minlength=len(texts)), out=indptr[1:])
    return HashedNgrams(indptr, distinct % n_features, values)


def _code_points(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The padded words of all texts as one code-point array, and which text each position is in."""
    padded = [f" {' '.join(words)} " if (words := text.split()) else "" for text in texts]
    joined = "\0".join(padded)
    codes = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).copy()
    lengths = np.fromiter(map(len, padded), dtype=np.int64, count=len(padded))
    # The "\0" joints are marked by position: a caption may itself contain a NUL character.
    joints = np.cumsum(lengths + 1)[:-1] - 1
    codes[joints] = _BOUNDARY
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths + 1)[: len(codes)]
    return codes, owner


def _hashes(codes: np.ndarray, ngrams: tuple[int, int]):
    """Per n-gram length: (n, hash of the n-gram starting at each position, valid start positions)."""
    low, high = ngrams
    size = len(codes)
    boundary = codes == _BOUNDARY
    breaks = boundary | (codes == _SPACE)
    # FNV-1a grown one character at a time: hashes of length n extend those of length n - 1.
    running = (_FNV_OFFSET ^ codes) * _FNV_PRIME
    inside = ~boundary  # the n-gram so far has no boundary at all and no space inside it
    for n in range(2, high + 1):
        if size < n:
            return
        count = size - n + 1
        running = (running[:count] ^ codes[n - 1 :]) * _FNV_PRIME
        # A space may only stand at either end of an n-gram; position n - 2 is now an inner one.
        inside = inside[:count] & ~boundary[n - 1 :]
        if n >= 3:
            inside &= ~breaks[n - 2 : n - 2 + count]
        if n >= low:
            yield n, _finalise(running ^ np.uint32((n * int(_LENGTH_SALT)) & 0xFFFFFFFF)), np.flatnonzero(inside)


def _finalise(h: np.ndarray) -> np.ndarray:
    """murmur3's 32-bit finaliser: spreads FNV's weak low bits over the whole word."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))
