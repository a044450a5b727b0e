"""Weekly digest: render time and peak memory for a week with 5,000 posts, and for a page with a
gallery of 1,000 pictures.

Figures (each render is `publish.digest.render_week`: all queries, the chart, the page, the
text file, the digest row and the index; best of BENCH_DIGEST_REPEAT runs):
- `digest_week_5000_render_s`: the week with 5,000 posts (plus 3 × 1,000 in the weeks before,
  for the trend). Baseline: the bare SQL read of that week's posts (raw `sqlite3`).
- `digest_week_5000_peak_mb`: peak Python memory (tracemalloc) of that render. Baseline: the
  peak of fetching the same rows with SQLAlchemy Core.
- `digest_gallery_1000_render_s` / `_peak_mb`: the same week with `digest.gallery = 1000`, so
  1,000 thumbnails are embedded. Baseline: reading those 1,000 thumbnails and base64-encoding
  them (the least any self-contained page must do), its time and its peak.
"""

from __future__ import annotations

import base64
import io
import os
import random
import sqlite3
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from figures import figure
from PIL import Image, ImageDraw
from sqlalchemy import select

from campaign_worker.home import Home
from campaign_worker.post import MediaRef, make_post
from campaign_worker.publish.digest import render_week
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import attach_media, store_posts
from campaign_worker.store.models import campaign_post_table as cp, post_table as post
from campaign_worker.workspace import Workspace

WEEK_POSTS = int(os.environ.get("BENCH_DIGEST_POSTS", "5000"))
PICTURES = int(os.environ.get("BENCH_DIGEST_PICTURES", "1000"))
REPEAT = int(os.environ.get("BENCH_DIGEST_REPEAT", "3"))
MONDAY = date(2026, 10, 5)
START = datetime(2026, 10, 4, 22, 0, tzinfo=timezone.utc)  # Monday 00:00 in Berlin
STATES = ["approved", "rejected", "pending", "later", "new"]
WEIGHTS = [0.55, 0.2, 0.15, 0.05, 0.05]
AUTHORS = [f"autor_{i}" for i in range(1500)] + ["awo_siegen", "datasec_siegen", "wahlgroup"]


def _posts(rng: random.Random, first: int, count: int, start: datetime):
    for i in range(first, first + count):
        tags = " ".join(rng.sample(["#siegerland", "#ausbildung", "#familie", "#karriere", "#wandern", "#heimat"], 2))
        yield make_post(platform="instagram", external_id=f"B{i:07d}", author_username=rng.choice(AUTHORS),
                        posted_at=start + timedelta(seconds=rng.randrange(7 * 86400)),
                        caption=f"Sonntag in Siegen #meinherztraegtkrone {tags} Beitrag {i} – Arbeit, Familie & Natur",
                        like_count=rng.randrange(500), comment_count=rng.randrange(40),
                        permalink=f"https://www.instagram.com/p/B{i:07d}/",
                        media=[MediaRef(0, url=f"https://scontent.cdninstagram.com/B{i:07d}.jpg")])


def _jpeg(i: int) -> bytes:
    image = Image.new("RGB", (480, 480), ((i * 37) % 256, (i * 91) % 256, (i * 53) % 256))
    ImageDraw.Draw(image).text((20, 20 + i % 400), f"Bild {i}", fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def build(root: Path) -> Workspace:
    home = Home(root)
    home.ensure_dirs()
    ws = Workspace.open(home)
    rng = random.Random(41)
    number = 1
    for weeks_back, count in ((3, 1000), (2, 1000), (1, 1000), (0, WEEK_POSTS)):
        ids = store_posts(ws.engine, "siegen", "bench", list(_posts(rng, number, count, START - timedelta(days=7 * weeks_back))))
        number += count
        by_state: dict[str, list[int]] = {state: [] for state in STATES}
        for pid in ids.post_ids.values():
            by_state[rng.choices(STATES, WEIGHTS)[0]].append(pid)
        with transaction(ws.engine) as connection:
            for state, chosen in by_state.items():
                if chosen:
                    connection.execute(cp.update().where(cp.c.post_id.in_(chosen)).values(
                        state=state, rule="spam.emoji" if state == "rejected" else None, audiences=["fachkraefte"]))
    with ws.engine.connect() as connection:
        approved = [pid for (pid,) in connection.execute(
            select(cp.c.post_id).where(cp.c.state == "approved", cp.c.posted_at >= START).order_by(cp.c.post_id).limit(PICTURES))]
    ws.thumbs = []
    with transaction(ws.engine) as connection:
        for i, post_id in enumerate(approved):
            stored = ws.media.store_bytes(_jpeg(i))
            attach_media(connection, post_id, 0, stored.as_row())
            ws.thumbs.append(ws.media.path_for(stored.sha256, thumb=True))
    return ws


def _best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def _peak_mb(fn) -> float:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-digest-") as folder:
        ws = build(Path(folder))
        siegen = ws.campaign("siegen")
        end = START + timedelta(days=7)
        database = ws.home.database_url.removeprefix("sqlite:///")

        def bare_sql():
            with sqlite3.connect(database) as connection:
                connection.execute(
                    "SELECT cp.post_id, cp.posted_at, cp.state, cp.rule, cp.audiences, p.author_username, p.caption, p.hashtags, "
                    "p.like_count, p.comment_count, p.permalink FROM campaign_post cp JOIN post p ON p.id = cp.post_id "
                    "WHERE cp.campaign = ? AND cp.posted_at >= ? AND cp.posted_at < ?",
                    ("siegen", START.strftime("%Y-%m-%d %H:%M:%S"), end.strftime("%Y-%m-%d %H:%M:%S"))).fetchall()

        def core_rows():
            with ws.engine.connect() as connection:
                connection.execute(select(cp, post.c.caption, post.c.hashtags).join(post, post.c.id == cp.c.post_id)
                                   .where(cp.c.campaign == "siegen", cp.c.posted_at >= START, cp.c.posted_at < end)).all()

        def week():
            return render_week(ws, siegen, MONDAY)

        week_s, sql_s = _best(week), _best(bare_sql)
        week_peak, core_peak = _peak_mb(week), _peak_mb(core_rows)
        html_mb = week().html_path.stat().st_size / 1e6

        gallery = siegen.model_copy(update={"digest": siegen.digest.model_copy(update={"gallery": 1000})})
        thumbs = ws.thumbs

        def gallery_page():
            return render_week(ws, gallery, MONDAY)

        def embed_thumbs():
            return [base64.b64encode(path.read_bytes()) for path in thumbs[:PICTURES]]

        gallery_s, embed_s = _best(gallery_page), _best(embed_thumbs)
        gallery_peak, embed_peak = _peak_mb(gallery_page), _peak_mb(embed_thumbs)
        gallery_html_mb = gallery_page().html_path.stat().st_size / 1e6
        ws.close()
    print(f"   week: {WEEK_POSTS} posts {week_s:.3f} s (bare SQL {sql_s:.4f} s), peak {week_peak:.1f} MB, page {html_mb:.2f} MB")
    print(f"   gallery: {PICTURES} pictures {gallery_s:.3f} s (read+base64 {embed_s:.4f} s), peak {gallery_peak:.1f} MB, "
          f"page {gallery_html_mb:.2f} MB")
    return {
        "digest_week_5000_render_s": figure(week_s, "s", sql_s, page_mb=round(html_mb, 2)),
        "digest_week_5000_peak_mb": figure(week_peak, "MB", core_peak),
        "digest_gallery_1000_render_s": figure(gallery_s, "s", embed_s, page_mb=round(gallery_html_mb, 2)),
        "digest_gallery_1000_peak_mb": figure(gallery_peak, "MB", embed_peak),
    }
