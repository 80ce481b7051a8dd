#!/usr/bin/env python
"""Golden values of lossctl's instance values under the hovernet convention, from HoVer-Net's own
``metrics/stats_utils.py`` (vqdang/hover_net; GitHub only, never copied into lossctl).

Run it from a checkout outside the project, in any environment with NumPy and SciPy::

    python tools/make_golden_instances_hovernet.py --hovernet /path/to/hover_net --commit <sha of that checkout>

``stats_utils.py`` imports cv2 and matplotlib at module level but its get_fast_* functions use neither: both are
replaced by empty stand-in modules before the import (recorded in the fixture). It writes
tests/golden/instances_hovernet.json (inputs: tests/golden/instances_inputs.npz, written by
make_golden_instances_panoptica.py from the same tools/instance_cases.py). It never imports lossctl.

Cases: the label cases of tools/instance_cases.py, and the semantic cases' connected components
(``scipy.ndimage.label`` with the full neighbourhood) as instance maps. Every map is first made contiguous with
HoVer-Net's own ``remap_label(by_size=False)``, as its compute_stats.py does. Per case: ``get_fast_pq`` at
match_iou 0.5 and 0.3 (dq, sq, pq and the pairing: paired, unpaired true and predicted ids), ``get_fast_aji`` and
``get_fast_aji_plus``; "error" where HoVer-Net raised, "nan" where it returned NaN.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
import types
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instance_cases  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "tests" / "golden" / "instances_hovernet.json"
STUBS = ("cv2", "matplotlib", "matplotlib.pyplot")


def _load(checkout: Path):
    for name in STUBS:
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.path.insert(0, str(checkout))
    from metrics import stats_utils

    return stats_utils


def _number(v):
    v = float(v)
    return "nan" if math.isnan(v) else v


def _call(fn, *args):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args), None
    except Exception as e:  # noqa: BLE001 - stored as "error"
        return None, f"{type(e).__name__}: {e}"


def measure(su, gt: np.ndarray, pred: np.ndarray) -> dict:
    out = {}
    for match_iou in (0.5, 0.3):
        got, err = _call(su.get_fast_pq, gt, pred, match_iou)
        key = f"pq@{match_iou}"
        if err:
            out[key] = {"error": err}
            continue
        (dq, sq, pq), (paired_true, paired_pred, unpaired_true, unpaired_pred) = got
        out[key] = {"dq": _number(dq), "sq": _number(sq), "pq": _number(pq),
                    "paired": sorted([int(t), int(p)] for t, p in zip(paired_true, paired_pred, strict=True)),
                    "unpaired_true": sorted(int(t) for t in unpaired_true),
                    "unpaired_pred": sorted(int(p) for p in unpaired_pred)}
    for name in ("get_fast_aji", "get_fast_aji_plus"):
        got, err = _call(getattr(su, name), gt, pred)
        out[name] = {"error": err} if err else _number(got)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hovernet", type=Path, required=True, help="a checkout of vqdang/hover_net")
    parser.add_argument("--commit", required=True, help="the commit of that checkout")
    args = parser.parse_args()
    su = _load(args.hovernet)
    full = {2: ndimage.generate_binary_structure(2, 2), 3: ndimage.generate_binary_structure(3, 3)}
    cases = []
    for case in instance_cases.label_cases() + instance_cases.semantic_cases():
        gt, pred = case["gt"], case["pred"]
        if case["kind"] == "semantic":
            gt = ndimage.label(gt > 0, structure=full[gt.ndim])[0]
            pred = ndimage.label(pred > 0, structure=full[pred.ndim])[0]
        gt, pred = su.remap_label(gt), su.remap_label(pred)
        cases.append({"id": case["id"], "kind": case["kind"], "runs": [measure(su, gt, pred)]})
        print(case["id"])
    doc = {
        "generated_by": "tools/make_golden_instances_hovernet.py",
        "reference": "vqdang/hover_net metrics/stats_utils.py: get_fast_pq, get_fast_aji, get_fast_aji_plus "
                     "on maps made contiguous by its remap_label(by_size=False); semantic cases as components "
                     "with the full neighbourhood",
        "repository": "github.com/vqdang/hover_net", "commit": args.commit,
        "patches": f"none to the code; stand-in empty modules for {', '.join(STUBS)} (imported, unused)",
        "seed": instance_cases.SEED,
        "versions": {"numpy": np.__version__, "scipy": __import__("scipy").__version__},
        "python": platform.python_version(),
        "cases": cases,
    }
    instance_cases.write_json(OUT_JSON, doc)
    print("wrote", OUT_JSON)


if __name__ == "__main__":
    main()
