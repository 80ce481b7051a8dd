"""The ``lossctl cls`` engine: classification losses and metrics of N samples, under one convention.

:func:`build_report` computes every selected value as the convention's row of the registry defines it (on a
:class:`~lossctl.inputs.cls.ClsInput` from :func:`~lossctl.inputs.cls.prepare_inputs`) and returns the report
document (the same schema as ``seg``: ``summary.mean`` holds each loss reduced as the convention reduces it,
per-sample rows go to ``images`` with ``--per-sample``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossctl import __version__, io, registry
from lossctl.engine import pool
from lossctl.engine.gates import Gate, check_gates
from lossctl.engine.schema import REPORT_SCHEMA, Report
from lossctl.engine.statistics import summarize_samples
from lossctl.errors import InputError, NotAvailable
from lossctl.inputs.cls import ClsInput, prepare_inputs
from lossctl.losses.classification import balanced_pos_weight


@dataclass(frozen=True)
class ClsConfig:
    """Everything that decides the numbers (recorded in the report's ``config``)."""

    values: tuple[str, ...] = ()  # empty: every value the inputs and the convention allow (on-request ones aside)
    #: Values of ``values`` selected by default, not named (the metrics ``-l`` brings along): like the values of
    #: an empty selection, they are left out (listed in ``not_available``) when the inputs or the convention do
    #: not allow them; a value named is refused instead.
    implied: tuple[str, ...] = ()
    convention: str = "lossctl"  # the run's: that of every value without one of its own
    conventions: dict[str, str] = field(default_factory=dict)  # a value's own convention (-m f1:sklearn)
    target_kind: str = "auto"
    ignore_index: int | None = None
    class_weights: tuple[float, ...] | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_sample: bool = False
    class_names: tuple[str, ...] = ()  # given, or read from a table's header (recorded, never computed with)

    def selected(self) -> list[registry.Spec]:
        """The specs asked for, in catalogue order (none named: every value but those computed on request, the
        counting and ranking metrics)."""
        chosen = set(self.values)
        if chosen:
            return [s for s in registry.specs("cls") if s.name in chosen]
        return [s for s in registry.specs("cls") if s.by_default]

    def convention_of(self, name: str) -> str:
        """The convention value ``name`` is computed under: its own, else the run's."""
        return self.conventions.get(name, self.convention)

    def params_for(self, spec: registry.Spec) -> dict[str, Any]:
        """The parameters applied to ``spec`` under its convention: its defaults with this run's overrides."""
        return spec.resolve(self.convention_of(spec.name), self.params.get(spec.name, {}))

    def prepare(self, pred: np.ndarray, target: np.ndarray, weights: np.ndarray | None = None,
                kind: str = "auto") -> ClsInput:
        """:func:`~lossctl.inputs.cls.prepare_inputs` with this run's target kind, ignore index and class weights
        (probability rows that do not sum to 1 are accepted when every loss is computed under Keras, which divides
        them by their sum; the metrics read the rows' argmax, which that division leaves as it is).

        From here on the process keeps freed memory, up to the default memory budget
        (:func:`~lossctl.engine.pool.keep_freed_memory`): every value allocates and frees temporaries of the
        samples' size (float64 (N, C) log-probabilities, 80 MB for 1M x 10), which glibc would otherwise map and
        unmap each time, page-faulting them in again."""
        pool.keep_freed_memory(io.default_memory_budget())
        losses = [s.name for s in self.selected() if s.kind == "loss"]
        renormalised = (all(self.convention_of(n) == "keras" for n in losses) if losses
                        else self.convention == "keras")
        return prepare_inputs(pred, target, weights, kind, target_kind=self.target_kind,
                              ignore_index=self.ignore_index, class_weights=self.class_weights,
                              renormalised=renormalised)


def build_report(x: ClsInput, config: ClsConfig, gates: Sequence[Gate] = (),
                 sources: dict[str, Any] | None = None, sample_names: Sequence[str] | None = None,
                 notes: Sequence[str] = ()) -> Report:
    """Compute every selected value and return the report document (its summary:
    :func:`~lossctl.engine.statistics.summarize_samples`).

    ``sources`` are ``config`` entries that say where the inputs came from (files, columns, pairing);
    ``sample_names`` name the per-sample rows (their ids; default: the index); ``notes`` are the rules applied
    while reading the inputs, said before the inputs' own."""
    explicit = set(config.values) - set(config.implied)
    means: dict[str, float | None] = {}
    per_sample: dict[str, np.ndarray] = {}
    unavailable: dict[str, str] = {}
    used_params: dict[str, dict[str, Any]] = {}
    metric_names: list[str] = []
    tallies: dict[str, Any] = {}
    counted = x.valid_samples()
    selected = config.selected()
    last_loss = max((i for i, spec in enumerate(selected) if spec.kind == "loss"), default=-1)
    for i, spec in enumerate(selected):
        if i > last_loss:  # the metrics and the summary run without the losses' (N, C) log-softmax
            x.forget_log_softmax()
        try:
            params = config.params_for(spec)
            if spec.calibration:
                value, rows, tallies[spec.name] = spec.measure(x, config.convention_of(spec.name), **params)
            else:
                value, rows = spec.evaluate(x, config.convention_of(spec.name), **params)
        except (NotAvailable, InputError) as reason:
            if spec.name in explicit:
                raise
            unavailable[spec.name] = reason.raw  # the CLI spells the settings it names
            continue
        means[spec.name] = None if np.isnan(value) else float(value)
        if spec.kind == "metric":
            metric_names.append(spec.name)
            continue
        per_sample[spec.name] = np.where(counted, np.asarray(rows, dtype=np.float64), np.nan)
        used_params[spec.name] = params
    rows = []
    if config.per_sample:
        columns = {n: [None if np.isnan(v) else v for v in values.tolist()] for n, values in per_sample.items()}
        names = [str(i) for i in range(x.n)] if sample_names is None else list(sample_names)
        rows = [{"name": names[i], "values": {n: col[i] for n, col in columns.items()}, "per_class": {}}
                for i in range(x.n)]
    every = bool(counted.all())  # then the columns as they are, not copies
    kept = {n: v if every else v[counted] for n, v in per_sample.items()}
    summary = summarize_samples(int(counted.sum()), kept, means, metric_names)
    if tallies:
        summary["calibration"] = tallies
    if "weighted_bce" in used_params and used_params["weighted_bce"].get("pos_weight") is None:
        pw = balanced_pos_weight(x)
        used_params["weighted_bce"] = {**used_params["weighted_bce"],
                                       "pos_weight": pw if isinstance(pw, float) else pw.tolist()}
    return {
        "lossctl": __version__,
        "schema": REPORT_SCHEMA,
        "command": "cls",
        "config": {**(sources or {}), "convention": config.convention,
                   "conventions": {n: config.convention_of(n) for n in means}, "pred_kind": x.kind,
                   "target_kind": x.target_kind, "notes": [*notes, *x.notes],
                   "ignore_index": config.ignore_index,
                   "class_weights": list(config.class_weights) if config.class_weights else None,
                   "weights": x.weights is not None, "n_samples": x.n,
                   "num_classes": int(x.pred.shape[1]) if x.pred.ndim == 2 else 2,
                   "class_names": list(config.class_names), "values": list(means), "params": used_params,
                   "not_available": unavailable},
        "images": rows,
        "summary": summary,
        "gates": check_gates(gates, lambda name, idx: per_sample.get(name, ()), summary, (), unit="sample"),
        "errors": [],
    }

