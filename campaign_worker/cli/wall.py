"""CLI command `wall export`: the public wall as a static site for the campaign's own web space."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, console, state

wall_app = typer.Typer(help="Öffentliche Wall / public wall.", no_args_is_help=True)


@wall_app.command("export")
def wall_export(
    ctx: typer.Context,
    target: Path = typer.Argument(..., help="Zielordner; je Kampagne ein Unterordner / target folder, one subfolder per campaign."),
    campaign: Optional[List[str]] = CampaignOpt,
) -> None:
    """Wall als statische Website schreiben (HTML, Bilder, Feeds) / write the wall as a static site."""
    from campaign_worker.publish.wall import export_campaign

    ws = state(ctx).workspace()
    for c in ws.selected(campaign):
        if not c.wall.enabled:
            console.print(f"{c.slug}: Wall ausgeschaltet ([wall] enabled = false), nichts geschrieben", markup=False)
            continue
        counts = export_campaign(ws, c, target)
        console.print(f"{c.slug}: {counts['posts']} Beiträge, {counts['pages']} Seiten, {counts['pictures']} Bilder → "
                      f"{(target / c.slug / 'index.html').resolve()}", markup=False)


def register(app: typer.Typer) -> None:
    app.add_typer(wall_app, name="wall")
