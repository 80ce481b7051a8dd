"""Golden values of cldice and boundary_iou under lossctl and metricsreloaded, computed once by the reference code.

Fixtures: ``tests/golden/topology.json`` (cases, expected values, versions and the commits of the checkouts) and
``topology_inputs.npz`` (label maps), written by ``tools/make_golden_topology.py`` from jocpae/clDice's
``clDice``, the Boundary IoU API's ``mask_to_boundary`` (OpenCV; its steps with scipy in 3D, which it lacks) and
MetricsReloaded's ``BinaryPairwiseMeasures`` (the references are not test dependencies). The references compute
on whole images; lossctl crops each entry to its bounding box, so these values also check that cropping changes
nothing, at the image's edges included. Tolerance: 1e-6 relative (every reference computes in float64).

Where a reference gives NaN, lossctl applies its documented policy, pinned here: under both conventions a class
absent from both masks is undefined (``both_empty``; MetricsReloaded's Boundary IoU says 1 there), a vanished
skeleton leaves clDice undefined; under ``lossctl`` clDice is 0 when one mask is empty or the masks do not
overlap, under ``metricsreloaded`` it is undefined, as its NaN.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lossctl.metrics.topology import TOPOLOGY_METRICS, skeleton, topology_metrics

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "topology.json").read_text())
INPUTS = np.load(HERE / "topology_inputs.npz")
CONVENTIONS = ("lossctl", "metricsreloaded")
ROWS = [(case, convention, metric) for case in DOC["cases"] for convention in CONVENTIONS
        for metric in TOPOLOGY_METRICS]


def _masks(case: dict, k: int) -> tuple[np.ndarray, np.ndarray]:
    labels = case["classes"][k]
    return np.isin(INPUTS[f"{case['id']}/pred"], labels), np.isin(INPUTS[f"{case['id']}/gt"], labels)


def _policy(case: dict, k: int, convention: str, metric: str) -> float:
    """lossctl's value where the reference's is NaN (or MetricsReloaded's 1 for two empty masks)."""
    pred, gt = _masks(case, k)
    if not pred.any() and not gt.any():
        return math.nan  # both_empty: the run's --empty (default: undefined)
    assert metric == "cldice", "a reference gave NaN for the Boundary IoU of masks that are not both empty"
    if convention == "metricsreloaded":
        return math.nan
    if not pred.any() or not gt.any():
        return 0.0
    if not skeleton(pred).any() or not skeleton(gt).any():
        return math.nan
    assert not (pred & gt).any(), "a reference gave NaN for overlapping masks with skeletons"
    return 0.0


@pytest.mark.parametrize("case,convention,metric", ROWS, ids=[f"{c['id']}-{conv}-{m}" for c, conv, m in ROWS])
def test_matches_reference(case: dict, convention: str, metric: str) -> None:
    ours = topology_metrics(INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/gt"], case["classes"], [metric],
                            convention=convention, dilation_ratio=case["dilation_ratio"])[metric]
    expected = case["expected"][convention][metric]
    assert len(ours) == len(expected)
    for k, want in enumerate(expected):
        both_empty = not any(m.any() for m in _masks(case, k))
        if want == "nan" or (both_empty and convention == "metricsreloaded"):
            policy = _policy(case, k, convention, metric)
            assert (math.isnan(ours[k]) and math.isnan(policy)) or ours[k] == policy, (k, ours[k], policy)
            continue
        assert ours[k] == pytest.approx(want, rel=1e-6, abs=1e-12), (k, case["classes"][k])


def test_fixture_covers_every_case_kind_and_its_provenance() -> None:
    ids = {c["id"] for c in DOC["cases"]}
    for nd in (2, 3):
        for kind in ("vessels", "vessels{}d_ratio", "vessels{}d_perfect", "border", "apart", "tiny", "empty_both",
                     "empty_pred", "empty_gt"):
            assert (kind.format(nd) if "{}" in kind else f"{kind}{nd}d") in ids
    assert {"vanishing3d", "halfway2d", "halfway2d_up"} <= ids
    assert any(c["spacing"] and len(set(c["spacing"])) > 1 for c in DOC["cases"])  # anisotropic cases
    assert set(DOC["checkouts"]) == {"jocpae/clDice", "bowenc0221/boundary-iou-api", "Project-MONAI/MetricsReloaded"}
    assert all(len(c["commit"]) == 40 for c in DOC["checkouts"].values())
    # the API's round() rounds halves to even: 0.05 x 50 = 2.5 gives d = 2, which differs from d = 3
    halfway = next(c for c in DOC["cases"] if c["id"] == "halfway2d")
    pred, gt = (INPUTS[f"halfway2d/{side}"] for side in ("pred", "gt"))
    for width, ratio in ((2, 0.05), (3, 0.06)):
        value = topology_metrics(pred, gt, [(1,)], ["boundary_iou"], dilation_ratio=ratio)["boundary_iou"][0]
        assert (value == pytest.approx(halfway["expected"]["lossctl"]["boundary_iou"][0], rel=1e-12)) == (width == 2)
