"""The queue filters the web UI relies on run in SQL, on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import timedelta

from campaign_worker.moderation import queue
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.moderation.verdict import Verdict
from campaign_worker.post import make_post
from .web_support import START

REVIEW = Verdict("review", "caps", "Zu viele Großbuchstaben", "Too many capitals", ("WOW",))


def _seed(engine, count=12):
    posts = [
        make_post(platform="instagram", external_id=f"s{i}", posted_at=START + timedelta(minutes=i), author_username=f"a{i % 3}",
                  caption=f"Beitrag {i} #meinherztraegtkrone" + (" #Familie" if i % 4 == 0 else "") + (" #familienzeit" if i == 1 else ""))
        for i in range(count)
    ]
    ids = store_posts(engine, "siegen", "archiv", posts).post_ids
    with transaction(engine) as connection:
        for i in range(count):
            queue.apply_rule_verdict(connection, "siegen", ids[f"instagram:s{i}"], REVIEW, ["azubis"] if i % 3 == 0 else ["familien_plus"])
    return [ids[f"instagram:s{i}"] for i in range(count)]


def test_hashtag_and_audience_match_whole_elements_and_fill_the_page(engine):
    ids = _seed(engine)
    with engine.connect() as connection:
        tagged = queue.list_entries(connection, queue.QueueFilter("siegen", hashtag="#FAMILIE"), limit=2)
        everyone = queue.list_entries(connection, queue.QueueFilter("siegen", hashtag="familie"), limit=50)
        azubis = queue.list_entries(connection, queue.QueueFilter("siegen", audience="azubis"), limit=50)
        partial = queue.list_entries(connection, queue.QueueFilter("siegen", audience="familien"), limit=50)
        page_two = queue.list_entries(connection, queue.QueueFilter("siegen", hashtag="familie"), limit=2,
                                      after=(tagged[-1]["posted_at"], tagged[-1]["post_id"]))
    assert [r["post_id"] for r in tagged] == [ids[8], ids[4]], "a full page even when most rows do not match"
    assert [r["post_id"] for r in everyone] == [ids[8], ids[4], ids[0]], "#familienzeit is not #familie"
    assert [r["post_id"] for r in page_two] == [ids[0]]
    assert [r["post_id"] for r in azubis] == [ids[9], ids[6], ids[3], ids[0]]
    assert partial == [], "'familien' does not match 'familien_plus'"


def test_text_search_escapes_like_wildcards(engine):
    _seed(engine, 3)
    with engine.connect() as connection:
        assert queue.list_entries(connection, queue.QueueFilter("siegen", text="100%")) == []
        assert queue.list_entries(connection, queue.QueueFilter("siegen", text="a_")) == []
        assert len(queue.list_entries(connection, queue.QueueFilter("siegen", text="A1"))) == 1, "author names are searched too"


def test_queue_pages_walk_an_index_instead_of_sorting(sqlite_workspace):
    from sqlalchemy.dialects import sqlite

    engine = sqlite_workspace.engine
    _seed(engine, 3)
    with engine.connect() as connection:
        for state, index in (("pending", "ix_campaign_post_queue"), (None, "ix_campaign_post_recent")):
            captured = []
            original = connection.execute

            def capture(statement, *args, **kwargs):
                captured.append(statement)
                return original(statement, *args, **kwargs)

            connection.execute = capture
            queue.list_entries(connection, queue.QueueFilter("siegen", state=state), limit=30)
            connection.execute = original
            compiled = captured[0].compile(dialect=sqlite.dialect())
            plan = " | ".join(row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(compiled.params[k] for k in compiled.positiontup)))
            assert index in plan and "TEMP B-TREE" not in plan, plan


def test_counts_cache_applies_own_changes_and_recounts_after_its_time(sqlite_workspace):
    from campaign_worker.web.queueview import CountsCache

    engine = sqlite_workspace.engine
    ids = _seed(engine, 4)
    now = [0.0]
    cache = CountsCache(ttl=10, clock=lambda: now[0])
    with engine.connect() as connection:
        assert cache.get(connection, "siegen")["pending"] == 4
    with transaction(engine) as connection:
        changes = queue.decide(connection, "siegen", ids[:2], "approved", "anna")
        queue.decide(connection, "siegen", [ids[2]], "rejected", "bob")  # as if another process did it
    cache.apply("siegen", changes)
    with engine.connect() as connection:
        assert (cache.get(connection, "siegen")["pending"], cache.get(connection, "siegen")["approved"]) == (2, 2)
        now[0] = 11
        assert cache.get(connection, "siegen") == {"new": 0, "pending": 1, "approved": 2, "rejected": 1, "later": 0}
