"""Retrain the audience model (`audience_model.npz`) from labelled captions.

`python -m campaign_worker.moderation.audience_train [--data FILE ...] [--out FILE] [--seed N]`

Reads the genuine posts of the development files (default: `tests/data/moderation/dev.jsonl`
and every file in `tests/data/moderation/extra/`), builds the feature vocabulary (features
seen in at least two posts), fits one L2-regularised logistic regression per audience key on
the posts of the campaigns that have that key (text features plus the rule evidence), and
chooses the decision threshold from out-of-fold predictions (k-fold, seeded). The same data
and seed give the same file. `holdout.jsonl` and `holdout_b.jsonl` are refused: they are only ever measured.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np

from campaign_worker.config.campaigns import Campaign, parse_campaign
from campaign_worker.home import defaults_root
from campaign_worker.moderation import audience_model
from campaign_worker.moderation.audience_model import RULE_FEATURES, AudienceModel, features, rule_features
from campaign_worker.moderation.audiences import SECONDARY_MIN, SECONDARY_SHARE, read_post, rule_evidence
from campaign_worker.moderation.train import is_held_out

SEED = 20261127
FOLDS = 5
C = 4.0  # inverse regularisation strength
RULE_SCALE = 3.0  # the rule features' scale against the L2-normalised text features
MIN_DF = 2
THRESHOLDS = tuple(round(0.2 + 0.05 * i, 2) for i in range(12))  # 0.20 … 0.75


def data_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "moderation"


def default_data() -> list[Path]:
    return [p for p in (data_dir() / "dev.jsonl", *sorted((data_dir() / "extra").glob("*.jsonl"))) if p.exists()]


def shipped_campaigns() -> dict[str, Campaign]:
    folder = defaults_root() / "config" / "campaigns"
    return {p.stem: parse_campaign(p) for p in sorted(folder.glob("*.toml"))}


def load(paths: list[Path], campaigns: dict[str, Campaign]) -> list[dict]:
    rows = []
    for path in paths:
        if is_held_out(path):
            raise SystemExit(f"{path}: the held-out half is only measured, never trained on")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("label") == "genuine" and row.get("campaign") in campaigns:
                    rows.append(row)
    return rows


class Prepared:
    """Each post read once: its text features, rule scores and true audiences."""

    def __init__(self, rows: list[dict], campaigns: dict[str, Campaign]):
        self.rows = rows
        self.keys_of = [[a.key for a in campaigns[r["campaign"]].audiences] for r in rows]
        self.features, self.scores = [], []
        for row in rows:
            campaign = campaigns[row["campaign"]]
            prose, tags = read_post(campaign, row["caption"])
            self.features.append(features(prose, tags))
            self.scores.append({k: sum(w.values()) for k, w in rule_evidence(campaign, prose, tags).items()})
        self.all_keys = tuple(sorted({k for keys in self.keys_of for k in keys}))


def fit(data: Prepared, idx: list[int], seed: int) -> AudienceModel:
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    counts: dict[str, int] = {}
    for i in idx:
        for f in data.features[i]:
            counts[f] = counts.get(f, 0) + 1
    vocabulary = {f: n for n, f in enumerate(sorted(f for f, c in counts.items() if c >= MIN_DF))}
    coef = np.zeros((len(vocabulary), len(data.all_keys)))
    rule_coef = np.zeros((len(RULE_FEATURES), len(data.all_keys)))
    intercept = np.zeros(len(data.all_keys))
    for j, key in enumerate(data.all_keys):
        mine = [i for i in idx if key in data.keys_of[i]]
        indptr, indices, values, y = [0], [], [], []
        for i in mine:
            present = sorted(vocabulary[f] for f in data.features[i] if f in vocabulary)
            weight = 1.0 / math.sqrt(len(present)) if present else 0.0
            indices += present + [len(vocabulary) + k for k in range(len(RULE_FEATURES))]
            values += [weight] * len(present) + [RULE_SCALE * v for v in rule_features(data.scores[i], key)]
            indptr.append(len(indices))
            y.append(key in data.rows[i]["audiences"])
        x = csr_matrix((values, indices, indptr), shape=(len(mine), len(vocabulary) + len(RULE_FEATURES)))
        clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, tol=1e-5, random_state=seed).fit(x, np.array(y))
        coef[:, j] = clf.coef_[0, :len(vocabulary)]
        rule_coef[:, j] = clf.coef_[0, len(vocabulary):]
        intercept[j] = clf.intercept_[0]
    params = {"rule_scale": RULE_SCALE, "C": C, "min_df": MIN_DF, "seed": seed, "posts": len(idx), "threshold": 0.5}
    return AudienceModel(data.all_keys, vocabulary, coef, rule_coef, intercept, params)


def chosen(probabilities: dict[str, float], threshold: float) -> set[str]:
    """The audiences `match_audiences` would give for these probabilities (learned keys only)."""
    above = {k: p for k, p in probabilities.items() if p >= threshold}
    if not above:
        return set()
    best = max(above, key=above.__getitem__)
    return {best} | {k for k, p in above.items() if p >= max(above[best] * SECONDARY_SHARE, SECONDARY_MIN)}


def macro_f1(data: Prepared, predictions: list[set[str]]) -> float:
    scores = []
    for slug in sorted({r["campaign"] for r in data.rows}):
        mine = [i for i, r in enumerate(data.rows) if r["campaign"] == slug]
        for key in data.keys_of[mine[0]]:
            tp = sum(key in predictions[i] and key in data.rows[i]["audiences"] for i in mine)
            fp = sum(key in predictions[i] and key not in data.rows[i]["audiences"] for i in mine)
            fn = sum(key not in predictions[i] and key in data.rows[i]["audiences"] for i in mine)
            scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores)


def out_of_fold(data: Prepared, seed: int) -> list[dict[str, float]]:
    """Each post's probabilities from a model that did not see it."""
    order = np.random.default_rng(seed).permutation(len(data.rows))
    folds = [sorted(order[k::FOLDS].tolist()) for k in range(FOLDS)]
    result: list[dict[str, float]] = [{} for _ in data.rows]
    for k, test in enumerate(folds):
        train = sorted(i for f, fold in enumerate(folds) if f != k for i in fold)
        model = fit(data, train, seed)
        for i in test:
            result[i] = model.probabilities_from(data.features[i], data.scores[i], data.keys_of[i])
    return result


def train(paths: list[Path], seed: int = SEED) -> tuple[AudienceModel, dict]:
    campaigns = shipped_campaigns()
    data = Prepared(load(paths, campaigns), campaigns)
    oof = out_of_fold(data, seed)
    report = {f"{t:.2f}": round(macro_f1(data, [chosen(p, t) for p in oof]), 4) for t in THRESHOLDS}
    # The best threshold by the mean with its neighbours: one lucky fold split is not a reason.
    values = list(report.values())
    smoothed = {t: sum(values[n - 1:n + 2]) / 3 for n, t in enumerate(report) if 0 < n < len(values) - 1}
    threshold = float(max(smoothed, key=lambda t: (smoothed[t], -abs(float(t) - 0.5))))
    model = fit(data, list(range(len(data.rows))), seed)
    model.params.update(threshold=threshold, data=[p.name for p in paths])
    return model, {"out_of_fold_macro_f1": report, "threshold": threshold, "posts": len(data.rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, action="append", help="labelled JSONL (repeatable); default: dev + extra")
    parser.add_argument("--out", type=Path, default=audience_model.MODEL_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    model, report = train(args.data or default_data(), args.seed)
    model.save(args.out)
    print(json.dumps({"out": str(args.out), **report}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
