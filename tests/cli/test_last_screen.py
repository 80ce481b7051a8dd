"""The verdict last: what a person sees when a run ends in a terminal.

The installed ``lossctl`` entry point runs in a real pseudo-terminal (``os.openpty``, its window size set with
``TIOCSWINSZ``) as its standard output and error, so it draws what it draws for people: the terminal's width,
colours, the transient progress bar. :func:`screen` replays the bytes as a terminal lays them out (line breaks,
carriage returns, a long line wrapping onto the next row, the erase and cursor-up sequences of the progress bar)
and the test reads the last screen: its rows but the last, where the shell's prompt comes back. It must hold
what the user came for: every row of the summary, every gate with its verdict, and the line counting the
evaluated and failed files, whether or not the detail (worst images, per-class tables, every sample) came
before it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest
from support import softmax, write_npy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
CLASSES = "background,road,building,vegetation"
GATES = ("-g", "dice>=0.8", "-g", "p05(dice)>=0.5", "-g", "pooled(iou[road])>=0.7")
SIZES = ((80, 24), (80, 40))


def entry_point() -> list[str]:
    """The installed ``lossctl`` script beside this interpreter (``python -m lossctl`` where none is installed)."""
    script = Path(sys.executable).with_name("lossctl")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lossctl"]


def run_in_terminal(args: list[str], columns: int, rows: int, cwd: Path = ROOT) -> tuple[int, bytes]:
    """``lossctl ARGS`` with a pseudo-terminal of ``columns`` x ``rows`` as stdout and stderr: its exit code and
    every byte it wrote there."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    env = {k: v for k, v in os.environ.items()
           if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                        "LOSSCTL_FORMAT", "LOSSCTL_OUTPUT", "GITHUB_ACTIONS", "CI")}
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT))  # this checkout's lossctl, whatever is installed
    proc = subprocess.Popen([*entry_point(), *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
                            cwd=cwd, env=env)
    os.close(slave)
    data = b""
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 120)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other side closed: the run ended
                break
            if not chunk:
                break
            data += chunk
    finally:
        os.close(master)
    return proc.wait(timeout=120), data


_SEQUENCE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])|\x1b\].*?(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]")


def screen(data: bytes, columns: int) -> list[str]:
    """Every row the terminal holds after ``data`` (its scrollback, then the screen), as a terminal of
    ``columns`` lays them out: a line longer than the width wraps onto the next row, ``\\r`` returns to the
    row's start, ``ESC[K``/``ESC[2K`` erase, ``ESC[nA`` moves up; colours and other sequences leave no trace."""
    text = data.decode("utf-8", "replace")
    lines: list[list[str]] = [[]]
    row = col = 0
    pending_wrap = False
    position = 0
    while position < len(text):
        match = _SEQUENCE.match(text, position)
        if match:
            position = match.end()
            params, final = match.group(1) or "", match.group(2)
            if final == "K":  # erase in line: 0 (from the cursor), 2 (the whole row)
                lines[row] = [] if params == "2" else lines[row][:col]
            elif final == "A":
                row = max(0, row - int(params or 1))
                pending_wrap = False
            elif final == "G":
                col = int(params or 1) - 1
            continue
        char = text[position]
        position += 1
        if char == "\r":
            col, pending_wrap = 0, False
        elif char == "\n":
            row, pending_wrap = row + 1, False
            col = 0  # the pseudo-terminal turns "\n" into "\r\n"
            while len(lines) <= row:
                lines.append([])
        elif char >= " ":
            if pending_wrap:  # the previous character filled the row: this one starts the next
                row, col, pending_wrap = row + 1, 0, False
                while len(lines) <= row:
                    lines.append([])
            cells = lines[row]
            cells.extend(" " * (col - len(cells)))
            if col < len(cells):
                cells[col] = char
            else:
                cells.append(char)
            col += 1
            if col == columns:
                col, pending_wrap = columns - 1, True
    return ["".join(cells).rstrip() for cells in lines]


def last_screen(data: bytes, columns: int, rows: int) -> list[str]:
    """The rows a terminal of ``rows`` shows when the run ends, but the last: the shell's prompt takes it."""
    shown = screen(data, columns)
    if shown and not shown[-1]:
        shown = shown[:-1]  # the row the cursor waits on, for the prompt
    return shown[-(rows - 1):]


def summary_names(doc: dict) -> list[str]:
    return list(doc["summary"]["mean"])


def assert_verdict_shown(rows: list[str], names: list[str], gates: dict[str, bool], closing: str) -> None:
    text = "\n".join(rows)
    for name in names:
        assert re.search(rf"^{re.escape(name)}(?: \(\w+\))? +[↑↓] ", text, re.M), f"summary row {name} scrolled away"
    for gate, passed in gates.items():
        assert re.search(rf"^{re.escape(gate)} .* {'PASS' if passed else 'FAIL'}$", text, re.M), gate
    assert closing in "".join(rows[-2:]), rows[-2:]  # the last line (a terminal may wrap it onto two rows)


@pytest.fixture(scope="module")
def sample_json(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sample") / "run.json"
    proc = subprocess.run([*entry_point(), "seg", str(SAMPLE / "pred_probs"), str(SAMPLE / "gt"), "--class-names",
                           CLASSES, *GATES, "-f", "json", "-o", str(out)], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, check=False)
    assert proc.returncode == 1, proc.stderr  # one gate fails
    return json.loads(out.read_text())


def gate_verdicts(doc: dict) -> dict[str, bool]:
    return {g["gate"]: g["passed"] for g in doc["gates"]}


@pytest.mark.parametrize("columns,rows", SIZES)
@pytest.mark.parametrize("view", [[], ["--per-class"], ["--per-class", "--per-image"]])
def test_make_run_ends_with_the_summary_and_the_gates(sample_json, columns, rows, view):
    code, data = run_in_terminal(["seg", "sample_data/pred_probs", "sample_data/gt", "--class-names", CLASSES,
                                  *GATES, *view], columns, rows)
    assert code == 1
    shown = last_screen(data, columns, rows)
    assert_verdict_shown(shown, summary_names(sample_json), gate_verdicts(sample_json),
                         "lossctl: evaluated 12 image(s), 0 failed; gates: 2 passed, 1 failed")
    assert max(len(line) for line in screen(data, columns)) <= columns
    if "--per-class" in view and rows == 24:  # the detail came first, and scrolled away
        assert not any(line.startswith("per class") for line in shown)
        assert "per class: pooled over all images" in "\n".join(screen(data, columns))


@pytest.mark.parametrize("columns,rows", SIZES)
def test_failed_files_are_said_before_the_report(tmp_path, sample_json, columns, rows):
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    shutil.copytree(SAMPLE / "pred_probs", pred)
    shutil.copytree(SAMPLE / "gt", gt)
    for k in range(3):  # three predictions that cannot be read, each with its ground truth
        (pred / f"zz_broken_{k}.npy").write_bytes(b"not an array")
        shutil.copy(gt / "scene_01.png", gt / f"zz_broken_{k}.png")
    code, data = run_in_terminal(["seg", str(pred), str(gt), "--class-names", CLASSES, *GATES, "--per-class",
                                  "--skip-errors"], columns, rows)
    assert code == 1  # the gates decide with --skip-errors
    shown = last_screen(data, columns, rows)
    assert_verdict_shown(shown, summary_names(sample_json), gate_verdicts(sample_json),
                         "lossctl: evaluated 12 image(s), 3 failed")
    written = data.decode("utf-8")
    assert "zz_broken_0.npy" in written and written.index("zz_broken_0.npy") < written.index("summary over")


@pytest.mark.parametrize("columns,rows", SIZES)
def test_cls_every_sample_then_the_summary(tmp_path, columns, rows):
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 60)
    logits = rng.normal(size=(60, 3))
    logits[np.arange(60), y] += 2.0
    write_npy(tmp_path / "probs.npy", softmax(logits, axis=1))
    write_npy(tmp_path / "target.npy", y)
    gates = ["accuracy>=0.5", "p95(cce)<=2", "f1>=0.99"]
    args = ["cls", "probs.npy", "target.npy", "--per-sample", *(a for g in gates for a in ("-g", g))]
    code, data = run_in_terminal(args, columns, rows, cwd=tmp_path)
    doc_run = subprocess.run([*entry_point(), *args, "-f", "json"], cwd=tmp_path, capture_output=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    doc = json.loads(doc_run.stdout)
    assert code == doc_run.returncode == 1
    shown = last_screen(data, columns, rows)
    assert_verdict_shown(shown, summary_names(doc), gate_verdicts(doc), "lossctl: evaluated 60 sample(s), 0 failed")
    assert not any(re.match(r"^\d+ +\d", line) for line in shown[-20:])  # the 60 samples' rows came before


@pytest.mark.parametrize("columns,rows", SIZES)
def test_compare_ends_with_the_means_and_the_gates(tmp_path, sample_json, columns, rows):
    base = json.loads(json.dumps(sample_json))
    for row in base["images"]:  # an older model: every value a little different
        row["values"] = {k: None if v is None else v * 1.02 for k, v in row["values"].items()}
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "new.json").write_text(json.dumps(sample_json))
    gates = ["delta(dice)>=-0.01", "worse(dice,0.01)<=3"]
    args = ["compare", "base.json", "new.json", "--per-class", "--bootstrap", "50",
            *(a for g in gates for a in ("-g", g))]
    code, data = run_in_terminal(args, columns, rows, cwd=tmp_path)
    doc_run = subprocess.run([*entry_point(), *args, "-f", "json"], cwd=tmp_path, capture_output=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    doc = json.loads(doc_run.stdout)
    assert code == doc_run.returncode == 1
    shown = last_screen(data, columns, rows)
    assert_verdict_shown(shown, summary_names(sample_json), gate_verdicts(doc),
                         "lossctl: compared 12 image(s) in both reports")
    assert "per class: means" in "\n".join(screen(data, columns))  # the detail, above
