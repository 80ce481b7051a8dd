r"""Segmentation losses under each framework's convention (``torch``, ``keras``, ``smp``, ``monai``; ``lossctl seg``).

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

Every (loss, convention) pair is a row of :data:`TABLE` (an :class:`~lossctl.convention.Impl`: the function,
its parameters with the framework's defaults, the prediction kinds it takes, a one-line definition); a pair
missing from it does not exist in that framework. The registry builds its entries from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from lossctl._numeric import KERAS_EPS, KERAS_HIGH, log_sigmoid, nanmean, sigmoid
from lossctl.convention import INF, Impl, Param
from lossctl.losses import segmentation as seg
from lossctl.inputs.seg import SegInput

PerClass = np.ndarray | None
Result = tuple[float, PerClass]


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
              alpha: float | None = None, eps: float = 1e-7) -> Result:
    """smp FocalLoss: binary mean over pixels; multiclass mean over classes of one-vs-rest sigmoid focal means.

    Probabilities (smp's ``from_logits=False``) are clamped to ``[eps, 1 - eps]`` and turned into the logits the
    loss then reads: ``log(p / (1 - p))`` for a single foreground map (binary mode), ``log p`` per channel for a
    C-channel map (multiclass mode, as smp does: these are not the logits of ``p``)."""
    if x.target.size == 0:
        return float("nan"), None
    if x.kind == "logits":
        logits, targets = _channel_logits(x), _channel_targets(x)
    elif x.single_channel:  # binary mode: the foreground map alone
        p = np.clip(np.asarray(x.probs[1], dtype=np.float64), eps, 1.0 - eps)
        logits, targets = np.log(p / (1.0 - p))[None, :], (x.target == 1).astype(np.float64)[None, :]
    else:
        logits, targets = np.log(np.clip(np.asarray(x.probs, dtype=np.float64), eps, 1.0 - eps)), _channel_targets(x)
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
    if x.total_pixels == 0:
        return float("nan"), None
    return float(-x.target_log_prob.sum() / x.total_pixels), None


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
                alpha: float | None = None, use_softmax: bool = False, ignoring: bool = False) -> Result:
    """MONAI FocalLoss: sigmoid focal (its default) or, with ``use_softmax``, softmax focal
    ``-(1 - p_c)^gamma log p_c`` on the true channel (alpha: 1 - alpha for channel 0, alpha for the others),
    over every (channel, pixel) element, then the mean over them, or, when an ignore index is set
    (``ignoring``), the sum divided by the number of valid pixels (not channels x pixels)."""
    logits, targets = _channel_logits(x), _channel_targets(x)
    keep = _averaged_classes(x, include)
    full = logits
    if logits.shape[0] > 1:
        logits, targets = logits[keep], targets[keep]
    if targets.size == 0:
        return float("nan"), None
    if use_softmax:  # a single channel's softmax is 1: every element is 0, as in MONAI
        log_p = np.zeros_like(logits) if x.single_channel else (full - x._log_normalizer)[keep]
        elements = -np.power(-np.expm1(log_p), gamma) * log_p * targets
        if alpha is not None:
            factor = np.where(np.arange(full.shape[0]) == 0, 1.0 - alpha, alpha)[keep[:full.shape[0]]]
            elements = elements * factor[:, None]
    else:
        elements = _sigmoid_focal(logits, targets, gamma, alpha)
    if ignoring:
        return float(elements.sum() / targets.shape[1]), None
    return float(elements.mean()), None


def torch_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
                alpha: float | None = 0.25) -> Result:
    """torchvision sigmoid_focal_loss(alpha=0.25, gamma=2, reduction='mean') over every (channel, pixel)."""
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


def keras_focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0, alpha: float = 0.25,
                apply_class_balancing: bool = False) -> Result:
    """Keras CategoricalFocalCrossentropy(alpha, gamma): mean of ``alpha (1 - p_y)^gamma (-log p_y)``; a
    single-channel map: BinaryFocalCrossentropy, which weighs by alpha only with ``apply_class_balancing``."""
    if x.target.size == 0:
        return float("nan"), None
    if x.single_channel:
        y = (x.target == 1).astype(np.float64)
        p = x.probs[1] if x.kind == "probs" else sigmoid(x.binary_logits)
        q = np.clip(p, KERAS_EPS, KERAS_HIGH)
        bce = -(y * np.log(q) + (1 - y) * np.log(1 - q))
        elements = np.power(1 - (y * p + (1 - y) * (1 - p)), gamma) * bce
        if apply_class_balancing:
            elements = elements * (y * alpha + (1 - y) * (1 - alpha))
        return float(elements.mean()), None
    p = _keras_probs(x)
    p_y = p[x.target, np.arange(x.target.size)]
    return float((alpha * np.power(1 - p_y, gamma) * -np.log(p_y)).mean()), None


def keras_tversky(x: SegInput, include: np.ndarray | None = None, *, alpha: float = 0.5, beta: float = 0.5,
                  **_: Any) -> Result:
    """Keras Tversky/Dice (axis=None): one ratio over every class and pixel, ``+1e-7`` in the denominator;
    as Keras' code does, ``alpha`` weighs false negatives and ``beta`` false positives."""
    keep = _averaged_classes(x, include)
    tp, p, g = (v[keep].sum() for v in x.soft_sums)
    return float(1.0 - tp / (tp + alpha * (g - tp) + beta * (p - tp) + KERAS_EPS)), None



# --- the table ----------------------------------------------------------------------------------------------

def _fixed(fn: Callable[..., Result], **fixed: Any) -> Callable[..., Result]:
    """``fn`` with some keyword arguments fixed (e.g. Dice is Tversky with alpha = beta = 0.5)."""
    def run(x: SegInput, include: np.ndarray | None = None, **params: Any) -> Result:
        return fn(x, include, **params, **fixed)
    return run


def _smooth(default: float, what: str = "added to the numerator and the denominator of each class's index") -> Param:
    return Param("smooth", default, what)


_EPS = Param("eps", 1e-7, "lower bound of the denominator", bounds=(1e-300, INF))
_GAMMA = Param("gamma", 2.0, "focusing exponent")
_ALPHA_OFF = Param("alpha", None, "weight of class 1 (binary); 1 - alpha for class 0; off by default",
                   bounds=(0.0, 1.0), optional=True)
_TV_ALPHA = Param("alpha", 0.3, "weight of false positives")
_TV_BETA = Param("beta", 0.7, "weight of false negatives")
_HALF_ALPHA = Param("alpha", 0.5, "weight of false positives")
_HALF_BETA = Param("beta", 0.5, "weight of false negatives")
LOGITS = frozenset({"logits"})
_SMP = "segmentation_models_pytorch 0.6"
_PRESENT = "mean over the classes present in the ground truth (absent classes are NaN per class)"
_ABSENT_ZERO = "mean over every included class, a class absent from the ground truth counting 0"

#: ``{loss: {convention: Impl}}``: every segmentation loss under every convention that has it.
TABLE: dict[str, dict[str, Impl]] = {
    "ce": {
        "lossctl": Impl(seg.cross_entropy, "mean over valid pixels of -log p_y; logits via log-sum-exp; "
                        "probabilities: log p floored at -100", "torch.nn.CrossEntropyLoss / NLLLoss"),
        "torch": Impl(seg.cross_entropy, "CrossEntropyLoss (logits), NLLLoss on log p floored at -100 "
                      "(probabilities): mean over valid pixels", "torch.nn.CrossEntropyLoss(ignore_index)"),
        "keras": Impl(keras_ce, "SparseCategoricalCrossentropy: logits via log-softmax; probabilities "
                      "renormalised and clipped to [1e-7, 1-1e-7]", "keras.losses.SparseCategoricalCrossentropy"),
        "smp": Impl(smp_ce, "SoftCrossEntropyLoss (logits): ignored pixels count 0 in the mean over ALL pixels",
                    f"{_SMP} SoftCrossEntropyLoss(smooth_factor=0.0)", inputs=LOGITS),
    },
    "focal": {
        "lossctl": Impl(seg.focal, "mean over valid pixels of -a (1 - p_y)^gamma log p_y; softmax focal for C "
                        "channels, sigmoid for a binary map; a = alpha / 1 - alpha for class 1 / 0 if set",
                        "torchvision.ops.sigmoid_focal_loss (binary); MONAI FocalLoss(use_softmax=True) "
                        "summed over classes", (_GAMMA, _ALPHA_OFF)),
        "torch": Impl(torch_focal, "torchvision sigmoid_focal_loss: sigmoid focal over every (channel, pixel), "
                      "mean; alpha 0.25", "torchvision.ops.sigmoid_focal_loss(reduction='mean')",
                      (_GAMMA, Param("alpha", 0.25, "weight of the positive term; none turns it off (-1)",
                                     bounds=(0.0, 1.0), optional=True)), inputs=LOGITS),
        "keras": Impl(keras_focal, "CategoricalFocalCrossentropy: mean of alpha (1 - p_y)^gamma (-log p_y); a binary "
                      "map: BinaryFocalCrossentropy (alpha only with apply_class_balancing)",
                      "keras.losses.CategoricalFocalCrossentropy / BinaryFocalCrossentropy",
                      (_GAMMA, Param("alpha", 0.25, "class-balancing weight", bounds=(0.0, 1.0)),
                       Param("apply_class_balancing", False, "a binary map: weigh by alpha / 1 - alpha", kind="bool"))),
        "smp": Impl(smp_focal, "FocalLoss: mean over classes of each class's one-vs-rest sigmoid focal mean; "
                    "probabilities (from_logits=False) clamped to [eps, 1-eps], log p as logits",
                    f"{_SMP} FocalLoss(mode)", (_GAMMA, _ALPHA_OFF, _EPS)),
        "monai": Impl(monai_focal, "FocalLoss: sigmoid (or use_softmax) focal over every (channel, pixel), "
                      "mean; with an ignore index: sum / number of valid pixels",
                      "monai.losses.FocalLoss(to_onehot_y=True)",
                      (_GAMMA, _ALPHA_OFF, Param("use_softmax", False, "softmax focal instead of sigmoid",
                                                 kind="bool")), inputs=LOGITS, context=("ignoring",)),
    },
    "dice_loss": {
        "lossctl": Impl(_fixed(seg.region_loss, alpha=0.5, beta=0.5), f"1 - (2TP + 2s)/max(P + G + 2s, eps), "
                        f"{_PRESENT}", f"{_SMP} DiceLoss(classes=<present>)", (_smooth(0.0), _EPS)),
        "keras": Impl(_fixed(keras_tversky, alpha=0.5, beta=0.5), "Dice (axis=None): 1 - 2 sum(y p)/(sum y + "
                      "sum p + 1e-7) over every class and pixel", "keras.losses.Dice"),
        "smp": Impl(_fixed(smp_region, alpha=0.5, beta=0.5), f"1 - (2TP + s)/max(P + G + s, eps), {_ABSENT_ZERO}",
                    f"{_SMP} DiceLoss(mode='multiclass')", (_smooth(0.0), _EPS)),
        "monai": Impl(monai_dice, "DiceLoss: 1 - (2TP + s)/(P + G + s) per class (s = smooth_nr = smooth_dr), "
                      "plain mean over classes", "monai.losses.DiceLoss(to_onehot_y=True)", (_smooth(1e-5),),
                      inputs=frozenset({"probs", "logits"})),
    },
    "jaccard_loss": {
        "lossctl": Impl(_fixed(seg.region_loss, alpha=1.0, beta=1.0), f"1 - (TP + s)/max(P + G - TP + s, eps), "
                        f"{_PRESENT}", f"{_SMP} JaccardLoss(classes=<present>)", (_smooth(0.0), _EPS)),
        "smp": Impl(_fixed(smp_region, alpha=1.0, beta=1.0), f"1 - (TP + s)/max(P + G - TP + s, eps), "
                    f"{_ABSENT_ZERO}", f"{_SMP} JaccardLoss(mode='multiclass')", (_smooth(0.0), _EPS)),
        "monai": Impl(_fixed(monai_dice, jaccard=True), "DiceLoss(jaccard=True): 1 - (2TP + s)/(2(P + G - TP) + s) "
                      "per class, plain mean", "monai.losses.DiceLoss(jaccard=True)", (_smooth(1e-5),)),
    },
    "tversky_loss": {
        "lossctl": Impl(seg.region_loss, f"1 - (TP + s)/max(TP + alpha FP + beta FN + s, eps), {_PRESENT}",
                        f"{_SMP} TverskyLoss(classes=<present>)", (_TV_ALPHA, _TV_BETA, _smooth(0.0), _EPS)),
        "keras": Impl(keras_tversky, "Tversky (axis=None): one ratio over every class and pixel, +1e-7; as "
                      "Keras' code does, alpha weighs false NEGATIVES", "keras.losses.Tversky",
                      (_HALF_ALPHA, _HALF_BETA)),
        "smp": Impl(smp_region, f"1 - (TP + s)/max(TP + alpha FP + beta FN + s, eps), {_ABSENT_ZERO}",
                    f"{_SMP} TverskyLoss(mode='multiclass')", (_HALF_ALPHA, _HALF_BETA, _smooth(0.0), _EPS)),
        "monai": Impl(monai_tversky, "TverskyLoss: 1 - (TP + s)/(TP + alpha FP + beta FN + s) per class, plain "
                      "mean", "monai.losses.TverskyLoss(to_onehot_y=True)", (_HALF_ALPHA, _HALF_BETA, _smooth(1e-5))),
    },
    "focal_tversky_loss": {
        "lossctl": Impl(seg.region_loss, f"(mean_c 1 - T_c)^gamma, {_PRESENT}; Abraham & Khan use gamma 0.75",
                        f"{_SMP} TverskyLoss(gamma)", (_TV_ALPHA, _TV_BETA, Param("gamma", 0.75, "exponent of the "
                        "loss, applied after the class mean"), _smooth(0.0), _EPS)),
        "smp": Impl(smp_region, f"(mean_c (1 - T_c))^gamma, {_ABSENT_ZERO}", f"{_SMP} TverskyLoss(gamma)",
                    (_HALF_ALPHA, _HALF_BETA, Param("gamma", 1.0, "exponent of the loss"), _smooth(0.0), _EPS)),
    },
    "lovasz": {
        "lossctl": Impl(seg.lovasz, "Lovász-Softmax over the classes present (probabilities or softmax of logits); "
                        "Lovász hinge for a single-channel logit map", "bermanmaxim/LovaszSoftmax "
                        "lovasz_softmax(classes='present') / lovasz_hinge"),
        "smp": Impl(seg.lovasz, "LovaszLoss (per_image=False on one image): Lovász-Softmax / hinge of the logits",
                    f"{_SMP} LovaszLoss(mode)", inputs=LOGITS),
    },
}
