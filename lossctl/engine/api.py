"""The Python API of a segmentation run: :func:`evaluate` a folder (or two files) and get its report document.

``lossctl.evaluate(pred, gt, ...)`` does what ``lossctl seg PRED GT ...`` does, with Python arguments instead of
options and the same defaults, and returns the document ``-f json`` prints (:class:`~lossctl.engine.schema.Report`).
A setting that is wrong raises :class:`~lossctl.errors.UsageError` before any file is read; unpaired or missing
files raise :class:`~lossctl.errors.InputError`; a pair that cannot be evaluated is reported in the document's
``errors``, as on the command line (the other pairs are evaluated). Nothing is printed: the notes the command
line prints are in ``config.notes`` and ``config.not_available``, and each message names the arguments
(``num_classes=3``), not the options.
"""

from __future__ import annotations

import math
import os
from contextlib import nullcontext
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, Union

from lossctl import registry
from lossctl.convention import TASK_CONVENTIONS
from lossctl.dataset.classes import parse_regions, resolve_classes
from lossctl.dataset.pairing import compile_pattern, pair_files
from lossctl.engine.gates import check_gates_against_data, parse_gate, validate_seg_gates
from lossctl.engine.cluster import connect
from lossctl.engine.pool import resolve_workers
from lossctl.engine.schema import Report
from lossctl.engine.seg import build_report, evaluate as evaluate_pairs
from lossctl.engine.seg_config import SegConfig
from lossctl.errors import UsageError, prefixed, setting, spell_all
from lossctl.io import parse_memory, stores

PathLike = Union[str, os.PathLike[str]]

#: The choices of the settings that take a word, as ``lossctl seg`` offers them.
CHOICES: dict[str, tuple[str, ...]] = {
    "pred_kind": ("auto", "labels", "probs", "logits"), "convention": TASK_CONVENTIONS["seg"],
    "empty": ("nan", "zero", "one"), "average": ("auto", "foreground", "mean"), "geometry": ("check", "gt"),
    "unmapped": ("error", "ignore"),
}

#: The settings the core names in other words than :func:`evaluate`'s arguments (the loss functions' ``kind``).
ARGUMENTS = {"kind": "pred_kind"}


def evaluate(
    pred: PathLike,
    gt: PathLike,
    *,
    metrics: Sequence[str] | None = None,
    losses: Sequence[str] | None = None,
    convention: str = "lossctl",
    conventions: Mapping[str, str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    pred_kind: Literal["auto", "labels", "probs", "logits"] = "auto",
    num_classes: int | None = None,
    class_names: Sequence[str] | str | None = None,
    dataset_json: PathLike | None = None,
    label_map: str | None = None,
    pred_label_map: str | None = None,
    unmapped: Literal["error", "ignore"] | None = None,
    ignore_index: int | Sequence[int] = (),
    threshold: float = 0.5,
    channels_last: bool = False,
    prob_scale: float | None = None,
    pred_axes: str | Sequence[int] | None = None,
    geometry: Literal["check", "gt"] = "check",
    npz_key: str | None = None,
    gt_npz_key: str | None = None,
    empty: Literal["nan", "zero", "one"] = "nan",
    exclude_background: bool = False,
    average: Literal["auto", "foreground", "mean"] = "auto",
    spacing: Sequence[float] | None = None,
    nsd_tolerance: float | Sequence[float] = 1.0,
    empty_distance: str | float = "diagonal",
    regions: Mapping[str, Sequence[int]] | None = None,
    pred_pattern: str | None = None,
    gt_pattern: str | None = None,
    allow_missing: bool = False,
    gates: Sequence[str] = (),
    workers: int | None = None,
    max_memory: int | str | None = None,
    storage_options: Mapping[str, Any] | None = None,
    scheduler: str | None = None,
    scheduler_file: str | os.PathLike[str] | None = None,
) -> Report:
    """Evaluate the prediction files ``pred`` against the ground-truth files ``gt`` (two folders, paired by
    relative path without the extension, or two files) and return the report document.

    Each argument is the ``lossctl seg`` option of the same name, with its default: ``metrics`` and ``losses``
    are ``-m`` and ``-l`` (None: every metric, plus every loss when the predictions are soft; losses alone bring
    the metrics the convention defines), ``conventions`` gives values a convention of their own
    (``{"hd95": "medpy"}`` is ``-m hd95:medpy``), ``params`` sets parameters (``{"focal": {"gamma": 3}}`` is
    ``-p focal.gamma=3``; the shortcut options ``--alpha``, ``--gamma``... are such parameters), ``regions`` maps
    a region's name to its labels (``{"WT": [1, 2, 3]}``), ``gates`` are gate expressions (``"dice>=0.8"``; the
    baseline forms belong to ``lossctl compare``). ``class_names`` is a list of names (or a comma list, or
    ``@FILE``), ``exclude_background`` is ``--exclude-background``, ``max_memory`` bytes or a size (``"4G"``),
    ``workers`` None (or 0) every core; ``scheduler`` (``"tcp://HOST:8786"`` or ``"local:N"``) or
    ``scheduler_file`` runs every pair as one task on a Dask cluster (:mod:`lossctl.engine.cluster`; the same
    report). Paths may be URLs (``s3://bucket/pred``: docs/remote.md), opened with
    ``storage_options`` (``{"endpoint_url": "http://127.0.0.1:9000"}``, ``--storage-option``).

    The result is what ``-f json`` writes: ``report["summary"]["mean"]["dice"]``, ``report["images"]``, the gates
    with ``passed``, the failed pairs in ``errors``.
    """
    stores.configure(storage_options)  # before anything is read: URLs are opened with these options
    names = [*(losses or ()), *(metrics or ())]
    if losses and not metrics:  # a loss asked for alone keeps the metrics its convention defines
        names = [*registry.default_metrics("seg", convention), *names]
    for setting_name, value in (("pred_kind", pred_kind), ("convention", convention), ("empty", empty),
                                ("average", average), ("geometry", geometry), ("unmapped", unmapped)):
        _check_choice(setting_name, value)
    own = _own_conventions(conventions or {}, names)
    classes = resolve_classes(num_classes, _class_names_text(class_names),
                              None if dataset_json is None else stores.as_location(dataset_json), label_map, pred_label_map,
                              unmapped, _ints(ignore_index), pred_kind)
    region_items = classes.pop("region_items") + [
        f"{name}={','.join(map(str, labels))}" for name, labels in (regions or {}).items()]
    config = SegConfig(
        values=tuple(dict.fromkeys(registry.get("seg", n).name for n in names)), pred_kind=pred_kind, **classes,
        threshold=threshold, channels_last=channels_last, npz_key=npz_key, gt_npz_key=gt_npz_key,
        prob_scale=_prob_scale(prob_scale, pred_kind), pred_axes=_pred_axes(pred_axes), geometry=geometry,
        max_memory=None if max_memory is None else parse_memory(max_memory), empty=empty,
        include_background=not exclude_background, average=average, convention=convention, conventions=own,
        spacing=_numbers("spacing", spacing, zero=False), nsd_tolerance=_numbers("nsd_tolerance", nsd_tolerance),
        empty_distance=_empty_distance(empty_distance),
        regions=parse_regions(region_items, tuple(classes["class_names"]), classes["num_classes"]),
        storage_options=dict(storage_options or {}),
    )
    config = replace(config, params=_checked_params(params or {}, config))
    config.check_average()
    config.check_values()
    if not config.selected():
        raise UsageError(f"{setting('convention', convention)} defines no value computed by default; name the "
                         f"values with {setting('metrics')} (`lossctl losses NAME` shows which it defines)")
    parsed_gates = [parse_gate(g) for g in gates]
    validate_seg_gates(parsed_gates, config)
    if (scheduler is not None or scheduler_file is not None) and workers is not None:
        raise UsageError(f"{setting('workers')} counts this machine's cores, but a Dask scheduler runs the pairs on "
                         f"its cluster's workers; drop {setting('workers')}")

    patterns = {key: prefixed(setting(key), compile_pattern, text)
                for key, text in (("pred_pattern", pred_pattern), ("gt_pattern", gt_pattern)) if text is not None}
    pairing = pair_files(pred, gt, **patterns)
    if not allow_missing:
        pairing.require_complete()
    with (connect(scheduler, scheduler_file) if scheduler is not None or scheduler_file is not None
          else nullcontext()) as cluster:
        outcomes = evaluate_pairs(pairing.pairs, config, resolve_workers(workers), cluster=cluster)
    sources = {"pred": str(pred) if stores.is_url(pred) else os.fspath(pred),
               "gt": str(gt) if stores.is_url(gt) else os.fspath(gt),
               **{key: text for key, text in (("pred_pattern", pred_pattern), ("gt_pattern", gt_pattern)) if text}}
    document = build_report(outcomes, config, parsed_gates, sources=sources)
    document["skipped"] = {"missing_gt": pairing.missing_gt, "missing_pred": pairing.missing_pred}
    _check_regions_against_data(document)
    check_gates_against_data(document)
    return spell_all(document, names=ARGUMENTS)


def _check_choice(name: str, value: Any) -> None:
    if value is not None and value not in CHOICES[name]:
        raise UsageError(f"{setting(name, value)} is not one of {', '.join(CHOICES[name])}")


def _own_conventions(conventions: Mapping[str, str], names: Sequence[str]) -> dict[str, str]:
    """``conventions`` checked: each names a value asked for by name, under a convention that defines it."""
    for name, convention in conventions.items():
        spec = registry.get("seg", name)
        if name not in names:
            raise UsageError(f"{setting('conventions')} gives {name} a convention, but {setting('metrics')} and "
                             f"{setting('losses')} do not name {name}; name it there too")
        if convention not in spec.conventions:
            raise UsageError(f"{setting('conventions')}: {name} has no convention {convention!r}; its conventions: "
                             f"{', '.join(spec.conventions)}")
    return dict(conventions)


def _checked_params(params: Mapping[str, Mapping[str, Any]], config: SegConfig) -> dict[str, dict[str, Any]]:
    """The parameters given, each checked against its value's convention (numbers become floats, as the command
    line reads them)."""
    checked: dict[str, dict[str, Any]] = {}
    for name, given in params.items():
        spec = registry.get("seg", name)
        resolved = prefixed(setting("params"), spec.resolve, config.convention_of(name), given)
        checked[name] = {key: resolved[key] for key in given}
    return checked


def _class_names_text(names: Sequence[str] | str | None) -> str | None:
    """The names as the class-names setting reads them: a comma list (or ``@FILE``, given as a string)."""
    if names is None or isinstance(names, str):
        return names or None
    for name in names:
        if "," in name or not name.strip():
            raise UsageError(f"{setting('class_names')}: {name!r} is not a class name (empty, or holding a comma)")
    return ",".join(names) or None


def _ints(values: int | Sequence[int]) -> tuple[int, ...]:
    return (values,) if isinstance(values, int) else tuple(int(v) for v in values)


def _numbers(name: str, values: float | Sequence[float] | None, zero: bool = True) -> tuple[float, ...] | None:
    """Positive (``zero``: non-negative) finite numbers, one or several."""
    if values is None:
        return None
    numbers = (float(values),) if isinstance(values, (int, float)) else tuple(float(v) for v in values)
    if not numbers or not all(math.isfinite(v) and (v > 0 or (zero and v == 0)) for v in numbers):
        raise UsageError(f"{setting(name)} {list(numbers)}: give {'non-negative' if zero else 'positive'} finite "
                         "numbers in physical units (e.g. mm)")
    return numbers


def _prob_scale(value: float | None, pred_kind: str) -> float | None:
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"{setting('prob_scale', value)}: give the positive stored value that means probability 1")
    if pred_kind != "probs":
        raise UsageError(f"{setting('prob_scale', value)} reads a probability map stored as integers, but "
                         f"{setting('pred_kind', pred_kind)}; pass {setting('pred_kind', 'probs')} with it")
    return float(value)


def _pred_axes(value: str | Sequence[int] | None) -> str | tuple[int, ...] | None:
    if value is None or value == "reversed":
        return value
    axes = tuple(int(v) for v in value) if not isinstance(value, str) else ()
    if not axes or sorted(axes) != list(range(len(axes))):
        raise UsageError(f"{setting('pred_axes', value)}: give 'reversed', or a permutation of the prediction's "
                         "axes (numpy.transpose's order), e.g. (0, 3, 2, 1)")
    return axes


def _empty_distance(value: str | float) -> str:
    """``"diagonal"``, ``"nan"``, or a finite non-negative distance (kept as the command line records it)."""
    if value in ("diagonal", "nan"):
        return str(value)
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and number >= 0):
        raise UsageError(f"{setting('empty_distance', value)}: give 'diagonal', 'nan' or a non-negative distance")
    return repr(number)


def _check_regions_against_data(document: Report) -> None:
    """A region whose labels go beyond the classes the data has (known only now) is a usage error."""
    c = document["config"]["num_classes"]
    if not document["summary"]["count"]:
        return
    for name, labels in (document["config"].get("regions") or {}).items():
        if max(labels) >= c:
            raise UsageError(f"{setting('regions')}: the region {name}'s label {max(labels)} is beyond the data's "
                             f"{c} classes (0..{c - 1}); fix the region's labels")


__all__ = ["evaluate", "CHOICES", "ARGUMENTS"]
