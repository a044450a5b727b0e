"""CLI commands `drafts compose|list`: texts for approved posts, shown or exported."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, UserError, console, print_json, state

drafts_app = typer.Typer(help="Entwürfe / drafts.", no_args_is_help=True)


@drafts_app.command("compose")
def drafts_compose(ctx: typer.Context, campaign: Optional[List[str]] = CampaignOpt,
                   refresh: bool = typer.Option(False, "--refresh", help="Unbearbeitete Entwürfe neu erzeugen (nach Vorlagenänderung).")) -> None:
    """Entwürfe aus freigegebenen Beiträgen erzeugen / compose drafts."""
    from campaign_worker.publish.drafts import compose

    result = compose(state(ctx).workspace(), campaign, refresh=refresh)
    for slug, counts in result["campaigns"].items():
        console.print(f"{slug}: {counts['created']} neue Entwürfe, {counts['refreshed']} aktualisiert, {counts['kept']} unverändert "
                      f"({counts['posts']} freigegebene Beiträge)")


@drafts_app.command("list")
def drafts_list(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    audience: Optional[str] = typer.Option(None, "--audience"),
    channel: Optional[str] = typer.Option(None, "--channel"),
    status: Optional[str] = typer.Option(None, "--status", help="draft|approved|discarded"),
    output: str = typer.Option("table", "--format", help="table|json|csv"),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000),
) -> None:
    """Entwürfe zeigen oder exportieren / list or export drafts."""
    from campaign_worker.publish.drafts import DRAFT_FIELDS, list_drafts
    from campaign_worker.store.db import reading

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if output not in ("table", "json", "csv"):
        raise UserError("--format: table, json oder csv")
    with reading(ws.engine) as connection:
        rows = list_drafts(connection, c.slug, audience=audience, channel=channel, status=status, limit=limit)
    if output == "json":
        print_json(rows)
    elif output == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=DRAFT_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "hashtags": " ".join(row["hashtags"]), "problems": " | ".join(row["problems"])})
        sys.stdout.write(buffer.getvalue())
    else:
        from rich.table import Table

        table = Table("Nr.", "Beitrag", "Zielgruppe", "Kanal", "Status", "Anfang", "Hinweise")
        for r in rows:
            table.add_row(str(r["id"]), str(r["post_id"]), r["audience"], r["channel"], r["status"], r["text"].split("\n")[0][:50],
                          str(len(r["problems"])))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(drafts_app, name="drafts")
