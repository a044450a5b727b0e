"""Alert mails: one after N consecutive failures of a job, one when it recovers.

The state (is this job alerting?) lives in the `job_alert` table, so a restart neither repeats
an alert nor forgets to send the recovery. A mail that cannot be sent is logged and tried again
after the next run.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.scheduler.ledger import consecutive_failures
from campaign_worker.publish.mailer import MailError, send_mail
from campaign_worker.store.models import JobRun, job_alert_table as table
from campaign_worker.timeutil import utcnow
from campaign_worker.config.worker import WorkerSettings

log = logging.getLogger(__name__)


def _state(engine: Engine, job: str) -> dict:
    with reading(engine) as connection:
        row = connection.execute(select(table).where(table.c.job == job)).mappings().first()
    return dict(row) if row else {"job": job, "alerting": False, "failures": 0}


def _save(engine: Engine, job: str, **values) -> None:
    with transaction(engine) as connection:
        insert_ignore(connection, table, [{"job": job, "alerting": False, "failures": 0}], ["job"])
        connection.execute(update(table).where(table.c.job == job).values(**values))


def after_run(engine: Engine, settings: WorkerSettings, job: str, run: JobRun | None, *, host_label: str = "") -> str | None:
    """Call after every finished run of `job`; returns 'alert' or 'recovery' when a mail went out."""
    alerts = settings.alerts
    if not alerts.enabled:
        return None
    failures = consecutive_failures(engine, job)
    state = _state(engine, job)
    if failures >= alerts.after_failures and not state["alerting"]:
        subject = f"{alerts.subject_prefix} Job {job} schlägt fehl ({failures}× in Folge) / job failing"
        error = (run.error if run is not None else None) or "(keine Meldung / no message)"
        text = (
            f"Der Job „{job}“ ist {failures}-mal in Folge fehlgeschlagen{host_label}.\n"
            f"The job {job!r} failed {failures} times in a row.\n\n"
            f"Letzter Fehler / last error:\n{error}\n\n"
            "Details: campaign-worker status\n"
            "Sobald ein Lauf wieder gelingt, kommt eine Entwarnung. / A recovery mail follows when it works again.\n"
        )
        if _send(settings, subject, text):
            _save(engine, job, alerting=True, failures=failures, alerted_at=utcnow())
            return "alert"
        return None
    if failures == 0 and state["alerting"]:
        subject = f"{alerts.subject_prefix} Job {job} läuft wieder / job recovered"
        text = (
            f"Der Job „{job}“ ist wieder erfolgreich gelaufen (vorher {state['failures']}+ Fehlschläge).\n"
            f"The job {job!r} succeeded again.\n"
        )
        if _send(settings, subject, text):
            _save(engine, job, alerting=False, failures=0, recovered_at=utcnow())
            return "recovery"
        return None
    if state["alerting"] and failures != state["failures"]:
        _save(engine, job, failures=failures)
    return None


def _send(settings: WorkerSettings, subject: str, text: str) -> bool:
    if not settings.alerts.recipients:
        log.warning("Alarm ohne Empfänger (alerts.recipients ist leer) / alert without recipients: %s", subject)
        return False
    try:
        send_mail(settings.smtp, settings.alerts.recipients, subject, text)
    except MailError as exc:
        log.error("Alarm-Mail nicht gesendet / alert mail not sent: %s", exc)
        return False
    return True


def alerting_jobs(engine: Engine) -> list[str]:
    with reading(engine) as connection:
        return list(connection.execute(select(table.c.job).where(table.c.alerting.is_(True))).scalars())
