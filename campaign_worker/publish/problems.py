"""The problems a draft records when it is composed: each kind's sentence, in German and English.

A draft stores its problems as German sentences (what the CLI, exports and digests show). English
pages read a stored sentence back against the same German template and say it in English, so
each sentence is written once, here, and the two cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from string import Formatter

UNKNOWN_AUTHOR = "der Urheberin oder dem Urheber"  # who to ask when the post names no account


def _same(_name: str, value: str) -> str:
    return value


@dataclass(frozen=True)
class ProblemKind:
    de: str
    en: str
    english_value: Callable[[str, str], str] = _same  # (placeholder, German value) → English value
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = [re.escape(literal) + (f"(?P<{name}>.+?)" if name else "") for literal, name, _, _ in Formatter().parse(self.de)]
        object.__setattr__(self, "pattern", re.compile("".join(parts)))

    def text(self, **values: object) -> str:
        """The sentence a draft stores."""
        return self.de.format(**values)

    def english(self, stored: str) -> str | None:
        """The stored sentence in English, or None if it is not of this kind."""
        match = self.pattern.fullmatch(stored)
        if match is None:
            return None
        return self.en.format(**{name: self.english_value(name, value) for name, value in match.groupdict().items()})


TOO_LONG = ProblemKind("Text zu lang: {length} von {limit} Zeichen", "Text too long: {length} of {limit} characters")
ADDRESS = ProblemKind("Anrede prüfen: das Zitat spricht mit „{quote}“ an, der Entwurf mit „{draft}“",
                      "Check the form of address: the quote says „{quote}“, the draft „{draft}“")
RIGHTS = ProblemKind("Bildrechte klären: Erlaubnis von {who} einholen, bevor der Beitrag geteilt wird",
                     "Clear the picture rights: ask {who} for permission before the post is shared",
                     lambda _name, who: "the author" if who == UNKNOWN_AUTHOR else who)
CROP = ProblemKind("Bild muss zugeschnitten werden: Seitenverhältnis {aspect} liegt außerhalb von 4:5 bis 1,91:1",
                   "Picture must be cropped: aspect ratio {aspect} is outside 4:5 to 1.91:1",
                   lambda _name, aspect: aspect.replace(",", "."))
NARROW = ProblemKind("Bild zu schmal: {width} px (mindestens {minimum} px)", "Picture too narrow: {width} px (at least {minimum} px)")
KINDS = (TOO_LONG, ADDRESS, RIGHTS, CROP, NARROW)


def in_language(stored: str, language: str) -> str:
    """A stored problem as a page in `language` shows it (a sentence of no known kind as stored)."""
    if language == "en":
        for kind in KINDS:
            if (english := kind.english(stored)) is not None:
                return english
    return stored
