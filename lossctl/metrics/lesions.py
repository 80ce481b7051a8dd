r"""BraTS lesion-wise Dice and HD95, as the official BraTS 2023 evaluation computes them (rachitsaluja/BraTS-2023-Metrics,
``metrics.py``: ``get_LesionWiseScores`` and ``get_LesionWiseResults``).

For one binary mask pair (a BraTS region: WT, TC or ET) with the voxel spacing in mm:

1. components of both masks with the full neighbourhood (26 in 3D);
2. *lesions*: the ground truth is dilated ``dilation`` times with ``generate_binary_structure(ndim, 2)`` (18
   neighbours in 3D); ground-truth voxels in one component of the dilated mask form one lesion (lesions that close
   to each other are merged), numbered as those components;
3. each lesion is dilated again by ``dilation``; every predicted component touching the dilated lesion counts for
   it (no minimum overlap; one component may count for several lesions); the lesion's Dice and HD95 are those of
   the undilated lesion against the union of its components, HD95 being DeepMind's surfel-weighted robust
   Hausdorff (``compute_robust_hausdorff(..., 95)``, see :mod:`lossctl.metrics.boundary`); a lesion no component
   touches scores Dice 0 and HD95 ``penalty`` (374 mm);
4. a lesion whose volume (voxel count x voxel volume, mm³) is ``min_volume`` or less is dropped from the scores
   and the counts; a predicted component counting for no lesion (dropped ones included) is a false positive, of
   any size;
5. with L lesions kept and F false positives: ``lesion_dice = Σ Dice / (L + F)`` and ``lesion_hd95 = (Σ HD95 +
   penalty F) / (L + F)``; with L + F = 0 (nothing on either side, or only dropped lesions): Dice 1, HD95 0.

Counts: ``tp`` = kept lesions touched by a component, ``fn`` = kept lesions touched by none, ``fp`` = F.
Parameters per BraTS task (:data:`TASKS`): GLI, SSA, PED dilation 3 and 50 mm³; MEN 1 and 50; MET 1 and 2.
The official code reads the spacing from the prediction's header; lossctl uses the pair's spacing. It is written for
3D volumes; in 2D the same rules apply with 8-neighbour components and dilation (rank 2 is the full neighbourhood).

Only the lesions' boxes are dilated and measured (each grown by ``dilation`` voxels); the dilation never reaches
beyond, so the values are those of the whole-volume computation.

>>> gt = np.zeros((1, 3, 12), bool); gt[0, 1, 1:3] = True; gt[0, 1, 8:10] = True
>>> r = lesion_wise(gt, gt, spacing=(1, 1, 1), dilation=1, min_volume=0)
>>> r.dice, r.hd95, (r.tp, r.fp, r.fn)
(1.0, 0.0, (2, 0, 0))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossctl.convention import Impl, Param
from lossctl.errors import UsageError
from lossctl.metrics import boundary

#: BraTS 2023 task -> (dilation, min_volume in mm³), as ``get_LesionWiseResults`` sets them.
TASKS: dict[str, tuple[int, float]] = {"GLI": (3, 50.0), "SSA": (3, 50.0), "PED": (3, 50.0), "MEN": (1, 50.0),
                                       "MET": (1, 2.0)}
#: The HD95 of a missed lesion or a false positive, in mm (the official code's constant).
PENALTY = 374.0


@dataclass(frozen=True)
class Lesion:
    """One ground-truth lesion (after merging): its id, voxels, volume (mm³), whether it is kept (volume above
    the threshold), the predicted components counting for it, and its Dice and HD95."""

    id: int
    voxels: int
    volume: float
    kept: bool
    hits: tuple[int, ...]
    dice: float
    hd95: float


@dataclass(frozen=True)
class LesionResult:
    """The lesion-wise scores of one mask pair, every lesion, and the false-positive components (id, voxels);
    ``gt_labels`` and ``pred_labels``: the lesions (after merging) and the predicted components as numbered by
    the ids of the rows (0: background), for pictures."""

    dice: float
    hd95: float
    tp: int
    fp: int
    fn: int
    lesions: tuple[Lesion, ...]
    false_positives: tuple[tuple[int, int], ...]
    gt_labels: np.ndarray | None = field(default=None, repr=False, compare=False)
    pred_labels: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def f1(self) -> float:
        total = self.tp + 0.5 * (self.fp + self.fn)
        return self.tp / total if total else float("nan")

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """JSON-ready per-lesion rows: ``{"gt": [...], "unmatched_pred": [...]}`` (dropped lesions included, with
        ``kept`` false)."""
        return {"gt": [{"id": les.id, "voxels": les.voxels, "volume": les.volume, "kept": les.kept,
                        "matched": list(les.hits), "dice": les.dice, "hd95": les.hd95} for les in self.lesions],
                "unmatched_pred": [{"id": i, "voxels": n} for i, n in self.false_positives]}


def _grown(box: tuple[slice, ...], by: int, shape: Sequence[int]) -> tuple[slice, ...]:
    return tuple(slice(max(s.start - by, 0), min(s.stop + by, n)) for s, n in zip(box, shape, strict=True))


def _union_box(boxes: Sequence[tuple[slice, ...]]) -> tuple[slice, ...]:
    return tuple(slice(min(b[i].start for b in boxes), max(b[i].stop for b in boxes)) for i in range(len(boxes[0])))


def lesion_wise(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float] | None = None, *, dilation: int = 3,
                min_volume: float = 50.0, penalty: float = PENALTY) -> LesionResult:
    """BraTS 2023 lesion-wise Dice and HD95 of two binary masks of one shape (see the module docstring).

    ``spacing``: mm per voxel along each axis (default 1); ``dilation``: iterations, at least 1 (scipy dilates
    until nothing changes for 0); ``min_volume``: lesions of this volume (mm³) or less are dropped.
    """
    from scipy import ndimage

    pred, gt = np.asarray(pred, dtype=bool), np.asarray(gt, dtype=bool)
    if pred.shape != gt.shape:
        raise ValueError(f"masks of shapes {pred.shape} and {gt.shape}")
    if int(dilation) != dilation or dilation < 1:
        raise ValueError(f"dilation {dilation} is not a whole number of at least 1")
    dilation = int(dilation)
    ndim = gt.ndim
    spacing = tuple(float(s) for s in (spacing if spacing is not None else (1.0,) * ndim))
    voxel_volume = float(np.prod(spacing))
    full = ndimage.generate_binary_structure(ndim, ndim)
    grow = ndimage.generate_binary_structure(ndim, min(2, ndim))

    pred_cc, n_pred = ndimage.label(pred, structure=full)
    dilated_cc, n_lesions = ndimage.label(ndimage.binary_dilation(gt, structure=grow, iterations=dilation),
                                          structure=full)
    lesions = np.where(gt, dilated_cc, 0)
    lesion_boxes = ndimage.find_objects(lesions, max_label=n_lesions)
    pred_boxes = ndimage.find_objects(pred_cc, max_label=n_pred)
    pred_sizes = np.bincount(pred_cc.ravel(), minlength=n_pred + 1)
    lesion_sizes = np.bincount(lesions.ravel(), minlength=n_lesions + 1)

    counted = np.zeros(n_pred + 1, bool)
    out: list[Lesion] = []
    for lid in range(1, n_lesions + 1):
        box = _grown(lesion_boxes[lid - 1], dilation, gt.shape)
        own = lesions[box] == lid
        reach = ndimage.binary_dilation(own, structure=grow, iterations=dilation)
        hits = np.unique(pred_cc[box][reach])
        hits = hits[hits > 0]
        counted[hits] = True
        voxels = int(lesion_sizes[lid])
        volume = voxels * voxel_volume
        if hits.size:
            whole = _union_box([lesion_boxes[lid - 1], *(pred_boxes[h - 1] for h in hits)])
            a = np.isin(pred_cc[whole], hits)
            b = lesions[whole] == lid
            inter = int(np.count_nonzero(a & b))
            dice = 2.0 * inter / (voxels + int(pred_sizes[hits].sum()))
            dist = boundary.surface_distances(a, b, spacing, "surfel")
            hd95 = boundary.reduce(dist, ("hd95",), "deepmind", 95.0)["hd95"]
        else:
            dice, hd95 = 0.0, float(penalty)
        out.append(Lesion(lid, voxels, volume, volume > min_volume, tuple(int(h) for h in hits), dice, hd95))

    false_positives = tuple((int(i), int(pred_sizes[i])) for i in np.flatnonzero(~counted[1:]) + 1)
    kept = [les for les in out if les.kept]
    fp = len(false_positives)
    total = len(kept) + fp
    if total:
        dice = sum(les.dice for les in kept) / total
        hd95 = (sum(les.hd95 for les in kept) + penalty * fp) / total
    else:
        dice, hd95 = 1.0, 0.0
    tp = sum(1 for les in kept if les.hits)
    return LesionResult(float(dice), float(hd95), tp, fp, len(kept) - tp, tuple(out), false_positives, lesions,
                        pred_cc)


def task_parameters(task: str) -> tuple[int, float]:
    """(dilation, min_volume) of a BraTS task (GLI, SSA, PED, MEN, MET); a ValueError names the tasks otherwise."""
    try:
        return TASKS[task.upper()]
    except KeyError:
        raise ValueError(f"unknown BraTS task {task!r}: choose {', '.join(TASKS)}") from None


#: The parameters of every value computed from :func:`lesion_wise` (shared: one setting applies to all of them).
PARAMS = (Param("dilation", 3.0, "iterations of the 18-neighbour dilation that merges lesions and reaches "
                "predictions", bounds=(1.0, 1000.0)),
          Param("min_volume", 50.0, "lesions of this volume (mm3) or less are dropped"),
          Param("task", None, "a BraTS task: sets dilation and min_volume (GLI, SSA, PED 3/50; MEN 1/50; "
                "MET 1/2)", kind="choice", choices=tuple(TASKS), optional=True))


def shared_parameters(overrides: dict[str, Any], owner: str) -> dict[str, Any]:
    """The overrides with ``task`` expanded into its dilation and min_volume (a task and an explicit dilation
    or min_volume together are a :class:`UsageError`)."""
    task = overrides.get("task")
    if task is None:
        return overrides
    clash = [k for k in ("dilation", "min_volume") if k in overrides]
    if clash:
        raise UsageError(f"{owner}.task={task} sets {' and '.join(clash)}; give the task or "
                         f"{' and '.join(f'{owner}.{k}' for k in clash)}, not both")
    dilation, min_volume = task_parameters(str(task))
    return {**overrides, "dilation": float(dilation), "min_volume": min_volume}


_DETECTION = {"inst_tp": ("tp", "kept lesions touched by a prediction (tp)"),
              "inst_fp": ("fp", "predicted components touching no lesion (fp)"),
              "inst_fn": ("fn", "kept lesions no prediction touches (fn)"),
              "inst_precision": ("precision", "tp / (tp + fp)"), "inst_recall": ("recall", "tp / (tp + fn)"),
              "rq": ("f1", "tp / (tp + fp/2 + fn/2): BraTS-MET's lesion F1")}
_REFERENCE = "BraTS-2023-Metrics metrics.py get_LesionWiseScores"
_RULE = ("26-connected components, gt lesions merged within `dilation` 18-neighbour dilations, lesions of "
         "min_volume mm3 or less dropped")


def _read(attribute: str) -> Any:
    def fn(result: LesionResult, **_params: Any) -> float:
        return float(getattr(result, attribute))
    return fn


_LESION = {"lesion_dice": Impl(_read("dice"), f"sum of lesion Dice / (L + F); a missed or false lesion scores 0; "
                               f"{_RULE}", _REFERENCE, PARAMS, inputs=frozenset({"labels", "probs", "logits"})),
           "lesion_hd95": Impl(_read("hd95"), f"(sum of lesion HD95 + 374 F) / (L + F); a missed lesion scores 374; "
                               f"{_RULE}", _REFERENCE, PARAMS, inputs=frozenset({"labels", "probs", "logits"}))}
#: value -> {convention: Impl}: ``lesion_dice`` and ``lesion_hd95`` (lossctl and brats: the BraTS definition),
#: and under brats the detection values of the lesions. ``Impl.fn(result: LesionResult) -> float``.
TABLE: dict[str, dict[str, Impl]] = {
    **{name: {"lossctl": impl, "brats": impl} for name, impl in _LESION.items()},
    **{name: {"brats": Impl(_read(attr), f"{text}; {_RULE}", _REFERENCE, PARAMS,
                            inputs=frozenset({"labels", "probs", "logits"}))}
       for name, (attr, text) in _DETECTION.items()},
}


__all__ = ["PARAMS", "TABLE", "shared_parameters", "PENALTY", "TASKS", "Lesion", "LesionResult", "lesion_wise", "task_parameters"]
