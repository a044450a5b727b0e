"""Every command of the README runs on the demo home and on a home with drafts of every status.

The commands are read from the README's ```sh blocks, so a command added there is covered
here without a change. A synopsis line becomes one concrete call: optional [groups] are
dropped, the first of `a|b|c` is taken and placeholders get real values from the home.
Long-running commands (`serve`, `run`) are called with `--help`.
"""

from __future__ import annotations

import re
import shlex
import io
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CLI = [str(Path(sys.executable).parent / "campaign-worker")]
TRAINED: list[list[str]] = []
LONG_RUNNING = {"serve", "run", "worker"}  # `worker` needs PostgreSQL: tests/test_workers.py runs it
# Commands that only work against the real platform; their own tests fake it at the HTTP layer.
NEEDS_PLATFORM = {"instagram session": "needs a logged-in Instagram session file (tests/test_collect_instagram.py)"}
# Arguments a synopsis leaves implicit.
EXTRA_ARGS = {("users", "add"): ["maria"], ("users", "passwd"): ["maria"], ("users", "remove"): ["maria"]}


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if line.startswith("campaign-worker "):
                for part in (p.strip() for p in line.split("&&")):
                    if part.startswith("campaign-worker"):
                        # „campaign-worker jobs | status [--json]“ names two commands.
                        head, *others = re.split(r" \| (?![^\[]*\])", part)
                        lines.append(head)
                        lines.extend("campaign-worker " + other for other in others)
    return list(dict.fromkeys(lines))


def concrete(line: str, values: dict[str, str]) -> list[list[str]]:
    """The calls one synopsis line stands for: one per alternative of its `a|b|c` sub-command."""
    line = re.sub(r"--home \S+ ", "", line)
    while re.search(r"\[[^\[\]]*\]", line):
        line = re.sub(r"\[[^\[\]]*\]", "", line)
    words = shlex.split(line)[1:]
    variants = [words]
    if len(words) > 1 and "|" in words[1]:
        variants = [[words[0], alternative, *words[2:]] for alternative in words[1].split("|")]
    calls = []
    for variant in variants:
        call = [values.get(w.rstrip("…"), w.rstrip("…")) for w in variant]
        call = [w.split("|")[0] if "|" in w and not w.startswith("-") else w for w in call]
        call += EXTRA_ARGS.get(tuple(call[:2]), []) if len(call) == 2 else []
        if call[0] == "moderate-train":  # a small sample, and never over the model shipped in the package
            call += ["--data", values["TRAIN_DATA"], "--out", values["TRAIN_OUT"]]
        calls.append([call[0], "--help"] if call[0] in LONG_RUNNING else call)
    return calls


def run(home: Path, args: list[str], capsys, monkeypatch, stdin: str = "") -> tuple[int, str]:
    """The command in-process, as the console script runs it: (exit code, everything printed).

    An exception that escapes `main` (a traceback for the user) fails the calling test.
    """
    from campaign_worker.cli.main import main

    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    monkeypatch.setenv("CAMPAIGN_WORKER_PASSWORD", "ein-langes-Passwort-42")
    monkeypatch.chdir(home)
    capsys.readouterr()
    code = main(["--home", str(home), *args])
    captured = capsys.readouterr()
    run.last_stdout = captured.out  # what a pipe would get: machine-readable output only
    return code, captured.out + captured.err


@pytest.fixture(scope="module", params=["demo", "every-status"])
def demo_home(request, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("readme") / "home"
    result = subprocess.run([*CLI, "--home", str(home), "demo"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    # As the README's order has it: the author's permission is recorded before `drafts ready`.
    granted = subprocess.run([*CLI, "--home", str(home), "drafts", "rights", "1", "--status", "granted"],
                             capture_output=True, text=True, timeout=120)
    assert granted.returncode == 0, granted.stdout + granted.stderr
    if request.param == "every-status":
        from campaign_worker.publish.drafts import edit_draft
        from campaign_worker.store.db import transaction
        from campaign_worker.workspace import Workspace

        ws = Workspace.open(home)
        try:
            with transaction(ws.engine) as connection:
                edit_draft(connection, 1, "test", status="approved", ws=ws)
                edit_draft(connection, 2, "test", status="discarded", ws=ws)
                edit_draft(connection, 3, "test", text="Von Hand bearbeitet.", ws=ws)
        finally:
            ws.close()
    return home


def _values(home: Path, capsys, monkeypatch) -> dict[str, str]:
    import json

    run(home, ["queue", "list", "--campaign", "siegen", "--json"], capsys, monkeypatch)
    listed = json.loads(run.last_stdout or "[]")
    post = str(listed[0]["post_id"]) if listed else "1"
    posts = home / "posts.jsonl"
    posts.write_text(json.dumps({"id": "t1", "caption": "Erster Tag in der Ausbildung! #meinherztraegtkrone", "author": "lena"}) + "\n")
    jobs = sorted(p.stem for p in (home / "jobs").glob("*.toml")) or ["digest"]
    sample = home / "train-sample.jsonl"
    dev = (ROOT / "tests" / "data" / "moderation" / "dev.jsonl").read_text(encoding="utf-8").splitlines()
    sample.write_text("\n".join(dev[::6]) + "\n", encoding="utf-8")
    return {"TRAIN_DATA": str(sample), "TRAIN_OUT": str(home / "model-trial.npz"),
            "PATH": str(ROOT / "sample" / "meinherztraegtkrone"), "POST": post, "C0AbCdEf": post,
            "posts.jsonl": str(posts), "NAME": jobs[0], "ID": "sample", "DRAFT": "1", "maria": "maria"}


@pytest.mark.parametrize("line", readme_commands())
def test_readme_command_runs_on_the_demo_home(demo_home, line, capsys, monkeypatch, smtp):
    for prefix, reason in NEEDS_PLATFORM.items():
        if line.startswith(f"campaign-worker {prefix}"):
            pytest.skip(reason)
    (demo_home / "config").mkdir(exist_ok=True)
    (demo_home / "config" / "worker.toml").write_text(
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.settings.port}\nfrom = "worker@example.org"\n', encoding="utf-8")
    for args in concrete(line, _values(demo_home, capsys, monkeypatch)):
        if args[0] == "moderate-train":
            if TRAINED:  # the same training whatever the home holds: once is proof enough (it takes ~30 s)
                continue
            TRAINED.append(args)
        code, output = run(demo_home, args, capsys, monkeypatch, stdin="ein-langes-Passwort-42\nein-langes-Passwort-42\n")
        assert "Traceback" not in output, (args, output)
        assert code == 0, (args, output)


def test_the_readme_lists_the_drafts_commands():
    commands = " ".join(readme_commands())
    for command in ("drafts compose", "drafts list", "drafts export", "drafts rights", "drafts ready"):
        assert command in commands
