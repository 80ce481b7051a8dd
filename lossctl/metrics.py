r"""Hard segmentation metrics from a confusion matrix (rows: ground truth, columns: prediction).

Every metric is a ratio of confusion counts per class ``c``:

.. math::

    \mathrm{dice}_c = \frac{2 TP_c}{2 TP_c + FP_c + FN_c}, \quad
    \mathrm{iou}_c = \frac{TP_c}{TP_c + FP_c + FN_c}, \quad
    \mathrm{precision}_c = \frac{TP_c}{TP_c + FP_c}, \quad
    \mathrm{recall}_c = \frac{TP_c}{TP_c + FN_c},

and pixel ``accuracy = sum_c TP_c / N_valid``. A ratio whose denominator is 0 (a class absent from both
masks for dice and iou; never predicted for precision; absent from the ground truth for recall) takes the
``empty`` value: NaN (default: left out of means and counted), 0 or 1. The value of an image is the mean over
the included classes of the per-class values; *pooled* values apply the same formulas to the confusion
matrix summed over all images.

>>> cm = np.array([[3, 1], [0, 2]])
>>> {k: v.round(4).tolist() for k, v in class_scores(cm).items()}["dice"]
[0.8571, 0.8]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from lossctl._numeric import nanmean, ratio

EmptyPolicy = Literal["nan", "zero", "one"]
EMPTY_VALUES: dict[str, float] = {"nan": float("nan"), "zero": 0.0, "one": 1.0}


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts of (ground truth, prediction) label pairs; labels must be in ``0..C-1``
    (:func:`lossctl.confusion.confusion_matrix`, the one builder)."""
    from lossctl.confusion import confusion_matrix as build

    return build(target, pred, num_classes)


def pad_confusion(cm: np.ndarray, num_classes: int) -> np.ndarray:
    """Grow ``cm`` with zero rows and columns to ``num_classes`` (classes an image never mentions)."""
    extra = num_classes - cm.shape[0]
    return cm if extra <= 0 else np.pad(cm, ((0, extra), (0, extra)))


def class_scores(cm: np.ndarray, empty: EmptyPolicy = "nan") -> dict[str, np.ndarray]:
    """Per-class dice, iou, precision and recall of a confusion matrix, each a (C,) float64 array."""
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    fill = EMPTY_VALUES[empty]
    return {
        "dice": ratio(2 * tp, 2 * tp + fp + fn, fill),
        "iou": ratio(tp, tp + fp + fn, fill),
        "precision": ratio(tp, tp + fp, fill),
        "recall": ratio(tp, tp + fn, fill),
    }


def pixel_accuracy(cm: np.ndarray) -> float:
    """``trace(cm) / sum(cm)``; NaN when there is no valid pixel."""
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def summarize(cm: np.ndarray, include: np.ndarray | None = None,
              empty: EmptyPolicy = "nan") -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Class-mean metrics and per-class vectors of one confusion matrix.

    ``include`` (C,) bool selects the classes that enter the means (all by default); per-class vectors keep
    every class. Returns ``(values, per_class)``.
    """
    per_class = class_scores(cm, empty)
    keep = np.ones(cm.shape[0], bool) if include is None else include[: cm.shape[0]]
    values = {name: nanmean(v[keep]) for name, v in per_class.items()}
    values["accuracy"] = pixel_accuracy(cm)
    return values, per_class
