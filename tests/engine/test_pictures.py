"""lossctl.engine.pictures: the views of the worst images in the HTML report, hand-derived, and made from the pairs
as evaluation reads them (through the engine's loader: label maps, float label volumes) before any writer runs:
2D images as ground truth, prediction and errors side by side (and the input image), volumes in three planes
through the worst error at their physical aspect, named anatomically only when the header supports it, ignored
pixels hatched.

The report that places them is tested in tests/report/test_html.py.
"""

from __future__ import annotations

import io
import math

import nibabel
import numpy as np
import pytest
from PIL import Image
from support import make_seg_set, write_label_png, write_npy

from lossctl.engine.pictures import (
    BACKGROUND,
    COLOURS,
    IGNORED,
    LEGEND,
    MAX_SIDE,
    MIN_SIDE,
    anatomical_axes,
    class_colour,
    class_colours,
    error_colours,
    make_pictures,
    outcome_map,
)


def _rgb(panel) -> np.ndarray:
    image = np.asarray(Image.open(io.BytesIO(panel.png)))
    assert image.shape == (panel.height, panel.width, 3)
    return image


def _block(a: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)


def _views(cli, tmp_path, *args, worst: int = 1):
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json", *args)
    assert r.code == 0, r
    return make_pictures(r.json(), worst)


# ----------------------------------------------------------------------------------------------------------
# Colours
# ----------------------------------------------------------------------------------------------------------


def test_outcome_codes_hand_derived():
    gt = np.array([[0, 0, 1, 1], [2, 2, 0, 1]])
    pred = np.array([[0, 1, 1, 0], [2, 1, 0, 1]])
    valid = np.ones_like(gt, dtype=bool)
    valid[1, 3] = False
    # TP where pred == gt != 0; FP: gt 0, pred a class; FN: gt a class, pred 0; wrong class; ignored
    assert outcome_map(pred, gt, valid).tolist() == [[0, 2, 1, 3], [1, 4, 0, 5]]


def test_error_colours_blend_the_outcomes_over_the_grey_truth():
    gt = np.array([[0, 1, 1, 0]])
    outcome = np.array([[0, 1, 3, 2]])  # correct background, TP, FN, FP
    rgb = error_colours(outcome, gt, 2).astype(int)
    assert tuple(rgb[0, 0]) == BACKGROUND  # correct background: class 0's grey
    assert np.argmax(rgb[0, 1]) == 1 and np.argmax(rgb[0, 2]) == 2 and np.argmax(rgb[0, 3]) == 0  # green, blue, red
    assert len({COLOURS[k] for k in COLOURS} | {BACKGROUND, *IGNORED}) == len(COLOURS) + 3
    assert [s.stripes for s in LEGEND].count(None) == len(LEGEND) - 1  # only the ignored pixels are hatched


def test_class_colours_stay_apart_from_the_ignored_hatching_at_150_classes():
    colours = [class_colour(c) for c in range(150)]
    assert colours[0] == BACKGROUND and len(set(colours[:11])) == 11
    magenta = np.array(IGNORED[0])
    assert min(np.abs(np.array(c) - magenta).sum() for c in colours) > 120  # no class looks like the hatching
    assert class_colours(np.array([[0, 3]])).tolist() == [[list(BACKGROUND), list(class_colour(3))]]


# ----------------------------------------------------------------------------------------------------------
# 2D images
# ----------------------------------------------------------------------------------------------------------


def test_2d_image_shows_truth_prediction_and_errors_side_by_side(tmp_path, cli):
    gt = np.zeros((8, 8), dtype=np.uint8)
    gt[2:6, 2:6] = 1
    pred = gt.copy()
    pred[0, 0] = 1  # one FP
    pred[2, 2] = 0  # one FN
    write_label_png(tmp_path / "gt" / "x.png", gt)
    write_label_png(tmp_path / "pred" / "x.png", pred)
    [case] = _views(cli, tmp_path).worst
    [plane] = case.planes
    assert plane.axis is None and plane.name is None and plane.image is None and case.image_note is None
    assert plane.extent == (8.0, 8.0) and plane.unit == "px" and plane.wrong == 2
    grow = MIN_SIDE // 8  # a small image is enlarged, each pixel a block
    assert np.array_equal(_rgb(plane.truth), _block(class_colours(gt), grow))
    assert np.array_equal(_rgb(plane.prediction), _block(class_colours(pred), grow))
    want = error_colours(outcome_map(pred, gt, np.ones_like(gt, dtype=bool)), gt, 2)
    assert np.array_equal(_rgb(plane.errors), _block(want, grow))


def test_ignored_pixels_are_hatched_in_every_panel_apart_from_correct_background(tmp_path, cli):
    gt = np.full((6, 6), 7, dtype=np.uint8)
    gt[1:4, 1:4] = 8
    gt[5, 4:] = 255  # void: ignored by the map
    pred = np.zeros((6, 6), dtype=np.uint8)
    pred[1:4, 1:3] = 1
    write_label_png(tmp_path / "gt" / "m.png", gt)
    write_label_png(tmp_path / "pred" / "m.png", pred)
    [case] = _views(cli, tmp_path, "--label-map", "7:0,8:1,255:ignore").worst
    [plane] = case.planes
    grow = MIN_SIDE // 6
    for panel in (plane.truth, plane.prediction, plane.errors):
        rgb = _rgb(panel)
        ignored = rgb[5 * grow:, 4 * grow:].reshape(-1, 3)
        assert {tuple(c) for c in ignored} == set(IGNORED)  # hatching: both stripe colours, nothing else
        assert tuple(rgb[0, 0]) == BACKGROUND  # correct background (class 0) is not hatched
    mapped = np.where(gt == 8, 1, 0)
    errors = _rgb(plane.errors)
    want = error_colours(outcome_map(pred, mapped, gt != 255), mapped, 2)
    assert np.array_equal(errors[:5 * grow], _block(want, grow)[:5 * grow])  # the map's labels, not the stored ones


def test_a_large_image_is_reduced_without_losing_a_thin_error(tmp_path, cli):
    gt = np.zeros((1200, 300), dtype=np.uint8)
    pred = gt.copy()
    pred[601, 151] = 1  # one wrong pixel
    write_label_png(tmp_path / "gt" / "big.png", gt)
    write_label_png(tmp_path / "pred" / "big.png", pred)
    [plane] = _views(cli, tmp_path, "--num-classes", "2").worst[0].planes
    errors = _rgb(plane.errors)
    step = math.ceil(1200 / MAX_SIDE)
    assert errors.shape[:2] == (400, 100) and step == 3  # at most MAX_SIDE pixels per side
    assert tuple(errors[601 // step, 151 // step]) != BACKGROUND  # the false positive kept its block
    assert plane.extent == (1200.0, 300.0)  # the physical extent is the image's, not the panel's


def test_input_images_show_under_the_panels_by_the_pairs_name_rules(tmp_path, cli):
    s = make_seg_set(tmp_path / "data", names=("a", "b", "c"))
    photo = np.random.default_rng(0).integers(0, 255, (*s.gts["a"].shape, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "a_leftImg8bit.png")
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "b_leftImg8bit.png")  # another shape
    from lossctl.dataset.pairing import compile_pattern, name_files
    from lossctl.engine.pictures import InputImages

    files = name_files(tmp_path, "input image", compile_pattern("{name}_leftImg8bit.png"))
    assert sorted(files) == ["a", "b"]
    document = cli("seg", s.pred, s.gt, "-f", "json").json()
    views = {v.row["name"]: v for v in make_pictures(document, 3, images=InputImages(tmp_path, files)).worst}
    [plane] = views["a"].planes
    grow = MIN_SIDE // max(photo.shape[:2])
    assert np.array_equal(_rgb(plane.image), _block(photo, grow)) and views["a"].image_note is None
    assert views["b"].planes[0].image is None and "3x3" in views["b"].image_note  # a note, not a failure
    assert views["c"].planes[0].image is None and "no input image named c" in views["c"].image_note


def test_input_images_other_than_8_bit_are_stretched_between_percentiles():
    from lossctl.engine.pictures import input_pixels

    volume = np.arange(1000, dtype=np.uint16).reshape(10, 10, 10) * 60  # 16-bit grey, one scale for all planes
    pixels = input_pixels(volume, colour=False)
    assert (pixels.low, pixels.high) == pytest.approx(np.percentile(volume, (0.5, 99.5)))
    shown = pixels.display(volume[0])
    assert shown.shape == (10, 10, 3) and shown[0, 0, 0] == 0 and np.all(shown[..., 0] == shown[..., 2])
    assert pixels.display(volume[-1])[-1, -1, 0] == 255
    photo = np.full((2, 2, 3), 7, np.uint8)
    assert np.array_equal(input_pixels(photo, colour=True).display(photo), photo)  # 8-bit: as it is


# ----------------------------------------------------------------------------------------------------------
# Volumes
# ----------------------------------------------------------------------------------------------------------


def _volume_pair(tmp_path, affine: np.ndarray | None):
    """An (8, 10, 12) box whose errors cross at voxel (2, 7, 5): the slices with the most wrong voxels along the
    three axes (NIfTI with ``affine``, else NPY)."""
    gt = np.zeros((8, 10, 12), dtype=np.uint8)
    gt[1:7, 1:9, 1:11] = 1
    pred = gt.copy()
    pred[2, :, :] = 0
    pred[:, 7, :] = 0
    pred[:, :, 5] = 0
    for folder, array in (("gt", gt), ("pred", pred)):
        if affine is None:
            write_npy(tmp_path / folder / "v.npy", array)
        else:
            (tmp_path / folder).mkdir(parents=True, exist_ok=True)
            nibabel.save(nibabel.Nifti1Image(array, affine), tmp_path / folder / "v.nii.gz")
    return gt


def test_volume_planes_through_the_worst_error_at_their_physical_extent(tmp_path, cli):
    gt = _volume_pair(tmp_path, np.diag([1.0, 2.0, 3.0, 1.0]))  # RAS: axes toward right, anterior, superior
    [case] = _views(cli, tmp_path).worst
    assert case.orientation_note is None
    assert [p.name for p in case.planes] == ["axial", "coronal", "sagittal"]
    assert [(p.axis, p.index) for p in case.planes] == [(2, 5), (1, 7), (0, 2)]  # crossing at (2, 7, 5)
    assert [p.wrong for p in case.planes] == [48, 60, 80]  # the whole box's section in each
    assert all(p.unit == "mm" and p.slices == gt.shape[p.axis] for p in case.planes)
    # physical (height, width): axial A-P x R-L, coronal S-I x R-L, sagittal S-I x A-P, spacing 1, 2, 3 mm
    assert [p.extent for p in case.planes] == [(20.0, 8.0), (36.0, 8.0), (36.0, 20.0)]
    assert [(p.top, p.left) for p in case.planes] == [("anterior", "the patient's right"),
                                                      ("superior", "the patient's right"), ("superior", "anterior")]
    for p in case.planes:  # the panels hold the plane's pixels (enlarged by whole blocks), not its physical size
        rows, columns = _shown_shape(gt, p)
        assert p.truth.height % rows == 0 and p.truth.width % columns == 0
        assert p.truth.height // rows == p.truth.width // columns >= 1


def _shown_shape(gt: np.ndarray, plane) -> tuple[int, int]:
    """The pixels of ``plane`` as shown: rows and columns from its extent over the spacing (1, 2, 3)."""
    spacing = {0: 1.0, 1: 2.0, 2: 3.0}
    remaining = [a for a in range(3) if a != plane.axis]
    counts = {round(gt.shape[a] * spacing[a]): gt.shape[a] for a in remaining}
    return counts[round(plane.extent[0])], counts[round(plane.extent[1])]


def test_the_marker_lands_where_radiology_puts_it(tmp_path, cli):
    """Voxel (7, 0, 11) of a RAS volume is the patient's rightmost, most posterior, most superior: top-left of
    the coronal plane through it (superior, right), bottom-left of the axial plane through it (posterior, right)."""
    gt = np.zeros((8, 10, 12), dtype=np.uint8)
    gt[7, 0, 11] = 1
    pred = np.zeros_like(gt)  # the one error is the marker: every plane goes through it
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        nibabel.save(nibabel.Nifti1Image(array, np.eye(4)), tmp_path / folder / "v.nii.gz")
    planes = {p.name: p for p in _views(cli, tmp_path, "--num-classes", "2").worst[0].planes}
    assert [(p.axis, p.index) for p in planes.values()] == [(2, 11), (1, 0), (0, 7)]
    for name, (row, column) in {"axial": (-1, 0), "coronal": (0, 0), "sagittal": (0, -1)}.items():
        rgb = _rgb(planes[name].truth)
        assert tuple(rgb[row, column]) == class_colour(1), name  # sagittal: posterior on the right
        assert tuple(rgb[rgb.shape[0] // 2, rgb.shape[1] // 2]) == BACKGROUND


def test_oblique_or_headerless_volumes_use_array_axes_and_say_why(tmp_path, cli):
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    oblique = np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])
    _volume_pair(tmp_path / "o", oblique)
    [case] = _views(cli, tmp_path / "o").worst
    assert [p.name for p in case.planes] == [None] * 3 and "oblique" in case.orientation_note
    assert [(p.axis, p.top, p.left) for p in case.planes] == [(0, "axis 1", "axis 2"), (1, "axis 0", "axis 2"),
                                                              (2, "axis 0", "axis 1")]
    _volume_pair(tmp_path / "n", None)  # .npy: no header, no spacing
    [case] = _views(cli, tmp_path / "n").worst
    assert "no orientation" in case.orientation_note
    assert [p.extent for p in case.planes] == [(10.0, 12.0), (8.0, 12.0), (8.0, 10.0)]
    assert {p.unit for p in case.planes} == {"px"}
    with_spacing = _views(cli, tmp_path / "n", "--spacing", "1,2,3").worst[0].planes
    assert [p.extent for p in with_spacing] == [(20.0, 36.0), (8.0, 36.0), (8.0, 20.0)]
    assert {p.unit for p in with_spacing} == {"mm"}


def test_anatomical_axes_of_each_frame():
    identity = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    assert anatomical_axes(identity, "RAS") == ([(0, 1), (1, 1), (2, 1)], None)
    assert anatomical_axes(identity, "LPS") == ([(0, -1), (1, -1), (2, 1)], None)  # ITK: x toward the left
    zyx = ((0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))  # MetaImage read (z, y, x)
    assert anatomical_axes(zyx, "LPS")[0] == [(2, 1), (1, -1), (0, -1)]
    tilted = math.radians(15)  # within the tolerance: still axial
    near = ((math.cos(tilted), math.sin(tilted), 0.0), (-math.sin(tilted), math.cos(tilted), 0.0), (0.0, 0.0, 1.0))
    assert anatomical_axes(near, "RAS")[0] == [(0, 1), (1, 1), (2, 1)]
    assert anatomical_axes(identity, None)[0] is None and "anatomical frame" in anatomical_axes(identity, None)[1]
    both_x = ((1.0, 0.0, 0.0), (1.0, 0.0, 0.0), (0.0, 0.0, 1.0))
    assert anatomical_axes(both_x, "RAS")[0] is None


def test_a_float_label_volume_is_read_as_evaluation_reads_it(tmp_path, cli):
    """NIfTI ground truth stored as floats is read as integer labels by evaluation; the pictures read the pair
    through the same function."""
    gt = np.zeros((3, 6, 5), dtype=np.float32)
    gt[:, 1:4, 1:4] = 1.0
    pred = gt.astype(np.uint8)
    pred[2, 1, 1:4] = 0  # slice 2 of axis 0: three false negatives
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        nibabel.save(nibabel.Nifti1Image(array, np.eye(4)), tmp_path / folder / "v.nii.gz")
    [case] = _views(cli, tmp_path).worst
    assert case.problem is None
    sagittal = next(p for p in case.planes if p.axis == 0)
    assert sagittal.index == 2 and sagittal.wrong == 3


# ----------------------------------------------------------------------------------------------------------
# Made apart from the writer
# ----------------------------------------------------------------------------------------------------------


def test_pictures_are_made_apart_and_the_writer_only_places_them(tmp_path, cli):
    """One rendering step reads the pairs (through the engine's loader) and hands the HTML writer PNG bytes; the
    writer reads no input file: without pictures it writes a page with no views."""
    import base64
    import shutil

    from lossctl.engine.document import worst_rows
    from lossctl.report.html import write_report

    s = make_seg_set(tmp_path / "data", names=("a", "b", "c"))
    document = cli("seg", s.pred, s.gt, "-f", "json").json()
    pictures = make_pictures(document, 2)
    assert [v.row["name"] for v in pictures.worst] == [r["name"] for r in worst_rows(document, 2)]
    assert all(v.problem is None and len(v.planes) == 1 for v in pictures.worst)
    shutil.rmtree(s.root)  # the writer reads no input
    page = write_report(document, tmp_path / "r", pictures, worst=2).read_text()
    for view in pictures.worst:
        for panel in (view.planes[0].truth, view.planes[0].prediction, view.planes[0].errors):
            assert base64.b64encode(panel.png).decode() in page  # placed inline, as made
    assert list((tmp_path / "r").iterdir()) == [tmp_path / "r" / "index.html"]
    page = write_report(document, tmp_path / "bare").read_text()
    assert 'id="worst"' not in page and 'id="summary"' in page


def test_pictures_of_a_pair_that_cannot_be_read_again_say_why(tmp_path, cli):
    s = make_seg_set(tmp_path / "data", names=("a", "b"))
    document = cli("seg", s.pred, s.gt, "-f", "json").json()
    (s.pred / "a.npy").unlink()
    by_name = {v.row["name"]: v for v in make_pictures(document, 2).worst}
    assert by_name["a"].planes == [] and "a.npy" in by_name["a"].problem and by_name["b"].planes


def test_a_1d_array_gets_a_note_instead_of_pictures(tmp_path, cli):
    write_npy(tmp_path / "gt" / "a.npy", np.array([0, 1, 0, 0], np.uint8))
    write_npy(tmp_path / "pred" / "a.npy", np.array([0, 1, 1, 0], np.uint8))
    [case] = _views(cli, tmp_path, "-m", "dice").worst
    assert case.planes == [] and "a 1D array" in case.problem


def test_no_pictures_without_worst_images(tmp_path, cli):
    s = make_seg_set(tmp_path / "data", names=("a",))
    assert make_pictures(cli("seg", s.pred, s.gt, "-f", "json").json(), 0).worst == []
