"""CLI command `moderate`: run the rules, explain one post, or try them on a file (`--dry-run`)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, UserError, console, state

if TYPE_CHECKING:
    from campaign_worker.workspace import Workspace


def moderate_cmd(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    recheck: bool = typer.Option(False, "--recheck", help="Auch von Regeln entschiedene Beiträge neu prüfen (nie menschliche Entscheidungen)."),
    explain: Optional[str] = typer.Option(None, "--explain", help="Urteil jeder Regel für einen Beitrag zeigen / explain one post."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Nur prüfen, nichts speichern / store nothing."),
    input_file: Optional[Path] = typer.Option(None, "--input", help="JSON Lines mit id, caption, author[, hashtags, image] (für --dry-run)."),
    language: str = typer.Option("de", "--lang", help="de oder en."),
    auto_approve: Optional[str] = typer.Option(
        None, "--auto-approve", metavar="LEVEL",
        help="Vertrauensstufe nur für --dry-run ausprobieren / try a trust level: none, partners, confident, all."),
) -> None:
    """Automatische Regeln anwenden / run the moderation rules."""
    ws = state(ctx).workspace()
    if auto_approve is not None:
        from campaign_worker.config.campaigns import TRUST_LEVELS

        if auto_approve not in TRUST_LEVELS:
            raise UserError(f"--auto-approve {auto_approve!r}: erlaubt sind / allowed are {', '.join(TRUST_LEVELS)}")
        if not dry_run:
            raise UserError("--auto-approve gilt nur mit --dry-run; dauerhaft: moderation.auto_approve in der Kampagnendatei / "
                            "only with --dry-run; to keep it, set moderation.auto_approve in the campaign file")
    if dry_run or input_file:
        if not (dry_run and input_file and campaign and len(campaign) == 1):
            raise UserError("--dry-run braucht --input DATEI und genau eine --campaign / needs --input FILE and one --campaign")
        _dry_run(ws, campaign[0], input_file, auto_approve)
        return
    if explain:
        if not campaign or len(campaign) != 1:
            raise UserError("--explain braucht genau eine --campaign / needs exactly one --campaign")
        _explain(ws, campaign[0], explain, language)
        return
    from campaign_worker.moderation.job import moderate

    result = moderate(ws, campaign, recheck=recheck)
    for slug, counts in result["campaigns"].items():
        # With --recheck most decisions stay as they were: say so, or "0 zur Prüfung" reads as an empty queue.
        unchanged = f", {counts['unchanged']} unverändert" if counts["unchanged"] else ""
        console.print(f"{slug}: {counts['evaluated']} geprüft – {counts['approved']} freigegeben, {counts['rejected']} abgelehnt, "
                      f"{counts['pending']} zur Prüfung{unchanged}")


def _explain(ws: Workspace, slug: str, ref: str, language: str) -> None:
    from campaign_worker.moderation.explain import format_outcome
    from campaign_worker.moderation.job import evaluate_post
    from campaign_worker.moderation.queue import find_post_id
    from campaign_worker.store.db import reading

    c = ws.campaign(slug)
    with reading(ws.engine) as connection:
        post_id = find_post_id(connection, ref)
    try:
        _, outcome = evaluate_post(ws, c, post_id)
    except LookupError as exc:
        raise UserError(str(exc)) from None
    console.print(format_outcome(outcome, language), markup=False, highlight=False)


def _dry_run(ws: Workspace, slug: str, input_file: Path, auto_approve: str | None = None) -> None:
    import json

    from campaign_worker.moderation.audiences import match_audiences
    from campaign_worker.moderation.engine import Moderator
    from campaign_worker.moderation.explain import outcome_json
    from campaign_worker.moderation.verdict import Candidate
    from campaign_worker.post import MAX_CAPTION_CHARS, clean_text, extract_hashtags
    from campaign_worker.timeutil import as_utc

    c = ws.campaign(slug)
    moderator = Moderator(c, ws.home, auto_approve=auto_approve)
    try:
        # JSON Lines ends records at "\n" only; U+2028 and friends may stand inside strings.
        lines = input_file.read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{input_file}: nicht lesbar / cannot read: {exc}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or "id" not in item:
                raise ValueError("ein JSON-Objekt mit 'id' erwartet / expected an object with 'id'")
            caption = clean_text(item.get("caption"), MAX_CAPTION_CHARS)
            if not isinstance(item.get("author") or "", str):
                raise ValueError("'author' muss Text sein / 'author' must be a string")
            posted = item.get("posted_at")
            candidate = Candidate(
                key=str(item["id"]), caption=caption, author=(item.get("author") or None),
                hashtags=tuple(item.get("hashtags") or extract_hashtags(caption)),
                posted_at=as_utc(datetime.fromisoformat(posted)) if posted else as_utc(datetime.now()),
                image_hashes=tuple(filter(None, [item.get("image")])),
            )
        except (ValueError, TypeError) as exc:
            raise UserError(f"{input_file}, Zeile {number}: {exc}") from None
        line = outcome_json(candidate.key, moderator.evaluate(candidate))
        line["audiences"] = [match.key for match in match_audiences(c, candidate.caption, candidate.hashtags)]
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


def train_cmd(
    data: Optional[list[Path]] = typer.Option(
        None, "--data",
        help="JSON Lines mit caption, campaign, label[, author], mehrfach möglich (Standard: dev.jsonl und extra/*.jsonl in tests/data/moderation)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Zieldatei (Standard: das Modell im Paket) / output file."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Zufallsstartwert / random seed (gleich → gleiche Datei)."),
) -> None:
    """Moderationsmodell neu trainieren / retrain the moderation model."""
    from campaign_worker.moderation.model import MODEL_PATH
    from campaign_worker.moderation.train import SEED, TrainingDataError, main, training_paths

    sources = list(data or training_paths())
    for source in sources:
        if not source.is_file():
            raise UserError(f"{source}: Trainingsdaten nicht gefunden / training data not found (--data DATEI)")
    args = [arg for source in sources for arg in ("--data", str(source))]
    try:
        main(args + ["--out", str(out or MODEL_PATH), "--seed", str(SEED if seed is None else seed)])
    except TrainingDataError as exc:  # names its file already
        raise UserError(str(exc)) from None
    except (ValueError, KeyError) as exc:
        raise UserError(f"{', '.join(map(str, sources))}: {exc}") from None


def register(app: typer.Typer) -> None:
    app.command("moderate")(moderate_cmd)
    app.command("moderate-train")(train_cmd)
