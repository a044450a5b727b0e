"""`/healthz` and Prometheus `/metrics`, served by `run` on a local port.

Metrics are read from the database at scrape time (a custom collector), so they are right
after a restart and cost nothing between scrapes: last success per job, runs by job and status,
consecutive failures, posts collected, moderation queue size, and the scheduler heartbeat.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from campaign_worker.scheduler import ledger, lock as scheduler_lock
from campaign_worker.store.db import reading
from campaign_worker.store.models import CampaignPost, Post

log = logging.getLogger(__name__)


class WorkerCollector:
    """Reads the ledger and the post tables on every scrape."""

    def __init__(self, engine: Engine, jobs: Callable[[], list[str]]):
        self.engine = engine
        self.jobs = jobs

    def collect(self):
        last_ok = GaugeMetricFamily("campaign_worker_job_last_success_timestamp_seconds", "Last successful run per job (Unix time).", labels=["job"])
        for job, at in sorted(ledger.last_success(self.engine).items()):
            last_ok.add_metric([job], at.timestamp())
        yield last_ok

        runs = CounterMetricFamily("campaign_worker_job_runs", "Runs recorded in the ledger, by job and status.", labels=["job", "status"])
        for (job, status), count in sorted(ledger.runs_by_status(self.engine).items()):
            runs.add_metric([job, status], count)
        yield runs

        failing = GaugeMetricFamily("campaign_worker_job_consecutive_failures", "Failed runs in a row per declared job.", labels=["job"])
        for job in self.jobs():
            failing.add_metric([job], ledger.consecutive_failures(self.engine, job))
        yield failing

        with reading(self.engine) as connection:
            posts = connection.execute(select(Post.platform, func.count()).group_by(Post.platform)).all()
            queue = connection.execute(
                select(CampaignPost.campaign, CampaignPost.state, func.count()).group_by(CampaignPost.campaign, CampaignPost.state)
            ).all()
        collected = GaugeMetricFamily("campaign_worker_posts_collected", "Posts stored, by platform.", labels=["platform"])
        for platform, count in posts:
            collected.add_metric([platform], count)
        yield collected

        queue_size = GaugeMetricFamily("campaign_worker_moderation_queue_size", "Posts waiting for a human decision.", labels=["campaign"])
        by_state = GaugeMetricFamily("campaign_worker_campaign_posts", "Campaign posts by moderation state.", labels=["campaign", "state"])
        waiting: dict[str, int] = {}
        for campaign, state, count in queue:
            by_state.add_metric([campaign, state], count)
            if state in ("new", "pending", "later"):
                waiting[campaign] = waiting.get(campaign, 0) + count
        for campaign, count in sorted(waiting.items()):
            queue_size.add_metric([campaign], count)
        yield queue_size
        yield by_state

        yield from self._task_queue()

        holder = scheduler_lock.holder(self.engine)
        heartbeat = GaugeMetricFamily("campaign_worker_scheduler_heartbeat_timestamp_seconds", "Last heartbeat of the running scheduler.")
        if holder and holder["heartbeat_at"]:
            heartbeat.add_metric([], holder["heartbeat_at"].timestamp())
        yield heartbeat


    def _task_queue(self):
        """Scale-out workers: queue depth, jobs per state, living workers (PostgreSQL only)."""
        from campaign_worker.scheduler.taskqueue import queue_overview

        overview = queue_overview(self.engine)
        if overview is None:
            return
        depth = GaugeMetricFamily("campaign_worker_queue_depth", "Jobs waiting in each task queue.", labels=["queue"])
        for queue, count in sorted(overview["queue_depth"].items()):
            depth.add_metric([queue], count)
        yield depth
        states = GaugeMetricFamily("campaign_worker_queue_jobs", "Task-queue jobs by state.", labels=["state"])
        for state, count in sorted(overview["jobs_by_state"].items()):
            states.add_metric([state], count)
        yield states
        yield GaugeMetricFamily("campaign_worker_workers_alive", "Scale-out workers with a recent heartbeat.", value=overview["workers_alive"])


def health(
    engine: Engine,
    scheduler_running: Callable[[], bool],
    jobs: Callable[[], list[str]],
    overdue: Callable[[], list[dict]] = list,
) -> tuple[int, dict]:
    """(HTTP status, body): 200 while the scheduler runs, the database answers and no job is
    overdue (no completed slot for longer than its schedule allows, whatever the reason), else 503."""
    body: dict = {"scheduler": "running" if scheduler_running() else "stopped"}
    try:
        from campaign_worker.scheduler.alerts import alerting_jobs

        body["failing_jobs"] = alerting_jobs(engine)
        body["overdue_jobs"] = overdue()
        body["database"] = "ok"
    except Exception as exc:
        body["database"] = f"error: {exc.__class__.__name__}"
    healthy = body["scheduler"] == "running" and body["database"] == "ok" and not body.get("overdue_jobs")
    body["status"] = ("degraded" if body.get("failing_jobs") else "ok") if healthy else "unhealthy"
    return (200 if healthy else 503), body


class HealthServer:
    """A small threaded HTTP server on a local address; `port=0` picks a free port."""

    def __init__(self, engine: Engine, *, host: str, port: int, scheduler_running: Callable[[], bool], jobs: Callable[[], list[str]],
                 overdue: Callable[[], list[dict]] = list):
        registry = CollectorRegistry(auto_describe=False)
        registry.register(WorkerCollector(engine, jobs))

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                path = self.path.split("?", 1)[0]
                if path == "/healthz":
                    status, body = health(engine, scheduler_running, jobs, overdue)
                    self._send(status, json.dumps(body).encode(), "application/json")
                elif path == "/metrics":
                    try:
                        payload = generate_latest(registry)
                    except Exception as exc:
                        log.warning("Metriken nicht lesbar / metrics failed: %s", exc)
                        self._send(503, b"metrics unavailable\n", "text/plain")
                        return
                    self._send(200, payload, CONTENT_TYPE_LATEST)
                else:
                    self._send(404, b"not found; try /healthz or /metrics\n", "text/plain")

            def _send(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # keep scrapes out of the log
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="health-http", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        return self.server.server_address[:2]

    def start(self) -> "HealthServer":
        self.thread.start()
        log.info("Gesundheit/Metriken / health and metrics: http://%s:%d/healthz /metrics", *self.address)
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
