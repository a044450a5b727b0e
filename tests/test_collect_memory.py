"""The source interface and its registry, and the in-memory source: paging, budget, resume, de-duplication."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from campaign_worker.config.campaigns import Campaign
from campaign_worker.sources.base import BUILTIN, Source, source_for
from campaign_worker.sources.collect import collect
from campaign_worker.sources.memory import MemorySource
from campaign_worker.store.models import Post, source_state_table
from campaign_worker.workspace import Workspace

from .helpers import memory_campaign, post


def open_ws(home, **kwargs) -> Workspace:
    memory_campaign(home, **kwargs)
    return Workspace.open(home)


def stored(ws) -> int:
    with ws.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Post)).scalar_one()


def cursor(ws, hashtag: str = "meinherztraegtkrone"):
    with ws.engine.connect() as connection:
        return connection.execute(select(source_state_table.c.cursor)
                                  .where(source_state_table.c.key == f"test/mem/{hashtag}")).scalar_one()


def test_every_source_type_has_one_registered_class_with_the_one_interface():
    configs = {
        "archive": {"path": "archiv"},
        "instagram": {"username": "u"},
        "instagram_graph": {},
        "mastodon": {"instance": "https://social.example.de"},
        "memory": {},
    }
    assert set(configs) == set(BUILTIN)
    campaign = Campaign.model_validate({
        "slug": "test", "name": "Test", "hashtags": ["x"], "audiences": [{"key": "a", "label": "A"}],
        "sources": [{"id": kind.replace("_", "-"), "type": kind, **extra} for kind, extra in configs.items()],
    })
    for config in campaign.sources:
        cls = source_for(config)
        assert issubclass(cls, Source) and cls.type == config.type
    assert source_for(campaign.sources[-1]) is MemorySource


def test_pages_cost_requests_and_a_used_up_budget_resumes_without_duplicates(home, memory_feed):
    memory_feed("mem", [post(n) for n in range(1, 31)])
    ws = open_ws(home, page_size=5, per_run=2)

    first = collect(ws, ["test"]).sources[0]
    assert first.status == "budget_exhausted" and not first.failed
    assert (first.requests, first.posts_new, stored(ws)) == (2, 10, 10)
    assert cursor(ws) == {"after": "instagram:C00021"}  # newest first: 30 … 21 are stored

    ws = open_ws(home, page_size=5, per_run=10)
    second = collect(ws, ["test"]).sources[0]
    assert second.status == "ok", second.message
    assert (second.requests, second.posts_new, second.posts_seen) == (4, 20, 0)
    assert "fortgesetzt / resumed" in second.message
    assert stored(ws) == 30 and cursor(ws) is None


def test_a_poll_with_nothing_new_is_one_request_and_new_posts_on_top_are_found(home, memory_feed):
    memory_feed("mem", [post(n) for n in range(1, 13)])
    ws = open_ws(home, page_size=5)
    assert collect(ws, ["test"]).sources[0].posts_new == 12

    again = collect(ws, ["test"]).sources[0]
    assert (again.requests, again.posts_new, again.posts_seen) == (1, 0, 5)

    memory_feed("mem", [post(n) for n in range(13, 16)])
    summary = collect(ws, ["test"])
    assert summary.as_counts()["posts_new"] == 3 and summary.as_counts()["requests"] == 1
    assert stored(ws) == 15


def test_a_stop_between_pages_keeps_the_cursor(home, memory_feed):
    memory_feed("mem", [post(n) for n in range(1, 21)])
    ws = open_ws(home, page_size=5)
    pages = []

    first = collect(ws, ["test"], should_stop=lambda: len(pages) > 0,
                    progress=lambda event, result: pages.append(event) if event == "start" else None).sources[0]
    assert first.status == "stopped" and first.posts_new == 5
    assert cursor(ws) == {"after": "instagram:C00016"}

    rest = collect(ws, ["test"]).sources[0]
    assert rest.status == "ok" and rest.posts_new == 15 and stored(ws) == 20


def test_each_hashtag_sees_its_own_posts_and_a_shared_post_is_stored_once(home, memory_feed):
    memory_feed("mem", [
        post(1, "Nur Siegen #meinherztraegtkrone"),
        post(2, "Beides #MeinHerzTrägtKrone #siegen"),
        post(3, "Nur #siegen"),
        post(4, "Gar kein Hashtag"),
    ])
    ws = open_ws(home, hashtags=("meinherztraegtkrone", "siegen"))

    results = {r.hashtag: r for r in collect(ws, ["test"]).sources}
    assert (results["meinherztraegtkrone"].posts_new, results["siegen"].posts_new, results["siegen"].posts_seen) == (2, 1, 1)
    assert stored(ws) == 3


def test_a_used_up_budget_is_recorded_for_the_remaining_hashtags_without_asking(home, memory_feed):
    memory_feed("mem", [post(n, f"#meinherztraegtkrone #siegen Nr. {n}") for n in range(1, 11)])
    ws = open_ws(home, page_size=5, per_run=1, hashtags=("meinherztraegtkrone", "siegen"))

    first, second = collect(ws, ["test"]).sources
    assert first.status == "budget_exhausted" and first.requests == 1
    assert second.status == "budget_exhausted" and not second.ran and second.requests == 0
    assert "nicht abgefragt" in second.message


@pytest.mark.parametrize("given", ["dict", "post"])
def test_posts_can_be_fed_as_make_post_arguments(home, memory_feed, given):
    first = post(1)
    memory_feed("mem", [first if given == "post" else {
        "platform": first.platform, "external_id": first.external_id, "caption": first.caption,
        "posted_at": first.posted_at, "author_username": first.author_username,
    }])
    assert collect(open_ws(home), ["test"]).sources[0].posts_new == 1
