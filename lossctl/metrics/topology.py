r"""Topology and boundary overlap of label maps: clDice and Boundary IoU, per class or region.

For one class (or a region, a union of labels) there are two binary masks, P (prediction) and R (ground truth).

* ``cldice`` (Shit et al., CVPR 2021; reference code jocpae/clDice, ``cldice_metric/cldice.py``): with S(M) the
  skeleton of M from scikit-image's ``skeletonize`` (Zhang's thinning in 2D, Lee's in 3D, as the reference code),
  the topology precision ``Tprec = |S(P) ∩ R| / |S(P)|``, the topology sensitivity ``Tsens = |S(R) ∩ P| / |S(R)|``
  and ``clDice = 2 Tprec Tsens / (Tprec + Tsens)``. Spacing plays no part.
* ``boundary_iou`` (Cheng et al., CVPR 2021; bowenc0221/boundary-iou-api, ``mask_to_boundary``): with B(M) the
  inner band of M, ``|B(P) ∩ B(R)| / |B(P) ∪ B(R)|``. Spacing plays no part: the band is counted in pixels.

Conventions (:data:`DEFINITIONS`):

* ``lossctl`` (default): cldice as above, 0 when exactly one mask is empty or when no skeleton pixel lies in the
  other mask (Tprec = Tsens = 0, where the reference code divides 0 by 0). The band of boundary_iou is the
  official API's: ``B(M) = M minus M eroded d times by the 3x3 square`` with a zero border (pixels outside the
  image are background, so a mask cut by the image edge has boundary there), ``d = max(1, round(ratio x
  diagonal))``, the diagonal ``sqrt(Σ n_i²)`` in pixels and ratio = ``dilation_ratio`` (0.02, the paper's). In
  3D (which the API does not cover) the erosion is by the 3x3x3 cube and the diagonal the voxel diagonal.
* ``metricsreloaded`` (Project-MONAI/MetricsReloaded, ``BinaryPairwiseMeasures``): ``centreline_dsc`` is the
  same clDice, but it is NaN (reported undefined) whenever a skeleton is empty or Tprec + Tsens = 0:
  one mask empty, masks apart (its both-empty guard compares a method with 0 and never fires).
  ``boundary_iou`` uses its one-voxel border ``M - binary_erosion(M)`` (face connectivity, zero border: its
  ``boundary_dist`` of 1 keeps the border pixels only).

Under both conventions a class absent from both masks is undefined (``both_empty``: the run's ``empty``
value; MetricsReloaded itself returns NaN for clDice and 1 for Boundary IoU). A non-empty mask whose skeleton
vanishes (Lee's 3D thinning deletes a 2x2x2 cube) leaves Tprec or Tsens 0/0: clDice is then undefined.

Speed without approximation: each entry is cropped to the bounding box of P ∪ R (one
``scipy.ndimage.find_objects`` pass per label map). Outside that box both masks are background, as they are
beyond the image's edge under the zero border, so the erosions (``scipy.ndimage.minimum_filter`` with a
(2d+1)-wide box, which equals d erosions by the 3x3 square) and the skeletons (thinning reads only 3x3(x3)
neighbourhoods and treats beyond the array as background) are the same bits as on the whole image; d comes from
the whole image's diagonal.

>>> p = np.zeros((8, 8), np.uint8); p[2:6, 1:7] = 1
>>> topology_metrics(p, p, [(1,)], ("cldice", "boundary_iou"))
{'cldice': array([1.]), 'boundary_iou': array([1.])}
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lossctl.convention import Impl, Param
from lossctl.metrics.boundary import class_boxes, class_mask, union_box, voxel_surface

TOPOLOGY_METRICS = ("cldice", "boundary_iou")
"""The topology and boundary-overlap metrics, in catalogue order (both: higher is better, in [0, 1])."""

#: metric -> convention -> its one-line definition (the registry rows, ``lossctl losses NAME``).
DEFINITIONS: dict[str, dict[str, str]] = {
    "cldice": {
        "lossctl": "2 Tprec Tsens / (Tprec + Tsens), Tprec = |S(P) ∩ R| / |S(P)|, Tsens = |S(R) ∩ P| / |S(R)|, "
                   "S = skimage skeletonize (Zhang 2D, Lee 3D); one mask empty: 0; no overlap: 0",
        "metricsreloaded": "centreline_dsc: the same skeletons and ratios; NaN in MetricsReloaded (an empty mask "
                           "or skeleton, no overlap) is undefined here",
    },
    "boundary_iou": {
        "lossctl": "IoU of the inner bands M minus M eroded d times by the 3x3 (3D: 3x3x3) square, zero border, "
                   "d = max(1, round(dilation_ratio x image diagonal in pixels))",
        "metricsreloaded": "boundary_iou: IoU of the one-voxel borders M - binary_erosion(M) (face connectivity, "
                           "zero border)",
    },
}
_REFERENCES = {
    "cldice": {"lossctl": "jocpae/clDice cldice_metric/cldice.py clDice (skimage skeletonize)",
               "metricsreloaded": "MetricsReloaded BinaryPairwiseMeasures.centreline_dsc"},
    "boundary_iou": {"lossctl": "boundary-iou-api boundary_iou/utils/boundary_utils.py mask_to_boundary",
                     "metricsreloaded": "MetricsReloaded BinaryPairwiseMeasures.boundary_iou"},
}
_DILATION_RATIO = Param("dilation_ratio", 0.02, "the band width d = max(1, round(ratio x image diagonal in "
                        "pixels)); 0.02 as the paper and its API", bounds=(0.0, 1.0))


# --------------------------------------------------------------------------------------------------------------
# Skeletons and bands of one mask
# --------------------------------------------------------------------------------------------------------------


def skeleton(mask: np.ndarray) -> np.ndarray:
    """The skeleton of a 2D or 3D bool mask: scikit-image's ``skeletonize`` (Zhang's thinning in 2D, Lee's in
    3D). A :class:`ValueError` for another rank."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim not in (2, 3):
        raise ValueError(f"skeletons exist in 2D and 3D only, not {mask.ndim}D")
    from skimage.morphology import skeletonize

    return skeletonize(mask)


def band_width(shape: Sequence[int], dilation_ratio: float) -> int:
    """``d = max(1, round(dilation_ratio x sqrt(Σ n_i²)))``, the band width of an image of ``shape`` in pixels
    (Python's ``round``, halves to even, as the API's ``int(round(...))``).

    >>> band_width((512, 512), 0.02), band_width((10, 10), 0.02)
    (14, 1)
    """
    diagonal = math.sqrt(sum(int(n) ** 2 for n in shape))
    return max(1, int(round(dilation_ratio * diagonal)))


def inner_band(mask: np.ndarray, width: int) -> np.ndarray:
    """``mask`` minus its erosion by the 3x3(x3) square repeated ``width`` times with a zero border: the
    elements of ``mask`` within Chebyshev distance ``width`` of the background or of the array's edge (one
    minimum filter of side ``2 width + 1``, separable, whatever the width)."""
    from scipy import ndimage

    mask = np.asarray(mask, dtype=bool)
    eroded = ndimage.minimum_filter(mask.view(np.uint8), size=2 * width + 1, mode="constant", cval=0)
    return mask & (eroded == 0)


# --------------------------------------------------------------------------------------------------------------
# One pair of non-empty masks
# --------------------------------------------------------------------------------------------------------------


def centreline_dice(pred: np.ndarray, gt: np.ndarray, convention: str = "lossctl") -> float:
    """clDice of two non-empty bool masks of one shape (NaN: undefined, see the module docstring)."""
    skel_pred, skel_gt = skeleton(pred), skeleton(gt)
    n_pred, n_gt = np.count_nonzero(skel_pred), np.count_nonzero(skel_gt)
    if n_pred == 0 or n_gt == 0:  # a vanished skeleton: Tprec or Tsens is 0/0
        return math.nan
    precision = np.count_nonzero(skel_pred & gt) / n_pred
    sensitivity = np.count_nonzero(skel_gt & pred) / n_gt
    if precision + sensitivity == 0:
        return 0.0 if convention == "lossctl" else math.nan
    return float(2 * sensitivity * precision / (sensitivity + precision))


def band_iou(pred_band: np.ndarray, gt_band: np.ndarray) -> float:
    """``|A ∩ B| / |A ∪ B|`` of two bool bands, not both empty."""
    return float(np.count_nonzero(pred_band & gt_band) / np.count_nonzero(pred_band | gt_band))


# --------------------------------------------------------------------------------------------------------------
# Label maps
# --------------------------------------------------------------------------------------------------------------


def topology_metrics(pred: np.ndarray, gt: np.ndarray, classes: Sequence[Sequence[int]], metrics: Sequence[str],
                     *, convention: str = "lossctl", dilation_ratio: float = 0.02,
                     both_empty: float = math.nan) -> dict[str, np.ndarray]:
    """clDice and Boundary IoU of two integer label maps of one shape, for each entry of ``classes``.

    Parameters
    ----------
    pred, gt : numpy.ndarray
        Label maps (non-negative integers), 2D or 3D.
    classes : sequence of label tuples
        ``(c,)`` for class ``c``, ``(l1, l2, ...)`` for the union of those labels (a region).
    metrics : names from :data:`TOPOLOGY_METRICS`.
    convention : ``"lossctl"`` or ``"metricsreloaded"`` (see the module docstring).
    dilation_ratio : the band width's fraction of the image diagonal (``boundary_iou`` under ``lossctl``).
    both_empty : the value when neither mask holds the entry (NaN: undefined).

    Returns
    -------
    dict
        metric -> (len(classes),) float64 (NaN: undefined).
    """
    pred, gt = np.asarray(pred), np.asarray(gt)
    if pred.shape != gt.shape:
        raise ValueError(f"pred {pred.shape} and gt {gt.shape} differ in shape")
    if convention not in DEFINITIONS["cldice"]:
        raise ValueError(f"unknown convention {convention!r} for the topology metrics")
    for m in metrics:
        if m not in TOPOLOGY_METRICS:
            raise ValueError(f"unknown topology metric {m!r}")
    if "cldice" in metrics and gt.ndim not in (2, 3):
        raise ValueError(f"cldice needs 2D or 3D images (skeletons), not {gt.ndim}D")
    width = band_width(gt.shape, dilation_ratio)
    out = {m: np.full(len(classes), np.nan) for m in metrics}
    for k, labels, box_a, box_b in class_boxes(pred, gt, classes):
        if box_a is None and box_b is None:
            for m in metrics:
                out[m][k] = both_empty
            continue
        if box_a is None or box_b is None:  # no overlap of anything: the band IoU is 0, clDice by convention
            for m in metrics:
                out[m][k] = math.nan if m == "cldice" and convention == "metricsreloaded" else 0.0
            continue
        box = union_box([box_a, box_b])
        a, b = class_mask(pred[box], labels), class_mask(gt[box], labels)
        if "cldice" in metrics:
            out["cldice"][k] = centreline_dice(a, b, convention)
        if "boundary_iou" in metrics:
            if convention == "lossctl":
                out["boundary_iou"][k] = band_iou(inner_band(a, width), inner_band(b, width))
            else:
                out["boundary_iou"][k] = band_iou(voxel_surface(a), voxel_surface(b))
    return out


def _metric(name: str, convention: str) -> Any:
    def compute(pred: np.ndarray, gt: np.ndarray, classes: Sequence[Sequence[int]], **options: Any) -> np.ndarray:
        """One topology metric under one convention (the engine computes several from one pass instead)."""
        return topology_metrics(pred, gt, classes, [name], convention=convention, **options)[name]
    compute.__name__ = f"{convention}_{name}"
    return compute


#: The registry's convention tables: metric -> {convention: Impl}. ``fn(pred_labels, gt_labels, classes,
#: both_empty=..., [dilation_ratio=...])`` returns one value per entry of ``classes``.
TABLE: dict[str, dict[str, Impl]] = {
    name: {c: Impl(_metric(name, c), definition, _REFERENCES[name][c],
                   (_DILATION_RATIO,) if name == "boundary_iou" and c == "lossctl" else (),
                   inputs=frozenset({"labels", "probs", "logits"}))
           for c, definition in DEFINITIONS[name].items()}
    for name in TOPOLOGY_METRICS
}


__all__ = ["TOPOLOGY_METRICS", "DEFINITIONS", "TABLE", "band_iou", "band_width", "centreline_dice", "inner_band",
           "skeleton", "topology_metrics"]
