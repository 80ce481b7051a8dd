#!/usr/bin/env python
"""Golden values for ``lossctl seg --convention torch|keras|smp|monai`` (lossctl/losses/seg_conventions.py).

Every value is computed by the real framework on ONE image as a batch of one, with the framework's own default
arguments except those lossctl passes itself (seg_conventions.PRESET_DEFAULTS / the Spec defaults).  The references
are NOT project dependencies; run this script with the side venv:

    make golden          # or: $REFPY tools/make_golden_seg_conventions.py, with KERAS_BACKEND=torch

It writes (relative to the repository root):

    tests/golden/seg_conventions_inputs.npz   inputs: keys "<case_id>/pred", "<case_id>/target"
    tests/golden/seg_conventions.json         cases, expected values, provenance

The script never imports lossctl (independent verification).  Stored inputs are in lossctl's layout: pred is
(C, *spatial) channels-first, or a single foreground map (1, *spatial) / (*spatial); target is (*spatial).

Reference quirks handled here (each case's ``reference``/``note`` says which applied):

* segmentation_models_pytorch is installed --no-deps and its package root imports torchvision/timm: its losses
  modules are loaded by file path under stub parent packages (never ``import segmentation_models_pytorch``).
* smp ``losses/lovasz.py::_lovasz_grad`` casts to float32 (``.float()``), which breaks ``torch.dot`` on float64
  input; a second copy of the module is loaded with exactly those two casts changed to ``.double()``.  The
  unpatched module is also run on float32 copies as a cross-check (1e-5).
* smp ``SoftCrossEntropyLoss()`` with its default ``smooth_factor=None`` raises TypeError (``None / int`` in
  ``label_smoothed_nll_loss``), so ``smooth_factor=0.0`` is passed (the no-smoothing value).
* ``monai.losses.FocalLoss.forward`` casts input and target to float32; its float64 core
  ``monai.losses.focal_loss.sigmoid_focal_loss`` is called directly and the class is run as a cross-check (2e-5).
* Keras computes in float32 (floatx) by default: Keras cases are computed with the defaults (float32) and marked
  ``float32_bound`` (tested at rtol 1e-5); a float64 run (``dtype="float64"``) is a cross-check (3e-6).
* torchvision's ``ops/focal_loss.py`` is loaded alone from the wheel (stub ``torchvision`` parents).
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # noqa: E402  (must precede the keras import)

import json
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import torch
from monai.losses import DiceLoss as MonaiDiceLoss
from monai.losses import FocalLoss as MonaiFocalLoss
from monai.losses import TverskyLoss as MonaiTverskyLoss
from monai.losses.focal_loss import sigmoid_focal_loss as monai_sigmoid_focal_loss

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

OUT_DIR = references.GOLDEN_DIR
SEED = 20250611
COMMAND = "make golden (tools/make_golden_seg_conventions.py in the reference venv)"
F64 = torch.float64
RNG = np.random.default_rng(SEED)

warnings.filterwarnings("ignore")  # MONAI "single channel prediction" warnings etc.


# --------------------------------------------------------------------------
# The references (loaded by tools/references.py, which says why and how)
# --------------------------------------------------------------------------

SMP_DIR, SMP = references.load_smp_losses()
TV_WHEEL, TV_VERSION, TV_FOCAL = references.load_torchvision_focal()
VERSIONS = references.versions(
    ("torch", "segmentation_models_pytorch", "monai", "keras", "keras_backend", "keras_floatx", "torchvision",
     "numpy"), TV_VERSION
)

# The presets (hard-coded: this script never imports lossctl; the test checks the list against SEG_PRESETS).
PRESETS = [
    ("ce", "torch"), ("focal", "torch"),
    ("ce", "smp"), ("focal", "smp"), ("dice_loss", "smp"), ("jaccard_loss", "smp"), ("tversky_loss", "smp"),
    ("focal_tversky_loss", "smp"), ("lovasz", "smp"),
    ("dice_loss", "monai"), ("jaccard_loss", "monai"), ("tversky_loss", "monai"), ("focal", "monai"),
    ("ce", "keras"), ("focal", "keras"), ("dice_loss", "keras"), ("tversky_loss", "keras"),
]
LOGITS_ONLY = {("focal", "torch"), ("ce", "smp"), ("focal", "smp"), ("lovasz", "smp"), ("focal", "monai")}


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

SHAPES = [(8, 9), (9, 11), (10, 8), (12, 10), (11, 13), (16, 12), (13, 9), (14, 10), (10, 12)]


def rshape():
    return SHAPES[RNG.integers(len(SHAPES))]


def make_target(shape, C, absent=(), ignore_frac=0.0, only=None):
    if only is not None:
        t = np.full(shape, only, dtype=np.int64)
    else:
        allowed = [k for k in range(C) if k not in absent]
        while True:
            t = RNG.choice(allowed, size=shape).astype(np.int64)
            if set(np.unique(t).tolist()) == set(allowed):
                break
    if ignore_frac:
        while True:
            ign = RNG.random(shape) < ignore_frac
            if ign.any():
                break
        t = np.where(ign, 255, t)
    return t


def make_logits(t, C, low=(), low_mean=-12.0):
    """float64 (C, *sp): noise plus a bonus on the true class; classes in ``low`` pushed far below."""
    sp = t.shape
    x = RNG.normal(0.0, 1.3, size=(C,) + sp)
    lab = np.where((t >= 0) & (t < C), t, RNG.integers(0, C, size=sp))
    np.put_along_axis(x, lab[None], np.take_along_axis(x, lab[None], 0) + 1.5, axis=0)
    for k in low:
        x[k] = RNG.normal(low_mean, 0.5, size=sp)
    return x


def make_bin_logits(t):
    sign = np.where(t == 1, 1.0, -1.0)
    return RNG.normal(0.0, 1.5, size=t.shape) + 1.2 * sign


def softmax64(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def sigmoid64(x):
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------
# Case container
# --------------------------------------------------------------------------


class Case:
    def __init__(self, loss, conv, input, layout, pred, target, desc, params=None, ignore=(), note=None):
        self.loss, self.conv, self.input, self.layout = loss, conv, input, layout
        self.pred = np.ascontiguousarray(pred, dtype=np.float64)
        self.target = np.ascontiguousarray(target, dtype=np.int64)
        self.desc = desc
        self.params = dict(params or {})
        self.ignore = [int(v) for v in ignore]
        self.notes = [note] if note else []
        self.id = None

    # ---- framework views -------------------------------------------------
    @property
    def binary(self):
        return self.layout in ("bin0", "bin1")

    @property
    def C(self):
        return 1 if self.binary else self.pred.shape[0]

    def fmap(self):
        """The prediction as (C, *sp) float64 numpy (C = 1 for a binary map)."""
        return self.pred[None] if self.layout == "bin0" else self.pred

    def x_nc(self):
        """torch (1, C, *sp) float64."""
        return torch.from_numpy(self.fmap().copy())[None]

    def y_n(self):
        """torch (1, *sp) int64 labels."""
        return torch.from_numpy(self.target.copy())[None]

    def y_n1(self):
        """torch (1, 1, *sp) int64 labels."""
        return torch.from_numpy(self.target.copy())[None, None]

    def onehot_nc(self):
        """torch (1, C, *sp) float64 one-hot (binary: the foreground indicator)."""
        if self.binary:
            return (self.y_n1() == 1).to(F64)
        assert not self.ignore
        return torch.nn.functional.one_hot(self.y_n(), self.C).movedim(-1, 1).to(F64)

    def probs_nc(self):
        """numpy (C, *sp) probabilities as lossctl would compute them (softmax / sigmoid of logits)."""
        f = self.fmap()
        if self.input == "probs":
            return f
        return sigmoid64(f) if self.binary else softmax64(f)


# --------------------------------------------------------------------------
# References
# --------------------------------------------------------------------------

X_DESC = {"multi": "x = pred[None] (1,C,*sp)", "bin1": "x = pred[None] (1,1,*sp)", "bin0": "x = pred[None,None] (1,1,*sp)"}


def ref_torch(c: Case):
    x = c.x_nc()
    if c.loss == "ce":
        if c.binary:
            y = c.onehot_nc()
            if c.input == "logits":
                return float(torch.nn.BCEWithLogitsLoss()(x, y)), \
                    X_DESC[c.layout] + "; torch.nn.BCEWithLogitsLoss()(x, (y==1).double()[None,None])"
            return float(torch.nn.BCELoss()(x, y)), X_DESC[c.layout] + "; torch.nn.BCELoss()(p, (y==1).double()[None,None])"
        if c.input == "logits":
            return float(torch.nn.CrossEntropyLoss()(x, c.y_n())), \
                X_DESC[c.layout] + "; torch.nn.CrossEntropyLoss()(x, y[None])"
        return float(torch.nn.NLLLoss()(torch.clamp(torch.log(x), min=-100), c.y_n())), \
            X_DESC[c.layout] + "; torch.nn.NLLLoss()(torch.clamp(torch.log(p), min=-100), y[None])"
    assert c.loss == "focal" and c.input == "logits"
    val = TV_FOCAL.sigmoid_focal_loss(x, c.onehot_nc(), alpha=0.25, gamma=2, reduction="mean")
    tgt = "(y==1).double()[None,None]" if c.binary else "one_hot(y[None], C).movedim(-1,1).double()"
    return float(val), X_DESC[c.layout] + f"; torchvision.ops.sigmoid_focal_loss(x, {tgt}, alpha=0.25, gamma=2, reduction='mean')"


def ref_smp(c: Case):
    ii = c.ignore[0] if c.ignore else None
    assert len(c.ignore) <= 1
    x = c.x_nc()
    mode = "binary" if c.binary else "multiclass"
    y = c.y_n1() if c.binary else c.y_n()
    ys = "y[None,None]" if c.binary else "y[None]"
    ign_kw = {} if ii is None else {"ignore_index": ii}
    ign_s = "" if ii is None else f", ignore_index={ii}"
    from_logits = c.input == "logits"
    L = "segmentation_models_pytorch.losses."
    if c.loss in ("dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss"):
        if c.loss == "dice_loss":
            fn, s = SMP["dice"].DiceLoss(mode=mode, from_logits=from_logits, **ign_kw), "DiceLoss"
            extra = ""
        elif c.loss == "jaccard_loss":
            fn, s = SMP["jaccard"].JaccardLoss(mode=mode, from_logits=from_logits, **ign_kw), "JaccardLoss"
            extra = ""
        else:
            kw = {k: c.params[k] for k in ("alpha", "beta", "gamma") if k in c.params}
            fn, s = SMP["tversky"].TverskyLoss(mode=mode, from_logits=from_logits, **kw, **ign_kw), "TverskyLoss"
            extra = "".join(f", {k}={v}" for k, v in kw.items())
        val = fn(x, y)
        return float(val), X_DESC[c.layout] + f"; {L}{s}(mode='{mode}', from_logits={from_logits}{extra}{ign_s})(x, {ys})"
    assert from_logits
    if c.loss == "focal":
        val = SMP["focal"].FocalLoss(mode=mode, **ign_kw)(x, y)
        return float(val), X_DESC[c.layout] + f"; {L}FocalLoss(mode='{mode}'{ign_s})(x, {ys})"
    if c.loss == "ce":
        if c.binary:
            assert ii is None
            val = SMP["soft_bce"].SoftBCEWithLogitsLoss()(x, c.onehot_nc())
            return float(val), X_DESC[c.layout] + f"; {L}SoftBCEWithLogitsLoss()(x, (y==1).double()[None,None])"
        kw = {"smooth_factor": 0.0, **ign_kw}
        val = SMP["soft_ce"].SoftCrossEntropyLoss(**kw)(x, y)
        if ii is not None:
            c.notes.append(f"smp SoftCrossEntropyLoss zeroes the {int((c.target == ii).sum())} ignored pixels but "
                           f"keeps them in the mean (divides by all {c.target.size} pixels)")
        c.notes.append("smooth_factor=0.0 because the default smooth_factor=None raises TypeError in smp 0.6.0")
        return float(val), X_DESC[c.layout] + f"; {L}SoftCrossEntropyLoss(smooth_factor=0.0{ign_s})(x, {ys})"
    assert c.loss == "lovasz"
    val = SMP["lovasz64"].LovaszLoss(mode=mode, per_image=False, **ign_kw)(x, y)
    chk = SMP["lovasz"].LovaszLoss(mode=mode, per_image=False, **ign_kw)(x.float(), y)
    assert abs(float(chk) - float(val)) <= 1e-5 * max(1.0, abs(float(val))), (c.id, float(chk), float(val))
    return float(val), X_DESC[c.layout] + (
        f"; {L}LovaszLoss(mode='{mode}', per_image=False{ign_s})(x, {ys})  [module copy with _lovasz_grad's "
        ".float() casts -> .double(); unpatched float32 run checked to 1e-5]")


def ref_monai(c: Case):
    x = c.x_nc()
    logits = c.input == "logits"
    if c.binary:
        y = c.onehot_nc()
        ys = "(y==1).double()[None,None]"
        act = {"sigmoid": True} if logits else {}
        onehot = {}
    else:
        y = c.y_n1()
        ys = "y[None,None]"
        act = {"softmax": True} if logits else {}
        onehot = {"to_onehot_y": True}
    kw = {**act, **onehot}
    if c.loss in ("dice_loss", "jaccard_loss"):
        if c.loss == "jaccard_loss":
            kw["jaccard"] = True
        val = MonaiDiceLoss(**kw)(x, y)
        s = "DiceLoss"
    elif c.loss == "tversky_loss":
        kw.update({k: c.params[k] for k in ("alpha", "beta") if k in c.params})
        val = MonaiTverskyLoss(**kw)(x, y)
        s = "TverskyLoss"
    else:
        assert c.loss == "focal" and logits
        kw = dict(onehot)
        t = c.onehot_nc()
        val = monai_sigmoid_focal_loss(x, t, 2.0, None).mean()
        cls = MonaiFocalLoss(**kw)(x, y)
        assert abs(float(cls) - float(val)) <= 2e-5 * max(1.0, abs(float(val))), (c.id, float(cls), float(val))
        ks = ", ".join(f"{k}={v}" for k, v in kw.items())
        tdesc = ys if c.binary else "monai.networks.one_hot(y[None,None], C, dtype=float64)"
        return float(val), X_DESC[c.layout] + (
            f"; monai.losses.focal_loss.sigmoid_focal_loss(x, {tdesc}, gamma=2.0, alpha=None).mean()  "
            f"[float64 core of monai.losses.FocalLoss({ks})(x, {ys}), which casts to float32; class checked to 2e-5]")
    ks = ", ".join(f"{k}={v}" for k, v in kw.items())
    return float(val), X_DESC[c.layout] + f"; monai.losses.{s}({ks})(x, {ys})"


def _keras_call(make, y_true, y_pred):
    v32 = float(make(None)(y_true, y_pred))
    v64 = float(make("float64")(y_true, y_pred))
    assert abs(v32 - v64) <= 3e-6 * max(1.0, abs(v64)), (v32, v64)
    return v32, v64


def ref_keras(c: Case):
    """Keras is channels-last: y_true one-hot (1, *sp, C), y_pred (1, *sp, C); binary maps (1, *sp, 1)."""
    K = keras.losses
    cl = lambda a: np.moveaxis(np.asarray(a), 0, -1)[None]  # noqa: E731  (C,*sp) -> (1,*sp,C)
    y_true = cl(c.onehot_nc()[0].numpy())
    logits = c.input == "logits"
    f32 = " [Keras default float32; float64 run (dtype='float64') agrees to 3e-6]"
    if c.loss in ("dice_loss", "tversky_loss"):
        p = cl(c.probs_nc())
        pdesc = "p" if not logits else ("sigmoid(x)" if c.binary else "softmax(x, axis=-1)")
        if c.loss == "dice_loss":
            v32, v64 = _keras_call(lambda dt: K.Dice(dtype=dt), y_true, p)
            return v32, f"keras.losses.Dice()(y_onehot_channels_last, {pdesc} channels_last (1,*sp,C))" + f32
        kw = {k: c.params[k] for k in ("alpha", "beta") if k in c.params}
        v32, v64 = _keras_call(lambda dt: K.Tversky(**kw, dtype=dt), y_true, p)
        ks = ", ".join(f"{k}={v}" for k, v in kw.items())
        return v32, f"keras.losses.Tversky({ks})(y_onehot_channels_last, {pdesc} channels_last (1,*sp,C))" + f32
    pred = cl(c.fmap())
    if c.loss == "ce":
        if c.binary:
            v32, v64 = _keras_call(lambda dt: K.BinaryCrossentropy(from_logits=logits, dtype=dt), y_true, pred)
            return v32, (f"keras.losses.BinaryCrossentropy(from_logits={logits})((y==1)[None,...,None], "
                         "pred[None,...,None])" + f32)
        v32, v64 = _keras_call(lambda dt: K.CategoricalCrossentropy(from_logits=logits, dtype=dt), y_true, pred)
        return v32, (f"keras.losses.CategoricalCrossentropy(from_logits={logits})(y_onehot_channels_last, "
                     "pred channels_last (1,*sp,C))" + f32)
    assert c.loss == "focal"
    if c.binary:
        v32, v64 = _keras_call(lambda dt: K.BinaryFocalCrossentropy(from_logits=logits, dtype=dt), y_true, pred)
        # what Keras' categorical focal gives on the two-channel expansion [1-p, p] (lossctl's reading)
        p2 = c.probs_nc()[0]
        two = np.stack([1.0 - p2, p2])
        oh2 = np.stack([(c.target != 1), (c.target == 1)]).astype(np.float64)
        alt = float(K.CategoricalFocalCrossentropy(dtype="float64")(cl(oh2), cl(two)))
        c.notes.append("single-channel map: Keras' binary loss BinaryFocalCrossentropy (defaults "
                       "apply_class_balancing=False, gamma=2: no alpha factor); CategoricalFocalCrossentropy "
                       "(alpha=0.25) on a 1-channel map is degenerate (renormalises p to 1). For reference, "
                       f"CategoricalFocalCrossentropy()(onehot, [1-p, p]) = {alt!r}")
        return v32, (f"keras.losses.BinaryFocalCrossentropy(from_logits={logits})((y==1)[None,...,None], "
                     "pred[None,...,None])" + f32)
    v32, v64 = _keras_call(lambda dt: K.CategoricalFocalCrossentropy(from_logits=logits, dtype=dt), y_true, pred)
    return v32, (f"keras.losses.CategoricalFocalCrossentropy(from_logits={logits})(y_onehot_channels_last, "
                 "pred channels_last (1,*sp,C))" + f32)


REFS = {"torch": ref_torch, "smp": ref_smp, "monai": ref_monai, "keras": ref_keras}


# --------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------

CASES: list[Case] = []


def add(*a, **k):
    CASES.append(Case(*a, **k))


def multi(loss, conv, input, C, desc, absent=(), low=(), shape=None, ignore_frac=0.0, params=None, note=None,
          low_mean=-12.0):
    t = make_target(shape or rshape(), C, absent=absent, ignore_frac=ignore_frac)
    x = make_logits(t, C, low=low, low_mean=low_mean)
    if low:
        assert not np.isin(x.argmax(0), low).any()
    pred = x if input == "logits" else softmax64(x)
    add(loss, conv, input, "multi", pred, t, desc, params=params, ignore=[255] if ignore_frac else [],
        note=note)


def binary(loss, conv, input, layout, desc, only=None, shape=None, ignore_frac=0.0, params=None, note=None):
    t = make_target(shape or rshape(), 2, only=only, ignore_frac=ignore_frac)
    x = make_bin_logits(t)
    pred = x if input == "logits" else sigmoid64(x)
    if layout == "bin1":
        pred = pred[None]
    add(loss, conv, input, layout, pred, t, desc, params=params, ignore=[255] if ignore_frac else [], note=note)


THREE_D = {("ce", "torch"), ("focal", "smp"), ("dice_loss", "smp"), ("lovasz", "smp"), ("dice_loss", "monai"),
           ("focal", "monai"), ("dice_loss", "keras"), ("focal", "keras")}


def build():
    for loss, conv in PRESETS:
        probs_ok = (loss, conv) not in LOGITS_ONLY
        multi(loss, conv, "logits", 2, "logits_C2")
        multi(loss, conv, "logits", 3, "logits_C3")
        multi(loss, conv, "logits", 4, "logits_C4_absent2", absent=(2,),
              note="class 2 absent from the target (still predicted)")
        multi(loss, conv, "logits", 4, "logits_C4_absent3_both", absent=(3,), low=(3,), low_mean=-25.0,
              note="class 3 absent from the target and from the argmax (logits ~ -25: soft sum ~1e-9)")
        binary(loss, conv, "logits", "bin1", "bin_logits_1HW")
        binary(loss, conv, "logits", "bin0", "bin_logits_HW_no_fg", only=0,
               note="single-channel logit map (H, W); no foreground pixel in the target")
        if probs_ok:
            multi(loss, conv, "probs", 3, "probs_C3", note="probabilities = softmax of float64 logits")
            multi(loss, conv, "probs", 4, "probs_C4_absent1_both", absent=(1,), low=(1,),
                  note="class 1 absent from target and argmax (logits ~ -12 before the softmax)")
            binary(loss, conv, "probs", "bin0", "bin_probs_HW", note="single foreground probability map (H, W)")
        if (loss, conv) in THREE_D:
            multi(loss, conv, "logits", 3, "logits_C3_3d", shape=(3, 6, 7), note="3D volume (D, H, W)")
    # ---- smp losses with ignore_index=255 ---------------------------------
    for loss in ("ce", "focal", "dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss", "lovasz"):
        multi(loss, "smp", "logits", 3, "logits_C3_ign255", ignore_frac=0.15,
              note="~15% of the target is 255, passed to smp as ignore_index=255 and to lossctl as ignore_index")
    for loss in ("focal", "dice_loss", "lovasz"):
        binary(loss, "smp", "logits", "bin1", "bin_logits_ign255", ignore_frac=0.15,
               note="~15% of the target is 255 (ignore_index=255)")
    # ---- non-default parameters (FP/FN semantics of alpha/beta; smp's gamma) --------------------------------
    for conv in ("smp", "monai", "keras"):
        multi("tversky_loss", conv, "logits", 3, "logits_C3_a0.3_b0.7", params={"alpha": 0.3, "beta": 0.7},
              note="alpha=0.3, beta=0.7 (lossctl: alpha weighs false positives, beta false negatives)")
        multi("tversky_loss", conv, "probs", 4, "probs_C4_a0.7_b0.3", params={"alpha": 0.7, "beta": 0.3},
              note="alpha=0.7, beta=0.3")
        binary("tversky_loss", conv, "logits", "bin1", "bin_logits_a0.3_b0.7", params={"alpha": 0.3, "beta": 0.7},
               note="single-channel map, alpha=0.3, beta=0.7 (here FP != FN, unlike a softmax map pooled over "
                    "all classes, where the totals of FP and FN are equal)")
    multi("focal_tversky_loss", "smp", "logits", 3, "logits_C3_gamma0.75", params={"gamma": 0.75},
          note="TverskyLoss(gamma=0.75): loss.mean() ** 0.75")
    multi("focal_tversky_loss", "smp", "probs", 4, "probs_C4_absent2_gamma0.75", params={"gamma": 0.75},
          absent=(2,), note="gamma=0.75; class 2 absent from the target")


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def main():
    build()
    counters: dict[tuple[str, str], int] = {}
    arrays, out = {}, []
    for c in CASES:
        n = counters.get((c.loss, c.conv), 0) + 1
        counters[(c.loss, c.conv)] = n
        c.id = f"{c.loss}-{c.conv}-{n:02d}-{c.desc}"
        with torch.no_grad():
            expected, ref = REFS[c.conv](c)
        assert np.isfinite(expected), (c.id, expected)
        arrays[f"{c.id}/pred"] = c.pred
        arrays[f"{c.id}/target"] = c.target
        out.append({
            "id": c.id, "loss": c.loss, "convention": c.conv, "input": c.input, "layout": c.layout,
            "params": c.params, "ignore_index": c.ignore, "reference": ref, "expected": expected,
            "float32_bound": c.conv == "keras", "note": "; ".join(c.notes) or None,
        })
    doc = {
        "generated_by": "tools/make_golden_seg_conventions.py",
        "command": COMMAND,
        "seed": SEED,
        "versions": VERSIONS,
        "conventions": {
            "pred": "one image in lossctl's layout: (C, *sp) channels-first ('multi'), (1, *sp) ('bin1') or (*sp) "
                    "('bin0') single foreground map; the reference gets it as a batch of one",
            "target": "(*sp) int64 class labels (255 = ignored where ignore_index lists it)",
            "params": "passed to Spec.evaluate(..., convention=..., **params); {} = the preset defaults",
            "expected": "float64 computation by the framework (torch/smp/monai/torchvision), except Keras "
                        "(float32 default, float32_bound=true: compare at rtol 1e-5)",
            "y": "the stored target; x/p the stored pred; one_hot over the C channels",
        },
        "cases": out,
    }
    references.write_golden(OUT_DIR, "seg_conventions_inputs.npz", arrays, "seg_conventions.json", doc)
    print(f"{len(out)} cases")
    for (loss, conv), k in counters.items():
        print(f"  {loss:20s} {conv:6s} {k}")
    print("versions:", json.dumps(VERSIONS))


if __name__ == "__main__":
    main()
