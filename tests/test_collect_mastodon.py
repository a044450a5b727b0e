"""Collecting Mastodon hashtag timelines against a fake instance (`responses`)."""

from __future__ import annotations


import pytest
from sqlalchemy import select

from campaign_worker.sources.collect import collect
from campaign_worker.store.models import Post, PostMedia
from campaign_worker.sources.http import RetryPolicy
from campaign_worker.sources.mastodon import html_to_text
from campaign_worker.workspace import Workspace

from .collect_fakes import MASTODON, TAG, FakeMastodon, campaign_toml, mastodon_status

pytestmark = pytest.mark.usefixtures("no_sleeping")


def open_ws(home, max_pages: int = 2) -> Workspace:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    source = f'''[[sources]]
id = "social"
type = "mastodon"
instance = "{MASTODON}"
max_pages_first_run = {max_pages}
'''
    (folder / "test.toml").write_text(campaign_toml(source), encoding="utf-8")
    return Workspace.open(home)


def run(ws, sleeps=None):
    return collect(ws, ["test"], retry_policy=RetryPolicy(sleep=(sleeps if sleeps is not None else []).append))


def statuses(count: int, start: int = 1, **kwargs) -> list[dict]:
    return [mastodon_status(n, **kwargs) for n in range(start + count - 1, start - 1, -1)]


def test_first_run_pages_back_then_polls_with_min_id(home, rsps):
    ws = open_ws(home, max_pages=2)
    fake = FakeMastodon(rsps, statuses(50))

    first = run(ws).sources[0]
    assert first.status == "ok", first.message
    assert fake.calls["timeline"] == 2 and first.posts_new == 50 and first.requests == 2

    fake.calls.clear()
    quiet = run(ws).sources[0]
    assert fake.calls["timeline"] == 1 and quiet.posts_new == 0  # steady state: one request
    assert fake.params[-1]["min_id"] == mastodon_status(50)["id"]

    fake.statuses[:0] = statuses(3, start=51)
    fake.calls.clear()
    news = run(ws).sources[0]
    assert news.posts_new == 3 and fake.calls["timeline"] == 1


def test_catch_up_walks_prev_links_upwards(home, rsps):
    ws = open_ws(home, max_pages=1)
    fake = FakeMastodon(rsps, statuses(5))
    run(ws)
    fake.statuses[:0] = statuses(85, start=6)  # more than two pages arrived meanwhile
    fake.calls.clear()
    result = run(ws).sources[0]
    assert result.posts_new == 85 and fake.calls["timeline"] == 3
    with ws.engine.connect() as connection:
        assert connection.execute(select(Post.__table__.c.id)).all().__len__() == 90


def test_status_html_media_and_author(home, rsps):
    ws = open_ws(home)
    FakeMastodon(rsps, [mastodon_status(2, media=("image", "gifv")), mastodon_status(1, reblog=True)])

    result = run(ws).sources[0]

    assert result.posts_new == 1  # the boost is not a post of its own
    with ws.engine.connect() as connection:
        post = connection.execute(select(Post.__table__)).one()
        media = connection.execute(select(PostMedia.__table__).order_by(PostMedia.__table__.c.position)).all()
    assert post.caption == f"Neu in Siegen & gut angekommen Nr. 2 #{TAG}\nZweite Zeile"
    assert "alert" not in post.caption and "<" not in post.caption
    assert post.author_username == "stadtsiegen" and post.platform == "mastodon"
    assert TAG in post.hashtags
    assert [(m.kind, m.media_sha256 is not None) for m in media] == [("image", True), ("video", True)]
    assert media[1].video_url.endswith(".mp4") and media[1].source_url.endswith("/small/2_1.jpg")


def test_html_to_text_keeps_text_only():
    html = '<p>Hallo&nbsp;<b>Welt</b> &lt;script&gt;</p><p><a href="x">#<span>Heimat</span></a></p><style>p{}</style>'
    assert html_to_text(html) == "Hallo Welt <script>\n\n#Heimat"  # escaped text stays text


def test_server_error_retried_then_rate_limit_stored(home, rsps):
    ws = open_ws(home)
    fake = FakeMastodon(rsps, statuses(3))
    sleeps: list[float] = []
    fake.script.append((503, {"error": "unavailable"}, {"Retry-After": "2"}))
    ok = run(ws, sleeps).sources[0]
    assert ok.status == "ok" and sleeps == [2.0] and ok.requests == 2

    fake.script.append((429, {"error": "Too many requests"}, {"Retry-After": "600"}))
    limited = run(ws, sleeps).sources[0]
    assert limited.status == "rate_limited" and limited.not_before is not None and sleeps == [2.0]


def test_not_a_list_is_malformed(home, rsps):
    ws = open_ws(home)
    fake = FakeMastodon(rsps, statuses(3))
    fake.script.append((200, {"error": "This method requires an authenticated user"}, {}))
    assert run(ws).sources[0].status == "malformed_response"
