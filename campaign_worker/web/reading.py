"""Read-only database connections for the web pages (see `db.reading`)."""

from ..db import reading

__all__ = ["reading"]
