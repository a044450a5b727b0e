"""Read-only database connections for the web pages (see `db.reading`)."""

from campaign_worker.store.db import reading

__all__ = ["reading"]
