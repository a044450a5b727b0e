"""Collecting Instagram hashtags through instaloader against a fake Instagram (`responses`)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import func, select

from campaign_worker.sources.collect import collect
from campaign_worker.store.models import Media, Post, PostMedia, SourceState
from campaign_worker.sources.http import RetryPolicy
from campaign_worker.timeutil import utcnow
from campaign_worker.workspace import Workspace
from .collect_fakes import INSTAGRAM_SOURCE, TAG, FakeInstagram, campaign_toml, graphql_node, iphone_media, shortcode, store_session, web_info_body

pytestmark = pytest.mark.usefixtures("no_sleeping")


@pytest.fixture
def sleeps() -> list[float]:
    return []


def open_ws(home, per_run: int = 60, hashtags=(TAG,), extra_sources: str = "") -> Workspace:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.toml").write_text(
        campaign_toml(INSTAGRAM_SOURCE.format(per_run=per_run) + extra_sources, hashtags), encoding="utf-8")
    return Workspace.open(home)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def run(ws, sleeps, **kwargs):
    return collect(ws, ["test"], retry_policy=RetryPolicy(sleep=sleeps.append), **kwargs)


def newest_first(count: int, start: int = 1) -> list[dict]:
    return [graphql_node(n) for n in range(start + count - 1, start - 1, -1)]


def state(ws, hashtag: str = TAG) -> dict:
    with ws.engine.connect() as connection:
        row = connection.execute(select(SourceState.__table__).where(SourceState.__table__.c.key == f"test/insta/{hashtag}")).one()
    return dict(row._mapping)


def count(ws, table) -> int:
    with ws.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table.__table__)).scalar_one()


def test_first_run_reads_two_pages_and_each_image_once(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(20))

    summary = run(ws, sleeps)

    result = summary.sources[0]
    assert result.status == "ok", result.message
    assert fake.calls["graphql"] == 2  # 12 + 8 posts
    assert fake.calls["image"] == 20
    assert fake.calls["post_metadata"] == fake.calls["media_info"] == 0  # no per-post look-ups
    assert fake.calls["user_info"] == 20  # one name look-up per unknown owner, counted in the budget
    assert summary.as_counts()["posts_new"] == 20 and summary.as_counts()["requests"] == 2 + 20
    assert summary.as_counts()["media_ok"] == 20
    assert count(ws, Post) == 20
    saved = state(ws)
    assert saved["last_status"] == "ok" and saved["cursor"] is None and saved["posts_new"] == 20
    assert saved["requests_used"] == 22 and saved["last_success_at"] is not None
    with ws.engine.connect() as connection:
        post = connection.execute(select(Post.__table__).where(Post.__table__.c.external_id == shortcode(20))).one()
    assert post.author_username == "owner5000020" and post.author_id == str(5_000_020)
    assert post.permalink == f"https://www.instagram.com/p/{shortcode(20)}/"
    assert TAG in post.hashtags and post.like_count == 30


def test_steady_state_poll_costs_exactly_one_request(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(20))
    run(ws, sleeps)
    fake.calls.clear()

    summary = run(ws, sleeps)
    assert fake.calls["graphql"] == 1 and fake.calls["image"] == 0
    assert summary.as_counts()["posts_new"] == 0 and summary.sources[0].status == "ok"

    fake.posts[:0] = newest_first(3, start=21)  # three new posts on top
    fake.calls.clear()
    summary = run(ws, sleeps)
    assert fake.calls["graphql"] == 1 and fake.calls["image"] == 3
    assert summary.as_counts()["posts_new"] == 3
    assert count(ws, Post) == 23


def test_budget_stops_after_page_one_and_next_run_resumes_without_duplicates(home, rsps, sleeps):
    ws = open_ws(home, per_run=1)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(30))

    first = run(ws, sleeps).sources[0]
    assert first.status == "budget_exhausted" and not first.failed
    assert fake.calls["graphql"] == 1 and count(ws, Post) == 12
    assert state(ws)["cursor"]["strategy"] == "graphql"

    ws = open_ws(home, per_run=10)
    fake.calls.clear()
    second = run(ws, sleeps).sources[0]
    assert second.status == "ok", second.message
    assert fake.calls["graphql"] == 2  # pages 2 and 3; page 1 is not asked again
    assert second.posts_new == 18 and second.posts_seen == 0  # the repeated last item is not counted
    assert count(ws, Post) == 30
    assert state(ws)["cursor"] is None


def test_crash_mid_iteration_resumes_from_the_saved_page(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(30))

    def crash_after_first_page():
        if fake.calls["graphql"] >= 1:
            raise RuntimeError("power cut")
        return False

    crashed = run(ws, sleeps, should_stop=crash_after_first_page).sources[0]
    assert crashed.status == "error"
    assert count(ws, Post) == 12

    fake.calls.clear()
    resumed = run(ws, sleeps).sources[0]
    assert resumed.status == "ok"
    assert fake.calls["graphql"] == 2 and resumed.posts_new == 18
    assert count(ws, Post) == 30


def test_stop_request_between_pages_keeps_the_cursor(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(30))
    result = run(ws, sleeps, should_stop=lambda: fake.calls["graphql"] >= 1).sources[0]
    assert result.status == "stopped" and not result.failed
    assert state(ws)["cursor"]["last_shortcode"] == shortcode(19)


def test_page_repeated_after_thaw_adds_no_duplicates(home, rsps, sleeps):
    ws = open_ws(home, per_run=1)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(30))
    run(ws, sleeps)
    fake.repeat["cursor-12"] = None  # the server answers the resumed cursor with page 1 again
    ws = open_ws(home, per_run=10)
    fake.calls.clear()

    result = run(ws, sleeps).sources[0]

    assert result.status == "ok" and result.posts_new == 0
    assert "wiederholt" in result.message
    assert fake.calls["graphql"] == 1
    assert count(ws, Post) == 12
    assert state(ws)["cursor"] is None


def test_401_please_wait_with_require_login_asks_for_a_new_session(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((401, {"message": "Please wait a few minutes before you try again.", "require_login": True,
                              "status": "fail"}, {}))
    result = run(ws, sleeps).sources[0]
    assert result.status == "login_required" and result.not_before is None
    assert "instagram session" in result.message

    fake.calls.clear()
    again = run(ws, sleeps).sources[0]
    assert again.status == "login_required" and fake.calls["graphql"] == 0  # paused until a new session
    store_session(home)  # the operator imports a fresh session
    assert run(ws, sleeps).sources[0].status == "ok"


def test_401_please_wait_without_require_login_is_a_rate_limit(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((401, {"message": "Please wait a few minutes before you try again.", "status": "fail"}, {}))
    result = run(ws, sleeps).sources[0]
    assert result.status == "rate_limited"
    assert result.not_before is not None and result.not_before > utcnow() + timedelta(minutes=10)
    assert "bis" in result.message and "until" in result.message


def test_403_login_required_pauses_until_session_is_imported_again(home, rsps, sleeps):
    ws = open_ws(home, hashtags=(TAG, "siegen"))
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((403, {"message": "login_required", "status": "fail"}, {}))

    results = run(ws, sleeps).sources
    assert [r.status for r in results] == ["login_required", "login_required"]
    assert fake.calls["graphql"] == 1  # the second hashtag was not asked
    assert "instagram session" in results[0].message

    fake.calls.clear()
    again = run(ws, sleeps).sources
    assert [r.status for r in again] == ["login_required", "login_required"] and fake.calls["graphql"] == 0

    store_session(home)  # the operator imported a fresh session
    renewed = run(ws, sleeps).sources
    assert [r.status for r in renewed] == ["ok", "ok"] and fake.calls["graphql"] == 2


def test_404_falls_back_to_web_info_sections(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, [], web_info=None)
    fake.web_info = web_info_body(top=[iphone_media(40)], recent=[iphone_media(41), iphone_media(40)])
    fake.script.append((404, "<html><body>Sorry, this page isn't available.</body></html>", {"Content-Type": "text/html"}))

    result = run(ws, sleeps).sources[0]

    assert result.status == "degraded", result.message
    assert result.strategy == "web_info" and "graphql: endpoint_gone" in result.message and "→ web_info" in result.message
    assert not result.failed
    assert fake.calls["graphql"] == 1 and fake.calls["web_info"] == 1
    assert result.posts_new == 2 and result.requests == 2
    with ws.engine.connect() as connection:
        authors = set(connection.execute(select(Post.__table__.c.author_username)).scalars())
    assert authors == {"anna.siegen"}  # web_info carries the user name
    assert state(ws)["last_status"] == "degraded" and state(ws)["last_success_at"] is not None

    fake.calls.clear()
    second = run(ws, sleeps).sources[0]
    assert second.status == "degraded" and "graphql" in second.message
    assert fake.calls["graphql"] == 0 and second.requests == 1  # the dead path costs nothing per run


def test_429_with_retry_after_stores_not_before_and_never_sleeps(home, rsps, sleeps):
    ws = open_ws(home, hashtags=(TAG, "siegen"))
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((429, {"message": "Please wait a few minutes before you try again.", "status": "fail"},
                        {"Retry-After": "1800"}))

    results = run(ws, sleeps).sources

    assert [r.status for r in results] == ["rate_limited", "rate_limited"]
    assert sleeps == []
    saved = state(ws)
    until = saved["not_before"] if saved["not_before"].tzinfo else saved["not_before"].replace(tzinfo=utcnow().tzinfo)
    assert timedelta(minutes=29) < until - utcnow() <= timedelta(minutes=30)
    fake.calls.clear()
    later = run(ws, sleeps).sources
    assert fake.calls["graphql"] == 0 and later[0].status == "rate_limited" and not later[0].ran


def test_checkpoint_stops_the_source_until_a_human_renews_the_session(home, rsps, sleeps):
    ws = open_ws(home, hashtags=(TAG, "siegen"))
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((400, {"message": "checkpoint_required", "checkpoint_url": "/challenge/AbC/", "lock": False,
                              "status": "fail"}, {}))

    results = run(ws, sleeps).sources
    assert [r.status for r in results] == ["checkpoint", "checkpoint"]
    assert "Browser" in results[0].message and "browser" in results[0].message

    fake.calls.clear()
    assert [r.status for r in run(ws, sleeps).sources] == ["checkpoint", "checkpoint"]
    assert fake.calls["graphql"] == 0

    store_session(home)
    assert [r.status for r in run(ws, sleeps).sources] == ["ok", "ok"]


def test_hashtag_null_falls_through_and_reports_endpoint_gone(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((200, {"data": {"hashtag": None}, "status": "ok"}, {}))

    result = run(ws, sleeps).sources[0]

    assert result.status == "endpoint_gone"
    assert "data.hashtag" in result.message and "web_info" in result.message
    assert fake.calls["web_info"] == 1 and count(ws, Post) == 0


def test_malformed_json_is_named(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((200, "<!DOCTYPE html><html>…", {"Content-Type": "text/html"}))
    result = run(ws, sleeps).sources[0]
    assert result.status == "malformed_response"
    assert "Unerwartete Antwort" in result.message


def test_server_error_is_retried_without_real_sleeping(home, rsps, sleeps, caplog):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    result = run(ws, sleeps).sources[0]
    assert result.status == "ok" and result.posts_new == 5
    assert sleeps == [1.0] and fake.calls["graphql"] == 2
    assert "retrying" in caplog.text


def test_sidecar_and_video_nodes_read_with_one_request_per_incomplete_carousel(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    posts = [graphql_node(3, typename="GraphSidecar", children=3), graphql_node(2, typename="GraphVideo"),
             graphql_node(1, typename="GraphSidecar")]
    fake = FakeInstagram(rsps, posts)

    result = run(ws, sleeps).sources[0]

    assert result.status == "ok" and fake.calls["graphql"] == 1
    assert fake.calls["post_metadata"] == 1  # only the carousel the feed gave without its items
    assert result.requests == 1 + 1 + fake.calls["user_info"] and fake.calls["media_info"] == 0
    assert "Karussell" not in result.message
    with ws.engine.connect() as connection:
        rows = connection.execute(
            select(Post.__table__.c.external_id, Post.__table__.c.media_type, PostMedia.__table__.c.position,
                   PostMedia.__table__.c.kind, PostMedia.__table__.c.media_sha256)
            .join(PostMedia.__table__, PostMedia.__table__.c.post_id == Post.__table__.c.id)
            .order_by(Post.__table__.c.external_id, PostMedia.__table__.c.position)
        ).all()
    by_post = {}
    for row in rows:
        by_post.setdefault(row.external_id, []).append((row.media_type, row.kind, row.media_sha256 is not None))
    assert by_post[shortcode(3)] == [("sidecar", "image", True)] * 3
    assert by_post[shortcode(2)] == [("video", "video", True)]  # the cover picture is kept
    assert by_post[shortcode(1)] == [("sidecar", "image", True)] * 3  # its items, asked for once
    assert fake.calls["image"] == 7


def test_incomplete_carousel_keeps_its_first_picture_when_the_budget_is_short(home, rsps, sleeps):
    ws = open_ws(home, per_run=1)
    store_session(home)
    fake = FakeInstagram(rsps, [graphql_node(2), graphql_node(1, typename="GraphSidecar")])

    result = run(ws, sleeps).sources[0]

    assert result.requests == 1 and fake.calls["post_metadata"] == 0
    assert "1 Karussell(s) nur mit dem ersten Bild" in result.message and "first picture only" in result.message
    with ws.engine.connect() as connection:
        pictures = connection.execute(select(func.count()).select_from(PostMedia.__table__)).scalar_one()
    assert pictures == 2


def test_bad_image_is_rejected_and_the_post_kept(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(3))
    fake.bad_images.add("/2_n.jpg")

    result = run(ws, sleeps).sources[0]

    assert result.status == "ok"
    assert result.posts_new == 3 and result.media_ok == 2 and result.media_rejected == 1
    with ws.engine.connect() as connection:
        statuses = sorted(connection.execute(select(Media.__table__.c.status)).scalars())
    assert statuses == ["ok", "rejected"]  # the two good pictures are the same bytes


def test_missing_session_names_the_command_and_sends_nothing(home, rsps, sleeps):
    ws = open_ws(home)
    fake = FakeInstagram(rsps, newest_first(3))
    result = run(ws, sleeps).sources[0]
    assert result.status == "login_required" and "instagram session --username u" in result.message
    assert sum(fake.calls.values()) == 0


def test_hourly_budget_spans_runs(home, rsps, sleeps):
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    source = INSTAGRAM_SOURCE.format(per_run=60) + "max_requests_per_hour = 2\n"
    (folder / "test.toml").write_text(campaign_toml(source), encoding="utf-8")
    ws = Workspace.open(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(20))
    assert run(ws, sleeps).sources[0].requests == 2
    fake.posts[:0] = newest_first(1, start=21)
    fake.calls.clear()
    result = run(ws, sleeps).sources[0]
    assert result.status == "budget_exhausted" and "pro Stunde" in result.message
    assert fake.calls["graphql"] == 0


def test_connection_errors_end_as_network_after_a_few_tries(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script += [requests.ConnectionError("connection refused")] * 3
    result = run(ws, sleeps).sources[0]
    assert result.status == "network" and result.requests == 3 and len(sleeps) == 2
    assert "Netzwerk" in result.message and count(ws, Post) == 0
    assert result.not_before is not None and utcnow() < result.not_before <= utcnow() + timedelta(minutes=6)
    fake.calls.clear()
    skipped = run(ws, sleeps).sources[0]
    assert skipped.ran is False and fake.calls["graphql"] == 0  # waits for the not-before time
    with ws.engine.begin() as connection:
        connection.execute(SourceState.__table__.update().values(not_before=utcnow() - timedelta(seconds=1)))
    assert run(ws, sleeps).sources[0].status == "ok"  # the next run after it simply works


def test_picture_that_failed_is_fetched_again_on_the_next_poll(home, rsps, sleeps):
    ws = open_ws(home)
    store_session(home)
    fake = FakeInstagram(rsps, newest_first(3))
    fake.failing_images.add("/3_n.jpg")
    first = run(ws, sleeps).sources[0]
    assert first.posts_new == 3 and first.media_ok == 2 and first.media_failed == 1
    assert "Bilder nicht geladen" in first.message

    fake.failing_images.clear()
    fake.calls.clear()
    second = run(ws, sleeps).sources[0]
    assert second.posts_new == 0 and second.media_ok == 1
    assert fake.calls["graphql"] == 1 and fake.calls["image"] == 1
