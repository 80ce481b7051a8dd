"""``-f ndjson`` streams: each ``image`` line is written as soon as it and every earlier one are final, when the
class count is known by the first pair (given, or the channels of probability maps); with a class count inferred
from the labels, the lines come at the end and the config line says why (``config.rows_at_end``).

The arrival test runs the CLI as a subprocess and proves the order of events without a clock: the last pair's
prediction is a symbolic link to a file the test creates only after the first line has arrived, and the rows
before it are large enough (a 60-class confusion matrix each) that the process blocks on the full pipe until the
test reads on. If the lines came at the end, the last pair would have been read through the broken link and fail.
The rules the engine applies for it (one kind of prediction per run, the first map's channels as the class count)
are tested in tests/engine/test_run_facts.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from support import make_seg_set, write_label_png, write_npy

#: The rows before the late pair: each about 7 kB of confusion matrix, far beyond a pipe's buffer (64 kB).
ROWS_BEFORE = 60
CLASSES = 60


def _late_pair_folders(root: Path) -> tuple[Path, Path, Path, Path]:
    """(pred, gt, the late pair's link, the file it points at, not yet written) of ROWS_BEFORE + 1 label pairs."""
    rng = np.random.default_rng(3)
    pred, gt = root / "pred", root / "gt"
    for i in range(ROWS_BEFORE + 1):
        labels = rng.integers(0, 3, (6, 7))
        write_label_png(gt / f"img_{i:03d}.png", labels)
        if i < ROWS_BEFORE:
            write_label_png(pred / f"img_{i:03d}.png", np.where(rng.random(labels.shape) < 0.8, labels, 0))
    late, target = pred / f"img_{ROWS_BEFORE:03d}.png", root / "later" / "late.png"
    late.symlink_to(target)
    return pred, gt, late, target


def _popen(*args: object) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOSSCTL_", "COLUMNS", "GITHUB_"))}
    return subprocess.Popen([sys.executable, "-m", "lossctl", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)


def test_the_first_row_arrives_before_the_last_pair_is_read(tmp_path):
    pred, gt, late, target = _late_pair_folders(tmp_path)
    process = _popen("seg", pred, gt, "--num-classes", CLASSES, "-m", "dice", "-f", "ndjson", "--workers", "1")
    assert process.stdout is not None and process.stderr is not None
    config = json.loads(process.stdout.readline())
    first = json.loads(process.stdout.readline())
    # the process is blocked on the full pipe, rows before the late pair: it has not read the late pair yet
    assert process.poll() is None
    write_label_png(target, np.asarray(Image.open(gt / late.name)))
    rest = process.stdout.read()  # through the reader that holds what readline() read ahead (not communicate())
    err = process.stderr.read()  # one summary line: it never fills its pipe
    assert process.wait(timeout=120) == 0, err.decode()
    assert config["type"] == "config" and config["config"]["rows_at_end"] is None
    assert first["type"] == "image" and first["name"] == "img_000"
    lines = [json.loads(line) for line in rest.decode().splitlines()]
    names = [line["name"] for line in lines if line["type"] == "image"]
    assert names[-1] == late.name[:-4] and len(names) == ROWS_BEFORE  # the late pair evaluated, not failed
    assert not [line for line in lines if line["type"] == "error"]


def test_streamed_lines_are_the_lines_of_the_finished_report(cli, tmp_path):
    """The stream and a file written from the finished document (--write) hold the same bytes, on one core and
    on worker processes."""
    data = make_seg_set(tmp_path / "d", names=tuple(f"im{i}" for i in range(9)))
    for workers in ("1", "2"):
        written = tmp_path / f"written{workers}.ndjson"
        r = cli("seg", data.pred, data.gt, "-f", "ndjson", "--workers", workers, "--write", f"ndjson={written}",
                "-g", "dice>=0.2")
        assert r.code == 0, r
        assert r.out == written.read_text(encoding="utf-8")
        config = json.loads(r.out.splitlines()[0])
        assert config["config"]["rows_at_end"] is None and config["config"]["num_classes_source"] == "channels"
    assert (tmp_path / "written1.ndjson").read_text() == (tmp_path / "written2.ndjson").read_text()


def test_with_a_class_count_from_the_labels_the_config_line_says_why_rows_come_at_the_end(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-f", "ndjson")
    assert r.code == 0, r
    why = json.loads(r.out.splitlines()[0])["config"]["rows_at_end"]
    assert why.startswith("the class count is inferred from the labels") and "--num-classes" in why, why
    given = cli("seg", seg.labels, seg.gt, "-f", "ndjson", "--num-classes", "3")
    assert json.loads(given.out.splitlines()[0])["config"]["rows_at_end"] is None
    assert given.out.splitlines()[1:] == r.out.splitlines()[1:]  # the same rows, summary and gates either way


def test_failed_pairs_stay_at_the_end_and_the_rows_keep_name_order(cli, seg):
    (seg.pred / "b.npy").write_bytes(b"\x93NUMPY truncated")
    r = cli("seg", seg.pred, seg.gt, "-f", "ndjson")
    lines = [json.loads(line) for line in r.out.splitlines()]
    assert [line["type"] for line in lines] == ["config", "image", "image", "summary", "error"], r
    assert [line["name"] for line in lines if line["type"] in ("image", "error")] == ["a", "c", "b"]


def test_a_reader_that_stops_early_ends_the_stream_quietly(tmp_path):
    data = make_seg_set(tmp_path / "d", names=tuple(f"im{i:02d}" for i in range(30)))
    for name in data.names:  # maps of 60 classes (57 never predicted): rows far beyond the pipe's buffer
        probs = data.probs[name]
        write_npy(data.pred / f"{name}.npy", np.concatenate([probs, np.zeros((57, *probs.shape[1:]), np.float32)]))
    process = _popen("seg", data.pred, data.gt, "-f", "ndjson", "-m", "dice", "--workers", "2")
    assert process.stdout is not None and process.stderr is not None
    assert json.loads(process.stdout.readline())["type"] == "config"
    process.stdout.close()
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141 and "Traceback" not in err, err


def test_with_a_baseline_the_lines_come_at_the_end_and_the_config_line_says_why(cli, seg, tmp_path):
    """The config line records how the images pair with the baseline's, which only the whole run decides."""
    base = tmp_path / "base.json"
    assert cli("seg", seg.labels, seg.gt, "--num-classes", "3", "-f", "json", "-o", base).code == 0
    written = tmp_path / "written.ndjson"
    r = cli("seg", seg.labels, seg.gt, "--num-classes", "3", "-f", "ndjson", "--baseline", base,
            "-g", "delta(dice)>=-0.1", "--write", f"ndjson={written}")
    assert r.code == 0, r
    config = json.loads(r.out.splitlines()[0])["config"]
    assert config["rows_at_end"].startswith("the config records how the images pair with the baseline's"), config
    assert config["baseline_pairing"]["paired"] == 3 and r.out == written.read_text(encoding="utf-8")
