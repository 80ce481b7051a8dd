#!/usr/bin/env python
"""Benchmark M: the memory budget and decompression bombs (issue 21, targets 4 and 5); write BENCHMARKS.md's M
section.

Run with the project's interpreter after tools/bench.py (``make bench`` runs it; this script replaces only the part
of BENCHMARKS.md between its markers)::

    .venv/bin/python tools/bench_memory.py [--output BENCHMARKS.md]

Each run is a fresh ``lossctl seg`` process, timed around the whole process, with its peak RSS (``ru_maxrss`` of
``os.wait4``: memory-mapped pages included), launched from a small process (Linux keeps a process's peak across
``exec``, so a child of this one would report this one's size). The inputs, written once into ``bench_data/M/``:

* M1: a 16384x16384 label PNG pair of ordinary content (3 classes in 64-pixel blocks with ragged edges; above
  Pillow's own 179 M-pixel guard), default budget: evaluated, within the budget;
* M2: a 512x512x1000 CT label volume pair (``.nii.gz``, int16: a body outline and four organs), default budget:
  evaluated, within the budget;
* M3: the bombs without ``--max-memory``: a 40000x40000 1-bit PNG (191 KiB), the same as a deflate TIFF, an
  ``.npz`` whose member decodes to 1.6 GB: exit 3 from the header, in under 1 s and 200 MB;
* M4: the 1-bit PNG as both files under ``--max-memory 4G`` (it decodes to 1.5 GiB, which the budget admits;
  its evaluation would take about 15 GiB): refused from the headers, not run out of memory.

These files are too costly for the test suite (M1 and M2 take gigabytes); tests/cli/test_peak_memory.py checks
every input kind past a small budget, and the bombs, there.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from bench_section import write_section

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench_data" / "M"
BEGIN = "<!-- BEGIN M memory (tools/bench_memory.py) -->"
END = "<!-- END M memory -->"
sys.path.insert(0, str(ROOT / "tests"))

LAUNCHER = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = child.stderr.read()
_pid, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, time.perf_counter() - start, usage.ru_utime + usage.ru_stime)
sys.stdout.flush()
sys.stdout.buffer.write(err)
"""


def run(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", LAUNCHER, sys.executable, "-m", "lossctl", *args],
                          capture_output=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    first, _, err = done.stdout.partition(b"\n")
    code, kib, wall, cpu = first.split()
    lines = [ln for ln in err.decode().splitlines() if ln.startswith(("error:", "lossctl:"))]
    return {"code": int(code), "rss": int(kib) / 1024, "wall": float(wall), "cpu": float(cpu),
            "message": lines[0] if lines else ""}


def ordinary_labels(shape: tuple[int, int], seed: int) -> np.ndarray:
    """3 classes in 64-pixel blocks whose edges are moved by up to 8 pixels (what a label map looks like to a
    compressor: runs with ragged edges)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 3, (shape[0] // 64 + 1, shape[1] // 64 + 1)).astype(np.uint8)
    rows = (np.arange(shape[0]) + rng.integers(0, 8, shape[0])) // 64
    cols = (np.arange(shape[1]) + rng.integers(0, 8, shape[1])) // 64
    return blocks[np.minimum(rows, blocks.shape[0] - 1)][:, np.minimum(cols, blocks.shape[1] - 1)]


def ct_labels(shift: int) -> np.ndarray:
    """512x512x1000 int16 (array order 1000 x 512 x 512): a body outline (1) and four organs (2..5)."""
    z, y, x = np.ogrid[0:1000, 0:512, 0:512]
    volume = np.zeros((1000, 512, 512), np.int16)
    volume[:] = ((y - 256) / 200.0) ** 2 + ((x - 256) / 240.0) ** 2 < 1
    for label, (cz, cy, cx, r) in enumerate([(300, 250, 200, 60), (500, 260, 320, 80), (700, 240, 250, 50),
                                             (400, 300, 260, 30)], start=2):
        volume[((z - cz) / r / 2) ** 2 + ((y - cy - shift) / r) ** 2 + ((x - cx) / r) ** 2 < 1] = label
    return volume


def generate() -> dict[str, tuple[Path, Path]]:
    import nibabel
    from PIL import Image
    from support import npz_bomb, png_bomb, tiff_bomb

    pairs = {}
    for name, write in (("M0", None), ("M1", None), ("M2", None), ("M3-png", png_bomb), ("M3-tiff", tiff_bomb),
                        ("M3-npz", npz_bomb)):
        pred, gt = WORK / name / "pred", WORK / name / "gt"
        pred.mkdir(parents=True, exist_ok=True)
        gt.mkdir(parents=True, exist_ok=True)
        pairs[name] = (pred, gt)
        if any(gt.iterdir()):
            continue
        if name == "M0":
            for folder in (pred, gt):
                Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "tiny.png")
        elif name == "M1":
            truth = ordinary_labels((16384, 16384), 1)
            Image.fromarray(truth).save(gt / "tile.png")
            truth[::9] = (truth[::9] + 1) % 3
            Image.fromarray(truth).save(pred / "tile.png")
        elif name == "M2":
            for folder, shift in ((gt, 0), (pred, 3)):
                nibabel.save(nibabel.Nifti1Image(ct_labels(shift), np.eye(4)), folder / "ct.nii.gz")
        else:
            suffix = {"M3-png": ".png", "M3-tiff": ".tif", "M3-npz": ".npz"}[name]
            write(pred / f"bomb{suffix}")
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(gt / "bomb.png")
    m4 = WORK / "M4"
    for side in ("pred", "gt"):
        (m4 / side).mkdir(parents=True, exist_ok=True)
        if not (m4 / side / "bomb.png").exists():
            os.link(pairs["M3-png"][0] / "bomb.png", m4 / side / "bomb.png")
    pairs["M4"] = (m4 / "pred", m4 / "gt")
    return pairs


def size_of(folder: Path) -> str:
    total = sum(p.stat().st_size for p in folder.iterdir())
    return f"{total / 2**20:.1f} MiB" if total >= 2**20 else f"{total / 1024:.0f} KiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    start = time.perf_counter()
    pairs = generate()
    print(f"inputs in {time.perf_counter() - start:.0f} s", flush=True)
    sys.path.insert(0, str(ROOT))
    from lossctl.io import default_memory_budget

    budget = default_memory_budget() / 2**20
    runs = [
        ("M0", "start-up: a 4x4 label PNG pair", (), 0),
        ("M1", "16384x16384 label PNG pair, default budget", ("--workers", "1"), 0),
        ("M2", "512x512x1000 int16 CT label .nii.gz pair, default budget", ("--workers", "1", "-m", "dice,iou"), 0),
        ("M3-png", "40000x40000 1-bit PNG bomb, no --max-memory", (), 3),
        ("M3-tiff", "40000x40000 deflate TIFF bomb, no --max-memory", (), 3),
        ("M3-npz", ".npz member of 1.6 GB, no --max-memory", (), 3),
        ("M4", "the 1-bit PNG as both files, --max-memory 4G", ("--max-memory", "4G"), 3),
    ]
    lines = [BEGIN, "## M: the memory budget and decompression bombs (tools/bench_memory.py)", "",
             f"Default budget on this machine: {budget:,.0f} MiB (half the available memory). Peak RSS from "
             "`os.wait4` (memory-mapped pages included); the bound is the budget plus about 100 MB of interpreter.",
             "", "A bomb's refusal is timed by its CPU time beyond M0's (the start-up: interpreter and imports), "
             "which the shared machine's load does not distort as it does the wall time.",
             "", "| run | input | files (pred) | exit | wall (s) | CPU (s) | peak RSS (MB) | bound (MB) | met |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    messages = []
    startup = 0.0
    for name, what, extra, expected in runs:
        pred, gt = pairs[name]
        print(f"  {name}: {what}", flush=True)
        r = run("seg", str(pred), str(gt), *extra)
        startup = float(r["cpu"]) if name == "M0" else startup  # type: ignore[arg-type]
        bound = 200 if name.startswith("M3") else (4096 if name == "M4" else budget) + 100
        beyond = float(r["cpu"]) - startup  # type: ignore[arg-type]
        met = r["code"] == expected and r["rss"] <= bound and (not name.startswith("M3") or beyond < 1)
        cpu = f"{r['cpu']:.2f}" + (f" (+{beyond:.2f})" if name.startswith("M3") else "")
        lines.append(f"| {name} | {what} | {size_of(pred)} | {r['code']} | {r['wall']:.2f} | {cpu} | "
                     f"{r['rss']:.0f} | {bound:,.0f}{' and +1 s CPU' if name.startswith('M3') else ''} | "
                     f"{'met' if met else 'NOT MET'} |")
        if expected:
            messages.append(f"- {name}: `{str(r['message']).replace(str(WORK) + '/', '')}`")
    lines += ["", "The refusals, one line each:", "", *messages, "", END]
    section = "\n".join(lines) + "\n"
    write_section(args.output, BEGIN, END, section)
    print(section)


if __name__ == "__main__":
    main()
