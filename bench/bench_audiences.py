"""Audience matching against the labelled captions: macro F1 per split, and posts per second.

Genuine posts of tests/data/moderation/{dev,holdout}.jsonl and moderation/extra/audiences.jsonl
(a second development set, written separately) carry `audiences` (primary first).
F1 is computed per audience of each campaign over that campaign's genuine posts, then
averaged (macro). The baseline is the keyword matching the campaigns' files alone give: every
audience whose `keywords` occur in the caption or hashtags. Tune on dev; holdout is only
measured.
Usage: python bench/run.py audiences   or   python bench/bench_audiences.py [--split dev|extra|FILE ...]
       python bench/bench_audiences.py --errors dev|extra   (never holdout)
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import figure  # noqa: E402

from campaign_worker.config.campaigns import fold_hashtag, parse_campaign  # noqa: E402
from campaign_worker.moderation.audiences import match_audiences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "moderation"
SPLITS = {"dev": DATA / "dev.jsonl", "extra": DATA / "extra" / "audiences.jsonl", "holdout": DATA / "holdout.jsonl",
          "holdout_b": DATA / "holdout_b.jsonl", "holdout_c": DATA / "holdout_c.jsonl"}


def campaigns() -> dict:
    return {p.stem: parse_campaign(p) for p in (ROOT / "config" / "campaigns").glob("*.toml")}


def labelled(split: str) -> list[dict]:
    """Genuine posts of a split by name (dev, extra, holdout) or of a JSONL file by path."""
    path = SPLITS.get(split) or Path(split)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["label"] == "genuine"]


def keyword_baseline(campaign, caption: str) -> list[str]:
    """Every audience one of whose campaign keywords starts a word of the post."""
    text = fold_hashtag(caption)
    return [a.key for a in campaign.audiences
            if any(re.search(r"(?<!\w)" + re.escape(fold_hashtag(k)), text) for k in a.keywords)]


def macro_f1(rows: list[dict], predict, all_campaigns: dict) -> tuple[float, dict[str, float], float]:
    """(macro F1 over the audiences of the campaigns the rows belong to, F1 per campaign:audience, share of exact sets).

    A campaign without rows is left out: its audiences would count as F1 0 in a one-campaign file.
    """
    scores, exact = {}, 0
    for slug, campaign in all_campaigns.items():
        mine = [r for r in rows if r["campaign"] == slug]
        if not mine:
            continue
        guesses = [set(predict(campaign, r["caption"])) for r in mine]
        exact += sum(g == set(r["audiences"]) for g, r in zip(guesses, mine))
        for audience in campaign.audiences:
            tp = sum(audience.key in g and audience.key in r["audiences"] for g, r in zip(guesses, mine))
            fp = sum(audience.key in g and audience.key not in r["audiences"] for g, r in zip(guesses, mine))
            fn = sum(audience.key not in g and audience.key in r["audiences"] for g, r in zip(guesses, mine))
            scores[f"{slug}:{audience.key}"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return sum(scores.values()) / len(scores), scores, exact / len(rows)


def matched(campaign, caption: str) -> list[str]:
    return [m.key for m in match_audiences(campaign, caption)]


def main(splits: tuple[str, ...] = ("dev", "extra", "holdout", "holdout_b", "holdout_c")) -> dict:
    all_campaigns = campaigns()
    figures = {}
    for split in splits:
        if split in SPLITS and not SPLITS[split].exists():
            continue
        rows = [r for r in labelled(split) if r["campaign"] in all_campaigns]
        f1, per_audience, exact = macro_f1(rows, matched, all_campaigns)
        base, _, base_exact = macro_f1(rows, keyword_baseline, all_campaigns)
        print(f"   {split}: macro F1 {f1:.3f} (keywords only {base:.3f}), exact set {exact:.0%} (keywords only {base_exact:.0%})")
        print("     " + ", ".join(f"{k} {v:.2f}" for k, v in per_audience.items()))
        name = split if split in SPLITS else Path(split).stem
        figures[f"audiences_macro_f1_{name}"] = figure(f1, "F1", base, per_audience={k: round(v, 3) for k, v in per_audience.items()},
                                                        exact_set_share=round(exact, 3), posts=len(rows))
    rows = [r for r in labelled("dev") if r["campaign"] in all_campaigns] * 5
    started = time.perf_counter()
    for r in rows:
        matched(all_campaigns[r["campaign"]], r["caption"])
    ours = len(rows) / (time.perf_counter() - started)
    started = time.perf_counter()
    for r in rows:
        keyword_baseline(all_campaigns[r["campaign"]], r["caption"])
    base = len(rows) / (time.perf_counter() - started)
    figures["audiences_posts_per_s"] = figure(ours, "posts/s", base)
    return figures


def errors(split: str) -> None:
    """Print the posts of a split whose audiences the matching gets wrong (dev or extra, never holdout)."""
    if split.startswith("holdout") or Path(split).name.startswith("holdout"):
        sys.exit("holdout is only measured: its errors are not printed")
    all_campaigns = campaigns()
    for r in labelled(split):
        campaign = all_campaigns[r["campaign"]]
        got = match_audiences(campaign, r["caption"])
        if {m.key for m in got} != set(r["audiences"]):
            shown = "; ".join(f"{m.key} {m.score} {'/'.join(m.words)}" for m in got)
            print(f"{r['id']} want {r['audiences']} got [{shown}] | {r['caption'][:160]!r}")


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "bench"), str(ROOT)]
    if sys.argv[1:2] == ["--errors"]:
        errors(sys.argv[2] if len(sys.argv) > 2 else "dev")
    elif sys.argv[1:2] == ["--split"]:
        main(tuple(sys.argv[2:]) or ("dev",))
    else:
        main()
