r"""Segmentation losses of one image, computed from a :class:`~lossctl.inputs.seg.SegInput`.

Every function takes the prepared image ``x`` (valid pixels only: ignored pixels leave numerators *and*
denominators) and returns ``(value, per_class)``, where ``per_class`` is a (C,) float64 array or ``None``.

Which classes enter a class mean (the lossctl convention, shared with the Lovász-Softmax default of Berman et al.):
the classes *present in this image's ground truth*, minus those excluded by ``include`` (e.g. the background).
A class absent from the ground truth scores NaN in ``per_class`` and is left out of the mean; an image with no
such class (or no valid pixel) scores NaN.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from lossctl._numeric import nanmean
from lossctl.errors import UsageError
from lossctl.inputs.seg import SegInput

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
    if x.valid_pixels == 0:
        return float("nan"), None
    return -x.pixel_mean(lambda part: part.target_log_prob), None


def focal(x: SegInput, include: np.ndarray | None = None, *, gamma: float = 2.0,
          alpha: float | None = None) -> tuple[float, PerClass]:
    r"""Focal loss (Lin et al. 2017), ``mean_n -a_n (1 - p_{n,y})^\gamma \log p_{n,y}``.

    ``a_n = 1`` unless ``alpha`` is given, then ``alpha`` for class-1 pixels and ``1 - alpha`` for the others
    (binary tasks only). With logits, ``p_y = exp(log_softmax)`` so nothing underflows to ``log 0``.
    Reference: ``torchvision.ops.sigmoid_focal_loss`` (binary), MONAI ``FocalLoss(use_softmax=True)`` summed
    over classes (multiclass).
    """
    if x.valid_pixels == 0:
        return float("nan"), None
    if alpha is not None and x.num_classes != 2:
        raise UsageError(f"focal's alpha weighs class 1 against class 0 of a binary task; this prediction has "
                         f"{x.num_classes} classes: drop focal's alpha", option="alpha")

    def per_pixel(part: SegInput) -> np.ndarray:
        logp = part.target_log_prob
        loss = (-np.power(-np.expm1(logp), gamma) if gamma else -1.0) * logp
        return loss if alpha is None else loss * np.where(part.target == 1, alpha, 1.0 - alpha)
    return x.pixel_mean(per_pixel), None


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


def lovasz_extension(errors_fg: np.ndarray, errors_bg: np.ndarray, hinge: bool = False) -> float:
    r"""``sum_k m(e_k) (J_k - J_{k-1})`` over every pixel's error in decreasing order (Berman et al. 2018).

    ``errors_fg`` and ``errors_bg`` are the errors of the foreground (ground truth 1) and background pixels, in
    any order; ``m`` is the identity, or ``max(., 0)`` for the hinge. With ``G`` foreground pixels and ``f``
    foreground and ``b`` background pixels among the first ``k``, ``J_k = 1 - (G - f) / (G + b)``: a foreground
    step adds ``1 / (G + b)`` and the ``j``-th background step (0-based) adds ``(G - f) / ((G + j)(G + j + 1))``.
    So each pixel needs only its rank in its own group and the number of pixels of the other group before it
    (``searchsorted``), never an argsort of all pixels, and most pixels need no sorting at all:

    * a pixel with error <= 0 adds nothing and comes after every pixel that does;
    * a background pixel whose error does not exceed the smallest foreground error has ``f = G``: it adds 0;
    * a foreground pixel below every remaining background error has all of them before it.

    The value does not depend on the order of tied errors.

    >>> round(lovasz_extension(np.array([1.5, -1.0]), np.array([1.5, 0.0]), hinge=True), 12)
    1.0
    """
    a = np.sort(np.asarray(errors_fg, dtype=np.float64))
    b = np.sort(np.asarray(errors_bg, dtype=np.float64))
    return lovasz_sorted(a, b, hinge)


#: Sorted errors per block of the Lovász sums.
LOVASZ_BLOCK = 1 << 16


def lovasz_sorted(a: np.ndarray, b: np.ndarray, hinge: bool = False) -> float:
    """:func:`lovasz_extension` of *ascending* arrays of every foreground (``a``) and background (``b``) error.

    Either may be float32 (a stored probability map, sorted in its own precision: sorting is the dominant cost
    and float32 sorts faster than float64); comparisons between the two are exact whatever their dtypes
    (:func:`_needles`) and every sum is formed in float64. Besides ``a`` and ``b``, memory is one count per
    foreground error and O(:data:`LOVASZ_BLOCK`) temporaries.
    """
    g = a.size
    if g == 0:  # J = 1 from the first pixel on: only the largest error counts
        return float(max(float(b[-1]), 0.0) if hinge else b[-1]) if b.size else 0.0
    b = b[_count_at_or_below(b, np.array([max(float(a[0]), 0.0)]))[0]:]  # the background pixels that add something
    a = a[_count_at_or_below(a, np.zeros(1))[0]:]  # foreground errors <= 0 add nothing
    lowest_b = b[:1] if b.size else np.array([np.inf])
    split = _count_below(a, lowest_b)[0]
    a_low, a = a[:split], a[split:]  # every kept background pixel comes before a_low
    nb = b.size
    total = float(_weigh(a_low, hinge).sum()) / (g + nb)
    # a_i >= b_j  <=>  j < at_or_below_i, so #{b > a_i} = nb - at_or_below_i and #{a >= b_j} = #{at_or_below > j}
    at_or_below = _count_at_or_below(b, a)  # nondecreasing
    for start in range(0, a.size, LOVASZ_BLOCK):  # blocks: O(block) temporaries, however large the image
        part = slice(start, start + LOVASZ_BLOCK)
        total += float((_weigh(a[part], hinge) / (g + nb - at_or_below[part])).sum())
    counted = 0  # #{at_or_below < start}
    for start in range(0, nb, LOVASZ_BLOCK):
        stop = min(nb, start + LOVASZ_BLOCK)
        upto = int(np.searchsorted(at_or_below, stop, side="left"))
        at_most = counted + np.cumsum(np.bincount(at_or_below[counted:upto] - start, minlength=stop - start))
        rank = np.arange(g + nb - 1.0 - start, g + nb - 0.5 - stop, -1.0)  # g + 0-based rank in decreasing order
        weight = (g - (a.size - at_most)) / (rank * (rank + 1.0))
        total += float((_weigh(b[start:stop], hinge) * weight).sum())
        counted = upto
    return total


def _weigh(e: np.ndarray, hinge: bool) -> np.ndarray:
    """The errors as float64 weights of the Jaccard steps (``max(e, 0)`` for the hinge)."""
    e = e.astype(np.float64, copy=False)
    return np.maximum(e, 0.0) if hinge else e


def _needles(values: np.ndarray, haystack: np.ndarray, up: bool) -> np.ndarray:
    """``values`` in ``haystack``'s dtype, rounded so that counts against a narrower haystack stay exact.

    For float32 ``h`` and a float64 ``v``: ``h <= v`` iff ``h <= round_down(v)``, and ``h < v`` iff
    ``h < round_up(v)``; ``searchsorted`` would otherwise cast the whole haystack to float64.
    """
    if values.dtype.itemsize <= haystack.dtype.itemsize:
        return values
    rounded = values.astype(haystack.dtype)
    if up:
        return np.where(rounded < values, np.nextafter(rounded, rounded.dtype.type(np.inf)), rounded)
    return np.where(rounded > values, np.nextafter(rounded, rounded.dtype.type(-np.inf)), rounded)


def _count_at_or_below(haystack: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``#{h <= v}`` for each ``v``, for an ascending ``haystack``."""
    return np.searchsorted(haystack, _needles(values, haystack, up=False), side="right")


def _count_below(haystack: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``#{h < v}`` for each ``v``, for an ascending ``haystack``."""
    return np.searchsorted(haystack, _needles(values, haystack, up=True), side="left")


def lovasz_softmax(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Lovász-Softmax (Berman, Rannen Triki, Blaschko, CVPR 2018) over the classes present in the image.

    For each included class: errors ``|[y=c] - p_c|`` in decreasing order, combined with the increments of the
    Jaccard loss along that order (:func:`lovasz_extension`); the loss is the mean over those classes
    (``classes='present'``). Reference: ``lovasz_softmax(probas, labels, classes='present', per_image=False)``
    of bermanmaxim/LovaszSoftmax, as ported in segmentation_models_pytorch.

    The probabilities are sorted in their stored precision (the order of ``1 - p`` is the reverse order of
    ``p``, exactly); the foreground errors ``1 - p`` are formed in float64, the background errors are the stored
    probabilities themselves.
    """
    keep = _included(x, include)
    per_class = np.full(x.num_classes, np.nan)
    if x.single_channel:  # classes 0 and 1 have the same two error lists, with the roles swapped
        p_fg, p_bg = x.class_values(1)
        p_fg.sort()
        p_bg.sort()
        errors_fg = 1.0 - p_fg[::-1].astype(np.float64)  # ascending
        lists = {0: (p_bg, errors_fg), 1: (errors_fg, p_bg)}
        for c in np.flatnonzero(keep):
            per_class[c] = lovasz_sorted(*lists[c])
        return nanmean(per_class), per_class

    def one_class(c: int) -> float:
        p_fg, p_bg = x.class_values(c)
        p_fg.sort()  # the stored precision (float32 stays float32): the order of 1 - p is exact
        errors_fg = 1.0 - p_fg[::-1].astype(np.float64)  # ascending
        low = max(float(errors_fg[0]), 0.0)  # background errors up to the smallest foreground one add nothing
        p_bg = p_bg[p_bg > _needles(np.array([low]), p_bg, up=False)[0]]
        p_bg.sort()
        return lovasz_sorted(errors_fg, p_bg)

    classes = np.flatnonzero(keep)
    per_class[classes] = list(_class_map(one_class, classes))
    return nanmean(per_class), per_class


#: Threads over the classes of one image (numpy releases the GIL while sorting); set by :func:`set_threads`.
_threads = 1
_pool: ThreadPoolExecutor | None = None


def set_threads(n: int) -> None:
    """Compute the classes of one image's Lovász-Softmax in ``n`` threads (1: in the calling thread)."""
    global _threads, _pool
    _threads = max(1, n)
    if _pool is not None and _pool._max_workers != _threads:
        _pool.shutdown()
        _pool = None


def _class_map(fn: Any, classes: np.ndarray) -> Iterator[float]:
    """``map(fn, classes)``, in threads when there are several classes and threads; results keep their order."""
    global _pool
    if _threads == 1 or len(classes) < 2:
        return map(fn, classes)
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=_threads)
    return _pool.map(fn, classes)


def lovasz_hinge(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Binary Lovász hinge: :func:`lovasz_extension` of the hinge errors ``e = 1 - x s``, ``s = 2y - 1``,
    with ``max(e, 0)`` as the weight of each step.

    Used for a single-channel logit map. Reference: ``lovasz_hinge(logits, labels, per_image=False)`` of
    bermanmaxim/LovaszSoftmax. With no foreground the loss is ``max(0, 1 + max logit)``, not 0.
    """
    if x.valid_pixels == 0:
        return float("nan"), None
    logits_fg, logits_bg = x.class_values(1)
    errors_fg = 1.0 - np.sort(logits_fg)[::-1]  # ascending
    errors_bg = 1.0 + np.sort(logits_bg)
    return lovasz_sorted(errors_fg, errors_bg, hinge=True), None


def lovasz(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    """Lovász hinge for a single-channel logit map, Lovász-Softmax otherwise."""
    if x.kind == "logits" and x.single_channel:
        return lovasz_hinge(x, include)
    return lovasz_softmax(x, include)
