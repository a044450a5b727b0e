"""Privacy: retention on controlled time, complete and resumable erasure, the access export,
the suppression of erased people at collection, and the Art. 30 record."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import date, timedelta

import pytest
from PIL import Image
from sqlalchemy import Text, cast, func, select

from campaign_worker.cli.main import main
from campaign_worker.moderation.job import moderate
from campaign_worker.moderation.queue import decide
from campaign_worker.privacy import erasers
from campaign_worker.privacy.access import export_author
from campaign_worker.privacy.erase import PrivacyError, erase_author
from campaign_worker.privacy.retention import apply_retention
from campaign_worker.publish.digest import render_week
from campaign_worker.publish.drafts import compose
from campaign_worker.sources.collect import collect
from campaign_worker.store.db import transaction
from campaign_worker.store import models
from campaign_worker.timeutil import utcnow
from campaign_worker.workspace import Workspace

from .helpers import START, image_ref, memory_campaign, post

HANDLE = "erika.muster"
HER_TEXT = "Mein Lieblingsplatz am Siegberg, geheimnisvoll-unverwechselbar"
OTHERS = ("anna.siegen", "ben.krone")


def picture(tmp_path, n: int):
    path = tmp_path / f"in-{n}.jpg"
    Image.new("RGB", (400, 300), ((n * 37) % 256, (n * 91) % 256, (n * 53) % 256)).save(path, "JPEG")
    return image_ref(path)


def feed_posts(tmp_path, memory_feed, first: int = 1):
    """Two posts of the person, four of others (one mentions her); each with its own picture."""
    posts = [
        post(first, f"{HER_TEXT} #meinherztraegtkrone", HANDLE, media=[picture(tmp_path, first)]),
        post(first + 1, f"{HER_TEXT} zwei #meinherztraegtkrone", HANDLE.upper(), media=[picture(tmp_path, first + 1)]),
        post(first + 2, "Schöner Abend mit @Erika.Muster am Schloss #meinherztraegtkrone", OTHERS[0], media=[picture(tmp_path, first + 2)]),
    ] + [post(first + n, None, OTHERS[n % 2], media=[picture(tmp_path, first + n)]) for n in range(3, 6)]
    memory_feed("mem", posts)


@pytest.fixture
def ws(home, database_url, tmp_path, memory_feed):
    memory_campaign(home, extra="[moderation]\nauto_approve_all = true\n")
    workspace = Workspace.open(home, database_url=database_url)
    feed_posts(tmp_path, memory_feed)
    collect(workspace, ["test"])
    moderate(workspace, ["test"])
    compose(workspace, ["test"])
    render_week(workspace, workspace.campaign("test"), START.date())
    yield workspace
    workspace.close()


def her_posts(ws) -> list[int]:
    with ws.engine.connect() as connection:
        return list(connection.execute(select(models.Post.id).where(func.lower(models.Post.author_username) == HANDLE)).scalars())


def everything_stored(ws) -> str:
    """Every row of every table as text, and every file of the home's data folder."""
    parts = []
    with ws.engine.connect() as connection:
        for table in models.SQLModel.metadata.sorted_tables:
            parts += [json.dumps(list(map(str, row))) for row in connection.execute(select(table))]
    for path in sorted(ws.home.data_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("campaign-worker.sqlite3"):
            parts.append(path.name)
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts).lower()


def test_erasure_leaves_no_trace_and_later_collection_skips_the_person(ws, tmp_path, memory_feed):
    ids = her_posts(ws)
    assert len(ids) == 2
    before = everything_stored(ws)
    assert HANDLE in before and HER_TEXT.lower() in before  # the fixture really stores her
    digest_html = next((ws.home.output_dir / "digests" / "test").glob("*-W*.html")).read_text("utf-8").lower()
    assert HANDLE in digest_html
    with ws.engine.connect() as connection:
        shas = list(connection.execute(select(models.PostMedia.media_sha256).where(models.PostMedia.post_id.in_(ids))).scalars())
        drafts_before = connection.execute(select(func.count()).select_from(models.Draft)).scalar_one()
    assert all(ws.media.path_for(s).exists() and ws.media.path_for(s, thumb=True).exists() for s in shas)

    result = erase_author(ws, "@Erika.Muster")

    assert result.counts["posts_removed"] == 2 and result.counts["digests_rerendered"] == 1
    after = everything_stored(ws)
    assert HANDLE not in after and HER_TEXT.lower() not in after
    assert not any(ws.media.path_for(s).exists() or ws.media.path_for(s, thumb=True).exists() for s in shas)
    with ws.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(models.Post)).scalar_one() == 4  # the others stay
        assert connection.execute(select(func.count()).select_from(models.Draft)).scalar_one() < drafts_before
        assert "[entfernt]" in connection.execute(select(models.Post.caption).where(models.Post.caption.like("%Abend%"))).scalar_one()
        audit = connection.execute(select(models.Erasure)).one()
    assert audit.status == "done" and audit.subject is None and audit.plan == {} and audit.counts["posts_removed"] == 2
    if ws.engine.dialect.name == "sqlite":  # deleted text is left neither in free pages nor in the WAL
        database = ws.engine.url.database
        raw = b"".join(open(f, "rb").read() for f in (database, database + "-wal") if os.path.exists(f))
        assert HER_TEXT.encode() not in raw and HANDLE.encode() not in raw.lower()

    feed_posts(tmp_path, memory_feed, first=100)  # she posts again under the hashtag
    collect(ws, ["test"])
    assert her_posts(ws) == []
    with ws.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(models.Post)).scalar_one() == 8


def test_erasure_of_one_platform_keeps_the_same_handle_elsewhere(ws, memory_feed):
    first = her_posts(ws)[0]
    with transaction(ws.engine) as connection:
        connection.execute(models.post_table.update().where(models.post_table.c.id == first).values(platform="mastodon"))
    erase_author(ws, HANDLE, "instagram")
    with ws.engine.connect() as connection:
        assert connection.execute(select(models.Post.platform).where(func.lower(models.Post.author_username) == HANDLE)).all() == [("mastodon",)]


@pytest.mark.parametrize("step", ["media_files", "page_rendering"])
def test_an_erasure_killed_halfway_completes_when_run_again(ws, monkeypatch, step):
    calls = []

    def killed(*args, **kwargs):
        calls.append(args)
        raise KeyboardInterrupt  # the process dies here

    page = next((ws.home.output_dir / "digests" / "test").glob("*-W*.html"))
    if step == "media_files":  # after the suppression and the plan are stored, before any row goes
        monkeypatch.setattr(type(ws.media), "delete", killed)
    else:  # after the rows are gone, before the pages are rendered again
        monkeypatch.setattr("campaign_worker.privacy.removal.render_week", killed)
    with pytest.raises(KeyboardInterrupt):
        erase_author(ws, HANDLE)
    assert calls
    assert HANDLE in page.read_text("utf-8").lower()  # not complete yet: the old page still shows her
    assert (her_posts(ws) == []) == (step == "page_rendering")
    with ws.engine.connect() as connection:
        assert connection.execute(select(models.Erasure.status)).scalar_one() == "running"

    monkeypatch.undo()
    result = erase_author(ws, HANDLE)

    assert result.resumed and result.counts["digests_rerendered"] == 1
    assert HANDLE not in page.read_text("utf-8").lower()
    assert HANDLE not in everything_stored(ws) and HER_TEXT.lower() not in everything_stored(ws)
    with ws.engine.connect() as connection:
        assert connection.execute(select(models.Erasure.status)).all() == [("done",)]
    assert erase_author(ws, HANDLE).counts["posts_removed"] == 0  # idempotent


def test_registered_erasers_are_called_before_and_after_the_rows_go(ws, monkeypatch):
    seen = {}

    def before(ws_, removal):
        with ws_.engine.connect() as connection:
            seen["before"] = connection.execute(select(func.count()).select_from(models.Post)
                                                .where(models.Post.id.in_(removal.post_ids))).scalar_one()
        return {"files": len(removal.media)}

    def after(ws_, removal):
        seen["after"] = her_posts(ws_)
        return {"pages": 1}

    monkeypatch.setattr(erasers, "ERASERS", {})
    erasers.register_eraser("crops", before, when="before")
    erasers.register_eraser("walls", after, when="after")
    counts = erase_author(ws, HANDLE).counts
    assert seen == {"before": 2, "after": []}
    assert counts["crops_files"] == 2 and counts["walls_pages"] == 1


def test_bad_handles_are_refused_with_a_clear_message(ws, capsys):
    with pytest.raises(PrivacyError, match="kein Benutzername"):
        erase_author(ws, "robert'); drop table post;--")
    assert main(["--home", str(ws.home.root), "privacy", "erase", "--author", "a b"]) == 2
    assert "kein Benutzername" in capsys.readouterr().err
    assert len(her_posts(ws)) == 2


def test_export_holds_every_record_and_picture_with_a_german_letter(ws, tmp_path):
    mine = her_posts(ws)
    with transaction(ws.engine) as connection:
        decide(connection, "test", mine[:1], "rejected", "maria", "Bild zeigt ein Kind")
    target = tmp_path / "auskunft.zip"

    counts = export_author(ws, "@erika.muster", None, target)

    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        data = json.loads(archive.read("daten.json"))
        letter = archive.read("Anschreiben.md").decode("utf-8")
        pictures = [n for n in names if n.startswith("medien/")]
        Image.open(io.BytesIO(archive.read(pictures[0]))).verify()
    assert counts["posts"] == 2 and len(pictures) == 2
    assert {p["id"] for p in data["posts"]} == set(her_posts(ws))
    assert all(HER_TEXT in p["caption"] for p in data["posts"])
    assert any(e["reason_de"] == "Bild zeigt ein Kind" for e in data["decision_history"])
    assert {m["state"] for m in data["campaign_decisions"]} == {"approved", "rejected"}
    assert data["drafts"] and all(d["post_id"] in set(her_posts(ws)) for d in data["drafts"])
    assert "Auskunft nach Art. 15 DSGVO" in letter and "Löschung (Art. 17 DSGVO)" in letter
    assert "abgelehnte Beiträge löschen wir nach 14 Tagen".lower() in " ".join(letter.split()).lower()
    assert "anna.siegen" not in json.dumps(data)  # only her records


def test_erasure_removes_an_export_left_in_the_default_folder(ws, capsys):
    assert main(["--home", str(ws.home.root), "privacy", "export", "--author", HANDLE]) == 0
    exported = list((ws.home.output_dir / "auskunft").glob("*.zip"))
    assert len(exported) == 1
    assert main(["--home", str(ws.home.root), "privacy", "erase", "--author", HANDLE]) == 0
    assert "Sperrliste" in capsys.readouterr().out
    assert not exported[0].exists()


# --- retention -------------------------------------------------------------------------------

@pytest.fixture
def aged(ws):
    """Her first post rejected by a person, her second left pending; the others approved."""
    mine = her_posts(ws)
    with ws.engine.connect() as connection:
        others = list(connection.execute(select(models.Post.id).where(models.Post.id.not_in(mine))).scalars())
    with transaction(ws.engine) as connection:
        decide(connection, "test", others, "approved", "maria")
        decide(connection, "test", mine[:1], "rejected", "maria")
        decide(connection, "test", mine[1:], "pending", "maria")
    return ws


def counts_of(ws) -> dict[str, int]:
    with ws.engine.connect() as connection:
        return dict(connection.execute(select(models.CampaignPost.state, func.count()).group_by(models.CampaignPost.state)).all())


def test_retention_keeps_everything_before_the_deadlines(aged):
    now = utcnow() + timedelta(days=13)
    result = apply_retention(aged, now=now)
    assert result["campaigns"]["test"]["posts_to_remove"] == 0
    assert counts_of(aged) == {"approved": 4, "rejected": 1, "pending": 1}


def test_rejected_go_after_14_days_undecided_after_30_with_their_pictures(aged):
    rejected, pending = her_posts(aged)
    with aged.engine.connect() as connection:
        sha = connection.execute(select(models.PostMedia.media_sha256).where(models.PostMedia.post_id == rejected)).scalar_one()

    dry = apply_retention(aged, now=utcnow() + timedelta(days=15), dry_run=True)
    assert dry["campaigns"]["test"]["rejected_expired"] == 1 and counts_of(aged)["rejected"] == 1  # nothing gone

    apply_retention(aged, now=utcnow() + timedelta(days=15))
    assert counts_of(aged) == {"approved": 4, "pending": 1}
    assert not aged.media.path_for(sha).exists() and not aged.media.path_for(sha, thumb=True).exists()

    result = apply_retention(aged, now=utcnow() + timedelta(days=31))
    assert result["campaigns"]["test"]["undecided_expired"] == 1
    assert counts_of(aged) == {"approved": 4}
    with aged.engine.connect() as connection:
        runs = connection.execute(select(models.RetentionRun.counts, models.RetentionRun.plan)).all()
    assert [r.counts["posts_removed"] for r in runs] == [1, 1] and all(r.plan == {} for r in runs)
    assert HANDLE not in json.dumps([r.counts for r in runs])  # only counts are recorded


def test_approved_posts_stay_until_the_period_after_the_campaign_end(home, database_url, tmp_path, memory_feed):
    end = date.today() + timedelta(days=10)
    memory_campaign(home, extra=f"[moderation]\nauto_approve_all = true\n[retention]\ncampaign_end = {end.isoformat()}\n"
                                "approved_days_after_end = 30\n")
    ws = Workspace.open(home, database_url=database_url)
    try:
        feed_posts(tmp_path, memory_feed)
        collect(ws, ["test"])
        with ws.engine.connect() as connection:
            ids = list(connection.execute(select(models.Post.id)).scalars())
        with transaction(ws.engine) as connection:
            decide(connection, "test", ids, "approved", "maria")
        render_week(ws, ws.campaign("test"), START.date())
        apply_retention(ws, now=utcnow() + timedelta(days=35))
        assert counts_of(ws) == {"approved": 6}
        result = apply_retention(ws, now=utcnow() + timedelta(days=42))
        assert result["campaigns"]["test"]["approved_expired"] == 6 and counts_of(ws) == {}
        page = next((ws.home.output_dir / "digests" / "test").glob("*-W*.html")).read_text("utf-8").lower()
        assert HANDLE not in page and "anna.siegen" not in page
        assert not list(ws.home.media_dir.rglob("*.jpg"))
    finally:
        ws.close()


def test_the_retention_job_applies_the_rules(aged):
    from campaign_worker.scheduler.tasks import TASKS

    with transaction(aged.engine) as connection:
        connection.execute(models.campaign_post_table.update().values(updated_at=utcnow() - timedelta(days=20)))
    counts = TASKS["retention"](aged, None, lambda: False)
    assert counts["posts_removed"] == 1 and "ledger_deleted" in counts
    assert counts_of(aged) == {"approved": 4, "pending": 1}


def test_an_interrupted_retention_pass_is_finished_by_the_next(aged, monkeypatch):
    monkeypatch.setattr("campaign_worker.privacy.removal.render_week", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        apply_retention(aged, now=utcnow() + timedelta(days=15))
    monkeypatch.undo()
    result = apply_retention(aged, now=utcnow() + timedelta(days=15))
    assert result["interrupted_completed"] == 1
    with aged.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(models.RetentionRun)
                                  .where(models.RetentionRun.finished_at.is_(None))).scalar_one() == 0


def test_purge_cli_dry_run_counts_and_campaign_file_errors_are_clear(aged, capsys):
    assert main(["--home", str(aged.home.root), "privacy", "purge", "--dry-run"]) == 0
    assert "würde löschen" in capsys.readouterr().out
    (aged.home.root / "config" / "campaigns" / "test.toml").write_text(
        (aged.home.root / "config" / "campaigns" / "test.toml").read_text() + "\n[retention]\nrejected_days = 0\n")
    # A broken file is named, and its campaign is left alone while the others are purged …
    assert main(["--home", str(aged.home.root), "privacy", "purge"]) == 0
    assert "'test' übersprungen" in capsys.readouterr().err
    # … and naming that campaign says exactly what is wrong with it.
    assert main(["--home", str(aged.home.root), "privacy", "purge", "--campaign", "test"]) == 2
    assert "`rejected_days`" in capsys.readouterr().err


def test_record_names_every_campaign_and_its_deadlines(home, capsys):
    memory_campaign(home)
    assert main(["--home", str(home.root), "privacy", "record"]) == 0
    text = (home.root / "docs" / "verarbeitungsverzeichnis.md").read_text("utf-8")
    assert "Verzeichnis von Verarbeitungstätigkeiten" in text and "Testkampagne" in text
    assert "abgelehnte Beiträge: 14 Tage" in text and "nicht entschiedene Beiträge: 30 Tage" in text
    assert "#meinherztraegtkrone" in text and "[Kommune / Agentur" in text


def test_a_damaged_suppression_key_is_reported_not_replaced(ws, capsys):
    key_file = ws.home.data_dir / "privacy.key"
    erase_author(ws, HANDLE)
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key_file.write_text("kaputt\n")
    assert main(["--home", str(ws.home.root), "privacy", "erase", "--author", "anna.siegen"]) == 2
    assert "aus der Sicherung zurückholen" in capsys.readouterr().err
    assert key_file.read_text() == "kaputt\n"


KILLER = """
import os, signal, sys
from campaign_worker.workspace import Workspace
import campaign_worker.privacy.removal as removal
from campaign_worker.privacy.erase import erase_author

removal.render_week = lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL)  # dies after the rows are deleted
ws = Workspace.open(sys.argv[1], database_url=sys.argv[2])
erase_author(ws, sys.argv[3])
"""


def test_an_erasure_killed_with_sigkill_completes_when_run_again(ws, database_url, monkeypatch, capsys):
    import subprocess
    import sys

    page = next((ws.home.output_dir / "digests" / "test").glob("*-W*.html"))
    ws.engine.dispose()
    killed = subprocess.run([sys.executable, "-c", KILLER, str(ws.home.root), database_url, HANDLE], timeout=120)
    assert killed.returncode == -9
    assert her_posts(ws) == [] and HANDLE in page.read_text("utf-8").lower()  # halfway: rows gone, page not yet

    monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", database_url)
    assert main(["--home", str(ws.home.root), "privacy", "erase", "--author", HANDLE]) == 0
    assert "unterbrochene Löschung abgeschlossen" in capsys.readouterr().out

    assert HANDLE not in page.read_text("utf-8").lower() and HANDLE not in everything_stored(ws)
    with ws.engine.connect() as connection:
        assert connection.execute(select(models.Erasure.status)).all() == [("done",)]


def test_erasure_deletes_the_crops_made_from_the_persons_posts(ws):
    from campaign_worker.publish.drafts import make_draft_crops

    make_draft_crops(ws, "test")  # composing made them already; this re-makes any that are missing
    with ws.engine.connect() as connection:
        rows = connection.execute(select(models.Draft.post_id, models.Draft.crops)).all()
    hers = set(her_posts(ws))
    her_files = [ws.home.root / c["path"] for post_id, crops in rows if post_id in hers for c in crops or []]
    other_files = [ws.home.root / c["path"] for post_id, crops in rows if post_id not in hers for c in crops or []]
    assert her_files and all(p.is_file() for p in her_files + other_files)
    erase_author(ws, HANDLE)
    assert not [p for p in her_files if p.exists()]
    assert all(p.is_file() for p in other_files)
