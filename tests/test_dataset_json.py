"""lossctl.dataset.descriptions: nnU-Net dataset.json (v1 and v2 label forms, the ignore label, regions) and class-name files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
