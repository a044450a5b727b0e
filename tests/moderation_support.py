"""A model double for moderation tests: fixed probabilities instead of the shipped model's."""

from __future__ import annotations

import numpy as np

from campaign_worker.moderation.model import LABELS, shipped_model


class FixedModel:
    """Gives every text the same probabilities (`caption`: those without the account name), with the shipped thresholds."""

    def __init__(self, caption: dict[str, float] | None = None, **probabilities: float):
        self.labels = LABELS
        self.params = dict(shipped_model().params)
        self.row = [probabilities.get(label, 0.0) for label in LABELS]
        self.caption_row = [caption.get(label, 0.0) for label in LABELS] if caption else self.row

    def predict_many(self, texts, extra, authors=None):
        return np.array([self.row] * len(texts))

    def predict_both(self, texts, extra, authors):
        return self.predict_many(texts, extra, authors), np.array([self.caption_row] * len(texts))

    def evidence(self, text, label, author=None):
        return ()
