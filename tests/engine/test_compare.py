"""lossctl.engine.compare: ``lossctl compare`` and baseline gates (``--baseline``): deltas and their direction,
the images that got worse, paired bootstrap intervals, worked out by hand or recomputed here with plain NumPy.

Bad baselines are rows of tests/cli/test_merge_compare_bad_input.py; the compare writers are tested in
tests/report/test_compare_writers.py and tests/report/test_terminal.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import C, CLASSES, confusion, dice_per_class, make_seg_set, minimal_document, nanmean, write_cls_inputs

from lossctl.engine import compare
from lossctl.errors import InputError


def _dice(gt, pred):
    return nanmean(dice_per_class(confusion(gt, pred, C)))


# ----------------------------------------------------------------------------------------------------------
# The numbers
# ----------------------------------------------------------------------------------------------------------


def test_compare_hand_derived_deltas_direction_and_only_in():
    base = minimal_document("seg", [("a", {"dice": 0.8, "ce": 0.3}), ("b", {"dice": 0.6, "ce": 0.5}),
                        ("c", {"dice": 0.9, "ce": 0.2}), ("old", {"dice": 0.1, "ce": 0.9})])
    new = minimal_document("seg", [("a", {"dice": 0.7, "ce": 0.4}), ("b", {"dice": 0.65, "ce": 0.45}),
                       ("c", {"dice": 0.5, "ce": 0.1}), ("fresh", {"dice": 1.0, "ce": 0.0})])
    doc = compare.compare_reports(base, new, resamples=500, worst=10)
    dice = doc["values"]["dice"]
    assert dice["base"] == pytest.approx(0.6) and dice["new"] == pytest.approx(0.7125)
    assert dice["delta"] == pytest.approx(0.1125) and dice["rel"] == pytest.approx(0.1125 / 0.6)
    # dice: higher is better, so a and c got worse (c the most); b improved
    assert [(r["name"], round(r["delta"], 12)) for r in doc["worst"]["dice"]] == [("c", -0.4), ("a", -0.1)]
    # ce: lower is better, so only a got worse (0.3 -> 0.4)
    assert [r["name"] for r in doc["worst"]["ce"]] == ["a"]
    assert doc["only_in_base"] == ["old"] and doc["only_in_new"] == ["fresh"]
    lo, hi = dice["ci"]  # paired deltas -0.1, +0.05, -0.4: the interval lies within their range
    assert -0.4 - 1e-12 <= lo <= np.mean([-0.1, 0.05, -0.4]) <= hi <= 0.05 + 1e-12
    assert doc["config"]["paired"] == 3


def test_compare_worst_k_and_undefined_values():
    base = minimal_document("seg", [(f"i{k}", {"dice": 0.9}) for k in range(6)] + [("u", {"dice": None})])
    new = minimal_document("seg", [(f"i{k}", {"dice": 0.9 - 0.1 * k}) for k in range(6)] + [("u", {"dice": 0.5})])
    doc = compare.compare_reports(base, new, worst=2, resamples=10)
    assert [r["name"] for r in doc["worst"]["dice"]] == ["i5", "i4"]
    assert doc["values"]["dice"]["base"] == pytest.approx(0.9)  # the undefined image is left out of the mean


def test_bootstrap_matches_a_loop_over_resamples_and_is_chunked():
    d = np.random.default_rng(5).normal(size=37)
    got = compare.paired_bootstrap_ci(d, 300, seed=11)
    idx = np.random.default_rng(11).integers(0, d.size, size=(300, d.size))
    means = [d[row].mean() for row in idx]  # the reference: one resample at a time
    assert got == pytest.approx(list(np.percentile(means, [2.5, 97.5])), rel=1e-12)
    assert compare.paired_bootstrap_ci(d, 300, seed=11) == got  # deterministic
    assert compare.paired_bootstrap_ci(np.array([]), 300, seed=0) is None
    assert compare.paired_bootstrap_ci(np.array([0.25]), 300, seed=0) == [0.25, 0.25]


def test_bootstrap_memory_is_bounded_by_chunks(monkeypatch):
    """20,000 paired images x 2000 resamples would be 320 MB of indices at once; chunks keep it at 32 MiB."""
    seen = []
    real = np.random.default_rng

    class Spy:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, low, high, size):
            seen.append(size)
            return self.rng.integers(low, high, size=size)

    monkeypatch.setattr(np.random, "default_rng", Spy)
    ci = compare.paired_bootstrap_ci(np.linspace(-1, 1, 20_000), 2000, seed=0)
    assert len(seen) > 1 and all(r * n <= compare.BOOTSTRAP_CHUNK for r, n in seen)
    assert sum(r for r, _ in seen) == 2000 and ci[0] < 0 < ci[1]


def test_compare_cli_numbers_match_the_pictures(runs, cli):
    s = runs["set"]
    r = cli("compare", runs["base"], runs["new"], "-f", "json", "--worst", "1")
    assert r.code == 0, r
    doc = r.json()
    assert list(doc) == ["lossctl", "schema", "command", "config", "values", "pooled", "only_in_base",
                         "only_in_new", "worst", "gates"]
    assert set(doc["values"]["dice"]) == {"base", "new", "delta", "rel", "ci"}
    base = np.mean([_dice(s.gts[n], s.label_pred(n)) for n in s.names])
    new = np.mean([_dice(s.gts[n], runs["preds"][n]) for n in s.names])
    v = doc["values"]["dice"]
    assert v["base"] == pytest.approx(base, rel=1e-12) and v["new"] == pytest.approx(new, rel=1e-12)
    assert v["delta"] == pytest.approx(new - base, rel=1e-9)
    assert [w["name"] for w in doc["worst"]["dice"]] == ["b"]  # a and c did not change
    assert "dice[road]" in doc["values"] and "iou[car]" in doc["pooled"]


def test_compare_json_is_byte_identical_across_runs(runs, cli):
    outs = [cli("compare", runs["base"], runs["new"], "-f", "json", "--gate", "delta(dice)>=-1").out
            for _ in range(2)]
    assert outs[0] == outs[1] and outs[0]
    from support import run_subprocess
    fresh = run_subprocess("compare", runs["base"], runs["new"], "-f", "json", "--gate", "delta(dice)>=-1")
    assert fresh.stdout.decode() == outs[0]


def test_compare_gates_and_exit_codes(runs, cli):
    ok = cli("compare", runs["base"], runs["new"], "--gate", "delta(dice)>=-0.5", "--gate", "worse(dice,0.05)<=1",
             "--gate", "dice>=0.1", "-f", "json")
    assert ok.code == 0, ok
    fail = cli("compare", runs["base"], runs["new"], "--gate", "delta(pooled(iou[road]))>=0", "-f", "json")
    assert fail.code == 1 and fail.json()["gates"][0]["passed"] is False
    assert "gates: 0 passed, 1 failed" in fail.err


def test_load_report_names_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.json"):
        compare.load_report(tmp_path / "missing.json")


# ----------------------------------------------------------------------------------------------------------
# seg / cls --baseline
# ----------------------------------------------------------------------------------------------------------


def test_seg_baseline_gates(runs, cli):
    s = runs["set"]
    r = cli("seg", runs["worse"], s.gt, "--class-names", CLASSES, "--baseline", runs["base"], "-f", "json",
            "--gate", "delta(dice)>=-0.01", "--gate", "dice>=0.1", "--gate", "worse(dice,0.05)<=0",
            "--gate", "rel(dice)>=-0.5", "--gate", "delta(pooled(iou[road]))>=-1")
    doc = r.json()
    assert r.code == 1, r
    gates = {g["gate"]: g for g in doc["gates"]}
    assert list(gates) == ["delta(dice)>=-0.01", "dice>=0.1", "worse(dice,0.05)<=0", "rel(dice)>=-0.5",
                           "delta(pooled(iou[road]))>=-1"]  # the order given
    base = np.mean([_dice(s.gts[n], s.label_pred(n)) for n in s.names])
    new = np.mean([_dice(s.gts[n], runs["preds"][n]) for n in s.names])
    assert gates["delta(dice)>=-0.01"]["value"] == pytest.approx(new - base, rel=1e-9)
    assert gates["delta(dice)>=-0.01"]["base"] == pytest.approx(base, rel=1e-12)
    assert gates["delta(dice)>=-0.01"]["passed"] is False
    assert gates["worse(dice,0.05)<=0"]["value"] == 1 and gates["worse(dice,0.05)<=0"]["paired"] == 3
    assert gates["rel(dice)>=-0.5"]["value"] == pytest.approx((new - base) / base, rel=1e-9)
    assert doc["config"]["baseline"] == str(runs["base"]) and doc["config"]["gates"] == ["dice>=0.1"]


def test_worse_follows_the_direction_of_a_loss(tmp_path, cli):
    s = make_seg_set(tmp_path / "d")
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    assert cli("seg", s.pred, s.gt, "-f", "json", "-o", base, "-l", "ce").code == 0
    sharper = tmp_path / "sharper"  # probabilities moved toward the truth: every ce goes down
    for n in s.names:
        onehot = np.eye(C, dtype=np.float32)[s.gts[n]].transpose(2, 0, 1)
        from support import write_npy
        write_npy(sharper / f"{n}.npy", (0.5 * s.probs[n] + 0.5 * onehot).astype(np.float32))
    assert cli("seg", sharper, s.gt, "-f", "json", "-o", new, "-l", "ce").code == 0
    better = cli("compare", base, new, "--gate", "worse(ce,0)<=0", "--gate", "delta(ce)<=0", "-f", "json")
    assert better.code == 0 and better.json()["worst"]["ce"] == [], better
    reverse = cli("compare", new, base, "--gate", "worse(ce,0)<=0", "-f", "json")
    assert reverse.code == 1 and reverse.json()["gates"][0]["value"] == 3
    assert [w["delta"] > 0 for w in reverse.json()["worst"]["ce"]] == [True] * 3


def test_cls_baseline(tmp_path, cli):
    c = write_cls_inputs(tmp_path / "cls")
    base = tmp_path / "base.json"
    assert cli("cls", c["probs_npy"], c["target_npy"], "-f", "json", "-o", base).code == 0
    r = cli("cls", c["logits_npy"], c["target_npy"], "--pred-kind", "logits", "--baseline", base, "-f", "json",
            "--gate", "delta(sparse_cce)<=1e-9", "--gate", "delta(accuracy)>=0")
    assert r.code == 0, r
    assert abs(r.json()["gates"][0]["value"]) < 1e-9  # the same model, given as logits
    r = cli("cls", c["probs_npy"], c["target_npy"], "--baseline", base, "--gate", "worse(accuracy,0)<=0")
    assert r.code == 2 and "one value over all samples" in r.err, r
    r = cli("cls", c["probs_npy"], c["target_npy"], "--baseline", base, "--gate", "worse(sparse_cce,0)<=0")
    assert r.code == 2 and "--per-sample" in r.err, r


def test_the_baseline_note_names_only_what_differs_in_the_values_both_reports_have():
    base = minimal_document("seg", [("a", {"dice": 0.8, "iou": 0.7, "ce": 0.3})])
    new = minimal_document("seg", [("a", {"dice": 0.8})])
    base["config"].update(convention="lossctl", conventions={"dice": "lossctl", "iou": "lossctl", "ce": "lossctl"},
                          params={"dice": {"empty": "nan"}, "iou": {"empty": "nan"}, "ce": {}})
    new["config"].update(convention="lossctl", conventions={"dice": "lossctl"}, params={"dice": {"empty": "nan"}})
    assert compare.check_compatible(base, new, "BASE") == []  # fewer values selected: no difference
    new["config"].update(conventions={"dice": "monai", "iou": "monai", "ce": "lossctl"},
                         params={"dice": {"ignore_empty": True}, "iou": {"empty": "one"}, "ce": {}})
    assert compare.check_compatible(base, new, "BASE") == [
        'BASE differs in conventions: dice, iou: "lossctl" (base) vs "monai" (new)',
        'BASE differs in params: iou.empty: "nan" (base) vs "one" (new)']
    new["config"].update(convention="monai", ignore_index=[255])
    base["config"]["ignore_index"] = []
    assert compare.check_compatible(base, new, "BASE") == [  # the values that follow the run's convention: one
        'BASE differs in convention: "lossctl" (base) vs "monai" (new)',
        'BASE differs in ignore_index: [] (base) vs [255] (new)',
        'BASE differs in params: iou.empty: "nan" (base) vs "one" (new)']
