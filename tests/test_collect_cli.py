"""`collect`, `sources` and `instagram session` on the command line; archive sources."""

from __future__ import annotations

import json
import os
import pickle

import instaloader
import pytest

from campaign_worker.cli.main import main
from campaign_worker.sources.collect import collect
from campaign_worker.sources import instagram
from campaign_worker.workspace import Workspace

from .collect_fakes import INSTAGRAM_SOURCE, TAG, FakeInstagram, campaign_toml, graphql_node, jpeg_bytes

pytestmark = pytest.mark.usefixtures("no_sleeping")


def flat(text: str) -> str:
    """Rich wraps long lines to the terminal width; compare words, not line breaks."""
    return " ".join(text.split())


def write_campaign(home, sources: str) -> None:
    folder = home.root / "config" / "campaigns"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test.toml").write_text(campaign_toml(sources), encoding="utf-8")


def instaloader_session_file(path, username="u") -> None:
    loader = instaloader.Instaloader(quiet=True)
    loader.load_session(username, {"sessionid": "x", "csrftoken": "c", "ds_user_id": "123"})
    loader.save_session_to_file(str(path))


def test_session_import_checks_and_stores_cookies_only(home, rsps, tmp_path, capsys):
    write_campaign(home, INSTAGRAM_SOURCE.format(per_run=10))
    session_file = tmp_path / "session-u"
    instaloader_session_file(session_file)
    fake = FakeInstagram(rsps, [graphql_node(2), graphql_node(1)])

    code = main(["--home", str(home.root), "instagram", "session", "--username", "u", "--file", str(session_file)])

    assert code == 0, capsys.readouterr()
    assert fake.calls["test_login"] == 1
    stored = instagram.session_store_path(home, "u")
    assert oct(os.stat(stored).st_mode & 0o777) == "0o600"
    document = json.loads(stored.read_text())
    assert document["cookies"]["sessionid"] == "x" and "password" not in json.dumps(document).lower()

    assert main(["--home", str(home.root), "collect", "--campaign", "test"]) == 0
    out = flat(capsys.readouterr().out)
    assert " ok " in out and "2 neue Beiträge" in out and "0 Fehler" in out


def test_session_file_that_is_not_a_plain_dict_is_refused(home, tmp_path, capsys):
    class Evil:
        def __reduce__(self):
            return (os.system, ("touch /tmp/pwned-by-session-file",))

    evil = tmp_path / "evil"
    evil.write_bytes(pickle.dumps(Evil()))
    code = main(["--home", str(home.root), "instagram", "session", "--username", "u", "--file", str(evil), "--no-check"])
    assert code == 2
    assert "keine instaloader-Sitzungsdatei" in flat(capsys.readouterr().err)
    assert not instagram.session_store_path(home, "u").exists() and not (tmp_path / "pwned").exists()


def test_session_of_another_account_is_not_saved(home, rsps, tmp_path, capsys):
    session_file = tmp_path / "session"
    instaloader_session_file(session_file)
    FakeInstagram(rsps, [])  # its login check answers "u"
    code = main(["--home", str(home.root), "instagram", "session", "--username", "someone_else", "--file", str(session_file)])
    assert code == 2 and "gehört zu 'u'" in flat(capsys.readouterr().err)
    assert not instagram.session_store_path(home, "someone_else").exists()


def test_sources_lists_status_and_not_before(home, rsps, capsys):
    write_campaign(home, INSTAGRAM_SOURCE.format(per_run=10))
    instagram.save_session(home, "u", {"sessionid": "x", "csrftoken": "c", "ds_user_id": "123"})
    fake = FakeInstagram(rsps, [graphql_node(1)])
    fake.script.append((429, {"message": "Please wait a few minutes before you try again.", "status": "fail"},
                        {"Retry-After": "3600"}))

    assert main(["--home", str(home.root), "collect", "-c", "test"]) == 1  # a failure: non-zero for cron and CI
    capsys.readouterr()
    assert main(["--home", str(home.root), "sources", "-c", "test"]) == 0
    out = flat(capsys.readouterr().out)
    assert "rate_limited" in out and TAG in out and "Uhr" in out
    assert "Von der Plattform gebremst bis" in out


def write_archive(folder, count: int) -> None:
    folder.mkdir(parents=True)
    for n in range(1, count + 1):
        stem = f"2026-10-0{n}_08-00-00_UTC"
        node = graphql_node(n, owner_username="anna.siegen")
        document = {"node": node, "instaloader": {"version": "4.16", "node_type": "Post"}}
        (folder / f"{stem}.json").write_text(json.dumps(document), encoding="utf-8")
        (folder / f"{stem}.jpg").write_bytes(jpeg_bytes((n * 40, 80, 80)))
    (folder / "2026-10-09_08-00-00_UTC.json").write_text("{broken", encoding="utf-8")


def test_archive_source_imports_and_reports_broken_files(home):
    write_archive(home.root / "archiv" / TAG, 3)
    write_campaign(home, '[[sources]]\nid = "archiv"\ntype = "archive"\npath = "archiv/meinherztraegtkrone"\n')
    ws = Workspace.open(home)

    first = collect(ws, ["test"]).sources[0]
    assert first.status == "ok" and first.posts_new == 3 and first.media_ok == 3
    assert len(first.problems) == 1 and "2026-10-09" in first.message

    again = collect(ws, ["test"]).sources[0]
    assert again.posts_new == 0 and again.posts_seen == 3 and again.media_ok == 0


def test_missing_archive_folder_is_named_and_other_sources_go_on(home, rsps):
    sources = ('[[sources]]\nid = "weg"\ntype = "archive"\npath = "gibtsnicht"\n\n'
               + INSTAGRAM_SOURCE.format(per_run=10))
    write_campaign(home, sources)
    instagram.save_session(home, "u", {"sessionid": "x", "csrftoken": "c", "ds_user_id": "123"})
    FakeInstagram(rsps, [graphql_node(1)])
    summary = collect(Workspace.open(home), ["test"])
    assert [(r.source_id, r.status) for r in summary.sources] == [("weg", "not_configured"), ("insta", "ok")]
    assert "gibtsnicht" in summary.sources[0].message
    assert summary.status == "partial" and summary.as_counts()["failures"] == 1


def test_unknown_source_is_a_user_error(home, capsys):
    write_campaign(home, INSTAGRAM_SOURCE.format(per_run=10))
    assert main(["--home", str(home.root), "collect", "--source", "nope"]) == 2
    assert "nope" in flat(capsys.readouterr().err)
