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
from lossctl.cls import ClsConfig, prepare_inputs

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "cls.json").read_text())
INPUTS = np.load(HERE / "cls_inputs.npz")
#: Options that are not the framework's default definition and that lossctl does not expose.
NOT_DEFAULTS = {("monai", "use_softmax", True)}
CASES = [c for c in DOC["cases"]
         if not any((c["convention"], k, v) in NOT_DEFAULTS for k, v in c["params"].items() if not isinstance(v, list))]


def _params(case: dict) -> dict:
    params = dict(case["params"])
    params.pop("mode", None)
    params.pop("use_softmax", None)
    balancing = params.pop("apply_class_balancing", None)
    if balancing is False:
        params["alpha"] = None  # Keras ignores alpha unless apply_class_balancing
    if case["convention"] == "torch" and "alpha" in params and params["alpha"] is None:
        params["alpha"] = -1.0  # torchvision's way to turn alpha off; lossctl's None means its default 0.25
    if isinstance(params.get("pos_weight"), list):
        params["pos_weight"] = np.asarray(params["pos_weight"])
    if "squared" in params:
        params["squared"] = float(params["squared"])
    return params


def _array(case: dict, key: str):
    name = f"{case['id']}/{key}"
    return INPUTS[name] if name in INPUTS.files else None


def test_fixture_records_its_provenance():
    assert {"torch", "keras", "scikit-learn", "segmentation_models_pytorch", "monai"} <= set(DOC["versions"])
    assert DOC["generated_by"] == "tools/make_golden_cls.py"
    covered = {(c["loss"], c["convention"]) for c in CASES}
    for spec in registry.specs("cls", "loss"):
        for convention in spec.presets:
            if convention != "lossctl":
                assert (spec.name, convention) in covered, (spec.name, convention)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_matches_reference(case):
    class_weights = _array(case, "class_weights")
    config = ClsConfig(convention=case["convention"], ignore_index=case["ignore_index"],
                       class_weights=None if class_weights is None else tuple(class_weights.tolist()))
    x = prepare_inputs(_array(case, "pred"), _array(case, "target"), _array(case, "weights"), case["input"], config)
    spec = registry.get("cls", case["loss"])
    value, _ = spec.compute(x, case["convention"], **{**spec.defaults(), **_params(case)})
    rtol = 1e-5 if case["float32_bound"] else 1e-6
    assert value == pytest.approx(case["expected"], rel=rtol, abs=1e-9), case["reference"]
