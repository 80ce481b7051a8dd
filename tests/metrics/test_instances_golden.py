"""Golden values of the instance values under the panoptica and hovernet conventions, computed once by the
references themselves (never test dependencies).

Fixtures: ``tests/golden/instances_panoptica.json`` (panoptica 2.1.7: its three matchers on IoU and Dice, at
thresholds 0.5 and 0.25, with ``>=`` and ``>``, and its HD95, ASSD and NSD at each case's spacing; written by
``tools/make_golden_instances_panoptica.py``), ``instances_hovernet.json`` (HoVer-Net's ``stats_utils.py``
get_fast_pq at match_iou 0.5 and 0.3, get_fast_aji and get_fast_aji_plus; ``make_golden_instances_hovernet.py``) and
``instances_inputs.npz`` (the label maps, from ``tools/instance_cases.py``). Every reference computes in float64:
the tolerance is 1e-6 relative (1e-9 absolute near 0) everywhere; the matchings themselves (which predicted
components each reference instance got) must be identical, ids included (panoptica numbers its components as
scipy does, in raster order).

Where a reference gives no number (NaN, inf, or an exception, stored as strings), lossctl's value is undefined
(NaN), except HoVer-Net's AJI with an empty prediction, which raises there and is 0 here (nothing is intersected).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lossctl.metrics import instances as inst

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PANOPTICA = json.loads((GOLDEN / "instances_panoptica.json").read_text())
HOVERNET = json.loads((GOLDEN / "instances_hovernet.json").read_text())
INPUTS = np.load(GOLDEN / "instances_inputs.npz")
#: panoptica's result attribute -> lossctl's value name
NAMES = {"tp": "inst_tp", "fp": "inst_fp", "fn": "inst_fn", "prec": "inst_precision", "rec": "inst_recall",
         "rq": "rq", "sq": "sq", "sq_dsc": "sq_dice", "pq": "pq", "pq_dsc": "pq_dice", "sq_hd95": "sq_hd95",
         "sq_assd": "sq_assd", "sq_nsd": "sq_nsd"}


def _close(ours: float, want: float) -> bool:
    return abs(ours - want) <= 1e-9 + 1e-6 * abs(want)


def _maps(case: dict, convention: str) -> tuple[inst.InstanceMap, inst.InstanceMap]:
    pred, gt = INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/gt"]
    if case["kind"] == "semantic":
        rank = inst.CONVENTIONS[convention].rank(gt.ndim)
        return inst.connected_components(gt > 0, rank), inst.connected_components(pred > 0, rank)
    return inst.relabel(gt), inst.relabel(pred)


@pytest.mark.parametrize("case", PANOPTICA["cases"], ids=lambda c: c["id"])
def test_panoptica(case: dict) -> None:
    gt, pred = _maps(case, "panoptica")
    failures = []
    for run in case["runs"]:
        ev = inst.convention_evaluate(gt, pred, "panoptica", matcher=run["matcher"], metric=run["metric"],
                                      threshold=run["threshold"], strict=run["strict"],
                                      boundary_metrics=("hd95", "assd", "nsd"), spacing=case["spacing"])
        label = f"{run['matcher']} {run['metric']} {'>' if run['strict'] else '>='} {run['threshold']}"
        values = inst.convention_values(ev, "panoptica")
        for key, want in run["values"].items():
            ours = values[NAMES[key]]
            if isinstance(want, str):  # nan, inf or an exception: undefined here
                if not math.isnan(ours):
                    failures.append(f"{label} {key}: {ours} where panoptica gives {want}")
            elif not _close(ours, want):
                failures.append(f"{label} {key}: {ours} != {want}")
        if run["pairs"]:  # an edge case (one side empty) stops panoptica before matching
            pairs = [[int(g), list(ps)] for g, ps in zip(ev.pairs_gt, ev.pairs_pred, strict=True)]
            if pairs != run["pairs"]:
                failures.append(f"{label} matching {pairs} != {run['pairs']}")
        for name in ("iou", "dice"):
            want_list = run["lists"][name]
            ours_list = getattr(ev, name).tolist()
            if want_list != "error" and (len(ours_list) != len(want_list)
                                         or not all(map(_close, ours_list, want_list))):
                failures.append(f"{label} per-instance {name} {ours_list} != {want_list}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("case", HOVERNET["cases"], ids=lambda c: c["id"])
def test_hovernet(case: dict) -> None:
    gt, pred = _maps(case, "lossctl")  # HoVer-Net got the semantic cases' full-neighbourhood components
    run = case["runs"][0]
    failures = []
    for threshold in (0.5, 0.3):
        want = run[f"pq@{threshold}"]
        ev = inst.convention_evaluate(gt, pred, "hovernet", threshold=threshold)
        values = inst.convention_values(ev, "hovernet")
        if "error" in want:  # no instance at all: HoVer-Net divides 0 by 0
            assert gt.count + pred.count == 0
            assert all(math.isnan(values[k]) for k in ("rq", "sq", "pq")), values
            continue
        pairs = sorted([int(g), ps[0]] for g, ps in zip(ev.pairs_gt, ev.pairs_pred, strict=True))
        if pairs != want["paired"]:
            failures.append(f"{threshold}: pairs {pairs} != {want['paired']}")
        for ours, theirs in (("rq", "dq"), ("sq", "sq"), ("pq", "pq")):
            if not _close(values[ours], want[theirs]):
                failures.append(f"{threshold}: {ours} {values[ours]} != {theirs} {want[theirs]}")
        assert values["inst_fp"] == len(want["unpaired_pred"]) and values["inst_fn"] == len(want["unpaired_true"])
    values = inst.convention_values(inst.convention_evaluate(gt, pred, "hovernet"), "hovernet", ("aji", "aji_plus"))
    for name, key in (("aji", "get_fast_aji"), ("aji_plus", "get_fast_aji_plus")):
        want = run[key]
        if isinstance(want, dict):  # HoVer-Net raised: argmax over no prediction
            assert pred.count == 0
            assert values[name] == 0.0 if gt.count else math.isnan(values[name])
        elif want == "nan":
            assert math.isnan(values[name])
        elif not _close(values[name], want):
            failures.append(f"{name} {values[name]} != {want}")
    assert not failures, "\n".join(failures)


def test_the_fixtures_cover_the_issue_cases() -> None:
    ids = {c["id"] for c in PANOPTICA["cases"]}
    assert {"shapes2d", "shapes2d_aniso", "nested2d", "shapes3d", "ties_labels2d", "labels3d"} <= ids
    for nd in (2, 3):
        assert {f"empty_pred{nd}d", f"empty_gt{nd}d", f"empty_both{nd}d", f"no_overlap{nd}d"} <= ids
    runs = [r for c in PANOPTICA["cases"] for r in c["runs"]]
    assert {(r["matcher"], r["metric"], r["threshold"], r["strict"]) for r in runs} == {
        (m, s, t, strict) for m in inst.MATCHERS for s in ("iou", "dice") for t in (0.5, 0.25)
        for strict in (False, True)}
    by_run = {(c["id"], r["matcher"], r["metric"], r["threshold"], r["strict"]): r["pairs"]
              for c in PANOPTICA["cases"] for r in c["runs"]}
    # the fixture tells the matchers and the threshold rules apart
    assert by_run[("shapes2d", "greedy", "iou", 0.25, False)] != by_run[("shapes2d", "hungarian", "iou", 0.25, False)]
    assert by_run[("shapes2d", "greedy", "iou", 0.5, False)] != by_run[("shapes2d", "merge", "iou", 0.5, False)]
    assert by_run[("shapes2d", "greedy", "iou", 0.5, False)] != by_run[("shapes2d", "greedy", "iou", 0.5, True)]
    assert PANOPTICA["versions"]["panoptica"] == "2.1.7"
    assert HOVERNET["commit"] and {c["id"] for c in HOVERNET["cases"]} >= {"ties_labels2d", "nuclei2d_0"}
