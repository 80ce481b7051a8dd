"""lossctl.engine.statistics: the summary statistics of a report (here: what an ignored sample leaves out)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl.engine.cls import ClsConfig

LN = math.log


def test_ignored_samples_are_left_out_of_the_per_sample_statistics():
    from lossctl.engine.cls import build_report

    config = ClsConfig(values=("sparse_cce",), ignore_index=-100)
    x = config.prepare(np.array([[0.7, 0.3], [0.4, 0.6], [0.5, 0.5]]), np.array([0, -100, 1]), None, "probs")
    summary = build_report(x, config)["summary"]
    assert summary["min"]["sparse_cce"] == pytest.approx(-LN(0.7))
    assert summary["count"] == 2 and summary["undefined"]["sparse_cce"] == 0  # ignored: not counted at all
