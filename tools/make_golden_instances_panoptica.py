#!/usr/bin/env python
"""Golden values of lossctl's instance values under the panoptica convention, from panoptica 2.1.7 itself.

panoptica pins numpy<2.3 and connected-components-3d<4, so it gets a side environment of its own (never a
dependency of lossctl, nor of its reference venv)::

    python3 -m venv /tmp/refenv-panoptica && /tmp/refenv-panoptica/bin/pip install panoptica==2.1.7
    /tmp/refenv-panoptica/bin/python tools/make_golden_instances_panoptica.py

It writes tests/golden/instances_inputs.npz (the semantic and label cases of tools/instance_cases.py) and
tests/golden/instances_panoptica.json. It never imports lossctl.

Every case runs through ``Panoptica_Evaluator`` with each of the three matchers (NaiveThresholdMatching,
MaxBipartiteMatching, MaximizeMergeMatching), matching on IoU and on DSC, at thresholds 0.5 and 0.25, with
``strict_threshold`` False (panoptica's default, ``>=``) and True, and instance metrics DSC, IOU, ASSD, HD95 and NSD
at the case's spacing. Semantic cases enter as ``InputType.SEMANTIC`` with ``ConnectedComponentsInstanceApproximator()``
(panoptica's connectivity: scipy.ndimage.label in 2D, cc3d 26-connectivity in 3D); label cases as
``InputType.UNMATCHED_INSTANCE``, their ids first relabelled to 1..n in increasing order (panoptica's bincount over
ids would allocate max-id entries for ids near 2^31; lossctl's relabelling keeps the same order, so nothing changes).

Stored per run: tp, fp, fn, prec, rec, rq, sq, sq_dsc, pq, pq_dsc, sq_hd95, sq_assd, sq_nsd (a number, or "nan",
"inf" or "error" when panoptica raised), the per-instance IoU and DSC lists, and the matching read from the
intermediate steps: each matched reference component with its predicted components (panoptica's ids).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import math
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instance_cases  # noqa: E402

warnings.filterwarnings("ignore")
from panoptica import (ConnectedComponentsInstanceApproximator, InputType, MaxBipartiteMatching,  # noqa: E402
                       Metric, NaiveThresholdMatching, Panoptica_Evaluator)
from panoptica.instance_matcher import MaximizeMergeMatching  # noqa: E402
from panoptica.metrics import MetricMode  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "tests" / "golden" / "instances_panoptica.json"
OUT_NPZ = ROOT / "tests" / "golden" / "instances_inputs.npz"
MATCHERS = {"greedy": NaiveThresholdMatching, "hungarian": MaxBipartiteMatching, "merge": MaximizeMergeMatching}
METRICS = {"iou": Metric.IOU, "dice": Metric.DSC}
VALUES = ("tp", "fp", "fn", "prec", "rec", "rq", "sq", "sq_dsc", "pq", "pq_dsc", "sq_hd95", "sq_assd", "sq_nsd")


def _encode(v):
    if v is None:
        return "none"
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _relabel(a: np.ndarray) -> np.ndarray:
    ids = np.unique(a)
    ids = ids[ids > 0]
    out = np.zeros(a.shape, np.int32)
    for k, i in enumerate(ids):
        out[a == i] = k + 1
    return out


def _pairs(result) -> list:
    """Matched reference ids with their predicted ids, from the intermediate (cropped) instance maps."""
    steps = result.intermediate_steps_data
    if steps is None:  # an edge case (no instance on one side) ends the pipeline before matching
        return []
    try:
        before = steps.prediction_arr(InputType.UNMATCHED_INSTANCE)
        after = steps.prediction_arr(InputType.MATCHED_INSTANCE)
        ref = steps.reference_arr(InputType.UNMATCHED_INSTANCE)
    except KeyError:  # an edge case stops the pipeline before matching
        return []
    n_ref = int(ref.max())
    groups: dict[int, list[int]] = {}
    for p in np.unique(before[before > 0]):
        new = np.unique(after[before == p])
        assert new.size == 1
        if new[0] <= n_ref:
            groups.setdefault(int(new[0]), []).append(int(p))
    return [[g, sorted(ps)] for g, ps in sorted(groups.items())]


def _evaluate(case: dict, matcher: str, metric: str, threshold: float, strict: bool, instance_metrics):
    semantic = case["kind"] == "semantic"
    evaluator = Panoptica_Evaluator(
        expected_input=InputType.SEMANTIC if semantic else InputType.UNMATCHED_INSTANCE,
        instance_approximator=ConnectedComponentsInstanceApproximator() if semantic else None,
        instance_matcher=MATCHERS[matcher](matching_metric=METRICS[metric], matching_threshold=threshold,
                                           strict_threshold=strict),
        instance_metrics=instance_metrics, log_intermediate_steps=True)
    pred, gt = case["pred"], case["gt"]
    if not semantic:
        pred, gt = _relabel(pred), _relabel(gt)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return next(iter(evaluator.evaluate(pred, gt, voxelspacing=tuple(case["spacing"])).values()))


def run(case: dict, matcher: str, metric: str, threshold: float, strict: bool) -> dict:
    """One evaluation; with zero TP panoptica raises for HD95 and NSD (outside its edge-case table) while building
    the result, so that case is evaluated again without them and both are stored as "error"."""
    raised = ()
    try:
        result = _evaluate(case, matcher, metric, threshold, strict,
                           [Metric.DSC, Metric.IOU, Metric.ASSD, Metric.HD95, Metric.NSD])
    except NotImplementedError:
        raised = ("sq_hd95", "sq_nsd")
        result = _evaluate(case, matcher, metric, threshold, strict, [Metric.DSC, Metric.IOU, Metric.ASSD])
    values = {}
    for k in VALUES:
        if k in raised:
            values[k] = "error"
            continue
        try:
            values[k] = _encode(getattr(result, k))
        except Exception:  # noqa: BLE001 - panoptica raises on zero-TP cases outside its table
            values[k] = "error"
    lists = {}
    for name, m in (("iou", Metric.IOU), ("dice", Metric.DSC)):
        try:
            lists[name] = [float(v) for v in (result.get_list_metric(m, MetricMode.ALL) or [])]
        except Exception:  # noqa: BLE001
            lists[name] = "error"
    return {"matcher": matcher, "metric": metric, "threshold": threshold, "strict": strict,
            "n_ref": int(result.n_ref_instances), "n_pred": int(result.n_pred_instances),
            "values": values, "lists": lists, "pairs": _pairs(result)}


def main() -> None:
    cases = instance_cases.semantic_cases() + instance_cases.label_cases()
    out = []
    for case in cases:
        runs = [run(case, matcher, metric, threshold, strict)
                for matcher in MATCHERS for metric in METRICS for threshold in (0.5, 0.25) for strict in (False, True)]
        out.append({"id": case["id"], "kind": case["kind"], "spacing": case["spacing"], "runs": runs})
        print(case["id"], len(runs), "runs")
    instance_cases.save_inputs(OUT_NPZ, cases)
    doc = {
        "generated_by": "tools/make_golden_instances_panoptica.py",
        "reference": "panoptica.Panoptica_Evaluator (SEMANTIC + ConnectedComponentsInstanceApproximator, or "
                     "UNMATCHED_INSTANCE on relabelled maps); instance_metrics DSC, IOU, ASSD, HD95, NSD",
        "seed": instance_cases.SEED,
        "versions": {p: importlib.metadata.version(p) for p in
                     ("panoptica", "numpy", "scipy", "connected-components-3d")},
        "python": sys.version.split()[0],
        "cases": out,
    }
    instance_cases.write_json(OUT_JSON, doc)
    print("wrote", OUT_JSON, OUT_NPZ)


if __name__ == "__main__":
    main()
