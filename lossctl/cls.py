"""The ``lossctl cls`` engine: classification losses and metrics of N samples, under one convention.

:func:`prepare_inputs` checks and normalises the arrays as loaded; :func:`build_report` computes every
selected loss with :mod:`lossctl.losses.classification` and returns the report document (the same schema as
``seg``: ``summary.mean`` holds each loss reduced as the convention reduces it, per-sample rows go to
``images`` with ``--per-sample``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossctl import REPORT_SCHEMA, __version__, registry
from lossctl.errors import InputError, ShapeMismatchError, UsageError
from lossctl.gates import Gate, check_gates
from lossctl.losses.classification import ClsInput, NotAvailable, balanced_pos_weight
from lossctl.seg_input import SUM_TOLERANCE


@dataclass(frozen=True)
class ClsConfig:
    """Everything that decides the numbers (recorded in the report's ``config``)."""

    values: tuple[str, ...] = ()  # empty: every loss the inputs and the convention allow, and every metric
    convention: str = "lossctl"
    pred_kind: str = "auto"
    ignore_index: int | None = None
    class_weights: tuple[float, ...] | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_sample: bool = False

    def selected(self) -> list[registry.Spec]:
        """The specs asked for, in catalogue order."""
        chosen = set(self.values)
        return [s for s in registry.specs("cls") if not chosen or s.name in chosen]

    def params_for(self, spec: registry.Spec) -> dict[str, Any]:
        """The spec's parameters with this run's overrides."""
        return {**spec.defaults(), **self.params.get(spec.name, {})}


def prepare_inputs(pred: np.ndarray, target: np.ndarray, weights: np.ndarray | None, kind: str,
                   config: ClsConfig) -> ClsInput:
    """Check shapes and values, resolve ``--pred-kind auto`` (never to logits), and build a :class:`ClsInput`."""
    pred = np.asarray(pred)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    target = np.asarray(target)
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if pred.ndim not in (1, 2) or target.ndim not in (1, 2):
        raise ShapeMismatchError(f"predictions must be (N,) or (N, C) and targets (N,) or (N, C); got "
                                 f"{pred.shape} and {target.shape}", subject="pred")
    if pred.shape[0] != target.shape[0]:
        raise ShapeMismatchError(f"{pred.shape[0]} predictions but {target.shape[0]} targets; the files must "
                                 "list the same samples in the same order", subject="target")
    if not np.issubdtype(pred.dtype, np.floating):
        if np.issubdtype(pred.dtype, np.integer) or pred.dtype == np.bool_:
            pred = pred.astype(np.float64)
        else:
            raise InputError(f"predictions have dtype {pred.dtype}; expected numbers", subject="pred")
    eps = float(np.finfo(pred.dtype).eps)
    pred64 = pred.astype(np.float64)
    if not np.isfinite(pred64).all():
        raise InputError("predictions hold NaN or infinite values; the model output must be finite", subject="pred")
    target64 = np.asarray(target, dtype=np.float64)
    if not np.isfinite(target64).all():
        raise InputError("targets hold NaN or infinite values; mark void samples with --ignore-index instead",
                         subject="target")
    if target.ndim == 1 and np.array_equal(target64, np.round(target64)):
        target_out: np.ndarray = target64.astype(np.int64)
    elif target.ndim == 1 and pred64.ndim == 2:
        raise InputError("class-index targets must be whole numbers; give labels, or (N, C) targets for soft ones",
                         subject="target")
    else:
        target_out = target64
    target_out = _signed_to_binary(target_out, pred64.shape, config.ignore_index)
    kind = _resolve_kind(pred64, target_out, kind)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights.shape[0] != pred64.shape[0]:
            raise ShapeMismatchError(f"{weights.shape[0]} weights for {pred64.shape[0]} samples; give one weight "
                                     "per sample", subject="weights")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise InputError("weights must be finite and non-negative", subject="weights")
    class_weights = None
    if config.class_weights is not None:
        class_weights = np.asarray(config.class_weights, dtype=np.float64)
        c = pred64.shape[1] if pred64.ndim == 2 else 2
        if class_weights.size != c:
            raise UsageError(f"--class-weights gives {class_weights.size} weights for {c} classes")
        if not (np.isfinite(class_weights).all() and (class_weights >= 0).all() and class_weights.any()):
            raise UsageError("--class-weights must be finite, non-negative and not all zero")
    return ClsInput(pred64, target_out, kind, weights, class_weights, config.ignore_index, eps)


def _signed_to_binary(target: np.ndarray, pred_shape: tuple[int, ...], ignore: int | None) -> np.ndarray:
    """Binary (or multilabel) targets given as -1/+1 become 0/1; ignored entries keep their value."""
    if target.shape != pred_shape or target.dtype != np.int64 or not target.size:
        return target
    valid = target != ignore if ignore is not None else np.ones(target.shape, bool)
    kept = target[valid]
    if not (kept.size and np.isin(kept, (-1, 1)).all() and (kept == -1).any()):
        return target
    if ignore in (0, 1):
        raise UsageError(f"-1/+1 targets are read as 0/1, which collides with --ignore-index {ignore}; mark void "
                         "samples with another value")
    return np.where(valid, (target == 1).astype(np.int64), target)


def _resolve_kind(pred: np.ndarray, target: np.ndarray, kind: str) -> str:
    in_range = pred.size == 0 or (pred.min() >= 0.0 and pred.max() <= 1.0)
    multiclass = pred.ndim == 2 and target.ndim == 1
    sums_to_one = not multiclass or pred.shape[0] == 0 or bool(
        np.abs(pred.sum(axis=1) - 1.0).max() <= SUM_TOLERANCE)
    if kind == "auto":
        if in_range and sums_to_one:
            return "probs"
        what = "outside [0, 1]" if not in_range else "in rows that do not sum to 1"
        raise InputError(f"predictions are read as probabilities but hold values {what}; pass --pred-kind "
                         "logits (or scores for the hinge losses)", subject="pred")
    if kind == "probs" and not (in_range and sums_to_one):
        raise InputError("--pred-kind probs, but the predictions are not probabilities (outside [0, 1] or rows "
                         "not summing to 1); pass --pred-kind logits", subject="pred")
    return kind


def _hard(x: ClsInput) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """(truth, prediction, sample weight) as flat integer labels, and the class count, for the metrics."""
    w = x.sample_weights
    valid = x.valid()
    cut = 0.5 if x.kind == "probs" else 0.0
    if x.is_multiclass:
        c = x.pred.shape[1]
        return x.target[valid], x.pred.argmax(axis=1)[valid], w[valid], c
    truth = x.target
    if truth.ndim == 2 and x.pred.ndim == 2 and not np.isin(truth[valid], (0, 1)).all():
        truth = (truth >= 0.5).astype(np.int64)  # soft targets: their rounded class
    if x.pred.ndim == 2 and truth.ndim == 2:
        ww = np.broadcast_to(w[:, None], truth.shape)
        return (truth[valid] > 0).astype(np.int64), (x.pred[valid] >= cut).astype(np.int64), ww[valid], 2
    return (truth[valid] > 0).astype(np.int64), (x.pred[valid] >= cut).astype(np.int64), w[valid], 2


def classification_metrics(x: ClsInput) -> dict[str, float | None]:
    """Accuracy and (binary: class 1; multiclass: macro over present classes) precision, recall, F1."""
    truth, guess, w, c = _hard(x)
    if truth.size == 0:
        return {"accuracy": None, "precision": None, "recall": None, "f1": None}
    cm = np.zeros((c, c))
    np.add.at(cm, (truth, guess), w)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / np.where(tp + fp > 0, tp + fp, 1), 0.0)
        recall = np.where(tp + fn > 0, tp / np.where(tp + fn > 0, tp + fn, 1), 0.0)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / np.where(2 * tp + fp + fn > 0, 2 * tp + fp + fn, 1), 0.0)
    if c == 2 and not x.is_multiclass:
        chosen = [1]
    else:
        chosen = sorted(set(truth.tolist()) | set(guess.tolist()))
    return {"accuracy": float(tp.sum() / cm.sum()) if cm.sum() else None,
            "precision": float(precision[chosen].mean()), "recall": float(recall[chosen].mean()),
            "f1": float(f1[chosen].mean())}


def build_report(x: ClsInput, config: ClsConfig, gates: Sequence[Gate] = (),
                 sources: dict[str, str] | None = None) -> dict[str, Any]:
    """Compute every selected value and return the report document."""
    explicit = set(config.values)
    means: dict[str, float | None] = {}
    per_sample: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    used_params: dict[str, dict[str, Any]] = {}
    for spec in config.selected():
        if spec.kind != "loss":
            continue
        params = config.params_for(spec)
        try:
            value, rows = spec.compute(x, config.convention, **params)  # type: ignore[misc]
        except (NotAvailable, InputError) as reason:
            if spec.name in explicit:
                raise
            unavailable[spec.name] = str(reason)
            continue
        means[spec.name] = None if np.isnan(value) else float(value)
        per_sample[spec.name] = np.where(_sample_valid(x), np.asarray(rows, dtype=np.float64), np.nan)
        used_params[spec.name] = params
    metric_values = classification_metrics(x)
    metric_names = [s.name for s in config.selected() if s.kind == "metric"]
    rows = []
    if config.per_sample:
        columns = {n: [None if np.isnan(v) else v for v in values.tolist()] for n, values in per_sample.items()}
        rows = [{"name": str(i), "values": {n: col[i] for n, col in columns.items()}, "per_class": {}}
                for i in range(x.n)]
    counted = _sample_valid(x)
    summary: dict[str, Any] = {
        "count": int(counted.sum()),
        "undefined": {n: int(np.isnan(v[counted]).sum()) for n, v in per_sample.items()},
        "mean": {**means, **{n: metric_values[n] for n in metric_names}},
        "std": {n: _stat(np.std, v) for n, v in per_sample.items()},
        "min": {n: _stat(np.min, v) for n, v in per_sample.items()},
        "median": {n: _stat(np.median, v) for n, v in per_sample.items()},
        "max": {n: _stat(np.max, v) for n, v in per_sample.items()},
        "pooled": {n: metric_values[n] for n in metric_names},
        "per_class": {"mean": {}, "pooled": {}},
    }
    if "weighted_bce" in used_params and used_params["weighted_bce"].get("pos_weight") is None:
        pw = balanced_pos_weight(x)
        used_params["weighted_bce"] = {**used_params["weighted_bce"],
                                       "pos_weight": pw if isinstance(pw, float) else pw.tolist()}
    return {
        "lossctl": __version__,
        "schema": REPORT_SCHEMA,
        "command": "cls",
        "config": {**(sources or {}), "convention": config.convention, "pred_kind": x.kind,
                   "ignore_index": config.ignore_index,
                   "class_weights": list(config.class_weights) if config.class_weights else None,
                   "weights": x.weights is not None, "n_samples": x.n,
                   "num_classes": int(x.pred.shape[1]) if x.pred.ndim == 2 else 2,
                   "class_names": [], "values": list(means) + metric_names, "params": used_params,
                   "not_available": unavailable},
        "images": rows,
        "summary": summary,
        "gates": check_gates(gates, lambda name, idx: per_sample.get(name, ()), summary, ()),
        "errors": [],
    }


def _sample_valid(x: ClsInput) -> np.ndarray:
    """(N,) samples that count: not ignored (for elementwise targets: any element not ignored)."""
    valid = x.valid()
    return valid if valid.ndim == 1 else valid.any(axis=1)


def _stat(fn: Any, v: np.ndarray) -> float | None:
    kept = v[~np.isnan(v)]
    return float(fn(kept)) if kept.size else None
