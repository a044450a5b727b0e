"""Drafts on the demo home: distinct-text share of a week's drafts, and drafts per second with crops.

- `drafts_distinct_text_share_week`: of the drafts of the busiest week (by the post's date),
  the share of distinct texts (hashtag line removed). Baseline: the same for
  `--audiences all` in the same run (every audience a post speaks to).
- `drafts_per_s_with_crops`: drafts composed with their crops (`drafts compose` makes them: one
  decode per picture, reduced-size JPEG decoding, shared files) per second on a fresh demo home.
  Baseline: composing alone (`--no-crops`) in the same run.
- `crops_posts_per_s_12mp`: posts per second whose crops for all three channels are made from a
  12-megapixel JPEG (a camera original, as archives hold them). Baseline: the per-draft way
  used before (one decode per draft, one crop and resample per ratio, optimised JPEG).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import figure  # noqa: E402

from campaign_worker.publish.drafts import compose  # noqa: E402
from campaign_worker.store.db import reading  # noqa: E402
from campaign_worker.store.models import campaign_post_table as cp, draft_table as draft  # noqa: E402
from campaign_worker.workspace import Workspace  # noqa: E402
from sqlalchemy import delete, select  # noqa: E402

CLI = str(Path(sys.executable).parent / "campaign-worker")


def week_share(ws: Workspace) -> tuple[float, int]:
    with reading(ws.engine) as connection:
        rows = connection.execute(select(draft.c.text, cp.c.posted_at).join(
            cp, (cp.c.post_id == draft.c.post_id) & (cp.c.campaign == draft.c.campaign))).all()
    weeks = Counter(r.posted_at.isocalendar()[:2] for r in rows)
    busiest = weeks.most_common(1)[0][0]
    week = [r.text for r in rows if r.posted_at.isocalendar()[:2] == busiest]
    texts = [t.rsplit("\n\n", 1)[0] for t in week]
    openings = {t.split("\n", 1)[0] for t in week}
    print(f"   busiest week: {len(week)} drafts, {len(openings)} different opening lines")
    return len(set(texts)) / len(texts), len(texts)


def large_picture_crops(folder: Path, posts: int = 3) -> tuple[float, float]:
    """Posts per second for a 12 MP picture's crops on three channels: (now, the per-draft way before)."""
    import io

    from PIL import Image, ImageFilter, ImageOps

    from campaign_worker.publish.crops import CHANNEL_CROPS, SIZES, crop_box, make_picture_crops

    source = folder / "camera.jpg"
    Image.effect_noise((4000, 3000), 40).convert("RGB").filter(ImageFilter.GaussianBlur(2)).save(source, "JPEG", quality=90)
    started = time.perf_counter()
    for _ in range(posts):
        for channel in ("instagram", "facebook", "linkedin"):
            with Image.open(source) as opened:
                picture = ImageOps.exif_transpose(opened).convert("RGB")
                for ratio in CHANNEL_CROPS[channel]:
                    piece = picture.crop(crop_box(picture.width, picture.height, SIZES[ratio])).resize(SIZES[ratio], Image.Resampling.LANCZOS)
                    piece.save(io.BytesIO(), "JPEG", quality=88, optimize=True)
    before = posts / (time.perf_counter() - started)
    started = time.perf_counter()
    for n in range(posts):
        make_picture_crops(source, folder / "crops", f"{n:016d}" + "0" * 48, {(0.5, 0.5): {"4x5", "1x1", "9x16", "1.91x1"}})
    return posts / (time.perf_counter() - started), before


def main() -> dict:
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        subprocess.run([CLI, "--home", str(home), "demo"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ws = Workspace.open(home)
        try:
            share, n = week_share(ws)
            with ws.engine.begin() as connection:
                connection.execute(delete(draft))
            started = time.perf_counter()
            composed = compose(ws, ["siegen"], crops=False)["created"]
            compose_s = time.perf_counter() - started
            with ws.engine.begin() as connection:
                connection.execute(delete(draft))
            shutil.rmtree(home / "data" / "crops", ignore_errors=True)
            started = time.perf_counter()
            result = compose(ws, ["siegen"])
            total_s = time.perf_counter() - started
            cropped = result["cropped"]
            compose(ws, ["siegen"], audiences="all")
            all_share, all_n = week_share(ws)
        finally:
            ws.close()
        shutil.rmtree(home / "data" / "crops", ignore_errors=True)
    print(f"   distinct share {share:.2f} of {n} drafts (all audiences: {all_share:.2f} of {all_n})")
    print(f"   {composed} drafts composed in {compose_s:.2f} s without crops; {result['created']} composed with "
          f"{cropped} cropped in {total_s:.2f} s")
    figures["drafts_distinct_text_share_week"] = figure(share, "share", all_share, drafts=n, baseline_drafts=all_n)
    figures["drafts_per_s_with_crops"] = figure(result["created"] / total_s, "drafts/s", composed / compose_s)
    with tempfile.TemporaryDirectory() as tmp:
        now, before = large_picture_crops(Path(tmp))
    print(f"   12 MP picture, three channels: {now:.2f} posts/s (per-draft way before: {before:.2f})")
    figures["crops_posts_per_s_12mp"] = figure(now, "posts/s", before)
    return figures


if __name__ == "__main__":
    main()
