"""The package's one confusion-matrix builder, and the narrow label dtypes it works in.

Labels are never widened to int64: a uint8 volume of 200x512x512 is counted in blocks, each forming the fused
key ``C * target + pred`` in the narrowest unsigned dtype that holds ``C**2`` in one reused buffer, so the memory
used is O(block) and no temporary of image size is ever page-faulted in. How a block is counted depends on
``C**2`` (each route chosen by measurement, all exact):

* 2 classes: three counts of nonzero values (truth, prediction, truth AND prediction) give the 2x2 matrix, with
  no key at all.
* up to 4 classes (keys < 16): four 4-bit keys are packed in one 16-bit word and the words counted with
  ``bincount`` over 65536 bins; each key's count is the sum of the histogram over the other three nibbles.
* up to 16 classes (keys < 256): two adjacent uint8 keys are read as one 16-bit word and counted likewise; each
  key's count is its histogram row plus its column. Fewer, wider words halve (or quarter) the ``bincount`` work,
  which is the cost of counting.
* more classes: the uint16 (or uint32) keys are counted with ``bincount``.
"""

from __future__ import annotations

import numpy as np

#: Pixels per block of the blocked passes: their temporaries stay in the cache and are reused, not page-faulted in.
BLOCK = 1 << 15
#: Pixels per block of the packed counts: large enough that a block's 65536-bin histogram costs little beside it.
PACKED_BLOCK = 1 << 20
#: Pixels per block of the wide-key counts: each block's histogram has ``C**2`` bins.
WIDE_BLOCK = 1 << 18


def label_dtype(num_classes: int) -> np.dtype:
    """The narrowest unsigned integer dtype that holds the labels ``0 .. num_classes - 1``."""
    for dtype in (np.uint8, np.uint16, np.uint32):
        if num_classes - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    return np.dtype(np.int64)


def confusion_matrix(target: np.ndarray, pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts of (ground truth, prediction) label pairs; both hold labels in ``0 .. C-1``.

    The package's one confusion-matrix builder: entry ``[t, p]`` counts the pixels of truth ``t`` predicted ``p``,
    i.e. ``bincount(C * target + pred, minlength=C**2)`` reshaped to (C, C). The labels are never widened and
    memory stays O(block) whatever the image; the counting routes are described in the module docstring.
    """
    c = int(num_classes)
    t = np.asarray(target).reshape(-1)
    p = np.asarray(pred).reshape(-1)
    if t.shape != p.shape:
        raise ValueError(f"target and prediction differ in size ({t.size} and {p.size})")
    if c == 2:
        counts = _binary_counts(t, p)
    elif c * c <= 256:
        counts = _packed_counts(t, p, c)
    else:
        counts = _wide_counts(t, p, c)
    return counts.reshape(c, c)


def _binary_counts(t: np.ndarray, p: np.ndarray) -> np.ndarray:
    """The 2x2 counts of 0/1 labels from the numbers of ones in the truth, the prediction and both."""
    both_buf = np.empty(min(t.size, PACKED_BLOCK), dtype=np.uint8)
    truth = predicted = both = 0
    for start in range(0, t.size, PACKED_BLOCK):
        t_block, p_block = t[start:start + PACKED_BLOCK], p[start:start + PACKED_BLOCK]
        truth += np.count_nonzero(t_block)
        predicted += np.count_nonzero(p_block)
        joint = both_buf[:t_block.size]
        np.bitwise_and(t_block, p_block, out=joint, casting="unsafe")
        both += np.count_nonzero(joint)
    return np.array([t.size - truth - predicted + both, predicted - both, truth - both, both], dtype=np.int64)


def _packed_counts(t: np.ndarray, p: np.ndarray, c: int) -> np.ndarray:
    """Counts of the uint8 keys ``C * t + p`` (``C**2 <= 256``) from a histogram of 16-bit words that each pack
    2 keys (8 bits each) or, when the keys are below 16, 4 keys (4 bits each): every nibble or byte of a word is
    one key, so a key's count is the histogram summed over the word's other digits. The histogram is symmetric in
    the digits, so the byte order does not matter; the last block's few keys beyond whole words are counted alone."""
    keys = c * c
    bits = 4 if keys <= 16 else 8
    per_word = 16 // bits
    # the words up to the largest one (every digit the largest key), in whole rows of the lower digits
    top = (keys - 1) * sum(1 << (bits * i) for i in range(per_word)) + 1
    row = 1 << (bits * (per_word - 1))
    hist = np.zeros(-(-top // row) * row, dtype=np.int64)
    counts = np.zeros(keys, dtype=np.int64)
    m = min(t.size, PACKED_BLOCK)
    key_buf = np.empty(m, dtype=np.uint8)
    if bits == 4:
        pair_buf, nibble_buf = np.empty(m // 2, dtype=np.uint16), np.empty(m // 2, dtype=np.uint8)
    for start in range(0, t.size, PACKED_BLOCK):
        key = key_buf[:min(PACKED_BLOCK, t.size - start)]
        np.multiply(t[start:start + PACKED_BLOCK], c, out=key, dtype=key.dtype, casting="unsafe")
        np.add(key, p[start:start + PACKED_BLOCK], out=key, dtype=key.dtype, casting="unsafe")
        whole = key.size - key.size % per_word
        words = key[:whole].view(np.uint16)  # two keys a, b: a + 256 b (or 256 a + b)
        if bits == 4:  # the low byte of w | w >> 4 is a + 16 b: two nibbles in a byte, four in a word
            pairs, nibbles = pair_buf[:words.size], nibble_buf[:words.size]
            np.right_shift(words, 4, out=pairs)
            np.bitwise_or(pairs, words, out=pairs)
            np.copyto(nibbles, pairs, casting="unsafe")  # keeps the low byte
            words = nibbles.view(np.uint16)
        hist[:top] += np.bincount(words, minlength=top)
        counts += np.bincount(key[whole:], minlength=keys)
    digits = hist.reshape(-1, *(1 << bits,) * (per_word - 1))
    for axis in range(per_word):
        counts += digits.sum(axis=tuple(a for a in range(per_word) if a != axis))[:keys]
    return counts


def _wide_counts(t: np.ndarray, p: np.ndarray, c: int) -> np.ndarray:
    """Counts of the keys ``C * t + p`` formed in the narrowest dtype that holds ``C**2`` (uint16 up to 256
    classes), by ``bincount`` of each block."""
    counts = np.zeros(c * c, dtype=np.int64)
    key_buf = np.empty(min(t.size, WIDE_BLOCK), dtype=label_dtype(c * c))
    for start in range(0, t.size, WIDE_BLOCK):
        key = key_buf[:min(WIDE_BLOCK, t.size - start)]
        np.multiply(t[start:start + WIDE_BLOCK], c, out=key, dtype=key.dtype, casting="unsafe")
        np.add(key, p[start:start + WIDE_BLOCK], out=key, dtype=key.dtype, casting="unsafe")
        counts += np.bincount(key, minlength=c * c)
    return counts
