"""Run every benchmark in bench/ (or the ones named) and write bench/results.json.

Each `bench_<area>.py` has `main() -> {figure: {"value", "unit", "baseline", "ratio"}}`; the
baseline is measured in the same run, so ratios compare like with like on this machine.
Usage: python bench/run.py [area ...]   e.g. `python bench/run.py ingest moderation`
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.json"


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    sys.path[:0] = [str(HERE), str(HERE.parent)]
    wanted = set(argv)
    scripts = sorted(p for p in HERE.glob("bench_*.py") if not wanted or p.stem.removeprefix("bench_") in wanted)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    failed = []
    for script in scripts:
        print(f"== {script.stem}", flush=True)
        started = time.perf_counter()
        try:
            figures = load(script).main()
        except Exception:
            traceback.print_exc()
            failed.append(script.stem)
            continue
        results.update(figures)
        RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"   ({time.perf_counter() - started:.1f} s)")
    print(f"\n{'figure':40} {'value':>14} {'unit':10} {'baseline':>14} {'ratio':>8}")
    for name, fig in sorted(results.items()):
        ratio = "–" if fig["ratio"] is None else f"{fig['ratio']:.3f}"
        print(f"{name:40} {fig['value']:>14.4g} {fig['unit']:10} {fig['baseline']:>14.4g} {ratio:>8}")
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
