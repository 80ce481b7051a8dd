"""The bad-input matrix of ``lossctl cls``: every way its inputs or options can be wrong, through the real CLI.

Each test checks the documented exit code (2 usage error, 3 input error), an ``error:`` line naming the offender
(the file, the option or its value) and no traceback (:func:`support.assert_clean_error`). Gates that cannot be
answered are in tests/engine/test_gates.py, refused output paths in tests/cli/test_output.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import assert_clean_error, write_npy

from lossctl import registry


def test_unknown_cls_loss_lists_the_valid_names(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-l", "ce")
    assert_clean_error(r, 2, "'ce'")
    for name in registry.names("cls"):
        assert name in r.error_lines()[0]


def test_non_finite_cls_parameter_is_a_usage_error(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "-l", "focal", "--gamma", "nan")
    assert_clean_error(r, 2)


def test_cls_both_inputs_from_stdin_is_refused(cli):
    assert_clean_error(cli("cls", "-", "-", stdin=b"0.5\n"), 2, "stdin")


@pytest.mark.parametrize("convention, loss", [("sklearn", "label_smoothing_ce"), ("monai", "sparse_cce"),
                                              ("smp", "cce"), ("torch", "focal")])
def test_cls_loss_not_in_the_convention(cli, cls_data, convention, loss):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--convention", convention, "-l", loss)
    assert_clean_error(r, 2, f"--convention {convention}")


@pytest.mark.parametrize("weights", ["nan,1,1", "inf,1,1", "-1,1,1", "0,0,0"])
def test_bad_class_weights_are_usage_errors(cli, cls_data, weights):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--class-weights", weights, "-f", "json")
    assert r.code == 2 and "--class-weights" in r.err and "Traceback" not in r.err


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


def test_a_target_kind_that_does_not_fit_is_refused_with_the_option_named(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--target-kind", "onehot")
    assert r.code == 3 and "target kind onehot needs (N, C) targets" in r.err and "--target-kind" in r.err, r
