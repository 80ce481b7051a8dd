"""Properties every segmentation (value, convention) pair must have, derived from the registry (sklearn
test_common style): adding a value, or a convention row to a value, subjects it to every test here and in
test_properties.py (bounds, the optimum, pixel order, label dtype, float32 probabilities, on drawn images).

Each pair is evaluated from logits (every segmentation row takes them) on seeded images.
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
