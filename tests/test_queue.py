"""The moderation queue: states, human precedence, undo and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.store.models import CampaignPost, campaign_post_table
from campaign_worker.moderation.verdict import Verdict
from campaign_worker.moderation.queue import QueueError, QueueFilter, apply_rule_verdict, counts, decide, history, list_entries, undo

from .helpers import post

SPAM = Verdict("reject", "spam", "Spam: Krypto-Werbung", "spam: crypto promotion", ("bitcoin",))
REVIEW = Verdict("review", "default", "Bitte prüfen", "please review")


@pytest.fixture
def ids(engine):
    result = store_posts(engine, "siegen", "sample", [post(i) for i in range(5)])
    return [result.post_ids[f"instagram:C{i:05d}"] for i in range(5)]


def state_of(engine, post_id):
    with engine.connect() as connection:
        return connection.execute(select(campaign_post_table).where(CampaignPost.post_id == post_id)).one()


def test_rule_verdict_moves_new_post_and_is_audited(engine, ids):
    with transaction(engine) as connection:
        change = apply_rule_verdict(connection, "siegen", ids[0], SPAM, ["fachkraefte"])
    assert (change.from_state, change.to_state) == ("new", "rejected")
    row = state_of(engine, ids[0])
    assert (row.state, row.rule, row.reason_de, row.evidence, row.audiences) == ("rejected", "spam", "Spam: Krypto-Werbung", ["bitcoin"], ["fachkraefte"])
    with engine.connect() as connection:
        (event,) = history(connection, "siegen", ids[0])
    assert event["actor"] == "rule:spam" and event["reason_en"] == "spam: crypto promotion"


def test_rules_never_override_a_person(engine, ids):
    with transaction(engine) as connection:
        apply_rule_verdict(connection, "siegen", ids[0], REVIEW)
        decide(connection, "siegen", [ids[0]], "approved", "maria")
    with transaction(engine) as connection:
        assert apply_rule_verdict(connection, "siegen", ids[0], SPAM, recheck=True) is None
    assert state_of(engine, ids[0]).state == "approved"


def test_recheck_updates_rule_decisions_only(engine, ids):
    with transaction(engine) as connection:
        apply_rule_verdict(connection, "siegen", ids[1], REVIEW)
        assert apply_rule_verdict(connection, "siegen", ids[1], SPAM) is None  # not new any more
        assert apply_rule_verdict(connection, "siegen", ids[1], SPAM, recheck=True).to_state == "rejected"


def test_person_decides_with_reason_and_undo_restores_previous_reason(engine, ids):
    with transaction(engine) as connection:
        apply_rule_verdict(connection, "siegen", ids[2], REVIEW)
        decide(connection, "siegen", [ids[2]], "rejected", "maria", reason="Kein Bezug zur Region")
    row = state_of(engine, ids[2])
    assert (row.state, row.human, row.decided_by, row.reason_de) == ("rejected", True, "user:maria", "Kein Bezug zur Region")
    with transaction(engine) as connection:
        change = undo(connection, "siegen", ids[2], "maria")
    assert (change.from_state, change.to_state) == ("rejected", "pending")
    row = state_of(engine, ids[2])
    assert (row.state, row.human, row.reason_de) == ("pending", False, "Bitte prüfen")
    with engine.connect() as connection:
        trail = [(e["actor"], e["from_state"], e["to_state"]) for e in history(connection, "siegen", ids[2])]
    assert trail == [("rule:default", "new", "pending"), ("user:maria", "pending", "rejected"), ("user:maria", "rejected", "pending")]


def test_undo_twice_walks_back_two_human_steps(engine, ids):
    with transaction(engine) as connection:
        apply_rule_verdict(connection, "siegen", ids[3], REVIEW)
        decide(connection, "siegen", [ids[3]], "later", "tom")
        decide(connection, "siegen", [ids[3]], "approved", "tom")
        undo(connection, "siegen", ids[3], "tom")
    row = state_of(engine, ids[3])
    assert (row.state, row.human) == ("later", True)


def test_bulk_decide_skips_unchanged_and_refuses_unknown_states(engine, ids):
    with transaction(engine) as connection:
        changes = decide(connection, "siegen", ids[:3], "rejected", "maria")
        again = decide(connection, "siegen", ids[:3], "rejected", "maria")
    assert len(changes) == 3 and again == []
    with pytest.raises(QueueError):
        with transaction(engine) as connection:
            decide(connection, "siegen", ids[:1], "deleted", "maria")
    with pytest.raises(QueueError, match="nicht in der Kampagne"):
        with transaction(engine) as connection:
            decide(connection, "medizin-pflege", ids[:1], "approved", "maria")


def test_nothing_to_undo_on_untouched_post(engine, ids):
    with pytest.raises(QueueError):
        with transaction(engine) as connection:
            undo(connection, "siegen", ids[4], "maria")


def test_listing_filters_and_pages(engine, ids):
    with transaction(engine) as connection:
        for post_id in ids:
            apply_rule_verdict(connection, "siegen", post_id, REVIEW)
        decide(connection, "siegen", [ids[0]], "approved", "maria")
    with engine.connect() as connection:
        first = list_entries(connection, QueueFilter("siegen"), limit=2)
        rest = list_entries(connection, QueueFilter("siegen"), limit=10, after=(first[-1]["posted_at"], first[-1]["post_id"]))
        assert [r["post_id"] for r in first + rest] == [ids[4], ids[3], ids[2], ids[1]]
        assert [r["post_id"] for r in list_entries(connection, QueueFilter("siegen", state="approved"))] == [ids[0]]
        assert counts(connection, "siegen")["siegen"]["pending"] == 4
        assert len(list_entries(connection, QueueFilter("siegen", state=None, hashtag="#MeinHerzTraegtKrone"))) == 5
        assert list_entries(connection, QueueFilter("siegen", state=None, text="Nr. 3"))[0]["post_id"] == ids[3]
