"""The ``summary`` block of a report, for ``seg`` and ``cls``, and the statistics gates read.

* Over items (images for seg, samples for cls): ``mean``, ``std`` (population, ``ddof=0``), ``min``, ``median``
  and ``max`` of each value over the items where it is defined; ``undefined`` counts the others
  (:func:`over_items`). Gates also read percentiles ``pNN`` (:func:`statistic`, ``numpy.percentile``'s linear
  interpolation).
* ``pooled``: seg: each metric of the confusion matrix summed over the images (``sum_i CM_i``), which weighs
  every pixel equally (a volume, avd: ``sum_i v_i CM_i``, each voxel counted as its image's voxel volume
  ``v_i``); cls: the metric's one value over all samples.
* ``per_class``: seg: per class (then per region), the mean over the images where the class's value is
  defined (``nanmean``) and the pooled value.
* A convention may form a dataset's ``mean`` its own way (nnU-Net: class means of the per-image values; cls:
  each loss reduced as the convention reduces it).
* ``region_mean`` (seg, a region-based dataset.json): each value's mean over the dataset's regions, as nnU-Net's
  ``foreground_mean``: ``mean`` is the mean of the regions' means over images (``per_class.mean``; undefined when
  one region's is), ``pooled`` the mean of the regions' pooled values, and ``std``, ``min``, ``median``, ``max``
  are over the images' own region means (:func:`region_means`, the regions' defined values averaged).

Undefined values are NaN while computing and ``None`` (JSON null) in the document (:func:`to_nan`,
:func:`to_null`, :func:`to_nulls`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lossctl import registry
from lossctl._numeric import nanmean
from lossctl.engine.schema import ImageRow, Summary
from lossctl.engine.seg_config import SegConfig
from lossctl.metrics import calibration

#: The statistics over items that every summary holds, in its order.
STATISTICS = ("mean", "std", "min", "median", "max")
_FUNCTIONS: dict[str, Any] = {"mean": np.mean, "std": np.std, "min": np.min, "median": np.median, "max": np.max}


def to_nan(v: float | None) -> float:
    """A document's value as a number: ``None`` (undefined) is NaN."""
    return float("nan") if v is None else v


def to_null(v: float | None) -> float | None:
    """A number as a document's value: NaN (undefined) is ``None``."""
    return None if v is None or np.isnan(v) else float(v)


def to_nulls(v: np.ndarray) -> list[float | None]:
    """A vector as a document's list of values (NaN: ``None``)."""
    return [None if np.isnan(x) else float(x) for x in np.asarray(v, dtype=np.float64)]


def over_items(columns: Mapping[str, np.ndarray]) -> tuple[dict[str, dict[str, float | None]], dict[str, int]]:
    """Each of :data:`STATISTICS` of each column (one value per item, NaN: undefined) over its defined entries
    (``None`` when there is none), and the number of undefined entries per column."""
    stats: dict[str, dict[str, float | None]] = {k: {} for k in STATISTICS}
    undefined: dict[str, int] = {}
    for name, v in columns.items():
        kept = v[~np.isnan(v)]
        undefined[name] = int(v.size - kept.size)
        for stat in STATISTICS:
            stats[stat][name] = float(_FUNCTIONS[stat](kept)) if kept.size else None
    return stats, undefined


def statistic(stat: str, values: Sequence[float]) -> float | None:
    """One statistic of ``values`` over the defined ones: one of :data:`STATISTICS`, or ``pNN`` (the NN-th
    percentile); ``None`` when nothing is defined (or the result is not a number)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if not v.size:
        return None
    result = _FUNCTIONS[stat](v) if stat in _FUNCTIONS else np.percentile(v, float(stat[1:]))
    return None if math.isnan(result) else float(result)


def region_means(per_class: Mapping[str, Sequence[float | None]], at: Sequence[int]) -> dict[str, float | None]:
    """One image's mean over the regions (the entries ``at`` of each per-class vector), of each value that has
    them, in catalogue order: the mean of its defined entries (``None`` when none is)."""
    order = registry.names("seg")
    return {name: to_null(nanmean(np.array([to_nan(vector[i]) for i in at], dtype=np.float64)))
            for name, vector in sorted(per_class.items(), key=lambda item: order.index(item[0]))
            if len(vector) > max(at)}


def _mean_of(vector: Sequence[float | None], at: Sequence[int]) -> float | None:
    """nnU-Net's ``np.mean`` of the entries ``at``: undefined when any of them is."""
    picked = [vector[i] for i in at]
    return None if any(v is None for v in picked) else float(np.mean(np.array(picked, dtype=np.float64)))


def _voxel_volume(row: ImageRow) -> float:
    spacing = row.get("spacing")  # type: ignore[misc]
    return float(np.prod(spacing)) if spacing else 1.0


def summarize_rows(rows: Sequence[ImageRow], c: int, config: SegConfig, at: Sequence[int] = ()) -> Summary:
    """The seg summary: statistics over images, per-class means, and pooled metrics from the summed confusion
    matrix (``c`` classes); with ``at`` (the positions of a region-based dataset's regions in the per-class
    vectors), ``region_mean``."""
    names = [s.name for s in config.selected() if any(s.name in r["values"] for r in rows)]
    stats, undefined = over_items({n: np.array([to_nan(r["values"].get(n)) for r in rows], dtype=np.float64)
                                   for n in names})
    size = config.matrix_size(c)
    total = np.zeros((size, size), dtype=np.int64)
    for r in rows:
        total += np.asarray(r["confusion_matrix"], dtype=np.int64)
    volumes = None  # avd: each image's voxels count as its voxel volume
    if any(s.volume for s in config.selected()):
        volumes = sum((np.asarray(r["confusion_matrix"], dtype=np.float64) * _voxel_volume(r) for r in rows),
                      np.zeros((size, size)))
    pooled_values, pooled_per_class = config.matrix_metrics(total, c, volume_matrix=volumes)
    if config.regions:
        extra = config.region_metrics(total, c, volume_matrix=volumes)
        pooled_per_class = {k: np.concatenate([v, extra[k]]) if k in extra else v
                            for k, v in pooled_per_class.items()}
    metric_names = [s.name for s in config.selected() if s.kind == "metric" and not s.opt_in]
    for spec in config.selected():  # a convention that forms a dataset's value its own way (nnU-Net)
        aggregate = spec.impl(config.convention_of(spec.name)).aggregate
        if spec.name in stats["mean"] and aggregate is not None and rows:
            matrix = np.array([[to_nan(v) for v in r["per_class"][spec.name]] for r in rows], dtype=np.float64)
            stats["mean"][spec.name] = to_null(aggregate(matrix, config.include(c)))
    per_class_mean = {}
    width = c + len(config.regions)
    for n in {k for r in rows for k in r["per_class"]}:
        m = np.array([[to_nan(x) for x in r["per_class"][n]] for r in rows if n in r["per_class"]])
        per_class_mean[n] = [to_null(nanmean(m[:, j])) for j in range(width)]
    order = registry.names("seg")
    summary: Summary = {
        "count": len(rows),
        "undefined": undefined,
        **stats,  # type: ignore[typeddict-item]
        "pooled": {n: to_null(pooled_values[n]) for n in metric_names},
        "per_class": {
            "mean": {n: per_class_mean[n] for n in sorted(per_class_mean, key=order.index)},
            "pooled": {n: to_nulls(pooled_per_class[n]) for n in metric_names if n in pooled_per_class},
        },
    }
    if at:
        summary["region_mean"] = _region_mean_summary(rows, summary["per_class"], at)
    summary["confusion_matrix"] = total.tolist()
    if config.calibration_names():
        _pooled_calibration(summary, rows, c, config)
    return summary


def _pooled_calibration(summary: Summary, rows: Sequence[ImageRow], c: int, config: SegConfig) -> None:
    """Each calibration value of the tally summed over the images (``summary.calibration``), as its pooled value;
    equal-mass bins have no sum (each image has its own edges): their tally is null and they have no pooled value
    (absent: it does not apply, as a loss's)."""
    summary["calibration"] = {}
    for name in config.calibration_names():
        pooled = calibration.add([r["calibration"][name] for r in rows if name in r.get("calibration", {})])
        summary["calibration"][name] = pooled
        if pooled is None and any(calibration.per_image_only(r["calibration"][name]) for r in rows
                                  if name in r.get("calibration", {})):
            continue
        spec = registry.get("seg", name)
        impl = spec.impl(config.convention_of(name))
        value, vector = (float("nan"), None) if pooled is None else impl.fn(pooled, config.include(c),
                                                                             **config.params_for(spec))
        summary["pooled"][name] = to_null(value)
        if vector is not None:
            summary["per_class"]["pooled"][name] = to_nulls(vector) + [None] * len(config.regions)


def _region_mean_summary(rows: Sequence[ImageRow], per_class: Mapping[str, Mapping[str, list[float | None]]],
                         at: Sequence[int]) -> dict[str, Any]:
    """``summary.region_mean``: see the module's docstring."""
    names = [n for n in per_class["mean"] if len(per_class["mean"][n]) > max(at)]
    stats, undefined = over_items({n: np.array([to_nan(r.get("region_mean", {}).get(n)) for r in rows],
                                               dtype=np.float64) for n in names})
    stats["mean"] = {n: _mean_of(per_class["mean"][n], at) for n in names}
    return {**stats, "pooled": {n: _mean_of(v, at) for n, v in per_class["pooled"].items() if len(v) > max(at)},
            "undefined": undefined}


def summarize_samples(count: int, columns: Mapping[str, np.ndarray], means: dict[str, float | None],
                      metric_names: Sequence[str]) -> Summary:
    """The cls summary: ``means`` as the convention reduces each value, the other statistics over the ``count``
    evaluated samples of each loss (``columns``: one value per evaluated sample, NaN: undefined), and each
    metric's one value as its pooled value; an undefined metric (``None``: one class only for auroc, a 0/0 under
    ``empty=nan``...) is counted once in ``undefined``."""
    stats, undefined = over_items(columns)
    undefined.update({n: 1 for n in metric_names if means[n] is None})
    return {
        "count": count,
        "undefined": undefined,
        "mean": means,
        **{stat: stats[stat] for stat in STATISTICS[1:]},  # type: ignore[typeddict-item]
        "pooled": {n: means[n] for n in metric_names},
        "per_class": {"mean": {}, "pooled": {}},
    }


__all__ = ["STATISTICS", "to_nan", "to_null", "to_nulls", "over_items", "statistic", "region_means",
           "summarize_rows", "summarize_samples"]
