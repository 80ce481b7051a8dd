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
    (binary tasks only). With logits, ``p_y = exp(log_softmax)`` so nothing underflows to ``log 0`` and
    ``1 - p_y = -expm1(log p_y)``; with probabilities ``1 - p_y`` is formed from the stored ``p_y`` (exact).
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
        miss = -np.expm1(logp) if part.kind == "logits" else 1.0 - part.target_prob  # 1 - p_y
        loss = (-np.power(miss, gamma) if gamma else -1.0) * logp
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
    So each pixel needs only its rank in the merged order and its group: one sort of keys that carry both
    (:func:`lovasz_sorted`). The value does not depend on the order of tied errors.

    >>> round(lovasz_extension(np.array([1.5, -1.0]), np.array([1.5, 0.0]), hinge=True), 12)
    1.0
    """
    fg = np.asarray(errors_fg, dtype=np.float64)
    bg = np.asarray(errors_bg, dtype=np.float64)
    if hinge:  # a pixel with error <= 0 adds nothing and comes after every pixel that does: it can be 0
        fg, bg = np.maximum(fg, 0.0), np.maximum(bg, 0.0)
    if fg.size == 0:
        return _without_foreground(bg)
    keys = _merged_keys(fg, bg)
    keys.sort()
    return lovasz_sorted(keys, fg.size)


#: Sorted keys per block of the Lovász sums.
LOVASZ_BLOCK = 1 << 16


def _without_foreground(errors_bg: np.ndarray) -> float:
    """The Lovász extension when no pixel is foreground: ``J = 1`` from the first pixel on, so only the largest
    error counts (errors already clamped for the hinge)."""
    return float(errors_bg.max()) if errors_bg.size else 0.0


def _keys(errors: np.ndarray, group: int, out: np.ndarray) -> None:
    """``out = bits(errors) << 1 | group``: the bit patterns of non-negative floats, read as unsigned integers,
    sort in the order of the values (a ``-0.0`` loses its sign bit in the shift: it is 0)."""
    np.left_shift(errors.view(out.dtype), 1, out=out)
    if group:
        out |= 1


def _merged_keys(errors_fg: np.ndarray, errors_bg: np.ndarray) -> np.ndarray:
    """The keys (unsorted) of non-negative errors in their own precision (float64 -> uint64, float32 -> uint32),
    foreground ones with group bit 1."""
    key = np.uint32 if errors_fg.dtype == errors_bg.dtype == np.float32 else np.uint64
    fg = errors_fg.astype(np.float32 if key is np.uint32 else np.float64, copy=False)
    bg = errors_bg.astype(fg.dtype, copy=False)
    keys = np.empty(fg.size + bg.size, dtype=key)
    _keys(fg, 1, keys[:fg.size])
    _keys(bg, 0, keys[fg.size:])
    return keys


def lovasz_sorted(keys: np.ndarray, ones: int, fg_is_one: bool = True, one_values: np.ndarray | None = None
                  ) -> float:
    """:func:`lovasz_extension` from the ascending ``keys = bits(e) << 1 | group`` of every pixel's error, with
    at least one foreground pixel.

    ``ones`` pixels are in group 1: the foreground if ``fg_is_one``, else the background. The key of a group-0
    error holds it exactly; so do the keys of the group-1 errors, except the largest ``len(one_values)`` when
    ``one_values`` is given: their exact values, ascending (float64), whose keys are float32 roundings *down*
    of them (equal bits to a group-0 key then sort above it, where the exact value is). A key's position and the number of group-1 keys before it
    give every count of the formula: the ``l``-th group-1 key at position ``i`` has ``i - l`` keys of the other
    group below it. With ``n`` pixels, ``G + b = n - (background errors below)`` for a foreground step and
    ``G + j = n - 1 - m`` for the ``m``-th smallest background error, so every weight is a product of
    ``1 / (n - k)``, formed once per block for the block's range of ``k``. Memory besides ``keys``:
    O(:data:`LOVASZ_BLOCK`); every sum is in float64.
    """
    n = keys.size
    value = np.float32 if keys.dtype == np.uint32 else np.float64
    fg, bg = (1, 0) if fg_is_one else (0, 1)
    total = 0.0
    below = [0, 0]  # keys of group 0 and of group 1 before this block
    from_keys = ones - (0 if one_values is None else one_values.size)  # group-1 errors whose keys hold them
    for start in range(0, n, LOVASZ_BLOCK):
        part = keys[start:start + LOVASZ_BLOCK]
        is_one = (part & 1).astype(bool)
        at = (np.flatnonzero(~is_one), np.flatnonzero(is_one))  # positions of each group in this block
        errors = [(part[at[0]] >> 1).view(value), _group_one_errors(part, at[1], below[1], from_keys, one_values)]
        errors_fg, errors_bg = errors[fg], errors[bg]
        # inverse = 1 / (n - k) for k = below[bg] + 0 .. (this block's background keys): k background errors below
        inverse = np.subtract(n - below[bg], _STEPS[:at[bg].size + 1])
        np.divide(1.0, inverse, out=inverse)
        bg_below_fg = at[fg] - _POSITIONS[:at[fg].size]  # background keys below each foreground key, in this block
        total += float((errors_fg * inverse[bg_below_fg]).sum())  # 1 / (G + b)
        fg_below_bg = at[bg] - _POSITIONS[:at[bg].size]  # G - f
        if below[fg]:
            fg_below_bg += below[fg]
        total += float((errors_bg * fg_below_bg * (inverse[:-1] * inverse[1:])).sum())  # / ((G + j)(G + j + 1))
        below = [below[g] + at[g].size for g in (0, 1)]
    return total


def _group_one_errors(part: np.ndarray, at: np.ndarray, before: int, from_keys: int,
                      exact: np.ndarray | None) -> np.ndarray:
    """The errors of the group-1 keys of ``part`` at positions ``at``, the ``before``-th group-1 key first: read
    from the keys up to the ``from_keys``-th, from ``exact`` (the values of the others, ascending) beyond."""
    value = np.float32 if part.dtype == np.uint32 else np.float64
    cut = min(max(from_keys - before, 0), at.size)  # this block's group-1 errors read from their keys
    if cut == at.size:
        return (part[at] >> 1).view(value)
    tail = exact[before + cut - from_keys:before + at.size - from_keys]  # type: ignore[index]
    if cut == 0:
        return tail
    return np.concatenate([(part[at[:cut]] >> 1).view(value), tail], dtype=np.float64)


#: ``0 .. LOVASZ_BLOCK`` as floats (the counts ``k`` of a block's weights ``1 / (n - k)``) and as positions.
_STEPS = np.arange(LOVASZ_BLOCK + 1, dtype=np.float64)
_POSITIONS = np.arange(LOVASZ_BLOCK + 1)


def lovasz_softmax(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    r"""Lovász-Softmax (Berman, Rannen Triki, Blaschko, CVPR 2018) over the classes present in the image.

    For each included class: errors ``|[y=c] - p_c|`` in decreasing order, combined with the increments of the
    Jaccard loss along that order (:func:`lovasz_extension`); the loss is the mean over those classes
    (``classes='present'``). Reference: ``lovasz_softmax(probas, labels, classes='present', per_image=False)``
    of bermanmaxim/LovaszSoftmax, as ported in segmentation_models_pytorch.

    The foreground errors ``1 - p`` are formed in float64, the background errors are the stored probabilities
    themselves; each class costs one sort of integer keys (:func:`_class_keys`). A single-channel map
    gives classes 0 and 1 the same two error lists with the roles swapped: one sort serves both.
    """
    keep = _included(x, include)
    per_class = np.full(x.num_classes, np.nan)
    if x.single_channel:
        classes = np.flatnonzero(keep)
        if classes.size:
            keys, ones, values = _class_keys(x, 1)  # class 1's foreground is class 0's background
            for c in classes:  # class 0: foreground errors p, background errors 1 - p
                per_class[c] = lovasz_sorted(keys, ones, c == 1, values)
        return nanmean(per_class), per_class

    def one_class(c: int) -> float:
        keys, ones, values = _class_keys(x, c)
        return lovasz_sorted(keys, ones, one_values=values)

    classes = np.flatnonzero(keep)
    per_class[classes] = list(_class_map(one_class, classes))
    return nanmean(per_class), per_class


def _class_keys(x: SegInput, c: int) -> tuple[np.ndarray, int, np.ndarray | None]:
    """``(keys, ones, one_values)`` for :func:`lovasz_sorted` of class ``c``'s errors: ``1 - p`` of its pixels
    (group 1, formed in float64) and ``p`` of the others (group 0), ``p`` the class's probabilities.

    Float32 probabilities sort as uint32 keys (about three times faster than uint64): a background error is a
    stored float32 exactly, and so is a foreground error ``1 - p`` for ``p >= 0.5`` (Sterbenz's lemma); for
    ``p < 0.5`` it usually is not, so its key holds it rounded down to float32 (:func:`_one_minus_rounded_down`,
    in float32 arithmetic) and ``one_values`` holds those errors, the largest, in float64, from a sort of the
    foreground probabilities below 0.5 (``p`` ascending is ``1 - p`` descending, exactly). Other precisions
    sort as uint64 keys of the float64 errors, which hold both groups exactly.
    """
    p_fg, p_bg = x.class_values(c)
    if p_bg.dtype != np.float32 or p_fg.dtype != np.float32:
        keys = _merged_keys(np.subtract(1.0, p_fg, dtype=np.float64), p_bg.astype(np.float64, copy=False))
        keys.sort()
        return keys, p_fg.size, None
    keys = np.empty(p_fg.size + p_bg.size, dtype=np.uint32)
    _keys(_one_minus_rounded_down(p_fg), 1, keys[:p_fg.size])
    _keys(p_bg, 0, keys[p_fg.size:])
    del p_bg  # the keys hold it: the sort needs only the keys (and the foreground probabilities)
    keys.sort()
    below_half = p_fg[p_fg < 0.5]  # 1 - p is exact in float32 for p >= 0.5 (Sterbenz): the others' keys may round
    below_half.sort()
    return keys, p_fg.size, np.subtract(1.0, below_half[::-1], dtype=np.float64)


def _one_minus_rounded_down(p: np.ndarray) -> np.ndarray:
    """``1 - p`` of float32 ``p`` in [0, 1], rounded *down* to float32, in float32 arithmetic: ``d = fl(1 - p)``
    is the nearest float32, and ``(1 - d) - p`` is its rounding error exactly (Fast2Sum: ``1 >= p``), negative
    when ``d`` is above ``1 - p``; then the float32 below ``d`` (its bit pattern minus one) is the rounding down."""
    one = np.float32(1.0)
    nearest = np.subtract(one, p)
    error = np.subtract(one, nearest)
    error -= p
    bits = nearest.view(np.uint32)
    bits -= np.less(error, 0)
    return nearest


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
    return lovasz_extension(1.0 - logits_fg, 1.0 + logits_bg, hinge=True), None


def lovasz(x: SegInput, include: np.ndarray | None = None) -> tuple[float, PerClass]:
    """Lovász hinge for a single-channel logit map, Lovász-Softmax otherwise."""
    if x.kind == "logits" and x.single_channel:
        return lovasz_hinge(x, include)
    return lovasz_softmax(x, include)
