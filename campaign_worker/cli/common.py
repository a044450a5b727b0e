"""What every CLI command shares: consoles, the per-invocation state, `UserError` and small helpers.

Area modules import from here, never from `cli.main`, so that any of them can be imported on
its own. Nothing here imports the database or web stack: `--help` and `config check` must
start without them, so the workspace is opened (and imported) on first use.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console

from campaign_worker.errors import UserError

if TYPE_CHECKING:
    from rich.progress import Progress

    from campaign_worker.home import Home
    from campaign_worker.workspace import Workspace

__all__ = ["CampaignOpt", "State", "UserError", "command_hint", "console", "err_console", "print_json", "program", "progress",
           "state", "tracker"]

# Piped output (logs, CI) gets wide lines instead of rich's 80-column default.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)

CampaignOpt = typer.Option(None, "--campaign", "-c", help="Kampagne (mehrfach möglich; ohne: alle) / campaign slug.")


class State:
    """What every command shares: the home folder and, opened on first use, the workspace."""

    def __init__(self, home: Optional[str], debug: bool):
        self.home_arg = home
        self.debug = debug
        self._workspace: Workspace | None = None

    @property
    def home(self) -> Home:
        from campaign_worker.home import resolve_home

        return resolve_home(self.home_arg)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            from campaign_worker.workspace import Workspace

            self._workspace = Workspace.open(self.home)
            for slug, error in sorted(self._workspace.broken.items()):
                err_console.print(
                    f"Warnung: Kampagne {slug!r} übersprungen, ihre Datei hat Fehler / warning: campaign {slug!r} "
                    f"skipped, its file has errors ({error.path}); Einzelheiten / details: `campaign-worker config check`",
                    markup=False, highlight=False)
        return self._workspace

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def state(ctx: typer.Context) -> State:
    return ctx.ensure_object(State) if ctx.obj is None else ctx.obj


def program() -> str:
    """How the user started this program, for hints: `campaign-worker` when that is on the PATH,
    else the path as typed (e.g. `.venv/bin/campaign-worker`), so a copied hint works as it is."""
    import shlex
    import shutil
    from pathlib import Path

    typed = sys.argv[0] if sys.argv else ""
    if Path(typed).name != "campaign-worker":
        return "campaign-worker"
    on_path = shutil.which("campaign-worker")
    if on_path and Path(on_path).resolve() == Path(typed).resolve():
        return "campaign-worker"
    return shlex.quote(typed)


def command_hint(ctx: typer.Context, arguments: str) -> str:
    """A command line to copy: the program as started, the same `--home`, then `arguments`."""
    import shlex

    home = state(ctx).home_arg
    return f"{program()}{f' --home {shlex.quote(str(home))}' if home else ''} {arguments}"


def print_json(data) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def progress() -> Progress:
    """A progress bar on stderr, shown only on a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True,
                    disable=not err_console.is_terminal)


def tracker(bar: Progress, description: str):
    """An `on_progress(done, total)` callback that moves one task of `bar`."""
    task = bar.add_task(description, total=None)
    return lambda done, total: bar.update(task, completed=done, total=total)
