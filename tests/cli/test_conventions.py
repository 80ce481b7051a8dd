"""``--convention`` and ``--target-kind`` at the command line: choices generated from the registry, the recorded
config is what was applied, typed parameters, the target-kind rule and its note, options named by the CLI, the
everything-ignored message, and the catalogue (``lossctl losses``) generated from the conventions tables."""

from __future__ import annotations

import numpy as np
import pytest
from support import softmax, write_npy

from lossctl import registry


def _choices(command: str, option: str) -> list[str]:
    """The choices of ``--option`` of ``command`` (the Enum its annotation names)."""
    import inspect
    import typing

    from lossctl import cli

    fn = {"seg": cli.seg_command, "cls": cli.cls_command}[command]
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


def test_a_target_kind_that_does_not_fit_is_refused_with_the_option_named(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--target-kind", "onehot")
    assert r.code == 3 and "target kind onehot needs (N, C) targets" in r.err and "--target-kind" in r.err, r


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


def test_every_sample_ignored_says_so(cli, cls_data, tmp_path):
    y = write_npy(tmp_path / "void.npy", np.full(cls_data["n"], -100))
    r = cli("cls", cls_data["probs_npy"], y, "--ignore-index", "-100", "-l", "sparse_cce")
    assert r.code == 3, r
    assert f"every one of the {cls_data['n']} samples carries the ignore index -100" in r.err
    assert "--ignore-index" in r.err and "evaluated 0 sample(s)" not in r.err


def test_every_pixel_ignored_says_so(cli, seg, tmp_path):
    from support import write_palette_png

    for name in seg.names:
        write_palette_png(tmp_path / "void" / f"{name}.png", np.full_like(seg.gts[name], 255))
    r = cli("seg", seg.pred, tmp_path / "void", "--ignore-index", "255")
    assert r.code == 3, r
    assert "every pixel of the 3 image(s) carries an ignore index (255)" in r.err and "--ignore-index" in r.err
    assert "evaluated 3 image(s)" not in r.err


def test_losses_catalogue_keeps_square_brackets(cli):
    table = cli("losses")
    assert table.code == 0 and "-[y log p + (1-y) log(1-p)]" in table.out.replace("\n", ""), table.out[:400]
    one = cli("losses", "bce")
    assert "-[y log p + (1-y) log(1-p)] per element" in one.out


def test_losses_name_shows_every_convention_side_by_side(cli):
    r = cli("losses", "focal")
    for spec in (registry.get("seg", "focal"), registry.get("cls", "focal")):
        for convention, impl in spec.conventions.items():
            assert f"{convention}: {impl.definition}" in r.out
            for p in impl.params:
                assert f"param {p.text()}" in r.out


def test_softmax_helper_is_a_distribution():
    assert np.allclose(softmax(np.zeros((2, 3)), axis=1).sum(axis=1), 1.0)
