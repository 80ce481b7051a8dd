"""Golden values of the boundary metrics under every convention, computed once by the reference libraries.

Fixtures: ``tests/golden/boundary.json`` (cases, expected values, library versions) and ``boundary_inputs.npz``
(label maps), written by ``tools/make_golden_boundary.py`` with MONAI, MedPy and DeepMind's surface-distance
(the references are not test dependencies). MONAI stores distances in float32, so its values agree to about
1e-7; the tolerance is 1e-6 relative (1e-9 absolute near 0) for every convention.

For empty masks the references disagree (NaN, inf or an exception, stored as strings); lossctl applies its own
policy under every convention, and these tests pin it: a class absent from both masks is undefined (NaN by
default), a class present in one mask only gets the image diagonal for the distances and 0 for nsd (which is
what MONAI and surface-distance give for nsd too).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lossctl.metrics.boundary import BOUNDARY_METRICS, CONVENTIONS, boundary_metrics, image_diagonal

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "boundary.json").read_text())
INPUTS = np.load(HERE / "boundary_inputs.npz")
ROWS = [(case, convention, metric) for case in DOC["cases"] for convention in CONVENTIONS
        for metric in BOUNDARY_METRICS if CONVENTIONS[convention].has(metric)]


def _ours(case: dict, convention: str, metric: str, engine: str = "auto") -> np.ndarray:
    return boundary_metrics(INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/gt"], case["classes"], [metric],
                            spacing=case["spacing"], convention=convention,
                            percentile=95.0 if convention == "medpy" else case["percentile"],  # MedPy fixes 95
                            tolerances=case["tolerance"], engine=engine)[metric]


@pytest.mark.parametrize("case,convention,metric", ROWS,
                         ids=[f"{c['id']}-{conv}-{m}" for c, conv, m in ROWS])
def test_matches_reference(case: dict, convention: str, metric: str) -> None:
    ours = _ours(case, convention, metric)
    expected = case["expected"][convention][metric]
    assert len(ours) == len(expected)
    for k, want in enumerate(expected):
        if isinstance(want, str):  # an empty mask: lossctl's policy, not the reference's raw result
            pred = np.isin(INPUTS[f"{case['id']}/pred"], case["classes"][k])
            gt = np.isin(INPUTS[f"{case['id']}/gt"], case["classes"][k])
            assert not (pred.any() and gt.any()), "a reference gave no number for two non-empty masks"
            if not pred.any() and not gt.any():
                assert math.isnan(ours[k])
            elif metric == "nsd":
                assert ours[k] == 0.0
            else:
                assert ours[k] == pytest.approx(image_diagonal(case["shape"], case["spacing"]), rel=1e-12)
            continue
        assert ours[k] == pytest.approx(want, rel=1e-6, abs=1e-9), (k, case["classes"][k])


def test_fixture_covers_every_convention_and_case_kind() -> None:
    ids = {c["id"] for c in DOC["cases"]}
    for nd in (2, 3):
        for kind in ("blobs", "border", "single", "components", "empty_both", "empty_pred", "empty_gt"):
            assert f"{kind}{nd}d" in ids
    assert {v for c in DOC["cases"] for v in c["expected"]} == set(CONVENTIONS)


@pytest.mark.parametrize("engine", ["edt", "kdtree"])
@pytest.mark.parametrize("case", [c for c in DOC["cases"] if c["id"].startswith(("blobs", "components"))],
                         ids=lambda c: c["id"])
def test_engines_agree(case: dict, engine: str) -> None:
    for convention in ("lossctl", "deepmind"):
        for metric in ("hd", "hd95", "masd", "nsd"):
            assert np.allclose(_ours(case, convention, metric, engine), _ours(case, convention, metric, "auto"),
                               rtol=1e-12, atol=1e-12)
