"""Speed of the media store: pictures checked, sanitised, thumbnailed, hashed and written per second.

Baseline: the same pictures merely opened and re-saved as JPEG by Pillow, without any checks,
orientation, colour handling, thumbnail, perceptual hash or file writes.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign_worker.media.store import MediaStore  # noqa: E402
from figures import figure

IMAGES = 200
ROUNDS = 3
SIZE = (640, 480)


def _picture(seed: int) -> bytes:
    """A photo-like 640 px picture; every tenth one a PNG with transparency, the rest JPEG with EXIF."""
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(SIZE, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(im)
    for _ in range(5):
        x, y, r = int(rng.integers(0, SIZE[0])), int(rng.integers(0, SIZE[1])), int(rng.integers(20, 120))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    grain = rng.integers(-8, 9, (SIZE[1], SIZE[0], 3), dtype=np.int16)  # so JPEGs have a realistic size
    im = Image.fromarray(np.clip(np.asarray(im, dtype=np.int16) + grain, 0, 255).astype(np.uint8))
    out = io.BytesIO()
    if seed % 10 == 0:
        im.putalpha(200)
        im.save(out, "PNG", compress_level=1)
    else:
        exif = Image.Exif()
        exif[0x0112] = 6 if seed % 3 == 0 else 1
        im.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def _baseline(pictures: list[bytes]) -> float:
    start = time.perf_counter()
    for data in pictures:
        with Image.open(io.BytesIO(data)) as im:
            im.convert("RGB").save(io.BytesIO(), "JPEG", quality=88)
    return len(pictures) / (time.perf_counter() - start)


def _store(pictures: list[bytes]) -> float:
    with tempfile.TemporaryDirectory() as folder:
        store = MediaStore(Path(folder))
        start = time.perf_counter()
        for data in pictures:
            if not store.store_bytes(data).ok:
                raise RuntimeError("a benchmark picture was rejected")
        return len(pictures) / (time.perf_counter() - start)


def main() -> dict:
    pictures = [_picture(seed) for seed in range(IMAGES)]
    _store(pictures[:5])  # warm up plugins, scipy and the colour engine
    # Best of a few interleaved rounds: the machine is shared, and the best round is the least disturbed.
    baseline = value = 0.0
    for _ in range(ROUNDS):
        baseline = max(baseline, _baseline(pictures))
        value = max(value, _store(pictures))
    return {
        "media_images_per_s": figure(value, "images/s", baseline)
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
