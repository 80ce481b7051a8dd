"""Properties of every classification loss and metric, derived from the registry (as test_common.py for seg).

Each entry is tried on a binary and on a multiclass input; it must accept at least one of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl import registry
from lossctl.cls import ClsConfig, build_report
from lossctl.cls_input import prepare_inputs
from lossctl.errors import InputError
from lossctl.losses.classification import NotAvailable

LOSSES = registry.specs("cls", "loss")
IDS = [s.name for s in LOSSES]


def _inputs(rng, n=40, c=4):
    binary = (rng.normal(size=n), rng.integers(0, 2, n))
    multiclass = (rng.normal(size=(n, c)), rng.integers(0, c, n))
    return {"binary": binary, "multiclass": multiclass}


def _value(spec, logits, target, order=None):
    if order is not None:
        logits, target = logits[order], target[order]
    x = prepare_inputs(logits, target, None, "logits")
    return spec.compute(x, "lossctl")


@pytest.mark.parametrize("spec", LOSSES, ids=IDS)
def test_every_loss_accepts_a_binary_or_a_multiclass_input_and_is_non_negative(spec, rng):
    accepted = 0
    for logits, target in _inputs(rng).values():
        try:
            value, per_sample = _value(spec, logits, target)
        except (NotAvailable, InputError):
            continue
        accepted += 1
        assert np.isfinite(value) and value >= spec.bounds[0]
        assert np.all(np.asarray(per_sample) >= -1e-12)
    assert accepted


@pytest.mark.parametrize("spec", LOSSES, ids=IDS)
def test_invariant_to_sample_order(spec, rng):
    for logits, target in _inputs(rng).values():
        try:
            base = _value(spec, logits, target)[0]
        except (NotAvailable, InputError):
            continue
        order = rng.permutation(len(target))
        assert _value(spec, logits, target, order)[0] == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("spec", LOSSES, ids=IDS)
def test_confident_correct_predictions_approach_the_minimum(spec, rng):
    for logits, target in _inputs(rng).values():
        if logits.ndim == 1:
            confident = np.where(target == 1, 40.0, -40.0)
        else:
            confident = np.where(np.eye(logits.shape[1])[target] == 1, 40.0, -40.0)
        try:
            value = _value(spec, confident, target)[0]
        except (NotAvailable, InputError):
            continue
        if spec.name in ("label_smoothing_ce",):  # smoothing keeps a floor: eps/C of log-probabilities ~ -80
            continue
        assert value == pytest.approx(0.0, abs=1e-9)


def test_metrics_of_a_perfect_prediction_are_one(rng):
    target = rng.integers(0, 3, 30)
    probs = np.eye(3)[target]
    config = ClsConfig(values=tuple(registry.names("cls", "metric")))
    summary = build_report(config.prepare(probs, target, None, "probs"), config)["summary"]
    for name in registry.names("cls", "metric"):
        assert summary["mean"][name] == pytest.approx(1.0)
