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

import regex

from campaign_worker.timeutil import as_utc

MAX_CAPTION_CHARS = 10_000  # Instagram allows 2,200; other sources less strict.
MAX_NAME_CHARS = 100
MAX_HASHTAGS = 60
MAX_HASHTAG_CHARS = 100
MAX_MEDIA_PER_POST = 20
MAX_COUNT = 2**63 - 1  # the largest integer every database stores

MediaKind = Literal["image", "video"]
MediaType = Literal["image", "video", "sidecar"]

_HASHTAG_RE = re.compile(r"(?<![\w#])#(\w{1,100})", re.UNICODE)
UMLAUT_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})
# Removed from every text: NUL and the other control characters (tab and line breaks stay),
# bidi embeddings, overrides and isolates (they reorder what a reader sees), and invisible
# characters that build nothing (zero-width space, word joiner, byte-order mark).
# Zero-width joiner and non-joiner (U+200D, U+200C), variation selectors and emoji tag
# characters stay: emoji sequences and several scripts are built from them.
_DANGEROUS_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
_GRAPHEME_RE = regex.compile(r"\X")
# What a sign-in name may look like: Instagram's own rule, else a Mastodon-style `user[@host]`.
_HANDLE_RES = {
    "instagram": re.compile(r"[A-Za-z0-9._]{1,30}"),
    "": re.compile(r"@?[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}(@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)?"),
}

# What cleaning changed, one code per change, kept with the post (`Post.sanitised`) and
# counted by the import. code → (German, English) for the import report („gekürzte Beschreibungen: 3“).
CHANGE_LABELS: dict[str, tuple[str, str]] = {
    "caption_shortened": ("gekürzte Beschreibungen", "shortened captions"),
    "caption_invalid_unicode": ("Beschreibungen mit ungültigen Zeichen (ersetzt)", "captions with invalid characters (replaced)"),
    "caption_controls_removed": ("Beschreibungen mit Steuer- oder Richtungszeichen (entfernt)",
                                 "captions with control or direction characters (removed)"),
    "caption_empty": ("Beiträge ohne Beschreibung", "posts without a caption"),
    "author_unusable": ("unbrauchbare Autorennamen (weggelassen)", "unusable author names (left out)"),
    "hashtags_cut": (f"Beiträge mit mehr als {MAX_HASHTAGS} Hashtags (gekürzt)", f"posts with more than {MAX_HASHTAGS} hashtags (cut)"),
    "count_unusable": ("unmögliche Like- oder Kommentarzahlen (verworfen)", "impossible like or comment counts (dropped)"),
}


@dataclass(frozen=True)
class CleanText:
    """A cleaned text and what cleaning changed: `invalid_unicode`, `controls_removed`, `shortened`."""

    text: str
    changes: tuple[str, ...] = ()


def sanitise_text(value: object, limit: int) -> CleanText:
    """The one cleaning of untrusted text: valid Unicode, NFC, nothing dangerous, at most `limit`.

    Lone surrogates (valid in JSON, not encodable as UTF-8) become U+FFFD; surrogate pairs
    are joined. Control, bidi-override and invisible characters are removed, what builds
    graphemes (ZWJ emoji sequences, combining marks) is kept. A text longer than `limit` code
    points is cut at the last grapheme boundary within it, so no emoji or accent is split.
    """
    if value is None:
        return CleanText("")
    text = value if isinstance(value, str) else str(value)
    changes: list[str] = []
    repaired = _valid_unicode(text)
    if repaired != text:
        changes.append("invalid_unicode")
    text = unicodedata.normalize("NFC", repaired)
    stripped = _DANGEROUS_RE.sub("", text)
    if stripped != text:
        changes.append("controls_removed")
    text = stripped
    if len(text) > limit:
        text = _cut_graphemes(text, limit)
        changes.append("shortened")
    return CleanText(text, tuple(changes))


def _valid_unicode(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _cut_graphemes(text: str, limit: int) -> str:
    end = 0
    for match in _GRAPHEME_RE.finditer(text, 0, min(len(text), limit + 64)):
        if match.end() > limit:
            break
        end = match.end()
    # Grapheme clusters longer than 64 code points (stacked combining marks) are cut inside.
    return text[: end or limit]


def clean_text(value: str | None, limit: int) -> str:
    """`sanitise_text` for callers that need only the text."""
    return sanitise_text(value, limit).text


def clean_raw(value: Any, depth: int = 0) -> Any:
    """A decoded JSON document with every string made valid Unicode and free of NUL."""
    if isinstance(value, str):
        return _valid_unicode(value).replace("\x00", "")
    if depth > 100:
        return None
    if isinstance(value, dict):
        return {clean_raw(str(k), depth + 1): clean_raw(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_raw(v, depth + 1) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -MAX_COUNT <= value <= MAX_COUNT:
        return str(value)
    return value


def usable_handle(platform: str, handle: str) -> bool:
    """True when `handle` can be a sign-in name on `platform` (no paths, markup, control characters)."""
    pattern = _HANDLE_RES.get(platform, _HANDLE_RES[""])
    return bool(pattern.fullmatch(handle))


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
    changes: tuple[str, ...] = ()  # what cleaning changed: codes of `CHANGE_LABELS`

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.external_id}"


def fold_hashtag(tag: str) -> str:
    """'#MeinHerzTrägtKrone' → 'meinherztraegtkrone' (how the campaigns spell their tags)."""
    return tag.strip().lstrip("#").translate(UMLAUT_FOLD).lower()


def extract_hashtags(caption: str, limit: int | None = MAX_HASHTAGS) -> tuple[str, ...]:
    """Hashtags of a caption, folded like the campaigns' tags, in order, without duplicates (at most `limit`)."""
    seen: dict[str, None] = {}
    for match in _HASHTAG_RE.finditer(caption or ""):
        seen.setdefault(fold_hashtag(match.group(1)), None)
    return tuple(seen)[:limit]


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
    """Build a `ParsedPost` from untrusted values, validated and size-limited.

    Every text goes through `sanitise_text`; what it changed in the caption, and every value
    left out (an unusable author name, impossible counts), is recorded in `changes`.
    """
    if not platform or not external_id:
        raise ValueError("a post needs a platform and an external id")
    key = clean_text(external_id, 200)
    if not key.strip():
        raise ValueError("a post needs a platform and an external id")
    changes: list[str] = []
    cleaned = sanitise_text(caption, MAX_CAPTION_CHARS)
    changes += [f"caption_{change}" for change in cleaned.changes]
    text = cleaned.text
    if not text.strip():
        changes.append("caption_empty")
    tags = hashtags if hashtags is not None else extract_hashtags(text, limit=None)
    tags = tuple(dict.fromkeys(t for t in (fold_hashtag(clean_text(t, MAX_HASHTAG_CHARS)) for t in tags if t) if t))
    if len(tags) > MAX_HASHTAGS:
        changes.append("hashtags_cut")
    # A name is taken as it is or not at all: one repaired by cleaning would name someone else.
    author = author_username.strip() if isinstance(author_username, str) else ""
    if author and (len(author) > MAX_NAME_CHARS or not usable_handle(platform, author)):
        changes.append("author_unusable")
        author = ""
    likes, comments = _count(like_count), _count(comment_count)
    if (like_count is not None and likes is None) or (comment_count is not None and comments is None):
        changes.append("count_unusable")
    return ParsedPost(
        platform=platform,
        external_id=key,
        caption=text,
        posted_at=as_utc(posted_at),
        author_username=author or None,
        author_id=clean_text(author_id, MAX_NAME_CHARS) or None,
        permalink=clean_text(permalink, 500) or None,
        media_type=media_type,
        media=tuple(media)[:MAX_MEDIA_PER_POST],
        hashtags=tags[:MAX_HASHTAGS],
        like_count=likes,
        comment_count=comments,
        raw=clean_raw(raw or {}),
        changes=tuple(changes),
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT else None
