"""Completing author names: feeds that carry only an owner id get the account name behind it.

Instagram's GraphQL hashtag feed names the owner of a post by id alone, but the author rules
(trusted partners, blocked accounts, the daily cap) and the people in the queue need the
name. `complete_names` fills in what it can, cheapest first:

1. names the platform already delivered for the same id on another post (e.g. through
   `web_info`, which carries the user) and names looked up earlier (`author_name` table);
2. then one look-up per still unknown id, each a request counted in the run's budget, for as
   long as the budget lasts. What is left over is completed by the next run.

Only posts of the campaign being collected are completed; a poll that stored nothing new,
with every name known, costs no request here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select, update

from campaign_worker.store.db import insert_ignore, reading, transaction
from campaign_worker.store.models import author_name_table as names
from campaign_worker.store.models import campaign_post_table, post_table
from campaign_worker.timeutil import utcnow

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace

log = logging.getLogger(__name__)

MAX_OPEN_IDS = 500  # ids considered per run; the rest wait for the next one


class UnknownAccount(Exception):
    """The platform says there is no account with this id (deleted, blocked, private)."""


@dataclass
class NameCompletion:
    """What one pass did: names filled from what was known, names looked up, ids left open."""

    from_cache: int = 0
    looked_up: int = 0
    open: int = 0

    def note(self) -> str | None:
        if not self.open:
            return None
        return (f"{self.open} Kontonamen noch offen (Anfragebudget), der nächste Lauf ergänzt sie / "
                f"{self.open} account names still open (request budget), the next run adds them")


def nameless_ids(ws: Workspace, campaign: str, platform: str) -> list[str]:
    """Author ids of the campaign's posts that have no name yet, newest posts first."""
    post, member = post_table, campaign_post_table
    query = (
        select(post.c.author_id, post.c.posted_at)
        .join(member, member.c.post_id == post.c.id)
        .where(member.c.campaign == campaign, post.c.platform == platform,
               post.c.author_id.is_not(None), post.c.author_username.is_(None))
        .order_by(post.c.posted_at.desc())
        .limit(MAX_OPEN_IDS * 4)
    )
    with reading(ws.engine) as connection:
        ids = [row.author_id for row in connection.execute(query)]
    return list(dict.fromkeys(ids))[:MAX_OPEN_IDS]


def known_names(ws: Workspace, platform: str, ids: list[str]) -> dict[str, str | None]:
    """The names known for these ids: looked up earlier (None: no such account), or seen on other posts."""
    if not ids:
        return {}
    with reading(ws.engine) as connection:
        found: dict[str, str | None] = {
            row.author_id: row.username
            for row in connection.execute(select(names.c.author_id, names.c.username)
                                          .where(names.c.platform == platform, names.c.author_id.in_(ids)))
        }
        seen = connection.execute(
            select(post_table.c.author_id, post_table.c.author_username)
            .where(post_table.c.platform == platform, post_table.c.author_id.in_(ids),
                   post_table.c.author_username.is_not(None))
            .order_by(post_table.c.posted_at.desc())
        )
        for row in seen:
            if found.get(row.author_id) is None:
                found[row.author_id] = row.author_username
    return found


def remember(ws: Workspace, platform: str, author_id: str, username: str | None) -> None:
    """Keep a looked-up name and write it into every post of that author that has none."""
    with transaction(ws.engine) as connection:
        insert_ignore(connection, names, [{"platform": platform, "author_id": author_id, "username": username,
                                           "resolved_at": utcnow()}], ("platform", "author_id"))
        connection.execute(update(names).where(names.c.platform == platform, names.c.author_id == author_id)
                           .values(username=username, resolved_at=utcnow()))
        if username:
            _fill(connection, platform, {author_id: username})


def _fill(connection, platform: str, found: dict[str, str]) -> None:
    for author_id, username in found.items():
        connection.execute(
            update(post_table)
            .where(post_table.c.platform == platform, post_table.c.author_id == author_id,
                   post_table.c.author_username.is_(None))
            .values(author_username=username)
        )


def complete_names(ws: Workspace, campaign: str, platform: str, lookup: Callable[[str], str],
                   can_ask: Callable[[], bool]) -> NameCompletion:
    """Fill in the names of the campaign's nameless posts; `lookup(id)` costs one request.

    `lookup` raises `UnknownAccount` when the platform knows no such account (remembered, not
    asked again); any other exception (a login or rate-limit failure) ends the pass and is raised.
    `can_ask()` is asked before every look-up: False when the budget is used up.
    """
    done = NameCompletion()
    ids = nameless_ids(ws, campaign, platform)
    if not ids:
        return done
    known = known_names(ws, platform, ids)
    cached = {i: n for i, n in known.items() if n}
    if cached:
        with transaction(ws.engine) as connection:
            _fill(connection, platform, cached)
        done.from_cache = len(cached)
    todo = [i for i in ids if i not in known]
    for position, author_id in enumerate(todo):
        if not can_ask():
            done.open = len(todo) - position
            break
        try:
            username = lookup(author_id)
        except UnknownAccount:
            remember(ws, platform, author_id, None)
            continue
        remember(ws, platform, author_id, username)
        done.looked_up += 1
    return done
