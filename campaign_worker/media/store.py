"""The local media store: downloaded pictures, checked, cleaned and kept once by content hash.

Pictures of public posts are untrusted bytes. Before anything is served to the moderation UI
they are decoded by Pillow under explicit limits (file size before decoding, pixel count
before loading), turned upright (EXIF orientation), converted to sRGB RGB on white, and
re-encoded as a fresh JPEG that carries no metadata at all (no EXIF, GPS, XMP, ICC profile or
comment). A thumbnail JPEG sits next to it. The browser never loads anything from a platform.

Layout under the store root, addressed by the SHA-256 of the *original* bytes (so the same
download is recognised without decoding it again):

    ab/cd/<sha256>.jpg         the sanitised picture (longest side at most `max_dimension`)
    ab/cd/<sha256>.thumb.jpg   the thumbnail (longest side at most `thumb_size`)

Files are written atomically (temporary file + `os.replace`); storing the same bytes again
writes nothing and returns the same `StoredMedia`. A bad picture never raises: it comes back
as a rejected `StoredMedia` carrying the hash and the reason, so the rejection can be stored
and the URL is not fetched again.

Near duplicates are found with a 64-bit perceptual hash (`imagehash.phash`, DCT-based) of the
thumbnail; compare two with `hamming` (≤ 6 bits: probably the same picture). phash rather
than dhash: on textured photos both shrug off re-compression, rescaling and small brightness
changes equally well, but phash sets its bits against the median of its DCT coefficients, so
about half are always set, while dhash (neighbour gradients) gives nearly identical hashes to
any two plain or gradient pictures (sky, a coloured wall) and would call unrelated posts
duplicates. For moderation a false "duplicate" does more harm than a missed one.
"""

from __future__ import annotations

import ipaddress
import io
import logging
import math
import os
import re
import stat
import tempfile
import time
from dataclasses import asdict, dataclass, field
from hashlib import sha256 as _sha256
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import imagehash
import requests
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)

MB = 1024 * 1024
JPEG_MIME = "image/jpeg"
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_READ_CHUNK = 64 * 1024
_MAX_REDIRECTS = 5
_REDIRECT_STATUSES = {301, 302, 303, 307, 308}

MediaStatus = Literal["ok", "rejected"]

# code → (German, English). The code comes first in `reject_reason` so a program can read it.
REJECT_REASONS: dict[str, tuple[str, str]] = {
    "too_large": ("Datei zu groß ({size}, erlaubt {limit})", "File too large ({size}, limit {limit})"),
    "decompression_bomb": (
        "Bild hat zu viele Pixel ({pixels}, erlaubt {limit} Megapixel)",
        "Image has too many pixels ({pixels}, limit {limit} megapixels)",
    ),
    "unsupported_format": (
        "Bildformat {format} wird nicht unterstützt (erlaubt: {allowed})",
        "Image format {format} is not supported (allowed: {allowed})",
    ),
    "not_an_image": ("Keine Bilddatei", "Not an image file"),
    "truncated": ("Bilddatei ist beschädigt oder unvollständig", "Image file is damaged or incomplete"),
}


@dataclass(frozen=True)
class MediaLimits:
    """What the store accepts and what it produces."""

    max_bytes: int = 8 * MB  # checked before decoding; Instagram's own limit
    max_pixels: int = 40_000_000  # checked from the header, before pixels are allocated
    allowed_formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "GIF"})  # GIF: first frame
    max_dimension: int = 2048  # longest side of the stored copy; larger pictures are scaled down
    thumb_size: int = 480  # longest side of the thumbnail
    jpeg_quality: int = 88
    thumb_quality: int = 80
    connect_timeout: float = 5.0  # seconds, per connection attempt
    read_timeout: float = 20.0  # seconds without a byte arriving
    total_timeout: float = 60.0  # seconds for a whole download, against slow trickles

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_dimension", "thumb_size"):
            if getattr(self, name) <= 0:
                raise ValueError(f"MediaLimits.{name} must be positive")
        for name in ("jpeg_quality", "thumb_quality"):
            if not 1 <= getattr(self, name) <= 95:
                raise ValueError(f"MediaLimits.{name} must be between 1 and 95")
        unknown = set(self.allowed_formats) - {"JPEG", "PNG", "WEBP", "GIF"}
        if unknown:
            raise ValueError(f"MediaLimits.allowed_formats: unsupported {sorted(unknown)}")

    @property
    def pillow_formats(self) -> tuple[str, ...]:
        """The Pillow plugins allowed to parse untrusted bytes (nothing else is even tried)."""
        return tuple(sorted(self.allowed_formats))


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


class MediaFetchError(CampaignWorkerError):
    """Getting the bytes failed (download or local file); `code` says how, `retryable` whether to try later."""

    def __init__(self, code: str, de: str, en: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(f"{code}: {de} / {en}")
        self.code = code
        self.message_de = de
        self.message_en = en
        self.status = status
        self.retryable = retryable


class _Rejected(Exception):
    """Internal: the picture is unusable; carries what goes into the rejected `StoredMedia`."""

    def __init__(self, code: str, *, mime: str | None = None, width: int | None = None,
                 height: int | None = None, cause: str | None = None, **details: Any):
        de, en = REJECT_REASONS[code]
        super().__init__(f"{code}: {de.format(**details)} / {en.format(**details)}"[:300])
        self.code = code
        self.cause = cause  # for the log only: what the decoder said
        self.mime = mime
        self.width = width
        self.height = height


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two perceptual hashes given as hex strings."""
    if len(a_hex) != len(b_hex):
        raise ValueError(f"hashes differ in length: {len(a_hex)} vs {len(b_hex)} hex digits")
    try:
        return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()
    except ValueError:
        raise ValueError(f"not a hex hash: {a_hex!r} / {b_hex!r}") from None


def _human_size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / 1024:.0f} KB"


# ---------------------------------------------------------------------------------------------
# Decoding and sanitising (all in memory; anything going wrong here becomes a rejection)
# ---------------------------------------------------------------------------------------------

# Formats recognised by their first bytes only to tell the user *which* format is unsupported.
_SNIFF: tuple[tuple[bytes, int, str, str], ...] = (
    (b"II*\x00", 0, "TIFF", "image/tiff"),
    (b"MM\x00*", 0, "TIFF", "image/tiff"),
    (b"%PDF", 0, "PDF", "application/pdf"),
    (b"8BPS", 0, "PSD", "image/vnd.adobe.photoshop"),
    (b"\x00\x00\x01\x00", 0, "ICO", "image/x-icon"),
    (b"\xff\x0a", 0, "JPEG XL", "image/jxl"),
    (b"\x00\x00\x00\x0cJXL ", 0, "JPEG XL", "image/jxl"),
    (b"\x1aE\xdf\xa3", 0, "WebM", "video/webm"),
)
_FTYP_BRANDS = {
    b"heic": ("HEIC", "image/heic"), b"heix": ("HEIC", "image/heic"), b"mif1": ("HEIF", "image/heif"),
    b"msf1": ("HEIF", "image/heif"), b"avif": ("AVIF", "image/avif"), b"avis": ("AVIF", "image/avif"),
}
# Signatures of the formats Pillow may read for us: if it cannot open an allowed one, the file is damaged.
_OWN_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "JPEG", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "PNG", "image/png"),
    (b"GIF87a", "GIF", "image/gif"),
    (b"GIF89a", "GIF", "image/gif"),
)


def _classify_unreadable(data: bytes, limits: MediaLimits) -> _Rejected:
    """Why Pillow could not identify `data`: damaged own format, foreign format, or no picture."""
    head = data[:1024]
    allowed = ", ".join(limits.pillow_formats)
    own = [(name, mime) for magic, name, mime in _OWN_SIGNATURES if head.startswith(magic)]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        own = [("WEBP", "image/webp")]
    for name, mime in own:
        if name in limits.allowed_formats:
            return _Rejected("truncated", mime=mime)
        return _Rejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    for magic, offset, name, mime in _SNIFF:
        if head[offset:offset + len(magic)] == magic:
            return _Rejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    if head[4:8] == b"ftyp":
        name, mime = _FTYP_BRANDS.get(head[8:12], ("MP4/MOV (Video)", "video/mp4"))
        return _Rejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 108, 124):
        return _Rejected("unsupported_format", mime="image/bmp", format="BMP", allowed=allowed)
    if b"<svg" in head.lower():
        return _Rejected("unsupported_format", mime="image/svg+xml", format="SVG", allowed=allowed)
    return _Rejected("not_an_image")


def _bomb(limits: MediaLimits, mime: str | None = None, width: int | None = None,
          height: int | None = None, pillow_error: Exception | None = None) -> _Rejected:
    if width and height:
        pixels = f"{width}×{height}"
    else:  # Pillow's own process-wide limit fired first; its message names the pixel count
        found = re.search(r"\((\d+) pixels\)", str(pillow_error))
        pixels = f"{int(found.group(1))} px" if found else "?"
    return _Rejected("decompression_bomb", mime=mime, width=width, height=height, pixels=pixels,
                     limit=f"{limits.max_pixels / 1_000_000:g}")


def _open_limited(data: bytes, limits: MediaLimits) -> Image.Image:
    """Open (header only) with the allowed plugins and check the declared size against the limits."""
    try:
        im = Image.open(io.BytesIO(data), formats=limits.pillow_formats)
    except UnidentifiedImageError:
        raise _classify_unreadable(data, limits) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own, higher, process-wide limit fired first (the warning only if warnings are errors).
        raise _bomb(limits, pillow_error=exc) from None
    width, height = im.size
    mime = Image.MIME.get(im.format or "", None)
    if width <= 0 or height <= 0:
        raise _Rejected("not_an_image", mime=mime)
    if width * height > limits.max_pixels:
        raise _bomb(limits, mime=mime, width=width, height=height)
    return im


def _decode(data: bytes, limits: MediaLimits) -> Image.Image:
    """Fully decoded first frame of a verified picture, possibly JPEG-draft-scaled to save memory."""
    _open_limited(data, limits).verify()  # checksums/structure; the object is unusable afterwards
    im = _open_limited(data, limits)
    if im.format in ("JPEG", "MPO"):
        # Decode big JPEGs at 1/2, 1/4 or 1/8 scale straight away: faster and far less memory,
        # never below what the stored copy keeps.
        w, h = im.size
        factor = limits.max_dimension / max(w, h)
        if factor < 1:
            im.draft(None, (math.ceil(w * factor), math.ceil(h * factor)))
    im.seek(0)
    im.load()
    return im


def _upright(im: Image.Image) -> Image.Image:
    """Apply the EXIF orientation; a broken EXIF block is ignored rather than rejecting the photo."""
    try:
        ImageOps.exif_transpose(im, in_place=True)  # in place: no copy of a large picture
    except Exception:  # malformed EXIF comes in many shapes
        log.debug("ignoring unreadable EXIF orientation", exc_info=True)
    return im


_SRGB = ImageCms.createProfile("sRGB")


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB in sRGB: transparency flattened onto white, palette/grey/CMYK converted, ICC applied."""
    if im.mode.startswith("I;16"):
        im = im.convert("I").point(lambda v: v * (1 / 256)).convert("L")  # scale 16-bit grey, do not clip
    elif im.mode in ("I", "F"):
        im = im.convert("L")
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        im = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    if im.mode not in ("RGB", "CMYK", "L"):
        im = im.convert("RGB")  # palette, bilevel, YCbCr, LAB, …
    if icc:
        try:
            return ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), _SRGB, outputMode="RGB")
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            log.debug("ignoring unusable ICC profile; assuming sRGB", exc_info=True)
    return im if im.mode == "RGB" else im.convert("RGB")


def _encode_jpeg(im: Image.Image, quality: int) -> bytes:
    """A fresh JPEG of the pixels only: no EXIF, XMP, ICC profile or comment."""
    im.info = {}  # Pillow would otherwise carry a JPEG comment from `info` into the new file
    out = io.BytesIO()
    im.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def _phash_of_jpeg(jpeg: bytes) -> str:
    """Perceptual hash of an encoded thumbnail, so a re-read from disk gives the very same hash."""
    with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as im:
        im.draft("L", (64, 64))  # phash looks at 32×32 grey; decoding at 1/8 scale is ten times faster
        return str(imagehash.phash(im))


@dataclass(frozen=True)
class _Rendered:
    picture: bytes
    thumb: bytes
    width: int
    height: int
    phash: str


def _render(data: bytes, limits: MediaLimits) -> _Rendered:
    """Decode, straighten, convert and re-encode; raises `_Rejected` for anything unusable."""
    try:
        im = _decode(data, limits)
        icc = im.info.get("icc_profile")
        im = _to_srgb(_upright(im), icc)
        if max(im.size) > limits.max_dimension:
            im.thumbnail((limits.max_dimension, limits.max_dimension), Image.Resampling.LANCZOS, reducing_gap=3.0)
        picture = _encode_jpeg(im, limits.jpeg_quality)
        thumb_im = im.copy()
        # Bicubic is enough for a preview and a third faster than Lanczos here.
        thumb_im.thumbnail((limits.thumb_size, limits.thumb_size), Image.Resampling.BICUBIC, reducing_gap=3.0)
        thumb = _encode_jpeg(thumb_im, limits.thumb_quality)
    except _Rejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(limits, pillow_error=exc) from None
    except Exception as exc:  # Pillow reports damaged data as OSError, SyntaxError, ValueError, struct.error, …
        raise _Rejected("truncated", cause=f"{type(exc).__name__}: {exc}"[:200]) from None
    return _Rendered(picture, thumb, im.width, im.height, _phash_of_jpeg(thumb))


# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------


def _relative_path(sha256: str, thumb: bool = False) -> str:
    if not isinstance(sha256, str) or not _SHA256_RE.match(sha256):
        raise ValueError("sha256 must be 64 lower-case hex characters")
    suffix = ".thumb.jpg" if thumb else ".jpg"
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}{suffix}"


def _write_atomic(target: Path, content: bytes) -> None:
    """Write via a temporary file in the same folder, so readers see all or nothing."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
            rendered = _render(data, self.limits)
        except _Rejected as rejection:
            log.info("media %s rejected: %s%s", digest[:12], rejection.code,
                     f" ({rejection.cause})" if rejection.cause else "")
            return StoredMedia(sha256=digest, status="rejected", reject_reason=str(rejection), mime=rejection.mime,
                               width=rejection.width, height=rejection.height, bytes=len(data))
        # Thumbnail first: the main file's presence is what marks the entry complete.
        self.path_for(digest).parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.path_for(digest, thumb=True), rendered.thumb)
        _write_atomic(self.path_for(digest), rendered.picture)
        return StoredMedia(sha256=digest, status="ok", mime=JPEG_MIME, width=rendered.width,
                           height=rendered.height, bytes=len(rendered.picture), path=_relative_path(digest),
                           thumb_path=_relative_path(digest, thumb=True), phash=rendered.phash)

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
                if len(data) <= self.limits.max_bytes:
                    return self.store_bytes(data)
                digest = _sha256(data)  # too large: hash the rest in chunks, keep nothing
                total = len(data)
                del data
                while chunk := fh.read(_READ_CHUNK * 16):
                    digest.update(chunk)
                    total += len(chunk)
                return self._too_large(digest.hexdigest(), total)
        except OSError as exc:
            raise MediaFetchError("unreadable", f"Bilddatei nicht lesbar: {path} ({exc.strerror or exc})",
                                  f"Cannot read picture file: {path} ({exc.strerror or exc})") from exc

    def _too_large(self, digest: str, size: int) -> StoredMedia:
        reason = _Rejected("too_large", size=_human_size(size), limit=_human_size(self.limits.max_bytes))
        return StoredMedia(sha256=digest, status="rejected", reject_reason=str(reason), bytes=size)

    def _already_stored(self, digest: str) -> StoredMedia | None:
        """The result of an earlier store of the same bytes, read back from disk; None if incomplete."""
        picture, thumb = self.path_for(digest), self.path_for(digest, thumb=True)
        if not (_is_complete_jpeg(picture) and _is_complete_jpeg(thumb)):
            return None
        try:
            with Image.open(picture, formats=("JPEG",)) as im:
                width, height = im.size
            phash = _phash_of_jpeg(thumb.read_bytes())
            size = picture.stat().st_size
        except (OSError, ValueError, SyntaxError):
            return None  # damaged on disk: render again and overwrite
        return StoredMedia(sha256=digest, status="ok", mime=JPEG_MIME, width=width, height=height, bytes=size,
                           path=_relative_path(digest), thumb_path=_relative_path(digest, thumb=True), phash=phash)


# ---------------------------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------------------------


def _check_url(url: str) -> None:
    """Only https, and never to this machine or a private network named by its address."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        parts, host = None, None
    if parts is None or parts.scheme != "https" or not host:
        raise MediaFetchError("not_https", f"Nur https-Adressen werden geladen: {url[:200]}",
                              f"Only https URLs are fetched: {url[:200]}")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost") or (
        address is not None and not address.is_global
    ):
        raise MediaFetchError("private_address", f"Adresse im lokalen Netz wird nicht geladen: {host}",
                              f"Refusing a local or private address: {host}")


def fetch_bytes(session: requests.Session, url: str, limits: MediaLimits = MediaLimits()) -> bytes:
    """Download one picture over https with a byte cap and timeouts; raises `MediaFetchError`.

    Redirects are followed by hand (at most five) so that every hop is checked to be https.
    Not retried here: `MediaFetchError.retryable` tells the caller whether trying later makes sense.
    """
    deadline = time.monotonic() + limits.total_timeout
    for _ in range(_MAX_REDIRECTS + 1):
        _check_url(url)
        try:
            response = session.get(url, stream=True, allow_redirects=False,
                                   timeout=(limits.connect_timeout, limits.read_timeout))
        except requests.Timeout as exc:
            raise MediaFetchError("timeout", f"Zeitüberschreitung beim Laden von {url[:200]}",
                                  f"Timed out fetching {url[:200]}", retryable=True) from exc
        except requests.RequestException as exc:
            raise MediaFetchError("connection", f"Verbindung fehlgeschlagen: {url[:200]} ({type(exc).__name__})",
                                  f"Connection failed: {url[:200]} ({type(exc).__name__})", retryable=True) from exc
        with response:
            if response.status_code in _REDIRECT_STATUSES and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            return _read_capped(response, url, limits, deadline)
    raise MediaFetchError("too_many_redirects", f"Zu viele Weiterleitungen: {url[:200]}",
                          f"Too many redirects: {url[:200]}")


def _read_capped(response: requests.Response, url: str, limits: MediaLimits, deadline: float) -> bytes:
    status = response.status_code
    if status != 200:
        retryable = status in (408, 425, 429) or status >= 500
        raise MediaFetchError(f"http_{status}", f"Server antwortet {status} für {url[:200]}",
                              f"Server answered {status} for {url[:200]}", status=status, retryable=retryable)
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise _fetch_too_large(url, int(declared), limits)
    buffer = bytearray()
    try:
        for chunk in response.iter_content(_READ_CHUNK):
            buffer += chunk
            if len(buffer) > limits.max_bytes:
                raise _fetch_too_large(url, len(buffer), limits, at_least=True)
            if time.monotonic() > deadline:
                raise MediaFetchError("timeout", f"Download dauert zu lange: {url[:200]}",
                                      f"Download took too long: {url[:200]}", retryable=True)
    except requests.RequestException as exc:
        raise MediaFetchError("connection", f"Download abgebrochen: {url[:200]} ({type(exc).__name__})",
                              f"Download interrupted: {url[:200]} ({type(exc).__name__})", retryable=True) from exc
    return bytes(buffer)


def _fetch_too_large(url: str, size: int, limits: MediaLimits, at_least: bool = False) -> MediaFetchError:
    more = "mehr als " if at_least else ""
    more_en = "more than " if at_least else ""
    return MediaFetchError(
        "too_large",
        f"Datei zu groß ({more}{_human_size(size)}, erlaubt {_human_size(limits.max_bytes)}): {url[:200]}",
        f"File too large ({more_en}{_human_size(size)}, limit {_human_size(limits.max_bytes)}): {url[:200]}",
    )
