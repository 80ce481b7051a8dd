"""lossctl.metrics.lesions: BraTS 2023 lesion-wise Dice and HD95 against the official code, and hand-derived cases.

Fixtures: ``tests/golden/lesions_brats.json`` and ``lesions_inputs.npz``, written by
``tools/make_golden_lesions_brats.py`` with rachitsaluja/BraTS-2023-Metrics (its commit in the fixture) run unmodified
with the pins of its requirements.txt. Per case, task (GLI 3/50, MEN 1/50, MET 1/2) and region (WT, TC, ET): the
lesion-wise scores and counts, and every lesion's volume, intersecting components, Dice and HD95. The official code
computes in float64 and reads the spacing from the NIfTI header in float32 (``header_spacing``, used here too):
tolerance 1e-6 relative. Lesions and components are named by their first voxel (cc3d and scipy number them
differently).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from lossctl.metrics import lesions
from lossctl.metrics.boundary import boundary_metrics

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
DOC = json.loads((GOLDEN / "lesions_brats.json").read_text())
INPUTS = np.load(GOLDEN / "lesions_inputs.npz")
REGIONS = {"WT": (1, 2, 3), "TC": (1, 3), "ET": (3,)}


def _first_voxels(labels: np.ndarray) -> dict[int, int]:
    flat = labels.ravel()
    out: dict[int, int] = {}
    for i in np.flatnonzero(flat):
        out.setdefault(int(flat[i]), int(i))
    return out


def _close(ours: float, want: float) -> bool:
    return abs(ours - want) <= 1e-9 + 1e-6 * abs(want)


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: c["id"])
def test_matches_the_official_code(case: dict) -> None:
    pred_map, gt_map = INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/gt"]
    failures = []
    for run in case["runs"]:
        dilation, min_volume = lesions.task_parameters(run["task"])
        for region, want in run["regions"].items():
            pred, gt = np.isin(pred_map, REGIONS[region]), np.isin(gt_map, REGIONS[region])
            got = lesions.lesion_wise(pred, gt, case["header_spacing"], dilation=dilation, min_volume=min_volume)
            where = f"{run['task']} {region}"
            for ours, key in ((got.dice, "LesionWise_Score_Dice"), (got.hd95, "LesionWise_Score_HD95"),
                              (got.tp, "Num_TP"), (got.fp, "Num_FP"), (got.fn, "Num_FN")):
                if not _close(ours, want[key]):
                    failures.append(f"{where} {key}: {ours} != {want[key]}")
            components = _first_voxels(ndimage.label(pred, structure=np.ones((3, 3, 3)))[0])
            rows = {}  # each lesion named by its first voxel, as the fixture names them
            lesion_map = ndimage.label(ndimage.binary_dilation(gt, ndimage.generate_binary_structure(3, 2),
                                                               iterations=dilation), structure=np.ones((3, 3, 3)))[0]
            first = _first_voxels(np.where(gt, lesion_map, 0))
            for les in got.lesions:
                rows[first[les.id]] = les
            if sorted(rows) != sorted(w["first_voxel"] for w in want["lesions"]):
                failures.append(f"{where}: lesions {sorted(rows)} != {[w['first_voxel'] for w in want['lesions']]}")
                continue
            for w in want["lesions"]:
                les = rows[w["first_voxel"]]
                hd95 = lesions.PENALTY if w["hd95"] == "inf" else w["hd95"]
                if sorted(components[h] for h in les.hits) != w["hits"] or not _close(les.volume, w["volume"]) \
                        or not _close(les.dice, w["dice"]) or not _close(les.hd95, hd95):
                    failures.append(f"{where} lesion {w['first_voxel']}: {les} != {w}")
            if sorted(components[i] for i, _ in got.false_positives) != want["false_positives"]:
                failures.append(f"{where}: false positives differ")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", DOC["cases"], ids=lambda c: c["id"])
def test_the_legacy_scores_are_dice_and_deepmind_hd95_with_374_for_one_empty_mask(case: dict) -> None:
    """The README's BraTS recipe: the challenge's legacy full-image scores are lossctl's dice and hd95:deepmind of
    the region, with 374 for a mask present on one side only (both empty: Dice 1, HD95 0)."""
    pred_map, gt_map = INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/gt"]
    for region, labels in REGIONS.items():
        want = case["runs"][0]["regions"][region]
        pred, gt = np.isin(pred_map, labels), np.isin(gt_map, labels)
        hd95 = boundary_metrics(pred.astype(np.uint8), gt.astype(np.uint8), [(1,)], ["hd95"],
                                spacing=case["header_spacing"], convention="deepmind", both_empty=0.0,
                                one_empty=374.0)["hd95"][0]
        assert _close(hd95, want["Legacy_HD95"]), (region, hd95, want["Legacy_HD95"])
        both = pred.sum() + gt.sum()
        dice = 2.0 * np.count_nonzero(pred & gt) / both if both else 1.0
        assert _close(dice, want["Legacy_Dice"])


def test_the_fixture_covers_merging_dropping_and_false_positives() -> None:
    by = {(c["id"], r["task"]): r["regions"] for c in DOC["cases"] for r in c["runs"]}
    gli, met = by[("brats_mix", "GLI")]["ET"], by[("brats_mix", "MET")]["ET"]
    assert len(gli["lesions"]) < len(met["lesions"])  # dilation 3 merges two lesions that dilation 1 keeps apart
    assert any(w["volume"] <= 50 for w in gli["lesions"]) and gli["Num_FP"] > 0
    assert by[("brats_small_only", "GLI")]["WT"]["LesionWise_Score_Dice"] == 1.0  # only dropped lesions: 1 and 0
    assert DOC["commit"] and DOC["versions"]["pandas"] == "1.3.4"


# --------------------------------------------------------------------------------------------------------------
# Hand-derived
# --------------------------------------------------------------------------------------------------------------


def _volume() -> np.ndarray:
    return np.zeros((12, 24, 24), bool)


def test_a_missed_lesion_and_a_false_positive_score_the_penalty() -> None:
    gt, pred = _volume(), _volume()
    gt[2:6, 2:6, 2:6] = True  # 64 voxels, kept at 50
    pred[2:6, 14:18, 14:18] = True  # far away: a false positive
    r = lesions.lesion_wise(pred, gt, dilation=3, min_volume=50)
    assert (r.tp, r.fp, r.fn) == (0, 1, 1)
    assert r.dice == 0.0 and r.hd95 == lesions.PENALTY  # (0 + 0) / 2 and (374 + 374) / 2


def test_a_component_touching_two_lesions_counts_for_both() -> None:
    gt, pred = _volume(), _volume()
    gt[2:6, 2:6, 2:6] = True
    gt[2:6, 2:6, 14:18] = True  # 8 voxels apart: two lesions at dilation 1
    pred[2:6, 2:6, 2:18] = True  # one component over both
    r = lesions.lesion_wise(pred, gt, dilation=1, min_volume=0)
    assert [les.hits for les in r.lesions] == [(1,), (1,)] and (r.tp, r.fp, r.fn) == (2, 0, 0)
    assert r.lesions[0].dice == pytest.approx(2 * 64 / (64 + 256))  # each lesion against the whole component
    merged = lesions.lesion_wise(pred, gt, dilation=4, min_volume=0)  # 8 voxels: merged at dilation 4
    assert len(merged.lesions) == 1 and merged.dice == pytest.approx(2 * 128 / (128 + 256))


def test_a_prediction_touching_only_a_dropped_lesion_is_neither_hit_nor_false_positive() -> None:
    gt, pred = _volume(), _volume()
    gt[2:4, 2:4, 2:4] = True  # 8 voxels x 2 mm^3 = 16 mm^3 <= 50: dropped
    pred[2:4, 3:5, 3:5] = True
    r = lesions.lesion_wise(pred, gt, spacing=(2.0, 1.0, 1.0), dilation=3, min_volume=50)
    assert not r.lesions[0].kept and r.lesions[0].volume == 16.0
    assert (r.tp, r.fp, r.fn, r.dice, r.hd95) == (0, 0, 0, 1.0, 0.0)
    kept = lesions.lesion_wise(pred, gt, spacing=(2.0, 1.0, 1.0), dilation=3, min_volume=15.9)
    assert kept.lesions[0].kept and kept.tp == 1


def test_a_prediction_within_the_dilation_counts_without_overlap() -> None:
    gt, pred = _volume(), _volume()
    gt[2:6, 2:6, 2:6] = True
    pred[2:6, 2:6, 8:10] = True  # 2 voxels of gap: inside a 3-voxel dilation, outside a 1-voxel one
    assert lesions.lesion_wise(pred, gt, dilation=3, min_volume=0).tp == 1
    r = lesions.lesion_wise(pred, gt, dilation=1, min_volume=0)
    assert (r.tp, r.fp, r.fn) == (0, 1, 1)
    near = lesions.lesion_wise(pred, gt, dilation=3, min_volume=0)
    assert near.lesions[0].dice == 0.0 and math.isfinite(near.lesions[0].hd95) and near.lesions[0].hd95 > 0


def test_rows_and_parameters() -> None:
    gt, pred = _volume(), _volume()
    gt[2:6, 2:6, 2:6] = True
    pred[2:6, 2:6, 2:6] = True
    pred[8:9, 20:21, 20:21] = True
    rows = lesions.lesion_wise(pred, gt, min_volume=0).rows()
    assert rows["gt"] == [{"id": 1, "voxels": 64, "volume": 64.0, "kept": True, "matched": [1], "dice": 1.0,
                           "hd95": 0.0}]
    assert rows["unmatched_pred"] == [{"id": 2, "voxels": 1}]
    assert lesions.task_parameters("met") == (1, 2.0)
    with pytest.raises(ValueError, match="unknown BraTS task 'XYZ': choose GLI, SSA, PED, MEN, MET"):
        lesions.task_parameters("XYZ")
    with pytest.raises(ValueError, match="dilation 0"):
        lesions.lesion_wise(pred, gt, dilation=0)
    empty = lesions.lesion_wise(_volume(), _volume())
    assert (empty.dice, empty.hd95, empty.tp, empty.fp, empty.fn) == (1.0, 0.0, 0, 0, 0)
