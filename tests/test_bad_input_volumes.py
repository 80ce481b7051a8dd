"""The bad-input matrix of volumes (NIfTI, NRRD, MetaImage) and boundary-metric options, through the real CLI.

As in test_bad_input_matrix.py: each row builds 3 good NIfTI pairs (``a``, ``b``, ``c``) plus ONE bad pair (or
one bad option) and checks the documented exit code, exactly one ``error:`` line naming the offending file (or
option) with the problem and a fix, no traceback, that the 3 good pairs are still evaluated (per-file rows),
and that README.md's troubleshooting section mentions the problem.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nibabel
import numpy as np
import pytest

from support import assert_no_traceback, troubleshooting_section

GOOD = ["a", "b", "c"]
SPACING = (0.8, 0.8, 2.5)
SHAPE = (10, 12, 8)
BOUNDARY = ("-m", "dice", "-m", "hd95")


def labels(offset: int = 0, shape=SHAPE) -> np.ndarray:
    a = np.zeros(shape, np.uint8)
    a[2 + offset:7 + offset, 3:9, 2:6] = 1
    a[4 + offset:6 + offset, 5:7, 3:5] = 2
    return a


def nifti(path: Path, array: np.ndarray, spacing=SPACING, affine=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(array, np.diag([*spacing, 1.0]) if affine is None else affine), path)
    return path


def metaimage(path: Path, array_zyx: np.ndarray, spacing_text: str) -> Path:
    header = (f"ObjectType = Image\nNDims = 3\nDimSize = {' '.join(map(str, reversed(array_zyx.shape)))}\n"
              f"ElementSpacing = {spacing_text}\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + array_zyx.astype(np.uint8).tobytes())
    return path


@dataclass
class Volumes:
    pred: Path
    gt: Path


@dataclass
class Case:
    args: tuple[str, ...] = ()
    offender: str = ""


@dataclass
class Row:
    id: str
    build: Callable[[Volumes], Case]
    phrase: str
    fix: str
    readme: str
    code: int = 3
    per_file: bool = True


def make_volumes(root: Path) -> Volumes:
    v = Volumes(root / "pred", root / "gt")
    for i, name in enumerate(GOOD):
        nifti(v.gt / f"{name}.nii.gz", labels())
        nifti(v.pred / f"{name}.nii.gz", labels(offset=i % 2))
    return v


def bad_gt(write: Callable[[Path], Path], name: str = "bad.nii.gz", *args: str) -> Callable[[Volumes], Case]:
    def build(v: Volumes) -> Case:
        nifti(v.pred / "bad.nii.gz", labels())
        return Case(args, str(write(v.gt / name)))
    return build


def bad_pred(write: Callable[[Path], Path], *args: str) -> Callable[[Volumes], Case]:
    def build(v: Volumes) -> Case:
        nifti(v.gt / "bad.nii.gz", labels())
        return Case(args, str(write(v.pred / "bad.nii.gz")))
    return build


def option(*args: str, offender: str) -> Callable[[Volumes], Case]:
    return lambda v: Case(args, offender)


def four_d(path: Path) -> Path:
    return nifti(path, np.stack([labels(), labels()], axis=-1))


def truncated_gz(path: Path) -> Path:
    nifti(path, labels())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def short_data_nii(path: Path) -> Path:
    full = nifti(path.with_suffix("").with_suffix(".nii"), labels())
    data = full.read_bytes()
    full.write_bytes(data[:-100])  # the header still declares every voxel
    return full


def nifti_zero_spacing(path: Path) -> Path:
    # nibabel repairs a zero pixdim when it writes, so patch the stored header: pixdim[2] is bytes 84..88
    raw = nifti(path.with_name("raw.nii"), labels())
    data = bytearray(raw.read_bytes())
    data[84:88] = np.float32(0.0).tobytes()
    raw.unlink()
    with gzip.open(path, "wb") as handle:
        handle.write(bytes(data))
    return path


def mha_spacing(text: str) -> Callable[[Path], Path]:
    return lambda path: metaimage(path.with_name("bad.mha"), labels().transpose(2, 1, 0), text)


def spacing_mismatch(path: Path) -> Path:
    return nifti(path, labels(), spacing=(0.8, 0.8, 3.0))


def orientation_mismatch(path: Path) -> Path:
    affine = np.diag([*SPACING, 1.0])
    affine[:3, :3] = np.array([[0, 0.8, 0], [0.8, 0, 0], [0, 0, 2.5]])  # axes 0 and 1 swapped in the world
    return nifti(path, labels(), affine=affine)


def shape_mismatch(path: Path) -> Path:
    return nifti(path, labels(shape=(10, 12, 9)))


def non_integral(path: Path) -> Path:
    a = labels().astype(np.float32)
    a[3, 4, 3] = 0.5
    return nifti(path, a)


def mha_gt_with_nifti_pred(v: Volumes) -> Case:
    nifti(v.pred / "bad.nii.gz", labels())
    return Case((), str(mha_spacing("2.5 0.8 -0.8")(v.gt / "bad.nii.gz")))


ROWS = [
    Row("4d-label-volume", bad_gt(four_d), r"a 4D volume \(10, 12, 8, 2\) where a 3D label volume is expected",
        r"save the ground truth as one 3D label map", r"4D volume"),
    Row("truncated-nii-gz", bad_gt(truncated_gz), r"truncated", r"re-export it", r"truncated"),
    Row("header-shape-not-matching-data", bad_gt(short_data_nii, "bad.nii"),
        r"the header declares 10x12x8 uint8 voxels .* but the file has", r"re-export it",
        r"header does not match"),
    Row("zero-spacing-nifti", bad_gt(nifti_zero_spacing), r"voxel spacing 0 on axis 1", r"pass --spacing",
        r"spacing .* is not a positive number"),
    Row("negative-spacing", mha_gt_with_nifti_pred, r"voxel spacing -0.8 on axis 0 \(of -0.8, 0.8, 2.5\)", r"fix the header",
        r"spacing .* is not a positive number"),
    Row("nan-spacing", bad_gt(mha_spacing("nan 0.8 2.5"), "bad.mha"), r"voxel spacing nan on axis 2",
        r"pass --spacing to override", r"spacing .* is not a positive number"),
    Row("spacing-mismatch", bad_pred(spacing_mismatch), r"voxel spacing \(0.8, 0.8, 3\) does not match the "
        r"ground truth .*bad\.nii\.gz \(0.8, 0.8, 2.5\)", r"resample the prediction", r"spacing .* does not match"),
    Row("orientation-mismatch", bad_pred(orientation_mismatch), r"orientation .* does not match the ground truth",
        r"resample the prediction", r"orientation .* does not match"),
    Row("shape-mismatch", bad_pred(shape_mismatch), r"shape \(10, 12, 9\) does not match the ground truth",
        r"resample the prediction", r"shape .* does not match"),
    Row("non-integral-float-labels", bad_gt(non_integral), r"float32 volume with 1 non-integral or negative",
        r"save the labels as integers", r"non-integral"),
    Row("spacing-option-wrong-length", option(*BOUNDARY, "--spacing", "1,1", offender="--spacing gives 2"),
        r"--spacing gives 2 values but the ground truth has 3 axes", r"give 3 values", r"--spacing gives",
        per_file=False),
    Row("spacing-option-not-positive", option(*BOUNDARY, "--spacing", "1,0,1", offender="--spacing '1,0,1'"),
        r"0 is not a positive number", r"give finite values", r"--spacing", code=2, per_file=False),
    Row("region-label-beyond-classes", option("--region", "ET=4", "--num-classes", "3", offender="'ET=4'"),
        r"label 4 is not a foreground class \(1\.\.2\)", r"fix the region's labels", r"not a foreground class",
        code=2, per_file=False),
    Row("region-label-beyond-data", option("--region", "ET=4", offender="--region ET=4"),
        r"label 4 is beyond the data's 3 classes", r"fix the region's labels", r"beyond the data",
        code=2, per_file=False),
    Row("region-named-like-a-class", option("--region", "tumour=1,2", "--class-names", "bg,organ,tumour",
                                            offender="'tumour=1,2'"),
        r"'tumour' is a class's name", r"give the region a name of its own", r"a class's name", code=2,
        per_file=False),
    Row("region-named-like-a-number", option("--region", "2=1,2", offender="'2=1,2'"),
        r"'2' is not a plain name", r"give the region a name of its own", r"a class's name", code=2,
        per_file=False),
    Row("convention-lacks-boundary-metric", option("-m", "masd", "--convention", "medpy", offender="masd"),
        r"--convention medpy has no masd", r"use --convention lossctl or deepmind", r"has no masd", code=2,
        per_file=False),
    Row("medpy-percentile", option("-m", "hd95", "--convention", "medpy", "-p", "hd95.percentile=90",
                                   offender="--convention medpy"),
        r"hd95 has no parameter 'percentile' under --convention medpy", r"its parameters: \(none\)",
        r"has no parameter 'percentile'", code=2, per_file=False),
    Row("bad-empty-distance", option("-m", "hd", "--empty-distance", "far", offender="'far'"),
        r"choose diagonal, nan or a number", r"BraTS 2023 uses 374", r"--empty-distance", code=2,
        per_file=False),
]


@pytest.fixture
def volumes(tmp_path):
    return make_volumes(tmp_path / "v")


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_volume_row(cli, volumes, row: Row):
    case = row.build(volumes)
    args = case.args if any(a.startswith("-m") for a in case.args) else (*BOUNDARY, *case.args)
    r = cli("seg", volumes.pred, volumes.gt, *args)
    assert r.code == row.code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    if not row.per_file and case.offender.startswith("--spacing gives"):
        assert len(lines) == len(GOOD) and all(case.offender in line for line in lines), r  # every pair: wrong rank
        return
    assert len(lines) == 1, r
    assert case.offender in lines[0], (case.offender, lines[0])
    assert re.search(row.phrase, lines[0]), (row.phrase, lines[0])
    assert re.search(row.fix, lines[0]), (row.fix, lines[0])
    if row.per_file:
        r = cli("seg", volumes.pred, volumes.gt, *args, "-f", "json")
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == GOOD, r
        assert [e["file"] for e in doc["errors"]] == [case.offender]


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_readme_troubleshooting_mentions_volume_row(row: Row):
    assert re.search(row.readme, troubleshooting_section()), row.readme


def test_boundary_metric_of_a_2d_image_without_spacing_says_so(cli, tmp_path):
    from support import write_palette_png

    a = np.zeros((9, 10), np.uint8)
    a[2:6, 3:8] = 1
    b = np.roll(a, 1, axis=1)
    write_palette_png(tmp_path / "gt" / "x.png", a)
    write_palette_png(tmp_path / "pred" / "x.png", b)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "hd", "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert "1.0 per axis" in doc["config"]["spacing"]
    assert doc["images"][0]["spacing"] == [1.0, 1.0] and doc["images"][0]["spacing_source"] == "default"
    assert doc["images"][0]["values"]["hd"] == 1.0


def test_nifti_header_spacing_is_float32_and_still_matches(cli, tmp_path):
    # 0.8 is stored as 0.800000011920929 by NIfTI and 0.8 by NRRD: the relative tolerance accepts both
    import nrrd

    nifti(tmp_path / "gt" / "x.nii.gz", labels())
    (tmp_path / "pred").mkdir()
    nrrd.write(str(tmp_path / "pred" / "x.nrrd"), labels(), {"space directions": np.diag(SPACING)})
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", *BOUNDARY, "-f", "json")
    assert r.code == 0, r


def test_gz_that_is_not_nifti_is_named(cli, volumes):
    nifti(volumes.pred / "bad.nii.gz", labels())
    with gzip.open(volumes.gt / "bad.nii.gz", "wb") as handle:
        handle.write(b"not a nifti header" * 30)
    r = cli("seg", volumes.pred, volumes.gt, *BOUNDARY)
    assert r.code == 3 and len(r.error_lines()) == 1 and "bad.nii.gz" in r.error_lines()[0], r
    assert_no_traceback(r)
