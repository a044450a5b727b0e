"""The command line: a thin layer over the library. `main(argv) -> int` runs it in-process.

Each area registers its commands from its own module. Errors are translated once, here: a
`CampaignWorkerError` (configuration, unknown campaign, bad input, a queue or mail problem)
and an unusable database print one message and return exit code 2; nothing prints a
traceback unless `--debug` is given. Commands import what they use inside their functions,
so `--help` and `config check` start without the database or web stack.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from campaign_worker import __version__
from campaign_worker.cli import collect, demo, digest, drafts, importing, moderate, privacy, queue, scheduler, wall, web
from campaign_worker.cli.common import State, UserError, console, err_console, state
from campaign_worker.errors import CampaignWorkerError

app = typer.Typer(
    name="campaign-worker",
    help="Sammelt, moderiert und verarbeitet Kampagnen-Beiträge. / Collects, moderates and re-publishes campaign posts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
config_app = typer.Typer(help="Konfiguration prüfen / check configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Datenbank / database.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")

@app.callback()
def _root(
    ctx: typer.Context,
    home: Optional[str] = typer.Option(None, "--home", envvar="CAMPAIGN_WORKER_HOME", help="Projektordner / project folder."),
    debug: bool = typer.Option(False, "--debug", help="Tracebacks und Debug-Logs / tracebacks and debug logs."),
) -> None:
    import logging

    ctx.obj = State(home, debug)
    ctx.call_on_close(ctx.obj.close)
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def version() -> None:
    """Version anzeigen / show the version."""
    console.print(f"campaign-worker {__version__}")


@config_app.command("check")
def config_check(ctx: typer.Context) -> None:
    """Alle Kampagnendateien prüfen / validate every campaign file."""
    from campaign_worker.config.campaigns import check_campaigns
    from campaign_worker.scheduler.jobs import check_jobs

    home = state(ctx).home
    campaigns, errors = check_campaigns(home)
    for slug, campaign in sorted(campaigns.items()):
        console.print(f"[green]ok[/green]  {slug}: {campaign.name} ({len(campaign.audiences)} Zielgruppen, {len(campaign.sources)} Quellen)")
    if errors:
        for error in errors:
            err_console.print(error.render(), markup=False, highlight=False)
        raise typer.Exit(2)
    if not campaigns:
        raise UserError(f"Keine Kampagnen gefunden / no campaigns found in {home.root / 'config' / 'campaigns'}")
    jobs, job_errors = check_jobs(home)
    for job in jobs:
        console.print(f"[green]ok[/green]  job {job.name}: {job.describe()}")
    if job_errors:
        for error in job_errors:
            err_console.print(error.render(), markup=False, highlight=False)
        raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Datenbankschema aktualisieren / apply schema migrations."""
    from campaign_worker.store.db import make_engine
    from campaign_worker.store.migrate import upgrade

    home = state(ctx).home
    home.ensure_dirs()
    engine = make_engine(home.database_url)
    before, after = upgrade(engine)
    engine.dispose()
    if before == after:
        console.print(f"Schema ist aktuell / schema is up to date ({after}).")
    else:
        console.print(f"Schema aktualisiert / schema upgraded: {before or 'leer/empty'} → {after}")


# Typer ≥ 0.29 carries its own copy of click; before, these names were click's own classes.
_CLICK_ERRORS = tuple(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")

# Commands first, then groups, each in this order, is the order `--help` lists them in.
for area in (importing, moderate, demo, queue, drafts, digest, wall, collect, web, scheduler, privacy):
    area.register(app)


def _database_error(exc: Exception) -> str | None:
    """The one-line reason when `exc` says the database cannot be used, else None."""
    # Looked up, not imported: commands that never open the database never load SQLAlchemy.
    sqlalchemy = sys.modules.get("sqlalchemy")
    if sqlalchemy is None or not isinstance(exc, sqlalchemy.exc.DBAPIError):
        return None
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)


def _database_hint(reason: str) -> str:
    """What to do, named after the kind of problem (full or read-only disk, or the URL/file)."""
    text = reason.lower()
    if "disk is full" in text or "no space" in text:
        return "Der Datenträger der Datenbank ist voll: Platz schaffen, dann erneut ausführen. / The database's disk is full."
    if "readonly" in text or "read-only" in text:
        return ("Die Datenbank ist schreibgeschützt (Dateirechte oder schreibgeschützt eingehängter Datenträger). / "
                "The database is read-only (file permissions or a read-only mount).")
    return "Prüfen Sie CAMPAIGN_WORKER_DATABASE_URL bzw. die Datei in <home>/data / check the URL or file."


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit code instead of exiting."""
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = command.main(args=args, prog_name="campaign-worker", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        err_console.print("Abgebrochen / aborted.")
        return 130
    except _CLICK_ERRORS as exc:
        exc.show()
        return exc.exit_code
    except CampaignWorkerError as exc:
        if debug:
            raise
        render = getattr(exc, "render", None)  # a ConfigError lists every problem of its file
        err_console.print(render() if render else f"Fehler / error: {exc}", markup=False, highlight=False)
        return 2
    except KeyboardInterrupt:
        err_console.print("Unterbrochen / interrupted.")
        return 130
    except Exception as exc:
        reason = None if debug else _database_error(exc)
        if reason is None:
            raise
        err_console.print(f"Datenbank nicht nutzbar / database unavailable: {reason}\n{_database_hint(reason)}",
                          markup=False, highlight=False)
        return 2


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
