"""No gate passes on nothing (issue 17, item 5): a gate evaluated over zero images fails (exit 1) with one line that
says why, under ``seg``, ``cls``, ``merge`` and ``compare``; ``--baseline-match`` pairs a folder run with a
``--pairs`` run; a baseline that pairs with fewer images than the run has is counted and named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from support import write_label_png, write_npy

from lossctl.engine.compare import PairedValues, pairing_keys
from lossctl.engine.gates import Baseline, check_gates, parse_gate, row_series
from lossctl.errors import EXIT_GATE_FAILED, EXIT_INPUT, EXIT_OK, EXIT_USAGE, UsageError


def _images(root: Path, names=("img_000", "img_001", "img_002"), seed: int = 0) -> Path:
    """a/gt and a/pred: 3-class label PNGs, the prediction right on about 80% of the pixels."""
    rng = np.random.default_rng(seed)
    for name in names:
        gt = rng.integers(0, 3, (8, 8)).astype(np.uint8)
        gt.flat[:3] = (0, 1, 2)
        pred = gt.copy()
        pred[rng.uniform(size=gt.shape) < 0.2] = 0
        write_label_png(root / "a/gt" / f"{name}.png", gt)
        write_label_png(root / "a/pred" / f"{name}.png", pred)
    return root


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """The issue's scenario: the baseline of a folder run (images named ``img_000``) and a list of the same pairs
    (a ``--pairs`` run names them ``a/gt/img_000``)."""
    root = _images(tmp_path)
    (root / "pairs.csv").write_text("".join(f"a/pred/img_{i:03d}.png,a/gt/img_{i:03d}.png\n" for i in range(3)))
    return root


def _baseline(cli, root: Path) -> Path:
    base = root / "base.json"
    r = cli("seg", root / "a/pred", root / "a/gt", "-f", "json", "-o", base)
    assert r.code == EXIT_OK, r
    return base


UNPAIRED = ("none of the 3 images of the new report pairs with one of the 3 of --baseline {base} by name "
            "(e.g. 'a/gt/img_000' here, 'img_000' in the baseline); --baseline-match stem would pair 3")


def test_a_worse_gate_over_no_paired_image_fails_and_says_why(cli, folders):
    """The issue's case: before, `worse(dice,0.05)<=1` passed with `"paired": 0`."""
    base = _baseline(cli, folders)
    r = cli("seg", "--pairs", folders / "pairs.csv", "--baseline", base, "-g", "worse(dice,0.05)<=1", "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    reason = UNPAIRED.format(base=base)
    assert f"error: gate 'worse(dice,0.05)<=1' failed: {reason}" in r.err.splitlines()
    assert (f"note: 0 of the 3 images of the new report pair with one of --baseline {base} by name; without a "
            "partner: a/gt/img_000, a/gt/img_001, a/gt/img_002; --baseline-match stem would pair 3"
            ) in r.err.splitlines()
    assert r.err.splitlines()[-1] == "lossctl: evaluated 3 image(s), 0 failed; gates: 0 passed, 1 failed"
    doc = r.json()
    assert doc["gates"] == [{"gate": "worse(dice,0.05)<=1", "statistic": "image", "value": None, "passed": False,
                             "margin": 0.05, "paired": 0, "reason": reason, "vacuous": True}]
    assert doc["config"]["baseline_pairing"] == {
        "match": "name", "paired": 0, "only_in_base": ["img_000", "img_001", "img_002"],
        "only_in_new": ["a/gt/img_000", "a/gt/img_001", "a/gt/img_002"]}


@pytest.mark.parametrize("match", ["stem", "path"])
def test_baseline_match_pairs_a_folder_run_with_a_pairs_run(cli, folders, match):
    base = _baseline(cli, folders)
    r = cli("seg", "--pairs", folders / "pairs.csv", "--baseline", base, "--baseline-match", match,
            "-g", "worse(dice,0.05)<=1", "-f", "json")
    assert r.code == EXIT_OK, r
    gate = r.json()["gates"][0]
    assert (gate["value"], gate["paired"], gate["passed"]) == (0.0, 3, True)
    assert "reason" not in gate and "vacuous" not in gate
    assert r.json()["config"]["baseline_pairing"]["match"] == match
    assert "note:" not in r.err


def test_a_partial_pairing_is_counted_and_named(cli, tmp_path):
    """A baseline that pairs with fewer images than the run has: how many, and the first unpaired ones."""
    _images(tmp_path / "old", names=("img_000", "img_001"))
    _images(tmp_path / "new", names=("img_000", "img_001", "img_002", "img_003", "img_004", "img_005"))
    base = _baseline(cli, tmp_path / "old")
    r = cli("seg", tmp_path / "new/a/pred", tmp_path / "new/a/gt", "--baseline", base, "-g", "worse(dice,0.5)<=0")
    assert r.code == EXIT_OK, r
    assert (f"note: 2 of the 6 images of the new report pair with one of --baseline {base} by name; without a "
            "partner: img_002, img_003, img_004, ... (1 more)") in r.err.splitlines()


def test_compare_fails_a_vacuous_gate_and_pairs_by_stem(cli, folders):
    base = _baseline(cli, folders)
    new = folders / "new.json"
    assert cli("seg", "--pairs", folders / "pairs.csv", "-f", "json", "-o", new).code == EXIT_OK
    r = cli("compare", base, new, "-g", "worse(dice,0.05)<=1", "-f", "json", "--bootstrap", "0")
    assert r.code == EXIT_GATE_FAILED, r
    reason = UNPAIRED.format(base=base).replace("--baseline ", "")
    assert f"error: gate 'worse(dice,0.05)<=1' failed: {reason}" in r.err.splitlines()
    assert r.err.splitlines()[-1] == ("lossctl: compared 0 image(s) in both reports (3 only in base, 3 only in "
                                      "new); gates: 0 passed, 1 failed")
    doc = r.json()
    assert doc["gates"][0]["vacuous"] is True and doc["gates"][0]["reason"] == reason
    assert doc["config"]["match"] == "name" and doc["config"]["paired"] == 0
    assert doc["config"]["notes"] == [f"0 of the 3 images of the new report pair with one of {base} by name; "
                                      "without a partner: a/gt/img_000, a/gt/img_001, a/gt/img_002; "
                                      "--baseline-match stem would pair 3"]
    r = cli("compare", base, new, "-g", "worse(dice,0.05)<=1", "-f", "json", "--bootstrap", "0",
            "--baseline-match", "stem")
    assert r.code == EXIT_OK, r
    doc = r.json()
    assert doc["config"]["paired"] == 3 and doc["only_in_base"] == doc["only_in_new"] == []
    assert doc["config"]["notes"] == [] and doc["gates"][0]["passed"] is True


@pytest.mark.parametrize("fmt, shown", [
    ("junit", "images worse by more than 0.05 (of 0 in both reports); none of the 3 images of the new report pairs"),
    ("markdown", "FAIL**: none of the 3 images of the new report pairs"),
    ("github", "❌ **FAIL**: none of the 3 images of the new report pairs"),
    ("table", "worse(dice,0.05)<=1 failed: none of the 3 images of the new report pairs"),
])
def test_every_writer_shows_why_a_vacuous_gate_failed(cli, folders, fmt, shown):
    base = _baseline(cli, folders)
    new = folders / "new.json"
    assert cli("seg", "--pairs", folders / "pairs.csv", "-f", "json", "-o", new).code == EXIT_OK
    r = cli("compare", base, new, "-g", "worse(dice,0.05)<=1", "-f", fmt, "--bootstrap", "0",
            env={"COLUMNS": "400"})
    assert r.code == EXIT_GATE_FAILED and shown in r.out, r
    r = cli("seg", "--pairs", folders / "pairs.csv", "--baseline", base, "-g", "worse(dice,0.05)<=1", "-f", fmt,
            env={"COLUMNS": "400"})
    seg_shown = shown.replace("FAIL**", "| FAIL") if fmt == "markdown" else shown  # seg's markdown: plain FAIL
    assert r.code == EXIT_GATE_FAILED and seg_shown in r.out, r


def test_a_statistic_gate_over_no_defined_value_fails(cli, tmp_path):
    """Class 2 of a 3-class run is in no image: its dice is undefined everywhere (--empty nan), so every
    statistic of it, pooled included, is over nothing."""
    rng = np.random.default_rng(1)
    for name in ("a", "b"):
        gt = (rng.uniform(size=(6, 7)) > 0.5).astype(np.uint8)
        write_label_png(tmp_path / "gt" / f"{name}.png", gt)
        write_label_png(tmp_path / "pred" / f"{name}.png", gt)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--num-classes", "3", "-g", "dice[2]>=0.5",
            "-g", "p05(dice[2])>=0.1", "-g", "pooled(dice[2])>0", "-g", "dice>=0.5", "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    reason = "no image of the run has dice[2] defined (2 images evaluated)"
    assert r.error_lines() == [f"error: gate 'dice[2]>=0.5' failed: {reason}",
                               f"error: gate 'p05(dice[2])>=0.1' failed: {reason}",
                               f"error: gate 'pooled(dice[2])>0' failed: {reason}"]
    gates = r.json()["gates"]
    assert [g.get("vacuous") for g in gates] == [True, True, True, None]
    assert [g["passed"] for g in gates] == [False, False, False, True]
    base = tmp_path / "base.json"
    base.write_text(r.out)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--num-classes", "3", "--baseline", base,
            "-g", "delta(dice[2])>=0", "-g", "rel(pooled(dice[2]))>=0", "-g", "worse(dice[2],0)<=0",
            "-g", "delta(dice)>=0", "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    assert r.error_lines() == [
        "error: gate 'delta(dice[2])>=0' failed: the baseline and the new report have no image with dice[2] defined",
        "error: gate 'rel(pooled(dice[2]))>=0' failed: the baseline and the new report have no image with dice[2] "
        "defined",
        "error: gate 'worse(dice[2],0)<=0' failed: none of the 2 images in both reports has dice[2] defined in both"]
    assert [g["passed"] for g in r.json()["gates"]] == [False, False, False, True]


def test_merge_fails_a_vacuous_gate(cli, tmp_path):
    rng = np.random.default_rng(2)
    for name in ("a", "b", "c"):
        gt = (rng.uniform(size=(6, 7)) > 0.5).astype(np.uint8)
        write_label_png(tmp_path / "gt" / f"{name}.png", gt)
        write_label_png(tmp_path / "pred" / f"{name}.png", gt)
    shards = []
    for k in (1, 2):
        shards.append(tmp_path / f"part{k}.json")
        r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--num-classes", "3", "--shard", f"{k}/2", "-f", "json",
                "-o", shards[-1])
        assert r.code == EXIT_OK, r
    r = cli("merge", *shards, "-g", "min(dice[2])>=0", "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    assert r.error_lines() == ["error: gate 'min(dice[2])>=0' failed: no image of the run has dice[2] defined "
                               "(3 images evaluated)"]
    assert r.json()["gates"][0]["vacuous"] is True


def test_cls_gates_against_an_empty_baseline_fail(cli, tmp_path):
    """A cls baseline in which every sample was ignored (written, exit 3) gives no value to compare with."""
    write_npy(tmp_path / "p.npy", np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4]]))
    write_npy(tmp_path / "t.npy", np.array([0, 1, 1]))
    write_npy(tmp_path / "void.npy", np.array([-100, -100, -100]))
    base = tmp_path / "base.json"
    r = cli("cls", tmp_path / "p.npy", tmp_path / "void.npy", "--ignore-index", "-100", "-l", "sparse_cce",
            "--per-sample", "-f", "json", "-o", base)
    assert r.code == EXIT_INPUT, r
    r = cli("cls", tmp_path / "p.npy", tmp_path / "t.npy", "-l", "sparse_cce", "--per-sample", "--baseline", base,
            "-g", "delta(sparse_cce)<=0", "-g", "worse(sparse_cce,0)<=0", "-g", "sparse_cce<=5", "-f", "json")
    assert r.code == EXIT_GATE_FAILED, r
    assert r.error_lines() == [
        "error: gate 'delta(sparse_cce)<=0' failed: the baseline has no sample with sparse_cce defined",
        "error: gate 'worse(sparse_cce,0)<=0' failed: none of the 3 samples in both reports has sparse_cce "
        "defined in both"]
    assert [g["passed"] for g in r.json()["gates"]] == [False, False, True]


def test_the_existing_exit_codes_stay(cli, tmp_path, folders):
    """Every image failing to read is exit 3 (no gate line); a class unknown to the run is exit 2."""
    base = _baseline(cli, folders)
    (tmp_path / "bad/pred").mkdir(parents=True)
    (tmp_path / "bad/pred/x.png").write_bytes(b"not a png")
    write_label_png(tmp_path / "bad/gt/x.png", np.zeros((4, 4), dtype=np.uint8))
    r = cli("seg", tmp_path / "bad/pred", tmp_path / "bad/gt", "-g", "dice>=0.5")
    assert r.code == EXIT_INPUT and "gate 'dice>=0.5' failed" not in r.err, r
    r = cli("seg", folders / "a/pred", folders / "a/gt", "--baseline", base, "-g", "delta(dice[7])>=0")
    assert r.code == EXIT_USAGE, r


def test_cls_samples_have_no_path_and_stems_must_be_unique(cli, tmp_path):
    write_npy(tmp_path / "p.npy", np.array([[0.7, 0.3], [0.2, 0.8]]))
    write_npy(tmp_path / "t.npy", np.array([0, 1]))
    base = tmp_path / "base.json"
    assert cli("cls", tmp_path / "p.npy", tmp_path / "t.npy", "--per-sample", "-f", "json", "-o", base).code == 0
    r = cli("cls", tmp_path / "p.npy", tmp_path / "t.npy", "--per-sample", "--baseline", base, "--baseline-match",
            "path", "-g", "delta(accuracy)>=0")
    assert r.code == EXIT_USAGE
    assert r.error_lines() == ["error: --baseline-match path pairs images by their ground-truth file, which the "
                               "baseline does not record (cls samples have none); pair them by name"]
    _images(tmp_path / "x", names=("img_000",))
    write_label_png(tmp_path / "x/a/gt/sub/img_000.png", np.zeros((8, 8), dtype=np.uint8))
    write_label_png(tmp_path / "x/a/pred/sub/img_000.png", np.zeros((8, 8), dtype=np.uint8))
    base = _baseline(cli, tmp_path / "x")
    r = cli("seg", tmp_path / "x/a/pred", tmp_path / "x/a/gt", "--baseline", base, "--baseline-match", "stem",
            "-g", "delta(dice)>=0")
    assert r.code == EXIT_USAGE
    assert r.error_lines() == ["error: the baseline has two images with the stem 'img_000' ('img_000' and "
                               "'sub/img_000'), so --baseline-match stem cannot pair them; pair them by path"]


# -- the engine: check_gates and PairedValues, without files ---------------------------------------------------


def _doc(names, dice, command="seg"):
    rows = [{"name": n, "gt": f"gt/{n}.png", "values": {"dice": d}, "per_class": {}}
            for n, d in zip(names, dice, strict=True)]
    defined = [d for d in dice if d is not None]
    mean = sum(defined) / len(defined) if defined else None
    return {"command": command, "config": {"class_names": []}, "images": rows,
            "summary": {"count": len(rows), "undefined": {"dice": len(dice) - len(defined)}, "mean": {"dice": mean},
                        "pooled": {"dice": mean}, "per_class": {"mean": {}, "pooled": {}}}}


def test_check_gates_reasons():
    new = _doc(["a", "b"], [None, None])
    result, = check_gates([parse_gate("median(dice)>=0")], row_series(new["images"]), new["summary"], ())
    assert result == {"gate": "median(dice)>=0", "statistic": "median", "value": None, "passed": False,
                      "reason": "no image of the run has dice defined (2 images evaluated)", "vacuous": True}
    base = _doc(["a", "b"], [0.0, 0.5])
    new = _doc(["a", "b"], [0.25, 0.75])
    baseline = Baseline(base["summary"], row_series(base["images"]), lambda n, i: np.empty(0))
    result, = check_gates([parse_gate("rel(min(dice))>=0")], row_series(new["images"]), new["summary"], (), baseline,
                          unit="sample", own="the new report")
    assert result["reason"] == "rel() is undefined when the baseline's min(dice) is 0" and "vacuous" not in result
    result, = check_gates([parse_gate("worse(dice,0)<=5")], row_series(new["images"]), new["summary"], (),
                          baseline, unit="sample")
    assert result["reason"] == "none of the 0 samples in both reports has dice defined in both"


def test_paired_values_by_each_rule():
    base = _doc(["img_0", "img_1"], [0.5, 0.6])
    new = _doc(["x/img_1", "x/img_2"], [0.4, 0.7])
    for row in new["images"]:
        row["gt"] = "./" + row["gt"].replace("x/", "")
    assert PairedValues(base, new).paired == 0
    by_stem = PairedValues(base, new, "stem")
    assert by_stem.names.tolist() == ["x/img_1"] and by_stem.only_in_base == ["img_0"]
    assert by_stem.only_in_new == ["x/img_2"]
    names, b, n, w = by_stem.worsening("dice", None)
    assert (b.tolist(), n.tolist()) == ([0.6], [0.4]) and w.tolist() == pytest.approx([0.2])
    assert PairedValues(base, new, "path").paired == 1
    assert pairing_keys(new, "path") == ["gt/img_1.png", "gt/img_2.png"]
    with pytest.raises(UsageError, match="images pair by name, stem, path"):
        pairing_keys(new, "file")


def test_a_baseline_report_written_by_this_version_still_reads(tmp_path):
    """A gate's reason and vacuous are keys a report may hold; the layout compare reads does not change."""
    from lossctl.engine.compare import load_report
    from lossctl.engine.schema import REPORT_SCHEMA

    doc = _doc(["a"], [0.5])
    doc.update({"schema": REPORT_SCHEMA, "lossctl": "0.1.0", "gates": [{"gate": "dice>=0", "value": None, "passed": False,
                                                             "reason": "x", "vacuous": True}]})
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    assert load_report(path)["gates"][0]["vacuous"] is True
