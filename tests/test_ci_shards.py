"""Sharded runs in CI: each shard records K/N, `merge --expect N` names missing and repeated shards, a gate given
to the shards and again to merge is checked once, and merge writes the CI formats too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
COMMON = ["seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "-f", "json", "--gate", "dice>=0.5"]


@pytest.fixture
def shards(tmp_path, cli):
    paths = {}
    for k in range(1, 5):
        paths[k] = tmp_path / f"part{k}.json"
        assert cli(*COMMON, "--shard", f"{k}/4", "-o", paths[k]).code == 0
    return paths


def test_each_shard_records_k_of_n(shards):
    assert [json.loads(p.read_text())["config"]["shard"] for p in shards.values()] == ["1/4", "2/4", "3/4", "4/4"]


def test_merge_expect_names_missing_shards(shards, cli):
    r = cli("merge", shards[1], shards[3], "--expect", "4")
    assert r.code == 3 and "missing shard(s) 2, 4 of 4" in r.err and "rerun" in r.err, r


def test_merge_names_repeated_shards(shards, cli, tmp_path):
    copy = tmp_path / "again.json"
    copy.write_bytes(shards[2].read_bytes())
    r = cli("merge", *shards.values(), copy)
    assert r.code == 3 and "repeated shard(s) 2 of 4" in r.err, r


def test_merge_expect_another_count(shards, cli):
    r = cli("merge", *shards.values(), "--expect", "5")
    assert r.code == 3 and "--expect 5" in r.err, r
    assert cli("merge", *shards.values(), "--expect", "4").code == 0


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


def test_baseline_with_shard_is_refused(cli, tmp_path):
    base = tmp_path / "base.json"
    assert cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-f", "json", "-o", base).code == 0
    r = cli(*COMMON, "--shard", "1/2", "--baseline", base)
    assert r.code == 2 and "lossctl merge" in r.err, r


def test_merge_writes_the_html_report_with_overlays(shards, cli, tmp_path):
    out = tmp_path / "report"
    r = cli("merge", *shards.values(), "--report", out, "--worst", "2")
    assert r.code == 0, r
    assert len(list(out.glob("worst_*.png"))) == 2 and '<table id="summary">' in (out / "index.html").read_text()
