"""Golden values of ``lossctl seg --convention torch|keras|smp|monai``, computed by the frameworks themselves.

Fixtures: ``tests/golden/seg_conventions.json`` (cases, expected values, the exact reference call, library versions)
and ``seg_conventions_inputs.npz`` (inputs), written by ``tools/make_golden_seg_conventions.py`` with torch,
segmentation_models_pytorch, MONAI, torchvision and Keras 3 (torch backend); the references are not test
dependencies. Values computed in float64 are compared at 1e-6 relative; Keras computes in float32 by default, so
its cases (``float32_bound``) are compared at 1e-5 relative. Absolute tolerance 1e-9 near 0.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs.seg import prepare

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "seg_conventions.json").read_text())
INPUTS = np.load(HERE / "seg_conventions_inputs.npz")
CASES = DOC["cases"]


def _value(case: dict) -> float:
    pred = INPUTS[f"{case['id']}/pred"]
    target = INPUTS[f"{case['id']}/target"]
    x = prepare(pred, target, kind=case["input"], ignore_index=tuple(case["ignore_index"]))
    spec = registry.get("seg", case["loss"])
    context = {"ignoring": bool(case["ignore_index"])}
    return spec.evaluate(x, case["convention"], context=context, **case["params"])[0]


def test_fixture_records_its_provenance():
    assert DOC["generated_by"] == "tools/make_golden_seg_conventions.py"
    assert {"torch", "segmentation_models_pytorch", "monai", "keras", "torchvision"} <= set(DOC["versions"])
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_every_convention_of_a_loss_has_a_golden_case():
    covered = {(c["loss"], c["convention"]) for c in CASES}
    pairs = {(s.name, c) for s, c in registry.pairs("seg", "loss") if c != "lossctl"}
    assert pairs <= covered, sorted(pairs - covered)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_framework(case):
    got = _value(case)
    rtol = 1e-5 if case["float32_bound"] else 1e-6
    assert np.isclose(got, case["expected"], rtol=rtol, atol=1e-9), (
        f"got {got!r}, expected {case['expected']!r}; {case['reference']}")
