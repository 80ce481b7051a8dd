"""The read side of a report document (docs/output.md, "The JSON document"): what every writer needs to read one, in one place.

A report document is the plain dict that ``lossctl seg``, ``cls`` and ``merge`` (``command`` ``seg`` or ``cls``)
and ``lossctl compare`` (``command`` ``compare``, ``config.of`` the compared command) produce. This module owns
how it is read, never how it is computed:

* :func:`task` and :func:`unit`: the command whose values a document holds, and what one row of it is (an
  ``image``, or a ``sample`` of ``cls``);
* :func:`value_names` and :func:`row_value_names`: the values of the run and those its rows hold;
  :func:`class_label`: a class's name; :func:`per_class_labels`: the name of every entry of the per-class
  vectors (the classes, then the regions);
* :func:`spec` and :func:`higher_is_better`: each value's registry entry and direction (``None`` for a value this
  version does not know);
* :func:`ranked_value` and :func:`worst_rows`: the one rule of every "worst images" list; :data:`TABLE_WORST`
  and :data:`LISTED_WORST`: the documented numbers of them;
* :func:`gate_value_name` and :func:`gate_comparison`: the value a gate result checked, and how (``delta``,
  ``rel``, ``worse`` or a plain statistic);
* :func:`detection_counts`: each class's and region's instances, matched, missed and false, summed over the
  per-instance rows;
* :func:`value_unit`: the unit of a value (``mm`` for the boundary distances over spaced images, from
  ``summary.units``); :func:`applies`: whether a per-class entry applies (``summary.not_applicable``);
* :func:`error_groups` and :func:`error_group_text`: the failed pairs grouped by problem, and one line for each
  group (the same problem in many files is one line);
* :data:`STATS`: the summary statistics every flat writer lists.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from lossctl import registry
from lossctl.engine.gates import parse_gate
from lossctl.engine.schema import Document, row_noun
from lossctl.io.text import display_path

#: The summary statistics of every value, in the order the flat writers list them (``pooled`` follows).
STATS = ("mean", "std", "min", "max")
#: How many of the worst images the table shows when not every row fits (the table's ``--worst`` default).
TABLE_WORST = 5
#: How many of the worst images ``github``, ``junit`` and the HTML report list (their ``--worst`` default).
LISTED_WORST = 10
#: How many files the line of a problem shared by several failed pairs names (the rest are counted).
NAMED_FAILURES = 3


def task(doc: Document) -> str:
    """The command whose values ``doc`` holds: ``seg`` or ``cls`` (for a compare document, of its reports)."""
    return doc["config"]["of"] if doc["command"] == "compare" else doc["command"]


def unit(doc: Document) -> str:
    """What one row of ``doc`` is: ``sample`` for ``cls``, else ``image``."""
    return row_noun(task(doc))


def value_names(doc: Document) -> list[str]:
    """Every value of the run, in catalogue order (the summary has each one that any row or the run has)."""
    return list(dict.fromkeys([*doc["summary"]["mean"], *row_value_names(doc)]))


def row_value_names(doc: Document) -> list[str]:
    """The values the per-image (per-sample) rows hold, in first-seen order (one pass over their keys)."""
    return list(dict.fromkeys(itertools.chain.from_iterable(r["values"] for r in doc["images"])))


def class_label(doc: Document, i: int) -> str:
    """The name of class ``i`` (of the per-class vectors), else its index."""
    names = doc["config"].get("per_class_names") or doc["config"].get("class_names") or []
    return names[i] if i < len(names) else str(i)


def per_class_labels(doc: Document) -> list[str]:
    """The name of every entry of the per-class vectors: the classes (:func:`class_label`), then the regions
    (``config.regions``), so a table has one column (or row) per entry."""
    regions = list(doc["config"].get("regions") or {})
    return [class_label(doc, i) for i in range(doc["config"]["num_classes"])] + regions


#: The detection counts of :func:`detection_counts`, in order.
DETECTIONS = ("instances", "inst_tp", "inst_fn", "inst_fp")


def detection_counts(doc: Document) -> dict[str, dict[str, int]]:
    """Per entry of the per-instance rows (``images[i].instances``: a class's name, a region's), summed over the
    images: its ground-truth ``instances``, those matched (``inst_tp``), those missed (``inst_fn``) and the false
    predictions (``inst_fp``: the unmatched predicted instances). Lesions kept out (``kept`` false: BraTS
    ``min_volume``) are not counted, as the values count them. Empty: the document has no instance rows."""
    counts: dict[str, dict[str, int]] = {}
    for row in doc["images"]:
        for entry, rows in (row.get("instances") or {}).items():
            kept = [r for r in rows["gt"] if r.get("kept", True)]
            tp = sum(1 for r in kept if r["matched"])
            add = {"instances": len(kept), "inst_tp": tp, "inst_fn": len(kept) - tp,
                   "inst_fp": len(rows["unmatched_pred"])}
            total = counts.setdefault(entry, dict.fromkeys(DETECTIONS, 0))
            for key, n in add.items():
                total[key] += n
    return counts


def spec(task: str, name: str) -> registry.Spec | None:
    """The registry entry of value ``name`` of ``task`` (``dice`` of ``dice[road]``), or None for a value this
    version does not know."""
    return registry.REGISTRY.get((task, name.split("[", 1)[0]))


def higher_is_better(task: str, name: str) -> bool | None:
    """The direction of value ``name``: True when higher is better, False when lower is, None when unknown."""
    entry = spec(task, name)
    return None if entry is None else entry.higher_is_better


def gate_value_name(gate: str) -> str:
    """The value a gate (its text, as the document records it) checks: ``dice`` of ``min(dice[road])>=0.5``."""
    return parse_gate(gate).name


def gate_comparison(result: dict[str, Any]) -> str | None:
    """How a gate result compares: ``delta``, ``rel`` or ``worse`` (a baseline gate), None for a statistic."""
    return parse_gate(result["gate"]).against


def value_unit(doc: Document, name: str) -> str | None:
    """The unit of value ``name`` (``hd95`` of ``hd95[road]``) in ``doc``: ``summary.units`` (a seg run's
    boundary distances: ``mm`` when every image's spacing came from its header or was given, ``px`` or ``voxels``
    when every image used 1.0 per axis, ``mixed`` otherwise), None for a value without one."""
    return (_reading(doc).get("units") or {}).get(name.split("[", 1)[0])


def applies(doc: Document, name: str, label: str) -> bool:
    """Whether the per-class entry of value ``name`` for the class (or region) named ``label`` applies; a
    ``null`` there is then undefined (0/0), else the run's rules leave it out (``summary.not_applicable``: the
    boundary metrics of the background, the per-class losses of an excluded background)."""
    return label not in ((_reading(doc).get("not_applicable") or {}).get(name) or ())


def _reading(doc: Document) -> dict[str, Any]:
    """Where a document says how its numbers read (``units``, ``not_applicable``): a report's ``summary`` (known
    once every image is done), a compare document's ``config`` (taken from its two reports)."""
    return doc["config"] if doc["command"] == "compare" else doc["summary"]


def ranked_value(doc: Document) -> str | None:
    """The value the worst images are ranked by: the first gated value that the per-image (per-sample) rows
    hold, else the first value they hold (in the document's order); None when there are no rows."""
    held = row_value_names(doc)
    gated = (gate_value_name(g["gate"]) for g in doc["gates"])
    return next((n for n in gated if n in held), held[0] if held else None)


def worst_rows(doc: Document, k: int, by: str | None = None) -> list[dict[str, Any]]:
    """The ``k`` worst per-image (per-sample) rows by the value ``by`` (default: :func:`ranked_value`), the one
    rule of every "worst images" list (table, ``github``, ``junit``, HTML report).

    Lowest first when higher is better (the registry's ``higher_is_better``; also for a value it does not
    know), highest first otherwise. Rows where ``by`` is undefined rank last (never as the worst); ties keep
    the document's order (image names; sample indexes). One stable ``argsort``, no Python sort key per row.
    """
    by = by or ranked_value(doc)
    rows = doc["images"]
    if by is None or k < 1 or not rows:
        return []
    sign = -1.0 if higher_is_better(doc["command"], by) is False else 1.0
    values = np.array([r["values"].get(by) for r in rows], dtype=np.float64)  # None: NaN, sorted last
    return [rows[i] for i in np.argsort(sign * values, kind="stable")[:k]]


def error_groups(doc: Document) -> list[list[dict[str, Any]]]:
    """The failed pairs (``errors``) grouped by problem: the entries with the same ``problem`` text (an entry
    without one, from an older report: its whole message), in the order of each problem's first pair."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in doc.get("errors", []):
        groups.setdefault(entry.get("problem") or entry["error"], []).append(entry)
    return list(groups.values())


def error_group_text(group: list[dict[str, Any]]) -> str:
    """One line for a group of :func:`error_groups`: a lone pair's message; for several, their count, the problem
    and the first :data:`NAMED_FAILURES` files (the others counted: the JSON report's ``errors`` lists each)."""
    if len(group) == 1:
        return group[0]["error"]
    files = ", ".join(display_path(entry["file"]) for entry in group[:NAMED_FAILURES])
    more = len(group) - NAMED_FAILURES
    if more > 0:
        files += f" and {more} more; the JSON report's \"errors\" lists every one"
    return f"{len(group)} pairs failed: {group[0].get('problem') or group[0]['error']} ({files})"
