"""lossctl.io.volumes: NIfTI, NRRD and MetaImage files written by nibabel, pynrrd and SimpleITK, read with their
dtype, axis order and spacing, and their decoded size checked from the header.

The spacing rules of a pair are in tests/dataset/test_geometry.py, the boundary metrics in
tests/metrics/test_boundary.py, the bad volumes in tests/cli/test_seg_bad_input.py.
"""

from __future__ import annotations

from pathlib import Path

import nrrd
import numpy as np
import pytest
from support import SPACING, box_labels, write_nifti

from lossctl import io
from lossctl.errors import InputError


def _sitk():
    """SimpleITK, imported when a test needs it: its import alone takes ~130 MB, which a forked child's
    peak RSS would inherit in the memory tests of other modules."""
    import SimpleITK

    return SimpleITK


def write_mha(path: Path, zyx: np.ndarray, spacing_xyz, compress: bool = False) -> Path:
    sitk = _sitk()
    path.parent.mkdir(parents=True, exist_ok=True)
    image = sitk.GetImageFromArray(zyx)
    image.SetSpacing(tuple(float(s) for s in spacing_xyz))
    sitk.WriteImage(image, str(path), useCompression=compress)
    return path


# --------------------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.nii", "x.nii.gz"])
def test_nifti_keeps_dtype_order_and_spacing(tmp_path, name):
    a = box_labels()
    loaded = io.load_array(write_nifti(tmp_path / name, a))
    assert loaded.format == "nifti" and loaded.array.dtype == np.uint8
    assert np.array_equal(loaded.array, a)
    assert loaded.spacing == pytest.approx(SPACING, rel=1e-6)  # float32 in the header
    assert loaded.spacing[0] != 0.8  # 0.800000011920929: why spacing is compared with a relative tolerance
    assert loaded.frame == "RAS"  # NIfTI's world frame (the HTML report names planes by it)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("suffix", [".mha", ".mhd"])
def test_metaimage_spacing_is_reversed_to_the_array_order(tmp_path, suffix, compress):
    sitk = _sitk()
    zyx = box_labels((5, 6, 7)).astype(np.int16)
    path = write_mha(tmp_path / f"x{suffix}", zyx, (0.5, 0.7, 3.0), compress)
    loaded = io.load_array(path)
    assert loaded.array.shape == (5, 6, 7) and loaded.array.dtype == np.int16
    assert np.array_equal(loaded.array, sitk.GetArrayFromImage(sitk.ReadImage(str(path))))
    assert loaded.spacing == (3.0, 0.7, 0.5)  # SimpleITK's (x, y, z) reversed to the array's (z, y, x)
    assert loaded.spacing == tuple(reversed(sitk.ReadImage(str(path)).GetSpacing()))
    assert loaded.frame == "LPS"  # ITK's world frame


def test_metaimage_direction_follows_the_array_axes(tmp_path):
    sitk = _sitk()
    zyx = box_labels((5, 6, 7))
    image = sitk.GetImageFromArray(zyx)
    image.SetDirection((0, 1, 0, -1, 0, 0, 0, 0, 1))  # x axis along world y, y axis along world -x
    path = tmp_path / "x.mha"
    sitk.WriteImage(image, str(path))
    loaded = io.load_array(path)
    # array axis 0 is z, axis 2 is x: their world directions are the direction matrix's columns 2 and 0
    assert loaded.direction[0] == pytest.approx((0, 0, 1))
    assert loaded.direction[2] == pytest.approx(image.TransformIndexToPhysicalPoint((1, 0, 0)))


def test_nrrd_default_order_and_spacing_from_space_directions(tmp_path):
    a = box_labels()
    path = tmp_path / "x.nrrd"
    nrrd.write(str(path), a, {"space": "left-posterior-superior", "space directions": np.diag(SPACING)})
    loaded = io.load_array(path)
    assert np.array_equal(loaded.array, nrrd.read(str(path))[0])
    assert loaded.spacing == SPACING and loaded.array.dtype == np.uint8
    assert loaded.frame == "LPS"  # from the space field
    for space, frame in (("RAS", "RAS"), ("left-anterior-superior", "LAS"), ("scanner-xyz", None)):
        nrrd.write(str(path), a, {"space": space, "space directions": np.diag(SPACING)})
        assert io.load_array(path).frame == frame, space
    nrrd.write(str(path), a, {"spacings": SPACING})  # no space: no anatomical frame
    assert io.load_array(path).frame is None


def test_nii_gz_pairs_with_nrrd_as_one_suffix(cli, tmp_path):
    a, b = box_labels(), box_labels(offset=1)
    write_nifti(tmp_path / "pred" / "case_01.nii.gz", b)
    (tmp_path / "gt").mkdir()
    nrrd.write(str(tmp_path / "gt" / "case_01.nrrd"), a, {"space directions": np.diag(SPACING)})
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "hd", "-f", "json")
    assert r.code == 0, r
    [image] = r.json()["images"]
    assert image["name"] == "case_01"
    assert image["spacing"] == pytest.approx(SPACING) and image["spacing_source"] == "header"
    assert image["values"]["hd"] == pytest.approx(0.8, rel=1e-6)  # one voxel along axis 0


def test_decoded_size_is_checked_from_the_header(tmp_path):
    path = write_nifti(tmp_path / "big.nii.gz", np.zeros((40, 40, 40), np.uint8))
    with pytest.raises(InputError, match=r"declares 40x40x40 = 64,000 voxels.*raise max_pixels"):
        io.load_array(path, max_pixels=1000)


def test_memory_budget_is_checked_from_the_header(cli, tmp_path):
    path = write_nifti(tmp_path / "gt" / "big.nii.gz", np.zeros((40, 40, 40), np.uint16))
    with pytest.raises(InputError, match=r"the volume \(40x40x40, 2 byte\(s\) per voxel\) decodes to .* memory"):
        io.load_array(path, max_memory=100_000)
    write_nifti(tmp_path / "pred" / "big.nii.gz", np.zeros((40, 40, 40), np.uint16))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "hd", "--max-memory", "100K")
    assert r.code == 3 and "--max-memory" in r.error_lines()[0], r
