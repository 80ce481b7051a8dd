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
from test_cli_support import SegSet, cli, make_seg_set, write_npy, write_palette_png  # noqa: F401

SOURCE_KEYS = ("pred", "gt", "pred_pattern", "gt_pattern", "pairs")


@pytest.fixture
def seg(tmp_path: Path) -> SegSet:
    return make_seg_set(tmp_path / "data")


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
    assert len(r.error_lines()) == 2 and all("no such file" in line for line in r.error_lines()), r
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
        r"no such file", r"check the path", r"no such file", 3, per_file=True),
    Row("pairs-and-pred-gt", listing([], offender="--pairs", extra=("pred", "gt")),
        r"lists the pairs, so PRED and GT are not given", r"drop .* or --pairs", r"PRED and GT are not given", 2),
    Row("name-holding-dot-dot", listing(["pred/b.npy,gt/b.png,../b"], line=1), r"the image name '\.\./b' holds '\.\.'",
        r"give a name column without '\.\.'", r"holds '\.\.'", 2),
    Row("default-name-holding-dot-dot", listing(["pred/b.npy,../data/gt/b.png"], line=1),
        r"the image name '\.\./data/gt/b' holds '\.\.'", r"give a name column", r"holds '\.\.'", 2),
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
    for offender, line in zip(case.offenders, lines):
        assert offender in line, (offender, line)
        assert re.search(row.phrase, line), (row.phrase, line)
        assert re.search(row.fix, line), (row.fix, line)
    if row.code == 2:
        assert r.out == "", r
    if row.per_file:
        r = cli("seg", *case.argv, "-f", "json", stdin=case.stdin)
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == [f"gt/{n}" for n in GOOD], doc["images"]
        assert len(doc["errors"]) == 1 and doc["summary"]["count"] == 3


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_readme_troubleshooting_mentions_row(row: Row):
    assert re.search(row.readme, troubleshooting_section()), row.readme
