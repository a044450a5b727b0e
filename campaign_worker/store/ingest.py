"""Storing collected posts: idempotent bulk upserts, one transaction per batch.

A post is stored once per platform (`platform`, `external_id`) and joins each campaign once;
re-importing the same posts changes nothing. Media rows are linked when their bytes are stored.
One post the database refuses never costs the batch: the batch is stored again post by post,
the refused one is counted as failed with its reason and the others are kept.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from campaign_worker.store.db import insert_ignore, transaction
from campaign_worker.store.models import campaign_post_table, media_table, post_media_table, post_table
from campaign_worker.timeutil import utcnow
from campaign_worker.post import CHANGE_LABELS, ParsedPost

log = logging.getLogger(__name__)

BATCH = 500
# What a post's own values can make a database refuse. OperationalError (locked, disk full,
# connection lost) concerns the whole batch and is raised, not blamed on a post.
_POST_ERRORS = (SQLAlchemyError, UnicodeError, ValueError, TypeError, OverflowError)


@dataclass(kw_only=True)
class PostCounts:
    """What storing posts did. The one record of these counts: a source run adds them up
    (`sources.base.HashtagRun.counts`), its outcome carries them (`sources.collect.SourceResult`)
    and the command line prints them."""

    posts_new: int = 0
    posts_seen: int = 0
    posts_failed: int = 0  # refused by the database; each has its reason in `problems`
    duplicates: int = 0  # the same post (platform and id) more than once in what was delivered
    joined_campaign: int = 0
    media_ok: int = 0
    media_rejected: int = 0
    media_failed: int = 0
    changes: Counter[str] = field(default_factory=Counter)  # cleaning changes of new posts, see `post.CHANGE_LABELS`
    problems: list[str] = field(default_factory=list)

    def add(self, other: PostCounts) -> None:
        """Count another store (of the same run) into this one."""
        for name in ("posts_new", "posts_seen", "posts_failed", "duplicates", "joined_campaign", "media_ok",
                     "media_rejected", "media_failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.changes.update(other.changes)
        self.problems.extend(other.problems)

    def notes(self, language: str = "de") -> list[str]:
        """What the import changed or left out, one phrase per kind: „gekürzte Beschreibungen: 3“."""
        index = 0 if language == "de" else 1
        counted = [(CHANGE_LABELS[code][index], n) for code, n in sorted(self.changes.items()) if code in CHANGE_LABELS]
        counted.append((("doppelte Shortcodes (übersprungen)", "duplicate shortcodes (skipped)")[index], self.duplicates))
        counted.append((("nicht speicherbare Beiträge", "posts that could not be stored")[index], self.posts_failed))
        return [f"{label}: {n}" for label, n in counted if n]


@dataclass(kw_only=True)
class IngestResult(PostCounts):
    """The counts of stored posts, and their ids as `platform:external_id` → post id."""

    post_ids: dict[str, int] = field(default_factory=dict)

    def add(self, other: PostCounts) -> None:
        super().add(other)
        if isinstance(other, IngestResult):
            self.post_ids.update(other.post_ids)


def post_row(post: ParsedPost, source_id: str | None, now=None) -> dict:
    return {
        "platform": post.platform,
        "external_id": post.external_id,
        "source_id": source_id,
        "author_username": post.author_username,
        "author_id": post.author_id,
        "caption": post.caption,
        "hashtags": list(post.hashtags),
        "posted_at": post.posted_at,
        "permalink": post.permalink,
        "media_type": post.media_type,
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "raw": post.raw,
        "sanitised": list(post.changes),
        "collected_at": now or utcnow(),
    }


def existing_ids(connection: Connection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Map (platform, external_id) → post id for the keys already stored."""
    found: dict[tuple[str, str], int] = {}
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        platforms = {p for p, _ in chunk}
        if len(platforms) == 1:
            (platform,) = platforms
            where = and_(post_table.c.platform == platform, post_table.c.external_id.in_([e for _, e in chunk]))
        else:
            where = tuple_(post_table.c.platform, post_table.c.external_id).in_(chunk)
        for row in connection.execute(select(post_table.c.platform, post_table.c.external_id, post_table.c.id).where(where)):
            found[(row.platform, row.external_id)] = row.id
    return found


def store_batch(connection: Connection, campaign: str, source_id: str | None, posts: Sequence[ParsedPost]) -> IngestResult:
    """Store one batch inside the caller's transaction."""
    unique = list({(p.platform, p.external_id): p for p in posts}.values())
    duplicates = len(posts) - len(unique)
    keys = [(p.platform, p.external_id) for p in unique]
    before = existing_ids(connection, keys)
    now = utcnow()
    insert_ignore(
        connection,
        post_table,
        [post_row(p, source_id, now) for p in unique if (p.platform, p.external_id) not in before],
        ("platform", "external_id"),
    )
    ids = existing_ids(connection, keys)
    insert_ignore(
        connection,
        post_media_table,
        [
            {
                "post_id": ids[(p.platform, p.external_id)],
                "position": m.position,
                "kind": m.kind,
                "source_url": m.url,
                "video_url": m.video_url,
                "media_sha256": None,
            }
            for p in unique
            if (p.platform, p.external_id) not in before
            for m in p.media
        ],
        ("post_id", "position"),
    )
    already_in_campaign = {
        row.post_id
        for row in connection.execute(
            select(campaign_post_table.c.post_id).where(
                campaign_post_table.c.campaign == campaign,
                campaign_post_table.c.post_id.in_(list(ids.values())),
            )
        )
    } if ids else set()
    joining = [
        {
            "campaign": campaign,
            "post_id": ids[(p.platform, p.external_id)],
            "state": "new",
            "human": False,
            "evidence": [],
            "audiences": [],
            "posted_at": p.posted_at,
            "added_at": now,
            "updated_at": now,
        }
        for p in unique
        if ids[(p.platform, p.external_id)] not in already_in_campaign
    ]
    insert_ignore(connection, campaign_post_table, joining, ("campaign", "post_id"))
    return IngestResult(
        posts_new=len(ids) - len(before),
        posts_seen=len(before),
        duplicates=duplicates,
        joined_campaign=len(joining),
        changes=Counter(change for p in unique if (p.platform, p.external_id) not in before for change in set(p.changes)),
        post_ids={f"{p}:{e}": i for (p, e), i in ids.items()},
    )


def store_posts(engine: Engine, campaign: str, source_id: str | None, posts: Iterable[ParsedPost], batch: int = BATCH) -> IngestResult:
    """Store posts in batches, one transaction each; safe to repeat after a crash.

    A batch the database refuses is stored again one post per transaction: the posts it
    refuses then are counted in `posts_failed` with their reason in `problems`, all others land.
    Only errors of the database itself (locked, full, gone) end the run.
    """
    total = IngestResult()
    pending: list[ParsedPost] = []
    for post in posts:
        pending.append(post)
        if len(pending) >= batch:
            _store_isolated(engine, campaign, source_id, pending, total)
            pending = []
    if pending:
        _store_isolated(engine, campaign, source_id, pending, total)
    return total


def _store_isolated(engine: Engine, campaign: str, source_id: str | None, posts: list[ParsedPost], total: IngestResult) -> None:
    try:
        with transaction(engine) as connection:
            total.add(store_batch(connection, campaign, source_id, posts))
        return
    except OperationalError:
        raise
    except _POST_ERRORS as exc:
        if len(posts) == 1:
            reason = _reason(exc)
            total.posts_failed += 1
            total.problems.append(f"Beitrag {posts[0].key} nicht gespeichert / post not stored: {reason}")
            log.warning("post %s not stored: %s", posts[0].key, reason)
            return
    unique = list({(p.platform, p.external_id): p for p in posts}.values())
    total.duplicates += len(posts) - len(unique)
    for post in unique:
        _store_isolated(engine, campaign, source_id, [post], total)


def _reason(exc: BaseException) -> str:
    """The database's own words, one line, without the statement and its parameters."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return f"{type(original).__name__}: {text}"[:300]


def missing_media(connection: Connection, post_ids: Iterable[int]) -> list[dict]:
    """PostMedia rows of these posts whose bytes are not stored yet."""
    ids = list(post_ids)
    rows: list[dict] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows += [
            dict(r._mapping)
            for r in connection.execute(
                select(post_media_table).where(post_media_table.c.post_id.in_(chunk), post_media_table.c.media_sha256.is_(None))
            )
        ]
    return rows


def attach_media(connection: Connection, post_id: int, position: int, media_row: dict) -> None:
    """Record a stored (or rejected) image once, and link it to the post's n-th picture."""
    insert_ignore(connection, media_table, [{"created_at": utcnow(), **media_row}], ("sha256",))
    connection.execute(
        update(post_media_table)
        .where(post_media_table.c.post_id == post_id, post_media_table.c.position == position)
        .values(media_sha256=media_row["sha256"])
    )
