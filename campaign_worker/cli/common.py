"""What every CLI command shares: consoles, the per-invocation state and `UserError`.

Area modules (`cli_pipeline`, `cli_collect`, `cli_web`, `cli_scheduler`) import from here, not
from `cli`, so that any of them can be imported on its own.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer
from rich.console import Console

from campaign_worker.home import resolve_home
from campaign_worker.workspace import Workspace
from campaign_worker.errors import UserError  # noqa: F401  (re-exported for the command modules)

# Piped output (logs, CI) gets wide lines instead of rich's 80-column default.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else 160)



class State:
    """What every command shares: the home folder and, opened on first use, the workspace."""

    def __init__(self, home: Optional[str], debug: bool):
        self.home_arg = home
        self.debug = debug
        self._workspace: Workspace | None = None

    @property
    def home(self):
        return resolve_home(self.home_arg)

    def workspace(self) -> Workspace:
        if self._workspace is None:
            self._workspace = Workspace.open(self.home)
        return self._workspace

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def state(ctx: typer.Context) -> State:
    return ctx.ensure_object(State) if ctx.obj is None else ctx.obj


