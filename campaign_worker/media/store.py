"""The local media store: downloaded pictures, checked, cleaned and kept once by content hash.

Before anything is served to the moderation UI a picture goes through `media.images` (limits,
decoding, sRGB, a fresh metadata-free JPEG and a thumbnail). The browser never loads anything
from a platform.

Layout under the store root, addressed by the SHA-256 of the *original* bytes (so the same
download is recognised without decoding it again):

    ab/cd/<sha256>.jpg         the sanitised picture (longest side at most `max_dimension`)
    ab/cd/<sha256>.thumb.jpg   the thumbnail (longest side at most `thumb_size`)
    ab/cd/<sha256>.w<N>.jpg    a web size (longest side N), made from the picture on first use

Files are written atomically (`files.write_atomic`: a full or read-only disk raises `DiskError`,
never a rejected picture, and leaves no temporary file); storing the same bytes again
writes nothing and returns the same `StoredMedia`. A bad picture never raises: it comes back
as a rejected `StoredMedia` carrying the hash and the reason, so the rejection can be stored
and the URL is not fetched again.
"""

from __future__ import annotations

import io
import logging
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from hashlib import sha256 as _sha256
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from campaign_worker.files import remove_leftovers, write_atomic
from campaign_worker.media.download import MediaFetchError
from campaign_worker.media.images import JPEG_MIME, ImageRejected, MediaLimits, hashable, human_size, phash_of_jpeg, render

log = logging.getLogger(__name__)

_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_HASH_CHUNK = 1024 * 1024  # reading a too large file only to hash it

MediaStatus = Literal["ok", "rejected"]


@dataclass(frozen=True)
class StoredMedia:
    """The outcome of storing one picture; `as_row()` fits the `Media` table.

    For an accepted picture, mime/width/height/bytes/path describe the stored sanitised JPEG
    (what is served). For a rejected one, path and thumb_path are empty and the other fields
    say what was learned about the original (its size in bytes, its format or dimensions).
    """

    sha256: str
    status: MediaStatus
    reject_reason: str | None = None
    mime: str | None = None
    width: int | None = None
    height: int | None = None
    bytes: int | None = None
    path: str | None = None
    thumb_path: str | None = None
    phash: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def reject_code(self) -> str | None:
        """The short English code of a rejection, e.g. `too_large`."""
        return self.reject_reason.split(":", 1)[0] if self.reject_reason else None

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


def _relative_path(sha256: str, thumb: bool = False) -> str:
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise ValueError("sha256 must be 64 lower-case hex characters")
    suffix = ".thumb.jpg" if thumb else ".jpg"
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}{suffix}"


def _write_atomic(target: Path, content: bytes) -> None:
    """Readers see all or nothing; a full or read-only disk raises `DiskError` (never a rejection)."""
    write_atomic(target, content, mode=0o644)


def _is_complete_jpeg(path: Path) -> bool:
    """Our encoder ends every file with the EOI marker; a half-written file does not."""
    try:
        with path.open("rb") as fh:
            if fh.read(3) != b"\xff\xd8\xff":
                return False
            fh.seek(-2, os.SEEK_END)
            return fh.read(2) == b"\xff\xd9"
    except OSError:
        return False


@dataclass
class MediaStore:
    """Pictures under `root`, content-addressed by the SHA-256 of the original bytes."""

    root: Path
    limits: MediaLimits = field(default_factory=MediaLimits)

    def __post_init__(self) -> None:
        self.root = Path(self.root)

    def path_for(self, sha256: str, thumb: bool = False) -> Path:
        """Absolute path of a stored picture (or its thumbnail); rejects anything but a SHA-256."""
        return self.root / _relative_path(sha256, thumb)

    def web_copy(self, sha256: str, longest: int) -> Path | None:
        """The stored picture scaled to at most `longest` px on its longest side (made once, then kept).

        A picture already that small is its own web copy; None if the picture is not stored.
        """
        picture = self.path_for(sha256)
        if not _is_complete_jpeg(picture):
            return None
        target = picture.with_name(f"{sha256}.w{int(longest)}.jpg")
        if _is_complete_jpeg(target):
            return target
        try:
            with Image.open(picture, formats=("JPEG",)) as im:
                if max(im.size) <= longest:
                    return picture
                im.draft("RGB", (longest, longest))
                im = im.convert("RGB")
                im.thumbnail((longest, longest), Image.Resampling.LANCZOS, reducing_gap=3.0)
                out = io.BytesIO()
                im.save(out, "JPEG", quality=self.limits.thumb_quality, optimize=True, progressive=True)
        except (OSError, ValueError, SyntaxError):
            return None
        _write_atomic(target, out.getvalue())
        return target

    def store_bytes(self, data: bytes) -> StoredMedia:
        """Check, sanitise and store one picture; a bad picture comes back rejected, never raised."""
        data = bytes(data)
        digest = _sha256(data).hexdigest()
        if len(data) > self.limits.max_bytes:
            return self._too_large(digest, len(data))
        known = self._already_stored(digest)
        if known is not None:
            return known
        try:
            rendered = render(data, self.limits)
        except ImageRejected as rejection:
            log.info("media %s rejected: %s%s", digest[:12], rejection.code,
                     f" ({rejection.cause})" if rejection.cause else "")
            return StoredMedia(sha256=digest, status="rejected", reject_reason=str(rejection), mime=rejection.mime,
                               width=rejection.width, height=rejection.height, bytes=len(data))
        # Thumbnail first: the main file's presence is what marks the entry complete.
        _write_atomic(self.path_for(digest, thumb=True), rendered.thumb)
        _write_atomic(self.path_for(digest), rendered.picture)
        return StoredMedia(sha256=digest, status="ok", mime=JPEG_MIME, width=rendered.width,
                           height=rendered.height, bytes=len(rendered.picture), path=_relative_path(digest),
                           thumb_path=_relative_path(digest, thumb=True), phash=rendered.phash)

    def delete(self, sha256: str) -> int:
        """Remove a stored picture and its thumbnail (idempotent); returns how many files were removed."""
        removed = 0
        for path in (self.path_for(sha256, thumb=True), self.path_for(sha256)):
            try:
                path.unlink()
                removed += 1
            except FileNotFoundError:
                pass
        return removed

    def store_file(self, path: Path | str) -> StoredMedia:
        """Store a local picture (e.g. from an instaloader archive) without reading a huge file whole.

        Raises `MediaFetchError` (code `unreadable`) if the file is missing or not a regular file.
        """
        path = Path(path)
        try:
            # Checked before opening: opening a named pipe would block, a device would never end.
            if not stat.S_ISREG(path.stat().st_mode):
                raise MediaFetchError("unreadable", f"Keine reguläre Datei: {path}", f"Not a regular file: {path}")
            with path.open("rb") as fh:
                data = fh.read(self.limits.max_bytes + 1)
                if len(data) > self.limits.max_bytes:
                    digest = _sha256(data)  # too large: hash the rest in chunks, keep nothing
                    total = len(data)
                    del data
                    while chunk := fh.read(_HASH_CHUNK):
                        digest.update(chunk)
                        total += len(chunk)
                    return self._too_large(digest.hexdigest(), total)
        except OSError as exc:
            raise MediaFetchError("unreadable", f"Bilddatei nicht lesbar: {path} ({exc.strerror or exc})",
                                  f"Cannot read picture file: {path} ({exc.strerror or exc})") from exc
        return self.store_bytes(data)  # a full disk here is a DiskError, not an unreadable picture

    def remove_leftovers(self) -> int:
        """Remove temp files a killed process left in the store (see `files.remove_leftovers`)."""
        return remove_leftovers(self.root)

    def _too_large(self, digest: str, size: int) -> StoredMedia:
        reason = ImageRejected("too_large", size=human_size(size), limit=human_size(self.limits.max_bytes))
        return StoredMedia(sha256=digest, status="rejected", reject_reason=str(reason), bytes=size)

    def _already_stored(self, digest: str) -> StoredMedia | None:
        """The result of an earlier store of the same bytes, read back from disk; None if incomplete."""
        picture, thumb = self.path_for(digest), self.path_for(digest, thumb=True)
        if not (_is_complete_jpeg(picture) and _is_complete_jpeg(thumb)):
            return None
        try:
            with Image.open(picture, formats=("JPEG",)) as im:
                width, height = im.size
            phash = phash_of_jpeg(thumb.read_bytes()) if hashable(width, height, self.limits) else None
            size = picture.stat().st_size
        except (OSError, ValueError, SyntaxError):
            return None  # damaged on disk: render again and overwrite
        return StoredMedia(sha256=digest, status="ok", mime=JPEG_MIME, width=width, height=height, bytes=size,
                           path=_relative_path(digest), thumb_path=_relative_path(digest, thumb=True), phash=phash)
