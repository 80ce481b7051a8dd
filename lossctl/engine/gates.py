"""Quality gates: ``--gate 'STAT(NAME[CLASS]) OP NUMBER'``, validated against a run and checked against a report.

This module is the one owner of gates: their grammar (:func:`parse_gate`), their validation before any work
(:func:`validate_seg_gates`, :func:`validate_cls_gates`, :func:`validate_compare_gates`, all through
:func:`validate_gates`) and after it (:func:`check_gates_against_data`), and their results (:func:`check_gates`).

Grammar (spaces allowed anywhere)::

    gate      := value op number | "delta(" value ")" op number | "rel(" value ")" op number
               | "worse(" name ["[" class "]"] "," number ")" op number
    value     := [statistic "("] name ["[" class "]"] [")"]
    statistic := mean | median | min | max | std | pooled | pNN     (default: mean; pNN = NN-th percentile)
    op        := >= | <= | > | <

``mean``, ``median``, ``min``, ``max``, ``std`` and ``pNN`` are taken over the images' values (images where the value
is undefined are left out; for ``cls``, over the samples, and ``mean`` is the loss as the convention reduces it);
``pooled`` reads the value of the summed confusion matrix (metrics only). A value's name is read case-insensitively
(``DICE`` is ``dice``). ``[CLASS]``
(a class index or a ``--class-names`` name) gates a per-class value. A gate whose value is undefined fails, and
its result says why (``reason``); a gate evaluated over no image at all is *vacuous* (``vacuous``: true) and
fails: a statistic when no image has a defined value, ``delta()`` and ``rel()`` when either report has none,
``worse()`` when no image of the run pairs with one of the baseline (or none of those has the value defined in
both). A gate never passes on nothing.
In a run over a region-based dataset.json, ``[region_mean]`` gates the mean over its regions (``summary.region_mean``:
``dice[region_mean]`` is nnU-Net's ``foreground_mean``, ``pooled(dice[region_mean])`` the mean of the regions' pooled
values, ``min(dice[region_mean])`` and the other statistics are over the images' own region means).

Baseline gates compare the run with a baseline report (``--baseline``, ``lossctl compare``): ``delta(V)`` is
V(new) - V(base), ``rel(V)`` is that delta over |V(base)|, and ``worse(NAME, M)`` counts the images (samples)
present in both reports whose value got worse by more than M, in the value's own direction (lower is better for
losses).

>>> parse_gate("p05(dice[road]) >= 0.6")
Gate(text='p05(dice[road]) >= 0.6', statistic='p05', name='dice', cls='road', op='>=', threshold=0.6, against=None, margin=None)
>>> parse_gate("delta(pooled(iou[road])) >= -0.02").against
'delta'
>>> parse_gate("worse(dice, 0.05) <= 3").margin
0.05
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from lossctl import registry
from lossctl.dataset.descriptions import REGION_MEAN
from lossctl.engine.schema import Document, GateResult, row_noun
from lossctl.engine.seg_config import SegConfig
from lossctl.engine.statistics import statistic
from lossctl.errors import UsageError, did_you_mean, setting

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_STAT = r"mean|median|min|max|std|pooled|p\d{1,3}(?:\.\d+)?"
_TARGET = r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*(?P<cls>[^\]]+?)\s*\])?"
_GATE = re.compile(
    rf"^\s*(?:(?P<stat>{_STAT})\s*\(\s*{_TARGET}\s*\)|{_TARGET.replace('name', 'name2').replace('cls', 'cls2')})"
    r"\s*(?P<op>>=|<=|>|<)\s*(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RELATIVE = re.compile(rf"^\s*(?P<form>delta|rel)\s*\((?P<inner>.*)\)\s*(?P<op>>=|<=|>|<)\s*(?P<num>{_NUM})\s*$")
_WORSE = re.compile(rf"^\s*worse\s*\(\s*{_TARGET}\s*,\s*(?P<margin>{_NUM})\s*\)\s*(?P<op>>=|<=|>|<)\s*"
                    rf"(?P<num>{_NUM})\s*$")
GATE_SYNTAX = ("STAT(NAME[CLASS]) OP NUMBER, e.g. 'dice>=0.85', 'min(dice)>=0.5', 'pooled(iou[road])>0.7', or "
               "against a baseline 'delta(dice)>=-0.01', 'rel(dice)>=-0.02', 'worse(dice,0.05)<=3'")
BASELINE_FORMS = ("delta", "rel", "worse")


@dataclass(frozen=True)
class Gate:
    """A parsed ``--gate`` expression."""

    text: str
    statistic: str
    name: str
    cls: str | None
    op: str
    threshold: float
    against: str | None = None  # "delta", "rel" or "worse": a baseline gate; None: an absolute one
    margin: float | None = None  # worse(NAME, margin)

    @property
    def key(self) -> tuple[Any, ...]:
        """What the gate checks, whatever its spelling (``dice>=0.8`` and ``mean(dice) >= 0.80`` are one gate)."""
        return (self.against, self.statistic, self.name, self.cls, self.margin, self.op, self.threshold)


def parse_gate(text: str) -> Gate:
    """Parse one gate expression; a malformed one is a :class:`UsageError` that shows the syntax."""
    m = _WORSE.match(text)
    if m:
        margin = float(m.group("margin"))
        if not margin >= 0:
            raise UsageError(f"malformed {setting('gate')} {text!r}: the margin of worse() is a change, at least 0")
        return Gate(text, "image", m.group("name").lower(), m.group("cls"), m.group("op"), float(m.group("num")),
                    "worse", margin)
    m = _RELATIVE.match(text)
    if m:
        inner = _parse_absolute(f"{m.group('inner')} >= 0", text)
        return Gate(text, inner.statistic, inner.name, inner.cls, m.group("op"), float(m.group("num")),
                    m.group("form"))
    return _parse_absolute(text, text)


def _parse_absolute(expression: str, text: str) -> Gate:
    m = _GATE.match(expression)
    if not m:
        raise UsageError(f"malformed {setting('gate')} {text!r}; expected {GATE_SYNTAX}")
    name = (m.group("name") or m.group("name2")).lower()  # value names are read case-insensitively
    cls = m.group("cls") or m.group("cls2")
    stat = m.group("stat") or "mean"
    if stat.startswith("p") and stat != "pooled" and not 0 <= float(stat[1:]) <= 100:
        raise UsageError(f"malformed {setting('gate')} {text!r}: a percentile must be between p0 and p100")
    return Gate(text, stat, name, cls, m.group("op"), float(m.group("num")))


def unique_gates(gates: Sequence[Gate]) -> list[Gate]:
    """``gates`` without repeats (by :attr:`Gate.key`), in first-seen order."""
    seen: dict[Any, Gate] = {}
    for g in gates:
        seen.setdefault(g.key, g)
    return list(seen.values())


#: ``series(name, index)``: the defined per-image values of one value, of class ``index`` (None: the value itself;
#: :data:`REGION_MEAN`: its mean over the regions).
Series = Callable[[str, "int | str | None"], Sequence[float]]


@dataclass(frozen=True)
class Baseline:
    """What baseline gates read of the baseline report: its summary, its ``series``, and
    ``worsening(name, class_index)``, the (P,) array of how much each image present in both reports got worse
    (positive: worse, in the value's direction; images where either side is undefined are left out).

    ``paired`` counts the images of the run that pair with one of the baseline; ``pairs`` says why none does (a
    one-line account: how many images, by which rule, examples of each side), None when some do."""

    summary: dict[str, Any]
    series: Series
    worsening: Callable[[str, int | str | None], np.ndarray]
    paired: int = 0
    pairs: str | None = None


def check_gates(gates: Sequence[Gate], series: Series, summary: dict[str, Any],
                class_names: Sequence[str], baseline: Baseline | None = None, *,
                unit: str = "image", own: str = "the run") -> list[GateResult]:
    """Evaluate every gate against the summary of a report and ``series(name, class_index)``, the defined
    per-image (or per-sample: ``unit``) values of one value; baseline gates also read ``baseline``. ``own``
    names the report the gates read in the reasons of undefined values (``the run``, ``the new report``)."""
    return [_check(g, series, summary, class_names, baseline, unit, own) for g in gates]


def row_series(rows: Sequence[dict[str, Any]]) -> Series:
    """``series`` over the rows of a report (``values`` and ``per_class`` of each image)."""
    def series(name: str, idx: int | str | None) -> list[float]:
        if idx == REGION_MEAN:
            picked: Iterable[float | None] = ((r.get("region_mean") or {}).get(name) for r in rows)
        else:
            picked = (_pick(r["values"], r["per_class"], name, idx) for r in rows)
        return [v for v in picked if v is not None]
    return series


def validate_gates(gates: Sequence[Gate], computed: Mapping[str, Any], *, class_count: int | None = None,
                   class_names: Sequence[str] = (), per_class: bool = True,
                   metrics_per_item: bool = True, baseline: bool | None = False, region_mean: bool = False) -> None:
    """Refuse, before any work, gates on values that are not computed, ``pooled()`` of a loss, class gates on
    values without per-class form or on a class that does not exist, (``cls``: ``metrics_per_item``
    False) statistics over items of a metric that has one value only, and baseline gates without a baseline
    (``baseline`` False; None: do not check). ``computed`` maps the names of the values the run computes to
    their registry entries (which say ``kind`` and ``per_class``); ``region_mean``: the run reports the mean over
    a region-based dataset's regions (``[region_mean]``)."""
    for g in gates:
        if g.against is not None and baseline is False:
            raise UsageError(f"{_named(g)} compares with a baseline; give {setting('baseline', 'BASE.json')} (or "
                             "use `lossctl compare BASE.json NEW.json`)")
        spec = computed.get(g.name)
        if spec is None:
            raise UsageError(f"{_named(g)} uses {g.name!r}, which this run does not compute"
                             f"{did_you_mean(g.name, computed)}; computed: {', '.join(computed)}")
        if g.statistic == "pooled" and spec.kind != "metric":
            raise UsageError(f"{_named(g)}: pooled() exists for metrics only")
        if not metrics_per_item and spec.kind == "metric" and g.statistic not in ("mean", "pooled"):
            if g.against == "worse":
                raise UsageError(f"{_named(g)}: {g.name} is one value over all samples, so no sample gets "
                                 f"worse; gate delta({g.name}) instead")
            raise UsageError(f"{_named(g)}: {g.name} is one value over all samples; gate it as "
                             f"{g.name}{g.op}{g.threshold:g}")
        if g.cls is not None:
            if not (per_class and spec.per_class):
                raise UsageError(f"{_named(g)}: {g.name} has no per-class values here")
            if g.cls == REGION_MEAN and g.cls not in class_names:
                if not region_mean:
                    raise UsageError(f"{_named(g)}: [{REGION_MEAN}] is the mean over the regions of a region-based "
                                     f"{setting('dataset_json')}, and this run has none; gate a class or a region")
                continue
            idx = class_index(g.cls, class_names)
            if class_count is not None and not 0 <= idx < class_count:
                raise UsageError(f"{_named(g)}: there is no class {idx} (classes 0..{class_count - 1})")


def validate_seg_gates(gates: Sequence[Gate], config: SegConfig, baseline: bool = False) -> None:
    """Refuse the gates of a ``seg`` run on values it does not compute (a usage error, before any file is
    read), ``pooled()`` of a boundary metric, and baseline gates without a ``baseline``. A ``[CLASS]`` may be a
    region; a class index is checked against the class count when it is known."""
    computed = {s.name: s for s in config.selected()}
    regions = set(config.region_names())
    region_mean = bool(config.region_mean)
    for g in gates:
        if g.statistic == "pooled" and g.name in computed and computed[g.name].calibration:
            if config.params_for(computed[g.name]).get("binning") == "mass":
                raise UsageError(f"{_named(g)}: {g.name} with binning=mass has no pooled value: equal-mass bins are "
                                 f"per image (pooling them needs every pixel at once); gate mean({g.name}), or use "
                                 "binning=width")
            continue
        if g.statistic == "pooled" and g.name in computed and computed[g.name].opt_in and not (
                computed[g.name].instance and g.name not in ("sq_hd95", "sq_assd", "sq_nsd", "aji", "aji_plus")):
            why = "has no pooled value" if computed[g.name].instance else "has none"
            raise UsageError(f"{_named(g)}: pooled() needs a confusion matrix or instances; {g.name} {why} (gate its "
                             f"mean, max({g.name}) or a percentile)")
        if g.cls in regions:  # a region: the name must be computed and have per-class values
            validate_gates([replace(g, cls="0")], computed, baseline=baseline)
    validate_gates([g for g in gates if g.cls not in regions], computed, class_names=config.class_names,
                   class_count=config.num_classes or len(config.class_names) or None, baseline=baseline,
                   region_mean=region_mean)


def validate_cls_gates(gates: Sequence[Gate], selected: Iterable[registry.Spec], baseline: bool = False) -> None:
    """Refuse the gates of a ``cls`` run (its ``selected`` values) that it cannot answer: values it does not
    compute, class gates (cls reports have no per-class values), statistics over samples of a metric (one
    value over all samples), baseline gates without a ``baseline``."""
    validate_gates(gates, {s.name: s for s in selected}, per_class=False, metrics_per_item=False,
                   baseline=baseline)


def validate_compare_gates(gates: Sequence[Gate], base: Document, new: Document) -> None:
    """Refuse gates this pair of reports cannot answer (a usage error, exit 2): those :func:`validate_gates`
    refuses for the new report, baseline gates on a value the baseline lacks, and gates on per-sample values
    of cls reports written without them."""
    command = new["command"]
    names = [n for n in new["config"].get("values", []) if (command, n) in registry.REGISTRY]
    computed = {n: registry.get(command, n) for n in names}
    validate_gates(gates, computed, class_names=new["config"].get("class_names") or (),
                   class_count=new["config"].get("num_classes"), per_class=command == "seg",
                   metrics_per_item=command == "seg", baseline=True,
                   region_mean="region_mean" in new["summary"])
    for g in gates:
        if g.against is not None and g.name not in base["summary"]["mean"]:
            raise UsageError(f"{_named(g)}: the baseline report has no {g.name}; gate a value both reports have")
        item_statistic = g.against == "worse" or g.statistic not in ("mean", "pooled")
        if command == "cls" and item_statistic and not (base["images"] and new["images"]):
            raise UsageError(f"{_named(g)} reads per-sample values, and a cls report holds them only with "
                             f"{setting('per_sample')}: write both reports with {setting('per_sample')}")


def check_gates_against_data(document: Document) -> None:
    """After the work (the report is written): refuse gates on values no image (sample) gave, e.g. a loss of
    label predictions, or on a class the data does not have (a usage error, exit 2)."""
    if not document["summary"]["count"]:
        return
    unit = row_noun(document["command"])
    c = document["config"]["num_classes"]
    regions = document["config"].get("regions") or {}
    for result in document["gates"]:
        gate = parse_gate(result["gate"])
        if gate.name not in document["summary"]["mean"]:
            raise UsageError(f"{_named(gate)}: {gate.name} was not computed for any {unit} (e.g. a loss of "
                             "label predictions, or a loss the inputs' shapes do not allow); drop the gate")
        if gate.cls is not None and gate.cls not in regions and _region_mean_index(
                gate.cls, document["config"]["class_names"], document["summary"]) is None and not 0 <= class_index(
                gate.cls, document["config"]["class_names"]) < c:
            raise UsageError(f"{_named(gate)}: there is no class {gate.cls} in the data ({c} classes, "
                             f"0..{c - 1}); fix the class")


def class_index(cls: str, class_names: Sequence[str]) -> int:
    """The index of a ``[CLASS]`` given as a number or a class name."""
    if cls in class_names:
        return list(class_names).index(cls)
    try:
        return int(cls)
    except ValueError:
        known = ", ".join(class_names) or f"(no {setting('class_names')} given)"
        raise UsageError(f"unknown class {cls!r} in {setting('gate')}; use a class index or one of: {known}"
                         ) from None


def _region_mean_index(cls: str, class_names: Sequence[str], summary: Mapping[str, Any]) -> str | None:
    """:data:`REGION_MEAN` when ``[cls]`` names the mean over the regions of a report that has it, else None."""
    return REGION_MEAN if cls == REGION_MEAN and cls not in class_names and "region_mean" in summary else None


def _named(gate: Gate) -> str:
    """The gate as a message names it: the setting and the gate's text, quoted."""
    return f"{setting('gate')} {gate.text!r}"


def _check(gate: Gate, series: Series, summary: dict[str, Any], class_names: Sequence[str],
           baseline: Baseline | None, unit: str, own: str) -> GateResult:
    idx: int | str | None = None
    if gate.cls is not None:
        idx = _region_mean_index(gate.cls, class_names, summary) or class_index(gate.cls, class_names)
    extra: dict[str, Any] = {}
    why: tuple[str, bool] | None = None  # (reason, vacuous) when the value is undefined
    if gate.against is None:
        value = _value(gate, idx, series, summary)
        if value is None:
            why = _undefined(gate, idx, series, summary, unit, own, own=True)
    elif baseline is None:
        raise UsageError(f"{_named(gate)} compares with a baseline, and none was given")
    elif gate.against == "worse":
        worsening = baseline.worsening(gate.name, idx)
        value = float(np.count_nonzero(worsening > gate.margin)) if worsening.size else None
        extra = {"margin": gate.margin, "paired": int(worsening.size)}
        if value is None:
            why = (baseline.pairs or f"none of the {baseline.paired} {unit}{'' if baseline.paired == 1 else 's'} "
                   f"in both reports has {_target(gate)} defined in both", True)
    else:
        new, base = _value(gate, idx, series, summary), _value(gate, idx, baseline.series, baseline.summary)
        value = change(gate.against, base, new)
        extra = {"base": base, "new": new}
        if value is None:
            sides = [(side, _undefined(gate, idx, s, m, unit, side)) for side, v, s, m in (
                ("the baseline", base, baseline.series, baseline.summary), (own, new, series, summary))
                if v is None]
            empty = [side for side, (_, vacuous) in sides if vacuous]
            if empty:
                why = (f"{' and '.join(empty)} {'have' if len(empty) > 1 else 'has'} no {unit} with "
                       f"{_target(gate)} defined", True)
            elif sides:
                why = ("; ".join(reason for _, (reason, _) in sides), False)
            else:
                why = (f"rel() is undefined when the baseline's {_stat_text(gate)} is 0", False)
    passed = value is not None and _OPS[gate.op](value, gate.threshold)
    result: GateResult = {"gate": gate.text, "statistic": gate.statistic, "value": value, "passed": bool(passed),
                          **extra}  # type: ignore[typeddict-item]
    if why is not None:
        result["reason"] = why[0]
        if why[1]:
            result["vacuous"] = True
    return result


def _target(gate: Gate) -> str:
    """``dice`` or ``dice[road]``: the value a gate reads, as messages name it."""
    return gate.name if gate.cls is None else f"{gate.name}[{gate.cls}]"


def _stat_text(gate: Gate) -> str:
    """``mean(dice)``, ``pooled(iou[road])``: the statistic a gate reads, as messages name it."""
    return f"{gate.statistic}({_target(gate)})"


def _support(gate: Gate, idx: int | str | None, series: Series, summary: dict[str, Any], unit: str) -> int:
    """How many images (samples) the statistic of ``gate`` is taken over: those with the value defined (a cls
    metric, one value over all samples: every sample evaluated)."""
    if gate.statistic == "mean" and idx is None:  # the summary's mean: its count and undefined values
        return int(summary.get("count", 0)) - int((summary.get("undefined") or {}).get(gate.name, 0))
    if gate.statistic == "pooled" and unit == "sample":
        return int(summary.get("count", 0))
    values = np.asarray(series(gate.name, idx), dtype=np.float64)
    return int(np.count_nonzero(~np.isnan(values)))


def _undefined(gate: Gate, idx: int | str | None, series: Series, summary: dict[str, Any], unit: str,
               side: str, own: bool = False) -> tuple[str, bool]:
    """Why the statistic of ``gate`` is undefined in one report (``side``: how a message names that report;
    ``own``: the report the gate reads alone), and whether that is because no image gave a value (vacuous)."""
    whose = "" if own else f"{side}'s "
    if not _support(gate, idx, series, summary, unit):
        count = int(summary.get("count", 0))
        return (f"no {unit} of {side} has {_target(gate)} defined ({count} {unit}"
                f"{'' if count == 1 else 's'} evaluated)", True)
    if gate.statistic == "pooled":
        return f"{whose}{_stat_text(gate)} is undefined (0/0)", False
    return f"{whose}{_stat_text(gate)} is undefined", False


def _value(gate: Gate, idx: int | str | None, series: Series, summary: dict[str, Any]) -> float | None:
    if idx == REGION_MEAN:  # the summary's own statistics (mean: nnU-Net's), else over the images' region means
        block = summary.get("region_mean") or {}
        if gate.statistic in block:
            return block[gate.statistic].get(gate.name)
        return statistic(gate.statistic, series(gate.name, idx))
    if gate.statistic == "pooled":
        return _pick(summary["pooled"], summary["per_class"]["pooled"], gate.name, idx)
    if gate.statistic == "mean" and idx is None:  # the reported mean (for cls: the convention's reduction)
        return summary["mean"].get(gate.name)
    return statistic(gate.statistic, series(gate.name, idx))


def change(form: str, base: float | None, new: float | None) -> float | None:
    """``delta``: new - base; ``rel``: (new - base) / |base| (undefined when base is 0)."""
    if base is None or new is None:
        return None
    delta = new - base
    if form == "delta":
        return delta
    return None if base == 0 else delta / abs(base)


def _pick(values: dict[str, Any], per_class: dict[str, Any], name: str, idx: int | None) -> float | None:
    if idx is None:
        return values.get(name)
    vector = per_class.get(name)
    if vector is None or not 0 <= idx < len(vector):  # a class the data does not have: undefined, refused later
        return None
    return vector[idx]

