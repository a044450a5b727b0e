"""Word families the model reads besides character n-grams: what a post talks about, not how it spells it.

A classifier on character n-grams learns the words its training captions used; a new writer
uses other words for the same thing („Gesindel“ instead of „Pack“, „Kohle“ instead of „Geld“).
These families group such words by meaning (people a post speaks of, expelling and
dehumanising language, money, contact channels, urgency, address of a person, insults, places
elsewhere, and the language of posts that stand against hate) and give the model one number per
family and per telling pair (people + expelling language, money + contact). They are matched
on the folded text (`normalize`), so spelling tricks are already undone, and word starts
count (`migrant` matches „Migranten“ and „Migrantinnen“); an entry ending in a space is a
whole word only (`schwarze ` must not match „Schwarzenegger“).

The families belong to the trained model: changing them means retraining
(`campaign-worker moderate-train`); they are not a user setting (the lists in
`config/moderation/` are).
"""

from __future__ import annotations

import re
from functools import lru_cache

from campaign_worker.moderation.normalize import quoted_spans, shorten
from campaign_worker.moderation.relevance import Signals

FAMILIES: dict[str, tuple[str, ...]] = {
    # groups of people that hate speech targets (and that the campaigns court)
    "people": (
        "auslaender", "auslaend", "migrant", "fluechtling", "gefluechtet", "asyl", "muslim", "moslem", "islam",
        "kopftuch", "jude", "juden", "juedi", "roma", "sinti", "zigeun", "tuerk", "araber", "afrikan",
        "schwarze ", "schwarzen ", "syrer", "afghan", "rumaen", "bulgar", "polen", "osteurop", "nafri", "schwul", "lesb",
        "trans ", "transfrau", "transmann", "transperson", "transgender", "queer", "lgbt", "homos", "homosex", "genderwahn", "weiber", "fremde ", "fremden ", "zuwander", "einwander", "passdeutsch",
        "goldstueck", "merkelgaest", "kulturbereicher", "bereicher", "neubuerger", "fachkraefte\"", "\"fachkraefte",
        "foreigner", "immigrant", "migrants", "refugee", "muslims", "jews", "gays", "illegals", "third world",
        "diversity hire", "dei hire", "those people", "these people", "die da", "solche leute", "diese leute",
        "die leute aus", "von drueben", "aus dem ausland", "mit akzent", "akzent",
    ),
    # expelling, dehumanising, replacement and crime-generalising language
    "hostile": (
        "raus", "abschieb", "remigr", "rueckfuehr", "heimschick", "zurueck in eure", "zurueck nach", "ausweis",
        "go home", "go back", "send them back", "deport", "pack ", "gesocks", "gesindel", "ungeziefer", "parasit",
        "schmarotzer", "invasion", "invasor", "eindringl", "flut ", "ueberflut", "ueberfremd", "austausch ", "bevoelkerungsaustausch",
        "umvolk", "volkstod", "messer ", "messerm", "messerstech", "vergewalt", "kriminell", "vermin", "invader", "flood", "replacement",
        "scum", "animals", "tiere ", "viecher", "plage", "seuche", "abschaum", "dreck ", "drecks", "landnahme", "verdraeng",
        "nicht zu uns", "passt nicht zu", "gehoert nicht", "keinen platz", "kein platz fuer die", "sollen bleiben wo",
        "wo sie herkommen", "where they came", "not welcome", "unerwuenscht", "rasse ", "volk ", "volkes", "volksverraet",
        "billig", "importiert", "ersetzt", "nicht behandeln", "nicht pflegen", "lass mich nicht",
    ),
    # coded references of the far right
    "codes": (
        "88", "1488", "14 words", "14 worte", "hh", "sieg heil", "(((", ")))", "zog", "wpww",
        "deutschland den deutschen", "white power", "volksgemeinschaft", "reichsbuerger", "nwo", "globalist",
        "rothschild", "soros", "great replacement", "grosser austausch", "the day of the rope", "schwarze sonne",
    ),
    # money and gain
    "money": (
        "verdien", "euro", "eur ", "€", "$", "geld", "kohle", "einkommen", "passiv", "gewinn", "gratis",
        "kostenlos", "free", "earn", "income", "profit", "invest", "krypto", "crypto", "bitcoin", "btc",
        "trading", "rendite", "cash", "reich ", "reichtum", "rich ", "million", "pro woche", "pro tag", "per week", "per day",
        "a day", "am tag", "im monat", "monatlich", "nebenverdienst", "nebenjob", "gebuehr", "fee",
        "vorkasse", "anzahlung", "kaution", "ueberweis", "paypal", "gutschein", "voucher", "prize",
        "iphone", "gift card", "amazon",
    ),
    # contact channels a scam moves the reader to
    "contact": (
        "dm", "pn", "privatnachricht", "whatsapp", "wa.me", "telegram", "t.me", "link in bio",
        "link in der bio", "bio ", "klick", "click", "schreib mir", "schreibt mir", "melde dich", "meldet euch",
        "message me", "write me", "text me", "inbox", "bit.ly", "tinyurl", "http", "www", "profil",
        "profile", "check my", "schau auf", "kommentier", "comment", "share", "tagge",
        "follow", "handynummer", "telefonnummer", "phone", "e-mail an", "adresse",
    ),
    # urgency and exclusivity
    "urgency": (
        "nur heute", "nur noch", "sofort", "schnell", "limitiert", "begrenzt", "letzte chance", "only today",
        "hurry", "limited", "exklusiv", "exclusive", "garantiert", "guaranteed", "ohne erfahrung",
        "no experience", "keine vorkenntnisse", "100%", "100 %", "risikofrei", "risk free", "geheim", "secret",
        "ausgewaehlt", "selected", "gewonnen", "you won", "congratulations", "glueckwunsch",
    ),
    # a person addressed directly (insults address someone)
    "address": (
        "du bist", "ihr seid", "you are", "you're", "ur a", "du ", "dich", "dir ", "euch", "ihr ",
        "halt die", "halt dein", "verpiss", "shut up", "fresse", "maul",
    ),
    # insults and contempt without the classic swear words
    "contempt": (
        "idiot", "depp", "trottel", "vollpfost", "pfosten", "lauch", "hohlbirne", "hohlkopf", "dumm", "bloed", "behindert ",
        "spast ", "spasten", "opfer ", "versager", "loser", "clown", "moron", "stupid", "dumb", "pathetic", "ekelhaft",
        "eklig", "widerlich", "abstossend", "disgusting", "hass", "hasse", "hate", "kotz", "zum kotzen",
        "muell ", "trash", "garbage", "lachnummer", "witzfigur", "penner", "assi ", "assis ", "prolet", "fett", "haessl",
        "ugly", "inkompetent", "unfaehig", "faul", "lazy", "nichtsnutz", "schlampe", "tussi", "bitch",
    ),
    # places elsewhere and holidays (off-topic posts are about somewhere else)
    "elsewhere": (
        "hamburg", "berlin", "muenchen", "munich", "koeln", "cologne", "frankfurt", "stuttgart", "duesseldorf",
        "dortmund", "leipzig", "dresden", "bremen", "hannover", "nuernberg", "bayern", "bavaria", "schweiz",
        "zuerich", "wien", "oesterreich", "austria", "mallorca", "malle", "bali", "thailand", "dubai", "paris",
        "london", "new york", "nyc", "rom ", "barcelona", "italien", "spanien", "griechenland", "kroatien",
        "tuerkei", "istanbul", "antalya", "ostsee", "nordsee", "sylt", "alpen", "urlaub", "vacation",
        "holiday", "strand", "beach", "usa", "australia", "australien", "kanada", "canada",
        "amsterdam", "grachten", "lissabon", "lisbon", "portugal", "santorini", "greece", "kiez ", "rheinufer", "deich",
        "fischbroetchen", "weisswurst", "brezn", "servus", "elbe ", "alster", "isar ", "spree ", "bodensee", "gardasee",
    ),
    # posts that stand against hate (they quote it to reject it)
    "stance": (
        "gegen ", "stoppt", "kein platz fuer", "nein zu", "wir stehen", "solidar", "respekt", "vielfalt",
        "against", "stand with", "no place for", "haltung", "rassismus", "racism", "diskriminier",
        "angezeigt", "anzeige erstattet", "gemeldet", "reported", "zusammenhalt", "willkommen", "welcome",
        "gemeinsam", "together", "demokratie", "erinnern", "gedenk", "nie wieder", "never again",
        "stolperstein", "danke", "thank", "stolz", "proud", "team", "kolleg",
    ),
}
# Words of posts that warn against a scam or stand against hate while quoting it, or that tell of
# moving here from elsewhere. The model reads the quote (or the other place) like the real thing,
# so where these words stand its rejection for that label becomes a review (`countered_by`);
# training sets the reject thresholds without such posts (`train.py`).
COUNTER_SPEECH: dict[str, tuple[str, ...]] = {
    "spam": (
        "achtung", "vorsicht", "warnung", "warnen", "warnt ", "betrueger", "betrug", "fake", "phishing", "scam",
        "fraud", "reinfallen", "niemals", "never share", "beware", "watch out", "heads up", "gefaelscht",
        "nicht echt", "keine gebuehr", "ausschliesslich", "offiziell nur", "blockier",
        # „meldet euch“ / „meldet sich“ is how a scam asks to be contacted: only reporting counts
        "meldet den", "meldet die", "meldet das", "meldet es", "meldet solche", "meldet diese", "meldet fake",
        "meldet betrug", "nobody ", "niemand ",
        "zahlt keine", "zahlen sie keine", "never pay", "do not pay", "don't pay", "kein arbeitgeber",
        "no employer", "keine serioese", "serioese arbeitgeber",
    ),
    # Not „gegen“ or „kein Platz“ alone: „Ich hab nichts gegen Ausländer, aber …“ and „für unsere
    # Kinder ist bald kein Platz mehr“ are how hate introduces itself.
    "hate": (
        "rassis", "racis", "hetze", "hass", "angezeigt", "anzeige", "geloescht", "loeschen",
        "melden", "gemeldet", "nie wieder", "never again", "stolperstein", "gedenk", "erinner", "solidar",
        "stand with", "wir stehen", "zivilcourage", "diskriminier", "report",
        *(f"{lead} {what}" for lead in ("gegen", "kein platz fuer", "no place for")
          for what in ("hass", "hetze", "rassismus", "rechts", "nazis", "diskriminierung", "ausgrenzung",
                       "antisemitismus", "menschenfeindlichkeit", "fremdenfeindlichkeit", "intoleranz", "hate", "racism")),
    ),
    # People who moved here, came back or commute name the place they left: that is not off-topic.
    "offtopic": (
        "zurueck", "rueckkehr", "heimgekehrt", "heimgekommen", "wieder hier", "wieder da ", "wieder zuhause",
        "wieder zu hause", "wieder daheim", "hergezogen", "hierher", "zugezogen", "neu hier", "pendl", "pendel",
        "back home", "back from", "moved here", "moved back", "came back", "coming back", "back here", "home again", "returnee",
        "commut",
    ),
}
# Labels for which a quotation counts as counter-speech, and how many words it must have: hate puts
# two-word labels in scare quotes („Fachkräfte“, "skilled workers"); a reported comment is longer.
QUOTING_COUNTERS = ("hate",)
QUOTE_WORDS = 3
PAIRS = (("people", "hostile"), ("people", "contempt"), ("money", "contact"), ("money", "urgency"),
         ("address", "contempt"), ("people", "stance"))
NAMES = tuple(f"cue.{name}" for name in FAMILIES) + tuple(f"cue.{a}+{b}" for a, b in PAIRS)


def _trie_pattern(words: list[str]) -> str:
    """One regex alternation in trie form (shared prefixes factored out): one pass, no backtracking storm."""
    trie: dict = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return build(trie)


def _words_pattern(words: list[str]) -> str:
    """Words as one regex: "word " (trailing space) a whole word, "word" any word starting so."""
    whole = sorted(w.strip() for w in words if w.endswith(" "))
    starts = sorted(w for w in words if not w.endswith(" "))
    parts = ([f"{_trie_pattern(whole)}\\b"] if whole else []) + ([_trie_pattern(starts)] if starts else [])
    return rf"\b(?:{'|'.join(parts)})"


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern[str], dict[str, tuple[int, ...]]]:
    """A single pattern for every family's words, and which families each matched word belongs to."""
    families = list(FAMILIES)
    owners: dict[str, set[int]] = {}
    for index, name in enumerate(families):
        for word in FAMILIES[name]:
            owners.setdefault(word, set()).add(index)
    # "word " (trailing space) is a whole word, "word" any word starting so, "€" a symbol anywhere.
    whole = {w.strip(): i for w, i in owners.items() if w.endswith(" ") and w[0].isalnum()}
    starts = {w: i for w, i in owners.items() if not w.endswith(" ") and w[0].isalnum()}
    symbols = {w: i for w, i in owners.items() if not w[0].isalnum()}
    pattern = _words_pattern([w for w in owners if w[0].isalnum()])
    if symbols:
        pattern = f"(?:{pattern}|{_trie_pattern(sorted(symbols))})"
    found = {**starts, **symbols}
    for word, index in whole.items():
        found[word] = found.get(word, set()) | index
    return re.compile(pattern), {w: tuple(sorted(i)) for w, i in found.items()}


def cue_features(folded_text: str) -> tuple[float, ...]:
    """One number per family (0, 0.5 for one hit, 1 for more) and per telling pair (1 when both occur)."""
    pattern, owners = _matcher()
    hits = [0] * len(FAMILIES)
    for match in pattern.finditer(folded_text, 0, 4000):
        for index in owners.get(match.group(), ()):
            hits[index] += 1
    found = dict(zip(FAMILIES, (0.0 if n == 0 else (0.5 if n == 1 else 1.0) for n in hits)))
    return tuple(found.values()) + tuple(float(found[a] > 0 and found[b] > 0) for a, b in PAIRS)


@lru_cache(maxsize=1)
def _counter_patterns() -> dict[str, re.Pattern[str]]:
    return {label: re.compile(_words_pattern(list(words))) for label, words in COUNTER_SPEECH.items()}


def countered_by(label: str, folded_text: str) -> str | None:
    """The first counter-speech word for `label` (spam, hate, offtopic) in a folded text, or None.

    For hate, a quotation of `QUOTE_WORDS` words or more counts too: statements against hate
    quote the comment they received, while hate speaks for itself (scare quotes around a label,
    „Fachkräfte“, "skilled workers", are not a quotation here). Scams quote their own promises,
    so not for spam.
    """
    pattern = _counter_patterns().get(label)
    if pattern is None:
        return None
    match = pattern.search(folded_text)
    if match:
        return match.group().strip()
    for start, end in quoted_spans(folded_text) if label in QUOTING_COUNTERS else ():
        if len(folded_text[start + 1 : end - 1].split()) >= QUOTE_WORDS:
            return shorten(folded_text[start:end], 40)
    return None


def model_features(signals: Signals, folded_text: str) -> tuple[float, ...]:
    """Everything the model reads besides n-grams: the relevance signals, then the word families."""
    return signals.features() + cue_features(folded_text)
