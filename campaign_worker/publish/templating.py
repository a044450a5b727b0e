"""Jinja2 environments over the user's `templates/` folder first, then the shipped ones.

Filters give German (or English) dates, numbers and Europe/Berlin times via Babel.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from campaign_worker.home import Home
from campaign_worker.timeutil import BERLIN

LOCALES = {"de": "de_DE", "en": "en_GB"}


def make_environment(home: Home, language: str = "de", tz: ZoneInfo = BERLIN) -> Environment:
    env = Environment(
        loader=FileSystemLoader([str(p) for p in home.search_path("templates")]),
        autoescape=select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    locale = LOCALES.get(language, "de_DE")
    env.filters["date"] = lambda value, fmt="long": format_date(value, format=fmt, locale=locale)
    env.filters["datetime"] = lambda value, fmt="medium": format_datetime(
        value, format=fmt, tzinfo=tz, locale=locale
    )
    env.filters["number"] = lambda value: format_decimal(value, locale=locale)
    env.globals["language"] = language
    return env
