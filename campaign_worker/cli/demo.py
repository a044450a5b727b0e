"""CLI commands `stats` (counts per campaign and state) and `demo` (the whole pipeline on the sample)."""

from __future__ import annotations

import shlex

import typer

from campaign_worker.cli.common import console, print_json, program, progress, state, tracker
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
        console.print(f"  {rendered.campaign} {rendered.title}: {rendered.html_path}", markup=False)
    data = collect_stats(ws)
    _print_stats(data)
    console.print(f"Datenbank: {ws.home.database_url}", markup=False)
    busiest = max(data["campaigns"].items(), key=lambda item: item[1]["states"].get("pending", 0), default=(None, None))[0]
    start = f"{program()} --home {shlex.quote(str(ws.home.root))}"
    console.print(f"Weiter / next:\n  {start} queue list --campaign {busiest or 'siegen'}\n"
                  f"  {start} users add maria --role moderator && {start} serve\n"
                  f"  {start} wall export wall-site   # öffentliche Wall / public wall (also /wall/<kampagne> in serve)", markup=False)


def register(app: typer.Typer) -> None:
    app.command("stats")(stats_cmd)
    app.command("demo")(demo_cmd)
