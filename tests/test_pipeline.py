"""The whole pipeline on the bundled sample, through the CLI as a user runs it."""

from __future__ import annotations

import json

import pytest

from campaign_worker.cli.main import main
from campaign_worker.home import Home

from .helpers import memory_campaign, post

pytestmark = pytest.mark.slow


def stats(home_root, capsys) -> dict:
    capsys.readouterr()
    assert main(["--home", str(home_root), "stats", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def demo_home(tmp_path, database_url, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", database_url)
    return tmp_path / "demo"


def test_demo_runs_end_to_end_and_twice_changes_nothing(demo_home, capsys):
    assert main(["--home", str(demo_home), "demo"]) == 0
    out = capsys.readouterr().out
    assert "Wochenüberblicke" in out and "2026-W41.html" in out
    first = stats(demo_home, capsys)
    siegen = first["campaigns"]["siegen"]
    assert siegen["posts"] >= 300
    assert siegen["states"]["new"] == 0
    assert siegen["states"]["approved"] > 0 and siegen["states"]["rejected"] > 0 and siegen["states"]["pending"] > 0
    assert sum(siegen["drafts"].values()) > 0 and siegen["digests"] >= 4
    assert first["media"]["ok"] >= 300
    assert_sample_decisions(demo_home, capsys)

    assert main(["--home", str(demo_home), "demo"]) == 0
    capsys.readouterr()
    assert stats(demo_home, capsys) == first

    digest = (demo_home / "data" / "output" / "digests" / "siegen" / "2026-W41.html").read_text(encoding="utf-8")
    assert "Oktober 2026" in digest and "cdninstagram" not in digest


def assert_sample_decisions(demo_home, capsys) -> None:
    """The sample's labels against what the shipped campaign (trust level `confident`) decided."""
    from campaign_worker.home import defaults_root

    labels = json.loads((defaults_root() / "sample" / "meinherztraegtkrone" / "LABELS.json").read_text())
    assert main(["--home", str(demo_home), "queue", "list", "--campaign", "siegen", "--state", "all", "--limit", "1000", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    state = {r["external_id"]: r["state"] for r in rows}
    label_of = {code: (v if isinstance(v, str) else v.get("category")) for code, v in labels.items()}
    spam = [code for code, label in label_of.items() if label == "spam"]
    partners = [code for code, label in label_of.items() if label == "partner"]
    genuine = [code for code, label in label_of.items() if label in ("genuine", "hard_genuine")]
    junk = [code for code, label in label_of.items() if label not in ("genuine", "hard_genuine", "partner")]
    assert sum(state[c] == "rejected" for c in spam) >= 0.8 * len(spam)
    assert sum(state[c] == "approved" for c in partners) >= 0.9 * len(partners)
    assert not [c for c in genuine if state[c] == "rejected"], "genuine posts must never be auto-rejected"
    assert not [c for c in junk if state[c] == "approved"], "nothing a manager would hold back reaches the wall"
    assert sum(state[c] == "approved" for c in genuine) >= 0.5 * len(genuine), "the queue empties itself"


@pytest.fixture
def fed_home(demo_home, memory_feed):
    """A home whose campaign `test` collects a few posts from the in-memory source."""
    memory_feed("mem", [post(n, f"Neu in Siegen, Nr. {n}: der Weg zur Arbeit #meinherztraegtkrone") for n in range(1, 5)])
    memory_campaign(Home(demo_home))
    return demo_home


def cli(home_root, *args: str) -> None:
    assert main(["--home", str(home_root), *args]) == 0


def test_queue_decisions_via_cli_are_audited(fed_home, capsys):
    cli(fed_home, "collect", "-c", "test")
    cli(fed_home, "moderate", "-c", "test")
    capsys.readouterr()
    cli(fed_home, "queue", "list", "--campaign", "test", "--json", "--limit", "2")
    first, second = json.loads(capsys.readouterr().out)
    cli(fed_home, "queue", "approve", str(first["post_id"]), "--campaign", "test", "--user", "maria")
    cli(fed_home, "queue", "reject", second["external_id"], "-c", "test", "--user", "maria", "--reason", "Kein Bezug zu Siegen")
    cli(fed_home, "queue", "undo", str(first["post_id"]), "-c", "test", "--user", "maria")
    capsys.readouterr()
    cli(fed_home, "queue", "show", str(second["post_id"]), "-c", "test", "--json")
    shown = json.loads(capsys.readouterr().out)
    assert shown["state"] == "rejected" and shown["reason_de"] == "Kein Bezug zu Siegen"
    assert shown["events"][-1]["actor"] == "user:maria"
    cli(fed_home, "queue", "show", str(first["post_id"]), "-c", "test", "--json")
    assert json.loads(capsys.readouterr().out)["state"] == "pending"


def test_a_post_goes_from_a_source_to_the_digest(fed_home, capsys):
    cli(fed_home, "collect", "-c", "test")
    cli(fed_home, "moderate", "-c", "test")
    capsys.readouterr()
    cli(fed_home, "queue", "list", "--campaign", "test", "--json")
    pending = json.loads(capsys.readouterr().out)
    assert {row["external_id"] for row in pending} == {"C00001", "C00002", "C00003", "C00004"}
    cli(fed_home, "queue", "approve", "C00003", "-c", "test", "--user", "maria")
    cli(fed_home, "drafts", "compose", "-c", "test")
    assert "1 freigegebene Beiträge" in capsys.readouterr().out
    cli(fed_home, "digest", "render", "-c", "test", "--all-weeks")
    digest = (fed_home / "data" / "output" / "digests" / "test" / "2026-W41.html").read_text(encoding="utf-8")
    recommended = digest.split("Empfehlungen zum Teilen", 1)[1].split("Wartet auf Entscheidung", 1)[0]
    cards = recommended.split('<div class="card">')[1:]
    assert "Nr. 3: der Weg zur Arbeit" in cards[0] and "wartet auf Entscheidung" not in cards[0]
    assert len(cards) == 4 and all("wartet auf Entscheidung" in card for card in cards[1:])


def test_unknown_campaign_and_missing_folder_are_clear_errors(demo_home, capsys):
    assert main(["--home", str(demo_home), "queue", "list", "--campaign", "gibtsnicht"]) == 2
    assert "unbekannte Kampagne" in capsys.readouterr().err
    assert main(["--home", str(demo_home), "import-archive", str(demo_home / "fehlt"), "--campaign", "siegen"]) == 2
    err = capsys.readouterr().err
    assert "Ordner nicht gefunden" in err and "Traceback" not in err


def test_import_archive_twice_stores_the_same_rows(demo_home, capsys):
    from campaign_worker.home import defaults_root

    folder = defaults_root() / "sample" / "meinherztraegtkrone"
    assert main(["--home", str(demo_home), "import-archive", str(folder), "--campaign", "medizin-pflege"]) == 0
    assert "336 neue Beiträge" in capsys.readouterr().out
    once = stats(demo_home, capsys)
    assert main(["--home", str(demo_home), "import-archive", str(folder), "--campaign", "medizin-pflege"]) == 0
    assert "0 neue Beiträge" in capsys.readouterr().out
    assert stats(demo_home, capsys) == once
