"""lossctl.report.html (`--report DIR`): the self-contained HTML report; every table's header has one cell per
column (regions included; the `github` summary's tables too); the summary's medians, directions and units; the
per-class table at 150 classes; `--images`. A real headless browser renders it (Chromium: `.ci/run` installs it
when it is missing; without it the browser tests are skipped, saying so): it loads every picture and fetches
nothing, its tables are whole, it never scrolls sideways at 1280 pixels, pictures keep their physical aspect
ratio; the screenshots are saved in the test's folder (the path is printed: `pytest -s`). The pictures
themselves are tested in tests/engine/test_pictures.py.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nibabel
import numpy as np
import pytest
from PIL import Image
from support import make_seg_set, write_npy

from lossctl.engine.pictures import COLOURS

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
NAMES = "background,road,building,vegetation"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)),
               None)
needs_browser = pytest.mark.skipif(BROWSER is None, reason="no Chromium on this machine: `.ci/run` installs it "
                                   "(apt-get install chromium); these browser tests are skipped without it")


# ----------------------------------------------------------------------------------------------------------
# Reading tables back
# ----------------------------------------------------------------------------------------------------------


class _Tables(HTMLParser):
    """Every <table> of a page: its id, the columns of each header row (colspans summed), the cells of each body
    row."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._part = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append({"id": a.get("id"), "head": [], "body": []})
        elif tag in ("thead", "tbody"):
            self._part = "head" if tag == "thead" else "body"
        elif tag == "tr":
            self.tables[-1][self._part].append(0)
        elif tag in ("th", "td"):
            self.tables[-1][self._part][-1] += int(a.get("colspan", 1))


def html_tables(page: str) -> list[dict]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def markdown_tables(text: str) -> list[list[int]]:
    """The cell count of every line of every Markdown table (consecutive lines starting with ``|``)."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            current.append(len(re.split(r"(?<!\\)\|", line.strip())) - 2)
        elif current:
            tables.append(current)
            current = []
    return tables


def assert_whole(tables: list[dict]) -> None:
    """Every header row and every body row of every table spans the same number of columns."""
    assert tables
    for t in tables:
        counts = {*t["head"], *t["body"]}
        assert len(counts) == 1, f"table {t['id']}: header rows span {t['head']}, body rows {set(t['body'])}"


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------


def _report(tmp_path, cli, *extra):
    s = make_seg_set(tmp_path / "data", names=("a", "b", "c", "d"))
    out = tmp_path / "report"
    r = cli("seg", s.pred, s.gt, "--report", out, "--worst", "2", "--gate", "dice>=0.99", *extra)
    return s, out, r


def test_report_is_one_self_contained_file(tmp_path, cli):
    s, out, r = _report(tmp_path, cli)
    assert r.code == 1, r  # the gate fails; the report is written anyway
    page = (out / "index.html").read_text(encoding="utf-8")
    for table_id in ("gates", "summary", "per-class"):
        assert f'<table id="{table_id}">' in page
    assert page.count("<svg") == 12 and 'id="histograms"' in page  # one histogram per value
    assert not re.search(r"<script|<link|@import|url\(|src=\"(?!data:)|href=", page)  # nothing fetched, no JS
    assert page.count('src="data:image/png;base64,') == 2 * 3  # two worst images, three panels each
    assert [p.name for p in out.iterdir()] == ["index.html"]  # pictures inline: one file to keep or send
    dice = {row["name"]: row["values"]["dice"] for row in cli("seg", s.pred, s.gt, "-f", "json").json()["images"]}
    worst_two = sorted(dice, key=lambda n: (dice[n], n))[:2]
    assert re.findall(r'<h3>\d\. <code>(\w+)</code>', page) == worst_two
    (out / "worst_01_a.png").write_bytes(b"")  # a picture file of an earlier version's report
    cli("seg", s.pred, s.gt, "--report", out, "--worst", "1")
    assert [p.name for p in out.iterdir()] == ["index.html"]  # does not linger


def test_every_table_has_a_header_cell_per_column_regions_included(tmp_path, cli):
    """With regions the per-class vectors are longer than the classes: the HTML per-class table and the github
    summary's used to head only the classes (GitHub then dropped the region columns)."""
    summary = tmp_path / "summary.md"
    r = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", NAMES, "--region", "WT=1,2,3",
            "--region", "built=1,2", "--report", tmp_path / "r", "--write", f"github={summary}", "--worst", "2")
    assert r.code == 0, r
    page = (tmp_path / "r" / "index.html").read_text()
    tables = html_tables(page)
    assert_whole(tables)
    [per_class] = [t for t in tables if t["id"] == "per-class"]
    assert len(per_class["body"]) == 4 + 2  # one row per class, then per region
    assert "<td>{1,2,3}</td><td>WT</td>" in page and "<td>{1,2}</td><td>built</td>" in page
    text = summary.read_text()
    for table in markdown_tables(text):
        assert len(set(table)) == 1, table
    assert "| value | background | road | building | vegetation | WT | built |" in text


def test_summary_has_medians_directions_and_units(tmp_path, cli):
    for folder in ("gt", "pred"):
        rng = np.random.default_rng(0 if folder == "gt" else 1)
        for i in range(2):
            volume = (rng.random((6, 7, 8)) > 0.5).astype(np.uint8)
            (tmp_path / folder).mkdir(exist_ok=True)
            nibabel.save(nibabel.Nifti1Image(volume, np.diag([0.8, 1.2, 2.5, 1.0])), tmp_path / folder / f"v{i}.nii.gz")
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice", "-m", "hd95", "--report", tmp_path / "r")
    assert r.code == 0, r
    page = (tmp_path / "r" / "index.html").read_text()
    head = re.search(r'<table id="summary"><thead><tr>(.*?)</tr>', page).group(1)
    assert re.findall(r"<th>(\w+)</th>", head) == ["value", "mean", "std", "min", "median", "max", "pooled"]
    assert '<code>dice</code> <span title="higher is better">↑</span>' in page
    assert '<code>hd95</code> (mm) <span title="lower is better">↓</span>' in page
    median = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "hd95", "-f", "json").json()
    assert f"<td class=\"n\">{median['summary']['median']['hd95']:.4f}</td>" in page
    assert "hd95 (mm): 2 image(s), median" in page and "max bin" not in page
    assert re.search(r"Axial plane: axis 2 at index \d+ \(of 0\.\.7\)", page)
    s = make_seg_set(tmp_path / "2d", names=("a",))
    cli("seg", s.pred, s.gt, "-m", "hd95", "--report", tmp_path / "r2")
    assert "<code>hd95</code> (px)" in (tmp_path / "r2" / "index.html").read_text()  # no spacing: pixel widths


def _many_classes(root: Path, classes: int = 150) -> str:
    """Three 24x24 label images over ``classes`` classes with long names; returns the names."""
    rng = np.random.default_rng(5)
    for name in ("a", "b", "c"):
        gt = rng.integers(0, classes, (24, 24)).astype(np.uint8)
        pred = np.where(rng.random(gt.shape) < 0.3, rng.integers(0, classes, gt.shape), gt).astype(np.uint8)
        write_npy(root / "gt" / f"{name}.npy", gt)
        write_npy(root / "pred" / f"{name}.npy", pred)
    return ",".join(f"category-with-a-long-name-{i:03d}" for i in range(classes))


def test_per_class_table_has_one_row_per_class_at_150_classes(tmp_path, cli):
    names = _many_classes(tmp_path)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--class-names", names, "--report", tmp_path / "r")
    assert r.code == 0, r
    tables = html_tables((tmp_path / "r" / "index.html").read_text())
    assert_whole(tables)
    [per_class] = [t for t in tables if t["id"] == "per-class"]
    assert len(per_class["body"]) == 150 and per_class["head"] == [2 + 4 + 4] * 2  # #, class; pooled, mean


def test_input_images_option(tmp_path, cli):
    s = make_seg_set(tmp_path / "data", names=("a", "b"))
    images = tmp_path / "images"
    images.mkdir()
    Image.fromarray(np.full((*s.gts["a"].shape, 3), 200, np.uint8)).save(images / "a.jpg")
    r = cli("seg", s.pred, s.gt, "--report", tmp_path / "r", "--images", images)
    assert r.code == 0, r
    page = (tmp_path / "r" / "index.html").read_text()
    assert page.count('alt="input image"') == 1 and "No input image: no input image named b in" in page
    assert "note: --images" in r.err and "no input image for 1 of the 2 worst images (b)" in r.err
    assert cli("seg", s.pred, s.gt, "--images", images).code == 2  # without --report: nothing would show them
    assert cli("seg", s.pred, s.gt, "--report", tmp_path / "r", "--image-pattern", "{name}.jpg").code == 2
    missing = cli("seg", s.pred, s.gt, "--report", tmp_path / "r", "--images", tmp_path / "nowhere")
    assert missing.code == 3 and "nowhere" in missing.err and "input image" in missing.err  # before any work
    bad = cli("seg", s.pred, s.gt, "--report", tmp_path / "r", "--images", images, "--image-pattern", "x.jpg")
    assert bad.code == 2 and "--image-pattern" in bad.err


def test_report_of_compare_and_cls(tmp_path, cli):
    from support import write_cls_inputs

    s = make_seg_set(tmp_path / "data")
    base, new = tmp_path / "b.json", tmp_path / "n.json"
    cli("seg", s.labels, s.gt, "-f", "json", "-o", base)
    cli("seg", s.pred, s.gt, "-f", "json", "-o", new)
    assert cli("compare", base, new, "--report", tmp_path / "cmp", "--gate", "delta(dice)>=0").code == 0
    page = (tmp_path / "cmp" / "index.html").read_text()
    assert '<table id="summary">' in page and page.count("<svg") == 5  # a delta histogram per metric
    assert '<code>dice</code> <span title="higher is better">↑</span>' in page
    assert_whole(html_tables(page))
    c = write_cls_inputs(tmp_path / "cls")
    assert cli("cls", c["probs_npy"], c["target_npy"], "--per-sample", "--report", tmp_path / "clsr").code == 0
    page = (tmp_path / "clsr" / "index.html").read_text()
    assert "<svg" in page and 'id="per-class"' not in page
    assert_whole(html_tables(page))


# ----------------------------------------------------------------------------------------------------------
# A real browser
# ----------------------------------------------------------------------------------------------------------

#: Measures the rendered page once it has loaded, into an attribute that --dump-dom prints.
_MEASURE = """<script>addEventListener("load", () => { const d = document.documentElement;
d.dataset.measured = JSON.stringify({scrollWidth: d.scrollWidth, innerWidth: innerWidth,
 fetched: performance.getEntriesByType("resource").map(e => e.name),
 wide: [...document.querySelectorAll(".wide")].map(e => [e.scrollWidth, e.clientWidth]),
 tables: [...document.querySelectorAll("table")].map(t => ({id: t.id,
   head: [...t.tHead.rows].map(r => [...r.cells].reduce((n, c) => n + c.colSpan, 0)),
   body: [...t.tBodies[0].rows].map(r => [...r.cells].reduce((n, c) => n + c.colSpan, 0))})),
 images: [...document.images].map(i => ({alt: i.alt, natural: i.naturalWidth,
   width: i.getBoundingClientRect().width, height: i.getBoundingClientRect().height,
   extent: i.closest(".plane") ? i.closest(".plane").dataset.extent : null})),
 diagrams: [...document.querySelectorAll("#calibration svg")].map(s => ({label: s.getAttribute("aria-label"),
   bars: s.querySelectorAll("rect[fill='#0072b2']").length, dots: s.querySelectorAll("circle").length,
   width: s.getBoundingClientRect().width, height: s.getBoundingClientRect().height}))}); });</script>"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    """Headless Chromium (``--no-sandbox``: the sandbox cannot start as root, as in CI containers)."""
    return subprocess.run([BROWSER, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           "--disable-extensions", "--hide-scrollbars", "--window-size=1280,2000", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def render(page: Path, shots: Path, name: str) -> dict:
    """Render ``page`` at 1280 pixels wide: its measurements (:data:`_MEASURE`, on a copy of the page), and a
    screenshot saved as ``shots/NAME.png`` (its path printed)."""
    measured = page.with_name("measured.html")
    measured.write_text(page.read_text(encoding="utf-8").replace("</body>", _MEASURE + "</body>"), encoding="utf-8")
    dom = _chromium("--dump-dom", measured.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'data-measured="([^"]*)"', dom.stdout)
    assert found, "the page did not finish loading"
    shot = shots / f"{name}.png"
    done = _chromium(f"--screenshot={shot}", page.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    print(f"screenshot: {shot}")
    return {**json.loads(html.unescape(found.group(1))), "shot": shot}


def assert_loaded_whole_and_narrow(m: dict) -> None:
    """Every picture decoded, nothing fetched, every table whole, no sideways scrolling of the page or a table."""
    assert all(i["natural"] > 0 for i in m["images"]), [i["alt"] for i in m["images"] if not i["natural"]]
    assert [u for u in m["fetched"] if not u.startswith("data:")] == []
    assert_whole(m["tables"])
    assert m["scrollWidth"] <= m["innerWidth"] == 1280
    assert all(scroll <= client for scroll, client in m["wide"]), m["wide"]


@needs_browser
def test_report_renders_in_a_headless_browser(tmp_path, cli):
    images = tmp_path / "images"  # input images: the classes as shades of grey
    images.mkdir()
    for gt in sorted((SAMPLE / "gt").glob("*.png")):
        Image.fromarray(np.asarray(Image.open(gt)).astype(np.uint8) * 60, mode="L").save(images / gt.name)
    out = tmp_path / "report"
    r = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", NAMES, "--region", "built=1,2",
            "--report", out, "--worst", "3", "--gate", "dice>=0.8", "--images", images)
    assert r.code == 0, r
    m = render(out / "index.html", tmp_path, "sample")
    assert_loaded_whole_and_narrow(m)
    assert {t["id"] for t in m["tables"]} >= {"gates", "summary", "per-class"}
    assert [i["alt"] for i in m["images"]] == ["ground truth", "prediction", "errors", "input image"] * 3
    sizes = {(round(i["width"]), round(i["height"])) for i in m["images"]}
    assert sizes == {(300, 300)}  # 256 x 256 pixels without spacing: square, one size
    pixels = np.asarray(Image.open(m["shot"]).convert("RGB")).astype(int)
    assert pixels.std() > 10  # not blank
    colours = {tuple(c) for c in pixels.reshape(-1, 3)[::7]}
    tp = COLOURS["tp"]  # the error maps' true-positive green was painted (blended over the grey truth)
    assert any(abs(c[0] - tp[0]) < 60 and c[1] > 110 and c[1] > c[0] + 40 and c[1] > c[2] for c in colours)


@needs_browser
def test_reliability_diagrams_render_one_per_class(tmp_path, cli):
    """ece: one diagram of the top label; cw_ece: one per class; each bar a non-empty bin of the pooled bin table
    (summary.calibration), drawn inline (no script, nothing fetched)."""
    out = tmp_path / "report"
    args = ("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", NAMES, "-m", "ece,cw_ece,brier")
    r = cli(*args, "--report", out, "--worst", "1")
    assert r.code == 0, r
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2>Calibration</h2>" in page and not re.search(r"<script|<link|url\(|href=", page)
    m = render(out / "index.html", tmp_path, "calibration")
    assert_loaded_whole_and_narrow(m)
    tallies = cli(*args, "-f", "json").json()["summary"]["calibration"]
    expected = [("ece", tallies["ece"]["count"][0])] + [
        (f"cw_ece [{name}]", row) for name, row in zip(NAMES.split(","), tallies["cw_ece"]["count"], strict=True)]
    assert [d["label"] for d in m["diagrams"]] == [f"reliability diagram of {label}" for label, _ in expected]
    for diagram, (_, counts) in zip(m["diagrams"], expected, strict=True):
        filled = sum(1 for c in counts if c > 0)
        assert diagram["bars"] == diagram["dots"] == filled > 0
        assert (round(diagram["width"]), round(diagram["height"])) == (220, 220)


@needs_browser
def test_150_classes_never_scroll_sideways(tmp_path, cli):
    names = _many_classes(tmp_path / "data")
    out = tmp_path / "report"
    r = cli("seg", tmp_path / "data" / "pred", tmp_path / "data" / "gt", "--class-names", names, "-m", "dice",
            "-m", "iou", "-m", "precision", "-m", "recall", "-m", "hd95", "-m", "assd", "--report", out,
            "--worst", "2")
    assert r.code == 0, r
    m = render(out / "index.html", tmp_path, "classes_150")
    assert_loaded_whole_and_narrow(m)
    [per_class] = [t for t in m["tables"] if t["id"] == "per-class"]
    assert len(per_class["body"]) == 150


@needs_browser
def test_volume_planes_keep_their_physical_aspect_in_the_browser(tmp_path, cli):
    gt = np.zeros((40, 128, 30), dtype=np.uint8)
    gt[5:35, 20:100, 5:25] = 1
    pred = gt.copy()
    pred[10:30, 40:60, 10:20] = 0
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        nibabel.save(nibabel.Nifti1Image(array, np.diag([3.0, 0.7, 5.0, 1.0])), tmp_path / folder / "v.nii.gz")
    out = tmp_path / "report"
    assert cli("seg", tmp_path / "pred", tmp_path / "gt", "--report", out).code == 0
    m = render(out / "index.html", tmp_path, "volume")
    assert_loaded_whole_and_narrow(m)
    planes = [i for i in m["images"] if i["extent"]]
    assert len(planes) == 9  # three planes, three panels each
    for i in planes:
        height, width = map(float, i["extent"].split())
        assert i["width"] / i["height"] == pytest.approx(width / height, rel=0.02)  # mm, not pixels
    extents = sorted({tuple(map(float, i["extent"].split())) for i in planes})
    assert extents == [(89.6, 120.0), (150.0, 89.6), (150.0, 120.0)]  # axial, sagittal, coronal (mm)
    page = (out / "index.html").read_text()
    for plane in ("Axial plane: axis 2", "Coronal plane: axis 1", "Sagittal plane: axis 0"):
        assert plane in page


@needs_browser
def test_report_with_instances_renders_counts_recall_by_size_and_instance_panels(tmp_path, cli):
    out = tmp_path / "report"
    r = cli("seg", SAMPLE / "nuclei" / "pred", SAMPLE / "nuclei" / "gt", "--instances", "labels", "-m", "pq",
            "-m", "inst_tp", "--size-bins", "50,100", "--report", out, "--worst", "2")
    assert r.code == 0, r
    m = render(out / "index.html", tmp_path, "instances")
    assert_loaded_whole_and_narrow(m)
    assert [i["alt"] for i in m["images"]] == ["ground truth", "prediction", "errors", "instances"] * 2
    assert len({(round(i["width"]), round(i["height"])) for i in m["images"]}) == 1  # one row of four
    page = (out / "index.html").read_text()
    assert 'id="instance-legend"' in page and "missed ground-truth instance (false negative)" in page
    assert "Recall by ground-truth instance size (voxels)" in page
    [per_class] = [t for t in html_tables(page) if t["id"] == "per-class"]
    assert len(per_class["body"]) == 2
    # the counts summed over the per-instance rows, as integers: 27 nuclei, 20 matched, 7 missed, 10 false
    assert "<td>1</td>" in page and re.search(r'<td class="n">27</td><td class="n">20</td><td class="n">7</td>'
                                                r'<td class="n">10</td></tr>', page)
    [recall] = [t for t in m["tables"] if t["id"] == "recall-by-size"]
    assert recall["head"] == [4] and recall["body"] == [4]
