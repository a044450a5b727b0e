"""The moderation pipeline of one campaign: runs every rule on a post and combines the verdicts.

How verdicts combine (first match wins):

1. A blocked author is rejected.
2. If a content rule (blocklist, spam, duplicate) rejects:
   - a post by a trusted account (partner or the campaign's own) goes to **review** instead,
     with the rule's reason and evidence, unless the rejection is certain (the very same post
     again): a partner's post with an insult is held for a person, never approved and never
     silently dropped;
   - anyone else's post is rejected by the most serious rule (blocklist before spam before
     duplicates).
3. Any rule asking for review (vulgar words, weak spam signs, the same picture as another
   post, the daily cap, an unexpected language) → review.
4. A trusted account with `auto_approve_partners` → approve.
5. With `auto_approve_all` → approve (nothing objected).
6. Otherwise → review, rule "default": only trusted authors are approved automatically.

`Moderator.remember` feeds posts the campaign already has (for duplicates and the daily cap);
`evaluate` judges a post and then remembers it, so a batch is judged in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from campaign_worker.config.campaigns import Campaign
from campaign_worker.home import Home
from campaign_worker.moderation.authors import AuthorRules, DailyCap, LanguageFilter
from campaign_worker.moderation.blocklist import Blocklist
from campaign_worker.moderation.duplicates import CERTAIN, DuplicateIndex, caption_fingerprint, parse_hashes
from campaign_worker.moderation.normalize import Normalized, normalize
from campaign_worker.moderation.spam import SpamRule
from campaign_worker.moderation.verdict import Candidate, Decision, Verdict

# Check names, in the order they are run and reported; content rules in order of seriousness.
BLOCKED, PARTNER, BLOCKLIST, SPAM, DUPLICATE, DAILY_CAP, LANGUAGE = (
    "author.blocked", "author.partner", "blocklist", "spam", "duplicate", "author.daily_cap", "language",
)
RULES = (BLOCKED, PARTNER, BLOCKLIST, SPAM, DUPLICATE, DAILY_CAP, LANGUAGE)
_CONTENT = (BLOCKLIST, SPAM, DUPLICATE, DAILY_CAP, LANGUAGE)

DEFAULT_REVIEW = Verdict(
    "review", "default",
    "Keine Regel hat entschieden – bitte prüfen",
    "No rule decided – please check",
)
DEFAULT_APPROVE = Verdict(
    "approve", "default",
    "Keine Regel hat Einwände (automatische Freigabe ist eingeschaltet)",
    "No rule objected (automatic approval is on)",
)


@dataclass(frozen=True)
class Check:
    """One rule's result for a post; `verdict` None means the rule had no objection."""

    rule: str
    verdict: Verdict | None


@dataclass(frozen=True)
class Outcome:
    """The combined decision for a post, and every rule's own result for explaining it."""

    verdict: Verdict
    checks: tuple[Check, ...]

    @property
    def decision(self) -> Decision:
        return self.verdict.decision

    @property
    def rule(self) -> str:
        return self.verdict.rule


_QUIET = {rule: Check(rule, None) for rule in RULES}


def _check(rule: str, verdict: Verdict | None) -> Check:
    return _QUIET[rule] if verdict is None else Check(rule, verdict)


def analysis_text(candidate: Candidate) -> str:
    """The caption, plus the post's hashtags that the caption does not show (e.g. from a comment)."""
    caption = candidate.caption or ""
    if not candidate.hashtags:
        return caption
    lowered = caption.lower()
    missing = [t for t in candidate.hashtags if f"#{t.lower()}" not in lowered]
    return caption + "\n" + " ".join(f"#{t}" for t in missing) if missing else caption


class Moderator:
    """The rules of one campaign, with its lists loaded once and a memory of the posts it has."""

    def __init__(self, campaign: Campaign, home: Home):
        settings = campaign.moderation
        self.campaign = campaign
        self.blocklist = Blocklist.load(home, settings)
        self.spam = SpamRule(campaign, home)
        self.authors = AuthorRules(campaign)
        self.duplicates = DuplicateIndex(settings.duplicate_max_distance, frozenset(a.lower() for a in campaign.own_accounts))
        self.daily_cap = DailyCap(campaign.tz, settings.author_daily_cap)
        self.language = LanguageFilter(settings.languages) if settings.languages else None
        self.auto_approve_all = settings.auto_approve_all
        self._known: set[str] = set()

    def remember(self, candidate: Candidate) -> None:
        """Add a post the campaign already has to the history (once per key)."""
        if candidate.key not in self._known:
            self._store(_Prepared.of(candidate, self.daily_cap))

    def evaluate(self, candidate: Candidate) -> Outcome:
        """Run every rule on the post, combine the verdicts, then remember the post."""
        prepared = _Prepared.of(candidate, self.daily_cap)
        checks = self._run(prepared)
        if candidate.key not in self._known:
            self._store(prepared)
        return Outcome(self._combine(candidate, checks), checks)

    def _run(self, post: "_Prepared") -> tuple[Check, ...]:
        candidate, author = post.candidate, post.candidate.author
        return (
            _check(BLOCKED, self.authors.blocked_verdict(author, candidate.author_id)),
            _check(PARTNER, self.authors.partner_verdict(author, candidate.author_id)),
            _check(BLOCKLIST, self.blocklist.check(post.norm)),
            _check(SPAM, self.spam.check(candidate, post.norm)),
            _check(DUPLICATE, self.duplicates.check(candidate.key, author, post.fingerprint, post.hashes)),
            _check(DAILY_CAP, self.daily_cap.check(candidate.key, post.slot)),
            _check(LANGUAGE, self.language.check(post.norm) if self.language else None),
        )

    def _combine(self, candidate: Candidate, checks: tuple[Check, ...]) -> Verdict:
        by_rule = {c.rule: c.verdict for c in checks}
        blocked = by_rule[BLOCKED]
        if blocked is not None:
            return blocked
        objections = [v for v in (by_rule[rule] for rule in _CONTENT) if v is not None]
        rejects = [v for v in objections if v.decision == "reject"]
        if rejects:
            if not self.authors.is_trusted(candidate.author, candidate.author_id):
                return rejects[0]
            certain = [v for v in rejects if v.rule in CERTAIN]
            return certain[0] if certain else _held_for_review(rejects[0])
        reviews = [v for v in objections if v.decision == "review"]
        if reviews:
            return reviews[0]
        partner = by_rule[PARTNER]
        if partner is not None:
            return partner
        return DEFAULT_APPROVE if self.auto_approve_all else DEFAULT_REVIEW

    def _store(self, post: "_Prepared") -> None:
        candidate = post.candidate
        self._known.add(candidate.key)
        self.duplicates.add(candidate.key, candidate.author, post.fingerprint, post.hashes)
        self.daily_cap.add(candidate.key, post.slot)


@dataclass
class _Prepared:
    """What the rules need of a post, computed once: folded text, fingerprint, hashes, day."""

    candidate: Candidate
    norm: Normalized
    fingerprint: str | None
    hashes: list[tuple[int, int]]
    slot: tuple[str, date] | None

    @classmethod
    def of(cls, candidate: Candidate, daily_cap: DailyCap) -> "_Prepared":
        norm = normalize(analysis_text(candidate))
        return cls(candidate, norm, caption_fingerprint(norm), parse_hashes(candidate.image_hashes), daily_cap.slot(candidate))


def _held_for_review(verdict: Verdict) -> Verdict:
    """A trusted account's post that a content rule would reject: a person decides."""
    return Verdict(
        "review",
        verdict.rule,
        f"Partnerkonto, daher Prüfung statt Ablehnung: {verdict.reason_de}",
        f"Trusted account, so review instead of rejection: {verdict.reason_en}",
        verdict.evidence,
    )
