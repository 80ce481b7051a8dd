"""lossctl.inputs.cls: classification inputs as ``prepare_inputs`` reads them (the kind of the predictions,
signed and ignored targets)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lossctl.errors import InputError
from lossctl.inputs.cls import prepare_inputs
from lossctl.losses import classification as cls

LN = math.log


def test_prepare_never_guesses_logits():
    with pytest.raises(InputError, match="as logits") as refused:
        prepare_inputs(np.array([2.0, -1.0]), np.array([1, 0]), None, "auto")
    assert refused.value.option == "pred_kind" and "--" not in str(refused.value)  # the CLI names its option
    x = prepare_inputs(np.array([0.2, 0.7]), np.array([1.0, 0.0]), None, "auto")
    assert x.kind == "probs" and x.target.dtype == np.int64


def test_minus_one_plus_one_targets_are_read_as_zero_one():
    x = prepare_inputs(np.array([0.9, 0.2, 0.7]), np.array([1, -1, 1]), None, "probs")
    assert x.target.tolist() == [1, 0, 1]
    assert cls.bce(x)[0] == pytest.approx(-(LN(0.9) + LN(0.8) + LN(0.7)) / 3)


def test_signed_targets_with_an_ignore_value(cli, tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.9, 0.2, 0.7, 0.5]))
    np.save(tmp_path / "t.npy", np.array([1, -1, 1, -100]))
    r = cli("cls", tmp_path / "p.npy", tmp_path / "t.npy", "-l", "bce", "--ignore-index", "-100", "-f", "json")
    assert r.code == 0, r
    assert r.json()["summary"]["mean"]["bce"] == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.7)) / 3)
    np.save(tmp_path / "t2.npy", np.array([1, -1, 1, -1]))
    r2 = cli("cls", tmp_path / "p.npy", tmp_path / "t2.npy", "-l", "bce", "--ignore-index", "0")
    assert r2.code == 2 and "collides" in r2.err
