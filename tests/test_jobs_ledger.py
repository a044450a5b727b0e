"""The run ledger: one run per slot under racing processes, no overlap, abandoned runs, run-job."""

from __future__ import annotations

import json
import subprocess
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from campaign_worker.scheduler import ledger, tasks
from campaign_worker.cli.main import main
from campaign_worker.store.db import make_engine
from campaign_worker.scheduler.runner import JobRunner
from campaign_worker.store.models import JobRun
from campaign_worker.scheduler.tasks import prune_ledger
from tests.scheduler_support import quiet_settings, spec

SLOT = datetime(2026, 11, 2, 10, 30, tzinfo=timezone.utc)


def dead_owner() -> str:
    process = subprocess.Popen(["true"])
    process.wait()
    return ledger.owner_id(process.pid).rsplit(":", 1)[0] + ":-"


def all_runs(engine) -> list[JobRun]:
    with Session(engine) as session:
        return list(session.execute(select(JobRun).order_by(JobRun.id)).scalars())


def test_racing_claims_give_a_slot_to_exactly_one(engine, database_url):
    engines = [make_engine(database_url) for _ in range(6)]
    barrier = threading.Barrier(len(engines))
    results: list[ledger.Claim] = []

    def race(own_engine, index):
        barrier.wait()
        results.append(ledger.claim(own_engine, "collect", SLOT, owner=f"worker-{index}"))

    threads = [threading.Thread(target=race, args=(e, i)) for i, e in enumerate(engines)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for own in engines:
        own.dispose()
    winners = [r for r in results if r.ok]
    assert len(results) == 6 and len(winners) == 1
    assert {r.reason for r in results if not r.ok} == {"done"}
    rows = all_runs(engine)
    assert [(r.job, ledger.as_utc(r.slot), r.status) for r in rows] == [("collect", SLOT, "running")]


def test_a_job_never_runs_twice_at_once_even_for_different_slots(engine):
    first = ledger.claim(engine, "collect", SLOT)
    second = ledger.claim(engine, "collect", SLOT + timedelta(minutes=30))
    assert first.ok and not second.ok and second.reason == "running"
    assert ledger.claim(engine, "moderate", SLOT).ok  # other jobs are not blocked
    ledger.finish(engine, first.run_id, "ok", counts={"posts": 3})
    assert ledger.claim(engine, "collect", SLOT + timedelta(minutes=30)).ok


def test_dead_owners_runs_are_marked_abandoned_and_owed_once(engine):
    crashed = ledger.claim(engine, "collect", SLOT, owner=dead_owner())
    mine = ledger.claim(engine, "moderate", SLOT)
    marked = ledger.mark_abandoned(engine)
    assert [run.id for run in marked] == [crashed.run_id]
    statuses = {run.job: run.status for run in all_runs(engine)}
    assert statuses == {"collect": "abandoned", "moderate": "running"}
    assert [run.id for run in ledger.owed_recoveries(engine)] == [crashed.run_id]
    redo = ledger.claim(engine, "collect", SLOT + timedelta(minutes=5), kind="recovery", retry_of=crashed.run_id)
    assert redo.ok
    assert ledger.owed_recoveries(engine) == []
    assert mine.ok


def test_runs_of_other_hosts_are_abandoned_only_when_old(engine):
    claim = ledger.claim(engine, "collect", SLOT, owner="elsewhere:123:456", now=datetime.now(timezone.utc) - timedelta(hours=1))
    assert ledger.mark_abandoned(engine, older_than=timedelta(hours=12)) == []
    assert [r.id for r in ledger.mark_abandoned(engine, older_than=timedelta(minutes=30))] == [claim.run_id]


def test_retries_then_records_failure_with_the_error(engine, monkeypatch, home):
    calls = []

    def flaky(ws, campaigns, should_stop):
        calls.append(campaigns)
        raise RuntimeError("Quelle antwortet nicht")

    monkeypatch.setitem(tasks.TASKS, "flaky", flaky)
    ws = type("WS", (), {"engine": engine, "home": home})()
    job = spec("flaky-job", "flaky", max_retries=2, retry_delay_seconds=0, campaigns=["siegen"])
    outcome = JobRunner(ws, quiet_settings()).run(job, SLOT)
    assert outcome.status == "failed" and outcome.attempts == 3
    assert calls == [["siegen"]] * 3
    (run,) = all_runs(engine)
    assert run.status == "failed" and run.attempts == 3 and "Quelle antwortet nicht" in run.error
    assert JobRunner(ws, quiet_settings()).run(job, SLOT).status == "duplicate"
    assert len(calls) == 3


def test_prune_keeps_recent_and_newest_per_job(engine):
    old = datetime.now(timezone.utc) - timedelta(days=200)
    for index in range(5):
        claim = ledger.claim(engine, "collect", SLOT - timedelta(days=index), now=old)
        ledger.finish(engine, claim.run_id, "ok")
    recent = ledger.claim(engine, "moderate", SLOT)
    ledger.finish(engine, recent.run_id, "ok")
    assert prune_ledger(engine, keep_days=90, keep_per_job=2) == 3
    assert sorted(r.job for r in all_runs(engine)) == ["collect", "collect", "moderate"]


def test_run_job_cli_records_a_manual_run(home, monkeypatch, capsys):
    seen = []

    def probe(ws, campaigns, should_stop):
        seen.append(campaigns)
        return {"posts_new": 7}

    monkeypatch.setitem(tasks.TASKS, "probe", probe)
    (home.root / "jobs").mkdir()
    (home.root / "jobs" / "probe.toml").write_text('task = "probe"\n[trigger]\ntype = "interval"\nminutes = 5\n')
    assert main(["--home", str(home.root), "run-job", "probe", "--campaign", "siegen"]) == 0
    assert "probe: ok" in capsys.readouterr().out
    assert seen == [["siegen"]]
    assert main(["--home", str(home.root), "run-job", "probe", "--campaign", "nirgendwo"]) == 2
    assert "unbekannte Kampagne" in capsys.readouterr().err
    assert main(["--home", str(home.root), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (job,) = data["jobs"]
    assert job["job"] == "probe" and job["last_status"] == "ok" and job["last_kind"] == "manual"
    assert job["consecutive_failures"] == 0 and job["next_run"] is not None
    assert data["scheduler"] == {"running": False}


def test_run_job_of_unknown_job_says_which_exist(home, capsys):
    assert main(["--home", str(home.root), "run-job", "gibtsnicht"]) == 2
    err = capsys.readouterr().err.replace("\n", "")
    assert "gibtsnicht" in err and "collect" in err and "Traceback" not in err
