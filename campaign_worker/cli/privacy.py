"""CLI commands `privacy purge|erase|export|record`: retention, erasure, access, the Art. 30 record."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, console, print_json, state

privacy_app = typer.Typer(help="Datenschutz: Löschfristen, Löschung, Auskunft / privacy.", no_args_is_help=True)

AuthorOpt = typer.Option(..., "--author", help="Benutzername der Person, mit oder ohne @ / the person's handle.")
PlatformOpt = typer.Option(None, "--platform", help="Nur diese Plattform, z. B. instagram; ohne: alle / one platform only.")


def _counts_line(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items() if isinstance(v, int) and v) or "nichts / nothing"


@privacy_app.command("purge")
def privacy_purge(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="Nur zählen, nichts löschen / count only."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Löschfristen anwenden (abgelehnt 14, offen 30 Tage, …) / apply the retention rules."""
    from campaign_worker.privacy.retention import apply_retention

    ws = state(ctx).workspace()
    result = apply_retention(ws, campaign, dry_run=dry_run)
    if as_json:
        print_json(result)
        return
    for slug, counts in result["campaigns"].items():
        verb = "würde löschen / would remove" if dry_run else "gelöscht / removed"
        console.print(f"{slug}: {verb}: {_counts_line(counts)}", markup=False)


@privacy_app.command("erase")
def privacy_erase(ctx: typer.Context, author: str = AuthorOpt, platform: Optional[str] = PlatformOpt) -> None:
    """Eine Person vollständig löschen und künftig nicht mehr sammeln / erase a person (Art. 17)."""
    from campaign_worker.privacy.erase import erase_author

    ws = state(ctx).workspace()
    result = erase_author(ws, author, platform, requested_by="cli")
    resumed = " (unterbrochene Löschung abgeschlossen / interrupted erasure completed)" if result.resumed else ""
    console.print(f"Löschung {result.erasure_id} abgeschlossen / erasure done{resumed}: {_counts_line(result.counts)}", markup=False)
    console.print("Die Person steht auf der Sperrliste und wird nicht erneut gesammelt / "
                  "the person is on the suppression list and will not be collected again.", markup=False)


@privacy_app.command("export")
def privacy_export(
    ctx: typer.Context,
    author: str = AuthorOpt,
    platform: Optional[str] = PlatformOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="ZIP-Datei; ohne: data/output/auskunft/<name>.zip"),
) -> None:
    """Auskunft: alles Gespeicherte über eine Person als ZIP / access export (Art. 15)."""
    from campaign_worker.privacy.access import export_author
    from campaign_worker.privacy.erase import checked_subject, export_folder, export_name
    from campaign_worker.timeutil import utcnow

    ws = state(ctx).workspace()
    handle, platform = checked_subject(author, platform)
    target = output or export_folder(ws) / export_name(handle, utcnow())
    counts = export_author(ws, handle, platform, target)
    console.print(f"{target}: {counts['posts']} Beiträge, {counts['media_files']} Bilder, "
                  f"{counts['decisions']} Entscheidungen, {counts['drafts']} Entwürfe", markup=False)


@privacy_app.command("record")
def privacy_record(
    ctx: typer.Context,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Markdown-Datei; ohne: docs/verarbeitungsverzeichnis.md"),
) -> None:
    """Verzeichnis von Verarbeitungstätigkeiten aus der Konfiguration / Art. 30 record."""
    from campaign_worker.privacy.record import write_record

    ws = state(ctx).workspace()
    console.print(f"Verzeichnis geschrieben / record written: {write_record(ws, output)}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(privacy_app, name="privacy")
