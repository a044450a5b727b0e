"""The scheduler with controlled time: reconcile, catch-up once, recovery, no overlap, lock, stop."""

from __future__ import annotations

import os
import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_worker.scheduler import ledger, lock as scheduler_lock, tasks
from campaign_worker.cli.main import main
from campaign_worker.store.models import JobRun
from campaign_worker.scheduler.service import WorkerScheduler
from campaign_worker.scheduler.lock import SchedulerLocked
from tests.scheduler_support import Clock, patch_apscheduler_clock, quiet_settings, spec, wait_for

UTC = timezone.utc
T0 = datetime(2026, 11, 2, 10, 5, tzinfo=UTC)


def runs(engine, job=None) -> list[JobRun]:
    with Session(engine) as session:
        query = select(JobRun).order_by(JobRun.id)
        if job:
            query = query.where(JobRun.job == job)
        return list(session.execute(query).scalars())


def finished(engine, count, job=None):
    return wait_for(lambda: len([r for r in runs(engine, job) if r.status != "running"]) >= count and runs(engine, job))


@pytest.fixture
def clock(monkeypatch):
    clock = Clock(T0)
    patch_apscheduler_clock(monkeypatch, clock)
    return clock


@pytest.fixture
def probe(monkeypatch):
    """A task that records each call; `probe.gate` can hold it inside the run."""
    calls: list[datetime] = []
    gate = threading.Event()
    gate.set()
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def run(ws, campaigns, should_stop):
        with lock:
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        calls.append(datetime.now(UTC))
        try:
            gate.wait(10)
        finally:
            with lock:
                active["now"] -= 1
        return {"calls": len(calls)}

    run.calls, run.gate, run.active = calls, gate, active
    monkeypatch.setitem(tasks.TASKS, "probe", run)
    return run


@pytest.fixture
def workers(workspace):
    started: list[WorkerScheduler] = []

    def make(specs, clock, settings=None):
        worker = WorkerScheduler(workspace, settings or quiet_settings(), specs={s.name: s for s in specs}, clock=clock)
        started.append(worker)
        return worker

    yield make
    for worker in started:
        worker.shutdown(wait=True)


def test_reconcile_adds_keeps_reschedules_and_removes(workspace, clock, probe, workers):
    first = workers([spec("tick", "probe"), spec("old", "probe")], clock)
    report = first.start()
    assert sorted(report.added) == ["old", "tick"]
    assert first.next_runs()["tick"] == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    first.shutdown()

    clock.set(datetime(2026, 11, 2, 10, 20, tzinfo=UTC))
    changed_options = spec("tick", "probe", misfire_grace_seconds=600, max_retries=2)
    second = workers([changed_options], clock)
    report = second.start()
    assert (report.added, report.rescheduled, report.removed, report.catch_up) == ([], [], ["old"], [])
    assert report.updated == ["tick"]
    job = second.scheduler.get_job("tick")
    assert job.misfire_grace_time == 600 and job.next_run_time == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    second.shutdown()

    clock.set(datetime(2026, 11, 2, 10, 21, tzinfo=UTC))
    new_trigger = spec("tick", "probe", trigger={"type": "interval", "minutes": 15, "offset_minutes": 5})
    third = workers([new_trigger], clock)
    report = third.start()
    assert report.rescheduled == ["tick"]
    assert third.next_runs()["tick"] == datetime(2026, 11, 2, 10, 35, tzinfo=UTC)
    assert probe.calls == []


def test_missed_runs_during_downtime_catch_up_exactly_once(workspace, clock, probe, workers):
    tick = spec("tick", "probe", misfire_grace_seconds=60)
    first = workers([tick], clock)
    first.start()
    first.shutdown()

    clock.set(datetime(2026, 11, 2, 13, 10, tzinfo=UTC))  # 10:30 … 13:00 missed (6 slots)
    second = workers([tick], clock)
    report = second.start()
    assert report.catch_up == ["tick"]
    # The slots before the latest one are accounted for as missed while stopped.
    missed = [r for r in runs(workspace.engine) if r.status == "missed"]
    assert [ledger.as_utc(r.slot).strftime("%H:%M") for r in missed] == ["10:30", "11:00", "11:30", "12:00", "12:30"]
    assert all("missed while stopped" in r.error for r in missed)
    (run,) = [r for r in finished(workspace.engine, 6) if r.status != "missed"]
    assert run.kind == "catchup" and run.status == "ok"
    assert ledger.as_utc(run.slot) == datetime(2026, 11, 2, 13, 0, tzinfo=UTC)
    assert second.next_runs()["tick"] == datetime(2026, 11, 2, 13, 30, tzinfo=UTC)

    clock.set(datetime(2026, 11, 2, 13, 30, 1, tzinfo=UTC))
    second.scheduler.wakeup()
    finished(workspace.engine, 7)
    second.shutdown()

    clock.set(datetime(2026, 11, 2, 13, 35, tzinfo=UTC))  # restart with nothing owed
    third = workers([tick], clock)
    assert third.start().catch_up == []
    third.scheduler.wakeup()
    threading.Event().wait(0.3)
    slots = [(r.kind, ledger.as_utc(r.slot).strftime("%H:%M")) for r in runs(workspace.engine) if r.status != "missed"]
    assert slots == [("catchup", "13:00"), ("scheduled", "13:30")]
    assert len(probe.calls) == 2


def test_without_catch_up_a_missed_run_is_recorded_not_run(workspace, clock, probe, workers):
    tick = spec("tick", "probe", catch_up=False)
    first = workers([tick], clock)
    first.start()
    first.shutdown()
    clock.advance(hours=2)
    second = workers([tick], clock)
    assert second.start().missed == ["tick"]
    recorded = runs(workspace.engine)
    assert {r.status for r in recorded} == {"missed"}
    assert [ledger.as_utc(r.slot).strftime("%H:%M") for r in sorted(recorded, key=lambda r: r.slot)] == ["10:30", "11:00", "11:30", "12:00"]
    assert probe.calls == []


def test_abandoned_run_is_marked_and_rerun_once(workspace, clock, probe, workers):
    tick = spec("tick", "probe")
    crashed = ledger.claim(workspace.engine, "tick", datetime(2026, 11, 2, 10, 0, tzinfo=UTC), owner="vm-gone:1:1",
                           now=T0 - timedelta(minutes=5))
    worker = workers([tick], clock)
    report = worker.start()
    assert report.abandoned == [f"tick#{crashed.run_id}"] and report.recovery == ["tick"]
    finished(workspace.engine, 2)
    first, redo = runs(workspace.engine)
    assert first.status == "abandoned" and "process died" in first.error
    assert (redo.kind, redo.status, redo.retry_of) == ("recovery", "ok", crashed.run_id)
    worker.shutdown()
    again = workers([tick], clock)
    assert again.start().recovery == []
    assert len(probe.calls) == 1


def test_a_slow_run_is_not_overlapped_by_its_next_slot(workspace, clock, probe, workers):
    probe.gate.clear()
    clock.set(datetime(2026, 11, 2, 10, 6, tzinfo=UTC))
    worker = workers([spec("tick", "probe", trigger={"type": "interval", "minutes": 5})], clock)
    worker.start()
    clock.set(datetime(2026, 11, 2, 10, 10, 0, tzinfo=UTC))
    worker.scheduler.wakeup()
    wait_for(lambda: probe.calls)
    clock.set(datetime(2026, 11, 2, 10, 15, 0, tzinfo=UTC))  # next slot while the first still runs
    worker.scheduler.wakeup()
    wait_for(lambda: any(r.status == "skipped" for r in runs(workspace.engine)))
    probe.gate.set()
    finished(workspace.engine, 2)
    statuses = [(ledger.as_utc(r.slot).strftime("%H:%M"), r.status) for r in runs(workspace.engine)]
    assert statuses == [("10:10", "ok"), ("10:15", "skipped")]
    assert probe.active["max"] == 1 and len(probe.calls) == 1


def test_a_slot_due_as_the_earlier_run_ends_still_runs(workspace, clock, probe, workers):
    """A starting worker gets its catch-up slot and the next one together: the second waits for the first."""
    probe.gate.clear()
    job = spec("tick", "probe")
    worker = workers([job], clock)
    first = threading.Thread(target=worker.runner.run, args=(job, datetime(2026, 11, 2, 10, 0, tzinfo=UTC)))
    first.start()
    wait_for(lambda: probe.calls)
    threading.Timer(0.3, probe.gate.set).start()  # well inside the grace
    worker.runner.run(job, datetime(2026, 11, 2, 10, 30, tzinfo=UTC))
    first.join()
    statuses = [(ledger.as_utc(r.slot).strftime("%H:%M"), r.status) for r in runs(workspace.engine)]
    assert statuses == [("10:00", "ok"), ("10:30", "ok")]
    assert probe.active["max"] == 1 and len(probe.calls) == 2


def test_second_scheduler_on_the_same_database_is_refused(workspace, clock, probe, workers, home, capsys):
    other_process = ledger.owner_id(os.getppid())  # a live process on this machine
    scheduler_lock.acquire(workspace.engine, ttl=60, owner=other_process)
    worker = workers([spec("tick", "probe")], clock)
    with pytest.raises(SchedulerLocked, match="Ein anderer Scheduler läuft bereits"):
        worker.start()
    assert not worker.scheduler.running
    assert scheduler_lock.holder(workspace.engine)["owner"] == other_process

    os.environ["CAMPAIGN_WORKER_DATABASE_URL"] = workspace.engine.url.render_as_string(hide_password=False)
    try:
        code = main(["--home", str(home.root), "run"])
    finally:
        del os.environ["CAMPAIGN_WORKER_DATABASE_URL"]
    err = capsys.readouterr().err.replace("\n", "")
    assert code == 2 and "Ein anderer Scheduler läuft bereits" in err and other_process in err


def test_stale_lock_of_a_dead_process_is_taken_over(workspace, clock, probe, workers):
    scheduler_lock.acquire(workspace.engine, ttl=60, owner="elsewhere:1:1", now=T0 - timedelta(minutes=10))
    worker = workers([spec("tick", "probe")], clock)
    worker.start()
    assert scheduler_lock.holder(workspace.engine)["owner"] == worker.owner


def test_graceful_stop_finishes_the_step_and_records_the_run(workspace, clock, monkeypatch, workers):
    started = threading.Event()

    def steps(ws, campaigns, should_stop):
        done = 0
        for _ in range(200):
            if should_stop():
                break
            started.set()
            threading.Event().wait(0.02)
            done += 1
        return {"steps": done}

    monkeypatch.setitem(tasks.TASKS, "steps", steps)
    worker = workers([spec("long", "steps")], clock)
    worker.start()
    clock.set(datetime(2026, 11, 2, 10, 30, tzinfo=UTC))
    worker.scheduler.wakeup()
    started.wait(5)
    worker.request_stop()
    worker.shutdown(wait=True)
    (run,) = runs(workspace.engine)
    assert run.status == "partial" and run.finished_at is not None
    assert 0 < run.counts["steps"] < 200
    assert scheduler_lock.holder(workspace.engine) is None


def test_run_killed_before_its_next_time_was_stored_is_recovered_not_skipped(workspace, clock, probe, workers):
    tick = spec("tick", "probe")
    first = workers([tick], clock)
    first.start()  # stored next run: 10:30
    first.shutdown()
    # The process started the 10:30 run and died before APScheduler stored 11:00.
    crashed = ledger.claim(workspace.engine, "tick", datetime(2026, 11, 2, 10, 30, tzinfo=UTC), owner="vm-gone:1:1")
    clock.set(datetime(2026, 11, 2, 10, 31, tzinfo=UTC))
    second = workers([tick], clock)
    report = second.start()
    assert report.catch_up == [] and report.recovery == ["tick"]
    finished(workspace.engine, 2)
    first_run, redo = runs(workspace.engine)
    assert first_run.status == "abandoned" and (redo.kind, redo.status, redo.retry_of) == ("recovery", "ok", crashed.run_id)
    assert second.next_runs()["tick"] == datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert len(probe.calls) == 1


def test_disabling_a_job_removes_it_from_the_schedule(workspace, clock, probe, workers):
    first = workers([spec("tick", "probe"), spec("other", "probe")], clock)
    first.start()
    first.shutdown()
    second = workers([spec("tick", "probe", enabled=False), spec("other", "probe")], clock)
    assert second.start().removed == ["tick"]
    assert list(second.next_runs()) == ["other"]
