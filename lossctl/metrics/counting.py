r"""Counting metrics of a confusion matrix (rows: ground truth, columns: prediction), under each convention:
the Metrics Reloaded list that dice, iou, precision and recall (:mod:`lossctl.metrics.overlap`) do not cover.

Per class ``c``, one-vs-rest counts ``TP, FP, FN, TN`` (``TN = N - TP - FP - FN``, ``N`` the valid pixels or
samples), sensitivity ``Se = TP/(TP+FN)`` and specificity ``Sp = TN/(TN+FP)``:

* ``specificity = TN/(TN+FP)``; ``npv = TN/(TN+FN)``;
* ``fbeta = (1+b^2) TP / ((1+b^2) TP + b^2 FN + FP)`` (``beta`` >= 0; b = 1 is dice, b = 0 precision);
* ``youden = Se + Sp - 1`` (in [-1, 1]); ``lr_plus = Se / (1 - Sp) = TP (TN+FP) / (FP (TP+FN))``;
* ``net_benefit = TP/N - ER FP/N`` (``exchange_rate`` ER, 1 by default: Vickers et al. 2016);
* ``avd = |V_P - V_R| = |FP - FN| x voxel volume`` (a volume: mm^3 with a spacing, else voxels);
  ``rvd = (V_P - V_R) / V_R = (FP - FN) / (TP + FN)``: **signed**, positive when the prediction is larger;
  MetricsReloaded's AVDR is ``|rvd|``;
* the one-vs-rest ``mcc``, ``kappa`` (and ``weighted_kappa``: with two classes the linear and quadratic weights
  are both ``1 - I``, so it equals ``kappa``), ``balanced_accuracy = (Se + Sp)/2`` and ``expected_cost =
  2 - Se - Sp`` (MetricsReloaded's normalised binary cost with its default costs).

The value of an image (or of a classification run) is either

* **whole-matrix** (``mcc``, ``kappa``, ``weighted_kappa``, ``balanced_accuracy``, ``expected_cost``): computed
  from the whole C x C matrix as scikit-learn computes it on the label vectors, never a class mean: MCC is
  Gorodkin's R_K ``(N tr - t.p) / sqrt((N^2 - p.p)(N^2 - t.t))`` (``t``, ``p``: the true and predicted counts per
  class); kappa ``1 - sum(w CM) / sum(w E)`` with ``E = outer(t, p) / N`` and ``w = 1 - I`` (unweighted),
  ``|i - j|`` (linear) or ``(i - j)^2`` (quadratic); balanced accuracy the mean recall over the classes;
  expected cost MetricsReloaded's normalised one ``(1 - BA) K / (K - 1)`` over the K classes of that mean.
  ``--exclude-background`` does not apply to them (as to ``accuracy``);
* or **one-vs-rest** (the others): the rule of dice, the mean over the included classes (undefined entries left
  out), or class 1's value for a two-class run (``average`` ``"foreground"``).

**Undefined cases.** Under ``lossctl`` every undefined ratio (a 0/0; for ``lr_plus`` also FP = 0; for ``rvd``
an empty reference, V_R = 0) takes the ``empty`` value (``--empty``: NaN by default, left out of class means and
counted in ``summary.undefined``); a whole-matrix value is undefined when its denominator is 0 (MCC: one class in
the truth or the prediction; kappa: chance agreement 1; balanced accuracy: no class in the truth; expected cost:
fewer than two). Every other convention keeps its reference's own value (the registry rows say which).

Every function takes ``(cm, include, **params)`` and returns ``(value, per_class)`` (the seg metric family).

>>> cm = np.array([[5, 1], [2, 4]])
>>> round(TABLE["mcc"]["lossctl"].fn(cm)[0], 4), TABLE["specificity"]["lossctl"].fn(cm)[1].round(4).tolist()
(0.5071, [0.6667, 0.8333])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lossctl._numeric import nanmean
from lossctl.convention import Impl, Param
from lossctl.metrics.overlap import (AVERAGE_CONTEXT, EMPTY_VALUES, ZERO_DIVISION, Result, _SK_LABELS, _foreground,
                                     _keep)

NAN = float("nan")
#: The context key that carries an image's voxel volume (the product of its spacing; 1.0 without one) to avd.
VOLUME_CONTEXT = "voxel_volume"


def _div(num: Any, den: Any) -> np.ndarray:
    """``num / den`` in float64, NaN where ``den`` is 0 (undefined)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, NAN)
    np.divide(num, den, out=out, where=den != 0)
    return out


def one_vs_rest(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(TP, FP, FN, TN)`` of each class against the others, float64."""
    m = np.asarray(cm, dtype=np.float64)
    tp = np.diag(m).copy()
    fp, fn = m.sum(axis=0) - tp, m.sum(axis=1) - tp
    return tp, fp, fn, m.sum() - tp - fp - fn


# --- per-class (one-vs-rest) definitions: NaN where undefined ---------------------------------------------------

def _sensitivity(tp, fp, fn, tn):  # noqa: ANN001, ANN202 (the counts of one_vs_rest)
    return _div(tp, tp + fn)


def _specificity(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return _div(tn, tn + fp)


def _npv(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return _div(tn, tn + fn)


def _youden(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return _sensitivity(tp, fp, fn, tn) + _specificity(tp, fp, fn, tn) - 1.0


def _balanced(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return (_sensitivity(tp, fp, fn, tn) + _specificity(tp, fp, fn, tn)) / 2.0


def _cost(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return 2.0 - _sensitivity(tp, fp, fn, tn) - _specificity(tp, fp, fn, tn)


def _lr_plus(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    """``TP (TN + FP) / (FP (TP + FN))``: undefined without a positive in the truth or without a false positive
    (scikit-learn's class_likelihood_ratios and MetricsReloaded agree on this set)."""
    return _div(tp * (tn + fp), np.where(tp + fn > 0, fp * (tp + fn), 0.0))


def _fbeta(tp, fp, fn, tn, *, beta: float = 1.0):  # noqa: ANN001, ANN202
    b2 = beta * beta
    return _div((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)


def _binary_mcc(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return _div(tp * tn - fp * fn, np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)))


def _binary_kappa(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    """Cohen's kappa of the 2 x 2 matrix: ``2 (TP TN - FP FN) / ((TP+FP)(FP+TN) + (TP+FN)(FN+TN))``."""
    return _div(2 * (tp * tn - fp * fn), (tp + fp) * (fp + tn) + (tp + fn) * (fn + tn))


def _net_benefit(tp, fp, fn, tn, *, exchange_rate: float = 1.0):  # noqa: ANN001, ANN202
    return _div(tp - exchange_rate * fp, tp + fp + fn + tn)


def _avd(tp, fp, fn, tn, *, voxel_volume: float = 1.0):  # noqa: ANN001, ANN202
    return np.abs(fp - fn) * float(voxel_volume)


def _rvd(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return _div(fp - fn, tp + fn)


# --- whole-matrix definitions -------------------------------------------------------------------------------------

def gorodkin_mcc(cm: np.ndarray) -> float:
    """Gorodkin's R_K of the whole matrix (NaN when ``(N^2 - p.p)(N^2 - t.t)`` is 0)."""
    m = np.asarray(cm, dtype=np.float64)
    t, p, n = m.sum(axis=1), m.sum(axis=0), m.sum()
    den = (n * n - p @ p) * (n * n - t @ t)
    return float((np.trace(m) * n - t @ p) / np.sqrt(den)) if den > 0 else NAN


def kappa_weights(c: int, weights: str = "none") -> np.ndarray:
    """The C x C disagreement weights: ``1 - I`` (none), ``|i - j|`` (linear), ``(i - j)^2`` (quadratic)."""
    i = np.arange(c, dtype=np.float64)
    d = i[:, None] - i[None, :]
    return {"none": (d != 0).astype(np.float64), "linear": np.abs(d), "quadratic": d * d}[weights]


def cohen_kappa(cm: np.ndarray, weights: str = "none") -> float:
    """``1 - sum(w CM) / sum(w E)``, ``E = outer(t, p) / N``; NaN when ``sum(w E)`` (or N) is 0."""
    m = np.asarray(cm, dtype=np.float64)
    n = m.sum()
    if not n:
        return NAN
    w = kappa_weights(m.shape[0], weights)
    expected = np.outer(m.sum(axis=1), m.sum(axis=0)) / n
    den = float((w * expected).sum())
    return 1.0 - float((w * m).sum()) / den if den else NAN


def _recalls(cm: np.ndarray) -> np.ndarray:
    m = np.asarray(cm, dtype=np.float64)
    return _div(np.diag(m), m.sum(axis=1))


def _present(cm: np.ndarray) -> np.ndarray:
    """scikit-learn's ``labels=None``: the classes in the truth or the prediction."""
    m = np.asarray(cm)
    return (m.sum(axis=0) + m.sum(axis=1)) > 0


# --- the conventions ------------------------------------------------------------------------------------------------

PerClass = Callable[..., np.ndarray]


def _fill(v: np.ndarray | float, empty: str) -> Any:
    """``v`` with its undefined (NaN) entries set to the ``empty`` policy's value."""
    fill = EMPTY_VALUES[empty]
    if isinstance(v, np.ndarray):
        return np.where(np.isnan(v), fill, v)
    return fill if np.isnan(v) else v


def _class_rule(per_class: np.ndarray, include: np.ndarray | None, average: str) -> float:
    """The rule of dice: class 1's value (a two-class run, ``average`` foreground), else the mean over the included
    classes with undefined entries left out."""
    if average == "foreground":
        return _foreground(per_class)
    return nanmean(per_class[_keep(per_class.shape[0], include)])


def lossctl_one_vs_rest(definition: PerClass) -> Callable[..., Result]:
    """lossctl: ``definition`` per class, undefined = ``empty``; the image value by the rule of dice."""
    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, empty: str = "nan", average: str = "mean",
                **params: Any) -> Result:
        per_class = _fill(definition(*one_vs_rest(cm), **params), empty)
        return _class_rule(per_class, include, average), per_class
    return compute


def lossctl_whole(whole: Callable[..., float], per_class: PerClass) -> Callable[..., Result]:
    """lossctl: the whole-matrix value and the one-vs-rest per-class entries, undefined = ``empty``."""
    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, empty: str = "nan", **params: Any) -> Result:
        return _fill(whole(cm, empty=empty, **params), empty), _fill(per_class(*one_vs_rest(cm)), empty)
    return compute


def _lossctl_mcc(cm: np.ndarray, empty: str = "nan") -> float:
    return gorodkin_mcc(cm)


def _lossctl_kappa(cm: np.ndarray, empty: str = "nan", weights: str = "none") -> float:
    return cohen_kappa(cm, weights)


def _lossctl_balanced(cm: np.ndarray, empty: str = "nan") -> float:
    """The mean recall over the classes, a class absent from the truth (0/0) taking ``empty`` (NaN: left out)."""
    return nanmean(_fill(_recalls(cm), empty))


def _lossctl_cost(cm: np.ndarray, empty: str = "nan") -> float:
    """``(1 - BA) K / (K - 1)`` over the K classes whose recall enters the balanced accuracy."""
    recalls = _fill(_recalls(cm), empty)
    k = int((~np.isnan(recalls)).sum())
    return (1.0 - nanmean(recalls)) * k / (k - 1) if k > 1 else NAN


# scikit-learn ------------------------------------------------------------------------------------------------------

def _sk_binary_mcc(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return np.nan_to_num(_binary_mcc(tp, fp, fn, tn), nan=0.0)


def _sk_mcc(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
    """matthews_corrcoef: R_K, 0.0 when its denominator is 0; per class the binary one (0.0 likewise)."""
    value = gorodkin_mcc(cm)
    return (0.0 if np.isnan(value) and np.asarray(cm).sum() else value), _sk_binary_mcc(*one_vs_rest(cm))


def _sk_kappa(weights: str | None) -> Callable[..., Result]:
    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, labels: str = "present",
                weights: str = weights or "none") -> Result:
        """cohen_kappa_score: over its labels (present: the classes in either vector, re-indexed 0..K-1, so
        that the linear and quadratic weights count positions among them; all: range(C)); undefined: NaN
        (replace_undefined_by)."""
        m = np.asarray(cm)
        if labels == "present":
            keep = _present(m)
            m = m[np.ix_(keep, keep)]
        return cohen_kappa(m, weights), _binary_kappa(*one_vs_rest(cm))
    return compute


def _sk_balanced(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
    """balanced_accuracy_score: the mean recall over the classes in the truth (those only predicted: NaN, dropped
    with a warning); per class the binary score (the mean of the defined Se and Sp)."""
    tp, fp, fn, tn = one_vs_rest(cm)
    per_class = np.nanmean(np.stack([_sensitivity(tp, fp, fn, tn), _specificity(tp, fp, fn, tn)]), axis=0) \
        if np.asarray(cm).sum() else np.full(tp.shape, NAN)
    return nanmean(_recalls(cm)), per_class


def _sk_fbeta(cm: np.ndarray, include: np.ndarray | None = None, *, beta: float = 1.0,
              zero_division: str = "warn", labels: str = "present", average: str = "mean") -> Result:
    """fbeta_score(average='macro' over labels, or 'binary': class 1), 0/0 = zero_division."""
    tp, fp, fn, tn = one_vs_rest(cm)
    scores = _fbeta(tp, fp, fn, tn, beta=beta)
    zero = ZERO_DIVISION[zero_division]
    scores = np.where(np.isnan(scores), zero, scores)
    chosen = np.ones(tp.shape, bool) if labels == "all" else _present(cm)
    per_class = np.where(chosen, scores, NAN)
    if average == "foreground":
        return _foreground(scores), per_class
    keep = chosen & _keep(tp.shape[0], include)
    if zero_division == "nan":
        return nanmean(per_class[keep]), per_class
    return (float(per_class[keep].mean()) if keep.any() else NAN), per_class


# torchmetrics ------------------------------------------------------------------------------------------------------

_F32_EPS = float(np.finfo(np.float32).eps)


def torch_binary_mcc(tn: float, fp: float, fn: float, tp: float) -> float:
    """torchmetrics' ``_matthews_corrcoef_reduce`` of a 2 x 2 matrix, with its special cases: 1 when every sample
    is right, -1 when every one is wrong, and a denominator of 0 replaced by its eps-smoothed form."""
    if tp + tn != 0 and fp + fn == 0:
        return 1.0
    if tp + tn == 0 and fp + fn != 0:
        return -1.0
    s = tp + fp + fn + tn
    num = (tp + tn) * s - ((tp + fn) * (tp + fp) + (tn + fp) * (tn + fn))
    den = (s * s - (tp + fp) ** 2 - (tn + fn) ** 2) * (s * s - (tp + fn) ** 2 - (tn + fp) ** 2)
    if den != 0:
        return float(num / np.sqrt(den))
    eps, root = _F32_EPS, np.sqrt(_F32_EPS)
    if fn == 0 and tn == 0:
        num = root * (tp - fp)
    elif fp == 0 and tn == 0:
        num = root * (tp - fn)
    elif tp == 0 and fn == 0:
        num = root * (tn - fp)
    elif tp == 0 and fp == 0:
        num = root * (tn - fn)
    elif tp == 0:
        num = tn - fp * fn
    elif tn == 0:
        num = tp - fp * fn
    elif fp == 0 or fn == 0:
        num = tp * tn
    else:
        return 0.0
    return float(num / np.sqrt((tp + fp + eps) * (tp + fn + eps) * (tn + fp + eps) * (tn + fn + eps)))


def _torch_mcc(cm: np.ndarray, include: np.ndarray | None = None) -> Result:
    """MatthewsCorrCoef: R_K (0 when its denominator is 0); a 2 x 2 matrix takes the binary special cases; per
    class the binary one of the one-vs-rest matrix."""
    m = np.asarray(cm, dtype=np.float64)
    tp, fp, fn, tn = one_vs_rest(m)
    per_class = np.array([torch_binary_mcc(*counts) for counts in zip(tn, fp, fn, tp, strict=True)])
    if m.shape == (2, 2):
        return torch_binary_mcc(m[0, 0], m[0, 1], m[1, 0], m[1, 1]), per_class
    value = gorodkin_mcc(m)
    return (0.0 if np.isnan(value) else value), per_class


def _torch_kappa(weights: str | None) -> Callable[..., Result]:
    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, weights: str = weights or "none") -> Result:
        """CohenKappa over the C classes (0/0: NaN, as its division gives)."""
        return cohen_kappa(cm, weights), _binary_kappa(*one_vs_rest(cm))
    return compute


# MetricsReloaded ---------------------------------------------------------------------------------------------------

def _mr_npv(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    """negative_predictive_value: nothing predicted negative is 0 when the truth has a negative, else NaN."""
    return np.where(tn + fn == 0, np.where(fp > 0, 0.0, NAN), _div(tn, tn + fn))


def _mr_fbeta(tp, fp, fn, tn, *, beta: float = 1.0):  # noqa: ANN001, ANN202
    """fbeta: 1 when TP = FP = FN = 0 (nothing to find, nothing found)."""
    return np.where(tp + fp + fn == 0, 1.0, _fbeta(tp, fp, fn, tn, beta=beta))


def _mr_avdr(tp, fp, fn, tn):  # noqa: ANN001, ANN202
    return np.abs(_rvd(tp, fp, fn, tn))


def mr_one_vs_rest(definition: PerClass) -> Callable[..., Result]:
    """MetricsReloaded's BinaryPairwiseMeasures of each class mask (its own NaN where it gives one); the image
    value by the rule of dice (the class mean of the defined entries, or class 1's of a two-class run)."""
    def compute(cm: np.ndarray, include: np.ndarray | None = None, *, average: str = "mean", **params: Any) -> Result:
        per_class = definition(*one_vs_rest(cm), **params)
        return _class_rule(per_class, include, average), per_class
    return compute


def _mr_whole(whole: Callable[..., float], per_class: PerClass) -> Callable[..., Result]:
    def compute(cm: np.ndarray, include: np.ndarray | None = None, **params: Any) -> Result:
        return whole(cm, **params), per_class(*one_vs_rest(cm))
    return compute


def _mr_kappa(cm: np.ndarray, weights: str = "none") -> float:
    return cohen_kappa(cm, weights)


def _mr_balanced(cm: np.ndarray) -> float:
    """MultiClassPairwiseMeasures.balanced_accuracy: the mean recall over all C classes (NaN when one is absent
    from the reference)."""
    recalls = _recalls(cm)
    return float(recalls.mean()) if recalls.size and not np.isnan(recalls).any() else NAN


def _mr_cost(cm: np.ndarray) -> float:
    """normalised_expected_cost with the prior-based default costs: ``(1 - BA) K / (K - 1)`` over all C classes
    (NaN when one is absent from the reference)."""
    k = np.asarray(cm).shape[0]
    return (1.0 - _mr_balanced(cm)) * k / (k - 1) if k > 1 else NAN


# --- the registry rows ------------------------------------------------------------------------------------------------

_EMPTY = Param("empty", "nan", "value of an undefined case (nan is left out of means and counted)", kind="choice",
               choices=("nan", "zero", "one"))
_BETA = Param("beta", 1.0, "weight of recall against precision (b = 1: dice; b = 0: precision)")
_ER = Param("exchange_rate", 1.0, "the harm of a false positive in true positives (1/9: one case found is worth "
            "nine false alarms)")
_WEIGHTS = Param("weights", "linear", "disagreement weights: linear |i - j| or quadratic (i - j)^2 of the class "
                 "indexes", kind="choice", choices=("linear", "quadratic"))
_SK_ZERO = Param("zero_division", "warn", "value of a 0/0 ratio (warn: 0)", kind="choice",
                 choices=("warn", "0", "1", "nan"))
_LABELS = frozenset({"labels", "probs", "logits"})
_CLASS = (AVERAGE_CONTEXT,)
_OVR = ("per class one-vs-rest; per image the mean over the included classes (undefined left out), a two-class "
        "run: class 1's (average foreground)")
_WHOLE = "from the whole confusion matrix (label vectors), not a class mean; per class one-vs-rest"
MR = "MetricsReloaded BinaryPairwiseMeasures"
MR_MULTI = "MetricsReloaded MultiClassPairwiseMeasures"


def _lossctl_row(definition: PerClass, text: str, reference: str, params: tuple[Param, ...] = (),
                 context: tuple[str, ...] = _CLASS) -> Impl:
    return Impl(lossctl_one_vs_rest(definition), f"{text}; undefined = empty; {_OVR}", reference,
                (_EMPTY, *params), inputs=_LABELS, context=context)


def _mr_row(definition: PerClass, text: str, reference: str, params: tuple[Param, ...] = ()) -> Impl:
    return Impl(mr_one_vs_rest(definition), f"{text}; {_OVR}", f"{MR}.{reference}", params, inputs=_LABELS,
                context=_CLASS)


#: ``{metric: {convention: Impl}}``: every counting metric under every convention that defines it.
TABLE: dict[str, dict[str, Impl]] = {
    "mcc": {
        "lossctl": Impl(lossctl_whole(_lossctl_mcc, _binary_mcc), f"Gorodkin R_K {_WHOLE}; denominator 0 (one class "
                        "in the truth or the prediction) = empty", "sklearn.metrics.matthews_corrcoef",
                        (_EMPTY,), inputs=_LABELS),
        "sklearn": Impl(_sk_mcc, f"matthews_corrcoef: R_K, 0.0 when its denominator is 0; {_WHOLE}",
                        "sklearn.metrics.matthews_corrcoef", inputs=_LABELS),
        "torch": Impl(_torch_mcc, "MatthewsCorrCoef: R_K, 0 when its denominator is 0; two classes: its binary "
                      f"special cases (all right 1, all wrong -1, eps-smoothed denominator); {_WHOLE}; float32 in "
                      "torchmetrics", "torchmetrics.classification.MatthewsCorrCoef", inputs=_LABELS),
        "metricsreloaded": Impl(_mr_whole(gorodkin_mcc, _binary_mcc), f"matthews_correlation_coefficient: R_K (NaN "
                                f"when its denominator is 0); {_WHOLE}", f"{MR_MULTI}.matthews_correlation_coefficient",
                                inputs=_LABELS),
    },
    "kappa": {
        "lossctl": Impl(lossctl_whole(_lossctl_kappa, _binary_kappa), f"1 - sum((1-I) CM) / sum((1-I) E) over the "
                        f"C classes {_WHOLE}; chance agreement 1 = empty", "sklearn.metrics.cohen_kappa_score",
                        (_EMPTY,), inputs=_LABELS),
        "sklearn": Impl(_sk_kappa(None), f"cohen_kappa_score over its labels; undefined: NaN; {_WHOLE}",
                        "sklearn.metrics.cohen_kappa_score", (_SK_LABELS,), inputs=_LABELS),
        "torch": Impl(_torch_kappa(None), f"CohenKappa over the C classes; 0/0: NaN; {_WHOLE}; float32 in "
                      "torchmetrics", "torchmetrics.classification.CohenKappa", inputs=_LABELS),
        "metricsreloaded": Impl(_mr_whole(_mr_kappa, _binary_kappa), f"weighted_cohens_kappa with its default "
                                f"weights 1 - I; 0/0: NaN; {_WHOLE}", f"{MR_MULTI}.weighted_cohens_kappa",
                                inputs=_LABELS),
    },
    "weighted_kappa": {
        "lossctl": Impl(lossctl_whole(_lossctl_kappa, _binary_kappa), "1 - sum(w CM) / sum(w E), w = |i - j| or "
                        f"(i - j)^2 of the class indexes 0..C-1, {_WHOLE} (two classes: kappa); sum(w E) = 0 = empty",
                        "sklearn.metrics.cohen_kappa_score(weights=...)", (_EMPTY, _WEIGHTS), inputs=_LABELS),
        "sklearn": Impl(_sk_kappa("linear"), "cohen_kappa_score(weights=...) over its labels (present: the "
                        f"weights count positions among them); undefined: NaN; {_WHOLE}",
                        "sklearn.metrics.cohen_kappa_score(weights=...)", (_WEIGHTS, _SK_LABELS), inputs=_LABELS),
        "torch": Impl(_torch_kappa("linear"), f"CohenKappa(weights=...) over the C classes; 0/0: NaN; {_WHOLE}; "
                      "float32 in torchmetrics", "torchmetrics.classification.CohenKappa(weights=...)",
                      (_WEIGHTS,), inputs=_LABELS),
        "metricsreloaded": Impl(_mr_whole(_mr_kappa, _binary_kappa), "weighted_cohens_kappa with the linear or "
                                f"quadratic weight matrix as dict_args['weights']; 0/0: NaN; {_WHOLE}",
                                f"{MR_MULTI}.weighted_cohens_kappa", (_WEIGHTS,), inputs=_LABELS),
    },
    "balanced_accuracy": {
        "lossctl": Impl(lossctl_whole(_lossctl_balanced, _balanced), "mean recall over the classes, a class absent "
                        f"from the truth = empty (nan: left out); per class (Se + Sp)/2; {_WHOLE}",
                        "sklearn.metrics.balanced_accuracy_score", (_EMPTY,), inputs=_LABELS),
        "sklearn": Impl(_sk_balanced, "balanced_accuracy_score: mean recall over the classes in the truth; per "
                        f"class the mean of the defined Se, Sp; {_WHOLE}", "sklearn.metrics.balanced_accuracy_score",
                        inputs=_LABELS),
        "metricsreloaded": Impl(_mr_whole(_mr_balanced, _balanced), "balanced_accuracy: mean recall over all C "
                                f"classes (NaN when one is absent from the reference); per class (Se + Sp)/2; "
                                f"{_WHOLE}", f"{MR_MULTI}.balanced_accuracy", inputs=_LABELS),
    },
    "specificity": {
        "lossctl": _lossctl_row(_specificity, "TN/(TN+FP)", f"{MR}.specificity"),
        "metricsreloaded": _mr_row(_specificity, "specificity: TN/(TN+FP), NaN without a negative in the reference",
                                   "specificity"),
    },
    "npv": {
        "lossctl": _lossctl_row(_npv, "TN/(TN+FN)", f"{MR}.negative_predictive_value"),
        "metricsreloaded": _mr_row(_mr_npv, "negative_predictive_value: TN/(TN+FN); nothing predicted negative: 0 "
                                   "if the reference has a negative, else NaN", "negative_predictive_value"),
    },
    "fbeta": {
        "lossctl": _lossctl_row(_fbeta, "(1+b^2)TP/((1+b^2)TP + b^2 FN + FP)", "sklearn.metrics.fbeta_score",
                                (_BETA,)),
        "sklearn": Impl(_sk_fbeta, "fbeta_score: macro over the labels (present: in the truth OR the prediction; "
                        "all: range(C)), 0/0 = zero_division; two classes: average='binary' (class 1)",
                        "sklearn.metrics.fbeta_score(average='macro' or 'binary')", (_BETA, _SK_ZERO, _SK_LABELS),
                        inputs=_LABELS, context=_CLASS),
        "metricsreloaded": _mr_row(_mr_fbeta, "fbeta: (1+b^2) PPV Se / (b^2 PPV + Se); 1 when TP = FP = FN = 0, 0 "
                                   "when TP = 0 otherwise", "fbeta", (_BETA,)),
    },
    "youden": {
        "lossctl": _lossctl_row(_youden, "Se + Sp - 1", f"{MR}.youden_index"),
        "metricsreloaded": _mr_row(_youden, "youden_index: Se + Sp - 1 (NaN when either is)", "youden_index"),
    },
    "lr_plus": {
        "lossctl": _lossctl_row(_lr_plus, "Se/(1-Sp) = TP(TN+FP)/(FP(TP+FN)); no positive in the truth or FP = 0 is "
                                "undefined", "sklearn.metrics.class_likelihood_ratios"),
        "metricsreloaded": _mr_row(_lr_plus, "positive_likelihood_ratio: NaN without a positive or a negative in "
                                   "the reference, or at Sp = 1", "positive_likelihood_ratio"),
    },
    "expected_cost": {
        "lossctl": Impl(lossctl_whole(_lossctl_cost, _cost), "MetricsReloaded's normalised expected cost with its "
                        "default costs c_ij = 1/(K pi_j): (1 - BA) K/(K-1) over the K classes in the truth (a class "
                        f"absent = empty; nan: left out); per class 2 - Se - Sp; {_WHOLE}",
                        f"{MR_MULTI}.normalised_expected_cost", (_EMPTY,), inputs=_LABELS),
        "metricsreloaded": Impl(_mr_whole(_mr_cost, _cost), "normalised_expected_cost, default costs: (1 - BA) "
                                "K/(K-1) over all C classes (NaN when one is absent from the reference); per class "
                                f"the binary normalised cost 2 - Se - Sp; {_WHOLE}",
                                f"{MR_MULTI}.normalised_expected_cost", inputs=_LABELS),
    },
    "net_benefit": {
        "lossctl": _lossctl_row(_net_benefit, "TP/N - ER FP/N", f"{MR}.net_benefit_treated", (_ER,)),
        "metricsreloaded": _mr_row(_net_benefit, "net_benefit_treated: TP/N - ER FP/N", "net_benefit_treated",
                                   (_ER,)),
    },
}

#: The segmentation-only volume errors (the voxel volume comes from the image's spacing).
VOLUME_TABLE: dict[str, dict[str, Impl]] = {
    "avd": {
        "lossctl": Impl(lossctl_one_vs_rest(_avd), f"|V_P - V_R| = |FP - FN| x voxel volume (mm^3 with a spacing, "
                        f"else voxels); {_OVR}", "Metrics Reloaded (Maier-Hein et al. 2024): absolute volume "
                        "difference", (_EMPTY,), inputs=_LABELS, context=(*_CLASS, VOLUME_CONTEXT)),
    },
    "rvd": {
        "lossctl": _lossctl_row(_rvd, "(V_P - V_R)/V_R, signed (positive: the prediction is larger); V_R = 0 is "
                                "undefined", f"{MR}.absolute_volume_difference_ratio (its absolute value)"),
        "metricsreloaded": _mr_row(_mr_avdr, "absolute_volume_difference_ratio: |V_P - V_R|/V_R (unsigned), NaN "
                                   "for an empty reference", "absolute_volume_difference_ratio"),
    },
}


__all__ = ["TABLE", "VOLUME_TABLE", "VOLUME_CONTEXT", "one_vs_rest", "gorodkin_mcc", "cohen_kappa", "kappa_weights",
           "torch_binary_mcc"]
