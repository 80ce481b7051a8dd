"""The ``lossctl seg`` engine: evaluate prediction/ground-truth pairs and build the report document.

The work is split so that it can run in worker processes and be merged:

* :func:`evaluate_pair` reads one pair and returns an :class:`ImageOutcome` (losses, the confusion matrix,
  notes) or a :class:`PairFailure`; it never raises for bad input.
* :func:`build_report` turns the outcomes into the report document (the JSON schema in README.md): per-image
  metrics from each confusion matrix, summary statistics, pooled metrics from the summed confusion matrix,
  gates. Every writer renders this document.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lossctl import REPORT_SCHEMA, __version__, registry
from lossctl.dataset import geometry
from lossctl import io
from lossctl.metrics import boundary, overlap
from lossctl.dataset.label_maps import LabelMap, UnmappedValueError, apply_label_map
from lossctl._numeric import nanmean
from lossctl.errors import InputError, UsageError
from lossctl.engine.gates import Gate, check_gates, row_series, validate_gates
from lossctl.dataset.pairing import Pair
from lossctl.losses import segmentation
from lossctl.inputs.seg import ChunkedInput, chunk_rows, prepare

#: The report's ``config`` entries that say where the pairs came from (folders and name patterns, or a list).
SOURCE_KEYS = ("pred", "gt", "pred_pattern", "gt_pattern", "pairs")
#: Worker processes need at least this many pairs each; with fewer, the cores go to threads inside one process.
PAIRS_PER_PROCESS = 2


@dataclass(frozen=True)
class SegConfig:
    """Everything that decides the numbers (recorded in the report's ``config``)."""

    values: tuple[str, ...] = ()  # empty: every metric, plus every loss when the prediction is soft
    pred_kind: str = "auto"
    ignore_index: tuple[int, ...] = ()
    num_classes: int | None = None
    class_names: tuple[str, ...] = ()
    threshold: float = 0.5
    channels_last: bool = False
    npz_key: str | None = None
    gt_npz_key: str | None = None
    max_pixels: int = io.DEFAULT_MAX_PIXELS  # deprecated element limit; the memory budget comes first
    max_memory: int | None = None  # bytes one pair may use; None: a fraction of the available memory
    empty: str = "nan"
    include_background: bool = True
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    convention: str = "lossctl"
    #: Voxel spacing per spatial axis (--spacing): for files without one, and over the headers' when given.
    spacing: tuple[float, ...] | None = None
    #: nsd's tolerance τ: one value for every class, or one per foreground class followed by one per region.
    nsd_tolerance: tuple[float, ...] = (1.0,)
    #: The distances of a class present in exactly one mask: "diagonal" (the image's), "nan" or a number.
    empty_distance: str = "diagonal"
    #: Label unions evaluated as extra binary classes, (name, labels), reported after the classes.
    regions: tuple[tuple[str, tuple[int, ...]], ...] = ()
    label_map: LabelMap | None = None  # applied to the ground truth before anything is computed
    pred_label_map: LabelMap | None = None  # applied to label predictions
    unmapped: str = "error"  # a value a map does not name: "error", or "ignore" (void)

    def __post_init__(self) -> None:
        for name in ("label_map", "pred_label_map"):  # rebuilt from a JSON report's options (merge)
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, LabelMap.from_dict(value))

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> SegConfig:
        """The config that a report's ``config.options`` records (its JSON lists back to tuples)."""
        config = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()})
        return replace(config, regions=tuple((name, tuple(labels)) for name, labels in config.regions))

    @property
    def void_class(self) -> int | None:
        """The index of the extra "predicted no class" column (the class count), when a prediction map can
        produce void; None otherwise."""
        m = self.pred_label_map
        if m is None or not (m.voids or self.unmapped == "ignore"):
            return None
        if self.num_classes is None:
            raise UsageError("a prediction label map that maps values to ignore needs the class count "
                             "(--num-classes or --class-names)")
        return self.num_classes

    @property
    def mapped_void(self) -> tuple[int, ...]:
        """The value the ground-truth label map writes for void (:attr:`LabelMap.void`), when it can write one:
        ignored like ``ignore_index``, but no value the user named."""
        m = self.label_map
        return (m.void,) if m is not None and (m.voids or self.unmapped == "ignore") else ()

    def selected(self) -> list[registry.Spec]:
        """The specs asked for, in catalogue order (by default, the values the convention has, except the
        opt-in boundary metrics)."""
        chosen = set(self.values)
        if chosen:
            return [s for s in registry.specs("seg") if s.name in chosen]
        return [s for s in registry.specs("seg")
                if not s.opt_in and not s.unavailable(self.convention, self.pred_kind)]

    def boundary_names(self) -> list[str]:
        """The boundary metrics asked for, in catalogue order."""
        return [s.name for s in self.selected() if s.opt_in]

    def region_names(self) -> list[str]:
        return [name for name, _ in self.regions]

    def unavailable(self) -> dict[str, str]:
        """Values the convention lacks (or that need logits under it), with the reason."""
        return {s.name: r for s in registry.specs("seg") if (r := s.unavailable(self.convention, self.pred_kind))}

    def include(self, num_classes: int) -> np.ndarray:
        """(C,) bool: the classes that enter class means."""
        keep = np.ones(num_classes, dtype=bool)
        if not self.include_background and num_classes:
            keep[0] = False
        return keep

    def params_for(self, spec: registry.Spec) -> dict[str, Any]:
        """The parameters applied to ``spec``: the convention's defaults with this run's overrides (a metric that
        has an ``empty`` parameter takes ``--empty``'s value unless set by name)."""
        overrides = dict(self.params.get(spec.name, {}))
        if spec.kind == "metric" and spec.impl(self.convention).param("empty") is not None:
            overrides.setdefault("empty", self.empty)
        return spec.resolve(self.convention, overrides)

    def to_dict(self) -> dict[str, Any]:
        """The ``config`` block of the report."""
        return {
            "pred_kind": self.pred_kind, "ignore_index": list(self.ignore_index),
            "threshold": self.threshold, "channels_last": self.channels_last, "empty": self.empty,
            "include_background": self.include_background, "convention": self.convention,
            "not_available": self.unavailable() if not self.values else {},
            "params": {s.name: self.params_for(s) for s in self.selected()},
            "regions": {name: list(labels) for name, labels in self.regions},
            **({"spacing": list(self.spacing) if self.spacing else
                "from the file headers; 1.0 per axis for files without spacing (see each image's spacing)",
                "empty_distance": self.empty_distance, "nsd_tolerance": list(self.nsd_tolerance)}
               if self.boundary_names() else {}),
            "label_map": self.label_map.to_dict() if self.label_map else None,
            "pred_label_map": self.pred_label_map.to_dict() if self.pred_label_map else None,
            "unmapped": self.unmapped,
        }


@dataclass
class ImageOutcome:
    """What one pair produced before the dataset-wide class count is known."""

    pair: Pair
    kind: str
    losses: dict[str, float]
    loss_per_class: dict[str, list[float | None]]
    confusion: np.ndarray
    notes: list[str]
    #: Boundary metrics: per class (index 0 is None) and per region.
    boundary: dict[str, list[float | None]] = field(default_factory=dict)
    boundary_regions: dict[str, list[float | None]] = field(default_factory=dict)
    #: Per-class losses of each region (its union read as one binary class).
    loss_regions: dict[str, list[float | None]] = field(default_factory=dict)
    #: The spacing the boundary metrics used, and where it came from ("header", "--spacing", "default").
    spacing: list[float] | None = None
    spacing_source: str | None = None


@dataclass
class PairFailure:
    """A pair that could not be evaluated, with the one-line reason."""

    file: str
    error: str
    name: str = ""


def evaluate_pair(pair: Pair, config: SegConfig) -> ImageOutcome | PairFailure:
    """Load, check and evaluate one pair; any :class:`InputError`, and running out of memory, becomes a
    :class:`PairFailure` (the other pairs are still evaluated)."""
    try:
        return _evaluate_pair(pair, config)
    except MemoryError:
        return PairFailure(str(pair.pred), f"{pair.pred}: not enough memory to evaluate it against {pair.gt}; "
                           "free memory, use fewer --workers, or set --max-memory below the memory this "
                           "machine has so that such files are refused (or chunked) up front", pair.name)


@dataclass
class LoadedPair:
    """A pair read as evaluation reads it, up to :func:`~lossctl.inputs.seg.prepare` (see :func:`load_pair`)."""

    pred: io.Loaded
    gt: io.Loaded
    target: np.ndarray  # the ground truth's labels, after the label map
    prediction: np.ndarray  # the prediction, after the prediction's label map
    ignore: tuple[int, ...]  # the values left out: --ignore-index and the maps' void
    notes: list[str]
    options: dict[str, Any]  # the keyword arguments of prepare()


def load_pair(pair: Pair, config: SegConfig) -> LoadedPair | PairFailure:
    """Read ``pair`` exactly as :func:`evaluate_pair` reads it: the loaders (within the memory budget), colour
    images refused, alpha channels dropped, the geometry checks, float label volumes, the label maps. A pair
    that evaluation refuses is the :class:`PairFailure` it reports; a file that cannot be read raises the
    loader's :class:`InputError` (naming the file). The HTML report's overlays read pairs through this too."""
    budget = config.max_memory
    pred = io.load_array(pair.pred, npz_key=config.npz_key, max_pixels=config.max_pixels, max_memory=budget)
    # --npz-key also names the ground truth's array, unless --gt-npz-key does (a single array is read anyway)
    gt = io.load_array(pair.gt, npz_key=config.gt_npz_key or config.npz_key, max_pixels=config.max_pixels,
                       npz_key_required=config.gt_npz_key is not None, max_memory=budget)
    notes = []
    arrays = {}
    for loaded, what in ((gt, "ground truth"), (pred, "prediction")):
        arrays[what] = loaded.array
        if loaded.mode in ("RGB", "RGBA"):
            return PairFailure(loaded.path, f"{loaded.path}: the {what} is an {loaded.mode} colour image, not "
                               "class indices; save it as a palette (indexed) or greyscale PNG whose values "
                               "are the class numbers", pair.name)
        if loaded.mode in ("LA", "PA"):  # labels plus transparency: the alpha channel is not a label
            arrays[what] = loaded.array[..., 0]
            notes.append(f"{what} is a {loaded.mode} PNG: its alpha channel was dropped")
    if gt.lossy:
        notes.append("ground truth is a lossy JPEG: label values may be corrupted")
    if gt.format in geometry.VOLUME_FORMATS and arrays["ground truth"].ndim > 3:
        return PairFailure(str(pair.gt), f"{pair.gt}: a {arrays['ground truth'].ndim}D volume "
                           f"{tuple(arrays['ground truth'].shape)} where a 3D label volume is expected; save "
                           "the ground truth as one 3D label map (drop extra axes)", pair.name)
    problem = geometry.check_pair(pred, gt, config.spacing)
    if problem:
        return PairFailure(str(pair.pred), problem, pair.name)
    if gt.format in geometry.VOLUME_FORMATS and arrays["ground truth"].dtype.kind == "f":
        try:
            arrays["ground truth"] = geometry.float_labels(arrays["ground truth"], notes)
        except InputError as e:
            return PairFailure(str(pair.gt), f"{pair.gt}: {e.raw}", pair.name)
    mapped = _map_labels(pair, arrays, config)
    if isinstance(mapped, PairFailure):
        return mapped
    target, prediction, ignore = mapped
    num_classes = config.num_classes if config.void_class is None else config.void_class + 1
    options = dict(kind=config.pred_kind, ignore_index=ignore, num_classes=num_classes,
                   threshold=config.threshold, channels_last=config.channels_last,
                   ignored_void=tuple(v for v in config.mapped_void if v not in config.ignore_index))
    return LoadedPair(pred, gt, target, prediction, ignore, notes, options)


def _evaluate_pair(pair: Pair, config: SegConfig) -> ImageOutcome | PairFailure:
    try:
        loaded = load_pair(pair, config)
        if isinstance(loaded, PairFailure):
            return loaded
        pred, gt, target, prediction = loaded.pred, loaded.gt, loaded.target, loaded.prediction
        ignore, notes, options, budget = loaded.ignore, loaded.notes, loaded.options, config.max_memory
        limit = io.default_memory_budget() if budget is None else budget
        rows = None if config.pred_kind == "labels" else chunk_rows(prediction, target.shape, limit)
        if rows is not None and (config.convention != "lossctl" or config.regions or config.boundary_names()):
            return PairFailure(str(pair.pred), f"{pair.pred}: evaluating it takes more than the memory budget of "
                               f"{io.memory_text(limit)}; raise --max-memory, or use --convention lossctl without "
                               "--region and boundary metrics, which evaluates such maps in chunks", pair.name)
        try:
            if rows is None:
                x = prepare(prediction, target, **options)  # type: ignore[arg-type]
            else:  # too large for the budget: chunks of the leading spatial axis, the same numbers
                x = ChunkedInput(prediction, target, rows, **options)
        except InputError as e:
            file = pair.gt if e.subject == "target" else pair.pred
            flag, used = (("--label-map", config.label_map) if e.subject == "target" else
                          ("--pred-label-map", config.pred_label_map))
            after = f"after {flag} {used.name}, " if used is not None else ""  # the values it names are mapped
            return PairFailure(str(file), f"{file}: {after}{e}", pair.name)
        losses: dict[str, float] = {}
        loss_per_class: dict[str, list[float | None]] = {}
        include = config.include(x.num_classes)
        for spec in config.selected():
            if spec.kind != "loss" or (x.soft is None and not config.values):
                continue
            if x.soft is None:
                return PairFailure(str(pair.pred), f"{pair.pred}: {spec.name} needs probabilities or logits, "
                                   "but the prediction holds labels; drop the loss or give the model's maps",
                                   pair.name)
            value, per_class = spec.evaluate(x, include, config.convention,
                                             {"ignoring": bool(config.ignore_index)}, **config.params_for(spec))
            losses[spec.name] = value
            if per_class is not None:
                loss_per_class[spec.name] = _nullable(per_class)
        outcome = ImageOutcome(pair, x.kind, losses, loss_per_class, x.confusion, notes + x.notes)
        if config.regions and loss_per_class:
            outcome.loss_regions = _region_losses(x, config, list(loss_per_class))
        if config.boundary_names():
            problem = _evaluate_boundary(outcome, x, target, ignore, pred, gt, config)
            if problem:
                return PairFailure(str(pair.gt), problem, pair.name)
        elif gt.spacing is not None or pred.spacing is not None or config.spacing is not None:
            try:  # volumes: the spacing is reported even without boundary metrics
                spacing, source = geometry.resolve_spacing(pred, gt, target.ndim, config.spacing)
                outcome.spacing, outcome.spacing_source = list(spacing), source
            except InputError as e:
                return PairFailure(str(pair.gt), f"{pair.gt}: {e.raw}", pair.name)
        return outcome
    except InputError as e:  # a loader error already names its file
        file = pair.gt if str(e).startswith(str(pair.gt)) else pair.pred
        return PairFailure(str(file), e.raw, pair.name)


def _evaluate_boundary(outcome: ImageOutcome, x: Any, target: np.ndarray, ignore: tuple[int, ...],
                       pred: io.Loaded, gt: io.Loaded, config: SegConfig) -> str | None:
    """Fill ``outcome``'s boundary metrics (per class, per region); return a one-line problem instead."""
    try:
        spacing, source = geometry.resolve_spacing(pred, gt, target.ndim, config.spacing)
    except InputError as e:
        return f"{gt.path}: {e.raw}"
    pred_map, gt_map = label_maps(x, target, ignore)
    c = x.num_classes if config.void_class is None else config.void_class  # "predicted no class" is no class
    classes = [(k,) for k in range(1, c)]
    for name, labels in config.regions:
        if c and max(labels) >= c and (config.num_classes is not None or x.soft is not None):
            return (f"{gt.path}: --region {name} names label {max(labels)} but there are {c} classes (0..{c - 1}); "
                    "fix the region's labels")
        classes.append(tuple(labels))
    taus = config.nsd_tolerance
    if len(taus) not in (1, len(classes)):
        return (f"{gt.path}: --nsd-tolerance gives {len(taus)} values but there are {c - 1} foreground classes "
                f"and {len(config.regions)} region(s); give one value, or one per foreground class and region")
    values = boundary.boundary_metrics(
        pred_map, gt_map, classes, config.boundary_names(), spacing=spacing, convention=config.convention,
        percentile=config.params_for(registry.get("seg", "hd95")).get("percentile", 95.0),  # MedPy fixes 95
        tolerances=taus[0] if len(taus) == 1 else taus, both_empty=overlap.EMPTY_VALUES[config.empty],
        one_empty=_one_empty(config.empty_distance))
    n = len(classes) - len(config.regions)
    for name, v in values.items():
        outcome.boundary[name] = [None, *_nullable(v[:n])]
        outcome.boundary_regions[name] = _nullable(v[n:])
    outcome.spacing, outcome.spacing_source = list(spacing), source
    if source == "default":
        outcome.notes.append("no voxel spacing in the files: boundary metrics use 1.0 per axis (pass --spacing)")
    return None


def _region_losses(x: Any, config: SegConfig, names: list[str]) -> dict[str, list[float | None]]:
    """Each per-class loss of each region: the region's probability ``p_R = sum_{c in R} p_c`` against
    ``[y in R]``, a binary map evaluated as the loss defines it for two classes; the value is its class 1."""
    out: dict[str, list[float | None]] = {name: [] for name in names}
    probs = np.asarray(x.probs, dtype=np.float64)
    for _, labels in config.regions:
        inside = [v for v in labels if v < probs.shape[0]]
        p = np.clip(probs[inside].sum(axis=0), 0.0, 1.0)
        t = np.isin(x.target, np.asarray(labels)).astype(np.uint8)
        binary = prepare(p, t, kind="probs")
        for name in names:
            spec = registry.get("seg", name)
            _, per_class = spec.evaluate(binary, None, config.convention, {"ignoring": False},
                                         **config.params_for(spec))
            out[name].append(None if per_class is None or np.isnan(per_class[1]) else float(per_class[1]))
    return out


def _one_empty(policy: str) -> float | None:
    return None if policy == "diagonal" else float(policy)


def label_maps(x: Any, target: np.ndarray, ignore: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The prediction's and the ground truth's label maps in the ground truth's shape, in the narrowest unsigned
    type (a quarter to an eighth of the memory traffic of the bounding-box and mask passes); ignored voxels are
    background in both."""
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


def _map_labels(pair: Pair, arrays: dict[str, np.ndarray], config: SegConfig
                ) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]] | PairFailure:
    """(ground truth, prediction, ignored values) after the label maps: ground-truth void becomes the map's
    void value, which is ignored; a prediction's void becomes the "predicted no class" index."""
    target, prediction, ignore = arrays["ground truth"], arrays["prediction"], config.ignore_index
    to_void = config.unmapped == "ignore"
    if config.label_map is not None:
        try:
            target = apply_label_map(config.label_map, target, void=config.label_map.void, unmapped_to_void=to_void)
        except UnmappedValueError as e:
            return PairFailure(str(pair.gt), f"{pair.gt}: the ground truth {e} (--label-map); {_unmapped_fix(e)}",
                               pair.name)
        ignore = tuple(dict.fromkeys((*ignore, *config.mapped_void)))
    if config.pred_label_map is not None:
        if not (prediction.dtype == np.bool_ or np.issubdtype(prediction.dtype, np.integer)):
            return PairFailure(str(pair.pred), f"{pair.pred}: the prediction holds {prediction.dtype} scores, but "
                               "--pred-label-map maps label predictions only; drop it for probability or logit "
                               "maps", pair.name)
        void = config.void_class if config.void_class is not None else config.pred_label_map.max_to + 1
        try:
            prediction = apply_label_map(config.pred_label_map, prediction, void=void, unmapped_to_void=to_void)
        except UnmappedValueError as e:
            return PairFailure(str(pair.pred), f"{pair.pred}: the prediction {e} (--pred-label-map); "
                               f"{_unmapped_fix(e)}", pair.name)
    return target, prediction, ignore


def _unmapped_fix(e: UnmappedValueError) -> str:
    them = "it" if e.count == 1 else "them"
    return f"add {them} to the map ({e.values[0]}:ignore leaves a value out), or pass --unmapped ignore"


def evaluate(pairs: Sequence[Pair], config: SegConfig, workers: int = 1,
             on_result: Callable[[ImageOutcome | PairFailure], None] | None = None,
             ) -> list[ImageOutcome | PairFailure]:
    """:func:`evaluate_pair` over ``pairs``, in order, on ``workers`` cores: that many processes over the pairs
    when there are at least :data:`PAIRS_PER_PROCESS` pairs per process, else one process whose Lovász-Softmax
    computes the classes of an image in ``workers`` threads. The results do not depend on ``workers``.
    ``on_result`` is called with each result as it arrives (a progress display)."""
    processes, threads = _split_workers(workers, len(pairs))
    results: list[ImageOutcome | PairFailure] = []
    keep_freed_memory()
    if processes == 1:
        segmentation.set_threads(threads)
        try:
            for pair in pairs:
                results.append(evaluate_pair(pair, config))
                if on_result:
                    on_result(results[-1])
        finally:
            segmentation.set_threads(1)
        return results
    chunk = max(1, len(pairs) // (processes * 8))
    with ProcessPoolExecutor(max_workers=processes, initializer=keep_freed_memory) as pool:
        for outcome in pool.map(evaluate_pair, pairs, [config] * len(pairs), chunksize=chunk):
            results.append(outcome)
            if on_result:
                on_result(outcome)
    return results


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse instead of handing it back to the kernel at once.

    Every image allocates and frees temporaries of its own size (the Lovász sort keys, the float64 sums); with
    glibc's defaults the top of the heap is trimmed after each free and the next image page-faults the same
    memory in again (and blocks above 32 MB are always fresh mappings). Measured with ``/usr/bin/time -v``: on 20
    W1 pairs 241k -> 14k minor page faults, system time from 25% to 4% of the CPU time; on 5 W2 pairs system time
    0.60 s -> 0.09 s. Peak memory is unchanged (freed memory is reused, not added). A no-op where
    the C library is not glibc, or when ``LOSSCTL_MALLOC_DEFAULTS`` is set (the benchmark measures both).
    """
    if os.environ.get("LOSSCTL_MALLOC_DEFAULTS"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4
    mallopt(m_mmap_max, 0)  # every block from the heap, also those above glibc's 32 MB mmap ceiling (2048^2 float64)
    mallopt(m_trim_threshold, 256 << 20)  # keep up to 256 MB freed at the top of the heap
    mallopt(m_top_pad, 64 << 20)


def resolve_workers(requested: int | None) -> int:
    """``None``/0 means auto: every core."""
    return requested or (os.cpu_count() or 1)


def _split_workers(workers: int, n_pairs: int) -> tuple[int, int]:
    """(processes, threads per process) for ``workers`` cores."""
    if workers > 1 and n_pairs >= PAIRS_PER_PROCESS * workers:
        return workers, 1
    return 1, max(1, workers)


def check_gate_names(gates: Sequence[Gate], config: SegConfig, baseline: bool = False) -> None:
    """Refuse gates on values this run does not compute (a usage error, before any file is read), and
    baseline gates without a ``baseline``."""
    computed = {s.name: s for s in config.selected()}
    regions = set(config.region_names())
    for g in gates:
        if g.statistic == "pooled" and g.name in computed and computed[g.name].opt_in:
            raise UsageError(f"--gate {g.text!r}: pooled() needs a confusion matrix; {g.name} has none (gate its "
                             f"mean, max({g.name}) or a percentile)")
        if g.cls in regions:  # a region: the name must be computed and have per-class values
            validate_gates([replace(g, cls="0")], computed, baseline=baseline)
    validate_gates([g for g in gates if g.cls not in regions], computed, class_names=config.class_names,
                   class_count=config.num_classes or len(config.class_names) or None, baseline=baseline)


def build_report(outcomes: Iterable[ImageOutcome | PairFailure], config: SegConfig,
                 gates: Sequence[Gate] = (), sources: dict[str, str] | None = None,
                 shard: str | None = None) -> dict[str, Any]:
    """The report document: config, per-image rows, summary, gates and errors (see README.md, "JSON").

    ``config.options`` and ``config.gates`` record the run exactly, so that :func:`merge_reports` can rebuild
    the report of a sharded run.
    """
    outcomes = sorted(outcomes, key=lambda o: o.pair.name if isinstance(o, ImageOutcome) else o.name)
    images = [o for o in outcomes if isinstance(o, ImageOutcome)]
    errors = [{"name": o.name, "file": o.file, "error": o.error} for o in outcomes if isinstance(o, PairFailure)]
    c = max([config.num_classes or 0, len(config.class_names)] + [o.confusion.shape[0] for o in images])
    if config.void_class is not None:  # the extra "predicted no class" column is no class
        c = config.void_class
    rows = [_image_row(o, c, config) for o in images]
    names = list(config.class_names) or [str(i) for i in range(c)]
    summary = summarize_rows(rows, c, config)
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
    document: dict[str, Any] = {
        "lossctl": __version__,
        "schema": REPORT_SCHEMA,
        "command": "seg",
        "config": {**(sources or {}), **config.to_dict(), "num_classes": c,
                   "class_names": names, "per_class_names": names + config.region_names(),
                   "values": [s.name for s in config.selected() if s.kind == "metric" or s.name in summary["mean"]],
                   "shard": shard, "gates": [g.text for g in gates], "options": options},
        "images": rows,
        "summary": summary,
        "gates": check_gates(gates, row_series(rows), summary, names + config.region_names()),
        "errors": errors,
    }
    return document


def select_shard(pairs: Sequence[Pair], shard: str | None) -> list[Pair]:
    """The K-th of N deterministic slices of the (name-sorted) pairs: every N-th pair, starting at K-1."""
    if shard is None:
        return list(pairs)
    k, n = parse_shard(shard)
    return list(pairs)[k - 1::n]


def parse_shard(shard: str) -> tuple[int, int]:
    """``"K/N"`` with 1 <= K <= N; anything else is a usage error."""
    try:
        k_text, n_text = shard.split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"malformed --shard {shard!r}; expected K/N, e.g. 2/8") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {shard}: K must be between 1 and N")
    return k, n


def merge_reports(documents: Sequence[dict[str, Any]], extra_gates: Sequence[Gate] = (),
                  expect: int | None = None) -> dict[str, Any]:
    """Combine the JSON reports of the shards of one run into the report the unsharded run would produce.

    Per-image metrics are recomputed from each image's confusion matrix (the class count may grow), losses are
    taken as reported, and the summary, pooled values and gates are computed again from the union. A gate given
    to the shards and again to the merge is checked once. ``expect`` (N) names the missing and repeated shards.
    """
    from lossctl.engine.gates import parse_gate, unique_gates

    if not documents:
        raise UsageError("lossctl merge needs at least one JSON report")
    first = documents[0]
    for doc in documents:
        if not (isinstance(doc, dict) and doc.get("command") == "seg" and isinstance(doc.get("config"), dict)
                and "options" in doc["config"] and {"images", "errors"} <= set(doc)):
            raise InputError("merge takes JSON reports of `lossctl seg -f json` (this one is not)")
        if _run_identity(doc) != _run_identity(first):
            raise InputError("these reports come from different runs (options, inputs or versions differ); "
                             "merge only the shards of one run")
    check_shards([doc["config"].get("shard") or "1/1" for doc in documents], expect)
    options = dict(first["config"]["options"])
    config = SegConfig.from_options(options)
    outcomes: list[ImageOutcome | PairFailure] = []
    losses = {s.name for s in registry.specs("seg", "loss")}
    opt_in = set(config.boundary_names())
    r = len(config.regions)
    for doc in documents:
        for row in doc["images"]:
            cm = np.asarray(row["confusion_matrix"], dtype=np.int64)
            outcome = ImageOutcome(
                Pair(row["name"], Path(row["pred"]), Path(row["gt"])), row["pred_kind"],
                {k: _nan(v) for k, v in row["values"].items() if k in losses},
                {k: v[:len(v) - r] for k, v in row["per_class"].items() if k in losses}, cm, list(row["notes"]),
                spacing=row.get("spacing"), spacing_source=row.get("spacing_source"))
            for k, v in row["per_class"].items():
                if k in opt_in:
                    outcome.boundary[k], outcome.boundary_regions[k] = v[:len(v) - r], v[len(v) - r:]
                elif k in losses and r:
                    outcome.loss_regions[k] = v[len(v) - r:]
            outcomes.append(outcome)
        outcomes += [PairFailure(e["file"], e["error"], e["name"]) for e in doc["errors"]]
    values = {name for doc in documents for name in doc["config"]["values"]}
    computed = {s.name: s for s in config.selected() if s.name in values}
    validate_gates(extra_gates, computed, class_names=config.class_names,
                   class_count=max(doc["config"]["num_classes"] for doc in documents))
    gates = unique_gates([parse_gate(t) for t in first["config"]["gates"]] + list(extra_gates))
    sources = {k: first["config"][k] for k in SOURCE_KEYS if k in first["config"]}
    document = build_report(outcomes, config, gates, sources)
    if "skipped" in first:
        document["skipped"] = first["skipped"]
    return document


def check_shards(shards: Sequence[str], expect: int | None = None) -> None:
    """Each of the shards ``1/N .. N/N`` exactly once (N: ``expect``, else the shards' own N); otherwise an
    :class:`InputError` naming the missing and repeated shard indexes."""
    parsed = [parse_shard(s) for s in shards]
    totals = sorted({n for _, n in parsed})
    if len(totals) > 1 or (expect is not None and totals != [expect]):
        want = f"--expect {expect}" if expect is not None else f"{totals[0]} shards"
        raise InputError(f"the reports were split into different numbers of shards ({', '.join(sorted(set(shards)))}),"
                         f" but merge wants {want}; give the shards of one run")
    n = totals[0]
    counts = {k: 0 for k in range(1, n + 1)}
    for k, _ in parsed:
        counts[k] += 1
    missing = [k for k, c in counts.items() if c == 0]
    repeated = [k for k, c in counts.items() if c > 1]
    if missing or repeated:
        parts = []
        if missing:
            parts.append(f"missing shard(s) {', '.join(map(str, missing))}")
        if repeated:
            parts.append(f"repeated shard(s) {', '.join(map(str, repeated))}")
        raise InputError(f"{' and '.join(parts)} of {n}; merge needs each of 1/{n} .. {n}/{n} exactly once "
                         "(rerun the missing ones, drop the repeats)")


def _run_identity(doc: dict[str, Any]) -> Any:
    cfg = doc["config"]
    return (doc["lossctl"], *(cfg.get(k) for k in SOURCE_KEYS), cfg["options"], cfg["gates"], doc.get("skipped"))


def _metrics_of(cm: np.ndarray, c: int, config: SegConfig) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Every selected metric of a confusion matrix of ``c`` classes, as the convention defines it: values and
    per-class vectors. When a prediction map can produce void, the matrix has one more "predicted no class"
    column: those pixels are false negatives of their class and false positives of none (the official
    Cityscapes evaluator's rule); the column enters no class mean nor per-class list, but accuracy counts the
    pixels as wrong."""
    values: dict[str, float] = {}
    per_class: dict[str, np.ndarray] = {}
    include = config.include(c)
    if config.void_class is not None:
        include = np.append(include, False)
    for spec in config.selected():
        if spec.kind != "metric" or spec.opt_in:  # boundary metrics come from label maps, not the matrix
            continue
        value, vector = spec.impl(config.convention).fn(cm, include, **config.params_for(spec))
        values[spec.name] = value
        if vector is not None:
            per_class[spec.name] = vector[:c]
    return values, per_class


def _matrix_size(c: int, config: SegConfig) -> int:
    return c + (config.void_class is not None)


def _image_row(o: ImageOutcome, c: int, config: SegConfig) -> dict[str, Any]:
    cm = overlap.pad_confusion(o.confusion, _matrix_size(c, config))
    values, per_class = _metrics_of(cm, c, config)
    regions = [labels for _, labels in config.regions]
    r = len(regions)
    if regions:  # the "predicted no class" column, if any, lies outside every region
        extra = overlap.region_scores(cm, regions, config.empty)  # type: ignore[arg-type]
        per_class = {k: np.concatenate([v, extra[k]]) if k in extra else v for k, v in per_class.items()}
    wanted = [s for s in config.selected() if (s.kind == "metric" and not s.opt_in) or s.name in o.losses]
    row_values = {s.name: _nullable_scalar(values[s.name] if s.kind == "metric" else o.losses[s.name])
                  for s in wanted}
    row_per_class = {s.name: _nullable(per_class[s.name]) for s in wanted if s.name in per_class}
    row_per_class.update({k: (v + [None] * (c - len(v)))[:c] + o.loss_regions.get(k, [None] * r)
                          for k, v in o.loss_per_class.items()})
    fill = _nullable_scalar(overlap.EMPTY_VALUES[config.empty])  # classes this image does not have
    for name, vector in o.boundary.items():
        classes = (vector + [fill] * (c - len(vector)))[:c]
        row_values[name] = _nullable_scalar(nanmean(np.array([_nan(v) for v in classes[1:]], dtype=np.float64)))
        row_per_class[name] = classes + o.boundary_regions.get(name, [None] * r)
    row: dict[str, Any] = {"name": o.pair.name, "pred": str(o.pair.pred), "gt": str(o.pair.gt),
                           "pred_kind": o.kind, "values": row_values, "per_class": row_per_class,
                           "confusion_matrix": cm.tolist(), "notes": o.notes}
    if o.spacing is not None:
        row["spacing"], row["spacing_source"] = o.spacing, o.spacing_source
    return row


def summarize_rows(rows: Sequence[dict[str, Any]], c: int, config: SegConfig) -> dict[str, Any]:
    """Statistics over images, per-class means, and pooled metrics from the summed confusion matrix."""
    names = [s.name for s in config.selected() if any(s.name in r["values"] for r in rows)]
    table = {n: np.array([_nan(r["values"].get(n)) for r in rows], dtype=np.float64) for n in names}
    stats: dict[str, dict[str, float | None]] = {k: {} for k in ("mean", "std", "min", "median", "max")}
    undefined: dict[str, int] = {}
    for n, v in table.items():
        kept = v[~np.isnan(v)]
        undefined[n] = int(v.size - kept.size)
        for stat, fn in (("mean", np.mean), ("std", np.std), ("min", np.min), ("median", np.median),
                         ("max", np.max)):
            stats[stat][n] = float(fn(kept)) if kept.size else None
    size = _matrix_size(c, config)
    total = np.zeros((size, size), dtype=np.int64)
    for r in rows:
        total += np.asarray(r["confusion_matrix"], dtype=np.int64)
    pooled_values, pooled_per_class = _metrics_of(total, c, config)
    if config.regions:
        extra = overlap.region_scores(total, [labels for _, labels in config.regions], config.empty)  # type: ignore
        pooled_per_class = {k: np.concatenate([v, extra[k]]) if k in extra else v
                            for k, v in pooled_per_class.items()}
    metric_names = [s.name for s in config.selected() if s.kind == "metric" and not s.opt_in]
    for spec in config.selected():  # a convention that forms a dataset's value its own way (nnU-Net)
        aggregate = spec.impl(config.convention).aggregate
        if spec.name in stats["mean"] and aggregate is not None and rows:
            matrix = np.array([[_nan(v) for v in r["per_class"][spec.name]] for r in rows], dtype=np.float64)
            stats["mean"][spec.name] = _nullable_scalar(aggregate(matrix, config.include(c)))
    per_class_mean = {}
    width = c + len(config.regions)
    for n in {k for r in rows for k in r["per_class"]}:
        m = np.array([[_nan(x) for x in r["per_class"][n]] for r in rows if n in r["per_class"]])
        per_class_mean[n] = [_nullable_scalar(nanmean(m[:, j])) for j in range(width)]
    return {
        "count": len(rows),
        "undefined": undefined,
        **stats,
        "pooled": {n: _nullable_scalar(pooled_values[n]) for n in metric_names},
        "per_class": {
            "mean": {n: per_class_mean[n] for n in sorted(per_class_mean, key=_order)},
            "pooled": {n: _nullable(pooled_per_class[n]) for n in metric_names if n in pooled_per_class},
        },
        "confusion_matrix": total.tolist(),
    }


def _order(name: str) -> int:
    return registry.names("seg").index(name)


def _nan(v: float | None) -> float:
    return float("nan") if v is None else v


def _nullable_scalar(v: float) -> float | None:
    return None if v is None or np.isnan(v) else float(v)


def _nullable(v: np.ndarray) -> list[float | None]:
    return [None if np.isnan(x) else float(x) for x in np.asarray(v, dtype=np.float64)]


__all__ = ["SegConfig", "ImageOutcome", "PairFailure", "LoadedPair", "load_pair", "label_maps", "evaluate_pair",
           "evaluate", "build_report",
           "check_gate_names", "resolve_workers", "select_shard", "parse_shard", "merge_reports"]
