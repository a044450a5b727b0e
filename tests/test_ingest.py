"""Storing posts: idempotent, transactional, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import func, select, text

from campaign_worker.post import MediaRef
from campaign_worker.sources.collect import collect
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.migrate import current_revision, head_revision
from campaign_worker.store.models import CampaignPost, Media, Post, PostMedia
from campaign_worker.workspace import Workspace

from .collect_fakes import jpeg_bytes
from .helpers import image_ref, memory_campaign, post


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
    assert (first.posts_new, first.posts_seen, first.joined_campaign) == (30, 0, 30)
    assert (second.posts_new, second.posts_seen, second.joined_campaign) == (0, 30, 0)
    assert count(engine, Post) == 30
    assert count(engine, CampaignPost) == 30
    assert count(engine, PostMedia) == 30
    assert first.post_ids == second.post_ids


def test_duplicates_inside_one_batch_are_stored_once(engine):
    result = store_posts(engine, "siegen", None, [post(1), post(1), post(2)])
    assert result.posts_new == 2
    assert count(engine, Post) == 2


def test_a_post_joins_each_campaign_once(engine):
    store_posts(engine, "siegen", None, [post(1)])
    result = store_posts(engine, "medizin-pflege", None, [post(1)])
    assert (result.posts_new, result.posts_seen, result.joined_campaign) == (0, 1, 1)
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
    assert result.posts_new == 2 and count(engine, CampaignPost) == 2


def test_a_source_run_stores_once_and_reports_the_counts_it_stored(home, database_url, memory_feed, tmp_path):
    pictures = []
    for n in range(6):
        pictures.append(tmp_path / f"{n}.jpg")
        pictures[-1].write_bytes(jpeg_bytes((40 * n, 80, 80)))
    memory_feed("mem", [post(n, media=[image_ref(pictures[n])]) for n in range(6)])
    memory_campaign(home)
    ws = Workspace.open(home, database_url=database_url)

    first = collect(ws, ["test"])
    result = first.sources[0]
    assert (result.posts_new, result.posts_seen, result.joined_campaign, result.media_ok) == (6, 0, 6, 6)
    assert first.as_counts() == {"posts_new": 6, "posts_seen": 0, "media_ok": 6, "media_rejected": 0, "media_failed": 0,
                                 "requests": 1, "failures": 0}
    again = collect(ws, ["test"]).sources[0]
    assert (again.posts_new, again.posts_seen, again.joined_campaign, again.media_ok) == (0, 6, 0, 0)
    assert (count(ws.engine, Post), count(ws.engine, CampaignPost), count(ws.engine, Media)) == (6, 6, 6)
    ws.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_workspace):
    with sqlite_workspace.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
