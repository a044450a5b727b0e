"""Unattended for months: no run stuck `running`, no slot without a ledger row, no scheduler
waiting behind pipeline work, and an unbroken audit chain under concurrent moderators."""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_worker.config.worker import MetricsSettings, AlertSettings, SchedulerSettings, WorkerSettings
from campaign_worker.moderation import engine as rules_engine
from campaign_worker.moderation.job import moderate
from campaign_worker.moderation.queue import QueueError, decide, history, undo
from campaign_worker.scheduler import ledger, tasks
from campaign_worker.scheduler.health import HealthServer
from campaign_worker.scheduler.service import WorkerScheduler
from campaign_worker.store.db import make_engine, transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.migrate import upgrade
from campaign_worker.store.models import JobRun
from tests.helpers import post
from tests.scheduler_support import Clock, patch_apscheduler_clock, spec, wait_for

UTC = timezone.utc


def settings(**scheduler) -> WorkerSettings:
    values = {"heartbeat_seconds": 0.05, "lock_ttl_seconds": 60, "db_lock_timeout_seconds": 0.2, **scheduler}
    return WorkerSettings(scheduler=SchedulerSettings(**values), metrics=MetricsSettings(enabled=False),
                          alerts=AlertSettings(enabled=False))


def all_runs(engine, job=None) -> list[JobRun]:
    with Session(engine) as session:
        query = select(JobRun).order_by(JobRun.slot)
        if job:
            query = query.where(JobRun.job == job)
        return list(session.execute(query).scalars())


def sqlite_file(ws) -> str:
    return ws.engine.url.database


class WriteLock:
    """Another process's write transaction on the SQLite file, held for `seconds`."""

    def __init__(self, path: str):
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def hold(self, seconds: float) -> threading.Thread:
        self.connection.execute("BEGIN IMMEDIATE")
        release = threading.Timer(seconds, lambda: self.connection.execute("COMMIT"))
        release.start()
        return release


@pytest.fixture
def serving(sqlite_workspace):
    """Start a scheduler and its main loop (heartbeat + watchdog) in a thread; stopped afterwards."""
    started: list[WorkerScheduler] = []

    def start(specs, worker_settings, clock=None):
        kwargs = {"clock": clock} if clock else {}
        worker = WorkerScheduler(sqlite_workspace, worker_settings, specs={s.name: s for s in specs}, **kwargs)
        worker.start()
        threading.Thread(target=worker.serve, daemon=True).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.request_stop()
        worker.shutdown(wait=True)


def healthz(server: HealthServer) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen("http://%s:%d/healthz" % server.address, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_run_end_recorded_after_the_lock_is_released(sqlite_workspace, serving, monkeypatch):
    """The write lock outlasts the scheduler's wait while the run finishes: the end is recorded later."""
    blocker = WriteLock(sqlite_file(sqlite_workspace))
    holds: list[threading.Thread] = []

    def locks_at_its_end(ws, campaigns, should_stop):
        if not holds:
            holds.append(blocker.hold(1.0))  # five times the scheduler's lock wait (0.2 s)
        return {"done": 1}

    monkeypatch.setitem(tasks.TASKS, "locks_at_end", locks_at_its_end)
    worker = serving([spec("tick", "locks_at_end", trigger={"type": "interval", "seconds": 30})], settings(record_retry_seconds=20))
    worker.runner.run(worker.specs["tick"], datetime.now(UTC), kind="manual")
    # Intervals tick on the clock (:00 and :30): a scheduled run may fall into the test, so only the manual one counts.
    (run,) = [run for run in all_runs(sqlite_workspace.engine, "tick") if run.kind == "manual"]
    assert run.status == "ok" and run.counts == {"done": 1} and run.finished_at is not None


def test_run_end_that_cannot_be_recorded_is_abandoned_and_health_says_so(sqlite_workspace, serving, monkeypatch):
    """Locked longer than all retries: the run does not stay `running`, /healthz turns 503, later slots run."""
    blocker = WriteLock(sqlite_file(sqlite_workspace))
    holds: list[threading.Thread] = []

    def locks_at_its_end(ws, campaigns, should_stop):
        if not holds:
            holds.append(blocker.hold(6.0))
        return {"done": 1}

    monkeypatch.setitem(tasks.TASKS, "locks_at_end", locks_at_its_end)
    tick = spec("tick", "locks_at_end", trigger={"type": "interval", "seconds": 2}, misfire_grace_seconds=1)
    worker = serving([tick], settings(record_retry_seconds=0.5))
    server = HealthServer(sqlite_workspace.engine, host="127.0.0.1", port=0, scheduler_running=lambda: True,
                          jobs=lambda: ["tick"], overdue=worker.overdue).start()
    try:
        wait_for(lambda: holds, timeout=5)
        status, body = wait_for(lambda: (lambda r: r if r[0] == 503 else None)(healthz(server)), timeout=8)
        assert body["status"] == "unhealthy"
        assert [job["job"] for job in body["overdue_jobs"]] == ["tick"]
        holds[0].join()
        # The watchdog gives the first run an end; the next slots run and complete again.
        first = wait_for(lambda: [r for r in all_runs(sqlite_workspace.engine, "tick") if r.status == "abandoned"], timeout=5)[0]
        assert "could not be recorded" in first.error
        wait_for(lambda: any(r.status == "ok" and r.slot > first.slot for r in all_runs(sqlite_workspace.engine, "tick")), timeout=6)
        assert wait_for(lambda: (lambda r: r if r[0] == 200 else None)(healthz(server)), timeout=6)[1]["status"] == "ok"
    finally:
        server.stop()
    assert not [r for r in all_runs(sqlite_workspace.engine, "tick") if r.status == "running" and r.slot <= first.slot]


def test_a_long_pipeline_batch_does_not_delay_other_jobs(sqlite_workspace, serving, monkeypatch):
    """500 posts moderated with slow rules (3 s) beside two jobs due every second: they start meanwhile.

    The rules run outside any transaction, so both jobs start while the rules are still at work.
    A write transaction held across the batch would keep every start waiting until it ended.
    (Starts during the short write transactions after the rules may wait for them; how long
    depends on the machine's load, so that is not measured here.)
    """
    store_posts(sqlite_workspace.engine, "siegen", "sample", [post(i) for i in range(500)])
    original = rules_engine.Moderator.evaluate_many
    rules_at_work: list[tuple[datetime, datetime]] = []

    def slow_evaluate_many(self, candidates):
        began = datetime.now(UTC)
        for _ in candidates:  # 6 ms a post, in small sleeps as slow rules would take it
            time.sleep(0.006)
        rules_at_work.append((began, datetime.now(UTC)))
        return original(self, candidates)

    monkeypatch.setattr(rules_engine.Moderator, "evaluate_many", slow_evaluate_many)
    started: dict[str, list[datetime]] = {"probe0": [], "probe1": []}

    def probe(starts: list[datetime]):
        def task(ws, campaigns, should_stop):
            starts.append(datetime.now(UTC))
            return {}
        return task

    for job, starts in started.items():
        monkeypatch.setitem(tasks.TASKS, job, probe(starts))
    jobs = [spec(job, job, trigger={"type": "interval", "seconds": 1}, misfire_grace_seconds=5) for job in started]
    worker = serving(jobs, settings(db_lock_timeout_seconds=5))
    time.sleep(1.2)
    result = moderate(sqlite_workspace, ["siegen"])
    assert result["evaluated"] == 500
    ((began, ended),) = rules_at_work
    assert (ended - began).total_seconds() >= 3
    for job, starts in started.items():
        during = [at for at in starts if began <= at <= ended]
        assert len(during) >= 2, f"{job} started {len(during)} times in the {(ended - began).total_seconds():.1f} s of rules"
    assert worker.scheduler.running


def test_every_due_slot_of_an_accelerated_schedule_leaves_a_ledger_row(sqlite_workspace, monkeypatch):
    """Three minutes at 20× speed, with jumps (coalesced runs) and a job still busy (skipped runs)."""
    clock = Clock(datetime(2026, 11, 2, 10, 0, 0, tzinfo=UTC))
    patch_apscheduler_clock(monkeypatch, clock)
    gate = threading.Event()
    gate.set()

    def quick(ws, campaigns, should_stop):
        return {}

    def slow(ws, campaigns, should_stop):
        gate.wait(5)
        return {}

    monkeypatch.setitem(tasks.TASKS, "quick", quick)
    monkeypatch.setitem(tasks.TASKS, "slow", slow)
    specs = [
        spec("collect", "quick", trigger={"type": "interval", "seconds": 5}, misfire_grace_seconds=2),
        spec("moderate", "slow", trigger={"type": "interval", "seconds": 3}, misfire_grace_seconds=1),
        spec("drafts", "quick", trigger={"type": "interval", "seconds": 10}, misfire_grace_seconds=2),
    ]
    worker = WorkerScheduler(sqlite_workspace, settings(db_lock_timeout_seconds=0.5), specs={s.name: s for s in specs}, clock=clock)
    worker.start()
    try:
        start = worker.started_at
        for second in range(180):
            gate.clear() if second % 40 == 5 else None
            gate.set() if second % 40 == 15 else None
            clock.advance(seconds=7 if second % 25 == 24 else 1)  # now and then the loop wakes up late
            worker.scheduler.wakeup()
            time.sleep(0.03)
            if second % 10 == 0:
                worker.watch()
        gate.set()
        worker.scheduler.pause()
        end = clock()
        wait_for(lambda: not [r for r in all_runs(sqlite_workspace.engine) if r.status == "running"], timeout=10)
        clock.advance(seconds=30)
        worker.watch()
    finally:
        worker.shutdown(wait=True)
    statuses = set()
    for s in specs:
        due = []
        slot = s.next_slot(start)
        while slot <= end:
            due.append(slot)
            slot = s.next_slot(slot + timedelta(microseconds=1))
        rows = {ledger.as_utc(r.slot): r for r in all_runs(sqlite_workspace.engine, s.name)}
        assert [slot for slot in due if slot not in rows] == [], f"{s.name}: slots without a ledger row"
        statuses |= {rows[slot].status for slot in due}
        for slot in due:
            assert rows[slot].status in ("ok", "missed", "skipped"), (s.name, slot, rows[slot].status)
            assert rows[slot].status == "ok" or rows[slot].error
    assert {"ok", "missed"} <= statuses


@pytest.mark.postgres
def test_concurrent_moderators_leave_an_unbroken_event_chain(pg_database_url):
    """20 people approving, rejecting, postponing and undoing the same few posts at once."""
    from sqlalchemy import text

    engine = make_engine(pg_database_url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    try:
        result = store_posts(engine, "siegen", "sample", [post(i) for i in range(4)])
        ids = sorted(result.post_ids.values())
        errors: list[BaseException] = []

        def moderator(n: int) -> None:
            chooser = random.Random(n)
            try:
                for _ in range(15):
                    post_id = chooser.choice(ids)
                    with transaction(engine) as connection:
                        if chooser.random() < 0.35:
                            try:
                                undo(connection, "siegen", post_id, f"m{n}")
                            except QueueError:
                                pass
                        else:
                            targets = sorted(chooser.sample(ids, 2), reverse=chooser.random() < 0.5)
                            decide(connection, "siegen", targets, chooser.choice(["approved", "rejected", "later"]), f"m{n}")
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=moderator, args=(n,)) for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        total = 0
        with engine.connect() as connection:
            for post_id in ids:
                events = history(connection, "siegen", post_id)
                total += len(events)
                for before, after in zip(events, events[1:]):
                    assert after["from_state"] == before["to_state"], (post_id, before, after)
        assert total > 150
    finally:
        engine.dispose()
