"""Moderation quality on the labelled halves, and speed of the full pipeline (rules + model).

Quality, per split of `tests/data/moderation/` (`dev`: the model was trained and the rules tuned
on it, so its figures are optimistic; `holdout`: written apart from the code, only measured):
every line goes through `Moderator.evaluate` of its campaign (the shipped files), with the
vulgar policy `review` and `reject`, at the trust level `confident`.
- reject precision: rejected junk / all rejected (target 0.97); genuine rejected (target 0);
- reject recall: rejected junk / all junk (target 0.85), also per reject reason (label);
- confident approvals: share of genuine posts approved (target ≥ 0.5) and of junk approved (≤ 0.01).
The old small corpus `tests/data/moderation_corpus.jsonl` stays a regression set with its own
`expected` decisions (Siegen campaign, trust level `partners`).

Speed: 100,000 synthetic posts (corpus captions with random words, authors, times and picture
hashes mixed in) through `Moderator.evaluate_many` in the moderation job's batches (500 posts;
the same decisions as `evaluate` one by one, tested), single-threaded, best of two passes (the
machine is shared). Baseline: one compiled regex alternation of all blocklist words searched in the
same captions (what a bare word filter costs; it does none of the other rules).
"""

from __future__ import annotations

import json
import random
import re
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from campaign_worker.config.campaigns import Campaign, parse_campaign  # noqa: E402
from campaign_worker.home import Home  # noqa: E402
from campaign_worker.moderation.blocklist import SECTIONS, list_path, load_terms  # noqa: E402
from campaign_worker.moderation.engine import Moderator  # noqa: E402
from campaign_worker.moderation.job import BATCH as JOB_BATCH  # noqa: E402
from campaign_worker.moderation.verdict import Candidate  # noqa: E402
from campaign_worker.post import extract_hashtags  # noqa: E402
from figures import figure

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "data" / "moderation_corpus.jsonl"
SPLITS = {name: REPO / "tests" / "data" / "moderation" / f"{name}.jsonl" for name in ("dev", "holdout", "holdout_b", "holdout_c")}
JUNK = ("spam", "profanity", "hate", "offtopic")
BLOCKED_IN_CORPUS = ["followers_fabrik", "troll_siegen"]
SYNTHETIC_POSTS = 100_000
TARGETS = {"reject_precision": 0.97, "reject_recall": 0.85, "approve_precision": 0.97,
           "genuine_approved": 0.5, "junk_approved": 0.01}


def bench_home() -> Home:
    """A home without user files: every list and campaign comes from the shipped defaults."""
    return Home(REPO / "bench" / ".no-home")


def bench_campaign() -> Campaign:
    campaign = parse_campaign(REPO / "config" / "campaigns" / "siegen.toml")
    return campaign.model_copy(update={"blocked_accounts": BLOCKED_IN_CORPUS})


def load_corpus(path: Path = CORPUS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def candidate_from(row: dict, posted_at: datetime | None = None) -> Candidate:
    hashtags = tuple(row.get("hashtags") or extract_hashtags(row["caption"]))
    image = row.get("image_hash")
    return Candidate(
        key=f"corpus:{row['id']}",
        caption=row["caption"],
        author=row.get("author"),
        hashtags=hashtags,
        posted_at=posted_at or datetime.fromisoformat(row["posted_at"]).astimezone(timezone.utc),
        image_hashes=(image,) if image else (),
    )


def evaluate_split(rows: list[dict], home: Home, vulgar: str, level: str = "confident") -> list[tuple[dict, object]]:
    """Each row through its campaign's moderator; posts spread over time so daily caps stay out of it."""
    moderators = {}
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    results = []
    for n, row in enumerate(rows):
        slug = row["campaign"]
        if slug not in moderators:
            campaign = parse_campaign(REPO / "config" / "campaigns" / f"{slug}.toml")
            settings = campaign.moderation.model_copy(update={"vulgar": vulgar})
            moderators[slug] = Moderator(campaign.model_copy(update={"moderation": settings}), home, auto_approve=level)
        results.append((row, moderators[slug].evaluate(candidate_from(row, start + timedelta(days=n)))))
    return results


def split_quality(results: list[tuple[dict, object]]) -> dict[str, float]:
    def share(good: int, total: int) -> float:
        return good / total if total else 1.0

    pairs = [(row["label"], outcome.decision) for row, outcome in results]  # type: ignore[attr-defined]
    rejected = [label for label, decision in pairs if decision == "reject"]
    junk = [decision for label, decision in pairs if label != "genuine"]
    genuine = [decision for label, decision in pairs if label == "genuine"]
    figures = {
        "reject_precision": share(sum(label != "genuine" for label in rejected), len(rejected)),
        "reject_recall": share(junk.count("reject"), len(junk)),
        "genuine_rejected": float(genuine.count("reject")),
        "genuine_approved": share(genuine.count("approve"), len(genuine)),
        "junk_approved": share(junk.count("approve"), len(junk)) if junk else 0.0,
        "review_share": share(sum(d == "review" for _, d in pairs), len(pairs)),
    }
    for reason in JUNK:
        of_reason = [decision for label, decision in pairs if label == reason]
        figures[f"recall_{reason}"] = share(of_reason.count("reject"), len(of_reason))
    return figures


def print_split(name: str, vulgar: str, results: list[tuple[dict, object]], figures: dict[str, float], show: bool) -> None:
    confusion: dict[str, Counter] = defaultdict(Counter)
    for row, outcome in results:
        confusion[row["label"]][outcome.decision] += 1  # type: ignore[attr-defined]
    print(f"{name} (vulgar={vulgar}, auto_approve=confident): {len(results)} posts")
    print(f"  {'label':10} {'approve':>8} {'review':>8} {'reject':>8}")
    for label in ("genuine",) + JUNK:
        counts = confusion.get(label, Counter())
        print(f"  {label:10} {counts['approve']:>8} {counts['review']:>8} {counts['reject']:>8}")
    print("  " + ", ".join(f"{k} {v:.3f}" for k, v in figures.items()))
    if show:  # errors are printed for the development half only: the held-out half is never tuned on
        for row, outcome in results:
            bad = (row["label"] == "genuine" and outcome.decision == "reject") or (row["label"] != "genuine" and outcome.decision == "approve")  # type: ignore[attr-defined]
            if bad:
                print(f"    {row['id']:10} {row['label']:9} {outcome.decision:7} {outcome.rule:22} {row['caption'][:70]!r}")  # type: ignore[attr-defined]


def evaluate_corpus(rows: list[dict], home: Home, campaign: Campaign) -> list[tuple[dict, object]]:
    moderator = Moderator(campaign, home)
    return [(row, moderator.evaluate(candidate_from(row))) for row in rows]


def quality(results: list[tuple[dict, object]]) -> dict[str, float]:
    def share(good: int, total: int) -> float:
        return good / total if total else 1.0

    decided = [(row["expected"], outcome.decision) for row, outcome in results]  # type: ignore[attr-defined]
    figures = {}
    for decision, name in (("reject", "reject"), ("approve", "approve")):
        predicted = [e for e, d in decided if d == decision]
        figures[f"{name}_precision"] = share(sum(e == decision for e in predicted), len(predicted))
        figures[f"{name}_recall"] = share(sum(d == decision for e, d in decided if e == decision), sum(e == decision for e, _ in decided))
    figures["agreement"] = share(sum(e == d for e, d in decided), len(decided))
    return figures


def print_report(results: list[tuple[dict, object]], figures: dict[str, float]) -> None:
    confusion: dict[str, Counter] = defaultdict(Counter)
    for row, outcome in results:
        confusion[row["label"]][outcome.decision] += 1  # type: ignore[attr-defined]
    print(f"corpus: {len(results)} posts")
    print(f"{'label':10} {'approve':>8} {'review':>8} {'reject':>8}")
    for label in ("genuine", "offtopic", "spam", "insult", "hate", "sexual"):
        counts = confusion.get(label, Counter())
        print(f"{label:10} {counts['approve']:>8} {counts['review']:>8} {counts['reject']:>8}")
    for name, value in figures.items():
        print(f"  {name:20} {value:.3f}")
    mismatches = [(row, o) for row, o in results if o.decision != row["expected"]]  # type: ignore[attr-defined]
    print(f"disagreements with the expected decision: {len(mismatches)}")
    for row, outcome in mismatches:
        print(f"  {row['id']:9} {row['label']:8} expected {row['expected']:7} got {outcome.decision:7} "  # type: ignore[attr-defined]
              f"{outcome.rule:22} {row['caption'][:60]!r}")  # type: ignore[attr-defined]
    genuine_rejected = [(row, o) for row, o in results if row["label"] == "genuine" and o.decision == "reject"]  # type: ignore[attr-defined]
    print(f"genuine posts auto-rejected: {len(genuine_rejected)}")
    for row, outcome in genuine_rejected:
        cause = "SUBSTRING/BLOCKLIST" if outcome.rule.startswith("blocklist") else outcome.rule  # type: ignore[attr-defined]
        print(f"  {row['id']:9} {cause:22} {row.get('note') or ''} {row['caption'][:60]!r}")


_FILLER = (
    "heute morgen wieder endlich super schön team stadt wald arbeit kollegen familie kinder sommer herbst winter "
    "frühling abend wochenende ausflug kaffee kuchen freunde siegen krone blick berg fluss brücke markt fest neu "
    "today again finally great team city forest work colleagues family kids weekend coffee friends view river"
).split()


def synthetic_posts(rows: list[dict], count: int, seed: int = 7) -> list[Candidate]:
    """Corpus captions with random words in, random authors, times and picture hashes (realistic mix)."""
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    authors = [f"user_{n}" for n in range(count // 4)] + [r["author"] for r in rows]
    posts = []
    for n in range(count):
        row = rows[rng.randrange(len(rows))]
        words = rng.sample(_FILLER, 3)
        caption = f"{' '.join(words[:2])} {row['caption']} {words[2]}"
        posts.append(Candidate(
            key=f"synthetic:{n}",
            caption=caption,
            author=rng.choice(authors),
            hashtags=tuple(extract_hashtags(caption)),
            posted_at=start + timedelta(seconds=rng.randrange(90 * 86400)),
            image_hashes=(f"{rng.getrandbits(64):016x}",),
        ))
    return posts


def blocklist_alternation(home: Home, campaign: Campaign) -> re.Pattern[str]:
    words = []
    for name in campaign.moderation.blocklists:
        path = list_path(home, f"blocklist-{name}.txt")
        words += [t.core for t in load_terms(path, SECTIONS)]  # type: ignore[arg-type]
    return re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, set(words)), key=len, reverse=True)) + r")\b", re.IGNORECASE)


def throughput(rows: list[dict], home: Home, campaign: Campaign, passes: int = 2) -> tuple[float, float]:
    """Best of `passes` runs (a fresh Moderator each, so every run builds its history from zero)."""
    posts = synthetic_posts(rows, SYNTHETIC_POSTS)
    pipeline = 0.0
    for _ in range(passes):
        moderator = Moderator(campaign, home)
        started = time.perf_counter()
        for start in range(0, len(posts), JOB_BATCH):  # as the moderation job hands them over
            moderator.evaluate_many(posts[start : start + JOB_BATCH])
        pipeline = max(pipeline, len(posts) / (time.perf_counter() - started))
    regex = blocklist_alternation(home, campaign)
    captions = [p.caption for p in posts]
    baseline = 0.0
    for _ in range(passes):
        started = time.perf_counter()
        for caption in captions:
            regex.search(caption)
        baseline = max(baseline, len(captions) / (time.perf_counter() - started))
    return pipeline, baseline


def main() -> dict[str, dict[str, float | str]]:
    home, campaign = bench_home(), bench_campaign()
    rows = load_corpus()
    results = evaluate_corpus(rows, home, campaign)
    figures = quality(results)
    print_report(results, figures)
    out: dict[str, dict[str, float | str]] = {
        "moderation_legacy_reject_precision": figure(figures["reject_precision"], "fraction", TARGETS["reject_precision"]),
        "moderation_legacy_reject_recall": figure(figures["reject_recall"], "fraction", TARGETS["reject_recall"]),
    }
    for name, path in SPLITS.items():
        split_rows = load_corpus(path)
        for vulgar in ("review", "reject"):
            split = split_quality(results := evaluate_split(split_rows, home, vulgar))
            print_split(name, vulgar, results, split, show=name == "dev")
            prefix = f"moderation_{name}_{vulgar}"
            out[f"{prefix}_reject_precision"] = figure(split["reject_precision"], "fraction", TARGETS["reject_precision"])
            out[f"{prefix}_reject_recall"] = figure(split["reject_recall"], "fraction", TARGETS["reject_recall"])
            out[f"{prefix}_genuine_rejected"] = figure(split["genuine_rejected"], "posts", 0)
            out[f"{prefix}_genuine_approved"] = figure(split["genuine_approved"], "fraction", TARGETS["genuine_approved"])
            out[f"{prefix}_junk_approved"] = figure(split["junk_approved"], "fraction", TARGETS["junk_approved"])
            for reason in JUNK:
                out[f"{prefix}_recall_{reason}"] = figure(split[f"recall_{reason}"], "fraction", TARGETS["reject_recall"])
    pipeline, baseline = throughput(rows, home, campaign)
    print(f"throughput: {pipeline:,.0f} posts/s (bare blocklist regex: {baseline:,.0f} posts/s)")
    out["moderation_posts_per_s"] = figure(pipeline, "posts/s", baseline)
    return out


if __name__ == "__main__":
    print(json.dumps(main(), indent=2))
