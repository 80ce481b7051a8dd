"""The instance values through the command line and the engine (docs/instances.md): end to end against the
panoptica, HoVer-Net and BraTS 2023 goldens (tests/golden/instances_*.json, lesions_brats.json), the properties
(relabelling changes nothing, a perfect prediction scores 1), merge of shards, and the bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import cli  # noqa: F401

from lossctl.errors import EXIT_OK, EXIT_USAGE

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PANOPTICA = {"tp": "inst_tp", "prec": "inst_precision", "rec": "inst_recall", "rq": "rq", "sq": "sq",
             "sq_dsc": "sq_dice", "pq": "pq", "pq_dsc": "pq_dice", "sq_hd95": "sq_hd95", "sq_assd": "sq_assd",
             "sq_nsd": "sq_nsd"}


def _cases(name: str) -> list[dict[str, Any]]:
    return json.loads((GOLDEN / f"{name}.json").read_text())["cases"]


def _pair(tmp_path: Path, npz: str, case: str) -> tuple[Path, Path]:
    arrays = np.load(GOLDEN / npz)
    (tmp_path / "p").mkdir(exist_ok=True)
    (tmp_path / "g").mkdir(exist_ok=True)
    np.save(tmp_path / "p" / "a.npy", arrays[f"{case}/pred"])
    np.save(tmp_path / "g" / "a.npy", arrays[f"{case}/gt"])
    return tmp_path / "p" / "a.npy", tmp_path / "g" / "a.npy"


def _approx(got: Any, want: Any) -> bool:
    """Equal to 1e-9, or both undefined (null, NaN, or infinite: JSON holds no infinity)."""
    undefined = want is None or (isinstance(want, float) and not np.isfinite(want)) or isinstance(want, str)
    return (got is None and undefined) or (got is not None and not undefined and got == pytest.approx(want, rel=1e-9))


@pytest.mark.parametrize("case", [c for c in _cases("instances_panoptica") if c["kind"] == "semantic"],
                         ids=lambda c: c["id"])
def test_panoptica_through_the_cli(cli, tmp_path, case):  # noqa: F811
    pred, gt = _pair(tmp_path, "instances_inputs.npz", case["id"])
    runs = [r for r in case["runs"] if not r["strict"]]  # panoptica's own test is >=
    assert runs
    for run in runs:
        r = cli("seg", pred, gt, "--instances", "cc", "--convention", "panoptica", "--match", run["matcher"],
                "--match-metric", run["metric"], "--match-threshold", str(run["threshold"]), "--num-classes", "2",
                "--spacing", ",".join(map(str, case["spacing"])), "-f", "json",
                *[a for n in PANOPTICA.values() for a in ("-m", n)])
        assert r.code == EXIT_OK, r
        values = r.json()["images"][0]["values"]
        for key, name in PANOPTICA.items():
            if key in run["values"]:
                assert _approx(values[name], run["values"][key]), (case["id"], run["matcher"], name)


@pytest.mark.parametrize("case", [c for c in _cases("instances_hovernet") if c["kind"] == "labels"],
                         ids=lambda c: c["id"])
def test_hovernet_through_the_cli(cli, tmp_path, case):  # noqa: F811
    pred, gt = _pair(tmp_path, "instances_inputs.npz", case["id"])
    run = case["runs"][0]
    for threshold in ("0.5", "0.3"):
        r = cli("seg", pred, gt, "--instances", "labels", "--convention", "hovernet", "--match-threshold", threshold,
                "-m", "rq", "-m", "sq", "-m", "pq", "-m", "aji", "-m", "aji_plus", "-f", "json")
        assert r.code == EXIT_OK, r
        values = r.json()["images"][0]["values"]
        want = run[f"pq@{threshold}"]
        for key, name in (("dq", "rq"), ("sq", "sq"), ("pq", "pq")):
            if "error" in want:  # HoVer-Net divides by zero with no instance at all: undefined here
                assert values[name] is None, name
            else:
                assert _approx(values[name], want[key]), (name, threshold)
        for key, name in (("get_fast_aji", "aji"), ("get_fast_aji_plus", "aji_plus")):
            if isinstance(run[key], dict):  # HoVer-Net raises (an empty prediction): 0 or undefined here
                assert values[name] in (0.0, None), name
            else:
                assert _approx(values[name], run[key]), name


@pytest.mark.parametrize("case", _cases("lesions_brats"), ids=lambda c: c["id"])
def test_brats_through_the_cli(cli, tmp_path, case):  # noqa: F811
    pred, gt = _pair(tmp_path, "lesions_inputs.npz", case["id"])
    for run in case["runs"]:
        r = cli("seg", pred, gt, "--instances", "cc", "--convention", "brats", "--num-classes", "4",
                "--region", "WT=1,2,3", "--region", "TC=1,3", "--region", "ET=3", "-p", f"lesion_dice.task={run['task']}",
                "--spacing", ",".join(map(str, case["spacing"])), "-f", "json",
                "-m", "lesion_dice", "-m", "lesion_hd95", "-m", "inst_tp", "-m", "inst_fp", "-m", "inst_fn")
        assert r.code == EXIT_OK, r
        doc = r.json()
        names = doc["config"]["per_class_names"]
        per_class = doc["images"][0]["per_class"]
        for region, want in run["regions"].items():
            at = names.index(region)
            assert per_class["lesion_dice"][at] == pytest.approx(want["LesionWise_Score_Dice"], rel=1e-9)
            assert per_class["lesion_hd95"][at] == pytest.approx(want["LesionWise_Score_HD95"], rel=1e-9)
            assert (per_class["inst_tp"][at], per_class["inst_fp"][at], per_class["inst_fn"][at]) == (
                int(want["Num_TP"]), int(want["Num_FP"]), int(want["Num_FN"]))


def _write(folder: Path, name: str, a: np.ndarray) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{name}.npy", a)
    return folder / f"{name}.npy"


def _labels(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = np.zeros((40, 40), np.int64)
    for k in range(1, 9):
        y, x = rng.integers(0, 34, 2)
        a[y:y + rng.integers(2, 6), x:x + rng.integers(2, 6)] = k
    return a


def test_relabelling_instances_changes_nothing_and_a_perfect_prediction_scores_one(cli, tmp_path):  # noqa: F811
    gt, pred = _labels(1), _labels(2)
    shuffled = np.zeros_like(pred)
    for k, new in zip(range(1, 9), [5, 70000, 3, 2**31 - 5, 9, 11, 400, 8], strict=True):
        shuffled[pred == k] = new
    values = []
    for p in (pred, shuffled):
        _write(tmp_path / str(len(values)) / "p", "a", p)
        _write(tmp_path / str(len(values)) / "g", "a", gt)
        r = cli("seg", tmp_path / str(len(values)) / "p", tmp_path / str(len(values)) / "g", "--instances", "labels",
                "-m", "rq", "-m", "sq", "-m", "pq", "-m", "aji", "-m", "aji_plus", "--match", "hungarian", "-f", "json")
        assert r.code == EXIT_OK, r
        values.append(r.json()["images"][0]["values"])
    assert values[0] == values[1]
    _write(tmp_path / "same" / "p", "a", gt)
    _write(tmp_path / "same" / "g", "a", gt)
    for match in ("greedy", "hungarian", "merge"):
        r = cli("seg", tmp_path / "same" / "p", tmp_path / "same" / "g", "--instances", "cc", "--match", match,
                "-m", "rq", "-m", "sq", "-m", "pq", "-m", "inst_fp", "-m", "inst_fn", "-f", "json")
        v = r.json()["images"][0]["values"]
        assert (v["rq"], v["sq"], v["pq"], v["inst_fp"], v["inst_fn"]) == (1.0, 1.0, 1.0, 0, 0), match


def test_rows_pooled_and_shards_merge_byte_identical(cli, tmp_path):  # noqa: F811
    for i in range(3):
        _write(tmp_path / "p", f"im{i}", (_labels(10 + i) > 0).astype(np.uint8) * (1 + i % 2))
        _write(tmp_path / "g", f"im{i}", (_labels(20 + i) > 0).astype(np.uint8) * (1 + i % 2))
    args = ["--instances", "cc", "-m", "pq", "-m", "inst_tp", "-m", "inst_fp", "-m", "inst_fn", "-m", "sq_hd95",
            "-m", "rq", "--size-bins", "10,20", "--num-classes", "3", "-g", "pooled(rq)>=0", "-f", "json"]
    whole = cli("seg", tmp_path / "p", tmp_path / "g", *args, "-o", tmp_path / "whole.json")
    assert whole.code == EXIT_OK, whole
    for k in (1, 2):
        assert cli("seg", tmp_path / "p", tmp_path / "g", *args, "--shard", f"{k}/2",
                   "-o", tmp_path / f"s{k}.json").code == EXIT_OK
    merged = cli("merge", tmp_path / "s1.json", tmp_path / "s2.json", "-f", "json", "-o", tmp_path / "m.json")
    assert merged.code == EXIT_OK, merged
    assert (tmp_path / "whole.json").read_bytes() == (tmp_path / "m.json").read_bytes()
    doc = json.loads((tmp_path / "whole.json").read_text())
    rows = [doc["images"][i]["instances"] for i in range(3)]
    tp = sum(1 for r in rows for cls in r.values() for g in cls["gt"] if g["matched"])
    fp = sum(len(cls["unmatched_pred"]) for r in rows for cls in r.values())
    assert doc["summary"]["pooled"]["inst_tp"] == tp and doc["summary"]["pooled"]["inst_fp"] == fp
    assert isinstance(doc["images"][0]["values"]["inst_tp"], int)
    bins = doc["summary"]["recall_by_size"]["1"]
    assert [b["low"] for b in bins] == [0.0, 10.0, 20.0]
    assert sum(b["instances"] for b in bins) == sum(len(r["1"]["gt"]) for r in rows if "1" in r)


@pytest.mark.parametrize("args, message", [
    (("-m", "pq"), "error: pq needs instances: add --instances cc"),
    (("-m", "pq", "--instances", "cc", "--connectivity", "4"), "error: --connectivity 4 is not a rank"),
    (("-m", "pq", "--instances", "cc", "--match-threshold", "1.5"), "error: --match-threshold 1.5 is not a score"),
    (("-m", "lesion_dice", "--instances", "cc", "-p", "lesion_dice.task=XYZ"), "choose from GLI, SSA, PED, MEN, MET"),
    (("-m", "pq", "--instances", "labels", "--pred-kind", "probs"), "error: --instances labels reads maps of "
                                                                    "instance ids, not probs"),
    (("-m", "pq", "--convention", "hovernet", "--instances", "labels", "--match", "merge"), "the threshold decides"),
    (("-m", "lesion_dice", "--instances", "cc", "-p", "lesion_dice.task=MET", "-p", "lesion_hd95.dilation=2"),
     "sets dilation"),
])
def test_bad_instance_settings_are_usage_errors(cli, tmp_path, args, message):  # noqa: F811
    _write(tmp_path / "p", "a", np.ones((4, 4), np.uint8))
    _write(tmp_path / "g", "a", np.ones((4, 4), np.uint8))
    r = cli("seg", tmp_path / "p", tmp_path / "g", *args)
    assert r.code == EXIT_USAGE and message in r.err and r.err.count("\n") == 1, r


def test_labels_on_a_float_map_fails_that_pair_only(cli, tmp_path):  # noqa: F811
    _write(tmp_path / "p", "a", np.ones((4, 4), np.float32) * 0.7)
    _write(tmp_path / "p", "b", np.ones((4, 4), np.uint16))
    _write(tmp_path / "g", "a", np.ones((4, 4), np.uint16))
    _write(tmp_path / "g", "b", np.ones((4, 4), np.uint16))
    r = cli("seg", tmp_path / "p", tmp_path / "g", "--instances", "labels", "-m", "pq", "-f", "json")
    doc = r.json()
    assert [e["name"] for e in doc["errors"]] == ["a"] and "integer instance ids" in doc["errors"][0]["error"]
    assert doc["images"][0]["values"]["pq"] == 1.0
