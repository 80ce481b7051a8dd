"""``--convention`` and ``--target-kind`` at the command line: choices generated from the registry, the recorded
config is what was applied, typed parameters (and those a convention lacks), the target-kind rule and its note,
options named by the CLI. The catalogue (``lossctl losses``) is tested in tests/report/test_catalogue.py."""

from __future__ import annotations

import numpy as np
import pytest
from support import softmax, write_npy

from lossctl import registry


def _choices(command: str, option: str) -> list[str]:
    """The choices of ``--option`` of ``command`` (the Enum its annotation names)."""
    import inspect
    import typing

    from lossctl.cli.cls import cls_command
    from lossctl.cli.seg import seg_command

    fn = {"seg": seg_command, "cls": cls_command}[command]
    enum = typing.get_args(inspect.signature(fn, eval_str=True).parameters[option.replace("-", "_")].annotation)[0]
    return [member.value for member in enum]


@pytest.mark.parametrize("command", ["seg", "cls"])
def test_convention_choices_are_the_registry_conventions(command):
    assert _choices(command, "convention") == registry.conventions(command)  # TASK_CONVENTIONS is exhaustive
    assert set(registry.conventions()) == set(registry.CONVENTIONS)  # every declared convention is used


def test_nnunet_is_a_segmentation_convention_only():
    assert "nnunet" in _choices("seg", "convention") and "nnunet" not in _choices("cls", "convention")


def test_the_recorded_parameters_are_the_applied_ones(cli, tmp_path):
    rng = np.random.default_rng(1)
    logits, y = write_npy(tmp_path / "x.npy", rng.normal(size=20)), write_npy(tmp_path / "y.npy", rng.integers(0, 2, 20))
    r = cli("cls", logits, y, "--pred-kind", "logits", "--convention", "torch", "-l", "focal", "-f", "json")
    assert r.code == 0, r
    assert r.json()["config"]["params"]["focal"] == {"gamma": 2.0, "alpha": 0.25}  # torchvision's default, applied
    off = cli("cls", logits, y, "--pred-kind", "logits", "--convention", "torch", "-l", "focal", "-p",
              "focal.alpha=none", "-f", "json")
    assert off.json()["config"]["params"]["focal"]["alpha"] is None
    assert off.json()["summary"]["mean"]["focal"] > r.json()["summary"]["mean"]["focal"]  # no 0.25 weighting


def test_typed_parameters_are_validated(cli, cls_data):
    r = cli("cls", cls_data["logits_npy"], cls_data["target_npy"], "--pred-kind", "scores", "-l", "multiclass_hinge",
            "-p", "multiclass_hinge.squared=0.3")
    assert r.code == 2 and "give true or false" in r.err, r
    ok = cli("cls", cls_data["logits_npy"], cls_data["target_npy"], "--pred-kind", "scores", "-l",
             "multiclass_hinge", "-p", "multiclass_hinge.squared=true", "-f", "json")
    assert ok.code == 0 and ok.json()["config"]["params"]["multiclass_hinge"]["squared"] is True
    bad = cli("cls", cls_data["logits_npy"], cls_data["target_npy"], "--pred-kind", "scores", "--convention",
              "torch", "-l", "multiclass_hinge", "--hinge", "crammer_singer")
    assert bad.code == 2 and "choose from weston_watkins" in bad.err, bad


def test_one_hot_targets_are_categorical_by_the_auto_rule_and_say_so(cli, cls_data, tmp_path):
    onehot = write_npy(tmp_path / "onehot.npy", np.eye(3, dtype=np.int64)[cls_data["y"]])
    auto = cli("cls", cls_data["logits_npy"], onehot, "--pred-kind", "logits", "-l", "focal", "-f", "json")
    assert auto.code == 0, auto
    assert auto.json()["config"]["target_kind"] == "onehot" and "read as one-hot" in auto.err
    index = cli("cls", cls_data["logits_npy"], cls_data["target_npy"], "--pred-kind", "logits", "-l", "focal",
                "-f", "json")
    assert auto.json()["summary"]["mean"]["focal"] == pytest.approx(index.json()["summary"]["mean"]["focal"])
    multilabel = cli("cls", cls_data["logits_npy"], onehot, "--pred-kind", "logits", "-l", "focal",
                     "--target-kind", "multilabel", "-f", "json")
    assert multilabel.json()["config"]["target_kind"] == "multilabel" and "one-hot" not in multilabel.err
    x, t = cls_data["logits"], np.eye(3)[cls_data["y"]]
    p = 1.0 / (1.0 + np.exp(-x))
    sigmoid_focal = -(t * (1 - p) ** 2 * np.log(p) + (1 - t) * p ** 2 * np.log(1 - p)).mean()
    assert multilabel.json()["summary"]["mean"]["focal"] == pytest.approx(sigmoid_focal, rel=1e-12)


def test_keras_renormalises_probability_rows_and_the_others_refuse_them(cli, cls_data, tmp_path):
    raw = write_npy(tmp_path / "raw.npy", cls_data["probs"] * np.linspace(0.5, 0.99, cls_data["n"])[:, None])
    keras = cli("cls", raw, cls_data["target_npy"], "--convention", "keras", "-l", "cce", "-f", "json")
    assert keras.code == 0 and "divided by their sum" in keras.err, keras
    expected = -np.log(np.clip(cls_data["probs"][np.arange(cls_data["n"]), cls_data["y"]], 1e-7, 1 - 1e-7)).mean()
    assert keras.json()["summary"]["mean"]["cce"] == pytest.approx(expected, rel=1e-6)
    plain = cli("cls", raw, cls_data["target_npy"], "-l", "cce")
    assert plain.code == 3 and "do not sum to 1" in plain.err and "--pred-kind" in plain.err, plain


def test_metrics_follow_the_convention(cli, seg):
    a = cli("seg", seg.pred, seg.gt, "-f", "json").json()
    monai = cli("seg", seg.pred, seg.gt, "--convention", "monai", "-f", "json").json()
    assert set(monai["summary"]["mean"]) >= {"dice", "iou"} and "accuracy" in monai["config"]["not_available"]
    nnunet = cli("seg", seg.pred, seg.gt, "--convention", "nnunet", "-f", "json").json()
    assert set(nnunet["summary"]["mean"]) == {"dice", "iou"}  # nnU-Net has no losses and these two metrics
    assert a["config"]["convention"] == "lossctl" and nnunet["config"]["convention"] == "nnunet"
    refused = cli("seg", seg.pred, seg.gt, "--convention", "keras", "-m", "dice")
    assert refused.code == 2 and "--convention keras has no seg metric dice" in refused.err, refused
    empty = cli("seg", seg.pred, seg.gt, "--convention", "monai", "--empty", "zero")
    assert empty.code == 2 and "own rule for 0/0" in empty.err, empty


def test_softmax_helper_is_a_distribution():
    assert np.allclose(softmax(np.zeros((2, 3)), axis=1).sum(axis=1), 1.0)


def test_a_preset_refuses_parameters_its_framework_lacks(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "keras", "-l", "dice_loss", "-p", "dice_loss.smooth=1")
    assert r.code == 2 and "under --convention keras" in r.err
    ok = cli("seg", seg.pred, seg.gt, "--convention", "keras", "-l", "dice_loss", "--smooth", "1", "-f", "json")
    assert ok.code == 0 and ok.json()["config"]["params"]["dice_loss"] == {}
