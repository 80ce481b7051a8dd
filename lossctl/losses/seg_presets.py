r"""Segmentation losses as other frameworks define them (``--convention torch|keras|smp|monai`` of ``lossctl seg``).

Each function has the signature of :mod:`lossctl.losses.segmentation` (``fn(x, include, **params)`` ->
``(value, per_class)``) and reproduces the framework's default definition on one image (a batch of one):

* **smp** (segmentation_models_pytorch >= 0.4): region losses average over *every* included class, a class
  absent from the ground truth contributing 0 (smp masks it, but still counts it); focal is one-vs-rest
  sigmoid focal on the logits of each class, averaged over the classes (smp 0.6; older releases summed);
  CE divides by every pixel, ignored ones included; CE and Lovász take logits.
* **monai**: Dice/Jaccard/Tversky with ``smooth_nr = smooth_dr = 1e-5``, no masking of absent classes
  (a class absent from both gives ``1 - 1e-5 / (P + 1e-5)``); Jaccard enters the smoothing halved,
  ``1 - (2TP + s) / (2 (P + G - TP) + s)``; focal is sigmoid focal over every (class, pixel) element.
* **keras**: Dice and Tversky flatten every class and pixel into one ratio with ``+1e-7`` in the denominator;
  Keras' ``tversky`` weighs *false negatives* by ``alpha`` and false positives by ``beta`` (its code swaps the
  roles its docstring gives them; lossctl reproduces the code); CE and focal use Keras' probability handling
  (renormalise rows, clip to ``[1e-7, 1 - 1e-7]``); a single-channel map uses BinaryFocalCrossentropy.
* **torch**: CE is ``CrossEntropyLoss`` (the lossctl definition); focal is torchvision's
  ``sigmoid_focal_loss`` (alpha 0.25) over every (class, pixel) element.

A (loss, convention) pair missing from :data:`SEG_PRESETS` does not exist in that framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lossctl._numeric import log_sigmoid, nanmean
from lossctl.errors import UsageError
from lossctl.losses import segmentation as seg
from lossctl.losses.classification import KERAS_EPS, KERAS_HIGH
from lossctl.seg_input import SegInput

PerClass = np.ndarray | None
Result = tuple[float, PerClass]


def _logits_only(x: SegInput, convention: str, loss: str) -> None:
    if x.kind != "logits":
        raise UsageError(f"{loss} under --convention {convention} takes logits (the framework applies the "
                         "activation itself); give logits with --pred-kind logits or use --convention lossctl")


def _averaged_classes(x: SegInput, include: np.ndarray | None) -> np.ndarray:
    """Classes a framework averages over: every included class, or the foreground alone for a binary map
    (smp ``binary`` mode, MONAI with one sigmoid channel, Keras on a single channel)."""
    if x.single_channel:
        return np.array([False, True])
    return np.ones(x.num_classes, bool) if include is None else include[: x.num_classes].copy()


def _one_hot_channels(x: SegInput) -> np.ndarray:
    out = np.zeros((x.num_classes, x.target.size))
    out[x.target, np.arange(x.target.size)] = 1.0
    return out


def _channel_logits(x: SegInput) -> np.ndarray:
    """The logits as the framework sees them: (C, N), or (1, N) for a single-channel map."""
    if x.binary_logits is not None:
        return x.binary_logits[None, :]
    return x.soft


def _channel_targets(x: SegInput) -> np.ndarray:
    if x.binary_logits is not None:
        return (x.target == 1).astype(np.float64)[None, :]
    return _one_hot_channels(x)


def smp_region(x: SegInput, include: np.ndarray | None = None, *, alpha: float, beta: float,
               smooth: float = 0.0, eps: float = 1e-7, gamma: float = 1.0) -> Result:
    """smp Dice/Jaccard/Tversky: ``mean_c (1 - T_c) [G_c > 0]`` over every included class, then ``^gamma``."""
    keep = _averaged_classes(x, include)
    score = seg.tversky_scores(x, alpha=alpha, beta=beta, smooth=smooth, eps=eps)
    per_class = np.where(x.class_counts > 0, 1.0 - score, 0.0)
    per_class = np.where(keep, per_class, np.nan)
    value = nanmean(per_class)
    return (value ** gamma if gamma != 1.0 else value), per_class


def smp_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
              alpha: float | None = None) -> Result:
    """smp FocalLoss: binary mean over pixels; multiclass mean over classes of one-vs-rest sigmoid focal means."""
    _logits_only(x, "smp", "focal")
    logits, targets = _channel_logits(x), _channel_targets(x)
    if targets.shape[1] == 0:
        return float("nan"), None
    return float(_sigmoid_focal(logits, targets, gamma, alpha).mean(axis=1).mean()), None


def _sigmoid_focal(logits: np.ndarray, targets: np.ndarray, gamma: float, alpha: float | None) -> np.ndarray:
    log_p, log_q = log_sigmoid(logits), log_sigmoid(-logits)
    bce = -(targets * log_p + (1 - targets) * log_q)
    one_minus_pt = targets * np.exp(log_q) + (1 - targets) * np.exp(log_p)
    elements = np.power(one_minus_pt, gamma) * bce
    if alpha is not None and alpha >= 0:
        elements = elements * (alpha * targets + (1 - alpha) * (1 - targets))
    return elements


def smp_ce(x: SegInput, include: np.ndarray | None = None) -> Result:
    """smp SoftCrossEntropyLoss without smoothing: log-softmax CE of the logits; ignored pixels count as 0 in
    the mean over *all* pixels."""
    _logits_only(x, "smp", "ce")
    if x.total_pixels == 0:
        return float("nan"), None
    return float(-x.target_log_prob.sum() / x.total_pixels), None


def smp_lovasz(x: SegInput, include: np.ndarray | None = None) -> Result:
    """smp LovaszLoss (per_image=False on one image): the lossctl definition, from logits."""
    _logits_only(x, "smp", "lovasz")
    return seg.lovasz(x, include)


def monai_dice(x: SegInput, include: np.ndarray | None = None, *, smooth: float = 1e-5,
               jaccard: bool = False, **_: Any) -> Result:
    """MONAI DiceLoss: ``1 - (2TP + s) / (P + G + s)`` per class (Jaccard: ``2 (P + G - TP)``), mean over classes."""
    tp, p, g = x.soft_sums
    denominator = p + g
    if jaccard:
        denominator = 2.0 * (denominator - tp)
    with np.errstate(divide="ignore", invalid="ignore"):  # smooth 0 and an absent class: 0/0, as in MONAI
        per_class = 1.0 - (2.0 * tp + smooth) / (denominator + smooth)
    return _monai_mean(per_class, _averaged_classes(x, include))


def monai_tversky(x: SegInput, include: np.ndarray | None = None, *, alpha: float = 0.5, beta: float = 0.5,
                  smooth: float = 1e-5, **_: Any) -> Result:
    """MONAI TverskyLoss: ``1 - (TP + s) / (TP + alpha FP + beta FN + s)`` per class, mean over classes."""
    tp, p, g = x.soft_sums
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = 1.0 - (tp + smooth) / (tp + alpha * (p - tp) + beta * (g - tp) + smooth)
    return _monai_mean(per_class, _averaged_classes(x, include))


def _monai_mean(per_class: np.ndarray, keep: np.ndarray) -> Result:
    """MONAI's plain mean over the classes: NaN (undefined) when any class is 0/0, never skipped."""
    per_class = np.where(keep, per_class, np.nan)
    kept = per_class[keep]
    return (float(kept.mean()) if kept.size else float("nan")), per_class


def monai_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
                alpha: float | None = None) -> Result:
    """MONAI FocalLoss (sigmoid, the default): focal over every (channel, pixel) element, mean."""
    _logits_only(x, "monai", "focal")
    logits, targets = _channel_logits(x), _channel_targets(x)
    keep = _averaged_classes(x, include)
    if logits.shape[0] > 1:
        logits, targets = logits[keep], targets[keep]
    if targets.size == 0:
        return float("nan"), None
    return float(_sigmoid_focal(logits, targets, gamma, alpha).mean()), None


def torch_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
                alpha: float | None = 0.25) -> Result:
    """torchvision sigmoid_focal_loss(alpha=0.25, gamma=2, reduction='mean') over every (channel, pixel)."""
    _logits_only(x, "torch", "focal")
    logits, targets = _channel_logits(x), _channel_targets(x)
    if targets.size == 0:
        return float("nan"), None
    return float(_sigmoid_focal(logits, targets, gamma, alpha).mean()), None


def _keras_probs(x: SegInput) -> np.ndarray:
    p = x.probs
    return np.clip(p / p.sum(axis=0, keepdims=True), KERAS_EPS, KERAS_HIGH)


def keras_ce(x: SegInput, include: np.ndarray | None = None) -> Result:
    """Keras (Sparse)CategoricalCrossentropy: logits via log-softmax; probabilities renormalised and clipped."""
    if x.target.size == 0:
        return float("nan"), None
    if x.kind == "logits":
        return seg.cross_entropy(x, include)
    p = _keras_probs(x)
    return float(-np.log(p[x.target, np.arange(x.target.size)]).mean()), None


def keras_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
                alpha: float | None = None) -> Result:
    """Keras CategoricalFocalCrossentropy (alpha 0.25 unless given): ``sum_c alpha (1 - p_c)^gamma (-q_c log p_c)``,
    mean; a single-channel map: BinaryFocalCrossentropy (alpha only when given: apply_class_balancing)."""
    if x.target.size == 0:
        return float("nan"), None
    if x.single_channel:
        y = (x.target == 1).astype(np.float64)
        p = x.probs[1] if x.kind == "probs" else 1.0 / (1.0 + np.exp(-x.binary_logits))
        q = np.clip(p, KERAS_EPS, KERAS_HIGH)
        bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
        elements = np.power(1 - (y * p + (1 - y) * (1 - p)), gamma) * bce
        if alpha is not None:
            elements = elements * (y * alpha + (1 - y) * (1 - alpha))
        return float(elements.mean()), None
    p = _keras_probs(x)
    a = 0.25 if alpha is None else alpha
    p_y = p[x.target, np.arange(x.target.size)]
    return float((a * np.power(1 - p_y, gamma) * -np.log(p_y)).mean()), None


def keras_tversky(x: SegInput, include: np.ndarray | None = None, *, alpha: float = 0.5, beta: float = 0.5,
                  **_: Any) -> Result:
    """Keras Tversky/Dice (axis=None): one ratio over every class and pixel, ``+1e-7`` in the denominator;
    as Keras' code does, ``alpha`` weighs false negatives and ``beta`` false positives."""
    keep = _averaged_classes(x, include)
    tp, p, g = (v[keep].sum() for v in x.soft_sums)
    return float(1.0 - tp / (tp + alpha * (g - tp) + beta * (p - tp) + KERAS_EPS)), None


def _variant(fn: Callable[..., Result], doc: str, **fixed: Any) -> Callable[..., Result]:
    """``fn`` with some parameters fixed (e.g. Dice = Tversky with alpha = beta = 0.5), documented by ``doc``."""
    def run(x: SegInput, include: np.ndarray | None = None, **params: Any) -> Result:
        return fn(x, include, **{**params, **fixed})
    run.__doc__ = doc
    return run


SEG_PRESETS: dict[tuple[str, str], Callable[..., Result]] = {
    ("ce", "torch"): seg.cross_entropy,
    ("focal", "torch"): torch_focal,
    ("ce", "smp"): smp_ce,
    ("focal", "smp"): smp_focal,
    ("dice_loss", "smp"): _variant(smp_region, "smp DiceLoss: mean over every class of (1 - dice_c)[G_c > 0]",
                                   alpha=0.5, beta=0.5),
    ("jaccard_loss", "smp"): _variant(smp_region, "smp JaccardLoss: mean over every class of "
                                      "(1 - iou_c)[G_c > 0]", alpha=1.0, beta=1.0),
    ("tversky_loss", "smp"): _variant(smp_region, "smp TverskyLoss: mean over every class of (1 - T_c)[G_c > 0]"),
    ("focal_tversky_loss", "smp"): _variant(smp_region, "smp TverskyLoss(gamma): (mean over every class of "
                                            "(1 - T_c)[G_c > 0])^gamma"),
    ("lovasz", "smp"): smp_lovasz,
    ("dice_loss", "monai"): monai_dice,
    ("jaccard_loss", "monai"): _variant(monai_dice, "MONAI DiceLoss(jaccard=True): 1 - (2TP + s)/(2(P + G - TP) "
                                        "+ s) per class, mean over classes", jaccard=True),
    ("tversky_loss", "monai"): monai_tversky,
    ("focal", "monai"): monai_focal,
    ("ce", "keras"): keras_ce,
    ("focal", "keras"): keras_focal,
    ("dice_loss", "keras"): _variant(keras_tversky, "Keras Dice (axis=None): 1 - 2 sum(y p)/(sum y + sum p "
                                     "+ 1e-7) over every class and pixel", alpha=0.5, beta=0.5),
    ("tversky_loss", "keras"): keras_tversky,
}

#: Presets whose framework applies its own activation, so the prediction must be logits.
LOGITS_ONLY = {("focal", "torch"), ("ce", "smp"), ("focal", "smp"), ("lovasz", "smp"), ("focal", "monai")}


def preset(name: str, convention: str, pred_kind: str) -> Callable[..., Result]:
    """The function computing ``name`` under ``convention``; :class:`UsageError` when the framework lacks it."""
    fn = SEG_PRESETS.get((name, convention))
    if fn is None:
        raise UsageError(f"--convention {convention} has no segmentation loss {name}; "
                         "`lossctl losses NAME` lists who has what")
    if (name, convention) in LOGITS_ONLY and pred_kind != "logits":
        raise UsageError(f"{name} under --convention {convention} takes logits (the framework applies the "
                         "activation itself); pass --pred-kind logits with logit maps")
    return fn


#: The parameters a preset takes, where it takes fewer than the lossctl definition (its framework has no others).
PRESET_PARAMS: dict[tuple[str, str], frozenset[str]] = {
    ("dice_loss", "keras"): frozenset(),
    ("tversky_loss", "keras"): frozenset({"alpha", "beta"}),
    ("dice_loss", "monai"): frozenset({"smooth"}),
    ("jaccard_loss", "monai"): frozenset({"smooth"}),
    ("tversky_loss", "monai"): frozenset({"alpha", "beta", "smooth"}),
}

#: Parameter defaults that differ from lossctl's under a preset (the framework's own defaults).
PRESET_DEFAULTS: dict[tuple[str, str], dict[str, Any]] = {
    ("focal", "torch"): {"alpha": 0.25},
    ("tversky_loss", "smp"): {"alpha": 0.5, "beta": 0.5},
    ("focal_tversky_loss", "smp"): {"alpha": 0.5, "beta": 0.5, "gamma": 1.0},
    ("dice_loss", "monai"): {"smooth": 1e-5},
    ("jaccard_loss", "monai"): {"smooth": 1e-5},
    ("tversky_loss", "monai"): {"alpha": 0.5, "beta": 0.5, "smooth": 1e-5},
    ("tversky_loss", "keras"): {"alpha": 0.5, "beta": 0.5},
}
