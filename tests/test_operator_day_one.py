"""What an operator meets on day one, driven through the command line and the web app."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from campaign_worker.cli.main import main
from campaign_worker.workspace import Workspace

from .collect_fakes import campaign_toml
from .web_support import add_accounts, seed_posts, signed_in

pytestmark = pytest.mark.usefixtures("no_sleeping")

TYPO = campaign_toml("").replace("hashtags =", "hashtagz =")


def write(home, name: str, text: str) -> None:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def cli(home, *args: str) -> int:
    return main(["--home", str(home.root), *args])


def test_a_broken_campaign_file_does_not_stop_the_others(home, capsys):
    write(home, "gut.toml", campaign_toml(""))
    write(home, "kaputt.toml", TYPO)

    assert cli(home, "stats") == 0
    out = capsys.readouterr()
    assert "gut" in out.out
    assert "kaputt" in out.err and "config check" in out.err  # warned, not fatal

    assert cli(home, "queue", "list", "-c", "gut") == 0
    capsys.readouterr()
    assert cli(home, "queue", "list", "-c", "kaputt") == 2  # naming it gives its error
    assert "kaputt.toml" in capsys.readouterr().err
    assert cli(home, "config", "check") == 2

    ws = Workspace.open(home)
    try:
        add_accounts(ws)
        client, _csrf = signed_in(ws, "viewer")
        page = client.get("/health")
        assert page.status_code == 200
        assert "Kampagnen, die nicht geladen werden können" in page.text and "kaputt.toml" in page.text
        assert "hashtagz" in page.text
        assert client.get("/queue?campaign=gut").status_code == 200
    finally:
        ws.close()


def test_a_home_with_its_own_campaigns_uses_only_those(home, capsys):
    write(home, "erfurt.toml", campaign_toml("").replace('name = "Testkampagne"', 'name = "Vielfalt – das sind wir!"'))
    write(home, "pause.toml", "enabled = false\n" + campaign_toml(""))

    assert cli(home, "config", "check") == 0
    out = capsys.readouterr().out
    assert "erfurt" in out and "pause" in out and "siegen" not in out and "medizin" not in out

    assert cli(home, "collect") == 0
    assert "Keine eingeschaltete Quelle" in capsys.readouterr().out
    assert cli(home, "stats", "--json") == 0
    stats = capsys.readouterr().out
    assert '"posts": 0' in stats and "siegen" not in stats


def test_the_sample_comes_in_with_demo_only_and_sources_says_so(home, capsys, monkeypatch):
    assert cli(home, "collect") == 0  # a fresh home: the example campaigns, but no sample import
    capsys.readouterr()
    assert cli(home, "stats", "--json") == 0
    assert '"posts": 0' in capsys.readouterr().out

    monkeypatch.setattr(sys, "argv", [".venv/bin/campaign-worker"])  # started from a checkout, not on PATH
    assert cli(home, "demo") == 0
    out = capsys.readouterr().out
    assert f".venv/bin/campaign-worker --home {home.root} queue list --campaign siegen" in out

    assert cli(home, "sources") == 0
    listing = capsys.readouterr().out
    assert "siegen/sample" in listing and "noch nie" not in listing and " ok " in listing

    assert cli(home, "run-job", "moderate") == 0
    printed = capsys.readouterr().out
    assert "{" not in printed and "siegen: evaluated 0" in printed


def test_queue_list_says_when_there_is_more_and_pages_on(sqlite_workspace, home, capsys):
    seed_posts(sqlite_workspace, "siegen", count=55)

    assert cli(home, "queue", "list", "-c", "siegen") == 0
    out = capsys.readouterr().out
    assert out.count("autor_") == 50 and "es gibt weitere" in out
    assert "│ offen" in out and "│ pending" not in out  # the state as a word, not its key
    next_command = out.strip().splitlines()[-1].split()
    assert next_command[0] == "campaign-worker" and "--after" in next_command

    assert main(next_command[1:]) == 0
    rest = capsys.readouterr().out
    assert rest.count("autor_") + rest.count("svg") == 5 and "es gibt weitere" not in rest


def test_the_web_queue_opens_the_campaign_where_posts_wait(sqlite_workspace):
    seed_posts(sqlite_workspace, "siegen", count=3)  # medizin-pflege comes first by name, and is empty
    add_accounts(sqlite_workspace)
    client, _csrf = signed_in(sqlite_workspace, "moderator")

    page = client.get("/queue").text

    assert "autor_1" in page and "autor_2" in page


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr to make a folder read-only for root")
def test_read_only_home_answers_read_commands(home, capsys):
    ws = Workspace.open(home)
    seed_posts(ws, "siegen", count=3)
    ws.close()
    locked = subprocess.run(["chattr", "-R", "+i", str(home.root)], capture_output=True)
    if locked.returncode != 0:
        pytest.skip(f"this file system cannot lock files: {locked.stderr.decode()[:200]}")
    try:
        assert cli(home, "stats") == 0
        assert "siegen" in capsys.readouterr().out
        assert cli(home, "queue", "list", "-c", "siegen") == 0
        assert "autor_1" in capsys.readouterr().out
        assert cli(home, "queue", "approve", "-c", "siegen", "1") == 2  # a write says why it cannot
        assert "readonly" in capsys.readouterr().err
    finally:
        subprocess.run(["chattr", "-R", "-i", str(home.root)], check=True)


def test_queue_commands_speak_of_states_as_words(sqlite_workspace, home, capsys):
    seed_posts(sqlite_workspace, "siegen", count=2)
    capsys.readouterr()

    assert cli(home, "queue", "approve", "-c", "siegen", "1", "--user", "maria") == 0
    assert "1 Beitrag → freigegeben" in capsys.readouterr().out
    assert cli(home, "queue", "show", "1", "-c", "siegen") == 0
    shown = capsys.readouterr().out
    assert "· freigegeben" in shown and "maria: offen → freigegeben" in shown and "approved" not in shown
    assert cli(home, "queue", "undo", "1", "-c", "siegen", "--user", "maria") == 0
    assert "freigegeben → offen" in capsys.readouterr().out


def test_status_names_jobs_that_are_overdue_while_the_scheduler_runs(sqlite_workspace, home, capsys):
    """A scheduler that holds its lock but completes nothing: `status` says which jobs are late, as /healthz does."""
    from datetime import timedelta

    from campaign_worker.scheduler import ledger, lock
    from campaign_worker.timeutil import utcnow

    engine = sqlite_workspace.engine
    owner = lock.acquire(engine, ttl=60, owner="host:1:-", now=utcnow() - timedelta(days=3))
    lock.heartbeat(engine, owner)  # alive now, started three days ago
    run = ledger.claim(engine, "collect", utcnow() - timedelta(minutes=10), owner=owner)
    ledger.finish(engine, run.run_id, "ok")  # collect completed a slot lately; the daily jobs did not

    assert cli(home, "status", "--json") == 0
    late = {job["job"] for job in json.loads(capsys.readouterr().out)["overdue_jobs"]}
    assert late == {"moderate", "drafts", "retention"}  # the weekly digest is not late after three days
    assert cli(home, "status") == 0
    shown = capsys.readouterr().out
    assert "Überfällig / overdue: moderate" in shown and "Überfällig / overdue: collect" not in shown
