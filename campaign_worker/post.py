"""A post as a source delivers it, before it is stored.

Every source (instaloader archive, Instagram, the Graph API, Mastodon) turns what it reads
into `ParsedPost`s; `ingest` stores them. Nothing here touches the network or the database.
Untrusted fields are cut to size here, once, so no later stage has to guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from campaign_worker.timeutil import as_utc

MAX_CAPTION_CHARS = 10_000  # Instagram allows 2,200; other sources less strict.
MAX_NAME_CHARS = 100
MAX_HASHTAGS = 60
MAX_HASHTAG_CHARS = 100
MAX_MEDIA_PER_POST = 20

MediaKind = Literal["image", "video"]
MediaType = Literal["image", "video", "sidecar"]

_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w{1,100})", re.UNICODE)
UMLAUT_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class MediaRef:
    """One picture of a post: where to get it, not the bytes themselves.

    For a video, `url`/`local_path` point at the cover image and `video_url` at the video,
    which is never downloaded.
    """

    position: int
    kind: MediaKind = "image"
    url: str | None = None
    local_path: Path | None = None
    video_url: str | None = None


@dataclass(frozen=True)
class ParsedPost:
    """A public post, platform-neutral. `external_id` is unique per `platform`."""

    platform: str
    external_id: str
    caption: str
    posted_at: datetime
    author_username: str | None = None
    author_id: str | None = None
    permalink: str | None = None
    media_type: MediaType = "image"
    media: tuple[MediaRef, ...] = ()
    hashtags: tuple[str, ...] = ()
    like_count: int | None = None
    comment_count: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.external_id}"


def clean_text(value: str | None, limit: int) -> str:
    """NFC-normalise, drop control and bidi-override characters, cut to `limit`."""
    if not value:
        return ""
    text = _CONTROL_RE.sub("", unicodedata.normalize("NFC", str(value)))
    return text[:limit]


def fold_hashtag(tag: str) -> str:
    """'#MeinHerzTrägtKrone' → 'meinherztraegtkrone' (how the campaigns spell their tags)."""
    return tag.strip().lstrip("#").translate(UMLAUT_FOLD).lower()


def extract_hashtags(caption: str) -> tuple[str, ...]:
    """Hashtags of a caption, folded like the campaigns' tags, in order, without duplicates."""
    seen: dict[str, None] = {}
    for match in _HASHTAG_RE.finditer(caption or ""):
        seen.setdefault(fold_hashtag(match.group(1)), None)
    return tuple(seen)[:MAX_HASHTAGS]


def make_post(
    *,
    platform: str,
    external_id: str,
    caption: str | None,
    posted_at: datetime,
    author_username: str | None = None,
    author_id: str | None = None,
    permalink: str | None = None,
    media_type: MediaType = "image",
    media: tuple[MediaRef, ...] | list[MediaRef] = (),
    hashtags: tuple[str, ...] | list[str] | None = None,
    like_count: int | None = None,
    comment_count: int | None = None,
    raw: dict[str, Any] | None = None,
) -> ParsedPost:
    """Build a `ParsedPost` from untrusted values, validated and size-limited."""
    if not platform or not external_id:
        raise ValueError("a post needs a platform and an external id")
    text = clean_text(caption, MAX_CAPTION_CHARS)
    tags = hashtags if hashtags is not None else extract_hashtags(text)
    tags = tuple(
        dict.fromkeys(fold_hashtag(clean_text(t, MAX_HASHTAG_CHARS)) for t in tags if t)
    )[:MAX_HASHTAGS]
    return ParsedPost(
        platform=platform,
        external_id=clean_text(external_id, 200),
        caption=text,
        posted_at=as_utc(posted_at),
        author_username=clean_text(author_username, MAX_NAME_CHARS) or None,
        author_id=clean_text(author_id, MAX_NAME_CHARS) or None,
        permalink=clean_text(permalink, 500) or None,
        media_type=media_type,
        media=tuple(media)[:MAX_MEDIA_PER_POST],
        hashtags=tuple(t for t in tags if t),
        like_count=like_count if isinstance(like_count, int) and like_count >= 0 else None,
        comment_count=comment_count if isinstance(comment_count, int) and comment_count >= 0 else None,
        raw=raw or {},
    )
