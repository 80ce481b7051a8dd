#!/usr/bin/env python
"""Generate golden values for lossctl's segmentation losses and metrics.

The expected values come from the real reference libraries (torch,
segmentation_models_pytorch, monai, torchvision, scikit-learn), which are
NOT project dependencies.  Run this script with the side venv:

    make golden          # or: $REFPY tools/make_golden_seg.py, with KERAS_BACKEND=torch

It writes (relative to the repository root):

    tests/golden/seg_inputs.npz   inputs: keys "<case_id>/pred", "<case_id>/target"
    tests/golden/seg.json         cases, expected values, provenance

This script must never import lossctl.  All reference computations are done
with torch.float64 tensors.  Every expected value is additionally recomputed
with an independent NumPy implementation of the lossctl definitions and the two
must agree to 1e-10 (relative to max(1, |value|)) or the script aborts.

Reference quirks handled here (see also the "note" entries in seg.json):

* smp ``losses/lovasz.py::_lovasz_grad`` casts the sorted ground truth with
  ``.float()`` (float32), so ``_lovasz_softmax``/``_lovasz_hinge`` raise
  "dot: expected both vectors to have same dtype" on float64 input.  We use
  a copy of ``lovasz.py`` whose source differs only by those two
  ``.float()`` -> ``.double()`` (tools/references.py); the unpatched module is
  also run on float32 copies as a cross-check (agreement to ~1e-5).
* ``monai.losses.FocalLoss.forward`` casts input and target to float32
  (``input.float()``), so we call its core, ``monai.losses.focal_loss.
  softmax_focal_loss``, directly in float64; ``FocalLoss(...)`` itself is run as
  a float32 cross-check.
* scikit-learn's ``jaccard_score`` rejects ``zero_division=np.nan`` (only 0, 1,
  "warn"); 0/0 classes are found as the classes where ``zero_division=0`` and
  ``zero_division=1`` disagree, and set to NaN.  f1/precision/recall accept
  ``zero_division=np.nan`` and return NaN for 0/0.
* smp region losses average over *all* channels, with absent classes
  contributing a loss of 0 (not skipped); lossctl skips them, so ``classes=``
  is always passed explicitly (present classes, minus 0 when excluding
  background).
"""

from __future__ import annotations

import json
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn.metrics as skm
import torch
from monai.losses.focal_loss import FocalLoss as MonaiFocalLoss
from monai.losses.focal_loss import softmax_focal_loss as monai_softmax_focal_loss
from monai.networks import one_hot as monai_one_hot

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

OUT_DIR = references.GOLDEN_DIR
SEED = 20240607
TV_WHEEL_GLOB = str(references.REFENV_BUILD / "tv" / "torchvision-0.28.0-*.whl")
COMMAND = "make golden (tools/make_golden_seg.py in the reference venv)"
TOL = 1e-10
F64 = torch.float64

warnings.filterwarnings("ignore")  # sklearn UndefinedMetricWarning etc.


# --------------------------------------------------------------------------
# The references (loaded by tools/references.py, which says why and how)
# --------------------------------------------------------------------------

SMP_DIR, SMP = references.load_smp_losses()
TV_WHEEL, TV_VERSION, TV_FOCAL = references.load_torchvision_focal(TV_WHEEL_GLOB)
VERSIONS = references.versions(
    ("torch", "segmentation_models_pytorch", "monai", "torchvision", "scikit-learn", "numpy"), TV_VERSION
)


# --------------------------------------------------------------------------
# Case container and input helpers
# --------------------------------------------------------------------------

LOSSES = ("ce", "focal", "dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss", "lovasz")
METRICS = ("dice", "iou", "precision", "recall", "accuracy")
REGION = {
    "dice_loss": dict(alpha=0.5, beta=0.5),
    "jaccard_loss": dict(alpha=1.0, beta=1.0),
    "tversky_loss": dict(alpha=0.3, beta=0.7),
    "focal_tversky_loss": dict(alpha=0.3, beta=0.7, gamma=0.75),
}


class Case:
    """Internal description of one golden case.

    layout: "multi" (C, *sp), "bin1" (1, *sp) single foreground channel,
            "bin0" (*sp) foreground map, "labels" integer label map (*sp).
    pooled cases carry an extra leading image axis on both pred and target.
    """

    def __init__(self, value, input, layout, pred, target, params=None, ignore=(), exclude_bg=False,
                 desc="", note=None, pooled=False, num_classes=None):
        self.value = value
        self.input = input
        self.layout = layout
        self.pred = pred
        self.target = np.asarray(target)
        self.params = dict(params or {})
        self.ignore = [int(v) for v in ignore]
        self.exclude_bg = bool(exclude_bg)
        self.desc = desc
        self.note = note
        self.pooled = pooled
        self.num_classes = num_classes
        self.id = None

    # ---- views used by the references -------------------------------------
    def images(self):
        """List of (pred, target) single images (pooled -> several)."""
        if self.pooled:
            return [(self.pred[i], self.target[i]) for i in range(self.pred.shape[0])]
        return [(self.pred, self.target)]

    @property
    def dtype(self):
        return "float32" if self.pred.dtype == np.float32 else None


def valid_mask(target, ignore):
    return ~np.isin(target, np.asarray(ignore, dtype=np.int64)) if ignore else np.ones(target.shape, bool)


def t64(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype=np.float64)))


def tlong(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype=np.int64)))


def single_ignore(target, ignore):
    """smp / torch take one ignore value: pass a single value through, or remap
    several ignore values to -100 (torch's default ignore_index)."""
    if not ignore:
        return target, None, ""
    if len(ignore) == 1:
        return target, ignore[0], ""
    t = target.astype(np.int64).copy()
    t[np.isin(t, ignore)] = -100
    return t, -100, f"target values {ignore} remapped to -100; "


def two_channel(case_pred, layout, input):
    """Multi-channel float64 tensor (C, *sp) for the smp / lovasz references.
    Binary maps: logits -> cat([0, x]), probs -> cat([1 - p, p])."""
    x = t64(case_pred)
    if layout == "bin1":
        x = x[0]
    if layout in ("bin0", "bin1"):
        if input == "logits":
            return torch.stack([torch.zeros_like(x), x]), "pred = cat([0, x]); "
        return torch.stack([1.0 - x, x]), "pred = cat([1 - p, p]); "
    return x, ""


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------


def ref_ce(c: Case):
    pred, target = c.pred, c.target
    valid = valid_mask(target, c.ignore)
    if c.layout in ("bin0", "bin1"):
        x = t64(pred[0] if c.layout == "bin1" else pred)
        v = torch.from_numpy(valid)
        y = t64(target)[v]
        if c.input == "logits":
            val = torch.nn.BCEWithLogitsLoss()(x[v], y)
            ref = "torch.nn.BCEWithLogitsLoss()(x[valid], target[valid].double())"
        else:
            val = torch.nn.BCELoss()(x[v], y)
            ref = "torch.nn.BCELoss()(p[valid], target[valid].double())"
        return float(val), None, ref
    tgt, ii, pre = single_ignore(target, c.ignore)
    kw = {} if ii is None else {"ignore_index": ii}
    kws = "" if ii is None else f"ignore_index={ii}"
    x = t64(pred)[None]
    y = tlong(tgt)[None]
    if c.input == "logits":
        val = torch.nn.CrossEntropyLoss(**kw)(x, y)
        ref = pre + f"torch.nn.CrossEntropyLoss({kws})(logits[None], target[None])"
    else:
        val = torch.nn.NLLLoss(**kw)(torch.clamp(torch.log(x), min=-100), y)
        ref = pre + f"torch.nn.NLLLoss({kws})(torch.clamp(torch.log(p[None]), min=-100), target[None])"
    return float(val), None, ref


def ref_focal(c: Case):
    gamma = c.params["gamma"]
    alpha = c.params.get("alpha")
    valid = valid_mask(c.target, c.ignore)
    if c.layout in ("bin0", "bin1"):
        x = t64(c.pred[0] if c.layout == "bin1" else c.pred)
        v = torch.from_numpy(valid)
        y = t64(c.target)[v]
        x = x[v]
        pre = ""
        if c.input == "probs":
            x = torch.clamp(torch.log(x) - torch.log1p(-x), -100.0, 100.0)
            pre = "x = clamp(log(p) - log1p(-p), -100, 100); "
        a = -1 if alpha is None else alpha
        val = TV_FOCAL.sigmoid_focal_loss(x, y, alpha=a, gamma=gamma, reduction="mean")
        ref = pre + f"torchvision.ops.sigmoid_focal_loss(x[valid], target[valid].double(), alpha={a}, gamma={gamma}, reduction='mean')"
        return float(val), None, ref
    assert alpha is None
    C = c.pred.shape[0]
    x = t64(c.pred).reshape(C, -1)[:, torch.from_numpy(valid.reshape(-1))][None]  # (1, C, Nvalid)
    pre = "x = logits[:, valid]; "
    if c.input == "probs":
        x = torch.clamp(torch.log(x), min=-100.0)
        pre = "x = clamp(log(p[:, valid]), min=-100); "
    y = tlong(c.target.reshape(-1)[valid.reshape(-1)])[None, None]  # (1, 1, Nvalid)
    onehot = monai_one_hot(y, num_classes=C, dtype=F64, dim=1)
    loss = monai_softmax_focal_loss(x, onehot, gamma, None)  # (1, C, N)
    val = loss.sum(dim=1).mean()
    # cross-check against the FocalLoss class itself (it computes in float32)
    cls = MonaiFocalLoss(use_softmax=True, gamma=gamma, to_onehot_y=True, reduction="none")(x, y)
    cls_val = float(cls.double().sum(dim=1).mean())
    assert abs(cls_val - float(val)) <= 2e-5 * max(1.0, abs(float(val))), (c.id, cls_val, float(val))
    ref = pre + (
        f"monai.losses.focal_loss.softmax_focal_loss(x[None], monai.networks.one_hot(target[valid][None, None], {C}, dtype=float64), "
        f"gamma={gamma}, alpha=None).sum(dim=1).mean()  [float64 core of monai.losses.FocalLoss(use_softmax=True, "
        f"gamma={gamma}, to_onehot_y=True, reduction='none'), which casts to float32; class checked to 2e-5]"
    )
    return float(val), None, ref


def present_classes(c: Case):
    valid = valid_mask(c.target, c.ignore)
    pres = sorted(int(v) for v in np.unique(c.target[valid]))
    if c.exclude_bg:
        pres = [k for k in pres if k != 0]
    return pres


def ref_region(c: Case):
    smooth, eps = c.params["smooth"], c.params["eps"]
    alpha, beta = c.params["alpha"], c.params["beta"]
    x, pre = two_channel(c.pred, c.layout, c.input)
    tgt, ii, pre2 = single_ignore(c.target, c.ignore)
    classes = present_classes(c)
    assert classes, c.id
    from_logits = c.input == "logits"
    common = dict(mode="multiclass", classes=classes, from_logits=from_logits, smooth=smooth, eps=eps, ignore_index=ii)
    if c.value == "dice_loss":
        assert (alpha, beta) == (0.5, 0.5)
        fn = SMP["dice"].DiceLoss(**common)
        name = "DiceLoss"
        extra = ""
    elif c.value == "jaccard_loss":
        assert (alpha, beta) == (1.0, 1.0)
        fn = SMP["jaccard"].JaccardLoss(**common)
        name = "JaccardLoss"
        extra = ""
    elif c.value == "tversky_loss":
        fn = SMP["tversky"].TverskyLoss(alpha=alpha, beta=beta, gamma=1.0, **common)
        name = "TverskyLoss"
        extra = f", alpha={alpha}, beta={beta}, gamma=1.0"
    else:
        g = c.params["gamma"]
        fn = SMP["tversky"].TverskyLoss(alpha=alpha, beta=beta, gamma=g, **common)
        name = "TverskyLoss"
        extra = f", alpha={alpha}, beta={beta}, gamma={g}"
    val = fn(x[None], tlong(tgt)[None])
    ref = pre + pre2 + (
        f"segmentation_models_pytorch.losses.{name}(mode='multiclass', classes={classes}, from_logits={from_logits}, "
        f"smooth={smooth}, eps={eps}, ignore_index={ii}{extra})(pred[None].double(), target[None])"
    )
    return float(val), None, ref


def ref_lovasz(c: Case):
    lov = SMP["lovasz64"]
    lov32 = SMP["lovasz"]
    tgt, ii, pre2 = single_ignore(c.target, c.ignore)
    y = tlong(tgt)[None]
    if c.layout in ("bin0", "bin1") and c.input == "logits":
        assert not c.exclude_bg
        x = t64(c.pred[0] if c.layout == "bin1" else c.pred)[None]
        val = lov._lovasz_hinge(x, y, per_image=False, ignore=ii)
        chk = lov32._lovasz_hinge(x.float(), y, per_image=False, ignore=ii)
        ref = pre2 + f"segmentation_models_pytorch/losses/lovasz.py::_lovasz_hinge(x[None], target[None], per_image=False, ignore={ii})"
    else:
        x, pre = two_channel(c.pred, c.layout, c.input)
        if c.input == "logits":
            x = torch.softmax(x, dim=0)
            pre = pre + "probas = softmax(pred, dim=0); "
        classes = present_classes(c) if c.exclude_bg else "present"
        if c.exclude_bg:
            assert classes, c.id
        val = lov._lovasz_softmax(x[None], y, classes=classes, per_image=False, ignore=ii)
        chk = lov32._lovasz_softmax(x[None].float(), y, classes=classes, per_image=False, ignore=ii)
        ref = pre + pre2 + (
            f"segmentation_models_pytorch/losses/lovasz.py::_lovasz_softmax(probas[None], target[None], "
            f"classes={classes!r}, per_image=False, ignore={ii})"
        )
    ref += "  [float64: _lovasz_grad's .float() casts replaced by .double(); unpatched float32 run checked to 1e-5]"
    assert abs(float(chk) - float(val)) <= 1e-5 * max(1.0, abs(float(val))), (c.id, float(chk), float(val))
    return float(val), None, ref


def hard_labels(pred, layout, input):
    """Hard prediction of one image (reference side, torch)."""
    if layout == "labels":
        return np.asarray(pred, dtype=np.int64), "pred"
    x = t64(pred)
    if layout in ("bin0", "bin1"):
        if layout == "bin1":
            x = x[0]
        thr = 0.0 if input == "logits" else 0.5
        return (x >= thr).long().numpy(), f"(pred >= {thr})"
    return torch.argmax(x, dim=0).numpy(), "torch.argmax(pred, dim=0)"


def num_classes_of(c: Case):
    if c.layout == "labels":
        return c.num_classes
    if c.layout in ("bin0", "bin1"):
        return 2
    return c.pred.shape[1] if c.pooled else c.pred.shape[0]


def ref_metric(c: Case):
    C = num_classes_of(c)
    labels = list(range(C))
    yts, yps = [], []
    for pred, target in c.images():
        hard, how = hard_labels(pred, c.layout, c.input)
        v = valid_mask(target, c.ignore)
        yts.append(np.asarray(target)[v].astype(np.int64))
        yps.append(hard[v].astype(np.int64))
    yt, yp = np.concatenate(yts), np.concatenate(yps)
    assert set(np.unique(yt)) <= set(labels), c.id
    cm = skm.confusion_matrix(yt, yp, labels=labels)
    src = f"y_true = target[valid], y_pred = {how}[valid]" + (" concatenated over the images" if c.pooled else "")
    if c.value == "accuracy":
        val = float(skm.accuracy_score(yt, yp))
        assert abs(val - np.trace(cm) / cm.sum()) < 1e-15
        return val, None, f"{src}; sklearn.metrics.accuracy_score(y_true, y_pred)"
    if c.value == "iou":
        j0 = skm.jaccard_score(yt, yp, labels=labels, average=None, zero_division=0)
        j1 = skm.jaccard_score(yt, yp, labels=labels, average=None, zero_division=1)
        per = np.where(j0 != j1, np.nan, j0)
        call = (f"sklearn.metrics.jaccard_score(y_true, y_pred, labels=range({C}), average=None, zero_division=0|1) "
                f"(NaN where the two differ: jaccard_score rejects zero_division=np.nan)")
    else:
        fn = {"dice": skm.f1_score, "precision": skm.precision_score, "recall": skm.recall_score}[c.value]
        per = fn(yt, yp, labels=labels, average=None, zero_division=np.nan)
        call = f"sklearn.metrics.{fn.__name__}(y_true, y_pred, labels=range({C}), average=None, zero_division=np.nan)"
    per = np.asarray(per, dtype=np.float64)
    sel = per[1:] if c.exclude_bg else per
    assert not np.all(np.isnan(sel)), c.id
    val = float(np.nanmean(sel))
    ref = f"{src}; {call}; expected = nanmean(per_class{'[1:]' if c.exclude_bg else ''})"
    assert cm.sum() == yt.size
    return val, [None if math.isnan(v) else float(v) for v in per], ref


REFERENCES = {"ce": ref_ce, "focal": ref_focal, "lovasz": ref_lovasz}
REFERENCES.update({k: ref_region for k in REGION})
REFERENCES.update({k: ref_metric for k in METRICS})


# --------------------------------------------------------------------------
# Independent NumPy recomputation of the lossctl definitions
# --------------------------------------------------------------------------


def np_logprobs(pred, layout, input):
    """(P, logP) with shape (C, *sp), float64, straight from the definitions."""
    a = np.asarray(pred, dtype=np.float64)
    if layout == "bin1":
        a = a[0]
    with np.errstate(divide="ignore"):
        if layout in ("bin0", "bin1"):
            if input == "logits":
                logp = np.stack([-np.logaddexp(0.0, a), -np.logaddexp(0.0, -a)])
                return np.exp(logp), logp
            P = np.stack([1.0 - a, a])
            return P, np.log(P)
        if input == "logits":
            m = a.max(axis=0, keepdims=True)
            logp = a - (m + np.log(np.exp(a - m).sum(axis=0, keepdims=True)))
            return np.exp(logp), logp
        return a, np.log(a)


def np_flat(c: Case):
    P, logP = np_logprobs(c.pred, c.layout, c.input)
    v = valid_mask(c.target, c.ignore)
    C = P.shape[0]
    return P[:, v].reshape(C, -1), logP[:, v].reshape(C, -1), c.target[v].astype(np.int64)


def np_ce(c: Case):
    P, logP, y = np_flat(c)
    ly = logP[y, np.arange(y.size)]
    if c.input == "probs":
        ly = np.maximum(ly, -100.0)
    return float(-ly.mean())


def np_focal(c: Case):
    P, logP, y = np_flat(c)
    g = c.params["gamma"]
    idx = np.arange(y.size)
    py, ly = P[y, idx], logP[y, idx]
    loss = -((1.0 - py) ** g) * ly
    if c.params.get("alpha") is not None:
        a = c.params["alpha"]
        loss = loss * np.where(y == 1, a, 1.0 - a)
    return float(loss.mean())


def np_region(c: Case):
    P, _, y = np_flat(c)
    C = P.shape[0]
    a, b = c.params["alpha"], c.params["beta"]
    s, eps = c.params["smooth"], c.params["eps"]
    losses = []
    for k in range(C):
        if k == 0 and c.exclude_bg:
            continue
        g = (y == k)
        G = float(g.sum())
        if G == 0:
            continue
        TP = float(P[k][g].sum())
        Pk = float(P[k].sum())
        FP, FN = Pk - TP, G - TP
        score = (TP + s) / max(TP + a * FP + b * FN + s, eps)
        losses.append(1.0 - score)
    out = float(np.mean(losses))
    if c.value == "focal_tversky_loss":
        out = out ** c.params["gamma"]
    return out


def _lovasz_extension(errors, fg):
    """Lovasz extension of the Jaccard loss (Berman et al. 2018, Alg. 1),
    written from the paper: sort errors decreasingly and weight them by the
    increments of the Jaccard loss of the growing set of mistakes."""
    order = np.argsort(-errors, kind="stable")
    e, g = errors[order], fg[order].astype(np.float64)
    n_pos = g.sum()
    inter = n_pos - np.cumsum(g)
    union = n_pos + np.cumsum(1.0 - g)
    jac = 1.0 - inter / union
    inc = np.diff(np.concatenate([[0.0], jac]))
    return float(np.dot(e, inc))


def np_lovasz(c: Case):
    v = valid_mask(c.target, c.ignore)
    y = c.target[v].astype(np.int64)
    if c.layout in ("bin0", "bin1") and c.input == "logits":
        x = np.asarray(c.pred, dtype=np.float64)
        x = (x[0] if c.layout == "bin1" else x)[v]
        err = 1.0 - x * (2.0 * y - 1.0)
        return _lovasz_extension(np.maximum(err, 0.0), y == 1)
    P, _, y = np_flat(c)
    classes = sorted(set(y.tolist()))
    if c.exclude_bg:
        classes = [k for k in classes if k != 0]
    return float(np.mean([_lovasz_extension(np.abs((y == k) - P[k]), y == k) for k in classes]))


def np_metric(c: Case):
    C = num_classes_of(c)
    cm = np.zeros((C, C), dtype=np.int64)
    for pred, target in c.images():
        if c.layout == "labels":
            hard = np.asarray(pred, dtype=np.int64)
        elif c.layout in ("bin0", "bin1"):
            a = np.asarray(pred, dtype=np.float64)
            a = a[0] if c.layout == "bin1" else a
            hard = (a >= (0.0 if c.input == "logits" else 0.5)).astype(np.int64)
        else:
            hard = np.argmax(np.asarray(pred, dtype=np.float64), axis=0)
        v = valid_mask(target, c.ignore)
        cm += np.bincount(C * target[v].astype(np.int64) + hard[v], minlength=C * C).reshape(C, C)
    tp = np.diag(cm).astype(np.float64)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    if c.value == "accuracy":
        return float(tp.sum() / cm.sum()), None
    num, den = {
        "dice": (2 * tp, 2 * tp + fp + fn),
        "iou": (tp, tp + fp + fn),
        "precision": (tp, tp + fp),
        "recall": (tp, tp + fn),
    }[c.value]
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)
    sel = per[1:] if c.exclude_bg else per
    return float(np.nanmean(sel)), per


NUMPY = {"ce": np_ce, "focal": np_focal, "lovasz": np_lovasz}
NUMPY.update({k: np_region for k in REGION})


def close(a, b, tol=TOL):
    if a is None or b is None:
        return a is None and b is None
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def check(c: Case, expected, per_class):
    if c.value in METRICS:
        val, per = np_metric(c)
        assert close(val, expected), (c.id, val, expected)
        if per is None:
            assert per_class is None
        else:
            assert len(per) == len(per_class), c.id
            for a, b in zip(per, per_class, strict=True):
                assert close(None if math.isnan(a) else float(a), b), (c.id, per, per_class)
    else:
        val = NUMPY[c.value](c)
        assert close(val, expected), (c.id, val, expected)
    return val


# --------------------------------------------------------------------------
# Input generation (deterministic)
# --------------------------------------------------------------------------

RNG = np.random.default_rng(SEED)
SHAPES = [(8, 9), (9, 8), (10, 12), (12, 10), (12, 16), (14, 11), (16, 16), (24, 20)]


def rshape():
    return SHAPES[RNG.integers(len(SHAPES))]


def make_target(shape, C, ignore=(), frac_ignore=0.15, absent=(), only=None):
    classes = [k for k in range(C) if k not in absent]
    if only is not None:
        t = np.full(shape, only, dtype=np.int64)
    else:
        while True:
            t = RNG.choice(classes, size=shape).astype(np.int64)
            if len(np.unique(t)) == len(classes) or t.size < 2 * len(classes):
                break
    if ignore:
        m = RNG.random(shape) < frac_ignore
        if t.size > 1 and not m.any():
            m.flat[RNG.integers(t.size)] = True
        t[m] = RNG.choice(np.asarray(ignore, dtype=np.int64), size=int(m.sum()))
    return t


def make_logits(target, C, scale=2.0, bonus=1.5, low=(), high=None):
    """Random logits (C, *sp) correlated with target; channels in `low` are
    pushed far down (never the argmax).  high: uniform(-high, high) logits."""
    shape = target.shape
    if high is not None:
        x = RNG.uniform(-high, high, size=(C,) + shape)
    else:
        x = RNG.normal(0.0, scale, size=(C,) + shape)
    t = np.where((target >= 0) & (target < C), target, 0)
    np.put_along_axis(x, t[None], np.take_along_axis(x, t[None], 0) + bonus, 0)
    for k in low:
        x[k] = -12.0 + RNG.normal(0.0, 0.5, size=shape)
    return x


def make_bin_logits(target, scale=2.0, bonus=1.0, high=None):
    shape = target.shape
    x = RNG.uniform(-high, high, size=shape) if high is not None else RNG.normal(0.0, scale, size=shape)
    return x + bonus * np.where(target == 1, 1.0, np.where(target == 0, -1.0, 0.0))


def softmax64(x):
    m = x.max(axis=0, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=0, keepdims=True)


def sigmoid64(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def quantized32(p, bits=20):
    """float32 probabilities on a 2**-bits grid that sum to exactly 1 (each
    value and every partial sum is exactly representable)."""
    q = np.floor(p * 2.0**bits)
    k = np.argmax(p, axis=0)
    rest = 2.0**bits - q.sum(axis=0)
    np.put_along_axis(q, k[None], np.take_along_axis(q, k[None], 0) + rest[None], 0)
    out = (q / 2.0**bits).astype(np.float32)
    assert np.all(out.astype(np.float64).sum(axis=0) == 1.0)
    return out


def saturate(p, target, allow_wrong, frac_right=0.25, frac_wrong=0.1, frac_zero=0.2):
    """Put exact 0s and 1s into multi-channel probabilities.  allow_wrong:
    also one-hot on a wrong class (p_y == 0, hits CE's -100 clamp)."""
    p = p.copy()
    C = p.shape[0]
    t = np.where((target >= 0) & (target < C), target, 0)
    r = RNG.random(target.shape)
    right = r < frac_right
    wrong = (r >= frac_right) & (r < frac_right + frac_wrong) if allow_wrong else np.zeros_like(right)
    zero = (r >= 0.5) & (r < 0.5 + frac_zero)
    for idx in zip(*np.nonzero(zero), strict=True):
        k = (t[idx] + 1 + RNG.integers(C - 1)) % C  # a non-target channel -> 0
        col = p[(slice(None),) + idx].copy()
        col[k] = 0.0
        p[(slice(None),) + idx] = col / col.sum()
    for idx in zip(*np.nonzero(right), strict=True):
        p[(slice(None),) + idx] = 0.0
        p[(t[idx],) + idx] = 1.0
    for idx in zip(*np.nonzero(wrong), strict=True):
        k = (t[idx] + 1 + RNG.integers(C - 1)) % C
        p[(slice(None),) + idx] = 0.0
        p[(k,) + idx] = 1.0
    return p


def saturate_bin(p, target, allow_wrong):
    p = p.copy()
    r = RNG.random(target.shape)
    right = r < 0.3
    p[right] = (target[right] == 1).astype(np.float64)
    if allow_wrong:
        wrong = (r >= 0.3) & (r < 0.4)
        p[wrong] = (target[wrong] != 1).astype(np.float64)
    return p


CASES: list[Case] = []


def add(value, input, layout, pred, target, **kw):
    c = Case(value, input, layout, pred, target, **kw)
    CASES.append(c)
    return c


def default_params(value):
    if value == "focal":
        return {"gamma": 2.0, "alpha": None}
    if value in REGION:
        p = dict(REGION[value])
        p.update(smooth=0.0, eps=1e-7)
        return p
    return {}


IGN1 = [255]
IGN2 = [254, 255]
IGN2N = [-1, 255]


def loss_battery(value):
    """Common set of cases for every loss value."""
    P = lambda **extra: {**default_params(value), **extra}  # noqa: E731
    region_like = value in REGION or value == "lovasz"
    focal = value == "focal"

    def multi(input, C, ignore=(), shape=None, desc="", exclude_bg=False, absent=(), only=None,
              high=None, sat=False, f32=False, params=None, note=None, frac_ignore=0.15):
        shape = shape or rshape()
        t = make_target(shape, C, ignore, absent=absent, only=only, frac_ignore=frac_ignore)
        x = make_logits(t, C, high=high)
        if input == "logits":
            pred = x
        else:
            pred = softmax64(x)
            if sat:
                pred = saturate(pred, t, allow_wrong=not focal)
            if f32:
                if focal:
                    pred = quantized32(pred)
                    note = (note + "; " if note else "") + "float32 probabilities on a 2**-20 grid summing to exactly 1"
                else:
                    pred = pred.astype(np.float32)
        add(value, input, "multi", pred, t, params=params or P(), ignore=ignore, exclude_bg=exclude_bg,
            desc=desc, note=note)

    def binary(input, layout, ignore=(), shape=None, desc="", high=None, sat=False, f32=False,
               params=None, only=None, exclude_bg=False, note=None):
        shape = shape or rshape()
        t = make_target(shape, 2, ignore, only=only)
        x = make_bin_logits(t, high=high)
        if input == "logits":
            pred = x
        else:
            pred = sigmoid64(x)
            if sat:
                pred = saturate_bin(pred, t, allow_wrong=not focal)
            if f32:
                pred = pred.astype(np.float32)
        if layout == "bin1":
            pred = pred[None]
        add(value, input, layout, pred, t, params=params or P(), ignore=ignore, exclude_bg=exclude_bg,
            desc=desc, note=note)

    multi("logits", 2, desc="logits_C2")
    multi("logits", 3, IGN1, desc="logits_C3_ign255")
    multi("logits", 5, IGN2, desc="logits_C5_ign2")
    multi("probs", 3, desc="probs_C3")
    multi("probs", 5, IGN1, desc="probs_C5_ign255")
    multi("probs", 2, IGN2N, desc="probs_C2_ign2neg")
    multi("probs", 3, IGN1, f32=True, desc="probs32_C3_ign255")
    binary("logits", "bin1", desc="bin_logits_1HW")
    binary("logits", "bin0", IGN1, desc="bin_logits_HW_ign255")
    binary("probs", "bin1", IGN1, desc="bin_probs_1HW_ign255")
    binary("probs", "bin0", desc="bin_probs_HW")
    binary("probs", "bin0", IGN2, f32=True, desc="bin_probs32_HW_ign2")
    multi("logits", 5, IGN1, absent=(3,), desc="logits_C5_absent3",
          note="class 3 absent from the target (still predicted)")
    multi("probs", 3, sat=True, desc="probs_C3_saturated",
          note=("exact 0/1 probabilities; p_y == 1 at some pixels (p_y never 0 for focal)" if focal else
                "exact 0/1 probabilities, incl. p_y == 0 (CE: -log clamped at 100)"))
    binary("probs", "bin1", sat=True, desc="bin_probs_saturated",
           note=("exact 0/1 probabilities at correct pixels only" if focal else
                 "exact 0/1 probabilities, incl. p_y == 0 (BCE: -log clamped at 100)"))
    multi("logits", 3, IGN1, high=50.0, desc="logits_C3_large", note="logits uniform in [-50, 50]")
    binary("logits", "bin0", high=50.0, desc="bin_logits_large", note="logits uniform in [-50, 50]")
    multi("logits", 3, IGN1, shape=(3, 6, 7), desc="logits_C3_3d", note="3D volume (D, H, W)")
    binary("probs", "bin1", shape=(4, 5, 6), desc="bin_probs_3d", note="3D volume (1, D, H, W)")
    multi("logits", 3, shape=(1, 1), desc="logits_C3_1x1", note="1x1 image")
    binary("logits", "bin0", shape=(1, 1), desc="bin_logits_1x1", note="1x1 image")
    multi("probs", 3, only=2, desc="probs_C3_all_class2", note="all pixels of class 2")
    binary("logits", "bin1", only=1, desc="bin_logits_all_fg", note="all pixels foreground")
    if region_like:
        multi("probs", 5, IGN2N, desc="probs_C5_ign2neg_exbg", exclude_bg=True)
        multi("logits", 4, IGN1, absent=(2,), desc="logits_C4_absent2_exbg", exclude_bg=True,
              note="class 2 absent from the target")
        multi("probs", 3, IGN1, shape=(3, 6, 7), exclude_bg=True, sat=True, desc="probs_C3_3d_sat_exbg",
              note="3D volume with exact 0/1 probabilities")
        if value != "lovasz":
            binary("probs", "bin0", IGN1, exclude_bg=True, desc="bin_probs_exbg",
                   note="foreground-only score of a binary map")
        else:
            binary("probs", "bin0", IGN1, exclude_bg=True, desc="bin_probs_exbg",
                   note="binary probs expanded to [1-p, p]; Lovasz-Softmax on class 1 only")


def build_loss_cases():
    for value in LOSSES:
        loss_battery(value)
    # ---- value-specific extras ---------------------------------------------
    for g in (0.0, 0.5, 3.0):
        t = make_target(rshape(), 3, IGN1)
        add("focal", "logits", "multi", make_logits(t, 3), t, params={"gamma": g, "alpha": None},
            ignore=IGN1, desc=f"logits_C3_gamma{g}")
    t = make_target(rshape(), 2)
    add("focal", "probs", "bin0", sigmoid64(make_bin_logits(t)), t, params={"gamma": 1.5, "alpha": None},
        desc="bin_probs_gamma1.5")
    for layout, input in (("bin1", "logits"), ("bin0", "logits"), ("bin0", "probs")):
        t = make_target(rshape(), 2, IGN1 if layout == "bin0" else ())
        x = make_bin_logits(t)
        pred = x if input == "logits" else sigmoid64(x)
        if layout == "bin1":
            pred = pred[None]
        add("focal", input, layout, pred, t, params={"gamma": 2.0, "alpha": 0.25},
            ignore=IGN1 if layout == "bin0" else (), desc=f"bin_{input}_alpha0.25",
            note="alpha_t = alpha if y == 1 else 1 - alpha")
    t = make_target(rshape(), 2, IGN1)
    add("focal", "logits", "bin1", make_bin_logits(t, high=50.0)[None], t, params={"gamma": 2.0, "alpha": 0.25},
        ignore=IGN1, desc="bin_logits_large_alpha0.25")
    for value in ("tversky_loss", "focal_tversky_loss"):
        for extra, d in (({"alpha": 0.5, "beta": 0.5}, "ab0.5"), ({"smooth": 1.0}, "smooth1")):
            t = make_target(rshape(), 4, IGN1)
            params = {**default_params(value), **extra}
            add(value, "logits", "multi", make_logits(t, 4), t, params=params, ignore=IGN1, desc=f"logits_C4_{d}")
    t = make_target(rshape(), 3, IGN1)
    add("focal_tversky_loss", "probs", "multi", softmax64(make_logits(t, 3)), t,
        params={**default_params("focal_tversky_loss"), "gamma": 2.0}, ignore=IGN1, desc="probs_C3_gamma2")
    for value in ("dice_loss", "jaccard_loss"):
        t = make_target(rshape(), 3, IGN1)
        add(value, "probs", "multi", softmax64(make_logits(t, 3)), t,
            params={**default_params(value), "smooth": 1.0}, ignore=IGN1, desc="probs_C3_smooth1")
        t = make_target(rshape(), 2)
        add(value, "logits", "bin1", make_bin_logits(t)[None], t,
            params={**default_params(value), "smooth": 1.0}, exclude_bg=True, desc="bin_logits_smooth1_exbg")
    # Berman et al. worked example of the Lovasz hinge
    add("lovasz", "logits", "bin0", np.array([[2.0, -1.0, 0.5, -0.5]]), np.array([[1, 0, 0, 1]], dtype=np.int64),
        desc="berman_example", note="Berman et al. worked example: logits [2,-1,0.5,-0.5], labels [1,0,0,1] -> 1.0")
    t = make_target((12, 10), 2, IGN2)
    add("lovasz", "logits", "bin1", make_bin_logits(t)[None], t, ignore=IGN2, desc="bin_logits_hinge_ign2")


def metric_scenarios():
    """Each scenario yields (input, layout, pred, target, ignore, exclude_bg,
    desc, extra) and is used for all five metric values."""
    S = []

    def sc(input, layout, pred, target, ignore=(), exclude_bg=False, desc="", note=None, pooled=False,
           num_classes=None):
        S.append(dict(input=input, layout=layout, pred=pred, target=target, ignore=list(ignore),
                      exclude_bg=exclude_bg, desc=desc, note=note, pooled=pooled, num_classes=num_classes))

    t = make_target(rshape(), 3)
    sc("logits", "multi", make_logits(t, 3), t, desc="logits_C3")
    t = make_target(rshape(), 5, IGN1, absent=(4,))
    sc("probs", "multi", softmax64(make_logits(t, 5, low=(4,))), t, IGN1, desc="probs_C5_ign255_absent4",
       note="class 4 absent from both target and prediction (0/0 -> NaN)")
    t = make_target(rshape(), 4, IGN2, absent=(3,))
    lab = RNG.choice([0, 1, 2], size=t.shape).astype(np.int64)
    sc("labels", "labels", lab, t, IGN2, desc="labels_K4_ign2_absent3", num_classes=4,
       note="integer label prediction; class 3 absent from both masks")
    t = make_target(rshape(), 3)
    lab = np.where(RNG.random(t.shape) < 0.6, t, RNG.integers(0, 3, size=t.shape)).astype(np.int64)
    sc("labels", "labels", lab, t, exclude_bg=True, desc="labels_K3_exbg", num_classes=3)
    t = make_target(rshape(), 2)
    x = np.round(make_bin_logits(t), 0)  # many exact zeros
    x.flat[:3] = 0.0
    sc("logits", "bin1", x[None], t, desc="bin_logits_ties",
       note="logits rounded to integers: exact 0 logits count as foreground (x >= 0)")
    t = make_target(rshape(), 2, IGN1)
    p = np.round(sigmoid64(make_bin_logits(t)) * 4) / 4  # values in {0, .25, .5, .75, 1}
    p.flat[:3] = 0.5
    sc("probs", "bin0", p, t, IGN1, desc="bin_probs_ties_ign255",
       note="probabilities on a 0.25 grid: p == 0.5 counts as foreground (p >= 0.5)")
    t = make_target(rshape(), 3, IGN1)
    sc("probs", "multi", softmax64(make_logits(t, 3)).astype(np.float32), t, IGN1, desc="probs32_C3_ign255")
    t = make_target((3, 6, 7), 4, IGN1)
    sc("logits", "multi", make_logits(t, 4), t, IGN1, exclude_bg=True, desc="logits_C4_3d_exbg",
       note="3D volume (D, H, W)")
    shape = rshape()
    ts = np.stack([make_target(shape, 3, IGN1) for _ in range(3)])
    xs = np.stack([make_logits(tt, 3) for tt in ts])
    sc("logits", "multi", xs, ts, IGN1, desc="pooled_logits_C3_ign255", pooled=True,
       note="3 images stacked on a new first axis; metrics of the summed confusion matrix")
    shape = rshape()
    ts = np.stack([make_target(shape, 5, IGN2N, absent=(2,)) for _ in range(3)])
    ls = np.stack([np.where(RNG.random(shape) < 0.5, np.where(tt >= 0, tt % 5, 0),
                            RNG.choice([0, 1, 3, 4], size=shape)) for tt in ts]).astype(np.int64)
    ls[ls == 2] = 0
    sc("labels", "labels", ls, ts, IGN2N, exclude_bg=True, desc="pooled_labels_K5_absent2_exbg", pooled=True,
       num_classes=5, note="3 images stacked on a new first axis; class 2 absent from both masks")
    sc("labels", "labels", np.array([[1]], dtype=np.int64), np.array([[1]], dtype=np.int64),
       desc="labels_K3_1x1", num_classes=3, note="1x1 image")
    t = make_target(rshape(), 3, only=0)
    sc("logits", "multi", make_logits(t, 3, bonus=0.5), t, desc="logits_C3_all_class0",
       note="all target pixels of class 0")
    t = make_target(rshape(), 3)
    x = RNG.integers(0, 3, size=(3,) + t.shape).astype(np.float64)
    sc("logits", "multi", x, t, desc="logits_C3_argmax_ties",
       note="integer logits with exact ties: the first maximal channel wins (numpy/torch argmax)")
    return S


def build_metric_cases():
    for s in metric_scenarios():
        for value in METRICS:
            params = {"num_classes": s["num_classes"]} if s["layout"] == "labels" else {}
            add(value, s["input"], s["layout"], s["pred"], s["target"], params=params, ignore=s["ignore"],
                exclude_bg=s["exclude_bg"], desc=s["desc"], note=s["note"], pooled=s["pooled"],
                num_classes=s["num_classes"])


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    build_loss_cases()
    build_metric_cases()
    counters: dict[str, int] = {}
    arrays = {}
    out_cases = []
    for c in CASES:
        n = counters.get(c.value, 0) + 1
        counters[c.value] = n
        c.id = f"{c.value}-{n:03d}-{c.desc}"
        expected, per_class, ref = REFERENCES[c.value](c)
        assert math.isfinite(expected), (c.id, expected)
        check(c, expected, per_class)
        if c.value == "lovasz" and c.desc == "berman_example":
            assert abs(expected - 1.0) < 1e-15, expected
        arrays[f"{c.id}/pred"] = c.pred
        arrays[f"{c.id}/target"] = c.target
        entry = {
            "id": c.id,
            "value": c.value,
            "input": c.input,
            "params": c.params,
            "ignore_index": c.ignore,
            "exclude_background": c.exclude_bg,
            "reference": ref,
            "expected": expected,
            "per_class": per_class,
        }
        if c.dtype:
            entry["dtype"] = c.dtype
        if c.pooled:
            entry["pooled"] = True
            entry["n_images"] = int(c.pred.shape[0])
        if c.note:
            entry["note"] = c.note
        out_cases.append(entry)

    doc = {
        "generated_by": "tools/make_golden_seg.py",
        "command": COMMAND,
        "seed": SEED,
        "versions": VERSIONS,
        "conventions": {
            "pred": "one image: (C, *spatial) channels-first, or (1, *spatial) / (*spatial) binary foreground "
                    "map, or an integer label map (*spatial) when input == 'labels'; pooled cases stack 3 "
                    "images on a new first axis of both pred and target",
            "expected": "computed with torch.float64 from the stored inputs (float32 inputs upcast); "
                        "checked against an independent NumPy implementation to 1e-10",
            "per_class": "metrics only: values for classes 0..C-1, null where 0/0",
        },
        "cases": out_cases,
    }
    references.write_golden(OUT_DIR, "seg_inputs.npz", arrays, "seg.json", doc)  # with a round-trip check
    print(f"{len(out_cases)} cases")
    for k, v in counters.items():
        print(f"  {k:20s} {v}")
    print("versions:", json.dumps(VERSIONS))
    for f in ("seg_inputs.npz", "seg.json"):
        print(f"  {f}: {os.path.getsize(OUT_DIR / f)} bytes")


if __name__ == "__main__":
    main()
