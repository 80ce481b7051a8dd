"""Properties of every classification (value, convention) pair, derived from the registry (as test_common.py for
seg).

Each pair runs on every generated input whose target kind its row declares (binary, class indices, one-hot rows,
multilabel), from logits when the row takes them, else probabilities; the declared kinds must be accepted (the
row and the function agree), and each pair must accept at least one input: nothing is skipped silently.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl import registry
from lossctl.engine.cls import ClsConfig, build_report
from lossctl.inputs.cls import prepare_inputs

PAIRS = registry.pairs("cls")
IDS = [f"{s.name}-{c}" for s, c in PAIRS]
N, C = 40, 4


def _inputs(rng):
    """{target kind: (logits, target)}."""
    labels = rng.integers(0, C, N)
    multilabel = (rng.random((N, C)) < 0.4).astype(np.int64)
    multilabel[0] = [1, 1, 0, 0]  # not one-hot, so "auto" would not read it as one-hot either
    return {"binary": (rng.normal(size=N), rng.integers(0, 2, N)), "index": (rng.normal(size=(N, C)), labels),
            "onehot": (rng.normal(size=(N, C)), np.eye(C, dtype=np.int64)[labels]),
            "multilabel": (rng.normal(size=(N, C)), multilabel)}


def _as_kind(logits, impl):
    if "logits" in impl.inputs:
        return logits, "logits"
    if logits.ndim == 1:
        return 1.0 / (1.0 + np.exp(-logits)), "probs"
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), "probs"


def _accepted(spec, convention, rng):
    impl = spec.impl(convention)
    out = {}
    for target_kind, (logits, target) in _inputs(rng).items():
        if impl.targets and target_kind not in impl.targets:
            continue
        pred, kind = _as_kind(logits, impl)
        out[target_kind] = (pred, target, kind)
    return out


def _value(spec, convention, pred, target, kind, target_kind, order=None):
    if order is not None:
        pred, target = pred[order], target[order]
    x = prepare_inputs(pred, target, None, kind, target_kind=target_kind)
    return spec.evaluate(x, convention)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_every_declared_input_is_accepted_finite_and_within_bounds(spec, convention, rng):
    accepted = _accepted(spec, convention, rng)
    assert accepted, f"{spec.name} under {convention} accepts none of the generated target kinds"
    for target_kind, (pred, target, kind) in accepted.items():
        value, per_sample = _value(spec, convention, pred, target, kind, target_kind)
        assert np.isfinite(value) and spec.bounds[0] - 1e-12 <= value <= spec.bounds[1] + 1e-12, target_kind
        if per_sample is not None:
            assert np.all(np.asarray(per_sample) >= -1e-12)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_invariant_to_sample_order(spec, convention, rng):
    for target_kind, (pred, target, kind) in _accepted(spec, convention, rng).items():
        base = _value(spec, convention, pred, target, kind, target_kind)[0]
        order = rng.permutation(N)
        assert _value(spec, convention, pred, target, kind, target_kind, order)[0] == pytest.approx(base, rel=1e-12)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_confident_correct_predictions_reach_the_optimum(spec, convention, rng):
    if spec.optimum is None:  # lr_plus, net_benefit: tests/metrics/test_counting.py
        pytest.skip(f"{spec.name} has no fixed value at a perfect prediction")
    impl = spec.impl(convention)
    smoothing = impl.defaults().get("label_smoothing") or 0.0
    for target_kind, (_, target, kind) in _accepted(spec, convention, rng).items():
        truth = np.eye(C)[target] if target_kind == "index" else target
        confident = np.where(truth == 1, 40.0, -40.0)
        if kind == "probs":
            confident = truth / truth.sum(axis=1, keepdims=True) if truth.ndim == 2 and target_kind != "multilabel" \
                else truth.astype(np.float64)
        value = _value(spec, convention, confident, target, kind, target_kind)[0]
        optimum = spec.optimum
        if smoothing:  # smoothing keeps a floor: eps/C of log-probabilities of about -80
            assert value > optimum
        else:
            assert value == pytest.approx(optimum, abs=1e-6), target_kind


def test_metrics_of_a_perfect_prediction_reach_their_optimum(rng):
    """1 for the counting metrics, 0 for the calibration values (a certain, correct prediction is calibrated)."""
    target = rng.integers(0, 3, 30)
    probs = np.eye(3)[target]
    config = ClsConfig(values=tuple(registry.names("cls", "metric")))
    summary = build_report(config.prepare(probs, target, None, "probs"), config)["summary"]
    for spec in registry.specs("cls", "metric"):
        if spec.optimum is None:  # lr_plus: undefined without a false positive; net_benefit: the prevalence
            continue
        assert summary["mean"][spec.name] == pytest.approx(spec.optimum), spec.name


def test_declared_options_are_refused_when_absent():
    """A row that takes no ignore index (or weights) refuses one, naming the convention (data, not branches)."""
    x = prepare_inputs(np.array([[2.0, -1.0], [0.5, 0.1]]), np.array([0, -100]), np.array([1.0, 2.0]), "logits",
                       ignore_index=-100)
    for spec, convention in PAIRS:
        impl = spec.impl(convention)
        if "index" not in (impl.targets or {"index"}) or "logits" not in impl.inputs:
            continue
        if not {"weights", "ignore_index"} <= impl.options:
            with pytest.raises(registry.NotAvailable, match=f"convention {convention}"):
                spec.evaluate(x, convention)
