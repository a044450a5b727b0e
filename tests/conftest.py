"""Shared fixtures: a temporary project home, and migrated databases on SQLite and PostgreSQL.

PostgreSQL tests use the server named by CAMPAIGN_WORKER_TEST_PG_URL (default: the local one on
127.0.0.1:5432) in a database of their own, created for the session and dropped after it.
Without a server they are skipped, unless CAMPAIGN_WORKER_REQUIRE_PG=1 (set by .ci/run).
"""

from __future__ import annotations

import email
import email.policy
import os
import socket
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from campaign_worker.store.db import make_engine
from campaign_worker.home import Home
from campaign_worker.store.migrate import upgrade
from campaign_worker.config.worker import SmtpSettings
from campaign_worker.workspace import Workspace

pytest_plugins = ["tests.collect_fakes"]  # the faked HTTP fixtures `rsps` and `no_sleeping`

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CAMPAIGN_WORKER_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """An empty home: every config, template and job file falls back to the shipped defaults."""
    root = tmp_path / "home"
    root.mkdir()
    h = Home(root)
    h.ensure_dirs()
    return h


@pytest.fixture(scope="session")
def pg_database_url():
    """A throw-away PostgreSQL database for this test session, or skip."""
    try:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            name = f"cw_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # no server here
        if os.environ.get("CAMPAIGN_WORKER_REQUIRE_PG") == "1":
            pytest.fail(f"PostgreSQL required but not reachable at {PG_ADMIN_URL}: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL}")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _fresh_pg_engine(url: str):
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    return engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    url = request.getfixturevalue("pg_database_url")
    _fresh_pg_engine(url).dispose()
    return url


@pytest.fixture
def engine(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def workspace(home: Home, database_url: str):
    ws = Workspace.open(home, database_url=database_url)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(home: Home):
    """A workspace on SQLite only, for tests whose subject is not the database."""
    ws = Workspace.open(home)
    yield ws
    ws.close()


class Inbox:
    """What a real SMTP server on 127.0.0.1 received."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes = []
        self.refuse: set[str] = set()  # recipients refused like a full mailbox

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    """An aiosmtpd server on 127.0.0.1; `smtp.settings` points the mailer at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.settings = SmtpSettings(host="127.0.0.1", port=controller.port, sender="worker@example.org")
    yield inbox
    controller.stop()
