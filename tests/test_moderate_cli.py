"""The moderation job and its CLI: run, explain, dry-run, recheck, human precedence."""

from __future__ import annotations

import json

from campaign_worker.cli.main import main
from campaign_worker.store.db import transaction
from campaign_worker.store.ingest import store_posts
from campaign_worker.moderation.job import moderate
from campaign_worker.moderation.queue import decide
from campaign_worker.stats import collect_stats

from .helpers import post

SPAM = "💰💰 Verdiene 5000€ pro Woche mit Bitcoin Trading!! DM for promo, Link in Bio 🚀 #meinherztraegtkrone"


def seed(ws):
    return store_posts(ws.engine, "siegen", "test", [
        post(1, SPAM, author="crypto_king_99"),
        post(2, "Erster Tag der Ausbildung bei der AWO 🎉 #meinherztraegtkrone", author="awo_siegen"),
        post(3, "Abendspaziergang am Schwanenteich #meinherztraegtkrone", author="lena.sgn"),
    ]).post_ids


def test_rules_decide_new_posts_and_never_touch_them_again(sqlite_workspace):
    ids = seed(sqlite_workspace)
    result = moderate(sqlite_workspace, ["siegen"])
    assert (result["rejected"], result["approved"], result["pending"]) == (1, 1, 1)
    assert moderate(sqlite_workspace, ["siegen"])["evaluated"] == 0
    with transaction(sqlite_workspace.engine) as connection:
        decide(connection, "siegen", [ids["instagram:C00001"]], "approved", "maria")
    recheck = moderate(sqlite_workspace, ["siegen"], recheck=True)
    assert recheck["evaluated"] == 2  # the person's decision is not even looked at
    states = collect_stats(sqlite_workspace)["campaigns"]["siegen"]["states"]
    assert (states["approved"], states["rejected"], states["pending"]) == (2, 0, 1)


def test_recheck_says_how_many_decisions_stayed_as_they_were(sqlite_workspace, capsys):
    seed(sqlite_workspace)
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "moderate", "--campaign", "siegen"]) == 0
    assert "3 geprüft" in capsys.readouterr().out
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--recheck"]) == 0
    # Nothing changed: without the last figure "0 zur Prüfung" would read as an empty queue.
    assert "3 geprüft – 0 freigegeben, 0 abgelehnt, 0 zur Prüfung, 3 unverändert" in capsys.readouterr().out


def test_each_decision_keeps_the_models_score_and_the_queue_shows_it(sqlite_workspace):
    from sqlalchemy import select

    from campaign_worker.store.models import CampaignPost
    from .web_support import add_accounts, signed_in

    ids = seed(sqlite_workspace)
    moderate(sqlite_workspace, ["siegen"])
    with transaction(sqlite_workspace.engine) as connection:
        scores = dict(connection.execute(select(CampaignPost.post_id, CampaignPost.score)).all())
    spam, walk = scores[ids["instagram:C00001"]], scores[ids["instagram:C00003"]]
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert spam < 0.2 and walk > spam + 0.2, "the scam scores low, the evening walk clearly higher"
    add_accounts(sqlite_workspace)
    client, _ = signed_in(sqlite_workspace, "viewer")
    html = client.get("/queue?campaign=siegen&state=all").text
    assert f"Modell: {int(walk * 100)} %" in html, "rounded down: a score short of 1 never shows as 100 %"
    listing = client.get("/api/queue?campaign=siegen&state=all").json()
    assert {e["post_id"]: e["score"] for e in listing["entries"]}[ids["instagram:C00003"]] == walk


def test_explain_shows_every_rule_and_the_evidence(sqlite_workspace, capsys):
    ids = seed(sqlite_workspace)
    moderate(sqlite_workspace, ["siegen"])
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--explain", str(ids["instagram:C00001"])]) == 0
    out = capsys.readouterr().out
    assert "ABLEHNEN (spam.phrase)" in out
    for rule in ("Gesperrtes Konto", "Partnerkonto", "Sperrliste", "Spam", "Duplikat", "Tageslimit", "Sprache"):
        assert rule in out
    assert "Fundstellen: DM for promo" in out
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--explain", "C00003", "--lang", "en"]) == 0
    assert capsys.readouterr().out.startswith("Result: REVIEW (")


def test_dry_run_prints_one_json_line_per_post_and_stores_nothing(sqlite_workspace, tmp_path, capsys):
    lines = [
        {"id": "a", "caption": SPAM, "author": "crypto_king_99"},
        {"id": "b", "caption": "Team-Event im Schlosspark", "author": "awo_siegen"},
        {"id": "c", "caption": "Klassentreffen am Giersberg", "author": "tom", "hashtags": ["meinherztraegtkrone"]},
    ]
    source = tmp_path / "posts.jsonl"
    source.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n", encoding="utf-8")
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source)]) == 0
    results = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # The shipped Siegen campaign trusts the machine (`confident`): a clean local post needs no person.
    assert [(r["id"], r["decision"]) for r in results] == [("a", "reject"), ("b", "approve"), ("c", "approve")]
    assert results[2]["rule"] == "model.confident"
    assert all(r["rule"] and r["reason"] for r in results)
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source),
                 "--auto-approve", "partners"]) == 0
    partners = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["decision"]) for r in partners] == [("a", "reject"), ("b", "approve"), ("c", "review")]
    assert collect_stats(sqlite_workspace)["posts"] == 0


def test_dry_run_names_the_bad_line(sqlite_workspace, tmp_path, capsys):
    source = tmp_path / "posts.jsonl"
    source.write_text('{"id": "a", "caption": "ok"}\nkein json\n', encoding="utf-8")
    home = str(sqlite_workspace.home.root)
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source)]) == 2
    err = capsys.readouterr().err
    assert "Zeile 2" in err and "Traceback" not in err
    assert main(["--home", home, "moderate", "--dry-run", "--input", str(source)]) == 2
    assert "--campaign" in capsys.readouterr().err
    source.write_text('{"id": "a", "caption": "ok", "author": 42}\n', encoding="utf-8")
    assert main(["--home", home, "moderate", "--campaign", "siegen", "--dry-run", "--input", str(source)]) == 2
    err = capsys.readouterr().err
    assert "Zeile 1" in err and "'author' must be a string" in err and "Traceback" not in err


def test_moderate_train_names_the_bad_file_once(sqlite_workspace, tmp_path, capsys):
    home = str(sqlite_workspace.home.root)
    bad = tmp_path / "bad.jsonl"
    for text, expected in (('{"id": "x", "caption": "ok", "label": "genuine", "author": 42}\n', "'author' must be a string"),
                           ('{"id": "x", "caption": "ok", "label": "nett"}\n', "unknown labels ['nett']"),
                           ('{"id": "x", "caption": "ok", "label": "genuine"}\nkein json\n', "line 2"),
                           ('["caption", "label"]\n', "line 1: expected a JSON object")):
        bad.write_text(text, encoding="utf-8")
        assert main(["--home", home, "moderate-train", "--data", str(bad), "--out", str(tmp_path / "m.npz")]) == 2
        err = capsys.readouterr().err
        assert expected in err and err.count(str(bad)) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()
