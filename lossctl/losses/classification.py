r"""Classification losses under each framework's convention (``lossctl``, ``torch``, ``keras``, ``sklearn``,
``smp``, ``monai``).

Every loss is a function ``fn(x, convention, **params) -> (value, per_sample)`` of a :class:`ClsInput`:
``value`` is the loss reduced as that framework reduces it by default, ``per_sample`` the unreduced
per-sample losses (before sample weights). A framework that does not have a loss, or an option of it, raises
:class:`NotAvailable` (a usage error) instead of being silently replaced.

The conventions differ in exactly these places (README.md has the table; definitions in
``../shared/reference/definitions.md``):

* **clamping** of probabilities: ``lossctl``/``torch`` floor ``log p`` at -100; ``keras`` clips ``p`` to
  ``[1e-7, 1 - 1e-7]`` in float32 (``1 - 1e-7`` rounds to ``1 - 1.19e-7``) and renormalises rows of
  categorical probabilities; ``sklearn`` clips to ``[eps, 1 - eps]`` with ``eps`` the float epsilon of the input.
* **reduction**: ``lossctl`` and ``sklearn`` divide by the summed weights; ``keras`` divides by the number of
  (valid) samples whatever the weights; ``torch`` divides by the number of elements, except index-target
  cross-entropy with class weights (divided by the summed weights of the targets); ``smp`` divides by every
  element, ignored ones included.
* **label smoothing**: categorical ``q = (1 - eps) y + eps / C`` (lossctl, torch, keras); binary
  ``y (1 - eps) + eps / 2`` (lossctl, keras) or ``y (1 - eps) + (1 - y) eps`` (smp).
"""

from __future__ import annotations

import numpy as np

from lossctl._numeric import KERAS_EPS, KERAS_HIGH, floored_log, log_sigmoid, log_softmax, sigmoid
from lossctl._numeric import weighted_mean as _weighted_mean
from lossctl.cls_input import ClsInput
from lossctl.errors import InputError, NotAvailable, UsageError

Result = tuple[float, np.ndarray]


# --- shared pieces ------------------------------------------------------------------------------------------

def _refuse(convention: str, what: str) -> NotAvailable:
    return NotAvailable(f"convention {convention} has no {what}; choose another convention "
                        f"(`lossctl losses NAME` lists who has what)")


def _no_option(convention: str, loss: str, option: str, given: bool) -> None:
    if given:
        raise NotAvailable(f"{loss} under convention {convention} has no {option}; drop it or choose another "
                           "convention")


def _need(x: ClsInput, loss: str, *kinds: str) -> None:
    if x.kind not in kinds:
        raise NotAvailable(f"{loss} needs {' or '.join(kinds)} predictions, got {x.kind}", option="pred_kind")


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


def _binary_logs(x: ClsInput, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """``(log p, log(1 - p))`` of the positive class, with the convention's clamp."""
    if x.kind == "logits":
        if convention == "sklearn":
            p = sigmoid(x.pred)
            return _clip_logs(p, x.eps, 1 - x.eps)
        return log_sigmoid(x.pred), log_sigmoid(-x.pred)
    if convention == "keras":
        return _clip_logs(x.pred, KERAS_EPS, KERAS_HIGH)
    if convention == "sklearn":
        return _clip_logs(x.pred, x.eps, 1 - x.eps)
    return floored_log(x.pred), floored_log(1.0 - x.pred)


def _clip_logs(p: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    q = np.clip(p, low, high)
    return np.log(q), np.log(1.0 - q)


def _categorical_logs(x: ClsInput, convention: str) -> np.ndarray:
    """(N, C) log-probabilities with the convention's treatment of probabilities."""
    if x.kind == "logits":
        if convention == "sklearn":
            return np.log(np.clip(np.exp(x.log_softmax), x.eps, 1 - x.eps))
        return x.log_softmax
    p = x.pred
    if convention == "keras":
        return np.log(np.clip(p / p.sum(axis=1, keepdims=True), KERAS_EPS, KERAS_HIGH))
    if convention == "sklearn":
        return np.log(np.clip(p, x.eps, 1 - x.eps))
    if convention == "torch":  # CrossEntropyLoss fed log(p) as logits
        return log_softmax(floored_log(p), axis=1)
    return floored_log(p)


def _reduce(per_sample: np.ndarray, x: ClsInput, convention: str, valid: np.ndarray | None = None) -> float:
    """Reduce per-sample losses: weighted mean (lossctl, sklearn), or sum / number of valid samples (keras)."""
    w = x.sample_weights if valid is None else x.sample_weights * valid
    if convention == "keras":
        count = w.size if valid is None else int(valid.sum())
        return float((w * per_sample).sum() / count) if count else float("nan")
    return _weighted_mean(per_sample, w)


# --- binary / multilabel cross-entropy ----------------------------------------------------------------------

def _smooth_binary(y: np.ndarray, eps: float, convention: str) -> np.ndarray:
    if not eps:
        return y
    if convention == "smp":
        return y * (1 - eps) + (1 - y) * eps
    return y * (1 - eps) + 0.5 * eps


def _bce_family(x: ClsInput, convention: str, loss: str, *, label_smoothing: float,
                pos_weight: np.ndarray | float | None) -> Result:
    _binary_shape(x, loss)
    if convention == "monai":
        raise _refuse(convention, loss)
    if convention in ("torch", "smp") and pos_weight is not None:
        _need(x, loss, "logits")
    if convention == "smp":
        _need(x, loss, "logits")
    _need(x, loss, "probs", "logits")
    _no_option(convention, loss, "label smoothing", bool(label_smoothing) and convention in ("torch", "sklearn"))
    _no_option(convention, loss, "ignore_index", x.ignore_index is not None and convention != "lossctl"
               and convention != "smp")
    if convention == "sklearn":
        if x.pred.ndim != 1:
            raise _refuse(convention, f"multilabel {loss} (log_loss takes one binary column)")
        if pos_weight is not None:
            raise _refuse(convention, "pos_weight")
    if convention == "keras" and pos_weight is not None:
        raise _refuse(convention, "pos_weight")
    valid = x.valid()
    y = np.where(valid, x.target, 0).astype(np.float64)
    y = _smooth_binary(y, label_smoothing, convention)
    log_p, log_q = _binary_logs(x, convention)
    pw = 1.0 if pos_weight is None else pos_weight
    elements = -(pw * y * log_p + (1.0 - y) * log_q)
    elements = np.where(valid, elements, 0.0)
    w = x.sample_weights if elements.ndim == 1 else x.sample_weights[:, None]
    cols = 1 if elements.ndim == 1 else elements.shape[1]
    per_sample = elements if elements.ndim == 1 else elements.sum(axis=1) / np.maximum(valid.sum(axis=1), 1)
    if convention in ("torch", "smp"):  # elementwise weight, mean over every element
        return float((w * elements).sum() / elements.size), per_sample
    if convention == "keras":
        return _reduce(elements.mean(axis=1) if cols > 1 else elements, x, convention), per_sample
    if convention == "sklearn":
        return _weighted_mean(elements, x.sample_weights), per_sample
    wv = w * valid
    total = wv.sum()
    return (float((wv * elements).sum() / total) if total else float("nan")), per_sample


def bce(x: ClsInput, convention: str = "lossctl", *, label_smoothing: float = 0.0) -> Result:
    r"""Binary cross-entropy ``-[y log p + (1 - y) log(1 - p)]`` per element (logits: ``log p = log sigmoid(x)``)."""
    return _bce_family(x, convention, "bce", label_smoothing=label_smoothing, pos_weight=None)


def balanced_pos_weight(x: ClsInput) -> np.ndarray | float:
    """``#negatives / #positives`` of the targets (per column for multilabel): the default ``pos_weight``."""
    y = np.where(x.valid(), x.target, 0).astype(np.float64)
    positives = y.sum(axis=0)
    negatives = (x.valid() & (y == 0)).sum(axis=0)
    ratio = np.where(positives > 0, negatives / np.maximum(positives, 1e-300), 1.0)
    return float(ratio) if np.ndim(ratio) == 0 else ratio


def weighted_bce(x: ClsInput, convention: str = "lossctl", *, pos_weight: float | None = None,
                 label_smoothing: float = 0.0) -> Result:
    r"""Weighted BCE ``-[w_+ y log p + (1 - y) log(1 - p)]``; ``w_+`` defaults to ``#neg / #pos``."""
    pw = balanced_pos_weight(x) if pos_weight is None else pos_weight
    return _bce_family(x, convention, "weighted_bce", label_smoothing=label_smoothing, pos_weight=pw)


# --- categorical cross-entropy ------------------------------------------------------------------------------

def _one_hot(labels: np.ndarray, c: int) -> np.ndarray:
    out = np.zeros((labels.size, c))
    out[np.arange(labels.size), np.clip(labels, 0, c - 1)] = 1.0
    return out


def cce(x: ClsInput, convention: str = "lossctl", *, label_smoothing: float = 0.0) -> Result:
    r"""Categorical cross-entropy ``-sum_c w_c q_c log p_c`` with one-hot or soft targets ``q``."""
    _need(x, "cce", "probs", "logits")
    if x.pred.ndim != 2:
        raise InputError(f"cce needs (N, C) predictions, got shape {x.pred.shape}", subject="pred")
    c = x.pred.shape[1]
    q = x.target.astype(np.float64) if x.target.ndim == 2 else _one_hot(_int_labels(x, "cce"), c)
    if q.shape != x.pred.shape:
        raise InputError(f"cce needs targets of shape {x.pred.shape}, got {q.shape}", subject="target")
    if convention in ("smp", "monai"):
        raise _refuse(convention, "cce (categorical cross-entropy with probability targets)")
    _no_option(convention, "cce", "ignore_index", x.ignore_index is not None)
    _no_option(convention, "cce", "label smoothing", bool(label_smoothing) and convention == "sklearn")
    _no_option(convention, "cce", "per-sample weights", x.weights is not None and convention == "torch")
    _no_option(convention, "cce", "class weights", x.class_weights is not None and convention == "sklearn")
    if convention == "sklearn" and not (np.isin(q, (0, 1)).all() and (q.sum(axis=1) == 1).all()):
        raise _refuse(convention, "soft targets in log_loss (one-hot only)")
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / c
    logp = _categorical_logs(x, convention)
    w = np.ones(c) if x.class_weights is None or convention == "keras" else x.class_weights
    per_sample = -(w * q * logp).sum(axis=1)
    if convention == "torch":
        return float(per_sample.mean()), per_sample
    if convention == "keras":
        sw = x.sample_weights * (1.0 if x.class_weights is None else x.class_weights[q.argmax(axis=1)])
        return float((sw * per_sample).sum() / x.n), per_sample
    return _weighted_mean(per_sample, x.sample_weights), per_sample


def _index_ce(x: ClsInput, convention: str, loss: str, label_smoothing: float) -> Result:
    _need(x, loss, "probs", "logits")
    labels = _int_labels(x, loss)
    n, c = x.pred.shape
    valid = x.valid() if x.target.ndim == 1 else np.ones(n, bool)
    safe = np.where(valid, labels, 0)
    if convention == "monai":
        raise _refuse(convention, loss)
    if convention == "sklearn":
        _no_option(convention, loss, "label smoothing", bool(label_smoothing))
        _no_option(convention, loss, "ignore_index", x.ignore_index is not None)
        _no_option(convention, loss, "class weights", x.class_weights is not None)
    if convention in ("torch", "smp"):
        _no_option(convention, loss, "per-sample weights", x.weights is not None)
    if convention == "smp":
        _need(x, loss, "logits")
        _no_option(convention, loss, "class weights", x.class_weights is not None)
    if convention == "keras":
        _no_option(convention, loss, "ignore_index with label smoothing",
                   x.ignore_index is not None and bool(label_smoothing))
    logp = _categorical_logs(x, convention)
    nll = -logp[np.arange(n), safe]
    if convention == "keras":
        if label_smoothing:
            q = _one_hot(safe, c) * (1 - label_smoothing) + label_smoothing / c
            per_sample = -(q * logp).sum(axis=1)
        else:
            per_sample = nll
        per_sample = np.where(valid, per_sample, 0.0)
        cw = 1.0 if x.class_weights is None else x.class_weights[safe]
        count = int(valid.sum())
        value = float((x.sample_weights * cw * per_sample).sum() / count) if count else float("nan")
        return value, per_sample
    cw_all = np.ones(c) if x.class_weights is None else x.class_weights
    w_y = cw_all[safe] * valid
    smooth_term = -(cw_all * logp).sum(axis=1)
    per_sample = (1 - label_smoothing) * cw_all[safe] * nll + (label_smoothing / c) * smooth_term
    per_sample = np.where(valid, per_sample, 0.0)
    if convention == "smp":
        return float(per_sample.sum() / n), per_sample
    if convention == "sklearn":
        return _weighted_mean(per_sample, x.sample_weights), per_sample
    denominator = (x.sample_weights * w_y).sum()
    value = float((x.sample_weights * per_sample).sum() / denominator) if denominator else float("nan")
    return value, per_sample


def sparse_cce(x: ClsInput, convention: str = "lossctl") -> Result:
    r"""Sparse categorical cross-entropy ``-w_y log p_y`` with class-index targets."""
    return _index_ce(x, convention, "sparse_cce", 0.0)


def label_smoothing_ce(x: ClsInput, convention: str = "lossctl", *, label_smoothing: float = 0.1) -> Result:
    r"""Cross-entropy with label smoothing: ``(1 - eps) w_y (-log p_y) + (eps / C) sum_c w_c (-log p_c)``."""
    if convention == "sklearn":
        raise _refuse(convention, "label_smoothing_ce")
    return _index_ce(x, convention, "label_smoothing_ce", label_smoothing)


# --- focal --------------------------------------------------------------------------------------------------

def focal(x: ClsInput, convention: str = "lossctl", *, gamma: float = 2.0, alpha: float | None = None,
          label_smoothing: float = 0.0) -> Result:
    r"""Focal loss ``-a_t (1 - p_t)^gamma log p_t`` (Lin et al. 2017): sigmoid focal when the target has the
    prediction's shape, softmax focal for class-index targets.

    ``alpha`` weighs class 1 (``1 - alpha`` class 0); off by default, except under ``torch``
    (torchvision's default 0.25). Under ``keras`` a given ``alpha`` means ``apply_class_balancing=True``."""
    if convention in ("smp", "monai"):
        return _one_vs_rest_focal(x, convention, gamma=gamma, alpha=alpha, label_smoothing=label_smoothing)
    if x.is_multiclass:
        return _focal_multiclass(x, convention, gamma=gamma, alpha=alpha, label_smoothing=label_smoothing)
    _binary_shape(x, "focal")
    _need(x, "focal", "probs", "logits")
    if convention == "sklearn":
        raise _refuse(convention, "focal")
    if convention == "torch":
        _need(x, "focal", "logits")
        _no_option(convention, "focal", "label smoothing", bool(label_smoothing))
        _no_option(convention, "focal", "per-sample weights", x.weights is not None)
    if convention != "lossctl":
        _no_option(convention, "focal", "ignore_index", x.ignore_index is not None)
    valid = x.valid()
    y = np.where(valid, x.target, 0).astype(np.float64)
    if convention == "keras":
        y = _smooth_binary(y, label_smoothing, "keras")
        p = sigmoid(x.pred) if x.kind == "logits" else x.pred
        log_p, log_q = _clip_logs(p, KERAS_EPS, KERAS_HIGH)
        bce_el = -(y * log_p + (1 - y) * log_q)
        p_t = y * p + (1 - y) * (1 - p)
        elements = np.power(1 - p_t, gamma) * bce_el
        if alpha is not None:  # Keras applies alpha only with apply_class_balancing=True
            elements = elements * (y * alpha + (1 - y) * (1 - alpha))
        per_sample = elements.mean(axis=1) if elements.ndim == 2 else elements
        return _reduce(per_sample, x, convention), per_sample
    y = _smooth_binary(y, label_smoothing, "lossctl")
    log_p, log_q = _binary_logs(x, "lossctl")
    bce_el = -(y * log_p + (1 - y) * log_q)
    # 1 - p_t with p_t = y p + (1 - y)(1 - p), computed from logs so that nothing cancels
    one_minus_pt = y * np.exp(log_q) + (1 - y) * np.exp(log_p)
    elements = np.power(one_minus_pt, gamma) * bce_el
    a = alpha
    if convention == "torch" and alpha is None:
        a = 0.25
    if a is not None and a >= 0:
        elements = elements * (a * y + (1 - a) * (1 - y))
    per_sample = elements if elements.ndim == 1 else elements.mean(axis=1)
    if convention == "torch":
        return float(elements.mean()), per_sample
    w = x.sample_weights if elements.ndim == 1 else x.sample_weights[:, None]
    wv = w * valid
    total = wv.sum()
    return (float((wv * elements).sum() / total) if total else float("nan")), per_sample


def _focal_multiclass(x: ClsInput, convention: str, *, gamma: float, alpha: float | None,
                      label_smoothing: float) -> Result:
    _need(x, "focal", "probs", "logits")
    labels = _int_labels(x, "focal")
    n, c = x.pred.shape
    valid = x.valid_samples()
    safe = np.where(valid, labels, 0)
    if convention in ("torch", "sklearn"):
        raise _refuse(convention, "multiclass focal")
    if convention == "keras":
        _no_option(convention, "focal", "ignore_index", x.ignore_index is not None)
        a = 0.25 if alpha is None else alpha
        q = _one_hot(safe, c)
        if label_smoothing:
            q = q * (1 - label_smoothing) + label_smoothing / c
        p = np.exp(x.log_softmax) if x.kind == "logits" else x.pred
        p = np.clip(p / p.sum(axis=1, keepdims=True), KERAS_EPS, KERAS_HIGH)
        per_sample = (a * np.power(1 - p, gamma) * (-q * np.log(p))).sum(axis=1)
        return _reduce(per_sample, x, convention), per_sample
    _no_option(convention, "focal", "label smoothing", bool(label_smoothing))
    logp = _categorical_logs(x, "lossctl")
    logp_y = logp[np.arange(n), safe]
    per_sample = -np.power(-np.expm1(logp_y), gamma) * logp_y
    if alpha is not None:
        raise UsageError("a scalar alpha applies to binary focal only; weigh classes with class weights",
                         option="class_weights")
    if x.class_weights is not None:
        per_sample = per_sample * x.class_weights[safe]
    per_sample = np.where(valid, per_sample, 0.0)
    return _weighted_mean(per_sample, x.sample_weights * valid), per_sample


def _one_vs_rest_focal(x: ClsInput, convention: str, *, gamma: float, alpha: float | None,
                       label_smoothing: float) -> Result:
    """smp ``FocalLoss`` and MONAI ``FocalLoss`` (sigmoid, its default): sigmoid focal per element, on one-hot
    targets for class indices.

    smp: probabilities become pseudo-logits (``logit(clamp(p))``, or ``log(clamp(p))`` for class indices),
    ignored samples are removed, a multiclass loss is the mean over classes of each class's mean (weighted by
    class weights when given). MONAI: logits only, the focusing factor is ``sigmoid(-x (2t - 1))^gamma``
    (equal to ``(1 - p_t)^gamma`` for 0/1 targets), the mean runs over every element, but with ignored samples
    it divides by the number of valid samples, not samples x classes (MONAI's masked mean).
    """
    _need(x, "focal", "probs", "logits")
    _no_option(convention, "focal", "label smoothing", bool(label_smoothing))
    _no_option(convention, "focal", "per-sample weights", x.weights is not None)
    if convention == "monai":
        _need(x, "focal", "logits")
        _no_option(convention, "focal", "class weights", x.class_weights is not None)
    valid = x.valid()
    multiclass = x.pred.ndim == 2 and x.target.ndim == 1  # one-hot rows are channels here, as in smp/MONAI
    if multiclass:
        labels = _int_labels(x, "focal")
        rows = valid
        targets = _one_hot(np.where(valid, labels, 0), x.pred.shape[1])[rows]
        pred = x.pred[rows]
    else:
        _binary_shape(x, "focal")
        if convention == "monai":
            _no_option(convention, "focal", "ignore_index", x.ignore_index is not None)
        targets = np.where(valid, x.target, 0).astype(np.float64)
        pred = x.pred
    if x.kind == "probs":  # smp's from_logits=False
        p = np.clip(pred, KERAS_EPS, 1 - KERAS_EPS)
        logits = np.log(p) if multiclass else np.log(p) - np.log1p(-p)
    else:
        logits = pred
    log_p, log_q = log_sigmoid(logits), log_sigmoid(-logits)
    bce = -(targets * log_p + (1 - targets) * log_q)
    if convention == "monai":
        factor = np.exp(gamma * log_sigmoid(-logits * (2 * targets - 1)))
    else:
        factor = np.power(targets * np.exp(log_q) + (1 - targets) * np.exp(log_p), gamma)
    elements = factor * bce
    if alpha is not None and alpha >= 0:
        elements = elements * (alpha * targets + (1 - alpha) * (1 - targets))
    if multiclass:
        per_sample = np.zeros(x.n)
        per_sample[rows] = elements.mean(axis=1)
        if not rows.any():
            return float("nan"), per_sample
        if convention == "monai":
            scale = elements.size if x.ignore_index is None else int(rows.sum())
            return float(elements.sum() / scale), per_sample
        per_class = elements.mean(axis=0)
        if x.class_weights is not None:
            return float((x.class_weights * per_class).sum() / x.class_weights.sum()), per_sample
        return float(per_class.mean()), per_sample
    mask = valid.astype(np.float64)
    per_sample = elements if elements.ndim == 1 else (elements * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    count = mask.sum()
    return (float((elements * mask).sum() / count) if count else float("nan")), per_sample


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


def _binary_hinge(x: ClsInput, convention: str, loss: str, power: int) -> Result:
    _binary_shape(x, loss, signed=True)
    if convention in ("torch", "smp", "monai") or (convention == "sklearn" and power == 2):
        raise _refuse(convention, loss)
    _no_option(convention, loss, "ignore_index", x.ignore_index is not None)
    if convention == "sklearn" and x.pred.ndim != 1:
        raise _refuse(convention, f"multilabel {loss}")
    margin = _signed_labels(x, loss) * x.pred
    elements = np.maximum(0.0, 1.0 - margin) ** power
    per_sample = elements if elements.ndim == 1 else elements.mean(axis=1)
    return _reduce(per_sample, x, convention), per_sample


def hinge(x: ClsInput, convention: str = "lossctl") -> Result:
    r"""Binary hinge ``max(0, 1 - y f)`` with ``y`` in {-1, +1} (0/1 targets map to -1/+1)."""
    return _binary_hinge(x, convention, "hinge", 1)


def squared_hinge(x: ClsInput, convention: str = "lossctl") -> Result:
    r"""Squared hinge ``max(0, 1 - y f)^2``."""
    return _binary_hinge(x, convention, "squared_hinge", 2)


HINGE_DEFAULTS = {"lossctl": "crammer_singer", "sklearn": "crammer_singer", "torch": "weston_watkins",
                  "keras": "keras_categorical"}


def multiclass_hinge(x: ClsInput, convention: str = "lossctl", *, hinge: str | None = None,
                     squared: bool = False) -> Result:
    r"""Multiclass hinge: Crammer-Singer ``max(0, 1 - f_y + max_{j != y} f_j)``, Weston-Watkins
    ``sum_{j != y} max(0, 1 - f_y + f_j)`` (torch divides by C), or Keras' categorical hinge
    ``max(0, 1 + max_j (1 - q_j) f_j - f_y)``."""
    if convention not in HINGE_DEFAULTS:
        raise _refuse(convention, "multiclass_hinge")
    flavour = hinge or HINGE_DEFAULTS[convention]
    allowed = {"lossctl": ("crammer_singer", "weston_watkins"), "sklearn": ("crammer_singer",),
               "torch": ("weston_watkins",), "keras": ("keras_categorical",)}[convention]
    if flavour not in allowed:
        raise NotAvailable(f"convention {convention} has no {flavour} multiclass hinge; it has "
                           f"{', '.join(allowed)}")
    _no_option(convention, "multiclass_hinge", "squared hinge", squared and convention == "sklearn")
    _no_option(convention, "multiclass_hinge", "ignore_index", x.ignore_index is not None)
    labels = _int_labels(x, "multiclass_hinge")
    n, c = x.pred.shape
    f = x.pred
    f_y = f[np.arange(n), labels]
    power = 2 if squared else 1
    if flavour == "keras_categorical":
        neg = ((1 - _one_hot(labels, c)) * f).max(axis=1)
        per_sample = np.maximum(0.0, 1.0 + neg - f_y) ** power
        return _reduce(per_sample, x, convention), per_sample
    if flavour == "crammer_singer":
        others = np.where(_one_hot(labels, c) == 1, -np.inf, f).max(axis=1)
        per_sample = np.maximum(0.0, 1.0 - (f_y - others)) ** power
        return _weighted_mean(per_sample, x.sample_weights), per_sample
    margins = np.maximum(0.0, 1.0 - f_y[:, None] + f) ** power
    margins[np.arange(n), labels] = 0.0
    if convention == "torch":
        _no_option(convention, "multiclass_hinge", "per-sample weights", x.weights is not None)
        w_y = 1.0 if x.class_weights is None else x.class_weights[labels]
        per_sample = w_y * margins.sum(axis=1) / c
        return float(per_sample.mean()), per_sample
    per_sample = margins.sum(axis=1)
    return _weighted_mean(per_sample, x.sample_weights), per_sample
