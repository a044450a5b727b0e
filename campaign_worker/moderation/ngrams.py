"""The model's features: hashed character n-grams and words of folded texts, weighted tf-idf.

Two blocks, each hashed to its own columns and normalised on its own (so the few words weigh
as much as the many character pieces):
- **character n-grams**: a text is split into words at whitespace; each word is padded with
  one space on either side (" wort "), and every run of 2–5 characters inside a padded word is
  an n-gram (what scikit-learn's `char_wb` analyzer makes, except that a word shorter than n
  gives no n-gram of length n). Each n-gram is hashed (FNV-1a over its code points, then
  murmur3's finaliser, with the length mixed in). Everything runs in numpy over one code-point
  array of the whole batch, so a caption costs microseconds, not the hundreds a Python loop
  over its n-grams costs;
- **words**: every run of two or more word characters, and each pair of neighbours, hashed
  with CRC-32 of its UTF-8 bytes.

`hashed_ngrams` and `hashed_words` count; `tfidf` weighs the counts (1 + log count, times the
column's idf from training) and l2-normalises each text. A column training did not learn (too
rare there, or never seen) keeps its share of the norm but adds nothing to a score, so a post
made mostly of what the model never met gets a weak opinion, not a confident one.

Training (`train._matrix`) and prediction (`model.TextModel`) call the same functions, so they
cannot disagree. The hashes are plain integer arithmetic: the same in every process and on
every machine (no `PYTHONHASHSEED`, no library version in them).
"""

from __future__ import annotations

import re
import zlib
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
    values: np.ndarray  # float64: counts, or after `tfidf` weights l2-normalised per text

    def rows(self) -> np.ndarray:
        """The text each stored value belongs to."""
        return np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))


def hashed_ngrams(texts: Sequence[str], n_features: int, ngrams: tuple[int, int]) -> HashedNgrams:
    """The hashed n-gram counts of every text (see the module docstring)."""
    _check_power_of_two(n_features)
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
    return _csr(distinct // n_features, distinct % n_features, counts, len(texts))


def hashed_words(texts: Sequence[str], n_features: int) -> HashedNgrams:
    """The hashed counts of every text's words (two or more word characters) and word pairs."""
    _check_power_of_two(n_features)
    mask = n_features - 1
    owners, columns = [], []
    for n, text in enumerate(texts):
        words = _WORD.findall(text)
        terms = words + [f"{a} {b}" for a, b in zip(words, words[1:])]
        columns.extend(zlib.crc32(term.encode("utf-8")) & mask for term in terms)
        owners.extend([n] * len(terms))
    keys = np.array(owners, dtype=np.int64) * n_features + np.array(columns, dtype=np.int64)
    distinct, counts = np.unique(keys, return_counts=True)
    return _csr(distinct // n_features, distinct % n_features, counts.astype(np.float64), len(texts))


def tfidf(found: HashedNgrams, idf: np.ndarray) -> HashedNgrams:
    """Counts weighed 1 + log(count) times the column's idf, then l2-normalised per text."""
    values = (1.0 + np.log(found.values)) * idf[found.columns]
    text = found.rows()
    norms = np.sqrt(np.bincount(text, weights=values * values, minlength=len(found.indptr) - 1))
    norms[norms == 0] = 1.0  # an empty text stays empty
    return HashedNgrams(found.indptr, found.columns, values / norms[text])


def side_by_side(left: HashedNgrams, right: HashedNgrams, offset: int) -> HashedNgrams:
    """Each text's columns of `left`, then those of `right` moved by `offset` (all of `left`'s lie below it)."""
    indptr = left.indptr + right.indptr
    columns = np.empty(indptr[-1], dtype=np.int64)
    values = np.empty(indptr[-1], dtype=np.float64)
    # An entry's place: where its text starts, (for `right`) after the text's `left` entries, then its rank in the block.
    text = left.rows()
    at = indptr[text] + np.arange(len(left.columns)) - left.indptr[text]
    columns[at], values[at] = left.columns, left.values
    text = right.rows()
    at = indptr[text] + np.diff(left.indptr)[text] + np.arange(len(right.columns)) - right.indptr[text]
    columns[at], values[at] = right.columns + offset, right.values
    return HashedNgrams(indptr, columns, values)


def document_frequency(found: HashedNgrams, n_columns: int, texts: np.ndarray) -> np.ndarray:
    """In how many of the texts `texts` (indices) each column occurs."""
    chosen = np.zeros(len(found.indptr) - 1, dtype=bool)
    chosen[texts] = True
    return np.bincount(found.columns[chosen[found.rows()]], minlength=n_columns).astype(np.float64)


def inverse_document_frequency(df: np.ndarray, n_texts: int) -> np.ndarray:
    """Smoothed idf, as scikit-learn's `TfidfTransformer` computes it: ln((1 + n) / (1 + df)) + 1."""
    return np.log((1.0 + n_texts) / (1.0 + df)) + 1.0


_WORD = re.compile(r"\w{2,}")


def _check_power_of_two(n_features: int) -> None:
    if n_features & (n_features - 1):
        raise ValueError(f"n_features must be a power of two, not {n_features}")


def _csr(text: np.ndarray, columns: np.ndarray, values: np.ndarray, n_texts: int) -> HashedNgrams:
    """From entries sorted by (text, column)."""
    indptr = np.zeros(n_texts + 1, dtype=np.int64)
    np.cumsum(np.bincount(text, minlength=n_texts), out=indptr[1:])
    return HashedNgrams(indptr, columns.astype(np.int64), values)


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
