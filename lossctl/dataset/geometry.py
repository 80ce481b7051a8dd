"""Voxel geometry of a prediction/ground-truth pair: which spacing the boundary metrics use, and when two
volumes do not lie on one grid.

Rules (README, "Volumes"):

* the spacing is the one given (``spacing``, the CLI's ``--spacing``: it overrides the headers), else the
  ground truth's header spacing, else the prediction's (a label volume of the same rank), else 1.0 per axis,
  which the report says (its ``spacing_source``: ``"given"``, ``"header"`` or ``"default"``);
* when both files carry geometry, their shape, spacing (relative tolerance :data:`SPACING_RTOL`, NIfTI stores
  float32) and, for two files of one format, the direction of each axis (absolute tolerance
  :data:`DIRECTION_ATOL`) must agree, else the pair is an input error naming both files. A probability map
  (one more axis than the ground truth) is compared by its spatial shape only;
* floating-point ground-truth volumes whose values are all non-negative integers are read as labels (with a
  note), in the narrowest unsigned type that holds them; any other value is refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lossctl.errors import InputError, setting

#: Formats that carry voxel geometry.
VOLUME_FORMATS = ("nifti", "nrrd", "metaimage")
SPACING_RTOL = 1e-5
DIRECTION_ATOL = 1e-4


def _text(values: Any) -> str:
    return ", ".join(f"{float(v):.6g}" for v in values)


def check_pair(pred: Any, gt: Any, override: tuple[float, ...] | None) -> str | None:
    """The one-line message when two loaded volumes (:class:`lossctl.io.Loaded`) do not share a grid, else
    None. The message is about the prediction and names the ground truth."""
    if pred.spacing is None or gt.spacing is None:
        return None
    shape_p, shape_g = tuple(pred.array.shape), tuple(gt.array.shape)
    fix = "resample the prediction onto the ground truth's grid (same size, spacing and orientation)"
    if len(shape_p) == len(shape_g) + 1:  # a probability map: compare the spatial part only
        if shape_p[1:] != shape_g:
            return (f"{pred.path}: its spatial shape {shape_p[1:]} does not match the ground truth {gt.path} "
                    f"{shape_g}; {fix}")
        return None
    if shape_p != shape_g:
        return f"{pred.path}: its shape {shape_p} does not match the ground truth {gt.path} {shape_g}; {fix}"
    if override is None and (len(pred.spacing) != len(gt.spacing) or not np.allclose(
            pred.spacing, gt.spacing, rtol=SPACING_RTOL, atol=0.0)):
        return (f"{pred.path}: its voxel spacing ({_text(pred.spacing)}) does not match the ground truth "
                f"{gt.path} ({_text(gt.spacing)}); {fix}, or pass {setting('spacing')} to override both headers")
    if pred.format == gt.format and pred.direction is not None and gt.direction is not None:
        a, b = np.asarray(pred.direction), np.asarray(gt.direction)
        if a.shape != b.shape or np.max(np.abs(a - b)) > DIRECTION_ATOL:
            return (f"{pred.path}: its orientation (axis directions {a.round(4).tolist()}) does not match the "
                    f"ground truth {gt.path} ({b.round(4).tolist()}); {fix}")
    return None


def resolve_spacing(pred: Any, gt: Any, ndim: int, override: tuple[float, ...] | None
                    ) -> tuple[tuple[float, ...], str]:
    """(spacing, source) for a ground truth of ``ndim`` spatial axes; source is "given" (``override``, the
    spacing given for the run), "header" or "default". An ``override`` of the wrong length is an
    :class:`InputError` (about the ground truth)."""
    if override is not None:
        if len(override) != ndim:
            raise InputError(f"{setting('spacing')} gives {len(override)} values but the ground truth has {ndim} "
                             f"axes; give {ndim} values (one per array axis)")
        return tuple(override), "given"
    for loaded in (gt, pred):
        if loaded.spacing is not None and loaded.array.ndim == ndim and len(loaded.spacing) == ndim:
            return tuple(float(s) for s in loaded.spacing), "header"
    return (1.0,) * ndim, "default"


def float_labels(array: np.ndarray, notes: list[str]) -> np.ndarray:
    """A floating-point label volume as integer labels (narrowest unsigned type), or an :class:`InputError`
    when a value is not a non-negative integer."""
    values = np.asarray(array)
    finite = np.isfinite(values)
    if not finite.all():
        raise InputError(f"the ground truth holds {int((~finite).sum())} NaN or infinite value(s); a label "
                         "volume must hold class numbers; fix the export")
    rounded = np.round(values)
    bad = (rounded != values) | (values < 0)
    if bad.any():
        example = float(values[bad].flat[0])
        raise InputError(f"the ground truth is a {values.dtype} volume with {int(bad.sum())} non-integral or "
                         f"negative value(s) (e.g. {example:g}), so it is not a label map; save the labels as "
                         "integers (a probability map belongs on the prediction side)")
    top = int(values.max()) if values.size else 0
    dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if top <= np.iinfo(t).max)
    notes.append(f"ground truth is a {values.dtype} volume with integral values: read as {np.dtype(dtype).name} "
                 "labels")
    return values.astype(dtype)


__all__ = ["DIRECTION_ATOL", "SPACING_RTOL", "VOLUME_FORMATS", "check_pair", "float_labels", "resolve_spacing"]
