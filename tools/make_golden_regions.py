#!/usr/bin/env python
"""Golden values for a region-based nnU-Net dataset: the mean over its regions (lossctl's ``region_mean``).

Computed by nnU-Net v2 itself, run in the reference venv (``make golden``; ``make refenv`` builds it):

* the regions come from nnU-Net's ``LabelManager`` (``nnunetv2/utilities/label_handling/label_handling.py``,
  loaded by path from the wheel) built from each case's ``dataset.json`` labels: ``foreground_regions`` when it
  ``has_regions``, else ``foreground_labels``, and ``ignore_label``, exactly what nnU-Net's own
  ``compute_metrics_on_folder2`` passes to the evaluator;
* the values come from ``compute_metrics_on_folder`` (``nnunetv2/evaluation/evaluate_predictions.py``, loaded as
  ``make_golden_conventions.py`` loads it): ``foreground_mean`` (the mean over the regions of each region's mean
  over the cases: the headline), ``mean`` per region, and the per-case values of every region.

It writes ``tests/golden/regions.json`` (cases: the dataset.json labels, the regions nnU-Net evaluates, the
expected values, the reference call, library versions) and ``tests/golden/regions_inputs.npz`` (``<id>/pred``,
``<id>/gt``: (B, H, W) uint8 label images). It never imports lossctl. NaN (a region no case has) is stored as
null: nnU-Net's headline is then NaN too.
"""

from __future__ import annotations

import sys
import tempfile
import types
import warnings
import zipfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

SEED = 20261217
RNG = np.random.default_rng(SEED)
COMMAND = "make golden (tools/make_golden_regions.py in the reference venv)"
warnings.filterwarnings("ignore")  # "Mean of empty slice": a region no case has is NaN, as nnU-Net reports it

NNUNET_WHEEL, NNUNET_VERSION, NNUNET = references.load_nnunet_evaluation()
VERSIONS = {**references.versions(("numpy", "torch"), ""), "nnunetv2": NNUNET_VERSION}

CASES: list[dict] = []
ARRAYS: dict[str, np.ndarray] = {}


def load_label_manager():
    """nnU-Net's ``LabelManager``, loaded by path from the wheel. Its module imports acvl_utils (cropping) and
    nnU-Net's class finder and softmax helper, none of which deciding the regions uses: they are stubbed."""
    root = Path(tempfile.mkdtemp(prefix="nnunetv2_labels_"))
    path = "nnunetv2/utilities/label_handling/label_handling.py"
    with zipfile.ZipFile(NNUNET_WHEEL) as zf:
        zf.extract(path, root)
    for name in ("acvl_utils", "acvl_utils.cropping_and_padding", "nnunetv2.utilities.label_handling"):
        references.stub_package(name, [])
    stubs = {"acvl_utils.cropping_and_padding.bounding_boxes": {"insert_crop_into_image": None},
             "nnunetv2.utilities.find_class_by_name": {"recursive_find_python_class": None},
             "nnunetv2.utilities.helpers": {"softmax_helper_dim0": None}}
    for name, attrs in stubs.items():
        mod = types.ModuleType(name)
        mod.__dict__.update(attrs)
        sys.modules[name] = mod
    return references.load_module("nnunetv2.utilities.label_handling.label_handling", str(root / path)).LabelManager


LabelManager = load_label_manager()


def none_if_nan(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def label_images(b, c, shape=(16, 18), frac_right=0.65):
    gt = RNG.integers(0, c, size=(b, *shape))
    pred = np.where(RNG.random(gt.shape) < frac_right, gt, RNG.integers(0, c, size=gt.shape))
    return pred.astype(np.uint8), gt.astype(np.uint8)


def add(case_id: str, labels: dict, pred: np.ndarray, gt: np.ndarray, description: str) -> None:
    order = list(range(1, 1 + sum(1 for k, v in labels.items() if k != "ignore" and v != 0)))
    manager = LabelManager(labels, regions_class_order=order if any(isinstance(v, list) for v in labels.values())
                           else None)
    regions = manager.foreground_regions if manager.has_regions else manager.foreground_labels
    result = NNUNET.run(pred, gt, regions, manager.ignore_label)
    names = [k for k, v in labels.items() if k != "ignore" and v != 0]  # the regions, by their labels' names
    assert len(names) == len(regions) or not manager.has_regions, (names, regions)
    expected = {
        key: {"foreground_mean": none_if_nan(result["foreground_mean"][key]),
              "region_means": [none_if_nan(result["mean"][r][key]) for r in regions],
              "per_case": [[none_if_nan(case["metrics"][r][key]) for r in regions]
                           for case in result["metric_per_case"]]}
        for key in ("Dice", "IoU")}
    ARRAYS[f"{case_id}/pred"], ARRAYS[f"{case_id}/gt"] = pred, gt
    CASES.append({
        "id": case_id, "description": description, "labels": labels, "has_regions": bool(manager.has_regions),
        "regions": [list(r) if isinstance(r, tuple) else [int(r)] for r in regions],
        "region_names": names if manager.has_regions else [], "ignore_label": manager.ignore_label,
        "expected": expected,
        "reference": "LabelManager(labels, regions_class_order).foreground_regions (has_regions) and ignore_label; "
                     "nnunetv2.evaluation.evaluate_predictions.compute_metrics_on_folder(regions, ignore_label): "
                     "['foreground_mean'][key], ['mean'][region][key], ['metric_per_case'][i]['metrics'][region][key]",
    })


def main():
    pred, gt = label_images(3, 4)
    gt[0][gt[0] == 3] = 0  # no cyst in image 0, on either side: undefined there, left out of its mean
    pred[0][pred[0] == 3] = 0
    add("01-liver_lesion", {"background": 0, "liver": 1, "tumor": 2, "cyst": 3, "lesion": [2, 3]}, pred, gt,
        "the issue's dataset: named classes and one list-valued region; image 0 has no cyst")
    pred, gt = label_images(4, 4, shape=(14, 15))
    void = RNG.random(gt.shape) < 0.1
    gt = np.where(void, 4, gt).astype(np.uint8)
    gt[1][np.isin(gt[1], (2, 3))] = 0  # no tumour core in image 1's ground truth
    add("02-brats_ignore", {"background": 0, "whole_tumor": [1, 2, 3], "tumor_core": [2, 3], "enhancing": 3,
                            "ignore": 4}, pred, gt,
        "BraTS-style regions with nnU-Net's ignore label (4, 10% of the pixels): labels 1 and 2 have no name")
    pred, gt = label_images(2, 3, shape=(9, 10))
    gt[gt == 2] = 1
    pred[pred == 2] = 1  # label 2 occurs nowhere: its region's mean is NaN, and so is nnU-Net's headline
    add("03-region_never_present", {"background": 0, "organ": 1, "lesion": 2, "any": [1, 2]}, pred, gt,
        "label 2 occurs in no image: nnU-Net's foreground_mean is NaN (lossctl: null)")
    doc = {"generated_by": "tools/make_golden_regions.py", "command": COMMAND, "seed": SEED, "versions": VERSIONS,
           "nnunet_wheel": Path(NNUNET_WHEEL).name, "cases": CASES}
    references.write_golden(references.GOLDEN_DIR, "regions_inputs.npz", ARRAYS, "regions.json", doc)
    print(f"{len(CASES)} cases written")


if __name__ == "__main__":
    main()
