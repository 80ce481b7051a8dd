"""The ``lossctl seg`` engine: evaluate prediction/ground-truth pairs and build the report document.

The work is split so that it can run in worker processes and be merged:

* :func:`evaluate_pair` reads one pair (:func:`~lossctl.engine.loading.load_pair`) and returns an
  :class:`ImageOutcome` (losses, the confusion matrix, boundary metrics, notes) or the pair's
  :class:`~lossctl.engine.loading.PairFailure`; it never raises for bad input. :func:`evaluate` runs it over the
  pairs on the cores asked for (:mod:`lossctl.engine.pool`).
* :func:`build_report` turns the outcomes into the report document (:class:`~lossctl.engine.schema.Report`):
  per-image metrics from each confusion matrix, the summary (:func:`~lossctl.engine.statistics.summarize_rows`),
  gates. Every writer renders this document; :func:`lossctl.engine.shards.merge_reports` rebuilds it from the
  documents of the shards of a run.

A row depends on its own pair and on the run's :class:`RunFacts`, which the first evaluated pair (by name) fixes:
the class count (given, or the channels of a first prediction that is a probability or logit map) and whether
the predictions are labels or maps. A later prediction that disagrees fails (:func:`admit`), so that every row is
final as soon as its pair is done when the class count is known then; ``evaluate(on_row=...)`` hands each row on
in name order at that moment (``lossctl seg -f ndjson`` streams them). With a class count inferred from the
labels, no row is final before the last pair (``config.rows_at_end`` says so).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lossctl import __version__, registry
from lossctl._numeric import nanmean
from lossctl.dataset import geometry
from lossctl.dataset.pairing import Pair
from lossctl.engine import instances as instance_values
from lossctl.engine import pool
from lossctl.engine.gates import Gate, check_gates, row_series
from lossctl.engine.loading import PairFailure, label_images, labels_in_chunks, load_pair, lovasz
from lossctl.engine.schema import REPORT_SCHEMA, ImageRow, Report
from lossctl.engine.seg_config import SegConfig, calibration_on_labels
from lossctl.engine.statistics import region_means, summarize_rows, to_nan, to_null, to_nulls
from lossctl.errors import InputError, UsageError, setting
from lossctl.inputs.chunked import ChunkedInput, chunk_rows, is_mapped, whole_map_reserve
from lossctl.inputs.seg import prepare
from lossctl import io
from lossctl.io import stores
from lossctl.metrics import boundary, calibration, overlap, topology


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
    #: Instance values: per class (index 0 is None) and per region; the per-instance rows of each class (by index)
    #: and region (by name).
    instances: dict[str, list[float | None]] = field(default_factory=dict)
    instance_regions: dict[str, list[float | None]] = field(default_factory=dict)
    instance_rows: dict[int | str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    #: Calibration values: the tally of each (see :mod:`lossctl.metrics.calibration`), from which its value comes.
    calibration: dict[str, Any] = field(default_factory=dict)


Outcome = ImageOutcome | PairFailure


def evaluate(pairs: Sequence[Pair], config: SegConfig, workers: int = 1,
             on_result: Callable[[Outcome], None] | None = None,
             on_row: Callable[[RunFacts, ImageRow], None] | None = None, cluster: Any = None) -> list[Outcome]:
    """:func:`evaluate_pair` over ``pairs``, in name order, on ``workers`` cores: that many processes over the
    pairs when there are at least :data:`~lossctl.engine.pool.PAIRS_PER_PROCESS` pairs per process, else one
    process whose Lovász-Softmax computes the classes of an image in ``workers`` threads; or, given a ``cluster``
    (a :class:`lossctl.engine.cluster.Cluster`), one task per pair on it. The results do not depend on where they
    were computed; each is :func:`admit`-ted against the run's :class:`RunFacts`. ``on_result`` is called with
    each result as soon as it is done, in any order (a progress display); ``on_row`` with the run's facts and
    each per-image row, in name order, as soon as it is final: as its pair and every pair before it are done when
    the class count is known by then (given, or the channels of the first prediction), never otherwise (the rows
    then come from :func:`build_report`)."""
    facts: RunFacts | None = None
    admitted: list[Outcome] = []

    def arrived(outcome: Outcome) -> None:  # in name order
        nonlocal facts
        if facts is None and isinstance(outcome, ImageOutcome):
            facts = run_facts(config, outcome)
        outcome = admit(outcome, facts, config) if facts is not None else outcome
        admitted.append(outcome)
        if on_row and facts is not None and facts.classes is not None and isinstance(outcome, ImageOutcome):
            on_row(facts, _image_row(outcome, facts.classes, config, config.region_mean_indices(
                _class_names(config, facts.classes))))

    ordered = sorted(pairs, key=lambda pair: pair.name)
    if cluster is not None:
        cluster.map(ordered, config, on_result=arrived, on_done=on_result)
    else:
        pool.map_in_order(evaluate_pair, ordered, config, workers, arrived, on_done=on_result,
                          keep=config.memory_budget())
    return admitted


#: The prediction kinds that are maps of scores (probabilities or logits), not labels.
MAP_KINDS = ("probs", "logits")


@dataclass(frozen=True)
class RunFacts:
    """What every row of a run depends on besides its own pair, fixed by the first pair evaluated (by name):
    ``classes``, the class count when it is known then (given, or the channels of a first prediction that is a
    map; None: inferred from the labels of every pair, at the end), ``source`` (``config.num_classes_source``),
    ``maps`` (the predictions are probability or logit maps, not labels) and ``first``, that pair's prediction."""

    classes: int | None
    source: str
    maps: bool
    first: str

    def rows_at_end(self) -> str | None:
        """Why no row is final before the last pair (``config.rows_at_end``), None when each is as its pair is
        done."""
        if self.classes is not None:
            return None
        return (f"the class count is inferred from the labels (the largest label + 1 of every pair), so no row is "
                f"final before the last pair; give {setting('num_classes')}, {setting('class_names')} or "
                f"{setting('dataset_json')} to have each row as its pair is done")


def given_classes(config: SegConfig) -> int | None:
    """The class count the settings give (the label map's void column aside), None when they give none."""
    if config.void_class is not None:
        return config.void_class
    return max(config.num_classes or 0, len(config.class_names)) or None


def run_facts(config: SegConfig, first: ImageOutcome) -> RunFacts:
    """The :class:`RunFacts` of a run whose first evaluated pair (by name) gave ``first``."""
    maps = first.kind in MAP_KINDS
    given = given_classes(config)
    if given is not None:
        return RunFacts(given, config.classes_source or "num_classes", maps, str(first.pair.pred))
    if maps:  # a single foreground map counts two
        return RunFacts(int(first.confusion.shape[0]), "channels", maps, str(first.pair.pred))
    return RunFacts(None, "labels", maps, str(first.pair.pred))


def admit(outcome: Outcome, facts: RunFacts, config: SegConfig) -> Outcome:
    """``outcome``, or the :class:`PairFailure` of a prediction that disagrees with the run's ``facts``: labels in
    a run of maps or a map in a run of labels (the kind is detected per file: a run's predictions are one kind),
    and, when the class count is the first map's channels, a map of more classes (one of fewer is a map of some of
    them, as a binary map among three-class ones)."""
    if not isinstance(outcome, ImageOutcome):
        return outcome
    pair, maps = outcome.pair, outcome.kind in MAP_KINDS
    if maps != facts.maps:
        what = {True: "a probability (or logit) map", False: "labels"}
        problem = (f"the prediction holds {what[maps]} but the run's first prediction ({facts.first}) holds "
                   f"{what[facts.maps]}; give predictions of one kind (every one labels, or every one a map)")
        return PairFailure(str(pair.pred), f"{pair.pred}: {problem}", pair.name)
    if facts.source == "channels" and outcome.confusion.shape[0] > (facts.classes or 0):
        problem = (f"the prediction map has {outcome.confusion.shape[0]} classes but the run's first one "
                   f"({facts.first}) has {facts.classes}, the run's class count; give every map the same channels "
                   f"(or the class count: {setting('num_classes')})")
        return PairFailure(str(pair.pred), f"{pair.pred}: {problem}", pair.name)
    return outcome


def _class_names(config: SegConfig, c: int) -> list[str]:
    """The names of the ``c`` classes: the given ones, else their indexes."""
    return list(config.class_names) or [str(i) for i in range(c)]


def evaluate_pair(pair: Pair, config: SegConfig) -> Outcome:
    """Load, check and evaluate one pair; its :class:`PairFailure`, any other :class:`InputError` (which names
    its file), and running out of memory become the pair's :class:`PairFailure` (the other pairs are still
    evaluated)."""
    stores.configure(config.storage_options)  # this process opens the pair's URLs with the run's options
    try:
        return _evaluate_pair(pair, config)
    except PairFailure as failure:
        return failure.detached()
    except InputError as e:
        return PairFailure.about(pair, e).detached()
    except MemoryError:
        fix = (f"free memory, use fewer {setting('workers')}, or set {setting('max_memory')} below the memory this "
               "machine has so that such files are refused (or chunked) up front")
        return PairFailure(str(pair.pred), f"{pair.pred}: not enough memory to evaluate it against {pair.gt}; {fix}",
                           pair.name, problem=f"not enough memory to evaluate it against its ground truth; {fix}")


def _evaluate_pair(pair: Pair, config: SegConfig) -> ImageOutcome:
    loaded = load_pair(pair, config)
    ids = instance_values.take_ids(loaded, pair, config)
    pred, gt, target, prediction = loaded.pred, loaded.gt, loaded.target, loaded.prediction
    ignore, notes, options = loaded.ignore, loaded.notes, loaded.options
    limit = config.memory_budget()
    labels = labels_in_chunks(config) and config.pred_kind in ("auto", "labels")
    soft = np.issubdtype(prediction.dtype, np.floating) or (
        config.pred_kind == "probs" and np.issubdtype(prediction.dtype, np.integer))
    held = 0 if not soft and is_mapped(target) else target.nbytes  # label chunks read a mapped target in parts
    rows = (None if config.pred_kind == "labels" and not labels else
            chunk_rows(prediction, target.shape, max(1, limit - held - whole_map_reserve(target.shape, soft and lovasz(
                config))), integers=config.pred_kind == "probs", labels=labels))
    foreign = any(config.convention_of(s.name) != "lossctl" for s in config.selected())
    if rows is not None and (config.boundary_names() or config.instance_names() or config.calibration_names()
                             or (soft and (foreign or config.regions))):
        raise PairFailure(str(pair.pred), f"{pair.pred}: evaluating it takes more than the memory budget of "
                          f"{io.memory_text(limit)}; raise {setting('max_memory')}, or use "
                          f"{setting('convention', 'lossctl')} without {setting('region')}, boundary metrics and "
                          "calibration values, which evaluates such maps in chunks", pair.name)
    try:
        if rows is None:
            x = prepare(prediction, target, **options)  # type: ignore[arg-type]
        else:  # too large for the budget: chunks of the leading spatial axis, the same numbers
            x = ChunkedInput(prediction, target, rows, **options)
    except InputError as e:
        file = pair.gt if e.subject == "target" else pair.pred
        name, used = (("label_map", config.label_map) if e.subject == "target" else
                      ("pred_label_map", config.pred_label_map))
        after = f"after {setting(name)} {used.name}, " if used is not None else ""  # the values it names are mapped
        raise PairFailure(str(file), f"{file}: {after}{e.raw}", pair.name) from None
    losses: dict[str, float] = {}
    loss_per_class: dict[str, list[float | None]] = {}
    include = config.include(x.num_classes)
    for spec in config.selected():
        if spec.kind != "loss" or (x.soft is None and not config.values):
            continue
        if x.soft is None:
            raise PairFailure(str(pair.pred), f"{pair.pred}: {spec.name} needs probabilities or logits, but the "
                              "prediction holds labels; drop the loss or give the model's maps", pair.name)
        value, per_class = spec.evaluate(x, config.convention_of(spec.name), include=include,
                                         context={"ignoring": bool(config.ignore_index)}, **config.params_for(spec))
        losses[spec.name] = value
        if per_class is not None:
            loss_per_class[spec.name] = to_nulls(per_class)
    outcome = ImageOutcome(pair, x.kind, losses, loss_per_class, x.confusion, notes + x.notes)
    if config.calibration_names():
        if x.soft is None:
            raise UsageError(f"{pair.pred}: {calibration_on_labels(config.calibration_names()[0])}")
        samples = calibration.samples_of(x)
        for name in config.calibration_names():
            spec = registry.get("seg", name)
            outcome.calibration[name] = spec.measure(x, config.convention_of(name), include=include,
                                                     samples=samples, **config.params_for(spec))[2]
    if config.regions and loss_per_class:
        outcome.loss_regions = _region_losses(x, config, list(loss_per_class))
    if config.boundary_names():
        _evaluate_boundary(outcome, x, target, ignore, pred, gt, config)
    if config.instance_names():
        _evaluate_instances(outcome, x, target, ignore, pred, gt, config, ids)
    volumes = any(s.volume for s in config.selected())  # avd: the voxel volume, 1.0 per axis without a spacing
    if outcome.spacing is None and (volumes or gt.spacing is not None or pred.spacing is not None
                                    or config.spacing is not None):
        try:  # volumes: the spacing is reported even without boundary metrics
            spacing, source = geometry.resolve_spacing(pred, gt, target.ndim, config.spacing)
        except InputError as e:
            raise PairFailure(str(pair.gt), f"{pair.gt}: {e.raw}", pair.name) from None
        outcome.spacing, outcome.spacing_source = list(spacing), source
    return outcome


def _evaluate_boundary(outcome: ImageOutcome, x: Any, target: np.ndarray, ignore: tuple[int, ...],
                       pred: io.Loaded, gt: io.Loaded, config: SegConfig) -> None:
    """Fill ``outcome``'s boundary and topology metrics (per class, per region); a problem is the pair's
    :class:`PairFailure` (blamed on the ground truth)."""
    def failure(message: str) -> PairFailure:
        return PairFailure(str(outcome.pair.gt), f"{gt.path}: {message}", outcome.pair.name)

    pred_map, gt_map = label_images(x, target, ignore)
    c = x.num_classes if config.void_class is None else config.void_class  # "predicted no class" is no class
    classes = [(k,) for k in range(1, c)]
    for name, labels in config.regions:
        if c and max(labels) >= c and (config.num_classes is not None or x.soft is not None):
            raise failure(f"{setting('region', name)} names label {max(labels)} but there are {c} classes "
                          f"(0..{c - 1}); fix the region's labels")
        classes.append(tuple(labels))
    values: dict[str, np.ndarray] = {}
    if config.surface_names():
        values.update(_surface_values(pred_map, gt_map, classes, outcome, pred, gt, config, failure))
    by_convention: dict[str, list[str]] = {}
    for name in config.topology_names():
        by_convention.setdefault(config.convention_of(name), []).append(name)
    for convention, names in by_convention.items():
        band = config.params_for(registry.get("seg", "boundary_iou")) if "boundary_iou" in names else {}
        try:
            values.update(topology.topology_metrics(pred_map, gt_map, classes, names, convention=convention,
                                                    both_empty=overlap.EMPTY_VALUES[config.empty], **band))
        except ValueError as e:  # a rank without skeletons
            raise failure(f"{e}; evaluate these images without cldice") from None
    n = len(classes) - len(config.regions)
    for name in config.boundary_names():
        outcome.boundary[name] = [None, *to_nulls(values[name][:n])]
        outcome.boundary_regions[name] = to_nulls(values[name][n:])


def _surface_values(pred_map: np.ndarray, gt_map: np.ndarray, classes: list[tuple[int, ...]],
                    outcome: ImageOutcome, pred: io.Loaded, gt: io.Loaded, config: SegConfig,
                    failure: Callable[[str], PairFailure]) -> dict[str, np.ndarray]:
    """The boundary (surface-distance) metrics of every entry of ``classes``, in the image's spacing (recorded in
    ``outcome``, with a note when the files have none)."""
    try:
        spacing, source = geometry.resolve_spacing(pred, gt, gt_map.ndim, config.spacing)
    except InputError as e:
        raise failure(e.raw) from None
    taus = config.nsd_tolerance
    if len(taus) not in (1, len(classes)):
        raise failure(f"{setting('nsd_tolerance')} gives {len(taus)} values but there are "
                      f"{len(classes) - len(config.regions)} foreground classes and {len(config.regions)} region(s); "
                      "give one value, or one per foreground class and region")
    by_convention: dict[str, list[str]] = {}  # the distance sets are computed once per convention
    for name in config.surface_names():
        by_convention.setdefault(config.convention_of(name), []).append(name)
    values: dict[str, np.ndarray] = {}
    for convention, names in by_convention.items():
        values.update(boundary.boundary_metrics(
            pred_map, gt_map, classes, names, spacing=spacing, convention=convention,
            percentile=config.params_for(registry.get("seg", "hd95")).get("percentile", 95.0)  # MedPy fixes 95
            if "hd95" in names else 95.0,
            tolerances=taus[0] if len(taus) == 1 else taus, both_empty=overlap.EMPTY_VALUES[config.empty],
            one_empty=None if config.empty_distance == "diagonal" else float(config.empty_distance)))
    outcome.spacing, outcome.spacing_source = list(spacing), source
    if source == "default":
        outcome.notes.append("no voxel spacing in the files: boundary metrics use 1.0 per axis "
                             f"(pass {setting('spacing')})")
    return values


def _evaluate_instances(outcome: ImageOutcome, x: Any, target: np.ndarray, ignore: tuple[int, ...],
                        pred: io.Loaded, gt: io.Loaded, config: SegConfig,
                        ids: tuple[np.ndarray, np.ndarray] | None) -> None:
    """Fill ``outcome``'s instance values and rows (per class, per region; see :mod:`lossctl.engine.instances`);
    a problem is the pair's :class:`PairFailure`."""
    try:
        spacing, source = geometry.resolve_spacing(pred, gt, target.ndim, config.spacing)
    except InputError as e:
        raise PairFailure(str(outcome.pair.gt), f"{gt.path}: {e.raw}", outcome.pair.name) from None
    pred_map, gt_map = label_images(x, target, ignore) if ids is None else (None, None)
    entries, n = instance_values.instance_entries(pred_map, gt_map, x.num_classes, config, ids)
    try:
        values, rows = instance_values.evaluate_entries(entries, config, spacing, labelled=ids is not None)
    except ValueError:  # a connectivity rank this image cannot take
        raise PairFailure(str(outcome.pair.gt), f"{gt.path}: {setting('connectivity', config.connectivity)} is "
                          f"more than the {target.ndim} axes of this image; give a rank from 1 (faces) to "
                          f"{target.ndim}", outcome.pair.name) from None
    for name, v in values.items():
        outcome.instances[name] = [None, *v[:n]]
        outcome.instance_regions[name] = v[n:]
    outcome.instance_rows = rows
    outcome.spacing, outcome.spacing_source = list(spacing), source


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
            _, per_class = spec.evaluate(binary, config.convention_of(name), context={"ignoring": False},
                                         **config.params_for(spec))
            out[name].append(None if per_class is None or np.isnan(per_class[1]) else float(per_class[1]))
    return out


def build_report(outcomes: Iterable[Outcome], config: SegConfig, gates: Sequence[Gate] = (),
                 sources: dict[str, str] | None = None, shard: str | None = None) -> Report:
    """The report document: config, per-image rows, summary, gates and errors (see docs/output.md, "The JSON
    document"); the outcomes :func:`admit`-ted against the :class:`RunFacts` of the first by name.

    ``config.options`` and ``config.gates`` record the run exactly, so that
    :func:`~lossctl.engine.shards.merge_reports` can rebuild the report of a sharded run.
    """
    outcomes = sorted(outcomes, key=lambda o: o.pair.name if isinstance(o, ImageOutcome) else o.name)
    first = next((o for o in outcomes if isinstance(o, ImageOutcome)), None)
    facts = run_facts(config, first) if first is not None else None
    if facts is not None:
        outcomes = [admit(o, facts, config) for o in outcomes]
    images = [o for o in outcomes if isinstance(o, ImageOutcome)]
    c = facts.classes if facts is not None and facts.classes is not None else (
        given_classes(config) or max([0] + [o.confusion.shape[0] for o in images]))
    at = config.region_mean_indices(_class_names(config, c))
    rows = [_image_row(o, c, config, at) for o in images]
    summary = summarize_rows(rows, c, config, at)
    head = report_head(config, c, facts, gates, sources, shard)
    names = head["config"]["per_class_names"]
    if config.instance_names():
        _instance_summary(summary, rows, head["config"]["class_names"], config)
    # how the results read, known once every image is done (so not in the config, which -f ndjson writes first)
    summary["units"] = distance_units(config, rows)
    summary["not_applicable"] = config.not_applicable(summary["per_class"]["mean"], head["config"]["class_names"])
    return {**head, "images": rows, "summary": summary,  # type: ignore[typeddict-item]
            "gates": check_gates(gates, row_series(rows), summary, names),
            "errors": [o.entry() for o in outcomes if isinstance(o, PairFailure)]}


#: The fields of :class:`SegConfig` that say how the run is executed, not what it computes: not in
#: ``config.options`` (which merge compares between shards).
EXECUTION_OPTIONS = ("storage_options",)


def report_head(config: SegConfig, c: int, facts: RunFacts | None, gates: Sequence[Gate] = (),
                sources: dict[str, str] | None = None, shard: str | None = None) -> Report:
    """The report document before its rows: version, schema, command and ``config`` (of a run of ``c`` classes
    with these ``facts``; None: no pair was evaluated). It depends on nothing a later pair can change once the
    facts give the class count, so that it can be written before the rows (``-f ndjson``)."""
    names = _class_names(config, c)
    options = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()
               if k not in EXECUTION_OPTIONS}
    source = facts.source if facts is not None else (
        (config.classes_source or "num_classes") if given_classes(config) is not None else None)
    maps = facts is not None and facts.maps
    return {
        "lossctl": __version__,
        "schema": REPORT_SCHEMA,
        "command": "seg",
        "config": {**(sources or {}), **config.to_dict(), "num_classes": c, "num_classes_source": source,
                   "average": config.averaging(c), "notes": config.run_notes(c), "class_names": names,
                   "per_class_names": names + config.region_names(),
                   "values": [s.name for s in config.selected() if s.kind == "metric" or maps],
                   "rows_at_end": facts.rows_at_end() if facts is not None else None,
                   "shard": shard, "gates": [g.text for g in gates], "options": options,
                   **({"storage_options": stores.redacted(config.storage_options)} if config.storage_options
                      else {})},
    }


def distance_units(config: SegConfig, rows: Sequence[ImageRow]) -> dict[str, str]:
    """``summary.units``: the unit of each boundary distance (hd, hd95, assd, masd) of the run: ``mm`` when every
    image's spacing came from its header or was given (the header's unit, millimetres by the formats'
    convention), ``px`` (2D) or ``voxels`` (3D) when every image used 1.0 per axis, ``mixed`` otherwise; and of
    each volume (avd): ``mm^2`` (2D) or ``mm^3`` (3D) with such spacings, else ``px`` or ``voxels`` (counts), ``mixed``
    otherwise; none without an evaluated image."""
    def unit(power: bool) -> str | None:
        kinds = {("mm" + (f"^{len(row['spacing'])}" if power else "")) if row["spacing_source"] in ("header", "given")
                 else "px" if len(row["spacing"]) == 2 else "voxels" for row in rows if "spacing" in row}
        return None if not kinds else kinds.pop() if len(kinds) == 1 else "mixed"
    length, volume = unit(False), unit(True)
    return {s.name: (volume if s.volume else length) for s in config.selected()
            if (s.distance and length) or (s.volume and volume)}


def voxel_volume(spacing: Sequence[float] | None) -> float:
    """The volume of one voxel (the product of the spacing; 1.0 without one): what avd counts each voxel as."""
    return float(np.prod(spacing)) if spacing else 1.0


def _count(v: float | None) -> int | None:
    return None if v is None else int(v)


def _instance_summary(summary: Any, rows: list[ImageRow], names: list[str], config: SegConfig) -> None:
    """Add the instance values' pooled values and recall by size to ``summary``."""
    entries = names[1:] + config.region_names()
    image_rows = [r.get("instances", {}) for r in rows]  # type: ignore[misc]
    headline, per_entry = instance_values.pooled_summary(image_rows, entries, names[1:], config)
    for name, value in headline.items():
        summary["pooled"][name] = _count(value) if name in instance_values.COUNTS else value
        vector = per_entry[name]
        summary["per_class"]["pooled"][name] = [None] + ([_count(v) for v in vector]
                                                         if name in instance_values.COUNTS else vector)
    if config.size_bins:
        volumes = [float(np.prod(r["spacing"])) if "spacing" in r else 1.0 for r in rows]
        summary["recall_by_size"] = instance_values.size_summary(image_rows, volumes, entries, config)


def _image_row(o: ImageOutcome, c: int, config: SegConfig, at: Sequence[int] = ()) -> ImageRow:
    cm = overlap.pad_confusion(o.confusion, config.matrix_size(c))
    values, per_class = config.matrix_metrics(cm, c, voxel_volume(o.spacing))
    r = len(config.regions)
    if r:  # the "predicted no class" column, if any, lies outside every region
        extra = config.region_metrics(cm, c, voxel_volume(o.spacing))
        per_class = {k: np.concatenate([v, extra[k]]) if k in extra else v for k, v in per_class.items()}
    wanted = [s for s in config.selected() if (s.kind == "metric" and not s.opt_in) or s.name in o.losses]
    row_values = {s.name: to_null(values[s.name] if s.kind == "metric" else o.losses[s.name]) for s in wanted}
    row_per_class = {s.name: to_nulls(per_class[s.name]) for s in wanted if s.name in per_class}
    row_per_class.update({k: (v + [None] * (c - len(v)))[:c] + o.loss_regions.get(k, [None] * r)
                          for k, v in o.loss_per_class.items()})
    fill = to_null(overlap.EMPTY_VALUES[config.empty])  # classes this image does not have
    for name, vector in o.boundary.items():
        classes = (vector + [fill] * (c - len(vector)))[:c]
        row_values[name] = to_null(nanmean(np.array([to_nan(v) for v in classes[1:]], dtype=np.float64)))
        row_per_class[name] = classes + o.boundary_regions.get(name, [None] * r)
    for name, tally in o.calibration.items():
        value, vector = calibration_value(name, tally, c, config)
        row_values[name] = to_null(value)
        if vector is not None:
            row_per_class[name] = to_nulls(vector)[:c] + [None] * (c - len(vector)) + [None] * r
    for name, vector in o.instances.items():
        empty = instance_values.empty_value(name, config)
        classes = (vector + [empty] * (c - len(vector)))[:c]
        classes[0] = None
        row_values[name] = instance_values.combine(name, classes[1:])
        row_per_class[name] = classes + o.instance_regions.get(name, [None] * r)
        if name in instance_values.COUNTS:
            row_values[name] = _count(row_values[name])
            row_per_class[name] = [_count(v) for v in row_per_class[name]]
    row: ImageRow = {"name": o.pair.name, "pred": str(o.pair.pred), "gt": str(o.pair.gt),
                     "pred_kind": o.kind, "values": row_values, "per_class": row_per_class}
    if at:  # a region-based dataset: the mean over its regions, of each value that has them
        row["region_mean"] = region_means(row_per_class, at)
    row.update({"confusion_matrix": cm.tolist(), "notes": o.notes})
    if o.instance_rows:
        class_names = list(config.class_names) or [str(i) for i in range(c)]
        row["instances"] = {class_names[k] if isinstance(k, int) else k: v  # type: ignore[typeddict-item]
                            for k, v in o.instance_rows.items()}
    if o.spacing is not None:
        row["spacing"], row["spacing_source"] = o.spacing, o.spacing_source  # type: ignore[typeddict-item]
    if o.calibration:
        row["calibration"] = o.calibration
    return row


def calibration_value(name: str, tally: Any, c: int, config: SegConfig) -> tuple[float, np.ndarray | None]:
    """Calibration value ``name`` (and its per-class vector or None) of a tally (an image's, or their sum) of a run
    of ``c`` classes."""
    spec = registry.get("seg", name)
    impl = spec.impl(config.convention_of(name))
    return impl.fn(tally, config.include(c), **config.params_for(spec))


__all__ = ["ImageOutcome", "Outcome", "RunFacts", "MAP_KINDS", "evaluate", "evaluate_pair", "run_facts",
           "admit", "given_classes", "build_report", "report_head",
           "distance_units"]
