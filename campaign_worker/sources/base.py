"""One source working on one hashtag: what it may spend, what it stored, where it stopped.

A `HashtagRun` is handed to a source's collect function. The source reads pages, asks which
posts are already known, stores the new ones through `store` (posts first, then pictures)
and saves its resume cursor after every page with `save_cursor`, so a crash between pages
loses nothing and repeats nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests
from sqlalchemy import select, update

from campaign_worker.store.db import reading, transaction
from campaign_worker.sources.storing import ImportSummary, import_posts
from campaign_worker.store.models import CampaignPost, Post, SourceState
from campaign_worker.post import ParsedPost
from campaign_worker.sources.http import RequestBudget, RetryPolicy
from campaign_worker.sources.status import SourceFailure

log = logging.getLogger(__name__)

state_table = SourceState.__table__


@dataclass
class RunCounts:
    requests: int = 0
    pages: int = 0
    skipped_nodes: int = 0
    stored: ImportSummary = field(default_factory=ImportSummary)  # posts and pictures, with problems


@dataclass
class HashtagRun:
    ws: Any
    campaign: Any
    source: Any
    hashtag: str
    key: str
    cursor: dict | None
    extra: dict
    budget: RequestBudget
    policy: RetryPolicy
    http: requests.Session
    should_stop: Callable[[], bool] = lambda: False
    download_media: bool = True
    counts: RunCounts = field(default_factory=RunCounts)
    notes: list[str] = field(default_factory=list)
    strategy: str | None = None
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
        post, member = Post.__table__, CampaignPost.__table__
        query = (
            select(post.c.external_id)
            .join(member, member.c.post_id == post.c.id)
            .where(post.c.platform == platform, post.c.external_id.in_(ids), member.c.campaign == self.campaign.slug)
        )
        with reading(self.ws.engine) as connection:
            return {row.external_id for row in connection.execute(query)}

    def store(self, posts: list[ParsedPost]) -> None:
        """Store posts and their pictures; counts go into `counts`."""
        if not posts:
            return
        self.counts.stored.add(
            import_posts(self.ws, self.campaign.slug, self.source.id, posts, session=self.http, download_media=self.download_media)
        )

    def save_cursor(self, cursor: dict | None) -> None:
        """Persist the resume point now (the row exists: the collector created it)."""
        self.cursor = cursor
        with transaction(self.ws.engine) as connection:
            connection.execute(
                update(state_table).where(state_table.c.key == self.key).values(cursor=cursor, extra=dict(self.extra))
            )
