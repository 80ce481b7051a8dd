"""lossctl.metrics.topology: cldice and boundary_iou. Hand-derived values (lines, a shifted square, the band
width), the band's erosion against d repeated 3x3 erosions at the image's edge, properties (perfect prediction,
symmetry, bounds) under both conventions, and the run through the CLI (per class, regions, empty classes, gates,
parameters, conventions, spacing, shards).

Golden values from jocpae/clDice, the Boundary IoU API and MetricsReloaded are in tests/test_golden_topology.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage
from support import volume_set, write_label_png, write_npy

from lossctl import registry
from lossctl.metrics.topology import TOPOLOGY_METRICS, band_width, inner_band, topology_metrics

CONVENTIONS = ("lossctl", "metricsreloaded")


# ----------------------------------------------------------------------------------------------------------
# Hand-derived values
# ----------------------------------------------------------------------------------------------------------


def test_cldice_of_two_lines_by_hand():
    """A one-pixel line is its own skeleton: the prediction covers half the ground truth's line, so Tprec = 1
    (its skeleton lies in R), Tsens = 10/20, clDice = 2 x 1 x 0.5 / 1.5 = 2/3."""
    gt = np.zeros((12, 30), np.uint8)
    gt[5, 2:22] = 1
    pred = np.zeros_like(gt)
    pred[5, 2:12] = 1
    for convention in CONVENTIONS:
        value = topology_metrics(pred, gt, [(1,)], ["cldice"], convention=convention)["cldice"][0]
        assert value == pytest.approx(2 / 3, rel=1e-12)


def test_empty_and_disjoint_masks_under_each_convention():
    blob = np.zeros((20, 20), np.uint8)
    blob[2:6, 2:9] = 1
    apart = np.zeros_like(blob)
    apart[12:18, 10:16] = 1
    empty = np.zeros_like(blob)
    metrics = list(TOPOLOGY_METRICS)
    for convention in CONVENTIONS:
        for pred, gt in ((blob, apart), (empty, blob), (blob, empty)):
            v = topology_metrics(pred, gt, [(1,)], metrics, convention=convention)
            assert v["boundary_iou"][0] == 0.0
            if convention == "lossctl":
                assert v["cldice"][0] == 0.0
            else:  # MetricsReloaded's NaN: undefined
                assert math.isnan(v["cldice"][0])
        both = topology_metrics(empty, empty, [(1,)], metrics, convention=convention, both_empty=0.25)
        assert both["cldice"][0] == both["boundary_iou"][0] == 0.25


def test_boundary_iou_of_a_square_shifted_by_one_pixel():
    """20x20 image: d = max(1, round(0.02 x 28.28)) = 1, each band is the 36-pixel ring of a 10x10 square. Shifted
    by one column the rings share the top and bottom rows but one pixel at each end (2 x 9): IoU = 18 / 54. The
    one-voxel face border of MetricsReloaded is the same ring for a square."""
    gt = np.zeros((20, 20), np.uint8)
    gt[5:15, 5:15] = 1
    pred = np.roll(gt, 1, axis=1)
    for convention in CONVENTIONS:
        assert topology_metrics(pred, gt, [(1,)], ["boundary_iou"], convention=convention)["boundary_iou"][0] == \
            pytest.approx(1 / 3, rel=1e-12)


def test_the_band_width_follows_the_image_diagonal():
    assert band_width((20, 20), 0.02) == 1 and band_width((100, 100), 0.02) == 3  # 0.57 -> 1 (the floor), 2.83
    assert band_width((512, 512), 0.02) == 14 and band_width((240, 240, 155), 0.02) == 7  # the voxel diagonal
    assert band_width((30, 40), 0.05) == 2 and band_width((30, 40), 0.07) == 4  # 2.5 rounds to even
    assert band_width((30, 40), 0.0) == 1
    square = np.zeros((100, 100), bool)
    square[40:50, 40:50] = True
    assert np.count_nonzero(inner_band(square, 3)) == 100 - 16  # a 10x10 square keeps its 4x4 core


@pytest.mark.parametrize("shape", [(23, 31), (9, 12, 10)])
@pytest.mark.parametrize("width", [1, 2, 4])
def test_the_band_is_the_mask_minus_d_erosions_by_the_square_with_a_zero_border(shape, width, rng):
    """The Boundary IoU API erodes the zero-padded mask d times by the 3x3 kernel: the same bits as one minimum
    filter of side 2d + 1, for masks touching the array's edges too."""
    for _ in range(4):
        mask = ndimage.gaussian_filter(rng.random(shape), 1.5) > 0.45
        mask[(0,) * len(shape)] = True  # touches the edge
        padded = np.pad(mask, 1)
        eroded = ndimage.binary_erosion(padded, np.ones((3,) * len(shape)), iterations=width)
        expected = mask & ~eroded[(slice(1, -1),) * len(shape)]
        assert np.array_equal(inner_band(mask, width), expected)


def test_cropping_changes_no_value(rng):
    """Each entry is computed in its bounding box: the same label map inside a larger zero image (with the band
    width kept equal by the ratio) gives the same bits."""
    labels = ((ndimage.gaussian_filter(rng.random((40, 44)), 2.0) > 0.5) * rng.integers(1, 3, (40, 44))).astype(
        np.uint8)
    other = np.roll(labels, 2, axis=0)
    big_pred, big_gt = np.zeros((90, 100), np.uint8), np.zeros((90, 100), np.uint8)
    big_pred[20:60, 30:74], big_gt[20:60, 30:74] = other, labels
    small = topology_metrics(other, labels, [(1,), (2,), (1, 2)], TOPOLOGY_METRICS, dilation_ratio=0.1)
    big = topology_metrics(big_pred, big_gt, [(1,), (2,), (1, 2)], TOPOLOGY_METRICS,
                           dilation_ratio=0.1 * math.hypot(40, 44) / math.hypot(90, 100))
    assert band_width((40, 44), 0.1) == band_width((90, 100), 0.1 * math.hypot(40, 44) / math.hypot(90, 100))
    for m in TOPOLOGY_METRICS:
        assert np.array_equal(small[m], big[m])


def test_cldice_needs_two_or_three_axes():
    labels = np.ones((3, 4, 5, 6), np.uint8)
    with pytest.raises(ValueError, match="2D or 3D"):
        topology_metrics(labels, labels, [(1,)], ["cldice"])
    assert topology_metrics(labels, labels, [(1,)], ["boundary_iou"])["boundary_iou"][0] == 1.0


# ----------------------------------------------------------------------------------------------------------
# Properties
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("shape", [(40, 48), (14, 16, 12)])
def test_perfect_prediction_symmetry_and_bounds(convention, shape, rng):
    classes = [(1,), (2,), (1, 2)]
    for _ in range(3):
        gt = ((ndimage.gaussian_filter(rng.random(shape), 1.5) > 0.5) * rng.integers(1, 3, shape)).astype(np.uint8)
        pred = np.where(rng.random(shape) > 0.85, rng.integers(0, 3, shape), gt).astype(np.uint8)
        perfect = topology_metrics(gt, gt, classes, TOPOLOGY_METRICS, convention=convention)
        assert np.all(perfect["boundary_iou"] == 1.0)
        assert np.all((perfect["cldice"] == 1.0) | np.isnan(perfect["cldice"]))  # NaN: a vanished 3D skeleton
        ab = topology_metrics(pred, gt, classes, TOPOLOGY_METRICS, convention=convention)
        ba = topology_metrics(gt, pred, classes, TOPOLOGY_METRICS, convention=convention)
        for m in TOPOLOGY_METRICS:
            assert np.allclose(ab[m], ba[m], rtol=1e-12, equal_nan=True)
            defined = ab[m][~np.isnan(ab[m])]
            assert np.all((0.0 <= defined) & (defined <= 1.0))
        assert np.all(ab["boundary_iou"] < 1.0)


@pytest.mark.parametrize("spec,convention", [(s, c) for s in registry.specs("seg", "metric")
                                             if s.name in TOPOLOGY_METRICS for c in s.conventions],
                         ids=lambda v: getattr(v, "name", v))
def test_every_registry_row_reaches_its_optimum_and_bounds(spec, convention):
    assert spec.opt_in and spec.per_class and spec.higher_is_better and spec.bounds == (0.0, 1.0)
    fn = spec.impl(convention).fn
    gt = np.zeros((16, 14, 11), np.uint8)
    gt[3:10, 4:11, 2:9] = 1
    gt[5:8, 6:9, 4:7] = 2  # odd sides: Lee's thinning keeps a skeleton
    perfect = fn(gt, gt, [(1,), (2,), (1, 2)])
    assert np.all(perfect == 1.0)
    shifted = fn(np.roll(gt, 1, axis=0), gt, [(1,), (2,), (1, 2)])
    assert np.all((0.0 <= shifted) & (shifted <= 1.0)) and shifted.min() < 1.0


# ----------------------------------------------------------------------------------------------------------
# Through the CLI
# ----------------------------------------------------------------------------------------------------------


def _vessel_set(root, rng):
    """Three 2D label maps: class 1 thin vessels, class 2 blobs, class 3 absent from the first pair."""
    for i in range(3):
        gt = np.zeros((40, 50), np.uint8)
        gt[5:35, 10 + i] = 1
        gt[20, 5:45] = 1
        gt[25:33, 30:42] = 2
        if i:
            gt[2:6, 40:48] = 3
        pred = gt.copy()
        pred[5:12, 10 + i] = 0  # a broken vessel
        pred[26:34, 31:43] = np.where(pred[26:34, 31:43] == 1, 1, 2)
        pred[25, 30:42] = np.where(pred[25, 30:42] == 2, 0, pred[25, 30:42])
        write_label_png(root / "gt" / f"im{i}.png", gt)
        write_label_png(root / "pred" / f"im{i}.png", pred)
    return root / "pred", root / "gt"


def test_cli_values_are_the_label_maps_values(cli, tmp_path, rng):
    from PIL import Image

    pred, gt = _vessel_set(tmp_path, rng)
    r = cli("seg", pred, gt, "-m", "cldice", "-m", "boundary_iou", "-m", "dice", "--region", "fg=1,2",
            "--num-classes", "4", "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    for row in doc["images"]:
        p = np.asarray(Image.open(pred / f"{row['name']}.png"))
        g = np.asarray(Image.open(gt / f"{row['name']}.png"))
        want = topology_metrics(p, g, [(1,), (2,), (3,), (1, 2)], TOPOLOGY_METRICS)
        for m in TOPOLOGY_METRICS:
            per_class = row["per_class"][m]
            assert per_class[0] is None  # class 0 is left out
            got = np.array([np.nan if v is None else v for v in per_class[1:]])
            assert np.allclose(got, want[m], equal_nan=True, rtol=1e-12)
            assert row["values"][m] == pytest.approx(np.nanmean(want[m][:3]), rel=1e-12)  # regions stay out
    assert doc["summary"]["undefined"] == {"dice": 0, "cldice": 0, "boundary_iou": 0}
    assert doc["summary"]["not_applicable"]["cldice"] == ["0"]
    assert "cldice" not in doc["summary"]["pooled"]
    first = doc["images"][0]["per_class"]
    assert first["cldice"][3] is None and first["boundary_iou"][3] is None  # class 3 absent from both masks
    assert "spacing" not in doc["config"]  # no distance metric: spacing plays no part
    one = cli("seg", pred, gt, "-m", "cldice", "--num-classes", "4", "--empty", "one", "-f", "json").json()
    assert one["images"][0]["per_class"]["cldice"][3] == 1.0


def test_cli_gates_parameters_and_conventions(cli, tmp_path, rng):
    pred, gt = _vessel_set(tmp_path, rng)
    names = ("--class-names", "background,vessel,blob,other")
    r = cli("seg", pred, gt, "-m", "cldice", *names, "--gate", "cldice[vessel]>=0.8", "-f", "json")
    assert r.code == 0, r
    gate = r.json()["gates"][0]
    assert gate["passed"] and gate["value"] >= 0.8
    assert cli("seg", pred, gt, "-m", "cldice", *names, "--gate", "min(cldice[vessel])>=0.99").code == 1
    r = cli("seg", pred, gt, "-m", "cldice", *names, "--gate", "pooled(cldice)>=0.5")
    assert r.code == 2 and "pooled() needs a confusion matrix" in r.err

    narrow = cli("seg", pred, gt, "-m", "boundary_iou", *names, "-f", "json").json()
    wide = cli("seg", pred, gt, "-m", "boundary_iou", *names, "-p", "boundary_iou.dilation_ratio=0.1",
               "-f", "json").json()
    assert narrow["config"]["params"]["boundary_iou"] == {"dilation_ratio": 0.02}
    assert wide["config"]["params"]["boundary_iou"] == {"dilation_ratio": 0.1}
    assert wide["summary"]["mean"]["boundary_iou"] != narrow["summary"]["mean"]["boundary_iou"]
    r = cli("seg", pred, gt, "-m", "boundary_iou", "-p", "boundary_iou.dilation_ratio=2")
    assert r.code == 2 and "boundary_iou.dilation_ratio = 2 is out of range" in r.err

    mr = cli("seg", pred, gt, "-m", "cldice", "-m", "boundary_iou", "--convention", "metricsreloaded", *names,
             "-f", "json").json()
    mixed = cli("seg", pred, gt, "-m", "cldice:metricsreloaded", "-m", "boundary_iou:metricsreloaded", *names,
                "-f", "json").json()
    assert mr["images"] == mixed["images"]
    assert mixed["config"]["conventions"] == {"cldice": "metricsreloaded", "boundary_iou": "metricsreloaded"}
    assert mr["summary"]["mean"]["boundary_iou"] < narrow["summary"]["mean"]["boundary_iou"]  # a one-pixel band
    under_monai = cli("seg", pred, gt, "-m", "cldice:metricsreloaded", "-m", "dice", "--convention", "monai", *names,
                      "-f", "json")  # the run's convention has neither value: each is computed under its own
    assert under_monai.code == 0, under_monai
    assert under_monai.json()["summary"]["mean"]["cldice"] == mr["summary"]["mean"]["cldice"]
    both = cli("seg", pred, gt, "-m", "cldice:metricsreloaded", "-m", "boundary_iou", *names, "-p",
               "boundary_iou.dilation_ratio=0.1", "-f", "json").json()
    assert both["summary"]["mean"] == {"cldice": mr["summary"]["mean"]["cldice"],
                                       "boundary_iou": wide["summary"]["mean"]["boundary_iou"]}
    r = cli("seg", pred, gt, "-m", "hd95", "--convention", "metricsreloaded")
    assert r.code == 2 and "metricsreloaded" in r.err


def test_cli_ignores_the_spacing_of_volumes(cli, tmp_path):
    pred, gt = volume_set(tmp_path)
    args = ("-m", "cldice", "-m", "boundary_iou", "-f", "json")
    spaced = cli("seg", pred, gt, *args).json()
    unit = cli("seg", pred, gt, *args, "--spacing", "1,1,1").json()
    assert spaced["images"][1]["spacing"] != unit["images"][1]["spacing"]
    for m in TOPOLOGY_METRICS:
        assert [r["per_class"][m] for r in spaced["images"]] == [r["per_class"][m] for r in unit["images"]]
    assert spaced["images"][0]["values"]["boundary_iou"] == 1.0
    assert not any("spacing" in note for row in spaced["images"] for note in row["notes"])


def test_cli_shards_merge_into_the_single_run(cli, tmp_path, rng):
    pred, gt = _vessel_set(tmp_path, rng)
    common = ("-m", "cldice", "-m", "boundary_iou:metricsreloaded", "--region", "fg=1,2", "--num-classes", "4",
              "--workers", "1", "-f", "json")
    full = cli("seg", pred, gt, *common)
    parts = []
    for k in (1, 2):
        path = tmp_path / f"part{k}.json"
        assert cli("seg", pred, gt, *common, "--shard", f"{k}/2", "-o", path).code == 0
        parts.append(path)
    merged = cli("merge", *parts, "-f", "json")
    assert merged.code == 0 and merged.out == full.out


def test_cli_refuses_cldice_of_a_1d_image_and_evaluates_the_others(cli, tmp_path):
    write_npy(tmp_path / "gt" / "line.npy", np.array([0, 1, 1, 1], np.uint8))
    write_npy(tmp_path / "pred" / "line.npy", np.array([0, 1, 1, 0], np.uint8))
    write_label_png(tmp_path / "gt" / "square.png", np.pad(np.ones((4, 4), np.uint8), 3))
    write_label_png(tmp_path / "pred" / "square.png", np.pad(np.ones((4, 4), np.uint8), 3))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "cldice", "-m", "boundary_iou", "-f", "json")
    assert r.code == 3 and "Traceback" not in r.err
    assert "line.npy: cldice needs 2D or 3D images (skeletons), not 1D; evaluate these images without cldice" in r.err
    assert r.json()["images"][0]["values"] == {"cldice": 1.0, "boundary_iou": 1.0}
