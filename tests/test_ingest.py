"""Storing posts: idempotent, transactional, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select, text

from campaign_worker.store.ingest import store_posts
from campaign_worker.store.migrate import current_revision, head_revision
from campaign_worker.store.models import CampaignPost, Post, PostMedia
from campaign_worker.post import MediaRef

from .helpers import post


def count(engine, model) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(model)).scalar_one()


def test_migrations_bring_an_empty_database_to_head(engine):
    assert current_revision(engine) == head_revision()
    with engine.connect() as connection:
        tables = set(engine.dialect.get_table_names(connection))
    assert {"post", "media", "post_media", "campaign_post", "moderation_event", "draft", "digest", "job_run",
            "source_state", "app_user"} <= tables


def test_storing_twice_stores_once(engine):
    posts = [post(i, media=[MediaRef(0, url=f"https://cdn.example/{i}.jpg")]) for i in range(30)]
    first = store_posts(engine, "siegen", "sample", posts, batch=7)
    second = store_posts(engine, "siegen", "sample", posts, batch=7)
    assert (first.new_posts, first.seen_posts, first.joined_campaign) == (30, 0, 30)
    assert (second.new_posts, second.seen_posts, second.joined_campaign) == (0, 30, 0)
    assert count(engine, Post) == 30
    assert count(engine, CampaignPost) == 30
    assert count(engine, PostMedia) == 30
    assert first.post_ids == second.post_ids


def test_duplicates_inside_one_batch_are_stored_once(engine):
    result = store_posts(engine, "siegen", None, [post(1), post(1), post(2)])
    assert result.new_posts == 2
    assert count(engine, Post) == 2


def test_a_post_joins_each_campaign_once(engine):
    store_posts(engine, "siegen", None, [post(1)])
    result = store_posts(engine, "medizin-pflege", None, [post(1)])
    assert (result.new_posts, result.seen_posts, result.joined_campaign) == (0, 1, 1)
    with engine.connect() as connection:
        states = connection.execute(select(CampaignPost.campaign, CampaignPost.state).order_by(CampaignPost.campaign)).all()
    assert states == [("medizin-pflege", "new"), ("siegen", "new")]


def test_same_id_on_another_platform_is_another_post(engine):
    store_posts(engine, "siegen", None, [post(1), post(1, platform="mastodon")])
    assert count(engine, Post) == 2


def test_times_come_back_as_aware_utc(engine):
    original = post(3)
    store_posts(engine, "siegen", None, [original])
    with engine.connect() as connection:
        stored = connection.execute(select(Post.posted_at)).scalar_one()
    assert stored == original.posted_at and stored.utcoffset().total_seconds() == 0


def test_a_failed_batch_leaves_nothing_half_stored(engine, monkeypatch):
    import campaign_worker.store.ingest as ingest

    calls = {"n": 0}
    real = ingest.insert_ignore

    def failing(connection, table, rows, conflict):
        calls["n"] += 1
        if table.name == "campaign_post":
            raise RuntimeError("disk full")
        return real(connection, table, rows, conflict)

    monkeypatch.setattr(ingest, "insert_ignore", failing)
    try:
        store_posts(engine, "siegen", None, [post(1), post(2)])
    except RuntimeError:
        pass
    monkeypatch.setattr(ingest, "insert_ignore", real)
    assert count(engine, Post) == 0  # the post rows were rolled back with the batch
    result = store_posts(engine, "siegen", None, [post(1), post(2)])
    assert result.new_posts == 2 and count(engine, CampaignPost) == 2


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_workspace):
    with sqlite_workspace.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
