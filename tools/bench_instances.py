#!/usr/bin/env python
"""A quick speed check of the instance core against panoptica 2.1.7 on lesion volumes (not yet `make bench`).

Generates ``--volumes`` deterministic binary volumes of 160x256x256 voxels (spacing 1.0 x 0.9 x 0.9 mm) with 5 to
40 spherical lesions each, from about 10 to 10^5 voxels, and a prediction from each (lesions shifted by up to two
voxels, grown or shrunk, about one in six dropped, a few false ones added). Each volume is evaluated

* by lossctl's core in this process: components (26-connectivity), the overlap table, greedy matching at
  IoU >= 0.5 and RQ, SQ, PQ, SQ-Dice with HD95, ASSD and NSD of the matched pairs under the panoptica convention;
* by panoptica in its own environment (``--panoptica-python``), the same settings: SEMANTIC input,
  ConnectedComponentsInstanceApproximator, NaiveThresholdMatching, instance metrics DSC, IOU, ASSD, HD95, NSD.

Prints the seconds per volume of each and checks that the values agree (1e-6 relative). Single-threaded both.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHAPE = (160, 256, 256)
SPACING = (1.0, 0.9, 0.9)
KEYS = {"tp": "inst_tp", "fp": "inst_fp", "fn": "inst_fn", "rq": "rq", "sq": "sq", "pq": "pq", "sq_dsc": "sq_dice",
        "sq_hd95": "sq_hd95", "sq_assd": "sq_assd", "sq_nsd": "sq_nsd"}

PANOPTICA_RUNNER = r"""
import json, sys, time, numpy as np
from panoptica import (ConnectedComponentsInstanceApproximator, InputType, Metric, NaiveThresholdMatching,
                       Panoptica_Evaluator)
def evaluator():
    return Panoptica_Evaluator(expected_input=InputType.SEMANTIC,
                               instance_approximator=ConnectedComponentsInstanceApproximator(),
                               instance_matcher=NaiveThresholdMatching(matching_threshold=0.5),
                               instance_metrics=[Metric.DSC, Metric.IOU, Metric.ASSD, Metric.HD95, Metric.NSD])
warm = np.zeros((40, 40, 40), np.uint8); warm[2:35, 2:35, 2:35] = 1
evaluator().evaluate(warm, warm)  # imports and first calls outside the timing
out = []
for path in sys.argv[2:]:
    data = np.load(path)
    ev = evaluator()
    t, c = time.perf_counter(), time.process_time()
    r = next(iter(ev.evaluate(data["pred"], data["gt"], voxelspacing=tuple(json.loads(sys.argv[1]))).values()))
    seconds, cpu = time.perf_counter() - t, time.process_time() - c
    values = {}
    for k in ("tp", "fp", "fn", "rq", "sq", "pq", "sq_dsc", "sq_hd95", "sq_assd", "sq_nsd"):
        try:
            values[k] = float(getattr(r, k))
        except Exception:
            values[k] = None
    out.append({"seconds": seconds, "cpu": cpu, "values": values})
print(json.dumps(out))
"""


def make_volume(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(pred, gt, number of lesions) of one volume."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 41))
    gt = np.zeros(SHAPE, bool)
    pred = np.zeros(SHAPE, bool)
    for _ in range(n):
        radius = (3 * 10 ** rng.uniform(1, 5) / (4 * np.pi)) ** (1 / 3)  # 10 to 10^5 voxels, log-uniform
        centre = [rng.uniform(radius, s - radius) for s in SHAPE]
        box = tuple(slice(max(int(c - radius) - 3, 0), min(int(c + radius) + 4, s)) for c, s in zip(centre, SHAPE,
                                                                                                       strict=True))
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
    return pred, gt, n


def lossctl_values(pred: np.ndarray, gt: np.ndarray) -> tuple[float, float, dict]:
    from lossctl.metrics import instances as inst

    t, c = time.perf_counter(), time.process_time()
    g = inst.connected_components(gt, inst.CONVENTIONS["panoptica"].rank(3))
    p = inst.connected_components(pred, inst.CONVENTIONS["panoptica"].rank(3))
    ev = inst.convention_evaluate(g, p, "panoptica", boundary_metrics=("hd95", "assd", "nsd"), spacing=SPACING)
    values = inst.convention_values(ev, "panoptica", list(KEYS.values()))
    return time.perf_counter() - t, time.process_time() - c, values


def main() -> None:
    warm = np.zeros((40, 40, 40), bool)
    warm[2:35, 2:35, 2:35] = True  # a box large enough for the KD-tree engine
    lossctl_values(warm, warm)  # imports and first calls outside the timing
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--volumes", type=int, default=4)
    parser.add_argument("--panoptica-python", default="", help="the python of an environment with panoptica 2.1.7")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        paths, ours = [], []
        for k in range(args.volumes):
            pred, gt, n = make_volume(1000 + k)
            seconds, cpu, values = lossctl_values(pred, gt)
            ours.append((n, seconds, cpu, values))
            path = Path(tmp) / f"v{k}.npz"
            np.savez(path, pred=pred, gt=gt)
            paths.append(str(path))
        theirs = None
        if args.panoptica_python:
            run = subprocess.run([args.panoptica_python, "-c", PANOPTICA_RUNNER, json.dumps(SPACING), *paths],
                                 capture_output=True, text=True, check=True)
            theirs = json.loads(run.stdout.strip().splitlines()[-1])
    print("seconds per volume, wall (CPU)")
    print(f"{'volume':>6} {'lesions':>7} {'lossctl':>15} {'panoptica':>15} {'speed-up':>15}  values agree")
    for k, (n, seconds, cpu, values) in enumerate(ours):
        if theirs is None:
            print(f"{k:>6} {n:>7} {seconds:>7.3f} ({cpu:.3f})")
            continue
        other = theirs[k]
        agree = all(other["values"][a] is None and values[b] != values[b]
                    or abs(values[b] - other["values"][a]) <= 1e-9 + 1e-6 * abs(other["values"][a])
                    for a, b in KEYS.items())
        print(f"{k:>6} {n:>7} {seconds:>7.3f} ({cpu:.3f}) {other['seconds']:>7.3f} ({other['cpu']:.3f}) "
              f"{other['seconds'] / seconds:>6.1f}x ({other['cpu'] / cpu:.1f}x)  {agree}")
    if theirs is not None:
        wall, cpu = sum(o[1] for o in ours), sum(o[2] for o in ours)
        their_wall, their_cpu = sum(o["seconds"] for o in theirs), sum(o["cpu"] for o in theirs)
        print(f"{'total':>6} {'':>7} {wall:>7.3f} ({cpu:.3f}) {their_wall:>7.3f} ({their_cpu:.3f}) "
              f"{their_wall / wall:>6.1f}x ({their_cpu / cpu:.1f}x)")


if __name__ == "__main__":
    main()
