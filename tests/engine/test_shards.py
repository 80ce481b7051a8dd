"""lossctl.engine.shards: `--shard K/N` + `lossctl merge` reproduce the single run byte for byte (folders, lists of
pairs, regions and boundary metrics); each shard records K/N; a gate given to the shards and again to merge is
checked once, baseline gates at merge time; merge writes the CI formats and the HTML report too.

Refused shards (missing, repeated, of different runs, malformed) are rows of
tests/cli/test_merge_compare_bad_input.py and tests/cli/test_seg_bad_input.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import GOOD, volume_set, write_list

from lossctl.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def run(argv, capsys):
    sys.argv = ["lossctl", *argv]
    with pytest.raises(SystemExit) as done:
        main()
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


def _label_set(root: Path) -> tuple[Path, Path]:
    """Label maps whose class count differs between images (shard 1 never sees class 5), plus a broken file."""
    rng = np.random.default_rng(7)
    pred, gt = root / "pred", root / "gt"
    pred.mkdir()
    gt.mkdir()
    for i in range(7):
        top = 6 if i == 4 else 3
        Image.fromarray(rng.integers(0, top, (5, 6), dtype=np.uint8)).save(gt / f"im{i}.png")
        Image.fromarray(rng.integers(0, top, (5, 6), dtype=np.uint8)).save(pred / f"im{i}.png")
    (pred / "im2.png").write_bytes(b"not a png")
    return pred, gt


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("dataset", ["sample", "labels"])
def test_merged_shards_equal_the_single_run(tmp_path, capsys, n, dataset):
    pred, gt = (SAMPLE / "pred_probs", SAMPLE / "gt") if dataset == "sample" else _label_set(tmp_path)
    common = ["seg", str(pred), str(gt), "-f", "json", "--gate", "dice>=0.2", "--gate", "p10(iou)>=0.1",
              "--empty", "zero", "--workers", "1"]
    code_full, full, _ = run(common, capsys)
    parts = []
    for k in range(1, n + 1):
        path = tmp_path / f"part{k}.json"
        run([*common, "--shard", f"{k}/{n}", "-o", str(path)], capsys)
        parts.append(str(path))
    code_merged, merged, _ = run(["merge", *reversed(parts), "-f", "json"], capsys)
    assert merged == full
    assert code_merged == code_full
    if dataset == "labels":
        assert json.loads(full)["errors"] and code_full == 3


def test_each_shard_records_k_of_n(shards):
    assert [json.loads(p.read_text())["config"]["shard"] for p in shards.values()] == ["1/4", "2/4", "3/4", "4/4"]


def test_a_gate_given_to_shards_and_merge_appears_once(shards, cli, tmp_path):
    r = cli("merge", *shards.values(), "-f", "json", "--gate", "dice >= 0.5", "--gate", "min(dice)>=0.1",
            "--write", f"junit={tmp_path / 'j.xml'}")
    assert r.code == 0, r
    assert [g["gate"] for g in r.json()["gates"]] == ["dice>=0.5", "min(dice)>=0.1"]
    assert "gates: 2 passed, 0 failed" in r.err
    assert (tmp_path / "j.xml").read_text().count("<testcase") == 2


def test_baseline_gates_at_merge_time(shards, cli, tmp_path):
    base = tmp_path / "base.json"
    assert cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-f", "json", "-o", base).code == 0
    r = cli("merge", *shards.values(), "--baseline", base, "--gate", "delta(dice)>=0", "--gate", "worse(dice,0)<=0",
            "-f", "json")
    assert r.code == 0, r
    assert [(g["gate"], g["value"]) for g in r.json()["gates"]] == [
        ("dice>=0.5", r.json()["summary"]["mean"]["dice"]), ("delta(dice)>=0", 0.0), ("worse(dice,0)<=0", 0.0)]
    r = cli("merge", *shards.values(), "--gate", "delta(dice)>=0")
    assert r.code == 2 and "--baseline" in r.err, r


def test_merge_writes_the_html_report_with_the_worst_images(shards, cli, tmp_path):
    out = tmp_path / "report"
    r = cli("merge", *shards.values(), "--report", out, "--worst", "2")
    assert r.code == 0, r
    page = (out / "index.html").read_text()
    assert page.count('<section class="case">') == 2 and page.count('alt="errors"') == 2
    assert '<table id="summary">' in page


def test_an_empty_shard_is_not_an_error(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--shard", "9/9", "-f", "json")
    assert r.code == 0 and r.json()["images"] == []


def test_merge_gates_do_not_depend_on_file_order(cli, seg, tmp_path):
    parts = []
    for k in (1, 2, 3, 4):  # 3 pairs: shard 4/4 is empty
        path = tmp_path / f"s{k}.json"
        assert cli("seg", seg.pred, seg.gt, "-f", "json", "--shard", f"{k}/4", "-o", path).code == 0
        parts.append(path)
    assert cli("merge", parts[3], *parts[:3], "-g", "dice_loss<=1").code == 0


def test_shards_of_a_list_merge_into_the_whole_run(cli, seg, tmp_path):
    listing = write_list(seg.root / "l.csv", [f"pred/{n}.npy,gt/{n}.png,{n}" for n in GOOD])
    whole = cli("seg", "--pairs", listing, "-f", "json")
    parts = []
    for k in (1, 2):
        out = tmp_path / f"part{k}.json"
        r = cli("seg", "--pairs", listing, "--shard", f"{k}/2", "-f", "json", "-o", out)
        assert r.code == 0, r
        parts.append(out)
    merged = cli("merge", *parts, "-f", "json")
    assert merged.code == 0, merged
    assert merged.json() == whole.json()
    folder_parts = []
    for k in (1, 2):
        r = cli("seg", seg.pred, seg.gt, "--shard", f"{k}/2", "-f", "json")
        folder_parts.append([image["name"] for image in r.json()["images"]])
    assert [[image["name"] for image in json.loads(p.read_text())["images"]] for p in parts] == folder_parts


def test_sharded_run_with_regions_and_boundary_metrics_merges(cli, tmp_path):
    pred, gt = volume_set(tmp_path, n=3)
    args = ("-m", "hd95", "-m", "dice", "--region", "WT=1,2")
    whole = cli("seg", pred, gt, *args, "-f", "json").json()
    for k in (1, 2):
        (tmp_path / f"s{k}.json").write_text(cli("seg", pred, gt, *args, "--shard", f"{k}/2", "-f", "json").out)
    merged = cli("merge", tmp_path / "s1.json", tmp_path / "s2.json", "-f", "json").json()
    assert merged["summary"] == whole["summary"]
    assert [i["per_class"] for i in merged["images"]] == [i["per_class"] for i in whole["images"]]


@pytest.mark.parametrize("convention", ["lossctl", "torch", "metricsreloaded"])
def test_sharded_calibration_merges_to_the_same_bytes(tmp_path, capsys, convention):
    """The calibration values pool from the images' bin tallies: merging the shards sums the same tallies in the
    same order, so the document is byte-identical (per-class cw_ece and the gate included)."""
    values = "ece,cw_ece,brier,nll" if convention != "torch" else "ece,mce,rmsce"
    common = ["seg", str(SAMPLE / "pred_probs"), str(SAMPLE / "gt"), "-m", values, "--convention", convention,
              "-f", "json", "--gate", "pooled(ece)<=0.5", "--workers", "1"]
    if convention == "metricsreloaded":  # its ece reads pred[:, 1]: two classes; cw_ece takes every class count
        common[4] = "cw_ece,brier,nll"
        common[-4:-2] = ["--gate", "pooled(cw_ece)<=0.5"]
    code_full, full, _ = run(common, capsys)
    parts = []
    for k in (1, 2, 3):
        path = tmp_path / f"part{k}.json"
        run([*common, "--shard", f"{k}/3", "-o", str(path)], capsys)
        parts.append(str(path))
    code_merged, merged, _ = run(["merge", *parts, "-f", "json"], capsys)
    assert merged == full and code_merged == code_full == 0
    assert json.loads(full)["summary"]["calibration"]
