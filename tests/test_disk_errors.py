"""A full or read-only disk, or an unusable database: a clear message naming it, exit code 2, no temp file left behind,
nothing already written damaged; temp files of a killed process are removed at the next start.

Uses small tmpfs mounts (as root); skipped with the reason when mounting is not possible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from campaign_worker.cli.main import main
from campaign_worker.files import remove_leftovers

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample" / "meinherztraegtkrone"


@pytest.fixture
def mount():
    """`mount(folder, size, read_only)`: a tmpfs there for this test, unmounted afterwards."""
    mounted: list[Path] = []

    def make(folder: Path, size: str = "64k", read_only: bool = False) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        options = f"size={size}" + (",ro" if read_only else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {result.stderr.strip() or result.returncode}")
        mounted.append(folder)
        return folder

    yield make
    for folder in reversed(mounted):
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """The first twelve posts of the sample archive (with their pictures)."""
    folder = tmp_path / "archive"
    folder.mkdir()
    stems = sorted({p.name.split("_UTC")[0] for p in SAMPLE.glob("*_UTC.json.xz")})[:12]
    for path in SAMPLE.iterdir():
        if path.name.split("_UTC")[0] in stems:
            shutil.copy(path, folder / path.name)
    return folder


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


def run(home: Path, *args: str) -> int:
    return main(["--home", str(home), *args])


def fill(folder: Path) -> None:
    """Use up the space of the mount, leaving a few bytes."""
    try:
        with open(folder / "filler", "wb") as handle:
            while True:
                handle.write(b"\0" * 4096)
                handle.flush()
    except OSError:
        pass


def test_full_disk_during_import_is_named_and_leaves_no_temp_file(home, mount, archive, capsys):
    media = mount(home.media_dir, size="16k")
    code = run(home.root, "import-archive", str(archive), "--campaign", "siegen")
    err = capsys.readouterr().err
    assert code == 2
    assert "Kein Platz mehr auf dem Datenträger" in err and "no space left on the disk" in err
    assert "Traceback" not in err and "unreadable" not in err
    assert temp_files(media) == []


def test_read_only_output_folder_for_the_digest(home, mount, archive, capsys):
    assert run(home.root, "import-archive", str(archive), "--campaign", "siegen") == 0
    output = mount(home.output_dir, read_only=True)
    capsys.readouterr()
    code = run(home.root, "digest", "render", "--campaign", "siegen", "--all-weeks")
    err = capsys.readouterr().err
    assert code == 2
    assert "schreibgeschützt" in err and "read-only" in err and "Traceback" not in err
    assert temp_files(output) == []


def test_full_disk_on_rerender_keeps_the_earlier_digest_whole(home, mount, archive, capsys):
    assert run(home.root, "import-archive", str(archive), "--campaign", "siegen") == 0
    output = mount(home.output_dir, size="2m")
    assert run(home.root, "digest", "render", "--campaign", "siegen", "--all-weeks") == 0
    pages = sorted((output / "digests" / "siegen").glob("*-W*.html"))
    assert pages
    before = {page: page.read_bytes() for page in pages}
    fill(output)
    capsys.readouterr()
    code = run(home.root, "digest", "render", "--campaign", "siegen", "--all-weeks")
    err = capsys.readouterr().err
    assert code == 2 and "no space left on the disk" in err and "Traceback" not in err
    assert temp_files(output) == []
    assert {page: page.read_bytes() for page in pages} == before
    assert all(text.rstrip().endswith(b"</html>") for text in before.values())


def test_leftover_temp_files_of_a_killed_run_are_removed(tmp_path):
    folder = tmp_path / "media" / "ab" / "cd"
    folder.mkdir(parents=True)
    old = folder / ".tmp-abc.part"
    fresh = folder / ".tmp-def.part"
    kept = folder / "picture.jpg"
    for path in (old, fresh, kept):
        path.write_bytes(b"x")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_leftovers(tmp_path / "media") == 1
    assert not old.exists() and fresh.exists() and kept.exists()


@pytest.mark.parametrize("problem", ["not_a_database", "read_only", "disk_full", "port_closed", "database_missing"])
def test_an_unusable_database_exits_2_and_says_why(home, mount, archive, capsys, monkeypatch, request, problem):
    expected = {
        "not_a_database": "file is not a database",
        "read_only": "schreibgeschützt eingehängt",
        "disk_full": "kein Platz mehr auf dem Datenträger",
        "port_closed": "Connection refused",
        "database_missing": "does not exist",
    }[problem]
    command = ["stats"]
    if problem == "not_a_database":
        (home.data_dir / "campaign-worker.sqlite3").write_bytes(b"kein SQLite, nur Text " * 50)
    elif problem in ("read_only", "disk_full"):
        data = mount(home.data_dir, size="1m")
        (data / "media").mkdir()
        (data / "output").mkdir()
        assert run(home.root, "stats") == 0
        if problem == "read_only":
            subprocess.run(["mount", "-o", "remount,ro", str(data)], check=True)
        else:
            fill(data)
        command = ["import-archive", str(archive), "--campaign", "siegen"]
    elif problem == "port_closed":
        monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", "postgresql://postgres@127.0.0.1:9/campaigns")
    else:
        from sqlalchemy.engine import make_url

        server = make_url(request.getfixturevalue("pg_database_url"))  # skips without a server
        monkeypatch.setenv("CAMPAIGN_WORKER_DATABASE_URL", server.set(database="cw_missing_database_18").render_as_string(hide_password=False))
    capsys.readouterr()
    code = run(home.root, *command)
    err = capsys.readouterr().err
    assert code == 2, err
    assert expected in err and "Traceback" not in err
