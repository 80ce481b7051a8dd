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
from dataclasses import replace
from typing import Any

import numpy as np

from lossctl._numeric import nanmean
from lossctl.convention import Impl, Param
from lossctl.inputs.cls import ClsInput
from lossctl.metrics import counting, overlap


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


# --- counting metrics (lossctl.metrics.counting) of the samples' confusion matrix ---------------------------------

def _counted(fn: Callable[..., tuple[float, Any]], strict: bool, averaged: bool) -> Callable[..., tuple[float, None]]:
    """A cls metric from a counting metric of :mod:`lossctl.metrics.counting`: the (weighted) confusion matrix of the
    hard predictions; a binary (or elementwise) task reports class 1 where the value is one-vs-rest (the 2 x 2
    matrix's own value where it is whole-matrix), a categorical task the class mean or the whole-matrix value."""
    def compute(x: ClsInput, **params: Any) -> tuple[float, None]:
        cm, categorical = _weighted_confusion(x, strict)
        if not cm.sum():
            return float("nan"), None
        average = {overlap.AVERAGE_CONTEXT: "mean" if categorical else "foreground"} if averaged else {}
        return float(fn(cm, None, **params, **average)[0]), None
    return compute


def _counting_rows(name: str) -> dict[str, Impl]:
    rows = {}
    for convention, impl in counting.TABLE[name].items():
        torch = convention == "torch"
        rows[convention] = replace(
            impl, fn=_counted(impl.fn, torch, overlap.AVERAGE_CONTEXT in impl.context), definition=f"{impl.definition}; {_HARD}; binary: class 1",
            inputs=_ANY, targets=frozenset({"binary", "index", "onehot"}) if convention != "lossctl" else _NO_SOFT,
            options=frozenset({"weights", "ignore_index"}) if convention in ("lossctl", "sklearn") else _TM_OPTIONS,
            context=())
    return rows


# --- ranking metrics: AUROC and average precision of the scores --------------------------------------------------

def ranking_curve(truth: np.ndarray, score: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulated (weighted) true and false positives at each distinct score, from the highest down: tied scores
    form one threshold (scikit-learn's ``_binary_clf_curve``, torchmetrics' too)."""
    order = np.argsort(-score, kind="mergesort")
    s, y, w = score[order], truth[order].astype(np.float64), weight[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(s)), s.size - 1]
    return np.cumsum(w * y)[last], np.cumsum(w * (1.0 - y))[last]


def auroc(truth: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """The area under the ROC curve by the trapezoid rule (ties: half a pair); NaN without a positive or a
    negative."""
    tps, fps = ranking_curve(truth, score, weight)
    if not tps.size or tps[-1] <= 0 or fps[-1] <= 0:
        return float("nan")
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def average_precision(truth: np.ndarray, score: np.ndarray, weight: np.ndarray) -> float:
    """``sum_k (R_k - R_{k-1}) P_k`` over the distinct thresholds (no interpolation); NaN without a positive."""
    tps, fps = ranking_curve(truth, score, weight)
    if not tps.size or tps[-1] <= 0:
        return float("nan")
    return float(np.sum(np.diff(np.r_[0.0, tps]) * tps / (tps + fps)) / tps[-1])


def _scores(x: ClsInput, softmax: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(truth, scores, weights) of the counted samples and whether the task is categorical: the (N,) scores of a
    binary task as given (a logit ranks as its sigmoid), the (N, C) scores of a categorical one (logits through a
    softmax when ``softmax``)."""
    if x.target_kind in ("index", "onehot"):
        keep = x.valid_samples()
        truth = x.target if x.target.ndim == 1 else x.target.argmax(axis=1)
        score = np.exp(x.log_softmax) if softmax and x.kind == "logits" else np.asarray(x.pred, dtype=np.float64)
        return truth[keep].astype(np.int64), score[keep], x.sample_weights[keep], True
    keep = x.valid()
    return ((x.target >= 0.5)[keep].astype(np.int64), np.asarray(x.pred, dtype=np.float64)[keep],
            x.sample_weights[keep], False)


Ranker = Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _lossctl_ranking(rank: Ranker) -> Callable[..., tuple[float, None]]:
    """lossctl: binary, the value of the scores; categorical, the one-vs-rest mean over the classes (each class's
    value against the others); an undefined value (a class with no positive, or for auroc no negative) is
    ``empty`` (nan: left out of the mean, and the run's value undefined when every class is)."""
    def compute(x: ClsInput, *, empty: str = "nan") -> tuple[float, None]:
        truth, score, w, categorical = _scores(x, softmax=True)
        fill = overlap.EMPTY_VALUES[empty]
        if not categorical:
            value = rank(truth, score, w)
            return (fill if np.isnan(value) else value), None
        per_class = np.array([rank(truth == c, score[:, c], w) for c in range(score.shape[1])])
        return nanmean(np.where(np.isnan(per_class), fill, per_class)), None
    return compute


def _sklearn_ranking(rank: Ranker, no_positive: float) -> Callable[..., tuple[float, None]]:
    """scikit-learn: binary, its value (roc_auc_score: NaN with one class; average_precision_score: 0.0 without a
    positive); two columns, the binary value of column 1 (scikit-learn raises for a 2-D score of a binary task,
    and documents the score of the greater label as the binary one: ``score[:, 1]``); multiclass, the macro mean
    over the C columns, undefined (NaN: it raises) unless every class occurs in the truth."""
    def compute(x: ClsInput) -> tuple[float, None]:
        truth, score, w, categorical = _scores(x, softmax=False)
        if categorical and score.shape[1] == 2:
            truth, score, categorical = (truth == 1).astype(np.int64), score[:, 1], False
        if not categorical:
            value = rank(truth, score, w)
            return (no_positive if np.isnan(value) and not (truth * w).sum() else value), None
        c = score.shape[1]
        if np.unique(truth).size != c:
            return float("nan"), None
        return float(np.mean([rank(truth == k, score[:, k], w) for k in range(c)])), None
    return compute


def _torch_ranking(auc: bool) -> Callable[..., tuple[float, None]]:
    """torchmetrics: a score outside [0, 1] goes through a sigmoid (binary) or a softmax (multiclass); binary
    AUROC with one class is 0, binary AP without a positive 0; multiclass, the macro mean over the C classes,
    an AUROC of a class without a positive or a negative being 0, an AP of a class without a positive left
    out."""
    def compute(x: ClsInput) -> tuple[float, None]:
        truth, score, w, categorical = _scores(x, softmax=True)
        rank = auroc if auc else average_precision
        if not categorical:
            value = rank(truth, score, w)
            return (0.0 if np.isnan(value) else value), None
        per_class = np.array([rank(truth == k, score[:, k], w) for k in range(score.shape[1])])
        return (float(np.nan_to_num(per_class, nan=0.0).mean()) if auc else nanmean(per_class)), None
    return compute


_RANK_TARGETS = frozenset({"binary", "index", "onehot"})
_SCORES = ("scores: the (N,) scores of a binary task, each column of (N, C) one-vs-rest (logits through a "
           "softmax); ties form one threshold")
_RANK_EMPTY = Param("empty", "nan", "value of an undefined case (one class only; nan is left out of the class mean "
                    "and counted)", kind="choice", choices=("nan", "zero", "one"))
RANKING: dict[str, dict[str, Impl]] = {
    "auroc": {
        "lossctl": Impl(_lossctl_ranking(auroc), f"area under the ROC curve (trapezoids); {_SCORES}; multiclass: "
                        "one-vs-rest mean over the classes; no positive or no negative = empty",
                        "sklearn.metrics.roc_auc_score(multi_class='ovr', average='macro')", (_RANK_EMPTY,),
                        inputs=_ANY, targets=_RANK_TARGETS,
                        options=frozenset({"weights", "ignore_index"})),
        "sklearn": Impl(_sklearn_ranking(auroc, float("nan")), "roc_auc_score: binary (one class: NaN, with a "
                        "warning); two columns: column 1's binary value; multiclass ovr macro over the columns of probabilities (a class absent from the "
                        "truth: NaN, it raises); probabilities only (it refuses multiclass rows that do not sum to 1)",
                        "sklearn.metrics.roc_auc_score(multi_class='ovr')", inputs=frozenset({"probs"}), targets=_RANK_TARGETS,
                        options=frozenset({"weights", "ignore_index"})),
        "torch": Impl(_torch_ranking(True), "AUROC: binary (one class: 0); multiclass macro over the C classes, a "
                      "class without a positive or a negative counting 0; logits through a sigmoid / softmax",
                      "torchmetrics.classification.AUROC", inputs=_ANY, targets=_RANK_TARGETS, options=_TM_OPTIONS),
    },
    "ap": {
        "lossctl": Impl(_lossctl_ranking(average_precision), f"sum_k (R_k - R_k-1) P_k; {_SCORES}; multiclass: "
                        "one-vs-rest mean over the classes; no positive = empty",
                        "sklearn.metrics.average_precision_score(average='macro')", (_RANK_EMPTY,), inputs=_ANY,
                        targets=_RANK_TARGETS, options=frozenset({"weights", "ignore_index"})),
        "sklearn": Impl(_sklearn_ranking(average_precision, 0.0), "average_precision_score: binary (no positive: "
                        "0.0, with a warning); two columns: column 1's binary value; multiclass macro over the columns (a class absent from the truth: "
                        "NaN, it raises)", "sklearn.metrics.average_precision_score", inputs=_ANY,
                        targets=_RANK_TARGETS, options=frozenset({"weights", "ignore_index"})),
        "torch": Impl(_torch_ranking(False), "AveragePrecision: binary (no positive: 0); multiclass macro over the "
                      "classes with a positive; logits through a sigmoid / softmax",
                      "torchmetrics.classification.AveragePrecision", inputs=_ANY, targets=_RANK_TARGETS,
                      options=_TM_OPTIONS),
    },
}
TABLE.update({name: _counting_rows(name) for name in counting.TABLE})
TABLE.update(RANKING)
