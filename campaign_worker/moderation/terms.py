"""Word lists for moderation: the file format, and matching list terms in normalised text.

A list file has one term per line, `#` starts a comment, and `[section]` lines say what the
terms below them are (the caller names the sections it knows, e.g. `[insult]`, `[vulgar review]`):

    arschloch          the whole word (also stretched: "arschloooch", masked: "a*schloch")
    scheiss*           words starting with it: "Scheißtag", "scheisswetter"
    *idiot             words ending with it: "Vollidiot"
    *hurensohn*        anywhere inside a word
    halt die fresse    words in this order, any separators between them

Matching works on `normalize`d text with word boundaries, so "Klassentreffen" never matches
a term "ass". An `Allowlist` excuses words (and compounds built on them) that contain a term
by accident, e.g. "Hurenkind" (a typesetting word) against `huren*`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from campaign_worker.config.campaigns import ConfigError
from campaign_worker.moderation.normalize import Normalized, fold, squeeze
from campaign_worker.moderation.verdict import Decision

MAX_TERM_CHARS = 100
_NOT_WORD_AFTER = r"(?![^\W_])"
_NOT_WORD_BEFORE = r"(?<![^\W_])"
_SEPARATORS_RE = re.compile(r"[\W_]+")
_SECTION_RE = re.compile(r"^\[\s*([a-z_]+)(?:\s+(approve|reject|review))?\s*\]$")
_MASKED_WORD_RE = re.compile(r"[^\W_]+(?:\*+[^\W_]+)+")
# Inflections tried when a masked word is compared with a listed word: "f*cking" ~ "fuck".
_INFLECTIONS = ("", "s", "e", "en", "er", "es", "n", "t", "ed", "ing", "in", "ers")
# Gender star forms ("Mitarbeiter*innen") are ordinary German, not masking.
_GENDER_TAILS = ("in", "innen")
_UNMASKED_CACHE = 10_000  # masked words whose reading is remembered


@dataclass(frozen=True)
class Term:
    """One list entry: what to look for, and what a match means."""

    pattern: str  # as written in the file
    core: str  # folded, without the * markers
    kind: str  # word | prefix | suffix | infix
    category: str
    decision: Decision
    where: str  # "file:line", for messages

    @property
    def anchored_start(self) -> bool:
        return self.kind in ("word", "prefix")


@dataclass(frozen=True)
class Hit:
    term: Term
    start: int  # span of the matching word(s) in the normalised text
    end: int


def read_text(path: Path, what: str) -> str:
    """A list file's text; one that cannot be read is a configuration error naming the file."""
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(path, [f"cannot read {what}: {exc}"]) from None


def uncommented(raw: str) -> str:
    """A list line without its comment (a line starting with `#`, or ` #` and what follows)."""
    return raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""


def parse_list(path: Path | str, text: str, sections: dict[str, Decision]) -> list[Term]:
    """Parse a list file; `sections` maps the allowed section names to their default decision."""
    terms: list[Term] = []
    problems: list[str] = []
    category: str | None = None
    decision: Decision = "review"
    in_bad_section = False  # terms under an unknown section: that section is reported once
    name = Path(path).name
    for number, raw in enumerate(text.splitlines(), start=1):
        line = uncommented(raw)
        if not line:
            continue
        section = _SECTION_RE.match(line.lower())
        if section:
            if section.group(1) not in sections:
                known = ", ".join(f"[{s}]" for s in sections)
                problems.append(f"line {number}: unknown section {line!r}; known sections: {known}")
                category, in_bad_section = None, True
                continue
            category, in_bad_section = section.group(1), False
            decision = section.group(2) or sections[category]  # type: ignore[assignment]
            continue
        if line.startswith("["):
            problems.append(f"line {number}: {line!r} is not a section header like [insult] or [vulgar review]")
            continue
        if category is None:
            if in_bad_section:
                continue
            problems.append(f"line {number}: term {line!r} before the first [section] line")
            continue
        term, problem = _make_term(line, category, decision, f"{name}:{number}")
        if problem:
            problems.append(f"line {number}: {problem}")
        elif term:
            terms.append(term)
    if problems:
        raise ConfigError(path, problems)
    return terms


def _make_term(line: str, category: str, decision: Decision, where: str) -> tuple[Term | None, str | None]:
    if len(line) > MAX_TERM_CHARS:
        return None, f"term longer than {MAX_TERM_CHARS} characters"
    starts, ends = line.startswith("*"), line.endswith("*") and len(line) > 1
    body = line.strip("*").strip()
    if "*" in body:
        return None, f"{line!r}: '*' only at the start or the end of a term"
    core = " ".join(_SEPARATORS_RE.sub(" ", fold(body)).split())
    if len(core.replace(" ", "")) < 2:
        return None, f"{line!r}: a term needs at least two letters"
    if " " in core and (starts or ends):
        return None, f"{line!r}: phrases of several words cannot use '*'"
    kind = {(False, False): "word", (False, True): "prefix", (True, False): "suffix", (True, True): "infix"}[(starts, ends)]
    return Term(pattern=line, core=core, kind=kind, category=category, decision=decision, where=where), None


def read_list(path: Path, sections: dict[str, Decision]) -> list[Term]:
    return parse_list(path, read_text(path, "list file"), sections)


def _atoms(core: str) -> list[str]:
    """Regex pieces for a core: a letter may be stretched ("fuuuck"), a double letter stays double."""
    pieces: list[str] = []
    index = 0
    while index < len(core):
        char = core[index]
        run = 1
        while index + run < len(core) and core[index + run] == char:
            run += 1
        index += run
        if char == " ":
            pieces.append(r"[\W_]+")
        elif char.isalnum():
            # Stretching for emphasis repeats a letter three times or more ("fuuuck"); a plain
            # double letter is a different word ("spaßt" is not "spast").
            letter = re.escape(char)
            pieces.append(f"{letter}(?:{letter}{letter}+)?" if run == 1 else f"{letter}{{{run},}}")
        else:
            pieces.append(re.escape(char * run))
    return pieces


class _Trie:
    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        self.open_end = False  # prefix/infix: anything may follow
        self.word_end = False  # word/suffix: the word must end here

    def add(self, atoms: list[str], open_end: bool) -> None:
        node = self
        for atom in atoms:
            node = node.children.setdefault(atom, _Trie())
        if open_end:
            node.open_end = True
        else:
            node.word_end = True

    def regex(self) -> str:
        branches = [atom + child.regex() for atom, child in sorted(self.children.items())]
        if self.open_end:
            return f"(?:{'|'.join(branches)})?" if branches else ""
        if self.word_end:
            branches.append(_NOT_WORD_AFTER)
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"


def _key(matched: str) -> str:
    return squeeze(" ".join(_SEPARATORS_RE.sub(" ", matched).split()))


class Allowlist:
    """Words that are fine although they contain a listed term; `word*` also allows its compounds."""

    def __init__(self, entries: Iterable[str]):
        self.words: set[str] = set()
        self.prefixes: list[str] = []
        for entry in entries:
            entry = entry.strip()
            if not entry or entry.startswith("#"):
                continue
            core = fold(entry.rstrip("*").strip())
            if not core:
                continue
            if entry.endswith("*"):
                self.prefixes.append(core)
            else:
                self.words.add(core)
        self.prefixes.sort(key=len, reverse=True)
        # The allowed words a compound may contain, gathered once: `excuses` runs on every hit.
        self._parts = tuple(a for a in (*self.words, *self.prefixes) if len(a) >= 4)

    def excuses(self, word: str, hit_start: int, hit_end: int) -> bool:
        """Whether `word` (folded) is allowed although `word[hit_start:hit_end]` matched a term."""
        if word in self.words or any(word.startswith(p) for p in self.prefixes):
            return True
        # A compound containing an allowed word that covers the match: "Schwanenteichfest".
        for allowed in self._parts:
            if len(allowed) >= len(word):
                continue
            at = word.find(allowed)
            while at != -1:
                if at <= hit_start and hit_end <= at + len(allowed):
                    return True
                at = word.find(allowed, at + 1)
        return False

    @staticmethod
    def read(path: Path) -> list[str]:
        return read_text(path, "allow list").splitlines()


class TermMatcher:
    """Finds list terms in normalised text with two compiled regexes (word-start anchored, and not)."""

    def __init__(self, terms: Iterable[Term], allowlist: Allowlist | None = None):
        self.terms = list(terms)
        self.allowlist = allowlist or Allowlist(())
        start_trie, end_trie = _Trie(), _Trie()
        self._by_key: dict[tuple[bool, str], Term] = {}
        self._masked_candidates: dict[str, list[tuple[str, Term]]] = defaultdict(list)
        self._unmasked: dict[str, str | None] = {}  # masked word → its reading (a pattern is compiled per new word)
        for term in self.terms:
            atoms = _atoms(term.core)
            open_end = term.kind in ("prefix", "infix")
            (start_trie if term.anchored_start else end_trie).add(atoms, open_end)
            key = (term.anchored_start, _key(term.core))
            known = self._by_key.get(key)
            if known is None or _severity(term) > _severity(known):
                self._by_key[key] = term
            if term.anchored_start and " " not in term.core:
                self._masked_candidates[term.core[0]].append((term.core, term))
        self._start_re = re.compile(_NOT_WORD_BEFORE + f"(?:{start_trie.regex()})") if start_trie.children else None
        self._end_re = re.compile(end_trie.regex()) if end_trie.children else None

    def find(self, norm: Normalized) -> list[Hit]:
        """Every match that no allow-list word excuses, at most one per word (spans in `norm.text`)."""
        text, positions = norm.text, None
        if "*" in text:
            text, positions = self._unmask(text)
        hits: list[Hit] = []
        for anchored, regex in ((True, self._start_re), (False, self._end_re)):
            if regex is None:
                continue
            for match in regex.finditer(text):
                term = self._by_key.get((anchored, _key(match.group())))
                if term is not None:
                    self._add_hit(hits, text, term, match.start(), match.end())
        hits = _drop_covered(hits)
        if positions is not None:
            hits = [Hit(h.term, positions[h.start], positions[h.end - 1] + 1) for h in hits]
        return hits

    def _add_hit(self, hits: list[Hit], text: str, term: Term, start: int, end: int) -> None:
        word_start, word_end = _expand_word(text, start, end)
        if " " not in term.core and self.allowlist.excuses(text[word_start:word_end], start - word_start, end - word_start):
            return
        hits.append(Hit(term, word_start, word_end))

    def _unmask(self, text: str) -> tuple[str, list[int] | None]:
        """Replace masked words ("f*ck", "sch**ße") by the mildest listed word they can stand for.

        Returns the new text and, per character, its index in `text`; (text, None) if nothing changed.
        """
        parts: list[str] = []
        positions: list[int] = []
        done = 0
        for match in _MASKED_WORD_RE.finditer(text):
            word = self._unmasked_reading(match.group())
            if word is None:
                continue
            parts.append(text[done : match.start()])
            positions.extend(range(done, match.start()))
            parts.append(word)
            positions.extend(min(match.start() + i, match.end() - 1) for i in range(len(word)))
            done = match.end()
        if not parts:
            return text, None
        parts.append(text[done:])
        positions.extend(range(done, len(text)))
        return "".join(parts), positions

    def _unmasked_reading(self, word: str) -> str | None:
        if word not in self._unmasked:
            if len(self._unmasked) >= _UNMASKED_CACHE:
                self._unmasked.clear()
            self._unmasked[word] = self._unmasked_word(word)
        return self._unmasked[word]

    def _unmasked_word(self, word: str) -> str | None:
        pieces = word.split("*")
        if pieces[-1] in _GENDER_TAILS or sum(len(p) for p in pieces) < 2:
            return None
        parts = []
        for piece in re.split(r"(\*+)", word):
            if piece.startswith("*"):
                parts.append(f"[^\\W_]{{1,{len(piece) + 2}}}")
            elif piece:
                parts.append("".join(_atoms(piece)))
        wildcard = re.compile("".join(parts))
        best: tuple[int, str] | None = None
        for core, term in self._masked_candidates.get(word[0], ()):
            for ending in _INFLECTIONS:
                if wildcard.fullmatch(core + ending):
                    if best is None or _severity(term) < best[0]:
                        best = (_severity(term), core + ending)
                    break
        return best[1] if best else None


def _drop_covered(hits: list[Hit]) -> list[Hit]:
    """One hit per word: where spans overlap, keep the more severe (then the longer) one."""
    ordered = sorted(hits, key=lambda h: (-_severity(h.term), -(h.end - h.start), h.start))
    kept: list[Hit] = []
    for hit in ordered:
        if not any(hit.start < other.end and other.start < hit.end for other in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def _expand_word(text: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "*"):
        start -= 1
    while end < len(text) and (text[end].isalnum() or text[end] == "*"):
        end += 1
    return start, end


_DECISION_RANK = {"reject": 2, "review": 1, "approve": 0}


def _severity(term: Term) -> int:
    return _DECISION_RANK[term.decision] * 10 + CATEGORY_RANK.get(term.category, 0)


# Which category names a match when one word hits several lists.
CATEGORY_RANK = {"hate": 5, "sexual": 4, "insult": 3, "vulgar": 1}
