"""The command line's edge: commands start fast, and errors are translated once.

`--help` and `config check` load neither the database nor the web stack; each check runs in a
fresh interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("sqlalchemy", "fastapi", "instaloader", "PIL", "argon2", "alembic")

PROBE = """
import contextlib, io, json, sys
from campaign_worker.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:
    code = main(json.loads(sys.argv[1]))
heavy = json.loads(sys.argv[2])
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules], "out": out.getvalue(), "err": err.getvalue()}))
"""


def loaded_after(args: list[str]) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
                            capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize(("command", "shown"), [(["--help"], "Usage: campaign-worker"), (["config", "check"], "ok  siegen")],
                         ids=["help", "config-check"])
def test_light_commands_import_no_heavy_library(home, command, shown):
    probe = loaded_after(["--home", str(home.root), *command])
    assert probe["code"] == 0, probe["err"]
    assert shown in probe["out"]
    assert probe["loaded"] == [], f"`campaign-worker {' '.join(command)}` imported {probe['loaded']}"


def test_the_probe_sees_a_heavy_import(home):
    """The check above can fail: a command that opens the database does load SQLAlchemy."""
    probe = loaded_after(["--home", str(home.root), "stats", "--json"])
    assert probe["code"] == 0, probe["err"]
    assert "sqlalchemy" in probe["loaded"]


def test_a_library_error_is_one_message_and_exit_code_2(sqlite_workspace, capsys):
    """`QueueError` reaches the edge as it is: its message, once, no traceback."""
    from campaign_worker.cli.main import main

    root = str(sqlite_workspace.home.root)
    assert main(["--home", root, "queue", "undo", "12345", "-c", "siegen", "--user", "maria"]) == 2
    err = capsys.readouterr().err
    assert err.count("Fehler / error: Beitrag 12345 ist nicht in der Kampagne") == 1 and "Traceback" not in err
    assert main(["--home", root, "queue", "show", "C_UNBEKANNT", "-c", "siegen"]) == 2
    assert "Beitrag 'C_UNBEKANNT' nicht gefunden" in capsys.readouterr().err
