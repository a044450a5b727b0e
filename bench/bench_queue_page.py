"""Queue page speed with 1,000,000 posts stored (SQLite).

Figure `queue_page_p95_ms`: server time of `GET /queue` for a moderator (TestClient, incl.
session check, SQL, thumbnails, counts per state (cached up to 15 s, see `CountsCache`) and Jinja2
rendering of 30 cards), p95 over
repeated requests. Baseline, measured in the same run: the bare SQL query for the same page
(raw `sqlite3`, same filter, order and limit). p50s of further views (next page, filters,
counts) are printed.

The database is generated with raw `executemany` (post + campaign_post) into a file under
/tmp, keyed by schema head and size, so reruns skip the build. BENCH_QUEUE_N changes the size.
"""

from __future__ import annotations

import json
import os
import random
import re
import sqlite3
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from figures import figure

N = int(os.environ.get("BENCH_QUEUE_N", "1000000"))
REPEAT = int(os.environ.get("BENCH_QUEUE_REPEAT", "200"))
CAMPAIGN = "siegen"
PASSWORD = "bench-passwort-123"
STATE_SHARES = [("approved", 0.62), ("rejected", 0.2), ("pending", 0.1), ("later", 0.05), ("new", 0.03)]
START = datetime(2024, 1, 1, tzinfo=timezone.utc)
PAGE_SQL = """
SELECT cp.post_id, cp.campaign, cp.state, cp.rule, cp.reason_de, cp.reason_en, cp.evidence, cp.audiences,
       cp.decided_by, cp.human, cp.posted_at, cp.updated_at, p.platform, p.external_id, p.author_username,
       p.caption, p.hashtags, p.permalink, p.media_type, p.source_id
FROM campaign_post AS cp JOIN post AS p ON p.id = cp.post_id
WHERE cp.campaign = ? AND cp.state = ?
ORDER BY cp.posted_at DESC, cp.post_id DESC LIMIT ?
"""


def _stamp(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DateTime type stores and compares.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _rows(n: int):
    rng = random.Random(7)
    states = [s for s, _ in STATE_SHARES]
    weights = [w for _, w in STATE_SHARES]
    audiences = ['["fachkraefte"]', '["azubis"]', '["familien"]', '["familien","fachkraefte"]', "[]"]
    now = _stamp(datetime.now(timezone.utc))
    for i in range(1, n + 1):
        posted = _stamp(START + timedelta(seconds=i * 60 + rng.randrange(60)))
        state = rng.choices(states, weights)[0]
        caption = f"Sonntag in Siegen #meinherztraegtkrone #siegerland Beitrag {i} – Wandern, Arbeit & Familie"
        post = ("instagram", f"B{i:09d}", "archiv", f"autor_{i % 5000}", None, caption,
                '["meinherztraegtkrone","siegerland"]', posted, f"https://www.instagram.com/p/B{i:09d}/", "image", None, None, "{}", now)
        rule = "new_author" if state != "new" else None
        membership = (CAMPAIGN, i, state, f"rule:{rule}" if rule else None, 0, rule, "Neuer Autor: erst prüfen" if rule else None,
                      "New author: check first" if rule else None, '["autor"]' if rule else "[]", audiences[i % 5], posted, now, now)
        yield post, membership


def build(path: Path, n: int) -> None:
    """A migrated database with `n` posts in one campaign, written with raw executemany."""
    from campaign_worker.store.db import make_engine
    from campaign_worker.store.migrate import upgrade
    from campaign_worker.web.users import add_user

    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{partial}")
    upgrade(engine)
    add_user(engine, "bench", PASSWORD, "moderator")
    engine.dispose()
    connection = sqlite3.connect(partial)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=OFF")
    connection.execute("PRAGMA cache_size=-200000")
    posts_sql = ("INSERT INTO post (platform, external_id, source_id, author_username, author_id, caption, hashtags, posted_at, "
                 "permalink, media_type, like_count, comment_count, raw, collected_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    members_sql = ("INSERT INTO campaign_post (campaign, post_id, state, decided_by, human, rule, reason_de, reason_en, evidence, "
                   "audiences, posted_at, added_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)")
    rows = _rows(n)
    with connection:
        while True:
            chunk = [next(rows, None) for _ in range(50_000)]
            chunk = [c for c in chunk if c is not None]
            if not chunk:
                break
            connection.executemany(posts_sql, [p for p, _ in chunk])
            connection.executemany(members_sql, [m for _, m in chunk])
    connection.execute("ANALYZE")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    partial.rename(path)


def database(n: int) -> Path:
    from campaign_worker.store.migrate import head_revision

    path = Path(tempfile.gettempdir()) / f"cw-bench-queue-{head_revision()}-{n}.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        build(path, n)
        print(f"built {n:,} posts in {time.perf_counter() - started:.1f} s → {path}")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def timed(call, repeat: int) -> list[float]:
    for _ in range(5):
        call()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def query_plan(path: Path) -> str:
    connection = sqlite3.connect(path)
    plan = " | ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + PAGE_SQL, (CAMPAIGN, "pending", 31)))
    connection.close()
    return plan


def main() -> dict:
    from fastapi.testclient import TestClient

    from campaign_worker.moderation import queue
    from campaign_worker.home import Home
    from campaign_worker.web import create_app
    from campaign_worker.workspace import Workspace

    path = database(N)
    plan = query_plan(path)
    print("plan:", plan)
    if "ix_campaign_post_queue" not in plan or "TEMP B-TREE" in plan:
        print("WARNING: the queue query does not walk ix_campaign_post_queue in order")

    raw = sqlite3.connect(path)
    baseline = timed(lambda: raw.execute(PAGE_SQL, (CAMPAIGN, "pending", 31)).fetchall(), REPEAT)
    counts_sql = timed(lambda: raw.execute("SELECT campaign, state, count(*) FROM campaign_post WHERE campaign = ? GROUP BY campaign, state",
                                           (CAMPAIGN,)).fetchall(), 20)

    with tempfile.TemporaryDirectory() as folder:
        home = Home(Path(folder) / "home")
        workspace = Workspace.open(home, database_url=f"sqlite:///{path}")
        client = TestClient(create_app(workspace, secret="bench"))
        token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").text).group(1)
        response = client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303, response.text
        page = client.get(f"/queue?campaign={CAMPAIGN}")
        assert page.status_code == 200 and page.text.count("<article") == 30, page.status_code
        next_url = re.search(r'<a href="([^"]+)" rel="next"', page.text).group(1).replace("&amp;", "&")

        value = timed(lambda: client.get(f"/queue?campaign={CAMPAIGN}"), REPEAT)
        extra = {
            "page 2 (keyset)": timed(lambda: client.get(next_url), 50),
            "audience=azubis": timed(lambda: client.get(f"/queue?campaign={CAMPAIGN}&audience=azubis"), 50),
            "hashtag=siegerland, state=all": timed(lambda: client.get(f"/queue?campaign={CAMPAIGN}&state=all&hashtag=siegerland"), 20),
            "text search (rare)": timed(lambda: client.get(f"/queue?campaign={CAMPAIGN}&q=Beitrag%20999999"), 5),
            "API page": timed(lambda: client.get(f"/api/queue?campaign={CAMPAIGN}"), 50),
        }
        with workspace.engine.connect() as connection:
            extra["counts per state (queue.counts)"] = timed(lambda: queue.counts(connection, CAMPAIGN), 20)
        uncached = TestClient(create_app(workspace, secret="bench", counts_ttl=0))
        uncached.cookies = client.cookies
        extra["page, counting every time"] = timed(lambda: uncached.get(f"/queue?campaign={CAMPAIGN}"), 30)
        workspace.close()
    raw.close()

    print(f"queue page      p50 {statistics.median(value):7.2f} ms   p95 {percentile(value, 0.95):7.2f} ms")
    print(f"bare SQL        p50 {statistics.median(baseline):7.2f} ms   p95 {percentile(baseline, 0.95):7.2f} ms")
    print(f"counts, raw SQL p50 {statistics.median(counts_sql):7.2f} ms")
    for name, spent in extra.items():
        print(f"{name:32s} p50 {statistics.median(spent):8.2f} ms")
    p95, base = percentile(value, 0.95), percentile(baseline, 0.95)
    return {"queue_page_p95_ms": figure(p95, "ms", base)}


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
