"""One image's prediction and ground truth, checked and flattened once for every loss and metric.

:func:`prepare` turns the arrays as stored into a :class:`SegInput`: the valid pixels (ground truth not in
``ignore_index``), the target labels, the hard prediction and, for probabilities or logits, the probabilities
and the true-class log-probabilities, computed once (lazily) and shared by every value (the "fused pass").

Conventions (documented in docs/seg.md, "Inputs"):

* ``target`` holds integer class labels with the prediction's spatial shape: (H, W) or (D, H, W).
* ``pred`` is one of ``kind="labels"`` (integer labels, same shape as the target), ``"probs"`` or ``"logits"``:
  channels-first (C, *spatial) unless ``channels_last``; a map with the target's own shape (or one channel) is the
  foreground probability / logit of a binary task, read as the two classes ``[1 - p, p]`` (logits ``[0, x]``).
* ``kind="auto"`` never guesses logits: integer and boolean data are labels, floating-point data are
  probabilities and must then lie in [0, 1] and (for C >= 2) sum to 1 over the channels within ``SUM_TOLERANCE``.
* ``kind="probs"`` also reads probabilities stored as integers: uint8 maps as ``v / 255``, uint16 maps as
  ``v / 65535``, any map as ``v / prob_scale`` when ``prob_scale`` is given (float64, with a note); the channel
  sums may then be ``C / scale`` away from 1 (the quantisation).
* A label mask whose values are only 0 and 255 (and 255 is not ignored) is a binary mask with 255 meaning
  foreground: it is read as 0/1 and a note says so.
* A prediction with a leading axis of size 1 and two more axes than the ground truth (a batch of one) has that
  axis dropped, with a note.
* When the class count is not given, it is the largest label + 1, except that (:func:`_inferred_classes`) a
  largest label of 255 or 65535 with no label within :data:`VOID_GAP` below it is refused as a probable void
  value, and (``kind="auto"``) an integer prediction with many more distinct values than its ground truth's
  labels is refused as a probable probability map stored as integers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import numpy as np

from lossctl._numeric import floored_log, log_sigmoid
from lossctl.errors import InputError, ShapeMismatchError, setting
from lossctl.inputs.confusion import BLOCK, confusion_matrix, label_dtype

PredKind = Literal["auto", "labels", "probs", "logits"]

#: How far the channel sum of a probability map may be from 1 (float32 maps are rounded).
SUM_TOLERANCE = 1e-3
#: How far outside [0, 1] a probability may be (float rounding).
RANGE_TOLERANCE = 1e-6
#: Where a class count is declared (the command line also takes class names).
_CLASS_COUNT = f"{setting('num_classes')} or {setting('class_names')}"
#: The scale of a probability map stored as integers, by dtype (``v / scale`` is the probability).
PROB_SCALES = {np.dtype(np.uint8): 255, np.dtype(np.uint16): 65535}


@dataclass(eq=False)
class SegInput:
    """A prediction/target pair reduced to its valid pixels.

    Attributes
    ----------
    target : (N,) integer array
        Ground-truth labels of the N valid pixels, in their stored integer dtype (never widened: a uint8 volume
        stays uint8).
    labels : (N,) integer array
        Predicted labels: as stored for a label map, else the argmax of the probabilities (or the threshold of a
        binary map) in the narrowest unsigned dtype that holds the class count.
    num_classes : int
        C: the number of channels for probabilities/logits, else the given or inferred class count.
    kind : "labels" | "probs" | "logits"
        What the prediction was.
    binary_logits : (N,) float64 array or None
        The raw logits of a single-channel (binary) logit map, for the Lovász hinge.
    single_channel : bool
        The prediction was a single foreground map (expanded to the two classes ``[1 - p, p]``).
    n_total : int
        Pixels of the image before ignored ones were removed.
    channel_max : (N,) array or None
        The per-pixel maximum of a logit map, found while checking it (reused by the log-sum-exp).
    foreground : (N,) array or None
        A single-channel probability map in its stored float precision (clipped to [0, 1]): the Lovász loss
        sorts it (float32 sorts faster than float64, and in the same order).
    segments : (S,) int array or None
        Where each non-empty slice of the leading spatial axis (a row of an image, a slice of a volume) starts
        among the N valid pixels (None: one segment). Sums over pixels are formed per segment, then added
        exactly (:meth:`pixel_sum`), so a volume evaluated in chunks of slices gives the same bits.
    notes : list of str
        Conventions applied to this pair that the user should see (e.g. the 0/255 rule).
    """

    target: np.ndarray
    labels: np.ndarray
    num_classes: int
    kind: str
    soft: np.ndarray | None = None
    binary_logits: np.ndarray | None = None
    single_channel: bool = False
    notes: list[str] = field(default_factory=list)
    n_total: int = -1  # pixels before ignored ones were removed (-1: none were)
    channel_max: np.ndarray | None = None  # (N,) per-pixel maximum of the logits, when already known
    foreground: np.ndarray | None = None  # (N,) a single-channel probability map in its stored precision
    segments: np.ndarray | None = None  # (S,) where each non-empty leading-axis slice starts among the N pixels

    @property
    def valid_pixels(self) -> int:
        """N, the number of valid pixels."""
        return self.target.size

    def pixel_sum(self, values: np.ndarray) -> np.ndarray | float:
        """``sum_n values[..., n]`` in float64 in the canonical order: pairwise within each leading-axis slice,
        then an exactly rounded sum over the slices (:func:`exact_sum`), whatever the chunking."""
        return exact_sum(self.slice_sums(values))

    def slice_sums(self, values: np.ndarray) -> np.ndarray:
        """(..., S) float64 partial sums of ``values`` (..., N) over each leading-axis slice."""
        if self.target.size == 0:
            return np.zeros((*values.shape[:-1], 0))
        starts = self.segments if self.segments is not None else np.zeros(1, dtype=np.intp)
        return np.add.reduceat(np.asarray(values, dtype=np.float64), starts, axis=-1)

    def pixel_mean(self, per_pixel: Callable[[SegInput], np.ndarray]) -> float:
        """``mean_n per_pixel(self)[n]`` over the valid pixels, summed as :meth:`pixel_sum` does."""
        return float(self.pixel_sum(per_pixel(self))) / self.target.size

    def class_values(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Channel ``c`` of the prediction (stored precision) at the pixels of class ``c``, and at the others;
        for a single-channel map the foreground map (``c`` = 1), for a binary logit map its logits."""
        fg = self.target == c
        if self.binary_logits is not None:
            values = self.binary_logits
        elif self.single_channel:
            values = self.foreground if self.foreground is not None else self.probs[1]
        else:
            values = self.probs[c]
        return values[fg], values[~fg]

    @property
    def total_pixels(self) -> int:
        """Number of pixels of the image, ignored ones included (some frameworks divide by it)."""
        return self.target.size if self.n_total < 0 else self.n_total

    def _need_soft(self) -> np.ndarray:
        if self.soft is None:
            raise InputError("this value needs probabilities or logits, but the prediction holds labels; "
                             "pass the model's probability or logit maps", subject="pred")
        return self.soft

    @cached_property
    def _log_normalizer(self) -> np.ndarray:
        """(N,) float64 ``log sum_c exp(x_c)`` of the logits, by log-sum-exp."""
        x = self._need_soft()
        top = (x.max(axis=0) if self.channel_max is None else self.channel_max).astype(np.float64)
        return top + np.log(np.exp(x - top).sum(axis=0))

    @cached_property
    def probs(self) -> np.ndarray:
        """(C, N) probabilities: the given ones (in their stored float precision, not copied), or the softmax of
        the logits in float64."""
        x = self._need_soft()
        if self.kind == "logits":
            return np.exp(x - self._log_normalizer)
        return x

    @cached_property
    def target_prob(self) -> np.ndarray:
        """(N,) float64 ``p_y``: the probability of each pixel's true class."""
        if self.kind == "logits":
            return np.exp(self.target_log_prob)
        x = self._need_soft()
        return _pick_target(x, self.target).astype(np.float64)

    @cached_property
    def target_log_prob(self) -> np.ndarray:
        """(N,) float64 ``log p_y``: ``x_y - logsumexp(x)`` for logits, ``max(log p_y, -100)`` for probabilities."""
        if self.kind == "logits":
            x = self._need_soft()
            return _pick_target(x, self.target).astype(np.float64) - self._log_normalizer
        return floored_log(self.target_prob)

    @cached_property
    def class_counts(self) -> np.ndarray:
        """(C,) number of valid pixels of each class in the ground truth (the rows of the confusion matrix)."""
        return self.confusion.sum(axis=1)

    @cached_property
    def soft_sums(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(TP, P, G), each (C,): ``TP_c = sum p_c [y=c]``, ``P_c = sum p_c``, ``G_c = #[y=c]`` over valid pixels."""
        return (exact_sum(self.class_slice_sums()), self.pixel_sum(self.probs),
                self.class_counts.astype(np.float64))

    def class_slice_sums(self) -> np.ndarray:
        """(C, S) partial sums of ``p_y [y = c]`` over each leading-axis slice (``bincount`` adds in pixel order)."""
        c = self.num_classes
        if self.target.size == 0:
            return np.zeros((c, 0))
        starts = self.segments if self.segments is not None else np.zeros(1, dtype=np.intp)
        segment = np.repeat(np.arange(starts.size, dtype=label_dtype(starts.size)),
                            np.diff(np.append(starts, self.target.size)))
        key = np.empty(self.target.size, dtype=label_dtype(c * starts.size))
        np.multiply(segment, c, out=key, dtype=key.dtype, casting="unsafe")
        np.add(key, self.target, out=key, dtype=key.dtype, casting="unsafe")
        sums = np.bincount(key, weights=self.target_prob, minlength=c * starts.size)
        return sums.reshape(starts.size, c).T

    @cached_property
    def confusion(self) -> np.ndarray:
        """(C, C) int64 confusion matrix; rows are ground truth, columns the prediction."""
        return confusion_matrix(self.target, self.labels, self.num_classes)


def exact_sum(partials: np.ndarray) -> np.ndarray | float:
    """The exactly rounded sum (``math.fsum``) of partial sums along the last axis: independent of their grouping."""
    partials = np.asarray(partials, dtype=np.float64)
    if partials.ndim == 1:
        return math.fsum(partials.tolist())
    if partials.shape[-1] == 0:  # no valid pixel: every sum is 0
        return np.zeros(partials.shape[:-1])
    return np.array([math.fsum(row) for row in partials.reshape(-1, partials.shape[-1]).tolist()]).reshape(
        partials.shape[:-1])


def _pick_target(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(N,) ``x[target_n, n]`` of a (C, N) array, in x's dtype, by one masked copy per class (no index arrays)."""
    out = x[0].copy()
    for c in range(1, x.shape[0]):
        np.copyto(out, x[c], where=target == c)
    return out


def prepare(
    pred: np.ndarray,
    target: np.ndarray,
    *,
    kind: PredKind = "auto",
    ignore_index: tuple[int, ...] = (),
    num_classes: int | None = None,
    threshold: float = 0.5,
    channels_last: bool = False,
    ignored_void: tuple[int, ...] = (),
    prob_scale: float | None = None,
) -> SegInput:
    """Check ``pred`` against ``target`` and reduce both to their valid pixels.

    ``ignored_void`` lists the values of ``ignore_index`` that a label map wrote for void (no value the user
    named): a prediction holding one is simply beyond the classes, not "a void label predicted".
    ``prob_scale`` (``kind="probs"`` only) is the stored value that means probability 1: the map is read as
    ``v / prob_scale``; without it uint8 maps are read as ``v / 255``, uint16 maps as ``v / 65535``.

    Raises
    ------
    InputError
        With ``subject`` "pred" or "target" and a one-line message that says what is wrong and how to fix it.
    """
    notes: list[str] = []
    target = check_target(np.asarray(target), ignore_index, num_classes, notes)
    pred = drop_batch_axis(np.asarray(pred), target.ndim, notes)
    given_kind = kind
    kind = _resolve_kind(pred, kind, prob_scale)
    scale = None
    if kind == "probs":
        pred, scale = _scaled_probs(pred, prob_scale, notes)

    if kind == "labels":
        pred_labels = _check_label_prediction(pred, target, ignore_index, num_classes, notes)
        valid = _valid_mask(target, ignore_index)
        t, lab = _flat(target, valid), _flat(pred_labels, valid)
        known = num_classes if num_classes is not None else int(_max(t)) + 1  # the classes the truth shows
        for void in ignore_index:  # a void value that is no class may not be predicted (0/255 masks)
            if void not in ignored_void and void >= known and np.any(lab == void):
                raise InputError(f"the prediction holds {void}, the {setting('ignore_index')} (void) label; a "
                                 f"prediction must name a class (a 0/{void} mask? then drop "
                                 f"{setting('ignore_index', int(void))})", subject="pred")
        c = (num_classes if num_classes is not None else
             _inferred_classes(t, lab, pred.dtype, probs_possible=given_kind == "auto"))
        check_label_range(t, c, "target", "ground truth")
        check_label_range(lab, c, "pred", "prediction", pred.dtype if given_kind == "auto" else None)
        return SegInput(target=t, labels=lab, num_classes=max(c, 1), kind=kind, notes=notes)

    soft, binary = _channels_first(pred, target.shape, channels_last)
    valid = _valid_mask(target, ignore_index)
    t = _flat(target, valid)
    segments = _segments(target.shape, valid)
    binary_logits = top = foreground = None
    if binary:
        if num_classes not in (None, 2):
            raise ShapeMismatchError(f"the prediction is a single foreground map (2 classes) but there are "
                                     f"{num_classes} classes ({_CLASS_COUNT}); give one channel per class, or "
                                     "declare 2 classes", subject="pred")
        stored = _flat(soft, valid)
        if stored.dtype not in (np.float32, np.float64):
            stored = stored.astype(np.float32 if stored.dtype.itemsize <= 4 else np.float64)
        lo, hi = (float(stored.min()), float(stored.max())) if stored.size else (0.0, 0.0)
        _check_range(lo, hi, stored, kind, scale)
        soft = np.empty((2, stored.size))
        x = soft[1]
        np.copyto(x, stored)
        if kind == "probs":
            if lo < 0.0 or hi > 1.0:  # rounding errors within RANGE_TOLERANCE
                np.clip(x, 0.0, 1.0, out=x)
                stored = np.clip(stored, 0.0, 1.0)
            np.subtract(1.0, x, out=soft[0])
            labels = (x >= threshold).view(np.uint8)
            foreground = stored
        else:
            soft[0] = 0.0
            with np.errstate(divide="ignore"):  # threshold 0: every pixel is foreground
                labels = (log_sigmoid(x) >= np.log(threshold)).view(np.uint8)
            binary_logits = x
        c = 2
    else:
        c = soft.shape[0]
        if num_classes is not None and num_classes != c:
            raise ShapeMismatchError(
                f"the prediction has {c} channels but there are {num_classes} classes ({_CLASS_COUNT}); pass "
                "the matching class count or names (or none)", subject="pred")
        soft = soft.reshape(c, -1)
        if valid is not None:
            soft = soft[:, valid.reshape(-1)]
        if soft.dtype not in (np.float32, np.float64):
            soft = soft.astype(np.float32 if soft.dtype.itemsize <= 4 else np.float64)
        labels, top, lo, hi = _scan_channels(soft, kind, scale)
        if kind == "probs" and (lo < 0.0 or hi > 1.0):  # rounding errors within RANGE_TOLERANCE
            soft = np.clip(soft, 0.0, 1.0)
    check_label_range(t, c, "target", "ground truth")
    return SegInput(target=t, labels=labels, num_classes=c, kind=kind, soft=soft, binary_logits=binary_logits,
                    single_channel=binary, notes=notes, n_total=target.size,
                    channel_max=top if kind == "logits" else None, foreground=foreground, segments=segments)


#: Largest class count lossctl infers from label values alone; beyond it a label is more likely a void value.
MAX_INFERRED_CLASSES = 1024
#: A largest label of 255 or 65535 (the top of an 8- or 16-bit type) with no other label this close below it is
#: taken for a void value, not a class.
VOID_GAP = 128
#: An integer prediction of an inferred class count is taken for a probability map when it holds more distinct
#: values than max(:data:`MAP_VALUES`, twice its ground truth's labels) and goes beyond them.
MAP_VALUES = 16


def _inferred_classes(target: np.ndarray, labels: np.ndarray, dtype: np.dtype | None = None,
                      probs_possible: bool = False) -> int:
    """The class count of a pair from its labels (the largest + 1), or an :class:`InputError` when the labels
    do not look like classes: a probability map stored as integers (``probs_possible``: the prediction was not
    declared to hold labels), a void value at the top of an 8- or 16-bit type, a label of 1024 or more."""
    top_t, top_l = _max(target), _max(labels)
    top = int(max(top_t, top_l))
    most = max(MAP_VALUES, 2 * (top_t + 1))  # distinct values a label prediction of this pair may hold
    if probs_possible and most <= top_l < 1 << 16 and int(labels.min()) >= 0:  # top_l + 1 bounds the count
        distinct = int(np.count_nonzero(np.bincount(labels.reshape(-1))))
        if distinct > most:
            raise InputError(f"the prediction holds {distinct} distinct values up to {top_l} but its ground "
                             f"truth's labels go up to {top_t}: it looks like a probability map stored as integers, "
                             f"not labels; pass {setting('kind', 'probs')}{_scale_text(dtype)}, or "
                             f"{setting('num_classes')} if these are class labels", subject="pred")
    if top in (255, 65535):
        both = [a for a in (target, labels) if a.size]
        near = any(np.any((a >= top - VOID_GAP) & (a < top)) for a in both)
        if not near:
            below = [int(a[a < top].max()) for a in both if np.any(a < top)]
            others = f"its other labels go up to {max(below)}" if below else "it holds no other label"
            if top_t == top:
                raise InputError(f"the ground truth holds label {top} with no label between {top - VOID_GAP} and "
                                 f"{top - 1} ({others}): {top} looks like a void label, and read as a class it "
                                 f"would make {top + 1} classes; pass {setting('ignore_index', top)} to leave it "
                                 f"out, or {setting('num_classes', top + 1)} if it is a class", subject="target")
            raise InputError(f"the prediction holds label {top} with no label between {top - VOID_GAP} and "
                             f"{top - 1} ({others}): {top} looks like a void value, which a prediction cannot "
                             f"hold, and read as a class it would make {top + 1} classes; pass "
                             f"{setting('num_classes', top + 1)} if it is a class, else fix the prediction (or map "
                             f"{top} with {setting('pred_label_map')})", subject="pred")
    if top >= MAX_INFERRED_CLASSES:
        who, subject = ("ground truth", "target") if top_t == top else ("prediction", "pred")
        raise InputError(f"the {who} holds label {top}, which would make {top + 1} classes; pass "
                         f"{setting('ignore_index', top)} if it is a void label, or {setting('num_classes')}",
                         subject=subject)
    return top + 1


def _scale_text(dtype: np.dtype | None) -> str:
    """How ``pred_kind='probs'`` would read a map of ``dtype``: " (read as v / 255)", or the scale to give."""
    scale = PROB_SCALES.get(np.dtype(dtype)) if dtype is not None else None
    if scale is not None:
        return f" (read as v / {scale})"
    return f" with {setting('prob_scale')} S (read as v / S)"


def drop_batch_axis(pred: np.ndarray, spatial_ndim: int, notes: list[str]) -> np.ndarray:
    """``pred`` without a leading axis of size 1 when it has two more axes than the ground truth's
    ``spatial_ndim`` (a batch of one: (1, C, H, W)), with a note; else ``pred`` itself."""
    if pred.ndim == spatial_ndim + 2 and pred.shape[0] == 1:
        notes.append(f"prediction of shape {tuple(pred.shape)} has a leading batch axis of size 1: dropped")
        return pred[0]
    return pred


def _resolve_kind(pred: np.ndarray, kind: str, prob_scale: float | None = None) -> str:
    integral = pred.dtype == np.bool_ or np.issubdtype(pred.dtype, np.integer)
    if kind == "auto":
        return "labels" if integral else "probs"
    if kind == "probs" and integral and prob_scale is None and pred.dtype not in PROB_SCALES:
        raise InputError(f"{setting('kind', 'probs')} reads integer maps as uint8 (v / 255) or uint16 (v / 65535), "
                         f"but the prediction holds {pred.dtype} values; pass {setting('prob_scale')} S, the "
                         f"stored value that means probability 1, or {setting('kind', 'labels')} for label maps",
                         subject="pred")
    if kind == "logits" and integral:
        raise InputError(f"{setting('kind', kind)} needs floating-point data, but the prediction holds "
                         f"{pred.dtype} values; use {setting('kind', 'labels')} for label maps, or "
                         f"{setting('kind', 'probs')} for probabilities stored as integers", subject="pred")
    if kind == "labels" and not integral:
        raise InputError(f"{setting('kind', 'labels')} needs integer data, but the prediction holds "
                         f"{pred.dtype} values; use {setting('kind', 'probs')} or logits", subject="pred")
    return kind


def _scaled_probs(pred: np.ndarray, prob_scale: float | None, notes: list[str]) -> tuple[np.ndarray, float | None]:
    """A probability map stored as integers (or scaled: ``prob_scale``) as float64 ``v / scale``, with a note;
    a floating-point map without ``prob_scale`` as it is. Returns (map, scale or None)."""
    scale = prob_scale if prob_scale is not None else PROB_SCALES.get(pred.dtype)
    if scale is None:
        return pred, None
    article = "an" if pred.dtype.name.startswith("int") else "a"
    notes.append(f"prediction is {article} {pred.dtype} probability map: read as v / {scale:g}")
    return np.divide(pred, float(scale), dtype=np.float64), float(scale)


def check_target(target: np.ndarray, ignore: tuple[int, ...], num_classes: int | None,
                 notes: list[str]) -> np.ndarray:
    """The ground truth as integer labels (booleans become 0/1; a 0/255 mask 0/1, with a note), or an
    :class:`InputError` for floating-point data or a rank other than 1, 2 or 3."""
    if target.dtype == np.bool_:
        target = target.astype(np.uint8)
    if not np.issubdtype(target.dtype, np.integer):
        raise InputError(f"the ground truth holds floating-point ({target.dtype}) values, not integer class "
                         "labels; check that PRED and GT are not swapped, or save the labels as integers",
                         subject="target")
    if target.ndim not in (1, 2, 3):
        raise ShapeMismatchError(f"the ground truth has shape {target.shape}; expected (H, W) or (D, H, W)",
                                 subject="target")
    return _apply_255_rule(target, ignore, num_classes, notes, "ground truth")


def _apply_255_rule(labels: np.ndarray, ignore: tuple[int, ...], num_classes: int | None,
                    notes: list[str], what: str) -> np.ndarray:
    """Read a 0/255 binary mask as 0/1 (255 = foreground), unless 255 is ignored or more classes are declared."""
    if labels.size == 0 or (num_classes is not None and num_classes > 2):
        return labels
    if _max(labels) != 255 or not np.all((labels == 0) | (labels == 255)):
        return labels
    if 255 in ignore:
        notes.append(f"{what} holds only 0 and 255 and 255 is ignored: every 255 pixel is left out; if 255 "
                     f"means foreground, drop {setting('ignore_index', 255)}")
        return labels
    notes.append(f"{what} is a 0/255 mask: read 255 as class 1")
    return (labels == 255).astype(np.uint8)


def _check_label_prediction(pred: np.ndarray, target: np.ndarray, ignore: tuple[int, ...],
                            num_classes: int | None, notes: list[str]) -> np.ndarray:
    if pred.shape != target.shape:
        hint = _shape_hint(pred.shape, target.shape, labels=True)
        if pred.ndim == target.ndim + 1 and target.shape in (pred.shape[1:], pred.shape[:-1]):
            hint = (f"{hint[:-1]}; if it is a probability map stored as integers, pass {setting('kind', 'probs')})")
        raise ShapeMismatchError(
            f"the label prediction has shape {pred.shape} but the ground truth has {target.shape}; "
            "they must match pixel for pixel" + hint, subject="pred")
    if pred.dtype == np.bool_:
        return pred.astype(np.uint8)
    if 255 in ignore:  # 255 is void in the ground truth; a prediction cannot be void (refused later)
        return pred
    return _apply_255_rule(pred, ignore, num_classes, notes, "prediction")


def _channels_first(pred: np.ndarray, spatial: tuple[int, ...], channels_last: bool) -> tuple[np.ndarray, bool]:
    """Return the prediction as (C, *spatial) (or *spatial for a binary map) and whether it is binary."""
    if pred.shape == spatial:
        return pred, True
    if channels_last:
        if pred.ndim == len(spatial) + 1 and pred.shape[:-1] == spatial:
            pred = np.moveaxis(pred, -1, 0)
        else:
            raise ShapeMismatchError(
                f"the prediction has shape {pred.shape}; with {setting('channels_last', True)} expected "
                f"{(*spatial, 'C')} for ground truth {spatial}", subject="pred")
    if pred.ndim == len(spatial) + 1 and pred.shape[1:] == spatial:
        if pred.shape[0] == 1:
            return pred[0], True
        return pred, False
    if pred.ndim == len(spatial) + 1 and pred.shape[:-1] == spatial:
        hint = f"; it looks channels-last: pass {setting('channels_last', True)}"
    else:
        hint = _shape_hint(pred.shape, spatial)
    raise ShapeMismatchError(
        f"the prediction has shape {pred.shape} but the ground truth has {spatial}; expected "
        f"(C, {', '.join(map(str, spatial))}) or {spatial}" + hint, subject="pred")


def _shape_hint(shape: tuple[int, ...], spatial: tuple[int, ...], labels: bool = False) -> str:
    n = len(spatial)
    if len(shape) >= n >= 3 and tuple(reversed(shape[-n:])) == tuple(spatial):
        return (f" (its axes look reversed: (z, y, x), as SimpleITK and nnU-Net's .npz order them, against "
                f"nibabel's (x, y, z)? pass {setting('pred_axes', 'reversed')})")
    if len(shape) >= 2 and tuple(reversed(shape[-2:])) == tuple(spatial[-2:]) and shape[-2:] != spatial[-2:]:
        return f" (height and width look transposed: pass {setting('pred_axes', 'reversed')} if they are)"
    if len(shape) != len(spatial) and (labels or len(shape) != len(spatial) + 1):
        return f" (the prediction is {len(shape)}-D, the ground truth {len(spatial)}-D)"
    return " (was the prediction resized or cropped?)"


def _valid_mask(target: np.ndarray, ignore: tuple[int, ...]) -> np.ndarray | None:
    if not ignore:
        return None
    ignored = np.isin(target, np.asarray(ignore))
    return None if not ignored.any() else ~ignored


def _segments(shape: tuple[int, ...], valid: np.ndarray | None) -> np.ndarray | None:
    """Where each non-empty slice of the leading spatial axis starts among the flattened valid pixels."""
    if len(shape) < 2 or not shape[0]:
        return None
    per_slice = int(np.prod(shape[1:]))
    counts = np.full(shape[0], per_slice) if valid is None else valid.reshape(shape[0], -1).sum(axis=1)
    return (np.cumsum(counts) - counts)[counts > 0]


def _flat(a: np.ndarray, valid: np.ndarray | None) -> np.ndarray:
    return a.reshape(-1) if valid is None else a[valid]


def _max(a: np.ndarray) -> int:
    return int(a.max()) if a.size else -1


def check_label_range(labels: np.ndarray, c: int, subject: str, what: str, map_dtype: np.dtype | None = None
                      ) -> None:
    """Refuse a label outside ``0 .. c - 1`` in ``labels`` (the ``subject``'s, called ``what`` in the message).
    ``map_dtype``: the prediction's stored dtype, when it may be a probability map stored as integers (it was not
    declared to hold labels): a refusal then says so if it holds more distinct values than there are classes."""
    if labels.size == 0:
        return
    lo, hi = int(labels.min()), int(labels.max())
    if lo < 0:
        raise InputError(f"the {what} holds the negative label {lo}; labels must be 0..{c - 1} "
                         f"(pass {setting('ignore_index')} for a void label)", subject=subject)
    if hi >= c:
        fix = (f"pass {setting('ignore_index')} for a void label or check {setting('num_classes')}"
               if subject == "target" else
               f"check {setting('num_classes')} (a predicted label must be one of the classes; only the ground "
               "truth may hold void labels)")
        if map_dtype is not None and lo >= 0 and hi < 1 << 16:
            distinct = int(np.count_nonzero(np.bincount(labels.reshape(-1))))
            if distinct > c:
                fix += (f"; it holds {distinct} distinct values, more than the {c} classes: if it is a probability "
                        f"map stored as integers, pass {setting('kind', 'probs')}{_scale_text(map_dtype)}")
        raise InputError(f"the {what} holds label {hi} but there are only {c} classes (0..{c - 1}); {fix}",
                         subject=subject)


def _check_range(lo: float, hi: float, a: np.ndarray, kind: str, scale: float | None = None) -> None:
    """Refuse NaN/infinite values and, for probabilities, values outside [0, 1], from the smallest and largest
    value (NaN propagates through min and max, so finite extremes mean finite values)."""
    if a.size == 0:
        return
    if not (np.isfinite(lo) and np.isfinite(hi)):
        bad = int((~np.isfinite(a)).sum())
        raise InputError(f"the prediction holds {bad} NaN or infinite value(s); the model output must be "
                         f"finite {kind}", subject="pred")
    if kind == "probs" and (lo < -RANGE_TOLERANCE or hi > 1 + RANGE_TOLERANCE):
        if scale is not None:
            raise InputError(f"the prediction is read as probabilities v / {scale:g} but holds values in "
                             f"[{lo * scale:.6g}, {hi * scale:.6g}], outside [0, {scale:g}]; pass the stored value "
                             f"that means probability 1 as {setting('prob_scale')}", subject="pred")
        raise InputError(f"the prediction is read as probabilities but holds values in [{lo:.4g}, {hi:.4g}], "
                         f"outside [0, 1]; if these are logits pass {setting('kind', 'logits')}", subject="pred")


def _scan_channels(soft: np.ndarray, kind: str, scale: float | None = None
                   ) -> tuple[np.ndarray, np.ndarray | None, float, float]:
    """One blocked pass over the channels of a (C, N) map: the argmax labels (first maximum wins, narrow dtype),
    the per-pixel maximum (logits only: the log-sum-exp reuses it), the smallest and largest value, and the checks
    of :func:`_check_range` (and, for probabilities, of the channel sums) on the way.

    Each block of :data:`BLOCK` pixels goes through every channel while it is in the cache, in buffers reused from
    block to block; the channel sums of a float32 map are formed in float32 (their rounding, ~1e-7, is far below
    :data:`SUM_TOLERANCE`). A map stored as integers (``scale``: v / scale) may sum C / scale away from 1."""
    c, n = soft.shape
    labels = np.zeros(n, dtype=label_dtype(c))
    top = np.empty(n, dtype=soft.dtype) if kind == "logits" else None
    m = min(n, BLOCK)
    best_buf, total_buf = np.empty(m, soft.dtype), np.empty(m, soft.dtype)
    greater_buf, step_buf = np.empty(m, bool), np.empty(m, labels.dtype)
    lows, highs, sum_lo, sum_hi = [], [], [], []
    for start in range(0, n, BLOCK):
        stop = min(n, start + BLOCK)
        size = stop - start
        best = top[start:stop] if top is not None else best_buf[:size]
        lab, greater, step = labels[start:stop], greater_buf[:size], step_buf[:size]
        np.copyto(best, soft[0, start:stop])
        lows.append(best.min())
        total = None
        if kind == "probs":
            total = total_buf[:size]
            np.copyto(total, best)
        for k in range(1, c):
            channel = soft[k, start:stop]
            np.greater(channel, best, out=greater)
            # a channel that beats every earlier one gets the highest label so far: lab = max(lab, k [greater])
            # is the (branch-free) update; the flags read as uint8 spare a cast from bool (half the multiply's time)
            np.multiply(greater.view(np.uint8), k, out=step, dtype=step.dtype)
            np.maximum(lab, step, out=lab)
            np.maximum(best, channel, out=best)
            lows.append(channel.min())
            if total is not None:
                np.add(total, channel, out=total)
        highs.append(best.max())
        if total is not None:
            sum_lo.append(total.min())
            sum_hi.append(total.max())
    # np.min/np.max propagate NaN (Python's min would drop it)
    low, high = (float(np.min(lows)), float(np.max(highs))) if n else (np.inf, -np.inf)
    _check_range(low, high, soft, kind, scale)
    if sum_lo:
        _check_channel_sums(np.array([np.min(sum_lo), np.max(sum_hi)], dtype=np.float64), c, scale)
    return labels, top, low, high


def _check_channel_sums(sums: np.ndarray, c: int = 1, scale: float | None = None) -> None:
    worst = max(float(sums.max()) - 1.0, 1.0 - float(sums.min()))
    tolerance = SUM_TOLERANCE if scale is None else max(SUM_TOLERANCE, c / scale)
    if worst > tolerance:
        if scale is not None:
            raise InputError(f"the prediction is read as probabilities v / {scale:g} but its channels sum to values "
                             f"up to {worst:.3g} away from 1 (more than the rounding of {c} channels, "
                             f"{tolerance:.3g}); check {setting('prob_scale')}, or pass {setting('kind', 'labels')} "
                             "if these are not probabilities", subject="pred")
        raise InputError(f"the prediction is read as probabilities but its channels sum to values up to "
                         f"{worst:.3g} away from 1; if these are logits or scores pass {setting('kind', 'logits')}",
                         subject="pred")
