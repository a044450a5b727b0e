"""The moderation pipeline of one campaign: runs every rule on a post and combines the verdicts.

How verdicts combine (first match wins):

1. A blocked author is rejected.
2. If a content rule (blocklist, spam, duplicate) rejects:
   - a post by a trusted account (partner or the campaign's own) goes to **review** instead,
     with the rule's reason and evidence, unless the rejection is certain (the very same post
     again): a partner's post with an insult is held for a person, never approved and never
     silently dropped;
   - anyone else's post is rejected by the most serious rule (blocklist before spam before
     duplicates), unless counter-speech words for that kind stand in it (a hate code reported,
     a scam's words quoted in a warning): then a person decides.
3. Any rule asking for review (vulgar words, weak spam signs, the same picture as another
   post, the daily cap, an unexpected language) → review.
   With `vulgar = "reject"`, a vulgar word rejects unless the model finds "genuine" the most
   likely label of the caption (praise with one swear word goes to review); with `vulgar =
   "review"` a post whose only list word is vulgar goes to review unless the model alone
   rejects it as profanity (3a: the word neither decides nor protects).
   A content rule's rejection of a post the model finds clearly genuine by its caption
   (P(genuine) ≥ 0.75: a quoted slogan, a place name) goes to review instead; a repost of the
   campaign's own post stays rejected whatever its words.
   A listed insult or hate phrase standing only in quotation marks goes to review
   (`blocklist.quoted`): posts against hate quote what they received.
3a. The model (`model.py`, reading the caption and the account name) rejects a post when P(label)
   reaches the trained `reject_at.<label>` and the caption alone gives that label at least
   `CAPTION_LEANS`, for spam, profanity, hate or offtopic (in posts of
   `long_post_words` words or more, `reject_at_long.<label>` where training set one: hate); a
   trusted account's post goes to review, and so does a post with counter-speech words for that
   label (`cues.countered_by`: a scam warning, a statement against hate, a move or return here).
   Off-topic is never claimed of a post naming a place of the region.
   The model also rejects, for its most likely kind, a post it finds junk beyond doubt (P(genuine)
   at most 1 - `reject_at.junk`, with and without the name) though no one kind reaches its own
   threshold; P(genuine) then joins the evidence.
3b. Two signals agreeing reject: a rule that only asks for review (weak spam signs, a
   `[hate review]` word, another region's tag) and the model finding the same kind of junk at
   least `corroborate_at` likely, again unless counter-speech words stand in the post. The
   rule's reason is kept, the model's probability is added to the evidence. Vulgar words stay
   with the `vulgar` policy.
4. A trusted account (trust level `partners` or higher) → approve.
5. The model in doubt (P(genuine) < 0.5 and another label more likely), another region's
   campaign tag in a post without a word of this region or a theme, or a place elsewhere
   (`places.txt`: another town's hospital, a holiday island) in a post without a word of this
   region (`relevance.place`; a hint only, never a rejection) → review (`relevance.py`).
6. Trust level `all` → approve; `confident` → approve when the model is confident the post
   is genuine by its caption (P(genuine) ≥ the trained `approve_at`) and the post names the
   campaign's region or a theme; a job ad that names no place of the region goes to review
   instead (`relevance.job_ad`: other regions' employers recruit with the same words and the tag).
7. Otherwise → review, rule "default".

Every outcome carries `score`, the model's P(genuine); the account name may lower it, never
raise it.

An account name may add to the case against a post (the model's rejection, its doubt, two
signals agreeing), never speak for it: approvals and disputes rest on the caption alone. The
names genuine posters had in training are mostly German; read in a post's favour, they made
the model approve the same captions more readily under „lena_mueller“ than under
„mehmet.yilmaz“ (bench/README.md).

`Moderator.remember` feeds posts the campaign already has (for duplicates and the daily cap);
`evaluate` judges a post and then remembers it, so a batch is judged in order; `evaluate_many`
does the same for a list of posts, scoring their texts together (what the moderation job uses).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from campaign_worker.config.campaigns import Campaign
from campaign_worker.home import Home
from campaign_worker.moderation.authors import AuthorRules, DailyCap, LanguageFilter
from campaign_worker.moderation.blocklist import Blocklist
from campaign_worker.moderation.cues import countered_by, model_features
from campaign_worker.moderation.duplicates import CERTAIN, DuplicateIndex, caption_fingerprint, parse_hashes
from campaign_worker.moderation.model import EXTRA, Prediction, TextModel, account_evidence, shipped_model
from campaign_worker.moderation.normalize import Normalized, normalize, word_count
from campaign_worker.moderation.relevance import RelevanceRule, Signals, load_places
from campaign_worker.moderation.spam import SpamRule
from campaign_worker.moderation.verdict import Candidate, Decision, Verdict
from campaign_worker.post import extract_hashtags, fold_hashtag

# Check names, in the order they are run and reported; content rules in order of seriousness.
BLOCKED, PARTNER, BLOCKLIST, SPAM, DUPLICATE, DAILY_CAP, LANGUAGE, RELEVANCE, MODEL = (
    "author.blocked", "author.partner", "blocklist", "spam", "duplicate", "author.daily_cap", "language",
    "relevance", "model",
)
RULES = (BLOCKED, PARTNER, BLOCKLIST, SPAM, DUPLICATE, DAILY_CAP, LANGUAGE, RELEVANCE, MODEL)
UNSURE_BELOW = 0.5  # P(genuine) under which even `all` asks a person
DISPUTE_AT = 0.75  # P(genuine) from which a rule's rejection goes to a person instead
CAPTION_LEANS = 0.5  # P(label) the caption alone must reach for the model to reject: a name never condemns a post
# Rejections the text model may not dispute: a repost of the campaign's own post is a copy of what
# the wall already shows, however harmless its words.
_UNDISPUTED = frozenset({"duplicate.own_repost"})
MODEL_REASONS = {
    "spam": ("Sieht nach Spam oder Betrug aus (Modell)", "Looks like spam or a scam (model)"),
    "profanity": ("Beleidigende oder vulgäre Sprache (Modell)", "Insulting or vulgar language (model)"),
    "hate": ("Hass oder Herabwürdigung (Modell)", "Hate or degradation (model)"),
    "offtopic": ("Kein Bezug zur Kampagne (Modell)", "No relation to the campaign (model)"),
}
OFF_TOPIC = ("Kein Bezug zur Kampagne: Hashtag einer anderen Region, kein Ort dieser Kampagne",
             "No relation to the campaign: another region's hashtag and no place of this campaign")
PLACE_ELSEWHERE = ("Nennt einen Ort anderswo und keinen der Region – bitte prüfen, ob der Beitrag hierher gehört",
                   "Names a place elsewhere and none of the region – please check that the post belongs here")
CONFIDENT_APPROVE = ("Unauffällig und mit Bezug zur Kampagne (Vertrauensstufe „confident“)",
                     "Clean and on-topic (trust level 'confident')")
JOB_AD_ELSEWHERE = ("Stellenanzeige ohne Ort der Region – bitte prüfen, ob die Stelle hier ist",
                    "Job ad naming no place of the region – please check that the job is here")
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
    score: float | None = None  # the model's probability that the post is genuine (0–1; a name only lowers it)

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
    # Stored tags are folded (#MeinHerzTrägtKrone → meinherztraegtkrone): compare folded with folded.
    shown = set(extract_hashtags(caption, limit=None))
    missing = [t for t in candidate.hashtags if fold_hashtag(t) not in shown]
    return caption + "\n" + " ".join(f"#{t}" for t in missing) if missing else caption


class Moderator:
    """The rules of one campaign, with its lists loaded once and a memory of the posts it has."""

    def __init__(self, campaign: Campaign, home: Home, *, auto_approve: str | None = None, model: TextModel | None = None):
        settings = campaign.moderation
        if auto_approve is not None and auto_approve != settings.auto_approve:
            settings = settings.model_copy(update={"auto_approve": auto_approve})
            campaign = campaign.model_copy(update={"moderation": settings})
        self.campaign = campaign
        self.blocklist = Blocklist.load(home, settings)
        self.spam = SpamRule(campaign, home)
        self.authors = AuthorRules(campaign)
        self.duplicates = DuplicateIndex(settings.duplicate_max_distance, frozenset(a.lower() for a in campaign.own_accounts))
        self.daily_cap = DailyCap(campaign.tz, settings.author_daily_cap)
        self.language = LanguageFilter(settings.languages) if settings.languages else None
        self.level = settings.auto_approve
        self.vulgar = settings.vulgar
        self.relevance = RelevanceRule(campaign, load_places(home))
        self.model = model or shipped_model()
        self.approve_at = float(self.model.params["approve_at"])
        self.reject_at = {label: float(self.model.params[f"reject_at.{label}"]) for label in MODEL_REASONS}
        # Longer posts may have their own, lower thresholds (hate); short ones keep `reject_at`.
        self.reject_at_long = {label: float(self.model.params.get(f"reject_at_long.{label}", at)) for label, at in self.reject_at.items()}
        self.long_post_words = int(self.model.params.get("long_post_words", 0))
        self.reject_at_junk = float(self.model.params.get("reject_at.junk", 2.0))  # > 1: off
        self.corroborate_at = float(self.model.params.get("corroborate_at", 2.0))  # > 1: off for older model files
        self._known: set[str] = set()

    def remember(self, candidate: Candidate) -> None:
        """Add a post the campaign already has to the history (once per key)."""
        if candidate.key not in self._known:
            self._store(_Prepared.of(candidate, self.daily_cap))

    def evaluate(self, candidate: Candidate) -> Outcome:
        """Run every rule on the post, combine the verdicts, then remember the post."""
        return self.evaluate_many([candidate])[0]

    def evaluate_many(self, candidates: Sequence[Candidate]) -> list[Outcome]:
        """`evaluate` for each post in order, with the text work done for the whole batch at once.

        Folding, relevance and the model depend on a post's text alone, so they run first over
        the batch (the model in one numpy pass); the history rules (duplicates, daily cap) then
        judge the posts one after another, each seeing the ones before it, as `evaluate` would.
        """
        prepared = [_Prepared.of(candidate, self.daily_cap) for candidate in candidates]
        signals = [self.relevance.signals(post.norm.text) for post in prepared]
        extra = np.array([model_features(s, post.norm.text) for s, post in zip(signals, prepared)], dtype=np.float64).reshape(len(prepared), len(EXTRA))
        named, caption_only = self.model.predict_both([post.norm.text for post in prepared], extra,
                                                      [post.candidate.author for post in prepared])
        labels = self.model.labels
        return [self._judge(post, signal, Prediction(dict(zip(labels, row)), by_caption=dict(zip(labels, alone))))
                for post, signal, row, alone in zip(prepared, signals, named.tolist(), caption_only.tolist())]

    def _judge(self, prepared: "_Prepared", signals: Signals, prediction: Prediction) -> Outcome:
        """The rules on one post whose text was already scored; then the post joins the history."""
        candidate = prepared.candidate
        checks = self._run(prepared) + self._learned(prepared, signals, prediction)
        if candidate.key not in self._known:
            self._store(prepared)
        verdict = self._combine(candidate, checks, signals, prediction, prepared.norm.text)
        return Outcome(verdict, checks, round(min(prediction.genuine, prediction.caption["genuine"]), 4))

    def _learned(self, post: "_Prepared", signals: Signals, prediction: Prediction) -> tuple[Check, Check]:
        """The relevance check and the model's check (a reject only when it is far from genuine)."""
        relevance = None
        if signals.elsewhere and signals.foreign and not signals.on_topic:
            relevance = Verdict("review", "relevance.elsewhere", *OFF_TOPIC, signals.evidence())
        elif signals.places:  # only found in posts naming nothing of the region
            # Only a hint: a newcomer names the town she left, a trainee the trip to the Landtag.
            # So it holds a post for a person, and the model alone decides a rejection.
            relevance = Verdict("review", "relevance.place", *PLACE_ELSEWHERE, signals.evidence())
        model = None
        label = prediction.label
        if label != "genuine" and prediction.genuine < UNSURE_BELOW:
            long = self.long_post_words and word_count(post.norm.text) >= self.long_post_words
            reject_at = (self.reject_at_long if long else self.reject_at)[label]
            by_kind = prediction.probabilities[label] >= reject_at and prediction.caption[label] >= CAPTION_LEANS
            by_mass = not by_kind and self._junk_beyond_doubt(prediction)
            sure = by_kind or by_mass
            # "No relation to the campaign" is never claimed of a post that names a place of the region,
            # nor in a campaign whose file lists no region or theme. Themes alone do not protect a
            # post: another city's hospital recruits with the same words.
            offtopic_unknowable = label == "offtopic" and (bool(signals.region) or not self.relevance.configured)
            decision = "reject" if sure and not offtopic_unknowable else "review"
            author = post.candidate.author
            words = self.model.evidence(post.norm.text, self.model.labels.index(label), author=author)
            named = account_evidence(author)
            if named and by_kind and prediction.caption[label] < reject_at and named not in words:
                words = (named,) + tuple(words)  # the name tipped the rejection: the manager must see it
            evidence = tuple(words) + (f"P({label}) = {prediction.probabilities[label]:.2f}",)
            if by_mass:  # no one kind was sure: show how sure the model is that the post is not genuine
                evidence += (f"P(genuine) = {prediction.genuine:.3f}",)
            model = Verdict(decision, f"model.{label}", *MODEL_REASONS[label], evidence)  # type: ignore[arg-type]
            if decision == "reject":
                model = _unless_countered(model, label, post.norm.text)
        return _check(RELEVANCE, relevance), _check(MODEL, model)

    def _junk_beyond_doubt(self, prediction: Prediction) -> bool:
        """Junk of some kind by the caption alone and with the name (P(genuine) at most 1 - `reject_at.junk`),
        though split between two kinds: an ad that is spam or off-topic, a come-on that is spam or profanity."""
        return 1.0 - prediction.genuine >= self.reject_at_junk and 1.0 - prediction.caption["genuine"] >= self.reject_at_junk

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

    def _combine(self, candidate: Candidate, checks: tuple[Check, ...], signals: Signals, prediction: Prediction,
                 text: str) -> Verdict:
        by_rule = {c.rule: c.verdict for c in checks}
        blocked = by_rule[BLOCKED]
        if blocked is not None:
            return blocked
        trusted = self.authors.is_trusted(candidate.author, candidate.author_id)
        objections = [v for v in (by_rule[rule] for rule in _CONTENT) if v is not None]
        rejects = [v for v in objections if v.decision == "reject"]
        if rejects:
            certain = [v for v in rejects if v.rule in CERTAIN]
            if certain:
                return certain[0]
            if trusted:
                return _held_for_review(rejects[0])
            if prediction.caption["genuine"] >= DISPUTE_AT and rejects[0].rule not in _UNDISPUTED:
                return _disputed(rejects[0])
            kind = junk_kind(rejects[0].rule)  # a slur quoted to report it, a scam's words quoted to warn of it
            return _unless_countered(rejects[0], kind, text) if kind else rejects[0]
        vulgar = by_rule[BLOCKLIST]
        if (vulgar is not None and vulgar.rule == "blocklist.vulgar" and self.vulgar == "reject" and not trusted
                and prediction.caption_label != "genuine"):
            return replace(vulgar, decision="reject")
        learned = by_rule[MODEL]
        if learned is not None and learned.decision == "reject":
            if learned.rule == "model.profanity" and vulgar is not None and vulgar.rule == "blocklist.vulgar":
                # `vulgar = "review"` spares the swear word, not the post: the model rejects it as it
                # would without the word. The manager is shown both.
                learned = replace(learned, evidence=vulgar.evidence + _besides(learned.evidence, vulgar.evidence))
            return _held_for_review(learned) if trusted else learned
        reviews = [v for v in objections if v.decision == "review"]
        if not trusted:
            agreed = self._corroborated(reviews + [v for v in (by_rule[RELEVANCE],) if v is not None], prediction, text)
            if agreed is not None:
                return agreed
        if reviews:
            return reviews[0]
        partner = by_rule[PARTNER]
        if partner is not None:
            return partner
        if self.level == "all":  # full trust: only a rule's objection (another region, above) holds a post back
            return by_rule[RELEVANCE] or DEFAULT_APPROVE
        doubt = learned or by_rule[RELEVANCE]
        if doubt is not None:
            return doubt
        if self.level == "confident" and prediction.caption["genuine"] >= self.approve_at and signals.on_topic:
            if signals.job_ad_elsewhere:
                return Verdict("review", "relevance.job_ad", *JOB_AD_ELSEWHERE, tuple(f"Stellenanzeige: {w}" for w in signals.job_ad[:3]))
            return Verdict("approve", "model.confident", *CONFIDENT_APPROVE,
                           signals.evidence() + (f"P(genuine) = {prediction.caption['genuine']:.2f}",))
        return DEFAULT_REVIEW

    def _corroborated(self, reviews: list[Verdict], prediction: Prediction, text: str) -> Verdict | None:
        """The first review request the model backs with the same kind of junk, as a rejection."""
        for verdict in reviews:
            label = junk_kind(verdict.rule)
            if label is not None and prediction.probabilities[label] >= self.corroborate_at and not countered_by(label, text):
                evidence = verdict.evidence + (f"P({label}) = {prediction.probabilities[label]:.2f}",)
                return _reworded(verdict, "reject", "{reason} (vom Modell bestätigt)", "{reason} (confirmed by the model)", evidence)
        return None

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


def _besides(evidence: tuple[str, ...], shown: tuple[str, ...]) -> tuple[str, ...]:
    """`evidence` without the words `shown` already names (the model gives them folded: „scheisse“)."""
    folded = {normalize(word).text for word in shown}
    return tuple(item for item in evidence if item not in folded)


def junk_kind(rule: str) -> str | None:
    """The model label a rule's objection speaks of (None: vulgar words, pictures, caps, languages)."""
    if rule.startswith("spam."):
        return "spam"
    if rule in ("blocklist.insult", "blocklist.sexual"):
        return "profanity"
    if rule == "blocklist.hate":
        return "hate"
    if rule == "relevance.elsewhere":
        return "offtopic"
    return None


def _reworded(verdict: Verdict, decision: Decision, de: str, en: str, evidence: tuple[str, ...] | None = None) -> Verdict:
    """The same rule's finding with another decision; `de`/`en` wrap its reason (`{reason}`)."""
    return Verdict(decision, verdict.rule, de.format(reason=verdict.reason_de), en.format(reason=verdict.reason_en),
                   verdict.evidence if evidence is None else evidence)


def _disputed(verdict: Verdict) -> Verdict:
    """A rule would reject what the model finds clearly genuine (a quote, a place name): a person decides."""
    return _reworded(verdict, "review", "Regel und Modell widersprechen sich, daher Prüfung: {reason}",
                     "Rule and model disagree, so review instead of rejection: {reason}")


def _unless_countered(verdict: Verdict, label: str, folded_text: str) -> Verdict:
    """A rejection for `label`, or a review where that label's counter-speech words stand."""
    word = countered_by(label, folded_text)
    return verdict if word is None else _countered(verdict, word, label)


def _countered(verdict: Verdict, word: str, label: str) -> Verdict:
    """The model would reject a post that warns against a scam, stands against hate while quoting it,
    or tells of moving here from the other place it names."""
    if label == "offtopic":
        return _reworded(verdict, "review", "Erwähnt einen Umzug oder eine Rückkehr hierher, daher Prüfung: {reason}",
                         "Mentions moving or coming back here, so review: {reason}", verdict.evidence + (f"Bezug: {word}",))
    return _reworded(verdict, "review", "Möglicherweise Warnung oder Gegenrede, daher Prüfung: {reason}",
                     "Possibly a warning or counter-speech, so review: {reason}", verdict.evidence + (f"Gegenrede: {word}",))


def _held_for_review(verdict: Verdict) -> Verdict:
    """A trusted account's post that a content rule would reject: a person decides."""
    return _reworded(verdict, "review", "Partnerkonto, daher Prüfung statt Ablehnung: {reason}",
                     "Trusted account, so review instead of rejection: {reason}")
