"""A convention per value (issue 17, item 10): ``-m hd95:medpy -m dice:nnunet`` in one run, for seg and cls.

Each value is computed exactly as a run under its convention computes it; the run's ``--convention`` is that of
the values named alone; ``config.conventions`` records every value's, ``config.convention`` the run's; report
keys and gates keep the value's name. Refusals: a convention that does not define the value (with a "did you
mean"), one value under two conventions, a ``-p`` parameter the value's convention lacks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lossctl import registry


@pytest.fixture
def labels(tmp_path: Path) -> tuple[Path, Path]:
    """Label images where class 2 is absent from image 0's ground truth but predicted there: lossctl's dice
    counts it as 0, MONAI's (ignore_empty) leaves it out, nnU-Net's averages the foreground only."""
    rng = np.random.default_rng(11)
    for side in ("pred", "gt"):
        (tmp_path / side).mkdir()
    for i in range(3):
        gt = rng.integers(0, 3, (14, 15))
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 3, gt.shape))
        if i == 0:
            gt[gt == 2] = 1
        Image.fromarray(gt.astype(np.uint8)).save(tmp_path / "gt" / f"im{i}.png")
        Image.fromarray(pred.astype(np.uint8)).save(tmp_path / "pred" / f"im{i}.png")
    return tmp_path / "pred", tmp_path / "gt"


def _values(doc: dict, name: str) -> list:
    return [row["values"][name] for row in doc["images"]] + [doc["summary"]["mean"][name]]


# A value's convention drives its computation ---------------------------------------------------------------------

def test_a_value_under_its_own_convention_equals_a_run_under_that_convention(cli, labels):
    pred, gt = labels
    own = cli("seg", pred, gt, "-m", "dice:monai", "-m", "iou", "-f", "json")
    assert own.code == 0, own
    doc = own.json()
    whole = cli("seg", pred, gt, "--convention", "monai", "-m", "dice", "-f", "json").json()
    plain = cli("seg", pred, gt, "-m", "dice", "-m", "iou", "-f", "json").json()
    assert _values(doc, "dice") == _values(whole, "dice") != _values(plain, "dice")
    assert doc["images"][0]["per_class"]["dice"] == whole["images"][0]["per_class"]["dice"]
    assert _values(doc, "iou") == _values(plain, "iou")  # iou stays the run's (lossctl)
    assert doc["config"]["convention"] == "lossctl"
    assert doc["config"]["conventions"] == {"dice": "monai", "iou": "lossctl"}
    assert doc["config"]["params"]["dice"] == whole["config"]["params"]["dice"]  # MONAI's own parameters
    assert set(doc["summary"]["mean"]) == {"dice", "iou"}  # keys keep the value's name


def test_nnunets_dataset_mean_follows_the_value(cli, labels):
    pred, gt = labels
    doc = cli("seg", pred, gt, "--convention", "monai", "-m", "dice:nnunet", "-m", "iou", "-f", "json").json()
    nnunet = cli("seg", pred, gt, "--convention", "nnunet", "-m", "dice", "-f", "json").json()
    monai = cli("seg", pred, gt, "--convention", "monai", "-m", "iou", "-f", "json").json()
    assert _values(doc, "dice") == _values(nnunet, "dice")  # nnU-Net's class means of per-image values
    assert _values(doc, "iou") == _values(monai, "iou")
    assert doc["config"]["conventions"] == {"dice": "nnunet", "iou": "monai"}


def test_boundary_metrics_take_each_their_convention(cli, labels):
    pred, gt = labels
    doc = cli("seg", pred, gt, "-m", "hd95:medpy", "-m", "nsd:deepmind", "-m", "assd", "-f", "json",
              "-g", "hd95<=100").json()
    medpy = cli("seg", pred, gt, "--convention", "medpy", "-m", "hd95", "-f", "json").json()
    deepmind = cli("seg", pred, gt, "--convention", "deepmind", "-m", "nsd", "-f", "json").json()
    lossctl = cli("seg", pred, gt, "-m", "assd", "-f", "json").json()
    assert _values(doc, "hd95") == _values(medpy, "hd95")
    assert _values(doc, "nsd") == _values(deepmind, "nsd")
    assert _values(doc, "assd") == _values(lossctl, "assd")
    assert doc["gates"][0]["gate"] == "hd95<=100" and doc["gates"][0]["value"] == medpy["summary"]["mean"]["hd95"]


def test_a_loss_takes_its_convention_and_its_parameters(cli, seg):
    doc = cli("seg", seg.pred, seg.gt, "-l", "dice_loss:smp", "-p", "dice_loss.smooth=0.5", "-l", "ce",
              "-f", "json").json()
    smp = cli("seg", seg.pred, seg.gt, "--convention", "smp", "-l", "dice_loss", "-p", "dice_loss.smooth=0.5",
              "-f", "json").json()
    assert _values(doc, "dice_loss") == _values(smp, "dice_loss")
    assert doc["config"]["params"]["dice_loss"] == smp["config"]["params"]["dice_loss"]
    assert doc["config"]["conventions"]["dice_loss"] == "smp" and doc["config"]["conventions"]["ce"] == "lossctl"


def test_the_table_title_names_the_values_under_another_convention(cli, labels):
    pred, gt = labels
    r = cli("seg", pred, gt, "-m", "dice:nnunet", "-m", "hd95:medpy", "-m", "iou", "--num-classes", "3")
    assert r.code == 0 and r.out.splitlines()[0] == (
        "lossctl seg: 3 images, 3 classes, convention lossctl (dice: nnunet, hd95: medpy)"), r
    same = cli("seg", pred, gt, "--convention", "medpy", "-m", "hd95:medpy", "--num-classes", "3")
    assert same.out.splitlines()[0] == "lossctl seg: 3 images, 3 classes, convention medpy", same


def test_shards_of_a_mixed_run_merge_to_the_whole(cli, labels, tmp_path):
    pred, gt = labels
    args = ("seg", pred, gt, "-m", "dice:nnunet", "-m", "hd95:medpy", "-f", "json")
    whole = cli(*args).json()
    shards = [tmp_path / f"s{k}.json" for k in (1, 2)]
    for k, shard in enumerate(shards, 1):
        assert cli(*args, "--shard", f"{k}/2", "-o", shard).code == 0
    merged = cli("merge", *shards, "-f", "json").json()
    assert merged["summary"] == whole["summary"] and merged["config"]["conventions"] == whole["config"]["conventions"]


def test_compare_notes_a_value_under_another_convention(cli, labels, tmp_path):
    pred, gt = labels
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    assert cli("seg", pred, gt, "-m", "dice", "-o", base, "-f", "json").code == 0
    assert cli("seg", pred, gt, "-m", "dice:monai", "-o", new, "-f", "json").code == 0
    r = cli("compare", base, new, "--bootstrap", "10", "-f", "json")
    assert f'{base} differs in conventions: dice: "lossctl" (base) vs "monai" (new)' in r.json()["config"]["notes"], r


# Refusals -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (("-m", "hd95:medpy", "-m", "hd95"),
     "-m hd95:medpy and -m hd95 (--convention lossctl) give hd95 two conventions; a run computes each value under "
     "one: name hd95 once"),
    (("-m", "dice:monai", "-m", "dice:nnunet"),
     "-m dice:monai and -m dice:nnunet give dice two conventions; a run computes each value under one: name dice "
     "once"),
    (("-m", "dice:nnunt"),
     "-m dice:nnunt: dice has no convention 'nnunt' (did you mean dice:nnunet?); its conventions: lossctl, "
     "sklearn, torch, monai, nnunet (`lossctl losses dice` shows each definition)"),
    (("-m", "dice:medpy"),
     "-m dice:medpy: dice has no convention 'medpy'; its conventions: lossctl, sklearn, torch, monai, nnunet "
     "(`lossctl losses dice` shows each definition)"),
    (("-l", "lovasz:keras"),
     "-l lovasz:keras: lovasz has no convention 'keras'; its conventions: lossctl, smp (`lossctl losses lovasz` "
     "shows each definition)"),
    (("-m", "dice:"), "malformed -m 'dice:'; expected NAME or NAME:CONVENTION, or a comma list of them, e.g. "
                      "hd95, hd95:medpy or dice,iou"),
    (("-m", ":monai"), "malformed -m ':monai'; expected NAME or NAME:CONVENTION, or a comma list of them, e.g. "
                       "hd95, hd95:medpy or dice,iou"),
    (("-m", "dice,,iou"), "malformed -m 'dice,,iou'; expected NAME or NAME:CONVENTION, or a comma list of them, "
                          "e.g. hd95, hd95:medpy or dice,iou"),
    (("-m", "dice:monai,dice"),
     "-m dice:monai and -m dice (--convention lossctl) give dice two conventions; a run computes each value under "
     "one: name dice once"),
    (("-m", "dicee:monai"), "unknown seg loss or metric 'dicee' (did you mean dice?); choose from: "
                            f"{', '.join(registry.names('seg'))}"),
    (("-m", "dice:nnunet", "-p", "dice.zero_division=1"),
     "dice has no parameter 'zero_division' under -m dice:nnunet; its parameters: (none)"),
    (("-m", "dice:monai", "--empty", "zero"),
     "--empty zero: dice under -m dice:monai has its own rule for 0/0 (see `lossctl losses NAME`); drop --empty"),
])
def test_seg_refusals(cli, labels, args, message):
    pred, gt = labels
    r = cli("seg", pred, gt, *args)
    assert r.code == 2 and r.err == f"error: {message}\n", r


def test_the_same_convention_twice_is_one_value(cli, labels):
    pred, gt = labels
    r = cli("seg", pred, gt, "--convention", "medpy", "-m", "hd95:medpy", "-m", "hd95", "-f", "json")
    assert r.code == 0 and r.json()["config"]["conventions"] == {"hd95": "medpy"}, r


def test_a_prediction_kind_the_values_convention_refuses_is_named_as_given(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-l", "focal:torch", "-m", "dice", "--pred-kind", "probs")
    assert r.code == 2 and r.err == (
        "error: focal under -l focal:torch takes logits predictions, not probs\n"), r


# cls ----------------------------------------------------------------------------------------------------------

def test_cls_values_take_their_conventions(cli, cls_data):
    p, t = cls_data["probs_npy"], cls_data["target_npy"]
    doc = cli("cls", p, t, "-m", "f1:sklearn", "-m", "accuracy:torch", "-l", "cce:keras", "-l", "focal",
              "-f", "json").json()
    for name, convention in (("f1", "sklearn"), ("accuracy", "torch"), ("cce", "keras"), ("focal", "lossctl")):
        alone = cli("cls", p, t, "--convention", convention, "-l" if name in ("cce", "focal") else "-m", name,
                    "-f", "json").json()
        assert doc["summary"]["mean"][name] == alone["summary"]["mean"][name], name
    assert doc["config"]["conventions"] == {"cce": "keras", "focal": "lossctl", "accuracy": "torch", "f1": "sklearn"}
    assert doc["config"]["convention"] == "lossctl"


def test_cls_unnormalised_rows_are_read_when_every_loss_is_keras(cli, tmp_path, cls_data):
    rows = np.asarray(cls_data["probs"]) * 0.8  # rows summing to 0.8
    np.save(tmp_path / "p.npy", rows)
    t = cls_data["target_npy"]
    keras = cli("cls", tmp_path / "p.npy", t, "-l", "cce:keras", "-m", "accuracy", "-f", "json")
    assert keras.code == 0 and keras.json()["config"]["notes"] == [
        "probability rows that do not sum to 1 are divided by their sum, as the convention does"], keras
    mixed = cli("cls", tmp_path / "p.npy", t, "-l", "cce:keras", "-l", "focal")
    assert mixed.code == 3 and "hold values in rows that do not sum to 1" in mixed.err, mixed


@pytest.mark.parametrize("args, message", [
    (("-l", "cce:keras", "-l", "cce"),
     "-l cce:keras and -l cce (--convention lossctl) give cce two conventions; a run computes each value under "
     "one: name cce once"),
    (("-m", "f1:keras"),
     "-m f1:keras: f1 has no convention 'keras'; its conventions: lossctl, sklearn, torch (`lossctl losses f1` "
     "shows each definition)"),
    (("-l", "sparse_cce:torch", "-p", "sparse_cce.gamma=2"),
     "sparse_cce has no parameter 'gamma' under -l sparse_cce:torch; its parameters: (none)"),
    (("-l", "cce:torch", "--weights", "W"),
     "cce under -l cce:torch takes no weights; drop it or choose another convention (--weights)"),
])
def test_cls_refusals(cli, cls_data, tmp_path, args, message):
    np.save(tmp_path / "w.npy", np.ones(cls_data["n"]))
    args = tuple(str(tmp_path / "w.npy") if a == "W" else a for a in args)
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], *args)
    assert r.code == 2 and r.err == f"error: {message}\n", r
