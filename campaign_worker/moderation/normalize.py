"""Text normalisation for matching words against lists, with a way back to the original text.

`normalize(text)` folds what people do to dodge filters into one plain form:

- fancy Unicode letters (𝐟𝐮𝐜𝐤, ｆｕｃｋ, ligatures) via NFKC, look-alike Cyrillic/Greek letters,
  accents (é → e), invisible format characters (soft hyphens, joiners) and combining marks;
- case folding, umlauts and ß (ä → ae, ß → ss), so „Scheiße“, „SCHEISSE“ and „scheisse“ agree;
- leetspeak inside words that also contain letters (`4rsch`, `sh1t`, `b!tch`, `$pam`), while
  numbers, prices and `@mentions` stay as they are;
- letters spelt out with separators (`a.r.s.c.h`, `s c h e i ß e`, `f-u-c-k`) are joined.

Repeated letters (`fuuuuck`) and masking stars (`f*ck`) are left in place: the matchers in
`terms` deal with them, because they need to know the word they compare against.

The folded text keeps, per character, the index of the character of the source it came from,
so a match can be shown to a person as the text they actually wrote.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i", "€": "e"}
_LEET_TABLE = str.maketrans(LEET)
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
# Letters that look like Latin ones and are swapped in to dodge filters (Cyrillic, Greek).
_LOOKALIKES = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "к": "k", "м": "m", "т": "t", "н": "h", "в": "b", "ӏ": "l",
    "α": "a", "ο": "o", "ι": "i", "κ": "k", "ν": "v", "τ": "t", "ε": "e", "ρ": "p", "υ": "u",
})

_SPACED_UNIT = r"(?:[^\W_]|[@$€])"
_SPACED_SEP = r"[ \t.\-_*·•,/|+~:'\"]{1,3}"
# Three or more single characters, each on its own between separators: "a.r.s.c.h", "s c h e i ß e".
_SPACED_RUN_RE = re.compile(
    rf"(?<![^\W_]){_SPACED_UNIT}(?:{_SPACED_SEP}{_SPACED_UNIT}(?![^\W_])){{2,}}"
)
_SPACED_SEP_RE = re.compile(_SPACED_SEP)
# A word (letters, digits, leet symbols) containing a leet character; whether it also has letters
# is checked per hit. Possessive: the part before the first leet character is read once, not retried.
_LEET_WORD_RE = re.compile(r"(?<![^\W_]|[@$!€])[^\W_013457]*+[013457@$!€](?:[^\W_]|[@$!€])*+")
_HAS_LEET_RE = re.compile(r"[013457@$!€]")
_HAS_LETTER_RE = re.compile(r"[^\W\d_]")
_NON_ASCII_RE = re.compile(r"[^\x00-\x7f]+")


def fold_char(char: str) -> str:
    """The folded form of one character (may be empty or longer than one character)."""
    if char.isascii():
        return char.lower()
    if unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return ""
    text = unicodedata.normalize("NFKC", char).lower().translate(_UMLAUTS).translate(_LOOKALIKES)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # NFKD splits "ä" again only if the umlaut map missed it (e.g. a capital from NFKC); fold it.
    return "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_UMLAUTS)


class _FoldTable(dict):
    """`str.translate` table computing and caching `fold_char` for characters seen so far."""

    def __missing__(self, code: int) -> str:
        folded = fold_char(chr(code))
        self[code] = folded
        return folded


_FOLD_TABLE = _FoldTable()


@dataclass
class Normalized:
    """Folded text plus, for each of its characters, the index of the source character."""

    source: str
    text: str
    origin: list[int] | None = field(default=None, repr=False)

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of `source` that produced `text[start:end]`."""
        if self.origin is None:
            self.origin = normalize(self.source, keep_origin=True).origin
        assert self.origin is not None
        if not self.origin or start >= end:
            return 0, 0
        return self.origin[start], self.origin[end - 1] + 1

    def snippet(self, start: int, end: int, limit: int = 80) -> str:
        """The source text behind `text[start:end]`, cut to `limit` characters."""
        first, last = self.source_span(start, end)
        return shorten(self.source[first:last], limit)


def word_count(folded_text: str) -> int:
    """How many words a folded text has, as training and the engine count them for `long_post_words`."""
    return len(folded_text.split())


def shorten(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _join_spaced(text: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    """Drop the separators inside runs of spelt-out letters.

    Within a run the shortest separator is the gap between letters; a longer one is a gap
    between words and becomes one space: "A u s l ä n d e r  r a u s" → "Ausländer raus".
    """
    if not _SPACED_RUN_RE.search(text):
        return text, origin
    parts: list[str] = []
    new_origin: list[int] = []
    position = 0
    for match in _SPACED_RUN_RE.finditer(text):
        parts.append(text[position : match.start()])
        if origin is not None:
            new_origin.extend(origin[position : match.start()])
        separators = list(_SPACED_SEP_RE.finditer(text, match.start(), match.end()))
        letter_gap = min(len(sep.group()) for sep in separators)
        index = match.start()
        for sep in separators:
            parts.append(text[index : sep.start()])  # the unit before this separator
            if origin is not None:
                new_origin.extend(origin[index : sep.start()])
            if len(sep.group()) > letter_gap:
                parts.append(" ")
                if origin is not None:
                    new_origin.append(origin[sep.start()])
            index = sep.end()
        parts.append(text[index : match.end()])
        if origin is not None:
            new_origin.extend(origin[index : match.end()])
        position = match.end()
    parts.append(text[position:])
    if origin is not None:
        new_origin.extend(origin[position:])
    return "".join(parts), (new_origin if origin is not None else None)


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD_TABLE)


def _fold(text: str, origin: list[int] | None) -> tuple[str, list[int] | None]:
    if origin is None:
        if text.isascii():
            return text.lower(), None
        # ASCII folds by lower(); only the (few, short) non-ASCII runs need the table.
        return _NON_ASCII_RE.sub(_fold_run, text).lower(), None
    if text.isascii():
        return text.lower(), origin
    parts: list[str] = []
    new_origin: list[int] = []
    done = 0
    for run in _NON_ASCII_RE.finditer(text):
        parts.append(text[done : run.start()].lower())
        new_origin.extend(origin[done : run.start()])
        for index in range(run.start(), run.end()):
            folded = _FOLD_TABLE[ord(text[index])]
            parts.append(folded)
            new_origin.extend([origin[index]] * len(folded))
        done = run.end()
    parts.append(text[done:].lower())
    new_origin.extend(origin[done:])
    return "".join(parts), new_origin


def _unleet_word(match: re.Match[str]) -> str:
    word = match.group()
    if not _HAS_LEET_RE.search(word) or not _HAS_LETTER_RE.search(word):
        return word
    head = len(word) - len(word.lstrip("@"))  # "@name" is a mention, not leet
    tail = len(word) - len(word.rstrip("!"))  # "super!" is an exclamation
    if head + tail >= len(word):
        return word
    return word[:head] + word[head : len(word) - tail].translate(_LEET_TABLE) + word[len(word) - tail :]


def _unleet(text: str) -> str:
    if not _HAS_LEET_RE.search(text):
        return text
    return _LEET_WORD_RE.sub(_unleet_word, text)  # one character for one: positions are kept


def normalize(text: str, keep_origin: bool = False) -> Normalized:
    """Fold `text` for matching; with `keep_origin` also map every character back to `source`.

    `source` is `text` in NFC (as stored captions are), which is what evidence is cut from.
    """
    source = unicodedata.normalize("NFC", text) if not text.isascii() else text
    origin = list(range(len(source))) if keep_origin else None
    joined, origin = _join_spaced(source, origin)
    folded, origin = _fold(joined, origin)
    return Normalized(source=source, text=_unleet(folded), origin=origin)


def fold(text: str) -> str:
    """Just the folded text (for list entries and fingerprints)."""
    return normalize(text).text


def squeeze(text: str) -> str:
    """Collapse runs of the same character: 'fuuuck' → 'fuck', 'scheisse' → 'scheise'."""
    if not text:
        return text
    out = [text[0]]
    for char in text[1:]:
        if char != out[-1]:
            out.append(char)
    return "".join(out)


# A quoted passage: German „…“, typographic “…”, straight "…", guillemets either way, ‚…‘.
_QUOTED_RE = re.compile(r'„[^„“”"\n]{1,300}[“”"]|"[^"\n]{1,300}"|“[^“”\n]{1,300}”|«[^«»\n]{1,300}»|»[^«»\n]{1,300}«|‚[^‚‘’\n]{1,300}[‘’]')


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """Where quoted passages stand in a text (quotation marks included)."""
    if not any(mark in text for mark in '„"“«»‚'):
        return []
    return [match.span() for match in _QUOTED_RE.finditer(text)]
