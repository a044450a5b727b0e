"""The one TOML reader of the configuration, with errors people can act on.

Every configuration file (campaigns, `config/worker.toml`, jobs) is read with `read_toml` and
checked with `validate`. A problem becomes a `ConfigError` whose lines say, in German and
English: the file and line, the key as written in the file (`[[partners]]` Nr. 2 → `accounts`),
what was expected, what was found, and for a misspelt key the nearest known one.
"""

from __future__ import annotations

import difflib
import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from campaign_worker.errors import CampaignWorkerError


class ConfigError(CampaignWorkerError):
    """A configuration file that cannot be used, with every problem spelled out."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = problems
        super().__init__(f"{path}: " + "; ".join(problems))

    def render(self) -> str:
        lines = [f"Fehler in der Konfiguration / configuration error: {self.path}"]
        lines += [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


def read_toml(path: Path, text: str | None = None) -> dict[str, Any]:
    """A TOML file's table, or a ConfigError saying why it cannot be read."""
    try:
        return tomllib.loads(text if text is not None else path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [f"kein gültiges TOML / not valid TOML: {exc}"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"Datei nicht lesbar / cannot read file: {exc}"]) from None


def validate(model: type[BaseModel], data: dict[str, Any], path: Path, text: str | None = None):
    """`model` built from `data`, or a ConfigError naming every bad key of `path` with its line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        if text is None:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                text = ""
        errors = sorted(exc.errors(), key=lambda e: find_line(text, without_tags(model, tuple(e["loc"]))) or 0)
        raise ConfigError(path, [describe(e, model, text) for e in errors]) from None


# ---------------------------------------------------------------------------------------------
# What was expected, in words
# ---------------------------------------------------------------------------------------------

# Patterns of the configuration, said in words (German / English).
PATTERNS = {
    r"^[A-Za-z0-9._]{1,30}$": ("ein Instagram-Name: Buchstaben, Ziffern, . und _, höchstens 30 Zeichen",
                               "an Instagram name: letters, digits, . and _, at most 30 characters"),
    r"^(?:[A-Za-z0-9._]{1,30}|id:[0-9]{1,30})$": (
        "ein Instagram-Name (Buchstaben, Ziffern, . und _, höchstens 30 Zeichen, ohne @) oder id:<Ziffern>",
        "an Instagram name (letters, digits, . and _, at most 30 characters, no @) or id:<digits>"),
    r"^[a-z][a-z0-9_]{0,31}$": ("ein kurzer Schlüssel: Kleinbuchstaben, Ziffern und _, z. B. fachkraefte",
                                "a short key: lower-case letters, digits and _, e.g. fachkraefte"),
    r"^[a-z][a-z0-9_-]{0,31}$": ("eine kurze Kennung: Kleinbuchstaben, Ziffern, - und _",
                                 "a short id: lower-case letters, digits, - and _"),
}

_TYPES = {
    "int": ("eine ganze Zahl, z. B. 6", "a whole number, e.g. 6"),
    "float": ("eine Zahl, z. B. 1.5", "a number, e.g. 1.5"),
    "bool": ("true oder false", "true or false"),
    "string": ("Text in Anführungszeichen", "text in quotes"),
    "list": ("eine Liste in eckigen Klammern, z. B. [\"a\", \"b\"]", "a list in brackets, e.g. [\"a\", \"b\"]"),
    "dict": ("eine Tabelle ([abschnitt] oder { … })", "a table ([section] or { … })"),
    "model": ("eine Tabelle ([abschnitt] oder [[abschnitt]])", "a table ([section] or [[section]])"),
}


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return "eine Tabelle / a table" if isinstance(value, dict) else "eine Liste / a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def expected(error: dict[str, Any]) -> tuple[str, str] | None:
    """What the key should hold (German, English), from a pydantic error."""
    kind, ctx = error["type"], error.get("ctx") or {}
    for prefix, words in _TYPES.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing", f"{prefix}_from_float"):
            return words
    if kind == "string_pattern_mismatch":
        return PATTERNS.get(ctx.get("pattern"), (f"Text nach dem Muster {ctx.get('pattern')}", f"text matching {ctx.get('pattern')}"))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "?")
        de = {"greater_than_equal": "mindestens", "greater_than": "größer als", "less_than_equal": "höchstens",
              "less_than": "kleiner als"}[kind]
        en = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
              "less_than": "less than"}[kind]
        return f"{de} {bound}", f"{en} {bound}"
    if kind in ("too_short", "string_too_short"):
        n = ctx.get("min_length", 1)
        return (f"mindestens {n} Eintrag/Einträge", f"at least {n} item(s)") if kind == "too_short" else \
               (f"mindestens {n} Zeichen", f"at least {n} character(s)")
    if kind in ("too_long", "string_too_long"):
        n = ctx.get("max_length", "?")
        return (f"höchstens {n} Einträge", f"at most {n} items") if kind == "too_long" else \
               (f"höchstens {n} Zeichen", f"at most {n} characters")
    if kind == "literal_error":
        return f"einer von {ctx.get('expected')}", f"one of {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"type: einer von {ctx.get('expected_tags')}", f"type: one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return "ein Schlüssel type = \"…\"", "a key type = \"…\""
    return None


def describe(error: dict[str, Any], model: type[BaseModel], text: str) -> str:
    """One problem: where (line, key as written), what is wrong, what is expected, the nearest key."""
    loc = without_tags(model, tuple(error["loc"]))
    kind = error["type"]
    line = find_line(text, loc)
    where = f"Zeile / line {line}, " if line else ""
    where += written(loc, model) if loc else "(Datei / file)"
    if kind == "extra_forbidden":
        known = known_keys(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        text_ = "unbekannter Schlüssel / unknown key"
        if guess:
            text_ += f" – meinten Sie / did you mean `{guess[0]}`?"
        elif known:
            text_ += f" – bekannt / known: {', '.join(sorted(known))}"
        return f"{where}: {text_}"
    if kind == "missing":
        return f"{where}: Pflichtangabe fehlt, bitte ergänzen / required key is missing, please add it"
    words = expected(error)
    got = "" if kind in ("missing",) else f" (gefunden / found: {_shown(error.get('input'))})"
    if words is not None:
        return f"{where}: erwartet / expected {words[0]} / {words[1]}{got}"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    return f"{where}: {message}{got}"


# ---------------------------------------------------------------------------------------------
# Where: the key as written, its line, and the keys known there
# ---------------------------------------------------------------------------------------------


def written(loc: tuple, model: type[BaseModel] | None = None) -> str:
    """`("partners", 1, "accounts", 0)` → "[[partners]] Nr. 2 → accounts, Eintrag / item 1"."""
    parts: list[str] = []
    for position, part in enumerate(loc):
        if isinstance(part, int):
            if position == 0:
                continue
            previous = loc[position - 1]
            is_table = (position + 1 < len(loc) and isinstance(loc[position + 1], str)) or (
                model is not None and bool(known_keys(model, loc[: position + 1])))
            if is_table and position == 1:
                parts[-1] = f"[[{previous}]] Nr. {part + 1}"
            else:
                parts[-1] = f"{parts[-1]}, Eintrag / item {part + 1}"
        elif position == 0 and len(loc) > 1 and isinstance(loc[1], str):
            parts.append(f"[{part}]")
        else:
            parts.append(f"`{part}`")
    return " → ".join(parts)


_HEADER_RE = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-]+)\s*\]\]?")
_KEY_RE = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*=")


def find_line(text: str, loc: tuple) -> int | None:
    """The 1-based line of the key `loc` points at (or of its table), by a plain scan of the file."""
    if not text or not loc:
        return None
    path = [p for p in loc if isinstance(p, str)]
    counts: dict[str, int] = {}
    table: tuple[str, int | None] | None = None  # (header name, array index)
    best: int | None = None
    wanted_table, wanted_index, wanted_key = _target(loc)
    for number, raw in enumerate(text.splitlines(), 1):
        header = _HEADER_RE.match(raw)
        if header:
            name = header.group(2)
            if header.group(1) == "[[":
                counts[name] = counts.get(name, -1) + 1
                table = (name, counts[name])
            else:
                table = (name, None)
            if wanted_table and table[0] == wanted_table and (wanted_index is None or table[1] == wanted_index):
                best = best or number
            continue
        key = _KEY_RE.match(raw)
        if not key:
            continue
        name = key.group(1).strip('"')
        in_table = (table is None and not wanted_table) or (
            table is not None and table[0] == wanted_table and (wanted_index is None or table[1] == wanted_index))
        if in_table and name == wanted_key:
            return number
        if table is None and not wanted_table and name == path[0]:
            best = best or number
    return best


def _target(loc: tuple) -> tuple[str | None, int | None, str | None]:
    """(table header, array index, key) that `loc` names in the file."""
    strings = [p for p in loc if isinstance(p, str)]
    if not strings:
        return None, None, None
    if len(loc) >= 3 and isinstance(loc[0], str) and isinstance(loc[1], int) and isinstance(loc[2], str):
        return loc[0], loc[1], loc[2]  # [[sources]] Nr. n → key
    if len(strings) >= 2 and isinstance(loc[1], str):
        return loc[0], None, loc[1]  # [moderation] → key
    return None, None, strings[0]  # a top-level key


def without_tags(model: type[BaseModel], loc: tuple) -> tuple:
    """`loc` without the tags pydantic puts in for a union (`sources.0.instagram.id` → `sources.0.id`)."""
    kept: list = []
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(part, str) and not last and kept and isinstance(kept[-1], int):
            if part not in known_keys(model, tuple(kept)):
                continue
        kept.append(part)
    return tuple(kept)


def known_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """The keys a table at `loc` may hold (for "did you mean")."""
    targets: list[Any] = [model]
    for part in loc:
        following: list[Any] = []
        for target in targets:
            for inner in _models_in(target):
                if isinstance(part, int):
                    following.append(inner)
                elif part in inner.model_fields:
                    following.append(inner.model_fields[part].annotation)
                else:  # a union's tag (e.g. the source type) in the location
                    following.append(inner)
        targets = following
    keys: set[str] = set()
    for target in targets:  # noqa: B007 - every candidate model adds its keys
        for inner in _models_in(target):
            keys.update(name for name in inner.model_fields if name != "slug")
    return sorted(keys)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models inside an annotation: itself, list items, union members, Annotated's type."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _models_in(args[0])
    if origin in (list, tuple, typing.Union, types.UnionType) or origin is not None:
        return [m for arg in args for m in _models_in(arg)]
    return []
