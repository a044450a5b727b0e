"""Cropping a draft's picture to the sizes its channel needs, around a focal point.

Sizes (CONTEXT.md): Instagram feed 4:5 (1080×1350) and 1:1 (1080×1080), story 9:16
(1080×1920); Facebook and LinkedIn link posts 1.91:1 (1080×566) and 1:1. The crop keeps the
focal point (x, y in 0–1 of width and height; the centre by default) as central as the
picture allows, is scaled down to the target size and saved as sRGB JPEG without metadata. A
picture smaller than the target is not blown up (that adds no detail, the platforms scale on
display, and it cost most of a compose run): its crop keeps the picture's own pixels, and only
one narrower than the platforms' minimum width (320 px) is scaled up to it.

Cheap by design: a picture is decoded once for all the crops made from it; a JPEG is decoded
at a reduced size (`Image.draft`, DCT scaling) when even the largest crop needs fewer pixels
than the original has; each crop is cut from the decoded picture and scaled in one step
(`resize(box=…)`), so nothing outside the box is resampled, and crops that share a scale (all
that take the picture's full width) share one resample.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image as PilImage

SIZES: dict[str, tuple[int, int]] = {"4x5": (1080, 1350), "1x1": (1080, 1080), "1.91x1": (1080, 566), "9x16": (1080, 1920)}
CHANNEL_CROPS: dict[str, tuple[str, ...]] = {
    "instagram": ("4x5", "1x1", "9x16"),
    "facebook": ("1.91x1", "1x1"),
    "linkedin": ("1.91x1", "1x1"),
}
MIN_WIDTH = 320  # the narrowest picture Instagram takes (CONTEXT.md); narrower crops are scaled up to it
_SWAPPED_ORIENTATIONS = (5, 6, 7, 8)  # EXIF orientations that turn the picture by 90°


@dataclass(frozen=True)
class Crop:
    ratio: str
    path: Path
    width: int
    height: int


def clamp_focal(focal: tuple[float | None, float | None]) -> tuple[float, float]:
    """A focal point inside the picture (0–1 each); a missing value is the centre."""
    return tuple(min(max(0.5 if v is None else float(v), 0.0), 1.0) for v in focal)  # type: ignore[return-value]


def crop_box(width: int, height: int, target: tuple[int, int], focal: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int, int, int]:
    """The largest box of the target's aspect ratio inside the picture, centred on the focal point."""
    ratio = target[0] / target[1]
    if width / height > ratio:
        box_w, box_h = round(height * ratio), height
    else:
        box_w, box_h = width, round(width / ratio)
    fx, fy = clamp_focal(focal)
    left = int(min(max(fx * width - box_w / 2, 0), width - box_w))
    top = int(min(max(fy * height - box_h / 2, 0), height - box_h))
    return left, top, left + box_w, top + box_h


def crop_size(box: tuple[int, int, int, int], ratio: str) -> tuple[int, int]:
    """The size of a crop: the target size, or the box's own when it is smaller (never below MIN_WIDTH)."""
    target_w, target_h = SIZES[ratio]
    width = min(target_w, max(box[2] - box[0], MIN_WIDTH))
    return (target_w, target_h) if width == target_w else (width, round(width * target_h / target_w))


def crop_name(sha256: str, focal: tuple[float, float], ratio: str) -> str:
    """The file name of one crop of a picture at a focal point: the same inputs give the same file."""
    fx, fy = clamp_focal(focal)
    return f"{sha256[:16]}-{round(fx * 1000):04d}-{round(fy * 1000):04d}-{ratio}.jpg"


def _needed_scale(width: int, height: int, ratios: Iterable[str]) -> float:
    """How far the picture may shrink before the largest box of any ratio is smaller than its target."""
    scale = 0.0
    for ratio in ratios:
        left, top, right, bottom = crop_box(width, height, SIZES[ratio])
        scale = max(scale, SIZES[ratio][0] / max(1, right - left), SIZES[ratio][1] / max(1, bottom - top))
    return scale


def open_srgb(source: Path, ratios: Iterable[str]) -> PilImage:
    """The picture upright, in sRGB, decoded no larger than the given crops need (JPEG)."""
    from PIL import Image, ImageCms, ImageOps

    with Image.open(source) as opened:
        width, height = opened.size
        if opened.format == "JPEG":
            upright = (height, width) if opened.getexif().get(0x0112) in _SWAPPED_ORIENTATIONS else (width, height)
            scale = _needed_scale(*upright, ratios)
            if scale < 0.5:  # DCT scaling halves at least; above that a full decode is as cheap
                opened.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
        picture = ImageOps.exif_transpose(opened)
        icc = picture.info.get("icc_profile")
        if icc:
            try:
                picture = ImageCms.profileToProfile(picture, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                                    ImageCms.createProfile("sRGB"), outputMode="RGB")
            except (ImageCms.PyCMSError, OSError):
                pass
        return picture.convert("RGB")


def _pieces(picture: PilImage, ratios: list[str], focal: tuple[float, float]) -> dict[str, PilImage]:
    """The ratios' crops at their sizes (`crop_size`). Boxes scaled by the same factor (those that
    take the picture's full width, say) are cut from one scaled copy of their common area: one
    resample for the group instead of one per ratio; a box kept at its own size is only cut."""
    from PIL import Image

    groups: dict[float, list[tuple[str, tuple[int, int, int, int], tuple[int, int]]]] = {}
    for ratio in ratios:
        box = crop_box(picture.width, picture.height, SIZES[ratio], focal)
        size = crop_size(box, ratio)
        groups.setdefault(round(size[0] / (box[2] - box[0]), 3), []).append((ratio, box, size))
    pieces = {}
    for scale, members in groups.items():
        if len(members) == 1 or scale == 1.0:
            for ratio, box, size in members:
                same = size == (box[2] - box[0], box[3] - box[1])
                pieces[ratio] = picture.crop(box) if same else picture.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
            continue
        left, top = min(b[0] for _, b, _ in members), min(b[1] for _, b, _ in members)
        right, bottom = max(b[2] for _, b, _ in members), max(b[3] for _, b, _ in members)
        common = picture.resize((round((right - left) * scale), round((bottom - top) * scale)), Image.Resampling.LANCZOS,
                                box=(left, top, right, bottom), reducing_gap=3.0)
        for ratio, box, (width, height) in members:
            x = min(max(round((box[0] - left) * scale), 0), max(common.width - width, 0))
            y = min(max(round((box[1] - top) * scale), 0), max(common.height - height, 0))
            piece = common.crop((x, y, x + width, y + height))
            pieces[ratio] = piece if common.width >= width and common.height >= height else picture.resize(
                (width, height), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    return pieces


def write_crops(picture: PilImage, target_dir: Path, ratios: Iterable[str], focal: tuple[float, float],
                name_for: Callable[[str], str], *, reuse: bool = False) -> list[Crop]:
    """Cut and save `ratios` of a decoded picture; with `reuse`, a file that exists already is kept."""
    target_dir.mkdir(parents=True, exist_ok=True)
    ratios = list(ratios)
    paths = {ratio: target_dir / name_for(ratio) for ratio in ratios}
    pieces = _pieces(picture, [r for r in ratios if not (reuse and paths[r].is_file())], focal)
    for ratio, piece in pieces.items():
        tmp = paths[ratio].with_suffix(".tmp")
        piece.save(tmp, "JPEG", quality=88, exif=b"", icc_profile=None)
        tmp.replace(paths[ratio])
    return [Crop(ratio, paths[ratio], *(pieces[ratio].size if ratio in pieces else _stored_size(paths[ratio]))) for ratio in ratios]


def _stored_size(path: Path) -> tuple[int, int]:
    """The size of a crop file made earlier (read from its header only)."""
    from PIL import Image

    with Image.open(path) as stored:
        return stored.size


def make_crops(source: Path, target_dir: Path, stem: str, channel: str, focal: tuple[float, float] = (0.5, 0.5)) -> list[Crop]:
    """Write the channel's crops of `source` as `<stem>-<ratio>.jpg` into `target_dir`."""
    ratios = CHANNEL_CROPS[channel]
    return write_crops(open_srgb(source, ratios), target_dir, ratios, focal, lambda ratio: f"{stem}-{ratio}.jpg")


def make_picture_crops(source: Path, target_dir: Path, sha256: str, wanted: dict[tuple[float, float], set[str]]) -> dict[tuple[float, float], list[Crop]]:
    """Every crop wanted of one picture ({focal point: ratios}), decoded at most once.

    Files are named by picture, focal point and ratio (`crop_name`): a crop that exists already
    is kept, and drafts of one post on several channels share their 1:1 crop.
    """
    missing = {focal: {r for r in ratios if not (target_dir / crop_name(sha256, focal, r)).is_file()}
               for focal, ratios in wanted.items()}
    picture = open_srgb(source, set().union(*missing.values())) if any(missing.values()) else None
    made = {}
    for focal, ratios in wanted.items():
        ordered = [r for r in SIZES if r in ratios]
        if picture is None:
            made[focal] = [Crop(r, path, *_stored_size(path)) for r in ordered for path in [target_dir / crop_name(sha256, focal, r)]]
        else:
            made[focal] = write_crops(picture, target_dir, ordered, focal, lambda r, f=focal: crop_name(sha256, f, r), reuse=True)
    return made
