"""Scale-out: the jobs of `jobs/*.toml` run by procrastinate workers on PostgreSQL.

`campaign-worker worker` starts one worker process; any number of them, on any machine that
reaches the database, share the work. The embedded scheduler (`campaign-worker run`) and these
workers run the same task functions (`scheduler/tasks.py`) and keep the same run ledger.

How a slot runs exactly once: procrastinate defers the periodic `tick` once per tick time
however many workers run (its periodic defers are unique). The tick looks for each job's latest
due slot without a ledger row and defers `run_slot` for it with a queueing lock on the slot, and
`run_slot` claims the ledger's unique (job, slot) row before doing anything.

How a post flows through: a collect slot fans out into one `collect_source` job per
(campaign, source), locked per platform session (one job at a time per Instagram account, so
its request budget holds) and queueing-locked per source (a slow source never piles up). Each
collect defers moderation of its campaign, and moderation defers the drafts, so a post does
not wait for the next slot of those jobs.

A worker killed mid-job stops sending heartbeats; after `stalled_after_seconds` the periodic
`recover_stalled` task of a living worker sends its jobs back to the queue, and `run_slot`
takes over the slot's ledger row instead of opening a second one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from campaign_worker.config.worker import WorkersSettings, load_settings
from campaign_worker.scheduler import ledger
from campaign_worker.scheduler.jobs import JobSpec, load_jobs
from campaign_worker.scheduler.runner import JobRunner
from campaign_worker.scheduler.tasks import StopCheck

if TYPE_CHECKING:
    from procrastinate.tasks import Task

    from campaign_worker.config.campaigns import Campaign, SourceConfig
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

SCHEDULE_QUEUE = "schedule"  # ticks and recovery; every worker listens to it
QUEUES = ("collect", "moderate", "publish")
QUEUE_OF_TASK = {"collect": "collect", "moderate": "moderate"}  # the rest: publish


def queue_of(spec: JobSpec) -> str:
    return QUEUE_OF_TASK.get(spec.task, "publish")


def conninfo(ws: Workspace) -> str:
    """libpq's form of the workspace's PostgreSQL URL (procrastinate talks psycopg directly)."""
    url = ws.engine.url
    if url.get_backend_name() != "postgresql":
        from campaign_worker.errors import CampaignWorkerError

        raise CampaignWorkerError(
            "Worker brauchen PostgreSQL (CAMPAIGN_WORKER_DATABASE_URL=postgresql+psycopg://…); "
            "mit SQLite läuft `campaign-worker run`. / workers need PostgreSQL; with SQLite use `run`."
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def session_lock(campaign: Campaign, source: SourceConfig) -> str:
    """Jobs holding the same lock run one after another: one platform session, one job at a time."""
    account = getattr(source, "username", None) or getattr(source, "session", None)
    if account:
        return f"session:{source.type}:{account.lower()}"
    if source.type == "instagram_graph":
        return f"session:instagram_graph:{source.user_id_env}"
    return f"source:{campaign.slug}:{source.id}"


def tick_cron(seconds: int) -> str:
    return "* * * * *" if seconds == 60 else f"* * * * * */{seconds}"


class Workers:
    """The procrastinate app of one workspace: its tasks, and how jobs are deferred."""

    def __init__(self, ws: Workspace, settings: WorkersSettings | None = None):
        self.ws = ws
        self.settings = settings or load_settings(ws.home).workers
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(ws)))
        self.runner = JobRunner(ws, load_settings(ws.home), tasks={"collect": self._fan_out_collect})
        self._register()

    # -- tasks --------------------------------------------------------------------------------------

    def _register(self) -> None:
        app, seconds = self.app, self.settings.tick_seconds

        @app.periodic(cron=tick_cron(seconds), periodic_id="tick")
        @app.task(name="campaign_worker.tick", queue=SCHEDULE_QUEUE)
        def tick(timestamp: int) -> None:
            self.defer_due_slots(datetime.fromtimestamp(timestamp, tz=timezone.utc))

        @app.periodic(cron=tick_cron(seconds), periodic_id="recover")
        @app.task(name="campaign_worker.recover_stalled", queue=SCHEDULE_QUEUE)
        async def recover_stalled(timestamp: int) -> None:
            manager = app.job_manager
            for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.settings.stalled_after_seconds):
                log.warning("Job %s eines verstummten Workers läuft erneut / stalled job re-queued: %s", job.id, job.task_name)
                await manager.retry_job(job)

        @app.task(name="campaign_worker.run_slot", pass_context=True)
        def run_slot(context: procrastinate.JobContext, job: str, slot: str) -> None:
            spec = load_jobs(self.ws.home).get(job)
            if spec is None:
                log.error("Job %s ist nicht (mehr) deklariert / not declared (any more)", job)
                return
            retried = bool(context.job and context.job.attempts)
            self.runner.run(spec, datetime.fromisoformat(slot), take_over=retried)

        @app.task(name="campaign_worker.collect_source", queue="collect")
        def collect_source(campaign: str, source: str) -> None:
            from campaign_worker.sources.collect import collect

            collect(self.ws, [campaign], source=source)
            self._defer(moderate_campaign, f"moderate:{campaign}", campaign=campaign)

        @app.task(name="campaign_worker.moderate_campaign", queue="moderate")
        def moderate_campaign(campaign: str) -> None:
            from campaign_worker.moderation.job import moderate

            moderate(self.ws, [campaign])
            self._defer(compose_campaign, f"drafts:{campaign}", campaign=campaign)

        @app.task(name="campaign_worker.compose_campaign", queue="publish")
        def compose_campaign(campaign: str) -> None:
            from campaign_worker.publish.drafts import compose

            compose(self.ws, [campaign])

        self.run_slot, self.collect_source = run_slot, collect_source

    @staticmethod
    def _defer(task: Task, queueing_lock: str, lock: str | None = None, **kwargs: str) -> bool:
        """Defer unless the same work is already waiting (then that job will do it)."""
        try:
            task.configure(queueing_lock=queueing_lock, lock=lock).defer(**kwargs)
            return True
        except AlreadyEnqueued:
            return False

    # -- scheduling -----------------------------------------------------------------------------------

    def defer_due_slots(self, now: datetime) -> list[tuple[str, datetime]]:
        """Defer `run_slot` for each job's latest due slot that has no ledger row yet."""
        deferred = []
        for spec in load_jobs(self.ws.home).values():
            if not spec.enabled:
                continue
            slot = spec.last_slot(now)
            if slot is None or ledger.slot_run(self.ws.engine, spec.name, slot) is not None:
                continue
            if not spec.catch_up and (now - slot).total_seconds() > spec.misfire_grace_seconds:
                continue  # found late (workers were down) and the job does not catch up
            job = self.run_slot.configure(queue=queue_of(spec), queueing_lock=f"slot:{spec.name}:{slot.isoformat()}")
            try:
                job.defer(job=spec.name, slot=slot.isoformat())
                deferred.append((spec.name, slot))
            except AlreadyEnqueued:
                pass
        return deferred

    def _fan_out_collect(self, ws: Workspace, campaigns: list[str] | None, should_stop: StopCheck) -> dict:
        """A collect slot: one job per (campaign, source), each locked per platform session."""
        counts = {"deferred": 0, "already_queued": 0}
        for campaign in ws.selected(campaigns):
            for source in campaign.sources:
                if not source.enabled:
                    continue
                queued = self._defer(self.collect_source, f"collect:{campaign.slug}:{source.id}", session_lock(campaign, source),
                                     campaign=campaign.slug, source=source.id)
                counts["deferred" if queued else "already_queued"] += 1
        return counts

    # -- running --------------------------------------------------------------------------------------

    def run_worker(self, queues: list[str] | None = None, concurrency: int | None = None, name: str | None = None) -> None:
        """Work until SIGTERM/SIGINT; the current jobs finish first."""
        listen = sorted(set(queues or QUEUES) | {SCHEDULE_QUEUE})
        self.app.run_worker(
            queues=listen,
            concurrency=concurrency or self.settings.concurrency,
            name=name or ledger.owner_id(),
            update_heartbeat_interval=self.settings.heartbeat_seconds,
            stalled_worker_timeout=self.settings.stalled_after_seconds,
            fetch_job_polling_interval=min(5.0, float(self.settings.tick_seconds)),
            install_signal_handlers=True,
        )
