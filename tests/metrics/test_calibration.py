"""lossctl.metrics.calibration by hand, and its properties: each convention's bins at the edges, pooling,
bounds, the perfectly calibrated optimum, weights and the relations between conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs.cls import prepare_inputs
from lossctl.inputs.seg import prepare
from lossctl.metrics import calibration

BINNED = ("ece", "mce", "rmsce", "cw_ece")


def cls_value(name, pred, target, convention="lossctl", weights=None, **params):
    pred = np.asarray(pred, dtype=np.float64)
    x = prepare_inputs(pred, np.asarray(target), None if weights is None else np.asarray(weights, float),
                       "probs", target_kind="binary" if pred.ndim == 1 else "index")
    return registry.get("cls", name).measure(x, convention, **params)


def test_top_label_errors_by_hand():
    """Two bins [0, 0.5), [0.5, 1]: bin 0 holds confidence 0.4 (wrong), bin 1 confidences 0.6 (right) and 0.7
    (wrong): gaps 0.4 and |0.5 - 0.65| = 0.15."""
    probs = [[0.6, 0.3, 0.1], [0.3, 0.7, 0.0], [0.4, 0.35, 0.25]]
    target = [0, 0, 2]
    assert cls_value("ece", probs, target, bins=2)[0] == pytest.approx((0.4 + 2 * 0.15) / 3)
    assert cls_value("mce", probs, target, bins=2)[0] == pytest.approx(0.4)
    assert cls_value("rmsce", probs, target, bins=2)[0] == pytest.approx(math.sqrt((0.16 + 2 * 0.0225) / 3))
    _, _, tally = cls_value("ece", probs, target, bins=2)
    assert tally["count"] == [[1, 2]] and tally["confidence"][0] == pytest.approx([0.4, 1.3])
    assert tally["accuracy"] == [[0.0, 1.0]] and tally["edges"] == [0.0, 0.5, 1.0] and tally["total"] == 3


def test_each_convention_bins_the_edges_its_own_way():
    """p = 0.5 with two bins: [l, u) puts it in the upper bin (lossctl, torch), (l, u] in the lower
    (MetricsReloaded); p = 1.0 is in the last bin (lossctl) or a bin of its own (torch); p = 0 is in no bin under
    MetricsReloaded but counted in the total."""
    p, y = [0.0, 0.5, 1.0], [0, 1, 1]
    lossctl = cls_value("ece", p, y, bins=2)[2]
    torch = cls_value("ece", p, y, "torch", bins=2)[2]
    mr = cls_value("ece", p, y, "metricsreloaded", bins=2)[2]
    assert lossctl["count"] == [[0, 3]]  # top label of [1 - p, p]: confidences 1.0, 0.5, 1.0, all in [.5, 1]
    assert torch["count"] == [[1, 1, 1]]  # positive class 0, 0.5, 1.0: bins [0, .5), [.5, 1), {1}
    assert mr["count"] == [[1, 1]] and mr["total"] == 3  # 0.5 in (0, .5], 1.0 in (.5, 1], 0 in none
    assert cls_value("ece", p, y, "metricsreloaded", bins=2)[0] == pytest.approx(0.5 / 2)


def test_lossctl_top_label_of_a_binary_input_reads_both_classes():
    """Top label of [1 - p, p]: confidences 1.0 (p = 0, predicted 0), 0.5 (p = 0.5, predicted 1), 1.0."""
    _, _, tally = cls_value("ece", [0.0, 0.5, 1.0], [0, 1, 1], bins=2)
    assert tally["confidence"][0] == pytest.approx([0.0, 2.5]) and tally["accuracy"] == [[0.0, 3.0]]


def test_torch_edges_are_torch_linspace_in_the_input_dtype():
    edges32 = calibration.torch_linspace(16, np.float32)
    assert edges32.dtype == np.float32 and edges32[0] == 0 and edges32[-1] == 1
    assert calibration.torch_linspace(16, np.float64)[10] == 0.6666666666666666  # a fused multiply-add: 1 - 5/15


def test_perfectly_calibrated_probabilities_have_no_error():
    """Ten samples at p = 0.7 of which seven are positive, ten at p = 0.2 with two positives: every bin's
    accuracy equals its confidence, under every convention."""
    p = np.array([0.7] * 10 + [0.2] * 10)
    y = np.array([1] * 7 + [0] * 3 + [1] * 2 + [0] * 8)
    for name in ("ece", "mce", "rmsce"):
        for convention in registry.get("cls", name).conventions:
            assert cls_value(name, p, y, convention)[0] == pytest.approx(0.0, abs=1e-12), (name, convention)


@pytest.mark.parametrize("seed", range(5))
def test_bounds_and_order(seed):
    """0 <= ece <= rmsce <= mce <= 1 (weighted means of the same gaps: l1 <= l2 <= max); brier in [0, 2];
    cw_ece's per-class entries in [0, 1]; sklearn's binary brier is half of lossctl's."""
    rng = np.random.default_rng(seed)
    probs = rng.dirichlet([0.5] * 4, size=300)
    target = rng.integers(0, 4, 300)
    ece, rms, mce = (cls_value(n, probs, target)[0] for n in ("ece", "rmsce", "mce"))
    assert 0 <= ece <= rms + 1e-15 <= mce + 2e-15 <= 1 + 2e-15
    value, per_class, _ = cls_value("cw_ece", probs, target)
    assert np.all((0 <= per_class) & (per_class <= 1)) and value == pytest.approx(per_class.mean())
    assert 0 <= cls_value("brier", probs, target)[0] <= 2
    p, y = rng.uniform(size=100), rng.integers(0, 2, 100)
    assert cls_value("brier", p, y, "sklearn")[0] == pytest.approx(cls_value("brier", p, y)[0] / 2)
    assert cls_value("brier", p, y, "sklearn")[0] == pytest.approx(np.mean((p - y) ** 2))


def test_integer_weights_repeat_samples():
    rng = np.random.default_rng(3)
    probs, target = rng.dirichlet([1, 1, 1], size=50), rng.integers(0, 3, 50)
    w = rng.integers(1, 4, 50)
    for name in ("ece", "mce", "rmsce", "cw_ece", "brier", "nll"):
        weighted = cls_value(name, probs, target, weights=w)[0]
        repeated = cls_value(name, np.repeat(probs, w, axis=0), np.repeat(target, w))[0]
        assert weighted == pytest.approx(repeated, rel=1e-12), name


def test_pooled_tally_is_the_tally_of_the_union():
    """Equal-width bins add up: the value of the summed tallies is the value of all samples at once; equal-mass
    bins do not (None)."""
    rng = np.random.default_rng(5)
    probs, target = rng.dirichlet([1, 1, 1], size=200), rng.integers(0, 3, 200)
    for name in ("ece", "mce", "rmsce", "cw_ece", "brier", "nll"):
        spec = registry.get("cls", name)
        parts = [cls_value(name, probs[a:b], target[a:b])[2] for a, b in ((0, 70), (70, 130), (130, 200))]
        pooled = calibration.add(parts)
        whole_value = cls_value(name, probs, target)[0]
        assert spec.impl("lossctl").fn(pooled, None)[0] == pytest.approx(whole_value, rel=1e-12), name
    mass = [cls_value("ece", probs[:100], target[:100], binning="mass")[2]]
    assert calibration.add(mass) is None


def test_nll_equals_ce_and_metricsreloaded_log_zero_is_undefined():
    """lossctl's nll is the seg ce of the same pixels; MetricsReloaded's at p_y = 0 is undefined and counted."""
    rng = np.random.default_rng(2)
    probs = rng.dirichlet([1, 1, 1], size=(8, 9)).transpose(2, 0, 1)
    target = rng.integers(0, 3, (8, 9)).astype(np.uint8)
    x = prepare(probs, target, kind="probs")
    nll = registry.get("seg", "nll").evaluate(x)[0]
    assert nll == pytest.approx(registry.get("seg", "ce").evaluate(x)[0], rel=1e-12)
    value, _, tally = cls_value("nll", [[1.0, 0.0], [0.2, 0.8]], [1, 1], "metricsreloaded")
    assert math.isnan(value) and tally["undefined"] == 1
    assert cls_value("nll", [[1.0, 0.0], [0.2, 0.8]], [1, 1], "sklearn")[0] == pytest.approx(
        (-math.log(np.finfo(np.float64).eps) - math.log(0.8)) / 2)


def test_a_class_without_pixels_leaves_the_classwise_mean():
    """cw_ece of a seg image: a class's own bins cover every pixel, so every class has an entry; the included
    classes (exclude background) form the mean."""
    rng = np.random.default_rng(4)
    probs = rng.dirichlet([1, 1, 1], size=(6, 7)).transpose(2, 0, 1)
    target = rng.integers(0, 2, (6, 7)).astype(np.uint8)  # class 2 absent from the truth
    x = prepare(probs, target, kind="probs", num_classes=3)
    value, per_class = registry.get("seg", "cw_ece").evaluate(x, include=np.array([False, True, True]))
    assert value == pytest.approx(per_class[1:].mean()) and per_class.shape == (3,)
    assert per_class[2] == pytest.approx(probs[2].mean())  # never true: the gap is the mean probability
