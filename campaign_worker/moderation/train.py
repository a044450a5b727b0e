"""Retraining the moderation model from the labelled training data in `tests/data/moderation/`.

The training data is the development half (`dev.jsonl`), the extra files in `extra/` (written
apart from both halves by other writers, see `tests/data/README.md`) and the old corpus `moderation_corpus.jsonl`; the
held-out half is refused. `python -m campaign_worker.moderation.train [--data FILE ...]
[--out FILE] [--seed N]` (or `campaign-worker moderate-train`) fits a multinomial logistic
regression on the hashed character n-grams and words of the caption and of the account name,
weighted tf-idf (`model.featurise`; the idf from the training texts; columns in fewer than
`MIN_DF` of them are not learned), plus the relevance signals and word families (`cues.py`).
Every post is shown twice at half weight, with its account name and without
(`_fit_both_ways`), so the captions carry the model alone where no name is known. Then it
chooses the thresholds the engine uses from out-of-fold predictions (with and without the
names) in which each source file is left out in turn (a writer the model has not seen; the
idf, too, comes from the other files):

- `approve_at`: P(genuine) from which a clean, on-topic post counts as confidently genuine;
  chosen so that at most `APPROVE_JUNK_SHARE` of the junk posts reach it, from the
  predictions without the names (the engine approves on the caption alone);
- `reject_at.<label>`: P(label) from which a post is rejected for that label (spam, profanity,
  hate, offtopic); chosen above all but `REJECT_GENUINE_SHARE` of the genuine posts'
  P(label), plus a margin, and never below `REJECT_FLOOR`;
- `reject_at.junk`: 1 - P(genuine) from which a post is rejected for its most likely junk
  label although no one label reaches its own threshold; chosen in the same way;
- `corroborate_at`: P(label) from which a rule's review request of the same kind becomes a
  rejection (two signals agreeing).

The same data and seed give the same file. The held-out half is never read here.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from campaign_worker.config.campaigns import Campaign, parse_campaign
from campaign_worker.home import defaults_root
from campaign_worker.moderation.model import FEATURES, LABELS, MODEL_PATH, Counted, Shape, TextModel, account_text, weigh
from campaign_worker.moderation.ngrams import document_frequency, inverse_document_frequency
from campaign_worker.moderation.normalize import normalize, word_count
from campaign_worker.moderation.cues import countered_by, model_features
from campaign_worker.moderation.relevance import NO_SIGNALS, PLACES_FILE, RelevanceRule, read_places

SEED = 20261127
FOLDS = 4
C = 10.0
MIN_DF = 2  # a hashed column must occur in this many training texts to be learned
APPROVE_JUNK_SHARE = 0.005  # of junk posts that may reach `approve_at` out of fold (target: 1 %)
REJECT_GENUINE_SHARE = 0.001  # of genuine posts whose out-of-fold P(label) may lie above `reject_at.<label>`
REJECT_MARGIN = 0.01  # added to that P(label)
REJECT_FLOOR = 0.9  # never reject on the model alone below this probability
# ... except for these labels in posts of `LONG_POST_WORDS` words or more. Hate is the kind the
# model leans towards most often without reaching 0.9; the floor guards short posts („Siegen 🫶“,
# „heimat 💚“), whose few words make any label look likely. Measured out of fold (each training
# file judged by a model trained without it, through the whole engine): hate from 0.817 (what
# training chose on that data) in posts of five words or more rejects 118 more of 1,826 hate
# posts and 3 more of 9,429 genuine ones; no other label gains as much per genuine post lost
# (bench/README.md).
LONG_POST_FLOORS = {"hate": 0.8}
LONG_POST_WORDS = 5
# The model may find a post junk beyond doubt while splitting it between two kinds (an ad that
# is spam or off-topic, a crude come-on that is spam or profanity), so no one kind reaches 0.9.
# `reject_at.junk` is chosen from 1 - P(genuine) as the others are from P(label), never below this.
JUNK_FLOOR = 0.95
CORROBORATE_AT = 0.6  # P(label) that turns a rule's review request of the same kind into a rejection
SHAPE = Shape()


def data_folder() -> Path:
    return Path(__file__).resolve().parents[2] / "tests" / "data" / "moderation"


def dev_path() -> Path:
    return data_folder() / "dev.jsonl"


def training_paths() -> list[Path]:
    """The development half, the extra files written apart from it, and the old corpus (never the holdout)."""
    return [dev_path(), *sorted((data_folder() / "extra").glob("*.jsonl")), data_folder().parent / "moderation_corpus.jsonl"]


def is_held_out(path: Path) -> bool:
    """The held-out halves (`holdout.jsonl`, `holdout_b.jsonl`, …): measured, never trained or tuned on."""
    return path.name.startswith("holdout")


# The old corpus's six-way labels: insults and sexual remarks are profanity here.
LEGACY_LABELS = {"insult": "profanity", "sexual": "profanity"}


class TrainingDataError(ValueError):
    """Training data that cannot be used; the message names the file (and the line or ids)."""


def load_rows(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise TrainingDataError(f"{path}, line {number}: {exc}") from None
        if not isinstance(row, dict):
            raise TrainingDataError(f"{path}, line {number}: expected a JSON object with caption, campaign, label")
        rows.append(row)
    for row in rows:
        row["label"] = LEGACY_LABELS.get(row.get("label"), row.get("label"))
        row.setdefault("campaign", "siegen")  # the old corpus was written for the Siegen campaign
        row["source"] = path.name
    unknown = {r.get("label") for r in rows} - set(LABELS)
    if unknown:
        raise TrainingDataError(f"{path}: unknown labels {sorted(map(str, unknown))}; expected {', '.join(LABELS)}")
    named_oddly = [str(r.get("id", n)) for n, r in enumerate(rows, 1) if not isinstance(r.get("author") or "", str)]
    if named_oddly:
        raise TrainingDataError(f"{path}: 'author' must be a string (an account name) in {', '.join(named_oddly[:5])}")
    return rows


def load_training(paths: list[Path]) -> list[dict]:
    held_out = [path.name for path in paths if is_held_out(path)]
    if held_out:
        raise TrainingDataError(f"{', '.join(held_out)}: held-out halves are only measured, never trained on")
    return [row for path in paths for row in load_rows(path)]


def shipped_campaigns() -> dict[str, Campaign]:
    folder = defaults_root() / "config" / "campaigns"
    return {p.stem: parse_campaign(p) for p in sorted(folder.glob("*.toml"))}


def model_inputs(rows: list[dict], campaigns: dict[str, Campaign]) -> tuple[list[str], np.ndarray]:
    """Folded texts and relevance features, as the engine computes them with the shipped places list."""
    places = read_places(defaults_root() / "config" / "moderation" / PLACES_FILE)
    rules = {slug: RelevanceRule(c, places) for slug, c in campaigns.items()}
    texts, extra = [], []
    for row in rows:
        text = normalize(row.get("caption") or "").text
        rule = rules.get(row.get("campaign") or "", None)
        texts.append(text)
        extra.append(model_features(rule.signals(text) if rule else NO_SIGNALS, text))
    return texts, np.array(extra, dtype=np.float64)


def _fit(x, y, seed: int, sample_weight: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(intercept, coef as labels × columns) of the logistic regression on `x`.

    Fitted on the columns that occur in `x` only: a column that never occurs keeps the weight 0
    it starts with under the L2 penalty, so leaving it out changes nothing but the time (most of
    the 2 × 2^18 hashed columns are empty, and the optimiser's steps grow with the column count).
    """
    from sklearn.linear_model import LogisticRegression

    used = np.flatnonzero(x.getnnz(axis=0))
    clf = LogisticRegression(C=C, max_iter=300, tol=1e-3, random_state=seed).fit(x[:, used], y, sample_weight=sample_weight)
    coef = np.zeros((clf.coef_.shape[0], x.shape[1]))
    coef[:, used] = clf.coef_
    return clf.intercept_, coef


def _probabilities(fitted: tuple[np.ndarray, np.ndarray], x) -> np.ndarray:
    from scipy.special import softmax

    intercept, coef = fitted
    return softmax(np.asarray(x @ coef.T) + intercept, axis=1)


class Counts:
    """The training posts' hashed counts (captions and account names), computed once; weighted per fold with that fold's idf."""

    def __init__(self, texts: list[str], authors: list[str | None] | None = None, shape: Shape = SHAPE):
        self.shape = shape
        self.counted = Counted.of(texts, [account_text(a) for a in authors or [None] * len(texts)], shape)

    def document_frequency(self, rows: np.ndarray) -> np.ndarray:
        """In how many of the posts `rows` each column (caption n-grams, words, account n-grams, words) occurs."""
        c, s = self.counted, self.shape
        blocks = ((c.chars, s.n_features), (c.words, s.n_word_features),
                  (c.account_chars, s.n_account_features), (c.account_words, s.n_account_features))
        return np.concatenate([document_frequency(block, n, rows) for block, n in blocks])


def _matrix(counts: Counts, extra: np.ndarray, idf: np.ndarray, learned: np.ndarray | None = None):
    """Text features (`model.weigh`, as prediction computes them) beside the relevance features.

    `learned` (per column) leaves the others at zero: they still took their share of each
    text's norm, as at prediction, where they have no weight.
    """
    from scipy.sparse import csr_matrix, hstack

    found = weigh(counts.counted, idf, counts.shape)
    values = found.values if learned is None else np.where(learned[found.columns], found.values, 0.0)
    n_texts = len(found.indptr) - 1
    text_part = csr_matrix((values, found.columns, found.indptr), shape=(n_texts, counts.shape.n_columns))
    text_part.eliminate_zeros()
    return hstack([text_part, csr_matrix(extra)]).tocsr()


def _without_accounts(x, shape: Shape):
    """The same posts as if no account name were known (the name's columns emptied)."""
    from scipy.sparse import diags

    keep = np.ones(x.shape[1])
    keep[shape.n_text : shape.n_columns] = 0.0
    blank = (x @ diags(keep)).tocsr()
    blank.eliminate_zeros()
    return blank


def _fit_both_ways(x, y: np.ndarray, seed: int, shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    """The fit on every post twice, with its account name and without, each at half weight.

    A post's name is not always known (a source that gives only an id, a file without the
    field): the captions must carry the model alone there, so they are not left to lean on the
    names. Half weights keep the regularisation as strong as for one copy of each post.
    """
    from scipy.sparse import vstack

    both = vstack([x, _without_accounts(x, shape)]).tocsr()
    return _fit(both, np.concatenate([y, y]), seed, np.full(2 * len(y), 0.5))


def _fold_matrix(counts: Counts, extra: np.ndarray, rows: np.ndarray):
    """The matrix of all texts with idf and learned columns from the texts `rows` only; and that idf."""
    df = counts.document_frequency(rows)
    idf = inverse_document_frequency(df, len(rows))
    return _matrix(counts, extra, idf, df >= MIN_DF), idf


def out_of_fold(counts: Counts, extra: np.ndarray, y: np.ndarray, seed: int, sources: np.ndarray | None = None) -> np.ndarray:
    """Each post's probabilities from a model that did not see it: with its account name (rows
    0…n-1), then without (rows n…2n-1).

    With several source files, each file is left out in turn: the model then meets a writer it
    has not seen, as it will in production, and the thresholds chosen from these predictions
    hold for new writers, with or without a known name. One file falls back to seeded stratified folds.
    """
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold

    probabilities = np.zeros((2 * len(y), len(LABELS)))
    if sources is not None and len(set(sources)) > 1:
        splits = LeaveOneGroupOut().split(np.zeros(len(y)), y, sources)
    else:
        splits = StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    for train, test in splits:
        x, _ = _fold_matrix(counts, extra, train)
        fitted = _fit_both_ways(x[train], y[train], seed, counts.shape)
        probabilities[test] = _probabilities(fitted, x[test])
        probabilities[test + len(y)] = _probabilities(fitted, _without_accounts(x[test], counts.shape))
    return probabilities


def thresholds(probabilities: np.ndarray, y: np.ndarray, texts: list[str] | None = None,
               approving: np.ndarray | None = None) -> dict[str, float]:
    """The engine's thresholds from out-of-fold probabilities; `texts` (folded) leave out countered posts.

    `approving` (a mask) marks the predictions `approve_at` is chosen from: the captions alone,
    since the engine approves on those (an account name never approves a post).
    """
    rows = np.ones(len(y), dtype=bool) if approving is None else approving
    junk = np.sort(probabilities[(y != 0) & rows, 0])[::-1]
    allowed = int(APPROVE_JUNK_SHARE * len(junk))
    approve_at = float(junk[allowed]) + 1e-6 if len(junk) else 0.5
    chosen = {"approve_at": round(max(approve_at, 0.5), 6)}
    for index, label in enumerate(LABELS[1:], 1):
        # Just above the genuine posts' highest P(label), leaving out the few most extreme ones
        # (a warning that quotes a scam word for word looks like the scam to any text model).
        # Genuine posts whose counter-speech words turn the model's rejection into a review
        # (`cues.countered_by`) cannot be rejected for this label, so they do not raise its threshold.
        genuine = y == 0
        if texts is not None:
            genuine &= np.array([countered_by(label, text) is None for text in texts])
        chosen[f"reject_at.{label}"] = _reject_at(probabilities[genuine, index], REJECT_FLOOR)
        if label in LONG_POST_FLOORS and texts is not None:
            long = genuine & np.array([word_count(text) >= LONG_POST_WORDS for text in texts])
            chosen[f"reject_at_long.{label}"] = _reject_at(probabilities[long, index], LONG_POST_FLOORS[label])
    chosen["reject_at.junk"] = _reject_at(1.0 - probabilities[y == 0, 0], JUNK_FLOOR)
    chosen["long_post_words"] = LONG_POST_WORDS
    chosen["corroborate_at"] = CORROBORATE_AT
    return chosen


def _reject_at(genuine_scores: np.ndarray, floor: float) -> float:
    """Just above the genuine posts' highest P(label), leaving out the few most extreme; at least `floor`."""
    scores = np.sort(genuine_scores)[::-1]
    skipped = int(REJECT_GENUINE_SHARE * len(scores))
    highest = float(scores[skipped]) if len(scores) > skipped else 0.5
    return round(min(max(highest + REJECT_MARGIN, floor), 0.99), 6)


def train(paths: list[Path], seed: int = SEED) -> tuple[TextModel, dict]:
    rows = load_training(paths)
    texts, extra = model_inputs(rows, shipped_campaigns())
    y = np.array([LABELS.index(r["label"]) for r in rows])
    counts = Counts(texts, [r.get("author") for r in rows])
    probabilities = out_of_fold(counts, extra, y, seed, np.array([r["source"] for r in rows]))
    # Rejections may rest on the name (or on the caption alone where none is known); approvals on the caption only.
    without_names = np.arange(2 * len(y)) >= len(y)
    chosen = thresholds(probabilities, np.concatenate([y, y]), texts + texts, approving=without_names)
    x, idf = _fold_matrix(counts, extra, np.arange(len(rows)))
    intercept, coef = _fit_both_ways(x, y, seed, counts.shape)
    coef = coef.T  # (features, labels)
    shape = counts.shape
    text_part, extra_part = coef[: shape.n_columns], coef[shape.n_columns :]
    columns = np.flatnonzero(np.abs(text_part).max(axis=1) > 1e-4).astype(np.int32)
    params = {"features": FEATURES, "n_features": shape.n_features, "n_word_features": shape.n_word_features,
              "n_account_features": shape.n_account_features, "ngrams": list(shape.ngrams), "account_ngrams": list(shape.account_ngrams),
              "min_df": MIN_DF, "seed": seed, "C": C, "rows": len(rows), "data": [path.name for path in paths], **chosen}
    model = TextModel(LABELS, intercept, idf, columns, text_part[columns], extra_part, params)
    return model, chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Moderationsmodell neu trainieren / retrain the moderation model")
    parser.add_argument("--data", type=Path, action="append",
                        help="labelled JSON-lines file (repeatable); default: dev.jsonl, extra/*.jsonl and the old corpus")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    model, chosen = train(args.data or training_paths(), args.seed)
    model.save(args.out)
    print(f"{args.out}: {model.n_columns} Spalten / columns, " + ", ".join(f"{k}={v}" for k, v in chosen.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
