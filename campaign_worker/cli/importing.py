"""CLI command `import-archive`: read a folder written by instaloader into a campaign."""

from __future__ import annotations

from pathlib import Path

import typer

from campaign_worker.cli.common import UserError, console, err_console, progress, state, tracker


def import_archive_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Ordner, den instaloader geschrieben hat / folder written by instaloader."),
    campaign: str = typer.Option(..., "--campaign", "-c", help="Kampagne / campaign slug."),
    source_id: str = typer.Option("archive", "--source-id", help="Name der Quelle in der Datenbank / source name."),
) -> None:
    """Einen instaloader-Download-Ordner importieren (idempotent) / import an instaloader folder."""
    from campaign_worker.sources.archive import import_archive

    ws = state(ctx).workspace()
    ws.campaign(campaign)
    if not path.is_dir():
        raise UserError(f"Ordner nicht gefunden / folder not found: {path}")
    ws.media.remove_leftovers()
    with progress() as bar:
        summary = import_archive(ws, campaign, path, source_id=source_id, on_progress=tracker(bar, "Bilder"))
    print_import(campaign, summary)


def print_import(campaign: str, summary) -> None:
    """One line of counts for an import, then its first problems (also used by `demo`)."""
    console.print(
        f"{campaign}: {summary.posts_new} neue Beiträge, {summary.posts_seen} schon bekannt, "
        f"{summary.media_ok} Bilder gespeichert, {summary.media_rejected} abgelehnt, {summary.media_failed} fehlgeschlagen"
    )
    notes = summary.notes("de")
    if notes:
        console.print("  beim Einlesen bereinigt: " + ", ".join(notes), markup=False)
    for problem in summary.problems[:20]:
        err_console.print(f"  ! {problem}", markup=False)
    if len(summary.problems) > 20:
        err_console.print(f"  … und {len(summary.problems) - 20} weitere Probleme")


def register(app: typer.Typer) -> None:
    app.command("import-archive")(import_archive_cmd)
