"""lossctl.metrics.classification: the classification metrics by hand."""

from __future__ import annotations

import numpy as np
import pytest

from lossctl import registry
from lossctl.losses import classification as cls


def make(pred, target, kind="probs"):
    return cls.ClsInput(np.asarray(pred, float), np.asarray(target), kind, None, None, None)


def classification_metrics(x):
    return {s.name: s.evaluate(x)[0] for s in registry.specs("cls", "metric")
            if s.by_default}  # calibration, counting and ranking: their own test files


def test_metrics_by_hand():
    x = make([0.9, 0.2, 0.6, 0.4], [1, 0, 0, 1])  # predictions 1 0 1 0: TP 1, FP 1, FN 1, TN 1
    m = classification_metrics(x)
    assert m == pytest.approx({"accuracy": 0.5, "precision": 0.5, "recall": 0.5, "f1": 0.5})
    multi = make([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.3, 0.3, 0.4]], [0, 1, 1])
    assert classification_metrics(multi)["accuracy"] == pytest.approx(2 / 3)
