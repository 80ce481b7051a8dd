"""lossctl.metrics.overlap: the confusion-matrix metrics by hand (per class, their means, the 0/0 policies)."""

from __future__ import annotations

import numpy as np
import pytest

from lossctl.metrics import overlap as metrics


def test_metrics_by_hand():
    cm = np.array([[3, 1, 0], [0, 2, 0], [0, 0, 0]])
    scores = metrics.class_scores(cm)
    assert scores["dice"][:2].tolist() == pytest.approx([6 / 7, 4 / 5])
    assert scores["iou"][:2].tolist() == pytest.approx([3 / 4, 2 / 3])
    assert scores["precision"][:2].tolist() == pytest.approx([1.0, 2 / 3])
    assert scores["recall"][:2].tolist() == pytest.approx([3 / 4, 1.0])
    assert np.isnan(scores["dice"][2])
    values, _ = metrics.summarize(cm)
    assert values["dice"] == pytest.approx((6 / 7 + 4 / 5) / 2)
    assert values["accuracy"] == pytest.approx(5 / 6)
    assert metrics.summarize(cm, empty="one")[0]["dice"] == pytest.approx((6 / 7 + 4 / 5 + 1) / 3)
    assert metrics.summarize(cm, empty="zero")[0]["iou"] == pytest.approx((3 / 4 + 2 / 3) / 3)
