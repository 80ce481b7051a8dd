"""`--shard K/N` + `lossctl merge` reproduce the single run byte for byte."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


def test_merge_refuses_incomplete_or_foreign_shards(tmp_path, capsys):
    common = ["seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "-f", "json"]
    for k in (1, 2):
        run([*common, "--shard", f"{k}/3", "-o", str(tmp_path / f"p{k}.json")], capsys)
    code, _, err = run(["merge", str(tmp_path / "p1.json"), str(tmp_path / "p2.json")], capsys)
    assert code == 3 and "each of 1/3 .. 3/3" in err
    run([*common, "--shard", "3/3", "--empty", "one", "-o", str(tmp_path / "p3.json")], capsys)
    code, _, err = run(["merge", *(str(tmp_path / f"p{k}.json") for k in (1, 2, 3))], capsys)
    assert code == 3 and "different runs" in err


@pytest.mark.parametrize("shard", ["0/3", "4/3", "x", "1-3"])
def test_malformed_shard_is_a_usage_error(capsys, shard):
    code, _, err = run(["seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "--shard", shard], capsys)
    assert code == 2 and "--shard" in err


def test_merge_of_a_file_that_is_not_a_report(tmp_path, capsys):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    code, _, err = run(["merge", str(bad)], capsys)
    assert code == 3 and "x.json" in err and "Traceback" not in err
