"""Hand-derived values and identities of the segmentation core (expected values worked out in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl import registry
from lossctl.metrics import overlap as metrics
from lossctl.errors import InputError, ShapeMismatchError
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


def test_binary_threshold_for_hard_metrics():
    p = np.array([0.4, 0.6, 0.5])
    assert prepare(p, np.array([0, 1, 1]), kind="probs").labels.tolist() == [0, 1, 1]
    assert prepare(p, np.array([0, 1, 1]), kind="probs", threshold=0.55).labels.tolist() == [0, 1, 0]
    logits = np.log(p / (1 - p))
    assert prepare(logits, np.array([0, 1, 1]), kind="logits").labels.tolist() == [0, 1, 1]


def test_0_255_masks_are_read_as_binary_and_say_so():
    x = prepare(np.array([0, 255, 255], np.uint8), np.array([0, 255, 0], np.uint8))
    assert x.target.tolist() == [0, 1, 0] and x.labels.tolist() == [0, 1, 1]
    assert any("0/255" in n for n in x.notes)


def test_0_255_mask_with_ignore_255_keeps_255_as_void():
    x = prepare(np.array([0, 1, 1], np.uint8), np.array([0, 255, 1], np.uint8), ignore_index=(255,))
    assert x.target.tolist() == [0, 1] and not x.notes


@pytest.mark.parametrize("pred, target, kind, fragment, error", [
    (np.zeros((3, 4, 5)), np.zeros((4, 6), int), "probs", "shape", ShapeMismatchError),
    (np.zeros((4, 5, 3)), np.zeros((4, 5), int), "probs", "pass channels_last=True", ShapeMismatchError),
    (np.zeros((5, 4)), np.zeros((4, 5), int), "probs", "transposed", ShapeMismatchError),
    (np.full((2, 2), 3.0), np.zeros((2, 2), int), "auto", "pass kind='logits'", InputError),
    (np.full((2, 2, 2), 0.2), np.zeros((2, 2), int), "probs", "sum", InputError),
    (np.array([np.nan, 0.5]), np.array([0, 1]), "probs", "NaN", InputError),
    (np.array([0.5, 0.5]), np.array([0.0, 1.0]), "probs", "swapped", InputError),
    (np.array([0, 1]), np.array([0, 7]), "labels", "label 7", InputError),
    (np.array([0, 1]), np.array([0, -1]), "labels", "negative", InputError),
])
def test_bad_inputs_raise_one_line_errors(pred, target, kind, fragment, error):
    with pytest.raises(error) as info:
        prepare(pred, target, kind=kind, num_classes=None if kind != "labels" else 2)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_channels_last_option():
    probs = np.full((4, 5, 3), 1 / 3)
    x = prepare(probs, np.zeros((4, 5), int), kind="probs", channels_last=True)
    assert x.num_classes == 3


def test_0_255_prediction_against_ignored_255_is_refused():
    with pytest.raises(InputError, match="void"):
        prepare(np.array([0, 255, 255], np.uint8), np.array([0, 1, 255], np.uint8), ignore_index=(255,))


def test_0_255_rule_is_the_same_for_prediction_and_ground_truth():
    mask = np.array([0, 255, 255, 0], np.uint8)
    x = prepare(mask, mask, num_classes=256)  # 256 classes declared: 255 is a class on both sides
    assert x.target.tolist() == x.labels.tolist() == [0, 255, 255, 0]


def test_a_huge_label_is_not_taken_for_a_class_count():
    with pytest.raises(InputError, match="pass ignore_index=65535 "):
        prepare(np.array([0, 1], np.uint16), np.array([0, 65535], np.uint16))


def test_a_single_foreground_map_needs_two_classes():
    with pytest.raises(ShapeMismatchError, match="single foreground map"):
        prepare(np.array([0.2, 0.9]), np.array([0, 1]), kind="probs", num_classes=3)


def test_focal_alpha_is_refused_for_more_than_two_classes(rng):
    from lossctl.errors import UsageError

    with pytest.raises(UsageError, match="alpha"):
        value("focal", rng.normal(size=(3, 10)), rng.integers(0, 3, 10), params={"alpha": 0.25})


def test_boolean_ground_truth_of_the_wrong_rank_is_refused():
    with pytest.raises(ShapeMismatchError):
        prepare(np.zeros((2, 2, 2, 2), bool), np.zeros((2, 2, 2, 2), bool))


def test_threshold_zero_on_logits_makes_everything_foreground(recwarn):
    x = prepare(np.array([-5.0, 3.0]), np.array([0, 1]), kind="logits", threshold=0.0)
    assert x.labels.tolist() == [1, 1] and not recwarn.list
