"""Privacy costs: the suppression check on every import, and erasing one person.

Figures, each with a baseline measured in the same run on the same data:
- `suppression_check_posts_per_s`: `store.suppression.without_suppressed` over N posts with
  1,000 people on the list; baseline: `ingest.store_posts` of the same posts (the step the check
  precedes), so the ratio says how many times faster the check is than storing;
- `erase_one_person_s`: `privacy.erase.erase_author` of one person with 50 posts among N stored
  posts (plan, rows, mention scan, suppression, audit); baseline: the bare SQL deletes of that
  person's rows in one transaction (no pictures, no scan, no audit).
N defaults to 20,000; set BENCH_PRIVACY_N to change it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from campaign_worker.home import Home
from campaign_worker.post import make_post
from campaign_worker.privacy.erase import erase_author
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.suppression import privacy_key, suppress, without_suppressed
from campaign_worker.workspace import Workspace
from figures import figure

N = int(os.environ.get("BENCH_PRIVACY_N", "20000"))
START = datetime(2026, 10, 5, tzinfo=timezone.utc)


def posts(n: int, prefix: str = "B"):
    return [make_post(platform="instagram", external_id=f"{prefix}{i:08d}", posted_at=START + timedelta(minutes=i),
                      caption=f"Abendlicht am Oberen Schloss, Beitrag {i} #meinherztraegtkrone",
                      author_username="erika.muster" if i % (n // 50) == 0 else f"autor_{i % 5000}") for i in range(n)]


def open_ws(folder: Path) -> Workspace:
    return Workspace.open(Home(folder))


def main() -> dict:
    batch = posts(N)
    with tempfile.TemporaryDirectory() as tmp:
        ws = open_ws(Path(tmp) / "a")
        key = privacy_key(ws.home)
        with transaction(ws.engine) as connection:
            for i in range(1000):
                suppress(connection, key, f"gesperrt_{i}")
        started = time.perf_counter()
        kept = without_suppressed(ws.engine, ws.home, batch)
        check = time.perf_counter() - started
        assert len(kept) == N
        started = time.perf_counter()
        store_posts(ws.engine, "siegen", "bench", batch, batch=2000)
        store = time.perf_counter() - started

        started = time.perf_counter()
        result = erase_author(ws, "erika.muster")
        erase = time.perf_counter() - started
        assert result.counts["posts_removed"] == 50, result.counts
        ws.close()

        ws = open_ws(Path(tmp) / "b")
        store_posts(ws.engine, "siegen", "bench", batch, batch=2000)
        database = ws.engine.url.database
        ws.close()
        connection = sqlite3.connect(database)
        connection.execute("PRAGMA foreign_keys = ON")
        started = time.perf_counter()
        with connection:
            ids = [r[0] for r in connection.execute("SELECT id FROM post WHERE lower(author_username) = ?", ("erika.muster",))]
            marks = ",".join("?" * len(ids))
            for table in ("draft", "moderation_event", "campaign_post", "post_media"):
                connection.execute(f"DELETE FROM {table} WHERE post_id IN ({marks})", ids)
            connection.execute(f"DELETE FROM post WHERE id IN ({marks})", ids)
        bare = time.perf_counter() - started
        connection.close()
        assert len(ids) == 50

    print(f"   {N} posts: suppression check {check * 1000:.0f} ms, store {store * 1000:.0f} ms; "
          f"erasure {erase * 1000:.0f} ms, bare deletes {bare * 1000:.0f} ms")
    return {
        "suppression_check_posts_per_s": figure(N / check, "posts/s", N / store),
        "erase_one_person_s": figure(erase, "s", bare),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
