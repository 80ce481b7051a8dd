"""Voxel geometry of a prediction/ground-truth pair: which spacing the boundary metrics use, and when two
volumes do not lie on one grid.

Rules (docs/volumes.md, "Formats and geometry"):

* the spacing is the one given (``spacing``, the CLI's ``--spacing``: it overrides the headers), else the
  ground truth's header spacing, else the prediction's (a label volume of the same rank), else 1.0 per axis,
  which the report says (its ``spacing_source``: ``"given"``, ``"header"`` or ``"default"``);
* when both files carry geometry, their shape, spacing (relative tolerance :data:`SPACING_RTOL`, NIfTI stores
  float32) and, for two files of one format, the direction of each axis (absolute tolerance
  :data:`DIRECTION_ATOL`) must agree, else the pair is an input error naming both files. A probability map
  (one more axis than the ground truth) is compared by its spatial shape only;
* floating-point ground-truth volumes whose values are all non-negative integers are read as labels (with a
  note), in the narrowest unsigned type that holds them; any other value is refused;
* the prediction's axes (:func:`orient_prediction`) are put in the ground truth's order when asked
  (``pred_axes``: ``"reversed"``, its spatial axes reversed, or a permutation of its axes), or when both files
  say their order and the orders differ (a MetaImage, read (z, y, x) as SimpleITK reads it, against a NIfTI or
  NRRD, read (x, y, z)); never from the shapes alone;
* with ``geometry="gt"`` a prediction whose header is an identity (no geometry of its own: spacing 1, identity
  directions, origin 0) takes the ground truth's header (:func:`take_gt_header`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from lossctl.errors import InputError, setting

#: Formats that carry voxel geometry.
VOLUME_FORMATS = ("nifti", "nrrd", "metaimage")
#: The order in which each volume format's reader gives the spatial axes (nibabel and pynrrd: x first; our
#: MetaImage reader, as SimpleITK's GetArrayFromImage: z first).
AXIS_ORDER = {"nifti": "x, y, z", "nrrd": "x, y, z", "metaimage": "z, y, x"}
_TITLE = {"nifti": "NIfTI", "nrrd": "NRRD", "metaimage": "MetaImage"}
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
    # a header that says nothing (an identity affine) is no geometry: the fix is to take the ground truth's
    header_fix = (f"the prediction's header is an identity affine (no geometry of its own): pass "
                  f"{setting('geometry', 'gt')} to take the ground truth's header, or {fix}"
                  if is_identity_header(pred) else None)
    if len(shape_p) == len(shape_g) + 1:  # a probability map: compare the spatial part only
        if shape_p[1:] != shape_g:
            return (f"{pred.path}: its spatial shape {shape_p[1:]} does not match the ground truth {gt.path} "
                    f"{shape_g}; {_reversed_hint(shape_p[1:], shape_g) or fix}")
        return None
    if shape_p != shape_g:
        return (f"{pred.path}: its shape {shape_p} does not match the ground truth {gt.path} {shape_g}; "
                f"{_reversed_hint(shape_p, shape_g) or fix}")
    if override is None and (len(pred.spacing) != len(gt.spacing) or not np.allclose(
            pred.spacing, gt.spacing, rtol=SPACING_RTOL, atol=0.0)):
        return (f"{pred.path}: its voxel spacing ({_text(pred.spacing)}) does not match the ground truth "
                f"{gt.path} ({_text(gt.spacing)}); "
                f"{header_fix or fix + ', or pass ' + setting('spacing') + ' to override both headers'}")
    if pred.format == gt.format and pred.direction is not None and gt.direction is not None:
        a, b = np.asarray(pred.direction), np.asarray(gt.direction)
        if a.shape != b.shape or np.max(np.abs(a - b)) > DIRECTION_ATOL:
            return (f"{pred.path}: its orientation (axis directions {a.round(4).tolist()}) does not match the "
                    f"ground truth {gt.path} ({b.round(4).tolist()}); {header_fix or fix}")
    return None


def _reversed_hint(shape: tuple[int, ...], spatial: tuple[int, ...]) -> str:
    """The fix for a prediction whose spatial shape is the ground truth's reversed (a hint: a cube cannot tell)."""
    if len(spatial) >= 2 and tuple(reversed(shape)) == spatial:
        return (f"its axes look reversed ((z, y, x), as SimpleITK and nnU-Net's .npz order them, against "
                f"nibabel's (x, y, z)?): pass {setting('pred_axes', 'reversed')}")
    return ""


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


def spatial_permutation(ndim: int, spatial_ndim: int, channels_last: bool) -> tuple[int, ...]:
    """The permutation of an array of ``ndim`` axes that reverses its ``spatial_ndim`` spatial axes: the last
    ones, or those before a trailing channel axis (``channels_last``, when it has more axes than that)."""
    axes = list(range(ndim))
    n = min(spatial_ndim, ndim)
    end = ndim - 1 if channels_last and ndim > spatial_ndim else ndim
    axes[end - n:end] = reversed(axes[end - n:end])
    return tuple(axes)


def orient_prediction(pred: Any, array: np.ndarray, gt: Any, spatial_ndim: int,
                      pred_axes: str | tuple[int, ...] | None, channels_last: bool, notes: list[str]) -> Any:
    """The loaded prediction (:class:`lossctl.io.Loaded`) holding ``array`` with its axes in the ground truth's
    order: ``pred_axes`` ``"reversed"`` reverses its spatial axes (:func:`spatial_permutation`), a tuple is a
    permutation of all its axes (``numpy.transpose``); without ``pred_axes``, the spatial axes are reversed
    (with a note) only when both files are volumes whose readers order their axes oppositely
    (:data:`AXIS_ORDER`). A permutation that does not fit the array is an :class:`InputError` about the
    prediction. The spacing and directions of a label volume follow its axes."""
    if pred_axes is None:
        mine, theirs = AXIS_ORDER.get(pred.format), AXIS_ORDER.get(gt.format)
        if mine is None or theirs is None or mine == theirs:
            return replace(pred, array=array)
        perm = spatial_permutation(array.ndim, spatial_ndim, channels_last)
        notes.append(f"the prediction is a {_TITLE[pred.format]} file, read ({mine}), and the ground truth a "
                     f"{_TITLE[gt.format]} file, read ({theirs}): the prediction's axes were reversed to match")
    elif pred_axes == "reversed":
        perm = spatial_permutation(array.ndim, spatial_ndim, channels_last)
    else:
        perm = tuple(pred_axes)
        if sorted(perm) != list(range(array.ndim)):
            given = ",".join(map(str, perm))
            raise InputError(f"{pred.path}: {setting('pred_axes', given)} is not a permutation of the prediction's "
                             f"{array.ndim} axes (shape {tuple(array.shape)}); give each of 0..{array.ndim - 1} "
                             f"once, or {setting('pred_axes', 'reversed')}")
    spacing, direction = pred.spacing, pred.direction
    if spacing is not None and len(spacing) == array.ndim:  # a label volume: its geometry follows its axes
        spacing = tuple(spacing[i] for i in perm)
        if direction is not None and len(direction) == array.ndim:
            direction = tuple(direction[i] for i in perm)
    return replace(pred, array=array.transpose(perm), spacing=spacing, direction=direction)


def is_identity_header(loaded: Any) -> bool:
    """The volume's header says nothing of its geometry: spacing 1 on every axis, the axes along the world's
    (nibabel's ``np.eye(4)``, or an ITK default image written as NIfTI: directions diag(-1, -1, 1)) and the origin
    at 0 (when the header has one)."""
    if loaded.spacing is None or loaded.direction is None:
        return False
    if not np.allclose(loaded.spacing, 1.0, rtol=0.0, atol=SPACING_RTOL):
        return False
    d = np.abs(np.asarray(loaded.direction, dtype=np.float64))  # ITK's default is -x, -y in NIfTI's RAS frame
    if d.shape[0] != d.shape[1] or np.max(np.abs(d - np.eye(d.shape[0]))) > DIRECTION_ATOL:
        return False
    signs = np.sign(np.diag(np.asarray(loaded.direction, dtype=np.float64)))
    itk_default = loaded.format == "nifti" and list(signs) == [-1.0, -1.0, 1.0]
    if not (np.all(signs > 0) or itk_default):
        return False
    origin = getattr(loaded, "origin", None)
    return origin is None or np.allclose(origin, 0.0, rtol=0.0, atol=DIRECTION_ATOL)


def take_gt_header(pred: Any, gt: Any, notes: list[str]) -> Any:
    """``geometry="gt"``: a prediction whose header is an identity (:func:`is_identity_header`) beside a ground
    truth with a header takes the ground truth's spacing and directions, with a note; else ``pred`` itself."""
    if gt.spacing is None or not is_identity_header(pred) or is_identity_header(gt):
        return pred
    notes.append(f"the prediction's header is an identity affine (no geometry of its own): it takes the ground "
                 f"truth's header ({setting('geometry', 'gt')})")
    return replace(pred, spacing=gt.spacing if pred.array.ndim == gt.array.ndim else pred.spacing,
                   direction=gt.direction, origin=getattr(gt, "origin", None))


__all__ = ["AXIS_ORDER", "DIRECTION_ATOL", "SPACING_RTOL", "VOLUME_FORMATS", "check_pair", "float_labels",
           "is_identity_header", "orient_prediction", "resolve_spacing", "spatial_permutation", "take_gt_header"]
