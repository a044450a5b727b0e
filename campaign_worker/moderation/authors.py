"""Author rules: trusted and blocked accounts, a daily cap per author, and a language filter.

- Partners' and the campaign's own accounts are trusted: approved automatically when
  `moderation.auto_approve_partners` is on (content rules can still hold them for review).
- Blocked accounts (`blocked_accounts`) are rejected, whatever they post.
- More than `moderation.author_daily_cap` posts by one author on one calendar day (in the
  campaign's time zone) go to review: one enthusiastic or automated account must not fill the wall.
- With `moderation.languages` set, posts recognisably in another language go to review.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from zoneinfo import ZoneInfo

from campaign_worker.config.campaigns import Campaign
from campaign_worker.moderation.normalize import Normalized
from campaign_worker.moderation.verdict import Candidate, Verdict

_WORD_RE = re.compile(r"[^\W\d_]+")
_STRIP_RE = re.compile(r"https?://\S+|www\.\S+|[#@][\w.]+")

# Frequent short words that are clearly one language (folded: umlauts as ae/oe/ue, ß as ss).
STOPWORDS = {
    "de": frozenset(
        "und der die das ist nicht ich wir mit fuer auf ein eine einen einem zu den von sich auch es im dem bei uns "
        "wie noch hier sind mein meine unser unsere unseren heute dass oder aber wenn nach aus beim zum zur ihr sie "
        "euch dich mir mich dir du hat haben wird werden war schon sehr jetzt immer ganz mal gibt kann koennen "
        "unsere bitte danke neue neuen diese dieser dieses einfach gerne".split()
    ),
    "en": frozenset(
        "the and is are to of for with this that our we you my it at on be was have has from your they their "
        "what when just can will so all about more like here there been were would could should very today "
        "new great thanks please an by us me his her them its only".split()
    ),
}
MIN_WORDS = 4
LANGUAGE_NAMES = {"de": ("Deutsch", "German"), "en": ("Englisch", "English"), "other": ("eine andere Sprache", "another language")}


def guess_language(norm: Normalized) -> str | None:
    """'de', 'en', 'other' or None (too short or mixed to tell). Stop-word counts, nothing more."""
    words = _WORD_RE.findall(_STRIP_RE.sub(" ", norm.text))
    if len(words) < MIN_WORDS:
        return None
    counts = {lang: sum(1 for w in words if w in stop) for lang, stop in STOPWORDS.items()}
    best = max(counts, key=counts.__getitem__)
    others = sum(v for k, v in counts.items() if k != best)
    if counts[best] >= 2 and counts[best] >= 2 * others:
        return best
    if counts[best] == 0 and len(words) >= 6:
        return "other"
    return None


def account_key(author: str | None, author_id: str | None = None) -> str | None:
    """How an author is counted and compared: the stable id where the platform gave one, else the name."""
    if author_id:
        return f"id:{author_id}"
    return author.lower() if author else None


class AuthorRules:
    """Who is trusted or blocked in a campaign.

    Accounts are matched by name (case-insensitively) or, written as `id:<digits>` in the
    campaign, by the platform's stable owner id, which survives a renamed account and is all
    some feeds carry.
    """

    def __init__(self, campaign: Campaign):
        self.own = frozenset(a.lower() for a in campaign.own_accounts)
        self.trusted = campaign.partner_accounts | self.own
        self.blocked = frozenset(a.lower() for a in campaign.blocked_accounts)
        self.auto_approve = campaign.moderation.auto_approve_partners

    @staticmethod
    def _names(author: str | None, author_id: str | None) -> set[str]:
        return {n for n in (author.lower() if author else None, f"id:{author_id}" if author_id else None) if n}

    def is_trusted(self, author: str | None, author_id: str | None = None) -> bool:
        return bool(self._names(author, author_id) & self.trusted)

    def blocked_verdict(self, author: str | None, author_id: str | None = None) -> Verdict | None:
        if not self._names(author, author_id) & self.blocked:
            return None
        return Verdict("reject", "author.blocked", "Gesperrtes Konto", "Blocked account", (_shown(author, author_id),))

    def partner_verdict(self, author: str | None, author_id: str | None = None) -> Verdict | None:
        if not self.auto_approve or not self.is_trusted(author, author_id):
            return None
        shown = _shown(author, author_id)
        if self._names(author, author_id) & self.own:
            return Verdict("approve", "author.partner", "Eigenes Konto der Kampagne", "The campaign's own account", (shown,))
        return Verdict("approve", "author.partner", "Vertrauenswürdiges Partnerkonto", "Trusted partner account", (shown,))


def _shown(author: str | None, author_id: str | None) -> str:
    return f"@{author}" if author else f"Konto-ID / account id {author_id}"


class DailyCap:
    """Counts posts per author and local day; the post over the cap goes to review."""

    def __init__(self, timezone: ZoneInfo, cap: int):
        self.timezone = timezone
        self.cap = cap
        self._keys: dict[tuple[str, date], set[str]] = defaultdict(set)

    def slot(self, candidate: Candidate) -> tuple[str, date] | None:
        """(author, local day) the post counts against, or None without an author; by id where known."""
        author = account_key(candidate.author, candidate.author_id)
        if not author:
            return None
        return author, candidate.posted_at.astimezone(self.timezone).date()

    def add(self, key: str, slot: tuple[str, date] | None) -> None:
        if slot:
            self._keys[slot].add(key)

    def check(self, key: str, slot: tuple[str, date] | None) -> Verdict | None:
        if slot is None:
            return None
        earlier = self._keys.get(slot, set()) - {key}
        if len(earlier) < self.cap:
            return None
        author, day = slot
        return Verdict(
            "review",
            "author.daily_cap",
            f"Mehr als {self.cap} Beiträge dieses Kontos am {day.strftime('%d.%m.%Y')}",
            f"More than {self.cap} posts by this account on {day.isoformat()}",
            (f"@{author}: {len(earlier) + 1}" if not author.startswith("id:") else f"{author}: {len(earlier) + 1}",),
        )


class LanguageFilter:
    """Holds posts recognisably written in a language the campaign does not want."""

    def __init__(self, languages: list[str]):
        self.languages = frozenset(code.lower() for code in languages)

    def check(self, norm: Normalized) -> Verdict | None:
        language = guess_language(norm)
        if language is None or language in self.languages:
            return None
        name_de, name_en = LANGUAGE_NAMES.get(language, (language, language))
        wanted = ", ".join(sorted(self.languages))
        return Verdict(
            "review",
            "language",
            f"Sprache: {name_de} (erwartet: {wanted})",
            f"Language: {name_en} (expected: {wanted})",
            (norm.snippet(0, min(len(norm.text), 60)),),
        )
