"""The configuration of a ``lossctl seg`` run: :class:`SegConfig`, everything that decides the numbers.

It says which values are computed (:meth:`SegConfig.selected`) with which parameters under which convention
(the run's, or a value's own: :meth:`SegConfig.convention_of`), which classes enter class means and how a
two-class run averages them (:meth:`SegConfig.averaging`), how label maps and regions apply, and what a confusion
matrix yields (:meth:`SegConfig.matrix_metrics`). The report records it twice: readable (``config``,
:meth:`SegConfig.to_dict`) and exact (``config.options``, from which :meth:`SegConfig.from_options` rebuilds it
for ``lossctl merge``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np

from lossctl import registry
from lossctl.dataset.label_maps import LabelMap
from lossctl.errors import NotAvailable, UsageError, setting
from lossctl import io
from lossctl.metrics import instances
from lossctl.metrics.boundary import BOUNDARY_METRICS
from lossctl.metrics.topology import TOPOLOGY_METRICS
from lossctl.metrics.lesions import shared_parameters
from lossctl.metrics.counting import VOLUME_CONTEXT
from lossctl.metrics import overlap
from lossctl.metrics.overlap import AVERAGE_CONTEXT


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
    #: The run's convention: that of every value without one of its own.
    convention: str = "lossctl"
    #: Values computed under a convention of their own (``-m hd95:medpy``): name -> convention.
    conventions: dict[str, str] = field(default_factory=dict)
    #: Voxel spacing per spatial axis (--spacing): for files without one, and over the headers' when given.
    spacing: tuple[float, ...] | None = None
    #: nsd's tolerance τ: one value for every class, or one per foreground class followed by one per region.
    nsd_tolerance: tuple[float, ...] = (1.0,)
    #: The distances of a class present in exactly one mask: "diagonal" (the image's), "nan" or a number.
    empty_distance: str = "diagonal"
    #: Label unions evaluated as extra binary classes, (name, labels), reported after the classes.
    regions: tuple[tuple[str, tuple[int, ...]], ...] = ()
    #: A region-based dataset.json's regions as nnU-Net evaluates them (class and region names): the per-class
    #: entries whose mean is reported as ``region_mean``; empty: none.
    region_mean: tuple[str, ...] = ()
    label_map: LabelMap | None = None  # applied to the ground truth before anything is computed
    pred_label_map: LabelMap | None = None  # applied to label predictions
    unmapped: str = "error"  # a value a map does not name: "error", or "ignore" (void)
    #: How dice, iou, precision and recall average the classes: "auto" (class 1 of a two-class run under a
    #: convention that reports it, else the class mean), "foreground" (class 1) or "mean".
    average: str = "auto"
    #: The stored value that means probability 1 in a probability map (None: uint8 maps v / 255, uint16 v / 65535).
    prob_scale: float | None = None
    #: The prediction's axes in the ground truth's order: "reversed" (its spatial axes), a permutation of its axes
    #: (numpy.transpose's), or None (as stored; reversed only when both files say their orders and they differ).
    pred_axes: str | tuple[int, ...] | None = None
    #: "check": two headers must agree; "gt": a prediction whose header is an identity takes the ground truth's.
    geometry: str = "check"
    #: Where a given class count comes from ("num_classes", "class_names", "dataset_json", "label_map"); None:
    #: from the data (the report's ``config.num_classes_source`` then says which).
    classes_source: str | None = None
    #: Instances of the instance values: "cc" (connected components of each class and region) or "labels" (maps of
    #: instance ids, one foreground class); None: no instance value may be asked for.
    instances: str | None = None
    #: The components' neighbourhood rank (1: faces .. ndim: the full neighbourhood); None: the convention's.
    connectivity: int | None = None
    #: The matcher ("greedy", "hungarian", "merge"); None: the convention's.
    match: str | None = None
    match_metric: str = "iou"
    match_threshold: float = 0.5
    #: Edges of the ground-truth size bins of ``summary.recall_by_size`` (empty: none), in ``size_unit``.
    size_bins: tuple[float, ...] = ()
    size_unit: str = "voxels"
    #: How files behind URLs are opened (:mod:`lossctl.io.stores`: the filesystem's keyword arguments, e.g.
    #: ``endpoint_url``). An execution option: it travels with each pair to the process that reads it, is recorded
    #: redacted as ``config.storage_options``, and is not one of the ``config.options`` that merge compares.
    storage_options: dict[str, Any] = field(default_factory=dict, compare=False)

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
                             f"({setting('num_classes')} or {setting('class_names')})")
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
        return list(_selected(tuple(self.values), self.convention, self.pred_kind))

    def boundary_names(self) -> list[str]:
        """The values asked for that come from the label images but not from instances, in catalogue order: the
        boundary metrics (:meth:`surface_names`) and the topology metrics (:meth:`topology_names`)."""
        return [s.name for s in self.selected() if s.opt_in and not s.instance and not s.calibration]

    def calibration_names(self) -> list[str]:
        """The calibration values asked for, in catalogue order."""
        return [s.name for s in self.selected() if s.calibration]

    def surface_names(self) -> list[str]:
        """The boundary (surface-distance) metrics asked for, which read the spacing, in catalogue order."""
        return [name for name in self.boundary_names() if name in BOUNDARY_METRICS]

    def topology_names(self) -> list[str]:
        """The topology and boundary-overlap metrics asked for (cldice, boundary_iou), in catalogue order."""
        return [name for name in self.boundary_names() if name in TOPOLOGY_METRICS]

    def instance_names(self) -> list[str]:
        """The instance values asked for, in catalogue order."""
        return [s.name for s in self.selected() if s.instance]

    def opt_in_names(self) -> list[str]:
        """The values computed from label images, not the confusion matrix: boundary and instance values."""
        return [s.name for s in self.selected() if s.opt_in]

    def instance_convention(self) -> str | None:
        """The one convention of the run's instance values (None: it has none)."""
        used = list(dict.fromkeys(self.convention_of(n) for n in self.instance_names()))
        return used[0] if used else None

    def lesion_mode(self) -> bool:
        """Whether the instance values come from the BraTS lesion-wise evaluation (the brats convention, or only
        lesion values asked for) rather than from a matching."""
        names = self.instance_names()
        return bool(names) and (self.instance_convention() == "brats" or all(n.startswith("lesion_") for n in names))

    def match_rule(self) -> dict[str, Any]:
        """How instances are made and matched, as recorded in ``config.instances`` (the convention fills what the
        run leaves open; ``strict``: the threshold test is ``>`` rather than ``>=``, a rule of the convention)."""
        convention = self.instance_convention()
        if self.lesion_mode():
            return {"instances": self.instances, "rule": "brats", "connectivity": "full neighbourhood (26 in 3D)"}
        rule = instances.CONVENTIONS[convention or "lossctl"]
        matcher = self.match or rule.matcher_for(self.match_threshold)[0]
        rank = None if self.instances == "labels" else self.connectivity if self.connectivity is not None else (
            "full neighbourhood" if rule.rank_2d == 2 else f"{rule.rank_2d} in 2D, full neighbourhood in 3D")
        return {"instances": self.instances, "connectivity": rank, "match": matcher,
                "match_metric": self.match_metric, "match_threshold": self.match_threshold, "strict": rule.strict}

    def check_instances(self) -> None:
        """Refuse, before any file is read, instance values without instances, instances without instance values,
        instance values under two conventions, an explicit matcher under hovernet (its threshold decides it), and
        lesion values with ``labels`` instances."""
        names = self.instance_names()
        if names and self.instances is None:
            raise UsageError(f"{', '.join(names)} {'needs' if len(names) == 1 else 'need'} instances: add "
                             f"{setting('instances', 'cc')} (connected components of each class) or "
                             f"{setting('instances', 'labels')} (maps of instance ids)")
        if self.instances is not None and not names:
            raise UsageError(f"{setting('instances', self.instances)} makes instances for the instance values; ask "
                             "for one (e.g. -m pq), or drop it")
        used = list(dict.fromkeys(self.convention_of(n) for n in names))
        if len(used) > 1:
            raise UsageError(f"the instance values are asked under {' and '.join(used)}; they share one matching: "
                             "give them one convention")
        if used and used[0] == "hovernet" and self.match is not None:
            raise UsageError(f"{setting('match', self.match)}: under {setting('convention', 'hovernet')} the "
                             f"threshold decides the matcher (unique pairs at 0.5 and above, Hungarian below); "
                             f"drop {setting('match')}")
        if self.lesion_mode() and self.instances == "labels":
            raise UsageError(f"{', '.join(names)} under BraTS rules make their own lesions from each region's "
                             f"mask; use {setting('instances', 'cc')}")
        if self.lesion_mode() and (self.match is not None or self.connectivity is not None):
            raise UsageError(f"BraTS lesion-wise values fix their components and matching; drop "
                             f"{setting('match') if self.match is not None else setting('connectivity')}")

    def region_names(self) -> list[str]:
        return [name for name, _ in self.regions]

    def not_applicable(self, per_class: Iterable[str], class_names: Sequence[str]) -> dict[str, list[str]]:
        """``summary.not_applicable``: of the values with per-class lists (``per_class``), the entries the rules
        leave out (``null`` by rule, not 0/0), by class name: the background (class 0) of every boundary metric
        (measured on the foreground classes), and of every per-class loss when the background is excluded."""
        if not class_names:
            return {}
        out = {}
        for name in per_class:
            spec = registry.get("seg", name)
            if (spec.opt_in and not spec.calibration) or (spec.kind == "loss" and not self.include_background):
                out[name] = [class_names[0]]
        return out

    def region_mean_indices(self, class_names: list[str]) -> list[int]:
        """The positions in the per-class vectors (``class_names``, then the regions) of the entries whose mean
        is ``region_mean`` (empty: the run has none)."""
        entries = list(class_names) + self.region_names()
        return [entries.index(name) for name in self.region_mean]

    def convention_of(self, name: str) -> str:
        """The convention value ``name`` is computed under: its own, else the run's."""
        return self.conventions.get(name, self.convention)

    def memory_budget(self) -> int:
        """The bytes one pair may use: ``max_memory``, else :func:`~lossctl.io.budget.default_memory_budget`
        (of the memory available now, in this process)."""
        return io.default_memory_budget() if self.max_memory is None else self.max_memory

    def unavailable(self) -> dict[str, str]:
        """Values the convention lacks (or that need logits under it), with the reason (the counting metrics,
        computed on request only, aside)."""
        return {s.name: r for s in registry.specs("seg")
                if not s.on_request and (r := s.unavailable(self.convention, self.pred_kind))}

    def include(self, num_classes: int) -> np.ndarray:
        """(C,) bool: the classes that enter class means."""
        keep = np.ones(num_classes, dtype=bool)
        if not self.include_background and num_classes:
            keep[0] = False
        return keep

    def params_for(self, spec: registry.Spec) -> dict[str, Any]:
        """The parameters applied to ``spec``: the convention's defaults with this run's overrides (a metric that
        has an ``empty`` parameter takes ``--empty``'s value unless set by name; scikit-learn's ``labels`` is
        ``"all"``, its ``labels=range(C)``, when the class count is given, else ``"present"``, its
        ``labels=None``), under the value's convention (its own, else the run's)."""
        convention = self.convention_of(spec.name)
        overrides = dict(self.params.get(spec.name, {}))
        impl = spec.impl(convention)
        if impl.param("task") is not None:  # the lesion values share their parameters
            overrides = self._lesion_overrides(spec.name)
        if spec.kind == "metric" and impl.param("empty") is not None:
            overrides.setdefault("empty", self.empty)
        if spec.kind == "metric" and impl.param("labels") is not None:
            overrides.setdefault("labels", "all" if self.num_classes is not None else "present")
        return spec.resolve(convention, overrides)

    def _lesion_overrides(self, owner: str) -> dict[str, Any]:
        """The parameters every lesion-wise value shares: those given to any of them (two different values of one
        parameter are a :class:`UsageError`), a task expanded into its dilation and min_volume."""
        merged: dict[str, Any] = {}
        source: dict[str, str] = {}
        for spec in registry.specs("seg"):  # given to any of them, asked for or not
            if spec.name in self.params and spec.instance and "task" in self.params_names(spec):
                for key, value in self.params[spec.name].items():
                    if key in merged and merged[key] != value:
                        raise UsageError(f"{source[key]}.{key}={merged[key]} and {spec.name}.{key}={value}: the "
                                         "lesion-wise values share their parameters; give one value")
                    merged[key], source[key] = value, spec.name
        return shared_parameters(merged, owner)

    def params_names(self, spec: registry.Spec) -> list[str]:
        """The parameter names of ``spec`` under its convention (none when the convention lacks it)."""
        impl = spec.conventions.get(self.convention_of(spec.name))
        return [p.name for p in impl.params] if impl is not None else []

    def _takes_average(self, spec: registry.Spec) -> bool:
        """Whether ``spec``, under its convention (its own, else the run's), takes the run's averaging."""
        impl = spec.conventions.get(self.convention_of(spec.name))
        return impl is not None and AVERAGE_CONTEXT in impl.context

    def reports_foreground(self) -> bool:
        """Whether the class metrics can report class 1 of a two-class run (lossctl; scikit-learn's
        ``average='binary'``): their registry rows, under the run's convention or a value's own, take the
        averaging. A value whose own convention has no such rule (``dice`` under MONAI) keeps that rule."""
        return any(self._takes_average(s) for s in registry.specs("seg", "metric"))

    def averaged_metrics(self) -> list[str]:
        """The selected metrics whose value the averaging decides (dice, iou, precision, recall, each under a
        convention that takes it)."""
        return [s.name for s in self.selected() if s.kind == "metric" and not s.opt_in and self._takes_average(s)]

    def check_average(self) -> None:
        """Refuse, before any file is read, an averaging the convention does not have or the given class count
        cannot take, and ``foreground`` for a value computed under a convention of its own that has its own class
        mean (the message says ``NAME under convention CONV``; the command line spells the value as it was
        given)."""
        if self.average == "foreground" and not self.reports_foreground():
            raise UsageError(f"{setting('average', 'foreground')}: under {setting('convention', self.convention)} "
                             "its class metrics follow that framework's own class mean; drop "
                             f"{setting('average')} (with two classes, {setting('exclude_background')} leaves "
                             "class 1 alone in the mean)")
        if self.average == "foreground":  # mixed conventions: a class metric whose convention has its own mean
            for s in self.selected():
                if (s.kind == "metric" and not s.opt_in and not self._takes_average(s)
                        and any(AVERAGE_CONTEXT in impl.context for impl in s.conventions.values())):
                    conv = self.convention_of(s.name)
                    under = (f"convention {conv}" if s.name in self.conventions else setting("convention", conv))
                    raise UsageError(f"{setting('average', 'foreground')}: {s.name} under {under} follows that "
                                     f"framework's own class mean; drop {setting('average')}, or compute {s.name} "
                                     "under a convention that reports class 1 (lossctl, sklearn)")
        count = self.num_classes or len(self.class_names) or None
        if self.average == "foreground" and count is not None and count != 2:
            raise UsageError(self._not_two_classes(count))

    def check_values(self) -> None:
        """Refuse, before any file is read, a selected value its convention (its own, else the run's) does not
        define or does not compute from these predictions (:class:`NotAvailable`), and an ``empty`` policy for a
        metric whose convention has its own rule for 0/0 (the message says ``NAME under convention CONV`` for a
        value under its own convention; the command line spells it as it was given)."""
        for spec in self.selected():
            convention = self.convention_of(spec.name)
            reason = spec.unavailable(convention, self.pred_kind)
            if reason:
                raise NotAvailable(reason)
            if spec.calibration and self.pred_kind == "labels":
                raise UsageError(calibration_on_labels(spec.name))
            self.params_for(spec)  # a bad parameter (bins=0, bins=2.5) is refused before any file is read
            if (spec.kind == "metric" and spec.per_class and self.empty != "nan" and not spec.opt_in
                    and spec.impl(convention).param("empty") is None):
                under = (f"convention {convention}" if spec.name in self.conventions
                         else setting("convention", convention))
                raise UsageError(f"{setting('empty', self.empty)}: {spec.name} under {under} has its own rule for "
                                 f"0/0 (see `lossctl losses NAME`); drop {setting('empty')}")

    def _not_two_classes(self, c: int) -> str:
        return (f"{setting('average', 'foreground')} reports class 1 of a two-class run, but this run has {c} "
                f"classes; drop {setting('average')} (the class mean), or give {setting('exclude_background')} "
                "to leave class 0 out of the mean")

    def averaging(self, c: int) -> str:
        """How the headline dice, iou, precision and recall of a run of ``c`` classes average them:
        ``"foreground"`` (class 1's value) or ``"mean"`` (the convention's class mean). ``auto`` is foreground
        for two classes under a convention that reports it (lossctl; scikit-learn's ``average='binary'``), else
        the mean; ``foreground`` with another class count is a :class:`UsageError`."""
        if self.average == "foreground" and c != 2:
            raise UsageError(self._not_two_classes(c))
        if self.average != "auto":
            return self.average
        return "foreground" if c == 2 and self.reports_foreground() else "mean"

    def run_notes(self, c: int) -> list[str]:
        """What the output says once per run (stderr and ``config.notes``): a two-class run that reports class 1
        without being asked to."""
        names = self.averaged_metrics()
        if self.average != "auto" or self.averaging(c) != "foreground" or not names:
            return []
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        name = f" ({self.class_names[1]})" if len(self.class_names) == 2 else ""
        return [f"two classes: {listed} {'is' if len(names) == 1 else 'are'} class 1's{name}, the foreground, as "
                "scikit-learn's average='binary', MedPy and nnU-Net report a binary task; per_class lists both "
                f"classes, and {setting('average', 'mean')} gives their mean"]

    def matrix_size(self, c: int) -> int:
        """The side of the confusion matrices of ``c`` classes: one more with a "predicted no class" column."""
        return c + (self.void_class is not None)

    def matrix_metrics(self, cm: np.ndarray, c: int, voxel_volume: float = 1.0, volume_matrix: np.ndarray | None = None
                       ) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Every selected metric of a confusion matrix of ``c`` classes (an image's, or the summed one), as its
        convention defines it: values and per-class vectors. When a prediction map can produce void, the matrix
        has one more "predicted no class" column: those pixels are false negatives of their class and false
        positives of none (the official Cityscapes evaluator's rule); the column enters no class mean nor
        per-class list, but accuracy counts the pixels as wrong. A volume (avd) counts each voxel as
        ``voxel_volume``, or reads ``volume_matrix`` (each image's matrix times its voxel volume, summed: the pooled
        volumes) when given."""
        values: dict[str, float] = {}
        per_class: dict[str, np.ndarray] = {}
        include = self.include(c)
        if self.void_class is not None:
            include = np.append(include, False)
        average = self.averaging(c)
        for spec in self.selected():
            if spec.kind != "metric" or spec.opt_in:  # boundary metrics come from label images, not the matrix
                continue
            impl = spec.impl(self.convention_of(spec.name))
            run = {AVERAGE_CONTEXT: average} if AVERAGE_CONTEXT in impl.context else {}
            matrix = cm
            if VOLUME_CONTEXT in impl.context:
                run[VOLUME_CONTEXT] = voxel_volume if volume_matrix is None else 1.0
                matrix = cm if volume_matrix is None else volume_matrix
            value, vector = impl.fn(matrix, include, **self.params_for(spec), **run)
            values[spec.name] = value
            if vector is not None:
                per_class[spec.name] = vector[:c]
        return values, per_class

    def region_metrics(self, cm: np.ndarray, c: int, voxel_volume: float = 1.0,
                       volume_matrix: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The regions' entries (R,) of every selected matrix metric with per-class entries: each region is its
        labels' union read as one binary class against the rest (:func:`~lossctl.metrics.overlap.region_matrix`);
        dice, iou, precision and recall as :func:`~lossctl.metrics.overlap.region_scores` computes them, every
        other metric (the counting metrics) by its own function on that 2x2 matrix: its class-1 entry, the
        region's one-vs-rest value. ``voxel_volume`` / ``volume_matrix`` as for :meth:`matrix_metrics`."""
        regions = [labels for _, labels in self.regions]
        if not regions:
            return {}
        out = overlap.region_scores(cm, regions, self.empty)  # type: ignore[arg-type]
        both = np.ones(2, dtype=bool)
        for spec in self.selected():
            if spec.kind != "metric" or spec.opt_in or spec.name in out:
                continue
            impl = spec.impl(self.convention_of(spec.name))
            entries = []
            for labels in regions:
                run = {AVERAGE_CONTEXT: self.averaging(2)} if AVERAGE_CONTEXT in impl.context else {}
                matrix = overlap.region_matrix(cm, labels)
                if VOLUME_CONTEXT in impl.context:
                    run[VOLUME_CONTEXT] = voxel_volume if volume_matrix is None else 1.0
                    matrix = matrix if volume_matrix is None else overlap.region_matrix(volume_matrix, labels)
                vector = impl.fn(matrix, both, **self.params_for(spec), **run)[1]
                if vector is None:
                    break
                entries.append(float(vector[1]))
            else:
                out[spec.name] = np.asarray(entries, dtype=np.float64)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``config`` block of the report."""
        return {
            "pred_kind": self.pred_kind, "ignore_index": list(self.ignore_index),
            "threshold": self.threshold, "channels_last": self.channels_last, "prob_scale": self.prob_scale,
            "pred_axes": list(self.pred_axes) if isinstance(self.pred_axes, tuple) else self.pred_axes,
            "geometry": self.geometry, "empty": self.empty,
            "include_background": self.include_background, "convention": self.convention,
            "conventions": {s.name: self.convention_of(s.name) for s in self.selected()},
            "not_available": self.unavailable() if not self.values else {},
            "params": {s.name: self.params_for(s) for s in self.selected()},
            "regions": {name: list(labels) for name, labels in self.regions},
            "region_mean": list(self.region_mean),
            **({"spacing": list(self.spacing) if self.spacing else
                "from the file headers; 1.0 per axis for files without spacing (see each image's spacing)",
                "empty_distance": self.empty_distance, "nsd_tolerance": list(self.nsd_tolerance)}
               if self.surface_names() else {}),
            "label_map": self.label_map.to_dict() if self.label_map else None,
            "pred_label_map": self.pred_label_map.to_dict() if self.pred_label_map else None,
            "unmapped": self.unmapped,
            **({"instances": {**self.match_rule(), "size_bins": list(self.size_bins), "size_unit": self.size_unit}}
               if self.instance_names() else {}),
        }


def calibration_on_labels(name: str) -> str:
    """The message refusing calibration value ``name`` on label predictions."""
    return (f"{name} is a calibration value: it needs probabilities or logits, but the predictions are labels; "
            f"give the model's probability or logit maps, or drop {name}")


@lru_cache(maxsize=64)
def _selected(values: tuple[str, ...], convention: str, pred_kind: str) -> tuple[registry.Spec, ...]:
    """:meth:`SegConfig.selected`, worked out once per run (it is asked for several times per pair)."""
    if values:
        return tuple(s for s in registry.specs("seg") if s.name in set(values))
    return tuple(s for s in registry.specs("seg") if s.by_default and not s.unavailable(convention, pred_kind))


__all__ = ["SegConfig", "calibration_on_labels"]

