"""Retrain the audience model (`audience_model.npz`) from labelled captions.

`python -m campaign_worker.moderation.audience_train [--data FILE ...] [--out FILE] [--seed N]`

Reads the genuine posts of the development files (default: `tests/data/moderation/dev.jsonl`
and every file in `tests/data/moderation/extra/`), weighs the words and character n-grams
tf-idf (`TfidfVectorizer` with the model's own analyzers; terms seen in at least two posts),
fits one L2-regularised logistic regression per audience key on the posts of the campaigns
that have that key (text features plus the rule evidence), and chooses the decision threshold
from out-of-fold predictions. The folds keep each file whole, so every post is judged by a
model that never saw its writer (files are written by one writer each); with fewer files
than folds, posts are dealt out at random (seeded). The same data and seed give the same file.
The held-out halves (`holdout*.jsonl`) are refused: they are only ever measured.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from campaign_worker.config.campaigns import Campaign, parse_campaign
from campaign_worker.home import defaults_root
from campaign_worker.moderation import audience_model
from campaign_worker.moderation.audience_model import BLOCKS, RULE_FEATURES, AudienceModel, char_terms, model_text, rule_features, word_terms
from campaign_worker.moderation.audiences import SECONDARY_MIN, SECONDARY_SHARE, read_post, rule_evidence
from campaign_worker.moderation.train import is_held_out

SEED = 20261127
FOLDS = 5
C = 20.0  # inverse regularisation strength
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
                    rows.append({**row, "file": path.name})
    return rows


class Prepared:
    """Each post read once: what the model reads, its rule scores and true audiences."""

    def __init__(self, rows: list[dict], campaigns: dict[str, Campaign]):
        self.rows = rows
        self.keys_of = [[a.key for a in campaigns[r["campaign"]].audiences] for r in rows]
        self.posts, self.texts, self.scores = [], [], []
        for row in rows:
            campaign = campaigns[row["campaign"]]
            prose, tags = read_post(campaign, row["caption"])
            self.posts.append((prose, tags))
            self.texts.append(model_text(prose, tags))
            self.scores.append({k: sum(w.values()) for k, w in rule_evidence(campaign, prose, tags).items()})
        self.all_keys = tuple(sorted({k for keys in self.keys_of for k in keys}))


def fit(data: Prepared, idx: list[int], seed: int) -> AudienceModel:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorisers = [TfidfVectorizer(analyzer=analyzer, min_df=MIN_DF, sublinear_tf=True) for analyzer in (word_terms, char_terms)]
    text = hstack([v.fit([data.texts[i] for i in idx]).transform(data.texts) for v in vectorisers]).tocsr()
    vocabulary: dict[str, int] = {}
    for prefix, vectoriser in zip(BLOCKS, vectorisers):
        offset = len(vocabulary)
        vocabulary.update({prefix + term: offset + n for term, n in vectoriser.vocabulary_.items()})
    idf = np.concatenate([v.idf_ for v in vectorisers])
    coef = np.zeros((len(vocabulary), len(data.all_keys)))
    rule_coef = np.zeros((len(RULE_FEATURES), len(data.all_keys)))
    intercept = np.zeros(len(data.all_keys))
    for j, key in enumerate(data.all_keys):
        mine = [i for i in idx if key in data.keys_of[i]]
        rules = csr_matrix(np.array([[RULE_SCALE * v for v in rule_features(data.scores[i], key)] for i in mine]).reshape(len(mine), -1))
        x = hstack([text[mine], rules]).tocsr()
        y = np.array([key in data.rows[i]["audiences"] for i in mine])
        clf = LogisticRegression(C=C, solver="liblinear", max_iter=1000, tol=1e-5, random_state=seed).fit(x, y)
        coef[:, j] = clf.coef_[0, :len(vocabulary)]
        rule_coef[:, j] = clf.coef_[0, len(vocabulary):]
        intercept[j] = clf.intercept_[0]
    params = {"rule_scale": RULE_SCALE, "C": C, "min_df": MIN_DF, "seed": seed, "posts": len(idx), "threshold": 0.5}
    return AudienceModel(data.all_keys, vocabulary, idf, coef, rule_coef, intercept, params)


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


def folds(data: Prepared, seed: int) -> list[list[int]]:
    """FOLDS groups of posts; whole files (writers) when there are enough of them."""
    files = sorted({r["file"] for r in data.rows})
    if len(files) < FOLDS:
        order = np.random.default_rng(seed).permutation(len(data.rows))
        return [sorted(order[k::FOLDS].tolist()) for k in range(FOLDS)]
    size = {f: sum(r["file"] == f for r in data.rows) for f in files}
    bucket = {f: n % FOLDS for n, f in enumerate(sorted(files, key=lambda f: (-size[f], f)))}  # largest first, dealt round
    return [[i for i, r in enumerate(data.rows) if bucket[r["file"]] == k] for k in range(FOLDS)]


def out_of_fold(data: Prepared, seed: int) -> list[dict[str, float]]:
    """Each post's probabilities from a model that did not see it (nor, given enough files, its writer)."""
    result: list[dict[str, float]] = [{} for _ in data.rows]
    parts = folds(data, seed)
    for k, test in enumerate(parts):
        train = sorted(i for f, part in enumerate(parts) if f != k for i in part)
        model = fit(data, train, seed)
        for i in test:
            result[i] = model.probabilities(model.read(*data.posts[i]), data.scores[i], data.keys_of[i])
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
