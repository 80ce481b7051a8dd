"""lossctl.losses.segmentation: hand-derived values and identities of the segmentation losses (expected values
worked out in the comments), the blocked Lovász sums, region losses.

The metrics by hand are in tests/metrics/test_overlap.py, how ``prepare`` reads the inputs in
tests/inputs/test_seg_inputs.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from support import box_labels

from lossctl import registry
from lossctl.metrics import overlap as metrics
from lossctl.losses import segmentation as seg
from lossctl.inputs.seg import prepare


def value(name, pred, target, **kw):
    kind = kw.pop("kind", "logits")
    params = kw.pop("params", {})
    include = kw.pop("include", None)
    return registry.get("seg", name).evaluate(prepare(pred, target, kind=kind, **kw), include=include, **params)[0]


def test_berman_worked_example_lovasz_hinge():
    # e = [-1, 0, 1.5, 1.5]; sorted labels [0,1,0,1]; grad [1/3, 1/3, 1/12, 1/4]; loss = 1.5/3 + 1.5/3 = 1
    assert value("lovasz", np.array([2, -1, 0.5, -0.5]), np.array([1, 0, 0, 1])) == pytest.approx(1.0)


def test_lovasz_hinge_without_foreground_is_the_largest_hinge_error():
    logits = np.array([-3.0, 0.25, -1.0])
    assert value("lovasz", logits, np.zeros(3, int)) == pytest.approx(1 + 0.25)


def test_lovasz_hinge_of_unit_logits_is_twice_the_jaccard_loss():
    target = np.array([1, 1, 0, 0, 1, 0])
    pred = np.array([1, 0, 1, 0, 1, 0])  # TP=2, FP=1, FN=1 -> IoU = 2/4
    assert value("lovasz", 2.0 * pred - 1.0, target) == pytest.approx(2 * (1 - 0.5))


def test_lovasz_softmax_of_one_hot_probabilities_is_the_mean_jaccard_loss_of_present_classes():
    target = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 1, 1, 1, 2, 0])
    probs = np.eye(4)[pred].T  # class 3 is absent from the target, so it is not visited
    cm = np.bincount(target * 4 + pred, minlength=16).reshape(4, 4)
    iou = metrics.class_scores(cm)["iou"][:3]
    assert value("lovasz", probs, target, kind="probs") == pytest.approx(np.mean(1 - iou))


def test_lovasz_softmax_is_independent_of_tie_order():
    probs = np.array([[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]])
    a = value("lovasz", probs, np.array([0, 1, 0, 1]), kind="probs")
    b = value("lovasz", probs[:, ::-1], np.array([1, 0, 1, 0]), kind="probs")
    # all errors tie at 0.5, so the extension is 0.5 * J(everything wrong) = 0.5 for each class
    assert a == b == pytest.approx(0.5)


def algorithm_1(errors: np.ndarray, fg: np.ndarray, hinge: bool) -> float:
    """Berman et al.'s Algorithm 1 as written: argsort the errors, Jaccard increments, dot product."""
    order = np.argsort(-errors, kind="stable")
    g = fg[order].astype(float)
    total = g.sum()
    jaccard = 1.0 - (total - np.cumsum(g)) / (total + np.cumsum(1.0 - g))
    jaccard[1:] = np.diff(jaccard)
    e = errors[order]
    return float((np.maximum(e, 0.0) if hinge else e) @ jaccard)


def test_algorithm_1_reproduces_the_worked_example():
    # grad = [1/3, 1/3, 1/12, 1/4] along the order of the errors [1.5, 1.5, 0, -1]
    e = np.array([-1.0, 0.0, 1.5, 1.5])
    assert algorithm_1(e, np.array([1, 0, 0, 1]), hinge=True) == pytest.approx(1.0)


@pytest.mark.parametrize("hinge", [False, True])
@pytest.mark.parametrize("ties", [False, True])
def test_lovasz_extension_equals_algorithm_1(rng, hinge, ties):
    for _ in range(200):
        n = int(rng.integers(1, 60))
        errors = rng.normal(size=n) if hinge else rng.random(n)
        if ties:
            errors = np.round(errors, 1)
        fg = rng.random(n) < rng.random()
        got = seg.lovasz_extension(errors[fg], errors[~fg], hinge=hinge)
        assert got == pytest.approx(algorithm_1(errors, fg, hinge), rel=1e-12, abs=1e-12)


def test_binary_cross_entropy_by_hand():
    p = np.array([0.9, 0.2, 0.6])
    y = np.array([1, 0, 0])
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.4)) / 3
    assert value("ce", p, y, kind="probs") == pytest.approx(expected, rel=1e-12)
    logits = np.log(p / (1 - p))
    assert value("ce", logits, y) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_clamps_log_zero_at_minus_100():
    assert value("ce", np.array([0.0, 1.0]), np.array([1, 1]), kind="probs") == pytest.approx(50.0)


def test_cross_entropy_of_huge_logits_is_finite_and_linear():
    logits = np.array([[1000.0], [-1000.0]])
    assert value("ce", logits, np.array([1])) == pytest.approx(2000.0)


def test_focal_with_gamma_zero_is_cross_entropy(rng):
    logits, target = rng.normal(size=(3, 20)), rng.integers(0, 3, 20)
    assert value("focal", logits, target, params={"gamma": 0.0}) == pytest.approx(value("ce", logits, target))


def test_focal_by_hand_binary_with_alpha():
    # p_t = 0.9 and 0.8 ; alpha_t = 0.25 (y=1) and 0.75 (y=0)
    expected = (0.25 * 0.1**2 * -math.log(0.9) + 0.75 * 0.2**2 * -math.log(0.8)) / 2
    got = value("focal", np.array([0.9, 0.2]), np.array([1, 0]), kind="probs",
                params={"gamma": 2.0, "alpha": 0.25})
    assert got == pytest.approx(expected, rel=1e-12)


def test_soft_dice_by_hand():
    # class 1: TP = 0.8 + 0.6 = 1.4, P = 0.8 + 0.6 + 0.3 = 1.7, G = 2 -> dice = 2.8/3.7
    # class 0: TP = 0.7, P = 1.3, G = 1 -> dice = 1.4/2.3
    p = np.array([0.8, 0.6, 0.3])
    y = np.array([1, 1, 0])
    expected = np.mean([1 - 1.4 / 2.3, 1 - 2.8 / 3.7])
    assert value("dice_loss", p, y, kind="probs") == pytest.approx(expected, rel=1e-12)
    assert value("dice_loss", p, y, kind="probs", include=np.array([False, True])) == pytest.approx(
        1 - 2.8 / 3.7, rel=1e-12)


def test_region_loss_identities(rng):
    logits, target = rng.normal(size=(4, 30)), rng.integers(0, 4, 30)
    dice = value("dice_loss", logits, target)
    assert value("tversky_loss", logits, target, params={"alpha": 0.5, "beta": 0.5}) == pytest.approx(dice)
    tversky = value("tversky_loss", logits, target)
    assert value("focal_tversky_loss", logits, target, params={"gamma": 1.0}) == pytest.approx(tversky)
    assert value("focal_tversky_loss", logits, target) == pytest.approx(tversky ** 0.75)


def test_jaccard_loss_of_hard_probabilities_is_one_minus_iou(rng):
    target, pred = rng.integers(0, 3, 50), rng.integers(0, 3, 50)
    iou = value("iou", pred, target, kind="labels")
    assert value("jaccard_loss", np.eye(3)[pred].T, target, kind="probs") == pytest.approx(1 - iou)


def test_region_loss_leaves_absent_classes_out():
    p = np.eye(3)[[0, 0, 1]].T * 0.5 + 0.5 / 3
    _, per_class = registry.get("seg", "dice_loss").evaluate(prepare(p, np.array([0, 0, 1]), kind="probs"))
    assert np.isnan(per_class[2]) and not np.isnan(per_class[:2]).any()


def test_focal_alpha_is_refused_for_more_than_two_classes(rng):
    from lossctl.errors import UsageError

    with pytest.raises(UsageError, match="alpha"):
        value("focal", rng.normal(size=(3, 10)), rng.integers(0, 3, 10), params={"alpha": 0.25})


@pytest.mark.parametrize("hinge", [False, True])
def test_lovasz_sums_in_small_blocks_equal_algorithm_1(monkeypatch, hinge):
    """The blocked Lovász sums (blocks of 3 sorted errors here) agree with Algorithm 1 of Berman et al."""
    monkeypatch.setattr(seg, "LOVASZ_BLOCK", 3)
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 40))
        errors = np.round(rng.normal(size=n) if hinge else rng.random(n), int(rng.integers(1, 4)))
        fg = rng.random(n) < rng.random()
        got = seg.lovasz_extension(errors[fg], errors[~fg], hinge=hinge)
        assert got == pytest.approx(algorithm_1(errors, fg, hinge), rel=1e-12, abs=1e-12)


def test_region_losses_read_the_union_as_one_binary_class(cli, tmp_path, rng):
    gt = box_labels()
    logits = rng.normal(size=(3, *gt.shape))
    np.put_along_axis(logits, gt[None].astype(np.int64), 2.5, axis=0)
    probs = np.exp(logits) / np.exp(logits).sum(axis=0)
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    np.save(tmp_path / "p" / "x.npy", probs.astype(np.float32))
    np.save(tmp_path / "g" / "x.npy", gt)
    r = cli("seg", tmp_path / "p", tmp_path / "g", "-l", "dice_loss", "-l", "lovasz", "--region", "WT=1,2",
            "--region", "core=2", "-f", "json")
    assert r.code == 0, r
    image = r.json()["images"][0]
    for name in ("dice_loss", "lovasz"):
        assert image["per_class"][name][4] == pytest.approx(image["per_class"][name][2], rel=1e-9)  # {2} is class 2
    p = probs.astype(np.float32).astype(np.float64)[1:].sum(axis=0)
    t = np.isin(gt, (1, 2))
    assert image["per_class"]["dice_loss"][3] == pytest.approx(1 - 2 * (p * t).sum() / (p.sum() + t.sum()), rel=1e-6)
    assert image["values"]["dice_loss"] == pytest.approx(np.nanmean(image["per_class"]["dice_loss"][:3]), rel=1e-9)
