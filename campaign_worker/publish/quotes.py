"""Cleaning a partner's caption before a draft quotes it.

What the author wrote for their own profile is wrong once the campaign posts it: „Link in
unserem Profil“ points to the wrong profile, so such first-person link phrases are removed.
The cleaned quote also tells whether the caption addresses its readers with „du“ or „Sie“
(a draft in the other form gets a note) and which language it is in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_HASHTAG_OR_MENTION = re.compile(r"(?<![\w&])[#@][\w.]+", re.UNICODE)
_ARROWS = r"(?:[👉➡️→⬇️👇🔗]\s*)*"
# First-person pointers to the author's own profile, website or bio (German and English).
_LINK_PHRASES = re.compile(
    _ARROWS + r"(?:"
    r"(?:den\s+|der\s+|alle\s+|weitere\s+|mehr\s+)?(?:infos?|informationen|details|link|mehr)\s+"
    r"(?:gibt'?s\s+|findet\s+ihr\s+|finden\s+sie\s+|findest\s+du\s+)?(?:im|in\s+der|in\s+unserem|in\s+unserer|in\s+meinem|in\s+meiner|auf\s+unserer|auf\s+meiner|auf\s+unserem|über\s+den\s+link\s+in|unter\s+dem\s+link\s+in)\s+"
    r"(?:(?:unserer|unserem|meiner|meinem)\s+)?(?:bio|profil|website|webseite|homepage|story|linktree)"
    r"|link\s+in\s+(?:our\s+|my\s+)?(?:bio|profile)"
    r"|(?:more|details|info)\s+(?:on|at|via)\s+(?:our|my)\s+(?:website|site|profile|bio)"
    r")[^.!?\n]*[.!?]?",
    re.IGNORECASE,
)
_DU = re.compile(r"\b(?:du|dich|dir|dein|deine|deinen|deinem|deiner|euch|euer|eure|euren|eurem)\b", re.IGNORECASE)
_SIE = re.compile(r"(?<=[a-zäöüß,] )(?:Sie|Ihnen|Ihr|Ihre|Ihren|Ihrem|Ihrer)\b")
_EN = re.compile(r"\b(?:the|and|is|are|was|my|our|we|you|with|for|this|that|here|from|have|it's|i'm)\b", re.IGNORECASE)
_DE = re.compile(r"\b(?:der|die|das|und|ist|sind|war|mein|meine|unser|wir|mit|für|hier|ich|nicht|ein|eine|auf|bei)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Quote:
    text: str  # the caption's words without tags, mentions, links and link phrases
    address: str | None  # "du", "Sie" or None when the caption addresses nobody
    language: str  # "de" or "en"
    removed_links: bool


def detect_language(text: str) -> str:
    """"en" when English function words outnumber German ones clearly, else "de"."""
    en, de = len(_EN.findall(text)), len(_DE.findall(text))
    return "en" if en >= 2 and en > de * 1.5 else "de"


def clean_quote(caption: str) -> Quote:
    text = caption or ""
    text = _URL.sub(" ", text)
    without_links = _LINK_PHRASES.sub(" ", text)
    removed = without_links != text
    text = without_links
    text = _HASHTAG_OR_MENTION.sub(" ", text)
    text = re.sub(r"\s+", " ", text).strip(" -–,;:|")
    du, sie = len(_DU.findall(text)), len(_SIE.findall(text))
    address = "du" if du > sie else "Sie" if sie > du else None
    return Quote(text, address, detect_language(text), removed)
