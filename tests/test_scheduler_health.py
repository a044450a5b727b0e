"""Telling operators: alert and recovery mails (real SMTP on 127.0.0.1), /healthz, /metrics, JSON logs."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from campaign_worker.scheduler import ledger, tasks
from campaign_worker.scheduler.health import HealthServer
from campaign_worker.scheduler.runner import JobRunner
from campaign_worker.scheduler.logs import setup_logging
from campaign_worker.publish.mailer import MailError, send_mail
from campaign_worker.config.worker import AlertSettings, SmtpSettings, WorkerSettings
from tests.conftest import free_port
from tests.scheduler_support import spec

SLOT = datetime(2026, 11, 2, 10, 0, tzinfo=timezone.utc)


def test_send_mail_delivers_text_and_html_with_umlauts(smtp):
    send_mail(smtp.settings, ["team@example.org"], "Wochenübersicht", "Grüße aus Siegen", "<p>Grüße</p>")
    (message,) = smtp.messages
    assert message["Subject"] == "Wochenübersicht" and message["From"] == "worker@example.org"
    assert message.get_body(("plain",)).get_content().strip() == "Grüße aus Siegen"
    assert "<p>Grüße</p>" in message.get_body(("html",)).get_content()
    assert smtp.envelopes[0].rcpt_tos == ["team@example.org"]


def test_send_mail_names_the_server_when_it_is_unreachable():
    settings = SmtpSettings(host="127.0.0.1", port=free_port(), timeout_seconds=2)
    with pytest.raises(MailError, match="127.0.0.1"):
        send_mail(settings, "a@example.org", "x", "y")


def test_alert_after_n_failures_then_one_recovery_mail(smtp, engine, home, monkeypatch):
    failing = {"on": True}

    def fragile(ws, campaigns, should_stop):
        if failing["on"]:
            raise ConnectionError("Instagram antwortet mit 401 – Sitzung abgelaufen")
        return {"posts_new": 2}

    monkeypatch.setitem(tasks.TASKS, "fragile", fragile)
    settings = WorkerSettings(smtp=smtp.settings, alerts=AlertSettings(after_failures=2, recipients=["betrieb@example.org"]))
    runner = JobRunner(type("WS", (), {"engine": engine, "home": home})(), settings)
    job = spec("collect", "fragile")
    slot = iter(SLOT + timedelta(minutes=30 * i) for i in range(10))

    assert runner.run(job, next(slot)).status == "failed"
    assert smtp.messages == []
    runner.run(job, next(slot))
    runner.run(job, next(slot))  # still failing: no second alert
    assert len(smtp.messages) == 1
    alert = smtp.messages[0]
    assert "collect" in alert["Subject"] and "schlägt fehl" in alert["Subject"]
    assert "Sitzung abgelaufen" in alert.get_content()
    assert smtp.envelopes[0].rcpt_tos == ["betrieb@example.org"]

    failing["on"] = False
    assert runner.run(job, next(slot)).status == "ok"
    runner.run(job, next(slot))
    assert len(smtp.messages) == 2
    assert "läuft wieder" in smtp.messages[1]["Subject"]


def test_healthz_and_metrics_report_jobs_posts_and_queue(engine):
    claim = ledger.claim(engine, "collect", SLOT)
    ledger.finish(engine, claim.run_id, "ok", counts={"posts_new": 3})
    failed = ledger.claim(engine, "digest", SLOT)
    ledger.finish(engine, failed.run_id, "failed", error="kaputt")
    running = {"value": True}
    server = HealthServer(engine, host="127.0.0.1", port=0, scheduler_running=lambda: running["value"],
                          jobs=lambda: ["collect", "digest"]).start()
    base = "http://%s:%d" % server.address
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
            assert response.status == 200
            assert json.loads(response.read())["status"] == "ok"
        with urllib.request.urlopen(base + "/metrics", timeout=5) as response:
            text = response.read().decode()
        assert 'campaign_worker_job_last_success_timestamp_seconds{job="collect"}' in text
        assert 'campaign_worker_job_runs_total{job="digest",status="failed"} 1.0' in text
        assert 'campaign_worker_job_consecutive_failures{job="digest"} 1.0' in text
        assert "campaign_worker_moderation_queue_size" in text and "campaign_worker_posts_collected" in text
        running["value"] = False
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(base + "/healthz", timeout=5)
        assert error.value.code == 503
    finally:
        server.stop()


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_json_log_lines_carry_the_run_context(capsys, restore_logging):
    setup_logging("json", "INFO")
    logging.getLogger("campaign_worker.jobrun").info("Ende collect: ok", extra={"job": "collect", "slot": "2026-11-02T10:00:00+00:00", "status": "ok"})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["message"] == "Ende collect: ok" and entry["job"] == "collect" and entry["status"] == "ok"
    assert entry["level"] == "INFO" and entry["time"].endswith("+00:00")
