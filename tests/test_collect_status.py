"""The failure vocabulary, Retry-After handling and the no-sleep rate controller."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from campaign_worker.sources.http import RequestBudget, RetryPolicy, call_with_retries, parse_retry_after
from campaign_worker.timeutil import utcnow
from campaign_worker.sources.instagram import NoWaitRateController, RequestMeter, make_loader
from campaign_worker.sources.status import STATUSES, SourceFailure, describe

pytestmark = pytest.mark.usefixtures("no_sleeping")


def test_every_status_speaks_german_and_english_and_says_what_to_do():
    for code, info in STATUSES.items():
        assert info.de and info.en and info.todo_de and info.todo_en, code
    text = describe("rate_limited", "HTTP 429", datetime(2026, 11, 22, 13, 5, tzinfo=timezone.utc))
    assert "bis 22.11.2026 14:05 Uhr" in text and "until 2026-11-22 14:05 (Berlin)" in text
    assert "Zu tun / to do" in text
    assert "Zu tun" not in describe("ok")


def test_unknown_status_is_a_programming_error():
    with pytest.raises(ValueError):
        SourceFailure("exploded")


def test_retry_after_in_seconds_or_as_http_date():
    assert parse_retry_after("120") == 120.0
    later = utcnow() + timedelta(minutes=10)
    assert 590 < parse_retry_after(format_datetime(later, usegmt=True)) <= 600
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_retries_stop_within_the_budget_and_skip_non_transient_failures():
    sleeps: list[float] = []
    calls = []

    def flaky():
        calls.append(1)
        raise SourceFailure("network", "HTTP 503", retryable=True, retry_after=40)

    with pytest.raises(SourceFailure):
        call_with_retries(flaky, RetryPolicy(attempts=5, max_seconds=60, sleep=sleeps.append), "test")
    assert sleeps == [40.0] and len(calls) == 2  # a second 40 s wait would pass the 60 s budget

    calls.clear()
    with pytest.raises(SourceFailure):
        call_with_retries(lambda: calls.append(1) or (_ for _ in ()).throw(SourceFailure("checkpoint")),
                          RetryPolicy(sleep=sleeps.append), "test")
    assert len(calls) == 1


def test_retry_budget_stays_under_half_the_poll_interval():
    assert RetryPolicy(max_seconds=600).for_interval(0.1).max_seconds < 0.1 * 3600 / 2


def test_rate_controller_turns_waits_into_not_before():
    meter = RequestMeter(RequestBudget(5))
    controller = NoWaitRateController(make_loader(meter).context, meter)
    with pytest.raises(SourceFailure) as raised:
        controller.sleep(900)
    failure = raised.value
    assert failure.status == "rate_limited"
    assert timedelta(minutes=14) < failure.not_before - utcnow() <= timedelta(minutes=15)
    meter.budget.used = 5
    with pytest.raises(SourceFailure) as exhausted:
        controller.wait_before_query("other")
    assert exhausted.value.status == "budget_exhausted"
