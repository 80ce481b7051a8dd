"""A soft prediction (or a label pair of a given class count) too large for the memory budget, evaluated in chunks
of its leading spatial axis.

:func:`chunk_rows` says how many slices (rows of an image, slices of a volume) a chunk may hold for a map's
evaluation to stay within a budget of bytes; :class:`ChunkedInput` prepares each chunk as
:func:`lossctl.inputs.seg.prepare` does and offers what the losses and metrics read from a
:class:`~lossctl.inputs.seg.SegInput`, with bit-identical values whatever the chunking (sums over pixels are
kept per slice and added exactly). The pages of a memory-mapped input are released chunk by chunk.
"""

from __future__ import annotations

import mmap
from collections.abc import Callable
from typing import Any

import numpy as np

from lossctl.inputs.seg import SegInput, check_label_range, check_target, exact_sum, prepare


#: Bytes per pixel and channel, plus per pixel, that preparing and evaluating a soft map takes (float64 sums,
#: labels, log-probabilities, the focal terms); what :func:`chunk_rows` budgets for (measured: 52 bytes per pixel
#: for three float32 channels, every value).
BYTES_PER_CHANNEL, BYTES_PER_PIXEL = 16, 64
#: Bytes per pixel that preparing a pair of label maps and its confusion matrix takes besides the two arrays (the
#: valid labels as flat copies, the bincount keys; measured: 2 to 3).
LABEL_BYTES_PER_PIXEL = 8
#: Bytes per pixel the Lovász-Softmax takes in chunked evaluation: it gathers one class's errors over the whole map
#: and sorts them (measured: 11 for float32 maps).
LOVASZ_BYTES_PER_PIXEL = 16


def whole_map_reserve(target_shape: tuple[int, ...], lovasz: bool) -> int:
    """The bytes a chunked evaluation holds for the whole map besides its chunks: the Lovász-Softmax's one class
    (:data:`LOVASZ_BYTES_PER_PIXEL` per pixel) when it is computed, else nothing (the target is counted by the
    caller)."""
    return LOVASZ_BYTES_PER_PIXEL * int(np.prod(target_shape)) if lovasz else 0


def chunk_rows(pred: np.ndarray, target_shape: tuple[int, ...], budget: int, integers: bool = False,
               labels: bool = False) -> int | None:
    """Slices of the leading spatial axis per chunk so that evaluating a soft ``pred`` stays within ``budget``
    bytes, or None when the whole map fits (or cannot be split: 1-D data). ``integers``: an integer ``pred`` is
    a probability map too (read as ``v / scale``), else only floating-point data are soft. ``labels``: an integer
    or boolean ``pred`` of the target's shape is a label prediction that may be split too (its confusion matrix
    is added up: :data:`LABEL_BYTES_PER_PIXEL`)."""
    soft = np.issubdtype(pred.dtype, np.floating) or (integers and np.issubdtype(pred.dtype, np.integer))
    hard = (labels and not soft and tuple(pred.shape) == tuple(target_shape)
            and (pred.dtype == np.bool_ or np.issubdtype(pred.dtype, np.integer)))
    if len(target_shape) < 2 or not (soft or hard):
        return None
    channels = max(1, pred.size // max(1, int(np.prod(target_shape))))
    per_pixel = LABEL_BYTES_PER_PIXEL if hard else BYTES_PER_CHANNEL * channels + BYTES_PER_PIXEL
    if not isinstance(pred, np.memmap):
        per_pixel += pred.itemsize * channels  # a decoded map is held besides
    per_slice = int(np.prod(target_shape[1:])) * per_pixel
    if per_slice * target_shape[0] <= budget:
        return None
    return max(1, budget // per_slice)


class ChunkedInput:
    """A soft prediction evaluated chunk by chunk along the leading spatial axis, for a map whose evaluation would
    not fit the memory budget; it offers what the lossctl losses and the metrics read from a :class:`SegInput`.
    A label prediction (of a given class count above 2, so that no chunk reads labels differently: the 0/255
    rule is off) is evaluated likewise: its confusion matrix is added up (``soft`` is then None).

    Each chunk of ``rows`` slices is checked and prepared by :func:`prepare` (the same checks as a whole map).
    The confusion matrix is added up; sums over pixels (CE, focal, the soft sums) are kept as the same per-slice
    partial sums a whole-map :class:`SegInput` forms and added exactly, and the Lovász loss gathers one class at
    a time; so every value is bit-identical to the unchunked evaluation, whatever ``rows``. Memory: one chunk,
    plus for the Lovász loss one class's values (the stored precision, one per pixel).
    """

    def __init__(self, pred: np.ndarray, target: np.ndarray, rows: int, **options: Any) -> None:
        self.notes: list[str] = []
        # the 0/255 rule is decided on the whole ground truth, not chunk by chunk
        target = check_target(np.asarray(target), tuple(options.get("ignore_index", ())),
                               options.get("num_classes"), self.notes)
        self._pred, self._target, self._options = pred, target, options
        depth = target.shape[0]
        self._bounds = [(start, min(depth, start + rows)) for start in range(0, depth, max(1, rows))]
        self._split_pred = options.get("channels_last") or pred.shape == target.shape
        whole_rule = any("0/255" in note for note in self.notes)
        confusion, tp_parts, p_parts, n, n_total = None, [], [], 0, 0
        hard = False
        for part in self._parts():
            first = confusion is None
            if first:
                self.kind, self.num_classes, self.single_channel = part.kind, part.num_classes, part.single_channel
                confusion = np.zeros((part.num_classes, part.num_classes), dtype=np.int64)
                hard = part.soft is None
            confusion += part.confusion
            if not whole_rule and any("0/255" in note for note in part.notes):  # a chunk of only 0 and 255
                check_label_range(np.array([255]), part.num_classes, "target", "ground truth")
            self.notes += [note for note in part.notes if note not in self.notes]
            if not hard:
                tp_parts.append(part.class_slice_sums())
                p_parts.append(part.slice_sums(part.probs))
            n += part.valid_pixels
            n_total += part.total_pixels
        self.confusion, self.valid_pixels, self.total_pixels = confusion, n, n_total
        self.class_counts = confusion.sum(axis=1)
        self.binary_logits = None
        if hard:  # labels: the confusion matrix is all there is
            self.soft = None
            return
        self.soft_sums = (exact_sum(np.concatenate(tp_parts, axis=1)), exact_sum(np.concatenate(p_parts, axis=1)),
                          self.class_counts.astype(np.float64))
        self.soft = self  # not None: the prediction is soft (the engine tests ``x.soft is None``)

    def _parts(self) -> Any:
        for start, stop in self._bounds:
            pred = self._pred[start:stop] if self._split_pred else self._pred[:, start:stop]
            yield prepare(pred, self._target[start:stop], **self._options)
            for array in (self._pred, self._target):  # the chunk's pages of a memory map are read: let them go
                _release_pages(array)

    def pixel_mean(self, per_pixel: Callable[[SegInput], np.ndarray]) -> float:
        """As :meth:`SegInput.pixel_mean`, from the per-slice partial sums of every chunk."""
        partials = np.concatenate([part.slice_sums(per_pixel(part)) for part in self._parts()])
        return float(exact_sum(partials)) / self.valid_pixels

    def class_values(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`SegInput.class_values`, gathered from every chunk (the only per-pixel data held at once)."""
        n_fg = int(self.class_counts[c])
        fg = bg = None
        at_fg = at_bg = 0
        for part in self._parts():
            part_fg, part_bg = part.class_values(c)
            if fg is None:  # filled in place: no second copy of the class's values
                fg, bg = np.empty(n_fg, part_fg.dtype), np.empty(self.valid_pixels - n_fg, part_bg.dtype)
            fg[at_fg:at_fg + part_fg.size] = part_fg
            bg[at_bg:at_bg + part_bg.size] = part_bg
            at_fg, at_bg = at_fg + part_fg.size, at_bg + part_bg.size
        return fg, bg


def is_mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is (a view of) a memory map, whose pages are read only as they are used."""
    while array is not None and not isinstance(array, np.memmap):
        array = getattr(array, "base", None)
    return array is not None


def _release_pages(array: np.ndarray) -> None:
    """Drop the pages of the memory map behind ``array`` from this process's resident memory (they stay in the
    page cache and are read again if needed); nothing for an array in memory."""
    while array is not None and not isinstance(array, np.memmap):
        array = getattr(array, "base", None)
    mapping = getattr(array, "_mmap", None)
    advice = getattr(mmap, "MADV_DONTNEED", None)
    if mapping is not None and advice is not None:
        try:
            mapping.madvise(advice)
        except (OSError, ValueError):
            pass
