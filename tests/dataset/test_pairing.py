"""Tests of lossctl.dataset.pairing and pair_lists: matching prediction files to ground-truth files by name.

Through the CLI, every way of pairing (name patterns, a list of pairs in a file or on stdin) is checked to give
the same report as the folder rule on the same files (only the ``config`` entries that say where the pairs came
from, and the file paths, differ). The bad inputs of pairing are rows of tests/cli/test_seg_bad_input.py.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from support import GOOD, cityscapes_layout, comparable, folder_report, make_seg_set, write_list

from lossctl.errors import InputError, PairingError, UsageError
from lossctl.dataset.pair_lists import read_pairs
from lossctl.dataset.pairing import Pair, Pairing, compile_pattern, pair_files


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def assert_pairing_error(excinfo: pytest.ExceptionInfo[PairingError], path: Path | str, *phrases: str) -> None:
    message = str(excinfo.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: "), message
    assert ";" in message, message
    for phrase in phrases:
        assert phrase in message, message


@pytest.fixture()
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    pred = tmp_path / "pred"
    gt = tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    return pred, gt


def test_recursive_pairing_across_suffixes(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a/x.npy", "a/y.NPZ", "b/c/z.tif", "top.npy")
    touch(gt, "a/x.png", "a/y.png", "b/c/z.tiff", "top.PNG")
    pairing = pair_files(pred, gt)
    assert [pair.name for pair in pairing.pairs] == ["a/x", "a/y", "b/c/z", "top"]
    assert pairing.pairs[0] == Pair(name="a/x", pred=pred / "a" / "x.npy", gt=gt / "a" / "x.png")
    assert pairing.pairs[2].gt == gt / "b" / "c" / "z.tiff"
    assert pairing.missing_gt == [] and pairing.missing_pred == []
    assert pairing.complete
    pairing.require_complete()


def test_accepts_str_paths(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy")
    touch(gt, "a.png")
    pairing = pair_files(str(pred), str(gt))
    assert pairing.pairs == [Pair(name="a", pred=pred / "a.npy", gt=gt / "a.png")]


def test_single_files(tmp_path: Path) -> None:
    touch(tmp_path, "run/case 1.npy", "masks/other.png")
    pairing = pair_files(tmp_path / "run" / "case 1.npy", tmp_path / "masks" / "other.png")
    assert pairing.pairs == [
        Pair(name="case 1", pred=tmp_path / "run" / "case 1.npy", gt=tmp_path / "masks" / "other.png")
    ]
    assert pairing.missing_gt == [] and pairing.missing_pred == []


def test_sorted_independent_of_creation_order(tmp_path: Path) -> None:
    names = ["m", "b", "z", "a/q", "a", "c/d/e", "B"]
    first = tmp_path / "one"
    second = tmp_path / "two"
    for root, order in ((first, names), (second, list(reversed(names)))):
        for name in order:
            touch(root / "pred", f"{name}.npy")
            touch(root / "gt", f"{name}.png")
    one = pair_files(first / "pred", first / "gt")
    two = pair_files(second / "pred", second / "gt")
    expected = sorted(names)
    assert [pair.name for pair in one.pairs] == expected
    assert [pair.name for pair in two.pairs] == expected


def test_missing_on_each_side(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy", "b.npy", "p1.npy", "p2.npy", "p3.npy", "p4.npy")
    touch(gt, "a.png", "b.png", "g1.png")
    pairing = pair_files(pred, gt)
    assert [pair.name for pair in pairing.pairs] == ["a", "b"]
    assert pairing.missing_gt == ["p1", "p2", "p3", "p4"]
    assert pairing.missing_pred == ["g1"]
    assert not pairing.complete
    with pytest.raises(PairingError) as excinfo:
        pairing.require_complete()
    assert_pairing_error(
        excinfo,
        pred,
        "4 predictions have no ground truth",
        "p1, p2, p3, ... (1 more)",
        "1 ground-truth file has no prediction",
        "(g1)",
        "allow_missing=True",
        "2 complete pairs",
    )
    assert "p4" not in str(excinfo.value)
    assert isinstance(excinfo.value, InputError)


def test_missing_ground_truth_only(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy", "b.npy")
    touch(gt, "a.png")
    pairing = pair_files(pred, gt)
    assert pairing.missing_gt == ["b"] and pairing.missing_pred == []
    with pytest.raises(PairingError) as excinfo:
        pairing.require_complete()
    assert_pairing_error(excinfo, pred, "1 prediction has no ground truth", "(b)", "allow_missing=True")
    assert "no prediction" not in str(excinfo.value)


def test_require_complete_on_hand_made_pairing() -> None:
    Pairing(pairs=[], missing_gt=[], missing_pred=[]).require_complete()
    with pytest.raises(PairingError) as excinfo:
        Pairing(pairs=[], missing_gt=[], missing_pred=["x", "y"]).require_complete()
    assert_pairing_error(excinfo, "pairing", "2 ground-truth files have no prediction", "(x, y)")


def test_duplicate_stems(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy")
    touch(gt, "sub/a.png", "sub/a.npy")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt)
    assert_pairing_error(excinfo, gt / "sub" / "a.npy", str(gt / "sub" / "a.png"), "'sub/a'", "keep only one")


def test_duplicate_stems_differing_in_suffix_case(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.png", "a.PNG")
    touch(gt, "a.png")
    if len(list(pred.iterdir())) < 2:  # pragma: no cover - case-insensitive file system
        pytest.skip("the file system folds case")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt)
    assert "keep only one" in str(excinfo.value)


def test_empty_dir(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(gt, "a.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt)
    assert_pairing_error(excinfo, pred, "prediction folder holds no", ".png", ".npz")


def test_dir_with_only_unsupported_files(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy")
    touch(gt, "a.bmp", "notes.txt", ".hidden.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt)
    assert_pairing_error(excinfo, gt, "ground-truth folder holds no", "2 other files", "a.bmp")


def test_missing_dir(tmp_path: Path) -> None:
    touch(tmp_path, "gt/a.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(tmp_path / "nope", tmp_path / "gt")
    assert_pairing_error(excinfo, tmp_path / "nope", "prediction path does not exist")
    touch(tmp_path, "pred/a.npy")
    with pytest.raises(PairingError) as excinfo:
        pair_files(tmp_path / "pred", tmp_path / "missing gt")
    assert_pairing_error(excinfo, tmp_path / "missing gt", "ground-truth path does not exist")


def test_file_vs_dir(tmp_path: Path) -> None:
    touch(tmp_path, "pred/a.npy", "gt/a.png", "one.npy", "one.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(tmp_path / "one.npy", tmp_path / "gt")
    assert_pairing_error(excinfo, tmp_path / "one.npy", "is a file", str(tmp_path / "gt"), "two files or two folders")
    with pytest.raises(PairingError) as excinfo:
        pair_files(tmp_path / "pred", tmp_path / "one.png")
    assert_pairing_error(excinfo, tmp_path / "one.png", "is a file", str(tmp_path / "pred"))


def test_hidden_files_and_dirs_ignored(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy", ".b.npy", ".cache/c.npy", "sub/.d.npy", "notes.txt")
    touch(gt, "a.png", ".b.png", ".cache/c.png", ".git/e.png")
    pairing = pair_files(pred, gt)
    assert [pair.name for pair in pairing.pairs] == ["a"]
    assert pairing.missing_gt == [] and pairing.missing_pred == []


def test_hidden_root_is_scanned(tmp_path: Path) -> None:
    touch(tmp_path, ".pred/a.npy", ".gt/a.png")
    assert [pair.name for pair in pair_files(tmp_path / ".pred", tmp_path / ".gt").pairs] == ["a"]


def test_no_pair_in_common(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "img_001.npy", "img_002.npy")
    touch(gt, "mask_001.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt)
    assert_pairing_error(
        excinfo, pred, "2 predictions", "1 ground-truth file", str(gt), "'img_001'", "'mask_001'", "same relative path"
    )


def test_names_with_spaces_and_non_ascii(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "é x.npy", "dossier été/ü b.npy")
    touch(gt, "é x.png", "dossier été/ü b.tif")
    pairing = pair_files(pred, gt)
    assert [pair.name for pair in pairing.pairs] == ["dossier été/ü b", "é x"]
    assert pairing.pairs[1].pred == pred / "é x.npy"


def test_unicode_normalisation_matches_nfd_and_nfc(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "cafe\u0301.npy")  # decomposed, as macOS stores it
    touch(gt, "caf\u00e9.png")  # composed
    pairing = pair_files(pred, gt)
    assert [pair.name for pair in pairing.pairs] == ["caf\u00e9"]
    assert pairing.pairs[0].pred == pred / "cafe\u0301.npy"


def test_custom_suffixes(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy", "b.png")
    touch(gt, "a.npy", "b.png")
    pairing = pair_files(pred, gt, suffixes=(".npy",))
    assert [pair.name for pair in pairing.pairs] == ["a"]


def test_multi_dot_names_keep_inner_dots(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "scan.v2.npy")
    touch(gt, "scan.v2.png")
    assert [pair.name for pair in pair_files(pred, gt).pairs] == ["scan.v2"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can list any folder")
def test_unreadable_subfolder(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "a.npy", "locked/b.npy")
    touch(gt, "a.png")
    (pred / "locked").chmod(0)
    try:
        with pytest.raises(PairingError) as excinfo:
            pair_files(pred, gt)
        assert "permission denied" in str(excinfo.value)
    finally:
        (pred / "locked").chmod(0o755)


# -- name patterns ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern, path, name", [
    ("{name}_gtFine_labelIds.png", "frankfurt/frankfurt_000000_000294_gtFine_labelIds.png",
     "frankfurt/frankfurt_000000_000294"),
    ("{name}_gtFine_labelIds.png", "frankfurt/frankfurt_000000_000294_gtFine_color.png", None),
    ("*/{name}.png", "a/x.png", "x"),
    ("*/{name}.png", "x.png", None),
    ("img_?{name}.npy", "img_7a.npy", "a"),
    ("{name}", "a/b.png", "a/b.png"),
    ("case_{name}.nii.gz", "case_001.nii.gz", "001"),
    ("{name}.png", "x[1](2).png", "x[1](2)"),  # regex characters are literal
])
def test_pattern_names(pattern: str, path: str, name: str | None) -> None:
    assert compile_pattern(pattern).name_of(path) == name


@pytest.mark.parametrize("pattern, phrase", [
    ("x.png", "has no {name}"), ("{name}/{name}.png", "has 2 {name}"), ("{id}_{name}.png", "brace"),
    ("/abs/{name}.png", "relative"), ("../{name}.png", "relative"),
])
def test_malformed_patterns(pattern: str, phrase: str) -> None:
    with pytest.raises(UsageError, match=re.escape(phrase)) as excinfo:
        compile_pattern(pattern)
    assert "--" not in str(excinfo.value)  # the CLI adds the option's name


def test_patterns_pair_folders_and_ignore_unmatched_files(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "c1/x_leftImg8bit.png", "c1/y_leftImg8bit.png")
    touch(gt, "c1/x_gtFine_labelIds.png", "c1/x_gtFine_color.png", "c1/y_gtFine_labelIds.png")
    pairing = pair_files(pred, gt, pred_pattern=compile_pattern("{name}_leftImg8bit.png"),
                         gt_pattern=compile_pattern("{name}_gtFine_labelIds.png"))
    assert [(p.name, p.gt.name) for p in pairing.pairs] == [("c1/x", "x_gtFine_labelIds.png"),
                                                            ("c1/y", "y_gtFine_labelIds.png")]
    assert pairing.complete


def test_a_pattern_matching_nothing(dirs: tuple[Path, Path]) -> None:
    pred, gt = dirs
    touch(pred, "x.png")
    touch(gt, "x_color.png")
    with pytest.raises(PairingError) as excinfo:
        pair_files(pred, gt, gt_pattern=compile_pattern("{name}_labelIds.png"))
    assert_pairing_error(excinfo, gt, "no ground-truth file matches the pattern '{name}_labelIds.png'",
                         "1 other file", "x_color.png")


# -- lists of pairs -----------------------------------------------------------------------------------------------


def test_read_pairs_forms(tmp_path: Path) -> None:
    text = "pred,gt,name\np/b.npy,g/b.png,beta\n\n/abs/a.npy,g/a.png,alpha\n"
    pairing = read_pairs(text, base=tmp_path, source="l.csv")
    assert pairing.pairs == [Pair("alpha", Path("/abs/a.npy"), tmp_path / "g/a.png"),
                             Pair("beta", tmp_path / "p/b.npy", tmp_path / "g/b.png")]
    tabbed = read_pairs("p/a,b.npy\tg/a,b.png\n", base=tmp_path, source="l.tsv")  # a comma inside a TSV cell
    assert tabbed.pairs == [Pair("g/a,b", tmp_path / "p/a,b.npy", tmp_path / "g/a,b.png")]
    assert read_pairs("p/x.npy,./g/x.tar.gz\n", base=tmp_path, source="-").pairs[0].name == "g/x.tar"


@pytest.mark.parametrize("text, phrase", [
    ("a.npy,a.png\nb.npy\n", "l.csv line 2: has 1 column"),
    ("a.npy,a.png,x,y\n", "l.csv line 1: has 4 columns"),
    ("a.npy,,x\n", "l.csv line 1: the ground-truth path is empty"),
    ("a.npy,a.png,../x\n", "l.csv line 1: the image name '../x' holds '..'"),
    ("a.npy,../a.png\n", "l.csv line 1: the image name '../a' holds '..'"),
    ("a.npy,a.png\nb.npy,a.png\n", "l.csv line 2: the name 'a' is already used by line 1"),
    ("x/../a.png,a.png,n\n", "l.csv line 1: x/../a.png is both the prediction and the ground truth"),
    ("pred,gt\n\n", "l.csv: holds no pair"),
])
def test_malformed_lists(tmp_path: Path, text: str, phrase: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        read_pairs(text, base=tmp_path, source="l.csv")
    assert phrase in str(excinfo.value) and "\n" not in str(excinfo.value)


def test_without_absent_files(tmp_path: Path) -> None:
    touch(tmp_path, "p/a.npy", "g/a.png", "p/b.npy", "g/c.png")
    pairing = read_pairs("p/a.npy,g/a.png\np/b.npy,g/b.png\np/c.npy,g/c.png\n", base=tmp_path, source="l")
    kept = pairing.without_absent_files()
    assert [p.name for p in kept.pairs] == ["g/a"]
    assert kept.missing_gt == ["g/b"] and kept.missing_pred == ["g/c"]


def test_same_folder_refused_but_not_with_two_patterns(dirs: tuple[Path, Path]) -> None:
    pred, _ = dirs
    touch(pred, "x_p.png", "x_g.png")
    with pytest.raises(UsageError, match="both the prediction and the ground-truth folder"):
        pair_files(pred, pred.parent / "pred")
    pairing = pair_files(pred, pred, pred_pattern=compile_pattern("{name}_p.png"),
                         gt_pattern=compile_pattern("{name}_g.png"))
    assert [(p.pred.name, p.gt.name) for p in pairing.pairs] == [("x_p.png", "x_g.png")]


# ----------------------------------------------------------------------------------------------------------
# Through the CLI: every way of pairing gives the folder rule's report
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


def test_output_does_not_depend_on_directory_listing_order(cli, tmp_path, monkeypatch):
    data = make_seg_set(tmp_path / "data", names=("b", "a", "c", "d"))
    first = cli("seg", data.pred, data.gt, "-f", "json", "--workers", "1").out
    real = os.scandir

    def reversed_scandir(path="."):
        entries = list(real(path))
        return _Iter(entries[::-1])

    monkeypatch.setattr(os, "scandir", reversed_scandir)
    assert cli("seg", data.pred, data.gt, "-f", "json", "--workers", "1").out == first
    assert cli("seg", data.pred, data.gt, "-f", "csv", "--workers", "2").out == cli(
        "seg", data.pred, data.gt, "-f", "csv", "--workers", "1").out


class _Iter:
    """A scandir-like iterator over a list (supports the context-manager protocol os.walk uses)."""

    def __init__(self, entries):
        self._it = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass
