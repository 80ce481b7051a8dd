"""The instance values of one pair and of a dataset (``--instances``): each class's and region's instances, their
matching, the per-instance rows (``images[i].instances[NAME]``), ``summary.pooled`` and recall by size.

* Instances: ``cc``, the connected components of each foreground class's mask and of each region's (the
  convention's connectivity, or the run's rank); ``labels``, maps whose every non-zero value is one instance of a
  single foreground class (ids of any size, relabelled; the prediction must hold integers).
* Each class and region is cropped to the bounding box of its two masks before anything is labelled (the
  components and their numbering are those of the whole image).
* Under the brats convention (or with only ``lesion_dice`` / ``lesion_hd95`` asked for) the values and rows come
  from :func:`lossctl.metrics.lesions.lesion_wise`; otherwise from one matching
  (:func:`lossctl.metrics.instances.convention_evaluate`), the lesion values aside.
* An image's value of a multi-class run: counts (``inst_tp``, ``inst_fp``, ``inst_fn``) summed over the foreground
  classes, the others the mean over the classes where they are defined; regions stay out of both.
* ``summary.pooled``: the counts summed over images and the ratios of the sums; ``sq``/``pq`` over every matched
  pair of the dataset (COCO panoptic's pooling); lesion values: ``Σ Dice / (ΣL + ΣF)`` and ``(Σ HD95 + 374 ΣF) /
  (ΣL + ΣF)`` over every kept lesion; other values have no pooled value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from lossctl import registry
from lossctl._numeric import nanmean
from lossctl.engine.seg_config import SegConfig
from lossctl.errors import InputError, setting
from lossctl.metrics import instances, lesions, overlap

#: The counts among the instance values (summed, not averaged, over classes; integers in the document).
COUNTS = ("inst_tp", "inst_fp", "inst_fn")
Rows = dict[str, list[dict[str, Any]]]


def instance_ids(array: np.ndarray, file: Any) -> np.ndarray:
    """A map of instance ids as read (``--instances labels``): integers (or booleans), never negative; anything else
    is an :class:`InputError` naming ``file``."""
    a = np.asarray(array)
    if a.dtype.kind not in "biu":
        raise InputError(f"{file}: holds {a.dtype} values, but {setting('instances', 'labels')} reads maps of "
                         "integer instance ids (0: background); give label maps, or use "
                         f"{setting('instances', 'cc')} on class predictions")
    if a.dtype.kind == "i" and a.size and int(a.min()) < 0:
        raise InputError(f"{file}: holds negative values, but instance ids are 0 (background) or positive; fix "
                         "the map")
    return a


def take_ids(loaded: Any, pair: Any, config: SegConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """With ``--instances labels``: the prediction's and the ground truth's instance id maps of a loaded pair
    (:class:`lossctl.engine.loading.LoadedPair`), which then holds their foreground (one class, 1) in their place;
    otherwise None (nothing changed)."""
    if config.instances != "labels":
        return None
    ids = instance_ids(loaded.prediction, pair.pred), instance_ids(loaded.target, pair.gt)
    loaded.prediction, loaded.target = (ids[0] != 0).astype(np.uint8), (ids[1] != 0).astype(np.uint8)
    loaded.options["num_classes"] = 2
    return ids


def _box(a: np.ndarray, b: np.ndarray) -> tuple[slice, ...] | None:
    """The bounding box of the foreground of two masks (None: both empty)."""
    both = a | b
    box = []
    for axis in range(both.ndim):
        along = np.flatnonzero(both.any(axis=tuple(i for i in range(both.ndim) if i != axis)))
        if along.size == 0:
            return None
        box.append(slice(int(along[0]), int(along[-1]) + 1))
    return tuple(box)


@cache
def _empty_value(name: str, convention: str) -> float:
    """A value of an entry with no instance on either side (a class this image does not have)."""
    spec = registry.get("seg", name)
    if spec.impl(convention).param("task") is not None:
        return float(spec.impl(convention).fn(lesions.lesion_wise(np.zeros((1, 1), bool), np.zeros((1, 1), bool))))
    empty = instances.relabel(np.zeros((1, 1), np.int32))
    ev = instances.convention_evaluate(empty, empty, convention, boundary_metrics=tuple(instances.BOUNDARY_VALUES.values()))
    return float(spec.impl(convention).fn(ev))


def empty_value(name: str, config: SegConfig) -> float | None:
    """The value of ``name`` for an entry without any instance, ``--empty`` applied where it is undefined."""
    value = _empty_value(name, config.instance_convention() or "lossctl")
    return _with_empty(name, value, config)


def _with_empty(name: str, value: float, config: SegConfig) -> float | None:
    if math.isnan(value) and config.empty != "nan" and registry.get("seg", name).bounds == (0.0, 1.0):
        value = float(overlap.EMPTY_VALUES[config.empty])
    return None if math.isnan(value) else value


#: What became of an instance (:class:`EntryMatch`): matched, missed (a ground-truth instance no prediction matched),
#: false (a prediction matched to nothing) or not counted (a BraTS lesion of ``min_volume`` or less, and a
#: prediction touching only such lesions).
MATCHED, MISSED, FALSE, NOT_COUNTED = 1, 2, 3, 4


@dataclass(frozen=True)
class EntryMatch:
    """One entry's instances as the values matched them: ``gt`` and ``pred`` instance maps of the image's shape
    (0: background; k: the k-th instance, the k-th row of ``rows["gt"]`` for the ground truth) and each instance's
    outcome (``gt_outcome[k]``: :data:`MATCHED`, :data:`MISSED` or :data:`NOT_COUNTED`; ``pred_outcome[k]``:
    :data:`MATCHED`, :data:`FALSE` or :data:`NOT_COUNTED`; index 0 unused)."""

    gt: np.ndarray
    pred: np.ndarray
    gt_outcome: np.ndarray
    pred_outcome: np.ndarray


def instance_entries(pred_map: np.ndarray, gt_map: np.ndarray, classes: int, config: SegConfig,
                     ids: tuple[np.ndarray, np.ndarray] | None = None
                     ) -> tuple[list[tuple[Any, np.ndarray, np.ndarray]], int]:
    """The entries whose instances are evaluated, ``(key, pred, gt)``, and how many of them are classes: with
    ``ids`` (``--instances labels``: the prediction's and ground truth's id maps) the one foreground class, 1;
    otherwise the mask of each foreground class (1 .. ``classes - 1``, the void class excluded) of the label
    images, then of each region (its name)."""
    if ids is not None:
        return [(1, ids[0], ids[1])], 1
    c = classes if config.void_class is None else config.void_class  # "predicted no class" is no class
    entries: list[tuple[Any, np.ndarray, np.ndarray]] = [(k, pred_map == k, gt_map == k) for k in range(1, c)]
    n = len(entries)
    for name, labels in config.regions:
        wanted = np.asarray(labels)
        entries.append((name, np.isin(pred_map, wanted), np.isin(gt_map, wanted)))
    return entries, n


def evaluate_entries(entries: Sequence[tuple[Any, np.ndarray, np.ndarray]], config: SegConfig,
                     spacing: Sequence[float], labelled: bool = False
                     ) -> tuple[dict[str, list[float | None]], dict[Any, Rows]]:
    """The instance values and rows of each entry ``(key, pred, gt)``: binary masks, or with ``labelled`` maps
    of instance ids. Returns ``{name: one value per entry}`` and ``{key: rows}``; a connectivity rank the image
    cannot take is a :class:`ValueError`."""
    names = config.instance_names()
    values: dict[str, list[float | None]] = {n: [] for n in names}
    rows: dict[Any, Rows] = {}
    for k, (key, pred, gt) in enumerate(entries):
        got, rows[key], _ = _evaluate_entry(k, pred, gt, config, spacing, labelled)
        for n in names:
            values[n].append(_with_empty(n, got[n], config))
    return values, rows


def match_entries(entries: Sequence[tuple[Any, np.ndarray, np.ndarray]], config: SegConfig,
                  spacing: Sequence[float], labelled: bool = False) -> dict[Any, EntryMatch]:
    """Each entry's instances and what became of them (:class:`EntryMatch`), from the very matching that gives
    :func:`evaluate_entries` its values and rows (the same call), so a picture of them agrees with the numbers."""
    return {key: _evaluate_entry(k, pred, gt, config, spacing, labelled)[2]
            for k, (key, pred, gt) in enumerate(entries)}


def _evaluate_entry(k: int, pred: np.ndarray, gt: np.ndarray, config: SegConfig, spacing: Sequence[float],
                    labelled: bool) -> tuple[dict[str, float], Rows, EntryMatch]:
    """The instance values of the ``k``-th entry (before ``--empty``), its rows and its :class:`EntryMatch`."""
    names = config.instance_names()
    convention = config.instance_convention() or "lossctl"
    specs = {n: registry.get("seg", n) for n in names}
    lesion_names = [n for n in names if config.lesion_mode() or n.startswith("lesion_")]
    matched_names = [n for n in names if n not in lesion_names]
    wanted = [instances.BOUNDARY_VALUES[n] for n in matched_names if n in instances.BOUNDARY_VALUES]
    box = _box(pred != 0, gt != 0)
    got: dict[str, float] = {}
    rows: Rows = {}
    found = EntryMatch(*(np.zeros(gt.shape, np.int32),) * 2, *(np.zeros(1, np.uint8),) * 2)
    if lesion_names:
        params = config.params_for(specs[lesion_names[0]])
        if box is None:
            result = lesions.lesion_wise(np.zeros((1,) * gt.ndim, bool), np.zeros((1,) * gt.ndim, bool))
        else:  # grown by the dilation so that it never reaches the crop's edge
            grown = tuple(slice(max(s.start - int(params["dilation"]) - 1, 0), s.stop + int(params["dilation"]) + 1)
                          for s in box)
            result = lesions.lesion_wise(pred[grown], gt[grown], spacing, dilation=int(params["dilation"]),
                                         min_volume=float(params["min_volume"]))
            found = _lesion_match(result, grown, gt.shape)
        got.update({n: specs[n].impl(convention).fn(result) for n in lesion_names})
        rows = result.rows()
    if matched_names:
        rule = instances.CONVENTIONS[convention]
        rank = instances.connectivity_rank(gt.ndim, config.connectivity if config.connectivity is not None
                                           else rule.rank(gt.ndim))
        if box is None:
            g = p = instances.relabel(np.zeros((1,) * gt.ndim, np.int32))
        elif labelled:
            g, p = instances.relabel(gt[box]), instances.relabel(pred[box])
        else:
            g, p = instances.connected_components(gt[box], rank), instances.connected_components(pred[box], rank)
        taus = config.nsd_tolerance
        tau = None if taus == (1.0,) and convention == "panoptica" else taus[0 if len(taus) == 1 else k]
        ev = instances.convention_evaluate(g, p, convention, matcher=config.match,  # type: ignore[arg-type]
                                           metric=config.match_metric,  # type: ignore[arg-type]
                                           threshold=config.match_threshold, boundary_metrics=wanted,
                                           spacing=spacing, tolerance=tau)
        got.update({n: specs[n].impl(convention).fn(ev) for n in matched_names})
        rows = instances.instance_rows(ev)
        if box is not None:
            found = _instance_match(ev, box, gt.shape)
    return got, rows, found


def _placed(crop: np.ndarray, box: tuple[slice, ...], shape: tuple[int, ...]) -> np.ndarray:
    whole = np.zeros(shape, np.int32)
    whole[box] = crop
    return whole


def _instance_match(ev: instances.Evaluation, box: tuple[slice, ...], shape: tuple[int, ...]) -> EntryMatch:
    gt_outcome = np.full(ev.n_gt + 1, MISSED, np.uint8)
    gt_outcome[ev.matching.matched_gt] = MATCHED
    pred_outcome = np.where(ev.matching.assigned > 0, MATCHED, FALSE).astype(np.uint8)
    return EntryMatch(_placed(ev.gt.labels, box, shape), _placed(ev.pred.labels, box, shape), gt_outcome,
                      pred_outcome)


def _lesion_match(result: lesions.LesionResult, box: tuple[slice, ...], shape: tuple[int, ...]) -> EntryMatch:
    assert result.gt_labels is not None and result.pred_labels is not None
    gt_outcome = np.zeros(len(result.lesions) + 1, np.uint8)
    pred_outcome = np.full(int(result.pred_labels.max(initial=0)) + 1, NOT_COUNTED, np.uint8)
    for les in result.lesions:
        gt_outcome[les.id] = NOT_COUNTED if not les.kept else MATCHED if les.hits else MISSED
        if les.kept:
            pred_outcome[list(les.hits)] = MATCHED
    pred_outcome[[i for i, _ in result.false_positives]] = FALSE
    return EntryMatch(_placed(result.gt_labels, box, shape), _placed(result.pred_labels, box, shape), gt_outcome,
                      pred_outcome)


def combine(name: str, per_class: Sequence[float | None]) -> float | None:
    """An image's value of a multi-class run from its foreground classes' values: counts summed, the others the
    mean over the classes where they are defined (None: none is)."""
    if name in COUNTS:
        return float(sum(v for v in per_class if v is not None))
    mean = nanmean(np.array([math.nan if v is None else v for v in per_class], dtype=np.float64))
    return None if math.isnan(mean) else float(mean)


def pooled(name: str, images: Sequence[Rows], lesion_rows: bool) -> float:
    """The dataset-level value of ``name`` for one class or region from its rows in every image (NaN: none)."""
    if not lesion_rows:
        return instances.pooled_values(images).get(name, math.nan)
    kept = [row for rows in images for row in rows["gt"] if row.get("kept", True)]
    fp = sum(len(rows["unmatched_pred"]) for rows in images)
    tp = sum(1 for row in kept if row["matched"])
    fn = len(kept) - tp
    total = len(kept) + fp
    if name == "lesion_dice":
        return math.fsum(row["dice"] for row in kept) / total if total else 1.0
    if name == "lesion_hd95":
        return (math.fsum(row["hd95"] for row in kept) + lesions.PENALTY * fp) / total if total else 0.0
    ratio = {"inst_tp": (tp, 1), "inst_fp": (fp, 1), "inst_fn": (fn, 1), "inst_precision": (tp, tp + fp),
             "inst_recall": (tp, tp + fn), "rq": (tp, tp + 0.5 * (fp + fn))}
    num, den = ratio.get(name, (math.nan, 1))
    return num / den if den else math.nan


def pooled_summary(image_rows: Sequence[Mapping[str, Rows]], entries: Sequence[str], foreground: Sequence[str],
                   config: SegConfig) -> tuple[dict[str, float | None], dict[str, list[float | None]]]:
    """``summary.pooled`` and ``summary.per_class.pooled`` of the instance values: each entry's pooled value over
    the images that have it; the headline combines the foreground classes (:func:`combine`). Values without a
    pooled value are left out."""
    lesion_rows = config.lesion_mode()
    headline: dict[str, float | None] = {}
    per_entry: dict[str, list[float | None]] = {}
    for name in config.instance_names():
        if not lesion_rows and name not in instances.pooled_values([]):
            continue
        vector: list[float | None] = []
        for entry in entries:
            found = [rows[entry] for rows in image_rows if entry in rows]
            vector.append(_with_empty(name, pooled(name, found, lesion_rows), config) if found else None)
        per_entry[name] = vector
        headline[name] = combine(name, [v for e, v in zip(entries, vector, strict=True) if e in foreground])
    return headline, per_entry


def size_summary(image_rows: Sequence[Mapping[str, Rows]], volumes: Sequence[float], entries: Sequence[str],
                 config: SegConfig) -> dict[str, list[dict[str, Any]]]:
    """``summary.recall_by_size``: per class and region, the recall of the ground-truth instances in each size bin
    (``config.size_bins``, in voxels or mm³: ``volumes`` holds each image's voxel volume)."""
    out = {}
    scale = config.size_unit == "mm3"
    for entry in entries:
        have = [(rows[entry], v) for rows, v in zip(image_rows, volumes, strict=True) if entry in rows]
        kept = [{"gt": [r for r in rows["gt"] if r.get("kept", True)], "unmatched_pred": rows["unmatched_pred"]}
                for rows, _ in have]
        out[entry] = instances.recall_by_size(kept, config.size_bins,
                                              [v if scale else 1.0 for _, v in have])
    return out


__all__ = ["COUNTS", "FALSE", "MATCHED", "MISSED", "NOT_COUNTED", "EntryMatch", "combine", "empty_value",
           "evaluate_entries", "instance_entries", "instance_ids", "take_ids", "match_entries", "pooled", "pooled_summary",
           "size_summary"]
