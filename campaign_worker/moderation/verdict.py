"""What a moderation rule sees of a post (`Candidate`) and what it says (`Verdict`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Decision = Literal["approve", "reject", "review"]


@dataclass(frozen=True)
class Candidate:
    """A post as the rules see it; built from the stored post, never from raw payloads."""

    key: str  # "<platform>:<external_id>"
    caption: str
    author: str | None
    hashtags: tuple[str, ...]
    posted_at: datetime  # aware UTC
    image_hashes: tuple[str, ...] = ()  # perceptual hashes (hex) of the post's images
    platform: str = "instagram"
    author_id: str | None = None  # the platform's stable owner id, where it gave one


@dataclass(frozen=True)
class Verdict:
    """One rule's opinion, with the evidence a campaign manager is shown."""

    decision: Decision
    rule: str
    reason_de: str
    reason_en: str
    evidence: tuple[str, ...] = field(default=())

    def reason(self, language: str = "de") -> str:
        return self.reason_en if language == "en" else self.reason_de
