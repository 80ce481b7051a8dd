"""Golden values of every segmentation loss and metric, computed once by the reference libraries.

Fixtures: ``tests/golden/seg.json`` (cases, expected values, library versions) and ``seg_inputs.npz``
(inputs), written by ``tools/make_golden_seg.py`` with torch, segmentation_models_pytorch, MONAI,
torchvision and scikit-learn (see the ``versions`` block); the references are not test dependencies.
Expected values were computed in float64, so the tolerance is 1e-6 relative (1e-9 absolute near 0).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.metrics import overlap as metrics
from lossctl.inputs.seg import prepare

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "seg.json").read_text())
INPUTS = np.load(HERE / "seg_inputs.npz")
CASES = DOC["cases"]


def _include(case: dict, c: int) -> np.ndarray | None:
    if not case["exclude_background"]:
        return None
    keep = np.ones(c, bool)
    keep[0] = False
    return keep


def _prepare(case: dict, pred: np.ndarray, target: np.ndarray):
    return prepare(pred, target, kind=case["input"], ignore_index=tuple(case["ignore_index"]),
                   num_classes=case["params"].get("num_classes"))


def _compute(case: dict) -> tuple[float, list | None]:
    pred = INPUTS[f"{case['id']}/pred"]
    target = INPUTS[f"{case['id']}/target"]
    spec = registry.get("seg", case["value"])
    params = {k: v for k, v in case["params"].items() if k != "num_classes"}
    fixed = {"dice_loss": {"alpha": 0.5, "beta": 0.5}, "jaccard_loss": {"alpha": 1.0, "beta": 1.0}}.get(spec.name, {})
    for key, value in fixed.items():  # the reference's Tversky weights of Dice and Jaccard: fixed by the loss
        assert params.pop(key, value) == value
    if case.get("pooled"):
        cms = [_prepare(case, p, t).confusion for p, t in zip(pred, target, strict=True)]
        c = max(cm.shape[0] for cm in cms)
        total = sum(metrics.pad_confusion(cm, c) for cm in cms)
        values, per_class = metrics.summarize(total, _include(case, c))
        return values[case["value"]], per_class.get(case["value"])
    x = _prepare(case, pred, target)
    value, per_class = spec.evaluate(x, include=_include(case, x.num_classes), **params)
    return value, per_class


def _close(got: float, expected: float | None) -> bool:
    if expected is None:
        return bool(np.isnan(got))
    return bool(np.isclose(got, expected, rtol=1e-6, atol=1e-9))


def test_fixture_records_its_provenance():
    assert {"torch", "segmentation_models_pytorch", "scikit-learn"} <= set(DOC["versions"])
    assert DOC["generated_by"] == "tools/make_golden_seg.py"
    assert {c["value"] for c in CASES} == {s.name for s in registry.specs("seg") if not s.opt_in and not s.on_request}  # boundary,
    # counting: their own files


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_reference(case):
    value, per_class = _compute(case)
    assert _close(value, case["expected"]), (value, case["expected"], case["reference"])
    if case.get("per_class") is not None and per_class is not None and registry.get(
            "seg", case["value"]).kind == "metric":
        assert all(_close(g, e) for g, e in zip(per_class, case["per_class"], strict=True))
