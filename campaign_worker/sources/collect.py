"""Collecting: every enabled source of the chosen campaigns, one hashtag at a time.

For each source and hashtag the stored `SourceState` says where to resume, whether the
platform asked to wait (`not_before`) and whether the source is paused until a person renewed
its login. Each hashtag ends with a status from `sources.status` and an updated state row;
one failing source or hashtag never stops the others. A failure that concerns the login
(checkpoint, expired session, rate limit, used-up budget) ends that source's run without
further requests and is recorded for its remaining hashtags too.

`collect()` is what the scheduler and the command line call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from sqlalchemy import select, update

from campaign_worker.config.campaigns import ArchiveSource, Campaign, InstagramGraphSource, InstagramSource, MastodonSource, fold_hashtag
from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.models import SourceState
from campaign_worker.sources.http import RequestBudget, RetryPolicy
from campaign_worker.timeutil import utcnow
from campaign_worker.sources.base import HashtagRun
from campaign_worker.sources.status import HOLDING, SOURCE_WIDE, STATUSES, SourceFailure, describe
from campaign_worker.timeutil import as_utc

log = logging.getLogger(__name__)

state_table = SourceState.__table__
HOUR = 3600
ARCHIVE_KEY = "*"


@dataclass
class SourceResult:
    """The outcome for one state key: a hashtag of a source (or a whole archive)."""

    campaign: str
    source_id: str
    source_type: str
    hashtag: str | None
    key: str
    status: str = "ok"
    message: str = ""
    requests: int = 0
    posts_new: int = 0
    posts_seen: int = 0
    media_ok: int = 0
    media_rejected: int = 0
    media_failed: int = 0
    not_before: datetime | None = None
    strategy: str | None = None
    duration: float = 0.0
    ran: bool = True  # False: skipped without a request (waiting, paused, budget)
    problems: list[str] = field(default_factory=list)

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
    ws,
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
        from campaign_worker.config.campaigns import ConfigError

        known = ", ".join(sorted({s.id for c in chosen for s in c.sources})) or "keine / none"
        raise ConfigError("config/campaigns", [f"unbekannte Quelle / unknown source {source!r}; vorhanden / known: {known}"])
    with requests.Session() as http:
        for campaign in chosen:
            for src in campaign.sources:
                if source is not None and src.id != source:
                    continue
                if source is None and not src.enabled:
                    continue
                if should_stop():
                    break
                runner = _RUNNERS[src.type]
                try:
                    results = runner(ws, campaign, src, policy, http, should_stop, notify)
                except Exception:  # a bug in one source must not stop the others
                    log.exception("source %s/%s failed", campaign.slug, src.id)
                    results = [_record(ws, SourceResult(campaign.slug, src.id, src.type, None, _key(campaign, src, ARCHIVE_KEY),
                                                        status="error", message=describe("error"), ran=False), {}, None)]
                summary.sources.extend(results)
    summary.finished_at = utcnow()
    return summary


# ---------------------------------------------------------------------------------------------
# State rows
# ---------------------------------------------------------------------------------------------


def _key(campaign: Campaign, src, hashtag: str) -> str:
    return f"{campaign.slug}/{src.id}/{hashtag}"


def _hashtags(campaign: Campaign, src) -> list[str]:
    return list(dict.fromkeys(fold_hashtag(t) for t in (src.hashtags or campaign.hashtags) if fold_hashtag(t)))


def load_state(ws, campaign: Campaign, src, key: str) -> dict[str, Any]:
    """The state row for `key`, created empty on first use."""
    with transaction(ws.engine) as connection:
        insert_ignore(connection, state_table, [{"key": key, "campaign": campaign.slug, "source_id": src.id,
                                                 "requests_used": 0, "posts_new": 0, "posts_seen": 0, "extra": {}}], ("key",))
        row = connection.execute(select(state_table).where(state_table.c.key == key)).one()
    state = dict(row._mapping)
    state["extra"] = dict(state.get("extra") or {})
    return state


def requests_last_hour(ws, campaign: Campaign, src) -> int:
    """Requests this source made in the last hour, over all its hashtags."""
    cutoff = time.time() - HOUR
    with reading(ws.engine) as connection:
        rows = connection.execute(
            select(state_table.c.extra).where(state_table.c.campaign == campaign.slug, state_table.c.source_id == src.id)
        )
        return sum(n for row in rows for at, n in (row.extra or {}).get("usage", []) if at >= cutoff)


def _record(ws, result: SourceResult, extra: dict, hold_marker: str | None) -> SourceResult:
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
        if result.status == "ok":
            values["last_success_at"] = now
    with transaction(ws.engine) as connection:
        if not connection.execute(select(state_table.c.key).where(state_table.c.key == result.key)).first():
            insert_ignore(connection, state_table, [{"key": result.key, "campaign": result.campaign,
                                                     "source_id": result.source_id, "extra": {}}], ("key",))
        connection.execute(update(state_table).where(state_table.c.key == result.key).values(**values))
    return result


# ---------------------------------------------------------------------------------------------
# One hashtag
# ---------------------------------------------------------------------------------------------


@dataclass
class _SourceRun:
    """What the hashtags of one source share in one collect run."""

    ws: Any
    campaign: Campaign
    src: Any
    budget: RequestBudget
    policy: RetryPolicy
    http: requests.Session
    should_stop: Callable[[], bool]
    notify: Progress
    hold_marker: str | None = None
    stop_failure: SourceFailure | None = None  # a source-wide failure: later hashtags are not asked


def _skip(run: _SourceRun, tag: str, key: str, state: dict, status: str, message: str,
          not_before: datetime | None = None) -> SourceResult:
    result = SourceResult(run.campaign.slug, run.src.id, run.src.type, tag, key, status=status, message=message,
                          not_before=not_before, ran=False)
    with transaction(run.ws.engine) as connection:
        values: dict[str, Any] = {"last_status": status, "last_message": message[:4000]}
        if not_before is not None:
            values["not_before"] = not_before
        if status in HOLDING and run.hold_marker is not None:
            values["extra"] = {**state["extra"], "hold_marker": run.hold_marker}
        connection.execute(update(state_table).where(state_table.c.key == key).values(**values))
    return result


def _run_hashtag(run: _SourceRun, tag: str, work: Callable[[HashtagRun], None], requests_made: Callable[[], int]) -> SourceResult:
    src, campaign = run.src, run.campaign
    key = _key(campaign, src, tag)
    state = load_state(run.ws, campaign, src, key)
    now = utcnow()
    not_before = as_utc(state.get("not_before"))
    if run.stop_failure is not None:
        failure = run.stop_failure
        why = "nicht abgefragt, gilt für die ganze Quelle / not asked, applies to the whole source"
        return _skip(run, tag, key, state, failure.status,
                     describe(failure.status, f"{failure.detail} ({why})" if failure.detail else why, failure.not_before),
                     failure.not_before)
    if not_before is not None and not_before > now:
        return _skip(run, tag, key, state, state.get("last_status") or "rate_limited",
                     describe("rate_limited", "übersprungen / skipped", not_before), not_before)
    if (state.get("last_status") in HOLDING and run.hold_marker is not None
            and state["extra"].get("hold_marker") == run.hold_marker):
        status = state["last_status"]
        return _skip(run, tag, key, state, status,
                     describe(status, "pausiert bis die Sitzung erneuert ist / paused until the session is renewed"))
    if run.should_stop():
        return _skip(run, tag, key, state, "stopped", describe("stopped"))
    hashtag_run = HashtagRun(
        ws=run.ws, campaign=campaign, source=src, hashtag=tag, key=key, cursor=state.get("cursor"),
        extra=state["extra"], budget=run.budget, policy=run.policy.for_interval(getattr(src, "poll_interval_hours", None)),
        http=run.http, should_stop=run.should_stop, download_media=getattr(src, "download_media", True),
    )
    result = SourceResult(campaign.slug, src.id, src.type, tag, key)
    run.notify("start", result)
    started, before = time.monotonic(), requests_made()
    try:
        work(hashtag_run)
        status, detail, until = "ok", "", None
    except SourceFailure as failure:
        status, detail, until = failure.status, failure.detail, failure.not_before
        if status in SOURCE_WIDE and status != "not_configured":
            run.stop_failure = failure
        log.warning("%s: %s", key, failure)
    except Exception as exc:  # noqa: BLE001 - recorded as 'error', the other hashtags go on
        log.exception("%s: unexpected error", key)
        status, detail, until = "error", f"{type(exc).__name__}: {exc}"[:300], None
    counts, stored = hashtag_run.counts, hashtag_run.counts.stored
    result.status, result.not_before = status, until
    result.requests = requests_made() - before
    result.posts_new, result.posts_seen = stored.posts_new, stored.posts_seen
    result.media_ok, result.media_rejected, result.media_failed = stored.media_ok, stored.media_rejected, stored.media_failed
    result.strategy, result.problems = hashtag_run.strategy, stored.problems
    result.duration = time.monotonic() - started
    parts = [detail] if detail else []
    if hashtag_run.strategy and hashtag_run.strategy not in ("graphql", "api"):
        parts.append(f"über / via {hashtag_run.strategy}")
    parts += hashtag_run.notes
    if counts.skipped_nodes:
        parts.append(f"{counts.skipped_nodes} unlesbare Einträge übersprungen / unreadable entries skipped")
    if stored.problems:
        parts.append(f"{len(stored.problems)} Bilder nicht geladen / pictures not fetched")
    result.message = describe(status, "; ".join(parts), until)
    _record(run.ws, result, hashtag_run.extra, run.hold_marker)
    run.notify("done", result)
    return result


def _budget_for(ws, campaign: Campaign, src, per_run: int, per_hour: int | None) -> RequestBudget:
    if per_hour is None:
        return RequestBudget(per_run, reason=f"höchstens {per_run} pro Lauf / at most {per_run} per run")
    left_this_hour = max(0, per_hour - requests_last_hour(ws, campaign, src))
    if left_this_hour < per_run:
        return RequestBudget(left_this_hour, reason=f"höchstens {per_hour} pro Stunde / at most {per_hour} per hour")
    return RequestBudget(per_run, reason=f"höchstens {per_run} pro Lauf / at most {per_run} per run")


# ---------------------------------------------------------------------------------------------
# Runners per source type
# ---------------------------------------------------------------------------------------------


def _run_instagram(ws, campaign: Campaign, src: InstagramSource, policy, http, should_stop, notify) -> list[SourceResult]:
    from campaign_worker.sources import instagram

    budget = _budget_for(ws, campaign, src, src.max_requests_per_run, src.max_requests_per_hour)
    run = _SourceRun(ws, campaign, src, budget, policy, http, should_stop, notify)
    client = None
    try:
        session = instagram.load_session(ws.home, src)
        run.hold_marker = session.marker
        client = instagram.InstagramClient(session, budget)
    except SourceFailure as failure:
        run.stop_failure = failure
    graph_fallback = _graph_fallback(ws, campaign, src, policy, http)
    results = []
    for tag in _hashtags(campaign, src):
        if client is None:
            results.append(_run_hashtag(run, tag, lambda r: None, lambda: 0))
            continue
        results.append(_run_hashtag(
            run, tag, lambda r: instagram.collect_hashtag(client, r, graph_fallback), lambda: client.meter.sent
        ))
    if client is not None:
        client.loader.close()
    return results


def _graph_fallback(ws, campaign: Campaign, src: InstagramSource, policy, http):
    if not src.fallback:
        return None
    graph_source = next((s for s in campaign.sources if s.id == src.fallback), None)
    if graph_source is None:
        return None
    from campaign_worker.sources import graph

    def fallback(run: HashtagRun) -> None:
        graph.collect_hashtag(run, graph_source, graph.client_for(graph_source, http,
                                                                  RequestBudget(graph_source.max_requests_per_run), policy))

    return fallback


def _run_graph(ws, campaign: Campaign, src: InstagramGraphSource, policy, http, should_stop, notify) -> list[SourceResult]:
    from campaign_worker.sources import graph

    budget = RequestBudget(src.max_requests_per_run, reason=f"höchstens {src.max_requests_per_run} pro Lauf / per run")
    run = _SourceRun(ws, campaign, src, budget, policy, http, should_stop, notify)
    try:
        client = graph.client_for(src, http, budget, policy.for_interval(src.poll_interval_hours))
    except SourceFailure as failure:
        run.stop_failure, client = failure, None
    return [
        _run_hashtag(run, tag, (lambda r: graph.collect_hashtag(r, src, client)) if client else (lambda r: None),
                     lambda: budget.used)
        for tag in _hashtags(campaign, src)
    ]


def _run_mastodon(ws, campaign: Campaign, src: MastodonSource, policy, http, should_stop, notify) -> list[SourceResult]:
    from campaign_worker.sources import mastodon

    budget = RequestBudget(src.max_requests_per_run, reason=f"höchstens {src.max_requests_per_run} pro Lauf / per run")
    run = _SourceRun(ws, campaign, src, budget, policy, http, should_stop, notify)
    client = mastodon.client_for(http, budget, policy.for_interval(src.poll_interval_hours))
    return [_run_hashtag(run, tag, lambda r: mastodon.collect_hashtag(r, src, client), lambda: budget.used)
            for tag in _hashtags(campaign, src)]


def _run_archive(ws, campaign: Campaign, src: ArchiveSource, policy, http, should_stop, notify) -> list[SourceResult]:
    from campaign_worker.sources.storing import import_archive, resolve_archive_path
    from campaign_worker.sources.archive import ArchiveError

    key = _key(campaign, src, ARCHIVE_KEY)
    state = load_state(ws, campaign, src, key)
    result = SourceResult(campaign.slug, src.id, src.type, None, key)
    notify("start", result)
    started = time.monotonic()
    folder = resolve_archive_path(ws, src.path)
    try:
        if not folder.is_dir():
            raise SourceFailure("not_configured", f"Ordner fehlt / folder missing: {folder}")
        try:
            imported = import_archive(ws, campaign.slug, folder, source_id=src.id, should_stop=should_stop)
        except ArchiveError as exc:
            raise SourceFailure("not_configured", str(exc)) from None
        result.posts_new, result.posts_seen = imported.posts_new, imported.posts_seen
        result.media_ok, result.media_rejected, result.media_failed = imported.media_ok, imported.media_rejected, imported.media_failed
        result.problems = list(imported.problems)
        detail = f"{imported.posts_new + imported.posts_seen} Beiträge gelesen / posts read"
        if result.problems:
            detail += f"; {len(result.problems)} Probleme / problems: " + " | ".join(result.problems[:5])
        result.message = describe("ok", detail)
    except SourceFailure as failure:
        result.status, result.message = failure.status, failure.message()
    except Exception as exc:  # noqa: BLE001
        log.exception("%s: archive import failed", key)
        result.status, result.message = "error", describe("error", f"{type(exc).__name__}: {exc}"[:300])
    result.duration = time.monotonic() - started
    _record(ws, result, state["extra"], None)
    notify("done", result)
    return [result]


_RUNNERS = {
    "instagram": _run_instagram,
    "instagram_graph": _run_graph,
    "mastodon": _run_mastodon,
    "archive": _run_archive,
}


def source_states(ws, campaigns: list[str] | None = None) -> list[tuple[Campaign, Any, list[dict]]]:
    """Every configured source with its state rows, for listing."""
    with reading(ws.engine) as connection:
        rows = [dict(r._mapping) for r in connection.execute(select(state_table).order_by(state_table.c.key))]
    listing = []
    for campaign in ws.selected(campaigns):
        for src in campaign.sources:
            mine = [r for r in rows if r["campaign"] == campaign.slug and r["source_id"] == src.id]
            listing.append((campaign, src, mine))
    return listing
