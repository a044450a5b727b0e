"""Ingest throughput: N synthetic instaloader posts through parse → moderate → store.

Baseline, measured in the same run: raw `sqlite3.executemany` of the same post rows into a
table of the same shape, one transaction, including the `json.dumps` of each row's payload
(the fastest way SQLite can take them). Figures:
- `ingest_posts_per_s`: the whole path (parse, moderate, store with Core upserts);
- `store_posts_per_s`: the storage step alone (`ingest.store_posts`, incl. campaign membership).
N defaults to 100,000; set BENCH_INGEST_N to change it.
"""

from __future__ import annotations

import copy
import json
import lzma
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from campaign_worker.home import Home, defaults_root
from campaign_worker.store.ingest import post_row, store_posts
from campaign_worker.moderation.engine import Moderator
from campaign_worker.moderation.job import BATCH as JOB_BATCH
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.sources.archive import OfflineContext, parse_document
from campaign_worker.workspace import Workspace
from figures import figure

N = int(os.environ.get("BENCH_INGEST_N", "100000"))


def templates() -> list[dict]:
    folder = defaults_root() / "sample" / "meinherztraegtkrone"
    return [json.loads(lzma.decompress(p.read_bytes())) for p in sorted(folder.glob("*.json.xz"))]


def synthetic_documents(n: int) -> list[dict]:
    base = templates()
    documents = []
    for i in range(n):
        document = copy.deepcopy(base[i % len(base)])
        node = document["node"]
        node["shortcode"] = f"B{i:010d}"
        node["id"] = str(3_000_000_000_000_000 + i)
        node["taken_at_timestamp"] = 1_790_000_000 + i * 37
        documents.append(document)
    return documents


def raw_baseline(rows: list[dict], path: Path) -> float:
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    columns = list(rows[0])
    connection.execute(f"CREATE TABLE post (id INTEGER PRIMARY KEY, {', '.join(columns)}, UNIQUE(platform, external_id))")
    started = time.perf_counter()
    # Turning rows into SQL values (JSON, timestamps) is part of storing them, so it is timed too.
    values = [tuple(json.dumps(r[c]) if isinstance(r[c], (list, dict)) else (r[c].isoformat() if hasattr(r[c], "isoformat") else r[c])
                    for c in columns) for r in rows]
    with connection:
        connection.executemany(f"INSERT INTO post ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
    elapsed = time.perf_counter() - started
    connection.close()
    return len(rows) / elapsed


def main() -> dict:
    documents = synthetic_documents(N)
    with tempfile.TemporaryDirectory() as tmp:
        home = Home(Path(tmp) / "home")
        ws = Workspace.open(home)
        campaign = ws.campaign("siegen")
        context = OfflineContext()

        started = time.perf_counter()
        posts = [parse_document(d, context)[0] for d in documents]
        parsed = time.perf_counter()
        moderator = Moderator(campaign, home)
        candidates = [Candidate(p.key, p.caption, p.author_username, p.hashtags, p.posted_at, (), p.platform) for p in posts]
        for first in range(0, len(candidates), JOB_BATCH):  # as the moderation job hands them over
            moderator.evaluate_many(candidates[first : first + JOB_BATCH])
        moderated = time.perf_counter()
        result = store_posts(ws.engine, campaign.slug, "bench", posts, batch=2000)
        stored = time.perf_counter()
        assert result.posts_new == N, result
        ws.close()

        baseline = raw_baseline([post_row(p, "bench") for p in posts], Path(tmp) / "raw.sqlite3")

    total = stored - started
    print(f"   {N} posts: parse {parsed - started:.1f} s, moderate {moderated - parsed:.1f} s, store {stored - moderated:.1f} s")
    print(f"   pipeline {N / total:,.0f} posts/s, store alone {N / (stored - moderated):,.0f} posts/s, raw executemany {baseline:,.0f} rows/s")
    return {
        "ingest_posts_per_s": figure(N / total, "posts/s", baseline),
        "store_posts_per_s": figure(N / (stored - moderated), "posts/s", baseline),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
