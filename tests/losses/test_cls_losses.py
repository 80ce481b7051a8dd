"""lossctl.losses.classification: hand-derived values and identities of the classification losses under
lossctl's own convention.

The other conventions are checked against their libraries in tests/test_golden_cls.py; the metrics by hand are in
tests/metrics/test_cls_metrics.py, how ``prepare_inputs`` reads the inputs in tests/inputs/test_cls_inputs.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs.cls import prepare_inputs
from lossctl.errors import InputError
from lossctl.losses import classification as cls

LN = math.log


def make(pred, target, kind="probs", weights=None, class_weights=None, ignore_index=None):
    return cls.ClsInput(np.asarray(pred, float), np.asarray(target), kind,
                        None if weights is None else np.asarray(weights, float),
                        None if class_weights is None else np.asarray(class_weights, float), ignore_index)


def test_bce_by_hand_probs_logits_weights_smoothing():
    x = make([0.9, 0.2, 0.6], [1, 0, 0])
    expected = -(LN(0.9) + LN(0.8) + LN(0.4)) / 3
    assert cls.bce(x)[0] == pytest.approx(expected, rel=1e-12)
    logits = make(np.log(np.array([0.9, 0.2, 0.6]) / np.array([0.1, 0.8, 0.4])), [1, 0, 0], "logits")
    assert cls.bce(logits)[0] == pytest.approx(expected, rel=1e-12)
    w = make([0.9, 0.2, 0.6], [1, 0, 0], weights=[1, 2, 3])
    assert cls.bce(w)[0] == pytest.approx(-(LN(0.9) + 2 * LN(0.8) + 3 * LN(0.4)) / 6, rel=1e-12)
    # smoothing 0.2: targets 0.9 and 0.1
    y = np.array([0.9, 0.1, 0.1])
    p = np.array([0.9, 0.2, 0.6])
    assert cls.bce(x, label_smoothing=0.2)[0] == pytest.approx(
        np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))), rel=1e-12)


def test_bce_ignores_ignored_elements_in_numerator_and_denominator():
    x = make([[0.9, 0.5], [0.2, 0.7]], [[1, -100], [0, 1]], ignore_index=-100)
    assert cls.bce(x)[0] == pytest.approx(-(LN(0.9) + LN(0.8) + LN(0.7)) / 3, rel=1e-12)


def test_bce_of_saturated_probabilities_is_clamped_at_100():
    assert cls.bce(make([0.0, 1.0], [1, 0]))[0] == pytest.approx(100.0)


def test_weighted_bce_default_pos_weight_balances_the_classes():
    x = make([0.9, 0.2, 0.6, 0.3], [1, 0, 0, 0])  # 3 negatives, 1 positive: pos_weight 3
    expected = (-3 * LN(0.9) - LN(0.8) - LN(0.4) - LN(0.7)) / 4
    assert cls.weighted_bce(x)[0] == pytest.approx(expected, rel=1e-12)
    assert cls.weighted_bce(x, pos_weight=1.0)[0] == pytest.approx(cls.bce(x)[0])


def test_cce_soft_targets_and_class_weights():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    q = np.array([[0.8, 0.2, 0.0], [0.0, 0.5, 0.5]])
    w = np.array([1.0, 2.0, 3.0])
    expected = np.mean(-(w * q * np.log(p)).sum(axis=1))
    assert cls.cce(make(p, q, class_weights=w))[0] == pytest.approx(expected, rel=1e-12)


def test_sparse_cce_weighted_mean_and_ignore():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.2, 0.6]])
    x = make(p, [0, 2, -100], class_weights=[1.0, 2.0, 3.0], ignore_index=-100)
    expected = (-1 * LN(0.7) - 3 * LN(0.6)) / (1 + 3)
    assert cls.sparse_cce(x)[0] == pytest.approx(expected, rel=1e-12)
    xs = make(p[:2], [0, 2], weights=[2.0, 1.0])
    assert cls.sparse_cce(xs)[0] == pytest.approx((-2 * LN(0.7) - LN(0.6)) / 3, rel=1e-12)


def test_label_smoothing_ce_is_pytorch_formula(rng):
    logits = rng.normal(size=(7, 4))
    labels = rng.integers(0, 4, 7)
    eps = 0.1
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = np.mean((1 - eps) * -logp[np.arange(7), labels] + eps / 4 * -logp.sum(axis=1))
    x = make(logits, labels, "logits")
    assert cls.label_smoothing_ce(x, label_smoothing=eps)[0] == pytest.approx(expected, rel=1e-12)
    # the peer vector of definitions.md: logits [100, -100, -100], target 0, eps 0.1 -> 400 * 0.1 / 3
    peer = make([[100.0, -100.0, -100.0]], [0], "logits")
    assert cls.label_smoothing_ce(peer, label_smoothing=0.1)[0] == pytest.approx(40 / 3)


def test_identities(rng):
    logits = rng.normal(size=(9, 3))
    labels = rng.integers(0, 3, 9)
    x = make(logits, labels, "logits")
    assert cls.label_smoothing_ce(x, label_smoothing=0.0)[0] == pytest.approx(cls.sparse_cce(x)[0])
    assert cls.focal(x, gamma=0.0)[0] == pytest.approx(cls.sparse_cce(x)[0])
    assert cls.cce(make(logits, np.eye(3)[labels], "logits"))[0] == pytest.approx(cls.sparse_cce(x)[0])
    b = make(rng.normal(size=11), rng.integers(0, 2, 11), "logits")
    assert cls.focal(b, gamma=0.0)[0] == pytest.approx(cls.bce(b)[0])
    for loss in ("sparse_cce", "label_smoothing_ce", "cce"):
        target = np.eye(3)[labels] if loss == "cce" else labels
        xi = make(logits, target, "logits")
        spec = registry.get("cls", loss)
        assert spec.evaluate(xi, "lossctl")[0] == pytest.approx(spec.evaluate(xi, "torch")[0])


def test_index_targets_take_the_bits_of_the_one_hot_formulas(rng, monkeypatch):
    # cce gathers -log p_y, the hinges mask the true class, log_softmax sums exp in blocks of rows: the same bits as
    # the (N, C) one-hot products they replace (probabilities of exactly 1 and 0 included: log 1 = 0, log 0 floored)
    from lossctl import _numeric

    monkeypatch.setattr(_numeric, "EXP_BLOCK_BYTES", 3 * 4 * 8)  # blocks of 3 rows of 4
    logits = np.round(rng.normal(size=(50, 4)) * 3, 1)  # ties among the classes
    labels = rng.integers(0, 4, 50)
    probs = np.eye(4)[rng.integers(0, 4, 50)] * 0.5 + np.eye(4)[labels] * 0.5
    for pred, kind in ((logits, "logits"), (probs, "probs")):
        x = make(pred, labels, kind)
        logp = cls._categorical_logs(x, cls.LOSSCTL)
        if kind == "logits":
            shifted = pred - pred.max(axis=1, keepdims=True)
            assert np.array_equal(logp, shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))
        assert np.array_equal(cls.cce(x)[1], -(1.0 * np.eye(4)[labels] * logp).sum(axis=1))
    hot = np.eye(4)[labels]
    f_y = logits[np.arange(50), labels]
    others = np.where(hot == 1, -np.inf, logits).max(axis=1)
    x = make(logits, labels, "scores")
    assert np.array_equal(cls.multiclass_hinge(x)[1], np.maximum(0.0, 1.0 - (f_y - others)))
    neg = ((1 - hot) * logits).max(axis=1)
    assert np.array_equal(cls.multiclass_hinge(x, cls.KERAS, hinge="keras_categorical")[1],
                          np.maximum(0.0, 1.0 + neg - f_y))


def test_focal_by_hand():
    x = make([0.9, 0.2], [1, 0])
    assert cls.focal(x, gamma=2.0, alpha=0.25)[0] == pytest.approx(
        (0.25 * 0.01 * -LN(0.9) + 0.75 * 0.04 * -LN(0.8)) / 2, rel=1e-12)
    m = make([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], [0, 2])
    assert cls.focal(m, gamma=2.0)[0] == pytest.approx((0.09 * -LN(0.7) + 0.16 * -LN(0.6)) / 2, rel=1e-12)


def test_hinge_losses_by_hand():
    x = make([0.5, -2.0, 0.3], [1, 0, 0], "scores")  # margins 0.5, 2.0, -0.3
    assert cls.hinge(x)[0] == pytest.approx((0.5 + 0 + 1.3) / 3)
    assert cls.squared_hinge(x)[0] == pytest.approx((0.25 + 0 + 1.69) / 3)
    f = make([[-1.0, 0.5, -3.0], [2.0, 1.5, 0.0]], [1, 0], "scores")
    # crammer-singer: max(0, 1 - 0.5 + (-1)) = 0, max(0, 1 - 2 + 1.5) = 0.5
    assert cls.multiclass_hinge(f)[0] == pytest.approx(0.25)
    # weston-watkins: (0 + 0) and (0.5 + 0) summed over j != y
    assert cls.multiclass_hinge(f, hinge="weston_watkins")[0] == pytest.approx((0.0 + 0.5) / 2)
    # keras' categorical hinge: the true class enters neg as 0 -> row 1: max(0, 1 + 0 - 0.5) = 0.5
    assert cls.multiclass_hinge(f, cls.KERAS, hinge="keras_categorical")[0] == pytest.approx((0.5 + 0.5) / 2)
    assert registry.get("cls", "multiclass_hinge").evaluate(f, "keras")[0] == pytest.approx((0.5 + 0.5) / 2)


def test_unavailable_conventions_say_so():
    x = make([0.9, 0.2], [1, 0])
    bce = registry.get("cls", "bce")
    with pytest.raises(cls.NotAvailable, match="convention monai has no cls loss bce"):
        bce.evaluate(x, "monai")
    with pytest.raises(cls.NotAvailable, match="takes logits predictions, not probs"):
        bce.evaluate(x, "smp")
    with pytest.raises(registry.UsageError, match="choose from crammer_singer"):
        registry.get("cls", "multiclass_hinge").evaluate(make([[0.1, 0.9]], [1], "scores"), "sklearn",
                                                        hinge="weston_watkins")


def test_binary_targets_outside_0_1_are_refused():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        cls.bce(make([0.9, 0.2], [2, 0]))


def test_binary_losses_refuse_class_weights():
    with pytest.raises(cls.NotAvailable, match="class weights"):
        cls.bce(make([0.9, 0.2], [1, 0], class_weights=[1.0, 2.0]))


def test_extreme_logits_under_sklearn_warn_of_nothing(recwarn):
    """One stable sigmoid: a -1000 logit (scikit-learn's sigmoid-then-clip path) gives no overflow warning."""
    x = prepare_inputs(np.array([-1000.0, 1000.0, 0.0]), np.array([0, 1, 1]), None, "logits")
    value = registry.get("cls", "bce").evaluate(x, "sklearn")[0]
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    eps = np.finfo(np.float64).eps
    assert value == pytest.approx((-np.log(1 - eps) * 2 + np.log(2)) / 3)
