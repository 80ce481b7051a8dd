"""Properties every segmentation loss and metric must have, derived from the registry (sklearn test_common style).

Adding an entry to ``lossctl.registry`` subjects it to every test here.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl import registry
from lossctl.seg_input import prepare

SPECS = registry.specs("seg")
IDS = [s.name for s in SPECS]


def _random_case(rng: np.random.Generator, c: int = 4, shape: tuple[int, ...] = (9, 11)):
    logits = rng.normal(scale=2.0, size=(c, *shape))
    target = rng.integers(0, c, size=shape)
    return logits, target


def _value(spec, pred, target, **kw):
    kind = kw.pop("kind", "logits")
    x = prepare(pred, target, kind=kind, **kw)
    return spec.evaluate(x)[0]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_within_bounds(spec, rng):
    for _ in range(5):
        logits, target = _random_case(rng)
        value = _value(spec, logits, target)
        lo, hi = spec.bounds
        assert lo - 1e-12 <= value <= hi + 1e-12


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_perfect_prediction_reaches_the_optimum(spec, rng):
    target = rng.integers(0, 3, size=(8, 8))
    one_hot = np.eye(3)[target].transpose(2, 0, 1)
    value = _value(spec, one_hot, target, kind="probs")
    optimum = spec.bounds[1] if spec.higher_is_better else spec.bounds[0]
    assert value == pytest.approx(optimum, abs=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_invariant_to_pixel_order(spec, rng):
    logits, target = _random_case(rng)
    order = rng.permutation(target.size)
    shuffled_logits = logits.reshape(4, -1)[:, order].reshape(logits.shape)
    shuffled_target = target.reshape(-1)[order].reshape(target.shape)
    assert _value(spec, shuffled_logits, shuffled_target) == pytest.approx(_value(spec, logits, target),
                                                                          rel=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_label_dtype_does_not_matter(spec, rng):
    logits, target = _random_case(rng)
    reference = _value(spec, logits, target.astype(np.int64))
    for dtype in (np.uint8, np.uint16, np.int32):
        assert _value(spec, logits, target.astype(dtype)) == reference


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_float32_probabilities_agree_with_float64(spec, rng):
    logits, target = _random_case(rng)
    e = np.exp(logits - logits.max(axis=0))
    probs = e / e.sum(axis=0)
    v64 = _value(spec, probs, target, kind="probs")
    v32 = _value(spec, probs.astype(np.float32), target, kind="probs")
    assert v32 == pytest.approx(v64, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_ignored_pixels_do_not_count(spec, rng):
    logits, target = _random_case(rng)
    void = rng.random(target.shape) < 0.3
    marked = np.where(void, 255, target)
    changed = logits.copy()
    changed[:, void] = rng.normal(size=(4, int(void.sum())))
    a = _value(spec, logits, marked, ignore_index=(255,))
    b = _value(spec, changed, marked, ignore_index=(255,))
    kept = prepare(logits[:, ~void], target[~void], kind="logits")
    assert a == pytest.approx(b, rel=1e-12)
    assert a == pytest.approx(spec.evaluate(kept)[0], rel=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_3d_volume_equals_its_flattened_pixels(spec, rng):
    logits, target = _random_case(rng, c=3, shape=(3, 4, 5))
    flat = _value(spec, logits.reshape(3, -1), target.reshape(-1))
    assert _value(spec, logits, target) == pytest.approx(flat, rel=1e-12)


def test_every_entry_is_documented_in_the_catalogue_fields():
    for spec, convention in registry.pairs():
        impl = spec.conventions[convention]
        assert spec.formula and impl.definition and impl.reference, (spec.name, convention)
        assert spec.bounds[0] < spec.bounds[1]
        assert all(p.help for p in impl.params)
