"""Small numerically careful building blocks shared by the losses and metrics (float64 throughout)."""

from __future__ import annotations

import numpy as np

#: Smallest value a log-probability may take on the probabilities path (PyTorch ``BCELoss``/``NLLLoss`` rule).
LOG_FLOOR = -100.0
#: Keras' backend epsilon and its float32 upper clip bound (``1 - 1e-7`` rounds to ``1 - 1.19e-7`` in float32).
KERAS_EPS = 1e-7
KERAS_HIGH = float(np.float32(1.0) - np.float32(1e-7))


def log_softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    """``x - max(x) - log(sum(exp(x - max(x))))`` along ``axis``, in float64 (never ``log(softmax(x))``)."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    log_sum = np.log(_sum_of_exp(shifted, axis))
    return np.subtract(shifted, log_sum, out=shifted)  # in place


#: Rows of an (N, C) array whose ``exp`` :func:`log_softmax` takes at once (about 8 MB of them).
EXP_BLOCK_BYTES = 8 << 20


def _sum_of_exp(shifted: np.ndarray, axis: int) -> np.ndarray:
    """``exp(shifted).sum(axis, keepdims=True)``; along the rows of a 2-D array, the rows' exponentials about
    :data:`EXP_BLOCK_BYTES` at a time, so that no second array of ``shifted``'s size exists (80 MB for 1M x 10).
    The sums are the same bits: each row is summed on its own, in the same order, in a block as in the whole."""
    if shifted.ndim != 2 or axis not in (1, -1):
        return np.exp(shifted).sum(axis=axis, keepdims=True)
    sums = np.empty((shifted.shape[0], 1))
    rows = max(1, EXP_BLOCK_BYTES // max(1, shifted.shape[1] * shifted.itemsize))
    for start in range(0, shifted.shape[0], rows):
        block = slice(start, start + rows)
        np.exp(shifted[block]).sum(axis=1, keepdims=True, out=sums[block])
    return sums


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, stable for large ``|x|``."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` in float64 without overflow for any ``x`` (``exp`` only of ``-|x|``)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def weighted_mean(values: np.ndarray, weights: np.ndarray | float = 1.0) -> float:
    """``sum(w v) / sum(w)``; NaN when the weights sum to 0 (nothing to average), never a division warning."""
    v = np.asarray(values, dtype=np.float64)
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), v.shape)
    total = w.sum()
    return float((w * v).sum() / total) if total else float("nan")


def mean_over(total: float, count: float) -> float:
    """``total / count``, NaN when ``count`` is 0 (a mean over no element)."""
    return float(total / count) if count else float("nan")


def floored_log(p: np.ndarray, floor: float = LOG_FLOOR) -> np.ndarray:
    """``max(log(p), floor)`` without a warning for ``p == 0``."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(np.asarray(p, dtype=np.float64)), floor)


def ratio(numerator: np.ndarray, denominator: np.ndarray, empty: float) -> np.ndarray:
    """Elementwise ``numerator / denominator`` in float64, with ``empty`` where the denominator is 0."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    out = np.full(np.broadcast(num, den).shape, empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den != 0)
    return out


def nanmean(values: np.ndarray) -> float:
    """Mean of the non-NaN entries, NaN when there are none (without numpy's 'Mean of empty slice' warning)."""
    v = np.asarray(values, dtype=np.float64)
    kept = v[~np.isnan(v)]
    return float(kept.mean()) if kept.size else float("nan")
