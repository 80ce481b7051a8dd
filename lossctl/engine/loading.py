"""Reading a pair as evaluation reads it (:func:`load_pair`), and the failure of a pair (:class:`PairFailure`).

:func:`load_pair` is the one loader of pairs: evaluation (:mod:`lossctl.engine.seg`) and the pictures that need
pixels (the HTML report's overlays) read pairs through it, so that both see the same arrays. It applies, in order:
the loaders (within the memory budget), the refusal of colour images, the dropping of alpha channels, the
geometry checks, float label volumes, and the label maps (:func:`map_labels`). :func:`label_images` turns a
prepared input back into label images of the ground truth's shape (boundary metrics, overlays).

A pair that cannot be evaluated is a :class:`PairFailure`, wherever the problem is found: raised there, returned
by :func:`~lossctl.engine.seg.evaluate_pair` (the other pairs are still evaluated), listed in the report's
``errors``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lossctl.dataset import geometry
from lossctl.dataset.label_maps import UnmappedValueError, apply_label_map
from lossctl.dataset.pairing import Pair
from lossctl.engine.schema import PairError
from lossctl.engine.seg_config import SegConfig
from lossctl.errors import InputError, setting
from lossctl.inputs import chunked
from lossctl.inputs.seg import drop_batch_axis
from lossctl import io
from lossctl.io import stores


class PairFailure(InputError):
    """A pair that could not be evaluated: the file at fault, the one-line reason, the pair's name and the problem.

    ``error`` is the whole message (it names the file, the problem and the fix, and may name settings: see
    :func:`lossctl.errors.setting`; the CLI spells the report document). ``problem`` is the message without what
    identifies the pair (its file, by default the ``"FILE: "`` the message starts with): failures with the same
    problem text are the same problem in several files, which the command line reports on one line. Raised where
    the problem is found, it is returned by :func:`~lossctl.engine.seg.evaluate_pair` as the pair's result and
    pickled back from worker processes.
    """

    def __init__(self, file: str, error: str, name: str = "", problem: str | None = None) -> None:
        super().__init__(error)
        self.file = file
        self.error = error
        self.name = name
        self.problem = without_file(error, file) if problem is None else problem

    @classmethod
    def about(cls, pair: Pair, error: InputError) -> PairFailure:
        """``error`` (a loader's, or the core's) as the failure of ``pair``: the message already names its file;
        the file at fault is the ground truth when the message starts with it, else the prediction."""
        file = pair.gt if error.raw.startswith(str(pair.gt)) else pair.pred
        return cls(str(file), error.raw, pair.name)

    def entry(self) -> PairError:
        """The report's ``errors`` entry."""
        return {"name": self.name, "file": self.file, "error": self.error, "problem": self.problem}

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.file, self.error, self.name, self.problem)

    def detached(self) -> PairFailure:
        """This failure without the exception chain that led to it, as a pair's result must travel: distributed
        installs tblib's exception pickling, which sends ``__cause__`` along, and a decoder's own exception may
        not unpickle (imagecodecs' ``DeflateError`` does not), breaking the process that receives it."""
        self.__cause__ = self.__context__ = None
        self.__traceback__ = None
        return self

    def __repr__(self) -> str:
        return (f"PairFailure(file={self.file!r}, error={self.error!r}, name={self.name!r}, "
                f"problem={self.problem!r})")


def without_file(message: str, file: str) -> str:
    """``message`` without the ``"FILE: "`` it starts with (``file`` as given or as messages show it,
    :func:`lossctl.io.display_path`); the whole message when it starts otherwise."""
    for shown in dict.fromkeys((str(file), io.display_path(file))):
        if message.startswith(f"{shown}: "):
            return message[len(shown) + 2:]
    return message


@dataclass
class LoadedPair:
    """A pair read as evaluation reads it, up to :func:`~lossctl.inputs.seg.prepare` (see :func:`load_pair`)."""

    pred: io.Loaded
    gt: io.Loaded
    target: np.ndarray  # the ground truth's labels, after the label map
    prediction: np.ndarray  # the prediction, after the prediction's label map
    ignore: tuple[int, ...]  # the values left out: the ignore index and the maps' void
    notes: list[str]
    options: dict[str, Any]  # the keyword arguments of prepare()


def load_pair(pair: Pair, config: SegConfig) -> LoadedPair:
    """Read ``pair`` exactly as :func:`~lossctl.engine.seg.evaluate_pair` reads it: the loaders (within the memory
    budget), colour images refused, alpha channels dropped, the geometry checks, float label volumes, the label
    maps. A pair that evaluation refuses, or a file that cannot be read, raises the :class:`PairFailure` that
    evaluation reports."""
    try:
        return _load_pair(pair, config)
    except PairFailure:
        raise
    except InputError as e:  # a loader's error names its file
        raise PairFailure.about(pair, e) from None


#: Bytes per pixel that the boundary metrics (distance transforms, surfaces) or the instance values (connected
#: components, their boxes) take besides the label maps (measured: 24 for hd95, 35 for pq on 16 M pixels).
STRUCTURE_BYTES_PER_PIXEL = 40


#: The most bytes one stored byte decodes to, by suffix, for the formats whose compression bounds it: deflate
#: (PNG, .npz, .nii.gz) cannot pass 1032:1, a 1-bit PNG decodes each bit to a byte, and a scaled NIfTI's bytes
#: become float64 (8 per 1-byte voxel); .npy is stored as it is decoded. Other formats (TIFF with zstd or LZMA,
#: JPEG, NRRD, MetaImage) have no such bound here: their headers are read.
_MOST_DECODED_PER_BYTE = {".png": 1032 * 8, ".npz": 1032, ".gz": 1032 * 8, ".npy": 1, ".nii": 8}


def _surely_fits(pair: Pair, limit: int) -> bool:
    """Whether the two files' sizes alone prove that the pair's evaluation fits ``limit`` (so that their headers
    need not be read: the common case of many small pairs): the most they can decode to (P and G bytes) bounds
    the estimate of :func:`pair_memory` by 33 P + 169 G (16 bytes per channel element and 64 per pixel, twice
    with regions, 40 per pixel for boundary values; a pixel takes at least a byte)."""
    bounds = []
    for path in (pair.pred, pair.gt):
        factor = _MOST_DECODED_PER_BYTE.get(os.path.splitext(str(path))[1].lower())
        try:
            size = stores.size(path) if stores.is_url(path) else os.stat(path).st_size
        except (OSError, ValueError, InputError):
            return False
        if factor is None:
            return False
        bounds.append(size * factor)
    return 33 * bounds[0] + 169 * bounds[1] <= limit


def pair_memory(pair: Pair, config: SegConfig) -> None:
    """Refuse, from the two files' headers and before anything is decoded, a pair whose evaluation would take more
    than the memory budget, as a :class:`PairFailure` naming the larger file, its size and the budget.

    The estimate of a whole evaluation is both arrays (decoded, or memory-mapped: the pages read count in the
    process's memory) plus, per pixel: a soft map's preparation and values
    (:data:`~lossctl.inputs.chunked.BYTES_PER_CHANNEL` per channel plus
    :data:`~lossctl.inputs.chunked.BYTES_PER_PIXEL`, twice with regions, whose losses prepare a map of their
    own), or a label pair's (:data:`~lossctl.inputs.chunked.LABEL_BYTES_PER_PIXEL`), plus
    :data:`STRUCTURE_BYTES_PER_PIXEL` for boundary or instance values. A soft map beyond it is evaluated in
    chunks (:func:`~lossctl.inputs.chunked.chunk_rows`) when its values allow (the lossctl definitions and the
    confusion metrics, without regions, boundary or instance values) and the ground truth, the decoded
    prediction and one slice fit; anything else beyond the budget is refused. Headers that cannot be read are
    left to the loaders to report."""
    limit = config.memory_budget()
    if _surely_fits(pair, limit):
        return
    pred = io.array_header(pair.pred, npz_key=config.npz_key)
    gt = io.array_header(pair.gt, npz_key=config.gt_npz_key or config.npz_key,
                         npz_key_required=config.gt_npz_key is not None)
    if pred is None or gt is None or not gt.shape:
        return
    for header in (pred, gt):  # a file refused on its own: the loader says so, in its words
        if not header.mapped and (header.nbytes > limit or (
                config.max_memory is None and io.is_bomb(header.nbytes, header.stored))):
            return
    pixels = math.prod(gt.shape)
    channels = max(1, math.prod(pred.shape) // max(1, pixels))
    soft = config.pred_kind in ("probs", "logits") or (config.pred_kind == "auto" and (
        bool(pred.floating) or channels > 1))
    soft_bytes = chunked.BYTES_PER_CHANNEL * channels + chunked.BYTES_PER_PIXEL
    structure = bool(config.boundary_names() or config.instance_names())
    per_pixel = ((soft_bytes * (2 if config.regions else 1)) if soft else chunked.LABEL_BYTES_PER_PIXEL) + (
        STRUCTURE_BYTES_PER_PIXEL if structure else 0)
    needs = pred.nbytes + gt.nbytes + per_pixel * pixels
    if needs <= limit:
        return
    whole_values = (structure or config.regions or config.calibration_names()
                    or any(config.convention_of(s.name) != "lossctl" for s in config.selected()))
    if soft and len(gt.shape) >= 2 and not whole_values:
        resident = gt.nbytes + (0 if pred.mapped else pred.nbytes) + chunked.whole_map_reserve(gt.shape, lovasz(config))
        if resident + soft_bytes * (pixels // gt.shape[0]) <= limit:
            return  # chunks fit
    if not soft and len(gt.shape) >= 2 and not structure and labels_in_chunks(config) and pred.shape == gt.shape:
        resident = (0 if pred.mapped else pred.nbytes) + (0 if gt.mapped else gt.nbytes)
        if resident + (chunked.LABEL_BYTES_PER_PIXEL + pred.itemsize + gt.itemsize) * (pixels // gt.shape[0]) <= limit:
            return  # chunks of both label maps fit
    file, header, other = (pair.pred, pred, pair.gt) if pred.nbytes >= gt.nbytes else (pair.gt, gt, pair.pred)
    stored = "memory-mapped" if header.mapped else "decoded"
    how = ""
    if soft and len(gt.shape) >= 2 and whole_values:
        how = (f"; or evaluate it in chunks: {setting('convention', 'lossctl')} without {setting('region')}, "
               "boundary, instance and calibration values")
    elif soft and len(gt.shape) >= 2 and lovasz(config):
        how = "; or leave out lovasz (it sorts a whole class), and the other values are evaluated in chunks"
    elif not soft and len(gt.shape) >= 2 and not structure and not labels_in_chunks(config) and pred.mapped:
        how = (f"; or give the class count ({setting('num_classes')}, above 2), and the labels are evaluated in "
               "chunks")
    raise PairFailure(str(file), f"{file}: evaluating it against {other} takes about {io.memory_text(needs)} "
                      f"(the {'x'.join(map(str, header.shape))} array is {io.memory_text(header.nbytes)} {stored}), "
                      f"more than the memory budget of {io.memory_text(limit)}; if the files are trusted raise "
                      f"{setting('max_memory')} (to at least {io.suggested_budget(needs)}), otherwise crop or "
                      f"downscale them{how}", pair.name)


def labels_in_chunks(config: SegConfig) -> bool:
    """Whether a label prediction may be evaluated in chunks: when the class count is given and above 2, every
    chunk reads its labels as the whole map would (no class count inferred, no 0/255 mask rule)."""
    given = config.num_classes or len(config.class_names)
    return config.void_class is None and given > 2


def lovasz(config: SegConfig) -> bool:
    """Whether the run computes the Lovász-Softmax (which chunked evaluation computes over one whole class)."""
    return any(s.name == "lovasz" for s in config.selected())


def _load_pair(pair: Pair, config: SegConfig) -> LoadedPair:
    pair_memory(pair, config)
    budget = config.max_memory
    pred = io.load_array(pair.pred, npz_key=config.npz_key, max_pixels=config.max_pixels, max_memory=budget)
    # the prediction's npz key also names the ground truth's array, unless its own is given (a single array is
    # read anyway)
    gt = io.load_array(pair.gt, npz_key=config.gt_npz_key or config.npz_key, max_pixels=config.max_pixels,
                       npz_key_required=config.gt_npz_key is not None, max_memory=budget)
    notes = []
    arrays = {}
    _check_lossy(pair, pred, gt, config, notes)
    for loaded, what in ((gt, "ground truth"), (pred, "prediction")):
        arrays[what] = loaded.array
        if loaded.mode in ("RGB", "RGBA"):
            raise PairFailure(loaded.path, f"{loaded.path}: the {what} is an {loaded.mode} colour image, not "
                              "class indices; save it as a palette (indexed) or greyscale PNG whose values "
                              "are the class numbers", pair.name)
        if loaded.mode in ("LA", "PA"):  # labels plus transparency: the alpha channel is not a label
            arrays[what] = loaded.array[..., 0]
            notes.append(f"{what} is a {loaded.mode} PNG: its alpha channel was dropped")
    if gt.format in geometry.VOLUME_FORMATS and arrays["ground truth"].ndim > 3:
        raise PairFailure(str(pair.gt), f"{pair.gt}: a {arrays['ground truth'].ndim}D volume "
                          f"{tuple(arrays['ground truth'].shape)} where a 3D label volume is expected; save "
                          "the ground truth as one 3D label map (drop extra axes)", pair.name)
    spatial_ndim = arrays["ground truth"].ndim
    pred = geometry.orient_prediction(pred, arrays["prediction"], gt, spatial_ndim, config.pred_axes,
                                      config.channels_last, notes)
    pred = replace(pred, array=drop_batch_axis(pred.array, spatial_ndim, notes))
    arrays["prediction"] = pred.array
    if config.geometry == "gt":
        pred = geometry.take_gt_header(pred, gt, notes)
    problem = geometry.check_pair(pred, gt, config.spacing)
    if problem:
        raise PairFailure(str(pair.pred), problem, pair.name)
    if gt.format in geometry.VOLUME_FORMATS and arrays["ground truth"].dtype.kind == "f":
        try:
            arrays["ground truth"] = geometry.float_labels(arrays["ground truth"], notes)
        except InputError as e:
            raise PairFailure(str(pair.gt), f"{pair.gt}: {e.raw}", pair.name) from None
    target, prediction, ignore = map_labels(pair, arrays["ground truth"], arrays["prediction"], config)
    num_classes = config.num_classes if config.void_class is None else config.void_class + 1
    options = dict(kind=config.pred_kind, ignore_index=ignore, num_classes=num_classes,
                   threshold=config.threshold, channels_last=config.channels_last,
                   ignored_void=tuple(v for v in config.mapped_void if v not in config.ignore_index),
                   prob_scale=config.prob_scale)
    return LoadedPair(pred, gt, target, prediction, ignore, notes, options)


def _check_lossy(pair: Pair, pred: io.Loaded, gt: io.Loaded, config: SegConfig, notes: list[str]) -> None:
    """A JPEG holding labels (the ground truth, or a prediction not declared a probability map) is the pair's
    :class:`PairFailure`: JPEG compression changes the values near every edge. A JPEG probability map is read,
    with a note."""
    if gt.lossy:
        raise PairFailure(gt.path, f"{gt.path}: the ground truth is a JPEG, and JPEG compression changes label "
                          "values (near every edge); save the labels as PNG", pair.name)
    if pred.lossy and config.pred_kind in ("probs", "logits"):
        notes.append("prediction is a lossy JPEG: its probabilities carry JPEG's compression error")
    elif pred.lossy:
        raise PairFailure(pred.path, f"{pred.path}: the prediction is a JPEG read as labels, and JPEG compression "
                          "changes label values (near every edge); save the labels as PNG (a probability map "
                          f"saved as JPEG: pass {setting('pred_kind', 'probs')})", pair.name)


def map_labels(pair: Pair, target: np.ndarray, prediction: np.ndarray, config: SegConfig
               ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(ground truth, prediction, ignored values) after the label maps: ground-truth void becomes the map's
    void value, which is ignored; a prediction's void becomes the "predicted no class" index. A value a map does
    not name (unless such values are void) or a map of label predictions applied to scores raises the
    :class:`PairFailure` of ``pair``."""
    ignore = config.ignore_index
    to_void = config.unmapped == "ignore"
    if config.label_map is not None:
        try:
            target = apply_label_map(config.label_map, target, void=config.label_map.void, unmapped_to_void=to_void)
        except UnmappedValueError as e:
            raise PairFailure(str(pair.gt), f"{pair.gt}: the ground truth {e.raw} ({setting('label_map')}); "
                              f"{_unmapped_fix(e)}", pair.name) from None
        ignore = tuple(dict.fromkeys((*ignore, *config.mapped_void)))
    if config.pred_label_map is not None:
        if not (prediction.dtype == np.bool_ or np.issubdtype(prediction.dtype, np.integer)):
            raise PairFailure(str(pair.pred), f"{pair.pred}: the prediction holds {prediction.dtype} scores, but "
                              f"{setting('pred_label_map')} maps label predictions only; drop it for probability "
                              "or logit maps", pair.name)
        void = config.void_class if config.void_class is not None else config.pred_label_map.max_to + 1
        try:
            prediction = apply_label_map(config.pred_label_map, prediction, void=void, unmapped_to_void=to_void)
        except UnmappedValueError as e:
            raise PairFailure(str(pair.pred), f"{pair.pred}: the prediction {e.raw} ({setting('pred_label_map')}); "
                              f"{_unmapped_fix(e)}", pair.name) from None
    return target, prediction, ignore


def _unmapped_fix(e: UnmappedValueError) -> str:
    them = "it" if e.count == 1 else "them"
    return f"add {them} to the map ({e.values[0]}:ignore leaves a value out), or pass {setting('unmapped', 'ignore')}"


def label_images(x: Any, target: np.ndarray, ignore: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The prediction's and the ground truth's label images (argmax labels of a prepared input) in the ground
    truth's shape, in the narrowest unsigned type (a quarter to an eighth of the memory traffic of the
    bounding-box and mask passes); ignored voxels are background in both."""
    shape = target.shape
    dtype = next(t for t in (np.uint8, np.uint16, np.uint32, np.int64) if x.num_classes <= np.iinfo(t).max + 1)
    if x.target.size == target.size:
        return x.labels.reshape(shape).astype(dtype), x.target.reshape(shape).astype(dtype)
    valid = ~np.isin(target, np.asarray(ignore))
    pred_map = np.zeros(shape, dtype=dtype)
    gt_map = np.zeros(shape, dtype=dtype)
    pred_map[valid] = x.labels
    gt_map[valid] = x.target
    return pred_map, gt_map


__all__ = ["PairFailure", "without_file", "LoadedPair", "load_pair", "pair_memory", "map_labels", "label_images",
           "STRUCTURE_BYTES_PER_PIXEL"]
