"""Guessing which audiences a post speaks to, from the campaign's audience keywords."""

from __future__ import annotations

import re
from functools import lru_cache

from campaign_worker.config.campaigns import Campaign, fold_hashtag


@lru_cache(maxsize=64)
def _pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    folded = sorted({re.escape(fold_hashtag(k)) for k in keywords if k}, key=len, reverse=True)
    if not folded:
        return None
    # Match at the start of a word, so "Familienausflug" counts for "familie".
    return re.compile(r"(?<!\w)(?:" + "|".join(folded) + ")")


def guess_audiences(campaign: Campaign, caption: str, hashtags: tuple[str, ...] | list[str] = ()) -> list[str]:
    """Audience keys ordered by how many of their keywords the post mentions (at least one)."""
    text = fold_hashtag(f"{caption} {' '.join(hashtags)}")
    scores: list[tuple[int, int, str]] = []
    for index, audience in enumerate(campaign.audiences):
        pattern = _pattern(tuple(audience.keywords))
        hits = len(pattern.findall(text)) if pattern else 0
        if hits:
            scores.append((-hits, index, audience.key))
    return [key for _, _, key in sorted(scores)]
