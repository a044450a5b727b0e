"""CLI commands `drafts compose|list|export|crops|ready|rights|audience`: texts for approved posts, checked, handed over."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, UserError, console, print_json, state

drafts_app = typer.Typer(help="Entwürfe / drafts.", no_args_is_help=True)


@drafts_app.command("compose")
def drafts_compose(ctx: typer.Context, campaign: Optional[List[str]] = CampaignOpt,
                   refresh: bool = typer.Option(False, "--refresh", help="Unbearbeitete Entwürfe neu erzeugen (nach Vorlagenänderung)."),
                   audiences: str = typer.Option("primary", "--audiences", help="primary (ein Entwurf je Beitrag und Kanal) | all"),
                   crops: bool = typer.Option(True, "--crops/--no-crops", help="Bildzuschnitte gleich mit erzeugen (Standard).")) -> None:
    """Entwürfe aus freigegebenen Beiträgen erzeugen, mit Bildzuschnitten / compose drafts with crops."""
    from campaign_worker.publish.drafts import compose

    result = compose(state(ctx).workspace(), campaign, refresh=refresh, audiences=audiences, crops=crops)
    for slug, counts in result["campaigns"].items():
        removed = f", {counts['removed']} entfernt (Zielgruppe von Hand geändert)" if counts.get("removed") else ""
        console.print(f"{slug}: {counts['created']} neue Entwürfe, {counts['refreshed']} aktualisiert, {counts['kept']} unverändert"
                      f"{removed}, {counts.get('cropped', 0)} mit Bildzuschnitten ({counts['posts']} freigegebene Beiträge)")


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
    from campaign_worker.publish.drafts import DRAFT_FIELDS, list_drafts, status_label
    from campaign_worker.publish.export import guard_cell
    from campaign_worker.store.db import reading

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    if output not in ("table", "json", "csv"):
        raise UserError("--format: table, json oder csv")
    with reading(ws.engine) as connection:
        rows = list_drafts(connection, c.slug, audience=audience, channel=channel, status=status, limit=limit)
    for row in rows:
        row["slot_at"] = row["slot_at"].astimezone(c.tz).isoformat() if row["slot_at"] else None
    if output == "json":
        print_json(rows)
    elif output == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(DRAFT_FIELDS)
        for row in rows:
            values = {**row, "hashtags": " ".join(row["hashtags"]), "problems": " | ".join(row["problems"])}
            writer.writerow([guard_cell(values[f]) for f in DRAFT_FIELDS])
        sys.stdout.write(buffer.getvalue())
    else:
        from rich.table import Table

        table = Table("Nr.", "Beitrag", "Zielgruppe", "Kanal", "Status", "Geplant", "Anfang", "Hinweise")
        for r in rows:
            table.add_row(str(r["id"]), str(r["post_id"]), r["audience"], r["channel"], status_label(r["status"]),
                          (r["slot_at"] or "")[:16].replace("T", " "), r["text"].split("\n")[0][:50], str(len(r["problems"])))
        console.print(table)


@drafts_app.command("export")
def drafts_export(
    ctx: typer.Context,
    campaign: str = typer.Option(..., "--campaign", "-c"),
    fmt: str = typer.Option("csv", "--format", help="csv|json|ics|ayrshare|zip"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Datei; ohne: Standardausgabe (zip braucht --out)"),
) -> None:
    """Bereite Entwürfe mit geklärten Rechten übergeben / export ready drafts."""
    from campaign_worker.publish.export import render

    ws = state(ctx).workspace()
    if fmt == "zip" and out is None:
        raise UserError("--format zip braucht --out DATEI.zip / zip needs --out FILE.zip")
    data, result = render(ws, campaign, fmt)
    if out is None:
        sys.stdout.write(data.decode("utf-8"))
    else:
        out.write_bytes(data)
    message = f"{len(result.rows)} Entwürfe exportiert"
    if result.held_back:
        message += f", {len(result.held_back)} zurückgehalten (Bildrechte): " + ", ".join(str(i) for i, _ in result.held_back[:10])
    typer.echo(message, err=True)


@drafts_app.command("crops")
def drafts_crops(ctx: typer.Context, campaign: str = typer.Option(..., "--campaign", "-c"),
                 limit: int = typer.Option(1000, "--limit", min=1, max=100_000)) -> None:
    """Fehlende Bildzuschnitte neu erzeugen (compose macht sie sonst selbst; sRGB-JPEG ohne Metadaten) / re-make missing crops."""
    from campaign_worker.publish.draft_crops import make_draft_crops

    ws = state(ctx).workspace()
    done = make_draft_crops(ws, ws.campaign(campaign).slug, limit)
    console.print(f"{done} Entwürfe mit Bildzuschnitten unter data/crops/{campaign}/")


@drafts_app.command("ready")
def drafts_ready(ctx: typer.Context, draft_ids: List[int] = typer.Argument(..., help="Nummern der Entwürfe"),
                 user: str = typer.Option("cli", "--user")) -> None:
    """Entwürfe als bereit markieren (nur mit geklärten Bildrechten) / mark drafts ready."""
    from campaign_worker.publish.drafts import draft_row, edit_draft
    from campaign_worker.store.db import transaction

    ws = state(ctx).workspace()
    with transaction(ws.engine) as connection:
        for draft_id in draft_ids:
            if draft_row(connection, draft_id) is None:
                raise UserError(f"Entwurf {draft_id} gibt es nicht / no draft {draft_id}")
            edit_draft(connection, draft_id, user, status="approved", ws=ws)
    console.print(f"{len(draft_ids)} {'Entwurf' if len(draft_ids) == 1 else 'Entwürfe'} bereit")


@drafts_app.command("rights")
def drafts_rights(
    ctx: typer.Context,
    draft_id: int = typer.Argument(..., help="Nummer eines Entwurfs des Beitrags"),
    status: Optional[str] = typer.Option(None, "--status", help="requested|granted|declined"),
    people: Optional[bool] = typer.Option(None, "--people/--no-people", help="erkennbare Personen im Bild"),
    minors: Optional[bool] = typer.Option(None, "--minors/--no-minors", help="Minderjährige im Bild"),
    consent: Optional[bool] = typer.Option(None, "--consent/--no-consent", help="Einwilligung liegt vor"),
    user: str = typer.Option("cli", "--user"),
) -> None:
    """Bildrechte eines Beitrags zeigen oder eintragen; ohne Optionen: Anfrage-Text / picture rights."""
    from campaign_worker.publish.drafts import draft_blocker, draft_row, draft_source
    from campaign_worker.publish.rights import STATUS_LABELS, record, request_comment, rights_row
    from campaign_worker.store.db import transaction

    ws = state(ctx).workspace()
    with transaction(ws.engine) as connection:
        row = draft_row(connection, draft_id)
        if row is None:
            raise UserError(f"Entwurf {draft_id} gibt es nicht / no draft {draft_id}")
        if any(v is not None for v in (status, people, minors, consent)):
            record(connection, row["campaign"], row["post_id"], user, status=status, people=people, minors=minors, consent=consent)
        rights = rights_row(connection, row["campaign"], row["post_id"])
        reason = draft_blocker(ws, connection, row)
        source = draft_source(connection, row["post_id"])
    campaign = ws.campaign(row["campaign"])
    console.print(f"Beitrag {row['post_id']}: Rechte {STATUS_LABELS.get(rights['status'], rights['status'])}, "
                  f"Personen: {'ja' if rights['people'] else 'nein'}, Minderjährige: {'ja' if rights['minors'] else 'nein'}, "
                  f"Einwilligung: {'ja' if rights['consent'] else 'nein'}")
    console.print(f"[red]{reason}[/red]" if reason else "[green]Geklärt: darf geteilt werden.[/green]", highlight=False)
    if reason and rights["status"] in ("open", "requested"):
        du = row["audience"] != "alle" and campaign.audience(row["audience"]).tone == "du" if row["audience"] in {a.key for a in campaign.audiences} else False
        console.print("Anfrage zum Einfügen als Kommentar:\n" + request_comment(source.author_username if source else None,
                                                                                 campaign.drafts.terms_url, du), highlight=False)
    for entry in rights["history"]:
        console.print(f"  {entry['at']} {entry['by']}: " + ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("at", "by")))


@drafts_app.command("audience")
def drafts_audience(ctx: typer.Context, post_id: int = typer.Argument(..., help="Nummer des Beitrags"),
                    campaign: str = typer.Option(..., "--campaign", "-c"),
                    audiences: str = typer.Option(..., "--set", help="Zielgruppen, die erste zuerst, z. B. azubis,familien; "
                                                  "\"\" = wieder automatisch erkennen"),
                    user: str = typer.Option("cli", "--user")) -> None:
    """Zielgruppen eines Beitrags von Hand festlegen / override a post's audiences."""
    from campaign_worker.publish.audience_choice import set_audiences
    from campaign_worker.store.db import transaction

    ws = state(ctx).workspace()
    c = ws.campaign(campaign)
    with transaction(ws.engine) as connection:
        keys = set_audiences(connection, c, post_id, [k.strip() for k in audiences.split(",") if k.strip()], user)["audiences"]
    chosen = f"Zielgruppen {','.join(keys)}" if keys else "Zielgruppen wieder automatisch erkannt"
    console.print(f"Beitrag {post_id}: {chosen}; Entwürfe folgen dieser Wahl beim nächsten `drafts compose`")


def register(app: typer.Typer) -> None:
    app.add_typer(drafts_app, name="drafts")
