"""Pictures as untrusted bytes: the limits, decoding, sanitising and the perceptual hash.

Pictures of public posts are untrusted bytes. They are decoded by Pillow under explicit limits
(file size before decoding, pixel count before loading), turned upright (EXIF orientation),
converted to sRGB RGB on white, and re-encoded as a fresh JPEG that carries no metadata at all
(no EXIF, GPS, XMP, ICC profile or comment), with a thumbnail JPEG next to it. Anything that
goes wrong here is an `ImageRejected`, never a crash: `media.store` keeps the rejection.

Near duplicates are found with a 64-bit perceptual hash (`imagehash.phash`, DCT-based) of the
thumbnail; compare two with `hamming` (≤ 6 bits: probably the same picture). phash rather
than dhash: on textured photos both shrug off re-compression, rescaling and small brightness
changes equally well, but phash sets its bits against the median of its DCT coefficients, so
about half are always set, while dhash (neighbour gradients) gives nearly identical hashes to
any two plain or gradient pictures (sky, a coloured wall) and would call unrelated posts
duplicates. For moderation a false "duplicate" does more harm than a missed one. For the same
reason pictures under 32 pixels a side are refused, and panoramas beyond 4:1 get no hash: a
1×1 dot and a 200:1 strip hash within two bits of each other.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import imagehash
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

MB = 1024 * 1024
JPEG_MIME = "image/jpeg"

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
    "too_small": ("Bild zu klein ({pixels}, mindestens {limit} Pixel je Seite)",
                  "Image too small ({pixels}, at least {limit} pixels per side)"),
}


@dataclass(frozen=True)
class MediaLimits:
    """What the store accepts and what it produces."""

    max_bytes: int = 8 * MB  # checked before decoding; Instagram's own limit
    max_pixels: int = 40_000_000  # checked from the header, before pixels are allocated
    allowed_formats: frozenset[str] = frozenset({"JPEG", "PNG", "WEBP", "GIF"})  # GIF: first frame
    max_dimension: int = 2048  # longest side of the stored copy; larger pictures are scaled down
    min_side: int = 32  # shorter pictures show nothing a person or the perceptual hash (32×32) could use
    max_hash_aspect: float = 4.0  # beyond 4:1 the hash squeezes a panorama into stripes: stored, not hashed
    thumb_size: int = 480  # longest side of the thumbnail
    jpeg_quality: int = 88
    thumb_quality: int = 80
    connect_timeout: float = 5.0  # seconds, per connection attempt
    read_timeout: float = 20.0  # seconds without a byte arriving
    total_timeout: float = 60.0  # seconds for a whole download, against slow trickles

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_dimension", "thumb_size", "min_side", "max_hash_aspect"):
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


class ImageRejected(Exception):
    """The picture is unusable; carries what goes into the rejected `StoredMedia`."""

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


def human_size(n: int) -> str:
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


def _classify_unreadable(data: bytes, limits: MediaLimits) -> ImageRejected:
    """Why Pillow could not identify `data`: damaged own format, foreign format, or no picture."""
    head = data[:1024]
    allowed = ", ".join(limits.pillow_formats)
    own = [(name, mime) for magic, name, mime in _OWN_SIGNATURES if head.startswith(magic)]
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        own = [("WEBP", "image/webp")]
    for name, mime in own:
        if name in limits.allowed_formats:
            return ImageRejected("truncated", mime=mime)
        return ImageRejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    for magic, offset, name, mime in _SNIFF:
        if head[offset:offset + len(magic)] == magic:
            return ImageRejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    if head[4:8] == b"ftyp":
        name, mime = _FTYP_BRANDS.get(head[8:12], ("MP4/MOV (Video)", "video/mp4"))
        return ImageRejected("unsupported_format", mime=mime, format=name, allowed=allowed)
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 108, 124):
        return ImageRejected("unsupported_format", mime="image/bmp", format="BMP", allowed=allowed)
    if b"<svg" in head.lower():
        return ImageRejected("unsupported_format", mime="image/svg+xml", format="SVG", allowed=allowed)
    return ImageRejected("not_an_image")


def _bomb(limits: MediaLimits, mime: str | None = None, width: int | None = None,
          height: int | None = None, pillow_error: Exception | None = None) -> ImageRejected:
    if width and height:
        pixels = f"{width}×{height}"
    else:  # Pillow's own process-wide limit fired first; its message names the pixel count
        found = re.search(r"\((\d+) pixels\)", str(pillow_error))
        pixels = f"{int(found.group(1))} px" if found else "?"
    return ImageRejected("decompression_bomb", mime=mime, width=width, height=height, pixels=pixels,
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
        raise ImageRejected("not_an_image", mime=mime)
    if width * height > limits.max_pixels:
        raise _bomb(limits, mime=mime, width=width, height=height)
    if min(width, height) < limits.min_side:
        raise ImageRejected("too_small", mime=mime, width=width, height=height, pixels=f"{width}×{height}", limit=limits.min_side)
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


def phash_of_jpeg(jpeg: bytes) -> str:
    """Perceptual hash of an encoded thumbnail, so a re-read from disk gives the very same hash."""
    with Image.open(io.BytesIO(jpeg), formats=("JPEG",)) as im:
        im.draft("L", (64, 64))  # phash looks at 32×32 grey; decoding at 1/8 scale is ten times faster
        return str(imagehash.phash(im))


def hashable(width: int, height: int, limits: MediaLimits) -> bool:
    """Whether a picture of this size gets a perceptual hash (not too elongated to compare)."""
    return min(width, height) > 0 and max(width, height) / min(width, height) <= limits.max_hash_aspect


@dataclass(frozen=True)
class Rendered:
    picture: bytes
    thumb: bytes
    width: int
    height: int
    phash: str | None  # None for extreme aspect ratios (`MediaLimits.max_hash_aspect`)


def render(data: bytes, limits: MediaLimits) -> Rendered:
    """Decode, straighten, convert and re-encode; raises `ImageRejected` for anything unusable."""
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
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bomb(limits, pillow_error=exc) from None
    except Exception as exc:  # Pillow reports damaged data as OSError, SyntaxError, ValueError, struct.error, …
        raise ImageRejected("truncated", cause=f"{type(exc).__name__}: {exc}"[:200]) from None
    return Rendered(picture, thumb, im.width, im.height, phash_of_jpeg(thumb) if hashable(im.width, im.height, limits) else None)
