"""``lossctl seg`` run for real: every output format and its structure, what the prediction holds, the options
that change the numbers (checked against values computed here with plain NumPy), the progress display.

Most runs go through ``lossctl.cli.main`` in-process (``cli``, see tests/support.py); a few use
``python -m lossctl`` end to end. Its error paths are in tests/cli/test_seg_bad_input.py, its gates in
tests/engine/test_gates.py, ``-o`` and ``--write`` in tests/cli/test_output.py.
"""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from support import (  # noqa: F401
    C,
    H,
    W,
    confusion,
    dice_per_class,
    make_seg_set,
    strict_json,
    write_label_png,
    write_npy,
    write_palette_png,
)

from lossctl import __version__, registry

SEG_METRICS = [s.name for s in registry.specs("seg", "metric") if not s.opt_in and not s.on_request]  # the defaults
SEG_LOSSES = registry.names("seg", "loss")
IMAGE_KEYS = {"name", "pred", "gt", "values", "per_class", "confusion_matrix", "notes"}
SUMMARY_KEYS = {"count", "undefined", "mean", "std", "min", "median", "max", "pooled", "per_class",
                "confusion_matrix"}
STAT_ROWS = ["mean", "std", "min", "max", "pooled"]


@pytest.fixture
def seg_json(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 0, r
    return strict_json(r.out)


# ----------------------------------------------------------------------------------------------------------
# seg: every format parses and has the documented structure
# ----------------------------------------------------------------------------------------------------------


def test_seg_json_has_the_documented_structure(seg, seg_json):
    doc = seg_json
    assert {"lossctl", "command", "config", "images", "summary", "gates", "errors"} <= set(doc)
    assert doc["lossctl"] == __version__ and doc["command"] == "seg"
    assert doc["gates"] == [] and doc["errors"] == []
    assert doc["config"]["num_classes"] == C
    assert doc["config"]["values"] == SEG_METRICS + SEG_LOSSES  # soft predictions: every loss by default
    assert [im["name"] for im in doc["images"]] == seg.names
    for im in doc["images"]:
        assert IMAGE_KEYS <= set(im)
        assert set(im["values"]) == set(SEG_METRICS + SEG_LOSSES)
        assert im["pred_kind"] == "probs"
        assert Path(im["pred"]).name == im["name"] + ".npy" and Path(im["gt"]).name == im["name"] + ".png"
        assert np.asarray(im["confusion_matrix"]).shape == (C, C)
        for name in ("dice", "iou", "precision", "recall", "dice_loss"):
            assert len(im["per_class"][name]) == C
    s = doc["summary"]
    assert SUMMARY_KEYS <= set(s)
    assert s["count"] == len(seg.names)
    assert set(s["pooled"]) == set(SEG_METRICS)
    assert {"mean", "pooled"} <= set(s["per_class"])
    assert np.asarray(s["confusion_matrix"]).shape == (C, C)


def test_seg_json_numbers_match_numpy_reference(seg, seg_json):
    """Per-image confusion matrices, dice, iou, accuracy and ce, then the summary statistics, recomputed here."""
    total = np.zeros((C, C), dtype=np.int64)
    for im in seg_json["images"]:
        gt, probs = seg.gts[im["name"]], seg.probs[im["name"]]
        cm = confusion(gt, probs.argmax(axis=0), C)
        total += cm
        assert im["confusion_matrix"] == cm.tolist()
        d = dice_per_class(cm)
        assert im["per_class"]["dice"] == pytest.approx(d.tolist())
        assert im["values"]["dice"] == pytest.approx(d.mean())
        tp = np.diag(cm)
        iou = tp / (cm.sum(0) + cm.sum(1) - tp)
        assert im["values"]["iou"] == pytest.approx(iou.mean())
        assert im["values"]["accuracy"] == pytest.approx(tp.sum() / cm.sum())
        p_true = np.take_along_axis(probs.astype(np.float64), gt[None].astype(np.int64), axis=0)[0]
        assert im["values"]["ce"] == pytest.approx(-np.log(p_true).mean(), rel=1e-9)
    s = seg_json["summary"]
    assert s["confusion_matrix"] == total.tolist()
    for name in ("dice", "accuracy", "ce", "lovasz"):
        v = np.array([im["values"][name] for im in seg_json["images"]])
        assert s["mean"][name] == pytest.approx(v.mean())
        assert s["std"][name] == pytest.approx(v.std())
        assert s["min"][name] == pytest.approx(v.min())
        assert s["max"][name] == pytest.approx(v.max())
        assert s["median"][name] == pytest.approx(np.median(v))
        assert s["undefined"][name] == 0
    assert s["pooled"]["dice"] == pytest.approx(dice_per_class(total).mean())
    assert s["pooled"]["accuracy"] == pytest.approx(np.trace(total) / total.sum())
    assert s["per_class"]["pooled"]["dice"] == pytest.approx(dice_per_class(total).tolist())
    assert s["per_class"]["mean"]["dice"] == pytest.approx(
        np.mean([im["per_class"]["dice"] for im in seg_json["images"]], axis=0).tolist())


def test_seg_ndjson_lines_are_json_objects_in_order(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "ndjson", "-g", "dice>=0", "-g", "min(iou)>=0")
    assert r.code == 0, r
    lines = r.out.splitlines()
    assert all(line.strip() for line in lines)
    objs = [strict_json(line) for line in lines]
    assert [o["type"] for o in objs] == ["config", "image", "image", "image", "summary", "gate", "gate"]
    assert objs[0]["command"] == "seg" and objs[0]["lossctl"] == __version__
    assert [o["name"] for o in objs[1:4]] == seg.names
    assert IMAGE_KEYS <= set(objs[1])
    assert SUMMARY_KEYS <= set(objs[4])
    assert [o["gate"] for o in objs[5:]] == ["dice>=0", "min(iou)>=0"]
    assert all(o["passed"] for o in objs[5:])


def test_seg_csv_rows_and_full_precision_values(cli, seg, seg_json):
    r = cli("seg", seg.pred, seg.gt, "-f", "csv")
    assert r.code == 0, r
    rows = r.csv()
    header = rows[0]
    assert header[:2] == ["row", "name"]
    assert header[2:] == SEG_METRICS + SEG_LOSSES
    assert [row[0] for row in rows[1:]] == ["image"] * 3 + STAT_ROWS
    assert [row[1] for row in rows[1:4]] == seg.names
    assert all(len(row) == len(header) for row in rows)
    for row, im in zip(rows[1:4], seg_json["images"], strict=True):
        for col, name in enumerate(header[2:], start=2):
            assert float(row[col]) == im["values"][name]  # repr: full precision, exactly the JSON number
    pooled = dict(zip(header, rows[-1], strict=True))
    assert float(pooled["dice"]) == seg_json["summary"]["pooled"]["dice"]
    assert pooled["ce"] == ""  # losses have no pooled value: an empty cell


def test_seg_markdown_tables(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "markdown", "-m", "dice", "-m", "iou", "-g", "dice>=0.999")
    assert r.code == 1, r
    lines = r.out.splitlines()
    assert lines[0] == "| row | name | dice | iou |"
    assert lines[1] == "|---|---|---:|---:|"
    body = lines[2:2 + 3 + len(STAT_ROWS)]
    assert [line.split("|")[1].strip() for line in body] == ["image"] * 3 + STAT_ROWS
    assert all(line.startswith("| ") and line.endswith(" |") for line in body)
    assert "| gate | value | result |" in lines
    assert any(line.startswith("| `dice>=0.999` |") and line.endswith("| FAIL |") for line in lines)


def test_seg_table_shows_images_values_summary_and_gates(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-g", "dice>=0", "-g", "dice>=0.999")
    assert r.code == 1, r
    assert "lossctl seg: 3 images" in r.out
    for token in [*seg.names, *SEG_METRICS, *SEG_LOSSES, "mean", "std", "min", "max", "pooled"]:
        assert token in r.out
    assert "PASS" in r.out and "FAIL" in r.out
    assert "gates: 1 passed, 1 failed" in r.err


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_undefined_values_are_null_never_nan(cli, seg, fmt):
    # A fourth class named but absent from every mask and every prediction: its per-class dice is 0/0.
    r = cli("seg", seg.labels, seg.gt, "-f", fmt, "--class-names", "bg,road,building,water")
    assert r.code == 0, r
    assert "NaN" not in r.out and "Infinity" not in r.out
    if fmt == "json":
        doc = strict_json(r.out)
        images, summary = doc["images"], doc["summary"]
    else:
        objs = [strict_json(line) for line in r.out.splitlines()]
        images = [o for o in objs if o["type"] == "image"]
        [summary] = [o for o in objs if o["type"] == "summary"]
    assert len(images) == 3
    assert all(im["per_class"]["dice"][3] is None for im in images)
    assert summary["per_class"]["pooled"]["dice"][3] is None
    assert summary["per_class"]["mean"]["dice"][3] is None


# ----------------------------------------------------------------------------------------------------------
# seg: what the prediction holds
# ----------------------------------------------------------------------------------------------------------


def test_label_predictions_give_metrics_only(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-f", "json")
    assert r.code == 0, r
    doc = strict_json(r.out)
    for im in doc["images"]:
        assert im["pred_kind"] == "labels"
        assert list(im["values"]) == SEG_METRICS
        cm = confusion(seg.gts[im["name"]], seg.label_pred(im["name"]), C)
        assert im["confusion_matrix"] == cm.tolist()
        assert im["values"]["dice"] == pytest.approx(dice_per_class(cm).mean())
    assert set(doc["summary"]["mean"]) == set(SEG_METRICS)


def test_label_and_probability_predictions_give_the_same_metrics(cli, seg):
    probs = cli("seg", seg.pred, seg.gt, "-f", "json").json()
    labels = cli("seg", seg.labels, seg.gt, "-f", "json").json()
    for a, b in zip(probs["images"], labels["images"], strict=True):
        assert a["confusion_matrix"] == b["confusion_matrix"]
        assert {k: a["values"][k] for k in SEG_METRICS} == b["values"]


def test_logits_need_pred_kind_logits(cli, seg, tmp_path):
    name = seg.names[0]
    logits = write_npy(tmp_path / "logits" / f"{name}.npy", seg.logits[name].astype(np.float32))
    gt = seg.gt / f"{name}.png"
    refused = cli("seg", logits, gt, "-f", "json")
    assert refused.code == 3, refused
    assert "--pred-kind logits" in refused.err
    r = cli("seg", logits, gt, "-f", "json", "--pred-kind", "logits")
    assert r.code == 0, r
    [im] = r.json()["images"]
    assert im["pred_kind"] == "logits"
    z = seg.logits[name].astype(np.float32).astype(np.float64)
    log_p = z - z.max(0) - np.log(np.exp(z - z.max(0)).sum(0))
    y = seg.gts[name].astype(np.int64)
    expected_ce = -np.take_along_axis(log_p, y[None], axis=0)[0].mean()
    assert im["values"]["ce"] == pytest.approx(expected_ce, rel=1e-9)
    assert im["confusion_matrix"] == confusion(y, z.argmax(0), C).tolist()


def test_channels_last_arrays(cli, seg, tmp_path):
    name = seg.names[1]
    hwc = write_npy(tmp_path / "hwc" / f"{name}.npy", np.moveaxis(seg.probs[name], 0, -1).copy())
    assert np.load(hwc).shape == (H, W, C)
    gt = seg.gt / f"{name}.png"
    chw = cli("seg", seg.pred / f"{name}.npy", gt, "-f", "json").json()["images"][0]
    r = cli("seg", hwc, gt, "-f", "json", "--channels-last")
    assert r.code == 0, r
    im = r.json()["images"][0]
    assert im["confusion_matrix"] == chw["confusion_matrix"]
    assert im["values"] == pytest.approx(chw["values"], rel=1e-6)
    assert r.json()["config"]["channels_last"] is True


# ----------------------------------------------------------------------------------------------------------
# seg: options that change the numbers
# ----------------------------------------------------------------------------------------------------------


def test_ignore_index_leaves_ignored_pixels_out(cli, seg, tmp_path):
    name = seg.names[0]
    gt = seg.gts[name].copy()
    void = np.zeros_like(gt, dtype=bool)
    void[2:4, 1:5] = True  # 8 void pixels
    gt[void] = 255
    gt_path = write_palette_png(tmp_path / "gt_void" / f"{name}.png", gt)
    pred_path = seg.pred / f"{name}.npy"

    without = cli("seg", pred_path, gt_path, "-f", "json")
    assert without.code == 3 and "--ignore-index" in without.err, without

    r = cli("seg", pred_path, gt_path, "-f", "json", "--ignore-index", "255")
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["ignore_index"] == [255]
    [im] = doc["images"]
    valid = ~void
    probs = seg.probs[name].astype(np.float64)
    cm = confusion(gt, probs.argmax(0), C, valid)
    assert np.sum(im["confusion_matrix"]) == valid.sum() == H * W - 8
    assert im["confusion_matrix"] == cm.tolist()
    assert im["values"]["dice"] == pytest.approx(dice_per_class(cm).mean())
    assert im["values"]["accuracy"] == pytest.approx(np.trace(cm) / valid.sum())
    y = np.where(valid, gt, 0).astype(np.int64)
    nll = -np.log(np.take_along_axis(probs, y[None], axis=0)[0])
    assert im["values"]["ce"] == pytest.approx(nll[valid].mean(), rel=1e-9)
    # the full-image values differ: ignoring really removed pixels
    full = cli("seg", pred_path, seg.gt / f"{name}.png", "-f", "json").json()["images"][0]
    assert full["values"]["ce"] != pytest.approx(im["values"]["ce"], rel=1e-9)


def test_0_255_binary_masks_are_read_as_0_1_with_a_note(cli, tmp_path):
    rng = np.random.default_rng(5)
    gt = (rng.random((H, W)) > 0.5).astype(np.uint8) * 255
    gt[0, 0], gt[0, 1] = 0, 255
    pred = gt.copy()
    pred[1, :3] = 255 - pred[1, :3]
    gt_path = write_label_png(tmp_path / "gt" / "mask.png", gt)
    pred_path = write_label_png(tmp_path / "pred" / "mask.png", pred)
    r = cli("seg", pred_path, gt_path, "-f", "json")
    assert r.code == 0, r
    [im] = r.json()["images"]
    assert r.json()["config"]["num_classes"] == 2
    assert any("0/255" in note for note in im["notes"])
    assert im["confusion_matrix"] == confusion(gt // 255, pred // 255, 2).tolist()
    table = cli("seg", pred_path, gt_path)
    assert table.code == 0 and "note: ground truth is a 0/255 mask" in table.out


def _two_class_pair(tmp_path):
    """Label masks using classes 0 and 1 only; with three class names, class 2 is absent from both."""
    gt = np.zeros((H, W), np.uint8)
    gt[:, 3:] = 1
    pred = gt.copy()
    pred[0, 0:2] = 1  # 2 false positives of class 1
    pred[5, 6] = 0  # 1 false negative of class 1
    # 18 class-0 and 24 class-1 pixels. class 0: TP = 16, FP = 1, FN = 2 -> dice 32/35;
    # class 1: TP = 23, FP = 2, FN = 1 -> dice 46/49; class 2: 0/0
    return (write_label_png(tmp_path / "p2" / "m.png", pred), write_label_png(tmp_path / "g2" / "m.png", gt))


@pytest.mark.parametrize("empty, exclude_bg, expected", [
    ("nan", False, (32 / 35 + 46 / 49) / 2),
    ("zero", False, (32 / 35 + 46 / 49 + 0) / 3),
    ("one", False, (32 / 35 + 46 / 49 + 1) / 3),
    ("nan", True, 46 / 49),
    ("zero", True, (46 / 49 + 0) / 2),
    ("one", True, (46 / 49 + 1) / 2),
])
def test_empty_policy_and_exclude_background_change_dice(cli, tmp_path, empty, exclude_bg, expected):
    pred, gt = _two_class_pair(tmp_path)
    args = ["seg", pred, gt, "-f", "json", "--class-names", "bg,fg,absent", "--empty", empty]
    if exclude_bg:
        args.append("--exclude-background")
    r = cli(*args)
    assert r.code == 0, r
    doc = r.json()
    [im] = doc["images"]
    assert im["values"]["dice"] == pytest.approx(expected, rel=1e-12)
    absent = {"nan": None, "zero": 0.0, "one": 1.0}[empty]
    assert im["per_class"]["dice"][:2] == pytest.approx([32 / 35, 46 / 49], rel=1e-12)
    assert im["per_class"]["dice"][2] == absent
    assert doc["config"]["empty"] == empty and doc["config"]["include_background"] is (not exclude_bg)


@pytest.mark.parametrize("fmt", ["csv", "table", "markdown"])
def test_per_class_adds_class_columns_with_names(cli, seg, fmt):
    names = ("bg", "road", "building")
    plain = cli("seg", seg.pred, seg.gt, "-f", fmt, "--class-names", ",".join(names))
    r = cli("seg", seg.pred, seg.gt, "-f", fmt, "--class-names", ",".join(names), "--per-class")
    assert plain.code == r.code == 0, r
    if fmt == "csv":
        header = r.csv()[0]
        assert "dice[road]" not in plain.csv()[0]
        for metric in ("dice", "iou", "precision", "recall", "dice_loss"):
            for n in names:
                assert f"{metric}[{n}]" in header
        doc = cli("seg", seg.pred, seg.gt, "-f", "json", "--class-names", ",".join(names)).json()
        rows = r.csv()
        col = header.index("dice[road]")
        for row, im in zip(rows[1:4], doc["images"], strict=True):
            assert float(row[col]) == im["per_class"]["dice"][1]
        pooled = rows[-1]
        assert pooled[0] == "pooled"
        assert float(pooled[col]) == doc["summary"]["per_class"]["pooled"]["dice"][1]
    elif fmt == "markdown":
        assert "dice[building]" in r.out.splitlines()[0] and "dice[building]" not in plain.out
    else:
        assert "per class" in r.out and "per class" not in plain.out
        rows = {line.split()[1]: line.split() for line in r.out.splitlines() if line[:1].isdigit()}
        assert set(rows) == set(names)  # one row per class, its index then its whole name
        assert "per class: pooled over all images" in r.out and "per class: mean over images" in r.out
        assert "dice_loss" in r.out


def test_file_names_with_spaces_and_non_ascii(cli, tmp_path):
    gt_arr = np.arange(H * W).reshape(H, W) % C
    name = "scène 01 – ü"
    pred = write_label_png(tmp_path / "pred dir ü" / f"{name}.png", gt_arr)
    gt = write_palette_png(tmp_path / "gt dir é" / f"{name}.png", gt_arr)
    # the same name stored decomposed (NFD, as macOS writes it) on the prediction side still pairs
    nfd = unicodedata.normalize("NFD", "é") + "tude"
    assert nfd != "étude"
    write_label_png(tmp_path / "pred dir ü" / f"{nfd}.png", gt_arr)
    write_palette_png(tmp_path / "gt dir é" / "étude.png", gt_arr)
    r = cli("seg", pred.parent, gt.parent, "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert sorted(im["name"] for im in doc["images"]) == sorted([name, "étude"])
    assert all(im["values"]["dice"] == 1.0 for im in doc["images"])
    table = cli("seg", pred.parent, gt.parent)
    assert table.code == 0 and name in table.out
    csv_rows = cli("seg", pred.parent, gt.parent, "-f", "csv").csv()
    assert name in [row[1] for row in csv_rows]


def test_sample_data_runs_with_class_names(cli):
    root = Path(__file__).resolve().parents[2] / "sample_data"
    if not (root / "pred_labels").is_dir():
        pytest.skip("sample_data not present")
    r = cli("seg", root / "pred_labels", root / "gt", "-f", "json",
            "--class-names", "background,road,building,vegetation", "-g", "pooled(iou[road])>0")
    assert r.code == 0, r
    doc = r.json()
    assert doc["summary"]["count"] == 12
    assert doc["config"]["class_names"] == ["background", "road", "building", "vegetation"]


# ----------------------------------------------------------------------------------------------------------
# The progress display, determinism, option shortcuts
# ----------------------------------------------------------------------------------------------------------


def test_progress_shows_throughput_and_eta(monkeypatch):
    from lossctl.cli import seg as cli_module

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    fake = Terminal()
    monkeypatch.setattr("sys.stderr", fake)
    monkeypatch.setenv("COLUMNS", "160")
    with cli_module.progress_bar(4) as advance:
        assert advance is not None
        for _ in range(4):
            advance(None)
    text = fake.getvalue()
    assert "pairs/s" in text and "eta" in text and "4/4" in text


def test_progress_on_a_real_terminal(tmp_path):
    """stderr on a pseudo-terminal: the bar shows done/total, pairs per second and the ETA; stdout stays data."""
    import os
    import pty
    import subprocess
    import sys

    s = make_seg_set(tmp_path / "d", names=tuple(f"im{i}" for i in range(6)))
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "150", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    chunks = []

    def drain():  # read the terminal while the run writes to it, so that it never blocks on a full buffer
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    import threading

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    done = subprocess.run([sys.executable, "-m", "lossctl", "seg", str(s.pred), str(s.gt), "-f", "json",
                           "--workers", "1"], stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120,
                          check=False)
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    err = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0 and json.loads(done.stdout)["summary"]["count"] == 6
    assert "pairs/s" in err and "eta" in err and "/6" in err, err[-2000:]


def test_identical_runs_are_byte_identical(cli, seg):
    runs = [cli("seg", seg.pred, seg.gt, "-f", fmt).out for fmt in ("json", "csv", "json", "csv")]
    assert runs[0] == runs[2] and runs[1] == runs[3]


def test_alpha_shortcut_sets_tversky_not_focal(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--alpha", "0.7", "--beta", "0.3", "-f", "json")
    assert r.code == 0, r
    params = r.json()["config"]["params"]
    assert params["tversky_loss"]["alpha"] == 0.7 and params["focal"]["alpha"] is None


def test_comma_lists_and_names_in_any_case_are_the_repeated_flags(cli, seg):
    """``-m a,b`` is ``-m a -m b`` (as --class-names and --region take lists); value names and conventions are
    read case-insensitively, in gates too; the report records them as the registry spells them."""
    repeated = cli("seg", seg.pred, seg.gt, "-m", "dice", "-m", "hd95:medpy", "-l", "ce", "-g", "dice>=0.1",
                   "--convention", "lossctl", "-f", "json")
    listed = cli("seg", seg.pred, seg.gt, "-m", "DICE,HD95:MedPy", "-l", "Ce", "-g", "dice>=0.1",
                 "--convention", "LOSSCTL", "-f", "json")
    assert repeated.code == listed.code == 0, listed
    assert listed.out == repeated.out
    gate = cli("seg", seg.pred, seg.gt, "-m", "dice", "-g", "MIN(dice)>=0.1")
    assert gate.code == 2 and "malformed --gate" in gate.err, gate  # statistics keep their spelling
    assert cli("seg", seg.pred, seg.gt, "-m", "dice", "-g", "Dice>=0.1").code == 0
