"""Public wall throughput with 1,000,000 posts stored (SQLite).

Figures: `wall_page_rps` – requests per second of `GET /wall/siegen` with 100 concurrent
clients (httpx, keep-alive) on 127.0.0.1 against uvicorn in its own process; baseline: the
same server sending a static file of the same size (Starlette `StaticFiles`, same middleware),
measured in the same run. `wall_page_p95_ms` – the p95 latency of those wall requests, against
the static file's p95. The wall is rendered at most once per `CACHE_TTL` seconds (as in
production); every request still goes through routing, headers and the ETag check.

The database is the queue bench's (built with raw executemany, keyed by schema head and size),
copied once and given one picture per post (20 stored pictures shared by all posts) so each
wall card carries a srcset. BENCH_WALL_N changes the size, BENCH_WALL_SECONDS the duration.
"""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing
import os
import shutil
import socket
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from figures import figure

N = int(os.environ.get("BENCH_WALL_N", "1000000"))
SECONDS = float(os.environ.get("BENCH_WALL_SECONDS", "8"))
CLIENTS = 100
PICTURES = 20


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database(home: Path) -> Path:
    """The 1M-post queue database, copied and given pictures (kept under /tmp for reruns)."""
    from bench_queue_page import database as queue_database
    from campaign_worker.media.store import MediaStore
    from PIL import Image

    source = queue_database(N)
    path = source.with_name(source.stem.replace("cw-bench-queue", "cw-bench-wall") + ".sqlite3")
    media = Path(str(path) + ".media")
    if not path.exists():
        started = time.perf_counter()
        partial = path.with_suffix(".partial")
        shutil.copyfile(source, partial)
        store = MediaStore(media)
        connection = sqlite3.connect(partial)
        connection.execute("PRAGMA synchronous=OFF")
        shas = []
        for i in range(PICTURES):
            out = io.BytesIO()
            Image.new("RGB", (1440, 1080), (20 + i * 10, 120, 200 - i * 5)).save(out, "JPEG", quality=85)
            stored = store.store_bytes(out.getvalue())
            shas.append(stored.sha256)
            row = stored.as_row()
            connection.execute("INSERT OR IGNORE INTO media (sha256, status, mime, width, height, bytes, path, thumb_path, phash, created_at) "
                               "VALUES (?,?,?,?,?,?,?,?,?, '2026-01-01 00:00:00.000000')",
                               [row[k] for k in ("sha256", "status", "mime", "width", "height", "bytes", "path", "thumb_path", "phash")])
        with connection:
            connection.executemany("INSERT INTO post_media (post_id, position, kind, media_sha256) VALUES (?, 0, 'image', ?)",
                                   ((i, shas[i % PICTURES]) for i in range(1, N + 1)))
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.close()
        partial.rename(path)
        print(f"added {N:,} post pictures in {time.perf_counter() - started:.1f} s → {path}")
    home_media = home / "data" / "media"
    home_media.parent.mkdir(parents=True, exist_ok=True)
    if not home_media.exists():
        home_media.symlink_to(media)
    return path


def _serve(home: str, url: str, static_dir: str, port: int) -> None:
    import uvicorn
    from fastapi.staticfiles import StaticFiles

    from campaign_worker.web import create_app
    from campaign_worker.workspace import Workspace

    app = create_app(Workspace.open(home, database_url=url), secret="bench")
    app.mount("/bench-static", StaticFiles(directory=static_dir), name="bench-static")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


async def _load(url: str, seconds: float) -> tuple[int, list[float]]:
    """100 keep-alive HTTP/1.1 clients on raw asyncio streams (a Python HTTP library would be the bottleneck)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    request = f"GET {parts.path}{'?' + parts.query if parts.query else ''} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode()
    latencies: list[float] = []
    stop = time.perf_counter() + seconds

    async def client():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200"), head[:40]
                length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
                await reader.readexactly(length)
                latencies.append((time.perf_counter() - started) * 1000)
        finally:
            writer.close()

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return len(latencies), latencies


def measure(url: str) -> tuple[float, float]:
    asyncio.run(_load(url, 1.0))  # warm up
    started = time.perf_counter()
    count, latencies = asyncio.run(_load(url, SECONDS))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return count / elapsed, ordered[int(0.95 * (len(ordered) - 1))]


def main() -> dict:
    import httpx

    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        campaigns = home / "config" / "campaigns"
        campaigns.mkdir(parents=True)
        shipped = (Path(__file__).resolve().parent.parent / "config" / "campaigns" / "siegen.toml").read_text(encoding="utf-8")
        (campaigns / "siegen.toml").write_text(shipped.replace('policy = "rights_cleared"', 'policy = "all"'), encoding="utf-8")
        path = database(home)
        port = _free_port()
        static_dir = Path(folder) / "static"
        static_dir.mkdir()
        process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(str(home), f"sqlite:///{path}", str(static_dir), port), daemon=True)
        process.start()
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                try:
                    first = httpx.get(base + "/wall/siegen", timeout=60)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            assert first.status_code == 200 and first.text.count("<article") == 60, first.status_code
            (static_dir / "wall.html").write_bytes(first.content)
            print(f"wall page: {len(first.content):,} bytes, 60 posts of {N:,}")
            wall_rps, wall_p95 = measure(base + "/wall/siegen")
            static_rps, static_p95 = measure(base + "/bench-static/wall.html")
            # The uncached cost: the first request of views not rendered yet (as after CACHE_TTL).
            cold = []
            for view in ("", "/fachkraefte", "/azubis", "/familien"):
                started = time.perf_counter()
                httpx.get(base + f"/wall/siegen{view}?lang=en", timeout=60)
                cold.append((time.perf_counter() - started) * 1000)
        finally:
            process.terminate()
            process.join(10)
    print(f"wall page    {wall_rps:8.0f} req/s   p95 {wall_p95:7.1f} ms")
    print(f"static file  {static_rps:8.0f} req/s   p95 {static_p95:7.1f} ms")
    print(f"first request of a view (rendered, not cached): median {statistics.median(cold):.1f} ms, max {max(cold):.1f} ms")
    return {
        "wall_page_rps": figure(wall_rps, "req/s", static_rps, clients=CLIENTS, posts=N),
        "wall_page_p95_ms": figure(wall_p95, "ms", static_p95, clients=CLIENTS, posts=N),
    }


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
