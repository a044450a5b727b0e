"""Speed of the offline source: reading the bundled sample folder.

Baseline: instaloader's own `load_structure_from_file` over the same metadata files, without
looking for pictures or building posts — the floor of what reading this format costs.
"""

from __future__ import annotations

import time
from pathlib import Path

import instaloader

from campaign_worker.sources.archive import OfflineContext, read_archive
from figures import figure

SAMPLE = Path(__file__).resolve().parent.parent / "sample" / "meinherztraegtkrone"
ROUNDS = 5


def _best_of(function) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> dict:
    files = sorted(str(p) for p in SAMPLE.glob("*.json.xz"))
    context = OfflineContext()
    posts = len(read_archive(SAMPLE).posts)
    ours = posts / _best_of(lambda: read_archive(SAMPLE))
    baseline = len(files) / _best_of(lambda: [instaloader.load_structure_from_file(context, f) for f in files])
    return {
        "archive_read_posts_per_s": figure(ours, "posts/s", baseline)
    }


if __name__ == "__main__":
    print(main())
