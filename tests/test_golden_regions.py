"""Golden values of a region-based nnU-Net dataset's mean over its regions (``region_mean``), from nnU-Net v2.

Fixtures: ``tests/golden/regions.json`` + ``regions_inputs.npz``, written by ``tools/make_golden_regions.py``:
nnU-Net's ``LabelManager`` says which regions a dataset.json's labels make, its ``compute_metrics_on_folder``
gives ``foreground_mean`` (the headline), each region's mean and each case's values. Every case runs through the
command line (``lossctl seg PRED GT --dataset-json dataset.json -f json``) on PNG files. Tolerance 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).parent / "golden"
DOC = json.loads((HERE / "regions.json").read_text())
INPUTS = np.load(HERE / "regions_inputs.npz")
KEYS = {"Dice": "dice", "IoU": "iou"}


def _close(got, expected) -> bool:
    if expected is None:
        return got is None
    return got is not None and bool(np.isclose(got, expected, rtol=1e-6, atol=1e-12))


def test_fixture_records_its_provenance():
    assert DOC["generated_by"] == "tools/make_golden_regions.py" and DOC["versions"]["nnunetv2"]
    assert [c["has_regions"] for c in DOC["cases"]] == [True, True, True]
    assert any(c["expected"]["Dice"]["foreground_mean"] is None for c in DOC["cases"])  # the NaN headline


@pytest.fixture(params=DOC["cases"], ids=[c["id"] for c in DOC["cases"]])
def run(request, cli, tmp_path):
    case = request.param
    for side in ("pred", "gt"):
        folder = tmp_path / side
        folder.mkdir()
        for i, image in enumerate(INPUTS[f"{case['id']}/{side}"]):
            Image.fromarray(image).save(folder / f"case_{i:03d}.png")
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": case["labels"], "file_ending": ".png"}))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--dataset-json", tmp_path / "dataset.json", "-f", "json")
    assert r.code == 0, r
    return case, r.json()


def test_the_regions_are_nnunets(run):
    case, doc = run
    assert doc["config"]["region_mean"] == case["region_names"]
    assert doc["config"]["ignore_index"] == ([] if case["ignore_label"] is None else [case["ignore_label"]])
    lists = {name: labels for name, labels in case["labels"].items() if isinstance(labels, list)}
    assert doc["config"]["regions"] == lists  # only the list-valued labels are regions of lossctl's own


def test_region_mean_is_nnunets_foreground_mean(run):
    case, doc = run
    for key, name in KEYS.items():
        expected = case["expected"][key]
        assert _close(doc["summary"]["region_mean"]["mean"][name], expected["foreground_mean"]), (key, doc)
        at = [doc["config"]["per_class_names"].index(n) for n in case["region_names"]]
        means = doc["summary"]["per_class"]["mean"][name]
        assert all(_close(means[i], e) for i, e in zip(at, expected["region_means"], strict=True)), key
        for row, per_case in zip(doc["images"], expected["per_case"], strict=True):
            assert all(_close(row["per_class"][name][i], e) for i, e in zip(at, per_case, strict=True)), key
            defined = [v for v in per_case if v is not None]
            assert _close(row["region_mean"][name], float(np.mean(defined)) if defined else None), key


def test_the_headline_is_gated_as_nnunet_reports_it(run, cli, tmp_path):
    case, doc = run
    headline = case["expected"]["Dice"]["foreground_mean"]
    args = ("seg", tmp_path / "pred", tmp_path / "gt", "--dataset-json", tmp_path / "dataset.json", "-f", "json")
    r = cli(*args, "-g", "dice[region_mean]>=0")
    assert r.json()["gates"][0]["value"] == doc["summary"]["region_mean"]["mean"]["dice"]
    assert r.code == (0 if headline is not None else 1), r  # an undefined headline fails its gate
