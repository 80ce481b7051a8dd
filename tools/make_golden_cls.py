#!/usr/bin/env python
"""Generate golden values for lossctl's classification losses, per convention preset.

The expected values come from the real reference libraries (torch, keras 3 on the
torch backend, scikit-learn, segmentation_models_pytorch, monai, torchvision),
none of which is a project dependency.  Run this script with the side venv:

    make golden          # or: $REFPY tools/make_golden_cls.py, with KERAS_BACKEND=torch

It writes (relative to the repository root):

    tests/golden/cls_inputs.npz   inputs: "<id>/pred", "<id>/target", optional
                                  "<id>/weights" (per-sample) and "<id>/class_weights"
    tests/golden/cls.json         cases, expected values, provenance

This script never imports lossctl.  Conventions "torch", "keras", "sklearn",
"smp" and "monai" are generated; lossctl's own convention is not.

Precision
* torch / torchvision / smp / sklearn references run in float64 on float64 inputs.
* Keras computes in its default floatx, float32 (we deliberately do NOT call
  keras.config.set_floatx("float64"), which changes its results).  Keras cases
  are fed float32 arrays, which are the arrays stored in the npz, and are marked
  float32_bound=true.
* monai.losses.FocalLoss.forward casts input/target to float32 (``input.float()``).
  We run a copy of that forward whose source differs only by those two casts
  (removed) in float64, and cross-check the unpatched class in float32 (5e-5).

Every expected value is recomputed by an independent NumPy implementation of the
formula written in the project's reference definitions (sections 0-5, 9); the
two must agree to 1e-9 (relative to max(1, |value|)) for float64 references and
to 1e-5 for Keras (float64 re-implementation of Keras's formula on the fed float32
inputs, with Keras's clip bounds rounded to float32), or the script aborts.

Reference quirks handled here (see the "note" entries in cls.json):
* smp/__init__.py imports torchvision (broken in the side venv): smp's losses
  modules are loaded from the installed files with stub parent packages;
  torchvision's ops/focal_loss.py is loaded alone from the wheel in
  $REFENV_BUILD/tv/ (make refenv).
* smp ``SoftCrossEntropyLoss(smooth_factor=None)`` (its default) raises
  TypeError (``None / C``); plain sparse CE is run with ``smooth_factor=0.0``.
* smp ``FocalLoss`` class_weights are converted to float32 and monai's scalar
  ``alpha`` factor list is built as float32: only dyadic weights/alphas are used.
* Keras's per-sample value for a 1-D (N,) input is the mean over the whole vector
  (axis=-1 is the batch axis), so binary Keras cases are fed as (N, 1).
* Keras BinaryFocalCrossentropy(from_logits=True) takes sigmoid(x) in float32 and
  then 1 - p: for wrong-side logits with |x| in ~[8, 16] the result depends on the
  backend's float32 sigmoid rounding (1 ulp = up to ~1e-2 in one element's loss),
  so no float64 formula reproduces it to 1e-5.  No golden case sits in that regime
  (the large-logit case agrees to ~4e-6).
* Combinations a library lacks or refuses are listed under "not_generated" in cls.json.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the keras import

import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import keras  # noqa: E402
import monai.losses.focal_loss as monai_focal_mod  # noqa: E402
import numpy as np  # noqa: E402
import scipy.special  # noqa: E402
import sklearn.metrics as skm  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

OUT_DIR = references.GOLDEN_DIR
SEED = 20261203
COMMAND = "make golden (tools/make_golden_cls.py in the reference venv)"
TOL64 = 1e-9
TOL32 = 1e-5
F64 = torch.float64

warnings.filterwarnings("ignore")

assert keras.backend.backend() == "torch", keras.backend.backend()
assert keras.config.floatx() == "float32", keras.config.floatx()
KERAS_EPS = keras.config.epsilon()  # 1e-7
# Keras clips probabilities in float32: these are the bounds it really uses.
K_LO = float(np.float32(KERAS_EPS))
K_HI = float(np.float32(1.0 - KERAS_EPS))


# --------------------------------------------------------------------------
# The references (loaded by tools/references.py, which says why and how)
# --------------------------------------------------------------------------

SMP_DIR, SMP = references.load_smp_losses(("constants", "_functional", "soft_bce", "soft_ce", "focal"))
TV_WHEEL, TV_VERSION, TV_FOCAL = references.load_torchvision_focal()
MonaiFocal64 = references.make_monai_focal64()
VERSIONS = references.versions(
    ("torch", "keras", "keras_backend", "keras_floatx", "scikit-learn", "segmentation_models_pytorch", "monai",
     "torchvision", "numpy", "scipy"), TV_VERSION
)


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


class Case:
    def __init__(self, loss, conv, input, desc, pred, target, params, ignore_index=None, weights=None,
                 class_weights=None, note=""):
        self.loss, self.conv, self.input, self.desc = loss, conv, input, desc
        self.pred = np.asarray(pred)
        self.target = np.asarray(target)
        self.params = dict(params)
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.weights = None if weights is None else np.asarray(weights)
        self.class_weights = None if class_weights is None else np.asarray(class_weights, dtype=np.float64)
        self.notes = [note] if note else []
        self.id = None

    @property
    def f32(self):
        return self.conv == "keras"


CASES: list[Case] = []


def add(*a, **kw):
    c = Case(*a, **kw)
    if c.f32:  # what Keras is fed (and what is stored)
        c.pred = c.pred.astype(np.float32)
        if c.target.dtype.kind == "f":
            c.target = c.target.astype(np.float32)
        if c.weights is not None:
            c.weights = c.weights.astype(np.float32)
    else:
        c.pred = c.pred.astype(np.float64)
        if c.weights is not None:
            c.weights = c.weights.astype(np.float64)
    CASES.append(c)
    return c


def T(a):
    """numpy -> torch without changing the dtype (float64 stays float64, int64 stays int64)."""
    return torch.from_numpy(np.ascontiguousarray(a))


def fl(t):
    return float(t.detach().cpu().double()) if isinstance(t, torch.Tensor) else float(t)


def tolist(t):
    a = t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    return a.tolist()


def kfl(t):
    return float(keras.ops.convert_to_numpy(t).astype(np.float64))


def klist(t):
    return keras.ops.convert_to_numpy(t).astype(np.float64).tolist()


def kw_str(**kw):
    return ", ".join(f"{k}={v}" for k, v in kw.items() if v is not None)


# --------------------------------------------------------------------------
# NumPy building blocks (independent of every reference)
# --------------------------------------------------------------------------


def np_sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def np_logsigmoid(x):
    return -np.logaddexp(0.0, -x)


def np_bce_logits(x, y, pw=1.0):
    """Stable BCE with logits, torch form with pos_weight (definitions §1.2)."""
    return (1.0 - y) * x + (1.0 + (pw - 1.0) * y) * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0.0))


def np_log_softmax(x):
    m = x.max(axis=-1, keepdims=True)
    return x - (m + np.log(np.exp(x - m).sum(axis=-1, keepdims=True)))


def np_softmax(x):
    return np.exp(np_log_softmax(x))


def f64(a):
    return np.asarray(a, dtype=np.float64)


def take(a, idx):
    return a[np.arange(a.shape[0]), idx]


# --------------------------------------------------------------------------
# bce / weighted_bce
# --------------------------------------------------------------------------


def torch_weight_arg(c, x):
    if c.weights is None:
        return {}, None
    w = T(c.weights)
    if x.ndim == 2:
        return {"weight": w[:, None]}, "weights[:, None]"
    return {"weight": w}, "weights"


def pos_weight_tensor(pw, ndim):
    if isinstance(pw, (list, tuple)):
        return T(np.asarray(pw, dtype=np.float64)), "torch.tensor(pos_weight, dtype=float64)"
    return torch.tensor([float(pw)], dtype=F64), f"torch.tensor([{pw}], dtype=float64)"


def ref_torch_bce(c):
    x, y = T(c.pred), T(c.target)
    kw, wstr = torch_weight_arg(c, x)
    pw = c.params.get("pos_weight")
    if c.input == "probs":
        assert pw is None and not c.params.get("label_smoothing")
        mk = lambda **r: torch.nn.BCELoss(**kw, **r)  # noqa: E731
        name = "torch.nn.BCELoss"
        kws = kw_str(weight=wstr)
    else:
        if pw is not None:
            kw["pos_weight"], pws = pos_weight_tensor(pw, x.ndim)
        else:
            pws = None
        mk = lambda **r: torch.nn.BCEWithLogitsLoss(**kw, **r)  # noqa: E731
        name = "torch.nn.BCEWithLogitsLoss"
        kws = kw_str(weight=wstr, pos_weight=pws)
    val = mk()(x, y)
    per = mk(reduction="none")(x, y)
    return fl(val), tolist(per), f"{name}({kws})(pred, target)"


def np_torch_bce(c):
    x, y = f64(c.pred), f64(c.target)
    if c.input == "probs":
        with np.errstate(divide="ignore"):
            l = -(y * np.maximum(np.log(x), -100.0) + (1 - y) * np.maximum(np.log1p(-x), -100.0))
    else:
        pw = c.params.get("pos_weight")
        l = np_bce_logits(x, y, 1.0 if pw is None else f64(pw))
    if c.weights is not None:
        w = f64(c.weights)
        l = l * (w[:, None] if l.ndim == 2 else w)
    return float(l.mean())


def ref_smp_bce(c):
    assert c.input == "logits"
    x, y = T(c.pred), T(c.target)
    kw, wstr = torch_weight_arg(c, x)
    pw = c.params.get("pos_weight")
    pws = None
    if pw is not None:
        kw["pos_weight"], pws = pos_weight_tensor(pw, x.ndim)
    s = c.params.get("label_smoothing") or None
    mk = lambda **r: SMP["soft_bce"].SoftBCEWithLogitsLoss(  # noqa: E731
        ignore_index=c.ignore_index, smooth_factor=s, **kw, **r)
    val = mk()(x, y)
    per = mk(reduction="none")(x, y)
    kws = f"weight={wstr}, " if wstr else ""
    kws += f"ignore_index={c.ignore_index}, smooth_factor={s}" + (f", pos_weight={pws}" if pws else "")
    return fl(val), tolist(per), f"segmentation_models_pytorch.losses.SoftBCEWithLogitsLoss({kws})(pred, target)"


def np_smp_bce(c):
    x, y = f64(c.pred), f64(c.target)
    s = c.params.get("label_smoothing") or 0.0
    ys = (1 - y) * s + y * (1 - s)  # 1 -> 1-s, 0 -> s (definitions §1.5)
    pw = c.params.get("pos_weight")
    l = np_bce_logits(x, ys, 1.0 if pw is None else f64(pw))
    if c.weights is not None:
        w = f64(c.weights)
        l = l * (w[:, None] if l.ndim == 2 else w)
    if c.ignore_index is not None:
        l = l * (y != c.ignore_index)
    return float(l.mean())  # ÷ ALL elements, ignored included


def keras_2d(a):
    return a if a.ndim == 2 else a[:, None]


def keras_call(loss_cls, c, yt, yp, **kw):
    sw = c.weights
    val = loss_cls(**kw)(yt, yp, sample_weight=sw)
    per = loss_cls(reduction=None, **kw)(yt, yp, sample_weight=sw)
    return kfl(val), klist(per)


def ref_keras_bce(c):
    ls = c.params.get("label_smoothing", 0.0)
    kw = dict(from_logits=c.input == "logits", label_smoothing=ls)
    val, per = keras_call(keras.losses.BinaryCrossentropy, c, keras_2d(c.target), keras_2d(c.pred), **kw)
    sh = "" if c.pred.ndim == 2 else "[:, None]"
    sw = ", sample_weight=weights" if c.weights is not None else ""
    return val, per, (f"keras.losses.BinaryCrossentropy(from_logits={kw['from_logits']}, label_smoothing={ls})"
                      f"(target{sh}, pred{sh}{sw})")


def keras_reduce(per_sample, c, valid=None):
    """Keras sum_over_batch_size: Σ w·l / N, or / N_valid under a mask (definitions §0)."""
    w = np.ones(per_sample.shape[0]) if c.weights is None else f64(c.weights)
    if valid is None:
        return float((w * per_sample).sum() / per_sample.shape[0])
    return float((w * per_sample * valid).sum() / valid.sum())


def np_keras_bce(c, lo=K_LO, hi=K_HI):
    x, y = keras_2d(f64(c.pred)), keras_2d(f64(c.target))
    ls = c.params.get("label_smoothing", 0.0)
    y = y * (1 - ls) + 0.5 * ls
    if c.input == "logits":
        l = np_bce_logits(x, y)
    else:
        p = np.clip(x, lo, hi)
        l = -(y * np.log(p) + (1 - y) * np.log(1 - p))
    return keras_reduce(l.mean(axis=-1), c)


def ref_sklearn_bce(c):
    assert c.pred.ndim == 1
    p = c.pred if c.input == "probs" else scipy.special.expit(c.pred)
    y = c.target.astype(np.int64)
    val = skm.log_loss(y, p, sample_weight=c.weights, labels=[0, 1])
    pre = "" if c.input == "probs" else "p = scipy.special.expit(pred); "
    sw = ", sample_weight=weights" if c.weights is not None else ""
    return float(val), None, pre + f"sklearn.metrics.log_loss(target.astype(int), {'pred' if c.input == 'probs' else 'p'}{sw}, labels=[0, 1])"


def np_sklearn_bce(c, stable=False):
    """For logits the reference's own preprocessing p = expit(x) is reproduced
    (1 - expit(x) cancels for large x); stable=True instead uses exact
    log-sigmoids (still clipped at eps), to measure that effect."""
    y = f64(c.target)
    eps = np.finfo(np.float64).eps
    if c.input == "logits" and stable:
        x = f64(c.pred)
        lp = np.stack([np_logsigmoid(-x), np_logsigmoid(x)], axis=1)
        l = -np.clip(take(lp, y.astype(np.int64)), np.log(eps), np.log1p(-eps))
        return float(np.average(l, weights=c.weights))
    p = f64(c.pred) if c.input == "probs" else scipy.special.expit(f64(c.pred))
    P = np.clip(np.stack([1 - p, p], axis=1), eps, 1 - eps)  # [1-p, p] first, then clip both
    l = -np.log(take(P, y.astype(np.int64)))
    return float(np.average(l, weights=c.weights))


# --------------------------------------------------------------------------
# cce / sparse_cce / label_smoothing_ce
# --------------------------------------------------------------------------


def torch_eff_logits(c):
    """logits as given, or clamp(log p, min=-100) for probabilities."""
    x = T(c.pred)
    if c.input == "probs":
        return torch.clamp(torch.log(x), min=-100.0), "torch.clamp(torch.log(pred), min=-100)"
    return x, "pred"


def np_eff_logp(c):
    """log-probabilities as the torch references see them: NLLLoss takes
    max(log p, -100) as is, CrossEntropyLoss log-softmaxes it again."""
    if c.input == "probs":
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(f64(c.pred)), -100.0)
        return lp if (c.loss == "sparse_cce") else np_log_softmax(lp)
    return np_log_softmax(f64(c.pred))


def ref_torch_ce(c):
    """cce (probability targets), sparse_cce and label_smoothing_ce (index targets)."""
    x, xs = torch_eff_logits(c)
    kw, parts = {}, []
    if c.class_weights is not None:
        kw["weight"] = T(c.class_weights)
        parts.append("weight=class_weights")
    if c.ignore_index is not None:
        kw["ignore_index"] = c.ignore_index
        parts.append(f"ignore_index={c.ignore_index}")
    ls = c.params.get("label_smoothing", 0.0)
    if c.loss == "sparse_cce" and c.input == "probs":
        assert not ls
        cls, name = torch.nn.NLLLoss, "torch.nn.NLLLoss"
    else:
        kw["label_smoothing"] = ls
        parts.append(f"label_smoothing={ls}")
        cls, name = torch.nn.CrossEntropyLoss, "torch.nn.CrossEntropyLoss"
    y = T(c.target)
    val = cls(**kw)(x, y)
    per = cls(reduction="none", **kw)(x, y)
    return fl(val), tolist(per), f"{name}({', '.join(parts)})({xs}, target)"


def np_torch_ce(c):
    lp = np_eff_logp(c)
    N, C = lp.shape
    w = np.ones(C) if c.class_weights is None else c.class_weights
    eps = c.params.get("label_smoothing", 0.0)
    if c.target.ndim == 2:  # probability targets: Σ_n Σ_c w_c q'_c (-log p_c) / N, no renormalisation
        q = f64(c.target) * (1 - eps) + eps / C
        return float((-(q * w * lp).sum(axis=1)).mean())
    y = c.target.astype(np.int64)
    valid = np.ones(N, bool) if c.ignore_index is None else (y != c.ignore_index)
    yv, lpv = y[valid], lp[valid]
    nll = -take(lpv, yv) * w[yv]
    smooth = -(lpv * w).sum(axis=1)
    den = w[yv].sum()  # Σ_valid w_y (= N_valid without weights)
    return float(((1 - eps) * nll + (eps / C) * smooth).sum() / den)


def keras_onehot(c):
    C = c.pred.shape[1]
    if c.target.ndim == 2:
        return c.target, "target"
    return np.eye(C, dtype=np.float32)[c.target], f"np.eye({C}, dtype='float32')[target]"


def ref_keras_cce(c):
    ls = c.params.get("label_smoothing", 0.0)
    kw = dict(from_logits=c.input == "logits", label_smoothing=ls)
    yt, ys = keras_onehot(c)
    val, per = keras_call(keras.losses.CategoricalCrossentropy, c, yt, c.pred, **kw)
    sw = ", sample_weight=weights" if c.weights is not None else ""
    return val, per, (f"keras.losses.CategoricalCrossentropy(from_logits={kw['from_logits']}, label_smoothing={ls})"
                      f"({ys}, pred{sw})")


def np_keras_logp(c, lo=K_LO, hi=K_HI):
    x = f64(c.pred)
    if c.input == "logits":
        return np_log_softmax(x)
    p = x / x.sum(axis=-1, keepdims=True)  # Keras renormalises probabilities
    return np.log(np.clip(p, lo, hi))


def np_keras_cce(c, lo=K_LO, hi=K_HI):
    C = c.pred.shape[1]
    q = f64(keras_onehot(c)[0])
    ls = c.params.get("label_smoothing", 0.0)
    q = q * (1 - ls) + ls / C
    return keras_reduce(-(q * np_keras_logp(c, lo, hi)).sum(axis=1), c)


def ref_keras_scce(c):
    kw = dict(from_logits=c.input == "logits", ignore_class=c.ignore_index)
    val, per = keras_call(keras.losses.SparseCategoricalCrossentropy, c, c.target, c.pred, **kw)
    sw = ", sample_weight=weights" if c.weights is not None else ""
    return val, per, (f"keras.losses.SparseCategoricalCrossentropy(from_logits={kw['from_logits']}, "
                      f"ignore_class={c.ignore_index})(target, pred{sw})")


def np_keras_scce(c, lo=K_LO, hi=K_HI):
    y = c.target.astype(np.int64)
    valid = None if c.ignore_index is None else (y != c.ignore_index).astype(np.float64)
    yy = y if valid is None else np.where(valid > 0, y, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        l = -take(np_keras_logp(c, lo, hi), yy)
    if valid is not None:
        l = np.where(valid > 0, l, 0.0)
    return keras_reduce(l, c, valid)


def sk_probs(c):
    if c.input == "probs":
        return c.pred, ""
    return scipy.special.softmax(c.pred, axis=1), "p = scipy.special.softmax(pred, axis=1); "


def ref_sklearn_ce(c):
    C = c.pred.shape[1]
    p, pre = sk_probs(c)
    if c.target.ndim == 2:
        y = np.argmax(c.target, axis=1)
        ys = "target.argmax(axis=1)"
    else:
        y = c.target
        ys = "target"
    val = skm.log_loss(y, p, sample_weight=c.weights, labels=list(range(C)))
    sw = ", sample_weight=weights" if c.weights is not None else ""
    return float(val), None, pre + f"sklearn.metrics.log_loss({ys}, {'p' if pre else 'pred'}{sw}, labels=range({C}))"


def np_sklearn_ce(c):
    p = f64(c.pred) if c.input == "probs" else np_softmax(f64(c.pred))
    y = np.argmax(c.target, axis=1) if c.target.ndim == 2 else c.target.astype(np.int64)
    eps = np.finfo(np.float64).eps
    l = -np.log(np.clip(take(p, y), eps, 1 - eps))  # clip, no renormalisation (sklearn >= 1.5)
    return float(np.average(l, weights=c.weights))


def ref_smp_ce(c):
    assert c.input == "logits"
    s = c.params.get("label_smoothing", 0.0)
    mk = lambda **r: SMP["soft_ce"].SoftCrossEntropyLoss(  # noqa: E731
        smooth_factor=s, ignore_index=c.ignore_index, **r)
    x, y = T(c.pred), T(c.target)
    val = mk()(x, y)
    per = mk(reduction="none")(x, y).reshape(-1)
    return fl(val), tolist(per), (f"segmentation_models_pytorch.losses.SoftCrossEntropyLoss(smooth_factor={s}, "
                                  f"ignore_index={c.ignore_index})(pred, target)")


def np_smp_ce(c):
    lp = np_log_softmax(f64(c.pred))
    N, C = lp.shape
    s = c.params.get("label_smoothing", 0.0)
    y = c.target.astype(np.int64)
    valid = np.ones(N, bool) if c.ignore_index is None else (y != c.ignore_index)
    nll = np.where(valid, -take(lp, np.where(valid, y, 0)), 0.0)
    smooth = np.where(valid, -lp.sum(axis=1), 0.0)
    return float((1 - s) * nll.mean() + (s / C) * smooth.mean())  # ÷ ALL N (definitions §2.3)


# --------------------------------------------------------------------------
# focal
# --------------------------------------------------------------------------


def ref_torch_focal(c):
    assert c.input == "logits" and c.pred.shape == c.target.shape
    a = c.params["alpha"]
    a_arg = -1 if a is None else a
    g = c.params["gamma"]
    x, y = T(c.pred), T(c.target)
    val = TV_FOCAL.sigmoid_focal_loss(x, y, alpha=a_arg, gamma=g, reduction="mean")
    per = TV_FOCAL.sigmoid_focal_loss(x, y, alpha=a_arg, gamma=g, reduction="none")
    return fl(val), tolist(per), (f"torchvision.ops.sigmoid_focal_loss(pred, target, alpha={a_arg}, gamma={g}, "
                                  f"reduction='mean')")


def np_torch_focal(c):
    x, y = f64(c.pred), f64(c.target)
    g, a = c.params["gamma"], c.params["alpha"]
    ce = np_bce_logits(x, y)
    p = np_sigmoid(x)
    pt = p * y + (1 - p) * (1 - y)
    l = ce * (1 - pt) ** g
    if a is not None:
        l = l * (a * y + (1 - a) * (1 - y))
    return float(l.mean())


def ref_keras_focal(c):
    g, a = c.params["gamma"], c.params["alpha"]
    ls = c.params.get("label_smoothing", 0.0)
    fr = c.input == "logits"
    sw = ", sample_weight=weights" if c.weights is not None else ""
    if c.target.ndim == 1 and c.pred.ndim == 2:  # multiclass
        yt, ys = keras_onehot(c)
        kw = dict(alpha=a, gamma=g, from_logits=fr, label_smoothing=ls)
        val, per = keras_call(keras.losses.CategoricalFocalCrossentropy, c, yt, c.pred, **kw)
        return val, per, (f"keras.losses.CategoricalFocalCrossentropy(alpha={a}, gamma={g}, from_logits={fr}, "
                          f"label_smoothing={ls})({ys}, pred{sw})")
    bal = c.params["apply_class_balancing"]
    kw = dict(apply_class_balancing=bal, alpha=a, gamma=g, from_logits=fr, label_smoothing=ls)
    val, per = keras_call(keras.losses.BinaryFocalCrossentropy, c, keras_2d(c.target), keras_2d(c.pred), **kw)
    sh = "" if c.pred.ndim == 2 else "[:, None]"
    return val, per, (f"keras.losses.BinaryFocalCrossentropy(apply_class_balancing={bal}, alpha={a}, gamma={g}, "
                      f"from_logits={fr}, label_smoothing={ls})(target{sh}, pred{sh}{sw})")


def np_keras_focal(c, lo=K_LO, hi=K_HI):
    """float64 re-implementation of Keras's formula (sigmoid/softmax in float64)."""
    g, a = c.params["gamma"], c.params["alpha"]
    ls = c.params.get("label_smoothing", 0.0)
    if c.target.ndim == 1 and c.pred.ndim == 2:
        C = c.pred.shape[1]
        q = f64(keras_onehot(c)[0]) * (1 - ls) + ls / C
        x = f64(c.pred)
        p = np_softmax(x) if c.input == "logits" else x
        p = np.clip(p / p.sum(axis=1, keepdims=True), lo, hi)
        l = (a * (1 - p) ** g * (-q * np.log(p))).sum(axis=1)
        return keras_reduce(l, c)
    x, y = keras_2d(f64(c.pred)), keras_2d(f64(c.target))
    y = y * (1 - ls) + 0.5 * ls
    p = np_sigmoid(x) if c.input == "logits" else x
    pc = np.clip(p, lo, hi)
    bce = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    pt = y * p + (1 - y) * (1 - p)  # unclipped p
    l = (1 - pt) ** g * bce
    if c.params["apply_class_balancing"]:
        l = l * (y * a + (1 - y) * (1 - a))
    return keras_reduce(l.mean(axis=-1), c)


def ref_smp_focal(c):
    g, a = c.params["gamma"], c.params["alpha"]
    mode = c.params["mode"]
    fr = c.input == "logits"
    cw = None if c.class_weights is None else c.class_weights.tolist()
    assert all(float(np.float32(v)) == v for v in (cw or [])), "smp casts class_weights to float32"
    mk = lambda **r: SMP["focal"].FocalLoss(mode=mode, alpha=a, gamma=g, ignore_index=c.ignore_index,  # noqa: E731
                                            from_logits=fr, class_weights=cw, **r)
    x, y = T(c.pred), T(c.target)
    val = mk()(x, y)
    per = None
    if mode == "binary" and c.ignore_index is None:  # multiclass/multilabel: class_losses.mean() even for "none"
        per = tolist(mk(reduction="none")(x, y).reshape(c.pred.shape))
    kws = kw_str(mode=repr(mode), alpha=a, gamma=g, ignore_index=c.ignore_index, from_logits=fr,
                 class_weights="class_weights.tolist()" if cw else None)
    return fl(val), per, f"segmentation_models_pytorch.losses.FocalLoss({kws})(pred, target)"


def np_smp_focal(c):
    g, a = c.params["gamma"], c.params["alpha"]
    eps = 1e-7
    x = f64(c.pred)
    if c.input == "probs":
        p = np.clip(x, eps, 1 - eps)
        x = np.log(p / (1 - p)) if c.params["mode"] != "multiclass" else np.log(p)

    def fo(xx, yy):
        logpt = np_bce_logits(xx, yy)
        l = (1 - np.exp(-logpt)) ** g * logpt
        if a is not None:
            l = l * (a * yy + (1 - a) * (1 - yy))
        return l.mean()

    if c.params["mode"] == "multiclass":  # one-vs-rest sigmoid focal per class, then class mean
        y = c.target.astype(np.int64)
        valid = np.ones(y.shape, bool) if c.ignore_index is None else (y != c.ignore_index)
        Ls = np.array([fo(x[valid, k], (y[valid] == k).astype(np.float64)) for k in range(x.shape[1])])
        if c.class_weights is not None:
            return float((Ls * c.class_weights).sum() / c.class_weights.sum())
        return float(Ls.mean())
    y = f64(c.target)
    if c.params["mode"] == "multilabel":
        return float(np.mean([fo(x[:, k], y[:, k]) for k in range(x.shape[1])]))
    x, y = x.reshape(-1), y.reshape(-1)
    if c.ignore_index is not None:
        keep = y != c.ignore_index
        x, y = x[keep], y[keep]
    return float(fo(x, y))


def monai_inputs(c):
    """(N, C) logits; target (N, C) for sigmoid-on-same-shape, (N, 1) labels for to_onehot_y."""
    x = T(c.pred)
    if c.pred.ndim == 1:
        x = x[:, None]
    if c.target.ndim == 1 and c.pred.ndim == 2:
        return x, T(c.target)[:, None], True, "pred, target[:, None]"
    y = T(c.target)
    if c.target.ndim == 1:
        return x, y[:, None], False, "pred[:, None], target[:, None]"
    return x, y, False, "pred, target"


def ref_monai_focal(c):
    g, a = c.params["gamma"], c.params["alpha"]
    sm = c.params["use_softmax"]
    x, y, onehot, args = monai_inputs(c)
    kw = dict(to_onehot_y=onehot, gamma=g, alpha=a, use_softmax=sm, ignore_index=c.ignore_index)
    if c.class_weights is not None:
        kw["weight"] = T(c.class_weights)
    val = MonaiFocal64(**kw)(x, y)
    per = MonaiFocal64(reduction="none", **kw)(x, y)
    # cross-check: the unpatched class (float32 internally)
    chk = monai_focal_mod.FocalLoss(**kw)(x, y)
    assert abs(fl(chk) - fl(val)) <= 5e-5 * max(1.0, abs(fl(val))), (c.id, fl(chk), fl(val))
    kws = kw_str(to_onehot_y=onehot, gamma=g, alpha=a, use_softmax=sm, ignore_index=c.ignore_index,
                 weight="class_weights" if c.class_weights is not None else None)
    ref = (f"monai.losses.FocalLoss({kws}, reduction='mean')({args})  [float64: FocalLoss.forward source with its "
           f"two .float() casts removed; the unpatched float32 class agrees to 5e-5]")
    return fl(val), tolist(per), ref


def np_monai_focal(c):
    g, a = c.params["gamma"], c.params["alpha"]
    x = f64(c.pred)
    if x.ndim == 1:
        x = x[:, None]
    N, C = x.shape
    valid = np.ones(N, bool)
    if c.target.ndim == 1 and c.pred.ndim == 2:
        y = c.target.astype(np.int64)
        if c.ignore_index is not None:
            valid = y != c.ignore_index
        t = np.eye(C)[np.where(valid, y, 0)] * valid[:, None]
    else:
        t = f64(c.target).reshape(N, -1)
    if c.params["use_softmax"]:
        lp = np_log_softmax(x)
        l = -(1 - np.exp(lp)) ** g * lp * t
        if a is not None:
            l = l * np.array([1 - a] + [a] * (C - 1))
    else:
        l = (x - x * t - np_logsigmoid(x)) * np.exp(g * np_logsigmoid(-x * (2 * t - 1)))
        if a is not None:
            l = l * (t * a + (1 - t) * (1 - a))
    l = l * valid[:, None]
    if c.class_weights is not None:
        l = l * c.class_weights
    if c.ignore_index is not None:
        return float(l.sum() / valid.sum())  # ÷ number of valid positions (NOT × C)
    return float(l.mean())  # ÷ N·C


# --------------------------------------------------------------------------
# hinge / squared_hinge / multiclass_hinge
# --------------------------------------------------------------------------


def ref_sklearn_hinge(c):
    sw = ", sample_weight=weights" if c.weights is not None else ""
    if c.loss == "multiclass_hinge":
        C = c.pred.shape[1]
        val = skm.hinge_loss(c.target, c.pred, labels=list(range(C)), sample_weight=c.weights)
        return float(val), None, f"sklearn.metrics.hinge_loss(target, pred, labels=range({C}){sw})"
    val = skm.hinge_loss(c.target, c.pred, sample_weight=c.weights)
    return float(val), None, f"sklearn.metrics.hinge_loss(target, pred{sw})"


def np_sklearn_hinge(c):
    f = f64(c.pred)
    if c.loss == "multiclass_hinge":  # Crammer-Singer
        y = c.target.astype(np.int64)
        fy = take(f, y)
        other = np.where(np.eye(f.shape[1], dtype=bool)[y], -np.inf, f).max(axis=1)
        l = np.maximum(0.0, 1 - (fy - other))
    else:
        y = np.where(c.target == c.target.max(), 1.0, -1.0)  # greater label -> +1
        l = np.maximum(0.0, 1 - y * f)
    return float(np.average(l, weights=c.weights))


def ref_keras_hinge(c):
    sw = ", sample_weight=weights" if c.weights is not None else ""
    if c.loss == "multiclass_hinge":
        yt, ys = keras_onehot(c)
        val, per = keras_call(keras.losses.CategoricalHinge, c, yt, c.pred)
        return val, per, f"keras.losses.CategoricalHinge()({ys}, pred{sw})"
    cls = keras.losses.SquaredHinge if c.loss == "squared_hinge" else keras.losses.Hinge
    val, per = keras_call(cls, c, keras_2d(c.target), keras_2d(c.pred))
    return val, per, f"keras.losses.{cls.__name__}()(target[:, None], pred[:, None]{sw})"


def np_keras_hinge(c):
    f = f64(c.pred)
    if c.loss == "multiclass_hinge":
        y = f64(keras_onehot(c)[0])
        pos = (y * f).sum(axis=1)
        neg = ((1 - y) * f).max(axis=1)
        return keras_reduce(np.maximum(0.0, neg - pos + 1), c)
    y = f64(c.target)
    if np.all((y == 0) | (y == 1)):
        y = 2 * y - 1
    l = np.maximum(0.0, 1 - y * f)
    if c.loss == "squared_hinge":
        l = l**2
    return keras_reduce(l, c)


def ref_torch_mmargin(c):
    p = 2 if c.params.get("squared") else 1
    kw = {"p": p, "margin": 1.0}
    if c.class_weights is not None:
        kw["weight"] = T(c.class_weights)
    x, y = T(c.pred), T(c.target)
    val = torch.nn.MultiMarginLoss(**kw)(x, y)
    per = torch.nn.MultiMarginLoss(reduction="none", **kw)(x, y)
    ws = ", weight=class_weights" if c.class_weights is not None else ""
    return fl(val), tolist(per), f"torch.nn.MultiMarginLoss(p={p}, margin=1.0{ws})(pred, target)"


def np_torch_mmargin(c):
    f = f64(c.pred)
    N, C = f.shape
    y = c.target.astype(np.int64)
    p = 2 if c.params.get("squared") else 1
    w = np.ones(C) if c.class_weights is None else c.class_weights
    m = np.maximum(0.0, 1 - take(f, y)[:, None] + f) ** p
    m[np.arange(N), y] = 0.0
    return float((w[y] * m.sum(axis=1) / C).mean())  # weight outside the power, ÷ C


# --------------------------------------------------------------------------
# dispatch
# --------------------------------------------------------------------------

REF = {
    ("bce", "torch"): ref_torch_bce, ("bce", "keras"): ref_keras_bce, ("bce", "sklearn"): ref_sklearn_bce,
    ("bce", "smp"): ref_smp_bce,
    ("weighted_bce", "torch"): ref_torch_bce, ("weighted_bce", "smp"): ref_smp_bce,
    ("cce", "torch"): ref_torch_ce, ("cce", "keras"): ref_keras_cce, ("cce", "sklearn"): ref_sklearn_ce,
    ("sparse_cce", "torch"): ref_torch_ce, ("sparse_cce", "keras"): ref_keras_scce,
    ("sparse_cce", "sklearn"): ref_sklearn_ce, ("sparse_cce", "smp"): ref_smp_ce,
    ("label_smoothing_ce", "torch"): ref_torch_ce, ("label_smoothing_ce", "keras"): ref_keras_cce,
    ("label_smoothing_ce", "smp"): ref_smp_ce,
    ("focal", "torch"): ref_torch_focal, ("focal", "keras"): ref_keras_focal, ("focal", "smp"): ref_smp_focal,
    ("focal", "monai"): ref_monai_focal,
    ("hinge", "sklearn"): ref_sklearn_hinge, ("hinge", "keras"): ref_keras_hinge,
    ("squared_hinge", "keras"): ref_keras_hinge,
    ("multiclass_hinge", "sklearn"): ref_sklearn_hinge, ("multiclass_hinge", "torch"): ref_torch_mmargin,
    ("multiclass_hinge", "keras"): ref_keras_hinge,
}
NUMPY = {
    ("bce", "torch"): np_torch_bce, ("bce", "keras"): np_keras_bce, ("bce", "sklearn"): np_sklearn_bce,
    ("bce", "smp"): np_smp_bce,
    ("weighted_bce", "torch"): np_torch_bce, ("weighted_bce", "smp"): np_smp_bce,
    ("cce", "torch"): np_torch_ce, ("cce", "keras"): np_keras_cce, ("cce", "sklearn"): np_sklearn_ce,
    ("sparse_cce", "torch"): np_torch_ce, ("sparse_cce", "keras"): np_keras_scce,
    ("sparse_cce", "sklearn"): np_sklearn_ce, ("sparse_cce", "smp"): np_smp_ce,
    ("label_smoothing_ce", "torch"): np_torch_ce, ("label_smoothing_ce", "keras"): np_keras_cce,
    ("label_smoothing_ce", "smp"): np_smp_ce,
    ("focal", "torch"): np_torch_focal, ("focal", "keras"): np_keras_focal, ("focal", "smp"): np_smp_focal,
    ("focal", "monai"): np_monai_focal,
    ("hinge", "sklearn"): np_sklearn_hinge, ("hinge", "keras"): np_keras_hinge,
    ("squared_hinge", "keras"): np_keras_hinge,
    ("multiclass_hinge", "sklearn"): np_sklearn_hinge, ("multiclass_hinge", "torch"): np_torch_mmargin,
    ("multiclass_hinge", "keras"): np_keras_hinge,
}
# Keras formulas re-run with the *unrounded* float64 clip bounds, to measure the float32 clip effect.
KERAS_CLIP_VARIANT = {
    ("bce", "keras"): np_keras_bce, ("cce", "keras"): np_keras_cce, ("sparse_cce", "keras"): np_keras_scce,
    ("label_smoothing_ce", "keras"): np_keras_cce, ("focal", "keras"): np_keras_focal,
}


# --------------------------------------------------------------------------
# Input generation (deterministic)
# --------------------------------------------------------------------------

RNG = np.random.default_rng(SEED)


def rn(lo=6, hi=40):
    return int(RNG.integers(lo, hi + 1))


def bin_target(shape, soft=False, only=None):
    if soft:
        y = np.round(RNG.random(shape), 3)
        y.flat[0], y.flat[1] = 0.0, 1.0
        return y
    if only is not None:
        return np.full(shape, float(only))
    while True:
        y = RNG.integers(0, 2, size=shape).astype(np.float64)
        if 0 < y.sum() < y.size:
            return y


def bin_logits(y, large=False, scale=2.0, bonus=1.0):
    yc = np.clip(y, 0.0, 1.0)
    if not large:
        return RNG.normal(0.0, scale, size=y.shape) + bonus * (2 * yc - 1)
    x = RNG.uniform(-40.0, 40.0, size=y.shape)
    f, yf = x.reshape(-1), yc.reshape(-1)
    right = lambda v: 40.0 if v >= 0.5 else -40.0  # noqa: E731
    f[0] = right(yf[0])      # confidently right
    f[1] = -right(yf[1])     # confidently wrong
    f[2] = 0.9 * right(yf[2])
    f[3] = -0.9 * right(yf[3])
    return x


def saturate_bin(p, y, frac_right=0.25, frac_wrong=0.1):
    """exact 0/1 probabilities, right and wrong, each kind at least once for
    y == 1 and for y == 0 (the rest random)."""
    p, yc = p.copy(), np.clip(y, 0.0, 1.0).round()
    r = RNG.random(p.shape)
    rf, yf = r.reshape(-1), yc.reshape(-1)
    pos, neg = np.flatnonzero(yf == 1), np.flatnonzero(yf == 0)
    assert len(pos) >= 2 and len(neg) >= 2
    rf[pos[0]] = rf[neg[0]] = 0.0            # right: p == y
    rf[pos[-1]] = rf[neg[-1]] = frac_right   # wrong: p == 1 - y
    right = r < frac_right
    wrong = (r >= frac_right) & (r < frac_right + frac_wrong)
    p[right] = yc[right]
    p[wrong] = 1.0 - yc[wrong]
    return p


def with_ignore(y, value, frac=0.2):
    y = y.copy()
    m = RNG.random(y.shape) < frac
    m.flat[int(RNG.integers(2, y.size))] = True
    m.flat[0] = m.flat[1] = False
    y[m] = value
    return y


def mc_target(N, C, absent=(), ignore=None, frac=0.2):
    """every class not in `absent` occurs among the non-ignored samples."""
    classes = [k for k in range(C) if k not in absent]
    while True:
        y = RNG.choice(classes, size=N).astype(np.int64)
        if ignore is not None:
            y = with_ignore(y, ignore, frac)
        if len(np.unique(y[(y >= 0) & (y < C)])) == len(classes):
            return y


def mc_logits(y, C, large=False, scale=2.0, bonus=1.5):
    N = y.shape[0]
    yc = np.where((y >= 0) & (y < C), y, 0)
    if not large:
        x = RNG.normal(0.0, scale, size=(N, C))
        x[np.arange(N), yc] += bonus
        return x
    x = RNG.uniform(-40.0, 40.0, size=(N, C))
    x[0] = -40.0
    x[0, yc[0]] = 40.0            # confidently right
    x[1] = 40.0
    x[1, yc[1]] = -40.0           # confidently wrong
    x[2, yc[2]] = 39.0
    return x


def softmax64(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def saturate_mc(p, y):
    """rows one-hot on the right class (row 0), on a wrong class (row 1), and a
    0 at a non-target class (row 2), plus random others."""
    p = p.copy()
    N, C = p.shape
    yc = np.where((y >= 0) & (y < C), y, 0)
    r = RNG.random(N)
    r[0], r[1], r[2] = 0.0, 0.25, 0.55
    for n in range(N):
        if r[n] < 0.2:
            p[n] = 0.0
            p[n, yc[n]] = 1.0
        elif r[n] < 0.3:
            k = (yc[n] + 1 + RNG.integers(C - 1)) % C
            p[n] = 0.0
            p[n, k] = 1.0
        elif 0.5 <= r[n] < 0.7:
            k = (yc[n] + 1 + RNG.integers(C - 1)) % C
            p[n, k] = 0.0
            p[n] /= p[n].sum()
    return p


def onehot(y, C):
    return np.eye(C)[y]


def dirichlet(N, C):
    return RNG.dirichlet(np.ones(C), size=N)


def sample_weights(N):
    return np.round(RNG.uniform(0.2, 3.0, size=N), 2)


CW = {2: [0.75, 2.0], 3: [0.5, 2.0, 1.25], 4: [1.5, 0.5, 2.0, 0.75], 5: [0.5, 2.0, 1.25, 0.75, 3.0]}

SAT_NOTE_TORCH = "exact 0/1 probabilities incl. confidently wrong ones: torch clamps each log at -100"
SAT_NOTE_KERAS = ("exact 0/1 probabilities incl. confidently wrong ones: Keras clips to [1e-7, 1-1e-7] in float32 "
                  "(1-1e-7 -> 1-2**-23), so a wrong 0/1 costs -log(1.1920929e-7) = 15.942 (p=1,y=0) or "
                  "-log(float32(1e-7)) = 16.118 (p=0,y=1)")
SAT_NOTE_SK = "exact 0/1 probabilities incl. confidently wrong ones: sklearn clips to [eps, 1-eps], eps = 2.22e-16 (-> 36.04)"
LARGE_NOTE = "logits uniform in [-40, 40], with confidently right and wrong entries at |x| = 40"


# --------------------------------------------------------------------------
# Case catalogue
# --------------------------------------------------------------------------


def build_bce():
    L = "bce"
    # ---------------- torch ----------------
    P = {"label_smoothing": 0.0}
    N = rn(); y = bin_target(N)
    add(L, "torch", "probs", "probs_binary", np_sigmoid(bin_logits(y)), y, P)
    N = rn(); y = bin_target(N)
    add(L, "torch", "probs", "probs_binary_weights", np_sigmoid(bin_logits(y)), y, P, weights=sample_weights(N))
    N = rn(); y = bin_target((N, 4))
    add(L, "torch", "probs", "probs_multilabel_C4_weights", np_sigmoid(bin_logits(y)), y, P,
        weights=sample_weights(N), note="per-sample weights broadcast over the class axis (weight=weights[:, None])")
    N = rn(); y = bin_target(N)
    add(L, "torch", "probs", "probs_binary_saturated", saturate_bin(np_sigmoid(bin_logits(y)), y), y, P,
        note=SAT_NOTE_TORCH)
    N = rn(); y = bin_target((N, 3), soft=True)
    add(L, "torch", "probs", "probs_multilabel_C3_soft", np_sigmoid(bin_logits(y)), y, P, note="soft targets in [0, 1]")
    N = rn(); y = bin_target((N, 3))
    add(L, "torch", "probs", "probs_multilabel_C3_saturated_weights", saturate_bin(np_sigmoid(bin_logits(y)), y), y, P,
        weights=sample_weights(N), note=SAT_NOTE_TORCH)
    N = rn(); y = bin_target(N)
    add(L, "torch", "logits", "logits_binary", bin_logits(y), y, P)
    N = rn(); y = bin_target((N, 5))
    add(L, "torch", "logits", "logits_multilabel_C5_weights", bin_logits(y), y, P, weights=sample_weights(N),
        note="per-sample weights broadcast over the class axis (weight=weights[:, None])")
    N = rn(); y = bin_target(N)
    add(L, "torch", "logits", "logits_binary_large", bin_logits(y, large=True), y, P, note=LARGE_NOTE)
    N = rn(); y = bin_target((N, 3), soft=True)
    add(L, "torch", "logits", "logits_multilabel_C3_soft_large_weights", bin_logits(y, large=True), y, P,
        weights=sample_weights(N), note=LARGE_NOTE + "; soft targets")
    # ---------------- keras ----------------
    for inp, desc, shape, ls, w, extra in (
        ("probs", "probs_binary", None, 0.0, False, ""),
        ("probs", "probs_binary_weights", None, 0.0, True, ""),
        ("probs", "probs_binary_saturated", None, 0.0, False, "sat"),
        ("probs", "probs_multilabel_C4_weights", 4, 0.0, True, ""),
        ("probs", "probs_binary_ls0.1", None, 0.1, False, ""),
        ("probs", "probs_multilabel_C3_soft", 3, 0.0, False, "soft"),
        ("probs", "probs_multilabel_C2_saturated_ls0.1_weights", 2, 0.1, True, "sat"),
        ("logits", "logits_binary", None, 0.0, False, ""),
        ("logits", "logits_multilabel_C3_ls0.2_weights", 3, 0.2, True, ""),
        ("logits", "logits_binary_large", None, 0.0, False, "large"),
        ("logits", "logits_multilabel_C5_large_soft_weights", 5, 0.0, True, "large_soft"),
    ):
        N = rn()
        shp = N if shape is None else (N, shape)
        y = bin_target(shp, soft="soft" in extra)
        x = bin_logits(y, large="large" in extra)
        pred = x if inp == "logits" else np_sigmoid(x)
        note = ""
        if extra == "sat":
            pred = saturate_bin(pred, y)
            note = SAT_NOTE_KERAS
        elif "large" in extra:
            note = LARGE_NOTE + " (torch backend: stable binary_cross_entropy_with_logits)"
        if "soft" in extra:
            note = (note + "; " if note else "") + "soft targets"
        if shape is None:
            note = (note + "; " if note else "") + "fed to Keras as (N, 1)"
        add(L, "keras", inp, desc, pred, y, {"label_smoothing": ls}, weights=sample_weights(N) if w else None, note=note)
    # ---------------- sklearn ----------------
    for inp, desc, large, w, sat, only in (
        ("probs", "probs_binary", False, False, False, None),
        ("probs", "probs_binary_weights", False, True, False, None),
        ("probs", "probs_binary_saturated", False, False, True, None),
        ("probs", "probs_binary_all_positive", False, True, False, 1),
        ("logits", "logits_binary_expit", False, False, False, None),
        ("logits", "logits_binary_large_expit_weights", True, True, False, None),
    ):
        N = rn()
        y = bin_target(N, only=only)
        x = bin_logits(y, large=large)
        pred = x if inp == "logits" else np_sigmoid(x)
        note = ""
        if sat:
            pred = saturate_bin(pred, y)
            note = SAT_NOTE_SK
        if inp == "logits":
            note = "sklearn has no logits input: probabilities = scipy.special.expit(logits)"
            if large:
                note += ("; " + LARGE_NOTE + ": expit(40) == 1.0 in float64, so a confidently wrong logit costs "
                         "-log(2.22e-16) = 36.04 (clip), not 40")
        if only is not None:
            note = "class 0 absent from the targets (labels=[0, 1] passed)"
        add(L, "sklearn", inp, desc, pred, y, {"label_smoothing": 0.0}, weights=sample_weights(N) if w else None,
            note=note)
    # ---------------- smp (logits only) ----------------
    N = rn(); y = bin_target(N)
    add(L, "smp", "logits", "logits_binary", bin_logits(y), y, {"label_smoothing": 0.0})
    N = rn(); y = bin_target((N, 3))
    add(L, "smp", "logits", "logits_multilabel_C3_weights", bin_logits(y), y, {"label_smoothing": 0.0},
        weights=sample_weights(N), note="weight=weights[:, None]")
    N = rn(); y = bin_target(N)
    add(L, "smp", "logits", "logits_binary_ls0.1", bin_logits(y), y, {"label_smoothing": 0.1},
        note="smp smoothing: 1 -> 1-s, 0 -> s")
    N = rn(); y = bin_target(N); yi = with_ignore(y, -100)
    add(L, "smp", "logits", "logits_binary_ign-100", bin_logits(y), yi, {"label_smoothing": 0.0}, ignore_index=-100,
        note="ignored entries are zeroed but the mean divides by ALL elements")
    N = rn(); y = bin_target((N, 4)); yi = with_ignore(y, -100, 0.15)
    add(L, "smp", "logits", "logits_multilabel_C4_ign-100_ls0.05_weights", bin_logits(y), yi, {"label_smoothing": 0.05},
        ignore_index=-100, weights=sample_weights(N),
        note="weight=weights[:, None]; ignored entries zeroed, mean over all N*C elements")
    N = rn(); y = bin_target((N, 3))
    add(L, "smp", "logits", "logits_multilabel_C3_large", bin_logits(y, large=True), y, {"label_smoothing": 0.0},
        note=LARGE_NOTE)
    N = rn(); y = bin_target(N, soft=True)
    add(L, "smp", "logits", "logits_binary_soft", bin_logits(y), y, {"label_smoothing": 0.0}, note="soft targets")


def build_weighted_bce():
    L = "weighted_bce"
    N = rn(); y = bin_target(N)
    add(L, "torch", "logits", "logits_binary_pw3", bin_logits(y), y, {"pos_weight": 3.0})
    N = rn(); y = bin_target((N, 4))
    add(L, "torch", "logits", "logits_multilabel_C4_pwvec", bin_logits(y), y, {"pos_weight": [0.5, 2.0, 4.0, 1.0]},
        note="pos_weight per class, broadcast along the last (class) axis")
    N = rn(); y = bin_target((N, 3))
    add(L, "torch", "logits", "logits_multilabel_C3_pwvec_weights", bin_logits(y), y, {"pos_weight": [2.0, 0.25, 1.5]},
        weights=sample_weights(N), note="weight=weights[:, None] multiplies both terms, pos_weight only the positive one")
    N = rn(); y = bin_target(N)
    add(L, "torch", "logits", "logits_binary_large_pw2.5", bin_logits(y, large=True), y, {"pos_weight": 2.5},
        note=LARGE_NOTE)
    N = rn(); y = bin_target(N, soft=True)
    add(L, "torch", "logits", "logits_binary_soft_pw0.5_weights", bin_logits(y), y, {"pos_weight": 0.5},
        weights=sample_weights(N), note="soft targets")
    N = rn(); y = bin_target(N)
    add(L, "smp", "logits", "logits_binary_pw3", bin_logits(y), y, {"pos_weight": 3.0, "label_smoothing": 0.0})
    N = rn(); y = bin_target((N, 4)); yi = with_ignore(y, -100, 0.15)
    add(L, "smp", "logits", "logits_multilabel_C4_pwvec_ign-100", bin_logits(y), yi,
        {"pos_weight": [0.5, 2.0, 4.0, 1.0], "label_smoothing": 0.0}, ignore_index=-100,
        note="ignored entries zeroed, mean over all N*C elements")
    N = rn(); y = bin_target(N)
    add(L, "smp", "logits", "logits_binary_pw2_ls0.1_weights", bin_logits(y), y,
        {"pos_weight": 2.0, "label_smoothing": 0.1}, weights=sample_weights(N),
        note="pos_weight multiplies the smoothed positive term")
    N = rn(); y = bin_target((N, 3))
    add(L, "smp", "logits", "logits_multilabel_C3_large_pw4", bin_logits(y, large=True), y,
        {"pos_weight": 4.0, "label_smoothing": 0.0}, note=LARGE_NOTE)


def build_cce():
    L = "cce"
    PROBS_NOTE_TORCH = ("torch has no probability input for CrossEntropyLoss: logits = torch.clamp(torch.log(p), min=-100), "
                        "so log_softmax(logits) = log p - log(sum p) ~= log p")
    # ---------------- torch (probability targets) ----------------
    for inp, desc, C, soft, cw, ls, extra in (
        ("logits", "logits_C3_onehot", 3, False, False, 0.0, ""),
        ("logits", "logits_C4_soft", 4, True, False, 0.0, ""),
        ("logits", "logits_C5_onehot_cw", 5, False, True, 0.0, ""),
        ("logits", "logits_C4_soft_cw_ls0.1", 4, True, True, 0.1, ""),
        ("logits", "logits_C3_onehot_large_ls0.2", 3, False, False, 0.2, "large"),
        ("logits", "logits_C4_onehot_absent2_cw", 4, False, True, 0.0, "absent"),
        ("logits", "logits_C2_onehot", 2, False, False, 0.0, ""),
        ("probs", "probs_C3_onehot", 3, False, False, 0.0, ""),
        ("probs", "probs_C4_onehot_saturated", 4, False, False, 0.0, "sat"),
        ("probs", "probs_C5_soft_cw_ls0.1", 5, True, True, 0.1, ""),
    ):
        N = rn()
        y = mc_target(N, C, absent=(2,) if extra == "absent" else ())
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = []
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0: log p clamped at -100")
        if inp == "probs":
            note.append(PROBS_NOTE_TORCH)
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 2 absent from the targets")
        tgt = dirichlet(N, C) if soft else onehot(y, C)
        note.append("probability targets: weighted sum divided by N (weights not renormalised)" if cw
                    else "probability targets")
        add(L, "torch", inp, desc, pred, tgt, {"label_smoothing": ls}, class_weights=CW[C] if cw else None,
            note="; ".join(note))
    # ---------------- keras ----------------
    for inp, desc, C, soft, w, ls, extra in (
        ("probs", "probs_C3_onehot", 3, False, False, 0.0, ""),
        ("probs", "probs_C4_onehot_weights", 4, False, True, 0.0, ""),
        ("probs", "probs_C3_onehot_saturated", 3, False, False, 0.0, "sat"),
        ("probs", "probs_C5_soft_ls0.1", 5, True, False, 0.1, ""),
        ("probs", "probs_C5_onehot_absent4_weights", 5, False, True, 0.0, "absent"),
        ("logits", "logits_C2_onehot", 2, False, False, 0.0, ""),
        ("logits", "logits_C4_soft_ls0.2_weights", 4, True, True, 0.2, ""),
        ("logits", "logits_C3_onehot_large", 3, False, False, 0.0, "large"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(4,) if extra == "absent" else ())
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = []
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0: Keras renormalises rows, then clips to "
                        "[1e-7, 1-1e-7] in float32 (p_y = 0 costs -log(float32(1e-7)) = 16.118)")
        elif inp == "probs":
            note.append("float32 probabilities; Keras renormalises each row (p / sum p) and clips to [1e-7, 1-1e-7]")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 4 absent from the targets")
        if soft:
            note.append("soft targets")
        add(L, "keras", inp, desc, pred, dirichlet(N, C) if soft else onehot(y, C), {"label_smoothing": ls},
            weights=sample_weights(N) if w else None, note="; ".join(note))
    # ---------------- sklearn (one-hot targets only) ----------------
    for inp, desc, C, w, extra in (
        ("probs", "probs_C3_onehot", 3, False, ""),
        ("probs", "probs_C4_onehot_weights", 4, True, ""),
        ("probs", "probs_C3_onehot_saturated", 3, False, "sat"),
        ("probs", "probs_C4_onehot_absent1", 4, False, "absent"),
        ("logits", "logits_C5_onehot_softmax", 5, False, ""),
        ("logits", "logits_C3_onehot_large_softmax_weights", 3, True, "large"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(1,) if extra == "absent" else ())
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = ["y_true = argmax of the one-hot target"]
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0: sklearn clips to [eps, 1-eps] (-> 36.04), no renormalisation")
        if inp == "logits":
            note.append("sklearn has no logits input: probabilities = scipy.special.softmax(logits, axis=1)")
        if extra == "large":
            note.append(LARGE_NOTE + "; p_y = exp(-80) is clipped at eps = 2.22e-16 (-> 36.04)")
        if extra == "absent":
            note.append("class 1 absent from the targets (labels=range(C) passed)")
        add(L, "sklearn", inp, desc, pred, onehot(y, C), {"label_smoothing": 0.0},
            weights=sample_weights(N) if w else None, note="; ".join(note))


def build_sparse_cce():
    L = "sparse_cce"
    PN = "NLLLoss on torch.clamp(torch.log(p), min=-100)"
    # ---------------- torch ----------------
    for inp, desc, C, cw, ign, extra in (
        ("logits", "logits_C3", 3, False, None, ""),
        ("logits", "logits_C4_cw", 4, True, None, ""),
        ("logits", "logits_C5_ign-100", 5, False, -100, ""),
        ("logits", "logits_C3_cw_ign255", 3, True, 255, ""),
        ("logits", "logits_C4_large_ign-100", 4, False, -100, "large"),
        ("logits", "logits_C5_absent3_cw", 5, True, None, "absent"),
        ("logits", "logits_C2_cw", 2, True, None, ""),
        ("probs", "probs_C3", 3, False, None, ""),
        ("probs", "probs_C4_saturated_cw", 4, True, None, "sat"),
        ("probs", "probs_C5_cw_ign255", 5, True, 255, ""),
    ):
        N = rn()
        y = mc_target(N, C, absent=(3,) if extra == "absent" else (), ignore=ign)
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = []
        if inp == "probs":
            note.append(PN)
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0 (-log clamped at 100)")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 3 absent from the targets")
        if cw:
            note.append("weighted mean: divided by the sum of the target-class weights of the non-ignored samples")
        add(L, "torch", inp, desc, pred, y, {}, ignore_index=ign, class_weights=CW[C] if cw else None,
            note="; ".join(note))
    # ---------------- keras ----------------
    for inp, desc, C, w, ign, extra in (
        ("probs", "probs_C3", 3, False, None, ""),
        ("probs", "probs_C4_weights", 4, True, None, ""),
        ("probs", "probs_C3_saturated", 3, False, None, "sat"),
        ("probs", "probs_C4_ign255_weights", 4, True, 255, ""),
        ("logits", "logits_C5", 5, False, None, ""),
        ("logits", "logits_C4_ign-100_weights", 4, True, -100, ""),
        ("logits", "logits_C3_ign255", 3, False, 255, ""),
        ("logits", "logits_C3_large", 3, False, None, "large"),
        ("logits", "logits_C5_absent0_weights", 5, True, None, "absent"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(0,) if extra == "absent" else (), ignore=ign)
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = []
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0: renormalised then clipped to [1e-7, 1-1e-7] in float32")
        elif inp == "probs":
            note.append("float32 probabilities, renormalised and clipped by Keras")
        if ign is not None:
            note.append("ignore_class: masked entries get loss 0 and the mean divides by the number of VALID samples "
                        "(sample weights are not renormalised)")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 0 absent from the targets")
        add(L, "keras", inp, desc, pred, y, {}, ignore_index=ign, weights=sample_weights(N) if w else None,
            note="; ".join(note))
    # ---------------- sklearn ----------------
    for inp, desc, C, w, extra in (
        ("probs", "probs_C3", 3, False, ""),
        ("probs", "probs_C4_weights", 4, True, ""),
        ("probs", "probs_C3_saturated", 3, False, "sat"),
        ("probs", "probs_C2", 2, False, ""),
        ("probs", "probs_C4_absent2", 4, False, "absent"),
        ("logits", "logits_C5_softmax_weights", 5, True, ""),
    ):
        N = rn()
        y = mc_target(N, C, absent=(2,) if extra == "absent" else ())
        x = mc_logits(y, C)
        pred = x if inp == "logits" else softmax64(x)
        note = []
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0: clipped at eps = 2.22e-16 (-> 36.04)")
        if inp == "logits":
            note.append("sklearn has no logits input: probabilities = scipy.special.softmax(logits, axis=1)")
        if extra == "absent":
            note.append("class 2 absent from the targets (labels=range(C) passed)")
        if C == 2:
            note.append("two-column probabilities (N, 2)")
        add(L, "sklearn", inp, desc, pred, y, {}, weights=sample_weights(N) if w else None, note="; ".join(note))
    # ---------------- smp (logits) ----------------
    for desc, C, ign, extra in (
        ("logits_C3", 3, None, ""),
        ("logits_C4_ign-100", 4, -100, ""),
        ("logits_C5_ign255", 5, 255, ""),
        ("logits_C3_large", 3, None, "large"),
    ):
        N = rn()
        y = mc_target(N, C, ignore=ign)
        note = ["SoftCrossEntropyLoss with smooth_factor=0.0 (its default None raises TypeError)"]
        if ign is not None:
            note.append("ignored samples get loss 0 but the mean divides by ALL N")
        if extra == "large":
            note.append(LARGE_NOTE)
        add(L, "smp", "logits", desc, mc_logits(y, C, large=extra == "large"), y, {}, ignore_index=ign,
            note="; ".join(note))


def build_label_smoothing_ce():
    L = "label_smoothing_ce"
    for inp, desc, C, cw, ign, ls, extra in (
        ("logits", "logits_C3_ls0.1", 3, False, None, 0.1, ""),
        ("logits", "logits_C4_ls0.1_cw", 4, True, None, 0.1, ""),
        ("logits", "logits_C5_ls0.2_ign-100", 5, False, -100, 0.2, ""),
        ("logits", "logits_C3_ls0.1_cw_ign255", 3, True, 255, 0.1, ""),
        ("logits", "logits_C4_ls0.1_large", 4, False, None, 0.1, "large"),
        ("logits", "logits_C5_ls0.15_absent1_cw_ign-100", 5, True, -100, 0.15, "absent"),
        ("logits", "logits_C2_ls0.1_cw", 2, True, None, 0.1, ""),
        ("probs", "probs_C3_ls0.1", 3, False, None, 0.1, ""),
        ("probs", "probs_C4_ls0.1_saturated_cw_ign-100", 4, True, -100, 0.1, "sat"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(1,) if extra == "absent" else (), ignore=ign)
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = ["l = (1-eps)*w_y*(-log p_y) + (eps/C)*sum_c w_c*(-log p_c); mean divides both terms by "
                "sum of w_y over non-ignored samples" if cw else
                "l = (1-eps)*(-log p_y) + (eps/C)*sum_c(-log p_c); mean over non-ignored samples"]
        if inp == "probs":
            note.append("CrossEntropyLoss on torch.clamp(torch.log(p), min=-100)")
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities: zeros become logits of -100 (every class enters the smoothing term)")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 1 absent from the targets")
        add(L, "torch", inp, desc, pred, y, {"label_smoothing": ls}, ignore_index=ign,
            class_weights=CW[C] if cw else None, note="; ".join(note))
    for inp, desc, C, w, ls, extra in (
        ("probs", "probs_C3_ls0.1", 3, False, 0.1, ""),
        ("logits", "logits_C4_ls0.1_weights", 4, True, 0.1, ""),
        ("probs", "probs_C3_ls0.2_saturated", 3, False, 0.2, "sat"),
        ("logits", "logits_C5_ls0.1_large", 5, False, 0.1, "large"),
        ("logits", "logits_C4_ls0.1_absent3_weights", 4, True, 0.1, "absent"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(3,) if extra == "absent" else ())
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = ["CategoricalCrossentropy on the one-hot of the integer targets; q = y*(1-eps) + eps/C"]
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities: renormalised and clipped to [1e-7, 1-1e-7] in float32, so every "
                        "zero costs eps/C * 16.118 instead of infinity")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 3 absent from the targets")
        add(L, "keras", inp, desc, pred, y, {"label_smoothing": ls}, weights=sample_weights(N) if w else None,
            note="; ".join(note))
    for desc, C, ign, ls, extra in (
        ("logits_C3_ls0.1", 3, None, 0.1, ""),
        ("logits_C4_ls0.1_ign-100", 4, -100, 0.1, ""),
        ("logits_C5_ls0.2_ign255", 5, 255, 0.2, ""),
        ("logits_C3_ls0.1_large", 3, None, 0.1, "large"),
    ):
        N = rn()
        y = mc_target(N, C, ignore=ign)
        note = ["loss = (1-s)*mean_n(nll_n) + (s/C)*mean_n(sum_c -log p_c)"]
        if ign is not None:
            note.append("ignored samples zeroed but both means divide by ALL N")
        if extra == "large":
            note.append(LARGE_NOTE)
        add(L, "smp", "logits", desc, mc_logits(y, C, large=extra == "large"), y, {"label_smoothing": ls},
            ignore_index=ign, note="; ".join(note))


def build_focal():
    L = "focal"
    # ---------------- torch: torchvision.ops.sigmoid_focal_loss (binary / multilabel, logits) ----------------
    for desc, C, a, g, extra in (
        ("logits_binary_a0.25_g2", None, 0.25, 2.0, ""),
        ("logits_binary_noalpha_g2", None, None, 2.0, ""),
        ("logits_multilabel_C3_a0.25_g1.5", 3, 0.25, 1.5, ""),
        ("logits_multilabel_C4_noalpha_g0.5", 4, None, 0.5, ""),
        ("logits_binary_large_a0.25_g2", None, 0.25, 2.0, "large"),
        ("logits_multilabel_C3_soft_a0.25_g2", 3, 0.25, 2.0, "soft"),
        ("logits_binary_noalpha_g0", None, None, 0.0, ""),
    ):
        N = rn()
        y = bin_target(N if C is None else (N, C), soft=extra == "soft")
        note = ["alpha=-1 disables the alpha weighting" if a is None else "alpha_t = alpha if y == 1 else 1 - alpha"]
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "soft":
            note.append("soft targets: p_t = p*t + (1-p)*(1-t), alpha_t = alpha*t + (1-alpha)*(1-t)")
        if g == 0.0:
            note.append("gamma = 0 (equals BCE with logits)")
        add(L, "torch", "logits", desc, bin_logits(y, large=extra == "large"), y, {"gamma": g, "alpha": a},
            note="; ".join(note))
    # ---------------- keras binary ----------------
    for inp, desc, C, a, g, bal, ls, w, extra in (
        ("probs", "probs_binary_g2", None, 0.25, 2.0, False, 0.0, False, ""),
        ("probs", "probs_binary_balanced_a0.25_g2_weights", None, 0.25, 2.0, True, 0.0, True, ""),
        ("logits", "logits_binary_g2_ls0.1", None, 0.25, 2.0, False, 0.1, False, ""),
        ("logits", "logits_multilabel_C3_balanced_a0.75_g1.5_weights", 3, 0.75, 1.5, True, 0.0, True, ""),
        ("probs", "probs_multilabel_C4_saturated_balanced_a0.25_g2", 4, 0.25, 2.0, True, 0.0, False, "sat"),
        ("logits", "logits_binary_large_g2", None, 0.25, 2.0, False, 0.0, False, "large"),
        ("logits", "logits_multilabel_C2_balanced_a0.25_g0.5_ls0.2", 2, 0.25, 0.5, True, 0.2, False, ""),
    ):
        N = rn()
        y = bin_target(N if C is None else (N, C))
        x = bin_logits(y, large=extra == "large")
        pred = x if inp == "logits" else np_sigmoid(x)
        note = ["alpha applied only because apply_class_balancing=True" if bal else
                "apply_class_balancing=False: alpha is ignored"]
        if extra == "sat":
            pred = saturate_bin(pred, y)
            note.append(SAT_NOTE_KERAS + "; p_t uses the unclipped p")
        if inp == "logits":
            note.append("from_logits: p = sigmoid(x) in float32, then BCE through the 1e-7 clip path (not log-sum-exp)")
        if extra == "large":
            note.append(LARGE_NOTE + ": float32 sigmoid saturates, a confidently wrong logit costs 15.94/16.12 "
                        "(clip), not 40")
        if ls:
            note.append("label smoothing y*(1-eps) + eps/2, p_t computed with the smoothed y")
        if C is None:
            note.append("fed to Keras as (N, 1)")
        add(L, "keras", inp, desc, pred, y, {"gamma": g, "alpha": a, "apply_class_balancing": bal, "label_smoothing": ls},
            weights=sample_weights(N) if w else None, note="; ".join(note))
    # ---------------- keras multiclass (CategoricalFocalCrossentropy on one-hot) ----------------
    for inp, desc, C, a, g, ls, w, extra in (
        ("probs", "probs_C3_a0.25_g2", 3, 0.25, 2.0, 0.0, False, ""),
        ("logits", "logits_C4_a0.25_g2_weights", 4, 0.25, 2.0, 0.0, True, ""),
        ("logits", "logits_C5_a0.5_g1.5_ls0.1", 5, 0.5, 1.5, 0.1, False, ""),
        ("probs", "probs_C3_saturated_a1_g2", 3, 1.0, 2.0, 0.0, False, "sat"),
        ("logits", "logits_C3_large_a0.25_g2_weights", 3, 0.25, 2.0, 0.0, True, "large"),
    ):
        N = rn()
        y = mc_target(N, C)
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = ["loss = sum_c alpha*(1-p_c)^gamma*(-q_c*log p_c) with p renormalised and clipped to [1e-7, 1-1e-7]; "
                "alpha is a scalar on every class (no 1-alpha term)"]
        if extra == "sat":
            pred = saturate_mc(pred, y)
            note.append("exact 0/1 probabilities incl. p_y == 0 (clip -> 16.118)")
        if extra == "large":
            note.append(LARGE_NOTE + ": softmax in float32 then clip, a confidently wrong row costs "
                        "alpha*16.118 instead of alpha*80")
        add(L, "keras", inp, desc, pred, y, {"gamma": g, "alpha": a, "label_smoothing": ls},
            weights=sample_weights(N) if w else None, note="; ".join(note))
    # ---------------- smp binary / multilabel ----------------
    for inp, desc, C, mode, a, g, ign, extra in (
        ("logits", "logits_binary_g2", None, "binary", None, 2.0, None, ""),
        ("logits", "logits_binary_a0.25_g2_ign-100", None, "binary", 0.25, 2.0, -100, ""),
        ("logits", "logits_multilabel_C3_modebinary_a0.25_g2", 3, "binary", 0.25, 2.0, None, ""),
        ("logits", "logits_multilabel_C4_modemultilabel_g1.5", 4, "multilabel", None, 1.5, None, ""),
        ("probs", "probs_binary_saturated_g2", None, "binary", None, 2.0, None, "sat"),
        ("probs", "probs_multilabel_C3_a0.25_g2_ign-100", 3, "binary", 0.25, 2.0, -100, ""),
        ("logits", "logits_binary_large_a0.25_g2", None, "binary", 0.25, 2.0, None, "large"),
    ):
        N = rn()
        y = bin_target(N if C is None else (N, C))
        x = bin_logits(y, large=extra == "large")
        pred = x if inp == "logits" else np_sigmoid(x)
        note = []
        if extra == "sat":
            pred = saturate_bin(pred, y)
            note.append("exact 0/1 probabilities: from_logits=False clamps p to [1e-7, 1-1e-7] and uses "
                        "log(p/(1-p)) as logits (|x| <= 16.12)")
        elif inp == "probs":
            note.append("from_logits=False: logits = log(p/(1-p)) after clamping p to [1e-7, 1-1e-7]")
        yy = y
        if ign is not None:
            yy = with_ignore(y, -100, 0.15)
            note.append("ignored entries are removed (not zero-weighted) before the mean")
        if mode == "binary" and C is not None:
            note.append("mode='binary' flattens the (N, C) multilabel input: mean over all N*C elements")
        if mode == "multilabel":
            note.append("mode='multilabel': mean over N per class, then mean over classes")
        if extra == "large":
            note.append(LARGE_NOTE)
        note.append("alpha=None: no alpha weighting (smp FocalLoss default)" if a is None
                    else "alpha_t = alpha if y == 1 else 1 - alpha")
        add(L, "smp", inp, desc, pred, yy, {"gamma": g, "alpha": a, "mode": mode}, ignore_index=ign,
            note="; ".join(note))
    # ---------------- smp multiclass (one-vs-rest sigmoid focal) ----------------
    for inp, desc, C, a, g, ign, cw, extra in (
        ("logits", "logits_C3_g2", 3, None, 2.0, None, False, ""),
        ("logits", "logits_C4_a0.25_g2_ign255", 4, 0.25, 2.0, 255, False, ""),
        ("logits", "logits_C5_g2_cw", 5, None, 2.0, None, True, ""),
        ("probs", "probs_C3_g2", 3, None, 2.0, None, False, ""),
        ("logits", "logits_C4_large_g1.5_ign-100", 4, None, 1.5, -100, False, "large"),
        ("logits", "logits_C3_a0.25_g2_absent0_cw_ign-100", 3, 0.25, 2.0, -100, True, "absent"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(0,) if extra == "absent" else (), ignore=ign)
        x = mc_logits(y, C, large=extra == "large")
        pred = x if inp == "logits" else softmax64(x)
        note = ["multiclass = one-vs-rest SIGMOID focal: per class c, mean over samples of focal(x[:, c], y == c); "
                "then the MEAN over classes" + (" weighted: sum_c w_c L_c / sum_c w_c" if cw else "")]
        if inp == "probs":
            note.append("from_logits=False: log(clamp(p, 1e-7, 1-1e-7)) is used as the one-vs-rest SIGMOID logit")
        if ign is not None:
            note.append("ignored samples removed before the per-class means")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 0 absent from the targets (still contributes its all-negative focal term)")
        add(L, "smp", inp, desc, pred, y, {"gamma": g, "alpha": a, "mode": "multiclass"}, ignore_index=ign,
            class_weights=CW[C] if cw else None, note="; ".join(note))
    # ---------------- monai sigmoid, target same shape as pred ----------------
    for desc, C, a, g, extra in (
        ("logits_binary_g2", None, None, 2.0, ""),
        ("logits_multilabel_C3_a0.25_g2", 3, 0.25, 2.0, ""),
        ("logits_multilabel_C4_large_g2", 4, None, 2.0, "large"),
        ("logits_multilabel_C3_soft_a0.25_g2", 3, 0.25, 2.0, "soft"),
    ):
        N = rn()
        y = bin_target(N if C is None else (N, C), soft=extra == "soft")
        note = ["use_softmax=False: BCE * exp(gamma*logsigmoid(-x*(2t-1))); mean over all N*C elements"]
        if C is None:
            note.append("fed as (N, 1)")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "soft":
            note.append("soft targets: MONAI's modulating factor is sigmoid(-x*(2t-1))^gamma, which differs from "
                        "torchvision's (1 - p*t - (1-p)*(1-t))^gamma unless t is 0/1")
        add(L, "monai", "logits", desc, bin_logits(y, large=extra == "large"), y,
            {"gamma": g, "alpha": a, "use_softmax": False}, note="; ".join(note))
    # ---------------- monai multiclass (to_onehot_y=True) ----------------
    for desc, C, a, g, sm, ign, cw, extra in (
        ("logits_C3_softmax_g2", 3, None, 2.0, True, None, False, ""),
        ("logits_C4_softmax_a0.25_g2", 4, 0.25, 2.0, True, None, False, ""),
        ("logits_C3_sigmoid_g2", 3, None, 2.0, False, None, False, ""),
        ("logits_C5_softmax_g2_ign255", 5, None, 2.0, True, 255, False, ""),
        ("logits_C4_softmax_g1.5_cw", 4, None, 1.5, True, None, True, ""),
        ("logits_C4_sigmoid_a0.25_g2_large", 4, 0.25, 2.0, False, None, False, "large"),
        ("logits_C3_sigmoid_g2_ign-100", 3, None, 2.0, False, -100, False, ""),
        ("logits_C2_softmax_a0.75_g2_absent1", 2, 0.75, 2.0, True, None, False, "absent"),
    ):
        N = rn()
        y = mc_target(N, C, absent=(1,) if extra == "absent" else (), ignore=ign)
        note = ["input (N, C) without spatial dims, target (N, 1) with to_onehot_y=True"]
        if sm:
            note.append("use_softmax=True: elementwise -(1-p_c)^gamma*log(p_c)*t_c, 'mean' over all N*C elements "
                        "(i.e. the per-sample softmax focal loss divided by C)")
            if a is not None:
                note.append("alpha: 1-alpha for class 0, alpha for every other class")
        else:
            note.append("use_softmax=False: one-vs-rest sigmoid focal on the one-hot target, mean over N*C")
        if ign is not None:
            note.append("ignore_index: with a mask, 'mean' = sum / (number of valid positions) -- NOT divided by C, "
                        "unlike the unmasked mean")
        if cw:
            note.append("weight (per class) multiplies the elementwise loss before the mean")
        if extra == "large":
            note.append(LARGE_NOTE)
        if extra == "absent":
            note.append("class 1 absent from the targets")
        add(L, "monai", "logits", desc, mc_logits(y, C, large=extra == "large"), y,
            {"gamma": g, "alpha": a, "use_softmax": sm}, ignore_index=ign, class_weights=CW[C] if cw else None,
            note="; ".join(note))


def hinge_scores(y_pm, scale=1.5, bonus=0.5, large=False):
    if large:
        return RNG.uniform(-40, 40, size=y_pm.shape)
    return np.round(RNG.normal(0.0, scale, size=y_pm.shape) + bonus * y_pm, 4)


def build_hinge():
    for conv, loss, desc, labels, w, large in (
        ("sklearn", "hinge", "scores_01", (0, 1), False, False),
        ("sklearn", "hinge", "scores_pm1_weights", (-1, 1), True, False),
        ("sklearn", "hinge", "scores_01_large_weights", (0, 1), True, True),
        ("keras", "hinge", "scores_01", (0, 1), False, False),
        ("keras", "hinge", "scores_pm1_weights", (-1, 1), True, False),
        ("keras", "hinge", "scores_01_weights", (0, 1), True, False),
        ("keras", "squared_hinge", "scores_01", (0, 1), False, False),
        ("keras", "squared_hinge", "scores_pm1_weights", (-1, 1), True, False),
        ("keras", "squared_hinge", "scores_01_weights_large", (0, 1), True, True),
    ):
        N = rn()
        while True:
            y = RNG.choice(labels, size=N).astype(np.int64)
            if len(np.unique(y)) == 2:
                break
        f = hinge_scores(np.where(y == max(labels), 1.0, -1.0), large=large)
        note = []
        if labels == (0, 1):
            note.append("0/1 targets mapped to -1/+1" + (" (greater label -> +1)" if conv == "sklearn"
                                                          else " (Keras converts only if ALL labels are 0/1)"))
        if conv == "keras":
            note.append("fed to Keras as (N, 1)")
        if large:
            note.append("scores uniform in [-40, 40]")
        add(loss, conv, "scores", desc, f, y, {}, weights=sample_weights(N) if w else None, note="; ".join(note))


def build_multiclass_hinge():
    L = "multiclass_hinge"
    for conv, desc, C, w, cw, sq, extra in (
        ("sklearn", "scores_C3", 3, False, False, False, ""),
        ("sklearn", "scores_C4_weights", 4, True, False, False, ""),
        ("sklearn", "scores_C5_absent2", 5, False, False, False, "absent"),
        ("sklearn", "scores_C3_quirkrow", 3, False, False, False, "quirk"),
        ("torch", "scores_C3", 3, False, False, False, ""),
        ("torch", "scores_C4_cw", 4, False, True, False, ""),
        ("torch", "scores_C5_squared", 5, False, False, True, ""),
        ("torch", "scores_C2_squared_cw", 2, False, True, True, ""),
        ("torch", "scores_C4_absent0", 4, False, False, False, "absent"),
        ("keras", "scores_C3_quirkrow", 3, False, False, False, "quirk"),
        ("keras", "scores_C4_weights", 4, True, False, False, ""),
        ("keras", "scores_C2", 2, False, False, False, ""),
        ("keras", "scores_C5_absent4_weights", 5, True, False, False, "absent"),
    ):
        N = rn()
        absent = {"sklearn": (2,), "torch": (0,), "keras": (4,)}[conv] if extra == "absent" else ()
        y = mc_target(N, C, absent=absent)
        f = np.round(RNG.normal(0.0, 1.5, size=(N, C)), 4)
        f[np.arange(N), y] += 0.8
        note = []
        if extra == "quirk":
            y[0] = 1
            f[0] = [-1.0, 0.5, -3.0]
            note.append("row 0 is the definitions.md example f=[-1, 0.5, -3], y=1: Keras 0.5, Crammer-Singer 0")
        if extra == "absent":
            note.append(f"class {absent[0]} absent from the targets")
        if conv == "sklearn":
            hinge = "crammer_singer"
            note.insert(0, "Crammer-Singer: max(0, 1 - (f_y - max_{j!=y} f_j)), weighted mean / sum w")
        elif conv == "torch":
            hinge = "weston_watkins"
            note.insert(0, "Weston-Watkins: sum_{j!=y} w_y*max(0, 1 - f_y + f_j)^p / C (C includes the target class)")
        else:
            hinge = "keras_categorical"
            note.insert(0, "CategoricalHinge on one-hot: max(0, 1 + max_j (1-y_j) f_j - f_y) (true class enters "
                           "the max as 0)")
        params = {"hinge": hinge}
        if conv == "torch":
            params["squared"] = sq
        add(L, conv, "scores", desc, f, y, params, weights=sample_weights(N) if w else None,
            class_weights=CW[C] if cw else None, note="; ".join(note))


# Combinations a reference does not have or refuses (verified against the installed versions).
NOT_GENERATED = [
    {"convention": "torch", "loss": "bce", "what": "label_smoothing, ignore_index",
     "why": "BCELoss / BCEWithLogitsLoss have neither parameter"},
    {"convention": "torch", "loss": "bce (probs)", "what": "per-sample weight of shape (N,) on (N, C) input",
     "why": "weight must broadcast to the input: a (N,) weight broadcasts along the LAST axis and raises for "
            "(N, C) with N != C; pass weights[:, None]"},
    {"convention": "torch", "loss": "cce", "what": "ignore_index with probability targets",
     "why": "CrossEntropyLoss raises 'ignore_index is not supported for floating point target' for ignore_index "
            ">= 0; a negative ignore_index is accepted and silently unused"},
    {"convention": "torch", "loss": "sparse_cce / label_smoothing_ce", "what": "a label equal to 255 without ignore_index=255",
     "why": "IndexError: Target 255 is out of bounds"},
    {"convention": "torch", "loss": "focal", "what": "multiclass (softmax) focal",
     "why": "torchvision only has sigmoid_focal_loss (binary / multilabel, logits)"},
    {"convention": "torch", "loss": "focal", "what": "alpha outside [0, 1] other than -1",
     "why": "torchvision 0.28 raises ValueError (only alpha == -1 disables the weighting)"},
    {"convention": "torch", "loss": "multiclass_hinge", "what": "p > 2, ignore_index",
     "why": "MultiMarginLoss supports only p in {1, 2} and has no ignore_index (a -100 label raises)"},
    {"convention": "keras", "loss": "weighted_bce", "what": "pos_weight", "why": "BinaryCrossentropy has no pos_weight"},
    {"convention": "keras", "loss": "cce / label_smoothing_ce / focal", "what": "ignore_index, class weights",
     "why": "only SparseCategoricalCrossentropy has ignore_class; Keras losses have no class weights "
            "(class_weight exists only in Model.fit, as sample weights)"},
    {"convention": "keras", "loss": "sparse_cce", "what": "label_smoothing",
     "why": "SparseCategoricalCrossentropy has no label_smoothing (use CategoricalCrossentropy on one-hot)"},
    {"convention": "sklearn", "loss": "bce", "what": "multilabel (N, C), soft targets, label_smoothing",
     "why": "log_loss needs label y_true; a multilabel indicator is accepted but scored as -sum_c y log p "
            "(no (1-y) log(1-p) term), i.e. not BCE; soft y_true raises"},
    {"convention": "sklearn", "loss": "cce / sparse_cce", "what": "ignore_index, soft targets, class weights",
     "why": "labels outside `labels` raise ValueError; soft y_true raises"},
    {"convention": "sklearn", "loss": "multiclass_hinge", "what": "C = 2",
     "why": "hinge_loss takes the binary branch for <= 2 labels and raises on (N, 2) decision values"},
    {"convention": "smp", "loss": "sparse_cce", "what": "SoftCrossEntropyLoss() with its default smooth_factor=None",
     "why": "TypeError (None / C); smooth_factor=0.0 is used"},
    {"convention": "smp", "loss": "cce", "what": "probability targets", "why": "SoftCrossEntropyLoss gathers integer targets only"},
    {"convention": "smp", "loss": "bce / weighted_bce / cce / sparse_cce", "what": "probability inputs",
     "why": "SoftBCEWithLogitsLoss / SoftCrossEntropyLoss take logits only"},
    {"convention": "smp", "loss": "focal", "what": "mode='multilabel' with ignore_index",
     "why": "IndexError (the (N, C) mask is applied to a per-class (N,) slice); mode='binary' handles it"},
    {"convention": "smp", "loss": "focal", "what": "class_weights in mode='binary'", "why": "ValueError"},
    {"convention": "monai", "loss": "focal", "what": "probability inputs", "why": "FocalLoss takes logits only"},
]


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def close(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def main():
    build_bce()
    build_weighted_bce()
    build_cce()
    build_sparse_cce()
    build_label_smoothing_ce()
    build_focal()
    build_hinge()
    build_multiclass_hinge()

    counters: dict[tuple, int] = {}
    arrays, out_cases, ids = {}, [], set()
    clip_effects = []
    for c in CASES:
        key = (c.loss, c.conv)
        n = counters.get(key, 0) + 1
        counters[key] = n
        c.id = f"{c.loss}-{c.conv}-{n:03d}-{c.desc}"
        assert c.id not in ids, c.id
        ids.add(c.id)
        assert 6 <= c.pred.shape[0] <= 40, c.id
        expected, per_sample, ref = REF[key](c)
        assert math.isfinite(expected), (c.id, expected)
        # independent NumPy recomputation of the definitions.md formula
        val = NUMPY[key](c)
        tol = TOL32 if c.f32 else TOL64
        assert close(val, expected, tol), (c.id, val, expected, abs(val - expected))
        if c.f32 and key in KERAS_CLIP_VARIANT:
            v64 = KERAS_CLIP_VARIANT[key](c, lo=KERAS_EPS, hi=1.0 - KERAS_EPS)
            d, noise = abs(v64 - expected), abs(val - expected)
            clip_effects.append((c.id, d))
            if d > 1e-6 and d > 10 * noise:
                c.notes.append(
                    f"float32 clip effect: |Keras - float64 re-implementation| = {noise:.2g} with the float32-rounded "
                    f"clip bounds [{K_LO!r}, {K_HI!r}], but {d:.3g} with the unrounded bounds [1e-7, 1-1e-7]")
        if key == ("bce", "sklearn") and c.input == "logits":
            d = abs(np_sklearn_bce(c, stable=True) - expected)
            c.notes.append(f"1 - expit(x) cancels for large x: a stable log-sigmoid version (same eps clip) differs "
                           f"from this value by {d:.3g}")
        if per_sample is not None:
            assert all(math.isfinite(v) for v in np.ravel(per_sample)), c.id
        arrays[f"{c.id}/pred"] = c.pred
        arrays[f"{c.id}/target"] = c.target
        if c.weights is not None:
            arrays[f"{c.id}/weights"] = c.weights
        if c.class_weights is not None:
            arrays[f"{c.id}/class_weights"] = c.class_weights
        out_cases.append({
            "id": c.id,
            "loss": c.loss,
            "convention": c.conv,
            "input": c.input,
            "params": c.params,
            "ignore_index": c.ignore_index,
            "reference": ref,
            "expected": expected,
            "per_sample": per_sample,
            "float32_bound": c.f32,
            "note": "; ".join(c.notes),
        })

    doc = {
        "generated_by": "tools/make_golden_cls.py",
        "command": COMMAND,
        "seed": SEED,
        "versions": VERSIONS,
        "conventions": {
            "arrays": "tests/golden/cls_inputs.npz: '<id>/pred', '<id>/target', optional '<id>/weights' (per-sample, "
                      "shape (N,)) and '<id>/class_weights' (shape (C,)). In 'reference', pred/target/weights/"
                      "class_weights name these arrays (as torch tensors of the same dtype for torch-based "
                      "references, as numpy arrays for sklearn and Keras).",
            "pred": "(N,) binary or (N, C); input 'probs', 'logits' or 'scores' (hinge decision values)",
            "target": "(N,) integer labels (ignore values -100/255 may appear), or (N,) / (N, C) float 0/1, soft or "
                      "one-hot targets; smp bce/focal ignore cases carry -100 entries in a float target",
            "dtype": "float64 everywhere except convention 'keras' (float32_bound=true): Keras runs in its default "
                     "floatx float32 and the stored pred/target/weights are exactly the float32 arrays it was fed",
            "per_sample": "the reference's own unreduced output for the same call (torch/smp reduction='none', "
                          "Keras reduction=None, monai reduction='none'), with weights applied as the library "
                          "applies them, as nested lists in the library's shape ((N,), or (N, C) for elementwise "
                          "losses); null where the library has no unreduced form",
            "checks": "every expected value equals an independent NumPy implementation of the definitions.md "
                      "formula to 1e-9 (relative to max(1, |value|)), or to 1e-5 for Keras",
        },
        "not_generated": NOT_GENERATED,
        "cases": out_cases,
    }
    references.write_golden(OUT_DIR, "cls_inputs.npz", arrays, "cls.json", doc)  # with a round-trip check

    print(f"{len(out_cases)} cases")
    for (loss, conv), v in counters.items():
        print(f"  {loss:20s} {conv:8s} {v}")
    print("versions:", json.dumps(VERSIONS))
    print("keras float32 clip effect (|keras - float64 formula with the unrounded clip bounds| > 1e-5):")
    for cid, d in clip_effects:
        if d > 1e-5:
            print(f"  {cid}: {d:.3g}")
    for f in ("cls_inputs.npz", "cls.json"):
        print(f"  {f}: {os.path.getsize(OUT_DIR / f)} bytes")


if __name__ == "__main__":
    main()
