"""Spam rule: scores the signs of advertising and scam posts and decides on the sum.

Each sign adds points; 3 or more reject a post as spam, 2 send it to review, and a single
weak cue alone (one "Link in Bio", one coin word) is no objection, because genuine partner
posts say such things all the time. A single strong sign ("DM for promo", bitcoin with a
money promise, a phone number with escort words, a known scam phrase) is enough; weak cues
("link in bio", "shop now", "use code", bait hashtags) only reject together. The phrase and
hashtag lists are in the editable file `config/moderation/spam-phrases.txt`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from campaign_worker.config.campaigns import Campaign
from campaign_worker.home import Home
from campaign_worker.moderation.blocklist import list_path, load_terms
from campaign_worker.moderation.normalize import Normalized, fold, shorten
from campaign_worker.moderation.terms import Allowlist, TermMatcher
from campaign_worker.moderation.verdict import Candidate, Decision, Verdict

REJECT_POINTS = 3
REVIEW_POINTS = 2
MAX_EVIDENCE = 5
EMOJI_WALL = 8  # this many emoji and no words: spam, not a fan's short reaction
PHRASE_SECTIONS: dict[str, Decision] = {"phrases": "reject", "hashtags": "review"}

_W = r"[\W_]+"  # separators between words in normalised text
_PROMO_RE = re.compile(
    rf"\b(?:dm|pm|inbox|message|msg|direct message)\b(?:{_W}\w+){{0,5}}?{_W}"
    r"(?:promo\w*|promotion\w*|collab\w*|feature|featured|shout\W?outs?|ambassador\w*|markenbotschafter\w*)\b"
    rf"|\b(?:promo\w*|promotion|collabs?|shout\W?outs?|ambassador\w*|markenbotschafter\w*)\b(?:{_W}\w+){{0,5}}?{_W}"
    r"(?:dm|inbox|message us|message me|pm)\b"
    rf"|\bsend(?:{_W}\w+){{0,3}}?{_W}to{_W}@\w+"
    rf"|\bpromote(?:{_W}\w+){{0,2}}?{_W}(?:on|at|with){_W}@\w+"
    r"|\bwanna be featured\b|\bwant to be featured\b|\bget featured\b"
)
_CRYPTO_RE = re.compile(
    r"\b(?:bitcoins?|btc|crypto|cryptos|cryptocurrenc\w*|krypto|kryptowaehrung\w*|kryptohandel|forex|usdt"
    r"|ethereum|binance|altcoins?|dogecoin|nfts?|trading bot|binary option\w*)\b"
)
_EARNINGS_RE = re.compile(
    r"\b(?:profit\w*|earn|earns|earned|earning|earnings|verdien\w*|rendite\w*|returns?|income|einkommen"
    r"|payouts?|auszahlung\w*|invest|invests|invested|investing|investment\w*|investier\w*|roi)\b"
)
_EASY_MONEY_RE = re.compile(
    r"\b(?:(?:from|at) home|from your (?:phone|couch|sofa)|von zu ?hause|vom (?:handy|sofa)|no experience needed"
    r"|ohne vorkenntnisse|ohne erfahrung|passive?s?|while you sleep|im schlaf)\b"
)
_CONTACT_RE = re.compile(
    r"\b(?:whatsapp|telegram|t\W?me|wa\W?me|dm|inbox|message me|contact me|kontaktier\w*|schreib mir|signal)\b"
)
_MONEY_RE = re.compile(
    r"(?:[$€£]\s?\d[\d.,]*\s?k?\b|\b\d[\d.,]*\s?(?:k\s?)?(?:[$€£]|usd|eur|euro|euros|dollars?|usdt)(?!\w))",
    re.IGNORECASE,
)
_ESCORT_RE = re.compile(
    r"\b(?:escort\w*|callgirl\w*|erotik\w*|erotisch\w*|sex|sexkontakt\w*|happy end|tantramassage\w*"
    r"|laufhaus|bordell\w*|hot girls|heisse girls|geile girls|hot ladies|heisse dates?|hot dates?|sexdates?"
    r"|(?:singles|frauen|girls|dates) in deiner naehe)\b"
)
_LOAN_RE = re.compile(
    r"\b(?:loans?|lender\w*|payday|schufa\w*|sofortkredit\w*|privatkredit\w*|eilkredit\w*|blitzkredit\w*"
    r"|darlehen|schnelles geld|fast cash|quick cash|bad credit|kreditangebot\w*|credit offer\w*)\b"
)
_PHONE_RE = re.compile(
    r"(?<![\w+])(?:\+|00)\s?\d{1,3}(?:[\s\-/.()]{0,2}\d){7,13}(?!\d)|(?<![\w+])0\d{2,4}(?:[\s\-/]{0,2}\d){5,10}(?!\d)"
)
# Any of the word patterns above, in one pass: most posts contain none of them, and one search
# that finds nothing proves each of them would find nothing (it tries them all at every position).
_LURE_RE = re.compile("|".join(f"(?:{p.pattern})" for p in (_PROMO_RE, _CRYPTO_RE, _EARNINGS_RE, _ESCORT_RE, _LOAN_RE)))
_SHORTENER_RE = re.compile(r"\b(?:bit\.ly|tinyurl\.com|t\.me|wa\.me|goo\.gl|cutt\.ly|rb\.gy|is\.gd|shorturl\.at)/")
_EMOJI_RE = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u3030\u303D]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_TAG_RE = re.compile(r"(?<![\w#])#(\w{1,100})")
_TAG_OR_MENTION_RE = re.compile(r"[#@][\w.]+")

SIGNALS = {
    "spam.phrase": ("Bekannte Spam-Formulierung", "Known spam phrase"),
    "spam.promo": ("„DM für Promo/Feature“-Werbung", "'DM for promo/feature' advertising"),
    "spam.crypto": ("Krypto-, Anlage- oder Heimarbeits-Lockangebot", "Crypto, investment or work-from-home bait"),
    "spam.phone": ("Telefonnummer mit Escort- oder Kreditwerbung", "Phone number with escort or loan advertising"),
    "spam.bait_tags": ("Follow-/Like-Tausch-Hashtags", "Follow/like exchange hashtags"),
    "spam.hashtags": ("Zu viele Hashtags ohne Bezug zur Kampagne", "Too many hashtags unrelated to the campaign"),
    "spam.hints": ("Werbehinweise (Shop, Rabattcode, Link in Bio)", "Advertising cues (shop, discount code, link in bio)"),
    "spam.links": ("Kurzlink oder Messenger-Link", "Short link or messenger link"),
    "spam.emoji": ("Beschriftung fast nur aus Emojis", "Caption is almost only emoji"),
}


@dataclass(frozen=True)
class Signal:
    rule: str
    points: int
    evidence: tuple[str, ...]


class SpamRule:
    """Scores one post's spam signs; `check` turns the score into a verdict."""

    def __init__(self, campaign: Campaign, home: Home):
        path = list_path(home, "spam-phrases.txt")
        assert path is not None
        terms = load_terms(path, PHRASE_SECTIONS)
        self.phrases = TermMatcher([t for t in terms if t.category == "phrases"], Allowlist(()))
        self.bait_tags = frozenset(t.core.replace(" ", "") for t in terms if t.category == "hashtags")
        self.max_hashtags = campaign.moderation.max_hashtags
        self._related = _vocabulary_regex(campaign)

    def signals(self, candidate: Candidate, norm: Normalized) -> list[Signal]:
        # "_" joins words in user names ("@crypto_expert_anna"); for these patterns it separates.
        text = norm.text.replace("_", " ") if "_" in norm.text else norm.text
        found: list[Signal] = []
        found += self._phrase_signals(norm)
        if _LURE_RE.search(text):
            found += _lure_signals(norm, text)
        found += self._hashtag_signals(candidate, norm)
        match = _SHORTENER_RE.search(norm.source.lower())
        if match:
            found.append(Signal("spam.links", 1, (match.group(),)))
        emoji = _emoji_signal(text)
        if emoji and emoji[0].points >= REJECT_POINTS and any(self._related.search(t) for t in _TAG_RE.findall(text)):
            # An emoji wall under the campaign's own tag is a fan's reaction as often as a bot's: review.
            emoji = [Signal("spam.emoji", REVIEW_POINTS, emoji[0].evidence)]
        return found + emoji

    def check(self, candidate: Candidate, norm: Normalized) -> Verdict | None:
        found = self.signals(candidate, norm)
        points = sum(s.points for s in found)
        if points < REVIEW_POINTS:
            return None
        found.sort(key=lambda s: -s.points)
        main = [s for s in found if s.points == found[0].points][:2]
        evidence: list[str] = []
        for signal in found:
            evidence += [e for e in signal.evidence if e and e not in evidence]
        return Verdict(
            decision="reject" if points >= REJECT_POINTS else "review",
            rule=found[0].rule,
            reason_de="; ".join(SIGNALS[s.rule][0] for s in main),
            reason_en="; ".join(SIGNALS[s.rule][1] for s in main),
            evidence=tuple(evidence[:MAX_EVIDENCE]),
        )

    def _phrase_signals(self, norm: Normalized) -> list[Signal]:
        hits = self.phrases.find(norm)
        if not hits:
            return []
        strong = [h for h in hits if h.term.decision == "reject"]
        cues = {h.term.core: h for h in hits if h.term.decision != "reject"}
        signals = []
        if strong:
            signals.append(Signal("spam.phrase", 3, tuple(norm.snippet(h.start, h.end) for h in strong[:3])))
        if cues:
            signals.append(Signal("spam.hints", min(len(cues), 3), tuple(norm.snippet(h.start, h.end) for h in cues.values())))
        return signals

    def _hashtag_signals(self, candidate: Candidate, norm: Normalized) -> list[Signal]:
        # {folded tag: how to show it}; the caption's tags are already folded in the normalised
        # text. Showing means mapping back to the original text, so it is done only for evidence.
        # Stuffing is counted on the tags as written (repeats included): "#a" 5,000 times is 5,000 tags.
        tags: dict[str, tuple[int, int] | str] = {}
        written_count = 0
        if "#" in norm.text:
            for match in _TAG_RE.finditer(norm.text):
                written_count += 1
                tags.setdefault(match.group(1), match.span())
        for tag in candidate.hashtags:
            folded = _fold_tag(tag)
            if folded not in tags:
                written_count += 1
                tags[folded] = "#" + tag.lstrip("#")
        if not tags:
            return []

        def written(folded: str) -> str:
            shown = tags[folded]
            return shown if isinstance(shown, str) else norm.snippet(*shown)

        signals = []
        bait = [written(folded) for folded in tags if folded in self.bait_tags]
        if bait:
            signals.append(Signal("spam.bait_tags", 3 if len(bait) >= 3 else len(bait), tuple(bait)))
        if written_count > self.max_hashtags:
            unrelated = [folded for folded in tags if not self._related.search(folded)]
            repeated = written_count >= 2 * len(tags)  # each tag twice on average
            if len(unrelated) * 2 > len(tags) or repeated:
                # Stuffing alone is a genuine (if noisy) habit: review; with other signs it is spam.
                # More than twice the limit, or tags repeated past it, no person writes: spam.
                points = 3 if written_count > 2 * self.max_hashtags or repeated else 2
                shown = " ".join(written(folded) for folded in (unrelated or list(tags))[:20])
                signals.append(Signal("spam.hashtags", points, (shorten(f"{written_count} Hashtags: " + shown),)))
        return signals


def _lure_signals(norm: Normalized, text: str) -> list[Signal]:
    """Promotion offers, crypto and income bait, phone numbers with escort or loan words."""
    found: list[Signal] = []
    match = _PROMO_RE.search(text)
    if match:
        found.append(Signal("spam.promo", 3, (norm.snippet(match.start(), match.end()),)))
    return found + _crypto_signal(norm, text) + _phone_signal(norm, text)


@lru_cache(maxsize=4096)
def _fold_tag(tag: str) -> str:
    return fold(tag.lstrip("#"))


def _crypto_signal(norm: Normalized, text: str) -> list[Signal]:
    coins = list(_CRYPTO_RE.finditer(text))
    earnings = _EARNINGS_RE.search(text)
    if not coins and not earnings:
        return []
    money = list(_MONEY_RE.finditer(norm.source))
    contact = _CONTACT_RE.search(text)
    evidence = tuple(norm.snippet(m.start(), m.end()) for m in [*coins[:2], *([earnings] if earnings else [])])
    evidence += tuple(m.group().strip() for m in money[:2])
    kinds = {m.group() for m in coins}
    if kinds and (len(kinds) >= 2 or earnings or money or contact):
        return [Signal("spam.crypto", 3, evidence)]
    if kinds:
        return [Signal("spam.crypto", 1, evidence)]
    easy = _EASY_MONEY_RE.search(text)
    if earnings and easy:
        # "earn … from home", "verdienen … vom Handy": the work-from-home income lure.
        points = 3 if money or contact else 2
        return [Signal("spam.crypto", points, evidence + (norm.snippet(easy.start(), easy.end()),))]
    # Without coin words only a promise of returns (money in, more money out) and a contact is bait.
    if earnings and len(money) >= 2 and contact:
        return [Signal("spam.crypto", 3, evidence + (norm.snippet(contact.start(), contact.end()),))]
    if earnings and money and contact:
        return [Signal("spam.crypto", 1, evidence)]
    return []


def _phone_signal(norm: Normalized, text: str) -> list[Signal]:
    lure = _ESCORT_RE.search(text) or _LOAN_RE.search(text)
    if not lure:
        return []
    phone = _PHONE_RE.search(norm.source)
    if not phone:
        return []
    return [Signal("spam.phone", 3, (norm.snippet(lure.start(), lure.end()), phone.group().strip()))]


def _emoji_signal(text: str) -> list[Signal]:
    """Mostly emoji: review; a wall of them with no words at all is what bot accounts post."""
    emoji = _EMOJI_RE.findall(text)
    if len(emoji) < 3:
        return []
    letters = len(_LETTER_RE.findall(_TAG_OR_MENTION_RE.sub(" ", text)))
    if len(emoji) >= EMOJI_WALL and letters < 5:
        return [Signal("spam.emoji", 3, ("".join(emoji[:12]),))]
    if letters < 2 * len(emoji) and letters < 20:
        return [Signal("spam.emoji", 2, ("".join(emoji[:12]),))]
    return []


def _vocabulary_regex(campaign: Campaign) -> re.Pattern[str]:
    """Words that make a hashtag belong to the campaign: its tags, keywords, name and partners."""
    words: set[str] = set()
    sources = [*campaign.hashtags, *campaign.drafts.extra_hashtags, campaign.name, campaign.slug]
    sources += [k for a in campaign.audiences for k in (a.key, a.label, *a.keywords)]
    sources += [p.name for p in campaign.partners] + list(campaign.partner_accounts) + list(campaign.own_accounts)
    for source in sources:
        folded = fold(source)
        words.add(re.sub(r"[\W_]+", "", folded))
        words.update(w for w in re.split(r"[\W_]+", folded))
    stems = sorted((w for w in words if len(w) >= 4), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, stems)) or r"(?!)")
