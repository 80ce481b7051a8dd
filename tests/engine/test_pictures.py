"""lossctl.engine.pictures: the error overlays of the HTML report, hand-derived, and made from the pairs as
evaluation reads them (through the engine's loader: label maps, float label volumes) before any writer runs.

The report that places them is tested in tests/report/test_html.py.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from support import make_seg_set, write_label_png

from lossctl.engine.pictures import COLOURS, outcome_map, render_overlay


def test_outcome_codes_hand_derived():
    gt = np.array([[0, 0, 1, 1], [2, 2, 0, 1]])
    pred = np.array([[0, 1, 1, 0], [2, 1, 0, 1]])
    valid = np.ones_like(gt, dtype=bool)
    valid[1, 3] = False
    # TP where pred == gt != 0; FP: gt 0, pred a class; FN: gt a class, pred 0; wrong class; ignored
    assert outcome_map(pred, gt, valid).tolist() == [[0, 2, 1, 3], [1, 4, 0, 5]]


def test_overlay_colours_and_the_volume_slice_with_most_errors():
    gt = np.zeros((3, 4, 4), dtype=np.int64)
    gt[:, :2] = 1
    pred = gt.copy()
    pred[2, 0, :3] = 0  # slice 2: three false negatives
    pred[1, 3, 0] = 1  # slice 1: one false positive
    rgb, index = render_overlay(pred, gt, np.ones_like(gt, dtype=bool), 2)
    assert index == 2 and rgb.shape == (4, 4, 3) and rgb.dtype == np.uint8
    fn, tp, background = rgb[0, 0], rgb[1, 0], rgb[3, 3]
    assert np.argmax(fn) == 2 and np.argmax(tp) == 1  # blue-dominant FN, green-dominant TP
    assert len({tuple(fn), tuple(tp), tuple(background)}) == 3 and background[0] == background[1] == background[2]
    assert len({COLOURS[k] for k in COLOURS}) == len(COLOURS)


def test_overlay_recomputes_the_evaluated_labels(tmp_path, cli):
    gt = np.zeros((8, 8), dtype=np.uint8)
    gt[2:6, 2:6] = 1
    pred = gt.copy()
    pred[0, 0] = 1  # one FP
    pred[2, 2] = 0  # one FN
    write_label_png(tmp_path / "gt" / "x.png", gt)
    write_label_png(tmp_path / "pred" / "x.png", pred)
    assert cli("seg", tmp_path / "pred", tmp_path / "gt", "--report", tmp_path / "r").code == 0
    rgb = np.asarray(Image.open(tmp_path / "r" / "worst_01_x.png")).astype(int)
    want = render_overlay(pred.astype(np.int64), gt.astype(np.int64), np.ones((8, 8), bool), 2)[0]
    assert np.array_equal(rgb, want)
    assert tuple(rgb[0, 0]) != tuple(rgb[2, 2]) != tuple(rgb[3, 3])


def test_pictures_are_made_apart_and_the_writer_only_places_them(tmp_path, cli):
    """One rendering step reads the pairs (through the engine's loader) and hands the HTML writer PNG bytes; the
    writer reads no input file: without pictures it writes a page with no overlays."""
    import io
    import shutil

    from lossctl.engine.document import worst_rows
    from lossctl.engine.pictures import make_pictures
    from lossctl.report.html import write_report

    s = make_seg_set(tmp_path / "data", names=("a", "b", "c"))
    document = cli("seg", s.pred, s.gt, "-f", "json").json()
    pictures = make_pictures(document, 2)
    assert [o.row["name"] for o in pictures.overlays] == [r["name"] for r in worst_rows(document, 2)]
    assert all(o.problem is None and o.slice is None for o in pictures.overlays)
    assert cli("seg", s.pred, s.gt, "--report", tmp_path / "cli", "--worst", "2").code == 0
    for rank, overlay in enumerate(pictures.overlays, start=1):  # the very PNG files the CLI writes
        assert (tmp_path / "cli" / f"worst_{rank:02d}_{overlay.row['name']}.png").read_bytes() == overlay.png
    assert np.asarray(Image.open(io.BytesIO(pictures.overlays[0].png))).shape == (*s.gts["a"].shape, 3)
    shutil.rmtree(s.root)  # the writer reads no input
    write_report(document, tmp_path / "r", pictures, worst=2)
    assert sorted(p.name for p in (tmp_path / "r").glob("*.png")) == [
        f"worst_{k:02d}_{o.row['name']}.png" for k, o in enumerate(pictures.overlays, start=1)]
    write_report(document, tmp_path / "bare")
    page = (tmp_path / "bare" / "index.html").read_text()
    assert not list((tmp_path / "bare").glob("*.png")) and 'id="worst"' not in page and 'id="summary"' in page


def test_pictures_of_a_pair_that_cannot_be_read_again_say_why(tmp_path, cli):
    from lossctl.engine.pictures import make_pictures

    s = make_seg_set(tmp_path / "data", names=("a", "b"))
    document = cli("seg", s.pred, s.gt, "-f", "json").json()
    (s.pred / "a.npy").unlink()
    by_name = {o.row["name"]: o for o in make_pictures(document, 2).overlays}
    assert by_name["a"].png is None and "a.npy" in by_name["a"].problem and by_name["b"].png is not None


def test_overlay_follows_the_label_map(tmp_path, cli):
    gt = np.full((6, 6), 7, dtype=np.uint8)
    gt[1:4, 1:4] = 8
    gt[5, 5] = 255  # void: ignored by the map
    pred = np.zeros((6, 6), dtype=np.uint8)
    pred[1:4, 1:3] = 1
    write_label_png(tmp_path / "gt" / "m.png", gt)
    write_label_png(tmp_path / "pred" / "m.png", pred)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "7:0,8:1,255:ignore", "--report", tmp_path / "r")
    assert r.code == 0, r
    rgb = np.asarray(Image.open(tmp_path / "r" / "worst_01_m.png"))
    mapped = np.where(gt == 8, 1, 0)
    valid = gt != 255
    want = render_overlay(pred.astype(np.int64), mapped, valid, 2)[0]
    assert np.array_equal(rgb, want) and tuple(rgb[5, 5]) == COLOURS["ignored"]


def test_overlay_of_a_float_label_volume_reads_it_as_evaluation_does(tmp_path, cli):
    """NIfTI ground truth stored as floats is read as integer labels by evaluation; the overlay reads the pair
    through the same function (it used to refuse it: no overlay)."""
    import nibabel

    gt = np.zeros((3, 6, 5), dtype=np.float32)
    gt[:, 1:4, 1:4] = 1.0
    pred = gt.astype(np.uint8)
    pred[2, 1, 1:4] = 0  # slice 2: three false negatives
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        nibabel.save(nibabel.Nifti1Image(array, np.eye(4)), tmp_path / folder / "v.nii.gz")
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--report", tmp_path / "r")
    assert r.code == 0, r
    page = (tmp_path / "r" / "index.html").read_text()
    assert "no overlay" not in page and "slice 2 of 3" in page
    rgb = np.asarray(Image.open(tmp_path / "r" / "worst_01_v.png"))
    want = render_overlay(pred.astype(np.int64), gt.astype(np.int64), np.ones(gt.shape, bool), 2)[0]
    assert np.array_equal(rgb, want)
