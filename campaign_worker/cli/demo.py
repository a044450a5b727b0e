"""CLI commands `stats` (counts per campaign and state) and `demo` (the whole pipeline on the sample)."""

from __future__ import annotations

import typer

from campaign_worker.cli.common import console, print_json, progress, state, tracker
from campaign_worker.cli.importing import print_import


def stats_cmd(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Zahlen je Kampagne und Zustand / counts per campaign and state."""
    from campaign_worker.stats import collect_stats

    data = collect_stats(state(ctx).workspace())
    if as_json:
        print_json(data)
    else:
        _print_stats(data)


def _print_stats(data: dict) -> None:
    from rich.table import Table

    table = Table("Kampagne", "Beiträge", "neu", "offen", "freigegeben", "abgelehnt", "später", "Entwürfe", "Überblicke")
    for slug, c in data["campaigns"].items():
        s = c["states"]
        table.add_row(slug, str(c["posts"]), *(str(s.get(k, 0)) for k in ("new", "pending", "approved", "rejected", "later")),
                      str(sum(c["drafts"].values())), str(c["digests"]))
    console.print(table)
    console.print(f"Beiträge gesamt: {data['posts']} · Bilder: {data['media']['ok']} ok, {data['media']['rejected']} abgelehnt")


def demo_cmd(ctx: typer.Context) -> None:
    """Die ganze Pipeline mit den mitgelieferten Beispieldaten / the whole pipeline on the bundled sample."""
    from campaign_worker.pipeline import run_demo
    from campaign_worker.stats import collect_stats

    ws = state(ctx).workspace()
    with progress() as bar:
        report = run_demo(ws, on_progress=tracker(bar, "Bilder"))
    for slug, summary in report.imports.items():
        print_import(slug, summary)
    console.print(f"Moderation: {report.moderation.get('approved', 0)} freigegeben, {report.moderation.get('rejected', 0)} abgelehnt, "
                  f"{report.moderation.get('pending', 0)} zur Prüfung")
    console.print(f"Entwürfe: {report.drafts.get('created', 0)} neu, {report.drafts.get('kept', 0)} schon vorhanden")
    console.print("Wochenüberblicke:")
    for rendered in report.digests:
        console.print(f"  {rendered.campaign} Woche ab {rendered.week_start:%d.%m.%Y}: {rendered.html_path}", markup=False)
    _print_stats(collect_stats(ws))
    console.print(f"Datenbank: {ws.home.database_url}", markup=False)
    home = f"--home {ws.home.root}"
    console.print(f"Weiter / next:\n  campaign-worker {home} queue list --campaign siegen\n"
                  f"  campaign-worker {home} users add maria --role moderator && campaign-worker {home} serve\n"
                  f"  campaign-worker {home} wall export wall-site   # öffentliche Wall / public wall (also /wall/siegen in serve)",
                  markup=False)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_cmd)
    app.command("demo")(demo_cmd)
