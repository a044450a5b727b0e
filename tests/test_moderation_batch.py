"""`Moderator.evaluate_many` (the batch path of the moderation job) decides exactly as `evaluate`
one post after another: same verdicts, evidence and scores, in order, including posts of the
batch that repeat one another or an earlier post."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from campaign_worker.config.campaigns import parse_campaign
from campaign_worker.home import Home
from campaign_worker.moderation.engine import Moderator
from campaign_worker.moderation.verdict import Candidate
from campaign_worker.post import extract_hashtags

REPO = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def corpus_posts() -> list[Candidate]:
    rows = [json.loads(line) for line in (REPO / "tests" / "data" / "moderation_corpus.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    rows += [json.loads(line) for line in (REPO / "tests" / "data" / "moderation" / "dev.jsonl").read_text(encoding="utf-8").splitlines()[::5] if line.strip()]
    posts = []
    for n, row in enumerate(rows):
        image = row.get("image_hash")
        posts.append(Candidate(f"c:{n}", row["caption"], row.get("author"), tuple(extract_hashtags(row["caption"])),
                               START + timedelta(hours=3 * n), (image,) if image else ()))
    return posts


def with_repeats(posts: list[Candidate]) -> list[Candidate]:
    """The posts, then some of them again: the very same post, its text by another account, a daily-cap burst."""
    again = [posts[n] for n in range(0, 40, 4)]
    copied = [Candidate(f"copy:{n}", p.caption, "someone_else", p.hashtags, p.posted_at + timedelta(days=400), p.image_hashes)
              for n, p in enumerate(posts[1:30:3])]
    burst = [Candidate(f"burst:{n}", f"Bild {n} vom Sonntag am Krönchen #meinherztraegtkrone", "busy_bee", (),
                       START + timedelta(days=500, minutes=n)) for n in range(8)]
    return posts + again + copied + burst + again[:3]


@pytest.fixture
def home(tmp_path) -> Home:
    return Home(tmp_path / "home")


@pytest.mark.parametrize("level", ["partners", "confident", "all"])
@pytest.mark.parametrize("vulgar", ["review", "reject"])
def test_a_batch_decides_exactly_as_one_post_after_another(home, level, vulgar):
    campaign = parse_campaign(REPO / "config" / "campaigns" / "siegen.toml")
    campaign = campaign.model_copy(update={"moderation": campaign.moderation.model_copy(update={"vulgar": vulgar})})
    posts = with_repeats(corpus_posts())
    history = posts[:25]
    one_by_one, batched = Moderator(campaign, home, auto_approve=level), Moderator(campaign, home, auto_approve=level)
    for moderator in (one_by_one, batched):
        for earlier in history:
            moderator.remember(earlier)
    expected = [one_by_one.evaluate(p) for p in posts]
    # Uneven slices: the history carries from one batch to the next as it does within one.
    got = batched.evaluate_many(posts[:7]) + batched.evaluate_many(posts[7:8]) + batched.evaluate_many(posts[8:])
    assert got == expected
    decisions = {o.decision for o in got}
    assert {"reject", "review"} <= decisions
    assert any(o.rule.startswith("duplicate.") for o in got) and any(o.rule == "author.daily_cap" for o in got)


def test_an_empty_batch_is_no_work(home):
    assert Moderator(parse_campaign(REPO / "config" / "campaigns" / "siegen.toml"), home).evaluate_many([]) == []
