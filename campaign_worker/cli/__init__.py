"""The command line: a thin layer over the library, one module per area (see `main`)."""

from campaign_worker.cli.main import main, run

__all__ = ["main", "run"]
