"""The package's one confusion-matrix builder, and the narrow label dtypes it works in.

Labels are never widened to int64: a uint8 volume of 200x512x512 is counted in blocks of :data:`BLOCK`
pixels, each forming the fused index ``C * target + pred`` in the narrowest unsigned dtype that holds ``C**2``
(uint8 up to 16 classes, uint16 up to 256) in one reused buffer, so the memory used is O(block) and no
temporary of image size is ever page-faulted in.
"""

from __future__ import annotations

import numpy as np

#: Pixels per block of the blocked passes: their temporaries stay in the cache and are reused, not page-faulted in.
BLOCK = 1 << 15
#: Up to this many (truth, prediction) pairs (4 classes), each is counted on its own (faster than bincount).
FEW_PAIRS = 16


def label_dtype(num_classes: int) -> np.dtype:
    """The narrowest unsigned integer dtype that holds the labels ``0 .. num_classes - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if num_classes - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts of (ground truth, prediction) label pairs; both hold labels in ``0 .. C-1``.

    The package's one confusion-matrix builder. The labels are never widened: blocks of the fused index
    ``C * target + pred`` are formed in the narrowest unsigned dtype that holds ``C**2`` (uint8 up to 16
    classes) in one reused buffer and counted with ``bincount`` (up to :data:`FEW_PAIRS` pairs, one count of each), so memory stays O(block) whatever the image.
    """
    c = int(num_classes)
    t = np.asarray(target).reshape(-1)
    p = np.asarray(pred).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"target and prediction differ in size ({t.size} and {p.size})")
    counts = np.zeros(c * c, dtype=np.int64)
    key = np.empty(min(t.size, BLOCK), dtype=label_dtype(c * c))
    few = c * c <= FEW_PAIRS
    for start in range(0, t.size, BLOCK):
        k = key[: min(BLOCK, t.size - start)]
        np.multiply(t[start:start + BLOCK], c, out=k, dtype=k.dtype, casting="unsafe")
        np.add(k, p[start:start + BLOCK], out=k, dtype=k.dtype, casting="unsafe")
        if few:  # a count per pair on the cached block: no widening of the block for bincount
            for v in range(1, c * c):
                counts[v] += np.count_nonzero(k == v)
            counts[0] += k.size
        else:
            counts += np.bincount(k, minlength=c * c)
    if few:
        counts[0] -= counts[1:].sum()
    return counts.reshape(c, c)
