"""Database engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite gets WAL, `synchronous=NORMAL`, foreign keys, a busy timeout and `BEGIN IMMEDIATE` for
every transaction: a deferred transaction that reads and then writes fails at once with
"database is locked" instead of waiting (the SQLAlchemy pysqlite recipe). `mmap_size` is never
set (the WAL-reset bug of SQLite < 3.51.3 gets worse with it).
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Connection, Engine, make_url
from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
SQLITE_WAL_RESET_FIXED = (3, 51, 3)
_warned_sqlite = False


class DatabaseError(CampaignWorkerError):
    """The database cannot be used; the message says what to do."""


def _sqlite_version_warning() -> str | None:
    version = tuple(int(p) for p in sqlite3.sqlite_version.split("."))
    if (3, 7, 0) <= version < SQLITE_WAL_RESET_FIXED:
        return (
            f"SQLite {sqlite3.sqlite_version} has the WAL-reset bug fixed in 3.51.3; "
            "campaign-worker keeps one writer per process and never uses mmap, "
            "but run only one scheduler per database file."
        )
    return None


def _configure_sqlite(engine: Engine, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Read-only connections (execution option read_only=True) begin deferred: in WAL mode they never wait for a writer.
        connection.exec_driver_sql("BEGIN" if connection.get_execution_options().get("read_only") else "BEGIN IMMEDIATE")


def sqlite_read_only(url: str) -> bool:
    """True for a SQLite file that exists in a folder this process cannot write (a read-only home)."""
    try:
        parsed = make_url(url)
    except Exception:
        return False
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return False
    path = Path(parsed.database)
    return path.is_file() and not os.access(path.parent, os.W_OK)


def make_engine(url: str, *, echo: bool = False, read_only: bool = False) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file.

    `read_only` (SQLite): opens the file as immutable, for a folder nobody writes to: WAL
    needs to create files next to the database, which a read-only folder does not allow.
    """
    global _warned_sqlite
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        if read_only and parsed.database:
            url = f"sqlite:///file:{Path(parsed.database).resolve()}?mode=ro&immutable=1&uri=true"
        elif parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
        _configure_sqlite(engine, read_only)
        warning = _sqlite_version_warning()
        if warning and not _warned_sqlite:
            log.debug(warning)
            _warned_sqlite = True
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, echo=echo, pool_pre_ping=True)
    raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite); commits or rolls back as a whole."""
    with engine.begin() as connection:
        yield connection


def reading(engine: Engine) -> Connection:
    """A connection for reads only (use it as a context manager).

    On SQLite it begins deferred, so in WAL mode it never waits for a writer; every other
    transaction begins IMMEDIATE. Writes go through `transaction`.
    """
    return engine.connect().execution_options(read_only=True)


def insert_ignore(connection: Connection, table, rows: Sequence[dict[str, Any]], conflict: Iterable[str]) -> None:
    """Bulk `INSERT … ON CONFLICT (conflict) DO NOTHING` in the connection's dialect."""
    if not rows:
        return
    statement = _dialect_insert(connection, table).on_conflict_do_nothing(index_elements=list(conflict))
    connection.execute(statement, list(rows))


def upsert(
    connection: Connection,
    table,
    rows: Sequence[dict[str, Any]],
    conflict: Iterable[str],
    update: Iterable[str],
) -> None:
    """Bulk insert, updating `update` columns of rows that already exist."""
    if not rows:
        return
    statement = _dialect_insert(connection, table)
    statement = statement.on_conflict_do_update(
        index_elements=list(conflict),
        set_={name: statement.excluded[name] for name in update},
    )
    connection.execute(statement, list(rows))


def _dialect_insert(connection: Connection, table):
    name = connection.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - make_engine refuses other dialects
        return insert(table)
    return dialect_insert(table)
