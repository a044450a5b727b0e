"""Time in one place: the current UTC instant, naive-to-aware UTC, and the campaigns' home zone.

Everything stored is UTC. SQLite and instaloader hand back naive datetimes that mean UTC;
`as_utc` makes them aware so they compare with PostgreSQL's values.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """A naive value is read as UTC; an aware one is converted to UTC; None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
