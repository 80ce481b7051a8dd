"""lossctl.dataset.descriptions: nnU-Net dataset.json (v1 and v2 label forms, the ignore label, regions) and class-name files;
through the CLI, a dataset.json names the classes, its ignore label and regions act as the options would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import SegSet, numbers

from lossctl.dataset.descriptions import DatasetDescription, parse_dataset_json, read_class_names, read_dataset_json
from lossctl.errors import InputError, UsageError


def test_v2_labels_and_the_ignore_label() -> None:
    d = parse_dataset_json({"labels": {"background": 0, "PZ": 1, "TZ": 2, "ignore": 3}, "file_ending": ".nii.gz"})
    assert d == DatasetDescription(class_names=("background", "PZ", "TZ"), ignore_index=(3,), regions=())


def test_v1_labels() -> None:
    d = parse_dataset_json({"labels": {"0": "background", "2": "TZ", "1": "PZ"}})
    assert d.class_names == ("background", "PZ", "TZ") and d.ignore_index == ()


def test_regions_as_nnunet_reads_them() -> None:
    d = parse_dataset_json({"labels": {"background": 0, "whole_tumor": [1, 2, 3], "tumor_core": [2, 3],
                                       "enhancing_tumor": 3}, "regions_class_order": [1, 2, 3]})
    assert d.regions == (("whole_tumor", (1, 2, 3)), ("tumor_core", (2, 3)))  # the list-valued labels
    assert d.class_names == ("background", "1", "2", "enhancing_tumor")  # a single value names its class
    assert d.region_mean == ("whole_tumor", "tumor_core", "enhancing_tumor")  # nnU-Net's regions


@pytest.mark.parametrize("data, phrase", [
    ([], 'has no "labels" object'),
    ({"labels": {}}, 'has no "labels" object'),
    ({"labels": {"background": 0, "liver": 2}}, "but 1 is missing"),
    ({"labels": {"background": 0, "a": 1, "b": 1}}, "'a' and 'b' both have the value 1"),
    ({"labels": {"background": 0, "a": -1}}, "has the value -1"),
    ({"labels": {"background": 0, "a": "one"}}, 'has the value "one"'),
    ({"labels": {"background": 0, "a": True}}, "has the value true"),
    ({"labels": {"background": 0, "r": []}}, "lists no label"),
    ({"labels": {"background": 0, "a": 1, "ignore": [2, 3]}}, "the ignore label is a list"),
    ({"labels": {"background": 0, "r": [1, 2], "ignore": 2}}, "holds 2, the ignore label"),
    ({"labels": {"background": 0, "wt": [[1, 2], 3]}}, "holds a list inside its list"),  # was a TypeError
])
def test_malformed_descriptions(data, phrase: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_dataset_json(data, "ds.json")
    message = str(excinfo.value)
    assert message.startswith("ds.json: ") and phrase in message and "\n" not in message, message


def test_files(tmp_path: Path) -> None:
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "liver": 1}}), encoding="utf-8")
    assert read_dataset_json(path).class_names == ("background", "liver")
    path.write_text("{", encoding="utf-8")
    with pytest.raises(UsageError, match="not valid JSON"):
        read_dataset_json(path)
    with pytest.raises(InputError, match="no such file"):
        read_dataset_json(tmp_path / "none.json")
    with pytest.raises(InputError, match="is a folder"):
        read_dataset_json(tmp_path)
    names = tmp_path / "names.txt"
    names.write_text("\ufeffroad\r\nsky\n\n", encoding="utf-8")
    assert read_class_names(names) == ("road", "sky")
    names.write_text("\n \n", encoding="utf-8")
    with pytest.raises(UsageError, match="names no class"):
        read_class_names(names)


# ----------------------------------------------------------------------------------------------------------
# Through the CLI
# ----------------------------------------------------------------------------------------------------------


def test_dataset_json_names_the_classes(cli, seg, tmp_path):
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps({"labels": {"background": 0, "road": 1, "building": 2}, "file_ending": ".png"}))
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps({"labels": {"0": "background", "1": "road", "2": "building"}}))
    by_names = cli("seg", seg.pred, seg.gt, "--class-names", "background,road,building", "-f", "json")
    for path in (v2, v1):
        r = cli("seg", seg.pred, seg.gt, "--dataset-json", path, "-f", "json")
        assert r.code == 0, r
        assert r.json()["config"]["class_names"] == ["background", "road", "building"]
        assert numbers(r.json()) == numbers(by_names.json())


def test_dataset_json_ignore_label_is_an_ignore_index(cli, seg, tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "road": 1, "ignore": 2}}))
    r = cli("seg", seg.pred, seg.gt, "--dataset-json", path, "--pred-kind", "labels", "-f", "json")
    # probability maps have 3 channels but the dataset has 2 classes: refused; label maps are fine
    assert r.code == 2 or r.code == 3, r
    labels = SegSet(**{**seg.__dict__, "pred": seg.labels})
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "-f", "json")
    ignored = cli("seg", seg.labels, seg.gt, "--ignore-index", "2", "--class-names", "background,road", "-f", "json")
    assert r.json()["config"]["ignore_index"] == [2] and r.json()["config"]["class_names"] == ["background", "road"]
    assert [i["values"] for i in r.json()["images"]] == [i["values"] for i in ignored.json()["images"]]
    assert labels.pred == seg.labels


def test_dataset_json_regions_are_evaluated_as_region_options(cli, seg, tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "whole_tumor": [1, 2], "core": 2},
                                "regions_class_order": [1, 2]}))
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "-f", "json")
    assert r.code == 0, r
    by_option = cli("seg", seg.labels, seg.gt, "--region", "whole_tumor=1,2", "--class-names", "background,1,core",
                    "-f", "json")
    assert r.json()["config"]["regions"] == {"whole_tumor": [1, 2]}  # the list-valued labels only
    plain = r.json()
    assert plain["summary"].pop("region_mean")["mean"]["dice"] is not None  # the only number --region lacks
    assert numbers(plain) == numbers(by_option.json())
    # the rule is visible: nnU-Net's headline is the mean over its regions, reported as region_mean
    assert (f"note: {path} is region-based: nnU-Net's headline is the mean over its regions (whole_tumor, core), "
            "reported as region_mean") in r.err and "dice[region_mean]" in r.err, r
    assert "region-based" not in by_option.err, by_option
    both = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "--region", "fg=1,2", "-f", "json")
    assert list(both.json()["config"]["regions"]) == ["whole_tumor", "fg"]
    twice = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "--region", "whole_tumor=1")
    assert twice.code == 2 and "'whole_tumor' is given twice" in twice.err, twice
    path.write_text(json.dumps({"labels": {"background": 0, "whole tumor": [1, 2]}}))
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path)
    assert r.code == 2 and f"--dataset-json {path}: --region 'whole tumor=1,2'" in r.err, r


def test_class_names_from_a_file(cli, seg, tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("background\n road \n\nbuilding\n", encoding="utf-8")
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{path}", "-f", "json")
    assert r.code == 0 and r.json()["config"]["class_names"] == ["background", "road", "building"], r
    path.write_text("a\nb\na\n", encoding="utf-8")
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{path}")
    assert r.code == 2 and "names 'a' twice" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{tmp_path / 'none.txt'}")
    assert r.code == 3 and "no such file" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--class-names", "a,b,c", "--dataset-json", path)
    assert r.code == 2 and "give one of them" in r.err, r
