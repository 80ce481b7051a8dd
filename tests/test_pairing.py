"""Tests of lossctl.pairing: matching prediction files to ground-truth files by relative name."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lossctl.errors import InputError, PairingError
from lossctl.pairing import Pair, Pairing, pair_files


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
        "--allow-missing",
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
    assert_pairing_error(excinfo, pred, "1 prediction has no ground truth", "(b)", "--allow-missing")
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
