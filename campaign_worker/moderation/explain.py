"""Showing a moderation outcome to a person: a per-rule table, and one JSON object per post.

Used by `moderate --explain` (the table) and `moderate --dry-run` (the JSON lines).
"""

from __future__ import annotations

from typing import Any

from campaign_worker.moderation.engine import Outcome

DECISIONS = {
    "de": {"approve": "freigeben", "reject": "ablehnen", "review": "prüfen"},
    "en": {"approve": "approve", "reject": "reject", "review": "review"},
}
RULE_NAMES = {
    "de": {
        "author.blocked": "Gesperrtes Konto",
        "author.partner": "Partnerkonto",
        "blocklist": "Sperrliste",
        "spam": "Spam",
        "duplicate": "Duplikat",
        "author.daily_cap": "Tageslimit",
        "language": "Sprache",
        "relevance": "Kampagnenbezug",
        "model": "Modell",
    },
    "en": {
        "author.blocked": "Blocked account",
        "author.partner": "Partner account",
        "blocklist": "Blocklist",
        "spam": "Spam",
        "duplicate": "Duplicate",
        "author.daily_cap": "Daily cap",
        "language": "Language",
        "relevance": "Campaign relevance",
        "model": "Model",
    },
}
LABELS = {
    "de": {"result": "Ergebnis", "rule": "Regel", "verdict": "Urteil", "reason": "Begründung", "evidence": "Fundstellen", "none": "keine Einwände", "score": "Wahrscheinlichkeit echt (Modell)"},
    "en": {"result": "Result", "rule": "Rule", "verdict": "Verdict", "reason": "Reason", "evidence": "Evidence", "none": "no objection", "score": "Probability genuine (model)"},
}


def _language(language: str) -> str:
    return "en" if language == "en" else "de"


def format_outcome(outcome: Outcome, language: str = "de") -> str:
    """A plain-text table: the final decision, then one row per rule with reason and evidence."""
    lang = _language(language)
    labels, decisions, names = LABELS[lang], DECISIONS[lang], RULE_NAMES[lang]
    verdict = outcome.verdict
    lines = [f"{labels['result']}: {decisions[verdict.decision].upper()} ({verdict.rule}) – {verdict.reason(lang)}"]
    if outcome.score is not None:
        lines.append(f"  {labels['score']}: {outcome.score:.2f}")
    if verdict.evidence:
        lines.append(f"  {labels['evidence']}: " + " | ".join(verdict.evidence))
    rows = [(labels["rule"], labels["verdict"], labels["reason"])]
    details: list[str | None] = [None]
    for check in outcome.checks:
        name = names.get(check.rule, check.rule)
        if check.verdict is None:
            rows.append((name, "–", labels["none"]))
            details.append(None)
        else:
            v = check.verdict
            rows.append((name, decisions[v.decision], f"{v.reason(lang)} [{v.rule}]"))
            details.append(" | ".join(v.evidence) if v.evidence else None)
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    lines.append("")
    for row, detail in zip(rows, details):
        lines.append(f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]}".rstrip())
        if detail:
            lines.append(f"{'':<{widths[0]}}  {'':<{widths[1]}}  {labels['evidence']}: {detail}")
    return "\n".join(lines)


def outcome_json(key: str, outcome: Outcome, language: str = "de") -> dict[str, Any]:
    """`{"id", "decision", "rule", "reason", "evidence", "score"}` for one post (a dry-run output line)."""
    verdict = outcome.verdict
    return {
        "id": key,
        "decision": verdict.decision,
        "rule": verdict.rule,
        "reason": verdict.reason(_language(language)),
        "evidence": list(verdict.evidence),
        "score": outcome.score,
    }
