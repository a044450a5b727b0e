"""Collection as the scheduler runs it (default policy, no waiting), on Instagram's real formats.

Each test drives `collect` the way `campaign-worker collect` and the scheduler do: without a
retry policy of its own, with `time.sleep` patched to fail the test.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from campaign_worker.moderation.job import moderate
from campaign_worker.sources.collect import collect
from campaign_worker.store.models import AuthorName, CampaignPost, Media, Post, PostMedia, SourceState
from campaign_worker.timeutil import utcnow
from campaign_worker.workspace import Workspace
from .collect_fakes import INSTAGRAM_SOURCE, TAG, FakeInstagram, campaign_toml, graphql_node, shortcode, store_session

pytestmark = pytest.mark.usefixtures("no_sleeping")


def open_ws(home, per_run: int = 60, extra: str = "") -> Workspace:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.toml").write_text(campaign_toml(INSTAGRAM_SOURCE.format(per_run=per_run)) + extra, encoding="utf-8")
    store_session(home)
    return Workspace.open(home)


def newest_first(count: int) -> list[dict]:
    return [graphql_node(n) for n in range(count, 0, -1)]


def rows(ws, table, *where) -> list:
    with ws.engine.connect() as connection:
        return connection.execute(select(table.__table__).where(*where)).all()


def expire_not_before(ws) -> None:
    with ws.engine.begin() as connection:
        connection.execute(SourceState.__table__.update().values(not_before=utcnow() - timedelta(seconds=1)))


def test_network_error_on_page_two_ends_the_run_with_a_not_before_and_resumes_there(home, rsps):
    ws = open_ws(home)
    fake = FakeInstagram(rsps, newest_first(30))
    fake.usernames = {str(5_000_000 + n): f"konto{n}" for n in range(1, 31)}
    fake.script += [None, requests.ConnectionError("Connection reset by peer")]

    result = collect(ws, ["test"]).sources[0]  # time.sleep would fail the test

    assert result.status == "network" and result.failed
    assert fake.calls["graphql"] == 2  # page 2 was asked once, not three times
    assert result.not_before is not None and utcnow() < result.not_before <= utcnow() + timedelta(minutes=6)
    assert "bis" in result.message and "Netzwerk" in result.message
    assert len(rows(ws, Post)) == 12  # page 1 is kept

    fake.calls.clear()
    waiting = collect(ws, ["test"]).sources[0]
    assert waiting.ran is False and sum(fake.calls.values()) == 0

    expire_not_before(ws)
    resumed = collect(ws, ["test"]).sources[0]
    assert resumed.status == "ok", resumed.message
    assert fake.calls["graphql"] == 2  # pages 2 and 3, from the saved cursor
    assert len(rows(ws, Post)) == 30


def test_server_error_is_not_retried_in_the_run(home, rsps):
    ws = open_ws(home)
    fake = FakeInstagram(rsps, newest_first(5))
    fake.script.append((503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"}))

    result = collect(ws, ["test"]).sources[0]

    assert result.status == "network" and fake.calls["graphql"] == 1 and result.not_before is not None


def test_oversized_picture_is_fetched_once_and_stored_as_rejected(home, rsps):
    ws = open_ws(home)
    fake = FakeInstagram(rsps, newest_first(3))
    fake.huge_images.add("/2_n.jpg")

    first = collect(ws, ["test"]).sources[0]

    assert first.status == "ok", first.message
    assert first.media_ok == 2 and first.media_rejected == 1 and first.media_failed == 0
    [rejected] = rows(ws, Media, Media.__table__.c.status == "rejected")
    assert rejected.reject_reason.startswith("too_large") and "8.0 MB" in rejected.reject_reason.replace(",", ".")
    linked = rows(ws, PostMedia, PostMedia.__table__.c.media_sha256 == rejected.sha256)
    assert len(linked) == 1

    fake.posts.insert(0, graphql_node(4))  # a new post, so the known ones come along again
    second = collect(ws, ["test"]).sources[0]
    assert second.posts_new == 1 and second.media_failed == 0
    assert fake.calls["image"] == 3 + 1  # the big one was not fetched again


def test_graphql_posts_get_author_names_once_and_partners_are_approved(home, rsps):
    partners = '''
[[partners]]
name = "Stadt Siegen"
accounts = ["stadt.siegen"]

[[partners]]
name = "Diakonie"
accounts = ["id:5000002"]
'''
    ws = open_ws(home, extra=partners)
    fake = FakeInstagram(rsps, newest_first(3))
    fake.usernames = {"5000003": "stadt.siegen", "5000002": "diakonie.suedwestfalen", "5000001": "anna.siegen"}
    fake.distinct_images = True

    result = collect(ws, ["test"]).sources[0]

    assert result.status == "ok", result.message
    assert fake.calls["user_info"] == 3 and result.requests == 1 + 3  # one page, one look-up per owner
    names = {r.external_id: (r.author_username, r.author_id) for r in rows(ws, Post)}
    assert names[shortcode(3)] == ("stadt.siegen", "5000003")
    assert names[shortcode(1)] == ("anna.siegen", "5000001")

    moderate(ws, ["test"])
    states = {r.post_id: (r.state, r.decided_by) for r in rows(ws, CampaignPost)}
    by_code = {r.external_id: states[r.id] for r in rows(ws, Post)}
    assert by_code[shortcode(3)][0] == "approved"  # partner by name, on a collected post
    assert by_code[shortcode(2)][0] == "approved"  # partner by its stable id
    assert by_code[shortcode(1)][0] != "approved"

    # A later page by the same owners costs no further look-up: the names are kept.
    fake.posts.insert(0, graphql_node(5) | {"owner": {"id": "5000003"}})
    fake.calls.clear()
    again = collect(ws, ["test"]).sources[0]
    assert again.posts_new == 1 and fake.calls["user_info"] == 0 and again.requests == 1
    assert {r.author_username for r in rows(ws, Post, Post.__table__.c.external_id == shortcode(5))} == {"stadt.siegen"}


def test_name_look_ups_stay_in_the_budget_and_the_next_run_completes_them(home, rsps):
    ws = open_ws(home, per_run=5)
    fake = FakeInstagram(rsps, newest_first(10))
    fake.gone_users.add("5000010")

    first = collect(ws, ["test"]).sources[0]

    assert first.status == "ok" and first.requests == 5  # 1 page + 4 look-ups, not one more
    assert "Kontonamen noch offen" in first.message and "account names still open" in first.message
    expire_not_before(ws)
    second = collect(ws, ["test"]).sources[0]
    assert second.requests == 5  # the first page (known: stops) + 4 more names
    collect(ws, ["test"])
    nameless = [r.external_id for r in rows(ws, Post) if r.author_username is None]
    assert nameless == [shortcode(10)]  # the one account Instagram no longer knows
    assert rows(ws, AuthorName, AuthorName.__table__.c.author_id == "5000010")[0].username is None
    assert fake.calls["user_info"] == 10  # every owner asked exactly once


def test_login_trouble_during_name_look_ups_pauses_the_source(home, rsps):
    ws = open_ws(home)
    fake = FakeInstagram(rsps, newest_first(2))
    fake.user_info_answer = (401, {"message": "Please wait a few minutes before you try again.", "require_login": True,
                                   "status": "fail"})

    result = collect(ws, ["test"]).sources[0]

    assert result.status == "login_required"
    assert len(rows(ws, Post)) == 2  # what was collected stays


def test_hashtag_with_umlaut_is_folded_to_the_campaign_tag(home, rsps):
    ws = open_ws(home)
    node = graphql_node(1)
    node["edge_media_to_caption"]["edges"][0]["node"]["text"] = "Feierabend am Schloss #MeinHerzTrägtKrone #Südwestfalen"
    FakeInstagram(rsps, [node])

    collect(ws, ["test"])

    [post] = rows(ws, Post)
    assert post.hashtags == [TAG, "suedwestfalen"]
    assert "#MeinHerzTrägtKrone" in post.caption  # the caption itself is kept as written
