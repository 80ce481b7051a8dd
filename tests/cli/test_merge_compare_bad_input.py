"""The bad-input matrix of ``lossctl merge`` and ``lossctl compare`` (and of the baselines ``seg``/``cls`` read
with ``--baseline``): reports that are damaged, of another schema, command or class list, and shards that are
missing, repeated or of different runs, through the real CLI.

Each test checks the documented exit code (2 usage error, 3 input error), that the message names the file or the
problem, and no traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support import CLASSES, SAMPLE, write_cls_inputs


# ----------------------------------------------------------------------------------------------------------
# Baselines (lossctl compare, --baseline)
# ----------------------------------------------------------------------------------------------------------


def _rewrite(path: Path, target: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    target.write_text(json.dumps(doc))
    return target


def test_baseline_of_another_schema_version_exits_3(runs, cli):
    other = _rewrite(runs["base"], runs["out"] / "v9.json", lambda d: d.update(schema=9))
    for args in (["compare", other, runs["new"]], ["seg", runs["worse"], runs["set"].gt, "--baseline", other]):
        r = cli(*args)
        assert r.code == 3 and "schema version 9" in r.err and "regenerate" in r.err, r


def test_cls_baseline_for_seg_exits_2(runs, cli, tmp_path):
    c = write_cls_inputs(tmp_path / "cls")
    cls_json = runs["out"] / "cls.json"
    assert cli("cls", c["probs_npy"], c["target_npy"], "-f", "json", "-o", cls_json).code == 0
    r = cli("compare", cls_json, runs["new"])
    assert r.code == 2 and "same command" in r.err, r
    r = cli("seg", runs["worse"], runs["set"].gt, "--baseline", cls_json)
    assert r.code == 2 and "lossctl cls" in r.err, r


def test_baseline_with_other_class_names_exits_2(runs, cli):
    other = _rewrite(runs["base"], runs["out"] / "names.json",
                     lambda d: d["config"].update(class_names=["bg", "lane", "car"]))
    r = cli("compare", other, runs["new"])
    assert r.code == 2 and "classes" in r.err and "lane" in r.err, r
    r = cli("seg", runs["worse"], runs["set"].gt, "--class-names", CLASSES, "--baseline", other,
            "--gate", "delta(dice)>=-1")
    assert r.code == 2 and "same classes" in r.err, r


def test_nan_in_the_baseline_exits_3(runs, cli):
    text = runs["base"].read_text().replace('"dice": 0.', '"dice": NaN, "x": 0.', 1)
    bad = runs["out"] / "nan.json"
    bad.write_text(text)
    r = cli("compare", bad, runs["new"])
    assert r.code == 3 and "nan.json" in r.err and "NaN" in r.err and "Traceback" not in r.err, r


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", '{"command": "merge"}'])
def test_unreadable_baseline_exits_3(runs, cli, content):
    path = runs["out"] / "bad.json"
    if content is not None:
        path.write_text(content)
    r = cli("seg", runs["worse"], runs["set"].gt, "--baseline", path, "--gate", "delta(dice)>=0")
    assert r.code == 3 and "bad.json" in r.err and len(r.error_lines()) == 1, r


@pytest.mark.parametrize("edit", [
    lambda d: d["summary"]["mean"].update(dice="high"),
    lambda d: d["images"][0]["values"].update(dice=[1]),
    lambda d: d["images"][1].pop("name"),
    lambda d: d["summary"]["per_class"]["pooled"].update(dice=0.5),
    lambda d: d["summary"].update(pooled=None),
])
def test_damaged_baseline_exits_3_without_a_traceback(runs, cli, edit):
    bad = _rewrite(runs["base"], runs["out"] / "damaged.json", edit)
    r = cli("compare", bad, runs["new"], "--gate", "worse(dice,0)<=3")
    assert r.code == 3 and "damaged.json" in r.err and "damaged" in r.err and "Traceback" not in r.err, r


def test_baseline_with_other_class_names_is_refused_before_any_work(runs, cli, tmp_path):
    """The run names its classes: a baseline with other names is refused before a file is read (it was refused
    only after the whole evaluation)."""
    r = cli("seg", tmp_path / "no-such-folder", runs["set"].gt, "--class-names", "bg,lane,car",
            "--baseline", runs["base"], "--gate", "delta(dice)>=-1")
    assert r.code == 2 and "same classes" in r.err and "bg, road, car" in r.err and "no-such-folder" not in r.err, r
    same = cli("seg", runs["worse"], runs["set"].gt, "--class-names", CLASSES, "--baseline", runs["base"],
               "--gate", "delta(dice)>=-1", "-f", "json")
    assert same.code == 0, same


# ----------------------------------------------------------------------------------------------------------
# Shards (lossctl merge)
# ----------------------------------------------------------------------------------------------------------


def test_merge_of_a_json_that_is_not_a_report_names_it(cli, tmp_path):
    for name, text in (("list.json", "[]"), ("dict.json", '{"command": "cls"}')):
        (tmp_path / name).write_text(text)
        r = cli("merge", tmp_path / name)
        assert r.code == 3 and name in r.err and "Traceback" not in r.err


def test_merge_refuses_incomplete_or_foreign_shards(tmp_path, cli):
    common = ["seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "-f", "json"]
    for k in (1, 2):
        cli(*common, "--shard", f"{k}/3", "-o", str(tmp_path / f"p{k}.json"))
    r = cli("merge", str(tmp_path / "p1.json"), str(tmp_path / "p2.json"))
    assert r.code == 3 and "each of 1/3 .. 3/3" in r.err
    cli(*common, "--shard", "3/3", "--empty", "one", "-o", str(tmp_path / "p3.json"))
    r = cli("merge", *(str(tmp_path / f"p{k}.json") for k in (1, 2, 3)))
    assert r.code == 3 and "different runs" in r.err


def test_merge_of_a_file_that_is_not_a_report(tmp_path, cli):
    bad = tmp_path / "x.json"
    bad.write_text("{not json")
    r = cli("merge", str(bad))
    assert r.code == 3 and "x.json" in r.err and "Traceback" not in r.err


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
