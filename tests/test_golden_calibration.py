"""Golden values of every calibration value under every convention that has it, for cls samples and for the same
probabilities read as a segmentation image's pixels.

Fixtures: ``tests/golden/calibration.json`` + ``calibration_inputs.npz``, written by
``tools/make_golden_calibration.py`` with torchmetrics, scikit-learn, netcal, uncertainty-calibration and
MetricsReloaded (versions and commit in the JSON). Tolerance: 1e-6 relative; torchmetrics and netcal on a float32
input compute in float32 (``float32_bound``: 1e-5), lossctl sums in float64.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.inputs.cls import prepare_inputs
from lossctl.inputs.seg import prepare

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "calibration.json").read_text())
INPUTS = np.load(HERE / "calibration_inputs.npz")
CASES = DOC["cases"]


def _expected(case: dict) -> float:
    return float("nan") if case["expected"] is None else case["expected"]


def _check(value: float, case: dict) -> None:
    tol = 1e-5 if case["float32_bound"] else 1e-6
    expected = _expected(case)
    if np.isnan(expected):
        assert np.isnan(value), case
    else:
        assert value == pytest.approx(expected, rel=tol, abs=1e-12), case


def _ids(case: dict) -> str:
    return f"{case['id']}-{case['value']}-{case['convention']}-{'-'.join(map(str, case['params'].values()))}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_cls_matches_reference(case: dict) -> None:
    pred, target = INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/target"]
    x = prepare_inputs(pred, target, target_kind="binary" if pred.ndim == 1 else "index")
    value, _ = registry.get("cls", case["value"]).evaluate(x, case["convention"], **case["params"])
    _check(value, case)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_seg_pixels_match_reference(case: dict) -> None:
    """The samples as one image of N pixels: (N, C) as a (C, 1, N) map, (N,) as a single foreground map (1, N):
    the same values."""
    pred, target = INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/target"]
    image = pred[None, :] if pred.ndim == 1 else np.ascontiguousarray(pred.T)[:, None, :]
    x = prepare(image, target[None, :].astype(np.uint8), kind="probs", num_classes=2 if pred.ndim == 1 else None)
    value, _ = registry.get("seg", case["value"]).evaluate(x, case["convention"], **case["params"])
    _check(value, case)


def test_provenance() -> None:
    prov = DOC["provenance"]
    assert prov["torchmetrics"] == "1.9.0" and prov["scikit-learn"] == "1.9.1" and prov["netcal"] == "1.4.0"
    assert "cb38dfc0a5ed4fa3bdc559e4960b6e2b93c3b967" in prov["MetricsReloaded"]
    assert {c["convention"] for c in CASES} == {"lossctl", "torch", "sklearn", "netcal", "metricsreloaded"}
