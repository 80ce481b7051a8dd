#!/usr/bin/env python
"""Golden values of lossctl's BraTS lesion-wise Dice and HD95, from the official BraTS 2023 evaluation code
(rachitsaluja/BraTS-2023-Metrics, ``metrics.py`` with its own copy of surface_distance; GitHub only, never copied
into lossctl).

The code calls ``DataFrame.append`` (gone in pandas 2) and ``DataFrame.replace(np.inf, 374)`` on a column of
arrays (which pandas 1.5 refuses), so it runs unmodified in a side environment with the pins of its own
requirements.txt (pandas 1.3.4, numpy 1.24.3: Python 3.10)::

    python3.10 -m venv /tmp/refenv-brats
    /tmp/refenv-brats/bin/pip install -r /path/to/BraTS-2023-Metrics/requirements.txt
    /tmp/refenv-brats/bin/python tools/make_golden_lesions_brats.py --brats /path/to/BraTS-2023-Metrics \\
        --commit <sha of that checkout>

It writes tests/golden/lesions_inputs.npz (the BraTS cases of tools/instance_cases.py: label maps with labels 1, 2,
3) and tests/golden/lesions_brats.json. It never imports lossctl.

Each case is saved as two NIfTI files whose affine is diag(spacing) (the code reads the spacing from the
prediction's header, in float32: stored as ``header_spacing``) and evaluated with ``get_LesionWiseResults`` for the
tasks GLI (dilation 3, 50 mm³), MEN (1, 50) and MET (1, 2): per region (WT, TC, ET) Num_TP, Num_FP, Num_FN,
LesionWise_Score_Dice and LesionWise_Score_HD95. The per-lesion rows come from ``get_LesionWiseScores`` (the
function get_LesionWiseResults calls): the lesion, its volume, the intersecting predicted components, Dice and HD95
("inf" for a missed lesion, which the aggregation counts as 374). Lesions and components are named by their first
voxel (smallest C-order flat index), as cc3d and scipy number components differently.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import platform
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import instance_cases  # noqa: E402

warnings.filterwarnings("ignore")
import nibabel as nib  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "tests" / "golden" / "lesions_brats.json"
OUT_NPZ = ROOT / "tests" / "golden" / "lesions_inputs.npz"
TASKS = {"GLI": ("BraTS-GLI", 3), "MEN": ("BraTS-MEN", 1), "MET": ("BraTS-MET", 1)}
REGIONS = ("WT", "TC", "ET")
COLUMNS = ("Num_TP", "Num_FP", "Num_FN", "LesionWise_Score_Dice", "LesionWise_Score_HD95", "Legacy_Dice",
           "Legacy_HD95")


def _number(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf"
    return v


def _first_voxels(labels: np.ndarray) -> dict[int, int]:
    """Each label's first voxel (its smallest C-order flat index): names components independently of how a
    labelling numbers them (cc3d and scipy number them differently)."""
    flat = labels.ravel()
    out: dict[int, int] = {}
    for i in np.flatnonzero(flat):
        out.setdefault(int(flat[i]), int(i))
    return out


def _names(brats, pred_file: Path, gt_file: Path, region: str, dilation: int) -> tuple[dict, dict]:
    """The first voxels of the predicted components and of the merged lesions, labelled exactly as
    get_LesionWiseScores labels them (its own calls, repeated here to read the labels it keeps internal)."""
    import cc3d
    import scipy.ndimage

    pred_mat, gt_mat = brats.get_TissueWiseSeg(nib.load(pred_file).get_fdata(), nib.load(gt_file).get_fdata(), region)
    structure = scipy.ndimage.generate_binary_structure(3, 2)
    gt_cc = cc3d.connected_components(gt_mat, connectivity=26)
    pred_cc = cc3d.connected_components(pred_mat, connectivity=26)
    dilated = cc3d.connected_components(scipy.ndimage.binary_dilation(gt_mat, structure=structure,
                                                                      iterations=dilation), connectivity=26)
    merged = brats.get_GTseg_combinedByDilation(dilated, gt_cc)
    return _first_voxels(pred_cc), _first_voxels(merged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--brats", type=Path, required=True, help="a checkout of rachitsaluja/BraTS-2023-Metrics")
    parser.add_argument("--commit", required=True, help="the commit of that checkout")
    args = parser.parse_args()
    sys.path.insert(0, str(args.brats))
    import metrics as brats  # the checkout's metrics.py (and its surface_distance package)

    cases = instance_cases.brats_cases()
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            pred_file, gt_file = Path(tmp) / f"{case['id']}_pred.nii.gz", Path(tmp) / f"{case['id']}_gt.nii.gz"
            affine = np.diag([*case["spacing"], 1.0])
            nib.save(nib.Nifti1Image(case["pred"], affine), pred_file)
            nib.save(nib.Nifti1Image(case["gt"], affine), gt_file)
            header_spacing = [float(z) for z in nib.load(pred_file).header.get_zooms()]
            runs = []
            for task, (challenge, dilation) in TASKS.items():
                table = brats.get_LesionWiseResults(str(pred_file), str(gt_file), challenge)
                regions = {}
                for region in REGIONS:
                    row = table[table["Labels"] == region].iloc[0]
                    scores = brats.get_LesionWiseScores(str(pred_file), str(gt_file), region, dilation)
                    pred_first, lesion_first = _names(brats, pred_file, gt_file, region, dilation)
                    lesions = [{"first_voxel": lesion_first[int(gtcomp)], "volume": float(vol),
                                "hits": sorted(pred_first[int(c)] for c in ccs), "dice": _number(d),
                                "hd95": _number(h)}
                               for ccs, gtcomp, vol, d, h in scores[4]]
                    regions[region] = {**{k: _number(row[k]) for k in COLUMNS}, "lesions": lesions,
                                       "false_positives": sorted(pred_first[int(c)] for c in scores[2])}
                runs.append({"task": task, "regions": regions})
            out.append({"id": case["id"], "spacing": case["spacing"], "header_spacing": header_spacing,
                        "runs": runs})
            print(case["id"])
    instance_cases.save_inputs(OUT_NPZ, cases)
    doc = {
        "generated_by": "tools/make_golden_lesions_brats.py",
        "reference": "rachitsaluja/BraTS-2023-Metrics metrics.py: get_LesionWiseResults (scores, counts) and "
                     "get_LesionWiseScores (per-lesion rows), NIfTI inputs with affine diag(spacing)",
        "repository": "github.com/rachitsaluja/BraTS-2023-Metrics", "commit": args.commit,
        "patches": "none: run with the pins of its requirements.txt",
        "seed": instance_cases.SEED,
        "versions": {p: importlib.metadata.version(p) for p in
                     ("numpy", "scipy", "pandas", "nibabel", "connected-components-3d")},
        "python": platform.python_version(),
        "cases": out,
    }
    instance_cases.write_json(OUT_JSON, doc)
    print("wrote", OUT_JSON, OUT_NPZ)


if __name__ == "__main__":
    main()
