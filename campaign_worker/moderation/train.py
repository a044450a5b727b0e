"""Retraining the moderation model from the labelled development half (`tests/data/moderation/dev.jsonl`).

`python -m campaign_worker.moderation.train [--data FILE] [--out FILE] [--seed N]` (or
`campaign-worker moderate-train`) fits a multinomial logistic regression on hashed character
n-grams plus the relevance signals, then chooses the two thresholds the engine uses from
out-of-fold predictions inside the same file (k-fold, seeded):

- `approve_at`: P(genuine) from which a clean, on-topic post counts as confidently genuine;
  chosen so that at most `APPROVE_JUNK_SHARE` of the junk posts reach it;
- `reject_at.<label>`: P(label) from which a post is rejected for that label (spam, profanity,
  hate, offtopic); chosen above every genuine post's out-of-fold P(label), plus a margin,
  and never below `REJECT_FLOOR`.

The same data and seed give the same file. The held-out half is never read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from campaign_worker.config.campaigns import Campaign, parse_campaign
from campaign_worker.home import defaults_root
from campaign_worker.moderation.model import EXTRA, FEATURES, LABELS, MODEL_PATH, N_FEATURES, NGRAMS, TextModel, featurise
from campaign_worker.moderation.normalize import normalize
from campaign_worker.moderation.relevance import RelevanceRule

SEED = 20261127
FOLDS = 4
C = 10.0
APPROVE_JUNK_SHARE = 0.005  # of junk posts that may reach `approve_at` out of fold (target: 1 %)
REJECT_MARGIN = 0.05  # added to the highest out-of-fold P(label) of a genuine post
REJECT_FLOOR = 0.85  # never reject on the model alone below this probability


def dev_path() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "moderation" / "dev.jsonl"


def load_rows(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = {r.get("label") for r in rows} - set(LABELS)
    if unknown:
        raise ValueError(f"{path}: unknown labels {sorted(map(str, unknown))}; expected {', '.join(LABELS)}")
    return rows


def shipped_campaigns() -> dict[str, Campaign]:
    folder = defaults_root() / "config" / "campaigns"
    return {p.stem: parse_campaign(p) for p in sorted(folder.glob("*.toml"))}


def model_inputs(rows: list[dict], campaigns: dict[str, Campaign]) -> tuple[list[str], np.ndarray]:
    """Folded texts and relevance features, exactly as the engine computes them."""
    rules = {slug: RelevanceRule(c) for slug, c in campaigns.items()}
    texts, extra = [], []
    for row in rows:
        text = normalize(row.get("caption") or "").text
        rule = rules.get(row.get("campaign") or "", None)
        texts.append(text)
        extra.append(rule.signals(text).features() if rule else (0.0,) * len(EXTRA))
    return texts, np.array(extra, dtype=np.float64)


def _fit(x, y, seed: int):
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=C, max_iter=300, tol=1e-3, random_state=seed).fit(x, y)


def _matrix(texts: list[str], extra: np.ndarray):
    """Text features (`model.featurise`, as prediction computes them) beside the relevance features."""
    from scipy.sparse import csr_matrix, hstack

    found = featurise(texts)
    text_part = csr_matrix((found.values, found.columns, found.indptr), shape=(len(texts), N_FEATURES))
    return hstack([text_part, csr_matrix(extra)]).tocsr()


def out_of_fold(x, y: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    probabilities = np.zeros((len(y), len(LABELS)))
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        probabilities[test] = _fit(x[train], y[train], seed).predict_proba(x[test])
    return probabilities


def thresholds(probabilities: np.ndarray, y: np.ndarray) -> dict[str, float]:
    genuine = probabilities[:, 0]
    junk = np.sort(genuine[y != 0])[::-1]
    allowed = int(APPROVE_JUNK_SHARE * len(junk))
    approve_at = float(junk[allowed]) + 1e-6 if len(junk) else 0.5
    chosen = {"approve_at": round(max(approve_at, 0.5), 6)}
    for index, label in enumerate(LABELS[1:], 1):
        highest = float(probabilities[y == 0, index].max()) if (y == 0).any() else 0.5
        chosen[f"reject_at.{label}"] = round(min(max(highest + REJECT_MARGIN, REJECT_FLOOR), 0.99), 6)
    return chosen


def train(path: Path, seed: int = SEED) -> tuple[TextModel, dict]:
    rows = load_rows(path)
    texts, extra = model_inputs(rows, shipped_campaigns())
    y = np.array([LABELS.index(r["label"]) for r in rows])
    x = _matrix(texts, extra)
    chosen = thresholds(out_of_fold(x, y, seed), y)
    clf = _fit(x, y, seed)
    coef = clf.coef_.T  # (features, labels)
    text_part, extra_part = coef[:N_FEATURES], coef[N_FEATURES:]
    columns = np.flatnonzero(np.abs(text_part).max(axis=1) > 1e-4).astype(np.int32)
    params = {"features": FEATURES, "n_features": N_FEATURES, "ngrams": list(NGRAMS), "seed": seed, "C": C, "rows": len(rows),
              "data": path.name, **chosen}
    model = TextModel(LABELS, clf.intercept_, columns, text_part[columns], extra_part, params)
    return model, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Moderationsmodell neu trainieren / retrain the moderation model")
    parser.add_argument("--data", type=Path, default=dev_path())
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    model, chosen = train(args.data, args.seed)
    model.save(args.out)
    print(f"{args.out}: {model.n_columns} Spalten / columns, " + ", ".join(f"{k}={v}" for k, v in chosen.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
