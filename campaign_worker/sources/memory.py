"""An in-memory source: posts handed over in code, served the way a platform serves a hashtag.

For tests, examples and trying the pipeline without a platform. `feed("mem", posts)` gives the
source with id `mem` its posts (`ParsedPost`s, or dicts of `make_post` arguments); a campaign
names it like any other source:

    [[sources]]
    id = "mem"
    type = "memory"

It behaves like a platform's hashtag feed, so that resuming and de-duplication are exercised
as they are with Instagram or Mastodon: newest first, only posts carrying the hashtag,
`page_size` posts a page, one request of the budget per page, a stop at the first post the
campaign already has, and a cursor saved after every page.

`generate = N` adds N made-up posts per hashtag (the same ones in every process) and
`latency_ms` waits that long per page: together they stand in for a platform when several
worker processes, or a benchmark, need one.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from campaign_worker.config.campaigns import MemoryConfig, fold_hashtag
from campaign_worker.post import ParsedPost, make_post
from campaign_worker.sources.base import HashtagRun, Source, register

_feeds: dict[str, list[ParsedPost]] = {}


def feed(source_id: str, posts: Iterable[ParsedPost | Mapping[str, Any]]) -> None:
    """Add posts to what the memory source `source_id` serves (in any order; served newest first)."""
    _feeds.setdefault(source_id, []).extend(p if isinstance(p, ParsedPost) else make_post(**p) for p in posts)


def clear() -> None:
    """Forget every fed post."""
    _feeds.clear()


GENERATED_EPOCH = datetime(2026, 10, 5, 8, 0, tzinfo=timezone.utc)


_WHO = ("Unser Team", "Meine Familie", "Die Azubis", "Wir", "Meine Kollegin", "Der Chor", "Die Kita-Gruppe")
_WHAT = ("genießt", "entdeckt", "feiert", "erkundet", "fotografiert", "liebt", "besucht", "zeigt", "malt", "läuft durch", "beschreibt")
_WHERE = ("den Schlosspark", "die Altstadt", "das Ufer", "den Stadtwald", "den Marktplatz", "die Oberstadt", "das Museum",
          "den Bahnhof", "die Bibliothek", "das Freibad", "den Aussichtsturm", "die Uni", "den Wochenmarkt")


def _made_up_caption(n: int, hashtag: str) -> str:
    """Distinct everyday captions (7 × 11 × 13 combinations), so duplicate rules leave them alone."""
    return f"{_WHO[n % 7]} {_WHAT[n % 11]} {_WHERE[n % 13]} – Tag {n} #{hashtag}"


def generated_posts(source_id: str, hashtag: str, count: int) -> list[ParsedPost]:
    """`count` made-up posts for `hashtag`, identical in every process (ids from the source id)."""
    return [
        make_post(
            platform="memory",
            external_id=f"{source_id}-{hashtag}-{n}",
            caption=_made_up_caption(n, hashtag),
            posted_at=GENERATED_EPOCH + timedelta(minutes=n),
            author_username=f"user_{n % 97}",
        )
        for n in range(count)
    ]


def hashtag_feed(source_id: str, hashtag: str, generate: int = 0) -> list[ParsedPost]:
    """The posts of `source_id` that carry `hashtag`, newest first."""
    tagged = [p for p in _feeds.get(source_id, []) if hashtag in {fold_hashtag(t) for t in p.hashtags}]
    tagged += generated_posts(source_id, hashtag, generate)
    return sorted(tagged, key=lambda p: p.posted_at, reverse=True)


@register
class MemorySource(Source):
    """Serves what `feed` handed over, page by page."""

    type = "memory"
    config: MemoryConfig

    def collect(self, run: HashtagRun) -> None:
        posts = hashtag_feed(self.config.id, run.hashtag, self.config.generate)
        start = self._resume_point(run, posts)
        while True:
            self.budget.check()
            self.budget.spend()  # one page, one request
            if self.config.latency_ms:
                time.sleep(self.config.latency_ms / 1000)
            page = posts[start:start + self.config.page_size]
            run.pages += 1
            fresh = run.before_known(page)
            run.store(page)  # known ones count as seen; their missing pictures are tried again
            start += len(page)
            if len(fresh) < len(page) or start >= len(posts):
                break  # reached what earlier runs stored, or the end of the feed
            run.save_cursor({"after": page[-1].key})
            run.check_stop()
        run.save_cursor(None)
        run.complete = True

    @staticmethod
    def _resume_point(run: HashtagRun, posts: list[ParsedPost]) -> int:
        after = (run.cursor or {}).get("after")
        if after is None:
            return 0
        keys = [p.key for p in posts]
        if after not in keys:
            run.note("alter Fortsetzungspunkt verworfen / old resume point dropped")
            return 0
        run.note("fortgesetzt / resumed")
        return keys.index(after) + 1


_GENERATED_CAMPAIGN = """name = "{name}"
hashtags = ["{hashtag}"]
[[audiences]]
key = "fachkraefte"
label = "Fachkräfte"
tone = "Sie"
keywords = ["stadt"]
cta_text = "Jobs entdecken"
cta_url = "https://example.org/"
[[sources]]
id = "mem"
type = "memory"
generate = {posts}
page_size = 10
latency_ms = {latency_ms}
session = "{session}"
[moderation]
auto_approve_all = true
[drafts]
channels = ["instagram"]
"""


def generated_campaign(name: str, hashtag: str, *, posts: int, latency_ms: int, session: str) -> str:
    """A campaign file whose only source makes up `posts` posts, answering each page after `latency_ms`.

    Every post is approved and drafted for Instagram: what worker tests and the scale-out
    benchmark need to watch collect → moderate → drafts without a platform.
    """
    return _GENERATED_CAMPAIGN.format(name=name, hashtag=hashtag, posts=posts, latency_ms=latency_ms, session=session)
