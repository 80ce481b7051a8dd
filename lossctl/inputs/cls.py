"""N classification samples, checked once for every loss and metric: :class:`ClsInput` and :func:`prepare_inputs`.

Shapes and kinds (documented in docs/cls.md):

* ``pred`` is (N,) for a binary task or (N, C); ``kind`` is ``"probs"``, ``"logits"`` or ``"scores"`` (decision
  values, for the hinge losses). ``auto`` never guesses logits: values in [0, 1] (rows summing to 1 for
  categorical targets) are probabilities, anything else is refused.
* The **target kind** says how a target is read:

  ====================  =============  ==============================================================
  kind                  target shape   meaning
  ====================  =============  ==============================================================
  ``binary``            (N,)           0/1 (or -1/+1, or any two labels for the hinge losses)
  ``index``             (N,)           class indices of (N, C) predictions
  ``onehot``            (N, C)         exactly one 1 per row: categorical, as class indices
  ``multilabel``        (N, C)         each element its own binary target in [0, 1] (a sigmoid each)
  ``soft``              (N, C)         a probability distribution per row (categorical soft targets)
  ====================  =============  ==============================================================

  The ``auto`` rule: a (N,) target is ``binary`` or ``index`` by the prediction's shape; a (N, C) target whose
  rows are exactly one-hot is ``onehot`` (a note says so: pass ``multilabel`` to score each column alone); 0/1
  rows that are not one-hot are ``multilabel``; rows of fractions summing to 1 are ``soft`` (a note says so);
  anything else is ``multilabel``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from lossctl._numeric import log_softmax
from lossctl.errors import InputError, ShapeMismatchError, UsageError

TARGET_KINDS = ("binary", "index", "onehot", "multilabel", "soft")
#: How far a probability row (or a soft target row) may sum from 1 (float32 files are rounded).
SUM_TOLERANCE = 1e-3


@dataclass(eq=False)
class ClsInput:
    """Predictions and targets of N samples (see the module docstring for shapes and kinds).

    ``eps`` is the float epsilon of the stored predictions (scikit-learn's clip); ``notes`` are the rules
    applied that the user should see.
    """

    pred: np.ndarray
    target: np.ndarray
    kind: str
    weights: np.ndarray | None = None
    class_weights: np.ndarray | None = None
    ignore_index: int | None = None
    eps: float = float(np.finfo(np.float64).eps)
    target_kind: str = "auto"
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.target_kind == "auto":
            self.target_kind, note = auto_target_kind(self.pred, self.target, self.ignore_index)
            if note:
                self.notes.append(note)

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.pred.shape[0])

    @property
    def given_options(self) -> frozenset[str]:
        """The optional inputs given (``weights``, ``class_weights``, ``ignore_index``): a convention that does not
        take one refuses the input."""
        given = (("weights", self.weights), ("class_weights", self.class_weights), ("ignore_index", self.ignore_index))
        return frozenset(name for name, value in given if value is not None)

    @property
    def sample_weights(self) -> np.ndarray:
        """(N,) per-sample weights (ones when none were given)."""
        return np.ones(self.n) if self.weights is None else self.weights

    @cached_property
    def log_softmax(self) -> np.ndarray:
        """(N, C) float64 log-softmax of the predictions (computed once, shared by every loss)."""
        return log_softmax(self.pred, axis=1)

    def forget_log_softmax(self) -> None:
        """Free the cached :attr:`log_softmax` (an (N, C) float64 array: 80 MB for 1M x 10) once no loss is left
        to read it; a later reader computes it again."""
        self.__dict__.pop("log_softmax", None)

    @property
    def is_multiclass(self) -> bool:
        """The target is categorical over the prediction's C columns (class indices or one-hot rows)."""
        return self.target_kind in ("index", "onehot")

    @property
    def elementwise(self) -> bool:
        """Every element is its own binary task (binary, or (N, C) multilabel / one-hot / soft read per
        element)."""
        return self.pred.shape == self.target.shape

    def valid(self) -> np.ndarray:
        """Mask of targets not equal to ``ignore_index`` (same shape as the target)."""
        if self.ignore_index is None:
            return np.ones(self.target.shape, bool)
        return self.target != self.ignore_index

    def valid_samples(self) -> np.ndarray:
        """(N,) samples that count: not ignored (for elementwise targets: any element not ignored)."""
        valid = self.valid()
        return valid if valid.ndim == 1 else valid.any(axis=1)


def auto_target_kind(pred: np.ndarray, target: np.ndarray, ignore_index: int | None = None) -> tuple[str, str]:
    """The target kind the ``auto`` rule picks, and a note when the choice should be visible ("" otherwise)."""
    if target.ndim == 1:
        return ("index" if pred.ndim == 2 else "binary"), ""
    valid = np.ones(target.shape, bool) if ignore_index is None else target != ignore_index
    rows = valid.all(axis=1)
    kept = target[rows]
    zero_one = bool(np.isin(target[valid], (0, 1)).all())
    if zero_one and kept.size and rows.all() and (kept.sum(axis=1) == 1).all():
        return "onehot", ("targets read as one-hot (categorical): every row holds exactly one 1; give target kind "
                          "multilabel to score each column as its own binary task")
    if zero_one:
        return "multilabel", ""
    if kept.size and rows.all() and kept.min() >= 0 and np.abs(kept.sum(axis=1) - 1.0).max() <= SUM_TOLERANCE:
        return "soft", ("targets read as soft (categorical): every row is a probability distribution; give "
                        "target kind multilabel to score each element as its own binary target")
    return "multilabel", ""


def prepare_inputs(pred: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None, kind: str = "auto",
                   *, target_kind: str = "auto", ignore_index: int | None = None,
                   class_weights: tuple[float, ...] | np.ndarray | None = None,
                   renormalised: bool = False) -> ClsInput:
    """Check shapes and values, resolve ``kind`` (never to logits) and the target kind, build a :class:`ClsInput`.

    ``renormalised``: the convention divides probability rows by their sum (Keras), so rows that do not sum
    to 1 are accepted (with a note).
    """
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
        raise InputError("targets hold NaN or infinite values; mark void samples with an ignore index instead",
                         subject="target", option="ignore_index")
    if target.ndim == 1 and np.array_equal(target64, np.round(target64)):
        target_out: np.ndarray = target64.astype(np.int64)
    elif target.ndim == 1 and pred64.ndim == 2:
        raise InputError("class-index targets must be whole numbers; give labels, or (N, C) targets for soft ones",
                         subject="target")
    else:
        target_out = target64
    target_out = _signed_to_binary(target_out, pred64.shape, ignore_index)
    notes: list[str] = []
    resolved = _resolve_target_kind(pred64, target_out, target_kind, ignore_index, notes)
    kind = _resolve_kind(pred64, resolved, kind, renormalised, notes)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64).reshape(-1)
        if weights.shape[0] != pred64.shape[0]:
            raise ShapeMismatchError(f"{weights.shape[0]} weights for {pred64.shape[0]} samples; give one weight "
                                     "per sample", subject="weights")
        if not np.isfinite(weights).all() or (weights < 0).any():
            raise InputError("weights must be finite and non-negative", subject="weights")
    cw = None
    if class_weights is not None:
        cw = np.asarray(class_weights, dtype=np.float64)
        c = pred64.shape[1] if pred64.ndim == 2 else 2
        if cw.size != c:
            raise UsageError(f"{cw.size} class weights given for {c} classes; give one per class",
                             option="class_weights")
        if not (np.isfinite(cw).all() and (cw >= 0).all() and cw.any()):
            raise UsageError("class weights must be finite, non-negative and not all zero", option="class_weights")
    return ClsInput(pred64, target_out, kind, weights, cw, ignore_index, eps, resolved, notes)


def _resolve_target_kind(pred: np.ndarray, target: np.ndarray, requested: str, ignore: int | None,
                         notes: list[str]) -> str:
    if requested == "auto":
        kind, note = auto_target_kind(pred, target, ignore)
        if note:
            notes.append(note)
        return kind
    if requested not in TARGET_KINDS:
        raise UsageError(f"unknown target kind {requested!r}; choose from auto, {', '.join(TARGET_KINDS)}",
                         option="target_kind")
    column = target.ndim == 1
    if requested in ("binary", "index") and not column:
        raise InputError(f"target kind {requested} needs (N,) targets, got {target.shape}", subject="target",
                         option="target_kind")
    if requested in ("onehot", "multilabel", "soft") and (column or target.shape != pred.shape):
        raise InputError(f"target kind {requested} needs (N, C) targets of the prediction's shape {pred.shape}, "
                         f"got {target.shape}", subject="target", option="target_kind")
    if requested == "binary" and pred.ndim != 1:
        raise InputError(f"target kind binary needs (N,) predictions, got {pred.shape}; give index for class "
                         "indices", subject="target", option="target_kind")
    if requested == "index" and pred.ndim != 2:
        raise InputError(f"target kind index needs (N, C) predictions, got {pred.shape}", subject="target",
                         option="target_kind")
    valid = np.ones(target.shape, bool) if ignore is None else target != ignore
    if requested == "onehot" and not (np.isin(target[valid], (0, 1)).all()
                                      and (np.where(valid, target, 0).sum(axis=1) == 1).all()):
        raise InputError("target kind onehot, but some rows are not exactly one-hot (one 1, the rest 0); give "
                         "multilabel or soft", subject="target", option="target_kind")
    if requested == "multilabel":
        kept = target[valid]
        if kept.size and (kept.min() < 0 or kept.max() > 1):
            raise InputError(f"target kind multilabel needs values in [0, 1], got [{kept.min():g}, {kept.max():g}]",
                             subject="target", option="target_kind")
    if requested == "soft":
        if ignore is not None and not valid.all():
            raise InputError("soft targets take no ignore index (a row is one distribution)", subject="target",
                             option="ignore_index")
        if target.size and (target.min() < 0 or np.abs(target.sum(axis=1) - 1.0).max() > SUM_TOLERANCE):
            raise InputError("target kind soft, but some rows are not probability distributions (non-negative, "
                             "summing to 1)", subject="target", option="target_kind")
    return requested


def _signed_to_binary(target: np.ndarray, pred_shape: tuple[int, ...], ignore: int | None) -> np.ndarray:
    """Binary (or multilabel) targets given as -1/+1 become 0/1; ignored entries keep their value."""
    if target.shape != pred_shape or target.dtype != np.int64 or not target.size:
        return target
    valid = target != ignore if ignore is not None else np.ones(target.shape, bool)
    kept = target[valid]
    if not (kept.size and np.isin(kept, (-1, 1)).all() and (kept == -1).any()):
        return target
    if ignore in (0, 1):
        raise UsageError(f"-1/+1 targets are read as 0/1, which collides with the ignore index {ignore}; mark void "
                         "samples with another value", option="ignore_index")
    return np.where(valid, (target == 1).astype(np.int64), target)


def _resolve_kind(pred: np.ndarray, target_kind: str, kind: str, renormalised: bool, notes: list[str]) -> str:
    in_range = pred.size == 0 or (pred.min() >= 0.0 and pred.max() <= 1.0)
    categorical = pred.ndim == 2 and target_kind in ("index", "onehot", "soft")
    sums_to_one = not categorical or pred.shape[0] == 0 or bool(
        np.abs(pred.sum(axis=1) - 1.0).max() <= SUM_TOLERANCE)
    if kind not in ("auto", "probs"):
        return kind
    if in_range and not sums_to_one and renormalised and (pred.sum(axis=1) > 0).all():
        notes.append("probability rows that do not sum to 1 are divided by their sum, as the convention does")
        return "probs"
    if in_range and sums_to_one:
        return "probs"
    what = "outside [0, 1]" if not in_range else "in rows that do not sum to 1"
    if kind == "auto":
        raise InputError(f"predictions are read as probabilities but hold values {what}; give them as logits "
                         "(or scores for the hinge losses)", subject="pred", option="pred_kind")
    raise InputError(f"the predictions were declared probabilities but hold values {what}; give them as logits",
                     subject="pred", option="pred_kind")
