"""Asking platforms politely: request budgets, bounded retries and `Retry-After`.

Only transient failures (transport errors, 408/425/5xx, a short `Retry-After`) are retried,
with tenacity, inside a small time budget that stays under half the polling interval, and only
when the caller hands in a `sleep`: the collector and the scheduler never do, so by default a
transient failure ends the run at once with a stored "not before" time, like a rate limit. A
long server-requested wait is never slept either: it becomes the source's "not before" time.
"""

from __future__ import annotations

import email.utils
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import requests
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_any, stop_before_delay

from campaign_worker.sources.status import SourceFailure
from campaign_worker.timeutil import utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_RATE_LIMIT_WAIT = timedelta(minutes=30)  # when a 429 names no Retry-After
TRANSIENT_WAIT = timedelta(minutes=5)  # after a network or server error that named no Retry-After
MAX_RATE_LIMIT_WAIT = timedelta(hours=24)
USER_AGENT = "campaign-worker (+https://github.com/; regional campaign collector)"


@dataclass
class RetryPolicy:
    """How hard to retry one request within a run.

    Without `sleep` (the default) nothing is retried within the run: a transient failure ends it
    with a "not before" time and the next scheduled run continues. Only a caller that may block
    (an interactive tool, a test counting the waits) hands in a `sleep` and gets `attempts`.
    """

    attempts: int = 3
    max_seconds: float = 60.0  # whole retry budget of one request
    short_retry_after: float = 10.0  # a Retry-After up to this is waited for; longer ones are stored
    sleep: Callable[[float], None] | None = None

    def for_interval(self, poll_interval_hours: float | None) -> "RetryPolicy":
        """This policy, its budget kept under half the polling interval."""
        if not poll_interval_hours:
            return self
        half = poll_interval_hours * 3600 / 2
        return RetryPolicy(self.attempts, min(self.max_seconds, half * 0.9), self.short_retry_after, self.sleep)


def _wait_seconds(state) -> float:
    error = state.outcome.exception() if state.outcome else None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return float(retry_after)
    return min(2.0 ** (state.attempt_number - 1), 8.0)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    """Run `fn`, retrying `SourceFailure`s marked retryable within the policy's budget.

    A retryable failure that is still there at the end (at once, without `policy.sleep`) is
    raised with a "not before" time: the `Retry-After` the server named, else `TRANSIENT_WAIT`.
    """
    try:
        return _retrying(fn, policy, what)
    except SourceFailure as failure:
        if not failure.retryable or failure.not_before is not None:
            raise
        raise SourceFailure(failure.status, failure.detail, retry_after=failure.retry_after,
                            not_before=not_before_after(failure.retry_after, TRANSIENT_WAIT)) from None


def _retrying(fn: Callable[[], T], policy: RetryPolicy, what: str) -> T:
    if policy.sleep is None:
        return fn()
    pause = policy.sleep

    def log_retry(state) -> None:
        error = state.outcome.exception()
        log.warning("%s: attempt %d failed (%s); retrying in %.1f s", what, state.attempt_number, error,
                    state.upcoming_sleep)

    waited = [0.0]

    def waits_would_exceed_budget(state) -> bool:
        # Counts the waits themselves, so the budget holds even when `sleep` is not a real clock.
        return waited[0] + state.upcoming_sleep >= policy.max_seconds

    def sleep(seconds: float) -> None:
        waited[0] += seconds
        pause(seconds)

    retrying = Retrying(
        retry=retry_if_exception(lambda e: isinstance(e, SourceFailure) and e.retryable),
        stop=stop_any(stop_after_attempt(policy.attempts), stop_before_delay(policy.max_seconds), waits_would_exceed_budget),
        wait=_wait_seconds,
        sleep=sleep,
        before_sleep=log_retry,
        reraise=True,
    )
    return retrying(fn)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (seconds or HTTP date); None if absent or odd."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or utcnow())).total_seconds())


def not_before_after(seconds: float | None, default: timedelta = DEFAULT_RATE_LIMIT_WAIT) -> datetime:
    wait = timedelta(seconds=seconds) if seconds is not None else default
    return utcnow() + min(max(wait, timedelta(seconds=1)), MAX_RATE_LIMIT_WAIT)


@dataclass
class RequestBudget:
    """Requests one source may still make in this run (per-run and per-hour limits combined)."""

    limit: int
    used: int = 0
    reason: str = ""

    def check(self) -> None:
        if self.used >= self.limit:
            raise SourceFailure("budget_exhausted", self.reason or f"{self.limit} Anfragen / requests")

    def spend(self, n: int = 1) -> None:
        self.used += n

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


@dataclass
class JsonClient:
    """GET JSON from a public API, counting requests against a budget and classifying errors.

    `secrets` are replaced in every message (tokens travel in query strings on some APIs).
    """

    session: requests.Session
    budget: RequestBudget
    policy: RetryPolicy
    secrets: tuple[str, ...] = ()
    timeout: float = 30.0
    error_mapper: Callable[[requests.Response, Any], SourceFailure | None] | None = None
    last_headers: dict[str, str] = field(default_factory=dict)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        return text

    def get(self, url: str, params: dict[str, Any] | None = None, what: str = "") -> Any:
        return call_with_retries(lambda: self._get_once(url, params), self.policy, what or url.split("?")[0])

    def _get_once(self, url: str, params: dict[str, Any] | None) -> Any:
        self.budget.check()
        self.budget.spend()
        try:
            response = self.session.get(url, params=params, timeout=self.timeout,
                                        headers={"Accept": "application/json", "User-Agent": USER_AGENT})
        except requests.RequestException as exc:
            raise SourceFailure("network", self.redact(f"{type(exc).__name__}: {exc}")[:300], retryable=True) from None
        self.last_headers = dict(response.headers)
        try:
            body = response.json()
        except ValueError:
            body = None
        if self.error_mapper is not None and response.status_code != 200:
            mapped = self.error_mapper(response, body)
            if mapped is not None:
                raise SourceFailure(mapped.status, self.redact(mapped.detail), not_before=mapped.not_before,
                                    retryable=mapped.retryable, retry_after=mapped.retry_after)
        status = response.status_code
        if status == 200:
            if body is None:
                raise SourceFailure("malformed_response", "Antwort ist kein JSON / response is not JSON")
            return body
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        where = self.redact(url.split("?")[0])
        if status == 429:
            if retry_after is not None and retry_after <= self.policy.short_retry_after:
                raise SourceFailure("rate_limited", f"HTTP 429 {where}", retryable=True, retry_after=retry_after,
                                    not_before=not_before_after(retry_after))
            raise SourceFailure("rate_limited", f"HTTP 429 {where}", not_before=not_before_after(retry_after))
        if status in (401, 403):
            raise SourceFailure("login_required", f"HTTP {status} {where}")
        if status in (404, 410):
            raise SourceFailure("endpoint_gone", f"HTTP {status} {where}")
        if status in (408, 425) or status >= 500:
            short = retry_after is None or retry_after <= self.policy.short_retry_after
            raise SourceFailure("network", f"HTTP {status} {where}", retryable=short, retry_after=retry_after,
                                not_before=None if short else not_before_after(retry_after))
        raise SourceFailure("malformed_response", f"HTTP {status} {where}")
