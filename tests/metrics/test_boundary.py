"""lossctl.metrics.boundary: the five boundary metrics through the CLI (every convention, their options,
regions, empty masks) and hand-derived values of the core (a voxel shifted by one voxel, a perfect prediction,
spheres of known radius, the image diagonal).

Golden values from MONAI, MedPy and surface-distance are in tests/test_golden_boundary.py; the volume readers
in tests/io/test_volumes.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from support import SPACING, box_labels, volume_set, write_nifti

from lossctl import registry
from lossctl.metrics.boundary import BOUNDARY_METRICS, CONVENTIONS, boundary_metrics, image_diagonal


# ----------------------------------------------------------------------------------------------------------
# Through the CLI: the five metrics, their options, regions, empty masks
# ----------------------------------------------------------------------------------------------------------


def test_all_five_metrics_under_every_convention_through_the_cli(cli, tmp_path):
    pred, gt = volume_set(tmp_path)
    for convention, rule in CONVENTIONS.items():
        names = [m for m in BOUNDARY_METRICS if rule.has(m)]
        args = [a for m in names for a in ("-m", m)]
        r = cli("seg", pred, gt, *args, "--convention", convention, "-f", "json")
        assert r.code == 0, r
        doc = r.json()
        perfect, shifted = doc["images"]
        for m in names:
            assert perfect["per_class"][m][0] is None  # class 0: a distance to the background measures nothing
            assert perfect["values"][m] == (1.0 if m == "nsd" else 0.0)
            assert doc["summary"]["mean"][m] is not None
        assert shifted["values"]["hd"] == pytest.approx(0.8, rel=1e-6)
        assert "hd" not in doc["summary"]["pooled"]


def test_boundary_metrics_are_opt_in(cli, tmp_path):
    pred, gt = volume_set(tmp_path)
    doc = cli("seg", pred, gt, "-f", "json").json()
    assert not set(BOUNDARY_METRICS) & set(doc["images"][0]["values"])
    assert doc["images"][0]["spacing"] == pytest.approx(SPACING)  # a volume's spacing is reported anyway


def test_nsd_tolerance_per_class_and_region(cli, tmp_path):
    pred, gt = volume_set(tmp_path)
    one = cli("seg", pred, gt, "-m", "nsd", "--nsd-tolerance", "0.5", "-f", "json").json()["images"][1]
    wide = cli("seg", pred, gt, "-m", "nsd", "--nsd-tolerance", "0.5,5", "-f", "json").json()["images"][1]
    assert wide["per_class"]["nsd"][1] == one["per_class"]["nsd"][1] < 1.0  # class 1: 0.5 mm in both runs
    assert wide["per_class"]["nsd"][2] == 1.0  # class 2: 5 mm covers a one-voxel (0.8 mm) shift
    r = cli("seg", pred, gt, "-m", "nsd", "--nsd-tolerance", "0.5,5", "--region", "WT=1,2")
    assert r.code == 3 and "--nsd-tolerance gives 2 values but there are 2 foreground classes and 1 region" in r.err
    r = cli("seg", pred, gt, "-m", "nsd", "--nsd-tolerance", "0.5,5,1", "--region", "WT=1,2", "-f", "json")
    assert r.code == 0, r


def test_regions_in_per_class_tables_and_gates(cli, tmp_path):
    pred, gt = volume_set(tmp_path)
    r = cli("seg", pred, gt, "-m", "dice", "-m", "hd95", "--region", "WT=1,2", "--region", "core=2",
            "--gate", "dice[WT]>=0.99", "--gate", "max(hd95[core])<=0.81", "-f", "json")
    assert r.code == 1, r  # the shifted volume's WT dice is below 0.99
    doc = r.json()
    assert doc["config"]["per_class_names"] == ["0", "1", "2", "WT", "core"]
    perfect, shifted = doc["images"]
    assert len(perfect["per_class"]["dice"]) == 5 and perfect["per_class"]["dice"][3:] == [1.0, 1.0]
    union_gt, union_pred = np.isin(box_labels(), (1, 2)), np.isin(box_labels(offset=1), (1, 2))
    dice = 2 * (union_gt & union_pred).sum() / (union_gt.sum() + union_pred.sum())
    assert shifted["per_class"]["dice"][3] == pytest.approx(dice)
    assert shifted["per_class"]["dice"][4] == shifted["per_class"]["dice"][2]  # a one-label region is its class
    # regions stay out of the image's class mean
    assert shifted["values"]["hd95"] == pytest.approx(np.mean(shifted["per_class"]["hd95"][1:3]))
    gates = {g["gate"]: g for g in doc["gates"]}
    assert not gates["dice[WT]>=0.99"]["passed"] and gates["max(hd95[core])<=0.81"]["passed"]
    table = cli("seg", pred, gt, "-m", "dice", "--region", "WT=1,2", "--per-class").out
    assert "WT" in table
    assert "dice[WT]" in cli("seg", pred, gt, "-m", "dice", "--region", "WT=1,2", "--per-class", "-f", "csv").out


def empty_case(tmp_path: Path, pred: np.ndarray, gt: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> tuple[Path, Path]:
    write_nifti(tmp_path / "gt" / "x.nii.gz", gt, spacing)
    write_nifti(tmp_path / "pred" / "x.nii.gz", pred, spacing)
    return tmp_path / "pred", tmp_path / "gt"


def test_missed_structure_gets_the_image_diagonal_and_nsd_0(cli, tmp_path):
    gt = np.zeros((240, 240, 155), np.uint8)
    gt[100:110, 100:110, 70:80] = 1
    pred, gtp = empty_case(tmp_path, np.zeros_like(gt), gt)
    doc = cli("seg", pred, gtp, "-m", "hd95", "-m", "assd", "-m", "nsd", "-f", "json").json()
    values = doc["images"][0]["values"]
    assert values["hd95"] == values["assd"] == pytest.approx(373.13, abs=0.005)  # the BraTS 2021 value
    assert values["nsd"] == 0.0
    doc = cli("seg", pred, gtp, "-m", "hd95", "-m", "nsd", "--empty-distance", "374", "-f", "json").json()
    assert doc["images"][0]["values"] == {"hd95": 374.0, "nsd": 0.0}
    doc = cli("seg", pred, gtp, "-m", "hd95", "-m", "nsd", "--empty-distance", "nan", "-f", "json").json()
    assert doc["images"][0]["values"] == {"hd95": None, "nsd": 0.0}
    assert doc["summary"]["undefined"]["hd95"] == 1


def test_class_absent_from_both_masks_follows_empty_and_is_counted(cli, tmp_path):
    a = box_labels()
    a[a == 2] = 1  # class 2 nowhere, class 3 declared
    pred, gt = empty_case(tmp_path, a, a)
    doc = cli("seg", pred, gt, "-m", "hd", "--num-classes", "3", "-f", "json").json()
    assert doc["images"][0]["per_class"]["hd"] == [None, 0.0, None]
    doc = cli("seg", pred, gt, "-m", "hd", "--num-classes", "3", "--empty", "zero", "-f", "json").json()
    assert doc["images"][0]["per_class"]["hd"] == [None, 0.0, 0.0]
    z = np.zeros_like(a)
    pred, gt = empty_case(tmp_path / "z", z, z)
    doc = cli("seg", pred, gt, "-m", "hd", "--num-classes", "2", "-f", "json").json()
    assert doc["images"][0]["values"]["hd"] is None and doc["summary"]["undefined"]["hd"] == 1


# ----------------------------------------------------------------------------------------------------------
# Hand-derived values of the core
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention", list(CONVENTIONS))
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_a_voxel_shifted_by_one_voxel_is_one_spacing_away(convention, axis):
    a = np.zeros((7, 8, 9), np.uint8)
    b = a.copy()
    a[3, 4, 4] = 1
    index = [3, 4, 4]
    index[axis] += 1
    b[tuple(index)] = 1
    names = [m for m in ("hd", "hd95") if CONVENTIONS[convention].has(m)]
    out = boundary_metrics(a, b, [(1,)], names, spacing=SPACING, convention=convention)
    for m in names:
        assert out[m][0] == pytest.approx(SPACING[axis], rel=1e-7)


@pytest.mark.parametrize("convention", list(CONVENTIONS))
def test_perfect_prediction_gives_0_and_nsd_1(convention, rng):
    labels = (rng.random((10, 12, 9)) > 0.6).astype(np.uint8) * rng.integers(1, 3, (10, 12, 9))
    names = [m for m in BOUNDARY_METRICS if CONVENTIONS[convention].has(m)]
    out = boundary_metrics(labels, labels, [(1,), (2,), (1, 2)], names, spacing=SPACING, convention=convention)
    for m in names:
        assert np.all(out[m] == (1.0 if m == "nsd" else 0.0)), m


def test_concentric_spheres_are_their_radius_difference_apart():
    # radius 10 and 13 mm at 0.5 mm: every surface voxel of either sphere is 3 mm from the other within the
    # half-voxel-diagonal discretisation (0.5 * sqrt(3) / 2 on each surface)
    n, s = 64, 0.5
    x = (np.arange(n) - n / 2 + 0.5) * s
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    inner, outer = (r <= 10).astype(np.uint8), (r <= 13).astype(np.uint8)
    out = boundary_metrics(inner, outer, [(1,)], ["hd", "assd", "masd", "nsd"], spacing=(s, s, s),
                           tolerances=2.0)
    slack = s * math.sqrt(3)
    assert 3 - slack <= out["assd"][0] <= 3 + slack and 3 - slack <= out["masd"][0] <= 3 + slack
    assert 3 - slack <= out["hd"][0] <= 3 + slack
    assert out["nsd"][0] == 0.0  # every element is about 3 mm away, beyond a 2 mm tolerance
    out = boundary_metrics(inner, outer, [(1,)], ["nsd"], spacing=(s, s, s), tolerances=4.0)
    assert out["nsd"][0] == 1.0


def test_surfel_area_of_one_voxel_is_its_octahedron():
    # marching cubes puts an octahedron with vertices at the six face centres around a lone voxel: 8 triangles
    # of area |(s1 s2, s0 s2, s0 s1)| / 8 each; a lone pixel's contour is a diamond of 4 half-diagonals
    from lossctl.metrics.boundary import surfel_surface

    s0, s1, s2 = SPACING
    _, areas = surfel_surface(np.pad(np.ones((1, 1, 1), bool), 1), SPACING)
    assert areas.sum() == pytest.approx(math.sqrt((s1 * s2) ** 2 + (s0 * s2) ** 2 + (s0 * s1) ** 2), rel=1e-12)
    _, lengths = surfel_surface(np.pad(np.ones((1, 1), bool), 1), SPACING[:2])
    assert lengths.sum() == pytest.approx(2 * math.sqrt(s0**2 + s1**2), rel=1e-12)


def test_sphere_surfel_area_is_close_to_4_pi_r_squared():
    # a voxelised sphere's marching-cubes surface is a little larger than the smooth sphere (its staircase)
    from lossctl.metrics.boundary import surfel_surface

    n, s, radius = 64, 0.5, 12.0
    x = (np.arange(n) - n / 2 + 0.5) * s
    r = np.sqrt(x[:, None, None] ** 2 + x[None, :, None] ** 2 + x[None, None, :] ** 2)
    _, areas = surfel_surface(np.pad(r <= radius, 1), (s, s, s))
    assert 1.0 <= areas.sum() / (4 * math.pi * radius**2) <= 1.1


def test_image_diagonal_is_the_brats_value():
    assert image_diagonal((240, 240, 155), (1.0, 1.0, 1.0)) == pytest.approx(373.13, abs=0.005)


def test_results_do_not_depend_on_the_crop_or_the_engine(rng):
    a = np.zeros((30, 40, 20), np.uint8)
    b = np.zeros_like(a)
    a[5:12, 6:15, 3:9] = 1
    b[6:13, 5:16, 4:10] = 1
    a[28, 39, 19] = 1  # a far outlier touching the corner
    names = list(BOUNDARY_METRICS)
    small = boundary_metrics(a, b, [(1,)], names, spacing=SPACING)
    big_a, big_b = np.pad(a, 7), np.pad(b, 7)
    for engine in ("edt", "kdtree"):
        padded = boundary_metrics(big_a, big_b, [(1,)], names, spacing=SPACING, engine=engine)
        for m in names:
            assert padded[m][0] == pytest.approx(small[m][0], rel=1e-12)


def test_symmetry_of_the_symmetric_metrics(rng):
    a = (rng.random((9, 10, 11)) > 0.7).astype(np.uint8)
    b = (rng.random((9, 10, 11)) > 0.7).astype(np.uint8)
    for convention in CONVENTIONS:
        names = [m for m in BOUNDARY_METRICS if CONVENTIONS[convention].has(m)]
        ab = boundary_metrics(a, b, [(1,)], names, spacing=SPACING, convention=convention)
        ba = boundary_metrics(b, a, [(1,)], names, spacing=SPACING, convention=convention)
        for m in names:
            assert ab[m][0] == pytest.approx(ba[m][0], rel=1e-12), (convention, m)


@pytest.mark.parametrize("spec,convention", [(s, c) for s in registry.specs("seg", "metric") if s.opt_in and not s.instance and not s.calibration
                                             for c in s.conventions], ids=lambda v: getattr(v, "name", v))
def test_every_boundary_convention_from_the_registry_reaches_its_optimum_and_bounds(spec, convention, rng):
    labels = (rng.random((9, 10, 8)) > 0.5).astype(np.uint8) * rng.integers(1, 3, (9, 10, 8))
    fn = spec.impl(convention).fn
    perfect = fn(labels, labels, [(1,), (2,), (1, 2)], spacing=SPACING)
    assert np.all(perfect == (1.0 if spec.higher_is_better else 0.0))
    apart = fn(box_labels((16, 14, 10)), box_labels((16, 14, 10), offset=6), [(1,), (2,), (1, 2)], spacing=SPACING)
    shifted = apart  # the two masks do not touch: every distance is positive
    assert np.all((spec.bounds[0] <= shifted) & (shifted <= spec.bounds[1]))
    assert np.all(shifted < 1.0) if spec.higher_is_better else np.all(shifted > 0.0)


def test_both_distance_engines_give_the_same_bits_at_the_tolerance():
    """nsd compares each distance with τ, and face neighbours sit exactly at τ = spacing: the KD-tree engine computes
    its distances with the distance transform's own arithmetic, so nsd never depends on the box's size."""
    from lossctl.metrics.boundary import surface_distances

    a = np.zeros((30, 30, 30), bool)
    a[5:20, 6:22, 4:25] = True
    b = np.zeros_like(a)
    b[6:21, 5:23, 4:24] = True
    spacing = (1.0, 0.9, 0.9)
    edt = surface_distances(a, b, spacing, engine="edt")
    tree = surface_distances(a, b, spacing, engine="kdtree")
    assert np.array_equal(edt.pred_to_gt, tree.pred_to_gt) and np.array_equal(edt.gt_to_pred, tree.gt_to_pred)
    nsd = {e: boundary_metrics(a.astype(np.uint8), b.astype(np.uint8), [(1,)], ["nsd"], spacing=spacing,
                               tolerances=0.9, engine=e)["nsd"][0] for e in ("edt", "kdtree")}
    assert nsd["edt"] == nsd["kdtree"]


@pytest.mark.parametrize("shape", [(1,), (6,), (1, 7), (9, 11), (1, 5, 5), (13, 8, 10), (4, 3, 5, 6), (0, 4)])
def test_voxel_surface_is_the_mask_minus_its_face_erosion(shape: tuple[int, ...]) -> None:
    """The shifted-AND surface gives scipy's binary_erosion bits (face structure, outside is background)."""
    from scipy import ndimage

    from lossctl.metrics.boundary import voxel_surface

    rng = np.random.default_rng(len(shape) * 100 + sum(shape))
    for density in (0.3, 0.8, 1.0):
        mask = rng.random(shape) < density
        eroded = ndimage.binary_erosion(mask, ndimage.generate_binary_structure(mask.ndim, 1), border_value=0)
        np.testing.assert_array_equal(voxel_surface(mask), mask & ~eroded)
