"""The outcome of collecting from one source: a short status code an operator can act on.

Every failure a source can meet is one of these codes, each with a German and an English
explanation and what a person has to do about it. Sources raise `SourceFailure`; the
collector stores the code, the rendered message and, where the platform named one, the
time before which the source must not be asked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from campaign_worker.timeutil import BERLIN
from campaign_worker.errors import CampaignWorkerError



@dataclass(frozen=True)
class StatusInfo:
    code: str
    de: str
    en: str
    todo_de: str
    todo_en: str
    failure: bool = True


_STATUSES = (
    StatusInfo("ok", "Abgeschlossen", "Completed", "Nichts zu tun.", "Nothing to do.", failure=False),
    StatusInfo(
        "degraded",
        "Abgeschlossen über einen Ersatzweg",
        "Completed through a fallback path",
        "Der Hauptweg ist ausgefallen (Pfad steht dahinter). Kommt er nicht zurück: instaloader aktualisieren "
        "oder die offizielle Graph-API-Quelle einrichten.",
        "The main path failed (named after this). If it does not come back: update instaloader or configure "
        "the official Graph API source.",
        failure=False,
    ),
    StatusInfo(
        "login_required",
        "Anmeldung nötig oder Sitzung abgelaufen",
        "Login required or session expired",
        "Sitzung im Browser erneuern und mit `campaign-worker instagram session` neu einlesen "
        "(bzw. das Zugangstoken erneuern).",
        "Renew the session in a browser and import it again with `campaign-worker instagram session` "
        "(or renew the access token).",
    ),
    StatusInfo(
        "rate_limited",
        "Von der Plattform gebremst",
        "Rate limited by the platform",
        "Nichts tun: der nächste geplante Lauf macht nach der Wartezeit weiter. Anfragebudget ggf. senken.",
        "Nothing: the next scheduled run continues after the wait. Consider lowering the request budget.",
    ),
    StatusInfo(
        "checkpoint",
        "Instagram verlangt eine Bestätigung des Kontos",
        "Instagram asks to confirm the account",
        "Im Browser bei Instagram anmelden, die Sicherheitsabfrage bestätigen, dann die Sitzung mit "
        "`campaign-worker instagram session` neu einlesen. Bis dahin ruht diese Quelle.",
        "Log in to Instagram in a browser, confirm the security check, then import the session again with "
        "`campaign-worker instagram session`. This source pauses until then.",
    ),
    StatusInfo(
        "endpoint_gone",
        "Schnittstelle nicht mehr verfügbar",
        "Endpoint no longer available",
        "Es wird automatisch der nächste Weg versucht; wenn alle fehlen: instaloader aktualisieren oder die "
        "offizielle Graph-API-Quelle einrichten.",
        "The next path is tried automatically; if all are gone: update instaloader or configure the "
        "official Graph API source.",
    ),
    StatusInfo(
        "malformed_response",
        "Unerwartete Antwort der Plattform",
        "Unexpected response from the platform",
        "Meist vorübergehend. Hält es an: instaloader aktualisieren und das Protokoll melden.",
        "Usually temporary. If it persists: update instaloader and report the log.",
    ),
    StatusInfo(
        "network",
        "Netzwerk- oder Serverfehler",
        "Network or server error",
        "Nichts tun, der nächste Lauf versucht es erneut. Hält es an: Internetverbindung prüfen.",
        "Nothing, the next run tries again. If it persists: check the internet connection.",
    ),
    StatusInfo(
        "quota_exhausted",
        "Kontingent der Graph API erschöpft (30 Hashtags in 7 Tagen)",
        "Graph API quota used up (30 hashtags in 7 days)",
        "Warten oder weniger Hashtags abfragen; die Quelle macht danach von selbst weiter.",
        "Wait or query fewer hashtags; the source continues on its own afterwards.",
    ),
    StatusInfo(
        "not_configured",
        "Quelle unvollständig eingerichtet",
        "Source not fully configured",
        "Die genannte Einstellung ergänzen (Konfiguration oder Umgebungsvariable).",
        "Add the named setting (configuration or environment variable).",
    ),
    StatusInfo(
        "budget_exhausted",
        "Anfragebudget dieses Laufs bzw. dieser Stunde aufgebraucht",
        "Request budget of this run or hour used up",
        "Nichts tun: der nächste Lauf setzt an derselben Stelle fort.",
        "Nothing: the next run resumes where this one stopped.",
        failure=False,
    ),
    StatusInfo(
        "stopped",
        "Lauf wurde angehalten",
        "Run was stopped",
        "Nichts tun: der nächste Lauf setzt an derselben Stelle fort.",
        "Nothing: the next run resumes where this one stopped.",
        failure=False,
    ),
    StatusInfo(
        "error",
        "Interner Fehler",
        "Internal error",
        "Protokoll (mit --debug) an die Betreuer des campaign-worker schicken.",
        "Send the log (with --debug) to the campaign-worker maintainers.",
    ),
)

STATUSES: dict[str, StatusInfo] = {s.code: s for s in _STATUSES}

# Failures that make every further request with the same login pointless in this run.
SOURCE_WIDE = frozenset({"login_required", "checkpoint", "rate_limited", "budget_exhausted", "not_configured"})
# Failures after which the next strategy for the same hashtag is worth a try.
FALL_THROUGH = frozenset({"endpoint_gone", "malformed_response"})
# Statuses that keep a source paused until a person renewed the login.
HOLDING = frozenset({"checkpoint", "login_required"})


class SourceFailure(CampaignWorkerError):
    """A source could not finish; `status` is one of `STATUSES`.

    `detail` is what exactly happened (no secrets, no URLs with tokens), `not_before` when the
    platform asked to wait, `retryable` whether retrying within this run may help.
    """

    def __init__(
        self,
        status: str,
        detail: str = "",
        *,
        not_before: datetime | None = None,
        retryable: bool = False,
        retry_after: float | None = None,
    ):
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        super().__init__(f"{status}: {detail}" if detail else status)
        self.status = status
        self.detail = detail
        self.not_before = not_before
        self.retryable = retryable
        self.retry_after = retry_after

    def message(self) -> str:
        return describe(self.status, self.detail, self.not_before)


def format_time(moment: datetime) -> str:
    """German-style local time, e.g. '22.11.2026 14:05 Uhr'."""
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M Uhr")


def describe(status: str, detail: str = "", until: datetime | None = None) -> str:
    """One line for operators: German, then English, then what to do."""
    info = STATUSES[status]
    de, en = info.de, info.en
    if until is not None:
        de += f" bis {format_time(until)}"
        en += f" until {until.astimezone(BERLIN):%Y-%m-%d %H:%M} (Berlin)"
    text = f"{de} / {en}"
    if detail:
        text += f" – {detail}"
    if info.failure or status == "degraded":
        text += f". Zu tun / to do: {info.todo_de} / {info.todo_en}"
    return text


def source_state_rows(connection) -> list[dict]:
    """Every stored source state (cursor, last outcome, counters) as plain rows, by key."""
    # Imported here: the status codes are read by commands that never open the database.
    from sqlalchemy import select

    from campaign_worker.store.models import source_state_table

    query = select(source_state_table).order_by(source_state_table.c.key)
    return [dict(r._mapping) for r in connection.execute(query)]
