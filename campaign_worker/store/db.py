"""Database engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite gets WAL, `synchronous=NORMAL`, foreign keys, `secure_delete`, a busy timeout and `BEGIN IMMEDIATE` for
every transaction: a deferred transaction that reads and then writes fails at once with
"database is locked" instead of waiting (the SQLAlchemy pysqlite recipe). `mmap_size` is never
set (the WAL-reset bug of SQLite < 3.51.3 gets worse with it).

Within one process, write transactions on a SQLite file take turns first come, first served
(`transaction`): SQLite's own busy handler polls with growing sleeps, so a thread writing batch
after batch would otherwise starve a small write (the scheduler claiming a run) for seconds.

`bookkeeping_engine` gives the scheduler (job store, lock, run ledger) an engine of its own
with a short lock wait, so its few one-statement writes are never stuck in a queue behind
pipeline work, and a lock held too long surfaces as an error the scheduler handles.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from campaign_worker.errors import CampaignWorkerError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
SQLITE_WAL_RESET_FIXED = (3, 51, 3)
_warned_sqlite = False


class DatabaseError(CampaignWorkerError):
    """The database cannot be used; the message says what to do."""


class _Turns:
    """First come, first served for the write transactions of one process on one SQLite file."""

    def __init__(self):
        self._condition = threading.Condition()
        self._next = 0
        self._serving = 0
        self._gave_up: set[int] = set()

    def enter(self, timeout: float) -> bool:
        with self._condition:
            ticket = self._next
            self._next += 1
            if self._condition.wait_for(lambda: self._serving == ticket, timeout):
                return True
            self._gave_up.add(ticket)
            self._advance()
            return False

    def leave(self) -> None:
        with self._condition:
            self._serving += 1
            self._advance()

    def _advance(self) -> None:
        while self._serving in self._gave_up:
            self._gave_up.discard(self._serving)
            self._serving += 1
        self._condition.notify_all()


_turns: dict[str, _Turns] = {}
_turns_guard = threading.Lock()
_engine_turns: "weakref.WeakKeyDictionary[Engine, tuple[_Turns, float]]" = weakref.WeakKeyDictionary()


def _turns_for(path: str) -> _Turns:
    with _turns_guard:
        return _turns.setdefault(os.path.realpath(path), _Turns())


def _sqlite_version_warning() -> str | None:
    version = tuple(int(p) for p in sqlite3.sqlite_version.split("."))
    if (3, 7, 0) <= version < SQLITE_WAL_RESET_FIXED:
        return (
            f"SQLite {sqlite3.sqlite_version} has the WAL-reset bug fixed in 3.51.3; "
            "campaign-worker keeps one writer per process and never uses mmap, "
            "but run only one scheduler per database file."
        )
    return None


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, read_only: bool = False) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # noqa: ANN001
        # Let SQLAlchemy, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        if not read_only:
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA secure_delete = ON")  # deleted rows are overwritten, not left in free pages
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # Read-only connections (execution option read_only=True) begin deferred: in WAL mode they never wait for a writer.
        options = connection.get_execution_options()
        connection.exec_driver_sql("BEGIN" if options.get("read_only") or options.get("one_statement") else "BEGIN IMMEDIATE")


def _disk_problem(folder: Path) -> tuple[str, str] | None:
    """(German, English) when the database's folder is on a read-only or full file system."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    if stats.f_flag & os.ST_RDONLY:
        return "Datenträger ist schreibgeschützt eingehängt", "the file system is mounted read-only"
    if stats.f_bavail * stats.f_frsize < 64 * 1024:
        return "kein Platz mehr auf dem Datenträger", "no space left on the disk"
    return None


def _name_disk_problems(engine: Engine, folder: Path) -> None:
    """SQLite says 'disk I/O error' or 'unable to open database file'; say what it is."""

    @event.listens_for(engine, "handle_error")
    def _on_error(context) -> DatabaseError | None:  # noqa: ANN001
        if not isinstance(context.original_exception, sqlite3.Error):
            return None
        problem = _disk_problem(folder)
        if problem is None:
            return None
        return DatabaseError(
            f"Die Datenbank in {folder} kann nicht schreiben: {problem[0]}; Platz schaffen bzw. beschreibbar einhängen, "
            f"dann erneut ausführen. / The database in {folder} cannot write: {problem[1]}."
        )


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


def make_engine(url: str, *, echo: bool = False, lock_timeout_s: float = BUSY_TIMEOUT_MS / 1000, pool_size: int | None = None,
                read_only: bool = False) -> Engine:
    """An engine for `url`; creates the folder of a SQLite file.

    `lock_timeout_s` is how long a statement waits for a lock held by another writer (SQLite's
    busy timeout, PostgreSQL's `lock_timeout`) before it fails with an OperationalError.
    `read_only` (SQLite): opens the file as immutable, for a folder nobody writes to: WAL
    needs to create files next to the database, which a read-only folder does not allow.
    """
    global _warned_sqlite
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise DatabaseError(f"not a database URL: {url!r} ({exc})") from None
    if parsed.get_backend_name() == "sqlite":
        on_disk = parsed.database and parsed.database != ":memory:"
        if read_only and on_disk:
            url = f"sqlite:///file:{Path(parsed.database).resolve()}?mode=ro&immutable=1&uri=true"
        elif on_disk:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        pool = {"pool_size": pool_size, "max_overflow": 2} if pool_size else {}
        engine = create_engine(url, echo=echo, connect_args={"timeout": lock_timeout_s}, **pool)
        _configure_sqlite(engine, int(lock_timeout_s * 1000), read_only)
        if on_disk and not read_only:
            _name_disk_problems(engine, Path(parsed.database).parent)
            _engine_turns[engine] = (_turns_for(parsed.database), lock_timeout_s)
        warning = _sqlite_version_warning()
        if warning and not _warned_sqlite:
            log.debug(warning)
            _warned_sqlite = True
        return engine
    if parsed.get_backend_name() == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        pool = {"pool_size": pool_size, "max_overflow": 2} if pool_size else {}
        options = {} if lock_timeout_s == BUSY_TIMEOUT_MS / 1000 else {"options": f"-c lock_timeout={int(lock_timeout_s * 1000)}"}
        return create_engine(parsed, echo=echo, pool_pre_ping=True, connect_args=options, **pool)
    raise DatabaseError(f"unsupported database {parsed.get_backend_name()!r}: use sqlite:/// or postgresql://")


def bookkeeping_engine(engine: Engine, *, lock_timeout_s: float) -> Engine:
    """An engine of its own on `engine`'s database, with a small pool and a short lock wait."""
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"):
        return engine  # an in-memory database exists once per connection: share it
    return make_engine(url.render_as_string(hide_password=False), lock_timeout_s=lock_timeout_s, pool_size=3)


def one_statement(engine: Engine) -> Engine:
    """`engine` for a caller whose every transaction is a single statement (APScheduler's job store).

    On SQLite such a transaction begins deferred: a read never waits for a writer, and a lone
    write waits for the lock with the busy timeout like any other.
    """
    return engine.execution_options(one_statement=True)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (BEGIN IMMEDIATE on SQLite); commits or rolls back as a whole."""
    turns = _engine_turns.get(engine)
    if turns is None:
        with engine.begin() as connection:
            yield connection
        return
    queue, timeout = turns
    if not queue.enter(timeout):
        raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked (another write of this process)"))
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        queue.leave()


def reading(engine: Engine) -> Connection:
    """A connection for reads only (use it as a context manager).

    On SQLite it begins deferred, so in WAL mode it never waits for a writer; every other
    transaction begins IMMEDIATE. Writes go through `transaction`.
    """
    return engine.connect().execution_options(read_only=True)


def flush_deleted(engine: Engine) -> None:
    """After an erasure: copy the WAL into the SQLite file and empty it, so deleted rows survive
    in neither (with `secure_delete` their pages are zeroed). PostgreSQL: autovacuum reclaims them."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
    try:
        raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    except sqlite3.OperationalError as exc:  # a reader holds the WAL: its next checkpoint does it
        log.debug("WAL checkpoint deferred: %s", exc)
    finally:
        raw.close()


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
