"""A dataset.json's labels and regions (issue 17, item 8): labels keep their names, list-valued labels are the
regions, and a region-based dataset's mean over its regions is reported and gated as ``region_mean``.

nnU-Net's own numbers for ``region_mean`` are checked in test_golden_regions.py; here: the contract, where the
value appears (JSON, table, CSV, compare, merge), its gates, and the refusals with their exact messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lossctl.dataset.descriptions import parse_dataset_json
from lossctl.errors import UsageError
from support import LIVER, region_images as _images

@pytest.fixture
def liver(tmp_path: Path) -> tuple[Path, Path, Path]:
    pred, gt = _images(tmp_path)
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": LIVER}))
    return pred, gt, path


# The contract -------------------------------------------------------------------------------------------------

def test_labels_keep_their_names_and_lists_are_the_regions():
    d = parse_dataset_json({"labels": LIVER})
    assert d.class_names == ("background", "liver", "tumor", "cyst")  # was ("background", "1", "2", "3")
    assert d.regions == (("lesion", (2, 3)),)  # was also liver, tumor and cyst, as regions of one
    assert d.region_mean == ("liver", "tumor", "cyst", "lesion")  # nnU-Net's regions: every foreground label


def test_a_list_of_one_value_is_a_region_but_not_a_region_based_dataset():
    d = parse_dataset_json({"labels": {"background": 0, "a": 1, "b": 2, "just_b": [2]}})
    assert d.class_names == ("background", "a", "b") and d.regions == (("just_b", (2,)),)
    assert d.region_mean == ()  # nnU-Net: has_regions only when a list holds more than one label


def test_values_no_label_names_alone_are_numbered():
    d = parse_dataset_json({"labels": {"background": 0, "whole_tumor": [1, 2, 3], "core": [2, 3], "enhancing": 3}})
    assert d.class_names == ("background", "1", "2", "enhancing")
    assert d.region_mean == ("whole_tumor", "core", "enhancing")


@pytest.mark.parametrize("labels, message", [
    ({"background": 0, "wt": [1, 2], "1": 2},
     "ds.json: the label '1' has the value 2, but 1 is the name of class 1, which no label names alone; give the "
     "label '1' another name"),
    ({"background": 0, "a": 1, "b": 2, "region_mean": [1, 2]},
     "ds.json: the label 'region_mean' is a reserved name in a region-based dataset (the mean over its regions); "
     "rename the label"),
])
def test_descriptions_that_would_name_two_things_alike_are_refused(labels, message):
    with pytest.raises(UsageError) as caught:
        parse_dataset_json({"labels": labels}, "ds.json")
    assert str(caught.value) == message


# Where region_mean appears -----------------------------------------------------------------------------------

def test_the_report_holds_region_mean_per_image_and_in_the_summary(cli, liver):
    pred, gt, path = liver
    r = cli("seg", pred, gt, "--dataset-json", path, "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    cfg = doc["config"]
    assert cfg["class_names"] == ["background", "liver", "tumor", "cyst"]
    assert cfg["per_class_names"] == ["background", "liver", "tumor", "cyst", "lesion"]
    assert cfg["regions"] == {"lesion": [2, 3]} and cfg["region_mean"] == ["liver", "tumor", "cyst", "lesion"]
    for row in doc["images"]:
        dice = np.array([np.nan if v is None else v for v in row["per_class"]["dice"][1:]])
        assert row["region_mean"]["dice"] == pytest.approx(float(np.nanmean(dice)), rel=1e-12)
    assert doc["images"][0]["per_class"]["dice"][3] is None  # no cyst: left out of image 0's region mean
    block = doc["summary"]["region_mean"]
    means = doc["summary"]["per_class"]["mean"]["iou"][1:]
    assert block["mean"]["iou"] == pytest.approx(float(np.mean(means)), rel=1e-12)  # nnU-Net: mean of the means
    pooled = doc["summary"]["per_class"]["pooled"]["dice"][1:]
    assert block["pooled"]["dice"] == pytest.approx(float(np.mean(pooled)), rel=1e-12)
    rows = [row["region_mean"]["dice"] for row in doc["images"]]
    assert block["min"]["dice"] == min(rows) and block["max"]["dice"] == max(rows)
    assert list(block) == ["mean", "std", "min", "median", "max", "pooled", "undefined"]
    assert doc["summary"]["mean"]["dice"] != block["mean"]["dice"]  # dice is over the classes, as ever
    assert (f"note: {path} is region-based: nnU-Net's headline is the mean over its regions (liver, tumor, cyst, "
            "lesion), reported as region_mean (summary.region_mean; its mean is nnU-Net's foreground_mean); the "
            "mean values (dice, iou, ...) are over the classes: gate the regions' mean with "
            "-g 'dice[region_mean]>=0.8'\n") in r.err


def test_a_dataset_that_is_not_region_based_has_no_region_mean(cli, tmp_path):
    pred, gt = _images(tmp_path)
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "a": 1, "b": 2, "c": 3, "bc": [2]}}))
    r = cli("seg", pred, gt, "--dataset-json", path, "-f", "json")
    doc = r.json()
    assert r.code == 0 and doc["config"]["region_mean"] == [] and doc["config"]["regions"] == {"bc": [2]}
    assert "region_mean" not in doc["summary"] and "region_mean" not in doc["images"][0]
    assert "region-based" not in r.err


def test_table_csv_and_boundary_metrics_show_it(cli, liver):
    pred, gt, path = liver
    table = cli("seg", pred, gt, "--dataset-json", path, "-m", "dice", "-m", "hd95")
    assert table.code == 0, table
    assert ("mean over the regions (liver, tumor, cyst, lesion); mean: of the regions' means, nnU-Net's"
            in table.out)
    assert "dice[region_mean]" in table.out and "hd95[region_mean]" in table.out
    r = cli("seg", pred, gt, "--dataset-json", path, "-m", "dice", "-m", "hd95", "-f", "csv")
    header, *rows = r.csv()
    assert header == ["row", "name", "dice", "hd95", "dice[region_mean]", "hd95[region_mean]"]
    doc = cli("seg", pred, gt, "--dataset-json", path, "-m", "dice", "-m", "hd95", "-f", "json").json()
    assert float(rows[0][5]) == doc["images"][0]["region_mean"]["hd95"]
    assert [row[0] for row in rows[-5:]] == ["mean", "std", "min", "max", "pooled"]
    assert rows[-1][5] == "" and float(rows[-1][4]) == doc["summary"]["region_mean"]["pooled"]["dice"]


# Gates --------------------------------------------------------------------------------------------------------

def test_gates_read_region_mean_with_every_statistic(cli, liver):
    pred, gt, path = liver
    r = cli("seg", pred, gt, "--dataset-json", path, "-m", "dice", "-f", "json",
            "-g", "dice[region_mean]>=0.99", "-g", "pooled(dice[region_mean])>=0", "-g", "min(dice[region_mean])>=0",
            "-g", "p50(dice[region_mean])>=0")
    assert r.code == 1, r  # the first gate fails
    doc = r.json()
    block = doc["summary"]["region_mean"]
    assert [g["value"] for g in doc["gates"]] == [block["mean"]["dice"], block["pooled"]["dice"],
                                                  block["min"]["dice"], block["median"]["dice"]]
    assert [g["passed"] for g in doc["gates"]] == [False, True, True, True]


def test_a_region_mean_gate_without_a_region_based_dataset_is_refused(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-g", "dice[region_mean]>=0.8")
    assert r.code == 2 and r.err == (
        "error: --gate 'dice[region_mean]>=0.8': [region_mean] is the mean over the regions of a region-based "
        "--dataset-json, and this run has none; gate a class or a region\n"), r


def test_a_region_may_not_be_called_region_mean(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "--region", "region_mean=1,2")
    assert r.code == 2 and r.err == (
        "error: --region 'region_mean=1,2': 'region_mean' is reserved (the mean over a region-based dataset's "
        "regions); give the region a name of its own (it is used in per_class and in gates such as dice[WT])\n"), r


def test_a_label_of_a_region_based_dataset_may_not_be_called_region_mean(cli, liver):
    pred, gt, path = liver
    path.write_text(json.dumps({"labels": {**LIVER, "region_mean": 4}}))
    r = cli("seg", pred, gt, "--dataset-json", path)
    assert r.code == 2 and r.err == (
        f"error: --dataset-json: {path}: the label 'region_mean' is a reserved name in a region-based dataset (the "
        "mean over its regions); rename the label\n"), r


# Baselines, compare, merge ------------------------------------------------------------------------------------

def test_baseline_gates_compare_and_merge(cli, liver, tmp_path):
    pred, gt, path = liver
    args = ("seg", pred, gt, "--dataset-json", path, "-m", "dice")
    base = tmp_path / "base.json"
    assert cli(*args, "-o", base, "-f", "json").code == 0
    r = cli(*args, "--baseline", base, "-g", "delta(dice[region_mean])>=0", "-g", "worse(dice[region_mean],0)<=0",
            "-f", "json")
    assert r.code == 0, r
    delta, worse = r.json()["gates"]
    assert delta["value"] == 0.0 and delta["base"] == r.json()["summary"]["region_mean"]["mean"]["dice"]
    assert worse["value"] == 0.0 and worse["paired"] == 3
    compared = cli("compare", base, base, "-f", "json", "--bootstrap", "10")
    assert compared.code == 0, compared
    assert compared.json()["values"]["dice[region_mean]"]["delta"] == 0.0
    assert compared.json()["pooled"]["dice[region_mean]"]["base"] == r.json()["summary"]["region_mean"]["pooled"]["dice"]
    shards = [tmp_path / f"s{k}.json" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert cli(*args, "--shard", f"{k}/2", "-o", shard, "-f", "json").code == 0
    merged = cli("merge", *shards, "-g", "dice[region_mean]>=0", "-f", "json")
    assert merged.code == 0, merged
    assert merged.json()["summary"]["region_mean"] == json.loads(base.read_text())["summary"]["region_mean"]
