r"""Hard metrics from a confusion matrix (rows: ground truth, columns: prediction), under each convention.

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

Each convention owns its definitions (:data:`TABLE`, read by the registry): which classes enter the class mean,
what a 0/0 ratio is, and how a dataset's value is formed from its images (see docs/conventions.md).
Every function takes ``(cm, include, **params)`` and returns ``(value, per_class)``; ``include`` (C,) bool is
the class set the user asked for (``--exclude-background``).

**Binary tasks.** The conventions that can report the foreground of a two-class run (lossctl, and scikit-learn's
``average='binary'``) take the run's averaging as the keyword ``average`` (:data:`AVERAGE_CONTEXT`, passed by the
engine, never a user parameter): ``"foreground"`` makes the value class 1's, ``"mean"`` the class mean.
The per-class vector is the same either way.

>>> cm = np.array([[3, 1], [0, 2]])
>>> {k: v.round(4).tolist() for k, v in class_scores(cm).items()}["dice"]
[0.8571, 0.8]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from lossctl._numeric import nanmean, ratio
from lossctl.convention import Impl, Param

EmptyPolicy = Literal["nan", "zero", "one"]
EMPTY_VALUES: dict[str, float] = {"nan": float("nan"), "zero": 0.0, "one": 1.0}


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


def region_scores(cm: np.ndarray, regions: list[tuple[int, ...]], empty: EmptyPolicy = "nan"
                  ) -> dict[str, np.ndarray]:
    """dice, iou, precision and recall of label unions (regions), each read as one binary class: TP counts
    pixels whose ground truth and prediction both lie in the region. Returns metric -> (R,) float64.

    >>> cm = np.array([[5, 1, 0], [0, 3, 1], [1, 0, 4]])
    >>> region_scores(cm, [(1, 2)])["dice"].round(4).tolist()
    [0.8889]
    """
    cm = np.asarray(cm, dtype=np.int64)
    out: dict[str, list[float]] = {}
    for labels in regions:
        for name, v in class_scores(region_matrix(cm, labels), empty).items():
            out.setdefault(name, []).append(float(v[1]))
    return {name: np.asarray(v, dtype=np.float64) for name, v in out.items()}


def region_matrix(cm: np.ndarray, labels: Sequence[int]) -> np.ndarray:
    """The 2x2 confusion matrix of a label union read as one binary class against the rest (row and column 1: the
    region; a "predicted no class" column lies outside every region).

    >>> region_matrix(np.array([[5, 1, 0], [0, 3, 1], [1, 0, 4]]), (1, 2)).tolist()
    [[5, 1], [1, 8]]
    """
    inside = np.zeros(cm.shape[0], dtype=bool)
    inside[[v for v in labels if v < cm.shape[0]]] = True
    tp = cm[np.ix_(inside, inside)].sum()
    fp = cm[np.ix_(~inside, inside)].sum()
    fn = cm[np.ix_(inside, ~inside)].sum()
    return np.array([[cm.sum() - tp - fp - fn, fp], [fn, tp]], dtype=cm.dtype)


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


# --- definitions under each convention -----------------------------------------------------------------------

Result = tuple[float, "np.ndarray | None"]
#: (numerator, denominator) of each per-class metric from (tp, fp, fn).
FORMULAS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]] = {
    "dice": lambda tp, fp, fn: (2 * tp, 2 * tp + fp + fn),
    "iou": lambda tp, fp, fn: (tp, tp + fp + fn),
    "precision": lambda tp, fp, fn: (tp, tp + fp),
    "recall": lambda tp, fp, fn: (tp, tp + fn),
}
FORMULAS["f1"] = FORMULAS["dice"]


def counts(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tp, fp, fn)`` per class, float64."""
    m = np.asarray(cm, dtype=np.float64)
    tp = np.diag(m).copy()
    return tp, m.sum(axis=0) - tp, m.sum(axis=1) - tp


def _keep(c: int, include: np.ndarray | None) -> np.ndarray:
    return np.ones(c, bool) if include is None else np.asarray(include[:c], bool)


def _masked_mean(per_class: np.ndarray, keep: np.ndarray) -> Result:
    """Mean of ``per_class`` over ``keep`` (NaN entries left out); the per-class vector keeps every class."""
    return nanmean(per_class[keep]), per_class


#: The context key that carries the averaging to the functions that take it (see the module docstring).
AVERAGE_CONTEXT = "average"


def _foreground(per_class: np.ndarray) -> float:
    """Class 1's value (NaN when there is no class 1)."""
    return float(per_class[1]) if per_class.shape[0] > 1 else float("nan")


def lossctl_metric(name: str) -> Callable[..., Result]:
    """lossctl: the ratio per class, 0/0 per ``empty``; the mean over the included classes (NaN left out), or
    class 1's value when ``average`` is ``"foreground"`` (a two-class run)."""
    formula = FORMULAS[name]

    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, empty: str = "nan",
                average: str = "mean") -> Result:
        num, den = formula(*counts(cm))
        per_class = ratio(num, den, EMPTY_VALUES[empty])
        if average == "foreground":
            return _foreground(per_class), per_class
        return _masked_mean(per_class, _keep(cm.shape[0], include))
    return compute


def accuracy(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
    """Pixel (or sample) accuracy ``trace / sum``, NaN when nothing is counted."""
    return pixel_accuracy(np.asarray(cm)), None


def monai_metric(name: str) -> Callable[..., Result]:
    """MONAI DiceMetric / MeanIoU: a class absent from the ground truth is NaN whatever was predicted
    (``ignore_empty=True``, the default); with ``ignore_empty=False`` it is 1 when the prediction is empty
    too, else 0. The image value is the mean over the included classes that are not NaN (MONAI's
    ``reduction='mean'``, first step); the dataset value is the mean over the images that have one."""
    formula = FORMULAS[name]

    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, ignore_empty: bool = True) -> Result:
        tp, fp, fn = counts(cm)
        num, den = formula(tp, fp, fn)
        truth = tp + fn
        nothing_predicted = (tp + fp) == 0
        absent = np.nan if ignore_empty else np.where(nothing_predicted, 1.0, 0.0)
        per_class = np.where(truth > 0, ratio(num, den, np.nan), absent)
        return _masked_mean(per_class, _keep(cm.shape[0], include))
    return compute


#: The value of a 0/0 ratio for each scikit-learn ``zero_division`` choice ("warn" gives 0 and warns).
ZERO_DIVISION = {"warn": 0.0, "0": 0.0, "1": 1.0, "nan": float("nan")}


def sklearn_metric(name: str) -> Callable[..., Result]:
    """scikit-learn ``*_score(average='macro')``: the mean over its ``labels`` (and included): ``"present"``,
    sklearn's ``labels=None``, the labels in the ground truth OR the prediction; ``"all"``, ``labels=range(C)``,
    every class of the run, so that a class absent from both masks counts as ``zero_division``. A 0/0 ratio is
    ``zero_division`` ("warn": 0, with a warning in sklearn; "nan": left out of the average). With ``average``
    ``"foreground"`` (a two-class run): ``average='binary'``, class 1's ratio (``labels=[pos_label]`` whatever
    ``labels`` says; 0/0 is ``zero_division``). The per-class vector holds the ratio of each of ``labels``
    (NaN for the other classes)."""
    formula = FORMULAS[name]

    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, zero_division: str = "warn",
                labels: str = "present", average: str = "mean") -> Result:
        tp, fp, fn = counts(cm)
        num, den = formula(tp, fp, fn)
        scores = ratio(num, den, ZERO_DIVISION[zero_division])
        chosen = np.ones(cm.shape[0], bool) if labels == "all" else (tp + fp + fn) > 0
        per_class = np.where(chosen, scores, np.nan)
        if average == "foreground":
            return _foreground(scores), per_class
        keep = chosen & _keep(cm.shape[0], include)
        if zero_division == "nan":  # sklearn leaves NaN classes out of the average
            return nanmean(per_class[keep]), per_class
        return (float(per_class[keep].mean()) if keep.any() else float("nan")), per_class
    return compute


def torchmetrics_metric(name: str) -> Callable[..., Result]:
    """torchmetrics ``multiclass_*(average='macro')``: a class with tp + fp + fn = 0 gets weight 0; any other
    0/0 is ``zero_division`` (0); the mean over the remaining included classes (0 when none remain, as
    torchmetrics' safe division gives; its Jaccard index gives NaN there)."""
    formula = FORMULAS[name]

    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, zero_division: float = 0.0) -> Result:
        tp, fp, fn = counts(cm)
        num, den = formula(tp, fp, fn)
        counted = (tp + fp + fn) > 0
        weight = counted & _keep(cm.shape[0], include)
        per_class = np.where(counted, ratio(num, den, zero_division), np.nan)
        if not weight.any():
            return (float("nan") if name == "iou" else 0.0), per_class
        return float(per_class[weight].mean()), per_class
    return compute


def torchmetrics_accuracy(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
    """torchmetrics ``multiclass_accuracy`` (default ``average='macro'``): the mean per-class recall
    ``tp / (tp + fn)`` over the classes with tp + fp + fn > 0: NOT the pixel accuracy."""
    return torchmetrics_metric("recall")(cm, include)


def nnunet_metric(name: str) -> Callable[..., Result]:
    """nnU-Net v2 ``compute_metrics``: NaN when tp + fp + fn = 0; the background (label 0) is never scored.
    The image value is the mean over the foreground classes that are not NaN (lossctl's reading: nnU-Net
    reports per class)."""
    formula = FORMULAS[name]

    def compute(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
        tp, fp, fn = counts(cm)
        num, den = formula(tp, fp, fn)
        keep = _keep(cm.shape[0], include).copy()
        keep[0] = False
        per_class = np.where((tp + fp + fn) > 0, ratio(num, den, np.nan), np.nan)
        return _masked_mean(per_class, keep)
    return compute


def nnunet_foreground_mean(per_class_rows: np.ndarray, include: np.ndarray | None = None) -> float:
    """nnU-Net's ``foreground_mean``: per class, the NaN-skipping mean over the images; then the plain mean over
    the foreground classes (NaN if a class is NaN in every image)."""
    rows = np.asarray(per_class_rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[0] == 0:
        return float("nan")
    keep = _keep(rows.shape[1], include).copy()
    keep[0] = False
    if not keep.any():
        return float("nan")
    means = [nanmean(rows[:, c]) for c in np.flatnonzero(keep)]
    return float(np.mean(means))


_EMPTY = Param("empty", "nan", "value of a 0/0 ratio (nan is left out of means and counted)", kind="choice",
               choices=("nan", "zero", "one"))
_IGNORE_EMPTY = Param("ignore_empty", True, "a class absent from the ground truth is NaN (False: 1 if also "
                      "not predicted, else 0)", kind="bool")
_SK_ZERO = Param("zero_division", "warn", "value of a 0/0 ratio (warn: 0)", kind="choice",
                 choices=("warn", "0", "1", "nan"))
_SK_ZERO_IOU = Param("zero_division", "warn", "value of a 0/0 ratio (warn: 0)", kind="choice",
                     choices=("warn", "0", "1"))
_SK_LABELS = Param("labels", "present", "the labels of the mean: present (labels=None: those in the ground truth or "
                   "the prediction) or all (labels=range(C)); all when the run's class count is given",
                   kind="choice", choices=("present", "all"))
_TM_ZERO = Param("zero_division", 0.0, "value of a 0/0 ratio of a class that is counted", bounds=(0.0, 1.0))
_LABELS = frozenset({"labels", "probs", "logits"})
#: Each metric's scikit-learn function, torchmetrics function and ratio of confusion counts, by name.
SKLEARN_NAMES = {"dice": "f1_score", "iou": "jaccard_score", "precision": "precision_score",
                 "recall": "recall_score", "f1": "f1_score"}
TORCHMETRICS_NAMES = {"dice": "multiclass_f1_score", "iou": "multiclass_jaccard_index",
                      "precision": "multiclass_precision", "recall": "multiclass_recall", "f1": "multiclass_f1_score"}
RATIOS = {"dice": "2TP/(2TP+FP+FN)", "iou": "TP/(TP+FP+FN)", "precision": "TP/(TP+FP)", "recall": "TP/(TP+FN)",
          "f1": "2TP/(2TP+FP+FN)"}


def _class_metric_rows(name: str) -> dict[str, Impl]:
    f = RATIOS[name]
    rows = {
        "lossctl": Impl(lossctl_metric(name), f"{f} per class, 0/0 per empty; per image, mean over the included "
                        "classes (NaN left out); a two-class run: class 1's value (average foreground); dataset: mean "
                        "over images; pooled: the summed confusion matrix",
                        f"scikit-learn {SKLEARN_NAMES[name]}(average=None); two classes: average='binary'", (_EMPTY,),
                        inputs=_LABELS, context=(AVERAGE_CONTEXT,)),
        "sklearn": Impl(sklearn_metric(name), f"{f}; macro over the labels (present: in the ground truth OR the "
                        "prediction; all: range(C)), 0/0 = zero_division; two classes: average='binary' (class 1); "
                        "per image, then mean over images",
                        f"sklearn.metrics.{SKLEARN_NAMES[name]}(average='macro' or 'binary')",
                        (_SK_ZERO_IOU if name == "iou" else _SK_ZERO, _SK_LABELS), inputs=_LABELS,
                        context=(AVERAGE_CONTEXT,)),
        "torch": Impl(torchmetrics_metric(name), f"{f}; macro over classes with TP+FP+FN > 0, other 0/0 = "
                      "zero_division; per image, then mean over images",
                      f"torchmetrics.functional.classification.{TORCHMETRICS_NAMES[name]}(average='macro')",
                      (_TM_ZERO,), inputs=_LABELS),
    }
    if name in ("dice", "iou"):
        rows["monai"] = Impl(monai_metric(name), f"{f}; a class absent from the ground truth is NaN even when "
                             "predicted (ignore_empty); per image nan-mean over classes, then mean over images "
                             "with a value", f"monai.metrics.{'DiceMetric' if name == 'dice' else 'MeanIoU'}"
                             "(reduction='mean')", (_IGNORE_EMPTY,), inputs=_LABELS)
        rows["nnunet"] = Impl(nnunet_metric(name), f"{f}, NaN when TP+FP+FN = 0, foreground classes only; "
                              "dataset: per class nan-mean over images, then the plain mean over classes "
                              "(foreground_mean)", "nnunetv2 evaluation compute_metrics_on_folder",
                              inputs=_LABELS, aggregate=nnunet_foreground_mean)
    return rows


#: ``{metric: {convention: Impl}}``: every confusion-matrix metric under every convention that defines it.
TABLE: dict[str, dict[str, Impl]] = {
    **{name: _class_metric_rows(name) for name in ("dice", "iou", "precision", "recall")},
    "accuracy": {
        "lossctl": Impl(accuracy, "sum_c TP_c / N over valid pixels", "sklearn.metrics.accuracy_score",
                        inputs=_LABELS),
        "sklearn": Impl(accuracy, "accuracy_score: sum_c TP_c / N", "sklearn.metrics.accuracy_score",
                        inputs=_LABELS),
        "torch": Impl(torchmetrics_accuracy, "multiclass_accuracy(average='macro'): the mean per-class recall over "
                      "classes with TP+FP+FN > 0 (not the pixel accuracy)",
                      "torchmetrics.functional.classification.multiclass_accuracy", inputs=_LABELS),
    },
}
