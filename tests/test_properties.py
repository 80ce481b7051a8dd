"""Hypothesis properties of every segmentation loss and metric, driven by the registry.

The example count comes from the hypothesis profile (``LOSSCTL_HYPOTHESIS=slow`` in ``make test-slow``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossctl import registry
from lossctl.metrics.overlap import summarize
from lossctl.inputs.seg import prepare

SPECS = [s for s in registry.specs("seg") if not s.opt_in]  # boundary metrics: tests/metrics/test_boundary.py, test_golden_boundary.py
IDS = [s.name for s in SPECS]
LABEL_DTYPES = (np.bool_, np.uint8, np.uint16, np.int32, np.int64)


@st.composite
def images(draw):
    """(logits (C, *spatial) float64, target labels (*spatial) int64), shapes from 1x1 up, classes may be absent."""
    c = draw(st.integers(2, 5))
    ndim = draw(st.sampled_from([1, 2, 3]))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.sampled_from([0.1, 1.0, 5.0, 40.0]))
    logits = rng.normal(scale=scale, size=(c, *shape))
    present = draw(st.integers(1, c))  # only the first `present` classes occur in the target
    target = rng.integers(0, present, size=shape)
    return logits, target


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=0))
    return e / e.sum(axis=0)


def _value(spec, pred, target, kind):
    return spec.evaluate(prepare(pred, target, kind=kind))[0]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@given(case=images())
def test_values_are_finite_or_documented_nan_and_within_bounds(spec, case):
    logits, target = case
    for kind, pred in (("logits", logits), ("probs", _softmax(logits))):
        value = _value(spec, pred, target, kind)
        if np.isnan(value):
            # only 0/0 metrics (a class absent from both masks in every class) may be undefined
            assert spec.kind == "metric" and spec.name in ("dice", "iou", "precision", "recall")
            continue
        lo, hi = spec.bounds
        assert lo - 1e-9 <= value <= hi + 1e-9


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@given(case=images())
def test_perfect_prediction_reaches_the_optimum(spec, case):
    _, target = case
    c = int(target.max()) + 2
    one_hot = np.moveaxis(np.eye(c)[target], -1, 0)
    optimum = spec.bounds[1] if spec.higher_is_better else spec.bounds[0]
    assert _value(spec, one_hot, target, "probs") == pytest.approx(optimum, abs=1e-9)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@given(case=images(), seed=st.integers(0, 2**32 - 1))
def test_permuting_pixels_identically_changes_nothing(spec, case, seed):
    logits, target = case
    order = np.random.default_rng(seed).permutation(target.size)
    c = logits.shape[0]
    moved_logits = logits.reshape(c, -1)[:, order].reshape(logits.shape)
    moved_target = target.reshape(-1)[order].reshape(target.shape)
    a = _value(spec, logits, target, "logits")
    b = _value(spec, moved_logits, moved_target, "logits")
    assert (np.isnan(a) and np.isnan(b)) or b == pytest.approx(a, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@given(case=images(), dtype=st.sampled_from(LABEL_DTYPES))
def test_label_dtype_gives_identical_results(spec, case, dtype):
    logits, target = case
    if dtype is np.bool_:
        target = target.clip(0, 1)
    a = _value(spec, logits, target.astype(np.int64), "logits")
    b = _value(spec, logits, target.astype(dtype), "logits")
    assert (np.isnan(a) and np.isnan(b)) or a == b


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
@given(case=images())
def test_float32_and_float64_probabilities_agree(spec, case):
    logits, target = case
    probs = _softmax(logits)
    a = _value(spec, probs, target, "probs")
    b = _value(spec, probs.astype(np.float32), target, "probs")
    if np.isnan(a):
        assert np.isnan(b)
    elif spec.name in ("ce", "focal"):  # log of a probability rounded to float32 (or to 0: clamp at -100)
        assert b == pytest.approx(a, rel=1e-4, abs=1e-5) or min(a, b) > 10
    elif spec.name == "focal_tversky_loss":  # x^0.75 is not Lipschitz at 0: compare before the exponent
        gamma = spec.defaults()["gamma"]
        assert b ** (1 / gamma) == pytest.approx(a ** (1 / gamma), rel=1e-5, abs=1e-6)
    else:
        assert b == pytest.approx(a, rel=1e-5, abs=1e-6)


@given(case=images(), empty=st.sampled_from(["nan", "zero", "one"]))
def test_empty_policy_only_touches_undefined_ratios(case, empty):
    _, target = case
    pred = np.roll(target, 1)
    c = int(max(target.max(), pred.max())) + 2  # the last class is absent from both masks
    cm = prepare(pred, target, kind="labels", num_classes=c).confusion
    values, per_class = summarize(cm, empty=empty)
    reference, _ = summarize(cm)
    assert np.isnan(per_class["dice"][-1]) == (empty == "nan")
    if empty == "nan":
        assert values == reference
