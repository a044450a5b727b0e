"""The command line: a thin layer over the library. `main(argv) -> int` runs it in-process.

Errors a user can fix (configuration, unknown campaign, bad input) print a message and
return exit code 2; nothing prints a traceback unless `--debug` is given.
"""

from __future__ import annotations

import logging
import sys
from typing import Optional

import click
import typer
from sqlalchemy.exc import DBAPIError as SQLAlchemyDBAPIError

from campaign_worker import __version__
from campaign_worker.config.campaigns import ConfigError, check_campaigns
from campaign_worker.store.db import DatabaseError
from campaign_worker.cli.common import State, UserError, console, err_console, state  # noqa: F401  (re-exported for area modules)

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
    from campaign_worker.scheduler.jobs import check_jobs

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


# Typer ≥ 0.29 carries its own copy of click; older versions raise click's classes.
_CLICK_ERRORS = tuple({c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"} | {click.ClickException})
_EXITS = tuple({typer.Exit, click.exceptions.Exit})
_ABORTS = tuple({typer.Abort, click.exceptions.Abort})

AREAS = ("pipeline", "collect", "web", "scheduler")
_registered: set[str] = set()


def _register_areas() -> None:
    """Commands of the other areas live in their own modules; each is added once.

    A module that is still being imported (it imported `cli` first) is added on the next call,
    which `main` makes.
    """
    import importlib

    for name in AREAS:
        if name in _registered:
            continue
        try:
            module = importlib.import_module(f"campaign_worker.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"campaign_worker.cli.{name}":
                raise
            continue
        if hasattr(module, "register"):
            module.register(app)
            _registered.add(name)


_register_areas()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit code instead of exiting."""
    _register_areas()
    command = typer.main.get_command(app)
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        result = command.main(args=args, prog_name="campaign-worker", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except _EXITS as exc:
        return exc.exit_code
    except _ABORTS:
        err_console.print("Abgebrochen / aborted.")
        return 130
    except _CLICK_ERRORS as exc:
        exc.show()
        return exc.exit_code
    except ConfigError as exc:
        if debug:
            raise
        err_console.print(exc.render(), markup=False, highlight=False)
        return 2
    except (UserError, DatabaseError) as exc:
        if debug:
            raise
        err_console.print(f"Fehler / error: {exc}", markup=False, highlight=False)
        return 2
    except SQLAlchemyDBAPIError as exc:
        if debug:
            raise
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        err_console.print(
            f"Datenbank nicht nutzbar / database unavailable: {reason}\n"
            "Prüfen Sie CAMPAIGN_WORKER_DATABASE_URL bzw. die Datei in <home>/data / check the URL or file.",
            markup=False, highlight=False,
        )
        return 1
    except KeyboardInterrupt:
        err_console.print("Unterbrochen / interrupted.")
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
