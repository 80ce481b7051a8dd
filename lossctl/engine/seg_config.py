"""The configuration of a ``lossctl seg`` run: :class:`SegConfig`, everything that decides the numbers.

It says which values are computed (:meth:`SegConfig.selected`) with which parameters under which convention
(the run's, or a value's own: :meth:`SegConfig.convention_of`),
which classes enter class means, how label maps and regions apply, and what a confusion matrix yields
(:meth:`SegConfig.matrix_metrics`). The report records it twice: readable (``config``, :meth:`SegConfig.to_dict`)
and exact (``config.options``, from which :meth:`SegConfig.from_options` rebuilds it for ``lossctl merge``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lossctl import registry
from lossctl.dataset.label_maps import LabelMap
from lossctl.errors import UsageError, setting
from lossctl import io


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

    def region_mean_indices(self, class_names: list[str]) -> list[int]:
        """The positions in the per-class vectors (``class_names``, then the regions) of the entries whose mean
        is ``region_mean`` (empty: the run has none)."""
        entries = list(class_names) + self.region_names()
        return [entries.index(name) for name in self.region_mean]

    def convention_of(self, name: str) -> str:
        """The convention value ``name`` is computed under: its own, else the run's."""
        return self.conventions.get(name, self.convention)

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
        convention = self.convention_of(spec.name)
        overrides = dict(self.params.get(spec.name, {}))
        if spec.kind == "metric" and spec.impl(convention).param("empty") is not None:
            overrides.setdefault("empty", self.empty)
        return spec.resolve(convention, overrides)

    def matrix_size(self, c: int) -> int:
        """The side of the confusion matrices of ``c`` classes: one more with a "predicted no class" column."""
        return c + (self.void_class is not None)

    def matrix_metrics(self, cm: np.ndarray, c: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
        """Every selected metric of a confusion matrix of ``c`` classes (an image's, or the summed one), as its
        convention defines it: values and per-class vectors. When a prediction map can produce void, the matrix
        has one more "predicted no class" column: those pixels are false negatives of their class and false
        positives of none (the official Cityscapes evaluator's rule); the column enters no class mean nor
        per-class list, but accuracy counts the pixels as wrong."""
        values: dict[str, float] = {}
        per_class: dict[str, np.ndarray] = {}
        include = self.include(c)
        if self.void_class is not None:
            include = np.append(include, False)
        for spec in self.selected():
            if spec.kind != "metric" or spec.opt_in:  # boundary metrics come from label images, not the matrix
                continue
            value, vector = spec.impl(self.convention_of(spec.name)).fn(cm, include, **self.params_for(spec))
            values[spec.name] = value
            if vector is not None:
                per_class[spec.name] = vector[:c]
        return values, per_class

    def to_dict(self) -> dict[str, Any]:
        """The ``config`` block of the report."""
        return {
            "pred_kind": self.pred_kind, "ignore_index": list(self.ignore_index),
            "threshold": self.threshold, "channels_last": self.channels_last, "empty": self.empty,
            "include_background": self.include_background, "convention": self.convention,
            "conventions": {s.name: self.convention_of(s.name) for s in self.selected()},
            "not_available": self.unavailable() if not self.values else {},
            "params": {s.name: self.params_for(s) for s in self.selected()},
            "regions": {name: list(labels) for name, labels in self.regions},
            "region_mean": list(self.region_mean),
            **({"spacing": list(self.spacing) if self.spacing else
                "from the file headers; 1.0 per axis for files without spacing (see each image's spacing)",
                "empty_distance": self.empty_distance, "nsd_tolerance": list(self.nsd_tolerance)}
               if self.boundary_names() else {}),
            "label_map": self.label_map.to_dict() if self.label_map else None,
            "pred_label_map": self.pred_label_map.to_dict() if self.pred_label_map else None,
            "unmapped": self.unmapped,
        }


__all__ = ["SegConfig"]
