"""Cropping a draft's picture to the sizes its channel needs, around a focal point.

Sizes (CONTEXT.md): Instagram feed 4:5 (1080×1350) and 1:1 (1080×1080), story 9:16
(1080×1920); Facebook and LinkedIn link posts 1.91:1 (1080×566) and 1:1. The crop keeps the
focal point (x, y in 0–1 of width and height; the centre by default) as central as the
picture allows, is scaled to the target size and saved as sRGB JPEG without metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SIZES: dict[str, tuple[int, int]] = {"4x5": (1080, 1350), "1x1": (1080, 1080), "1.91x1": (1080, 566), "9x16": (1080, 1920)}
CHANNEL_CROPS: dict[str, tuple[str, ...]] = {
    "instagram": ("4x5", "1x1", "9x16"),
    "facebook": ("1.91x1", "1x1"),
    "linkedin": ("1.91x1", "1x1"),
}


@dataclass(frozen=True)
class Crop:
    ratio: str
    path: Path
    width: int
    height: int


def crop_box(width: int, height: int, target: tuple[int, int], focal: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int, int, int]:
    """The largest box of the target's aspect ratio inside the picture, centred on the focal point."""
    ratio = target[0] / target[1]
    if width / height > ratio:
        box_w, box_h = round(height * ratio), height
    else:
        box_w, box_h = width, round(width / ratio)
    fx = min(max(focal[0], 0.0), 1.0) * width
    fy = min(max(focal[1], 0.0), 1.0) * height
    left = int(min(max(fx - box_w / 2, 0), width - box_w))
    top = int(min(max(fy - box_h / 2, 0), height - box_h))
    return left, top, left + box_w, top + box_h


def make_crops(source: Path, target_dir: Path, stem: str, channel: str, focal: tuple[float, float] = (0.5, 0.5)) -> list[Crop]:
    """Write the channel's crops of `source` as `<stem>-<ratio>.jpg` into `target_dir`."""
    from PIL import Image, ImageCms, ImageOps

    target_dir.mkdir(parents=True, exist_ok=True)
    crops = []
    with Image.open(source) as opened:
        picture = ImageOps.exif_transpose(opened)
        icc = picture.info.get("icc_profile")
        if icc:
            try:
                import io

                picture = ImageCms.profileToProfile(picture, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                                    ImageCms.createProfile("sRGB"), outputMode="RGB")
            except (ImageCms.PyCMSError, OSError):
                pass
        picture = picture.convert("RGB")
        for ratio in CHANNEL_CROPS[channel]:
            size = SIZES[ratio]
            piece = picture.crop(crop_box(picture.width, picture.height, size, focal)).resize(size, Image.Resampling.LANCZOS)
            path = target_dir / f"{stem}-{ratio}.jpg"
            tmp = path.with_suffix(".tmp")
            piece.save(tmp, "JPEG", quality=88, optimize=True, exif=b"", icc_profile=None)
            tmp.replace(path)
            crops.append(Crop(ratio, path, *size))
    return crops
