"""Exit codes and error messages of the ``lossctl`` command line, run for real through ``lossctl.cli.main``.

0 evaluated and every gate passed; 1 a gate failed; 2 usage error; 3 input error; 70 internal error (a bug).
Every user mistake must end in one ``error: ...`` line and exit 2 or 3, never in a traceback.
The tests at the end are regressions of bugs found while writing this file.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import make_seg_set, run_subprocess, write_cls_inputs, write_label_png, write_npy  # noqa: F401

from lossctl import registry


def assert_clean_error(r, code, *fragments):
    """Exit ``code``; stderr has an ``error:`` line holding every fragment; no traceback anywhere."""
    assert r.code == code, r
    assert "Traceback" not in r.err and "internal error" not in r.err, r
    lines = r.error_lines()
    assert lines, r
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, r)


# ----------------------------------------------------------------------------------------------------------
# exit 2: usage errors (nothing is read)
# ----------------------------------------------------------------------------------------------------------


def test_unknown_seg_loss_lists_the_valid_names(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--loss", "dice_los")
    assert_clean_error(r, 2, "'dice_los'")
    message = r.error_lines()[0]
    for name in registry.names("seg"):
        assert name in message
    assert r.out == ""


def test_unknown_metric_is_a_usage_error(cli, seg):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "--metric", "f1"), 2, "'f1'")


def test_unknown_cls_loss_lists_the_valid_names(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-l", "ce")
    assert_clean_error(r, 2, "'ce'")
    for name in registry.names("cls"):
        assert name in r.error_lines()[0]


@pytest.mark.parametrize("gate", ["dice>>0.5", "dice", "dice=0.5", "foo(dice)>0.5", "dice>=high", "min(dice>0.5",
                                  "dice[road>0.5", ">=0.5", "p101(dice)>0"])
def test_malformed_gate(cli, seg, gate):
    r = cli("seg", seg.pred, seg.gt, "-g", gate)
    assert_clean_error(r, 2, "--gate", repr(gate))
    assert r.out == ""


@pytest.mark.parametrize("args, fragment", [
    (("-m", "dice", "-g", "iou>=0.5"), "'iou'"),
    (("-g", "hausdorff<=3"), "'hausdorff'"),
    (("-g", "pooled(ce)<=1"), "pooled"),
    (("-g", "accuracy[1]>=0.5"), "per-class"),
    (("-g", "dice[water]>=0.5", "--class-names", "bg,road,building"), "'water'"),
    (("-g", "dice[road]>=0.5",), "'road'"),
])
def test_gate_on_a_value_not_computed(cli, seg, args, fragment):
    assert_clean_error(cli("seg", seg.pred, seg.gt, *args), 2, fragment)


def test_cls_gate_on_a_value_not_computed(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-l", "sparse_cce", "-g", "bce<=1")
    assert_clean_error(r, 2, "'bce'")


@pytest.mark.parametrize("param, fragment", [
    ("focal.delta=1", "no parameter 'delta'"),
    ("dice_loss.alpha=1", "no parameter 'alpha'"),
    ("nosuch.gamma=1", "'nosuch'"),
    ("focal.gamma", "malformed --param"),
    ("gamma=2", "malformed --param"),
    ("focal.gamma=abc", "not a number"),
])
def test_bad_param(cli, seg, param, fragment):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "--param", param), 2, fragment)


def test_num_classes_and_class_names_disagree(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--num-classes", "2", "--class-names", "bg,road,building")
    assert_clean_error(r, 2, "--num-classes 2", "3 classes")


@pytest.mark.parametrize("args, fragment", [
    (("--format", "xml"), "xml"),
    (("--pred-kind", "scores"), "scores"),
    (("--empty", "maybe"), "maybe"),
    (("--threshold", "1.5"), "threshold"),
    (("--workers", "-1"), "workers"),
    (("--no-such-option",), "no-such-option"),
])
def test_bad_option_value_exits_2_with_usage(cli, seg, args, fragment):
    r = cli("seg", seg.pred, seg.gt, *args)
    assert r.code == 2, r
    assert fragment in r.err and "Traceback" not in r.err
    assert r.out == ""


def test_missing_arguments_exit_2(cli):
    r = cli("seg")
    assert r.code == 2 and "Missing argument" in r.err, r


def test_losses_unknown_name_exits_2(cli):
    r = cli("losses", "dice_los")
    assert_clean_error(r, 2, "'dice_los'", "dice_loss")


def test_losses_unknown_format_exits_2(cli):
    assert_clean_error(cli("losses", "-f", "xml"), 2, "'xml'")


def test_output_inside_an_input_folder_is_refused(cli, seg):
    target = seg.gt / "report.json"
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", target)
    assert_clean_error(r, 2, "--output")
    assert not target.exists()
    nested = seg.pred / "sub" / "report.json"
    assert_clean_error(cli("seg", seg.pred, seg.gt, "-o", nested), 2, "--output")


def test_output_onto_an_input_file_or_a_folder_is_refused(cli, seg, tmp_path):
    pred, gt = seg.pred / "a.npy", seg.gt / "a.png"
    before = gt.read_bytes()
    assert_clean_error(cli("seg", pred, gt, "-f", "json", "-o", gt), 2, "--output")
    assert gt.read_bytes() == before
    assert_clean_error(cli("seg", pred, gt, "-o", tmp_path), 2, "directory")


def test_cls_output_onto_an_input_is_refused(cli, cls_data):
    before = cls_data["target_npy"].read_bytes()
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "-o", cls_data["target_npy"])
    assert_clean_error(r, 2, "--output")
    assert cls_data["target_npy"].read_bytes() == before


def test_cls_both_inputs_from_stdin_is_refused(cli):
    assert_clean_error(cli("cls", "-", "-", stdin=b"0.5\n"), 2, "stdin")


# ----------------------------------------------------------------------------------------------------------
# exit 3: input errors
# ----------------------------------------------------------------------------------------------------------


def test_missing_directory(cli, seg, tmp_path):
    r = cli("seg", tmp_path / "nope", seg.gt)
    assert_clean_error(r, 3, "nope", "does not exist")
    assert r.out == ""


def test_unpaired_files_are_counted_and_named(cli, seg):
    for extra in ("x1", "x2"):
        write_npy(seg.pred / f"{extra}.npy", seg.probs["a"])
    (seg.gt / "c.png").unlink()
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert_clean_error(r, 3, "3 predictions have no ground truth", "c, x1, x2", "--allow-missing")
    assert r.out == ""
    (seg.pred / "x1.npy").unlink()
    (seg.pred / "x2.npy").unlink()
    (seg.pred / "c.npy").unlink()
    write_label_png(seg.gt / "only_gt.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt)
    assert_clean_error(r, 3, "1 ground-truth file has no prediction", "only_gt")


def test_allow_missing_evaluates_the_intersection_and_reports_the_rest(cli, seg):
    write_npy(seg.pred / "extra.npy", seg.probs["a"])
    (seg.gt / "c.png").unlink()
    write_label_png(seg.gt / "lonely.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--allow-missing", "-g", "dice>=0")
    assert r.code == 0, r
    doc = r.json()
    assert [im["name"] for im in doc["images"]] == ["a", "b"]
    assert doc["summary"]["count"] == 2
    assert doc["skipped"] == {"missing_gt": ["c", "extra"], "missing_pred": ["lonely"]}
    assert "warning: skipped 2 prediction(s)" in r.err and "1 ground truth file(s)" in r.err
    assert not r.error_lines()


def _corrupt(seg, name="b"):
    bad = seg.pred / f"{name}.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 6, 7), }"
                    + b" " * 40 + b"\n" + b"\x00" * 12)  # a truncated .npy
    return bad


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_corrupt_file_among_good_ones(cli, seg, workers):
    bad = _corrupt(seg)
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--workers", workers)
    assert r.code == 3, r
    doc = json.loads(r.out)  # the report is still written
    assert [im["name"] for im in doc["images"]] == ["a", "c"]
    assert len(doc["errors"]) == 1 and doc["errors"][0]["file"] == str(bad)
    assert str(bad) in doc["errors"][0]["error"]
    lines = r.error_lines()
    assert len(lines) == 1 and str(bad) in lines[0], r
    assert "Traceback" not in r.err
    assert "evaluated 2 image(s), 1 failed" in r.err


def test_a_corrupt_ground_truth_is_named(cli, seg):
    bad = seg.gt / "a.png"
    bad.write_bytes(bad.read_bytes()[:30])
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 3, r
    assert json.loads(r.out)["errors"][0]["file"] == str(bad)
    assert len(r.error_lines()) == 1 and str(bad) in r.error_lines()[0]


def test_skip_errors_leaves_the_verdict_to_the_gates(cli, seg):
    bad = _corrupt(seg)
    ok = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors", "-g", "dice>=0")
    assert ok.code == 0, ok
    assert not ok.error_lines()
    assert any(line.startswith("warning:") and str(bad) in line for line in ok.err.splitlines())
    assert [im["name"] for im in ok.json()["images"]] == ["a", "c"]
    assert len(ok.json()["errors"]) == 1
    failing = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors", "-g", "dice>=0.999")
    assert failing.code == 1, failing
    no_gate = cli("seg", seg.pred, seg.gt, "--skip-errors")
    assert no_gate.code == 0, no_gate
    # without --skip-errors the input error wins over a failed gate
    assert cli("seg", seg.pred, seg.gt, "-g", "dice>=0.999").code == 3


def test_skip_errors_with_nothing_evaluated_is_still_an_input_error(cli, seg):
    for name in seg.names:
        _corrupt(seg, name)
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors")
    assert r.code == 3, r


def test_loss_on_label_predictions_needs_probabilities(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-f", "json", "--loss", "ce")
    assert r.code == 3, r
    lines = r.error_lines()
    assert len(lines) == 3 and all("ce needs probabilities" in line for line in lines), r
    assert json.loads(r.out)["images"] == []


def test_probabilities_outside_0_1_suggest_pred_kind_logits(cli, seg, tmp_path):
    logits = write_npy(tmp_path / "logits" / "a.npy", (seg.logits["a"] * 3).astype(np.float32))
    gt = seg.gt / "a.png"
    r = cli("seg", logits, gt)
    assert_clean_error(r, 3, str(logits), "--pred-kind logits")
    assert cli("seg", logits, gt, "--pred-kind", "logits").code == 0


def test_channels_last_array_without_the_flag(cli, seg, tmp_path):
    hwc = write_npy(tmp_path / "hwc" / "a.npy", np.moveaxis(seg.probs["a"], 0, -1).copy())
    r = cli("seg", hwc, seg.gt / "a.png")
    assert_clean_error(r, 3, str(hwc), "--channels-last")
    # the flag on a channels-first array is refused too, with the expected shape
    r = cli("seg", seg.pred / "a.npy", seg.gt / "a.png", "--channels-last")
    assert_clean_error(r, 3, "--channels-last")


def test_more_labels_than_num_classes(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "--num-classes", "2")
    assert r.code == 3, r
    assert any("--num-classes" in line for line in r.error_lines())


def test_swapped_pred_and_gt_are_explained(cli, seg):
    r = cli("seg", seg.gt / "a.png", seg.pred / "a.npy")
    assert_clean_error(r, 3, "swapped")


# ----------------------------------------------------------------------------------------------------------
# cls errors
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention, loss", [("sklearn", "label_smoothing_ce"), ("monai", "sparse_cce"),
                                              ("smp", "cce"), ("torch", "focal")])
def test_cls_loss_not_in_the_convention(cli, cls_data, convention, loss):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--convention", convention, "-l", loss)
    assert_clean_error(r, 2, f"--convention {convention}")


def test_cls_weights_of_the_wrong_length(cli, cls_data, tmp_path):
    w = tmp_path / "weights.csv"
    np.savetxt(w, np.ones(cls_data["n"] - 1))
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--weights", w)
    assert_clean_error(r, 3, str(w), "weights")


def test_cls_logits_without_pred_kind(cli, cls_data):
    r = cli("cls", cls_data["logits_npy"], cls_data["target_npy"])
    assert_clean_error(r, 3, str(cls_data["logits_npy"]), "--pred-kind")


def test_cls_sample_count_mismatch(cli, cls_data, tmp_path):
    short = write_npy(tmp_path / "short.npy", cls_data["y"][:-2])
    assert_clean_error(cli("cls", cls_data["probs_npy"], short), 3, str(short))


def test_cls_bad_csv_cell_is_located(cli, cls_data, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("p0,p1,p2\n0.2,0.3,0.5\n0.1,oops,0.9\n")
    assert_clean_error(cli("cls", bad, cls_data["target_npy"]), 3, str(bad), "row 3, column 2")


def test_cls_missing_file(cli, cls_data, tmp_path):
    assert_clean_error(cli("cls", tmp_path / "nope.npy", cls_data["target_npy"]), 3, "nope.npy")


def test_cls_empty_stdin(cli, cls_data):
    assert_clean_error(cli("cls", "-", cls_data["target_npy"], stdin=b""), 3, "<stdin>")


# ----------------------------------------------------------------------------------------------------------
# end to end: no traceback, ever
# ----------------------------------------------------------------------------------------------------------


def test_errors_in_a_real_process_print_no_traceback(seg, tmp_path):
    bad = _corrupt(seg)
    runs = {
        3: run_subprocess("seg", seg.pred, seg.gt, "-f", "json"),
        2: run_subprocess("seg", seg.pred, seg.gt, "--format", "xml"),
    }
    for code, p in runs.items():
        err = p.stderr.decode("utf-8")
        assert p.returncode == code, err
        assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in runs[3].stderr.decode("utf-8").splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert [im["name"] for im in json.loads(runs[3].stdout)["images"]] == ["a", "c"]


# ----------------------------------------------------------------------------------------------------------
# regressions: bugs found while writing these tests
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("args", [("--param", "dice_loss.smooth=nan"), ("--smooth", "inf")])
def test_non_finite_seg_parameter_is_a_usage_error(cli, seg, args):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "-f", "json", *args), 2)


def test_non_finite_cls_parameter_is_a_usage_error(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "-l", "focal", "--gamma", "nan")
    assert_clean_error(r, 2)


def test_output_in_a_missing_folder_is_a_clean_error(cli, seg, tmp_path):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", tmp_path / "no_such_dir" / "out.json")
    assert_clean_error(r, 2, "no_such_dir")


def test_p100_gate_is_the_maximum(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-g", "p100(dice)>=0")
    assert r.code == 0, r
    doc = r.json()
    assert doc["gates"][0]["value"] == pytest.approx(max(im["values"]["dice"] for im in doc["images"]))


def test_gate_on_a_loss_with_label_predictions_is_an_error(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-g", "ce<=0.5")
    assert r.code in (2, 3), r
    assert any("ce" in line for line in r.error_lines()), r
