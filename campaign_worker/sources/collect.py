"""Collecting: every enabled source of the chosen campaigns, one hashtag at a time.

For each source and hashtag the stored `SourceState` says where to resume, whether the
platform asked to wait (`not_before`) and whether the source is paused until a person renewed
its login. Each hashtag ends with a status from `sources.status` and an updated state row;
one failing source or hashtag never stops the others. A failure that concerns the login
(checkpoint, expired session, rate limit, used-up budget) ends that source's run without
further requests and is recorded for its remaining hashtags too.

Each configured source is collected by the class the registry (`sources.base.source_for`)
names for its `type`: opened once, asked once per hashtag, closed.

`collect()` is what the scheduler and the command line call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from sqlalchemy import select, update

from campaign_worker.config.campaigns import Campaign, ConfigError, SourceConfig
from campaign_worker.sources.base import HOUR, WHOLE, HashtagRun, Source, source_for
from campaign_worker.sources.http import RetryPolicy
from campaign_worker.sources.status import HOLDING, SOURCE_WIDE, STATUSES, SourceFailure, describe
from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.ingest import PostCounts
from campaign_worker.store.models import source_state_table as state_table
from campaign_worker.timeutil import as_utc, utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)



@dataclass
class SourceResult(PostCounts):
    """The outcome for one state key: a hashtag of a source (or a whole archive), with what it stored."""

    campaign: str
    source_id: str
    source_type: str
    hashtag: str | None
    key: str
    status: str = "ok"
    message: str = ""
    requests: int = 0
    not_before: datetime | None = None
    strategy: str | None = None
    duration: float = 0.0
    ran: bool = True  # False: skipped without a request (waiting, paused, budget)

    @property
    def failed(self) -> bool:
        return STATUSES[self.status].failure


@dataclass
class CollectSummary:
    sources: list[SourceResult] = field(default_factory=list)
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None

    def as_counts(self) -> dict[str, int]:
        total = lambda name: sum(getattr(r, name) for r in self.sources)  # noqa: E731
        return {
            "posts_new": total("posts_new"),
            "posts_seen": total("posts_seen"),
            "media_ok": total("media_ok"),
            "media_rejected": total("media_rejected"),
            "media_failed": total("media_failed"),
            "requests": total("requests"),
            "failures": sum(1 for r in self.sources if r.failed),
        }

    @property
    def status(self) -> str:
        """ok, partial (some failed) or failed (all that should have run failed)."""
        if not any(r.failed for r in self.sources):
            return "ok"
        return "failed" if all(r.failed for r in self.sources) else "partial"


Progress = Callable[[str, SourceResult | None], None]


def collect(
    ws: Workspace,
    campaigns: list[str] | None = None,
    *,
    source: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    retry_policy: RetryPolicy | None = None,
    progress: Progress | None = None,
) -> CollectSummary:
    """Collect from every enabled source of the campaigns (all when None), or just `source`."""
    summary = CollectSummary()
    policy = retry_policy or RetryPolicy()
    notify = progress or (lambda _event, _result: None)
    chosen = ws.selected(campaigns)
    if source is not None and not any(s.id == source for c in chosen for s in c.sources):
        known = ", ".join(sorted({s.id for c in chosen for s in c.sources})) or "keine / none"
        raise ConfigError("config/campaigns", [f"unbekannte Quelle / unknown source {source!r}; vorhanden / known: {known}"])
    with requests.Session() as http:
        for campaign in chosen:
            for config in campaign.sources:
                if source is not None and config.id != source:
                    continue
                if source is None and not config.enabled:
                    continue
                if should_stop():
                    break
                try:
                    results = _run_source(ws, campaign, config, policy, http, should_stop, notify)
                except Exception:  # a bug in one source must not stop the others
                    log.exception("source %s/%s failed", campaign.slug, config.id)
                    results = [_record(ws, SourceResult(campaign.slug, config.id, config.type, None, _key(campaign, config, WHOLE),
                                                        status="error", message=describe("error"), ran=False), {}, None)]
                summary.sources.extend(results)
    summary.finished_at = utcnow()
    return summary


# ---------------------------------------------------------------------------------------------
# State rows
# ---------------------------------------------------------------------------------------------


def _key(campaign: Campaign, config: SourceConfig, hashtag: str) -> str:
    return f"{campaign.slug}/{config.id}/{hashtag}"


def load_state(ws: Workspace, campaign: Campaign, config: SourceConfig, key: str) -> dict[str, Any]:
    """The state row for `key`, created empty on first use."""
    with transaction(ws.engine) as connection:
        insert_ignore(connection, state_table, [{"key": key, "campaign": campaign.slug, "source_id": config.id,
                                                 "requests_used": 0, "posts_new": 0, "posts_seen": 0, "extra": {}}], ("key",))
        row = connection.execute(select(state_table).where(state_table.c.key == key)).one()
    state = dict(row._mapping)
    state["extra"] = dict(state.get("extra") or {})
    return state


def _record(ws: Workspace, result: SourceResult, extra: dict, hold_marker: str | None) -> SourceResult:
    """Write the outcome into the state row (the cursor was saved by the source as it went)."""
    now = utcnow()
    if result.ran and result.requests:
        cutoff = time.time() - HOUR
        extra["usage"] = [u for u in extra.get("usage", []) if u[0] >= cutoff] + [[time.time(), result.requests]]
    if result.status in HOLDING and hold_marker is not None:
        extra["hold_marker"] = hold_marker
    elif result.ran:
        extra.pop("hold_marker", None)
    if result.ran:
        extra["last_duration_s"] = round(result.duration, 3)
        extra["last_strategy"] = result.strategy
    values: dict[str, Any] = {"last_status": result.status, "last_message": result.message[:4000], "extra": extra}
    if result.ran:
        values.update(last_run_at=now, requests_used=result.requests, posts_new=result.posts_new,
                      posts_seen=result.posts_seen, not_before=result.not_before)
        if result.status in ("ok", "degraded"):
            values["last_success_at"] = now
    with transaction(ws.engine) as connection:
        if not connection.execute(select(state_table.c.key).where(state_table.c.key == result.key)).first():
            insert_ignore(connection, state_table, [{"key": result.key, "campaign": result.campaign,
                                                     "source_id": result.source_id, "extra": {}}], ("key",))
        connection.execute(update(state_table).where(state_table.c.key == result.key).values(**values))
    return result


# ---------------------------------------------------------------------------------------------
# One source, one hashtag
# ---------------------------------------------------------------------------------------------


@dataclass
class _SourceRun:
    """What the hashtags of one source share in one collect run."""

    source: Source
    should_stop: Callable[[], bool]
    notify: Progress
    stop_failure: SourceFailure | None = None  # a source-wide failure: later hashtags are not asked


def _run_source(ws: Workspace, campaign: Campaign, config: SourceConfig, policy: RetryPolicy, http: requests.Session,
                should_stop: Callable[[], bool], notify: Progress) -> list[SourceResult]:
    source = source_for(config)(ws, campaign, config, policy=policy, http=http)
    run = _SourceRun(source, should_stop, notify)
    try:
        source.open()
    except SourceFailure as failure:
        run.stop_failure = failure
    try:
        return [_run_hashtag(run, tag) for tag in (source.hashtags() if source.per_hashtag else [WHOLE])]
    finally:
        source.close()


def _skip(run: _SourceRun, result: SourceResult, state: dict, status: str, message: str,
          not_before: datetime | None = None) -> SourceResult:
    result.status, result.message, result.not_before, result.ran = status, message, not_before, False
    with transaction(run.source.ws.engine) as connection:
        values: dict[str, Any] = {"last_status": status, "last_message": message[:4000]}
        if not_before is not None:
            values["not_before"] = not_before
        if status in HOLDING and run.source.hold_marker is not None:
            values["extra"] = {**state["extra"], "hold_marker": run.source.hold_marker}
        connection.execute(update(state_table).where(state_table.c.key == result.key).values(**values))
    return result


def _run_hashtag(run: _SourceRun, tag: str) -> SourceResult:
    source = run.source
    ws, campaign, config = source.ws, source.campaign, source.config
    key = _key(campaign, config, tag)
    state = load_state(ws, campaign, config, key)
    result = SourceResult(campaign.slug, config.id, config.type, tag if source.per_hashtag else None, key)
    now = utcnow()
    not_before = as_utc(state.get("not_before"))
    if run.stop_failure is not None:
        failure = run.stop_failure
        why = "nicht abgefragt, gilt für die ganze Quelle / not asked, applies to the whole source"
        return _skip(run, result, state, failure.status,
                     describe(failure.status, f"{failure.detail} ({why})" if failure.detail else why, failure.not_before),
                     failure.not_before)
    if not_before is not None and not_before > now:
        return _skip(run, result, state, state.get("last_status") or "rate_limited",
                     describe("rate_limited", "übersprungen / skipped", not_before), not_before)
    if (state.get("last_status") in HOLDING and source.hold_marker is not None
            and state["extra"].get("hold_marker") == source.hold_marker):
        status = state["last_status"]
        return _skip(run, result, state, status,
                     describe(status, "pausiert bis die Sitzung erneuert ist / paused until the session is renewed"))
    if run.should_stop():
        return _skip(run, result, state, "stopped", describe("stopped"))
    hashtag_run = HashtagRun(
        ws=ws, campaign=campaign, source=config, hashtag=tag, key=key, cursor=state.get("cursor"),
        extra=state["extra"], budget=source.budget, policy=source.policy.for_interval(getattr(config, "poll_interval_hours", None)),
        http=source.http, should_stop=run.should_stop, download_media=getattr(config, "download_media", True),
    )
    run.notify("start", result)
    started, before = time.monotonic(), source.budget.used
    try:
        source.collect(hashtag_run)
        status, detail, until = ("degraded" if hashtag_run.degraded else "ok"), "", None
    except SourceFailure as failure:
        status, detail, until = failure.status, failure.detail, failure.not_before
        if status in SOURCE_WIDE and status != "not_configured":
            run.stop_failure = failure
        log.warning("%s: %s", key, failure)
    except Exception as exc:  # noqa: BLE001 - recorded as 'error', the other hashtags go on
        log.exception("%s: unexpected error", key)
        status, detail, until = "error", f"{type(exc).__name__}: {exc}"[:300], None
    result.status, result.not_before = status, until
    result.requests = source.budget.used - before
    result.add(hashtag_run.counts)
    result.strategy = hashtag_run.strategy
    result.duration = time.monotonic() - started
    result.message = describe(status, source.summary(hashtag_run, detail), until)
    _record(ws, result, hashtag_run.extra, source.hold_marker)
    run.notify("done", result)
    return result


def record_import(ws: Workspace, campaign: Campaign, config: SourceConfig, counts: PostCounts) -> SourceResult:
    """Record an import done outside `collect` (the demo's sample) in the source's state row,
    so that `sources` and the health page show when it ran and what it stored."""
    result = SourceResult(campaign.slug, config.id, config.type, None, _key(campaign, config, WHOLE), strategy="import")
    result.add(counts)
    result.message = describe("ok", f"{counts.posts_new} neu / new, {counts.posts_seen} bekannt / known")
    return _record(ws, result, load_state(ws, campaign, config, result.key)["extra"], None)


def source_states(ws: Workspace, campaigns: list[str] | None = None) -> list[tuple[Campaign, SourceConfig, list[dict]]]:
    """Every configured source with its state rows, for listing."""
    with reading(ws.engine) as connection:
        rows = [dict(r._mapping) for r in connection.execute(select(state_table).order_by(state_table.c.key))]
    listing = []
    for campaign in ws.selected(campaigns):
        for config in campaign.sources:
            mine = [r for r in rows if r["campaign"] == campaign.slug and r["source_id"] == config.id]
            listing.append((campaign, config, mine))
    return listing
