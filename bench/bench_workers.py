"""Scale-out throughput: posts per minute through collect → moderate → drafts with 1, 2 and 4 workers.

A home with BENCH_WORKER_CAMPAIGNS (default 50) campaigns, each with a memory source whose every
page (10 posts) takes 200 ms, as a platform's answer would; every source has its own session,
so nothing serialises them but the workers. One collect slot fans out into one job per
campaign; moderation (auto-approve) and drafts follow as chained jobs. A run ends when every
post has its draft.

Figures (PostgreSQL on 127.0.0.1, each worker process with concurrency 2):
- `workers_posts_per_min_{1,2,4}`: posts with drafts per minute; baseline = the 1-worker figure,
  so the ratio is the scaling against one worker (a 2-core machine bounds it).
- `queue_overhead_per_job_ms`: defer plus run of an empty procrastinate task, per job, one
  worker; baseline = a bare `SELECT 1` round trip on a psycopg connection.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from figures import figure

PG_ADMIN = os.environ.get("CAMPAIGN_WORKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CAMPAIGNS = int(os.environ.get("BENCH_WORKER_CAMPAIGNS", "50"))
POSTS = int(os.environ.get("BENCH_WORKER_POSTS", "20"))
CLI = [sys.executable, "-c", "from campaign_worker.cli import run; run()"]



def _database():
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    return admin, name, admin.url.set(database=name).render_as_string(hide_password=False)


def _drop(admin, name: str) -> None:
    from sqlalchemy import text

    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _home(root: Path) -> Path:
    from campaign_worker.sources.memory import generated_campaign

    home = root / "home"
    (home / "config" / "campaigns").mkdir(parents=True)
    (home / "jobs").mkdir()
    for n in range(CAMPAIGNS):
        (home / "config" / "campaigns" / f"b{n:03d}.toml").write_text(
            generated_campaign(f"Bench {n}", f"bench{n}", posts=POSTS, latency_ms=200, session=f"account_{n}"), encoding="utf-8")
    (home / "jobs" / "collect.toml").write_text(
        'task = "collect"\njitter_seconds = 0\n[trigger]\ntype = "interval"\nhours = 1\n', encoding="utf-8")
    (home / "config" / "worker.toml").write_text("[workers]\ntick_seconds = 1\n[metrics]\nenabled = false\n", encoding="utf-8")
    return home


def _count(url: str, sql: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def posts_per_minute(workers: int) -> float:
    admin, name, url = _database()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            home = _home(Path(tmp))
            env = {**os.environ, "CAMPAIGN_WORKER_DATABASE_URL": url, "CAMPAIGN_WORKER_HOME": str(home)}
            subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
            expected = CAMPAIGNS * POSTS
            started = time.monotonic()
            processes = [subprocess.Popen([*CLI, "worker", "--concurrency", "2"], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
            try:
                deadline = started + 600
                while _count(url, "SELECT count(*) FROM draft") < expected:
                    if time.monotonic() > deadline:
                        raise RuntimeError("workers did not finish within 10 minutes")
                    time.sleep(0.25)
                elapsed = time.monotonic() - started
            finally:
                for process in processes:
                    process.send_signal(signal.SIGTERM)
                for process in processes:
                    process.wait(timeout=60)
        return expected / elapsed * 60
    finally:
        _drop(admin, name)


def queue_overhead_ms(jobs: int = 300) -> tuple[float, float]:
    import psycopg
    import procrastinate

    admin, name, url = _database()
    try:
        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute(procrastinate.schema.SchemaManager.get_schema())
            times = []
            for _ in range(jobs):
                t = time.perf_counter()
                connection.execute("SELECT 1").fetchone()
                times.append(time.perf_counter() - t)
            select_one = statistics.median(times) * 1000
        per_job = asyncio.run(_noop_jobs(conninfo, jobs))
        return per_job, select_one
    finally:
        _drop(admin, name)


async def _noop_jobs(conninfo: str, jobs: int) -> float:
    """Milliseconds per job to defer and run `jobs` empty tasks with one worker."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="bench.noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        started = time.perf_counter()
        for _ in range(jobs):
            await noop.defer_async()
        await app.run_worker_async(wait=False, concurrency=1, install_signal_handlers=False, listen_notify=False,
                                   fetch_job_polling_interval=0.01)
        return (time.perf_counter() - started) / jobs * 1000


def main() -> dict:
    rates = {n: posts_per_minute(n) for n in (1, 2, 4)}
    figures = {
        f"workers_posts_per_min_{n}": figure(rate, "posts/min", rates[1], campaigns=CAMPAIGNS, posts=CAMPAIGNS * POSTS)
        for n, rate in rates.items()
    }
    per_job, select_one = queue_overhead_ms()
    figures["queue_overhead_per_job_ms"] = figure(per_job, "ms", select_one)
    return figures


if __name__ == "__main__":
    for key, value in main().items():
        print(key, value)
