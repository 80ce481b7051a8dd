"""Golden values of how a seg run averages its classes, computed by scikit-learn 1.9.1 and MedPy 0.5.2.

Fixtures: ``tests/golden/sklearn_average.json`` + ``sklearn_average_inputs.npz``, written by
``tools/make_golden_sklearn_average.py`` (versions in the JSON). Tolerance 1e-6 relative.

* ``binary`` cases: lossctl's default reports class 1 of a two-class run (``config.average`` foreground), which
  is scikit-learn's ``average='binary'`` and MedPy's binary metrics, whatever the masks are stored as (0/1
  labels, 0/255 masks, a foreground probability map, a two-channel softmax); ``--empty`` gives the 0/0 cases
  (``zero_division``; MedPy: 1 for jc, NaN for the others). ``--convention sklearn`` gives the
  same numbers with ``zero_division``.
* ``labels`` cases: ``--convention sklearn``'s ``labels`` parameter, ``present`` (``labels=None``) and ``all``
  (``labels=range(C)``), under every ``zero_division``, with and without the background.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl.dataset.pairing import Pair
from lossctl.engine.seg import ImageOutcome, build_report
from lossctl.engine.seg_config import SegConfig
from lossctl.inputs.seg import prepare
from support import write_label_png

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "sklearn_average.json").read_text())
INPUTS = np.load(HERE / "sklearn_average_inputs.npz")
BINARY = [c for c in DOC["cases"] if c["kind"] == "binary"]
SKLEARN_BINARY = [c for c in BINARY if c["reference_library"] == "sklearn"]
LABELS = [c for c in DOC["cases"] if c["kind"] == "labels"]
#: lossctl's --empty for each zero_division (warn: 0), and for MedPy's 0/0 of each metric.
EMPTY_OF_ZERO_DIVISION = {"0": "zero", "warn": "zero", "1": "one", "nan": "nan"}
#: MedPy 0.5.2 under NumPy 2: jc's 0/0 is 1; dc, precision and recall divide NumPy integers, so their 0/0 is NaN.
MEDPY_EMPTY = {"dice": "nan", "iou": "one", "precision": "nan", "recall": "nan"}


def _arrays(case: dict) -> tuple[np.ndarray, np.ndarray]:
    return INPUTS[f"{case['id']}/pred"], INPUTS[f"{case['id']}/target"]


def _close(got: float | None, expected: float | None) -> bool:
    if expected is None:
        return got is None
    return got is not None and bool(np.isclose(got, expected, rtol=1e-6, atol=1e-12))


def _report(preds, targets, value: str, *, kind: str = "labels", convention: str = "lossctl", empty: str = "nan",
            params: dict | None = None, num_classes: int | None = None, include_background: bool = True) -> dict:
    config = SegConfig(values=(value,), pred_kind=kind, num_classes=num_classes, convention=convention, empty=empty,
                       include_background=include_background, params={value: params or {}})
    outcomes = []
    for i, (p, t) in enumerate(zip(preds, targets, strict=True)):
        x = prepare(p, t, kind=kind, num_classes=num_classes)
        outcomes.append(ImageOutcome(Pair(f"{i:03d}", Path(f"p{i}"), Path(f"g{i}")), x.kind, {}, {}, x.confusion,
                                     list(x.notes)))
    return build_report(outcomes, config)


def _check(doc: dict, case: dict) -> None:
    value = case["value"]
    got = [row["values"][value] for row in doc["images"]]
    assert len(got) == len(case["expected_per_image"])
    for g, e in zip(got, case["expected_per_image"], strict=True):
        assert _close(g, e), (got, case["expected_per_image"], case["reference"])
    if "expected_pooled" in case:
        assert _close(doc["summary"]["pooled"][value], case["expected_pooled"]), case["reference"]


def test_fixture_records_its_provenance():
    assert DOC["generated_by"] == "tools/make_golden_sklearn_average.py"
    assert DOC["versions"]["scikit-learn"] == "1.9.1" and DOC["versions"]["medpy"] == "0.5.2"
    assert len({c["id"] for c in DOC["cases"]}) == len(DOC["cases"])
    # every zero_division sklearn 1.9 accepts, for each function, under both labels settings
    for value in ("dice", "iou", "precision", "recall"):
        zds = {"0", "1", "warn"} | ({"nan"} if value != "iou" else set())
        assert {c["zero_division"] for c in SKLEARN_BINARY if c["value"] == value} == zds
        for labels in ("present", "all"):
            assert {c["zero_division"] for c in LABELS if c["value"] == value and c["labels"] == labels} == zds


def _stored_as(pred: np.ndarray, form: str) -> tuple[np.ndarray, str]:
    """The 0/1 prediction masks ``pred`` (B, H, W) stored another way, and the kind to read them as."""
    if form == "labels":
        return pred, "labels"
    if form == "0/255":
        return (pred * 255).astype(np.uint8), "labels"
    p = np.where(pred == 1, 0.8, 0.3)
    if form == "foreground probability":
        return p, "probs"
    if form == "foreground logit":
        return np.log(p / (1 - p)), "logits"
    return np.stack([1 - p, p], axis=1), "probs"  # a two-channel softmax: (B, 2, H, W)


@pytest.mark.parametrize("form", ["labels", "0/255", "foreground probability", "foreground logit",
                                  "two-channel softmax"])
@pytest.mark.parametrize("case", SKLEARN_BINARY, ids=[c["id"] for c in SKLEARN_BINARY])
def test_binary_default_is_sklearn_average_binary(case, form):
    pred, target = _arrays(case)
    stored, kind = _stored_as(pred, form)
    targets = (target * 255).astype(np.uint8) if form == "0/255" else target
    doc = _report(stored, targets, case["value"], kind=kind, empty=EMPTY_OF_ZERO_DIVISION[case["zero_division"]])
    assert doc["config"]["average"] == "foreground" and doc["config"]["num_classes"] == 2
    _check(doc, case)


@pytest.mark.parametrize("case", SKLEARN_BINARY, ids=[c["id"] for c in SKLEARN_BINARY])
def test_binary_sklearn_convention_is_average_binary(case):
    pred, target = _arrays(case)
    for labels in ("present", "all"):  # average='binary' takes labels=[pos_label] whatever labels says
        doc = _report(pred, target, case["value"], convention="sklearn",
                      params={"zero_division": case["zero_division"], "labels": labels})
        assert doc["config"]["average"] == "foreground"
        _check(doc, case)


MEDPY = [c for c in BINARY if c["reference_library"] == "medpy"]


@pytest.mark.parametrize("case", MEDPY, ids=[c["id"] for c in MEDPY])
def test_binary_default_is_medpy(case):
    pred, target = _arrays(case)
    _check(_report(pred, target, case["value"], empty=MEDPY_EMPTY[case["value"]]), case)


@pytest.mark.parametrize("case", LABELS, ids=[c["id"] for c in LABELS])
def test_sklearn_labels_match_the_library(case):
    pred, target = _arrays(case)
    doc = _report(pred, target, case["value"], convention="sklearn", num_classes=case["num_classes"],
                  include_background=not case["exclude_background"],
                  params={"zero_division": case["zero_division"], "labels": case["labels"]})
    assert doc["config"]["params"][case["value"]]["labels"] == case["labels"]
    _check(doc, case)


def _write_case(root: Path, case: dict) -> tuple[Path, Path]:
    pred, target = _arrays(case)
    for i, (p, t) in enumerate(zip(pred, target, strict=True)):
        write_label_png(root / "pred" / f"{i:03d}.png", p)
        write_label_png(root / "gt" / f"{i:03d}.png", t)
    return root / "pred", root / "gt"


@pytest.mark.parametrize("zd", ["0", "1", "warn"])
def test_a_given_class_count_means_labels_range_c_on_the_command_line(cli, tmp_path, zd):
    """--num-classes 5 under --convention sklearn is labels=range(5): the class in no mask counts as
    zero_division; without it, the labels present (labels=None)."""
    by_id = {c["id"]: c for c in LABELS}
    given, present = by_id[f"labels-iou-all-zd_{zd}"], by_id[f"labels-iou-present-zd_{zd}"]
    pred_dir, gt_dir = _write_case(tmp_path, given)
    r = cli("seg", pred_dir, gt_dir, "--convention", "sklearn", "--num-classes", "5", "-m", "iou",
            "-p", f"iou.zero_division={zd}", "-f", "json")
    assert r.code == 0, r
    assert r.json()["config"]["params"]["iou"] == {"zero_division": zd, "labels": "all"}
    _check(r.json(), given)
    r = cli("seg", pred_dir, gt_dir, "--convention", "sklearn", "-m", "iou", "-p", f"iou.zero_division={zd}",
            "-f", "json")
    assert r.code == 0, r
    assert r.json()["config"]["params"]["iou"] == {"zero_division": zd, "labels": "present"}
    _check(r.json(), present)
