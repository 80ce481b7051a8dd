"""The pictures of a report: what the HTML report shows that the document does not hold, made in one rendering
step that reads the pairs again through the engine's one loader. The writer (:mod:`lossctl.report.html`) gets
images, never paths, and only places them.

:func:`make_pictures` returns :class:`Pictures`:

* **the views of the worst images** of a ``seg`` document (ranked by
  :func:`lossctl.engine.document.worst_rows`, as every writer ranks them), each a :class:`WorstImage`. Their
  labels are recomputed by reading the pair again exactly as evaluation reads it
  (:func:`lossctl.engine.loading.load_pair`, then :func:`lossctl.inputs.seg.prepare` with the run's options).
  A 2D image has one :class:`Plane`: the whole image. A volume has three, through its worst error: along each
  array axis, the slice with the most wrong voxels (the middle one when none is wrong). Each plane holds three
  panels side by side, PNG images of the plane:

  * **ground truth** and **prediction**: each class in its colour (:func:`class_colour`; class 0, the background,
    dark grey);
  * **errors**: over the ground truth in shades of grey (class 0 darkest), per pixel (class 0 counting as
    background): true positive (``pred == gt``, gt not 0) bluish green, false positive (gt 0, pred not 0)
    vermillion, false negative (gt not 0, pred 0) blue, wrong class (both not 0, different) yellow (Okabe-Ito
    colours, distinguishable with the common colour-vision deficiencies); correct background stays grey;

  * **instances** (a run with instance values; :func:`instance_matches`): one panel of the foreground classes
    together, then one per region, each instance filled by what the run's own matching made of it
    (:func:`lossctl.engine.instances.match_entries`, the call behind the values and the per-instance rows, on the
    pair read again): where a ground-truth instance is, matched bluish green or missed blue; elsewhere a false
    predicted instance vermillion, the part of a matched prediction beyond its instance dark green (the error
    map's colours for the same outcomes, :data:`INSTANCE_COLOURS`); BraTS lesions not counted grey; outlines
    (:func:`outline`) of the ground-truth instances white over those of the predicted ones black, so touching
    instances are parted (reduced images keep a block's missed, then false, then matched pixels);

  and, when the folder of the input images is given (:class:`InputImages`), the **input image** of the same
  name under them (a missing or unusable image is a note, ``image_note``, not a failure). In every panel the
  ignored pixels (an ignore index, a label map's void) are **hatched** in magenta and white (:data:`IGNORED`).

  A plane is named **axial, coronal or sagittal** when the ground truth's header states an anatomical frame
  (:data:`lossctl.io.volumes.FRAMES`: NIfTI, MetaImage, an NRRD whose ``space`` is one) and each of its array
  axes lies within :data:`AXIS_TOLERANCE_DEGREES` of a different anatomical axis; it is then shown as radiology
  shows it (axial: anterior at the top, the patient's right on the left; coronal: superior at the top, the
  patient's right on the left; sagittal: superior at the top, anterior on the left). Otherwise it is named by its
  array axis ("axis 0") and shown as stored (rows: the lower remaining axis), and ``orientation_note`` says why.
  Each plane has its physical extent (pixels times the spacing that evaluation uses: the given one, else the
  header's, else 1.0 per axis, :func:`lossctl.dataset.geometry.resolve_spacing`), so the writer draws it at its
  physical aspect ratio. Panels are drawn at :data:`MIN_SIDE` pixels or more (a small image is enlarged, each
  pixel a block) and :data:`MAX_SIDE` or fewer (a larger image is reduced by whole blocks: the labels sampled,
  the error map keeping a block's error over ignored over correct pixels, so a thin error is never lost).
  A pair that cannot be read again has no views, and the reason instead (``problem``).
* **per-image deltas** of a ``compare`` document (``new - base`` over the images in both reports, per value),
  for its histograms.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lossctl.engine.compare import PairedValues
from lossctl.engine.document import Document, ranked_value, spec, worst_rows
from lossctl.errors import InputError, LossctlError
from lossctl.io import stores

RGB = tuple[int, int, int]

#: The error map's colours of the outcomes (Okabe-Ito).
COLOURS: dict[str, RGB] = {"tp": (0, 158, 115), "fp": (213, 94, 0), "fn": (0, 114, 178), "wrong": (240, 228, 66)}
#: Ignored pixels, in every panel: stripes of these two colours (magenta and white), used by nothing else.
IGNORED: tuple[RGB, RGB] = ((255, 0, 255), (255, 255, 255))
#: Class 0 (the background) in the label panels, and correct background in the error map.
BACKGROUND: RGB = (40, 40, 40)
#: The first classes' colours in the label panels: light (ColorBrewer Set3, its pink and purple left out), apart
#: from the error map's saturated ones (then :func:`class_colour` spreads hues, magenta excluded).
CLASS_COLOURS: tuple[RGB, ...] = ((141, 211, 199), (255, 255, 179), (190, 186, 218), (251, 128, 114),
                                  (128, 177, 211), (253, 180, 98), (179, 222, 105), (217, 217, 217),
                                  (204, 235, 197), (255, 237, 111))
#: A panel's pixels per side: at least this many (small images are enlarged) ...
MIN_SIDE = 128
#: ... and at most this many (large images are reduced).
MAX_SIDE = 512
#: The widest angle between an array axis and an anatomical axis for a plane to take an anatomical name.
AXIS_TOLERANCE_DEGREES = 20.0
#: The width of a hatching stripe of ignored pixels, in panel pixels.
_STRIPE = 3
#: Weight of an outcome's colour over the grey of the ground truth.
_BLEND = 0.7
#: Outcome codes (:func:`outcome_map`) by how a reduced block keeps them: errors, then ignored, then correct.
_KEPT_FIRST = (4, 3, 2, 5, 1, 0)
#: The instance panel's fill (:func:`instance_codes`): what became of each instance, in the error map's colours for
#: the same outcome (a matched instance is a detection, a missed one a false negative, a false one a false positive).
INSTANCE_COLOURS: dict[str, RGB] = {"matched": COLOURS["tp"], "missed": COLOURS["fn"], "false": COLOURS["fp"],
                                    "beyond": (0, 79, 58), "uncounted": (150, 150, 150)}
#: The outlines of the instance panel: ground-truth instances, predicted instances.
OUTLINES: tuple[RGB, RGB] = ((255, 255, 255), (0, 0, 0))
#: The instance panel's codes (:func:`instance_codes`) by how a reduced block keeps them: missed, false, matched.
_INSTANCE_KEPT_FIRST = (2, 3, 1, 4, 5, 0)

#: The anatomical planes by the world axis (RAS: x, y, z) they are perpendicular to.
_PLANE_OF_WORLD_AXIS = {0: "sagittal", 1: "coronal", 2: "axial"}
#: How radiology shows each plane: the world axes (RAS) of its rows and its columns; both run from the positive
#: end (top, left) toward the negative end.
_DISPLAY = {"axial": (1, 0), "coronal": (2, 0), "sagittal": (2, 1)}
#: The positive end of each RAS world axis: where a displayed row or column starts.
_POSITIVE_END = {0: "the patient's right", 1: "anterior", 2: "superior"}
#: Each anatomical frame's world axes in RAS terms.
_TO_RAS = {"RAS": (1, 1, 1), "LAS": (-1, 1, 1), "LPS": (-1, -1, 1)}


@dataclass(frozen=True)
class Swatch:
    """One entry of a legend: a colour, or stripes of two (``stripes``), and what it means."""

    colour: RGB
    meaning: str
    stripes: RGB | None = None


#: What each colour of the error map means.
LEGEND = (Swatch(COLOURS["tp"], "true positive"),
          Swatch(COLOURS["fp"], "false positive (background predicted as a class)"),
          Swatch(COLOURS["fn"], "false negative (a class predicted as background)"),
          Swatch(COLOURS["wrong"], "wrong class"),
          Swatch(BACKGROUND, "correct background (the ground truth's classes in shades of grey beneath)"),
          Swatch(IGNORED[0], "ignored (ignore index or void): left out of every value", IGNORED[1]))
#: What each colour of an instance panel means (the fill: the ground-truth instance under a pixel, else the
#: predicted one); a lesion kept out of the counts (BraTS ``min_volume``) appears only when there is one.
INSTANCE_LEGEND = (Swatch(INSTANCE_COLOURS["matched"], "matched ground-truth instance"),
                   Swatch(INSTANCE_COLOURS["missed"], "missed ground-truth instance (false negative)"),
                   Swatch(INSTANCE_COLOURS["false"], "false predicted instance (false positive)"),
                   Swatch(INSTANCE_COLOURS["beyond"], "a matched prediction beyond its ground-truth instance"),
                   Swatch(OUTLINES[0], "outline of a ground-truth instance"),
                   Swatch(OUTLINES[1], "outline of a predicted instance"))
#: The legend's entry of the instances kept out of the counts (BraTS lesions of ``min_volume`` or less).
UNCOUNTED = Swatch(INSTANCE_COLOURS["uncounted"], "not counted: a lesion of min_volume or less, or a prediction "
                                                 "touching only such lesions")


@dataclass(frozen=True)
class Panel:
    """One picture of a plane: PNG bytes of ``width`` x ``height`` pixels."""

    png: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Plane:
    """One plane of an image: the whole of a 2D image, or a slice of a volume, and its three panels (and the
    input image's, ``image``; with instance values, the instance panels, ``instances``: title and panel).

    ``axis`` (volumes): the array axis the plane is perpendicular to, ``index`` its slice of ``slices`` and
    ``wrong`` the wrong pixels in it; ``name``: ``axial``, ``coronal`` or ``sagittal`` when the header's
    orientation supports it, else None; ``top`` and ``left``: where the displayed rows and columns start (an
    anatomical direction, or ``axis 1``: the start of that array axis); ``extent``: the physical height and width
    in ``unit`` (``mm`` from a header or the given spacing, ``px`` without one)."""

    truth: Panel
    prediction: Panel
    errors: Panel
    image: Panel | None
    extent: tuple[float, float]
    unit: str
    top: str
    left: str
    wrong: int
    axis: int | None = None
    index: int | None = None
    slices: int | None = None
    name: str | None = None
    instances: tuple[tuple[str, Panel], ...] = ()


@dataclass(frozen=True)
class WorstImage:
    """The views of one of the worst rows: its planes, or why there are none (``problem``); ``image_note``: why
    it has no input image (none of its name, another shape, unreadable), when input images were given;
    ``orientation_note``: why a volume's planes are named by their array axes."""

    row: dict[str, Any]
    planes: list[Plane] = field(default_factory=list)
    problem: str | None = None
    image_note: str | None = None
    orientation_note: str | None = None


@dataclass(frozen=True)
class InputImages:
    """Where the input images are: ``folder``, and its files by name (the names of the pairs: see
    :func:`lossctl.dataset.pairing.name_files`)."""

    folder: Path
    files: Mapping[str, Path]


@dataclass(frozen=True)
class Pictures:
    """The pictures of one report: the worst rows' views (in rank order), the per-image deltas of a compare
    document, what each colour of an error map means (``legend``), the classes drawn in the label panels
    (``classes``: class index and colour) and what each colour of an instance panel means (``instance_legend``;
    empty without instance panels)."""

    worst: list[WorstImage] = field(default_factory=list)
    deltas: dict[str, np.ndarray] | None = None  # None: not a comparison of two reports given
    legend: tuple[Swatch, ...] = LEGEND
    classes: tuple[tuple[int, RGB], ...] = ()
    instance_legend: tuple[Swatch, ...] = ()


def make_pictures(document: Document, worst: int, config: Any = None,
                  compared: tuple[Document, Document] | None = None,
                  images: InputImages | None = None) -> Pictures:
    """The pictures of ``document``: the views of its ``worst`` worst rows (a seg document; ``config``: the run's
    :class:`~lossctl.engine.seg.SegConfig`, else rebuilt from the document's options; ``images``: where the input
    images are), the per-image deltas of a compare document (``compared``: its two reports)."""
    if document["command"] == "compare":
        return Pictures(deltas=per_image_deltas(document, compared) if compared is not None else None)
    by = ranked_value(document)
    if document["command"] != "seg" or by is None or worst <= 0:
        return Pictures()
    config = _seg_config(document, config)
    shown: set[int] = set()
    views = [_worst_image(row, config, images, shown) for row in worst_rows(document, worst, by)]
    legend: tuple[Swatch, ...] = ()
    if any(plane.instances for view in views for plane in view.planes):
        legend = INSTANCE_LEGEND + ((UNCOUNTED,) if config.lesion_mode() else ())
    return Pictures(worst=views, classes=tuple((c, class_colour(c)) for c in sorted(shown)),
                    instance_legend=legend)


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


def png_bytes(rgb: np.ndarray) -> bytes:
    """``rgb`` ((H, W, 3) uint8) as the bytes of a PNG file."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), mode="RGB").save(buffer, format="PNG")
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------------------
# One worst image
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Labels:
    """An image's pair as evaluation read it (:func:`recompute_labels`): the prediction's and the ground truth's
    labels, the valid mask, the class count, the spacing evaluation uses (and its source), the ground truth's
    header (``loaded``: :class:`lossctl.io.Loaded`) and, with ``--instances labels``, the prediction's and the
    ground truth's instance id maps (``ids``)."""

    pred: np.ndarray
    gt: np.ndarray
    valid: np.ndarray
    classes: int
    spacing: tuple[float, ...]
    spacing_source: str
    loaded: Any
    ids: tuple[np.ndarray, np.ndarray] | None = None


def _worst_image(row: dict[str, Any], config: Any, images: InputImages | None, shown: set[int]) -> WorstImage:
    try:
        labels = recompute_labels(row, config)
    except (LossctlError, ValueError, OSError) as e:
        return WorstImage(row, problem=e.raw if isinstance(e, LossctlError) else str(e))  # the writer spells it
    if labels.gt.ndim not in (2, 3):
        return WorstImage(row, problem=f"{row['gt']}: a {labels.gt.ndim}D array; pictures are of 2D images and 3D "
                                       "volumes")
    image, image_note = (None, None) if images is None else _input_image(row["name"], labels, images, config)
    axes, orientation_note = None, None
    if labels.gt.ndim == 3:
        axes, orientation_note = anatomical_axes(labels.loaded.direction, labels.loaded.frame)
    matches = instance_matches(labels, config)
    planes = [_plane(labels, cut, image, shown, matches) for cut in cuts(labels, axes)]
    return WorstImage(row, planes, image_note=image_note, orientation_note=orientation_note)


def _seg_config(document: Document, config: Any) -> Any:
    from lossctl.engine.seg_config import SegConfig  # the seg engine: only for a report that reads pairs

    return config if config is not None else SegConfig.from_options(document["config"].get("options") or {})


def recompute_labels(row: dict[str, Any], config: Any) -> Labels:
    """Read an image's pair again exactly as evaluation reads it (:func:`lossctl.engine.loading.load_pair`, then
    :func:`~lossctl.inputs.seg.prepare`) and return its labels, spatial, with the spacing evaluation uses."""
    from lossctl.dataset.geometry import resolve_spacing
    from lossctl.dataset.pairing import Pair  # the seg engine: only for a report that reads pairs
    from lossctl.engine.instances import take_ids
    from lossctl.engine.loading import label_images, load_pair
    from lossctl.inputs.seg import prepare

    pair = Pair(row["name"], stores.as_location(row["pred"]), stores.as_location(row["gt"]))
    loaded = load_pair(pair, config)  # raises PairFailure
    ids = take_ids(loaded, pair, config)
    x = prepare(loaded.prediction, loaded.target, **loaded.options)
    target = np.asarray(loaded.target)
    valid = (~np.isin(target, np.asarray(loaded.ignore, dtype=np.int64)) if loaded.ignore
             else np.ones(target.shape, dtype=bool))
    if int(valid.sum()) != x.target.size:
        raise InputError(f"{row['gt']}: its valid pixels do not match the evaluated ones; no overlay")
    pred, gt = label_images(x, target, loaded.ignore)
    spacing, source = resolve_spacing(loaded.pred, loaded.gt, target.ndim, config.spacing)
    return Labels(pred, gt, valid, x.num_classes, tuple(float(s) for s in spacing), source, loaded.gt, ids)


@dataclass(frozen=True)
class InstanceMaps:
    """One instance panel's maps over the whole image: ``codes`` (:func:`instance_codes`) and the instance ids of
    the ground truth and the prediction (``gt``, ``pred``; 0: none), unique across the classes drawn together."""

    title: str
    codes: np.ndarray
    gt: np.ndarray
    pred: np.ndarray


def instance_matches(labels: Labels, config: Any) -> list[InstanceMaps]:
    """The instance panels of an image, for a run with instance values (else none): one of the foreground classes
    together (their instances never overlap), titled ``instances``, then one per region (``instances: NAME``).
    The instances and what became of them come from
    :func:`lossctl.engine.instances.match_entries`, the call that gives the values and rows, on the pair read again
    (:func:`recompute_labels`) with the spacing evaluation uses."""
    from lossctl.engine import instances

    if not config.instance_names():
        return []
    entries, n = instances.instance_entries(labels.pred, labels.gt, labels.classes, config, labels.ids)
    matches = instances.match_entries(entries, config, labels.spacing, labelled=labels.ids is not None)
    keys = [key for key, _, _ in entries]
    groups = [("instances", keys[:n])] + [(f"instances: {key}", [key]) for key in keys[n:]]
    out = []
    for title, group in groups:
        codes = np.zeros(labels.gt.shape, np.uint8)
        gt = np.zeros(labels.gt.shape, np.int64)
        pred = np.zeros(labels.gt.shape, np.int64)
        offset_gt = offset_pred = 0
        for key in group:
            m = matches[key]
            codes = np.maximum(codes, instance_codes(m))
            gt += np.where(m.gt > 0, m.gt + offset_gt, 0)
            pred += np.where(m.pred > 0, m.pred + offset_pred, 0)
            offset_gt += m.gt_outcome.size - 1
            offset_pred += m.pred_outcome.size - 1
        out.append(InstanceMaps(title, codes, gt, pred))
    return out


def instance_codes(match: Any) -> np.ndarray:
    """Per pixel of one entry's :class:`~lossctl.engine.instances.EntryMatch`: the ground-truth instance's outcome
    where there is one (1 matched, 2 missed, 5 not counted), else the predicted instance's (3 false, 4 a matched
    prediction beyond its instance, 5 not counted), else 0."""
    from lossctl.engine.instances import FALSE, MATCHED, MISSED, NOT_COUNTED

    gt_code, pred_code = np.zeros(8, np.uint8), np.zeros(8, np.uint8)  # by outcome
    gt_code[MATCHED], gt_code[MISSED], gt_code[NOT_COUNTED] = 1, 2, 5
    pred_code[MATCHED], pred_code[FALSE], pred_code[NOT_COUNTED] = 4, 3, 5
    from_gt = gt_code[match.gt_outcome][match.gt]
    from_pred = pred_code[match.pred_outcome][match.pred]
    return np.where(match.gt > 0, from_gt, np.where(match.pred > 0, from_pred, 0)).astype(np.uint8)


# ----------------------------------------------------------------------------------------------------------
# Planes
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cut:
    """Where a plane is and how it is shown: ``axis``/``index`` (None for a 2D image), the array axes of its
    rows and columns, whether each is flipped, and the plane's name and the words of its top and left."""

    axis: int | None
    index: int | None
    rows: int
    columns: int
    flip_rows: bool = False
    flip_columns: bool = False
    name: str | None = None
    top: str = "axis 0"
    left: str = "axis 1"

    def of(self, volume: np.ndarray) -> np.ndarray:
        """This plane of ``volume`` (the image's spatial axes first; trailing axes, e.g. colour, kept), as shown."""
        plane = volume if self.axis is None else np.take(volume, self.index, axis=self.axis)
        remaining = [a for a in range(3) if a != self.axis] if self.axis is not None else [0, 1]
        if remaining.index(self.rows) == 1:
            plane = np.swapaxes(plane, 0, 1)
        if self.flip_rows:
            plane = plane[::-1]
        if self.flip_columns:
            plane = plane[:, ::-1]
        return plane


def anatomical_axes(direction: Any, frame: str | None) -> tuple[list[tuple[int, int]] | None, str | None]:
    """Per array axis of a volume, the RAS world axis it runs along (0: x, 1: y, 2: z) and its sign, when the
    header's ``frame`` is anatomical and each axis lies within :data:`AXIS_TOLERANCE_DEGREES` of a different
    world axis; else None and why (words for the report)."""
    if direction is None:
        return None, "the ground truth has no orientation (not a NIfTI, NRRD or MetaImage volume)"
    if frame not in _TO_RAS:
        return None, "the ground truth's header states no anatomical frame (an NRRD space such as scanner-xyz)"
    ras = np.asarray(direction, dtype=np.float64)
    if ras.shape != (3, 3):
        return None, "the ground truth's orientation is not that of a 3D volume"
    ras = ras * np.asarray(_TO_RAS[frame], dtype=np.float64)
    world = np.argmax(np.abs(ras), axis=1)
    cosines = np.abs(ras[np.arange(3), world])
    if sorted(world.tolist()) != [0, 1, 2] or np.any(cosines < math.cos(math.radians(AXIS_TOLERANCE_DEGREES))):
        return None, (f"the ground truth's axes are oblique (more than {AXIS_TOLERANCE_DEGREES:g}° from the "
                      "anatomical axes)")
    return [(int(w), 1 if ras[i, w] > 0 else -1) for i, w in enumerate(world)], None


def cuts(labels: Labels, axes: list[tuple[int, int]] | None) -> list[Cut]:
    """The planes of an image: the whole of a 2D image; for a volume, per array axis, the slice with the most
    wrong voxels (the middle one when none is wrong), named and oriented by ``axes`` (:func:`anatomical_axes`),
    in the order axial, coronal, sagittal (else by array axis)."""
    if labels.gt.ndim == 2:
        return [Cut(None, None, 0, 1)]
    wrong = (labels.pred != labels.gt) & labels.valid
    found = []
    for axis in range(3):
        counts = wrong.sum(axis=tuple(a for a in range(3) if a != axis))
        index = int(np.argmax(counts)) if counts.max() > 0 else labels.gt.shape[axis] // 2
        rows, columns = (a for a in range(3) if a != axis)
        if axes is None:
            found.append(Cut(axis, index, rows, columns, top=f"axis {rows}", left=f"axis {columns}"))
            continue
        name = _PLANE_OF_WORLD_AXIS[axes[axis][0]]
        row_world, column_world = _DISPLAY[name]
        rows = next(a for a in range(3) if axes[a][0] == row_world)
        columns = next(a for a in range(3) if axes[a][0] == column_world)
        found.append(Cut(axis, index, rows, columns, flip_rows=axes[rows][1] > 0, flip_columns=axes[columns][1] > 0,
                         name=name, top=_POSITIVE_END[row_world], left=_POSITIVE_END[column_world]))
    if axes is not None:
        found.sort(key=lambda cut: list(_DISPLAY).index(cut.name))
    return found


def _plane(labels: Labels, cut: Cut, image: InputPixels | None, shown: set[int],
           matches: Sequence[InstanceMaps] = ()) -> Plane:
    """The panels of one plane (and its instance panels, one per :class:`InstanceMaps`); the classes they show are
    added to ``shown``."""
    pred, gt, valid = cut.of(labels.pred), cut.of(labels.gt), cut.of(labels.valid)
    wrong = int(((pred != gt) & valid).sum())
    shown.update(np.unique(np.concatenate([gt[valid], pred[valid]])).tolist())
    outcome = outcome_map(pred, gt, valid)
    step = max(1, math.ceil(max(gt.shape) / MAX_SIDE))
    grow = max(1, MIN_SIDE // math.ceil(max(gt.shape) / step))
    outcome = _enlarge(_keep_first(outcome, step, _KEPT_FIRST), grow)
    pred, gt = (_enlarge(a[::step, ::step], grow) for a in (pred, gt))
    hatch = _hatching(outcome == 5)
    truth = _hatched(class_colours(gt), hatch)
    prediction = _hatched(class_colours(pred), hatch)
    errors = _hatched(error_colours(outcome, gt, labels.classes), hatch)
    image_panel = None
    if image is not None:
        image_panel = _panel(_enlarge(image.display(cut.of(image.array)[::step, ::step]), grow))
    spacing = labels.spacing
    unit = "px" if labels.spacing_source == "default" else "mm"
    extent = (valid.shape[0] * spacing[cut.rows], valid.shape[1] * spacing[cut.columns])
    slices = labels.gt.shape[cut.axis] if cut.axis is not None else None
    instance_panels = []
    for maps in matches:
        codes = _enlarge(_keep_first(cut.of(maps.codes), step, _INSTANCE_KEPT_FIRST), grow)
        gt_ids, pred_ids = (_enlarge(cut.of(a)[::step, ::step], grow) for a in (maps.gt, maps.pred))
        instance_panels.append((maps.title, _panel(_hatched(instance_colours(codes, gt_ids, pred_ids), hatch))))
    return Plane(_panel(truth), _panel(prediction), _panel(errors), image_panel, extent, unit, cut.top, cut.left,
                 wrong, cut.axis, cut.index, slices, cut.name, tuple(instance_panels))


def _panel(rgb: np.ndarray) -> Panel:
    return Panel(png_bytes(rgb), rgb.shape[1], rgb.shape[0])


# ----------------------------------------------------------------------------------------------------------
# Colours
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


def class_colour(c: int) -> RGB:
    """The colour of class ``c`` in the label panels: class 0 :data:`BACKGROUND`, classes 1 to 10
    :data:`CLASS_COLOURS`, then hues spread by the golden angle (magenta's, the ignored pixels', skipped)."""
    if c == 0:
        return BACKGROUND
    if c <= len(CLASS_COLOURS):
        return CLASS_COLOURS[c - 1]
    import colorsys

    hue = (c * 0.618033988749895) % 1.0
    if 0.78 < hue < 0.92:  # magenta: the ignored pixels' colour
        hue = (hue + 0.15) % 1.0
    lightness = (0.45, 0.6, 0.75)[c % 3]
    r, g, b = colorsys.hls_to_rgb(hue, lightness, 0.75)
    return int(round(255 * r)), int(round(255 * g)), int(round(255 * b))


def class_colours(labels: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: each pixel in its class's colour (:func:`class_colour`)."""
    present = np.unique(labels)
    lut = np.zeros((int(present.max()) + 1, 3), dtype=np.uint8)
    for c in present:
        lut[c] = class_colour(int(c))
    return lut[labels]


def error_colours(outcome: np.ndarray, gt: np.ndarray, num_classes: int) -> np.ndarray:
    """(H, W, 3) uint8: the error map (:func:`outcome_map`'s codes) over the ground truth in shades of grey
    (class 0 :data:`BACKGROUND`'s grey, the last class the lightest); ignored pixels are left grey (hatched
    later)."""
    grey = (BACKGROUND[0] + 170 * np.clip(gt, 0, None) / max(num_classes - 1, 1)).astype(np.float64)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    for code, key in enumerate(("tp", "fp", "fn", "wrong"), start=1):
        mask = outcome == code
        rgb[mask] = (1 - _BLEND) * rgb[mask] + _BLEND * np.array(COLOURS[key], dtype=np.float64)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def instance_colours(codes: np.ndarray, gt: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8: an instance panel: each pixel in the colour of its code (:func:`instance_codes`; 0 the
    :data:`BACKGROUND`), then the outlines (:data:`OUTLINES`) of the predicted instances (``pred``: ids), then of the
    ground-truth ones over them (``gt``): an outline pixel is one of an instance with a side neighbour of another id
    (or none), so touching instances are parted by a line."""
    lut = np.array([BACKGROUND, INSTANCE_COLOURS["matched"], INSTANCE_COLOURS["missed"], INSTANCE_COLOURS["false"],
                    INSTANCE_COLOURS["beyond"], INSTANCE_COLOURS["uncounted"]], dtype=np.uint8)
    rgb = lut[codes]
    for ids, colour in ((pred, OUTLINES[1]), (gt, OUTLINES[0])):
        rgb[outline(ids)] = colour
    return rgb


def outline(ids: np.ndarray) -> np.ndarray:
    """The pixels of an instance (``ids`` not 0) with a side neighbour (up, down, left, right) of another id;
    the edge of the picture is no neighbour."""
    edge = np.zeros(ids.shape, dtype=bool)
    edge[1:] |= ids[1:] != ids[:-1]
    edge[:-1] |= ids[:-1] != ids[1:]
    edge[:, 1:] |= ids[:, 1:] != ids[:, :-1]
    edge[:, :-1] |= ids[:, :-1] != ids[:, 1:]
    return edge & (ids != 0)


def _hatching(ignored: np.ndarray) -> np.ndarray:
    """Per ignored pixel, 0 or 1: which of the two :data:`IGNORED` colours (diagonal stripes); -1 elsewhere."""
    r, c = np.indices(ignored.shape)
    stripe = ((r + c) // _STRIPE) % 2
    return np.where(ignored, stripe, -1)


def _hatched(rgb: np.ndarray, hatch: np.ndarray) -> np.ndarray:
    out = rgb.copy()
    for k, colour in enumerate(IGNORED):
        out[hatch == k] = colour
    return out


def _keep_first(outcome: np.ndarray, step: int, order: tuple[int, ...]) -> np.ndarray:
    """``outcome`` (codes 0..5) reduced by ``step`` x ``step`` blocks, each keeping its first code in ``order``
    (which ends with 0)."""
    if step == 1:
        return outcome
    rank = np.empty(6, dtype=np.uint8)
    rank[list(order)] = np.arange(len(order))[::-1]
    h, w = (math.ceil(n / step) * step for n in outcome.shape)
    padded = np.zeros((h, w), dtype=np.uint8)  # pads with rank 0: correct background, never kept over another
    padded[:outcome.shape[0], :outcome.shape[1]] = rank[outcome]
    best = padded.reshape(h // step, step, w // step, step).max(axis=(1, 3))
    return np.asarray(order[::-1], dtype=np.uint8)[best]


def _enlarge(a: np.ndarray, factor: int) -> np.ndarray:
    return a if factor == 1 else np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)


# ----------------------------------------------------------------------------------------------------------
# Input images
# ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputPixels:
    """An input image as read (``array``: the ground truth's spatial shape, and R, G, B last when ``colour``) and
    the range its display stretches to black and white (``low``, ``high``; None for 8-bit data, shown as it is)."""

    array: np.ndarray
    colour: bool
    low: float | None = None
    high: float | None = None

    def display(self, plane: np.ndarray) -> np.ndarray:
        """A plane of the image (:meth:`Cut.of`) as uint8 RGB; grey repeated in R, G and B."""
        if self.low is not None and self.high is not None:
            span = self.high - self.low if self.high > self.low else 1.0
            data = np.nan_to_num(plane.astype(np.float64), nan=self.low)
            plane = np.rint(255 * np.clip((data - self.low) / span, 0, 1)).astype(np.uint8)
        return plane if self.colour else np.repeat(plane[..., None], 3, axis=-1)


#: How many values, at most, the display range of an input image is taken from (a strided sample).
_RANGE_SAMPLE = 1_000_000


def _input_image(name: str, labels: Labels, images: InputImages, config: Any) -> tuple[InputPixels | None,
                                                                                     str | None]:
    """The input image of ``name``, or None and why (none of that name, another shape, unreadable)."""
    from lossctl import io as lio

    path = images.files.get(name)
    if path is None:
        return None, f"no input image named {name} in {images.folder}"
    try:
        array = np.asarray(lio.load_array(path, max_pixels=config.max_pixels, max_memory=config.max_memory).array)
    except LossctlError as e:
        return None, e.raw
    spatial = labels.gt.shape
    colour = array.ndim == len(spatial) + 1 and array.shape[-1] in (3, 4)
    if tuple(array.shape[:len(spatial)]) != spatial or not (array.ndim == len(spatial) or colour):
        return None, (f"{path}: the input image is {'x'.join(map(str, array.shape))}, the ground truth "
                      f"{'x'.join(map(str, spatial))}; not shown")
    return input_pixels(array[..., :3] if colour else array, colour), None


def input_pixels(array: np.ndarray, colour: bool) -> InputPixels:
    """How an input image is displayed: 8-bit data as it is; other data stretched from its 0.5th to its 99.5th
    percentile (of the whole image or volume, from a strided sample of at most :data:`_RANGE_SAMPLE` values, so
    that the planes of a volume share one scale)."""
    if array.dtype == np.uint8:
        return InputPixels(array, colour)
    flat = array.reshape(-1)
    sample = flat[::max(1, flat.size // _RANGE_SAMPLE)].astype(np.float64)
    sample = sample[np.isfinite(sample)]
    low, high = (float(v) for v in np.percentile(sample, (0.5, 99.5))) if sample.size else (0.0, 1.0)
    return InputPixels(array, colour, low, high)
