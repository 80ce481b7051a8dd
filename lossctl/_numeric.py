"""Small numerically careful building blocks shared by the losses and metrics (float64 throughout)."""

from __future__ import annotations

import numpy as np

#: Smallest value a log-probability may take on the probabilities path (PyTorch ``BCELoss``/``NLLLoss`` rule).
LOG_FLOOR = -100.0


def log_softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    """``x - max(x) - log(sum(exp(x - max(x))))`` along ``axis``, in float64 (never ``log(softmax(x))``)."""
    x = np.asarray(logits, dtype=np.float64)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def log_sigmoid(x: np.ndarray) -> np.ndarray:
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, stable for large ``|x|``."""
    return -np.logaddexp(0.0, -np.asarray(x, dtype=np.float64))


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
