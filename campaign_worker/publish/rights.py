"""Picture rights and consent: who may be reposted, recorded with who answered and when.

A partner's or the campaign's own post is cleared by the campaign file. Any other post needs
the author's recorded „ja“ (`granted`). If the picture shows recognisable people or minors
(KUG §22), their consent must be recorded as well. A draft whose post is not cleared can be
neither marked ready nor exported.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from campaign_worker.errors import CampaignWorkerError
from campaign_worker.store.db import insert_ignore
from campaign_worker.store.models import post_rights_table as rights
from campaign_worker.timeutil import utcnow

STATUSES = ("open", "requested", "granted", "declined")
STATUS_LABELS = {"open": "offen", "requested": "angefragt", "granted": "erteilt", "declined": "abgelehnt"}


class RightsNotCleared(CampaignWorkerError):
    """A draft whose picture rights are not cleared was to be marked ready or exported."""


def rights_row(connection, campaign: str, post_id: int) -> dict:
    row = connection.execute(select(rights).where(rights.c.campaign == campaign, rights.c.post_id == post_id)).first()
    if row is None:
        return {"campaign": campaign, "post_id": post_id, "status": "open", "people": False, "minors": False,
                "consent": False, "history": []}
    return dict(row._mapping)


@dataclass(frozen=True)
class Blocker:
    """Why a post may not be published yet, in both languages; `str()` is the German text (CLI, API, exports)."""

    de: str
    en: str

    def __str__(self) -> str:
        return self.de

    def text(self, language: str) -> str:
        return self.en if language == "en" else self.de


def blocker(row: dict, trusted: bool) -> Blocker | None:
    """Why the post may not be published yet, or None when it is cleared."""
    if row["status"] == "declined":
        return Blocker("Bildrechte abgelehnt: der Beitrag darf nicht geteilt werden",
                       "Picture rights declined: the post must not be shared")
    if not trusted and row["status"] != "granted":
        status = row["status"]
        return Blocker(f"Bildrechte nicht geklärt (Status: {STATUS_LABELS.get(status, status)}): Erlaubnis einholen und eintragen",
                       f"Picture rights not cleared (status: {status}): ask for permission and record it")
    if (row["people"] or row["minors"]) and not row["consent"]:
        if row["minors"]:
            return Blocker("Einwilligung fehlt: auf dem Bild sind Minderjährige (Einwilligung der Eltern) (KUG §22)",
                           "Consent missing: the picture shows minors (parents' consent) (KUG §22)")
        return Blocker("Einwilligung fehlt: auf dem Bild sind erkennbare Personen (KUG §22)",
                       "Consent missing: the picture shows recognisable people (KUG §22)")
    return None


def record(connection, campaign: str, post_id: int, user: str, *, status: str | None = None,
           people: bool | None = None, minors: bool | None = None, consent: bool | None = None) -> dict:
    """Store a change of a post's rights and append who made it and when to its history."""
    if status is not None and status not in STATUSES:
        raise CampaignWorkerError(f"Unbekannter Rechte-Status {status!r}: erlaubt sind {', '.join(STATUSES)} / "
                                  f"unknown rights status, use one of {', '.join(STATUSES)}")
    now = utcnow()
    insert_ignore(connection, rights, [{"campaign": campaign, "post_id": post_id, "status": "open", "people": False,
                                        "minors": False, "consent": False, "history": [], "updated_at": now}],
                  ("campaign", "post_id"))
    row = rights_row(connection, campaign, post_id)
    changes = {k: v for k, v in (("status", status), ("people", people), ("minors", minors), ("consent", consent))
               if v is not None and row[k] != v}
    if changes:
        history = [*row["history"], {"by": user, "at": now.isoformat(timespec="seconds"), **changes}]
        connection.execute(update(rights).where(rights.c.campaign == campaign, rights.c.post_id == post_id)
                           .values(**changes, history=history, updated_by=user, updated_at=now))
    return rights_row(connection, campaign, post_id)


def request_comment(author: str | None, terms_url: str | None, du: bool) -> str:
    """A polite German comment asking the author for permission, to paste under their post."""
    name = f"@{author} " if author else ""
    terms = f" Unsere Bedingungen: {terms_url}" if terms_url else ""
    if du:
        return (f"Hallo {name}👋 Dein Bild gefällt uns sehr! Dürfen wir es mit Nennung deines Namens auf unseren Kanälen "
                f"teilen? Antworte einfach mit „Ja“, wenn du einverstanden bist.{terms} Danke!")
    return (f"Hallo {name}👋 Ihr Bild gefällt uns sehr! Dürfen wir es mit Nennung Ihres Namens auf unseren Kanälen "
            f"teilen? Antworten Sie einfach mit „Ja“, wenn Sie einverstanden sind.{terms} Vielen Dank!")
