"""Accounts: argon2 hashes, roles, and the `users` and `serve` commands."""

from __future__ import annotations

import io
import re
import sys

import pytest
from sqlalchemy import select

from campaign_worker.cli.main import main
from campaign_worker.store.models import User
from campaign_worker.web.users import AccountError, add_user, authenticate, list_users, remove_user, set_password, set_role


def test_passwords_are_stored_as_argon2_and_checked(sqlite_workspace):
    engine = sqlite_workspace.engine
    account = add_user(engine, "Anna.Siegen", "lang-genug-123", "moderator")
    assert (account.username, account.role) == ("anna.siegen", "moderator")
    with engine.connect() as connection:
        stored = connection.execute(select(User.__table__.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "lang-genug-123" not in stored
    assert authenticate(engine, "ANNA.siegen", "lang-genug-123").username == "anna.siegen"
    assert authenticate(engine, "anna.siegen", "falsch-falsch") is None
    assert authenticate(engine, "niemand", "lang-genug-123") is None
    set_password(engine, "anna.siegen", "noch-laenger-456")
    assert authenticate(engine, "anna.siegen", "lang-genug-123") is None
    assert authenticate(engine, "anna.siegen", "noch-laenger-456") is not None
    set_role(engine, "anna.siegen", "viewer")
    assert [(a.username, a.role) for a in list_users(engine)] == [("anna.siegen", "viewer")]


@pytest.mark.parametrize("username,password,role,message", [
    ("x", "lang-genug-123", "viewer", "Benutzername"),
    ("bob", "kurz", "viewer", "zu kurz"),
    ("bob", "lang-genug-123", "chef", "unbekannte Rolle"),
])
def test_bad_accounts_are_refused_with_a_clear_message(sqlite_workspace, username, password, role, message):
    with pytest.raises(AccountError, match=message):
        add_user(sqlite_workspace.engine, username, password, role)


def test_the_last_admin_stays_and_duplicates_are_refused(sqlite_workspace):
    engine = sqlite_workspace.engine
    add_user(engine, "chefin", "lang-genug-123", "admin")
    with pytest.raises(AccountError, match="existiert bereits"):
        add_user(engine, "chefin", "lang-genug-123", "viewer")
    with pytest.raises(AccountError, match="letzte Admin"):
        remove_user(engine, "chefin")
    add_user(engine, "vertretung", "lang-genug-123", "admin")
    remove_user(engine, "chefin")
    assert [a.username for a in list_users(engine)] == ["vertretung"]


def test_users_commands_read_the_password_from_stdin(home, monkeypatch, capsys):
    root = str(home.root)
    monkeypatch.setattr(sys, "stdin", io.StringIO("sehr-geheim-99\n"))
    assert main(["--home", root, "users", "add", "Maria", "--role", "moderator", "--password-stdin"]) == 0
    assert main(["--home", root, "users", "list"]) == 0
    assert re.search(r"^maria\s+moderator\s+de$", capsys.readouterr().out, re.M)
    monkeypatch.setattr(sys, "stdin", io.StringIO("kurz\n"))
    assert main(["--home", root, "users", "passwd", "maria", "--password-stdin"]) == 2
    assert "zu kurz" in capsys.readouterr().err
    try:
        code = main(["--home", root, "users", "add", "paul", "geheim-als-argument"])
    except Exception as exc:  # a usage error of typer's bundled click may escape main()
        code = getattr(exc, "exit_code", 2)
    assert code != 0, "no password as an argument"
    assert main(["--home", root, "users", "remove", "maria"]) == 0
    assert main(["--home", root, "users", "remove", "maria"]) == 2


def test_serve_runs_only_the_web_app(home, monkeypatch):
    started = {}

    def fake_run(app, **kwargs):
        started.update(kwargs, app=app)

    monkeypatch.setattr("uvicorn.run", fake_run)
    assert main(["--home", str(home.root), "serve", "--port", "8765"]) == 0
    assert (started["host"], started["port"], started["workers"]) == ("127.0.0.1", 8765, 1)
    paths = {getattr(r, "path", None) for r in started["app"].routes}
    assert "/api/openapi.json" in paths
