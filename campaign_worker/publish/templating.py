"""The one Jinja2 environment builder: the user's `templates/` folder first, then the shipped ones.

Drafts and digests use it as it is (strict, autoescaped by file extension, trailing newline
kept, since mail and post text must come out exactly as written). The web UI asks for HTML
escaping everywhere, lenient undefined values and gettext, then adds its own filters.
Filters give German (or English) dates, numbers and Europe/Berlin times via Babel.
"""

from __future__ import annotations

import gettext
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Undefined, select_autoescape

from campaign_worker.home import Home
from campaign_worker.timeutil import BERLIN

LOCALES = {"de": "de_DE", "en": "en_GB"}


def make_environment(home: Home, language: str = "de", tz: ZoneInfo = BERLIN, *, escape_all: bool = False,
                     strict: bool = True, keep_trailing_newline: bool = True,
                     translations: gettext.NullTranslations | None = None) -> Environment:
    """An environment over the home's template search path.

    `escape_all` escapes every template and string (else only HTML/XML files); `strict` makes
    an undefined value an error; `translations` installs them for the `{% trans %}` tag and `_()`.
    """
    if escape_all:
        autoescape = select_autoescape(default=True, default_for_string=True)
    else:
        autoescape = select_autoescape(enabled_extensions=("html", "htm", "xml", "html.j2"), default_for_string=False)
    env = Environment(
        loader=FileSystemLoader([str(p) for p in home.search_path("templates")]),
        autoescape=autoescape,
        undefined=StrictUndefined if strict else Undefined,
        extensions=["jinja2.ext.i18n"] if translations is not None else [],
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    if translations is not None:
        env.install_gettext_translations(translations, newstyle=True)
    locale = LOCALES.get(language, "de_DE")
    env.filters["date"] = lambda value, fmt="long": format_date(value, format=fmt, locale=locale)
    env.filters["datetime"] = lambda value, fmt="medium": format_datetime(
        value, format=fmt, tzinfo=tz, locale=locale
    )
    env.filters["number"] = lambda value: format_decimal(value, locale=locale)
    env.globals["language"] = language
    return env
