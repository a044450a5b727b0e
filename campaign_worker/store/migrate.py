"""Schema migrations with Alembic, applied automatically on start and by `db upgrade`."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from campaign_worker.store.db import reading

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Tables in our database that other libraries create and own; Alembic leaves them alone.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})
FOREIGN_PREFIXES = ("procrastinate_",)  # the scale-out task queue's schema (migration 0012)


def include_name(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic's filter: compare every table of ours, none of the other libraries' tables."""
    if type_ != "table" or name is None:
        return True
    return name not in FOREIGN_TABLES and not name.startswith(FOREIGN_PREFIXES)


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with reading(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def require_current(engine: Engine) -> None:
    """For a database that cannot be written: fine if its schema is current, else say what to do."""
    from campaign_worker.store.db import DatabaseError

    current, head = current_revision(engine), head_revision()
    if current != head:
        raise DatabaseError(
            f"Datenbank schreibgeschützt und Schema veraltet ({current} statt {head}): einmal mit Schreibrecht "
            f"`campaign-worker db upgrade` ausführen / database is read-only and its schema is old ({current}, "
            f"needs {head}): run `campaign-worker db upgrade` once with write access")


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Bring the schema to `revision`; returns (before, after). A no-op when already there."""
    before = current_revision(engine)
    if before == head_revision() and revision == "head":
        return before, before
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return before, current_revision(engine)
