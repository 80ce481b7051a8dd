"""Golden values of the counting metrics and the classification ranking metrics, computed by scikit-learn 1.9.1,
torchmetrics 1.9.0 and MetricsReloaded (its source at a pinned commit).

Fixtures: ``tests/golden/counting.json`` + ``counting_inputs.npz``, written by ``tools/make_golden_counting.py``
(versions and the MetricsReloaded commit in the JSON). Tolerance 1e-6 relative. Two references are float32-bound:
torchmetrics computes its MCC and kappa in float32 (``confmat.float()``), compared to 1e-5 relative and 1e-6
absolute; MetricsReloaded's BinaryPairwiseMeasures counts in float32 (its kappa is 1e-7 from the exact value),
compared to 1e-6 relative and absolute.

* ``seg`` cases run the engine (:func:`~lossctl.engine.seg.build_report`) on each case's label images: every
  image's value and per-class entries, the pooled value and per-class entries (the summed confusion matrix; avd
  from each image's voxel volume);
* ``cls`` cases evaluate the registry row on the samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.dataset.pairing import Pair
from lossctl.engine.seg import ImageOutcome, build_report
from lossctl.engine.seg_config import SegConfig
from lossctl.inputs.cls import prepare_inputs
from lossctl.inputs.seg import prepare

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "counting.json").read_text())
INPUTS = np.load(HERE / "counting_inputs.npz")
SEG = [c for c in DOC["cases"] if c["task"] == "seg"]
CLS = [c for c in DOC["cases"] if c["task"] == "cls"]


def _close(got: float | None, expected: float | None, convention: str) -> bool:
    if expected is None:
        return got is None or bool(np.isnan(got))
    rtol = 1e-5 if convention == "torch" else 1e-6
    atol = 1e-6 if convention in ("torch", "metricsreloaded") else 1e-9
    return got is not None and bool(np.isclose(got, expected, rtol=rtol, atol=atol))


def _arrays(case: dict) -> tuple[np.ndarray, np.ndarray]:
    key = f"{case['task']}-{case['data']}"
    return INPUTS[f"{key}/pred"], INPUTS[f"{key}/target"]


def test_fixture_records_its_provenance():
    assert DOC["generated_by"] == "tools/make_golden_counting.py"
    assert DOC["versions"]["scikit-learn"] == "1.9.1" and DOC["versions"]["torchmetrics"] == "1.9.0"
    assert DOC["versions"]["MetricsReloaded"].endswith("cb38dfc0a5ed4fa3bdc559e4960b6e2b93c3b967")
    assert len({c["id"] for c in DOC["cases"]}) == len(DOC["cases"])


def test_every_counting_and_ranking_pair_has_golden_cases():
    covered = {(c["task"], c["value"], c["convention"]) for c in DOC["cases"]}
    for spec, convention in registry.pairs(kind="metric"):
        if spec.on_request:
            assert (spec.task, spec.name, convention) in covered, (spec.task, spec.name, convention)


def _seg_report(case: dict) -> dict:
    pred, target = _arrays(case)
    value, convention = case["value"], case["convention"]
    params = dict(case["params"])
    if convention == "sklearn" and value == "fbeta":  # the fixture calls sklearn with labels=None
        params.setdefault("labels", "present")
    spacing = tuple(case["spacing"]) if case["spacing"] else None
    config = SegConfig(values=(value,), pred_kind="labels", num_classes=case["num_classes"], convention=convention,
                       params={value: params}, spacing=spacing)
    outcomes = []
    for i, (p, t) in enumerate(zip(pred, target, strict=True)):
        x = prepare(p, t, kind="labels", num_classes=case["num_classes"])
        outcome = ImageOutcome(Pair(f"{i:03d}", Path(f"p{i}"), Path(f"g{i}")), "labels", {}, {}, x.confusion, [])
        if spacing:
            outcome.spacing, outcome.spacing_source = list(spacing), "given"
        outcomes.append(outcome)
    return build_report(outcomes, config)


@pytest.mark.parametrize("case", SEG, ids=[c["id"] for c in SEG])
def test_seg_matches_reference(case):
    doc = _seg_report(case)
    value, convention = case["value"], case["convention"]
    for row, expected, per_class in zip(doc["images"], case["expected"], case["per_class"], strict=True):
        assert _close(row["values"][value], expected, convention), (row["name"], row["values"][value], expected)
        for got, want in zip(row["per_class"][value], per_class, strict=True):
            assert _close(got, want, convention), (row["name"], row["per_class"][value], per_class)
    assert _close(doc["summary"]["pooled"][value], case["pooled"], convention)
    for got, want in zip(doc["summary"]["per_class"]["pooled"][value], case["pooled_per_class"], strict=True):
        assert _close(got, want, convention), (doc["summary"]["per_class"]["pooled"][value], case["pooled_per_class"])
    undefined = sum(v is None for v in case["expected"])
    assert doc["summary"]["undefined"][value] == undefined  # every undefined image value is counted


@pytest.mark.parametrize("case", CLS, ids=[c["id"] for c in CLS])
def test_cls_matches_reference(case):
    pred, target = _arrays(case)
    x = prepare_inputs(pred, target, kind="probs")
    got, _ = registry.get("cls", case["value"]).evaluate(x, case["convention"], **case["params"])
    assert _close(got, case["expected"], case["convention"]), (got, case["expected"], case["reference"])


def test_avd_uses_the_anisotropic_voxel_volume():
    case = next(c for c in SEG if c["value"] == "avd" and c["spacing"])
    assert np.prod(case["spacing"]) == pytest.approx(1.25)
    doc = _seg_report(case)
    assert doc["summary"]["units"] == {"avd": "mm^3"}
    voxels = _seg_report({**case, "spacing": None})
    assert doc["images"][0]["values"]["avd"] == pytest.approx(1.25 * voxels["images"][0]["values"]["avd"])
