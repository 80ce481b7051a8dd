"""Properties every segmentation (value, convention) pair must have, derived from the registry (sklearn
test_common style): adding a value, or a convention row to a value, subjects it to every test here.

Each pair is evaluated from logits (every segmentation row takes them); a row may define a 0/0 as NaN, which
the tests accept only for metrics.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs.seg import prepare

PAIRS = [(s, c) for s, c in registry.pairs("seg") if not s.opt_in]  # boundary: tests/metrics/test_boundary.py
IDS = [f"{s.name}-{c}" for s, c in PAIRS]


def _random_case(rng: np.random.Generator, c: int = 4, shape: tuple[int, ...] = (9, 11)):
    logits = rng.normal(scale=2.0, size=(c, *shape))
    target = rng.integers(0, c, size=shape)
    return logits, target


def _value(spec, convention, pred, target, **kw):
    kind = kw.pop("kind", "logits")
    x = prepare(pred, target, kind=kind, **kw)
    return spec.evaluate(x, convention, context={"ignoring": bool(kw.get("ignore_index"))})[0]


def test_every_pair_is_tested_and_every_convention_is_known():
    assert len(PAIRS) == sum(len(s.conventions) for s in registry.specs("seg") if not s.opt_in)
    assert set(registry.conventions()) <= set(registry.CONVENTIONS)
    for spec in registry.REGISTRY.values():
        assert "lossctl" in spec.conventions


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_within_bounds(spec, convention, rng):
    for _ in range(5):
        logits, target = _random_case(rng)
        value = _value(spec, convention, logits, target)
        lo, hi = spec.bounds
        assert lo - 1e-12 <= value <= hi + 1e-12, value


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_confident_perfect_prediction_reaches_the_optimum(spec, convention, rng):
    target = rng.integers(0, 3, size=(8, 8))
    logits = np.where(np.eye(3)[target].transpose(2, 0, 1) == 1, 40.0, -40.0)
    value = _value(spec, convention, logits, target)
    optimum = spec.bounds[1] if spec.higher_is_better else spec.bounds[0]
    assert value == pytest.approx(optimum, abs=1e-6)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_invariant_to_pixel_order(spec, convention, rng):
    logits, target = _random_case(rng)
    order = rng.permutation(target.size)
    shuffled_logits = logits.reshape(4, -1)[:, order].reshape(logits.shape)
    shuffled_target = target.reshape(-1)[order].reshape(target.shape)
    assert _value(spec, convention, shuffled_logits, shuffled_target) == pytest.approx(
        _value(spec, convention, logits, target), rel=1e-12)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_label_dtype_does_not_matter(spec, convention, rng):
    logits, target = _random_case(rng)
    reference = _value(spec, convention, logits, target.astype(np.int64))
    for dtype in (np.uint8, np.uint16, np.int32):
        assert _value(spec, convention, logits, target.astype(dtype)) == reference


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_float32_probabilities_agree_with_float64(spec, convention, rng):
    if "probs" not in spec.impl(convention).inputs:
        pytest.skip(f"{spec.name} under {convention} takes logits only")  # a fact of the row, not of the data
    logits, target = _random_case(rng)
    e = np.exp(logits - logits.max(axis=0))
    probs = e / e.sum(axis=0)
    v64 = _value(spec, convention, probs, target, kind="probs")
    v32 = _value(spec, convention, probs.astype(np.float32), target, kind="probs")
    assert v32 == pytest.approx(v64, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_predictions_at_ignored_pixels_do_not_count(spec, convention, rng):
    logits, target = _random_case(rng)
    void = rng.random(target.shape) < 0.3
    marked = np.where(void, 255, target)
    changed = logits.copy()
    changed[:, void] = rng.normal(size=(4, int(void.sum())))
    a = _value(spec, convention, logits, marked, ignore_index=(255,))
    b = _value(spec, convention, changed, marked, ignore_index=(255,))
    assert a == pytest.approx(b, rel=1e-12)


@pytest.mark.parametrize("spec", [s for s in registry.specs("seg") if not s.opt_in],
                         ids=[s.name for s in registry.specs("seg") if not s.opt_in])
def test_lossctl_ignored_pixels_leave_numerator_and_denominator(spec, rng):
    logits, target = _random_case(rng)
    void = rng.random(target.shape) < 0.3
    a = _value(spec, "lossctl", logits, np.where(void, 255, target), ignore_index=(255,))
    assert a == pytest.approx(_value(spec, "lossctl", logits[:, ~void], target[~void]), rel=1e-12)


@pytest.mark.parametrize("spec, convention", PAIRS, ids=IDS)
def test_3d_volume_equals_its_flattened_pixels(spec, convention, rng):
    logits, target = _random_case(rng, c=3, shape=(3, 4, 5))
    flat = _value(spec, convention, logits.reshape(3, -1), target.reshape(-1))
    assert _value(spec, convention, logits, target) == pytest.approx(flat, rel=1e-12)


def test_every_entry_is_documented_in_the_catalogue_fields():
    for spec, convention in registry.pairs():
        impl = spec.conventions[convention]
        assert spec.formula and impl.definition and impl.reference, (spec.name, convention)
        assert spec.bounds[0] < spec.bounds[1]
        assert all(p.help for p in impl.params)
