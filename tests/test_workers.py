"""Scale-out workers on PostgreSQL: real `campaign-worker worker` processes sharing one database.

Each test gets a database of its own and a home with two campaigns whose memory sources share
one platform session and answer slowly, so that the session lock, the slot ledger and the
recovery of a killed worker can be watched from procrastinate's own tables.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from campaign_worker.scheduler import ledger
from campaign_worker.sources.memory import generated_campaign
from campaign_worker.scheduler.jobs import load_jobs
from campaign_worker.scheduler.runner import JobRunner
from campaign_worker.config.worker import load_settings
from campaign_worker.workspace import Workspace

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

PG_ADMIN_URL = os.environ.get("CAMPAIGN_WORKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLI = [sys.executable, "-c", "from campaign_worker.cli import run; run()"]



@pytest.fixture
def worker_home(tmp_path: Path):
    """(home path, environment) with its own PostgreSQL database, migrated."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"cw_workers_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        if os.environ.get("CAMPAIGN_WORKER_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    home = tmp_path / "home"
    (home / "config" / "campaigns").mkdir(parents=True)
    (home / "jobs").mkdir()
    env = {**os.environ, "CAMPAIGN_WORKER_DATABASE_URL": url, "CAMPAIGN_WORKER_HOME": str(home)}
    yield home, env, url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def write_home(home: Path, *, posts: int, latency: int, every: str, stalled_after: int = 30) -> None:
    for slug in ("alpha", "beta"):
        (home / "config" / "campaigns" / f"{slug}.toml").write_text(
            generated_campaign(f"Test {slug}", f"tag{slug}", posts=posts, latency_ms=latency, session="shared_account"), encoding="utf-8")
    (home / "jobs" / "collect.toml").write_text(
        f'task = "collect"\ncampaigns = ["alpha", "beta"]\njitter_seconds = 0\n[trigger]\ntype = "interval"\n{every}\n',
        encoding="utf-8",
    )
    (home / "config" / "worker.toml").write_text(
        f"[workers]\ntick_seconds = 1\nheartbeat_seconds = 1\nstalled_after_seconds = {stalled_after}\n[metrics]\nenabled = false\n",
        encoding="utf-8",
    )


def migrate(env: dict) -> None:
    subprocess.run([*CLI, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)


def start_worker(env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w")
    return subprocess.Popen([*CLI, "worker", "--concurrency", "2"], env=env, stdout=handle, stderr=subprocess.STDOUT)


def stop(processes: list[subprocess.Popen]) -> list[int]:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    return [process.wait(timeout=60) for process in processes]


def query(url: str, sql: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text(sql)).all()
    finally:
        engine.dispose()


def wait_for(url: str, sql: str, predicate, timeout: float, what: str) -> list:
    deadline = time.monotonic() + timeout
    rows: list = []
    while time.monotonic() < deadline:
        rows = query(url, sql)
        if predicate(rows):
            return rows
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}: {rows}")


FINISHED_COLLECTS = """
    SELECT count(DISTINCT e.job_id) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
    WHERE j.task_name = 'campaign_worker.collect_source' AND e.type IN ('succeeded', 'failed')"""


def collect_intervals(url: str) -> list[tuple[str, datetime, datetime]]:
    """(lock, started, ended) of every finished collect job, from procrastinate's events."""
    rows = query(url, """
        SELECT j.id, j.lock, e.type, e.at FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id
        WHERE j.task_name = 'campaign_worker.collect_source' AND e.type IN ('started', 'succeeded', 'failed')
        ORDER BY e.at""")
    started: dict[int, tuple[str, datetime]] = {}
    intervals = []
    for job_id, lock, kind, at in rows:
        if kind == "started":
            started[job_id] = (lock, at)
        elif job_id in started:
            intervals.append((started[job_id][0], started[job_id][1], at))
    return intervals


def test_three_workers_run_every_slot_once_and_one_session_at_a_time(worker_home, tmp_path):
    home, env, url = worker_home
    write_home(home, posts=30, latency=150, every="seconds = 4")
    migrate(env)
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
    try:
        # the first slot is found by whichever worker's tick comes first; let five more pass
        wait_for(url, "SELECT count(*) FROM job_run WHERE job = 'collect' AND status = 'ok'",
                 lambda rows: rows[0][0] >= 6, 90, "six collect slots")
        wait_for(url, "SELECT count(*) FROM draft", lambda rows: rows[0][0] >= 60, 60, "drafts of both campaigns")
        # On a busy machine the collects trail their slots: let those of the slots so far finish.
        slots_so_far = query(url, "SELECT count(*) FROM job_run WHERE job = 'collect' AND status = 'ok'")[0][0]
        wait_for(url, FINISHED_COLLECTS, lambda rows: rows[0][0] >= 2 * slots_so_far, 60, "both collects of every slot so far")
    finally:
        codes = stop(workers)
    assert codes == [0, 0, 0], [(tmp_path / f"worker{i}.log").read_text()[-2000:] for i in range(3)]

    slots = [row[0] for row in query(url, "SELECT slot FROM job_run WHERE job = 'collect' ORDER BY slot")]
    statuses = {row[0] for row in query(url, "SELECT DISTINCT status FROM job_run WHERE job = 'collect'")}
    assert statuses == {"ok"}
    assert len(slots) == len(set(slots))
    gaps = {(b - a) for a, b in zip(slots, slots[1:])}
    assert gaps == {timedelta(seconds=4)}, f"every due slot runs, none twice: {slots}"

    # the two campaigns share one platform session: their collects never overlap
    intervals = collect_intervals(url)
    assert len(intervals) >= 2 * slots_so_far
    assert {lock for lock, _, _ in intervals} == {"session:memory:shared_account"}
    # procrastinate stamps events with each transaction's start, so a hand-over may look a few
    # milliseconds early; a real overlap would be a whole collect (pages of 150 ms each).
    for (_, _, end), (_, start, _) in zip(intervals, intervals[1:]):
        assert start >= end - timedelta(milliseconds=100), "two collects of one session ran at once"

    # a post flowed through collect → moderate → drafts without a slot of those jobs
    counts = query(url, "SELECT campaign, state, count(*) FROM campaign_post GROUP BY 1, 2 ORDER BY 1")
    assert counts == [("alpha", "approved", 30), ("beta", "approved", 30)]
    assert query(url, "SELECT count(*) FROM job_run WHERE job <> 'collect'") == [(0,)]


def test_a_killed_workers_collect_completes_on_another_worker(worker_home, tmp_path):
    home, env, url = worker_home
    write_home(home, posts=40, latency=1500, every="hours = 1", stalled_after=3)
    migrate(env)
    doomed = start_worker(env, tmp_path / "doomed.log")
    wait_for(url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'campaign_worker.collect_source' AND status = 'doing'",
             lambda rows: rows[0][0] >= 1, 60, "a collect job in progress")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)
    survivors = [start_worker(env, tmp_path / f"survivor{i}.log") for i in range(2)]
    try:
        wait_for(url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'campaign_worker.collect_source' AND status = 'succeeded'",
                 lambda rows: rows[0][0] >= 2, 120, "both collects done after the kill")
        wait_for(url, "SELECT count(*) FROM campaign_post WHERE state = 'approved'", lambda rows: rows[0][0] == 80, 60, "all posts moderated")
    finally:
        assert stop(survivors) == [0, 0]
    retried = query(url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'campaign_worker.collect_source' AND attempts > 0")
    assert retried[0][0] >= 1, "the killed worker's job ran again elsewhere"
    assert query(url, "SELECT count(*), count(DISTINCT external_id) FROM post") == [(80, 80)]
    # One completed run per slot (a run that crosses the hour also has the next hour's slot).
    ledger_rows = query(url, "SELECT job, slot, status, count(*) FROM job_run GROUP BY 1, 2, 3")
    assert ledger_rows and all(job == "collect" and status == "ok" and n == 1 for job, _slot, status, n in ledger_rows), ledger_rows
    assert len({slot for _job, slot, _status, _n in ledger_rows}) == len(ledger_rows)


def test_sigterm_lets_the_current_job_finish(worker_home, tmp_path):
    home, env, url = worker_home
    write_home(home, posts=30, latency=700, every="hours = 1")
    migrate(env)
    worker = start_worker(env, tmp_path / "worker.log")
    wait_for(url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'campaign_worker.collect_source' AND status = 'doing'",
             lambda rows: rows[0][0] >= 1, 60, "a collect job in progress")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=60) == 0
    states = dict(query(url, "SELECT status::text, count(*) FROM procrastinate_jobs WHERE task_name = 'campaign_worker.collect_source' GROUP BY 1"))
    assert "doing" not in states, states
    assert states.get("succeeded", 0) >= 1, states


def test_a_stalled_slot_is_taken_over_not_run_twice(engine, home):
    """The ledger side of recovery: the retried job continues the dead worker's row."""
    ws = Workspace(home=home, engine=engine, campaigns={})
    spec = load_jobs(home)["moderate"]
    slot = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)
    dead = ledger.claim(engine, spec.name, slot, owner="other-host:4242:-")
    assert dead.ok
    runner = JobRunner(ws, load_settings(home))
    assert runner.run(spec, slot).status == "duplicate"
    outcome = runner.run(spec, slot, take_over=True)
    assert outcome.status == "ok" and outcome.run_id == dead.run_id
    rows = ledger.runs(engine, "moderate")
    assert [(r.slot.replace(tzinfo=timezone.utc) if r.slot.tzinfo is None else r.slot, r.status) for r in rows] == [(slot, "ok")]


def test_on_sqlite_the_worker_says_to_use_run(home, capsys):
    from campaign_worker.cli.main import main

    assert main(["--home", str(home.root), "worker"]) == 2
    assert "Worker brauchen PostgreSQL" in capsys.readouterr().err
    assert main(["--home", str(home.root), "worker", "--queues", "collect,nonsense"]) == 2
    assert "unbekannt / unknown nonsense" in capsys.readouterr().err
