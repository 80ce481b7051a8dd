"""Golden values of the metrics under each convention and of the framework quirks, computed by the libraries.

Fixtures: ``tests/golden/conventions.json`` + ``conventions_inputs.npz``, written by
``tools/make_golden_conventions.py`` with scikit-learn, torchmetrics, MONAI, nnU-Net v2 (its evaluator, from the
wheel), segmentation_models_pytorch, torch and Keras (versions in the JSON). Segmentation metric cases run
through the seg engine (per-image rows and the dataset summary, as a report holds them). Tolerance 1e-6
relative; Keras cases (``float32_bound``) 1e-5.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl import registry
from lossctl.engine.cls import ClsConfig
from lossctl.dataset.pairing import Pair
from lossctl.engine.seg import ImageOutcome, build_report
from lossctl.engine.seg_config import SegConfig
from lossctl.inputs.seg import prepare

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "conventions.json").read_text())
INPUTS = np.load(HERE / "conventions_inputs.npz")
CASES = DOC["cases"]
SEG_METRICS = [c for c in CASES if c["task"] == "seg" and "expected_per_image" in c]
OTHERS = [c for c in CASES if c not in SEG_METRICS]


def _array(case: dict, key: str):
    name = f"{case['id']}/{key}"
    return INPUTS[name] if name in INPUTS.files else None


def _close(got, expected, rtol: float = 1e-6) -> bool:
    if expected is None:
        return got is None or bool(np.isnan(got))
    return got is not None and bool(np.isclose(got, expected, rtol=rtol, atol=1e-9))


def test_fixture_records_its_provenance():
    assert DOC["generated_by"] == "tools/make_golden_conventions.py"
    assert {"scikit-learn", "torchmetrics", "monai", "nnunetv2", "keras", "torch"} <= set(DOC["versions"])
    assert len({c["id"] for c in CASES}) == len(CASES)


def test_every_metric_convention_has_golden_cases():
    covered = {(c["task"], c["value"], c["convention"]) for c in CASES}
    for spec, convention in registry.pairs(kind="metric"):
        if convention != "lossctl" and not spec.opt_in and not spec.on_request:  # boundary metrics:
            # test_golden_boundary.py; counting and ranking metrics: test_golden_counting.py
            assert (spec.task, spec.name, convention) in covered, (spec.task, spec.name, convention)


def _seg_report(case: dict) -> dict:
    pred, target = _array(case, "pred"), _array(case, "target")
    void = () if case["ignore_index"] is None else (case["ignore_index"],)
    params = dict(case["params"])
    if case["convention"] == "sklearn" and case["value"] != "accuracy":  # these cases are sklearn's labels=None
        params.setdefault("labels", "present")
    config = SegConfig(values=(case["value"],), pred_kind="labels", ignore_index=void,
                       num_classes=case["num_classes"], convention=case["convention"],
                       include_background=not case["exclude_background"], params={case["value"]: params})
    outcomes = []
    for i, (p, t) in enumerate(zip(pred, target, strict=True)):
        x = prepare(p, t, kind="labels", ignore_index=void, num_classes=case["num_classes"])
        outcomes.append(ImageOutcome(Pair(f"{i:03d}", Path(f"p{i}"), Path(f"g{i}")), "labels", {}, {},
                                     x.confusion, []))
    return build_report(outcomes, config)


@pytest.mark.parametrize("case", SEG_METRICS, ids=[c["id"] for c in SEG_METRICS])
def test_seg_metric_matches_the_library(case):
    doc = _seg_report(case)
    got = [row["values"][case["value"]] for row in doc["images"]]
    assert len(got) == len(case["expected_per_image"])
    for g, e in zip(got, case["expected_per_image"], strict=True):
        assert _close(g, e), (got, case["expected_per_image"], case["reference"])
    if case["convention"] in ("monai", "nnunet"):  # the dataset value as the library aggregates it
        assert _close(doc["summary"]["mean"][case["value"]], case["expected_dataset"]), case["reference"]
    if "expected_class_means" in case:  # nnU-Net's per-class means over the cases (its 'mean' block)
        means = doc["summary"]["per_class"]["mean"][case["value"]][1:]
        for g, e in zip(means, case["expected_class_means"], strict=True):
            assert _close(g, e), (means, case["expected_class_means"])


@pytest.mark.parametrize("case", OTHERS, ids=[c["id"] for c in OTHERS])
def test_matches_the_library(case):
    spec = registry.get(case["task"], case["value"])
    rtol = 1e-5 if case.get("float32_bound") else 1e-6
    if case["task"] == "seg":
        x = prepare(_array(case, "pred"), _array(case, "target"), kind=case["input"],
                    ignore_index=tuple(case["ignore_index"]))
        got = spec.evaluate(x, case["convention"], context={"ignoring": bool(case["ignore_index"])},
                            **case["params"])[0]
    else:
        config = ClsConfig(convention=case["convention"], ignore_index=case["ignore_index"])
        x = config.prepare(_array(case, "pred"), _array(case, "target"), _array(case, "weights"), case["input"])
        got = spec.evaluate(x, case["convention"], **case["params"])[0]
    assert _close(got, case["expected"], rtol), (got, case["expected"], case["reference"])
