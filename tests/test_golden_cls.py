"""Golden values of every classification loss under every convention that has it.

Fixtures: ``tests/golden/cls.json`` + ``cls_inputs.npz``, written by ``tools/make_golden_cls.py`` with torch,
torchvision, Keras (torch backend), scikit-learn, segmentation_models_pytorch and MONAI (versions in the JSON).
Tolerance: 1e-6 relative; Keras computes in float32, so its cases (``float32_bound``) are compared at 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.engine.cls import ClsConfig

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "cls.json").read_text())
INPUTS = np.load(HERE / "cls_inputs.npz")
CASES = DOC["cases"]


def _params(case: dict) -> dict:
    """The case's reference parameters as lossctl names them (the call itself is in ``reference``)."""
    params = dict(case["params"])
    params.pop("mode", None)  # smp's mode follows the target kind
    if case["convention"] == "keras" and case["loss"] == "focal" and params.get("alpha") is None:
        params.pop("alpha")  # CategoricalFocalCrossentropy called with its default
    if params.get("label_smoothing") == 0.0 and registry.get("cls", case["loss"]).impl(
            case["convention"]).param("label_smoothing") is None:
        params.pop("label_smoothing")  # the reference has no smoothing: called without it
    if isinstance(params.get("pos_weight"), list):
        params["pos_weight"] = np.asarray(params["pos_weight"])
    if case["convention"] == "torch" and case["loss"] == "multiclass_hinge" and "squared" in params:
        params["p"] = 2 if params.pop("squared") else 1  # MultiMarginLoss(p)
    return params


def _target_kind(case: dict) -> str:
    """Elementwise losses read (N, C) targets per element, as the references were called."""
    target = _array(case, "target")
    if target is not None and target.ndim == 2 and case["loss"] in ("bce", "weighted_bce", "focal", "hinge",
                                                                    "squared_hinge"):
        return "multilabel" if case["loss"] != "focal" or case["convention"] != "keras" else "auto"
    return "auto"


def _array(case: dict, key: str):
    name = f"{case['id']}/{key}"
    return INPUTS[name] if name in INPUTS.files else None


def test_fixture_records_its_provenance():
    assert {"torch", "keras", "scikit-learn", "segmentation_models_pytorch", "monai"} <= set(DOC["versions"])
    assert DOC["generated_by"] == "tools/make_golden_cls.py"
    covered = {(c["loss"], c["convention"]) for c in CASES}
    for spec, convention in registry.pairs("cls", "loss"):
        if convention != "lossctl":
            assert (spec.name, convention) in covered, (spec.name, convention)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_reference(case):
    class_weights = _array(case, "class_weights")
    config = ClsConfig(convention=case["convention"], ignore_index=case["ignore_index"], target_kind=_target_kind(case),
                       class_weights=None if class_weights is None else tuple(class_weights.tolist()))
    x = config.prepare(_array(case, "pred"), _array(case, "target"), _array(case, "weights"), case["input"])
    spec = registry.get("cls", case["loss"])
    value, _ = spec.evaluate(x, case["convention"], **_params(case))
    rtol = 1e-5 if case["float32_bound"] else 1e-6
    assert value == pytest.approx(case["expected"], rel=rtol, abs=1e-9), case["reference"]
