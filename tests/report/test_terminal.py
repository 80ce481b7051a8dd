"""The table format (``-f table``) fits the width: every layout rendered through Rich at fixed widths.

Documents come from real runs (``-f json``); :func:`lossctl.report.flat.write_table` renders them at 80 and 120
columns, and no line may be wider. The summary must show every value's mean as the JSON has it, class names
stay whole, the worst images follow each value's direction, colour appears only on a terminal, and the bytes
written to a pipe are the same from one run to the next.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.cells import cell_len
from support import run_subprocess, softmax, write_label_png, write_npy, write_palette_png  # noqa: F401

from lossctl import registry
from lossctl.cli.app import option_flags
from lossctl.engine.document import TABLE_WORST, worst_rows
from lossctl.report.flat import write_table
from lossctl.report.table import FULL_ROWS
from lossctl.report.terminal import PIPE_WIDTH

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
SAMPLE_CLASSES = "background,road,building,vegetation"
WIDTHS = (80, 120)
CITYSCAPES = ("road,sidewalk,building,wall,fence,pole,traffic light,traffic sign,vegetation,terrain,sky,person,"
              "rider,car,truck,bus,train,motorcycle,bicycle").split(",")
_WORDS = ("wall", "building", "sky", "floor", "tree", "ceiling", "road", "bed", "windowpane", "grass", "cabinet",
          "sidewalk", "person", "earth", "door", "chest of drawers", "television receiver", "kitchen island",
          "conveyer belt", "swimming pool", "bulletin board", "arcade machine")
ADE_LIKE = [f"{_WORDS[i % len(_WORDS)]} {i}" for i in range(150)]


def render(doc: dict[str, Any], width: int, **view: Any) -> str:
    buffer = io.StringIO()
    write_table(doc, buffer, width=width, **view)
    return buffer.getvalue()


def assert_fits(text: str, width: int) -> None:
    lines = text.splitlines()
    assert lines, "nothing rendered"
    widest = max(lines, key=cell_len)
    assert cell_len(widest) <= width, f"a line of {cell_len(widest)} cells at width {width}: {widest!r}"
    assert "…" not in text  # nothing is cut
    assert not any(line != line.rstrip() for line in lines)  # no trailing blanks


@pytest.fixture(scope="module")
def sample_doc(tmp_path_factory) -> dict[str, Any]:
    every = [a for s in registry.specs("seg") if not s.instance  # instance values: tests/engine/test_instances.py
             and not s.on_request  # counting metrics: tests/metrics/test_counting.py
             for a in ("-m" if s.kind == "metric" else "-l", s.name)]
    run = run_subprocess("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", SAMPLE_CLASSES, *every,
                         "-f", "json", "-g", "dice>=0.8", "-g", "min(dice)>=0.5")
    assert run.returncode == 1, run.stderr  # the min gate fails: the table must still render it
    return json.loads(run.stdout)


def _many_class_doc(cli, root: Path, names: list[str]) -> dict[str, Any]:  # noqa: F811
    """Three 6x8 probability maps over len(names) classes, every loss and metric, per-class values."""
    rng = np.random.default_rng(len(names))
    c = len(names)
    for i in range(3):
        gt = rng.integers(0, c, (6, 8))
        logits = rng.normal(size=(c, 6, 8))
        np.put_along_axis(logits, gt[None], 3.0, axis=0)
        write_label_png(root / "gt" / f"im{i}.png", gt)
        write_npy(root / "pred" / f"im{i}.npy", softmax(logits).astype(np.float32))
    r = cli("seg", root / "pred", root / "gt", "--class-names", ",".join(names), "-f", "json", "--workers", "1")
    assert r.code == 0, r
    doc = r.json()
    assert set(doc["summary"]["mean"]) == {s.name for s in registry.specs("seg") if not s.opt_in and not s.on_request}  # every default
    return doc


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", [{}, {"per_image": True}, {"worst": 3}, {"per_class": True},
                                  {"per_class": True, "per_image": True}])
def test_sample_data_with_every_value_fits(sample_doc, width, view):
    assert set(sample_doc["summary"]["mean"]) == {s.name for s in registry.specs("seg")
                                                  if not s.instance and not s.on_request}
    text = render(sample_doc, width, **view)
    assert_fits(text, width)
    for name in sample_doc["summary"]["mean"]:
        assert re.search(rf"^{name} ", text, re.M), f"{name} has no summary row"
    assert "FAIL" in text and "PASS" in text


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("names", [CITYSCAPES, ADE_LIKE], ids=["19 classes", "150 classes"])
def test_per_class_rows_fit_and_keep_every_name_whole(cli, tmp_path, width, names):  # noqa: F811
    doc = _many_class_doc(cli, tmp_path, names)
    text = render(doc, width, per_class=True)
    assert_fits(text, width)
    tables = text.count("\nper class: ")
    assert tables >= 2  # pooled, then mean over images
    for i, name in enumerate(names):
        rows = re.findall(rf"^ *{i}  {re.escape(name)}  +(?:\d|—)", text, re.M)
        assert len(rows) == tables, f"class {i} ({name}) is not whole on a row of every per-class table"


@pytest.mark.parametrize("width", WIDTHS)
def test_per_class_layout_is_the_same_for_2_19_and_150_classes(cli, tmp_path, width):  # noqa: F811
    titles = []
    for names in (["bg", "fg"], CITYSCAPES, ADE_LIKE):
        text = render(_many_class_doc(cli, tmp_path / str(len(names)), names), width, per_class=True)
        titles.append([line for line in text.splitlines() if line.startswith("per class")])
    # the class count changes the rows, not the columns (the longest class name may add a part)
    assert titles[0][:2] == titles[1][:2] == titles[2][:2]


def _cls_docs(cli, tmp_path) -> list[dict[str, Any]]:  # noqa: F811
    rng = np.random.default_rng(11)
    n = 40
    p = rng.uniform(0.01, 0.99, n)
    y = (rng.random(n) < p).astype(np.int64)
    probs = softmax(rng.normal(size=(n, 4)), axis=1)
    labels = rng.integers(0, 4, n)
    docs = []
    for pred, target in ((p, y), (probs, labels)):
        pred_path = write_npy(tmp_path / f"p{pred.ndim}.npy", pred)
        target_path = write_npy(tmp_path / f"y{pred.ndim}.npy", target)
        r = cli("cls", pred_path, target_path, "--per-sample", "-f", "json")
        assert r.code == 0, r
        docs.append(r.json())
    computed = {n for doc in docs for n in doc["summary"]["mean"]}
    # every loss and metric computed by default, over the two runs (calibration, counting and ranking: on request)
    assert computed == {s.name for s in registry.specs("cls") if s.by_default}
    return docs


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("worst", [None, 3])
def test_cls_with_every_loss_and_metric_fits(cli, tmp_path, width, worst):  # noqa: F811
    for doc in _cls_docs(cli, tmp_path):
        text = render(doc, width, per_image=worst is None, worst=worst)
        assert_fits(text, width)
        rows = [line for line in text.splitlines() if re.match(r"^\d+ +\d", line)]
        n_losses = sum(registry.get("cls", n).kind == "loss" for n in doc["summary"]["mean"])
        per_table = 40 if worst is None else 3
        assert len(rows) % per_table == 0 and len(rows) >= per_table
        assert n_losses >= 5


@pytest.mark.parametrize("width", WIDTHS)
def test_cls_calibration_values_fit(cli, tmp_path, width):
    rng = np.random.default_rng(12)
    probs, labels = softmax(rng.normal(size=(40, 4)), axis=1), rng.integers(0, 4, 40)
    r = cli("cls", write_npy(tmp_path / "p.npy", probs), write_npy(tmp_path / "y.npy", labels), "-m",
            ",".join(s.name for s in registry.specs("cls") if s.calibration), "-f", "json")
    assert r.code == 0, r
    text = render(r.json(), width)
    assert_fits(text, width)
    assert all(s.name in text for s in registry.specs("cls") if s.calibration)


def _summary_rows(text: str) -> dict[str, list[str]]:
    """The summary's rows by value name (a unit after the name, ``hd95 (mm)``, left out): arrow, then cells."""
    lines = text.splitlines()
    start = lines.index(next(line for line in lines if line.startswith("summary over")))
    header = lines[start + 1].split()
    rows = {}
    for line in lines[start + 3:]:
        if line.startswith("↑ higher") or not line.strip():  # the end, or of the first part of a split table
            break
        name, arrow, *cells = re.sub(r" \(\w+\)", "", line, count=1).split()
        rows[name] = [arrow, *cells]
    assert header[0] == "value"
    return rows


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_holds_every_mean_of_the_json(cli, tmp_path, sample_doc, width):  # noqa: F811
    for doc in [sample_doc, *_cls_docs(cli, tmp_path)]:
        rows = _summary_rows(render(doc, width))
        assert set(rows) == set(doc["summary"]["mean"])
        for name, mean in doc["summary"]["mean"].items():
            arrow, shown_mean, *_ = rows[name]
            assert shown_mean == f"{mean:.4f}", name
            assert arrow == ("↑" if registry.get(doc["command"], name).higher_is_better else "↓")


def test_summary_columns_are_the_statistics(sample_doc):
    text = render(sample_doc, 100).splitlines()
    header = text[text.index(next(line for line in text if line.startswith("summary over"))) + 1].split()
    assert header == ["value", "mean", "std", "min", "median", "max", "pooled"]
    rows = _summary_rows(render(sample_doc, 100))
    s = sample_doc["summary"]
    for stat_index, stat in enumerate(("mean", "std", "min", "median", "max"), start=1):
        assert rows["dice"][stat_index] == f"{s[stat]['dice']:.4f}"
    assert rows["dice"][6] == f"{s['pooled']['dice']:.4f}"
    assert rows["ce"][6] == "n/a"  # a loss has no pooled value: it does not apply


def test_summary_median_is_the_median_over_images(sample_doc):
    for name, median in sample_doc["summary"]["median"].items():
        values = [im["values"][name] for im in sample_doc["images"] if im["values"][name] is not None]
        assert median == pytest.approx(float(np.median(values)), rel=1e-12)


def test_undefined_counts_get_a_column_and_dashes(cli, tmp_path):  # noqa: F811
    gt = np.zeros((6, 7), np.uint8)
    gt[:, 4:] = 1
    write_label_png(tmp_path / "gt" / "a.png", gt)
    write_label_png(tmp_path / "pred" / "a.png", gt)
    write_label_png(tmp_path / "gt" / "b.png", gt * 0)  # background only: no class left once it is excluded
    write_label_png(tmp_path / "pred" / "b.png", gt * 0)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--class-names", "bg,fg,absent", "--per-class",
            "--exclude-background")
    assert r.code == 0, r
    summary = r.out[r.out.index("summary over"):].splitlines()
    assert summary[1].split()[-1] == "undefined"
    dice_row = next(line for line in summary if line.startswith("dice "))
    assert dice_row.split()[-1] == "1"  # one image's dice is 0/0
    class_row = next(line for line in r.out.splitlines() if line.startswith("2  absent"))
    assert "—" in class_row  # dice of a class absent from both masks is 0/0


def _image_names(text: str, title_start: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title_start))
    names = []
    for line in lines[start + 3:]:
        if not line.strip() or re.match(r"\d+ more |note: ", line):
            break
        names.append(line.split()[0])
    return names


def test_per_image_rows_all_when_they_fit_else_the_worst(sample_doc, cli):  # noqa: F811
    # 12 images, 13 values: one table is too wide at 100 columns, so the 5 worst by dice, lowest first
    text = render(sample_doc, PIPE_WIDTH)
    by_dice = sorted(sample_doc["images"], key=lambda im: im["values"]["dice"])
    worst = [im["name"] for im in by_dice[:TABLE_WORST]]
    assert _image_names(text, f"the {TABLE_WORST} worst of 12 images by dice, lowest first: metrics") == worst
    assert _image_names(text, f"the {TABLE_WORST} worst of 12 images by dice, lowest first: losses") == worst
    assert "7 more images not shown: per_image=True shows them all" in text  # the writer's own argument
    cli_spelled = render(sample_doc, PIPE_WIDTH, flags=option_flags())  # as the CLI spells it
    assert "7 more images not shown: --per-image shows them all" in cli_spelled
    every = render(sample_doc, PIPE_WIDTH, per_image=True)
    assert _image_names(every, "per image: metrics") == [im["name"] for im in sample_doc["images"]]
    assert "not shown" not in every
    three = render(sample_doc, PIPE_WIDTH, worst=3)
    assert _image_names(three, "the 3 worst of 12 images by dice") == worst[:3]
    # label predictions: 5 metrics fit one table, and 12 <= FULL_ROWS images: every row, unasked
    r = cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt")
    assert r.code == 0 and 12 <= FULL_ROWS
    assert _image_names(r.out, "per image") == [f"scene_{i:02d}" for i in range(1, 13)]
    assert "worst" not in r.out


def test_worst_follows_each_values_direction(sample_doc):
    images = sample_doc["images"]
    for name in ("dice", "iou", "ce", "lovasz"):
        ranked = [r["name"] for r in worst_rows(sample_doc, 4, name)]
        ordered = sorted(images, key=lambda im: im["values"][name],
                         reverse=not registry.get("seg", name).higher_is_better)
        assert ranked == [im["name"] for im in ordered[:4]], name
    doc = json.loads(json.dumps(sample_doc))
    doc["images"][0]["values"]["dice"] = None  # undefined values rank last, never as the worst
    assert doc["images"][0]["name"] not in [r["name"] for r in worst_rows(doc, 11, "dice")]
    assert worst_rows(doc, 12, "dice")[-1]["name"] == doc["images"][0]["name"]


def test_cls_worst_ranks_by_the_first_loss_highest_first(cli, tmp_path):  # noqa: F811
    doc = _cls_docs(cli, tmp_path)[0]
    first = next(n for n in doc["config"]["values"] if n in doc["images"][0]["values"])
    text = render(doc, 80, worst=3)
    assert f"the 3 worst of 40 samples by {first}, highest first" in text
    expected = sorted(doc["images"], key=lambda im: -im["values"][first])[:3]
    assert _image_names(text, "the 3 worst") == [im["name"] for im in expected]
    assert "37 more samples not shown" in text


def test_cli_worst_and_per_image(cli, tmp_path):  # noqa: F811
    args = ("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--workers", "1")
    r = cli(*args, "--worst", "2")
    assert r.code == 0 and "the 2 worst of 12 images by dice" in r.out
    both = cli(*args, "--worst", "2", "--per-image")
    assert both.code == 2 and "--per-image" in both.err
    hidden = cli(*args, "--worst", "0")
    assert hidden.code == 0 and "12 images not shown" in hidden.out and "scene_" not in hidden.out
    assert cli(*args, "--worst", "-1").code == 2
    json_out = cli(*args, "--worst", "2", "-f", "json")  # a view option: machine formats do not change
    assert json_out.code == 0 and len(json_out.json()["images"]) == 12
    cls_pred = write_npy(tmp_path / "p.npy", np.array([0.9, 0.2, 0.6, 0.4]))
    cls_target = write_npy(tmp_path / "y.npy", np.array([1, 0, 0, 1]))
    c = cli("cls", cls_pred, cls_target, "--worst", "2")
    assert c.code == 0 and "the 2 worst of 4 samples by bce" in c.out and "2 more samples not shown" in c.out


def test_merge_renders_the_table_of_the_single_run(cli, tmp_path):  # noqa: F811
    args = ["seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", SAMPLE_CLASSES, "--workers", "1"]
    for k in (1, 2):
        assert cli(*args, "--shard", f"{k}/2", "-f", "json", "-o", tmp_path / f"part{k}.json").code == 0
    view = ("--per-class", "--worst", "3")
    single = cli(*args, *view)
    merged = cli("merge", tmp_path / "part1.json", tmp_path / "part2.json", *view)
    assert single.code == merged.code == 0
    assert merged.out == single.out


def test_pipe_output_is_plain_stable_and_100_columns():
    args = ("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--class-names", SAMPLE_CLASSES, "--per-class")
    first, second = run_subprocess(*args), run_subprocess(*args)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout  # byte-identical
    assert b"\x1b[" not in first.stdout
    text = first.stdout.decode("utf-8")
    assert_fits(text, PIPE_WIDTH)
    assert max(cell_len(line) for line in text.splitlines()) > 80  # the pipe width is used, not 80


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("no_color", [False, True])
def test_colour_on_a_terminal_unless_no_color(sample_doc, monkeypatch, no_color):
    for name in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    terminal = _Terminal()
    write_table(sample_doc, terminal, width=80)
    text = terminal.getvalue()
    colours = re.findall(r"\x1b\[[0-9;]*(?:3[0-9]|9[0-7])(?:;[0-9;]*)?m", text)
    assert bool(colours) is not no_color  # FAIL is red on a terminal; NO_COLOR removes every colour
    plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert_fits(plain, 80)
    assert plain == render(sample_doc, 80)  # the same text, with or without styles


def test_columns_sets_the_width_of_a_pipe(cli):  # noqa: F811
    r = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--per-class", env={"COLUMNS": "80"})
    assert r.code == 0
    assert_fits(r.out, 80)


def test_the_documented_make_run_output_is_current_and_fits_80_columns():
    spec = importlib.util.spec_from_file_location("update_readme", ROOT / "tools" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    page = (ROOT / "docs" / "output.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- BEGIN quick-start-output -->\n(.*?)<!-- END quick-start-output -->", page, re.S)
    assert block, "docs/output.md lacks the quick-start-output block"
    assert block.group(1) == module.quick_start_output(), "docs/output.md's `make run` output is stale: make readme"
    assert_fits(block.group(1).split("\n", 2)[2].rsplit("```", 1)[0], 80)


def test_names_wider_than_the_width_fold_instead_of_being_cut(cli, tmp_path):  # noqa: F811
    image = "a_very_long_image_name_" + "x" * 70 + "_end"
    klass = "a class name longer than any terminal is wide " + "y" * 40 + " end"
    gt = np.arange(6 * 7).reshape(6, 7) % 2
    write_label_png(tmp_path / "gt" / f"{image}.png", gt)
    write_label_png(tmp_path / "pred" / f"{image}.png", 1 - gt)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--class-names", f"bg,{klass}", "--per-class",
            "--per-image", env={"COLUMNS": "80"})
    assert r.code == 0, r
    assert_fits(r.out, 80)
    lines = r.out.splitlines()

    def folded(first: int, start: int) -> list[str]:
        """The name cell of the row on line ``first``: its first piece, then the continuation lines."""
        pieces = [re.split(r"  +", lines[first][start:])[0]]
        for line in lines[first + 1:]:
            if not line.startswith(" " * start) or not line.strip():
                break
            pieces.append(line.strip())
        return pieces

    image_rows = [i for i, line in enumerate(lines) if line.startswith(image[:20])]
    class_rows = [i for i, line in enumerate(lines) if line.startswith("1  a class")]
    assert image_rows and class_rows
    for i in image_rows:  # every character kept, folded onto the next lines
        assert "".join(folded(i, 0)) == image
    for i in class_rows:
        assert " ".join(folded(i, 3)) == klass


# ----------------------------------------------------------------------------------------------------------
# lossctl compare: the same narrow layout
# ----------------------------------------------------------------------------------------------------------


def _worse_copy(doc: dict[str, Any], factor: float = 0.9) -> dict[str, Any]:
    """``doc`` with every per-image value and summary mean scaled by ``factor`` (a "new" run that changed)."""
    new = json.loads(json.dumps(doc))
    for row in new["images"]:
        row["values"] = {k: None if v is None else v * factor for k, v in row["values"].items()}
        row["per_class"] = {k: [None if x is None else x * factor for x in v] for k, v in row["per_class"].items()}
    s = new["summary"]
    for block in (s["mean"], s["pooled"]):
        block.update({k: None if v is None else v * factor for k, v in block.items()})
    for block in s["per_class"].values():
        block.update({k: [None if x is None else x * factor for x in v] for k, v in block.items()})
    return new


def _compare(base: dict[str, Any], new: dict[str, Any], *gates: str) -> dict[str, Any]:
    from lossctl.engine.compare import compare_reports
    from lossctl.engine.gates import parse_gate

    return compare_reports(base, new, [parse_gate(g) for g in gates], resamples=200, worst=10)


def render_compare(doc: dict[str, Any], width: int, **view: Any) -> str:
    from lossctl.report.compare import write_compare_table

    buffer = io.StringIO()
    write_compare_table(doc, buffer, width=width, **view)
    return buffer.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("per_class", [False, True])
def test_compare_table_fits_with_every_value(sample_doc, width, per_class):
    doc = _compare(sample_doc, _worse_copy(sample_doc), "delta(dice)>=-0.01", "worse(dice,0.05)<=3",
                   "rel(pooled(iou[road]))>=-0.02", "ce<=1")
    text = render_compare(doc, width, per_class=per_class)
    assert_fits(text, width)
    for name, change in doc["values"].items():  # every value's row holds its numbers as the JSON has them
        if "[" in name:
            continue
        row = re.search(rf"^{name}(?: \(px\))? +[↑↓] +(\S+) +(\S+) +(\S+) +(\S+) +(\[.*\])$", text, re.M)
        assert row, f"{name} has no row"
        assert row.groups()[:3] == (f"{change['base']:.4f}", f"{change['new']:.4f}", f"{change['delta']:+.4f}")
        lo, hi = change["ci"]
        assert row.group(5) == f"[{lo:+.4f}, {hi:+.4f}]"
    assert "FAIL" in text and "PASS" in text and "that got worse the most by dice" in text
    assert ("per class:" in text) == per_class
    if per_class:
        road = doc["values"]["dice[road]"]
        assert re.search(rf"^dice +road +{road['base']:.4f} +{road['new']:.4f} +{road['delta']:+.4f}", text, re.M)


@pytest.mark.parametrize("width", WIDTHS)
def test_compare_table_of_19_classes_fits_and_keeps_names_whole(cli, tmp_path, width):  # noqa: F811
    base = _many_class_doc(cli, tmp_path, CITYSCAPES)
    text = render_compare(_compare(base, _worse_copy(base), "delta(dice[traffic sign])>=0"), width,
                          per_class=True)
    assert_fits(text, width)
    for name in CITYSCAPES:
        assert re.search(rf"^dice +{re.escape(name)}  +\d", text, re.M), name


def test_compare_table_of_cls_and_into_a_pipe(cli, tmp_path):  # noqa: F811
    base = _cls_docs(cli, tmp_path)[1]
    doc = _compare(base, _worse_copy(base, 1.1), "worse(cce,0.01)<=3")
    text = render_compare(doc, 80)
    assert_fits(text, 80)
    assert "the 10 samples that got worse the most by cce (of 40 in both)" in text
    pipe = run_subprocess("compare", *_write_pair(tmp_path, base, _worse_copy(base, 1.1)))
    again = run_subprocess("compare", *_write_pair(tmp_path, base, _worse_copy(base, 1.1)))
    assert pipe.returncode == 0 and pipe.stdout == again.stdout and b"\x1b[" not in pipe.stdout
    assert_fits(pipe.stdout.decode("utf-8"), PIPE_WIDTH)


def _write_pair(root: Path, base: dict[str, Any], new: dict[str, Any]) -> tuple[Path, Path]:
    paths = root / "base.json", root / "new.json"
    for path, doc in zip(paths, (base, new), strict=True):
        path.write_text(json.dumps(doc))
    return paths
