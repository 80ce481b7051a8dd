"""Datasets as they come: name patterns, lists of pairs (a file or stdin), PRED == GT refused, through the real CLI.

Every way of pairing is checked to give the same report as the folder rule on the same files (only the
``config`` entries that say where the pairs came from, and the file paths, differ). The bad-input rows follow
tests/test_bad_input_matrix.py: one ``error:`` line naming the offender, the key phrase and a fix, the documented
exit code, no traceback, the other pairs still evaluated where the problem is one pair's, and a row of the
README's troubleshooting table.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_bad_input_matrix import GOOD, assert_no_traceback, troubleshooting_section
from test_cli_support import SegSet, make_seg_set, write_npy, write_palette_png  # noqa: F401

SOURCE_KEYS = ("pred", "gt", "pred_pattern", "gt_pattern", "pairs")


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without what says where the files were (sources and paths)."""
    config = {k: v for k, v in doc["config"].items() if k not in SOURCE_KEYS}
    images = [{k: v for k, v in image.items() if k not in ("pred", "gt")} for image in doc["images"]]
    errors = [{k: v for k, v in e.items() if k != "file"} for e in doc["errors"]]
    return {**doc, "config": config, "images": images, "errors": errors}


def folder_report(cli, s: SegSet, *args: str) -> dict[str, Any]:
    r = cli("seg", s.pred, s.gt, "-f", "json", *args)
    assert r.code == 0, r
    return r.json()


def cityscapes_layout(s: SegSet, root: Path) -> tuple[Path, Path]:
    """The seg set's files renamed as Cityscapes publishes them: gtFine/val/CITY/NAME_gtFine_labelIds.png (with
    a _gtFine_color.png beside each), predictions CITY/NAME_leftImg8bit.npy."""
    pred, gt = root / "pred", root / "gtFine" / "val"
    (gt / "city").mkdir(parents=True)
    (pred / "city").mkdir(parents=True)
    for name in s.names:
        shutil.copy(s.gt / f"{name}.png", gt / "city" / f"{name}_gtFine_labelIds.png")
        shutil.copy(s.gt / f"{name}.png", gt / "city" / f"{name}_gtFine_color.png")
        shutil.copy(s.pred / f"{name}.npy", pred / "city" / f"{name}_leftImg8bit.npy")
    return pred, gt


# ----------------------------------------------------------------------------------------------------------
# Each way of pairing gives the folder rule's report
# ----------------------------------------------------------------------------------------------------------


def test_patterns_give_the_folder_report(cli, seg, tmp_path):
    pred, gt = cityscapes_layout(seg, tmp_path / "cs")
    r = cli("seg", pred, gt, "--pred-pattern", "city/{name}_leftImg8bit.npy",
            "--gt-pattern", "city/{name}_gtFine_labelIds.png", "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["pred_pattern"] == "city/{name}_leftImg8bit.npy"
    assert doc["config"]["gt_pattern"] == "city/{name}_gtFine_labelIds.png"
    assert [image["gt"] for image in doc["images"]] == [str(gt / "city" / f"{n}_gtFine_labelIds.png") for n in GOOD]
    assert comparable(doc) == comparable(folder_report(cli, seg))


def test_name_spans_folders_and_star_stays_in_one(cli, seg, tmp_path):
    pred, gt = cityscapes_layout(seg, tmp_path / "cs")
    r = cli("seg", pred, gt, "--pred-pattern", "{name}_leftImg8bit.npy", "--gt-pattern", "*/{name}_gtFine_labelIds.png",
            "-f", "json")
    # the prediction names hold the city folder, the ground-truth names do not: nothing pairs
    assert r.code == 3 and "check that the patterns give both sides the same names" in r.err, r
    r = cli("seg", pred, gt, "--pred-pattern", "{name}_leftImg8bit.npy", "--gt-pattern", "{name}_gtFine_labelIds.png",
            "-f", "json")
    assert r.code == 0, r
    assert [image["name"] for image in r.json()["images"]] == [f"city/{n}" for n in GOOD]


def test_one_side_with_a_pattern_keeps_the_folder_rule_on_the_other(cli, seg, tmp_path):
    _, gt = cityscapes_layout(seg, tmp_path / "cs")
    flat_pred = tmp_path / "flat"
    flat_pred.mkdir()
    for name in seg.names:
        shutil.copy(seg.pred / f"{name}.npy", flat_pred / f"{name}.npy")
    r = cli("seg", flat_pred, gt / "city", "--gt-pattern", "{name}_gtFine_labelIds.png", "-f", "json")
    assert r.code == 0, r
    assert comparable(r.json()) == comparable(folder_report(cli, seg))


def write_list(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("style", ["tsv", "csv-header", "csv-header-names", "csv-quoted", "crlf"])
def test_a_list_of_pairs_gives_the_folder_report(cli, seg, style):
    # relative paths are read from the list's folder (the seg set's root), not from the current folder
    rows = {
        "tsv": [f"pred/{n}.npy\tgt/{n}.png" for n in reversed(GOOD)],
        "csv-header": ["pred,gt"] + [f"pred/{n}.npy,gt/{n}.png" for n in GOOD],
        "csv-header-names": ["pred,gt,name"] + [f"pred/{n}.npy,gt/{n}.png,{n}" for n in GOOD],
        "csv-quoted": [f'"pred/{n}.npy", "gt/{n}.png", "{n}"' for n in GOOD],
        "crlf": [f"pred/{n}.npy,gt/{n}.png,{n}\r" for n in GOOD],
    }[style]
    listing = write_list(seg.root / "pairs.txt", rows)
    r = cli("seg", "--pairs", listing, "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["pairs"] == str(listing)
    names = [image["name"] for image in doc["images"]]
    expected = folder_report(cli, seg)
    if "names" in style or "quoted" in style or style == "crlf":
        assert names == GOOD
        assert comparable(doc) == comparable(expected)
    else:  # named by the ground-truth path as written, without its extension
        assert names == [f"gt/{n}" for n in GOOD]
        assert [image["values"] for image in doc["images"]] == [image["values"] for image in expected["images"]]
        assert doc["summary"] == expected["summary"]


def test_pairs_from_stdin_resolve_against_the_current_folder(cli, seg, monkeypatch):
    monkeypatch.chdir(seg.root)
    stdin = "".join(f"./pred/{n}.npy\t./gt/{n}.png\n" for n in GOOD).encode()
    r = cli("seg", "--pairs", "-", "-f", "json", stdin=stdin)
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["pairs"] == "-"
    assert [image["name"] for image in doc["images"]] == [f"gt/{n}" for n in GOOD]  # the leading ./ dropped
    assert doc["summary"] == folder_report(cli, seg)["summary"]


def test_absolute_paths_in_a_list(cli, seg, tmp_path):
    listing = write_list(tmp_path / "elsewhere" / "l.csv",
                         [f"{seg.pred / n}.npy,{seg.gt / n}.png,{n}" for n in GOOD])
    r = cli("seg", "--pairs", listing, "-f", "json")
    assert r.code == 0, r
    assert comparable(r.json()) == comparable(folder_report(cli, seg))


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


def test_a_missing_file_in_a_list_fails_that_pair_only_unless_allow_missing(cli, seg):
    rows = [f"pred/{n}.npy,gt/{n}.png,{n}" for n in GOOD] + ["pred/x.npy,gt/a.png,x", "pred/a.npy,gt/y.png,y"]
    listing = write_list(seg.root / "l.csv", rows)
    r = cli("seg", "--pairs", listing, "-f", "json")
    assert r.code == 3, r
    assert_no_traceback(r)
    doc = r.json()
    assert [image["name"] for image in doc["images"]] == GOOD
    assert [(e["name"], e["file"]) for e in doc["errors"]] == [("x", str(seg.root / "pred/x.npy")),
                                                              ("y", str(seg.root / "gt/y.png"))]
    lines = r.error_lines()
    assert len(lines) == 2 and f"no such prediction file ({seg.root / 'l.csv'} line 4)" in lines[0], r
    assert f"no such ground-truth file ({seg.root / 'l.csv'} line 5)" in lines[1], r
    r = cli("seg", "--pairs", listing, "--allow-missing", "-f", "json")
    assert r.code == 0, r
    assert r.json()["skipped"] == {"missing_gt": ["y"], "missing_pred": ["x"]}
    assert comparable(r.json())["summary"] == folder_report(cli, seg)["summary"]


# ----------------------------------------------------------------------------------------------------------
# PRED and GT must differ
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "dot-dot", "trailing-slash", "symlink", "file"])
def test_the_same_folder_or_file_on_both_sides_is_refused(cli, seg, spelling):
    pred = seg.gt
    gt = {"same": seg.gt, "dot-dot": seg.gt / ".." / "gt", "trailing-slash": f"{seg.gt}{os.sep}",
          "symlink": seg.root / "link", "file": seg.gt}[spelling]
    if spelling == "symlink":
        os.symlink(seg.gt, gt)
    if spelling == "file":
        pred = gt = seg.gt / "a.png"
    r = cli("seg", pred, gt)
    assert r.code == 2, r
    assert_no_traceback(r)
    [line] = r.error_lines()
    assert "is given as both the prediction and the ground-truth" in line and "scored against itself" in line, line
    assert r.out == ""


def test_one_folder_with_two_patterns_is_fine(cli, seg, tmp_path):
    both = tmp_path / "both"
    both.mkdir()
    for n in GOOD:
        shutil.copy(seg.pred / f"{n}.npy", both / f"{n}_pred.npy")
        shutil.copy(seg.gt / f"{n}.png", both / f"{n}_gt.png")
    r = cli("seg", both, both, "--pred-pattern", "{name}_pred.npy", "--gt-pattern", "{name}_gt.png", "-f", "json")
    assert r.code == 0, r
    assert comparable(r.json()) == comparable(folder_report(cli, seg))
    r = cli("seg", both, both, "--pred-pattern", "{name}_gt.png", "--gt-pattern", "*{name}_gt.png")
    assert r.code == 2 and "scored against itself" in r.err, r


def test_dash_is_not_a_seg_input(cli, seg):
    r = cli("seg", "-", seg.gt, stdin=b"")
    assert r.code == 2 and "--pairs -" in r.err, r


@pytest.mark.parametrize("option", [("--label-map", "-"), ("--pred-label-map", "-"), ("--class-names", "@-"),
                                    ("--dataset-json", "-")])
def test_only_the_list_of_pairs_reads_stdin(cli, seg, option):
    r = cli("seg", seg.labels, seg.gt, *option, stdin=b"0:0\n")
    assert r.code == 2 and "standard input" in r.err and r.out == "", r


def test_pairs_from_a_terminal_are_refused(cli, monkeypatch):
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    r = cli("seg", "--pairs", "-")
    assert r.code == 2 and "standard input is a terminal" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# The bad-input rows
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    argv: tuple[Any, ...]
    offenders: tuple[str, ...]
    stdin: bytes | None = None
    good: tuple[str, ...] = tuple(f"gt/{n}" for n in GOOD)  # the images still evaluated (per-file rows)


@dataclass
class Row:
    id: str
    build: Callable[[SegSet, Path], Case]
    phrase: str
    fix: str
    readme: str
    code: int
    per_file: bool = False


def patterns(pred_pattern: str | None, gt_pattern: str | None, offender: str) -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        pred, gt = cityscapes_layout(s, tmp / "cs")
        args: list[Any] = [pred, gt]
        if pred_pattern is not None:
            args += ["--pred-pattern", pred_pattern]
        if gt_pattern is not None:
            args += ["--gt-pattern", gt_pattern]
        return Case(tuple(args), (offender.format(gt=gt, pred=pred),))
    return build


def same_name_twice(s: SegSet, tmp: Path) -> Case:
    pred, gt = cityscapes_layout(s, tmp / "cs")
    shutil.copy(gt / "city" / "a_gtFine_labelIds.png", gt / "city" / "a_gtCoarse_labelIds.png")
    return Case((pred, gt, "--pred-pattern", "{name}_leftImg8bit.npy", "--gt-pattern", "{name}_*_labelIds.png"),
                (str(gt / "city" / "a_gtCoarse_labelIds.png"),))


def listing(rows: list[str], offender: str = "{list} line {line}", line: int = 0,
            extra: tuple[str, ...] = ()) -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        path = write_list(s.root / "pairs.csv", [f"pred/{n}.npy,gt/{n}.png" for n in GOOD] + rows)
        named = offender.format(list=path, line=len(GOOD) + line, root=s.root)
        return Case(("--pairs", path, *(getattr(s, a) for a in extra)), (named,))
    return build


def folder_option(*args: str, offender: str, bad_gt: Any = None) -> Callable[[SegSet, Path], Case]:
    """The seg set's folders with ``args``; ``bad_gt(labels) -> labels`` adds a pair ``bad`` whose ground truth
    is ``a``'s changed so."""
    def build(s: SegSet, tmp: Path) -> Case:
        if bad_gt is not None:
            write_npy(s.pred / "bad.npy", s.probs["a"])
            write_palette_png(s.gt / "bad.png", bad_gt(s.gts["a"].copy()))
        resolved = tuple(str(a).format(tmp=tmp, gt=s.gt) for a in args)
        return Case((s.pred, s.gt, *resolved), (offender.format(tmp=tmp, gt=s.gt),), good=tuple(GOOD))
    return build


def with_value_9(labels: Any) -> Any:
    labels[0, 0] = 9
    return labels


def dataset_json_file(text: str) -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        path = tmp / "dataset.json"
        path.write_text(text, encoding="utf-8")
        return Case((s.pred, s.gt, "--dataset-json", path), (f"--dataset-json: {path}",))
    return build


ROWS = [
    Row("pattern-without-name", patterns(None, "x_gtFine_labelIds.png", "--gt-pattern"),
        r"has no \{name\} placeholder", r"put exactly one", r"no \{name\}", 2),
    Row("pattern-with-two-names", patterns("{name}/{name}.npy", None, "--pred-pattern"),
        r"has 2 \{name\} placeholders", r"keep exactly one", r"two `\{name\}`", 2),
    Row("pattern-matching-no-file", patterns(None, "{name}_gtFine_instanceIds.png", "{gt}"),
        r"no ground-truth file matches the pattern", r"fix the pattern", r"matches the pattern", 3),
    Row("two-files-one-name", same_name_twice, r"gives the same name 'city/a'", r"make the pattern more specific",
        r"gives the same name", 3),
    Row("pairs-line-one-column", listing(["pred/b.npy"], line=1), r"has 1 column", r"write PRED<TAB>GT or PRED,GT",
        r"has 1 column", 2),
    Row("pairs-path-missing", listing(["pred/nope.npy,gt/a.png,nope"], offender="{root}/pred/nope.npy"),
        r"no such prediction file \(.*pairs\.csv line 4\)", r"relative paths are read from the list's folder\), or "
        r"pass --allow-missing", r"no such prediction file", 3, per_file=True),
    Row("pairs-and-pred-gt", listing([], offender="--pairs", extra=("pred", "gt")),
        r"lists the pairs, so PRED and GT are not given", r"drop .* or --pairs", r"PRED and GT are not given", 2),
    Row("name-holding-dot-dot", listing(["pred/b.npy,gt/b.png,../b"], line=1), r"the image name '\.\./b' holds '\.\.'",
        r"give a name column without '\.\.'", r"holds '\.\.'", 2),
    Row("default-name-holding-dot-dot", listing(["pred/b.npy,../data/gt/b.png"], line=1),
        r"the image name '\.\./data/gt/b' holds '\.\.'", r"give a name column", r"holds '\.\.'", 2),
    Row("label-map-beyond-classes", folder_option("--label-map", "0:0,1:1,2:5", "--num-classes", "3",
                                                  offender="--label-map"),
        r"maps 2 to class 5, but there are 3 classes \(0\.\.2\)", r"fix the map or the class count",
        r"maps V to class K, but there are", 2),
    Row("malformed-label-map", folder_option("--label-map", "0:0,1:one", offender="--label-map"),
        r"the class 'one' is not an integer", r"write FROM:TO", r"is not an integer", 2),
    Row("malformed-label-map-file", folder_option("--label-map", "{tmp}/nope.csv", offender="--label-map"),
        r"is a file that does not exist", r"give FROM:TO pairs", r"does not exist", 2),
    Row("unmapped-value", folder_option("--label-map", "0:0,1:1,2:2", offender="{gt}/bad.png", bad_gt=with_value_9),
        r"the ground truth holds the value 9, which the label map does not name",
        r"add it to the map \(9:ignore leaves a value out\), or pass --unmapped ignore", r"which the label map does not name",
        3, per_file=True),
    Row("dataset-json-not-json", dataset_json_file('{"labels": {"background": 0,}}'), r"not valid JSON",
        r"fix the file", r"--dataset-json: .*not valid JSON", 2),
    Row("dataset-json-gap", dataset_json_file('{"labels": {"background": 0, "liver": 2}}'),
        r"must be 0, 1, 2, \.\.\. without gaps \(nnU-Net's rule\), but 1 is missing", r"fix the labels",
        r"without gaps", 2),
    Row("dataset-json-no-labels", dataset_json_file('{"name": "x"}'), r'has no "labels" object',
        r'"labels": \{"background": 0', r'no "labels" object', 2),
    Row("pairs-name-used-twice", listing(["pred/b.npy,gt/b.png,gt/a"], line=1), r"is already used by line 1",
        r"give each pair its own name", r"already used by line", 2),
]


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_bad_input_row(cli, seg, tmp_path, row: Row):
    case = row.build(seg, tmp_path)
    r = cli("seg", *case.argv, stdin=case.stdin)
    assert r.code == row.code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    assert len(lines) == len(case.offenders), r
    for offender, line in zip(case.offenders, lines, strict=True):
        assert offender in line, (offender, line)
        assert re.search(row.phrase, line), (row.phrase, line)
        assert re.search(row.fix, line), (row.fix, line)
    if row.code == 2:
        assert r.out == "", r
    if row.per_file:
        r = cli("seg", *case.argv, "-f", "json", stdin=case.stdin)
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == list(case.good), doc["images"]
        assert len(doc["errors"]) == 1 and doc["summary"]["count"] == 3


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_readme_troubleshooting_mentions_row(row: Row):
    assert re.search(row.readme, troubleshooting_section()), row.readme


# ----------------------------------------------------------------------------------------------------------
# Label maps
# ----------------------------------------------------------------------------------------------------------


def numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """Every number of a report (what the maps must not change when they undo a renumbering)."""
    return {"images": [(i["name"], i["values"], i["per_class"], i["confusion_matrix"]) for i in doc["images"]],
            "summary": doc["summary"], "num_classes": doc["config"]["num_classes"]}


def renumbered_gt(s: SegSet, root: Path, mapping: dict[int, int]) -> Path:
    folder = root / "gt_renumbered"
    for name in s.names:
        labels = s.gts[name].copy()
        out = labels.copy()
        for src, dst in mapping.items():
            out[labels == src] = dst
        write_palette_png(folder / f"{name}.png", out)
    return folder


@pytest.mark.parametrize("spec_form", ["inline", "json", "csv"])
def test_a_label_map_undoes_a_renumbering(cli, seg, tmp_path, spec_form):
    gt = renumbered_gt(seg, tmp_path, {0: 10, 1: 20, 2: 30})
    spec = {"inline": "10:0,20:1,30:2", "json": '{"10": 0, "20": 1, "30": 2}', "csv": str(tmp_path / "m.csv")}[spec_form]
    (tmp_path / "m.csv").write_text("from,to\n10,0\n20,1\n30,2\n", encoding="utf-8")
    r = cli("seg", seg.pred, gt, "--label-map", spec, "-f", "json")
    assert r.code == 0, r
    assert numbers(r.json()) == numbers(folder_report(cli, seg))
    assert r.json()["config"]["label_map"]["map"] == {"10": 0, "20": 1, "30": 2}
    assert r.json()["config"]["pred_label_map"] is None and r.json()["config"]["unmapped"] == "error"


def test_ground_truth_mapped_to_ignore_is_ignore_index(cli, seg, tmp_path):
    mapped = cli("seg", seg.pred, seg.gt, "--label-map", "0:0,1:ignore,2:2", "--num-classes", "3", "-f", "json")
    ignored = cli("seg", seg.pred, seg.gt, "--ignore-index", "1", "--num-classes", "3", "-f", "json")
    assert mapped.code == ignored.code == 0, (mapped, ignored)
    assert numbers(mapped.json()) == numbers(ignored.json())
    unmapped = cli("seg", seg.pred, seg.gt, "--label-map", "0:0,2:2", "--unmapped", "ignore", "--num-classes", "3",
                   "-f", "json")
    assert numbers(unmapped.json()) == numbers(ignored.json())


def test_a_prediction_map_without_void_is_the_same_as_mapped_files(cli, seg, tmp_path):
    shifted = tmp_path / "labels_shifted"
    for name in seg.names:
        write_palette_png(shifted / f"{name}.png", seg.label_pred(name) + 5)
    r = cli("seg", shifted, seg.gt, "--pred-label-map", "5:0,6:1,7:2", "-f", "json")
    assert r.code == 0, r
    assert numbers(r.json()) == numbers(folder_report(cli, SegSet(**{**seg.__dict__, "pred": seg.labels})))
    assert len(r.json()["summary"]["confusion_matrix"]) == 3  # no void column: nothing predicts void


def test_label_map_options_are_checked(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--unmapped", "ignore")
    assert r.code == 2 and "give --label-map or --pred-label-map" in r.err, r
    r = cli("seg", seg.labels, seg.gt, "--pred-label-map", "reduce-zero")  # open-ended: no class count
    assert r.code == 2 and "needs the class count" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--pred-label-map", "0:0,1:1,2:2", "--pred-kind", "probs")
    assert r.code == 2 and "maps label predictions" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--pred-label-map", "0:0,1:1,2:2", "-f", "json")
    assert r.code == 3 and len(r.error_lines()) == 3 and "maps label predictions only" in r.error_lines()[0], r


def test_a_map_that_voids_every_pixel_is_named(cli, tmp_path):
    """Not an empty ignore list pointing at --ignore-index: the message names the map, and the fix."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.zeros((2, 3)))  # Cityscapes "unlabeled" only
    write_palette_png(tmp_path / "pred" / "a.png", np.full((2, 3), 7))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "cityscapes")
    assert r.code == 3 and len(r.error_lines()) == 1, r
    line = r.error_lines()[0]
    assert "void under the label map 'cityscapes'" in line and "check that --label-map names" in line, r
    assert "ignore index" not in line and "()" not in line, r
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "5:0", "--unmapped", "ignore",
            "--num-classes", "2", "--ignore-index", "1")
    line = r.error_lines()[0]
    assert r.code == 3 and "'5:0' (with --unmapped ignore" in line and "ignore index (1)" in line, r


@pytest.mark.parametrize("spec", ["0:0,1:1", "0:0,1:1,2:ignore"])
def test_a_prediction_holding_the_maps_void_value_is_beyond_the_classes(cli, tmp_path, spec):
    """The ground truth's void is written as 254 internally; a prediction holding 254 is told it is no class,
    not that it holds an --ignore-index the user never gave."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.array([[0, 1], [2, 0]]))
    write_palette_png(tmp_path / "gt" / "b.png", np.array([[0, 1], [1, 0]]))
    write_palette_png(tmp_path / "pred" / "a.png", np.array([[0, 254], [1, 0]]))
    write_palette_png(tmp_path / "pred" / "b.png", np.array([[0, 1], [1, 1]]))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", spec, "--unmapped", "ignore", "-f", "json")
    assert r.code == 3 and len(r.error_lines()) == 1, r
    line = r.error_lines()[0]
    assert "a.png: the prediction holds label 254 but there are only 2 classes" in line, r
    assert "--ignore-index" not in line, r
    assert [image["name"] for image in r.json()["images"]] == ["b"]  # the other pair is evaluated
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", spec, "--unmapped", "ignore",
            "--ignore-index", "254")  # a value the user names keeps its own message
    assert r.code == 3 and "the --ignore-index (void) label" in r.err, r


def test_a_mapped_value_beyond_the_classes_says_it_is_mapped(cli, tmp_path):
    """ADE20K's 200 becomes 199 under reduce-zero: the message must not leave the user looking for a 199."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.array([[0, 1], [200, 3]]))
    write_palette_png(tmp_path / "pred" / "a.png", np.array([[0, 0], [1, 2]]))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "reduce-zero", "--num-classes", "150")
    assert r.code == 3, r
    assert "a.png: after --label-map reduce-zero, the ground truth holds label 199 but there are only 150" in r.err, r
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "reduce-zero", "--num-classes", "150",
            "--pred-label-map", "0:0,1:1,2:200")
    assert r.code == 2 and "maps 2 to class 200, but there are 150 classes" in r.err, r


# -- Cityscapes: the official evaluator's class IoUs ---------------------------------------------------------------


def cityscapes_table() -> list[dict[str, str]]:
    from test_label_maps import published_cityscapes

    return published_cityscapes()


def evaluator_class_ious(gts: list[Any], preds: list[Any]) -> dict[int, float]:
    """The class IoUs as the official Cityscapes evaluator (evalPixelLevelSemanticLabeling) documents them, keyed
    by train id: one confusion matrix over the label ids 0..33, summed over images; for an evaluated label,
    TP is its diagonal entry, FN its row sum minus TP (predictions of any id, void ones included), FP its column
    sum over the rows of the *evaluated* labels other than itself; IoU = TP / (TP + FP + FN), NaN when 0/0."""
    import numpy as np

    rows = [r for r in cityscapes_table() if int(r["id"]) >= 0]
    ignored = {int(r["id"]): r["ignore_in_eval"] == "true" for r in rows}
    conf = np.zeros((34, 34), dtype=np.int64)
    for gt, pred in zip(gts, preds, strict=True):
        np.add.at(conf, (gt.ravel().astype(np.int64), pred.ravel().astype(np.int64)), 1)
    ious = {}
    for r in rows:
        label = int(r["id"])
        if ignored[label]:
            continue
        tp = int(conf[label, label])
        fn = int(conf[label, :].sum()) - tp
        others = [k for k in ignored if not ignored[k] and k != label]
        fp = int(conf[others, label].sum())
        ious[int(r["train_id"])] = float("nan") if tp + fp + fn == 0 else float(tp) / (tp + fp + fn)
    return ious


def write_cityscapes(root: Path, gts: list[Any], preds: list[Any]) -> tuple[Path, Path]:
    from PIL import Image

    gt_root, results = root / "gtFine" / "val", root / "results"
    results.mkdir(parents=True)
    for i, (gt, pred) in enumerate(zip(gts, preds, strict=True)):
        stem = f"{['aachen', 'bonn', 'lindau'][i % 3]}_{i:06d}_000019"
        city = gt_root / stem.split("_")[0]
        city.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gt.astype("uint8"), mode="L").save(city / f"{stem}_gtFine_labelIds.png")
        Image.fromarray(gt.astype("uint8"), mode="L").save(city / f"{stem}_gtFine_color.png")
        Image.fromarray(pred.astype("uint8"), mode="L").save(results / f"{stem}_leftImg8bit.png")
    return results, gt_root


CITYSCAPES_ARGS = ("--pred-pattern", "{name}_leftImg8bit.png", "--gt-pattern", "*/{name}_gtFine_labelIds.png",
                   "--label-map", "cityscapes", "--pred-label-map", "cityscapes", "-m", "iou", "-f", "json")


def test_cityscapes_by_hand(cli, tmp_path):
    """Eight pixels in label ids, counted by hand with the evaluator's rule:

    ====  =====================  ======================  ===========================================
    px    ground truth           prediction              counts
    ====  =====================  ======================  ===========================================
    1     7 road                 7 road                  TP road
    2     7 road                 8 sidewalk              FN road, FP sidewalk
    3     8 sidewalk             8 sidewalk              TP sidewalk
    4     0 unlabeled (void)     7 road                  nothing (a void ground truth is ignored)
    5     26 car                 26 car                  TP car
    6     26 car                 29 caravan (void)       FN car, FP of none
    7     24 person              24 person               TP person
    8     7 road                 0 unlabeled (void)      FN road, FP of none
    ====  =====================  ======================  ===========================================

    road 1/(1+0+2), sidewalk 1/(1+1+0), car 1/(1+0+1), person 1/1; the 15 other classes are 0/0 (NaN, null).
    The class score is the mean of the four (summed in label-id order, as the evaluator does): 7/12.
    """
    import numpy as np

    gt = np.array([[7, 7, 8, 0], [26, 26, 24, 7]])
    pred = np.array([[7, 8, 8, 7], [26, 29, 24, 0]])
    results, gt_root = write_cityscapes(tmp_path, [gt], [pred])
    r = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    assert r.code == 0, r
    doc = r.json()
    expected = [None] * 19
    expected[0], expected[1], expected[13], expected[11] = 1 / 3, 1 / 2, 1 / 2, 1.0
    assert doc["summary"]["per_class"]["pooled"]["iou"] == expected
    assert doc["summary"]["pooled"]["iou"] == (1 / 3 + 1 / 2 + 1.0 + 1 / 2) / 4  # road, sidewalk, person, car
    assert doc["config"]["class_names"][13] == "car" and doc["config"]["num_classes"] == 19
    cm = np.array(doc["summary"]["confusion_matrix"])
    assert cm.shape == (20, 20) and cm[13, 19] == 1 and cm[0, 19] == 1 and cm[19].sum() == 0  # the void column
    assert doc["images"][0]["values"]["iou"] == doc["summary"]["pooled"]["iou"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cityscapes_class_ious_equal_the_evaluators_to_the_last_digit(cli, tmp_path, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [(9, 13), (7, 11), (12, 5), (6, 6)]
    gts = [rng.integers(0, 34, shape) for shape in shapes]
    # predictions: right half of the time, else any label id (void ones included)
    preds = [np.where(rng.random(g.shape) < 0.5, g, rng.integers(0, 34, g.shape)) for g in gts]
    results, gt_root = write_cityscapes(tmp_path, gts, preds)
    r = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    assert r.code == 0, r
    doc = r.json()
    reference = evaluator_class_ious(gts, preds)
    ours = doc["summary"]["per_class"]["pooled"]["iou"]
    for train_id in range(19):
        want = reference[train_id]
        if np.isnan(want):
            assert ours[train_id] is None
        else:
            assert ours[train_id] == want, (train_id, ours[train_id], want)  # bit for bit
    assert doc["config"]["pred_label_map"]["name"] == "cityscapes" and doc["config"]["unmapped"] == "error"
    in_processes = cli("seg", results, gt_root, *CITYSCAPES_ARGS, "--workers", "2")  # 2 processes, maps pickled
    assert in_processes.code == 0 and in_processes.json() == doc, in_processes
    kept = [v for v in reference.values() if not np.isnan(v)]
    assert doc["summary"]["pooled"]["iou"] == pytest.approx(sum(kept) / len(kept), rel=1e-15, abs=0)
    # sharded and merged: the same numbers (the void column survives the JSON round trip)
    parts = []
    for k in (1, 2):
        out = tmp_path / f"p{k}.json"
        assert cli("seg", results, gt_root, *CITYSCAPES_ARGS, "--shard", f"{k}/2", "-o", out).code == 0
        parts.append(out)
    merged = cli("merge", *parts, "-f", "json")
    assert merged.code == 0, merged
    assert merged.json()["summary"] == doc["summary"]


def test_cityscapes_predictions_in_train_ids(cli, tmp_path):
    import numpy as np

    rng = np.random.default_rng(5)
    gts = [rng.integers(0, 34, (8, 8))]
    train = dict(parse_map("cityscapes").table)
    evaluated = [i for i, t in train.items() if t is not None]
    preds = [rng.choice(evaluated, size=(8, 8))]  # label ids of evaluated classes only
    results, gt_root = write_cityscapes(tmp_path / "ids", gts, preds)
    in_ids = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    as_train = [np.vectorize(train.get)(p) for p in preds]
    results_t, gt_root_t = write_cityscapes(tmp_path / "train", gts, as_train)
    args = [a for a in CITYSCAPES_ARGS if a not in ("--pred-label-map",)]
    args.remove("cityscapes")  # the second one (the prediction map's)
    in_train = cli("seg", results_t, gt_root_t, *args)
    assert in_ids.code == in_train.code == 0, (in_ids, in_train)
    assert in_ids.json()["summary"]["per_class"]["pooled"] == in_train.json()["summary"]["per_class"]["pooled"]


def parse_map(spec: str) -> Any:
    from lossctl.dataset.label_maps import parse_label_map

    return parse_label_map(spec)


# ----------------------------------------------------------------------------------------------------------
# Dataset descriptions
# ----------------------------------------------------------------------------------------------------------


def test_dataset_json_names_the_classes(cli, seg, tmp_path):
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps({"labels": {"background": 0, "road": 1, "building": 2}, "file_ending": ".png"}))
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps({"labels": {"0": "background", "1": "road", "2": "building"}}))
    by_names = cli("seg", seg.pred, seg.gt, "--class-names", "background,road,building", "-f", "json")
    for path in (v2, v1):
        r = cli("seg", seg.pred, seg.gt, "--dataset-json", path, "-f", "json")
        assert r.code == 0, r
        assert r.json()["config"]["class_names"] == ["background", "road", "building"]
        assert numbers(r.json()) == numbers(by_names.json())


def test_dataset_json_ignore_label_is_an_ignore_index(cli, seg, tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "road": 1, "ignore": 2}}))
    r = cli("seg", seg.pred, seg.gt, "--dataset-json", path, "--pred-kind", "labels", "-f", "json")
    # probability maps have 3 channels but the dataset has 2 classes: refused; label maps are fine
    assert r.code == 2 or r.code == 3, r
    labels = SegSet(**{**seg.__dict__, "pred": seg.labels})
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "-f", "json")
    ignored = cli("seg", seg.labels, seg.gt, "--ignore-index", "2", "--class-names", "background,road", "-f", "json")
    assert r.json()["config"]["ignore_index"] == [2] and r.json()["config"]["class_names"] == ["background", "road"]
    assert [i["values"] for i in r.json()["images"]] == [i["values"] for i in ignored.json()["images"]]
    assert labels.pred == seg.labels


def test_dataset_json_regions_are_evaluated_as_region_options(cli, seg, tmp_path):
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps({"labels": {"background": 0, "whole_tumor": [1, 2], "core": 2},
                                "regions_class_order": [1, 2]}))
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "-f", "json")
    assert r.code == 0, r
    by_option = cli("seg", seg.labels, seg.gt, "--region", "whole_tumor=1,2", "--class-names", "background,1,core",
                    "-f", "json")
    assert r.json()["config"]["regions"] == {"whole_tumor": [1, 2]}  # the list-valued labels only
    plain = r.json()
    assert plain["summary"].pop("region_mean")["mean"]["dice"] is not None  # the only number --region lacks
    assert numbers(plain) == numbers(by_option.json())
    # the rule is visible: nnU-Net's headline is the mean over its regions, reported as region_mean
    assert (f"note: {path} is region-based: nnU-Net's headline is the mean over its regions (whole_tumor, core), "
            "reported as region_mean") in r.err and "dice[region_mean]" in r.err, r
    assert "region-based" not in by_option.err, by_option
    both = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "--region", "fg=1,2", "-f", "json")
    assert list(both.json()["config"]["regions"]) == ["whole_tumor", "fg"]
    twice = cli("seg", seg.labels, seg.gt, "--dataset-json", path, "--region", "whole_tumor=1")
    assert twice.code == 2 and "'whole_tumor' is given twice" in twice.err, twice
    path.write_text(json.dumps({"labels": {"background": 0, "whole tumor": [1, 2]}}))
    r = cli("seg", seg.labels, seg.gt, "--dataset-json", path)
    assert r.code == 2 and f"--dataset-json {path}: --region 'whole tumor=1,2'" in r.err, r


def test_class_names_from_a_file(cli, seg, tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("background\n road \n\nbuilding\n", encoding="utf-8")
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{path}", "-f", "json")
    assert r.code == 0 and r.json()["config"]["class_names"] == ["background", "road", "building"], r
    path.write_text("a\nb\na\n", encoding="utf-8")
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{path}")
    assert r.code == 2 and "names 'a' twice" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--class-names", f"@{tmp_path / 'none.txt'}")
    assert r.code == 3 and "no such file" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--class-names", "a,b,c", "--dataset-json", path)
    assert r.code == 2 and "give one of them" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# The README's dataset commands run on stand-ins laid out as the datasets publish them
# ----------------------------------------------------------------------------------------------------------

README = Path(__file__).resolve().parents[1] / "README.md"


def datasets_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Datasets\n")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"```console\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.splitlines() if "lossctl seg" in line]


def png(path: Path, labels: Any, mode: str = "L") -> None:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)  # uint8 (H,W): mode L; (H,W,3): RGB; uint16: I;16
    Image.fromarray(np.asarray(labels, dtype=np.uint16 if mode == "I;16" else np.uint8)).save(path)


def cityscapes_stand_in(root: Path, results: str, gt_val: str, flat: bool) -> None:
    """Two cities as gtFine publishes them (labelIds, color, instanceIds, polygons beside each other), and
    predictions in label ids, flat (the server's format) or in city folders."""
    import numpy as np

    rng = np.random.default_rng(11)
    for stem in ("frankfurt_000000_000294", "frankfurt_000001_007973", "lindau_000000_000019"):
        city = stem.split("_")[0]
        gt = rng.integers(0, 34, (6, 8))
        folder = root / gt_val / city
        png(folder / f"{stem}_gtFine_labelIds.png", gt)
        png(folder / f"{stem}_gtFine_color.png", np.stack([gt * 7] * 3, axis=-1), mode="RGB")
        png(folder / f"{stem}_gtFine_instanceIds.png", gt * 1000 + 1, mode="I;16")
        (folder / f"{stem}_gtFine_polygons.json").write_text('{"objects": []}', encoding="utf-8")
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 34, gt.shape))
        png(root / results / ("" if flat else city) / f"{stem}_leftImg8bit.png", pred)


def ade_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(12)
    for i in (1, 2):
        gt = rng.integers(0, 151, (7, 9))  # 0 is "other", 1..150 the classes
        png(root / "ADEChallengeData2016/annotations/validation" / f"ADE_val_{i:08d}.png", gt)
        png(root / "ADEChallengeData2016/images/validation" / f"ADE_val_{i:08d}.jpg", gt)  # the images beside
        pred = np.where(gt > 0, gt - 1, rng.integers(0, 150, gt.shape))  # mmsegmentation's indices 0..149
        png(root / "pred" / f"ADE_val_{i:08d}.png", pred)


def nnunet_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(13)
    dataset = root / "nnUNet_raw/Dataset120_RoadSegmentation"
    dataset.mkdir(parents=True)
    description = {"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "road": 1},
                   "numTraining": 2, "file_ending": ".png"}
    (dataset / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    predictions = root / "nnUNet_results/predictions"
    for case in ("road_0001", "road_0002"):
        gt = rng.integers(0, 2, (8, 8))
        png(dataset / "labelsTr" / f"{case}.png", gt)
        png(dataset / "imagesTr" / f"{case}_0000.png", gt * 255)
        png(predictions / f"{case}.png", np.where(rng.random(gt.shape) < 0.8, gt, 1 - gt))
    (predictions / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    (predictions / "plans.json").write_text("{}", encoding="utf-8")
    (predictions / "predict_from_raw_data_args.json").write_text("{}", encoding="utf-8")


def mirrored_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(14)
    for name in ("a", "sub/b"):
        gt = rng.integers(0, 3, (5, 5))
        png(root / "gt" / f"{name}.png", gt)
        png(root / "pred" / f"{name}.png", np.where(rng.random(gt.shape) < 0.8, gt, 0))


def stand_in_for(command: str, root: Path) -> None:
    if "ADEChallengeData2016" in command:
        ade_stand_in(root)
    elif "nnUNet_raw" in command:
        nnunet_stand_in(root)
    elif "cityscapes/gtFine" in command:
        cityscapes_stand_in(root, "results", "cityscapes/gtFine/val", flat=True)
    elif "--pred-pattern" in command:
        cityscapes_stand_in(root, "pred", "gtFine/val", flat=False)
    elif "--pairs -" in command:
        mirrored_stand_in(root)
    else:
        raise AssertionError(f"no stand-in for the README command {command!r}")


def test_the_readme_shows_the_three_datasets():
    commands = datasets_commands()
    assert any("--label-map cityscapes" in c for c in commands)
    assert any("--label-map reduce-zero" in c for c in commands)
    assert any("--dataset-json" in c for c in commands)


@pytest.mark.parametrize("command", datasets_commands())
def test_readme_dataset_commands_run(command: str, tmp_path: Path):
    import shlex
    import subprocess
    import sys

    stand_in_for(command, tmp_path)
    lossctl = f"{shlex.quote(sys.executable)} -m lossctl"
    line = re.sub(r"(^|\| )lossctl ", lambda m: f"{m.group(1)}{lossctl} ", command) + " -f json"
    env = {**os.environ, "PYTHONPATH": str(README.parent)}
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, (line, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["summary"]["count"] >= 2 and doc["errors"] == [], doc
    if "cityscapes" in command:
        assert doc["config"]["num_classes"] == 19 and doc["config"]["class_names"][0] == "road"
        assert all("/" not in image["name"] for image in doc["images"])  # */ dropped the city folder
    if "reduce-zero" in command:
        assert doc["config"]["num_classes"] == 150
    if "dataset-json" in command:
        assert doc["config"]["class_names"] == ["background", "road"]


def test_a_built_in_maps_names_are_used_unless_names_are_given(cli, tmp_path):
    import numpy as np

    results, gt_root = write_cityscapes(tmp_path, [np.full((2, 2), 7)], [np.full((2, 2), 7)])
    base = (results, gt_root, *CITYSCAPES_ARGS)
    assert cli("seg", *base, "--num-classes", "19").json()["config"]["class_names"][18] == "bicycle"
    names = ",".join(f"c{i}" for i in range(19))
    assert cli("seg", *base, "--class-names", names).json()["config"]["class_names"][18] == "c18"
    r = cli("seg", *base, "--num-classes", "20")
    assert r.code == 0 and r.json()["config"]["class_names"][19] == "19", r


@pytest.mark.parametrize("option", ["--pairs", "--label-map", "--class-names", "--dataset-json"])
def test_a_description_file_that_is_not_utf8_is_one_usage_error(cli, seg, tmp_path, option):
    """One reader for the text files that describe a run: not UTF-8 is exit 2 (its contents), a folder exit 3."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe,x\n")
    value = f"@{bad}" if option == "--class-names" else str(bad)
    inputs = () if option == "--pairs" else (seg.pred, seg.gt)
    r = cli("seg", *inputs, option, value)
    assert r.code == 2 and "bad.csv: the " in r.err and "is not UTF-8 text (byte 0); save it as UTF-8" in r.err, r
    assert_no_traceback(r)
    if option in ("--pairs", "--dataset-json"):
        r = cli("seg", *inputs, option, tmp_path)
        assert r.code == 3 and "is a folder; give the file" in r.err, r
