"""How fast commands start: `campaign-worker --help` and `stats --json`, each in a fresh process.

Figures (median wall time of BENCH_CLI_REPEAT runs, default 15):
- `cli_help_s`: `campaign-worker --help`;
- `stats_json_s`: `campaign-worker --home <home> stats --json` on a home with the demo imported
  (built once per run with `campaign-worker demo`).
Baseline, measured in the same run and interleaved with them: a bare Typer app with one command
(written to a temp file, with the same Typer settings as ours: plain help, no rich markup), its
`--help` and that one command. The ratio says what the project's own imports and work cost on
top of Python and Typer starting.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import figure

REPEAT = int(os.environ.get("BENCH_CLI_REPEAT", "15"))

BARE_APP = '''
import json

import typer

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


@app.callback()
def root(home: str = typer.Option(None, "--home")) -> None:
    """A bare app."""


@app.command()
def stats(as_json: bool = typer.Option(False, "--json")) -> None:
    """Print nothing much."""
    print(json.dumps({"posts": 0}))


app()
'''


def cli() -> list[str]:
    """The console script next to this interpreter, as a user runs it."""
    script = Path(sys.executable).with_name("campaign-worker")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from campaign_worker.cli import run; run()"]


def wall(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def medians(pairs: dict[str, tuple[list[str], list[str]]]) -> dict[str, tuple[float, float]]:
    """For each name, the median of the command and of its baseline, run alternately."""
    times: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in pairs}
    for name, (command, baseline) in pairs.items():
        wall(command)  # warm the file cache; not counted
        wall(baseline)
        for _ in range(REPEAT):
            times[name][0].append(wall(command))
            times[name][1].append(wall(baseline))
    return {name: (statistics.median(a), statistics.median(b)) for name, (a, b) in times.items()}


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        bare = Path(tmp) / "bare_typer.py"
        bare.write_text(BARE_APP, encoding="utf-8")
        home = Path(tmp) / "home"
        env_home = ["--home", str(home)]
        subprocess.run([*cli(), *env_home, "demo"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        bare_cmd = [sys.executable, str(bare)]
        result = medians({
            "cli_help_s": ([*cli(), "--help"], [*bare_cmd, "--help"]),
            "stats_json_s": ([*cli(), *env_home, "stats", "--json"], [*bare_cmd, *env_home, "stats", "--json"]),
        })
    figures = {}
    for name, (value, baseline) in result.items():
        figures[name] = figure(value, "s", baseline, runs=REPEAT)
        print(f"   {name}: {value:.3f} s (bare Typer app {baseline:.3f} s, ×{value / baseline:.2f})")
    return figures


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
