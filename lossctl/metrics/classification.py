r"""Classification metrics (accuracy, precision, recall, f1) of N samples under each convention: the rows of the
registry's conventions tables for ``lossctl cls``.

Every metric reads hard predictions (:func:`hard_labels`): the argmax of (N, C) scores for categorical targets,
else ``p >= 0.5`` (probabilities) or ``x >= 0`` (logits, scores); torchmetrics thresholds strictly. The
sample-weighted confusion matrix of these labels is scored by the formulas of :mod:`lossctl.metrics.overlap`:

* a binary (or elementwise) task scores class 1: ``precision = TP/(TP+FP)``, ``recall = TP/(TP+FN)``,
  ``f1 = 2TP/(2TP+FP+FN)``, a 0/0 ratio being ``zero_division`` (0 by default);
* a categorical task takes the convention's macro mean over the classes (scikit-learn: the labels in the truth
  or the prediction; torchmetrics: the classes with TP+FP+FN > 0);
* ``accuracy = sum w [hard = y] / sum w``; torchmetrics' multiclass accuracy is the mean per-class recall.

:data:`TABLE` maps each metric to ``{convention: Impl}`` (see :mod:`lossctl.convention`); a pair missing from it
does not exist in that framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lossctl.convention import Impl, Param
from lossctl.inputs.cls import ClsInput
from lossctl.metrics import overlap


def hard_labels(x: ClsInput, strict: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(truth, prediction, sample weight) as flat integer labels of the counted samples, and whether the task is
    categorical. Hard predictions: the argmax of (N, C) for categorical targets; else ``p >= 0.5``
    (probabilities) or ``x >= 0`` (logits, scores), or strictly above with ``strict`` (torchmetrics)."""
    w = x.sample_weights
    if x.target_kind in ("index", "onehot", "soft"):
        truth = x.target if x.target.ndim == 1 else x.target.argmax(axis=1)
        keep = x.valid_samples()
        return truth[keep].astype(np.int64), x.pred.argmax(axis=1)[keep], w[keep], True
    valid = x.valid()
    cut = 0.5 if x.kind == "probs" else 0.0
    guess = (x.pred > cut) if strict else (x.pred >= cut)
    truth = x.target >= 0.5  # 0/1 (or soft: the rounded class)
    ww = w if x.pred.ndim == 1 else np.broadcast_to(w[:, None], x.pred.shape)
    return truth[valid].astype(np.int64), guess[valid].astype(np.int64), ww[valid], False


def _weighted_confusion(x: ClsInput, strict: bool = False) -> tuple[np.ndarray, bool]:
    """The (C, C) confusion matrix of :func:`hard_labels`, each sample counted by its weight (binary: 2 x 2), and
    whether the task is categorical."""
    truth, guess, w, categorical = hard_labels(x, strict)
    c = x.pred.shape[1] if categorical else 2
    cm = np.zeros((c, c))
    np.add.at(cm, (truth, guess), w)
    return cm, categorical


def _binary_or(per_class_fn: Callable[..., tuple[float, Any]], name: str, strict: bool = False,
               **fixed: Any) -> Callable[..., tuple[float, None]]:
    """A cls metric: class 1 of a binary (or elementwise) task, the convention's macro rule otherwise."""
    def compute(x: ClsInput, **params: Any) -> tuple[float, None]:
        cm, categorical = _weighted_confusion(x, strict)
        if not cm.sum():
            return float("nan"), None
        if categorical:
            return per_class_fn(cm, None, **params, **fixed)[0], None
        num, den = overlap.FORMULAS[name](*overlap.counts(cm))
        zero = params.get("zero_division", 0.0)
        zero = overlap.ZERO_DIVISION.get(zero, zero)
        return (float(num[1] / den[1]) if den[1] else float(zero)), None
    return compute


def _accuracy(macro: bool = False) -> Callable[..., tuple[float, None]]:
    def compute(x: ClsInput) -> tuple[float, None]:
        cm, categorical = _weighted_confusion(x, strict=macro)
        if not cm.sum():
            return float("nan"), None
        if macro and categorical:
            return overlap.torchmetrics_accuracy(cm)[0], None
        return float(np.trace(cm) / cm.sum()), None
    return compute


_ANY = frozenset({"probs", "logits", "scores"})
_NO_SOFT = frozenset({"binary", "index", "onehot", "multilabel"})
_SK_ZERO = Param("zero_division", "warn", "value of a 0/0 ratio (warn: 0)", kind="choice",
                 choices=("warn", "0", "1", "nan"))
_TM_ZERO = Param("zero_division", 0.0, "value of a 0/0 ratio", bounds=(0.0, 1.0))
_TM_OPTIONS = frozenset({"ignore_index"})
_HARD = ("hard predictions: argmax for categorical targets, p >= 0.5 (probabilities) / x >= 0 (logits) "
         "otherwise")


def _metric_rows(name: str) -> dict[str, Impl]:
    f = overlap.RATIOS[name]
    sk, sk_name, tm_name = overlap.sklearn_metric(name), overlap.SKLEARN_NAMES[name], overlap.TORCHMETRICS_NAMES[name]
    return {
        "lossctl": Impl(_binary_or(sk, name), f"{f}; binary: class 1; multiclass: macro over the classes in the "
                        f"truth or the prediction (0/0 = 0); {_HARD}; weighted",
                        f"sklearn.metrics.{sk_name}", inputs=_ANY, targets=_NO_SOFT,
                        options=frozenset({"weights", "ignore_index"})),
        "sklearn": Impl(_binary_or(sk, name), f"{sk_name}: binary average='binary' (class 1); "
                        "multiclass average='macro' over labels in y_true or y_pred; 0/0 = zero_division",
                        f"sklearn.metrics.{sk_name}(average='binary' | 'macro')", (_SK_ZERO,),
                        inputs=_ANY, targets=frozenset({"binary", "index", "onehot"}),
                        options=frozenset({"weights", "ignore_index"})),
        "torch": Impl(_binary_or(overlap.torchmetrics_metric(name), name, strict=True),
                      "torchmetrics binary_* (p > 0.5, strictly) / multiclass_*(average='macro'): classes with "
                      "TP+FP+FN = 0 get weight 0, other 0/0 = zero_division", f"torchmetrics.functional."
                      f"classification.{tm_name.replace('multiclass_', 'binary_')} / {tm_name}",
                      (_TM_ZERO,), inputs=_ANY, targets=frozenset({"binary", "index", "onehot"}),
                      options=_TM_OPTIONS),
    }


#: ``{metric: {convention: Impl}}``: every classification metric under every convention that has it.
TABLE: dict[str, dict[str, Impl]] = {
    "accuracy": {
        "lossctl": Impl(_accuracy(), f"sum w [hard = y] / sum w; {_HARD}", "sklearn.metrics.accuracy_score",
                        inputs=_ANY, targets=_NO_SOFT, options=frozenset({"weights", "ignore_index"})),
        "sklearn": Impl(_accuracy(), "accuracy_score(sample_weight)", "sklearn.metrics.accuracy_score",
                        inputs=_ANY, targets=frozenset({"binary", "index", "onehot"}),
                        options=frozenset({"weights", "ignore_index"})),
        "torch": Impl(_accuracy(macro=True), "binary_accuracy (p > 0.5) / multiclass_accuracy(average='macro'): "
                      "the mean per-class recall, not the fraction correct", "torchmetrics.functional."
                      "classification.binary_accuracy / multiclass_accuracy", inputs=_ANY,
                      targets=frozenset({"binary", "index", "onehot"}), options=_TM_OPTIONS),
    },
    **{name: _metric_rows(name) for name in ("precision", "recall", "f1")},
}
