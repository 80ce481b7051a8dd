"""The pictures of a report: what the HTML report shows that the document does not hold, made in one rendering
step that reads the pairs again through the engine's one loader. The writer (:mod:`lossctl.report.html`) gets
images, never paths, and only places them.

:func:`make_pictures` returns :class:`Pictures`:

* **error overlays** of the worst images of a ``seg`` document (ranked by
  :func:`lossctl.engine.document.worst_rows`, as every writer ranks them), as PNG files' bytes. An overlay is
  drawn over the ground truth (classes as shades of grey) from labels recomputed by reading the pair again
  exactly as evaluation reads it (:func:`lossctl.engine.loading.load_pair`, then :func:`lossctl.inputs.seg.prepare`
  with the run's options). Per pixel, class 0 counting as background:

  * true positive (``pred == gt``, gt not 0): bluish green; false positive (gt 0, pred not 0): vermillion;
    false negative (gt not 0, pred 0): blue; wrong class (both not 0, different): yellow; ignored: black.
    (Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.)
  * For a volume, the slice (along the first axis) with the most wrong pixels is shown.

  A pair that cannot be read again has no overlay, and the reason instead.
* **per-image deltas** of a ``compare`` document (``new - base`` over the images in both reports, per value),
  for its histograms.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lossctl.engine.compare import PairedValues
from lossctl.engine.document import Document, ranked_value, spec, worst_rows
from lossctl.errors import InputError, LossctlError

COLOURS = {"tp": (0, 158, 115), "fp": (213, 94, 0), "fn": (0, 114, 178), "wrong": (240, 228, 66),
           "ignored": (0, 0, 0)}
LEGEND = {"tp": "true positive", "fp": "false positive (background predicted as a class)",
          "fn": "false negative (a class predicted as background)", "wrong": "wrong class", "ignored": "ignored"}
#: Weight of an outcome's colour over the grey of the ground truth.
_BLEND = 0.7


@dataclass(frozen=True)
class Overlay:
    """The error overlay of one of the worst rows (``png``: RGB, the image's own size), or why there is none
    (``problem``). For a volume, ``slice`` is the slice shown of its ``slices``."""

    row: dict[str, Any]
    png: bytes | None = None
    slice: int | None = None
    slices: int | None = None
    problem: str | None = None


@dataclass(frozen=True)
class Pictures:
    """The pictures of one report: the worst rows' overlays (in rank order), the per-image deltas of a compare
    document, and what each overlay colour means (``legend``: RGB and meaning)."""

    overlays: list[Overlay] = field(default_factory=list)
    deltas: dict[str, np.ndarray] | None = None  # None: not a comparison of two reports given
    legend: tuple[tuple[tuple[int, int, int], str], ...] = tuple((COLOURS[k], LEGEND[k]) for k in COLOURS)


def make_pictures(document: Document, worst: int, config: Any = None,
                  compared: tuple[Document, Document] | None = None) -> Pictures:
    """The pictures of ``document``: overlays of its ``worst`` worst rows (a seg document; ``config``: the run's
    :class:`~lossctl.engine.seg.SegConfig`, else rebuilt from the document's options), the per-image deltas of a
    compare document (``compared``: its two reports)."""
    if document["command"] == "compare":
        return Pictures(deltas=per_image_deltas(document, compared) if compared is not None else None)
    by = ranked_value(document)
    if document["command"] != "seg" or by is None or worst <= 0:
        return Pictures()
    config = _seg_config(document, config)
    return Pictures(overlays=[_overlay(row, config) for row in worst_rows(document, worst, by)])


def per_image_deltas(document: Document, compared: tuple[Document, Document]) -> dict[str, np.ndarray]:
    """Per value of a compare document (not per class; known to the registry): ``new - base`` over the images
    in both reports where both are defined (paired as the document says, ``config.match``); a value with no such
    image is left out."""
    pairing = PairedValues(*compared, document["config"].get("match", "name"))
    deltas = {}
    for name in document["values"]:
        if "[" in name or spec(pairing.command, name) is None:
            continue
        _, b, n = pairing.values(name, None)
        if b.size:
            deltas[name] = n - b
    return deltas


def _overlay(row: dict[str, Any], config: Any) -> Overlay:
    try:
        pred, gt, valid, c = recompute_labels(row, config)
        rgb, index = render_overlay(pred, gt, valid, c)
    except (LossctlError, ValueError, OSError) as e:
        return Overlay(row, problem=e.raw if isinstance(e, LossctlError) else str(e))  # the writer spells it
    return Overlay(row, png=png_bytes(rgb), slice=index, slices=gt.shape[0] if index is not None else None)


def png_bytes(rgb: np.ndarray) -> bytes:
    """``rgb`` ((H, W, 3) uint8) as the bytes of a PNG file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------------
# Overlays
# ----------------------------------------------------------------------------------------------------------


def outcome_map(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per pixel: 0 correct background, 1 TP, 2 FP, 3 FN, 4 wrong class, 5 ignored (class 0 is background)."""
    out = np.zeros(gt.shape, dtype=np.uint8)
    fg_gt, fg_pred = gt != 0, pred != 0
    out[(pred == gt) & fg_gt] = 1
    out[(pred != gt) & ~fg_gt & fg_pred] = 2
    out[(pred != gt) & fg_gt & ~fg_pred] = 3
    out[(pred != gt) & fg_gt & fg_pred] = 4
    out[~valid] = 5
    return out


def render_overlay(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, num_classes: int) -> tuple[np.ndarray,
                                                                                                    int | None]:
    """(H, W, 3) uint8 overlay, and the slice index shown for a volume (the one with the most wrong pixels)."""
    index = None
    if gt.ndim == 3:
        wrong = ((pred != gt) & valid).reshape(gt.shape[0], -1).sum(axis=1)
        index = int(np.argmax(wrong))
        pred, gt, valid = pred[index], gt[index], valid[index]
    grey = (40 + 170 * np.clip(gt, 0, None) / max(num_classes - 1, 1)).astype(np.float64)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    outcome = outcome_map(pred, gt, valid)
    for code, key in enumerate(("tp", "fp", "fn", "wrong", "ignored"), start=1):
        mask = outcome == code
        weight = 1.0 if key == "ignored" else _BLEND
        rgb[mask] = (1 - weight) * rgb[mask] + weight * np.array(COLOURS[key], dtype=np.float64)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), index


def _seg_config(document: Document, config: Any) -> Any:
    from lossctl.engine.seg_config import SegConfig  # the seg engine: only for a report that reads pairs

    return config if config is not None else SegConfig.from_options(document["config"].get("options") or {})


def recompute_labels(row: dict[str, Any], config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Read an image's pair again exactly as evaluation reads it (:func:`lossctl.engine.loading.load_pair`, then
    :func:`~lossctl.inputs.seg.prepare`) and return (pred labels, gt labels, valid mask, classes), spatial."""
    from lossctl.dataset.pairing import Pair  # the seg engine: only for a report that reads pairs
    from lossctl.engine.loading import label_images, load_pair
    from lossctl.inputs.seg import prepare

    loaded = load_pair(Pair(row["name"], Path(row["pred"]), Path(row["gt"])), config)  # raises PairFailure
    x = prepare(loaded.prediction, loaded.target, **loaded.options)
    target = np.asarray(loaded.target)
    valid = (~np.isin(target, np.asarray(loaded.ignore, dtype=np.int64)) if loaded.ignore
             else np.ones(target.shape, dtype=bool))
    if int(valid.sum()) != x.target.size:
        raise InputError(f"{row['gt']}: its valid pixels do not match the evaluated ones; no overlay")
    labels, gt_labels = label_images(x, target, loaded.ignore)
    return labels, gt_labels, valid, x.num_classes
