r"""Instances: connected components, the overlap table of two instance maps, the three matchers, and the
instance values (detection counts, RQ/SQ/PQ, boundary values of the matched pairs, AJI, AJI+) under each convention.

**Instances.** An *instance map* holds 0 for the background and ids 1..n, one per instance.
:func:`connected_components` makes one from a binary mask (``scipy.ndimage.label`` with the structure
``generate_binary_structure(ndim, rank)``; rank 1 is faces only, rank ``ndim``, the default, the full
neighbourhood: 8 in 2D, 26 in 3D); the components are numbered in raster order of their first voxel, as scipy and
cc3d number them. :func:`relabel` makes one from any map of non-negative integer ids (up to 2^31 and beyond), keeping
their order: the k-th smallest id present becomes k.

**Overlaps.** One ``bincount`` of the paired labels ``gt * (n_pred + 1) + pred`` gives every instance's voxel count
and the intersection ``I`` of every overlapping (gt, pred) pair (:func:`overlap_table`); with the sizes ``G`` and
``P``, ``IoU = I / (G + P - I)`` and ``Dice = 2 I / (G + P)``. Pairs that do not overlap score 0 and are never
candidates.

**Matching** (:func:`match`), with a score (IoU or Dice) and a threshold test, ``score > T`` (strict) or
``score >= T``:

* ``greedy``: the candidates that pass, best score first (ties: the lower predicted id, then the lower
  ground-truth id), each taken when neither instance is matched yet: one-to-one;
* ``hungarian``: one-to-one with the maximum total score (``scipy.optimize.linear_sum_assignment``). Rule
  ``"exclude"`` (panoptica's MaxBipartiteMatching): the cost is ``1 - score`` for a pair that passes and ``1 + 1e-6``
  for any other, and a pair is kept when its cost is below 1 (pairs that fail are never matched). Rule ``"after"``
  (HoVer-Net's ``get_fast_pq`` below IoU 0.5): the total IoU of all pairs is maximised, then the pairs that fail
  are dropped;
* ``merge`` (panoptica's MaximizeMergeMatching): candidates best first as for greedy; a prediction already
  matched is skipped; a ground-truth instance not yet matched takes the prediction if the pair passes; one already
  matched takes it too when the score of the union of its predictions with this one is higher than its current
  score (no threshold). Many predictions to one ground-truth instance; a merged group counts as one predicted
  instance.

**Values** of one image and one class (:func:`instance_values`), with ``tp`` matched ground-truth instances,
``fp = n_pred - tp`` (``n_pred`` counts a merged group once) and ``fn = n_gt - tp``:

* ``inst_tp``, ``inst_fp``, ``inst_fn``; ``inst_precision = tp / (tp + fp)``, ``inst_recall = tp / (tp + fn)``;
* ``rq = tp / (tp + fp/2 + fn/2)`` (the F1 of detection);
* ``sq`` = the mean IoU of the matched pairs, ``pq = sq * rq``; ``sq_dice``, ``pq_dice`` the same with Dice;
* ``sq_hd95``, ``sq_assd``, ``sq_nsd``: the mean over the matched pairs of the pair's boundary value, computed on
  the bounding box of the pair only (see :data:`BOUNDARY_RULES`);
* ``aji`` (Kumar et al. 2017): each ground-truth instance is paired with its prediction of highest IoU (a
  prediction may serve several); ``AJI = Σ I / (Σ U + Σ |unused predictions|)`` where unpaired ground-truth
  instances add their size to the union; ``aji_plus`` (Graham et al. 2019): the same with the one-to-one pairing
  of maximum total IoU.

Empty cases (lossctl and panoptica; ``None`` below is *undefined*, NaN in the arrays, as for every lossctl
metric: left out of means and counted):

=========================  ===========  ==========  ============  ============  ===============
value                      no instance  gt only     pred only     none matched  tp > 0
=========================  ===========  ==========  ============  ============  ===============
inst_tp, inst_fp, inst_fn  0, 0, 0      0, 0, n_gt  0, n_pred, 0  counts        counts
inst_precision             None         None        0             0             tp / (tp + fp)
inst_recall                None         0           None          0             tp / (tp + fn)
rq                         None         0           0             0             formula
sq, pq, sq_dice, pq_dice   None         0           0             0             formula
sq_hd95, sq_assd, sq_nsd   None         None        None          None          mean over pairs
aji, aji_plus              None         0           0             formula       formula
=========================  ===========  ==========  ============  ============  ===============

panoptica reports ``inf`` for its ASSD and raises for HD95 and NSD when tp = 0, and raises for a precision or
recall over no instance: all undefined here (JSON has no infinity). HoVer-Net (convention ``hovernet``) divides
the IoU sum by ``tp + 1e-6`` (so ``sq`` is 0 when tp = 0 and a hair below the mean otherwise), raises for ``rq``
with no instance at all (undefined here), and its AJI raises with an empty prediction (0 here: nothing is
intersected).

>>> gt = np.array([[1, 1, 0, 2, 2]]); pred = np.array([[1, 1, 1, 0, 0]])
>>> ev = evaluate(relabel(gt), relabel(pred))
>>> {k: round(v, 4) for k, v in instance_values(ev, ("inst_tp", "inst_fn", "rq", "sq", "pq")).items()}
{'inst_tp': 1.0, 'inst_fn': 1.0, 'rq': 0.6667, 'sq': 0.6667, 'pq': 0.4444}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lossctl.convention import Impl
from lossctl.metrics import boundary

Score = Literal["iou", "dice"]
Matcher = Literal["greedy", "hungarian", "merge"]
HungarianRule = Literal["exclude", "after"]
BoundaryRule = Literal["lossctl", "panoptica"]

MATCHERS: tuple[Matcher, ...] = ("greedy", "hungarian", "merge")
#: The boundary values of the matched pairs, each the mean over the pairs of one boundary metric.
BOUNDARY_VALUES = {"sq_hd95": "hd95", "sq_assd": "assd", "sq_nsd": "nsd"}
#: Every instance value, in catalogue order.
INSTANCE_VALUES = ("inst_tp", "inst_fp", "inst_fn", "inst_precision", "inst_recall", "rq", "sq", "pq", "sq_dice",
                   "pq_dice", *BOUNDARY_VALUES, "aji", "aji_plus")
#: Up to this many cells (n_gt x n_pred: 2048 x 2048, a 32 MB matrix) the Hungarian matcher and AJI+ solve one dense
#: matrix, as panoptica and HoVer-Net do; above it, each connected group of candidate pairs on its own (the same
#: maximum total; among equal totals the choice may differ from one dense solve).
DENSE_ASSIGNMENT_CELLS = 1 << 22
#: Up to this many bins (or the voxel count, when larger) the overlap table is one dense ``bincount``; beyond it the
#: pairs come from ``np.unique`` of the overlapping voxels' codes.
DENSE_OVERLAP_BINS = 1 << 22

#: Masks of at least this many voxels (2D and up) are labelled by clusters of occupied blocks of ``BLOCK`` voxels
#: per axis (:func:`_sparse_components`): a lesion volume is mostly background, and one pass finds where it is not.
SPARSE_LABEL_VOXELS = 1 << 18
BLOCK = 4  # 2, 4 or 8: the last axis is read as one unsigned integer of BLOCK bytes per block row

#: How each boundary rule defines the three per-pair boundary values (``sd(A→B)``: for each surface voxel of A
#: its distance to the surface of B; surfaces are ``mask XOR erosion(mask)`` with face connectivity).
BOUNDARY_RULES: dict[str, dict[str, str]] = {
    "lossctl": {"hd95": "max of the two directed 95th percentiles (linear), as lossctl's hd95",
                "assd": "mean of the pooled distances of both directions, as lossctl's assd",
                "nsd": "(#sd(A→B) <= τ + #sd(B→A) <= τ) / (#∂A + #∂B), τ the tolerance (default 1)"},
    "panoptica": {"hd95": "np.percentile of the pooled distances, 95",
                  "assd": "the mean of the two directed means",
                  "nsd": "the mean of the two directed fractions within τ, τ = min(spacing) by default"},
}


# --------------------------------------------------------------------------------------------------------------
# Instance maps
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceMap:
    """An instance map (0: background, 1..count: instances) and the original id of each instance
    (``ids[k - 1]`` is instance k's; components of a mask are their own ids 1..count)."""

    labels: np.ndarray
    ids: np.ndarray
    #: each instance's bounding box (``boxes[k - 1]``) when it is known already (None: found when needed)
    boxes: tuple[tuple[slice, ...], ...] | None = field(default=None, compare=False, repr=False)

    @property
    def count(self) -> int:
        return int(self.ids.size)


def connectivity_rank(ndim: int, rank: int | None = None) -> int:
    """The neighbourhood rank of ``scipy.ndimage.generate_binary_structure``: 1 (faces) .. ``ndim`` (the full
    neighbourhood, the default). A ValueError for anything else."""
    if rank is None:
        return ndim
    if not 1 <= int(rank) <= ndim or int(rank) != rank:
        raise ValueError(f"connectivity rank {rank} is not in 1..{ndim} for {ndim}D arrays")
    return int(rank)


def connected_components(mask: np.ndarray, rank: int | None = None) -> InstanceMap:
    """The connected components of a binary mask, numbered 1..n in raster order of their first voxel.

    ``rank``: voxels are neighbours when ``generate_binary_structure(mask.ndim, rank)`` joins them (1: sharing
    a face; ``ndim``, the default: sharing any corner, 8 neighbours in 2D and 26 in 3D).

    >>> connected_components(np.array([[1, 0, 1], [0, 1, 0]]), rank=1).count
    3
    >>> connected_components(np.array([[1, 0, 1], [0, 1, 0]])).count
    1
    """
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    structure = ndimage.generate_binary_structure(mask.ndim, connectivity_rank(mask.ndim, rank))
    if mask.ndim >= 2 and mask.size >= SPARSE_LABEL_VOXELS:
        sparse = _sparse_components(mask, structure)
        if sparse is not None:
            return sparse
    labels, count = ndimage.label(mask, structure=structure)
    return InstanceMap(labels, np.arange(1, count + 1, dtype=np.int64))


def _occupied_blocks(mask: np.ndarray) -> np.ndarray:
    """Which :data:`BLOCK`-wide blocks of a C-contiguous mask (every axis a multiple of :data:`BLOCK`) hold a
    voxel: the last axis is read ``BLOCK`` bytes at a time (one unsigned integer per block row), so this reads the
    mask once."""
    rows = mask.view(f"u{BLOCK}") != 0  # (..., n_last / BLOCK): one entry per block row of the last axis
    for axis in range(mask.ndim - 1):
        shape = rows.shape
        rows = rows.reshape(*shape[:axis], shape[axis] // BLOCK, BLOCK, *shape[axis + 1:]).any(axis=axis + 1)
    return rows


def _first_voxel(local: np.ndarray, k: int, sub: tuple[slice, ...], box: tuple[slice, ...],
                 shape: tuple[int, ...]) -> int:
    """The raster index, in an array of ``shape``, of the first voxel of component ``k`` of ``local`` (the labels
    of ``box``; ``sub``: the component's box in ``local``): it lies in the first slice of its box."""
    plane = local[(sub[0].start, *sub[1:])]
    at = np.unravel_index(int(np.flatnonzero(plane == k)[0]), plane.shape)
    coords = (sub[0].start + box[0].start, *(a + s.start + b.start for a, s, b in zip(at, sub[1:], box[1:],
                                                                                        strict=True)))
    return int(np.ravel_multi_index(coords, shape))


def _sparse_components(mask: np.ndarray, structure: np.ndarray) -> InstanceMap | None:
    """:func:`connected_components` of a sparse mask by clusters of blocks: the blocks that hold a voxel are
    grouped by full-neighbourhood adjacency (two voxels that touch lie in one block or in touching blocks, so a
    component never spans two groups); each group's bounding box is labelled alone, restricted to the group's
    blocks, and the components are numbered in raster order of their first voxel, as one ``ndimage.label`` of the
    whole mask numbers them (same labels, same boxes). None when the groups' boxes cover most of the mask (one
    label of the whole is then as fast)."""
    from scipy import ndimage

    shape = mask.shape
    padded = tuple(-(-n // BLOCK) * BLOCK for n in shape)
    if padded != shape or not mask.flags.c_contiguous:
        whole = np.zeros(padded, bool)
        whole[tuple(slice(0, n) for n in shape)] = mask
    else:
        whole = mask
    groups, n_groups = ndimage.label(_occupied_blocks(whole), structure=np.ones((3,) * mask.ndim, bool))
    group_boxes = ndimage.find_objects(groups)
    if sum(math.prod(s.stop - s.start for s in b) for b in group_boxes) * BLOCK ** mask.ndim > 0.5 * mask.size:
        return None
    firsts, pieces = [], []
    for g, coarse in enumerate(group_boxes, start=1):
        box = tuple(slice(s.start * BLOCK, min(s.stop * BLOCK, n)) for s, n in zip(coarse, shape, strict=True))
        part = whole[box]
        cells = groups[coarse]
        if np.any((cells != g) & (cells != 0)):  # another group's blocks in this box: keep this group's only
            own = cells == g
            for axis in range(mask.ndim):
                own = np.repeat(own, BLOCK, axis=axis)
            part = part & own[tuple(slice(0, s.stop - s.start) for s in box)]
        local, n = ndimage.label(part, structure=structure)
        if not n:
            continue
        sub_boxes = ndimage.find_objects(local)
        firsts.append([_first_voxel(local, k, sub, box, shape) for k, sub in enumerate(sub_boxes, start=1)])
        pieces.append((box, local, sub_boxes))
    order = np.argsort(np.concatenate(firsts)) if firsts else np.zeros(0, np.intp)
    new_id = np.empty(order.size, np.int32)
    new_id[order] = np.arange(1, order.size + 1, dtype=np.int32)
    labels = np.zeros(shape, np.int32)
    boxes: list[tuple[slice, ...]] = [()] * order.size
    start = 0
    for box, local, sub_boxes in pieces:
        lut = np.concatenate([[0], new_id[start:start + len(sub_boxes)]]).astype(np.int32)
        np.copyto(labels[box], lut[local], where=local != 0)
        for k, sub in enumerate(sub_boxes, start=1):
            boxes[lut[k] - 1] = tuple(slice(b.start + s.start, b.start + s.stop) for s, b in zip(sub, box, strict=True))
        start += len(sub_boxes)
    return InstanceMap(labels, np.arange(1, order.size + 1, dtype=np.int64), tuple(boxes))


def relabel(labels: np.ndarray) -> InstanceMap:
    """An instance map from any map of non-negative integer ids: the k-th smallest id present becomes k, 0 stays
    the background. Ids of any size are accepted (a lookup table when they are small, ``np.unique`` otherwise).

    >>> m = relabel(np.array([[0, 70000, 5], [5, 0, 2**31]]))
    >>> m.labels.tolist(), m.ids.tolist()
    ([[0, 2, 1], [1, 0, 3]], [5, 70000, 2147483648])
    """
    a = np.asarray(labels)
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.dtype.kind not in "iu":
        raise ValueError(f"instance ids must be integers, not {a.dtype}")
    if a.size == 0:
        return InstanceMap(np.zeros(a.shape, np.int32), np.zeros(0, np.int64))
    if a.dtype.kind == "i" and int(a.min()) < 0:
        raise ValueError("instance ids must be non-negative")
    top = int(a.max())
    if top <= max(a.size, 1 << 16):
        present = np.bincount(a.ravel().astype(np.intp, copy=False), minlength=top + 1) > 0
        ids = np.flatnonzero(present[1:]) + 1
        if ids.size == top:  # already 1..n
            return InstanceMap(a.astype(np.int32, copy=False), ids.astype(np.int64))
        lut = np.zeros(top + 1, np.int32)
        lut[ids] = np.arange(1, ids.size + 1, dtype=np.int32)
        return InstanceMap(lut[a], ids.astype(np.int64))
    values, inverse = np.unique(a.ravel(), return_inverse=True)
    inverse = inverse.reshape(a.shape).astype(np.int32)
    if values[0] == 0:
        return InstanceMap(inverse, values[1:].astype(np.int64))
    return InstanceMap(inverse + 1, values.astype(np.int64))


# --------------------------------------------------------------------------------------------------------------
# The overlap table
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overlaps:
    """Every instance's voxel count and every overlapping (gt, pred) pair of two instance maps.

    ``gt_sizes[i]``: voxels of ground-truth instance i + 1 (``pred_sizes`` likewise); ``gt``, ``pred``, ``inter``:
    one entry per pair with a non-empty intersection (ids 1-based), sorted by ground-truth then predicted id.
    """

    gt_sizes: np.ndarray
    pred_sizes: np.ndarray
    gt: np.ndarray
    pred: np.ndarray
    inter: np.ndarray

    @property
    def n_gt(self) -> int:
        return int(self.gt_sizes.size)

    @property
    def n_pred(self) -> int:
        return int(self.pred_sizes.size)

    def union(self) -> np.ndarray:
        """``G + P - I`` of each pair."""
        return self.gt_sizes[self.gt - 1] + self.pred_sizes[self.pred - 1] - self.inter

    def score(self, metric: Score, epsilon: float = 0.0) -> np.ndarray:
        """Each pair's ``I / (G + P - I + epsilon)`` (iou) or ``2 I / (G + P)`` (dice), float64."""
        inter = self.inter.astype(np.float64)
        if metric == "iou":
            return inter / (self.union().astype(np.float64) + epsilon)
        if metric == "dice":
            return 2.0 * inter / (self.gt_sizes[self.gt - 1] + self.pred_sizes[self.pred - 1]).astype(np.float64)
        raise ValueError(f"unknown matching score {metric!r}: choose iou or dice")


def overlap_table(gt: InstanceMap | np.ndarray, pred: InstanceMap | np.ndarray) -> Overlaps:
    """The :class:`Overlaps` of two instance maps of one shape, from one ``bincount`` of the paired labels
    ``gt * (n_pred + 1) + pred`` of the voxels where either map is foreground (background pairs count nothing; a
    lesion volume is mostly background, so this reads the maps once and writes little). With more bins than those
    voxels and :data:`DENSE_OVERLAP_BINS`, the pairs come from ``np.unique`` of the codes instead."""
    g = np.asarray(gt.labels if isinstance(gt, InstanceMap) else gt).ravel()
    p = np.asarray(pred.labels if isinstance(pred, InstanceMap) else pred).ravel()
    if g.shape != p.shape:
        raise ValueError(f"instance maps of {g.size} and {p.size} voxels")
    n_gt = gt.count if isinstance(gt, InstanceMap) else int(g.max(initial=0))
    n_pred = pred.count if isinstance(pred, InstanceMap) else int(p.max(initial=0))
    width = n_pred + 1
    bins = (n_gt + 1) * width
    foreground = np.flatnonzero((g != 0) | (p != 0))
    codes = g[foreground].astype(np.intp)
    codes *= width
    codes += p[foreground]
    if bins <= max(codes.size, DENSE_OVERLAP_BINS):
        table = np.bincount(codes, minlength=bins).reshape(n_gt + 1, width)
        inner = table[1:, 1:]
        gi, pi = np.nonzero(inner)
        return Overlaps(table[1:].sum(axis=1), table[:, 1:].sum(axis=0), gi + 1, pi + 1, inner[gi, pi])
    values, counts = np.unique(codes, return_counts=True)
    gi, pi = values // width, values % width
    gt_sizes = np.bincount(gi, weights=counts, minlength=n_gt + 1)[1:].astype(np.int64)
    pred_sizes = np.bincount(pi, weights=counts, minlength=n_pred + 1)[1:].astype(np.int64)
    both = (gi > 0) & (pi > 0)
    return Overlaps(gt_sizes, pred_sizes, gi[both], pi[both], counts[both])


# --------------------------------------------------------------------------------------------------------------
# Matching
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Matching:
    """``assigned[p]``: the ground-truth id prediction p is matched to (0: unmatched; index 0 unused)."""

    assigned: np.ndarray
    n_gt: int

    @property
    def matched_gt(self) -> np.ndarray:
        """The matched ground-truth ids, ascending."""
        return np.unique(self.assigned[self.assigned > 0])

    @property
    def tp(self) -> int:
        return int(self.matched_gt.size)

    @property
    def n_matched_pred(self) -> int:
        return int(np.count_nonzero(self.assigned))

    def groups(self) -> dict[int, list[int]]:
        """Matched ground-truth id -> its predicted ids, ascending."""
        out: dict[int, list[int]] = {}
        for p in np.flatnonzero(self.assigned):
            out.setdefault(int(self.assigned[p]), []).append(int(p))
        return dict(sorted(out.items()))


def passes(score: np.ndarray | float, threshold: float, strict: bool) -> np.ndarray:
    """``score > threshold`` when ``strict``, else ``score >= threshold``."""
    return np.greater(score, threshold) if strict else np.greater_equal(score, threshold)


def _best_first(ov: Overlaps, scores: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Indices of the pairs (those in ``keep``), best score first, ties by lower predicted then ground-truth id."""
    idx = np.arange(scores.size) if keep is None else np.flatnonzero(keep)
    return idx[np.lexsort((ov.gt[idx], ov.pred[idx], -scores[idx]))]


def match_greedy(ov: Overlaps, scores: np.ndarray, threshold: float, strict: bool) -> Matching:
    """One-to-one, best first (see the module docstring)."""
    assigned = np.zeros(ov.n_pred + 1, np.int64)
    gt_used = np.zeros(ov.n_gt + 1, bool)
    for k in _best_first(ov, scores, passes(scores, threshold, strict)):
        g, p = ov.gt[k], ov.pred[k]
        if not gt_used[g] and not assigned[p]:
            assigned[p] = g
            gt_used[g] = True
    return Matching(assigned, ov.n_gt)


def _linear_assignment(n_gt: int, n_pred: int, gt: np.ndarray, pred: np.ndarray, cost: np.ndarray,
                       fill: float) -> tuple[np.ndarray, np.ndarray]:
    """``linear_sum_assignment`` of the dense (n_gt, n_pred) cost matrix holding ``cost`` at the listed pairs and
    ``fill`` elsewhere; above :data:`DENSE_ASSIGNMENT_CELLS` cells, one solve per connected group of listed pairs.
    Returns the assigned (gt, pred) ids, 1-based."""
    from scipy.optimize import linear_sum_assignment

    if gt.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if n_gt * n_pred <= DENSE_ASSIGNMENT_CELLS:
        matrix = np.full((n_gt, n_pred), fill)
        matrix[gt - 1, pred - 1] = cost
        rows, cols = linear_sum_assignment(matrix)
        return rows + 1, cols + 1
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components as graph_components

    graph = coo_matrix((np.ones(gt.size), (gt - 1, n_gt + pred - 1)), shape=(n_gt + n_pred,) * 2)
    _, group = graph_components(graph, directed=False)
    out_g, out_p = [], []
    for gid in np.unique(group[gt - 1]):
        sel = group[gt - 1] == gid
        gs, ps = np.unique(gt[sel]), np.unique(pred[sel])
        matrix = np.full((gs.size, ps.size), fill)
        matrix[np.searchsorted(gs, gt[sel]), np.searchsorted(ps, pred[sel])] = cost[sel]
        rows, cols = linear_sum_assignment(matrix)
        out_g.append(gs[rows])
        out_p.append(ps[cols])
    return np.concatenate(out_g), np.concatenate(out_p)


def _pair_index(ov: Overlaps, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """For each (gt, pred) id pair, its index in the overlap table, or -1 when the two do not overlap."""
    width = ov.n_pred + 1
    codes = ov.gt * width + ov.pred  # ascending: the table is sorted by gt, then pred
    wanted = np.asarray(gt, np.int64) * width + np.asarray(pred, np.int64)
    if codes.size == 0:
        return np.full(wanted.shape, -1, np.int64)
    at = np.minimum(np.searchsorted(codes, wanted), codes.size - 1)
    return np.where(codes[at] == wanted, at, -1)


def match_hungarian(ov: Overlaps, scores: np.ndarray, threshold: float, strict: bool,
                    rule: HungarianRule = "exclude") -> Matching:
    """One-to-one with the maximum total score (see the module docstring for the two rules)."""
    assigned = np.zeros(ov.n_pred + 1, np.int64)
    ok = passes(scores, threshold, strict)
    if rule == "exclude":
        sel = np.flatnonzero(ok)
        g, p = _linear_assignment(ov.n_gt, ov.n_pred, ov.gt[sel], ov.pred[sel], 1.0 - scores[sel], 1.0 + 1e-6)
    elif rule == "after":
        g, p = _linear_assignment(ov.n_gt, ov.n_pred, ov.gt, ov.pred, -scores, 0.0)
    else:
        raise ValueError(f"unknown Hungarian rule {rule!r}")
    k = _pair_index(ov, g, p)
    keep = k >= 0
    keep[keep] = ok[k[keep]] & (1.0 - scores[k[keep]] < 1.0)
    assigned[p[keep]] = g[keep]
    return Matching(assigned, ov.n_gt)


def _group_score(metric: Score, inter: float, gt_size: float, pred_size: float) -> float:
    if metric == "iou":
        return inter / (gt_size + pred_size - inter)
    return 2.0 * inter / (gt_size + pred_size)


def match_merge(ov: Overlaps, scores: np.ndarray, threshold: float, strict: bool, metric: Score) -> Matching:
    """Many-to-one while the union's score improves (see the module docstring)."""
    assigned = np.zeros(ov.n_pred + 1, np.int64)
    best = np.zeros(ov.n_gt + 1)
    group_inter = np.zeros(ov.n_gt + 1, np.int64)
    group_size = np.zeros(ov.n_gt + 1, np.int64)
    for k in _best_first(ov, scores):
        g, p = int(ov.gt[k]), int(ov.pred[k])
        if assigned[p]:
            continue
        if group_size[g]:
            inter, size = group_inter[g] + ov.inter[k], group_size[g] + ov.pred_sizes[p - 1]
            merged = _group_score(metric, float(inter), float(ov.gt_sizes[g - 1]), float(size))
            if merged > best[g]:
                assigned[p], best[g], group_inter[g], group_size[g] = g, merged, inter, size
        elif passes(scores[k], threshold, strict):
            assigned[p], best[g], group_inter[g], group_size[g] = g, scores[k], ov.inter[k], ov.pred_sizes[p - 1]
    return Matching(assigned, ov.n_gt)


def match(ov: Overlaps, matcher: Matcher = "greedy", metric: Score = "iou", threshold: float = 0.5,
          strict: bool = True, hungarian_rule: HungarianRule = "exclude") -> Matching:
    """Match the instances of an overlap table with ``matcher`` on ``metric`` (see the module docstring)."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"matching threshold {threshold} is not in [0, 1]")
    scores = ov.score(metric)
    if matcher == "greedy":
        return match_greedy(ov, scores, threshold, strict)
    if matcher == "hungarian":
        return match_hungarian(ov, scores, threshold, strict, hungarian_rule)
    if matcher == "merge":
        return match_merge(ov, scores, threshold, strict, metric)
    raise ValueError(f"unknown matcher {matcher!r}: choose {', '.join(MATCHERS)}")


# --------------------------------------------------------------------------------------------------------------
# Boundary values of one matched pair
# --------------------------------------------------------------------------------------------------------------


def pair_boundary(dist: boundary.DirectedDistances, metrics: Sequence[str], rule: BoundaryRule,
                  tolerance: float) -> dict[str, float]:
    """hd95, assd and nsd of one pair's two directed distance sets (voxel surfaces) under ``rule``
    (:data:`BOUNDARY_RULES`)."""
    if rule == "lossctl":
        return boundary.reduce(dist, metrics, "lossctl", 95.0, tolerance)
    if rule != "panoptica":
        raise ValueError(f"unknown boundary rule {rule!r}")
    ab, ba = dist.pred_to_gt, dist.gt_to_pred
    out = {}
    for m in metrics:
        if m == "hd95":
            out[m] = float(np.percentile(np.concatenate([ba, ab]), 95))
        elif m == "assd":
            out[m] = float(np.mean((ba.mean(), ab.mean())))
        elif m == "nsd":
            out[m] = 0.5 * (np.count_nonzero(ba <= tolerance) / ba.size + np.count_nonzero(ab <= tolerance) / ab.size)
        else:
            raise ValueError(f"unknown boundary value {m!r}")
    return out


def _boxes(instances: InstanceMap) -> Sequence[tuple[slice, ...] | None]:
    """Each instance's bounding box: known from the labelling, else one ``find_objects`` pass."""
    from scipy import ndimage

    if instances.boxes is not None:
        return instances.boxes
    return ndimage.find_objects(instances.labels, max_label=instances.count) if instances.count else []


def _union_box(boxes: Sequence[tuple[slice, ...]]) -> tuple[slice, ...]:
    return tuple(slice(min(b[i].start for b in boxes), max(b[i].stop for b in boxes)) for i in range(len(boxes[0])))


# --------------------------------------------------------------------------------------------------------------
# One image, one class: evaluation, values, rows
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    """The matching of one image's instances of one class and the quality of each matched pair.

    ``pairs_gt``: the matched ground-truth ids, ascending; ``pairs_pred``: each one's predicted ids;
    ``iou``, ``dice``: each matched pair's (the union of its predictions against the instance); ``boundary``:
    metric -> one value per matched pair; ``n_pred``: the predicted instances, a merged group counted once.
    """

    gt: InstanceMap
    pred: InstanceMap
    overlaps: Overlaps
    matching: Matching
    pairs_gt: np.ndarray
    pairs_pred: tuple[tuple[int, ...], ...]
    iou: np.ndarray
    dice: np.ndarray
    boundary: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_gt(self) -> int:
        return self.gt.count

    @property
    def n_pred(self) -> int:
        return self.pred.count - (self.matching.n_matched_pred - self.matching.tp)

    @property
    def tp(self) -> int:
        return self.matching.tp

    @property
    def fp(self) -> int:
        return self.n_pred - self.tp

    @property
    def fn(self) -> int:
        return self.n_gt - self.tp


def evaluate(gt: InstanceMap, pred: InstanceMap, *, matcher: Matcher = "greedy", metric: Score = "iou",
             threshold: float = 0.5, strict: bool = True, hungarian_rule: HungarianRule = "exclude",
             boundary_metrics: Sequence[str] = (), spacing: Sequence[float] | None = None,
             boundary_rule: BoundaryRule = "lossctl", tolerance: float | None = None) -> Evaluation:
    """Match two instance maps of one shape and measure every matched pair.

    The boundary metrics (``"hd95"``, ``"assd"``, ``"nsd"``) are computed for each matched pair on the bounding box
    of the ground-truth instance and its predictions only, with ``spacing`` (default 1 per axis) and ``tolerance``
    for nsd (default: 1 under the lossctl rule, ``min(spacing)`` under panoptica's).
    """
    if gt.labels.shape != pred.labels.shape:
        raise ValueError(f"instance maps of shapes {gt.labels.shape} and {pred.labels.shape}")
    ov = overlap_table(gt, pred)
    matching = match(ov, matcher, metric, threshold, strict, hungarian_rule)
    groups = matching.groups()
    pairs_gt = np.fromiter(groups, np.int64, len(groups))
    pairs_pred = tuple(tuple(v) for v in groups.values())
    sel = matching.assigned[ov.pred] == ov.gt
    inter = np.bincount(ov.gt[sel], weights=ov.inter[sel], minlength=ov.n_gt + 1)[pairs_gt]
    pred_size = np.bincount(matching.assigned, weights=np.concatenate([[0], ov.pred_sizes]),
                            minlength=ov.n_gt + 1)[pairs_gt]
    gt_size = ov.gt_sizes[pairs_gt - 1].astype(np.float64)
    iou = inter / (gt_size + pred_size - inter) if pairs_gt.size else np.zeros(0)
    dice = 2.0 * inter / (gt_size + pred_size) if pairs_gt.size else np.zeros(0)
    values: dict[str, np.ndarray] = {}
    if boundary_metrics and pairs_gt.size:
        values = _pair_boundaries(gt, pred, pairs_gt, pairs_pred, boundary_metrics, spacing, boundary_rule,
                                  tolerance)
    elif boundary_metrics:
        values = {m: np.zeros(0) for m in boundary_metrics}
    return Evaluation(gt, pred, ov, matching, pairs_gt, pairs_pred, iou, dice, values)


def _pair_boundaries(gt: InstanceMap, pred: InstanceMap, pairs_gt: np.ndarray,
                     pairs_pred: tuple[tuple[int, ...], ...], metrics: Sequence[str],
                     spacing: Sequence[float] | None, rule: BoundaryRule,
                     tolerance: float | None) -> dict[str, np.ndarray]:
    spacing = tuple(float(s) for s in (spacing if spacing is not None else (1.0,) * gt.labels.ndim))
    if tolerance is None:
        tolerance = min(spacing) if rule == "panoptica" else 1.0
    gt_boxes, pred_boxes = _boxes(gt), _boxes(pred)
    out = {m: np.zeros(pairs_gt.size) for m in metrics}
    for k, (g, ps) in enumerate(zip(pairs_gt, pairs_pred, strict=True)):
        box = _union_box([gt_boxes[g - 1], *(pred_boxes[p - 1] for p in ps)])
        a = pred.labels[box] == ps[0] if len(ps) == 1 else np.isin(pred.labels[box], ps)
        dist = boundary.surface_distances(a, gt.labels[box] == g, spacing, "voxel")
        for m, v in pair_boundary(dist, metrics, rule, tolerance).items():
            out[m][k] = v
    return out


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def _mean_or(values: np.ndarray, tp: int, any_instance: bool, when_no_match: float, epsilon: float = 0.0) -> float:
    if not any_instance:
        return math.nan
    if tp == 0:
        return when_no_match
    return float(values.sum() / (tp + epsilon)) if epsilon else float(np.mean(values))


def instance_values(ev: Evaluation, names: Sequence[str] = INSTANCE_VALUES, *, sq_epsilon: float = 0.0,
                    aji_epsilon: float = 0.0) -> dict[str, float]:
    """The requested values of one evaluation (see the module docstring's table; NaN: undefined).

    ``sq_epsilon``: HoVer-Net's ``sq = Σ IoU / (tp + 1e-6)`` (0: the plain mean). ``aji_epsilon``: the IoU that
    pairs instances for ``aji``/``aji_plus`` is ``I / (U + aji_epsilon)`` (HoVer-Net: 1e-6, which breaks exact
    ties toward the larger union).
    """
    tp, fp, fn = ev.tp, ev.fp, ev.fn
    any_instance = ev.n_gt + ev.n_pred > 0
    rq = _ratio(tp, tp + 0.5 * fp + 0.5 * fn)
    out: dict[str, float] = {}
    for name in names:
        if name == "inst_tp":
            out[name] = float(tp)
        elif name == "inst_fp":
            out[name] = float(fp)
        elif name == "inst_fn":
            out[name] = float(fn)
        elif name == "inst_precision":
            out[name] = _ratio(tp, tp + fp)
        elif name == "inst_recall":
            out[name] = _ratio(tp, tp + fn)
        elif name == "rq":
            out[name] = rq
        elif name in ("sq", "pq"):
            sq = _mean_or(ev.iou, tp, any_instance, 0.0, sq_epsilon)
            out[name] = sq if name == "sq" else sq * rq
        elif name in ("sq_dice", "pq_dice"):
            sq = _mean_or(ev.dice, tp, any_instance, 0.0, sq_epsilon)
            out[name] = sq if name == "sq_dice" else sq * rq
        elif name in BOUNDARY_VALUES:
            metric = BOUNDARY_VALUES[name]
            if metric not in ev.boundary:
                raise ValueError(f"{name} needs the boundary metric {metric} in evaluate()")
            out[name] = float(np.mean(ev.boundary[metric])) if tp else math.nan
        elif name == "aji":
            out[name] = aji(ev.overlaps, aji_epsilon)
        elif name == "aji_plus":
            out[name] = aji_plus(ev.overlaps, aji_epsilon)
        else:
            raise ValueError(f"unknown instance value {name!r}")
    return out


def instance_rows(ev: Evaluation) -> dict[str, list[dict[str, Any]]]:
    """Per-instance rows, JSON-ready: ``{"gt": [...], "unmatched_pred": [...]}``.

    Each ground-truth row: ``id`` (the original id), ``voxels``, ``matched`` (the original ids of its
    predictions, empty when missed), ``iou``, ``dice`` and the boundary values (None when missed); each unmatched
    prediction: ``id``, ``voxels``.
    """
    position = {int(g): k for k, g in enumerate(ev.pairs_gt)}
    rows = []
    for g in range(1, ev.n_gt + 1):
        k = position.get(g)
        row: dict[str, Any] = {"id": int(ev.gt.ids[g - 1]), "voxels": int(ev.overlaps.gt_sizes[g - 1]),
                               "matched": [] if k is None else [int(ev.pred.ids[p - 1]) for p in ev.pairs_pred[k]],
                               "iou": None if k is None else float(ev.iou[k]),
                               "dice": None if k is None else float(ev.dice[k])}
        for m, v in ev.boundary.items():
            row[m] = None if k is None else float(v[k])
        rows.append(row)
    unmatched = [{"id": int(ev.pred.ids[p - 1]), "voxels": int(ev.overlaps.pred_sizes[p - 1])}
                 for p in np.flatnonzero(ev.matching.assigned[1:] == 0) + 1]
    return {"gt": rows, "unmatched_pred": unmatched}


def pooled_values(images: Iterable[dict[str, list[dict[str, Any]]]]) -> dict[str, float]:
    """Dataset-level values of one class from the per-instance rows of every image (:func:`instance_rows`), as COCO
    panoptic pools them: ``tp`` (ground-truth rows with a match), ``fp`` (unmatched predictions; a merged group is
    one row), ``fn`` summed over the images; ``inst_precision``, ``inst_recall``, ``rq`` of the sums; ``sq`` and
    ``sq_dice`` the mean over every matched pair of the dataset, ``pq = sq * rq``. Sums are exact (``math.fsum``), so
    the order of the images, and how they were split into shards, never changes a bit. Empty cases as per image.

    >>> a = {"gt": [{"matched": [1], "iou": 0.5}], "unmatched_pred": []}
    >>> b = {"gt": [{"matched": [], "iou": None}], "unmatched_pred": [{"id": 2}]}
    >>> {k: round(v, 4) for k, v in pooled_values([a, b]).items() if k in ("rq", "sq", "pq")}
    {'rq': 0.5, 'sq': 0.5, 'pq': 0.25}
    """
    tp = fp = fn = 0
    ious: list[float] = []
    dices: list[float] = []
    for rows in images:
        for row in rows["gt"]:
            if row["matched"]:
                tp += 1
                ious.append(float(row["iou"]))
                dices.append(float(row.get("dice", math.nan)))
            else:
                fn += 1
        fp += len(rows["unmatched_pred"])
    rq = _ratio(tp, tp + 0.5 * fp + 0.5 * fn)
    any_instance = tp + fp + fn > 0
    sq = math.fsum(ious) / tp if tp else (0.0 if any_instance else math.nan)
    sq_dice = math.fsum(dices) / tp if tp else (0.0 if any_instance else math.nan)
    return {"inst_tp": float(tp), "inst_fp": float(fp), "inst_fn": float(fn), "inst_precision": _ratio(tp, tp + fp),
            "inst_recall": _ratio(tp, tp + fn), "rq": rq, "sq": sq, "pq": sq * rq, "sq_dice": sq_dice,
            "pq_dice": sq_dice * rq}


def recall_by_size(images: Sequence[dict[str, list[dict[str, Any]]]], edges: Sequence[float],
                   voxel_volume: float | Sequence[float] = 1.0) -> list[dict[str, Any]]:
    """Recall per ground-truth size bin from the per-instance rows of every image: bins ``[0, e1), [e1, e2), ...,
    [ek, inf)`` of the instance's size (``voxels * voxel_volume``: voxels by default, mm³ with the voxel volume,
    one for every image or one per image); each bin ``{"low", "high", "instances", "matched", "recall"}`` (recall
    None for an empty bin; counts summable over shards).

    >>> rows = {"gt": [{"voxels": 5, "matched": [1]}, {"voxels": 50, "matched": []}], "unmatched_pred": []}
    >>> [(b["instances"], b["recall"]) for b in recall_by_size([rows], [10])]
    [(1, 1.0), (1, 0.0)]
    """
    bounds = [0.0, *(float(e) for e in edges), math.inf]
    if any(b >= c for b, c in zip(bounds[:-1], bounds[1:], strict=True)):
        raise ValueError(f"size bins {list(edges)} are not increasing positive numbers")
    volumes = [float(voxel_volume)] * len(images) if np.isscalar(voxel_volume) else [float(v) for v in voxel_volume]
    if len(volumes) != len(images):
        raise ValueError(f"{len(volumes)} voxel volumes for {len(images)} images")
    counts = np.zeros((len(bounds) - 1, 2), np.int64)
    for rows, volume in zip(images, volumes, strict=True):
        for row in rows["gt"]:
            k = int(np.searchsorted(bounds, row["voxels"] * volume, side="right")) - 1
            counts[k] += (1, bool(row["matched"]))
    return [{"low": bounds[k], "high": None if math.isinf(bounds[k + 1]) else bounds[k + 1], "instances": int(n),
             "matched": int(m), "recall": float(m / n) if n else None} for k, (n, m) in enumerate(counts)]


# --------------------------------------------------------------------------------------------------------------
# AJI and AJI+
# --------------------------------------------------------------------------------------------------------------


def aji(ov: Overlaps, epsilon: float = 0.0) -> float:
    """Aggregated Jaccard Index (Kumar et al. 2017; HoVer-Net ``get_fast_aji``): each ground-truth instance is
    paired with the prediction of highest ``I / (U + epsilon)`` (ties: the lower predicted id; a prediction may be
    paired several times); ``Σ I / (Σ U + |unpaired gt| + |unused pred|)`` over the pairs (sizes summed). NaN
    with no instance at all; 0 when one side is empty."""
    if ov.n_gt + ov.n_pred == 0:
        return math.nan
    scores = ov.score("iou", epsilon)
    order = np.lexsort((ov.pred, -scores, ov.gt))  # per gt: best score, then lower pred id
    first = order[np.r_[True, ov.gt[order][1:] != ov.gt[order][:-1]]] if order.size else order
    inter = float(ov.inter[first].sum())
    union = float(ov.union()[first].sum())
    paired_gt = np.zeros(ov.n_gt + 1, bool)
    paired_gt[ov.gt[first]] = True
    used_pred = np.zeros(ov.n_pred + 1, bool)
    used_pred[ov.pred[first]] = True
    union += float(ov.gt_sizes[~paired_gt[1:]].sum() + ov.pred_sizes[~used_pred[1:]].sum())
    return inter / union


def aji_plus(ov: Overlaps, epsilon: float = 0.0) -> float:
    """AJI+ (Graham et al. 2019; HoVer-Net ``get_fast_aji_plus``): as :func:`aji` with the one-to-one pairing of
    maximum total ``I / (U + epsilon)`` (``linear_sum_assignment`` of the dense matrix; pairs without overlap
    dropped)."""
    if ov.n_gt + ov.n_pred == 0:
        return math.nan
    scores = ov.score("iou", epsilon)
    g, p = _linear_assignment(ov.n_gt, ov.n_pred, ov.gt, ov.pred, -scores, 0.0)
    pairs = _pair_index(ov, g, p)
    pairs = pairs[pairs >= 0]
    inter = float(ov.inter[pairs].sum())
    union = float(ov.union()[pairs].sum())
    paired_gt = np.zeros(ov.n_gt + 1, bool)
    paired_gt[ov.gt[pairs]] = True
    used_pred = np.zeros(ov.n_pred + 1, bool)
    used_pred[ov.pred[pairs]] = True
    union += float(ov.gt_sizes[~paired_gt[1:]].sum() + ov.pred_sizes[~used_pred[1:]].sum())
    return inter / union


# --------------------------------------------------------------------------------------------------------------
# Conventions
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Convention:
    """How one reference defines instances, matching and the instance values."""

    name: str
    #: connectivity rank of the components in 2D and in 3D (and above)
    rank_2d: int
    rank_3d: int | None  # None: the full neighbourhood (ndim)
    matcher: Matcher
    strict: bool
    hungarian_rule: HungarianRule
    boundary_rule: BoundaryRule
    sq_epsilon: float
    aji_epsilon: float
    values: tuple[str, ...]
    reference: str

    def rank(self, ndim: int) -> int:
        """The connectivity rank of components of ``ndim``-D masks."""
        return self.rank_2d if ndim == 2 else (self.rank_3d or ndim)

    def matcher_for(self, threshold: float) -> tuple[Matcher, HungarianRule]:
        """HoVer-Net's ``get_fast_pq`` takes every pair with IoU > T when T >= 0.5 (those pairs are unique: the
        greedy matcher finds exactly them) and the Hungarian rule "after" below 0.5; the others their default."""
        if self.name == "hovernet":
            return ("greedy", "exclude") if threshold >= 0.5 else ("hungarian", "after")
        return self.matcher, self.hungarian_rule


_PQ_VALUES = ("inst_tp", "inst_fp", "inst_fn", "inst_precision", "inst_recall", "rq", "sq", "pq", "sq_dice",
              "pq_dice", *BOUNDARY_VALUES)
CONVENTIONS: dict[str, Convention] = {
    "lossctl": Convention("lossctl", 2, None, "greedy", True, "exclude", "lossctl", 0.0, 0.0, INSTANCE_VALUES,
                          "lossctl's own: full-neighbourhood components, greedy matching at IoU > 0.5 (COCO panoptic's "
                          "rule), COCO's empty cases, lossctl's boundary metrics"),
    "panoptica": Convention("panoptica", 1, None, "greedy", False, "exclude", "panoptica", 0.0, 0.0, _PQ_VALUES,
                            "panoptica 2.1.7: scipy.ndimage.label (4-connectivity) in 2D, cc3d 26-connectivity in 3D; "
                            "NaiveThresholdMatching / MaxBipartiteMatching / MaximizeMergeMatching at IoU >= 0.5; "
                            "its zero-TP edge-case table; its HD95, ASSD and NSD"),
    "hovernet": Convention("hovernet", 2, None, "greedy", True, "after", "lossctl", 1e-6, 1e-6,
                           ("inst_tp", "inst_fp", "inst_fn", "rq", "sq", "pq", "aji", "aji_plus"),
                           "HoVer-Net metrics/stats_utils.py: get_fast_pq (unique pairs with IoU > 0.5; Hungarian "
                           "below 0.5; sq = Σ IoU / (tp + 1e-6)), get_fast_aji, get_fast_aji_plus"),
}


def convention_evaluate(gt: InstanceMap, pred: InstanceMap, convention: str = "lossctl", *,
                        matcher: Matcher | None = None, metric: Score = "iou", threshold: float = 0.5,
                        strict: bool | None = None, boundary_metrics: Sequence[str] = (),
                        spacing: Sequence[float] | None = None, tolerance: float | None = None) -> Evaluation:
    """:func:`evaluate` with the defaults of ``convention`` (an explicit ``matcher`` or ``strict`` wins)."""
    rule = CONVENTIONS[convention]
    default_matcher, hungarian_rule = rule.matcher_for(threshold)
    return evaluate(gt, pred, matcher=matcher or default_matcher, metric=metric, threshold=threshold,
                    strict=rule.strict if strict is None else strict, hungarian_rule=hungarian_rule,
                    boundary_metrics=boundary_metrics, spacing=spacing, boundary_rule=rule.boundary_rule,
                    tolerance=tolerance)


def convention_values(ev: Evaluation, convention: str = "lossctl",
                      names: Sequence[str] | None = None) -> dict[str, float]:
    """:func:`instance_values` under ``convention``: its values (all of them by default) and its epsilons."""
    rule = CONVENTIONS[convention]
    names = rule.values if names is None else names
    missing = [n for n in names if n not in rule.values]
    if missing:
        raise ValueError(f"{', '.join(missing)} not defined under the {convention} convention")
    return instance_values(ev, names, sq_epsilon=rule.sq_epsilon, aji_epsilon=rule.aji_epsilon)


# --------------------------------------------------------------------------------------------------------------
# The registry's rows: each value under each convention that defines it
# --------------------------------------------------------------------------------------------------------------

#: What each value is, whatever the convention (the convention's matching rule follows it in the definitions).
DEFINITIONS = {
    "inst_tp": "matched ground-truth instances (tp)", "inst_fp": "unmatched predicted instances (fp)",
    "inst_fn": "unmatched ground-truth instances (fn)", "inst_precision": "tp / (tp + fp)",
    "inst_recall": "tp / (tp + fn)", "rq": "tp / (tp + fp/2 + fn/2), the F1 of detection",
    "sq": "mean IoU of the matched pairs", "pq": "sq x rq", "sq_dice": "mean Dice of the matched pairs",
    "pq_dice": "sq_dice x rq", "sq_hd95": "mean HD95 of the matched pairs (physical units)",
    "sq_assd": "mean ASSD of the matched pairs (physical units)", "sq_nsd": "mean NSD of the matched pairs",
    "aji": "Aggregated Jaccard Index: each gt with its best-IoU prediction (reusable), sum I / (sum U + unused)",
    "aji_plus": "AJI+: AJI with the one-to-one pairing of maximum total IoU",
}
_MATCHING = {
    "lossctl": "greedy one-to-one at IoU > 0.5 (COCO); full-neighbourhood components",
    "panoptica": "greedy one-to-one at IoU >= 0.5 (panoptica); 4-connectivity in 2D, 26 in 3D",
    "hovernet": "unique pairs at IoU > 0.5 (get_fast_pq); 8-connectivity in 2D",
}
_SUFFIX = {("hovernet", "sq"): "; sum IoU / (tp + 1e-6)", ("panoptica", "sq_hd95"): "; pooled-distance percentile",
           ("panoptica", "sq_assd"): "; mean of the directed means",
           ("panoptica", "sq_nsd"): "; mean of the directed fractions, tolerance min(spacing)"}


def _value(name: str, convention: str) -> Any:
    def fn(ev: Evaluation, **_params: Any) -> float:
        return convention_values(ev, convention, (name,))[name]
    return fn


#: value -> {convention: Impl}; ``Impl.fn(ev: Evaluation) -> float`` (the engine builds the evaluation with the
#: convention's components and matching, :func:`convention_evaluate`).
TABLE: dict[str, dict[str, Impl]] = {
    name: {c: Impl(_value(name, c), f"{DEFINITIONS[name]}; {_MATCHING[c]}{_SUFFIX.get((c, name), '')}",
                   rule.reference.split(":")[0], inputs=frozenset({"labels", "probs", "logits"}))
           for c, rule in CONVENTIONS.items() if name in rule.values}
    for name in INSTANCE_VALUES
}


__all__ = ["BOUNDARY_RULES", "DEFINITIONS", "TABLE", "BOUNDARY_VALUES", "CONVENTIONS", "INSTANCE_VALUES", "MATCHERS", "Convention",
           "Evaluation", "InstanceMap", "Matching", "Overlaps", "aji", "aji_plus", "connected_components",
           "connectivity_rank", "convention_evaluate", "convention_values", "evaluate", "instance_rows",
           "instance_values", "match", "overlap_table", "pair_boundary", "pooled_values", "recall_by_size", "relabel"]
