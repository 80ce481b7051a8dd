"""Where issue 17's branches meet (the merge of items 8 and 10 into items 1-7 and 9): a convention per value on a
binary run (``--average``), scikit-learn's ``labels`` under a value's own convention, ``cls -l`` with its implied
metrics and a loss under its own convention, and ``region_mean`` against baselines (schema 2, ``--baseline-match``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import LIVER, region_images as _images

from lossctl.engine.schema import REPORT_SCHEMA
from lossctl.errors import EXIT_GATE_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE

IOU_NOTE = ("note: two classes: iou is class 1's, the foreground, as scikit-learn's average='binary', MedPy and "
            "nnU-Net report a binary task; per_class lists both classes, and --average mean gives their mean")


@pytest.fixture
def binary(tmp_path: Path) -> tuple[Path, Path]:
    """0/1 label masks: a two-class run."""
    rng = np.random.default_rng(3)
    for side in ("pred", "gt"):
        (tmp_path / side).mkdir()
    for i in range(3):
        gt = (rng.random((10, 12)) < 0.4).astype(np.uint8)
        pred = np.where(rng.random(gt.shape) < 0.8, gt, 1 - gt).astype(np.uint8)
        Image.fromarray(gt).save(tmp_path / "gt" / f"im{i}.png")
        Image.fromarray(pred).save(tmp_path / "pred" / f"im{i}.png")
    return tmp_path / "pred", tmp_path / "gt"


def _values(doc: dict, name: str) -> list:
    return [row["values"][name] for row in doc["images"]] + [doc["summary"]["mean"][name],
                                                             doc["summary"]["pooled"][name]]


def _notes(r) -> list[str]:
    return [line for line in r.err.splitlines() if line.startswith("note:")]


# A convention per value on a binary run (--average) -------------------------------------------------------------

def test_a_value_under_monai_keeps_its_rule_while_the_others_report_the_foreground(cli, binary):
    pred, gt = binary
    r = cli("seg", pred, gt, "-m", "dice:monai", "-m", "iou", "-f", "json")
    assert r.code == EXIT_OK, r
    doc = r.json()
    monai = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-f", "json").json()
    foreground = cli("seg", pred, gt, "-m", "iou", "-f", "json").json()
    mean = cli("seg", pred, gt, "-m", "dice", "--average", "mean", "-f", "json").json()
    assert _values(doc, "dice") == _values(monai, "dice")  # MONAI's mean of both channels
    assert _values(doc, "iou") == _values(foreground, "iou")  # class 1's
    assert doc["summary"]["mean"]["dice"] != pytest.approx(
        cli("seg", pred, gt, "-m", "dice", "-f", "json").json()["summary"]["mean"]["dice"])  # not class 1's
    assert _values(doc, "dice")[:-1] == pytest.approx(_values(mean, "dice")[:-1])  # both classes present: their mean
    assert doc["config"]["average"] == "foreground"
    assert doc["config"]["conventions"] == {"dice": "monai", "iou": "lossctl"}
    assert doc["config"]["notes"] == [IOU_NOTE.removeprefix("note: ")]
    assert _notes(r) == [IOU_NOTE]  # the note names iou alone: dice is MONAI's


def test_a_lossctl_value_in_a_monai_run_reports_the_foreground(cli, binary):
    pred, gt = binary
    r = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-m", "iou:lossctl", "-f", "json")
    assert r.code == EXIT_OK, r
    doc = r.json()
    assert _values(doc, "iou") == _values(cli("seg", pred, gt, "-m", "iou", "-f", "json").json(), "iou")
    assert _values(doc, "dice") == _values(
        cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-f", "json").json(), "dice")
    assert doc["config"]["average"] == "foreground" and _notes(r) == [IOU_NOTE]
    same = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-m", "iou:lossctl", "--average", "mean",
               "-f", "json").json()  # --average mean reaches the value under lossctl
    assert _values(same, "iou") == _values(cli("seg", pred, gt, "-m", "iou", "--average", "mean", "-f", "json").json(),
                                           "iou")
    assert same["config"]["average"] == "mean"
    # a run whose every value keeps its convention's own rule records the class mean, as --convention monai does
    only = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-f", "json").json()
    assert only["config"]["average"] == "mean" and only["config"]["notes"] == []


@pytest.mark.parametrize("args, message", [
    (("-m", "dice:monai", "-m", "iou"),
     "error: --average foreground: dice under -m dice:monai follows that framework's own class mean; drop --average, "
     "or compute dice under a convention that reports class 1 (lossctl, sklearn)"),
    (("--convention", "monai", "-m", "dice", "-m", "iou:lossctl"),
     "error: --average foreground: dice under --convention monai follows that framework's own class mean; drop "
     "--average, or compute dice under a convention that reports class 1 (lossctl, sklearn)"),
    (("--convention", "monai", "-m", "dice"),  # main's message, unchanged
     "error: --average foreground: under --convention monai its class metrics follow that framework's own class "
     "mean; drop --average (with two classes, --exclude-background leaves class 1 alone in the mean)"),
])
def test_average_foreground_refuses_a_value_whose_convention_has_its_own_mean(cli, binary, args, message):
    pred, gt = binary
    r = cli("seg", pred, gt, *args, "--average", "foreground")
    assert r.code == EXIT_USAGE and r.error_lines() == [message], r


def test_average_foreground_takes_values_under_conventions_that_have_it(cli, binary):
    pred, gt = binary
    r = cli("seg", pred, gt, "-m", "dice:sklearn", "-m", "iou", "-m", "hd95:medpy", "--average", "foreground",
            "-f", "json")
    assert r.code == EXIT_OK, r
    doc = r.json()
    assert doc["config"]["average"] == "foreground" and _notes(r) == []  # asked for: no note
    sklearn = cli("seg", pred, gt, "--convention", "sklearn", "-m", "dice", "-f", "json").json()
    assert _values(doc, "dice")[:-1] == _values(sklearn, "dice")[:-1]  # average='binary' per image and mean


# scikit-learn's labels under a value's own convention ------------------------------------------------------------

def test_sklearn_labels_follow_a_given_class_count_under_a_values_own_convention(cli, seg):
    args = ("seg", seg.labels, seg.gt, "--num-classes", "5", "-f", "json")
    own = cli(*args, "-p", "iou.zero_division=1", "-m", "iou:sklearn", "-m", "dice").json()
    run = cli(*args, "-p", "iou.zero_division=1", "--convention", "sklearn", "-m", "iou").json()
    assert own["config"]["params"]["iou"] == run["config"]["params"]["iou"] == {"zero_division": "1",
                                                                                 "labels": "all"}
    assert len(own["images"]) == 3 and not own["errors"]
    assert [r["values"]["iou"] for r in own["images"]] == [r["values"]["iou"] for r in run["images"]]
    zero = cli(*args, "-p", "iou.zero_division=0", "-m", "iou:sklearn").json()
    assert zero["summary"]["mean"]["iou"] < own["summary"]["mean"]["iou"]  # zero_division matters: labels=range(5)
    present = cli("seg", seg.labels, seg.gt, "-m", "iou:sklearn", "-f", "json").json()
    assert present["config"]["params"]["iou"]["labels"] == "present"  # no count given: labels=None


# cls: -l under its own convention with the metrics it brings along ----------------------------------------------

def test_cls_a_loss_under_its_own_convention_brings_the_runs_metrics_as_defaults(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--convention", "torch", "-l", "cce:keras",
            "--class-weights", "1,2,3", "-f", "json")
    assert r.code == EXIT_OK, r
    doc = r.json()
    assert list(doc["summary"]["mean"]) == ["cce"] and doc["config"]["conventions"] == {"cce": "keras"}
    assert _notes(r) == ["note: accuracy, precision, recall, f1 under --convention torch take no class weights; "
                         "they are not computed (see `lossctl losses NAME`)"]
    named = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-m", "accuracy:torch", "-l", "cce",
                "--class-weights", "1,2,3")
    assert named.code == EXIT_USAGE and named.error_lines() == [
        "error: accuracy under -m accuracy:torch takes no class weights; drop it or choose another convention "
        "(--class-weights)"], named


# region_mean against baselines ------------------------------------------------------------------------------------

@pytest.fixture
def regions(tmp_path: Path) -> dict[str, Path]:
    pred, gt = _images(tmp_path)
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": LIVER}))
    plain = {k: v for k, v in LIVER.items() if not isinstance(v, list)}  # the same classes, no region
    (tmp_path / "plain.json").write_text(json.dumps({"labels": plain}))
    (tmp_path / "pairs.csv").write_text("".join(f"pred/im{i}.png,gt/im{i}.png\n" for i in range(3)))
    return {"pred": pred, "gt": gt, "dataset": tmp_path / "dataset.json", "plain": tmp_path / "plain.json",
            "pairs": tmp_path / "pairs.csv", "root": tmp_path}


def test_a_region_based_report_is_schema_2_with_every_record(cli, regions):
    r = cli("seg", regions["pred"], regions["gt"], "--dataset-json", regions["dataset"], "-m", "dice", "-f", "json")
    assert r.code == EXIT_OK, r
    doc = r.json()
    assert doc["schema"] == REPORT_SCHEMA == 2
    cfg = doc["config"]
    assert cfg["num_classes_source"] == "dataset_json" and cfg["average"] == "mean" and cfg["notes"] == []
    assert cfg["region_mean"] == ["liver", "tumor", "cyst", "lesion"] and cfg["conventions"] == {"dice": "lossctl"}
    assert cfg["class_names"] == ["background", "liver", "tumor", "cyst"]


def test_region_mean_pairs_a_pairs_run_with_a_folder_baseline_by_stem(cli, regions):
    base = regions["root"] / "base.json"
    dataset = ("--dataset-json", regions["dataset"], "-m", "dice")
    assert cli("seg", regions["pred"], regions["gt"], *dataset, "-f", "json", "-o", base).code == EXIT_OK
    gates = ("-g", "worse(dice[region_mean],0)<=0", "-g", "delta(dice[region_mean])>=0")
    r = cli("seg", "--pairs", regions["pairs"], *dataset, "--baseline", base, *gates, "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    worse, delta = r.json()["gates"]
    assert worse["passed"] is False and worse["vacuous"] is True and worse["paired"] == 0
    assert worse["reason"] == (f"none of the 3 images of the new report pairs with one of the 3 of --baseline {base} "
                               "by name (e.g. 'gt/im0' here, 'im0' in the baseline); --baseline-match stem would pair "
                               "3")
    assert delta["passed"] is True  # the summaries' region means need no pairing
    r = cli("seg", "--pairs", regions["pairs"], *dataset, "--baseline", base, "--baseline-match", "stem", *gates,
            "-f", "json")
    assert r.code == EXIT_OK, r
    worse, delta = r.json()["gates"]
    assert worse["passed"] and worse["value"] == 0 and worse["paired"] == 3 and "vacuous" not in worse
    assert delta["value"] == 0.0
    assert r.json()["config"]["baseline_pairing"]["match"] == "stem"
    assert r.json()["config"]["baseline_pairing"]["paired"] == 3


def test_region_mean_against_a_baseline_without_regions_fails_and_says_why(cli, regions):
    base = regions["root"] / "plain_base.json"
    assert cli("seg", regions["pred"], regions["gt"], "--dataset-json", regions["plain"], "-m", "dice", "-f", "json",
               "-o", base).code == EXIT_OK
    r = cli("seg", regions["pred"], regions["gt"], "--dataset-json", regions["dataset"], "-m", "dice",
            "--baseline", base, "-g", "delta(dice[region_mean])>=0", "-g", "worse(dice[region_mean],0)<=0",
            "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    delta, worse = r.json()["gates"]
    assert delta["passed"] is False and delta["vacuous"] is True and delta["base"] is None
    assert delta["reason"] == "the baseline has no image with dice[region_mean] defined"
    assert worse["passed"] is False and worse["vacuous"] is True
    compared = cli("compare", base, regions["root"] / "plain_base.json", "-g", "delta(dice[region_mean])>=0",
                   "--bootstrap", "0")
    assert compared.code == EXIT_USAGE and compared.error_lines() == [
        "error: --gate 'delta(dice[region_mean])>=0': [region_mean] is the mean over the regions of a region-based "
        "--dataset-json, and this run has none; gate a class or a region"], compared


def test_an_older_schema_region_based_baseline_is_refused(cli, regions):
    base = regions["root"] / "old.json"
    dataset = ("--dataset-json", regions["dataset"], "-m", "dice")
    assert cli("seg", regions["pred"], regions["gt"], *dataset, "-f", "json", "-o", base).code == EXIT_OK
    doc = json.loads(base.read_text())
    del doc["schema"]
    base.write_text(json.dumps(doc))
    r = cli("seg", regions["pred"], regions["gt"], *dataset, "--baseline", base, "-g", "delta(dice[region_mean])>=0")
    assert r.code == EXIT_INPUT, r
    assert r.error_lines()[0].startswith(f"error: {base}: written by report schema version 1 (before binary runs "
                                         "report the foreground), but this lossctl")


def test_compare_notes_the_conventions_and_refuses_another_averaging(cli, binary, tmp_path):
    pred, gt = binary
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    assert cli("seg", pred, gt, "-m", "dice", "-m", "iou", "-f", "json", "-o", base).code == EXIT_OK
    assert cli("seg", pred, gt, "-m", "dice:monai", "-m", "iou", "-f", "json", "-o", new).code == EXIT_OK
    r = cli("compare", base, new, "--bootstrap", "0", "-f", "json")
    assert r.code == EXIT_OK, r
    assert f'note: {base} differs in conventions: dice: "lossctl" (base) vs "monai" (new)' in _notes(r)
    monai = tmp_path / "monai.json"  # every value under MONAI: the class mean
    assert cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-f", "json", "-o", monai).code == EXIT_OK
    r = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-m", "iou:lossctl", "--baseline", monai)
    assert r.code == EXIT_INPUT and r.error_lines() == [
        f"error: --baseline {monai}: its dice, iou, precision and recall are the class mean (config.average mean), "
        "but the new report's are class 1's (config.average foreground); regenerate the baseline with the new run's "
        "settings (--average foreground), or run the new one with --average mean"], r
    assert cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-m", "iou:lossctl", "--average", "mean",
               "--baseline", monai, "-g", "delta(dice)>=0").code == EXIT_OK
