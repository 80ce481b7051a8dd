"""Binary tasks report the foreground (issue 17, item 1): with two classes, dice, iou, precision and recall are
class 1's under the default convention (and scikit-learn's ``average='binary'``), the output says so once, the
report records ``config.average``, and a report of another averaging or an older schema is refused as a baseline.

The numbers against scikit-learn and MedPy are in ``test_golden_sklearn_average.py``; here: hand-derived
properties, the command line's behaviour and its exact messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lossctl.engine.schema import REPORT_SCHEMA
from lossctl.metrics import overlap
from support import confusion, write_label_png

CLASS_METRICS = ("dice", "iou", "precision", "recall")
NOTE = ("note: two classes: dice, iou, precision and recall are class 1's, the foreground, as scikit-learn's "
        "average='binary', MedPy and nnU-Net report a binary task; per_class lists both classes, and --average mean "
        "gives their mean")


# -- properties of the metric functions ------------------------------------------------------------------------

masks = arrays(np.int64, st.integers(4, 40), elements=st.integers(0, 1))


def _scores(pred: np.ndarray, gt: np.ndarray, convention: str, average: str) -> dict[str, tuple[float, np.ndarray]]:
    cm = confusion(gt, pred, 2)
    return {name: overlap.TABLE[name][convention].fn(cm, None, average=average) for name in CLASS_METRICS}


@pytest.mark.parametrize("convention", ["lossctl", "sklearn"])
@given(data=st.data())
def test_foreground_is_class_1_and_mean_is_the_class_mean(convention, data):
    gt = data.draw(masks)
    pred = data.draw(arrays(np.int64, gt.shape, elements=st.integers(0, 1)))
    fg, mean = _scores(pred, gt, convention, "foreground"), _scores(pred, gt, convention, "mean")
    for name in CLASS_METRICS:
        value, per_class = fg[name]
        assert np.array_equal(per_class, mean[name][1], equal_nan=True)  # per_class lists both classes either way
        if convention == "lossctl":
            assert np.isnan(value) if np.isnan(per_class[1]) else value == per_class[1]
            both = per_class[~np.isnan(per_class)]
            assert mean[name][0] == pytest.approx(both.mean()) if both.size else np.isnan(mean[name][0])


@pytest.mark.parametrize("convention", ["lossctl", "sklearn"])
@given(gt=masks)
def test_a_perfect_prediction_scores_1(convention, gt):
    gt = gt.copy()
    gt[0] = 1  # the foreground is present
    for name, (value, _) in _scores(gt, gt, convention, "foreground").items():
        assert value == 1.0, name


@given(data=st.data())
def test_swapping_the_classes_reports_the_other_class(data):
    gt = data.draw(masks)
    pred = data.draw(arrays(np.int64, gt.shape, elements=st.integers(0, 1)))
    original, swapped = _scores(pred, gt, "lossctl", "foreground"), _scores(1 - pred, 1 - gt, "lossctl", "foreground")
    for name in CLASS_METRICS:
        assert np.array_equal([swapped[name][0]], [original[name][1][0]], equal_nan=True), name
        assert np.array_equal(swapped[name][1], original[name][1][::-1], equal_nan=True), name


@given(data=st.data())
def test_swapping_prediction_and_truth_swaps_precision_and_recall(data):
    gt = data.draw(masks)
    pred = data.draw(arrays(np.int64, gt.shape, elements=st.integers(0, 1)))
    a, b = _scores(pred, gt, "lossctl", "foreground"), _scores(gt, pred, "lossctl", "foreground")
    for x, y in (("dice", "dice"), ("iou", "iou"), ("precision", "recall"), ("recall", "precision")):
        assert np.array_equal([a[x][0]], [b[y][0]], equal_nan=True), (x, y)


def test_by_hand():
    """gt 1 1 1 0 0 0, pred 1 1 0 1 0 0: class 1 TP 2, FP 1, FN 1; class 0 TP 2, FP 1, FN 1."""
    gt, pred = np.array([1, 1, 1, 0, 0, 0]), np.array([1, 1, 0, 1, 0, 0])
    expected = {"dice": 4 / 6, "iou": 2 / 4, "precision": 2 / 3, "recall": 2 / 3}
    for name, (value, _) in _scores(pred, gt, "lossctl", "foreground").items():
        assert value == pytest.approx(expected[name])
    gt, pred = np.array([1, 0, 0, 0, 0, 0]), np.array([1, 1, 0, 0, 0, 0])  # class 1: TP 1, FP 1, FN 0
    fg, mean = _scores(pred, gt, "lossctl", "foreground"), _scores(pred, gt, "lossctl", "mean")
    assert fg["dice"][0] == pytest.approx(2 / 3) and mean["dice"][0] == pytest.approx((2 / 3 + 8 / 9) / 2)
    assert fg["precision"][0] == pytest.approx(1 / 2) and fg["recall"][0] == 1.0


# -- the command line ----------------------------------------------------------------------------------------------

def _binary_set(root: Path, names=("a", "b", "c"), seed: int = 11) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    for name in names:
        gt = (rng.random((12, 10)) < 0.3).astype(np.uint8)
        gt[0, 0] = 1
        pred = np.where(rng.random(gt.shape) < 0.85, gt, 1 - gt).astype(np.uint8)
        write_label_png(root / "gt" / f"{name}.png", gt)
        write_label_png(root / "pred" / f"{name}.png", pred)
    return root / "pred", root / "gt"


def test_binary_masks_report_class_1_with_one_note(cli, tmp_path):
    pred, gt = _binary_set(tmp_path)
    r = cli("seg", pred, gt, "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["schema"] == REPORT_SCHEMA == 2
    assert doc["config"]["average"] == "foreground" and doc["config"]["options"]["average"] == "auto"
    assert doc["config"]["notes"] == [NOTE.removeprefix("note: ")]
    assert r.err.count("note: two classes") == 1 and NOTE in r.err
    for row in doc["images"]:
        for name in CLASS_METRICS:
            assert row["values"][name] == row["per_class"][name][1]
            assert len(row["per_class"][name]) == 2
    for name in CLASS_METRICS:
        assert doc["summary"]["pooled"][name] == doc["summary"]["per_class"]["pooled"][name][1]
    mean = cli("seg", pred, gt, "-f", "json", "--average", "mean")
    assert mean.code == 0 and "note:" not in mean.err
    assert mean.json()["config"]["average"] == "mean" and mean.json()["config"]["notes"] == []
    for row, old in zip(doc["images"], mean.json()["images"], strict=True):
        assert row["values"]["accuracy"] == old["values"]["accuracy"]  # pixel accuracy either way
        for name in CLASS_METRICS:
            assert old["values"][name] == pytest.approx(np.mean(old["per_class"][name]))
    explicit = cli("seg", pred, gt, "-f", "json", "--average", "foreground")
    assert explicit.code == 0 and "note:" not in explicit.err  # asked for: nothing to point out
    assert explicit.json()["images"] == doc["images"] and explicit.json()["config"]["average"] == "foreground"


def test_the_note_names_only_the_values_computed_and_the_class(cli, tmp_path):
    pred, gt = _binary_set(tmp_path)
    r = cli("seg", pred, gt, "-m", "dice", "--class-names", "background,lesion")
    assert r.code == 0, r
    assert ("note: two classes: dice is class 1's (lesion), the foreground, as scikit-learn's average='binary', "
            "MedPy and nnU-Net report a binary task; per_class lists both classes, and --average mean gives their "
            "mean") in r.err
    r = cli("seg", pred, gt, "-m", "accuracy", "-f", "json")
    assert r.code == 0 and "note:" not in r.err and r.json()["config"]["notes"] == []


@pytest.mark.parametrize("convention, average, note", [
    ("lossctl", "foreground", True), ("sklearn", "foreground", True),
    ("torch", "mean", False), ("monai", "mean", False), ("nnunet", "mean", False),
])
def test_each_convention_keeps_its_own_rule(cli, tmp_path, convention, average, note):
    pred, gt = _binary_set(tmp_path)
    r = cli("seg", pred, gt, "--convention", convention, "-m", "dice", "-f", "json")
    assert r.code == 0, r
    assert r.json()["config"]["average"] == average and ("note: two classes" in r.err) == note


def test_foreground_under_a_convention_with_its_own_rule_is_refused(cli, tmp_path):
    r = cli("seg", tmp_path / "nowhere", tmp_path / "nowhere2", "--convention", "monai", "--average", "foreground")
    assert r.code == 2, r
    assert r.error_lines() == ["error: --average foreground: under --convention monai its class metrics follow "
                               "that framework's own class mean; drop --average (with two classes, --exclude-background "
                               "leaves class 1 alone in the mean)"]


def test_foreground_needs_two_classes(cli, tmp_path):
    # a given class count: refused before any file is read
    r = cli("seg", tmp_path / "nowhere", tmp_path / "nowhere2", "--num-classes", "3", "--average", "foreground")
    assert r.code == 2, r
    message = ("error: --average foreground reports class 1 of a two-class run, but this run has 3 classes; drop "
               "--average (the class mean), or give --exclude-background to leave class 0 out of the mean")
    assert r.error_lines() == [message]
    # a class count found in the data: refused once it is known
    write_label_png(tmp_path / "gt" / "a.png", np.array([[0, 1], [2, 0]]))
    write_label_png(tmp_path / "pred" / "a.png", np.array([[0, 1], [2, 2]]))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--average", "foreground")
    assert r.code == 2 and r.error_lines() == [message], r


def test_more_classes_keep_the_class_mean(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-f", "json")
    assert r.code == 0 and "note:" not in r.err
    assert r.json()["config"]["average"] == "mean" and r.json()["config"]["num_classes"] == 3


def test_merge_rebuilds_the_foreground_report(cli, tmp_path):
    pred, gt = _binary_set(tmp_path, names=("a", "b", "c", "d"))
    whole = cli("seg", pred, gt, "-f", "json").json()
    for k in (1, 2):
        assert cli("seg", pred, gt, "-f", "json", "--shard", f"{k}/2", "-o", tmp_path / f"s{k}.json").code == 0
    merged = cli("merge", tmp_path / "s1.json", tmp_path / "s2.json", "-f", "json")
    assert merged.code == 0, merged
    assert merged.err.count("note: two classes") == 1
    assert merged.json()["images"] == whole["images"] and merged.json()["summary"] == whole["summary"]
    assert merged.json()["config"]["average"] == "foreground"


# -- baselines: another schema, another averaging ---------------------------------------------------------------

def _rewrite(source: Path, target: Path, change) -> Path:
    doc = json.loads(source.read_text())
    change(doc)
    target.write_text(json.dumps(doc))
    return target


def test_a_report_of_schema_1_is_refused_with_how_to_regenerate_it(cli, tmp_path):
    pred, gt = _binary_set(tmp_path)
    assert cli("seg", pred, gt, "-f", "json", "-o", tmp_path / "new.json").code == 0
    assert cli("seg", pred, gt, "-f", "json", "--shard", "1/1", "-o", tmp_path / "shard.json").code == 0
    old = _rewrite(tmp_path / "new.json", tmp_path / "old.json", lambda d: d.pop("schema"))
    old_shard = _rewrite(tmp_path / "shard.json", tmp_path / "old_shard.json", lambda d: d.update(schema=1))

    def message(path: Path) -> str:
        return (f"error: {path}: written by report schema version 1 (before binary runs report the foreground), but "
                f"this lossctl 0.1.0 reads schema version 2; regenerate it with this lossctl (`lossctl seg ... -f "
                f"json -o {path}`)")

    for args, path in ((("seg", pred, gt, "--baseline", old, "-g", "delta(dice)>=-1"), old),
                       (("compare", old, tmp_path / "new.json"), old),
                       (("compare", tmp_path / "new.json", old), old),
                       (("merge", old_shard), old_shard),
                       (("merge", tmp_path / "shard.json", "--baseline", old), old)):
        r = cli(*args)
        assert r.code == 3 and r.error_lines() == [message(path)] and not r.out, (args, r)


def test_a_baseline_of_another_averaging_is_refused_not_compared(cli, tmp_path):
    pred, gt = _binary_set(tmp_path)
    assert cli("seg", pred, gt, "-f", "json", "--average", "mean", "-o", tmp_path / "mean.json").code == 0
    assert cli("seg", pred, gt, "-f", "json", "-o", tmp_path / "fg.json").code == 0
    r = cli("seg", pred, gt, "--baseline", tmp_path / "mean.json", "-g", "delta(dice)>=-1")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: --baseline {tmp_path / 'mean.json'}: its dice, iou, precision and recall are the class mean "
        "(config.average mean), but the new report's are class 1's (config.average foreground); regenerate the "
        "baseline with the new run's settings (--average foreground), or run the new one with --average mean"]
    r = cli("compare", tmp_path / "fg.json", tmp_path / "mean.json")
    assert r.code == 3 and not r.out, r
    assert r.error_lines() == [
        f"error: {tmp_path / 'fg.json'}: its dice, iou, precision and recall are class 1's (config.average "
        "foreground), but the new report's are the class mean (config.average mean); regenerate the baseline with "
        "the new run's settings (--average mean), or run the new one with --average foreground"]
    same = cli("seg", pred, gt, "--average", "mean", "--baseline", tmp_path / "mean.json", "-g", "delta(dice)>=0")
    assert same.code == 0, same
