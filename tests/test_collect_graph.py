"""The official Graph API hashtag source, and the Instagram chain falling back to it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from campaign_worker.sources.collect import collect
from campaign_worker.store.models import Post, SourceState
from campaign_worker.sources.http import RetryPolicy
from campaign_worker.workspace import Workspace

from .collect_fakes import (
    GRAPH_TOKEN,
    INSTAGRAM_SOURCE,
    TAG,
    FakeGraph,
    FakeInstagram,
    campaign_toml,
    graph_media,
    shortcode,
    store_session,
)

pytestmark = pytest.mark.usefixtures("no_sleeping")


@pytest.fixture
def graph_env(monkeypatch):
    monkeypatch.setenv("IG_GRAPH_USER_ID", "17841400000000000")
    monkeypatch.setenv("IG_GRAPH_TOKEN", GRAPH_TOKEN)


GRAPH_SOURCE = '''[[sources]]
id = "graph"
type = "instagram_graph"
edges = ["recent_media", "top_media"]
poll_interval_hours = {interval}
enabled = {enabled}
max_requests_per_run = 200
'''


def open_ws(home, interval: float = 6, hashtags=(TAG,), extra: str = "", enabled: str = "true") -> Workspace:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    sources = GRAPH_SOURCE.format(interval=interval, enabled=enabled) + extra
    (folder / "test.toml").write_text(campaign_toml(sources, hashtags), encoding="utf-8")
    return Workspace.open(home)


def run(ws, **kwargs):
    return collect(ws, ["test"], retry_policy=RetryPolicy(sleep=lambda s: None), **kwargs)


def test_missing_environment_is_not_configured(home, rsps, monkeypatch):
    monkeypatch.delenv("IG_GRAPH_TOKEN", raising=False)
    ws = open_ws(home)
    fake = FakeGraph(rsps, [graph_media(1)])
    result = run(ws).sources[0]
    assert result.status == "not_configured" and "IG_GRAPH_TOKEN" in result.message
    assert sum(fake.calls.values()) == 0


def test_search_once_then_recent_and_top_pages(home, rsps, graph_env, caplog):
    caplog.set_level(logging.DEBUG)
    ws = open_ws(home)
    recent = [graph_media(n) for n in range(60, 0, -1)]
    fake = FakeGraph(rsps, recent, top=[graph_media(70, "CAROUSEL_ALBUM"), graph_media(60), graph_media(71, "VIDEO")])

    first = run(ws).sources[0]

    assert first.status == "ok", first.message
    assert fake.calls["search"] == 1 and fake.calls["recent_media"] == 2 and fake.calls["top_media"] == 1
    assert first.posts_new == 62 and first.requests == 4
    with ws.engine.connect() as connection:
        post = connection.execute(select(Post.__table__).where(Post.__table__.c.external_id == shortcode(60))).one()
        state = connection.execute(select(SourceState.__table__)).one()
    assert post.author_username is None and post.platform == "instagram"
    assert state.extra["graph"]["hashtag"] == TAG and state.extra["graph"]["hashtag_id"] == "17843853986012965"
    assert GRAPH_TOKEN not in caplog.text and GRAPH_TOKEN not in str(state.extra)

    fake.calls.clear()
    second = run(ws).sources[0]
    assert fake.calls["search"] == 0 and fake.calls["recent_media"] == 1  # id kept, stops at the first stored post
    assert second.posts_new == 0


def test_thirty_hashtags_a_week_quota(home, rsps, graph_env):
    tags = tuple(f"tag{i}" for i in range(31))
    ws = open_ws(home, hashtags=tags)
    fake = FakeGraph(rsps, [graph_media(1)])
    results = run(ws).sources
    assert [r.status for r in results[:30]] == ["ok"] * 30
    assert results[30].status == "quota_exhausted" and results[30].not_before is not None
    assert fake.calls["search"] == 30

    fake.calls.clear()
    again = run(ws).sources  # the thirty known hashtags go on; the 31st still waits
    assert fake.calls["search"] == 0 and again[30].status == "quota_exhausted" and not again[30].ran


def test_long_poll_interval_warns_about_gaps(home, rsps, graph_env):
    ws = open_ws(home, interval=48)
    FakeGraph(rsps, [graph_media(1)])
    result = run(ws).sources[0]
    assert result.status == "ok" and "24 h" in result.message


def test_expired_token_is_login_required_without_leaking_it(home, rsps, graph_env):
    ws = open_ws(home)
    fake = FakeGraph(rsps, [graph_media(1)])
    fake.script.append((400, {"error": {"message": f"Error validating access token: Session has expired (token {GRAPH_TOKEN})",
                                        "type": "OAuthException", "code": 190, "error_subcode": 463,
                                        "fbtrace_id": "AbCdEf"}}))
    result = run(ws).sources[0]
    assert result.status == "login_required"
    assert GRAPH_TOKEN not in result.message and "Zugangstoken" in result.message


def test_instagram_chain_falls_back_to_the_graph_api(home, rsps, graph_env):
    ig = INSTAGRAM_SOURCE.format(per_run=10) + 'fallback = "graph"\n'
    ws = open_ws(home, extra=ig, enabled="false")
    store_session(home)
    instagram = FakeInstagram(rsps, [], web_info=None)
    instagram.script.append((404, "<html>gone</html>", {"Content-Type": "text/html"}))
    graph = FakeGraph(rsps, [graph_media(2), graph_media(1)])

    results = run(ws).sources

    assert [r.source_id for r in results] == ["insta"]  # the graph source itself is disabled
    result = results[0]
    assert result.status == "degraded" and result.strategy == "graph_api" and not result.failed
    assert "graphql: endpoint_gone" in result.message and "web_info: endpoint_gone" in result.message
    assert instagram.calls["graphql"] == 1 and instagram.calls["web_info"] == 1 and graph.calls["recent_media"] == 1
    assert result.posts_new == 2
