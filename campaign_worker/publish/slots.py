"""Posting slots: when a draft is planned, from the campaign's weekly times per audience.

Slots are local wall-clock times („di 18:00“) in the campaign's time zone; each is turned
into UTC for its own date, so a slot stays at 18:00 across daylight-saving changes.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from campaign_worker.errors import CampaignWorkerError

WEEKDAYS = {"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6,
            "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def parse_slot(spec: str) -> tuple[int, time]:
    """'di 18:00' or 'tue 18:00' → (1, 18:00)."""
    try:
        day, clock = spec.strip().lower().split()
        hour, minute = (int(part) for part in clock.split(":"))
        return WEEKDAYS[day.rstrip(".")], time(hour, minute)
    except (ValueError, KeyError):
        raise CampaignWorkerError(f"Sendeplatz {spec!r} nicht lesbar: Format „di 18:00“ / "
                                  f"posting slot {spec!r} unreadable: use „tue 18:00“") from None


def upcoming(specs: list[str], tz: ZoneInfo, after: datetime, count: int) -> list[datetime]:
    """The next `count` slot times after `after`, in UTC, in order."""
    slots = sorted(parse_slot(s) for s in specs)
    if not slots or count <= 0:
        return []
    local = after.astimezone(tz)
    found: list[datetime] = []
    day = local.date()
    while len(found) < count:
        for weekday, clock in slots:
            if day.weekday() == weekday:
                at = datetime.combine(day, clock, tzinfo=tz)
                if at > local:
                    found.append(at.astimezone(timezone.utc))
        day += timedelta(days=1)
    return found[:count]
