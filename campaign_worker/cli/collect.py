"""CLI commands for collecting: `collect`, `sources` and `instagram session`."""

from __future__ import annotations

from datetime import datetime, timezone
import re
from pathlib import Path
from typing import List, Optional

import typer

from campaign_worker.cli.common import CampaignOpt, UserError, console, err_console, state

instagram_app = typer.Typer(help="Instagram-Anmeldung / Instagram login.", no_args_is_help=True)

STATUS_STYLE = {"ok": "green", "degraded": "yellow", "budget_exhausted": "yellow", "stopped": "yellow",
               "rate_limited": "yellow"}


def _status_cell(status: str | None) -> str:
    if not status:
        return "–"
    style = STATUS_STYLE.get(status, "red")
    return f"[{style}]{status}[/{style}]"


def _when(moment: datetime | None) -> str:
    from campaign_worker.sources.status import format_time

    if moment is None:
        return "–"
    return format_time(moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc))  # SQLite drops the zone


def collect_cmd(
    ctx: typer.Context,
    campaign: Optional[List[str]] = CampaignOpt,
    source: Optional[str] = typer.Option(None, "--source", "-s", help="Nur diese Quelle (auch wenn abgeschaltet) / only this source."),
) -> None:
    """Beiträge aus allen Quellen sammeln / collect posts from every source."""
    from rich import box
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from campaign_worker.sources.collect import collect

    ws = state(ctx).workspace()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console,
                  transient=True, disable=not err_console.is_terminal) as progress:
        task = progress.add_task("Sammeln / collecting …", total=None)

        def show(event: str, result) -> None:
            if event == "start":
                label = f"#{result.hashtag}" if result.hashtag else "Archiv"
                progress.update(task, description=f"{result.campaign}/{result.source_id} {label} …")
            elif event == "done" and err_console.is_terminal:
                progress.console.print(f"  {result.campaign}/{result.source_id} {result.hashtag or ''}: "
                                       f"{_status_cell(result.status)}, {result.posts_new} neu / new")

        summary = collect(ws, campaign or None, source=source, progress=show)
    table = Table(title="Sammeln / collect", box=box.SIMPLE_HEAD)
    table.add_column("Quelle", overflow="fold")
    table.add_column("Hashtag", overflow="fold")
    table.add_column("Status", no_wrap=True)
    for column in ("Neu", "Bek.", "Bilder", "Abgel.", "Anfr."):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("Nicht vor", overflow="fold")
    for result in summary.sources:
        table.add_row(f"{result.campaign}/{result.source_id}", result.hashtag or "–", _status_cell(result.status),
                      str(result.posts_new), str(result.posts_seen), str(result.media_ok), str(result.media_rejected),
                      str(result.requests), _when(result.not_before))
    if not summary.sources:
        console.print("Keine eingeschaltete Quelle / no enabled source. Quellen stehen unter [[sources]] in "
                      "config/campaigns/<kampagne>.toml; `sources` zeigt alle / lists them all.", markup=False)
        return
    console.print(table)
    for result in summary.sources:
        if result.status != "ok" or result.problems:
            console.print(f"{result.key} [{result.status}]: {result.message}", markup=False, highlight=False)
        if result.notes():
            console.print(f"{result.key} – beim Einlesen bereinigt: " + ", ".join(result.notes()), markup=False, highlight=False)
    counts = summary.as_counts()
    console.print(f"{counts['posts_new']} neue Beiträge / new posts, {counts['requests']} Anfragen / requests, "
                  f"{counts['failures']} Fehler / failures")
    if counts["failures"]:
        raise typer.Exit(1)


def sources_cmd(
    ctx: typer.Context,
    campaign: Optional[List[str]] = typer.Option(None, "--campaign", "-c", help="Kampagne / campaign slug."),
) -> None:
    """Quellen mit letztem Status und Wartezeit zeigen / list sources with last status and not-before time."""
    from rich import box
    from rich.table import Table

    from campaign_worker.sources.collect import source_states
    from campaign_worker.sources.status import STATUSES

    ws = state(ctx).workspace()
    table = Table(title="Quellen / sources", box=box.SIMPLE_HEAD)
    for column in ("Quelle", "Typ", "Hashtag"):
        table.add_column(column, overflow="fold")
    table.add_column("Status", no_wrap=True)
    for column in ("Letzter Lauf", "Nicht vor"):
        table.add_column(column, overflow="fold")
    table.add_column("Anfr.", justify="right", no_wrap=True)
    table.add_column("Neu", justify="right", no_wrap=True)
    messages = []
    for camp, src, rows in source_states(ws, campaign or None):
        name = f"{camp.slug}/{src.id}" + ("" if src.enabled else " (aus/off)")
        if not rows:
            table.add_row(name, src.type, "–", "noch nie / never", "–", "–", "–", "–")
        for row in rows:
            hashtag = row["key"].rsplit("/", 1)[1]
            table.add_row(name, src.type, "–" if hashtag == "*" else hashtag, _status_cell(row["last_status"]),
                          _when(row["last_run_at"]), _when(row["not_before"]), str(row["requests_used"]), str(row["posts_new"]))
            info = STATUSES.get(row["last_status"] or "")
            if info is not None and (info.failure or info.code == "degraded"):
                messages.append(f"{row['key']} [{row['last_status']}]: {row['last_message']}")
    console.print(table)
    for message in messages:
        console.print(message, markup=False, highlight=False)


@instagram_app.command("session")
def instagram_session_cmd(
    ctx: typer.Context,
    username: str = typer.Option(..., "--username", "-u", help="Instagram-Konto / account name."),
    file: Path = typer.Option(..., "--file", "-f", help="Sitzungsdatei von `instaloader --login` / session file."),
    check: bool = typer.Option(True, "--check/--no-check", help="Mit einer Anfrage prüfen / verify with one request."),
) -> None:
    """Eine instaloader-Sitzung einlesen und prüfen (kein Passwort) / import and check an instaloader session."""
    from campaign_worker.config.campaigns import USERNAME_RE
    from campaign_worker.sources import instagram
    from campaign_worker.sources.http import RequestBudget
    from campaign_worker.sources.status import SourceFailure

    if not re.match(USERNAME_RE, username):
        raise UserError(f"kein gültiger Instagram-Name / not a valid Instagram name: {username!r}")
    home = state(ctx).home
    cookies = instagram.read_session_file(file.expanduser())
    if check:
        client = instagram.InstagramClient(instagram.LoadedSession(username, cookies, ""), RequestBudget(2))
        try:
            owner = instagram.check_login(client)
        except SourceFailure as failure:
            if failure.status not in ("network", "rate_limited"):
                raise UserError(f"Sitzung nicht gespeichert / session not saved: {failure.message()}") from None
            err_console.print(f"Prüfung nicht möglich, Sitzung trotzdem gespeichert / could not check, saved anyway: "
                              f"{failure.message()}", markup=False)
            owner = username
        finally:
            client.loader.close()
        if owner is None:
            raise UserError("Sitzung ist nicht (mehr) angemeldet – neu mit `instaloader --login` anlegen / "
                            "session is not logged in – create it again with `instaloader --login`")
        if owner.lower() != username.lower():
            raise UserError(f"Sitzung gehört zu {owner!r}, nicht zu {username!r} / session belongs to {owner!r}")
    home.ensure_dirs()
    path = instagram.save_session(home, username, cookies)
    console.print(f"Sitzung für {username} gespeichert / session saved: {path}")
    console.print("Pausierte Quellen (Checkpoint, Anmeldung) laufen beim nächsten `collect` wieder / "
                  "paused sources run again on the next `collect`.")


def register(app: typer.Typer) -> None:
    app.command("collect")(collect_cmd)
    app.command("sources")(sources_cmd)
    app.add_typer(instagram_app, name="instagram")
