"""The one interface every source implements, the registry that finds it, and `HashtagRun`.

A source is a `Source` subclass registered (`register`) for the `type` key of its
configuration; `source_for(config)` finds it. The collector (`sources.collect`) makes one
instance per configured source and collect run, calls `open()` once, `collect(run)` for each
hashtag (or once, for a source that is not `per_hashtag`), then `close()`.

A `HashtagRun` is one source working on one hashtag: what it may spend, what it stored, where
it stopped. The source reads pages, asks which posts are already known, stores the new ones
through `store` (posts first, then pictures) and saves its resume cursor after every page with
`save_cursor`, so a crash between pages loses nothing and repeats nothing.
"""

from __future__ import annotations

import importlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import takewhile
from typing import TYPE_CHECKING, ClassVar, TypeVar

import requests
from sqlalchemy import select, update

from campaign_worker.config.campaigns import Campaign, SourceConfig, fold_hashtag
from campaign_worker.post import ParsedPost
from campaign_worker.sources.http import RequestBudget, RetryPolicy
from campaign_worker.sources.status import SourceFailure
from campaign_worker.sources.storing import import_posts
from campaign_worker.store.db import reading, transaction
from campaign_worker.store.ingest import PostCounts
from campaign_worker.store.models import campaign_post_table, post_table, source_state_table

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

HOUR = 3600
WHOLE = "*"  # the hashtag (and state key tail) of a source that runs as a whole, e.g. an archive folder


@dataclass
class HashtagRun:
    """One source on one hashtag in one collect run; made by the collector, filled by the source."""

    ws: Workspace
    campaign: Campaign
    source: SourceConfig
    hashtag: str  # `WHOLE` for a source that is not `per_hashtag`
    key: str
    cursor: dict | None
    extra: dict
    budget: RequestBudget
    policy: RetryPolicy
    http: requests.Session
    should_stop: Callable[[], bool] = lambda: False
    download_media: bool = True
    counts: PostCounts = field(default_factory=PostCounts)  # posts and pictures stored, with problems
    pages: int = 0
    skipped_nodes: int = 0  # entries the platform described so oddly that no post came of them
    notes: list[str] = field(default_factory=list)
    strategy: str | None = None
    degraded: str | None = None  # set when a fallback path saved the run: which path failed, which one served
    names_looked_up: int = 0  # requests spent on author names
    partial_sidecars: int = 0  # carousels the feed delivered without their items
    complete: bool = False

    def check_stop(self) -> None:
        if self.should_stop():
            raise SourceFailure("stopped", "vor der nächsten Seite angehalten / stopped before the next page")

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def known(self, platform: str, external_ids: Iterable[str]) -> set[str]:
        """Which of these posts are already part of this campaign."""
        ids = list(dict.fromkeys(external_ids))
        if not ids:
            return set()
        post, member = post_table, campaign_post_table
        query = (
            select(post.c.external_id)
            .join(member, member.c.post_id == post.c.id)
            .where(post.c.platform == platform, post.c.external_id.in_(ids), member.c.campaign == self.campaign.slug)
        )
        with reading(self.ws.engine) as connection:
            return {row.external_id for row in connection.execute(query)}

    def before_known(self, posts: list[ParsedPost]) -> list[ParsedPost]:
        """The posts of a newest-first page up to the first one this campaign already has."""
        known = {(platform, external_id) for platform in {p.platform for p in posts}
                 for external_id in self.known(platform, [p.external_id for p in posts if p.platform == platform])}
        return list(takewhile(lambda p: (p.platform, p.external_id) not in known, posts))

    def store(self, posts: list[ParsedPost], *, should_stop: Callable[[], bool] | None = None) -> None:
        """Store posts and their pictures (`should_stop` ends the pictures early); counts go into `counts`."""
        if not posts:
            return
        self.counts.add(import_posts(self.ws, self.campaign.slug, self.source.id, posts, session=self.http,
                                     download_media=self.download_media, should_stop=should_stop or (lambda: False)))

    def save_cursor(self, cursor: dict | None) -> None:
        """Persist the resume point now (the row exists: the collector created it)."""
        self.cursor = cursor
        with transaction(self.ws.engine) as connection:
            connection.execute(
                update(source_state_table).where(source_state_table.c.key == self.key).values(cursor=cursor, extra=dict(self.extra))
            )


class Source(ABC):
    """One configured source during one collect run; its hashtags share the budget, client and login."""

    type: ClassVar[str]  # the configuration's `type` this class collects for
    per_hashtag: ClassVar[bool] = True  # False: one run for the whole source (state key `…/*`)

    def __init__(self, ws: Workspace, campaign: Campaign, config: SourceConfig, *,
                 policy: RetryPolicy, http: requests.Session) -> None:
        self.ws, self.campaign, self.config = ws, campaign, config
        self.policy, self.http = policy, http
        self.budget = self.make_budget()
        # Changes when a person renews the login; a source held by a login failure stays paused until then.
        self.hold_marker: str | None = None

    def make_budget(self) -> RequestBudget:
        """The requests this run may make: the configuration's `max_requests_per_run`."""
        limit = self.config.max_requests_per_run
        return RequestBudget(limit, reason=f"höchstens {limit} pro Lauf / per run")

    def hashtags(self) -> list[str]:
        """The source's own hashtags, else the campaign's; folded, each once."""
        tags = getattr(self.config, "hashtags", None) or self.campaign.hashtags
        return list(dict.fromkeys(fold_hashtag(t) for t in tags if fold_hashtag(t)))

    def open(self) -> None:
        """Prepare what the hashtags share (a client, a login); a `SourceFailure` skips them all."""

    @abstractmethod
    def collect(self, run: HashtagRun) -> None:
        """Collect one hashtag into `run`; raise `SourceFailure` when the platform says why not."""

    def close(self) -> None:
        """Release what `open` prepared."""

    def summary(self, run: HashtagRun, detail: str) -> str:
        """What the run's status message says after the status: `detail` (what failed), the path, notes."""
        parts = [detail] if detail else []
        if run.strategy and run.strategy not in ("graphql", "api"):
            parts.append(f"über / via {run.strategy}")
        parts += run.notes
        if run.skipped_nodes:
            parts.append(f"{run.skipped_nodes} unlesbare Einträge übersprungen / unreadable entries skipped")
        if run.counts.problems:
            parts.append(f"{len(run.counts.problems)} Bilder nicht geladen / pictures not fetched")
        return "; ".join(parts)

    def requests_last_hour(self) -> int:
        """Requests this source made in the last hour, over all its hashtags."""
        cutoff = time.time() - HOUR
        table = source_state_table
        with reading(self.ws.engine) as connection:
            rows = connection.execute(
                select(table.c.extra).where(table.c.campaign == self.campaign.slug, table.c.source_id == self.config.id)
            )
            return sum(n for row in rows for at, n in (row.extra or {}).get("usage", []) if at >= cutoff)


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------

S = TypeVar("S", bound=type[Source])

_REGISTRY: dict[str, type[Source]] = {}

# The sources that come with campaign-worker, imported on first use so that instaloader loads
# only when an Instagram source runs. Named, not imported: each of them imports this module.
BUILTIN = {
    "archive": "campaign_worker.sources.archive",
    "instagram": "campaign_worker.sources.instagram",
    "instagram_graph": "campaign_worker.sources.graph",
    "mastodon": "campaign_worker.sources.mastodon",
    "memory": "campaign_worker.sources.memory",
}


def register(cls: S) -> S:
    """Class decorator: `cls` collects for every configuration whose `type` is `cls.type`."""
    _REGISTRY[cls.type] = cls
    return cls


def source_for(config: SourceConfig) -> type[Source]:
    """The registered class for a source configuration."""
    if config.type not in _REGISTRY and config.type in BUILTIN:
        importlib.import_module(BUILTIN[config.type])
    try:
        return _REGISTRY[config.type]
    except KeyError:
        raise LookupError(f"no source registered for type {config.type!r}") from None
