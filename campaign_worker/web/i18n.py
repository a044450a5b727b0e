"""Languages of the web UI: gettext catalogs (German default, English) and Babel formatting.

Catalogs live in `campaign_worker/locale/<lang>/LC_MESSAGES/messages.po`; the compiled `.mo`
is used when present, otherwise the `.po` is compiled in memory, so a fresh checkout works.
Times are shown in Europe/Berlin whatever the server's zone is.
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from campaign_worker.timeutil import as_utc, BERLIN

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"
BABEL_LOCALES = {"de": "de_DE", "en": "en_GB"}


def pick_language(value: str | None) -> str:
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    compiled, source = folder / "messages.mo", folder / "messages.po"
    if compiled.exists() and (not source.exists() or compiled.stat().st_mtime >= source.stat().st_mtime):
        with compiled.open("rb") as handle:
            return Translations(handle, domain="messages")
    if source.exists():
        with source.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        buffer.seek(0)
        return Translations(buffer, domain="messages")
    return gettext.NullTranslations()


def gettext_for(language: str):
    return translations(pick_language(language)).gettext


def format_time(value: datetime | None, language: str, style: str = "medium") -> str:
    if value is None:
        return "—"
    return format_datetime(as_utc(value), style, tzinfo=BERLIN, locale=BABEL_LOCALES[pick_language(language)])


def format_day(value: date | None, language: str, style: str = "medium") -> str:
    if value is None:
        return "—"
    return format_date(value, style, locale=BABEL_LOCALES[pick_language(language)])


def format_number(value: int | float | None, language: str) -> str:
    if value is None:
        return "—"
    return format_decimal(value, locale=BABEL_LOCALES[pick_language(language)])


# Evidence is stored as the rules wrote it, some items with a German label before the found
# words ("Bezug: Krönchen"); English pages show the label in English.
_EVIDENCE_LABELS_EN = {"Bezug: ": "Relation: ", "fremde Kampagne: ": "other campaign: ", "Gegenrede: ": "counter-speech: ",
                       "Stellenanzeige: ": "job ad: ", "anderer Ort: ": "place elsewhere: ",
                       "Kontoname: ": "account name: "}


def evidence_item(item: str, language: str) -> str:
    """One stored evidence item as a page in `language` shows it."""
    if pick_language(language) == "en":
        for german, english in _EVIDENCE_LABELS_EN.items():
            if item.startswith(german):
                return english + item[len(german):]
    return item


def N_(message: str) -> str:
    """Marks a message for extraction that templates translate from a stored value."""
    return message


# Roles, job and picture-rights statuses arrive as data (`_(user.role)` in templates).
STORED_VALUE_MESSAGES = (
    N_("admin"), N_("moderator"), N_("viewer"),
    N_("running"), N_("ok"), N_("failed"), N_("abandoned"), N_("partial"),
    N_("open"), N_("requested"), N_("granted"), N_("declined"),  # picture rights
)
