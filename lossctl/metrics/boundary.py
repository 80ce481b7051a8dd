r"""Boundary (surface-distance) metrics of label maps in physical units: HD, HDp, ASSD, MASD and NSD.

For one class (or a region, a union of labels) there are two binary masks, A (prediction) and B (ground truth),
their surfaces ∂A and ∂B, and two *directed distance sets*: for each element of ∂A the Euclidean distance (each
axis scaled by its spacing) to the nearest element of ∂B, and the converse. Every metric reduces these two sets:

* ``hd``: ``max(max d(A→B), max d(B→A))``;
* ``hd95``: a p-th percentile (95 by default) of the distances, by the convention's rule;
* ``assd``: the mean of the pooled distances, ``(Σ d(A→B) + Σ d(B→A)) / (|∂A| + |∂B|)``;
* ``masd``: the mean of the two directed means, ``(mean d(A→B) + mean d(B→A)) / 2``;
* ``nsd``: the normalized surface Dice at tolerance τ, ``(|d(A→B) ≤ τ| + |d(B→A) ≤ τ|) / (|∂A| + |∂B|)``.

Conventions (:data:`CONVENTIONS`) differ in the surface, in the weights and in the percentile rule:

* ``lossctl`` (default): voxel surfaces ``mask & ~erosion(mask)`` with face connectivity (voxels outside the
  array are background), every surface voxel weighs 1, HDp is the larger of the two directed p-th percentiles
  with linear interpolation, float64 throughout;
* ``monai``: MONAI 1.6 (HausdorffDistanceMetric, SurfaceDistanceMetric(symmetric=True), SurfaceDiceMetric):
  the same surfaces and percentile rule, with the distances rounded to float32 as MONAI stores them;
* ``medpy``: MedPy 0.5.2 (hd, hd95, assd): the same surfaces (connectivity 1), HDp the percentile of the pooled
  distances (linear);
* ``deepmind``: DeepMind surface-distance 0.1: surfels on the grid between voxels, each weighted by its contour
  length (2D) or marching-cubes surface area (3D); HDp per direction is the distance where the cumulative area
  first reaches p% (then the larger of the two), means and NSD are area-weighted.

Speed without approximation: each class is cropped to the bounding box of A ∪ B (one
``scipy.ndimage.find_objects`` pass per label map) and framed by one background voxel, which changes no surface
element and no distance; both surfaces are extracted once, both distance sets are computed once (a Euclidean
distance transform with ``sampling=spacing`` for small boxes, KD-trees on the surface points for larger ones) and
every requested metric is derived from them.

Empty masks are decided before any reduction: a class absent from both masks is undefined (``both_empty``), a
class present in exactly one gets ``one_empty`` for the distances (by default the length of the image's diagonal,
``sqrt(Σ (n_i s_i)^2)``) and 0 for ``nsd``.

>>> a = np.zeros((5, 5), np.uint8); a[2, 2] = 1
>>> b = np.zeros((5, 5), np.uint8); b[2, 3] = 1
>>> boundary_metrics(a, b, [(1,)], ("hd", "nsd"), spacing=(1.0, 0.5))
{'hd': array([0.5]), 'nsd': array([1.])}
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from lossctl.metrics._surfel_table import AREA_VECTORS_X8
from lossctl.convention import Impl, Param

BOUNDARY_METRICS = ("hd", "hd95", "assd", "masd", "nsd")
"""The boundary metrics, in catalogue order. All but ``nsd`` are distances (lower is better)."""

Surface = Literal["voxel", "surfel"]
Engine = Literal["auto", "edt", "kdtree"]

#: With "auto", a KD-tree on the surface points replaces the two distance transforms when the (framed) box holds
#: more voxels than this. Measured by tools/bench_volumes.py (BENCHMARKS.md, V4): the transforms' cost grows with
#: the box, the tree's with the surfaces; at about 45,000 voxels and beyond the tree is faster (2x for a compact
#: sphere, 7x for a 2M-voxel box), below about 4,000 the transform is.
KDTREE_MIN_VOXELS = 16384


@dataclass(frozen=True)
class Convention:
    """How one peer defines the boundary metrics."""

    name: str
    surface: Surface
    percentile: Literal["directed", "pooled", "area"]
    float32: bool
    definitions: dict[str, str] = field(default_factory=dict)  # metric -> one line; a missing metric is absent

    def has(self, metric: str) -> bool:
        return metric in self.definitions


CONVENTIONS: dict[str, Convention] = {
    "lossctl": Convention("lossctl", "voxel", "directed", False, {
        "hd": "max of both directed maxima; voxel surfaces (erosion XOR, face connectivity), float64",
        "hd95": "max of the two directed p-th percentiles (linear interpolation), unweighted voxels",
        "assd": "mean of the pooled distances of both directions",
        "masd": "mean of the two directed means",
        "nsd": "(#∂A within τ of ∂B + #∂B within τ of ∂A) / (#∂A + #∂B), voxel counts, d <= τ",
    }),
    "monai": Convention("monai", "voxel", "directed", True, {
        "hd": "HausdorffDistanceMetric(): max of both directed maxima; erosion-XOR surfaces; float32 distances",
        "hd95": "HausdorffDistanceMetric(percentile=p): max of the directed torch.quantile (linear), float32",
        "assd": "SurfaceDistanceMetric(symmetric=True): mean of the pooled distances, float32",
        "nsd": "SurfaceDiceMetric(class_thresholds=[τ]): voxel counts within τ (float32 distances, d <= τ)",
    }),
    "medpy": Convention("medpy", "voxel", "pooled", False, {
        "hd": "medpy.metric.binary.hd(connectivity=1): max of both directed maxima",
        "hd95": "medpy.metric.binary.hd95: np.percentile of the pooled distances (linear); MedPy fixes p = 95",
        "assd": "medpy.metric.binary.assd (0.5.2): mean of the pooled distances",
    }),
    "deepmind": Convention("deepmind", "surfel", "area", False, {
        "hd": "compute_robust_hausdorff(d, 100): surfels between voxels, area-weighted",
        "hd95": "compute_robust_hausdorff(d, p): per direction the distance where the cumulative surfel area "
                "first reaches p% (searchsorted), then the max",
        "masd": "mean of the two area-weighted directed means of compute_average_surface_distance",
        "nsd": "compute_surface_dice_at_tolerance(d, τ): surfel areas within τ over all surfel areas",
    }),
}


@dataclass(frozen=True)
class DirectedDistances:
    """The two directed distance sets of one non-empty pair of masks, with the surface elements' weights
    (``None``: every element weighs 1)."""

    pred_to_gt: np.ndarray
    gt_to_pred: np.ndarray
    pred_weights: np.ndarray | None = None
    gt_weights: np.ndarray | None = None


# --------------------------------------------------------------------------------------------------------------
# Surfaces
# --------------------------------------------------------------------------------------------------------------


def voxel_surface(mask: np.ndarray) -> np.ndarray:
    """``mask & ~binary_erosion(mask)`` with face connectivity; outside the array is background.

    The erosion is written as shifted ANDs (a voxel is inside when it and its 2 x ndim face neighbours are all in
    the mask; voxels on the array's edge never are): the same bits as ``scipy.ndimage.binary_erosion`` with the
    face structure and ``border_value=0``, without its per-voxel structuring-element loop.
    """
    mask = np.asarray(mask, dtype=bool)
    inside = mask.copy()
    if mask.size == 0:
        return inside
    for axis in range(mask.ndim):
        def along(s: slice | int, axis: int = axis) -> tuple[slice | int, ...]:
            return (slice(None),) * axis + (s,)

        inside[along(slice(1, None))] &= mask[along(slice(None, -1))]
        inside[along(slice(None, -1))] &= mask[along(slice(1, None))]
        inside[along(0)] = False
        inside[along(-1)] = False
    return mask & ~inside


def contour_length_table(spacing: Sequence[float]) -> np.ndarray:
    """(16,) contour length in each 2x2 neighbourhood code (bit ``2**(3 - (2a + b))`` for the pixel at offset
    (a, b)): one or three pixels inside cut a corner (half the pixel diagonal), two side by side a straight
    line (the spacing along the other axis), two on a diagonal two corners."""
    s0, s1 = (float(s) for s in spacing)
    diag = 0.5 * math.sqrt(s0 * s0 + s1 * s1)
    table = np.zeros(16)
    for code in range(1, 15):
        inside = [(a, b) for a in (0, 1) for b in (0, 1) if code & (1 << (3 - (2 * a + b)))]
        if len(inside) != 2:
            table[code] = diag
        elif inside[0][0] == inside[1][0]:  # same row: a horizontal line
            table[code] = s1
        elif inside[0][1] == inside[1][1]:  # same column: a vertical line
            table[code] = s0
        else:
            table[code] = 2 * diag
    return table


def surface_area_table(spacing: Sequence[float]) -> np.ndarray:
    """(256,) marching-cubes surface area in each 2x2x2 neighbourhood code (bit ``2**(7 - (4a + 2b + c))``
    for the voxel at offset (a, b, c)) at this spacing: the sum of the triangles' area-vector norms, each
    component scaled by the area of the voxel face it is normal to."""
    s0, s1, s2 = (float(s) for s in spacing)
    vectors = np.asarray(AREA_VECTORS_X8, dtype=np.float64).reshape(256, 4, 3) / 8.0
    scaled = vectors * np.array([s1 * s2, s0 * s2, s0 * s1])
    return np.sqrt((scaled**2).sum(axis=2)).sum(axis=1)


@lru_cache(maxsize=64)
def surfel_area_table(spacing: tuple[float, ...]) -> np.ndarray:
    """The contour-length (2D) or surface-area (3D) table of a spacing."""
    if len(spacing) == 2:
        return contour_length_table(spacing)
    if len(spacing) == 3:
        return surface_area_table(spacing)
    raise ValueError(f"surfel surfaces exist in 2D and 3D only, not {len(spacing)}D")


def surfel_surface(framed: np.ndarray, spacing: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Surfels of a mask framed by one background voxel on every side: (border, areas), where ``border`` is
    the bool map of the 2x2(x2) neighbourhoods that are neither all outside nor all inside (one per position
    between voxels, shape ``framed.shape - 1``) and ``areas`` the surfel areas at the border, in ``np.nonzero``
    order."""
    n = framed.ndim
    inner = tuple(s - 1 for s in framed.shape)
    code = np.zeros(inner, dtype=np.uint8)
    bit = 1 << (2**n - 1)
    for offset in np.ndindex(*(2,) * n):
        window = framed[tuple(slice(o, o + m) for o, m in zip(offset, inner, strict=True))]
        code |= window.astype(np.uint8) * np.uint8(bit)
        bit >>= 1
    full = 2 ** (2**n) - 1
    border = (code != 0) & (code != full)
    return border, surfel_area_table(spacing)[code[border]]


# --------------------------------------------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------------------------------------------


def _edt_distances(source: np.ndarray, target: np.ndarray, spacing: tuple[float, ...]) -> np.ndarray:
    """For every True element of ``source`` (``np.nonzero`` order) the distance to the nearest True element of
    ``target``: one Euclidean distance transform of the box, read at ``source``."""
    from scipy import ndimage

    return ndimage.distance_transform_edt(~target, sampling=spacing)[source]


def _kdtree_distances(a: np.ndarray, b: np.ndarray, spacing: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Both directed distance sets from two KD-trees on the physical coordinates of the surface points."""
    from scipy.spatial import cKDTree

    scale = np.asarray(spacing, dtype=np.float64)
    ia, ib = np.argwhere(a), np.argwhere(b)  # np.nonzero order, as the weights
    pa, pb = ia * scale, ib * scale

    def exact(source: np.ndarray, target: np.ndarray, nearest: np.ndarray) -> np.ndarray:
        # the distance transform's own arithmetic on the integer offsets (sqrt of the summed squared scaled
        # offsets), so that both engines give the same bits: nsd compares distances with τ, often exactly at it
        offset = (target[nearest] - source).astype(np.float64) * scale
        return np.sqrt(np.add.reduce(offset * offset, axis=1))

    return (exact(ia, ib, cKDTree(pb).query(pa, k=1)[1]), exact(ib, ia, cKDTree(pa).query(pb, k=1)[1]))


def surface_distances(pred: np.ndarray, gt: np.ndarray, spacing: Sequence[float], surface: Surface = "voxel",
                      engine: Engine = "auto") -> DirectedDistances:
    """Both directed distance sets of two non-empty bool masks of one shape (crop them first for speed).

    The masks are framed by one background voxel, so that objects touching the array's edge have surface there.
    ``engine``: "edt" (two distance transforms of the box), "kdtree" (two KD-trees on the surface points) or
    "auto" (the tree above :data:`KDTREE_MIN_VOXELS` voxels); both are exact.
    """
    spacing = tuple(float(s) for s in spacing)
    a = np.pad(np.asarray(pred, dtype=bool), 1)
    b = np.pad(np.asarray(gt, dtype=bool), 1)
    if surface == "voxel":
        sa, sb = voxel_surface(a), voxel_surface(b)
        wa = wb = None
    else:
        sa, wa = surfel_surface(a, spacing)
        sb, wb = surfel_surface(b, spacing)
    if engine == "kdtree" or (engine == "auto" and sa.size > KDTREE_MIN_VOXELS):
        ab, ba = _kdtree_distances(sa, sb, spacing)
    else:
        ab, ba = _edt_distances(sa, sb, spacing), _edt_distances(sb, sa, spacing)
    return DirectedDistances(ab, ba, wa, wb)


# --------------------------------------------------------------------------------------------------------------
# Reductions
# --------------------------------------------------------------------------------------------------------------


def _area_percentile(d: np.ndarray, w: np.ndarray, p: float) -> float:
    """The distance at which the cumulative area, in ascending (distance, area) order, first reaches p%."""
    order = np.lexsort((w, d))
    d, w = d[order], w[order]
    cumulative = np.cumsum(w) / np.sum(w)
    idx = int(np.searchsorted(cumulative, p / 100.0))
    return float(d[min(idx, d.size - 1)])


def _float32_quantile(d: np.ndarray, p: float) -> float:
    """``torch.quantile(d, p / 100)`` (linear) as PyTorch computes it on float32: the rank ``q (n - 1)``, its
    interpolation weight and the interpolation itself are all float32 (``torch.lerp``'s two-sided form)."""
    v = np.sort(d.astype(np.float32))
    rank = np.float32(np.float32(p / 100.0) * np.float32(v.size - 1))
    lo = int(np.floor(rank))
    hi = min(lo + 1, v.size - 1)
    w = np.float32(rank - np.float32(lo))
    start, end = v[lo], v[hi]
    if w < 0.5:
        return float(np.float32(start + w * (end - start)))
    return float(np.float32(end - (end - start) * (np.float32(1.0) - w)))


def _weighted_mean(d: np.ndarray, w: np.ndarray | None) -> float:
    if w is None:
        return float(d.mean())
    order = np.lexsort((w, d))
    return float(np.sum(d[order] * w[order]) / np.sum(w[order]))


def reduce(dist: DirectedDistances, metrics: Sequence[str], convention: str = "lossctl",
           percentile: float = 95.0, tolerance: float = 1.0) -> dict[str, float]:
    """Every requested metric from the two directed distance sets, under ``convention``."""
    rule = CONVENTIONS[convention]
    ab, ba = dist.pred_to_gt, dist.gt_to_pred
    if rule.float32:
        ab, ba = ab.astype(np.float32).astype(np.float64), ba.astype(np.float32).astype(np.float64)
    out: dict[str, float] = {}
    for m in metrics:
        if m == "hd":
            if rule.percentile == "area":
                out[m] = max(_area_percentile(ab, dist.pred_weights, 100.0),
                             _area_percentile(ba, dist.gt_weights, 100.0))
            else:
                out[m] = float(max(ab.max(), ba.max()))
        elif m == "hd95":
            if rule.percentile == "area":
                out[m] = max(_area_percentile(ab, dist.pred_weights, percentile),
                             _area_percentile(ba, dist.gt_weights, percentile))
            elif rule.float32:
                out[m] = max(_float32_quantile(ab, percentile), _float32_quantile(ba, percentile))
            elif rule.percentile == "pooled":
                out[m] = float(np.percentile(np.concatenate([ab, ba]), percentile))
            else:
                out[m] = float(max(np.percentile(ab, percentile), np.percentile(ba, percentile)))
        elif m == "assd":
            if dist.pred_weights is None:
                out[m] = float(np.concatenate([ab, ba]).mean())
            else:
                total = np.sum(ab * dist.pred_weights) + np.sum(ba * dist.gt_weights)
                out[m] = float(total / (np.sum(dist.pred_weights) + np.sum(dist.gt_weights)))
        elif m == "masd":
            out[m] = 0.5 * (_weighted_mean(ab, dist.pred_weights) + _weighted_mean(ba, dist.gt_weights))
        elif m == "nsd":
            if rule.float32:
                tau = float(np.float32(tolerance))
            else:
                tau = float(tolerance)
            if dist.pred_weights is None:
                out[m] = float((np.count_nonzero(ab <= tau) + np.count_nonzero(ba <= tau)) / (ab.size + ba.size))
            else:
                wa, wb = dist.pred_weights, dist.gt_weights
                out[m] = float((np.sum(wb[ba <= tau]) + np.sum(wa[ab <= tau])) / (np.sum(wb) + np.sum(wa)))
        else:
            raise ValueError(f"unknown boundary metric {m!r}")
    return out


# --------------------------------------------------------------------------------------------------------------
# Label maps
# --------------------------------------------------------------------------------------------------------------


def image_diagonal(shape: Sequence[int], spacing: Sequence[float]) -> float:
    """``sqrt(Σ (n_i s_i)^2)``: the length of the image's diagonal (373.13 for 240x240x155 at 1 mm)."""
    return float(math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing, strict=True))))


def bounding_boxes(labels: np.ndarray, top: int) -> list[tuple[slice, ...] | None]:
    """``boxes[v]`` is the bounding box of label ``v`` (None when absent), for v in 0..top (0 unused)."""
    if top < 1:
        return [None]
    flat = labels if labels.dtype.kind in "iu" and labels.dtype.itemsize <= 8 else labels.astype(np.int64)
    from scipy import ndimage

    return [None, *ndimage.find_objects(flat, max_label=top)]


def union_box(boxes: Sequence[tuple[slice, ...] | None]) -> tuple[slice, ...] | None:
    """The smallest box holding every box of ``boxes`` (None ones left out); None when there is none."""
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    return tuple(slice(min(b[i].start for b in present), max(b[i].stop for b in present))
                 for i in range(len(present[0])))


def class_boxes(pred: np.ndarray, gt: np.ndarray, classes: Sequence[Sequence[int]]
                ) -> Iterator[tuple[int, tuple[int, ...], tuple[slice, ...] | None, tuple[slice, ...] | None]]:
    """``(k, labels, box in pred, box in gt)`` for each entry ``k`` of ``classes`` (a class's label, or a region's
    labels; label 0 never counts), the boxes None where the labels are absent: one ``find_objects`` pass per map."""
    top = max([int(v) for labels in classes for v in labels] + [0])
    pred_boxes, gt_boxes = bounding_boxes(pred, top), bounding_boxes(gt, top)
    for k, labels in enumerate(classes):
        labels = tuple(int(v) for v in labels)
        yield (k, labels, union_box([pred_boxes[v] for v in labels if v > 0]),
               union_box([gt_boxes[v] for v in labels if v > 0]))


def boundary_metrics(pred: np.ndarray, gt: np.ndarray, classes: Sequence[Sequence[int]], metrics: Sequence[str],
                     *, spacing: Sequence[float] | None = None, convention: str = "lossctl",
                     percentile: float = 95.0, tolerances: Sequence[float] | float = 1.0,
                     both_empty: float = math.nan, one_empty: float | None = None,
                     engine: Engine = "auto") -> dict[str, np.ndarray]:
    """Boundary metrics of two integer label maps of one shape, for each entry of ``classes``.

    Parameters
    ----------
    pred, gt : numpy.ndarray
        Label maps (non-negative integers), 2D or 3D (any rank for the voxel conventions).
    classes : sequence of label tuples
        ``(c,)`` for class ``c``, ``(l1, l2, ...)`` for the union of those labels (a region).
    metrics : names from :data:`BOUNDARY_METRICS` that ``convention`` has.
    spacing : the physical size of a voxel along each axis of the arrays (default 1 per axis).
    percentile : p of ``hd95``. ``tolerances``: τ of ``nsd``, one value or one per entry of ``classes``.
    both_empty : the value of every metric when neither mask holds the class (NaN: undefined).
    one_empty : the value of the distances when exactly one mask holds it (default: the image diagonal,
        NaN: undefined); ``nsd`` is then 0.
    engine : "edt" (distance transforms), "kdtree" or "auto" (see :data:`KDTREE_MIN_VOXELS`).

    Returns
    -------
    dict
        metric -> (len(classes),) float64.
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    spacing = tuple(float(s) for s in (spacing if spacing is not None else (1.0,) * gt.ndim))
    rule = CONVENTIONS[convention]
    for m in metrics:
        if not rule.has(m):
            raise ValueError(f"{m} is not defined under the {convention} convention")
    taus = [float(tolerances)] * len(classes) if np.isscalar(tolerances) else [float(t) for t in tolerances]
    if len(taus) != len(classes):
        raise ValueError(f"{len(taus)} tolerances for {len(classes)} classes")
    distance_if_one = image_diagonal(gt.shape, spacing) if one_empty is None else float(one_empty)
    out = {m: np.full(len(classes), np.nan) for m in metrics}
    for k, labels, box_a, box_b in class_boxes(pred, gt, classes):
        if box_a is None or box_b is None:
            for m in metrics:
                out[m][k] = both_empty if box_a is None and box_b is None else (
                    0.0 if m == "nsd" else distance_if_one)
            continue
        box = union_box([box_a, box_b])
        a, b = class_mask(pred[box], labels), class_mask(gt[box], labels)
        values = reduce(surface_distances(a, b, spacing, rule.surface, engine), metrics, convention,
                        percentile, taus[k])
        for m, v in values.items():
            out[m][k] = v
    return out


def class_mask(crop: np.ndarray, labels: tuple[int, ...]) -> np.ndarray:
    """The bool mask of a class (one label) or of a region (the union of its labels) in ``crop``."""
    if len(labels) == 1:
        return crop == labels[0]
    return np.isin(crop, np.asarray(labels))


def _metric(name: str, convention: str) -> Any:
    def compute(pred: np.ndarray, gt: np.ndarray, classes: Sequence[Sequence[int]], **options: Any) -> np.ndarray:
        """One boundary metric under one convention (the engine computes several from one pass instead)."""
        return boundary_metrics(pred, gt, classes, [name], convention=convention, **options)[name]
    compute.__name__ = f"{convention}_{name}"
    return compute


_REFERENCES = {
    "lossctl": "lossctl's default (see lossctl.metrics.boundary)",
    "monai": "monai.metrics HausdorffDistanceMetric / SurfaceDistanceMetric(symmetric=True) / SurfaceDiceMetric",
    "medpy": "medpy.metric.binary hd / hd95 / assd (connectivity=1)",
    "deepmind": "surface_distance compute_robust_hausdorff / compute_average_surface_distance / "
                "compute_surface_dice_at_tolerance",
}
_PERCENTILE = Param("percentile", 95.0, "the percentile p of hd95", bounds=(1e-9, 100.0))

#: The registry's convention tables of the boundary metrics: metric -> {convention: Impl}. ``fn(pred_labels,
#: gt_labels, classes, spacing=..., tolerances=..., both_empty=..., one_empty=...)`` returns one value per entry
#: of ``classes``. MedPy's hd95 fixes p = 95, so it has no ``percentile`` parameter.
TABLE: dict[str, dict[str, Impl]] = {
    name: {c: Impl(_metric(name, c), rule.definitions[name], _REFERENCES[c],
                   (_PERCENTILE,) if name == "hd95" and c != "medpy" else (),
                   inputs=frozenset({"labels", "probs", "logits"}))
           for c, rule in CONVENTIONS.items() if rule.has(name)}
    for name in BOUNDARY_METRICS
}


__all__ = ["BOUNDARY_METRICS", "CONVENTIONS", "TABLE", "Convention", "DirectedDistances", "boundary_metrics",
           "bounding_boxes", "class_mask", "contour_length_table", "image_diagonal", "reduce", "surface_area_table",
           "surface_distances", "union_box", "voxel_surface"]
