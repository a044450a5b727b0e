"""The platforms' limits for posts, checked when a draft is composed (see CONTEXT.md)."""

from __future__ import annotations

from dataclasses import dataclass

import regex
from babel.numbers import format_decimal

from campaign_worker.publish.problems import CROP, NARROW

_GRAPHEME = regex.compile(r"\X")


@dataclass(frozen=True)
class ChannelLimits:
    max_chars: int  # counted in grapheme clusters, so an emoji counts once
    preview_chars: int | None = None
    min_width: int | None = None
    max_width: int | None = None
    min_aspect: float | None = None  # width / height
    max_aspect: float | None = None


CHANNELS: dict[str, ChannelLimits] = {
    "instagram": ChannelLimits(2200, preview_chars=125, min_width=320, max_width=1440, min_aspect=4 / 5, max_aspect=1.91),
    "facebook": ChannelLimits(63_206),
    "linkedin": ChannelLimits(3000),
}


def grapheme_len(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def cut(text: str, limit: int, ellipsis: str = "…") -> str:
    """At most `limit` graphemes, cut at a word boundary where possible."""
    graphemes = _GRAPHEME.findall(text)
    if len(graphemes) <= limit:
        return text
    head = "".join(graphemes[: max(0, limit - 1)])
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,.;:–-") + ellipsis


def image_problems(channel: str, width: int | None, height: int | None) -> list[str]:
    """Human-readable reasons why an image does not fit the channel as it is."""
    limits = CHANNELS[channel]
    if not width or not height or limits.min_aspect is None:
        return []
    problems = []
    aspect = width / height
    if not (limits.min_aspect - 0.005 <= aspect <= limits.max_aspect + 0.005):
        problems.append(CROP.text(aspect=format_decimal(round(aspect, 2), locale="de_DE")))
    if limits.min_width and width < limits.min_width:
        problems.append(NARROW.text(width=width, minimum=limits.min_width))
    return problems
