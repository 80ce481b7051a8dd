"""lossctl.engine.gates: the gate grammar, the value a gate reads (the statistic of the reported values), and the
validation that refuses, before any work, a gate the run cannot answer (exit 2).

Baseline gates' values (``delta``, ``rel``, ``worse``) are in tests/engine/test_compare.py, gates given to shards
and to ``merge`` in tests/engine/test_shards.py, the values of ``cls`` gates in tests/cli/test_cls_command.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import CLASSES, assert_clean_error, strict_json

from lossctl.engine.gates import parse_gate, unique_gates
from lossctl.errors import UsageError


# ----------------------------------------------------------------------------------------------------------
# Grammar
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, against, stat, name, cls, margin", [
    ("delta(dice)>=-0.01", "delta", "mean", "dice", None, None),
    ("delta(pooled(iou[road])) >= -0.02", "delta", "pooled", "iou", "road", None),
    ("rel(dice)>=-0.02", "rel", "mean", "dice", None, None),
    ("rel(p05(dice[1]))>-0.1", "rel", "p05", "dice", "1", None),
    ("worse(dice,0.05)<=3", "worse", "image", "dice", None, 0.05),
    ("worse( ce [car] , 0 ) < 1", "worse", "image", "ce", "car", 0.0),
])
def test_baseline_gate_forms_parse(text, against, stat, name, cls, margin):
    g = parse_gate(text)
    assert (g.against, g.statistic, g.name, g.cls, g.margin) == (against, stat, name, cls, margin)


@pytest.mark.parametrize("text", ["delta(dice>=0", "worse(dice)<=3", "worse(dice,-0.1)<=3", "delta()>=0",
                                  "rel(dice,0.1)>=0", "worse(pooled(dice),0.1)<=1", "delta(dice)=>0"])
def test_malformed_baseline_gates_are_usage_errors(text):
    with pytest.raises(UsageError, match="malformed gate"):  # the Python API names the argument
        parse_gate(text)


def test_one_gate_whatever_its_spelling():
    gates = [parse_gate(t) for t in ("dice>=0.8", "mean(dice) >= 0.80", "delta(dice)>=0", "dice>=0.9")]
    assert [g.text for g in unique_gates(gates)] == ["dice>=0.8", "delta(dice)>=0", "dice>=0.9"]


# ----------------------------------------------------------------------------------------------------------
# Values: each gate is the statistic of the reported values
# ----------------------------------------------------------------------------------------------------------


def test_passing_gates_exit_0_and_a_failing_gate_exits_1(cli, seg):
    ok = cli("seg", seg.pred, seg.gt, "-f", "json", "-g", "dice>=0.1", "-g", "ce<=100")
    assert ok.code == 0, ok
    assert [g["passed"] for g in ok.json()["gates"]] == [True, True]
    bad = cli("seg", seg.pred, seg.gt, "-f", "json", "-g", "dice>=0.1", "-g", "dice>=0.999")
    assert bad.code == 1, bad
    gates = bad.json()["gates"]
    assert [g["passed"] for g in gates] == [True, False]
    assert gates[1]["value"] == pytest.approx(bad.json()["summary"]["mean"]["dice"])
    assert "gates: 1 passed, 1 failed" in bad.err


def _per_image(doc, name, idx=None):
    if idx is None:
        return np.array([im["values"][name] for im in doc["images"]], dtype=float)
    return np.array([im["per_class"][name][idx] for im in doc["images"]], dtype=float)


GATE_CASES = [
    ("dice>=0", lambda d: d["summary"]["mean"]["dice"]),
    ("mean(iou)>=0", lambda d: _per_image(d, "iou").mean()),
    ("min(dice)>=0", lambda d: _per_image(d, "dice").min()),
    ("max(ce)>=0", lambda d: _per_image(d, "ce").max()),
    ("median(accuracy)>=0", lambda d: np.median(_per_image(d, "accuracy"))),
    ("std(dice)>=0", lambda d: _per_image(d, "dice").std()),
    ("p05(dice)>=0", lambda d: np.percentile(_per_image(d, "dice"), 5)),
    ("p50(lovasz)>=0", lambda d: np.percentile(_per_image(d, "lovasz"), 50)),
    ("p90 ( iou ) >= 0", lambda d: np.percentile(_per_image(d, "iou"), 90)),
    ("pooled(dice)>=0", lambda d: d["summary"]["pooled"]["dice"]),
    ("pooled(iou[2])>=0", lambda d: d["summary"]["per_class"]["pooled"]["iou"][2]),
    ("pooled(iou[road])>=0", lambda d: d["summary"]["per_class"]["pooled"]["iou"][1]),
    ("dice[1]>=0", lambda d: _per_image(d, "dice", 1).mean()),
    ("dice[building]>=0", lambda d: _per_image(d, "dice", 2).mean()),
    ("min(recall[road])>=0", lambda d: _per_image(d, "recall", 1).min()),
    ("p25(dice_loss[0])>=0", lambda d: np.percentile(_per_image(d, "dice_loss", 0), 25)),
]


@pytest.mark.parametrize("gate, expected", GATE_CASES, ids=[g for g, _ in GATE_CASES])
def test_gate_value_equals_the_statistic_of_the_reported_values(cli, seg, gate, expected):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--class-names", "bg,road,building", "-g", gate)
    assert r.code == 0, r
    doc = strict_json(r.out)
    [result] = doc["gates"]
    assert result["gate"] == gate and result["passed"] is True
    assert result["value"] == pytest.approx(float(expected(doc)), rel=1e-12, abs=1e-15)


def test_gate_by_class_name_and_by_index_agree(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--class-names", "bg,road,building",
            "-g", "min(dice[road])>0", "-g", "min(dice[1])>0", "-g", "pooled(iou[building])>0",
            "-g", "pooled(iou[2])>0")
    assert r.code == 0, r
    g = r.json()["gates"]
    assert g[0]["value"] == g[1]["value"] and g[2]["value"] == g[3]["value"]
    assert g[0]["statistic"] == "min" and g[2]["statistic"] == "pooled"


def test_p100_gate_is_the_maximum(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-g", "p100(dice)>=0")
    assert r.code == 0, r
    doc = r.json()
    assert doc["gates"][0]["value"] == pytest.approx(max(im["values"]["dice"] for im in doc["images"]))


# ----------------------------------------------------------------------------------------------------------
# Validation: a gate that cannot be answered is a usage error, before any work
# ----------------------------------------------------------------------------------------------------------


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


def test_gate_on_a_loss_with_label_predictions_is_an_error(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-g", "ce<=0.5")
    assert r.code in (2, 3), r
    assert any("ce" in line for line in r.error_lines()), r


def test_gate_on_a_class_that_does_not_exist(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-g", "dice[7]>=0.5")
    assert r.code == 2 and "no class 7" in r.err


@pytest.mark.parametrize("gate, fragment", [
    ("sparse_cce[1]<=10", "no per-class values"),
    ("pooled(sparse_cce)<=10", "pooled() exists for metrics only"),
])
def test_cls_gates_that_cannot_be_answered_are_usage_errors(cli, cls_data, gate, fragment):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-g", gate)
    assert r.code == 2 and fragment in r.err


def test_cls_metric_statistics_over_samples_are_refused(cli, cls_data):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-g", "min(accuracy)>=0")
    assert r.code == 2 and "one value over all samples" in r.err


def test_merge_time_gates_are_validated(cli, seg, tmp_path):
    part = tmp_path / "p.json"
    assert cli("seg", seg.labels, seg.gt, "-f", "json", "-o", part).code == 0
    r = cli("merge", part, "-g", "pooled(ce)<=1")
    assert r.code == 2 and "ce" in r.err


def test_baseline_gate_on_a_value_the_baseline_lacks_is_a_usage_error(runs, cli):
    s = runs["set"]  # the baseline holds label predictions: no losses
    r = cli("seg", s.pred, s.gt, "--class-names", CLASSES, "--baseline", runs["base"], "--gate", "delta(ce)<=0")
    assert r.code == 2 and "the baseline report has no ce" in r.err, r


def test_baseline_gate_without_baseline_is_a_usage_error(runs, cli):
    r = cli("seg", runs["worse"], runs["set"].gt, "--gate", "delta(dice)>=0")
    assert r.code == 2 and "--baseline" in r.err, r
