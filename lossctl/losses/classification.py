r"""Classification losses of a :class:`~lossctl.inputs.cls.ClsInput`, each peer's arithmetic chosen by its
:class:`Rules` (data), never by a framework's name.

Every loss is ``fn(x, rules=LOSSCTL, **params) -> (value, per_sample)``: ``value`` reduced as the rules say,
``per_sample`` the unreduced per-sample losses (before sample weights). Which framework has which loss, and
which inputs and options it takes, is the conventions table of :mod:`lossctl.losses.cls_conventions`: the registry
refuses what a row does not take before calling, so nothing here checks availability.

The peers differ in exactly these places (docs/conventions.md lists them; definitions in the project's reference):

* **clip** of probabilities: ``floor`` (``log p`` floored at -100: torch, lossctl), ``keras`` (``p`` clipped to
  ``[1e-7, 1 - 1e-7]`` in float32, where ``1 - 1e-7`` rounds to ``1 - 1.19e-7``; categorical rows
  renormalised), ``sklearn`` (``[eps, 1 - eps]`` with ``eps`` the float epsilon of the input; logits through
  the sigmoid or softmax first); torch's categorical losses read probabilities as the logits ``log p``
  (``probs_as_logits``).
* **reduce**: ``weighted`` (``sum w l / sum w``; index targets: ``/ sum w w_y``: lossctl, sklearn, and torch's
  index CE), ``mean`` (torch: the mean of the unreduced output), ``all`` (smp: ignored entries zeroed but
  counted), ``keras`` (``sum w l / number of valid samples``, class weights as sample weights).
* **binary smoothing**: ``half`` ``y (1 - eps) + eps / 2`` (lossctl, keras) or ``flip`` ``y (1 - eps) + (1 - y)
  eps`` (smp); categorical smoothing is ``q (1 - eps) + eps / C`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossctl._numeric import KERAS_EPS, KERAS_HIGH, floored_log, log_sigmoid, log_softmax, mean_over, sigmoid
from lossctl._numeric import weighted_mean as _weighted_mean
from lossctl.inputs.cls import ClsInput
from lossctl.errors import InputError, NotAvailable, UsageError

Result = tuple[float, np.ndarray]


@dataclass(frozen=True)
class Rules:
    """How one peer turns predictions into log-probabilities and reduces (see the module docstring)."""

    clip: str = "floor"
    reduce: str = "weighted"
    smoothing: str = "half"
    probs_as_logits: bool = False


LOSSCTL = Rules()
TORCH = Rules(reduce="mean", probs_as_logits=True)
KERAS = Rules(clip="keras", reduce="keras")
SKLEARN = Rules(clip="sklearn")
SMP = Rules(reduce="all", smoothing="flip")


# --- shared pieces ------------------------------------------------------------------------------------------

def _binary_shape(x: ClsInput, loss: str, signed: bool = False) -> None:
    if x.pred.shape != x.target.shape:
        raise InputError(f"{loss} needs a target of the prediction's shape {x.pred.shape} (binary or multilabel), "
                         f"got {x.target.shape}", subject="target")
    if x.class_weights is not None:
        raise NotAvailable(f"{loss} takes no class weights; weigh samples (or the positive term with "
                           "pos_weight) instead", option="class_weights")
    kept = x.target[x.valid()]
    if kept.size and (kept.min() < (-1 if signed else 0) or kept.max() > 1):
        raise InputError(f"{loss} needs targets in [0, 1] (or -1/+1 labels), got values in [{kept.min():g}, "
                         f"{kept.max():g}]", subject="target")


def _int_labels(x: ClsInput, loss: str) -> np.ndarray:
    """(N,) class indices of a multiclass input (one-hot targets are turned into indices)."""
    if x.pred.ndim != 2:
        raise InputError(f"{loss} needs (N, C) predictions, got shape {x.pred.shape}", subject="pred")
    target = x.target
    if target.ndim == 2:
        if not (np.isin(target, (0, 1)).all() and (target.sum(axis=1) == 1).all()):
            raise InputError(f"{loss} needs class indices or one-hot targets; these are soft targets "
                             "(use cce)", subject="target")
        return target.argmax(axis=1)
    labels = target.astype(np.int64)
    valid = x.valid()
    bad = valid & ((labels < 0) | (labels >= x.pred.shape[1]))
    if bad.any():
        raise InputError(f"target label {int(labels[bad][0])} is outside 0..{x.pred.shape[1] - 1}; pass "
                         "an ignore index for a void label", subject="target", option="ignore_index")
    return labels


def _clip_logs(p: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    q = np.clip(p, low, high)
    return np.log(q), np.log(1.0 - q)


def _binary_logs(x: ClsInput, rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """``(log p, log(1 - p))`` of the positive class, with the rules' clip."""
    if x.kind == "logits":
        if rules.clip == "sklearn":
            return _clip_logs(sigmoid(x.pred), x.eps, 1 - x.eps)
        return log_sigmoid(x.pred), log_sigmoid(-x.pred)
    if rules.clip == "keras":
        return _clip_logs(x.pred, KERAS_EPS, KERAS_HIGH)
    if rules.clip == "sklearn":
        return _clip_logs(x.pred, x.eps, 1 - x.eps)
    return floored_log(x.pred), floored_log(1.0 - x.pred)


def _categorical_logs(x: ClsInput, rules: Rules) -> np.ndarray:
    """(N, C) log-probabilities with the rules' treatment of probabilities."""
    if x.kind == "logits":
        if rules.clip == "sklearn":
            return np.log(np.clip(np.exp(x.log_softmax), x.eps, 1 - x.eps))
        return x.log_softmax
    p = x.pred
    if rules.clip == "keras":
        return np.log(np.clip(p / p.sum(axis=1, keepdims=True), KERAS_EPS, KERAS_HIGH))
    if rules.clip == "sklearn":
        return np.log(np.clip(p, x.eps, 1 - x.eps))
    if rules.probs_as_logits:  # CrossEntropyLoss fed log(p) as logits
        return log_softmax(floored_log(p), axis=1)
    return floored_log(p)


def _reduce_samples(per_sample: np.ndarray, x: ClsInput, rules: Rules, valid: np.ndarray | None = None) -> float:
    """Per-sample losses reduced: ``keras`` divides the weighted sum by the number of (valid) samples; the
    others take the weighted mean."""
    w = x.sample_weights if valid is None else x.sample_weights * valid
    if rules.reduce == "keras":
        return mean_over((w * per_sample).sum(), w.size if valid is None else int(valid.sum()))
    return _weighted_mean(per_sample, w)


def _one_hot(labels: np.ndarray, c: int) -> np.ndarray:
    out = np.zeros((labels.size, c))
    out[np.arange(labels.size), np.clip(labels, 0, c - 1)] = 1.0
    return out


def _other_classes(labels: np.ndarray, c: int) -> np.ndarray:
    """(N, C) mask of every class but the label (that of :func:`_one_hot` is 0): a boolean, not a float64 array."""
    out = np.ones((labels.size, c), bool)
    out[np.arange(labels.size), np.clip(labels, 0, c - 1)] = False
    return out


# --- binary / multilabel cross-entropy ----------------------------------------------------------------------

def _smooth_binary(y: np.ndarray, eps: float, rules: Rules) -> np.ndarray:
    if not eps:
        return y
    if rules.smoothing == "flip":
        return y * (1 - eps) + (1 - y) * eps
    return y * (1 - eps) + 0.5 * eps


def _bce_family(x: ClsInput, rules: Rules, loss: str, *, label_smoothing: float,
                pos_weight: float | np.ndarray | None) -> Result:
    _binary_shape(x, loss)
    valid = x.valid()
    y = _smooth_binary(np.where(valid, x.target, 0).astype(np.float64), label_smoothing, rules)
    log_p, log_q = _binary_logs(x, rules)
    pw = 1.0 if pos_weight is None else pos_weight
    elements = np.where(valid, -(pw * y * log_p + (1.0 - y) * log_q), 0.0)
    w = x.sample_weights if elements.ndim == 1 else x.sample_weights[:, None]
    per_sample = elements if elements.ndim == 1 else elements.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    if rules.reduce in ("mean", "all"):  # elementwise weight, mean over every element (ignored ones too)
        return float((w * elements).sum() / elements.size), per_sample
    if rules.reduce == "keras":
        return _reduce_samples(elements.mean(axis=1) if elements.ndim == 2 else elements, x, rules), per_sample
    return _weighted_mean(elements, w * valid), per_sample


def bce(x: ClsInput, rules: Rules = LOSSCTL, *, label_smoothing: float = 0.0) -> Result:
    r"""Binary cross-entropy ``-[y log p + (1 - y) log(1 - p)]`` per element (logits: ``log p = log sigmoid(x)``)."""
    return _bce_family(x, rules, "bce", label_smoothing=label_smoothing, pos_weight=None)


def balanced_pos_weight(x: ClsInput) -> np.ndarray | float:
    """``#negatives / #positives`` of the targets (per column for multilabel): the default ``pos_weight``."""
    y = np.where(x.valid(), x.target, 0).astype(np.float64)
    positives = y.sum(axis=0)
    negatives = (x.valid() & (y == 0)).sum(axis=0)
    ratio = np.where(positives > 0, negatives / np.maximum(positives, 1e-300), 1.0)
    return float(ratio) if np.ndim(ratio) == 0 else ratio


def weighted_bce(x: ClsInput, rules: Rules = LOSSCTL, *, pos_weight: float | None = None,
                 label_smoothing: float = 0.0) -> Result:
    r"""Weighted BCE ``-[w_+ y log p + (1 - y) log(1 - p)]``; ``w_+`` defaults to ``#neg / #pos``."""
    pw = balanced_pos_weight(x) if pos_weight is None else pos_weight
    return _bce_family(x, rules, "weighted_bce", label_smoothing=label_smoothing, pos_weight=pw)


# --- categorical cross-entropy ------------------------------------------------------------------------------

def cce(x: ClsInput, rules: Rules = LOSSCTL, *, label_smoothing: float = 0.0) -> Result:
    r"""Categorical cross-entropy ``-sum_c w_c q_c log p_c`` with one-hot or soft targets ``q`` (``keras``: class
    weights weigh the samples of each true class instead)."""
    if x.pred.ndim != 2:
        raise InputError(f"cce needs (N, C) predictions, got shape {x.pred.shape}", subject="pred")
    c = x.pred.shape[1]
    labels = None if x.target.ndim == 2 else np.clip(_int_labels(x, "cce"), 0, c - 1)
    if x.target.ndim == 2 and x.target.shape != x.pred.shape:
        raise InputError(f"cce needs targets of shape {x.pred.shape}, got {x.target.shape}", subject="target")
    logp = _categorical_logs(x, rules)
    inside = x.class_weights is not None and rules.reduce != "keras"
    if labels is not None and not (label_smoothing or inside) and logp.min() > -np.inf:
        # the one-hot row's sum is its one nonzero term, -log p_y, exactly (0 * log p_c is a zero; with a -inf
        # among the log p_c it is NaN, hence the full product then): no (N, C) one-hot array
        per_sample = -logp[np.arange(x.n), labels]
    else:
        q = x.target.astype(np.float64) if labels is None else _one_hot(labels, c)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / c
        per_sample = -((x.class_weights if inside else 1.0) * q * logp).sum(axis=1)
    if rules.reduce == "mean":
        return float(per_sample.mean()), per_sample
    if rules.reduce == "keras":
        truth = x.target.argmax(axis=1) if labels is None else labels
        sw = x.sample_weights * (1.0 if x.class_weights is None else x.class_weights[truth])
        return float((sw * per_sample).sum() / x.n), per_sample
    return _weighted_mean(per_sample, x.sample_weights), per_sample


def _index_ce(x: ClsInput, rules: Rules, loss: str, label_smoothing: float) -> Result:
    """``(1 - eps) w_y (-log p_y) + (eps / C) sum_c w_c (-log p_c)`` of class-index targets (``keras``: class
    weights outside, as sample weights)."""
    labels = _int_labels(x, loss)
    n, c = x.pred.shape
    valid = x.valid_samples()
    safe = np.where(valid, labels, 0)
    logp = _categorical_logs(x, rules)
    nll = -logp[np.arange(n), safe]
    if rules.reduce == "keras":
        if x.ignore_index is not None and label_smoothing:
            raise NotAvailable(f"{loss} under convention keras takes no ignore index with label smoothing "
                               "(CategoricalCrossentropy has no ignore_class)", option="ignore_index")
        per_sample = (1 - label_smoothing) * nll + (label_smoothing / c) * -logp.sum(axis=1) if label_smoothing \
            else nll
        per_sample = np.where(valid, per_sample, 0.0)
        cw = 1.0 if x.class_weights is None else x.class_weights[safe]
        return mean_over((x.sample_weights * cw * per_sample).sum(), int(valid.sum())), per_sample
    cw_all = np.ones(c) if x.class_weights is None else x.class_weights
    smooth_term = -(logp.sum(axis=1) if x.class_weights is None else (cw_all * logp).sum(axis=1))  # 1 * logp: logp
    per_sample = np.where(valid, (1 - label_smoothing) * cw_all[safe] * nll + (label_smoothing / c) * smooth_term,
                          0.0)
    if rules.reduce == "all":
        return float(per_sample.sum() / n), per_sample
    denominator = (x.sample_weights * cw_all[safe] * valid).sum()
    return mean_over((x.sample_weights * per_sample).sum(), denominator), per_sample


def sparse_cce(x: ClsInput, rules: Rules = LOSSCTL) -> Result:
    r"""Sparse categorical cross-entropy ``-w_y log p_y`` with class-index targets."""
    return _index_ce(x, rules, "sparse_cce", 0.0)


def label_smoothing_ce(x: ClsInput, rules: Rules = LOSSCTL, *, label_smoothing: float = 0.1) -> Result:
    r"""Cross-entropy with label smoothing: ``(1 - eps) w_y (-log p_y) + (eps / C) sum_c w_c (-log p_c)``."""
    return _index_ce(x, rules, "label_smoothing_ce", label_smoothing)


# --- focal --------------------------------------------------------------------------------------------------

def focal(x: ClsInput, rules: Rules = LOSSCTL, *, gamma: float = 2.0, alpha: float | None = None,
          label_smoothing: float = 0.0) -> Result:
    r"""Focal loss ``-a_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017): sigmoid focal for binary and multilabel
    targets, softmax focal for class indices and one-hot rows.

    ``alpha`` weighs class 1 (``1 - alpha`` class 0); None (or a negative value, torchvision's -1) is off.
    ``keras`` rules: BinaryFocalCrossentropy (clip path even for logits) / CategoricalFocalCrossentropy."""
    if x.is_multiclass:
        return _focal_multiclass(x, rules, gamma=gamma, alpha=alpha, label_smoothing=label_smoothing)
    _binary_shape(x, "focal")
    valid = x.valid()
    y = np.where(valid, x.target, 0).astype(np.float64)
    if rules.clip == "keras":
        y = _smooth_binary(y, label_smoothing, rules)
        p = sigmoid(x.pred) if x.kind == "logits" else x.pred
        log_p, log_q = _clip_logs(p, KERAS_EPS, KERAS_HIGH)
        bce_el = -(y * log_p + (1 - y) * log_q)
        p_t = y * p + (1 - y) * (1 - p)
        elements = np.power(1 - p_t, gamma) * bce_el
        if alpha is not None:
            elements = elements * (y * alpha + (1 - y) * (1 - alpha))
        per_sample = elements.mean(axis=1) if elements.ndim == 2 else elements
        return _reduce_samples(per_sample, x, rules), per_sample
    y = _smooth_binary(y, label_smoothing, rules)
    log_p, log_q = _binary_logs(x, rules)
    bce_el = -(y * log_p + (1 - y) * log_q)
    # 1 - p_t with p_t = y p + (1 - y)(1 - p), computed from logs so that nothing cancels
    one_minus_pt = y * np.exp(log_q) + (1 - y) * np.exp(log_p)
    elements = np.power(one_minus_pt, gamma) * bce_el
    if alpha is not None and alpha >= 0:
        elements = elements * (alpha * y + (1 - alpha) * (1 - y))
    per_sample = elements if elements.ndim == 1 else elements.mean(axis=1)
    if rules.reduce == "mean":
        return float(elements.mean()), per_sample
    w = x.sample_weights if elements.ndim == 1 else x.sample_weights[:, None]
    return _weighted_mean(elements, w * valid), per_sample


def _focal_multiclass(x: ClsInput, rules: Rules, *, gamma: float, alpha: float | None,
                      label_smoothing: float) -> Result:
    labels = _int_labels(x, "focal")
    n, c = x.pred.shape
    valid = x.valid_samples()
    safe = np.where(valid, labels, 0)
    if rules.clip == "keras":  # CategoricalFocalCrossentropy: alpha on every class (0.25 by default)
        a = 0.25 if alpha is None else alpha
        q = _one_hot(safe, c)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / c
        p = np.exp(x.log_softmax) if x.kind == "logits" else x.pred
        p = np.clip(p / p.sum(axis=1, keepdims=True), KERAS_EPS, KERAS_HIGH)
        per_sample = (a * np.power(1 - p, gamma) * (-q * np.log(p))).sum(axis=1)
        return _reduce_samples(per_sample, x, rules), per_sample
    if label_smoothing:
        raise UsageError("softmax focal takes no label smoothing; set focal.label_smoothing=0")
    if alpha is not None:
        raise UsageError("a scalar alpha applies to binary focal only; weigh classes with class weights",
                         option="class_weights")
    logp_y = _categorical_logs(x, rules)[np.arange(n), safe]
    per_sample = -np.power(-np.expm1(logp_y), gamma) * logp_y
    if x.class_weights is not None:
        per_sample = per_sample * x.class_weights[safe]
    per_sample = np.where(valid, per_sample, 0.0)
    return _weighted_mean(per_sample, x.sample_weights * valid), per_sample


def smp_focal(x: ClsInput, *, gamma: float = 2.0, alpha: float | None = None) -> Result:
    """smp ``FocalLoss``: sigmoid focal per element, on one-hot targets for class indices (one-hot and multilabel
    rows are its multilabel mode). Probabilities (``from_logits=False``) become pseudo-logits, ``logit(clamp(p))``,
    or ``log(clamp(p))`` for class indices; ignored samples are removed; a multiclass loss is the mean over
    classes of each class's mean (weighted by class weights when given)."""
    valid = x.valid()
    multiclass = x.pred.ndim == 2 and x.target.ndim == 1
    if multiclass:
        labels = _int_labels(x, "focal")
        targets = _one_hot(np.where(valid, labels, 0), x.pred.shape[1])[valid]
        pred = x.pred[valid]
    else:
        _binary_shape(x, "focal")
        targets = np.where(valid, x.target, 0).astype(np.float64)
        pred = x.pred
    if x.kind == "probs":
        p = np.clip(pred, KERAS_EPS, 1 - KERAS_EPS)
        logits = np.log(p) if multiclass else np.log(p) - np.log1p(-p)
    else:
        logits = pred
    log_p, log_q = log_sigmoid(logits), log_sigmoid(-logits)
    bce_el = -(targets * log_p + (1 - targets) * log_q)
    elements = np.power(targets * np.exp(log_q) + (1 - targets) * np.exp(log_p), gamma) * bce_el
    if alpha is not None:
        elements = elements * (alpha * targets + (1 - alpha) * (1 - targets))
    if multiclass:
        per_sample = np.zeros(x.n)
        per_sample[valid] = elements.mean(axis=1)
        if not valid.any():
            return float("nan"), per_sample
        per_class = elements.mean(axis=0)
        if x.class_weights is not None:
            return float((x.class_weights * per_class).sum() / x.class_weights.sum()), per_sample
        return float(per_class.mean()), per_sample
    mask = valid.astype(np.float64)
    per_sample = elements if elements.ndim == 1 else (elements * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    return mean_over((elements * mask).sum(), mask.sum()), per_sample


# --- hinge --------------------------------------------------------------------------------------------------

def _signed_labels(x: ClsInput, loss: str) -> np.ndarray:
    t = x.target.astype(np.float64)
    values = np.unique(t)
    if np.isin(values, (0.0, 1.0)).all():
        return 2.0 * t - 1.0
    if np.isin(values, (-1.0, 1.0)).all():
        return t
    raise InputError(f"{loss} needs binary targets (0/1 or -1/+1), got values {values[:5].tolist()}",
                     subject="target")


def _binary_hinge(x: ClsInput, rules: Rules, loss: str, power: int) -> Result:
    _binary_shape(x, loss, signed=True)
    elements = np.maximum(0.0, 1.0 - _signed_labels(x, loss) * x.pred) ** power
    per_sample = elements if elements.ndim == 1 else elements.mean(axis=1)
    return _reduce_samples(per_sample, x, rules), per_sample


def hinge(x: ClsInput, rules: Rules = LOSSCTL) -> Result:
    r"""Binary hinge ``max(0, 1 - y f)`` with ``y`` in {-1, +1} (0/1 targets map to -1/+1)."""
    return _binary_hinge(x, rules, "hinge", 1)


def squared_hinge(x: ClsInput, rules: Rules = LOSSCTL) -> Result:
    r"""Squared hinge ``max(0, 1 - y f)^2``."""
    return _binary_hinge(x, rules, "squared_hinge", 2)


def multiclass_hinge(x: ClsInput, rules: Rules = LOSSCTL, *, hinge: str = "crammer_singer",
                     squared: bool = False) -> Result:
    r"""Multiclass hinge of decision values: Crammer-Singer ``max(0, 1 - f_y + max_{j != y} f_j)``, Weston-Watkins
    ``sum_{j != y} max(0, 1 - f_y + f_j)``, or Keras' categorical hinge ``max(0, 1 + max_j (1 - q_j) f_j - f_y)``;
    ``squared`` squares each margin term."""
    labels = _int_labels(x, "multiclass_hinge")
    n, c = x.pred.shape
    f = x.pred
    f_y = f[np.arange(n), labels]
    power = 2 if squared else 1
    if hinge == "keras_categorical":  # the max of (1 - q) f: of the other classes' f and a zero
        neg = np.maximum(f.max(axis=1, where=_other_classes(labels, c), initial=-np.inf), 0.0)
        per_sample = np.maximum(0.0, 1.0 + neg - f_y) ** power
    elif hinge == "crammer_singer":
        others = f.max(axis=1, where=_other_classes(labels, c), initial=-np.inf)
        per_sample = np.maximum(0.0, 1.0 - (f_y - others)) ** power
    else:
        margins = np.maximum(0.0, 1.0 - f_y[:, None] + f) ** power
        margins[np.arange(n), labels] = 0.0
        per_sample = margins.sum(axis=1)
    return _reduce_samples(per_sample, x, rules), per_sample
