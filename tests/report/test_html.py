"""`--report DIR`: the self-contained HTML report and its error overlays; a real headless browser renders it
(Chromium, when installed: `apt-get install chromium`; the browser tests are skipped, saying so, without it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import make_seg_set, write_label_png, write_npy  # noqa: F401

from lossctl.engine.pictures import COLOURS, outcome_map, render_overlay

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)


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


def _report(tmp_path, cli, *extra):
    s = make_seg_set(tmp_path / "data", names=("a", "b", "c", "d"))
    out = tmp_path / "report"
    r = cli("seg", s.pred, s.gt, "--report", out, "--worst", "2", "--gate", "dice>=0.99", *extra)
    return s, out, r


def test_report_is_self_contained_with_overlays_of_the_worst_images(tmp_path, cli):
    s, out, r = _report(tmp_path, cli)
    assert r.code == 1, r  # the gate fails; the report is written anyway
    page = (out / "index.html").read_text(encoding="utf-8")
    for table_id in ("gates", "summary", "per-class"):
        assert f'<table id="{table_id}">' in page
    assert page.count("<svg") == 12 and 'id="histograms"' in page  # one histogram per value
    assert not re.search(r"<script|<link|@import|url\(|src=\"(?:https?:)?//|href=", page)  # nothing fetched
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert len(pngs) == 2 and all(f'src="{p}"' in page for p in pngs)
    dice = {n: r for n, r in ((row["name"], row["values"]["dice"]) for row in
                              cli("seg", s.pred, s.gt, "-f", "json").json()["images"])}
    worst_two = sorted(dice, key=lambda n: (dice[n], n))[:2]
    assert [p.split("_", 2)[2][:-4] for p in pngs] == worst_two
    image = np.asarray(Image.open(out / pngs[0]))
    assert image.shape == (6, 7, 3)  # the image's own size
    cli("seg", s.pred, s.gt, "--report", out, "--worst", "1")
    assert len(list(out.glob("*.png"))) == 1  # the earlier report's overlays do not linger


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


def test_report_of_a_volume_and_of_probabilities(tmp_path, cli):
    rng = np.random.default_rng(3)
    gt = rng.integers(0, 3, (4, 6, 5)).astype(np.uint8)
    probs = rng.dirichlet(np.ones(3), size=gt.shape).transpose(3, 0, 1, 2).astype(np.float32)
    write_npy(tmp_path / "gt" / "v.npy", gt)
    write_npy(tmp_path / "pred" / "v.npy", probs)
    assert cli("seg", tmp_path / "pred", tmp_path / "gt", "--report", tmp_path / "r").code == 0
    page = (tmp_path / "r" / "index.html").read_text()
    assert "slice" in page and "the one with the most errors" in page
    assert np.asarray(Image.open(tmp_path / "r" / "worst_01_v.png")).shape == (6, 5, 3)


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


def test_report_inside_an_input_is_refused(tmp_path, cli):
    s = make_seg_set(tmp_path / "data")
    for target in (s.gt / "report", s.pred, s.pred / "deeper" / "report"):
        r = cli("seg", s.pred, s.gt, "--report", target)
        assert r.code == 2 and "--report" in r.err and "input" in r.err, r
    assert not (s.gt / "report").exists()


def test_report_of_compare_and_cls(tmp_path, cli):
    from support import write_cls_inputs

    s = make_seg_set(tmp_path / "data")
    base, new = tmp_path / "b.json", tmp_path / "n.json"
    cli("seg", s.labels, s.gt, "-f", "json", "-o", base)
    cli("seg", s.pred, s.gt, "-f", "json", "-o", new)
    assert cli("compare", base, new, "--report", tmp_path / "cmp", "--gate", "delta(dice)>=0").code == 0
    page = (tmp_path / "cmp" / "index.html").read_text()
    assert '<table id="summary">' in page and page.count("<svg") == 5  # a delta histogram per metric
    c = write_cls_inputs(tmp_path / "cls")
    assert cli("cls", c["probs_npy"], c["target_npy"], "--per-sample", "--report", tmp_path / "clsr").code == 0
    assert "<svg" in (tmp_path / "clsr" / "index.html").read_text()


# ----------------------------------------------------------------------------------------------------------
# A real browser
# ----------------------------------------------------------------------------------------------------------


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", "--allow-file-access-from-files", *args],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_report_renders_in_a_headless_browser(tmp_path, cli):
    out = tmp_path / "report"
    r = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", "background,road,building,vegetation",
            "--report", out, "--worst", "3", "--gate", "dice>=0.8")
    assert r.code == 0, r
    url = (out / "index.html").as_uri()
    dom = _chromium("--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for table_id in ("gates", "summary", "per-class"):
        assert f'<table id="{table_id}">' in dom.stdout
    assert "scene_07" in dom.stdout and dom.stdout.count("<svg") == 12
    shot = tmp_path / "shot.png"
    done = _chromium(f"--screenshot={shot}", "--window-size=1200,2400", "--hide-scrollbars", url)
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert pixels.std() > 10  # not blank
    colours = {tuple(c) for c in pixels.reshape(-1, 3)[::7]}
    tp = COLOURS["tp"]  # the overlays' true-positive green was painted (blended over the grey truth)
    assert any(abs(c[0] - tp[0]) < 60 and c[1] > 110 and c[1] > c[0] + 40 and c[1] > c[2] for c in colours)
    shutil.copy(shot, out / "screenshot.png")


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
