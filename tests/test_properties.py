"""Hypothesis properties of every segmentation (value, convention) pair, driven by the registry: bounds, the
optimum, pixel order, label dtype, float32 probabilities (test_common.py has the others; each is tested once).

Each property runs on drawn images (1-D to 3-D, 1 to 216 pixels, 2 to 5 classes, some possibly absent, logits
of scale 0.1 to 40) and, as explicit examples, on five seeded images where every class shows (4 classes, 9x11,
logits of scale 2), from logits and, where the row takes them, probabilities. The example count comes from the
hypothesis profile (``LOSSCTL_HYPOTHESIS=slow`` in ``make test-slow``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lossctl import registry
from lossctl.metrics.overlap import summarize
from lossctl.inputs.seg import prepare

PAIRS = [(s, c) for s, c in registry.pairs("seg") if not s.opt_in]  # boundary metrics: tests/metrics/test_boundary.py, test_golden_boundary.py
IDS = [f"{s.name}-{c}" for s, c in PAIRS]
LABEL_DTYPES = (np.bool_, np.uint8, np.uint16, np.int32, np.int64)
#: Metrics that are 0/0 (undefined, NaN) for a class absent from the prediction or the ground truth: the ratios,
#: and the counting metrics (lossctl.metrics.counting) but lr_plus, which is also undefined without a false positive.
RATIOS = ("dice", "iou", "precision", "recall", *(s.name for s in registry.specs("seg") if s.on_request))
#: The counting metrics a perfect prediction of a truth of one class leaves undefined (a whole-matrix denominator
#: of 0, or sensitivity and specificity both needed).
UNDEFINED_FOR_ONE_CLASS = ("mcc", "kappa", "weighted_kappa", "expected_cost", "youden", "lr_plus")

_SEEDED = np.random.default_rng(20261128)
#: Seeded images where every class shows in the target and in the prediction: (logits (4, 9, 11), target).
FIXED = [(_SEEDED.normal(scale=2.0, size=(4, 9, 11)), _SEEDED.integers(0, 4, size=(9, 11))) for _ in range(5)]


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


def _value(spec, convention, pred, target, kind):
    return spec.evaluate(prepare(pred, target, kind=kind), convention, context={"ignoring": False})[0]


def _predictions(spec, convention, logits):
    """(kind, prediction) of the logits, and of their softmax where the row takes probabilities."""
    inputs = spec.impl(convention).inputs
    return [(k, p) for k, p in (("logits", logits), ("probs", _softmax(logits))) if k in inputs]


def _every_class_shows(logits, target) -> bool:
    c = logits.shape[0]
    return np.unique(target).size == c and np.unique(logits.argmax(axis=0)).size == c


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
@given(case=images())
@example(case=FIXED[0])
@example(case=FIXED[1])
@example(case=FIXED[2])
@example(case=FIXED[3])
@example(case=FIXED[4])
def test_values_are_finite_or_documented_nan_and_within_bounds(spec, convention, case):
    logits, target = case
    for kind, pred in _predictions(spec, convention, logits):
        value = _value(spec, convention, pred, target, kind)
        if np.isnan(value):
            # only 0/0 metrics may be undefined, and only when a class is absent from the target or the prediction
            assert spec.kind == "metric" and spec.name in RATIOS, (kind, value)
            assert spec.name == "lr_plus" or not _every_class_shows(logits, target), kind
            continue
        lo, hi = spec.bounds
        assert lo - 1e-12 <= value <= hi + 1e-12, (kind, value)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
@given(case=images())
@example(case=(None, np.random.default_rng(20261128).integers(0, 3, size=(8, 8))))
def test_perfect_prediction_reaches_the_optimum(spec, convention, case):
    """Under every convention from confident logits (+-40) of the target's classes when each of them occurs (to
    1e-6: the frameworks' smoothing terms and clips); under lossctl's own also from one-hot probabilities with a
    class absent from both (to 1e-9)."""
    _, target = case
    optimum = spec.optimum
    if optimum is None:  # lr_plus, net_benefit: tests/metrics/test_counting.py
        pytest.skip(f"{spec.name} has no fixed value at a perfect prediction")
    c = int(target.max()) + 1
    if c >= 2 and np.unique(target).size == c:
        logits = np.where(np.moveaxis(np.eye(c)[target], -1, 0) == 1, 40.0, -40.0)
        assert _value(spec, convention, logits, target, "logits") == pytest.approx(optimum, abs=1e-6)
    if convention == "lossctl":
        one_hot = np.moveaxis(np.eye(c + 1)[target], -1, 0)
        value = _value(spec, convention, one_hot, target, "probs")
        if np.unique(target).size == 1 and spec.name in UNDEFINED_FOR_ONE_CLASS:  # one class: undefined (NaN)
            assert np.isnan(value)
        else:
            assert value == pytest.approx(optimum, abs=1e-9)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
@given(case=images(), seed=st.integers(0, 2**32 - 1))
@example(case=FIXED[0], seed=20261128)
def test_permuting_pixels_identically_changes_nothing(spec, convention, case, seed):
    logits, target = case
    order = np.random.default_rng(seed).permutation(target.size)
    c = logits.shape[0]
    moved_logits = logits.reshape(c, -1)[:, order].reshape(logits.shape)
    moved_target = target.reshape(-1)[order].reshape(target.shape)
    a = _value(spec, convention, logits, target, "logits")
    b = _value(spec, convention, moved_logits, moved_target, "logits")
    assert (np.isnan(a) and np.isnan(b)) or b == pytest.approx(a, rel=1e-12)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
@given(case=images())
@example(case=FIXED[0])
def test_label_dtype_gives_identical_results(spec, convention, case):
    logits, target = case
    for dtype in LABEL_DTYPES:
        labels = target.clip(0, 1) if dtype is np.bool_ else target
        a = _value(spec, convention, logits, labels.astype(np.int64), "logits")
        b = _value(spec, convention, logits, labels.astype(dtype), "logits")
        assert (np.isnan(a) and np.isnan(b)) or a == b, dtype


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
@given(case=images())
@example(case=FIXED[0])
def test_float32_and_float64_probabilities_agree(spec, convention, case):
    if "probs" not in spec.impl(convention).inputs:
        pytest.skip(f"{spec.name} under {convention} takes logits only")  # a fact of the row, not of the data
    logits, target = case
    probs = _softmax(logits)
    a = _value(spec, convention, probs, target, "probs")
    b = _value(spec, convention, probs.astype(np.float32), target, "probs")
    if np.isnan(a):
        assert np.isnan(b)
    elif probs.min() > 1e-6 or spec.name not in ("ce", "focal", "focal_tversky_loss"):
        assert b == pytest.approx(a, rel=1e-5, abs=1e-6)
    elif spec.name in ("ce", "focal"):  # log of a probability rounded to float32 (or to 0: clamp at -100)
        assert b == pytest.approx(a, rel=1e-4, abs=1e-5) or min(a, b) > 10
    else:  # focal_tversky_loss: x^0.75 is not Lipschitz at 0: compare before the exponent
        gamma = spec.defaults(convention)["gamma"]
        assert b ** (1 / gamma) == pytest.approx(a ** (1 / gamma), rel=1e-5, abs=1e-6)


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
