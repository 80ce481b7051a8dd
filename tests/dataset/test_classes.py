"""lossctl.dataset.classes: the classes of a seg run from its settings, and regions; messages name Python arguments
(the command line's spelling of the same messages is checked through the CLI in tests/cli/test_seg_bad_input.py and the corpus)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lossctl.dataset.classes import parse_regions, resolve_classes
from lossctl.errors import UsageError, prefixed, setting, spell

FLAGS = {"label_map": "--label-map", "num_classes": "--num-classes"}


def classes(**settings):
    given = {"num_classes": None, "class_names": None, "dataset_json": None, "label_map": None,
             "pred_label_map": None, "unmapped": None, "ignore_index": (), "pred_kind": "auto"}
    return resolve_classes(**{**given, **settings})


def test_the_count_comes_from_the_names_else_a_label_map():
    assert classes(class_names="a, b,c") == {
        "num_classes": 3, "class_names": ("a", "b", "c"), "ignore_index": (), "label_map": None,
        "pred_label_map": None, "unmapped": "error", "classes_source": "class_names", "region_mean": (),
        "region_items": []}
    city = classes(label_map="cityscapes")
    assert city["num_classes"] == 19 and city["class_names"][0] == "road"  # a built-in map's own names
    assert classes(label_map="7:0,8:1", unmapped="ignore")["num_classes"] == 2
    assert classes()["num_classes"] is None  # the data will tell


def test_a_dataset_json_gives_names_ignore_label_and_regions(tmp_path: Path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"labels": {"background": 0, "a": 1, "ignore": 2}}))
    got = classes(dataset_json=plain, ignore_index=(255,))
    assert got["class_names"] == ("background", "a") and got["ignore_index"] == (255, 2)
    regions = tmp_path / "regions.json"
    regions.write_text(json.dumps({"labels": {"background": 0, "wt": [1, 2], "core": 2},
                                   "regions_class_order": [1, 2]}))
    got = classes(dataset_json=regions)
    assert got["region_items"] == ["wt=1,2"] and got["num_classes"] == 3
    assert got["class_names"] == ("background", "1", "core") and got["region_mean"] == ("wt", "core")
    assert parse_regions(got["region_items"], got["class_names"], got["num_classes"]) == (("wt", (1, 2)),)


@pytest.mark.parametrize("settings, message", [
    ({"num_classes": 5, "class_names": "a,b"},
     "num_classes=5 but class_names names 2 classes; drop num_classes (the names set it) or name every class"),
    ({"class_names": "@-"}, "class_names='@-': standard input is for pairs='-'; give the file of class names"),
    ({"class_names": "a", "dataset_json": Path("d.json")}, "class_names and dataset_json both name the classes"),
    ({"unmapped": "ignore"}, "unmapped says what a label map does with values it does not name; give label_map or "
                             "pred_label_map, or drop unmapped"),
    ({"pred_label_map": "1:2", "pred_kind": "logits"}, "pred_label_map maps label predictions, but pred_kind is "
                                                        "logits; drop one"),
    ({"pred_label_map": "1:ignore"}, "a prediction of no class needs the class count; pass num_classes or "
                                     "class_names"),
    ({"label_map": "1:9", "num_classes": 3}, "label_map: label map '1:9' maps 1 to class 9"),
])
def test_messages_name_the_python_arguments(settings, message):
    with pytest.raises(UsageError) as caught:
        classes(**settings)
    assert message in str(caught.value) and "--" not in str(caught.value)


def test_a_region_based_dataset_json_is_checked_as_regions_are(tmp_path: Path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "wt": [1, 2], "1": [2]}, "regions_class_order": [1, 2]}))
    with pytest.raises(UsageError, match=r"^dataset_json .*dataset.json: region '1=2': '1' is a class's name"):
        classes(dataset_json=path)


@pytest.mark.parametrize("items, num_classes, message", [
    (["WT"], None, "malformed region 'WT'; expected NAME=L1,L2,..."),
    (["WT=a"], None, "malformed region 'WT=a'"),
    (["1=1"], None, "'1' is not a plain name"),
    (["a=1"], None, "'a' is a class's name"),
    (["WT=1", "WT=2"], None, "the name 'WT' is given twice"),
    (["WT=0"], None, "label 0 is not a foreground class (1 or more)"),
    (["WT=3"], 3, "label 3 is not a foreground class (1..2)"),
])
def test_regions_are_refused_with_the_setting_named(items, num_classes, message):
    with pytest.raises(UsageError) as caught:
        parse_regions(items, ("background", "a"), num_classes)
    assert message in str(caught.value)


def test_regions_keep_their_order_and_drop_repeated_labels():
    assert parse_regions(["WT=1,2,3,2", "TC=2"], (), None) == (("WT", (1, 2, 3)), ("TC", (2,)))


def test_prefixed_keeps_the_marks_for_whoever_spells_them():
    def refuse(count):
        raise UsageError(f"{count} classes; pass {setting('num_classes')}")

    with pytest.raises(UsageError) as caught:
        prefixed(setting("label_map"), refuse, 3)
    assert str(caught.value) == "label_map: 3 classes; pass num_classes"
    assert spell(caught.value.raw, FLAGS) == "--label-map: 3 classes; pass --num-classes"
    assert prefixed("x", lambda a, b: a + b, 1, 2) == 3
