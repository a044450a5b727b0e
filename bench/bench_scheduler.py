"""Scheduler benchmarks: how late runs start, and what an idle `campaign-worker run` costs.

- `schedule_lateness_p99_s`: four no-op jobs every second through the full path (APScheduler with the
  SQLAlchemy job store, slot claimed in the ledger, outcome recorded); lateness = ledger start −
  nominal slot. Baseline: bare APScheduler (memory store, no ledger) with four no-op jobs every
  second, measured in the same run.
- `scheduler_start_delay_p99_s`: two no-op jobs every second; per due slot, task entered −
  nominal slot (a slot that never started counts until the end of the window), while a 500-post
  moderation batch runs again and again (`moderate --recheck` on the same posts).
  Baseline: the same two jobs over the same window with nothing else running.
- `idle_cpu_percent`: CPU of a `campaign-worker run` subprocess whose jobs are not due, over a
  window after start-up. Baseline: `python -c 'import time; time.sleep(N)'` over the same window
  (floored at one clock tick, the resolution of /proc accounting, so the ratio stays finite).

About 100 seconds in total.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timezone
from pathlib import Path
from figures import figure

LATENESS_SECONDS = 20
JOBS = 4  # jobs due in the same second, in both measurements
IDLE_WARMUP = 6
IDLE_WINDOW = 25
TICK = os.sysconf("SC_CLK_TCK")


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def ours_lateness() -> list[float]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from campaign_worker.scheduler import ledger, tasks
    from campaign_worker.home import Home
    from campaign_worker.scheduler.jobs import JobSpec
    from campaign_worker.store.models import JobRun
    from campaign_worker.scheduler.service import WorkerScheduler
    from campaign_worker.config.worker import AlertSettings, MetricsSettings, WorkerSettings
    from campaign_worker.workspace import Workspace

    tasks.TASKS["bench_noop"] = lambda ws, campaigns, should_stop: {}
    specs = {
        f"noop{i}": JobSpec.model_validate({"name": f"noop{i}", "task": "bench_noop", "trigger": {"type": "interval", "seconds": 1}})
        for i in range(JOBS)
    }
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Home(Path(tmp) / "home"))
        settings = WorkerSettings(metrics=MetricsSettings(enabled=False), alerts=AlertSettings(enabled=False))
        worker = WorkerScheduler(ws, settings, specs=specs)
        worker.start()
        time.sleep(LATENESS_SECONDS)
        worker.shutdown()
        with Session(ws.engine) as session:
            runs = session.execute(select(JobRun).where(JobRun.status == "ok")).scalars().all()
            lateness = [(ledger.as_utc(r.started_at) - ledger.as_utc(r.slot)).total_seconds() for r in runs]
        ws.close()
    return lateness


DELAY_SECONDS = 12


def start_delays(with_moderation: bool) -> list[float]:
    """Per due slot of two 1-second jobs over DELAY_SECONDS: task entered − slot.

    A slot that never started counts with the time from its slot to the end of the window (a
    lower bound of its delay), so skipped and missed slots are not silently left out.
    """
    import threading
    from datetime import datetime

    from sqlalchemy import select

    from campaign_worker.config.worker import AlertSettings, MetricsSettings, WorkerSettings
    from campaign_worker.home import Home
    from campaign_worker.moderation.job import moderate
    from campaign_worker.post import make_post
    from campaign_worker.scheduler import tasks
    from campaign_worker.scheduler.jobs import JobSpec
    from campaign_worker.scheduler.service import WorkerScheduler
    from campaign_worker.store.ingest import store_posts
    from campaign_worker.store.models import JobRun
    from campaign_worker.workspace import Workspace

    entered: dict[str, list[float]] = {f"probe{i}": [] for i in range(2)}
    for name, times in entered.items():
        tasks.TASKS[f"bench_{name}"] = lambda ws, campaigns, should_stop, times=times: times.append(time.time()) or {}
    specs = {
        name: JobSpec.model_validate({"name": name, "task": f"bench_{name}", "trigger": {"type": "interval", "seconds": 1},
                                      "misfire_grace_seconds": 30})
        for name in entered
    }
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Home(Path(tmp) / "home"))
        base = datetime(2026, 10, 5, 8, tzinfo=timezone.utc)
        captions = ["Sonntag am Oberen Schloss #meinherztraegtkrone", "Jetzt Bitcoin kaufen!!! #meinherztraegtkrone",
                    "Ausbildung bei der Volksbank #azubi #meinherztraegtkrone"]
        store_posts(ws.engine, "siegen", "bench", [
            make_post(platform="instagram", external_id=f"B{n:05d}", caption=f"{captions[n % 3]} Nr. {n}",
                      posted_at=base.replace(minute=n % 60, second=n // 60 % 60), author_username=f"user{n % 37}")
            for n in range(500)
        ])
        settings = WorkerSettings(metrics=MetricsSettings(enabled=False), alerts=AlertSettings(enabled=False))
        worker = WorkerScheduler(ws, settings, specs=specs)
        worker.start()
        stop = threading.Event()
        batches = [0]

        def moderating() -> None:
            while not stop.is_set():
                moderate(ws, ["siegen"], recheck=True)
                batches[0] += 1

        time.sleep(1.5)
        window_start = time.time()
        thread = threading.Thread(target=moderating) if with_moderation else None
        if thread:
            thread.start()
        time.sleep(DELAY_SECONDS)
        stop.set()
        if thread:
            thread.join()
        window_end = time.time()
        worker.shutdown()
        with ws.engine.connect() as connection:
            ran = connection.execute(select(JobRun.job, JobRun.slot).where(JobRun.status == "ok").order_by(JobRun.slot)).all()
        ws.close()
    delays: list[float] = []
    first, last = int(window_start) + 1, int(window_end) - 2
    for name, times in entered.items():
        slots = [slot.replace(tzinfo=timezone.utc).timestamp() for job, slot in ran if job == name]
        started = dict(zip(slots, sorted(times)))
        for second in range(first, last + 1):
            delays.append(started[second] - second if second in started else window_end - second)
    if with_moderation:
        print(f"   {batches[0]} moderation batches of 500 posts in {window_end - window_start:.1f} s", file=sys.stderr)
    return delays


def bare_lateness() -> list[float]:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

    starts: list[float] = []
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    for _ in range(JOBS):
        scheduler.add_job(lambda: starts.append(time.time()), CronTrigger(second="*", timezone=timezone.utc), misfire_grace_time=30)
    scheduler.start()
    time.sleep(LATENESS_SECONDS)
    scheduler.shutdown()
    return [t - int(t) for t in starts]  # each run belongs to the whole second before it


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def idle_cpu() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        (home / "jobs").mkdir(parents=True)
        (home / "config").mkdir()
        (home / "jobs" / "weekly.toml").write_text('task = "retention"\n[trigger]\ntype = "cron"\nday_of_week = "sun"\nhour = 5\n')
        (home / "config" / "worker.toml").write_text("[metrics]\nport = 0\n[alerts]\nenabled = false\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_WORKER_")}
        env["CAMPAIGN_WORKER_HOME"] = str(home)
        worker = subprocess.Popen([sys.executable, "-c", "from campaign_worker.cli import run; run()", "run"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sleeper = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({IDLE_WARMUP + IDLE_WINDOW + 5})"])
        try:
            time.sleep(IDLE_WARMUP)
            if worker.poll() is not None:
                raise RuntimeError(f"campaign-worker run exited with {worker.returncode}")
            start_worker, start_sleeper, started = _cpu_seconds(worker.pid), _cpu_seconds(sleeper.pid), time.monotonic()
            time.sleep(IDLE_WINDOW)
            elapsed = time.monotonic() - started
            worker_cpu = _cpu_seconds(worker.pid) - start_worker
            sleeper_cpu = _cpu_seconds(sleeper.pid) - start_sleeper
        finally:
            worker.terminate()
            sleeper.terminate()
            worker.wait(30)
            sleeper.wait(30)
    floor = 1 / TICK
    return 100 * worker_cpu / elapsed, 100 * max(sleeper_cpu, floor) / elapsed


def main() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    ours = ours_lateness()
    bare = bare_lateness()
    print(f"   lateness ours: n={len(ours)} p50={statistics.median(ours):.4f}s p99={_p(ours, 0.99):.4f}s; "
          f"bare APScheduler: n={len(bare)} p50={statistics.median(bare):.4f}s p99={_p(bare, 0.99):.4f}s", file=sys.stderr)
    busy, quiet = start_delays(True), start_delays(False)
    print(f"   start delay beside moderation: n={len(busy)} p99={_p(busy, 0.99):.4f}s; "
          f"alone: n={len(quiet)} p99={_p(quiet, 0.99):.4f}s", file=sys.stderr)
    cpu, cpu_baseline = idle_cpu()
    print(f"   idle CPU: worker {cpu:.3f}% vs sleeping python {cpu_baseline:.3f}%", file=sys.stderr)
    ours_p99, bare_p99 = _p(ours, 0.99), _p(bare, 0.99)
    return {
        "schedule_lateness_p99_s": figure(ours_p99, "s", bare_p99),
        "scheduler_start_delay_p99_s": figure(_p(busy, 0.99), "s", _p(quiet, 0.99)),
        "idle_cpu_percent": figure(cpu, "%", cpu_baseline),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(main(), indent=2))
