#!/usr/bin/env python
"""Benchmark V5: instance values of lesion volumes against panoptica 2.1.7; write BENCHMARKS.md's V5 section.

Run with the project's interpreter after tools/bench.py (``make bench`` runs it; bench.py rewrites BENCHMARKS.md,
this script then replaces only the part between its markers, and its own block of docs/performance.md)::

    .venv/bin/python tools/bench_instances.py [--panoptica-python PATH] [--repeat 3] [--volumes 10]

V5: 10 binary lesion volumes of 160x256x256 voxels (uint8 NPY, spacing 1.0 x 0.9 x 0.9 mm given with
``--spacing``), each with 5 to 40 spherical lesions of 10 to 10^5 voxels (log-uniform); the prediction shifts each
lesion by up to two voxels, grows or shrinks it by up to 20%, drops about one in six and adds one to four small
false lesions. Written once into ``bench_data/V5/`` (reused while the generator is unchanged).

Runs, each a fresh process timed around the whole process (start-up, imports, reading the files, computing), with
its peak RSS from ``os.wait4``, side by side in ``--repeat`` rounds (medians):

* read-only floor: NumPy loads both files of every pair (the project's interpreter);
* lossctl: ``lossctl seg PRED GT --instances cc -m pq -m rq -m sq -m sq_hd95 --convention panoptica --spacing
  1.0,0.9,0.9 --workers 1 -f json`` (and ``--workers 2``);
* the start-up floors: the same two commands on one 64x64x64 pair (imports, set-up, the report);
* panoptica 2.1.7 in its own environment (``--panoptica-python``; ``make refenv-panoptica`` builds it; without it
  the column is skipped with a note): ``Panoptica_Evaluator(SEMANTIC, ConnectedComponentsInstanceApproximator(),
  NaiveThresholdMatching(0.5), instance_metrics=[IOU, HD95])`` on the same files, its default speed settings
  (cropping, per-instance boxes, one process). Its values are checked against lossctl's.

Python's bytecode cache is on for every run (``PYTHONPYCACHEPREFIX`` in ``bench_data/pycache``), as for an
installed package, and one unmeasured warm-up run of each on a small pair fills it. The same run profiles lossctl
(cProfile of the whole CLI run on V5) and reports where the time goes.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_section import write_section

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench_data" / "V5"
GEN_VERSION = 2
SEED = 1000
N_VOLUMES = 10
SHAPE = (160, 256, 256)
SPACING = (1.0, 0.9, 0.9)
METRICS = ("pq", "rq", "sq", "sq_hd95")
BEGIN = "<!-- BEGIN V5 instances (tools/bench_instances.py) -->"
END = "<!-- END V5 instances -->"
PERFORMANCE = ROOT / "docs" / "performance.md"
PERF_BEGIN, PERF_END = "<!-- BEGIN V5 perf -->", "<!-- END V5 perf -->"
TARGET = 10.0  # issue 19: at least 10x faster than panoptica on V5
DEFAULT_PANOPTICA = os.environ.get("PANOPTICA_PYTHON", ".refenv-panoptica/bin/python")


def make_volume(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(prediction, ground truth, number of lesions) of one volume, uint8 0/1."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 41))
    gt = np.zeros(SHAPE, bool)
    pred = np.zeros(SHAPE, bool)
    for _ in range(n):
        radius = (3 * 10 ** rng.uniform(1, 5) / (4 * np.pi)) ** (1 / 3)  # 10 to 10^5 voxels, log-uniform
        centre = [rng.uniform(radius, s - radius) for s in SHAPE]
        box = tuple(slice(max(int(c - radius) - 3, 0), min(int(c + radius) + 4, s))
                    for c, s in zip(centre, SHAPE, strict=True))
        grid = np.ogrid[box]
        dist = sum(((g - c) / radius) ** 2 for g, c in zip(grid, centre, strict=True))
        gt[box] |= dist <= 1.0
        if rng.random() < 1 / 6:
            continue
        shift = rng.integers(-2, 3, size=3)
        scale = rng.uniform(0.8, 1.2)
        dist = sum(((g - c - d) / (radius * scale)) ** 2 for g, c, d in zip(grid, centre, shift, strict=True))
        pred[box] |= dist <= 1.0
    for _ in range(int(rng.integers(1, 5))):
        r = rng.uniform(1.5, 6)
        c = [rng.uniform(r, s - r) for s in SHAPE]
        box = tuple(slice(max(int(x - r) - 1, 0), min(int(x + r) + 2, s)) for x, s in zip(c, SHAPE, strict=True))
        grid = np.ogrid[box]
        pred[box] |= sum(((g - x) / r) ** 2 for g, x in zip(grid, c, strict=True)) <= 1.0
    return pred.astype(np.uint8), gt.astype(np.uint8), n


def generate(n_volumes: int) -> dict:
    """Write the volumes unless the manifest matches; return the manifest."""
    manifest = WORK / "manifest.json"
    params = {"version": GEN_VERSION, "seed": SEED, "n": n_volumes, "shape": list(SHAPE), "spacing": list(SPACING)}
    if manifest.exists():
        old = json.loads(manifest.read_text())
        if {k: v for k, v in old.items() if k != "lesions"} == params:
            return old
    for side in ("pred", "gt", "warm/pred", "warm/gt"):
        (WORK / side).mkdir(parents=True, exist_ok=True)
        for stale in (WORK / side).glob("*.npy"):
            stale.unlink()
    warm = np.zeros((64, 64, 64), np.uint8)  # the warm-up pair: every module imported (and its bytecode cached)
    warm[10:30, 10:30, 10:30] = 1
    np.save(WORK / "warm" / "pred" / "warm.npy", warm)
    np.save(WORK / "warm" / "gt" / "warm.npy", np.roll(warm, 2, axis=0))
    lesions = []
    for i in range(n_volumes):
        pred, gt, n = make_volume(SEED + i)
        np.save(WORK / "pred" / f"case_{i:02d}.npy", pred)
        np.save(WORK / "gt" / f"case_{i:02d}.npy", gt)
        lesions.append(n)
    params["lesions"] = lesions
    manifest.write_text(json.dumps(params))  # last: a partial folder is regenerated
    return params


# The measured command is started by this tiny runner: a child's ru_maxrss counts what its parent held before
# exec(), so the runner stays small and reports the measured process's own rusage.
RUNNER = r"""
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:], stdout=open(sys.argv[1] + ".out", "wb"), stderr=subprocess.PIPE)
_pid, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
err = proc.stderr.read().decode(errors="replace")[-2000:]
json.dump({"wall": wall, "rss": ru.ru_maxrss / 1024, "cpu": ru.ru_utime + ru.ru_stime,
           "rc": os.waitstatus_to_exitcode(status), "err": err}, open(sys.argv[1], "w"))
"""


def measured(argv: list[str], env: dict[str, str]) -> dict:
    """One fresh-process run of ``argv``: wall, CPU, peak RSS (MB) and its standard output."""
    with tempfile.TemporaryDirectory() as tmp:
        res = Path(tmp) / "run.json"
        subprocess.run([sys.executable, "-c", RUNNER, str(res), *argv], check=True, env=env)
        r = json.loads(res.read_text())
        r["out"] = Path(str(res) + ".out").read_text(errors="replace")
    if r["rc"]:
        raise SystemExit(f"{' '.join(argv[:6])} failed (exit {r['rc']}): {r['err']}")
    return r


FLOOR = """
import sys, numpy as np
from pathlib import Path
total = 0
for side in sys.argv[1:3]:
    for p in sorted(Path(side).glob("*.npy")):
        total += int(np.load(p).sum())
print(total)
"""

PANOPTICA = """
import json, sys, time
t0 = time.perf_counter()
from pathlib import Path
import numpy as np
import panoptica
from panoptica import (ConnectedComponentsInstanceApproximator, InputType, Metric, NaiveThresholdMatching,
                       Panoptica_Evaluator)
imports = time.perf_counter() - t0
pred_dir, gt_dir, spacing = Path(sys.argv[1]), Path(sys.argv[2]), tuple(json.loads(sys.argv[3]))
out, loop = [], 0.0
for p in sorted(pred_dir.glob("*.npy")):
    pred, gt = np.load(p), np.load(gt_dir / p.name)
    evaluator = Panoptica_Evaluator(expected_input=InputType.SEMANTIC,
                                    instance_approximator=ConnectedComponentsInstanceApproximator(),
                                    instance_matcher=NaiveThresholdMatching(matching_threshold=0.5),
                                    instance_metrics=[Metric.IOU, Metric.HD95])
    t = time.perf_counter()
    result = next(iter(evaluator.evaluate(pred, gt, voxelspacing=spacing).values()))
    loop += time.perf_counter() - t
    out.append({k: float(getattr(result, k)) for k in ("tp", "fp", "fn", "rq", "sq", "pq", "sq_hd95")})
from importlib.metadata import version
print(json.dumps({"values": out, "loop": loop, "imports": imports, "version": version("panoptica")}))
"""


def lossctl_argv(pred_dir: Path, gt_dir: Path, report: Path, workers: int) -> list[str]:
    return [sys.executable, "-m", "lossctl", "seg", str(pred_dir), str(gt_dir), "--instances", "cc",
            *[a for m in METRICS for a in ("-m", m)], "--convention", "panoptica",
            "--spacing", ",".join(map(str, SPACING)), "--workers", str(workers), "-f", "json", "-o", str(report)]


def agreement(ours: dict, theirs: dict) -> float:
    """The largest relative difference between lossctl's per-image values and panoptica's."""
    worst = 0.0
    for image, other in zip(ours["images"], theirs["values"], strict=True):
        for m in METRICS:
            a, b = image["values"][m], other[m]
            worst = max(worst, abs(a - b) / max(abs(b), 1e-12))
    return worst


GROUPS = {  # where the profiled time goes: (file, function) of each part, cumulative time
    "components (labelling)": ("metrics/instances.py", "connected_components"),
    "overlap table and matching": ("metrics/instances.py", "evaluate"),
    "boundary values of the matched pairs (within the above)": ("metrics/instances.py", "_pair_boundaries"),
    "confusion matrix (the report's per-image matrix)": ("inputs/seg.py", "confusion"),
    "the whole pair (reading, masks, crop, all the above)": ("engine/seg.py", "_evaluate_pair"),
}


def profile(pred_dir: Path, gt_dir: Path, env: dict[str, str]) -> tuple[float, list[tuple], dict[str, float]]:
    """cProfile of one lossctl run on V5: (total seconds, top functions by own time, share of each group)."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = Path(tmp) / "v5.pstats"
        argv = lossctl_argv(pred_dir, gt_dir, Path(tmp) / "v5.json", 1)
        subprocess.run([sys.executable, "-m", "cProfile", "-o", str(stats_path), *argv[1:]], check=True, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stats = pstats.Stats(str(stats_path))
    raw = stats.stats  # type: ignore[attr-defined]
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in raw.values())
    rows = sorted(((tt, nc, f"{Path(f).name}:{line}({fn})") for (f, line, fn), (_cc, nc, tt, _ct, _c) in raw.items()),
                  reverse=True)[:10]
    shares = {}
    for name, (file, fn) in GROUPS.items():
        shares[name] = sum(ct for (f, _line, func), (_cc, _nc, _tt, ct, _c) in raw.items()
                           if f.endswith(file) and func == fn)
    return total, rows, shares


def budget_mb() -> float:
    """lossctl's default memory budget on this machine (``--max-memory``'s default), MB."""
    out = subprocess.run([sys.executable, "-c", "from lossctl.io.budget import default_memory_budget as b; "
                          "print(b())"], capture_output=True, text=True, check=True, cwd=ROOT)
    return int(out.stdout) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--panoptica-python", default=DEFAULT_PANOPTICA,
                        help="the interpreter of panoptica 2.1.7's environment ('' to skip; default "
                             "$PANOPTICA_PYTHON, else .refenv-panoptica/bin/python: `make refenv-panoptica`)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of side-by-side runs (medians)")
    parser.add_argument("--volumes", type=int, default=N_VOLUMES, help="volumes (not 10: a partial run, whose "
                        "figures are printed but not written)")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate_only:
        generate(args.volumes)
        return
    t0 = time.perf_counter()
    # in a child: this process stays small (the measured runs are its grandchildren, see RUNNER)
    subprocess.run([sys.executable, __file__, "--generate-only", "--volumes", str(args.volumes)], check=True)
    manifest = json.loads((WORK / "manifest.json").read_text())
    gen_time = time.perf_counter() - t0
    pred_dir, gt_dir = WORK / "pred", WORK / "gt"
    # bytecode cached (in bench_data/, not next to the sources), as an installed package has it: the runs measure
    # lossctl and panoptica, not Python compiling their modules
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "PYTHONPYCACHEPREFIX": str(WORK.parent / "pycache")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    pan = args.panoptica_python
    have_pan = bool(pan) and Path(pan).exists()
    with tempfile.TemporaryDirectory() as tmp:  # warm-up runs, not measured
        measured(lossctl_argv(WORK / "warm" / "pred", WORK / "warm" / "gt", Path(tmp) / "warm.json", 1), env)
        if have_pan:
            measured([pan, "-c", PANOPTICA, str(WORK / "warm" / "pred"), str(WORK / "warm" / "gt"),
                      json.dumps(SPACING)], env)
    runs: dict[str, list[dict]] = {"floor": [], "lossctl": [], "lossctl2": [], "panoptica": [], "lossctl_start": [],
                                   "panoptica_start": []}
    warm = (str(WORK / "warm" / "pred"), str(WORK / "warm" / "gt"))
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "v5.json"
        for k in range(args.repeat):
            print(f"round {k + 1} of {args.repeat}", flush=True)
            runs["floor"].append(measured([sys.executable, "-c", FLOOR, str(pred_dir), str(gt_dir)], env))
            runs["lossctl_start"].append(measured(lossctl_argv(*map(Path, warm), Path(tmp) / "warm.json", 1), env))
            runs["lossctl"].append(measured(lossctl_argv(pred_dir, gt_dir, report, 1), env))
            ours = json.loads(report.read_text())
            runs["lossctl2"].append(measured(lossctl_argv(pred_dir, gt_dir, Path(tmp) / "v5w2.json", 2), env))
            if have_pan:
                runs["panoptica"].append(measured([pan, "-c", PANOPTICA, str(pred_dir), str(gt_dir),
                                                   json.dumps(SPACING)], env))
                runs["panoptica_start"].append(measured([pan, "-c", PANOPTICA, *warm, json.dumps(SPACING)], env))
        same_w2 = (Path(tmp) / "v5w2.json").read_bytes() == report.read_bytes()
    med = {k: {q: statistics.median(r[q] for r in v) for q in ("wall", "cpu", "rss")} for k, v in runs.items() if v}
    ratio = ratio_cpu = None
    if have_pan:
        theirs = json.loads(runs["panoptica"][-1]["out"].strip().splitlines()[-1])
        loop = statistics.median(json.loads(r["out"].strip().splitlines()[-1])["loop"] for r in runs["panoptica"])
        ratio = statistics.median(p["wall"] / o["wall"] for p, o in zip(runs["panoptica"], runs["lossctl"],
                                                                           strict=True))
        ratio_cpu = statistics.median(p["cpu"] / o["cpu"] for p, o in zip(runs["panoptica"], runs["lossctl"],
                                                                              strict=True))
        worst = agreement(ours, theirs)
    total, top, shares = profile(pred_dir, gt_dir, env)
    budget = budget_mb()
    voxels = args.volumes * int(np.prod(SHAPE))

    lines = [BEGIN, "", f"## V5: {args.volumes} lesion volumes 160x256x256, 5-40 lesions of 10 to 10^5 voxels: "
             "panoptic quality against panoptica", ""]
    lines.append(f"Generated by `tools/bench_instances.py` (`make bench`) on {platform.platform()}, "
                 f"{os.cpu_count()} cores, {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC; data in "
                 f"`bench_data/V5/` (uint8 NPY, {sum(manifest['lesions'])} ground-truth lesions in all; generated in "
                 f"{gen_time:.0f} s, or reused). Each run is one fresh process, timed around the whole process "
                 "(start-up, imports, reading the files, computing); peak RSS from `wait4`; "
                 f"median of {args.repeat} side-by-side rounds. Both compute, per volume, 26-connected components, "
                 "greedy one-to-one matching at IoU >= 0.5, RQ, SQ, PQ and the mean HD95 of the matched pairs "
                 "(spacing 1.0 x 0.9 x 0.9 mm).")
    lines += ["", "| run | wall (s) | CPU (s) | peak RSS (MB) | panoptica / lossctl (wall; CPU) | note |",
              "| --- | ---: | ---: | ---: | ---: | --- |"]

    def row(name: str, key: str, note: str = "", show_ratio: bool = False) -> None:
        r = med[key]
        cell = f"{ratio:.1f}x; {ratio_cpu:.1f}x" if show_ratio and ratio else ""
        lines.append(f"| {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {r['rss']:.0f} | {cell} | {note} |")

    row("read-only floor (NumPy reads both files of every pair)", "floor")
    row("lossctl seg --instances cc -m pq,rq,sq,sq_hd95 --convention panoptica, --workers 1", "lossctl",
        f"{voxels / med['lossctl']['wall'] / 1e6:.0f} M voxels/s")
    row("lossctl, the same, --workers 2", "lossctl2", "same report" if same_w2 else "**report differs**")
    row("lossctl, the same, on one 64x64x64 pair: its start-up floor", "lossctl_start",
        "imports (lossctl, NumPy, scipy.ndimage, scipy.spatial), the CLI, the report")
    if have_pan:
        row(f"panoptica {theirs['version']}: Panoptica_Evaluator (SEMANTIC, connected components, "
            "NaiveThresholdMatching(0.5), IOU + HD95)", "panoptica",
            f"evaluate() calls {loop:.1f} s; imports {theirs['imports']:.1f} s; values agree with lossctl's to "
            f"{worst:.1e} relative", show_ratio=True)
        row(f"panoptica {theirs['version']}, the same, on one 64x64x64 pair: its start-up floor", "panoptica_start")
        beyond = (med["panoptica"]["wall"] - med["panoptica_start"]["wall"]) / \
            (med["lossctl"]["wall"] - med["lossctl_start"]["wall"])
        verdict = "met" if ratio >= TARGET else "NOT met"
        lines += ["", f"Target (issue 19): at least {TARGET:.0f}x faster than panoptica on the same files "
                  f"(whole process, wall): **{ratio:.1f}x, {verdict}** (CPU: {ratio_cpu:.1f}x; against "
                  f"panoptica's `evaluate()` calls alone, without its start-up: "
                  f"{loop / med['lossctl']['wall']:.1f}x; beyond each one's start-up floor: {beyond:.1f}x)."]
    else:
        verdict = "not measured"
        lines += ["", f"panoptica: not measured, no interpreter at `{pan or '(none)'}`: build its environment with "
                  "`make refenv-panoptica` (or pass `PANOPTICA_PYTHON=/path/to/python`)."]
    rss_ok = med["lossctl"]["rss"] <= budget
    lines += ["", f"Peak RSS: lossctl {med['lossctl']['rss']:.0f} MB (--workers 1), within the memory budget of "
              f"{budget:.0f} MB (`--max-memory`'s default here: half the available memory): "
              f"{'met' if rss_ok else '**NOT met**'}.", ""]
    lines += [f"Where lossctl's time goes (cProfile of the `--workers 1` run, {total:.2f} s profiled; cumulative):", "",
              "| part | seconds | % |", "| --- | ---: | ---: |"]
    for name, sec in shares.items():
        lines.append(f"| {name} | {sec:.2f} | {100 * sec / total:.0f} |")
    rest = total - shares["the whole pair (reading, masks, crop, all the above)"]
    lines.append(f"| outside the pairs: start-up, imports, the report | {rest:.2f} | {100 * rest / total:.0f} |")
    lines += ["", "Top functions by own time:", "", "| function | calls | own time (s) |", "| --- | ---: | ---: |"]
    lines += [f"| `{fn}` | {nc} | {tt:.3f} |" for tt, nc, fn in top]
    lines += ["", END]
    section = "\n".join(lines) + "\n"
    print(section)
    if args.volumes != N_VOLUMES:
        print(f"(a partial run of {args.volumes} volumes: nothing written)")
        return
    write_section(args.output, BEGIN, END, section)
    page = PERFORMANCE.read_text(encoding="utf-8")
    if PERF_BEGIN in page and PERF_END in page:
        git = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             cwd=ROOT).stdout.strip()
        block = [PERF_BEGIN, f"From `make bench` at git {git} on {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} "
                 f"UTC ({os.cpu_count()} cores), V5 ({args.volumes} volumes 160x256x256, whole processes, median "
                 f"of {args.repeat}):", "",
                 "| run | wall (s) | peak RSS (MB) |", "|---|---:|---:|",
                 f"| lossctl, --workers 1 | {med['lossctl']['wall']:.2f} | {med['lossctl']['rss']:.0f} |",
                 f"| lossctl, --workers 2 | {med['lossctl2']['wall']:.2f} | {med['lossctl2']['rss']:.0f} |",
                 f"| lossctl on one 64³ pair (start-up floor) | {med['lossctl_start']['wall']:.2f} | "
                 f"{med['lossctl_start']['rss']:.0f} |"]
        if have_pan:
            block.append(f"| panoptica {theirs['version']} | {med['panoptica']['wall']:.2f} | "
                         f"{med['panoptica']['rss']:.0f} |")
            block.append(f"| panoptica on one 64³ pair (start-up floor) | {med['panoptica_start']['wall']:.2f} | "
                         f"{med['panoptica_start']['rss']:.0f} |")
        block += ["", "| workload | ratio | value | target | status |", "|---|---|---:|---:|---|",
                  f"| V5 | panoptica / lossctl (time) | {f'{ratio:.1f}' if ratio else '–'} | >= {TARGET:.0f} | "
                  f"{verdict} |",
                  *([f"| V5 | the same, beyond each one's start-up floor | {beyond:.1f} | – | informative |"]
                    if have_pan else []),
                  f"| V5 | peak RSS of lossctl (MB) | {med['lossctl']['rss']:.0f} | <= {budget:.0f} (the default "
                  f"budget) | {'met' if rss_ok else 'NOT met'} |", PERF_END]
        head, rest = page.split(PERF_BEGIN, 1)
        PERFORMANCE.write_text(head + "\n".join(block) + rest.split(PERF_END, 1)[1], encoding="utf-8")


if __name__ == "__main__":
    main()
