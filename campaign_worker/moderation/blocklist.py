"""Blocklist rule: insults, slurs and sexual spam (German and English) in a post's text.

The lists are editable text files, `config/moderation/blocklist-<name>.txt` for each name in
the campaign's `moderation.blocklists`, plus `config/moderation/allowlist.txt` and the
campaign's `moderation.allow_words` for harmless words that merely contain a listed term.
A file in the user's home replaces the shipped one of the same name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from campaign_worker.config.campaigns import ConfigError, ModerationSettings
from campaign_worker.home import Home
from campaign_worker.moderation.normalize import Normalized, quoted_spans
from campaign_worker.moderation.terms import CATEGORY_RANK, Allowlist, Hit, Term, TermMatcher, read_list
from campaign_worker.moderation.verdict import Decision, Verdict

SECTIONS: dict[str, Decision] = {"insult": "reject", "hate": "reject", "sexual": "reject", "vulgar": "review"}
REASONS = {
    "insult": ("Beleidigung", "Insult"),
    "hate": ("Hassrede oder herabwürdigender Begriff", "Hate speech or slur"),
    "sexual": ("Sexuelle Inhalte oder Sex-Werbung", "Sexual content or sex advertising"),
    "vulgar": ("Vulgäre Sprache", "Vulgar language"),
    "quoted": ("Beleidigung oder Hassrede in Anführungszeichen (zitiert sie jemand, um zu widersprechen?)",
               "Insult or hate speech in quotation marks (quoted to reject it?)"),
}
MAX_EVIDENCE = 5
_LIST_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def list_path(home: Home, relative: str, required: bool = True) -> Path | None:
    """A moderation list file from the user's home or the shipped defaults."""
    path = home.find("config", f"moderation/{relative}")
    if path is None and required:
        searched = ", ".join(str(p / "moderation") for p in home.search_path("config")) or str(home.root / "config")
        raise ConfigError(f"config/moderation/{relative}", [f"list file not found (looked in {searched})"])
    return path


def _stamp(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path), stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=32)
def _cached_terms(stamp: tuple[str, int, int], sections: tuple[tuple[str, str], ...]) -> tuple[Term, ...]:
    return tuple(read_list(Path(stamp[0]), dict(sections)))  # type: ignore[arg-type]


def load_terms(path: Path, sections: dict[str, Decision]) -> tuple[Term, ...]:
    """Terms of a list file, parsed once per file version."""
    return _cached_terms(_stamp(path), tuple(sorted(sections.items())))


@lru_cache(maxsize=32)
def _cached_allow(stamp: tuple[str, int, int] | None) -> tuple[str, ...]:
    return tuple(Allowlist.read(Path(stamp[0]))) if stamp else ()


def load_allowlist(home: Home, extra_words: list[str] | tuple[str, ...] = ()) -> Allowlist:
    path = list_path(home, "allowlist.txt", required=False)
    return Allowlist((*_cached_allow(_stamp(path) if path else None), *extra_words))


class Blocklist:
    """Finds listed words in normalised text and turns the worst of them into a verdict."""

    def __init__(self, terms: list[Term] | tuple[Term, ...], allowlist: Allowlist):
        self.matcher = TermMatcher(terms, allowlist)

    @classmethod
    def load(cls, home: Home, settings: ModerationSettings) -> "Blocklist":
        terms: list[Term] = []
        for name in settings.blocklists:
            if not _LIST_NAME_RE.match(name):
                raise ConfigError("moderation.blocklists", [f"{name!r} is not a list name like 'de' or 'en'"])
            path = list_path(home, f"blocklist-{name}.txt")
            assert path is not None
            terms.extend(load_terms(path, SECTIONS))
        return cls(terms, load_allowlist(home, settings.allow_words))

    def hits(self, norm: Normalized) -> list[Hit]:
        return self.matcher.find(norm)

    def check(self, norm: Normalized) -> Verdict | None:
        hits = self.hits(norm)
        if not hits:
            return None
        hits.sort(key=lambda h: (h.term.decision != "reject", -CATEGORY_RANK.get(h.term.category, 0), h.start))
        worst = hits[0].term
        category, decision = worst.category, worst.decision
        if decision == "reject" and _all_quoted([h for h in hits if h.term.decision == "reject"], norm.text):
            # Posts against hate quote what they received; someone reads them before anything is rejected.
            category, decision = "quoted", "review"
        reason_de, reason_en = REASONS.get(category, (category, category))
        evidence: list[str] = []
        for hit in hits:
            snippet = norm.snippet(hit.start, hit.end)
            if snippet and snippet not in evidence:
                evidence.append(snippet)
        return Verdict(
            decision=decision,
            rule=f"blocklist.{category}",
            reason_de=reason_de,
            reason_en=reason_en,
            evidence=tuple(evidence[:MAX_EVIDENCE]),
        )


def _all_quoted(hits: list[Hit], text: str) -> bool:
    """Whether every hit lies inside a quoted passage of the (folded) text."""
    spans = quoted_spans(text)
    return bool(spans) and all(any(start <= hit.start and hit.end <= end for start, end in spans) for hit in hits)
