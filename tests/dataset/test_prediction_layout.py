"""Issue 17, item 9: files as nnU-Net and friends write them.

* ``--pred-axes reversed`` (or a permutation) for a prediction in the other axis order: nnU-Net's ``.npz`` softmax
  is (C, z, y, x) while nibabel reads the ground truth (x, y, z); automatic only when both files say their order
  (a MetaImage against a NIfTI), never from the shapes;
* a leading batch axis of size 1 is dropped, with a note, when the array has two more axes than the ground truth;
* ``--geometry gt``: a prediction whose header is an identity affine takes the ground truth's.
"""

from __future__ import annotations

from pathlib import Path

import nibabel
import numpy as np
import pytest
from support import softmax, write_label_png, write_npy

from lossctl.dataset import geometry
from lossctl.io import load_array

SHAPE = (7, 6, 5)  # x, y, z as nibabel reads the ground truth
AFFINE = np.array([[-0.8, 0, 0, 10.0], [0, -0.8, 0, -4.0], [0, 0, 2.5, 30.0], [0, 0, 0, 1]])


def _nifti(path: Path, array: np.ndarray, affine: np.ndarray = AFFINE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(array, affine), path)
    return path


@pytest.fixture
def case(tmp_path: Path, rng: np.random.Generator) -> dict:
    gt = rng.integers(0, 3, SHAPE).astype(np.uint8)
    gt.flat[:3] = (0, 1, 2)
    logits = rng.normal(size=(3, *SHAPE))
    logits[(gt, *np.indices(SHAPE))] += 1.5
    probs = softmax(logits).astype(np.float32)  # (C, x, y, z): the ground truth's order
    gt_path = _nifti(tmp_path / "gt/case_001.nii.gz", gt)
    npz = tmp_path / "npz/case_001.npz"
    npz.parent.mkdir(parents=True)
    np.savez_compressed(npz, probabilities=probs.transpose(0, 3, 2, 1))  # nnU-Net: (C, z, y, x)
    write_npy(tmp_path / "ref/case_001.npy", probs)
    return {"gt": gt, "probs": probs, "gt_dir": gt_path.parent, "gt_path": gt_path, "npz": npz,
            "npz_dir": npz.parent, "ref_dir": tmp_path / "ref", "tmp": tmp_path}


def _numbers(doc: dict) -> list:
    return [(r["values"], r["per_class"], r["confusion_matrix"]) for r in doc["images"]]


# -- --pred-axes ------------------------------------------------------------------------------------------------


def test_nnunet_npz_is_refused_with_the_hint(cli, case):
    r = cli("seg", case["npz_dir"], case["gt_dir"], "-m", "dice")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {case['npz']}: the prediction has shape (3, 5, 6, 7) but the ground truth has (7, 6, 5); expected "
        "(C, 7, 6, 5) or (7, 6, 5) (its axes look reversed: (z, y, x), as SimpleITK and nnU-Net's .npz order them, "
        "against nibabel's (x, y, z)? pass --pred-axes reversed)"]


@pytest.mark.parametrize("spelling, recorded", [("reversed", "reversed"), ("0,3,2,1", [0, 3, 2, 1])])
def test_pred_axes_reads_nnunet_npz(cli, case, spelling, recorded):
    args = ("-m", "dice", "-m", "hd95", "-l", "ce", "-f", "json")
    r = cli("seg", case["npz_dir"], case["gt_dir"], "--pred-axes", spelling, *args)
    assert r.code == 0, r
    ref = cli("seg", case["ref_dir"], case["gt_dir"], *args).json()
    assert _numbers(r.json()) == _numbers(ref)
    assert r.json()["config"]["pred_axes"] == recorded
    assert r.json()["images"][0]["spacing"] == ref["images"][0]["spacing"]


def test_reversed_keeps_a_trailing_channel_axis(cli, case):
    (case["tmp"] / "last").mkdir()
    np.save(case["tmp"] / "last/case_001.npy", case["probs"].transpose(3, 2, 1, 0))  # (z, y, x, C)
    r = cli("seg", case["tmp"] / "last", case["gt_dir"], "--pred-axes", "reversed", "--channels-last", "-f", "json")
    assert r.code == 0, r
    assert _numbers(r.json()) == _numbers(cli("seg", case["ref_dir"], case["gt_dir"], "-f", "json").json())


def test_reversed_transposes_a_2d_label_map(cli, tmp_path, rng):
    gt = rng.integers(0, 3, (5, 8)).astype(np.uint8)
    write_label_png(tmp_path / "gt/a.png", gt)
    write_label_png(tmp_path / "pred/a.png", gt.T)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice", "--pred-axes", "reversed", "-f", "json")
    assert r.code == 0 and r.json()["images"][0]["values"]["dice"] == 1.0, r


def test_a_permutation_that_does_not_fit_the_array(cli, case):
    r = cli("seg", case["npz_dir"], case["gt_dir"], "--pred-axes", "0,2,1")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {case['npz']}: --pred-axes 0,2,1 is not a permutation of the prediction's 4 axes (shape (3, 5, 6, "
        "7)); give each of 0..3 once, or --pred-axes reversed"]


@pytest.mark.parametrize("text, message", [
    ("0,0,1", "--pred-axes '0,0,1': not a permutation; give each of 0..2 once, e.g. 0,2,1"),
    ("x,y", "--pred-axes 'x,y': give reversed, or a permutation of the prediction's axes separated by commas "
            "(numpy.transpose's order), e.g. 0,3,2,1"),
])
def test_malformed_pred_axes(cli, case, text, message):
    r = cli("seg", case["npz_dir"], case["gt_dir"], "--pred-axes", text)
    assert r.code == 2 and r.error_lines() == [f"error: {message}"], r


def test_a_cube_is_never_reordered_from_its_shape(cli, tmp_path, rng):
    """A 4x4x4 prediction in the reversed order has the ground truth's shape: nothing can tell, nothing is done."""
    gt = rng.integers(0, 2, (4, 4, 4)).astype(np.uint8)
    _nifti(tmp_path / "gt/c.nii.gz", gt)
    write_npy(tmp_path / "pred/c.npy", gt.transpose(2, 1, 0))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json")
    assert r.code == 0 and r.json()["images"][0]["notes"] == [], r
    cm = np.asarray(r.json()["images"][0]["confusion_matrix"])
    assert cm.trace() < gt.size  # read as stored
    fixed = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-axes", "reversed", "-f", "json")
    assert np.asarray(fixed.json()["images"][0]["confusion_matrix"]).trace() == gt.size


def test_a_metaimage_against_a_nifti_is_reordered_because_both_files_say_their_order(cli, tmp_path, case):
    import SimpleITK

    pred = case["probs"].argmax(axis=0).astype(np.uint8)  # (x, y, z)
    image = SimpleITK.GetImageFromArray(pred.transpose(2, 1, 0))  # SimpleITK's arrays are (z, y, x)
    image.SetSpacing((0.8, 0.8, 2.5))
    (tmp_path / "mha").mkdir()
    SimpleITK.WriteImage(image, str(tmp_path / "mha/case_001.mha"))
    _nifti(tmp_path / "nii/case_001.nii.gz", pred)
    r = cli("seg", tmp_path / "mha", case["gt_dir"], "-m", "dice", "-f", "json")
    assert r.code == 0, r
    assert r.json()["images"][0]["notes"] == [
        "the prediction is a MetaImage file, read (z, y, x), and the ground truth a NIfTI file, read (x, y, z): the "
        "prediction's axes were reversed to match"]
    assert _numbers(r.json()) == _numbers(cli("seg", tmp_path / "nii", case["gt_dir"], "-m", "dice", "-f",
                                              "json").json())


# -- a batch axis of one ----------------------------------------------------------------------------------------


def test_a_batch_axis_of_one_is_dropped_with_a_note(cli, seg, tmp_path):
    for name in seg.names:
        write_npy(tmp_path / "batch" / f"{name}.npy", seg.probs[name][None])
    r = cli("seg", tmp_path / "batch", seg.gt, "-f", "json")
    assert r.code == 0, r
    assert _numbers(r.json()) == _numbers(cli("seg", seg.pred, seg.gt, "-f", "json").json())
    shape = (1, *seg.probs["a"].shape)
    assert r.json()["images"][0]["notes"] == [f"prediction of shape {shape} has a leading batch axis of size 1: dropped"]


def test_a_square_batch_is_no_longer_taken_for_transposed(cli, tmp_path, rng):
    gt = rng.integers(0, 3, (6, 6)).astype(np.uint8)
    write_label_png(tmp_path / "gt/a.png", gt)
    logits = rng.normal(size=(3, 6, 6))
    write_npy(tmp_path / "pred/a.npy", softmax(logits)[None].astype(np.float32))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice")
    assert r.code == 0, r


def test_a_batch_of_one_foreground_map(cli, tmp_path, rng):
    gt = rng.integers(0, 2, (5, 6)).astype(np.uint8)
    write_label_png(tmp_path / "gt/a.png", gt)
    write_npy(tmp_path / "pred/a.npy", gt[None, None].astype(np.float32))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice", "-f", "json")
    assert r.code == 0 and r.json()["images"][0]["values"]["dice"] == 1.0, r
    assert r.json()["config"]["num_classes"] == 2


def test_one_more_axis_of_size_one_keeps_today_s_rule(cli, tmp_path, rng):
    """(1, H, W) is a single-channel map (one more axis), not a batch: a label map with it is still refused."""
    gt = rng.integers(0, 2, (5, 6)).astype(np.uint8)
    write_label_png(tmp_path / "gt/a.png", gt)
    write_npy(tmp_path / "pred/a.npy", gt[None])
    r = cli("seg", tmp_path / "pred", tmp_path / "gt")
    assert r.code == 3 and "the label prediction has shape (1, 5, 6)" in r.error_lines()[0], r


def test_a_batch_of_two_is_refused(cli, seg, tmp_path):
    path = write_npy(tmp_path / "batch/a.npy", np.stack([seg.probs["a"]] * 2))
    r = cli("seg", path, seg.gt / "a.png")
    assert r.code == 3 and "the prediction has shape (2, 3, 6, 7)" in r.error_lines()[0], r


# -- --geometry gt ---------------------------------------------------------------------------------------------


def _identity_case(case: dict, affine: np.ndarray = np.eye(4)) -> Path:
    labels = case["probs"].argmax(axis=0).astype(np.uint8)
    _nifti(case["tmp"] / "nii/case_001.nii.gz", labels, AFFINE)  # the same labels with the right header
    return _nifti(case["tmp"] / "identity/case_001.nii.gz", labels, affine)


def test_an_identity_affine_is_refused_even_under_spacing_with_the_hint(cli, case):
    path = _identity_case(case)
    r = cli("seg", path.parent, case["gt_dir"], "-m", "dice", "--spacing", "1,1,1")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: its orientation (axis directions [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) does "
        f"not match the ground truth {case['gt_path']} ([[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]); the "
        "prediction's header is an identity affine (no geometry of its own): pass --geometry gt to take the ground "
        "truth's header, or resample the prediction onto the ground truth's grid (same size, spacing and "
        "orientation)"]


@pytest.mark.parametrize("affine", [np.eye(4), np.diag([-1.0, -1.0, 1.0, 1.0])], ids=["nibabel", "itk-default"])
def test_geometry_gt_takes_the_ground_truth_header(cli, case, affine):
    path = _identity_case(case, affine)
    args = ("-m", "dice", "-m", "hd95", "-f", "json")
    r = cli("seg", path.parent, case["gt_dir"], "--geometry", "gt", *args)
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["geometry"] == "gt"
    assert doc["images"][0]["notes"] == [
        "the prediction's header is an identity affine (no geometry of its own): it takes the ground truth's header "
        "(--geometry gt)"]
    ref = cli("seg", case["tmp"] / "nii", case["gt_dir"], *args).json()
    assert _numbers(doc) == _numbers(ref) and doc["images"][0]["spacing"] == ref["images"][0]["spacing"]


def test_geometry_gt_still_checks_a_real_header(cli, case):
    labels = case["probs"].argmax(axis=0).astype(np.uint8)
    path = _nifti(case["tmp"] / "other/case_001.nii.gz", labels, np.diag([0.7, 0.8, 2.5, 1.0]))
    r = cli("seg", path.parent, case["gt_dir"], "--geometry", "gt")
    assert r.code == 3 and "its voxel spacing (0.7, 0.8, 2.5) does not match" in r.error_lines()[0], r


def test_geometry_default_is_check(cli, seg):
    assert cli("seg", seg.pred, seg.gt, "-f", "json").json()["config"]["geometry"] == "check"


def test_what_an_identity_header_is(case):
    path = _identity_case(case)
    assert geometry.is_identity_header(load_array(path))
    assert not geometry.is_identity_header(load_array(case["gt_path"]))
    shifted = _nifti(case["tmp"] / "shifted.nii.gz", case["gt"], np.array(
        [[1.0, 0, 0, 5.0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))
    assert not geometry.is_identity_header(load_array(shifted))  # an origin is geometry
    assert not geometry.is_identity_header(load_array(case["npz"]))  # no header at all
