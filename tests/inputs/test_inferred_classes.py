"""Issue 17, item 2: an inferred class count is never a silent guess.

When no option gives the class count, the table's title says where it came from and ``config.num_classes_source``
records it (as it records the option that gave a count); a label set whose largest value is 255 or 65535 with no
other label within 128 below it is refused per pair (the message names the file and proposes ``--ignore-index``
or ``--num-classes``), while gaps elsewhere stay classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import write_label_png, write_npy, write_palette_png

from lossctl.errors import InputError
from lossctl.inputs.seg import prepare

H, W = 6, 7


def _labels(rng: np.random.Generator, top: int, dtype: type = np.uint8) -> np.ndarray:
    """(H, W) labels holding every value of 0..top."""
    a = rng.integers(0, top + 1, (H, W)).astype(dtype)
    a.flat[:top + 1] = np.arange(top + 1)
    return a


def _void_message(path: Path, top: int, below: int, who: str = "ground truth") -> str:
    return (f"error: {path}: the {who} holds label {top} with no label between {top - 128} and {top - 1} (its "
            f"other labels go up to {below}): {top} looks like a void label, and read as a class it would make "
            f"{top + 1} classes; pass --ignore-index {top} to leave it out, or --num-classes {top + 1} if it is a "
            "class")


# -- where the count came from ----------------------------------------------------------------------------------


def test_the_title_says_a_count_inferred_from_the_labels(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-m", "dice")
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "lossctl seg: 3 images, 3 classes (inferred from the labels: 0..2), convention lossctl"
    doc = cli("seg", seg.labels, seg.gt, "-m", "dice", "-f", "json").json()
    assert doc["config"]["num_classes_source"] == "labels" and doc["config"]["num_classes"] == 3


def test_the_title_says_a_count_from_the_channels(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-m", "dice")
    assert r.out.splitlines()[0] == "lossctl seg: 3 images, 3 classes (from the prediction's channels), convention lossctl"
    assert cli("seg", seg.pred, seg.gt, "-m", "dice", "-f", "json").json()["config"]["num_classes_source"] == "channels"


@pytest.mark.parametrize("args, source", [
    (("--num-classes", "3"), "num_classes"),
    (("--class-names", "bg,a,b"), "class_names"),
    (("--num-classes", "3", "--class-names", "bg,a,b"), "num_classes"),
    (("--dataset-json", "DATASET"), "dataset_json"),
    (("--label-map", "0:0,1:1,2:2"), "label_map"),
])
def test_a_given_count_records_the_option_that_gave_it(cli, seg, tmp_path, args, source):
    dataset = tmp_path / "dataset.json"
    dataset.write_text(json.dumps({"labels": {"background": 0, "a": 1, "b": 2}}))
    args = tuple(str(dataset) if a == "DATASET" else a for a in args)
    r = cli("seg", seg.labels, seg.gt, "-m", "dice", *args)
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "lossctl seg: 3 images, 3 classes, convention lossctl"  # nothing to say
    doc = cli("seg", seg.labels, seg.gt, "-m", "dice", "-f", "json", *args).json()
    assert doc["config"]["num_classes_source"] == source


def test_no_image_no_count(cli, tmp_path, rng):
    write_palette_png(tmp_path / "gt/a.png", _labels(rng, 2))
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred/a.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    doc = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json", "--skip-errors").json()
    assert doc["config"]["num_classes"] == 0 and doc["config"]["num_classes_source"] is None


def test_merge_keeps_the_source(cli, seg, tmp_path):
    parts = []
    for k in (1, 2):
        out = tmp_path / f"part{k}.json"
        assert cli("seg", seg.labels, seg.gt, "-m", "dice", "--shard", f"{k}/2", "-f", "json", "-o", out).code == 0
        parts.append(out)
    r = cli("merge", *parts)
    assert r.code == 0, r
    assert r.out.splitlines()[0] == "lossctl seg: 3 images, 3 classes (inferred from the labels: 0..2), convention lossctl"
    assert cli("merge", *parts, "-f", "json").json()["config"]["num_classes_source"] == "labels"


# -- a void value at the top of an 8- or 16-bit type -----------------------------------------------------------


def test_a_void_border_is_refused_per_file_the_others_evaluated(cli, seg):
    gt = seg.gts["b"].copy()
    gt[0, :] = 255
    path = write_palette_png(seg.gt / "b.png", gt)
    r = cli("seg", seg.labels, seg.gt, "-m", "dice", "-f", "json")
    assert r.code == 3, r
    assert r.error_lines() == [_void_message(path, 255, 2)]
    doc = r.json()
    assert [row["name"] for row in doc["images"]] == ["a", "c"] and doc["config"]["num_classes"] == 3
    message = _void_message(path, 255, 2)[len("error: "):]
    assert doc["errors"] == [{"name": "b", "file": str(path), "error": message,
                              "problem": message[len(f"{path}: "):]}]


def test_the_fixes_the_message_proposes_work(cli, seg):
    gt = seg.gts["b"].copy()
    gt[0, :] = 255
    write_palette_png(seg.gt / "b.png", gt)
    ignored = cli("seg", seg.labels, seg.gt, "-m", "dice", "--ignore-index", "255", "-f", "json")
    assert ignored.code == 0 and ignored.json()["config"]["num_classes"] == 3
    as_class = cli("seg", seg.labels, seg.gt, "-m", "dice", "--num-classes", "256", "-f", "json")
    assert as_class.code == 0 and as_class.json()["config"]["num_classes"] == 256


def test_voc_labels_0_to_20_and_255(cli, tmp_path, rng):
    gt = _labels(rng, 20)
    gt[:, 0] = 255
    path = write_label_png(tmp_path / "gt/x.png", gt)
    write_label_png(tmp_path / "pred/x.png", _labels(rng, 20))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice")
    assert r.code == 3 and r.error_lines() == [_void_message(path, 255, 20)], r


def test_65535_over_a_16_bit_mask(cli, tmp_path, rng):
    gt = _labels(rng, 3, np.uint16)
    gt[0, 0] = 65535
    path = write_npy(tmp_path / "gt/x.npy", gt)
    write_npy(tmp_path / "pred/x.npy", _labels(rng, 3, np.uint16))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice")
    assert r.code == 3 and r.error_lines() == [_void_message(path, 65535, 3)], r


def test_255_in_an_int64_array_is_a_void_too(cli, tmp_path, rng):
    """torch's label tensors saved with np.save keep 255 for void in int64: the rule is the value, not the type."""
    gt = _labels(rng, 4, np.int64)
    gt[-1] = 255
    path = write_npy(tmp_path / "gt/x.npy", gt)
    write_npy(tmp_path / "pred/x.npy", _labels(rng, 4, np.int64))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice")
    assert r.code == 3 and r.error_lines() == [_void_message(path, 255, 4)], r


def test_a_prediction_holding_the_void_value(cli, tmp_path, rng):
    write_label_png(tmp_path / "gt/x.png", _labels(rng, 2))
    pred = _labels(rng, 2)
    pred[0, 0] = 255
    path = write_label_png(tmp_path / "pred/x.png", pred)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: the prediction holds label 255 with no label between 127 and 254 (its other labels go up "
        "to 2): 255 looks like a void value, which a prediction cannot hold, and read as a class it would make 256 "
        "classes; pass --num-classes 256 if it is a class, else fix the prediction (or map 255 with "
        "--pred-label-map)"]


@pytest.mark.parametrize("values, classes", [
    (list(range(0, 182)) + [255], 256),  # COCO-stuff: ids up to 181, then 255
    ([0, 3, 7], 8),  # a subset of label ids
    (list(range(0, 128)) + [255], 256),  # 127 is within 128 below 255
    ([0, 1, 254], 255),  # not the top of a type
    ([0, 1, 300], 301),  # beyond 8 bits, not 65535
])
def test_gaps_elsewhere_are_classes(values, classes):
    t = np.array(values * 2, dtype=np.uint16 if max(values) > 255 else np.uint8)
    x = prepare(t.copy(), t)
    assert x.num_classes == classes


def test_the_rule_is_the_core_s_and_names_the_settings_for_python():
    t = np.array([0, 1, 2, 255], dtype=np.uint8)
    with pytest.raises(InputError) as info:
        prepare(t.copy(), t)
    assert info.value.subject == "target"
    assert str(info.value).endswith("pass ignore_index=255 to leave it out, or num_classes=256 if it is a class")
    assert prepare(t.copy(), t, ignore_index=(255,)).num_classes == 3  # the fix


def test_a_0_255_mask_stays_a_binary_mask():
    t = np.array([0, 255, 255, 0], dtype=np.uint8)
    x = prepare(t.copy(), t)
    assert x.num_classes == 2 and "0/255 mask" in x.notes[0]


def test_the_docs_list_every_guess():
    root = Path(__file__).resolve().parents[2]
    text = (root / "docs" / "seg.md").read_text(encoding="utf-8")
    section = " ".join(text.split("## Every guess, and where it is recorded", 1)[1].split("\n## ", 1)[0].split())
    for needle in ("`config.num_classes_source`", "inferred from the labels: 0..2", "`config.prob_scale`",
                   "a JPEG of labels is refused", "leading batch axis", "`config.pred_axes`", "`config.geometry`",
                   "no label within 128 below it"):
        assert needle in section, needle
    assert "(seg.md#every-guess-and-where-it-is-recorded)" in (root / "docs" / "troubleshooting.md").read_text()
