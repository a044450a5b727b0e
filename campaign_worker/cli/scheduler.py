"""Operations commands: `run` (the scheduler), `worker` (scale-out), `run-job`, `jobs` and `status`."""

from __future__ import annotations

import os
import signal
from datetime import datetime, timedelta
from typing import Optional

import typer

from campaign_worker.cli.common import UserError, console, err_console, state

WEEKDAYS_DE = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
STATUS_DE = {
    "ok": "ok",
    "partial": "teilweise (gestoppt)",
    "failed": "FEHLER",
    "running": "läuft",
    "abandoned": "abgebrochen",
    "missed": "verpasst",
    "skipped": "übersprungen",
}


def counts_lines(counts: dict) -> list[str]:
    """A job's counts for people: the totals on one line, then one line per campaign (no Python dicts)."""

    def flat(values: dict) -> str:
        shown = [f"{k} {v}" for k, v in values.items() if not isinstance(v, (dict, list))]
        return ", ".join(shown) or "–"

    lines = [flat(counts)]
    per_campaign = counts.get("campaigns")
    if isinstance(per_campaign, dict):
        lines += [f"{slug}: {flat(values) if isinstance(values, dict) else values}" for slug, values in per_campaign.items()]
    return lines


def german_time(value: datetime | None) -> str:
    from campaign_worker.timeutil import BERLIN, as_utc

    if value is None:
        return "–"
    local = as_utc(value).astimezone(BERLIN)
    return f"{WEEKDAYS_DE[local.weekday()]} {local:%d.%m.%Y %H:%M}"


def run_command(
    ctx: typer.Context,
    log_format: Optional[str] = typer.Option(None, "--log-format", help="text (Standard) oder json / text (default) or json."),
) -> None:
    """Scheduler starten (läuft bis SIGTERM/Strg+C) / run the scheduler until stopped."""
    import logging

    from campaign_worker.config.worker import load_settings
    from campaign_worker.scheduler import lock as scheduler_lock
    from campaign_worker.scheduler.health import HealthServer
    from campaign_worker.scheduler.jobs import load_jobs
    from campaign_worker.scheduler.lock import SchedulerLocked
    from campaign_worker.scheduler.logs import setup_logging
    from campaign_worker.scheduler.service import WorkerScheduler

    st = state(ctx)
    home = st.home
    settings = load_settings(home)
    chosen = log_format or settings.logging.format
    if chosen not in ("text", "json"):
        raise UserError(f"--log-format {chosen!r}: erlaubt sind text oder json / use text or json")
    log_file = home.root / settings.logging.file if settings.logging.file else None
    restore_logging = setup_logging(chosen, "DEBUG" if st.debug else settings.logging.level, log_file,
                                    max_bytes=settings.logging.max_bytes, backups=settings.logging.backup_count)
    ctx.call_on_close(restore_logging)
    specs = load_jobs(home)
    ws = st.workspace()
    worker = WorkerScheduler(ws, settings, specs=specs)
    # Say "another scheduler runs" before complaining about its metrics port.
    scheduler_lock.ensure_free(ws.engine, ttl=settings.scheduler.lock_ttl_seconds, owner=worker.owner)
    health = None
    if settings.metrics.enabled:
        try:
            health = HealthServer(
                ws.engine, host=settings.metrics.host, port=settings.metrics.port,
                scheduler_running=lambda: worker.scheduler.running and not worker.stop_event.is_set(),
                jobs=lambda: sorted(worker.enabled_specs()), overdue=worker.overdue,
            )
        except OSError as exc:
            raise UserError(
                f"Metrik-Port {settings.metrics.host}:{settings.metrics.port} nicht nutzbar ({exc.strerror}); "
                "ändere [metrics] port in config/worker.toml / metrics port unavailable"
            ) from None
    try:
        worker.start()
    except SchedulerLocked:
        if health:
            health.server.server_close()
        raise
    if health:
        health.start()

    log = logging.getLogger(__name__)

    def on_signal(signum, _frame):
        if worker.stop_event.is_set():
            log.error("zweites Signal: sofortiger Abbruch / second signal: exiting now")
            os._exit(128 + signum)
        log.info("Signal %s: beende nach dem laufenden Schritt / stopping after the current step", signal.Signals(signum).name)
        worker.request_stop()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        worker.serve()
    finally:
        worker.shutdown(wait=True)
        if health:
            health.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_job_command(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Name des Jobs (Dateiname in jobs/ ohne .toml) / job name."),
    campaign: Optional[list[str]] = typer.Option(None, "--campaign", "-c", help="Nur diese Kampagne(n) / only these campaigns."),
) -> None:
    """Einen Job einmal sofort ausführen (im Laufprotokoll als 'manual') / run a job once now."""
    from campaign_worker.config.worker import load_settings
    from campaign_worker.scheduler import ledger
    from campaign_worker.scheduler.jobs import get_job
    from campaign_worker.scheduler.runner import JobRunner
    from campaign_worker.timeutil import utcnow

    st = state(ctx)
    spec = get_job(st.home, name)
    ws = st.workspace()
    for slug in campaign or []:
        ws.campaign(slug)
    settings = load_settings(st.home)
    ledger.mark_abandoned(ws.engine, older_than=timedelta(hours=settings.scheduler.abandon_after_hours))
    runner = JobRunner(ws, settings)

    def on_signal(signum, _frame):
        if runner.stop_event.is_set():
            raise KeyboardInterrupt  # second signal: stop now (the run is recorded as failed)
        err_console.print("Stopp angefordert: beende nach dem aktuellen Schritt … / stopping after the current step")
        runner.stop_event.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        outcome = runner.run(spec, utcnow(), kind="manual", campaigns=list(campaign) if campaign else None)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if outcome.status == "busy":
        raise UserError(f"Job {name} läuft gerade (Scheduler oder anderer Prozess) / job {name} is running elsewhere; try later")
    line = f"{name}: {STATUS_DE.get(outcome.status, outcome.status)} in {outcome.seconds:.1f} s"
    line += "".join(f"\n  {text}" for text in counts_lines(outcome.counts))
    if outcome.status == "failed":
        err_console.print(line, markup=False, highlight=False)
        err_console.print(outcome.error or "", markup=False, highlight=False)
        raise typer.Exit(1)
    console.print(line, markup=False, highlight=False)


def jobs_command(ctx: typer.Context) -> None:
    """Deklarierte Jobs mit nächstem Lauf / declared jobs with their next run."""
    from rich.table import Table

    from campaign_worker.scheduler.jobs import jobs_folder, load_jobs
    from campaign_worker.scheduler.status import next_runs
    from campaign_worker.timeutil import utcnow

    st = state(ctx)
    specs = load_jobs(st.home)
    ws = st.workspace()
    upcoming = next_runs(ws.engine, specs, utcnow())
    table = Table(title=f"Jobs aus / from {jobs_folder(st.home)}")
    for column in ("Job", "Aufgabe", "Wann", "Kampagnen", "Nächster Lauf"):
        table.add_column(column)
    for name, spec in sorted(specs.items()):
        at, stored = upcoming[name]
        when = german_time(at) + ("" if stored or at is None else " (berechnet)")
        table.add_row(name, spec.task, spec.describe_when() + ("" if spec.enabled else " – AUS"),
                      ", ".join(spec.campaigns) if spec.campaigns else "alle", when)
    console.print(table)


def status_command(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Als JSON ausgeben / print JSON."),
) -> None:
    """Zustand der Jobs und Quellen / health of jobs and sources."""
    from rich.table import Table

    import json

    from campaign_worker.scheduler.jobs import load_jobs
    from campaign_worker.scheduler.status import status_data

    st = state(ctx)
    specs = load_jobs(st.home)
    ws = st.workspace()
    data = status_data(ws, specs)
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    sched = data["scheduler"]
    if sched["running"]:
        console.print(f"Scheduler läuft ({sched['owner']}, seit {german_time(datetime.fromisoformat(sched['since']))}, "
                      f"Herzschlag vor {sched['heartbeat_age_s']:.0f} s)", markup=False)
    else:
        console.print("Scheduler läuft nicht / not running", markup=False)
    if data.get("workers"):
        w = data["workers"]
        waiting = ", ".join(f"{q} {n}" for q, n in sorted(w["queue_depth"].items())) or "leer / empty"
        console.print(f"Worker aktiv / alive: {w['workers_alive']} · wartend / queued: {waiting} · "
                      + " · ".join(f"{s} {n}" for s, n in sorted(w["jobs_by_state"].items())), markup=False)
    for late in data["overdue_jobs"]:
        last = german_time(datetime.fromisoformat(late["last_completed_slot"])) if late["last_completed_slot"] else "keiner seit dem Start"
        console.print(f"Überfällig / overdue: {late['job']} – letzter fertiger Slot / last completed slot: {last} "
                      f"(erlaubt / allowed: {late['allowed_s'] // 60} min)", markup=False)
    table = Table(title="Jobs")
    for column in ("Job", "Letzter Lauf", "Ergebnis", "Dauer", "Nächster Lauf", "Fehler in Folge"):
        table.add_column(column)
    for job in data["jobs"]:
        last = german_time(datetime.fromisoformat(job["last_started"])) if job["last_started"] else "noch nie"
        result = STATUS_DE.get(job["last_status"], job["last_status"] or "–")
        if job["last_error"]:
            result += f": {job['last_error'][:60]}"
        duration = f"{job['duration_s']:.1f} s" if job["duration_s"] is not None else "–"
        nxt = german_time(datetime.fromisoformat(job["next_run"])) if job["next_run"] else "–"
        failures = str(job["consecutive_failures"]) + (" (Alarm)" if job["alerting"] else "")
        table.add_row(job["job"], last, result, duration, nxt, failures)
    console.print(table)
    if data["sources"]:
        sources = Table(title="Quellen / sources")
        for column in ("Quelle", "Zuletzt", "Ergebnis", "Nicht vor", "Meldung"):
            sources.add_column(column)
        for s in data["sources"]:
            sources.add_row(
                s["key"],
                german_time(datetime.fromisoformat(s["last_run"])) if s["last_run"] else "–",
                s["last_status"] or "–",
                german_time(datetime.fromisoformat(s["not_before"])) if s["waiting"] else "–",
                (s["message"] or "")[:60],
            )
        console.print(sources)


def worker_command(
    ctx: typer.Context,
    queues: Optional[str] = typer.Option(None, "--queues", help="Kommagetrennt: collect,moderate,publish (Standard: alle) / comma-separated queues."),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", min=1, max=64, help="Jobs gleichzeitig / jobs at once (config/worker.toml [workers])."),
    log_format: Optional[str] = typer.Option(None, "--log-format", help="text (Standard) oder json / text (default) or json."),
) -> None:
    """Scale-out-Worker auf PostgreSQL starten (beliebig viele) / run a scale-out worker (PostgreSQL)."""
    from campaign_worker.config.worker import load_settings
    from campaign_worker.scheduler.logs import setup_logging
    from campaign_worker.scheduler.workers import QUEUES, Workers

    st = state(ctx)
    chosen = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    unknown = sorted(set(chosen or ()) - set(QUEUES))
    if unknown:
        raise UserError(f"--queues: unbekannt / unknown {', '.join(unknown)}; erlaubt / allowed: {', '.join(QUEUES)}")
    settings = load_settings(st.home)
    fmt = log_format or settings.logging.format
    if fmt not in ("text", "json"):
        raise UserError(f"--log-format {fmt!r}: erlaubt sind text oder json / use text or json")
    ctx.call_on_close(setup_logging(fmt, "DEBUG" if st.debug else settings.logging.level, None))
    workers = Workers(st.workspace(), settings.workers)
    err_console.print(f"Worker startet / starting: Warteschlangen {', '.join(chosen or QUEUES)}, "
                      f"{concurrency or settings.workers.concurrency} gleichzeitig", markup=False)
    workers.run_worker(chosen, concurrency)


def register(app: typer.Typer) -> None:
    app.command("run")(run_command)
    app.command("worker")(worker_command)
    app.command("run-job")(run_job_command)
    app.command("jobs")(jobs_command)
    app.command("status")(status_command)
