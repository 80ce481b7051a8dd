"""lossctl.report.html (`--report DIR`): the self-contained HTML report that places the error overlays; a real
headless browser renders it (Chromium, when installed: `apt-get install chromium`; the browser tests are
skipped, saying so, without it). The overlays themselves are tested in tests/engine/test_pictures.py."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import make_seg_set, write_label_png, write_npy  # noqa: F401

from lossctl.engine.pictures import COLOURS

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)


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
