"""Quality gates: ``--gate 'STAT(NAME[CLASS]) OP NUMBER'`` checked against a report.

Grammar (spaces allowed anywhere)::

    gate      := value op number | "delta(" value ")" op number | "rel(" value ")" op number
               | "worse(" name ["[" class "]"] "," number ")" op number
    value     := [statistic "("] name ["[" class "]"] [")"]
    statistic := mean | median | min | max | std | pooled | pNN     (default: mean; pNN = NN-th percentile)
    op        := >= | <= | > | <

``mean``, ``median``, ``min``, ``max``, ``std`` and ``pNN`` are taken over the images' values (images where the value
is undefined are left out; for ``cls``, over the samples, and ``mean`` is the loss as the convention reduces it);
``pooled`` reads the value of the summed confusion matrix (metrics only). ``[CLASS]``
(a class index or a ``--class-names`` name) gates a per-class value. A gate whose value is undefined fails.

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

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossctl.errors import UsageError

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

    @property
    def value_text(self) -> str:
        """The gated value without the comparison, e.g. ``delta(pooled(iou[road]))``."""
        m = re.match(rf"^\s*(.*?)\s*(?:>=|<=|>|<)\s*{_NUM}\s*$", self.text)
        return m.group(1) if m else self.text


def parse_gate(text: str) -> Gate:
    """Parse one gate expression; a malformed one is a :class:`UsageError` that shows the syntax."""
    m = _WORSE.match(text)
    if m:
        margin = float(m.group("margin"))
        if not margin >= 0:
            raise UsageError(f"malformed --gate {text!r}: the margin of worse() is a change, at least 0")
        return Gate(text, "image", m.group("name"), m.group("cls"), m.group("op"), float(m.group("num")),
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
        raise UsageError(f"malformed --gate {text!r}; expected {GATE_SYNTAX}")
    name = m.group("name") or m.group("name2")
    cls = m.group("cls") or m.group("cls2")
    stat = m.group("stat") or "mean"
    if stat.startswith("p") and stat != "pooled" and not 0 <= float(stat[1:]) <= 100:
        raise UsageError(f"malformed --gate {text!r}: a percentile must be between p0 and p100")
    return Gate(text, stat, name, cls, m.group("op"), float(m.group("num")))


def unique_gates(gates: Sequence[Gate]) -> list[Gate]:
    """``gates`` without repeats (by :attr:`Gate.key`), in first-seen order."""
    seen: dict[Any, Gate] = {}
    for g in gates:
        seen.setdefault(g.key, g)
    return list(seen.values())


Series = Callable[[str, "int | None"], Sequence[float]]


@dataclass(frozen=True)
class Baseline:
    """What baseline gates read of the baseline report: its summary, its ``series``, and
    ``worsening(name, class_index)``, the (P,) array of how much each image present in both reports got worse
    (positive: worse, in the value's direction; images where either side is undefined are left out)."""

    summary: dict[str, Any]
    series: Series
    worsening: Callable[[str, int | None], np.ndarray]


def check_gates(gates: Sequence[Gate], series: Series, summary: dict[str, Any],
                class_names: Sequence[str], baseline: Baseline | None = None) -> list[dict[str, Any]]:
    """Evaluate every gate against the summary of a report and ``series(name, class_index)``, the defined
    per-image (or per-sample) values of one value; baseline gates also read ``baseline``."""
    return [_check(g, series, summary, class_names, baseline) for g in gates]


def row_series(rows: Sequence[dict[str, Any]]) -> Series:
    """``series`` over the rows of a report (``values`` and ``per_class`` of each image)."""
    def series(name: str, idx: int | None) -> list[float]:
        picked = (_pick(r["values"], r["per_class"], name, idx) for r in rows)
        return [v for v in picked if v is not None]
    return series


def validate_gates(gates: Sequence[Gate], computed: Mapping[str, Any], *, class_count: int | None = None,
                   class_names: Sequence[str] = (), per_class: bool = True,
                   metrics_per_item: bool = True, baseline: bool | None = False) -> None:
    """Refuse, before any work, gates on values that are not computed, ``pooled()`` of a loss, class gates on
    values without per-class form or on a class that does not exist, (``cls``: ``metrics_per_item``
    False) statistics over items of a metric that has one value only, and baseline gates without a baseline
    (``baseline`` False; None: do not check). ``computed`` maps the names of the values the run computes to
    their registry entries (which say ``kind`` and ``per_class``)."""
    for g in gates:
        if g.against is not None and baseline is False:
            raise UsageError(f"--gate {g.text!r} compares with a baseline; give --baseline BASE.json (or use "
                             "`lossctl compare BASE.json NEW.json`)")
        spec = computed.get(g.name)
        if spec is None:
            raise UsageError(f"--gate {g.text!r} uses {g.name!r}, which this run does not compute; "
                             f"computed: {', '.join(computed)}")
        if g.statistic == "pooled" and spec.kind != "metric":
            raise UsageError(f"--gate {g.text!r}: pooled() exists for metrics only")
        if not metrics_per_item and spec.kind == "metric" and g.statistic not in ("mean", "pooled"):
            if g.against == "worse":
                raise UsageError(f"--gate {g.text!r}: {g.name} is one value over all samples, so no sample gets "
                                 f"worse; gate delta({g.name}) instead")
            raise UsageError(f"--gate {g.text!r}: {g.name} is one value over all samples; gate it as "
                             f"{g.name}{g.op}{g.threshold:g}")
        if g.cls is not None:
            if not (per_class and spec.per_class):
                raise UsageError(f"--gate {g.text!r}: {g.name} has no per-class values here")
            idx = class_index(g.cls, class_names)
            if class_count is not None and not 0 <= idx < class_count:
                raise UsageError(f"--gate {g.text!r}: there is no class {idx} (classes 0..{class_count - 1})")


def class_index(cls: str, class_names: Sequence[str]) -> int:
    """The index of a ``[CLASS]`` given as a number or a class name."""
    if cls in class_names:
        return list(class_names).index(cls)
    try:
        return int(cls)
    except ValueError:
        raise UsageError(f"unknown class {cls!r} in --gate; use a class index or one of: "
                         f"{', '.join(class_names) or '(no --class-names given)'}") from None


def _check(gate: Gate, series: Series, summary: dict[str, Any], class_names: Sequence[str],
           baseline: Baseline | None) -> dict[str, Any]:
    idx = None if gate.cls is None else class_index(gate.cls, class_names)
    extra: dict[str, Any] = {}
    if gate.against is None:
        value = _value(gate, idx, series, summary)
    elif baseline is None:
        raise UsageError(f"--gate {gate.text!r} compares with a baseline, and none was given")
    elif gate.against == "worse":
        worsening = baseline.worsening(gate.name, idx)
        value = float(np.count_nonzero(worsening > gate.margin))
        extra = {"margin": gate.margin, "paired": int(worsening.size)}
    else:
        new, base = _value(gate, idx, series, summary), _value(gate, idx, baseline.series, baseline.summary)
        value = change(gate.against, base, new)
        extra = {"base": base, "new": new}
    passed = value is not None and _OPS[gate.op](value, gate.threshold)
    return {"gate": gate.text, "statistic": gate.statistic, "value": value, "passed": bool(passed), **extra}


def _value(gate: Gate, idx: int | None, series: Series, summary: dict[str, Any]) -> float | None:
    if gate.statistic == "pooled":
        return _pick(summary["pooled"], summary["per_class"]["pooled"], gate.name, idx)
    if gate.statistic == "mean" and idx is None:  # the reported mean (for cls: the convention's reduction)
        return summary["mean"].get(gate.name)
    return _statistic(gate.statistic, series(gate.name, idx))


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


def _statistic(stat: str, values: Sequence[float]) -> float | None:
    v = np.asarray(values, dtype=np.float64)
    v = v[~np.isnan(v)]
    if not v.size:
        return None
    if stat == "mean":
        result = v.mean()
    elif stat == "median":
        result = np.median(v)
    elif stat == "min":
        result = v.min()
    elif stat == "max":
        result = v.max()
    elif stat == "std":
        result = v.std()
    else:
        result = np.percentile(v, float(stat[1:]))
    return None if math.isnan(result) else float(result)
