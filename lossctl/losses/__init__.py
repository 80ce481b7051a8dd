"""The Python API: every loss as a function of NumPy arrays (``from lossctl import losses``).

Segmentation losses take one image: ``pred`` (C, *spatial) probabilities or logits (or a *spatial binary
foreground map) and ``target`` (*spatial) integer labels, plus ``kind="probs"|"logits"`` and the options of
:func:`lossctl.inputs.seg.prepare` (``ignore_index``, ``channels_last``...). They return a float. The formulas
and conventions are those of ``lossctl losses NAME`` and docs/conventions.md; docs/python.md documents this API.

>>> import numpy as np
>>> from lossctl import losses
>>> round(losses.lovasz(np.array([2.0, -1.0, 0.5, -0.5]), np.array([1, 0, 0, 1]), kind="logits"), 6)
1.0

Importing this module imports NumPy only (no typer, no rich).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lossctl.convention import pick as _pick
from lossctl.errors import UsageError
from lossctl.inputs.cls import prepare_inputs as _prepare_samples
from lossctl.inputs.seg import prepare as _prepare
from lossctl.losses import cls_conventions as _cls_conventions
from lossctl.losses import segmentation as _seg
from lossctl.metrics import classification as _cls_metrics
from lossctl.metrics import calibration as _calibration

_PREPARE_KEYS = ("ignore_index", "num_classes", "threshold", "channels_last", "prob_scale")


def _split(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    prep = {k: kwargs.pop(k) for k in _PREPARE_KEYS if k in kwargs}
    if "ignore_index" in prep and isinstance(prep["ignore_index"], int):
        prep["ignore_index"] = (prep["ignore_index"],)
    return prep, kwargs


def _include(exclude_background: bool, c: int) -> np.ndarray | None:
    if not exclude_background:
        return None
    keep = np.ones(c, bool)
    keep[0] = False
    return keep


def _run(fn: Any, pred: Any, target: Any, kind: str, exclude_background: bool, **kwargs: Any) -> float:
    prep, params = _split(kwargs)
    x = _prepare(np.asarray(pred), np.asarray(target), kind=kind, **prep)  # type: ignore[arg-type]
    return float(fn(x, _include(exclude_background, x.num_classes), **params)[0])


def cross_entropy(pred: Any, target: Any, *, kind: str = "logits", **kw: Any) -> float:
    """Pixel-wise cross-entropy (``ce``): ``mean_n -log p[n, y_n]`` over valid pixels."""
    return _run(_seg.cross_entropy, pred, target, kind, False, **kw)


def focal(pred: Any, target: Any, *, kind: str = "logits", gamma: float = 2.0, alpha: float | None = None,
          **kw: Any) -> float:
    """Focal loss (``focal``): ``mean_n -a_n (1 - p[n, y_n])^gamma log p[n, y_n]``."""
    return _run(_seg.focal, pred, target, kind, False, gamma=gamma, alpha=alpha, **kw)


def dice_loss(pred: Any, target: Any, *, kind: str = "logits", smooth: float = 0.0, eps: float = 1e-7,
              exclude_background: bool = False, **kw: Any) -> float:
    """Soft Dice loss: ``mean_c 1 - (2TP + 2s)/max(P + G + 2s, eps)`` over classes present in the target."""
    return _run(_seg.region_loss, pred, target, kind, exclude_background, alpha=0.5, beta=0.5,
                smooth=smooth, eps=eps, **kw)


def jaccard_loss(pred: Any, target: Any, *, kind: str = "logits", smooth: float = 0.0, eps: float = 1e-7,
                 exclude_background: bool = False, **kw: Any) -> float:
    """Soft Jaccard (IoU) loss: ``mean_c 1 - (TP + s)/max(P + G - TP + s, eps)``."""
    return _run(_seg.region_loss, pred, target, kind, exclude_background, alpha=1.0, beta=1.0,
                smooth=smooth, eps=eps, **kw)


def tversky_loss(pred: Any, target: Any, *, kind: str = "logits", alpha: float = 0.3, beta: float = 0.7,
                 smooth: float = 0.0, eps: float = 1e-7, exclude_background: bool = False, **kw: Any) -> float:
    """Tversky loss: ``mean_c 1 - (TP + s)/max(TP + alpha FP + beta FN + s, eps)`` (alpha on FP)."""
    return _run(_seg.region_loss, pred, target, kind, exclude_background, alpha=alpha, beta=beta,
                smooth=smooth, eps=eps, **kw)


def focal_tversky_loss(pred: Any, target: Any, *, kind: str = "logits", alpha: float = 0.3, beta: float = 0.7,
                       gamma: float = 0.75, smooth: float = 0.0, eps: float = 1e-7,
                       exclude_background: bool = False, **kw: Any) -> float:
    """Focal Tversky loss: ``(tversky_loss)^gamma``."""
    return _run(_seg.region_loss, pred, target, kind, exclude_background, alpha=alpha, beta=beta,
                smooth=smooth, eps=eps, gamma=gamma, **kw)


def lovasz(pred: Any, target: Any, *, kind: str = "logits", exclude_background: bool = False,
           **kw: Any) -> float:
    """Lovász-Softmax over present classes; the Lovász hinge for a single-channel logit map."""
    return _run(_seg.lovasz, pred, target, kind, exclude_background, **kw)


def classification_loss(name: str, pred: Any, target: Any, *, kind: str = "probs", convention: str = "lossctl",
                        weights: Any = None, class_weights: Any = None, ignore_index: int | None = None,
                        target_kind: str = "auto", **params: Any) -> float:
    """A classification loss of arrays, as ``convention`` defines it (``lossctl cls`` without the files).

    ``name`` is one of ``bce``, ``weighted_bce``, ``cce``, ``sparse_cce``, ``label_smoothing_ce``, ``focal``,
    ``hinge``, ``squared_hinge``, ``multiclass_hinge``; ``pred`` (N,) or (N, C); ``target`` (N,) labels or
    (N, C) targets read as ``target_kind`` (``auto``, ``binary``, ``index``, ``onehot``, ``multilabel``,
    ``soft``); ``kind`` ``"probs"``, ``"logits"`` or ``"scores"``; ``params`` the loss's parameters under that
    convention (``lossctl losses NAME`` lists them).

    >>> round(classification_loss("label_smoothing_ce", [[100.0, -100.0, -100.0]], [0], kind="logits",
    ...                           convention="torch", label_smoothing=0.1), 6)
    13.333333
    """
    x = _prepare_samples(np.asarray(pred), np.asarray(target), None if weights is None else np.asarray(weights),
                         kind, target_kind=target_kind, ignore_index=ignore_index, class_weights=class_weights,
                         renormalised=convention == "keras")
    if name in _cls_metrics.TABLE or name in _calibration.TABLE:
        raise UsageError(f"{name} is a metric; classification_loss computes losses")
    if name not in _cls_conventions.TABLE:
        raise UsageError(f"unknown cls loss or metric {name!r}; choose from: "
                         f"{', '.join([*_cls_conventions.TABLE, *_cls_metrics.TABLE, *_calibration.TABLE])}")
    impl = _pick(_cls_conventions.TABLE[name], convention, "cls loss", name)
    return float(impl.apply_to_samples(x, name, convention, params)[0])


__all__ = ["cross_entropy", "focal", "dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss",
           "lovasz", "classification_loss"]
