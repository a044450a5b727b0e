"""`campaign-worker run` as a real process on the sample data, killed with SIGKILL and restarted.

After every kill: the database is intact, no post is lost or duplicated, and the abandoned run
is marked and re-run by the next start. A second `run` on the same database is refused.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from campaign_worker.cli.main import main

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "from campaign_worker.cli import run; run()"]
JOBS = {
    "collect": 'task = "collect"\ncampaigns = ["siegen"]\nmisfire_grace_seconds = 5\n[trigger]\ntype = "interval"\nseconds = 10\n',
    "moderate": 'task = "moderate"\ncampaigns = ["siegen"]\nmisfire_grace_seconds = 5\n[trigger]\ntype = "interval"\nseconds = 5\n',
    "drafts": 'task = "compose_drafts"\ncampaigns = ["siegen"]\nmisfire_grace_seconds = 5\n[trigger]\ntype = "interval"\nseconds = 6\n',
    "digest": 'task = "digest"\ncampaigns = ["siegen"]\nmisfire_grace_seconds = 5\n[trigger]\ntype = "interval"\nseconds = 15\n',
}
WORKER_TOML = """
[scheduler]
heartbeat_seconds = 0.5
[metrics]
port = 0
[logging]
format = "json"
file = "data/worker.log"
[alerts]
enabled = false
"""


def make_home(root: Path, jobs: dict[str, str]) -> Path:
    (root / "jobs").mkdir(parents=True)
    (root / "config").mkdir()
    (root / "config" / "worker.toml").write_text(WORKER_TOML)
    # The shipped Siegen campaign, its sample switched on as a source the collect job reads
    # (shipped, the sample is for `demo` only).
    shipped = (REPO / "config" / "campaigns" / "siegen.toml").read_text(encoding="utf-8")
    (root / "config" / "campaigns").mkdir()
    (root / "config" / "campaigns" / "siegen.toml").write_text(
        shipped.replace('path = "sample/meinherztraegtkrone"\nenabled = false', 'path = "sample/meinherztraegtkrone"'),
        encoding="utf-8")
    (root / "data").mkdir()
    for name, text in jobs.items():
        (root / "jobs" / f"{name}.toml").write_text(text)
    return root


def query(home: Path, sql: str):
    with closing(sqlite3.connect(home / "data" / "campaign-worker.sqlite3", timeout=30)) as connection:
        return connection.execute(sql).fetchall()


def query_write(home: Path, sql: str) -> None:
    with closing(sqlite3.connect(home / "data" / "campaign-worker.sqlite3", timeout=30)) as connection:
        connection.execute(sql)
        connection.commit()


def env_for(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_WORKER_")}
    env["CAMPAIGN_WORKER_HOME"] = str(home)
    return env


def start(home: Path) -> subprocess.Popen:
    # stderr to a file: an unread pipe fills up and blocks the worker's logging
    with open(home / "data" / "stderr.log", "ab") as stderr:
        process = subprocess.Popen([*CLI, "run"], env=env_for(home), stdout=subprocess.DEVNULL, stderr=stderr)
    return process


def wait_until(predicate, timeout: float, what: str, process: subprocess.Popen | None = None, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"worker exited early ({process.returncode}) while waiting for {what}")
        try:
            value = predicate()
        except sqlite3.OperationalError:  # database not created yet
            value = None
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")


def running(home: Path, job: str):
    return query(home, f"SELECT id FROM job_run WHERE job = '{job}' AND status = 'running'")


def ledger_dump(home: Path) -> str:
    rows = query(home, "SELECT id, job, slot, status, kind, retry_of, substr(error, 1, 60) FROM job_run ORDER BY id")
    return "\n".join(str(row) for row in rows)


def unredone(home: Path) -> list:
    """Abandoned runs with no later successful run of the same job."""
    return query(
        home,
        "SELECT a.id, a.job FROM job_run a WHERE a.status = 'abandoned' AND NOT EXISTS "
        "(SELECT 1 FROM job_run b WHERE b.job = a.job AND b.id > a.id AND b.status = 'ok')",
    )


def kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(10)



def counts(home: Path) -> dict:
    return {
        "posts": query(home, "SELECT count(*) FROM post")[0][0],
        "distinct_posts": query(home, "SELECT count(DISTINCT platform || '/' || external_id) FROM post")[0][0],
        "campaign_posts": query(home, "SELECT count(*) FROM campaign_post")[0][0],
        "post_media": query(home, "SELECT count(*) FROM post_media")[0][0],
    }


def test_sigkill_at_several_points_loses_and_duplicates_nothing(tmp_path):
    reference = make_home(tmp_path / "reference", {"collect": JOBS["collect"]})
    assert main(["--home", str(reference), "run-job", "collect"]) == 0
    expected = counts(reference)
    assert expected["posts"] >= 300

    home = make_home(tmp_path / "home", JOBS)
    abandoned_expected = 0

    # 1. killed in the middle of the first collection
    worker = start(home)
    wait_until(lambda: running(home, "collect"), 60, "collect to start", worker)
    wait_until(lambda: query(home, "SELECT count(*) FROM post")[0][0] > 0, 30, "first posts", worker)
    kill(worker)
    abandoned_expected += 1
    assert query(home, "PRAGMA integrity_check") == [("ok",)]
    partial = counts(home)
    assert 0 < partial["posts"] <= expected["posts"]

    # 2. killed again while the recovery run collects
    worker = start(home)
    wait_until(lambda: query(home, "SELECT id FROM job_run WHERE job = 'collect' AND kind = 'recovery' AND status = 'running'"), 60, "recovery", worker)
    time.sleep(0.5)
    kill(worker)
    abandoned_expected += 1
    assert query(home, "PRAGMA integrity_check") == [("ok",)]

    # 3. killed while the digest renders. A week is rendered once, so drop the rendered rows to
    #    make the next run render again (only ~0.3 s: poll fast, drop again if we missed it).
    query_write(home, "DELETE FROM digest")
    worker = start(home)

    def digest_rendering():
        if running(home, "digest"):
            return True
        if query(home, "SELECT count(*) FROM digest")[0][0]:
            query_write(home, "DELETE FROM digest")
        return False

    wait_until(digest_rendering, 90, "digest to start", worker, poll=0.005)
    kill(worker)
    abandoned_expected += 1
    assert query(home, "PRAGMA integrity_check") == [("ok",)]

    # 4. a normal run: everything owed is redone; a second scheduler is refused meanwhile
    worker = start(home)
    wait_until(lambda: query(home, f"SELECT 1 FROM scheduler_lock WHERE owner LIKE '%:{worker.pid}:%'"), 60, "the lock", worker)
    wait_until(lambda: not unredone(home), 90, "every abandoned run to be redone", worker)
    second = subprocess.Popen([*CLI, "run"], env={**env_for(home), "PYTHONFAULTHANDLER": "1"},
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = second.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        second.send_signal(signal.SIGABRT)  # faulthandler prints where it hangs
        _, stderr = second.communicate(timeout=10)
        raise AssertionError(f"second scheduler hung:\n{stderr[-4000:]}")
    assert second.returncode == 2, stderr
    assert "Ein anderer Scheduler läuft bereits" in stderr.replace("\n", "")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0

    assert query(home, "PRAGMA integrity_check") == [("ok",)]
    assert counts(home) == expected
    assert query(home, "SELECT count(*) FROM job_run WHERE status = 'running'") == [(0,)]
    abandoned = query(home, "SELECT id, job FROM job_run WHERE status = 'abandoned' ORDER BY id")
    assert len(abandoned) >= abandoned_expected
    assert {job for _, job in abandoned} >= {"collect", "digest"}
    assert unredone(home) == [], ledger_dump(home)
    retried = query(home, "SELECT count(*) FROM job_run WHERE retry_of IS NOT NULL")[0][0]
    assert retried >= 2
    duplicates = query(home, "SELECT job, slot, count(*) FROM job_run GROUP BY job, slot HAVING count(*) > 1")
    assert duplicates == []
    assert query(home, "SELECT owner FROM scheduler_lock") == [(None,)]
