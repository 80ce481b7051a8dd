"""scikit-learn's ``labels`` under ``--convention sklearn`` (issue 17, item 7): a class count the user gives
(``--num-classes``, ``--class-names``, ``--dataset-json``) means ``labels=range(C)``, so ``zero_division`` scores a
class absent from both masks; without one, ``labels=None`` (the labels present). The numbers against the library
are in ``test_golden_sklearn_average.py``; here: what the command line records and refuses.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from lossctl.engine.seg_config import SegConfig
from lossctl import registry
from support import write_label_png


@pytest.fixture
def three_of_five(tmp_path):
    """Two images holding classes 0..2 of a five-class task: classes 3 and 4 are absent from both masks."""
    rng = np.random.default_rng(4)
    for name in ("a", "b"):
        gt = rng.integers(0, 3, (8, 9))
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 3, gt.shape))
        write_label_png(tmp_path / "gt" / f"{name}.png", gt)
        write_label_png(tmp_path / "pred" / f"{name}.png", pred)
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {n: i for i, n in enumerate("vwxyz")}}))
    return tmp_path


def _dice(cli, root, *args):
    r = cli("seg", root / "pred", root / "gt", "--convention", "sklearn", "-m", "dice", "-f", "json", *args)
    assert r.code == 0, r
    return r.json()


@pytest.mark.parametrize("count", [("--num-classes", "5"), ("--class-names", "v,w,x,y,z"),
                                   ("--dataset-json", "dataset.json")])
def test_a_given_class_count_makes_zero_division_matter(cli, three_of_five, count):
    flag, value = count
    value = str(three_of_five / value) if flag == "--dataset-json" else value
    zero = _dice(cli, three_of_five, flag, value, "-p", "dice.zero_division=0")
    one = _dice(cli, three_of_five, flag, value, "-p", "dice.zero_division=1")
    assert zero["config"]["params"]["dice"] == {"zero_division": "0", "labels": "all"}
    for z, o in zip(zero["images"], one["images"], strict=True):
        present = np.array(z["per_class"]["dice"][:3])
        assert z["per_class"]["dice"][3:] == [0.0, 0.0] and o["per_class"]["dice"][3:] == [1.0, 1.0]
        assert z["values"]["dice"] == pytest.approx(present.sum() / 5)  # labels=range(5): the two absent count 0
        assert o["values"]["dice"] == pytest.approx((present.sum() + 2) / 5)  # ... or 1


def test_without_a_class_count_the_labels_present(cli, three_of_five):
    zero = _dice(cli, three_of_five, "-p", "dice.zero_division=0")
    one = _dice(cli, three_of_five, "-p", "dice.zero_division=1")
    assert zero["config"]["params"]["dice"] == {"zero_division": "0", "labels": "present"}
    assert zero["images"] == one["images"]  # no 0/0 among the present labels' dice
    named = _dice(cli, three_of_five, "--num-classes", "5", "-p", "dice.labels=present", "-p", "dice.zero_division=1")
    assert named["config"]["params"]["dice"] == {"zero_division": "1", "labels": "present"}
    assert [r["values"] for r in named["images"]] == [r["values"] for r in one["images"]]


def test_labels_is_a_choice_of_sklearn_only(cli, three_of_five):
    r = cli("seg", three_of_five / "pred", three_of_five / "gt", "--convention", "sklearn", "-p", "dice.labels=range")
    assert r.code == 2 and r.error_lines() == [
        "error: --param 'dice.labels=range': dice.labels = 'range': choose from present, all"], r
    r = cli("seg", three_of_five / "pred", three_of_five / "gt", "-p", "dice.labels=all")
    assert r.code == 2 and r.error_lines() == ["error: dice has no parameter 'labels'; its parameters: empty"], r


def test_the_default_follows_the_class_count():
    dice = registry.get("seg", "dice")
    assert SegConfig(convention="sklearn").params_for(dice)["labels"] == "present"
    assert SegConfig(convention="sklearn", num_classes=4).params_for(dice)["labels"] == "all"
    assert SegConfig(convention="sklearn", num_classes=4,
                     params={"dice": {"labels": "present"}}).params_for(dice)["labels"] == "present"
    assert "labels" not in SegConfig(num_classes=4).params_for(dice)
