r"""Segmentation losses of one image, computed from a :class:`~lossctl.seg_input.SegInput`.

Every function takes the prepared image ``x`` (valid pixels only: ignored pixels leave numerators *and*
denominators) and returns ``(value, per_class)``, where ``per_class`` is a (C,) float64 array or ``None``.

Which classes enter a class mean (the lossctl convention, shared with the Lovász-Softmax default of Berman et al.):
the classes *present in this image's ground truth*, minus those excluded by ``include`` (e.g. the background).
A class absent from the ground truth scores NaN in ``per_class`` and is left out of the mean; an image with no
such class (or no valid pixel) scores NaN.
"""

from __future__ import annotations

import numpy as np

from lossctl._numeric import nanmean
from lossctl.seg_input import SegInput

PerClass = np.ndarray | None


def _included(x: SegInput, include: np.ndarray | None) -> np.ndarray:
    """(C,) bool: classes present in the ground truth and not excluded."""
    present = x.class_counts > 0
    return present if include is None else present & include[: x.num_classes]


def cross_entropy(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Pixel-wise cross-entropy, ``mean_n -log p_{n, y_n}`` over valid pixels.

    Logits use log-sum-exp; probabilities use ``max(log p, -100)`` (the PyTorch ``NLLLoss``/``BCELoss`` clamp).
    Reference: ``torch.nn.CrossEntropyLoss`` (logits), ``BCEWithLogitsLoss`` (binary logits),
    ``NLLLoss`` on clamped logs / ``BCELoss`` (probabilities).
    """
    if x.target.size == 0:
        return float("nan"), None
    return float(-x.target_log_prob.mean()), None


def focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
          alpha: float | None = None) -> tuple[float, PerClass]:
    r"""Focal loss (Lin et al. 2017), ``mean_n -a_n (1 - p_{n,y})^\gamma \log p_{n,y}``.

    ``a_n = 1`` unless ``alpha`` is given, then ``alpha`` for class-1 pixels and ``1 - alpha`` for the others
    (binary tasks only). With logits, ``p_y = exp(log_softmax)`` so nothing underflows to ``log 0``.
    Reference: ``torchvision.ops.sigmoid_focal_loss`` (binary), MONAI ``FocalLoss(use_softmax=True)`` summed
    over classes (multiclass).
    """
    if x.target.size == 0:
        return float("nan"), None
    logp = x.target_log_prob
    weight = -np.power(-np.expm1(logp), gamma) if gamma else -1.0
    loss = weight * logp
    if alpha is not None:
        loss = loss * np.where(x.target == 1, alpha, 1.0 - alpha)
    return float(loss.mean()), None


def tversky_scores(x: SegInput, *, alpha: float, beta: float, smooth: float, eps: float) -> np.ndarray:
    r"""Per-class Tversky index ``(TP + s) / max(TP + alpha FP + beta FN + s, eps)``.

    ``TP = sum p_c [y=c]``, ``FP = sum p_c - TP``, ``FN = #[y=c] - TP`` over valid pixels; ``alpha`` weighs false
    positives and ``beta`` false negatives (Salehi et al. 2017, as smp and MONAI name them; Keras' docstring
    says so too, but its code swaps them).
    """
    tp, p, g = x.soft_sums
    denominator = np.maximum(tp + alpha * (p - tp) + beta * (g - tp) + smooth, eps)
    return (tp + smooth) / denominator


def region_loss(x: SegInput, include: np.ndarray | None = None, *, alpha: float, beta: float,
                smooth: float = 0.0, eps: float = 1e-7, gamma: float = 1.0) -> tuple[float, PerClass]:
    r"""``(mean_c (1 - T_c))^\gamma`` over the included classes, with ``T_c`` from :func:`tversky_scores`.

    Soft Dice is ``alpha = beta = 0.5`` (``(2TP + 2s) / (P + G + 2s)``), soft Jaccard ``alpha = beta = 1``,
    Tversky any other pair; ``gamma != 1`` is the focal Tversky loss (the exponent applied after the class mean,
    as segmentation_models_pytorch does; ``per_class`` then shows ``(1 - T_c)^gamma``). Reference: smp ``DiceLoss``/``JaccardLoss``/``TverskyLoss``.
    """
    keep = _included(x, include)
    per_class = np.where(keep, 1.0 - tversky_scores(x, alpha=alpha, beta=beta, smooth=smooth, eps=eps), np.nan)
    value = nanmean(per_class)
    if gamma == 1.0:
        return value, per_class
    return value ** gamma, per_class ** gamma


def lovasz_grad(fg_sorted: np.ndarray) -> np.ndarray:
    """Increments of the Jaccard loss along an error order (Berman et al. 2018, Algorithm 1).

    ``fg_sorted`` holds the ground-truth indicator of the pixels in order of decreasing error; with
    ``G = sum fg``, ``J_k = 1 - (G - fg_k^cum) / (G + bg_k^cum)`` and the result is ``J_1, J_2 - J_1, ...``.

    >>> lovasz_grad(np.array([0, 1, 0, 1])).round(4).tolist()
    [0.3333, 0.3333, 0.0833, 0.25]
    """
    fg = np.asarray(fg_sorted, dtype=np.float64)
    total = fg.sum()
    intersection = total - np.cumsum(fg)
    union = total + np.cumsum(1.0 - fg)
    jaccard = 1.0 - intersection / union
    jaccard[1:] = np.diff(jaccard)
    return jaccard


def _sorted_by_error(errors_fg: np.ndarray, errors_bg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge two error lists into decreasing order, returning (errors, fg indicator), without an argsort.

    Sorting each group's errors costs far less than an argsort of all of them; the merge position of each
    element comes from ``searchsorted``. Ties between the groups may land in either order: the Lovász
    extension does not depend on the order of tied errors.
    """
    a = -np.sort(-errors_fg)
    b = -np.sort(-errors_bg)
    # position of each element in the merged descending order (fg first among ties)
    rank_a = np.arange(a.size) + np.searchsorted(-b, -a, side="left")
    rank_b = np.arange(b.size) + np.searchsorted(-a, -b, side="right")
    errors = np.empty(a.size + b.size)
    fg = np.zeros(a.size + b.size)
    errors[rank_a] = a
    errors[rank_b] = b
    fg[rank_a] = 1.0
    return errors, fg


def lovasz_softmax(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Lovász-Softmax (Berman, Rannen Triki, Blaschko, CVPR 2018) over the classes present in the image.

    For each included class: errors ``|[y=c] - p_c|`` sorted in decreasing order, dotted with
    :func:`lovasz_grad` of the sorted ground truth; the loss is the mean over those classes (``classes='present'``).
    Reference: ``lovasz_softmax(probas, labels, classes='present', per_image=False)`` of bermanmaxim/LovaszSoftmax,
    as ported in segmentation_models_pytorch.
    """
    keep = _included(x, include)
    per_class = np.full(x.num_classes, np.nan)
    probs = x.probs
    for c in np.flatnonzero(keep):
        fg = x.target == c
        pc = probs[c]
        errors, fg_sorted = _sorted_by_error(1.0 - pc[fg], pc[~fg])
        per_class[c] = float(errors @ lovasz_grad(fg_sorted))
    return nanmean(per_class), per_class


def lovasz_hinge(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Binary Lovász hinge: ``sum_k max(e_k, 0) g_k`` with hinge errors ``e = 1 - x s``, ``s = 2y - 1``.

    Errors sorted in decreasing order, ``g`` the :func:`lovasz_grad` of the sorted labels. Used for a
    single-channel logit map. Reference: ``lovasz_hinge(logits, labels, per_image=False)`` of
    bermanmaxim/LovaszSoftmax. With no foreground the loss is ``max(0, 1 + max logit)``, not 0.
    """
    if x.target.size == 0:
        return float("nan"), None
    logits = x.binary_logits
    fg = x.target == 1
    errors, fg_sorted = _sorted_by_error(1.0 - logits[fg], 1.0 + logits[~fg])
    return float(np.maximum(errors, 0.0) @ lovasz_grad(fg_sorted)), None


def lovasz(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    """Lovász hinge for a single-channel logit map, Lovász-Softmax otherwise."""
    if x.binary_logits is not None:
        return lovasz_hinge(x, include)
    return lovasz_softmax(x, include)
