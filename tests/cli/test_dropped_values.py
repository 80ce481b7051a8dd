"""Refusals and drops are loud and right (issue 17, item 6): a default value the convention (or the inputs) does
not allow is dropped with ONE stderr note per run that names it; a value named with -m / -l is refused; the
metrics ``-l`` brings along are defaults, never a reason to refuse the run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support import write_npy

from lossctl import registry
from lossctl.errors import EXIT_OK, EXIT_USAGE

BOUNDARY = ("hd", "hd95", "assd", "masd", "nsd")
TOPOLOGY = ("cldice", "boundary_iou")
#: The instance values smp does not define either (opt-in, listed too).
INSTANCE = ("inst_tp", "inst_fp", "inst_fn", "inst_precision", "inst_recall", "rq", "sq", "pq", "sq_dice", "pq_dice",
            "sq_hd95", "sq_assd", "sq_nsd", "aji", "aji_plus", "lesion_dice", "lesion_hd95")
#: The calibration values smp does not define (opt-in, listed too).
CALIBRATION = ("ece", "mce", "rmsce", "cw_ece", "brier", "nll")


def _notes(r) -> list[str]:
    return [line for line in r.err.splitlines() if line.startswith("note:")]


def test_seg_smp_names_the_dropped_defaults_once(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "smp", "-f", "json")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: --convention smp has no dice, iou, precision, recall, accuracy; ce, lovasz under "
                         "--convention smp take logits predictions, not probs; they are not computed (see "
                         "`lossctl losses NAME`)"]
    doc = r.json()
    assert set(doc["config"]["not_available"]) == {"dice", "iou", "precision", "recall", "accuracy", "ce",
                                                   "lovasz", *BOUNDARY, *TOPOLOGY, *INSTANCE, *CALIBRATION}  # the full list, opt-in values too
    assert list(doc["summary"]["mean"]) == ["focal", "dice_loss", "jaccard_loss", "tversky_loss",
                                            "focal_tversky_loss"]


def test_seg_opt_in_values_nobody_asked_for_are_not_listed(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "nnunet")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: --convention nnunet has no precision, recall, accuracy, ce, focal, dice_loss, "
                         "jaccard_loss, tversky_loss, focal_tversky_loss, lovasz; they are not computed (see "
                         "`lossctl losses NAME`)"]
    assert not any(name in _notes(r)[0] for name in ("hd95", "assd", "nsd", "cldice", "boundary_iou"))
    assert _notes(cli("seg", seg.pred, seg.gt)) == []  # the default convention defines every default value


def test_seg_metrics_brought_along_by_a_loss_are_dropped_with_a_note(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "monai", "-l", "dice_loss", "-f", "json")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: --convention monai has no precision, recall, accuracy; they are not computed (see "
                         "`lossctl losses NAME`)"]
    assert list(r.json()["summary"]["mean"]) == ["dice", "iou", "dice_loss"]
    assert _notes(cli("seg", seg.pred, seg.gt, "-m", "dice")) == []  # named: nothing else selected


def test_seg_a_value_named_is_refused(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "smp", "-m", "dice")
    assert r.code == EXIT_USAGE
    assert r.error_lines() == ["error: --convention smp has no seg metric dice; it is defined under lossctl, sklearn, "
                               "torch, monai, nnunet (`lossctl losses dice` shows each definition)"]


@pytest.mark.parametrize("convention, own", [("medpy", "hd, hd95, assd"), ("deepmind", "hd, hd95, masd, nsd")])
def test_seg_a_convention_with_no_default_value_is_refused(cli, seg, convention, own):
    """Before, the run computed nothing and exited 0."""
    r = cli("seg", seg.pred, seg.gt, "--convention", convention)
    assert r.code == EXIT_USAGE
    first = own.split(",")[0]
    assert r.error_lines() == [f"error: --convention {convention} defines no value computed by default, only {own}; "
                               f"name them with -m, e.g. -m {first}"]
    assert cli("seg", seg.labels, seg.gt, "--convention", convention, "-m", "hd95").code == EXIT_OK


# -- cls ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def binary(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 12)
    y[:2] = (0, 1)
    scores = np.clip(y * 0.6 + rng.uniform(0, 0.4, 12), 0.01, 0.99)
    return {"scores": write_npy(tmp_path / "scores.npy", scores),
            "logits": write_npy(tmp_path / "logits.npy", np.log(scores / (1 - scores))),
            "target": write_npy(tmp_path / "target.npy", y.astype(np.int64)),
            "weights": write_npy(tmp_path / "weights.npy", rng.uniform(0.5, 2.0, 12)),
            "ml_probs": write_npy(tmp_path / "ml_probs.npy", rng.uniform(0.05, 0.95, (12, 3))),
            "ml_target": write_npy(tmp_path / "ml_target.npy", (rng.uniform(size=(12, 3)) > 0.5).astype(np.int64))}


def test_cls_bce_with_weights_under_torch(cli, binary):
    """The issue's case: exit 2 "accuracy under --convention torch takes no weights" before."""
    r = cli("cls", binary["scores"], binary["target"], "--convention", "torch", "-l", "bce", "--weights",
            binary["weights"], "-f", "json")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: accuracy, precision, recall, f1 under --convention torch take no weights; they are "
                         "not computed (see `lossctl losses NAME`)"]
    doc = r.json()
    assert list(doc["summary"]["mean"]) == ["bce"]
    assert doc["config"]["not_available"]["accuracy"] == ("accuracy under convention torch takes no weights; drop it "
                                                          "or choose another convention")


def test_cls_a_metric_named_is_still_refused(cli, binary):
    r = cli("cls", binary["scores"], binary["target"], "--convention", "torch", "-l", "bce", "-m", "accuracy",
            "--weights", binary["weights"])
    assert r.code == EXIT_USAGE
    assert r.error_lines() == ["error: accuracy under --convention torch takes no weights; drop it or choose another "
                               "convention (--weights)"]


@pytest.mark.parametrize("convention", [c for c in registry.get("cls", "bce").conventions])
def test_cls_bce_with_weights_works_under_every_convention_that_defines_it(cli, binary, convention):
    impl = registry.get("cls", "bce").impl(convention)
    kind = "probs" if "probs" in impl.inputs else "logits"
    pred = binary["scores"] if kind == "probs" else binary["logits"]
    r = cli("cls", pred, binary["target"], "--pred-kind", kind, "--convention", convention, "-l", "bce",
            "--weights", binary["weights"], "-f", "json")
    if "weights" in impl.options:
        assert r.code == EXIT_OK, r
        assert "bce" in r.json()["summary"]["mean"]
        assert len(_notes(r)) <= 1
    else:  # bce itself is named: refused
        assert r.code == EXIT_USAGE and "bce under --convention" in r.err, r


def test_cls_multilabel_and_class_weights(cli, binary, cls_data):
    r = cli("cls", binary["ml_probs"], binary["ml_target"], "--convention", "torch", "-l", "bce")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: accuracy, precision, recall, f1 under --convention torch take no multilabel targets; "
                         "they are not computed (see `lossctl losses NAME`)"]
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-l", "cce", "--class-weights", "1,2,3")
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: accuracy, precision, recall, f1 under --convention lossctl take no class weights; "
                         "they are not computed (see `lossctl losses NAME`)"]


def test_cls_soft_targets(cli, cls_data, tmp_path):
    soft = write_npy(tmp_path / "soft.npy", 0.8 * np.eye(3)[cls_data["y"]] + 0.2 / 3)
    r = cli("cls", cls_data["probs_npy"], soft, "--convention", "torch", "-l", "cce", "-f", "json")
    assert r.code == EXIT_OK, r
    assert _notes(r)[-1] == ("note: accuracy, precision, recall, f1 under --convention torch take no soft targets; "
                             "they are not computed (see `lossctl losses NAME`)")
    assert list(r.json()["summary"]["mean"]) == ["cce"]


def test_cls_default_run_prints_one_grouped_note(cli, cls_data):
    """Before, four `note: NAME skipped: ...` lines on every run; then one line of two clauses; now one short
    clause: the losses that take no index targets."""
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"])
    assert r.code == EXIT_OK, r
    assert _notes(r) == ["note: bce, weighted_bce, hinge, squared_hinge under --convention lossctl take no index "
                         "targets; they are not computed (see `lossctl losses NAME`)"]


def test_the_note_in_python_words():
    """The core names the convention as a setting: the CLI spells --convention, Python convention='smp'."""
    from lossctl.errors import spell

    note = registry.not_computed_note({"f1": "f1 under convention smp takes no weights; drop it"}, "smp")
    assert spell(note) == "f1 under convention='smp' takes no weights; it is not computed (see `lossctl losses NAME`)"
    assert registry.not_computed_note({}, "smp") is None
    note = registry.not_computed_note({"hinge": "hinge needs two labels, got 3; give (N, C) scores",
                                       "f1": "something else entirely"}, "lossctl")
    assert spell(note) == ("hinge needs two labels, got 3; f1: something else entirely; they are not computed (see "
                           "`lossctl losses NAME`)")
