"""Writers for CI systems (:data:`CI_WRITERS`, part of :data:`lossctl.report.WRITERS` and of
:data:`lossctl.report.COMPARE_WRITERS`): ``junit``, ``github`` and ``openmetrics``.

Every writer takes ``(document, stream, *, per_class=False, worst=10)`` and reads a report document of ``seg``
or ``cls`` (``merge`` writes a ``seg`` one) or a ``compare`` document; it only renders numbers computed before.

* ``junit``: one ``<testcase>`` per gate (a failed gate holds a ``<failure>`` whose message gives the value, the
  threshold and, for baseline gates, the baseline), one per failed pair (an ``<error>``).
* ``github``: GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY``, never more than :data:`GITHUB_LIMIT`
  bytes: gate verdicts, the summary, the worst images, then as many per-image rows as fit, with a note (for a
  compare document: :func:`lossctl.report.compare.markdown_lines`).
* ``openmetrics``: one gauge family per value, ``lossctl_dice{stat="mean"} 0.85`` (per class with a ``class``
  label), ending with ``# EOF``. Undefined values are left out (OpenMetrics would need NaN).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from lossctl.engine.document import (
    LISTED_WORST,
    STATS,
    Document,
    per_class_labels,
    gate_value_name,
    higher_is_better,
    ranked_value,
    row_value_names,
    spec,
    unit,
    value_names,
    value_unit,
    worst_rows,
)
from lossctl.errors import setting, spell
from lossctl.report.compare import markdown_lines
from lossctl.report.format import (
    NA,
    class_cells,
    failed_gates,
    fmt,
    gate_threshold_text,
    md_cell,
    md_gates,
    md_headline,
    md_table,
    signed,
)

#: GitHub refuses a step summary above 1 MiB ("upload aborted, supports content up to a size of 1024k").
GITHUB_LIMIT = 1024 * 1024
#: Kept free below the limit for the closing lines.
_GITHUB_RESERVE = 4096


# ----------------------------------------------------------------------------------------------------------
# JUnit XML
# ----------------------------------------------------------------------------------------------------------


def write_junit(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = LISTED_WORST) -> None:
    """JUnit XML: ``<testsuites><testsuite name="lossctl seg">``, one testcase per gate and per failed pair."""
    command = doc["command"]
    errors = doc.get("errors", [])
    failures = len(failed_gates(doc))
    suites = ET.Element("testsuites", name="lossctl", tests=str(len(doc["gates"]) + len(errors)),
                        failures=str(failures), errors=str(len(errors)), time="0")
    suite = ET.SubElement(suites, "testsuite", name=f"lossctl {command}",
                          tests=str(len(doc["gates"]) + len(errors)), failures=str(failures),
                          errors=str(len(errors)), skipped="0", time="0")
    props = ET.SubElement(suite, "properties")
    for key, value in _properties(doc):
        ET.SubElement(props, "property", name=key, value=value)
    for g in doc["gates"]:
        case = ET.SubElement(suite, "testcase", classname=f"lossctl.{command}.gates", name=g["gate"], time="0")
        if not g["passed"]:
            failure = ET.SubElement(case, "failure", message=f"{g['gate']} failed: {gate_threshold_text(g)}",
                                    type="GateFailed")
            failure.text = "\n".join([gate_threshold_text(g), *_worst_of_gate(doc, g, worst)])
    for e in errors:
        case = ET.SubElement(suite, "testcase", classname=f"lossctl.{command}.pairs", name=e["name"] or e["file"],
                             time="0")
        error = ET.SubElement(case, "error", message=e["error"], type="InputError")
        error.text = e["file"]
    ET.indent(suites)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(suites, encoding="unicode"))
    stream.write("\n")


def _worst_of_gate(doc: Document, gate: dict[str, Any], k: int) -> list[str]:
    """A failed gate's evidence: the ``k`` worst images by its value (for ``compare``, those that got worse the
    most), one line, or nothing."""
    name, noun = gate_value_name(gate["gate"]), unit(doc)
    if doc["command"] == "compare":
        worse = doc["worst"].get(name, [])[:k]
        items = [f"{r['name']} ({signed(r['delta'])})" for r in worse]
        what = f"the {noun}s that got worse the most by {name}"
    else:
        rows = worst_rows(doc, k, name) if name in row_value_names(doc) else []
        items = [f"{r['name']} ({fmt(r['values'].get(name))})" for r in rows]
        what = f"the {len(items)} worst {noun}s by {name}"
    return [f"{what}: {', '.join(items)}"] if items else []


def _properties(doc: Document) -> list[tuple[str, str]]:
    cfg = doc["config"]
    props = [("lossctl", str(doc["lossctl"])), ("command", doc["command"])]
    if doc["command"] == "compare":
        props += [(k, str(cfg[k])) for k in ("base", "new", "of", "paired") if k in cfg]
    else:
        props += [(k, str(cfg[k])) for k in ("pred", "gt", "target", "convention", "shard", "baseline")
                  if cfg.get(k) is not None]
        props.append((f"{unit(doc)}s", str(doc["summary"]["count"])))
    return props


# ----------------------------------------------------------------------------------------------------------
# GitHub step summary
# ----------------------------------------------------------------------------------------------------------


class _Budget:
    """Markdown lines counted in UTF-8 bytes against a limit."""

    def __init__(self, limit: int) -> None:
        self.limit, self.used, self.lines = limit, 0, []

    def add(self, line: str) -> bool:
        size = len(line.encode("utf-8")) + 1
        if self.used + size > self.limit:
            return False
        self.lines.append(line)
        self.used += size
        return True

    def force(self, line: str) -> None:
        self.lines.append(line)
        self.used += len(line.encode("utf-8")) + 1


def write_github(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = LISTED_WORST,
                 limit: int = GITHUB_LIMIT, flags: Mapping[str, str] | None = None) -> None:
    """GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY`` (appended to by ``--write github=PATH``), at most
    ``limit`` bytes in UTF-8: per-image rows that do not fit are cut, and a note says how many are shown and how
    to get the whole report (naming the setting as ``flags`` spells it, see :func:`lossctl.errors.spell`;
    without it, as a Python argument)."""
    json_output = spell(setting("write", "json=PATH"), flags)
    budget = _Budget(limit - _GITHUB_RESERVE)
    fixed = markdown_lines(doc, worst) if doc["command"] == "compare" else _github_report(doc, worst, per_class)
    for shown, line in enumerate(fixed):
        if not budget.add(line):
            budget.force("")
            budget.force(f"_Cut here ({len(fixed) - shown} more lines) to stay under GitHub's 1 MiB step-summary "
                         f"limit; the full report is in the JSON output (`{json_output}`)._")
            break
    else:
        if doc["command"] != "compare":
            _github_rows(doc, budget, json_output)
    budget.force("")
    stream.write("\n".join(budget.lines) + "\n")


def _github_report(doc: Document, worst: int, per_class: bool) -> list[str]:
    s, cfg = doc["summary"], doc["config"]
    noun = unit(doc)
    lines = [f"<!-- lossctl {doc['command']} -->", md_headline(doc), ""]
    where = " vs ".join(f"`{md_cell(cfg[k])}`" for k in ("pred", "gt", "target") if cfg.get(k))
    lines += [f"{s['count']} {noun}(s) evaluated, {len(doc.get('errors', []))} failed"
              + (f" · {where}" if where else "") + (f" · shard {cfg['shard']}" if cfg.get("shard") else "")
              + (f" · baseline `{md_cell(cfg['baseline'])}`" if cfg.get("baseline") else ""), ""]
    lines += md_gates(doc)
    names = value_names(doc)
    rows = [[_md_name(doc, n), *(fmt(s[stat][n] if n in s[stat] else NA) for stat in (*STATS, "pooled"))]
            for n in names]
    lines += [f"**Summary** over {s['count']} {noun}(s)", ""]
    lines += md_table(["value", *STATS, "pooled"], ["---", *["---:"] * 5], rows) + [""]
    pc = s["per_class"]
    if doc["command"] == "seg" and (pc["pooled"] or pc["mean"]):
        labels = [md_cell(label) for label in per_class_labels(doc)]  # the classes, then the regions
        rows = [[f"{stat} {_md_name(doc, n)}", *(fmt(v) for v in class_cells(doc, n, vector))]
                for stat in ("pooled", "mean") for n, vector in pc[stat].items()]
        lines += ["**Per class** (pooled: summed confusion matrix; mean: over images)", ""]
        lines += md_table(["value", *labels], ["---", *["---:"] * len(labels)], rows) + [""]
    lines += _worst_images(doc, worst)
    errors = doc.get("errors", [])
    if errors:
        lines += [f"**Failed pairs** ({len(errors)})", ""]
        lines += [f"- `{md_cell(e['file'])}`: {md_cell(e['error'])}" for e in errors[:worst]]
        if len(errors) > worst:
            lines.append(f"- … and {len(errors) - worst} more (see the JSON report)")
        lines.append("")
    return lines


def _md_name(doc: Document, name: str) -> str:
    """A value's name in Markdown, with its unit when it has one: ```hd95` (mm)``."""
    unit = value_unit(doc, name)
    return f"`{name}`" + (f" ({unit})" if unit else "")


def _row_names(doc: Document) -> list[str]:
    """The values the per-image rows hold (a cls run's metrics are over all samples: no column of them)."""
    held = set(row_value_names(doc))
    return [n for n in value_names(doc) if n in held]


def _worst_images(doc: Document, k: int) -> list[str]:
    by = ranked_value(doc)
    rows = worst_rows(doc, k, by)
    if not rows:
        return []
    names = _row_names(doc)
    order = "highest" if higher_is_better(doc["command"], by) is False else "lowest"
    lines = [f"**The {len(rows)} worst {unit(doc)}(s)** by `{by}` ({order} first)", ""]
    lines += md_table([unit(doc), *(_md_name(doc, n) for n in names)], ["---", *["---:"] * len(names)],
                      ([f"`{md_cell(r['name'])}`", *(fmt(r["values"].get(n)) for n in names)] for r in rows))
    return lines + [""]


def _github_rows(doc: Document, budget: _Budget, json_output: str) -> None:
    """Every image's row in a collapsed block, as many as the budget allows (a note says how to get the JSON
    report, ``json_output``, when they do not all fit)."""
    images = doc["images"]
    if not images:
        return
    names = _row_names(doc)
    head = [f"<details><summary>All {len(images)} {unit(doc)}(s)</summary>", ""]
    head += md_table([unit(doc), *(_md_name(doc, n) for n in names)], ["---", *["---:"] * len(names)], [])
    tail_size = 600  # the closing lines and the note
    if budget.used + sum(len(x.encode()) + 1 for x in head) + tail_size > budget.limit:
        budget.force(f"_Per-{unit(doc)} rows left out to stay under GitHub's 1 MiB summary limit; the full "
                     "table is in the JSON report._")
        return
    budget.limit -= tail_size
    for line in head:
        budget.add(line)
    shown = 0
    for r in images:
        if not budget.add("| " + " | ".join([f"`{md_cell(r['name'])}`", *(fmt(r["values"].get(n)) for n in names)])
                          + " |"):
            break
        shown += 1
    budget.limit += tail_size
    budget.force("")
    budget.force("</details>")
    if shown < len(images):
        budget.force("")
        budget.force(f"_Rows cut: {shown} of {len(images)} {unit(doc)}s shown, to stay under GitHub's 1 MiB "
                     f"step-summary limit; the full table is in the JSON report (`{json_output}`)._")


# ----------------------------------------------------------------------------------------------------------
# OpenMetrics
# ----------------------------------------------------------------------------------------------------------


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(v: float) -> str:
    return repr(float(v)) if not float(v).is_integer() or abs(v) >= 1e15 else str(int(v))


class _Families:
    """Gauge families in first-seen order, each written once with all its samples (OpenMetrics needs that)."""

    def __init__(self) -> None:
        self.families: dict[str, tuple[str, list[str]]] = {}

    def add(self, name: str, help_text: str, labels: dict[str, Any], value: float | None) -> None:
        if value is None or not math.isfinite(value):
            return
        fam = self.families.setdefault(name, (help_text, []))
        inner = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        fam[1].append(f"{name}{{{inner}}} {_number(value)}" if inner else f"{name} {_number(value)}")

    def write(self, stream: TextIO) -> None:
        for name, (help_text, samples) in self.families.items():
            stream.write(f"# TYPE {name} gauge\n# HELP {name} {_label(help_text)}\n")
            stream.write("".join(s + "\n" for s in samples))
        stream.write("# EOF\n")


def _metric_name(name: str) -> str:
    return "lossctl_" + "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)


def _help(task: str, name: str) -> str:
    entry = spec(task, name)
    return f"{name} ({entry.kind}, {entry.direction} is better): {entry.formula}" if entry else name


def write_openmetrics(doc: Document, stream: TextIO, *, per_class: bool = False,
                      worst: int = LISTED_WORST) -> None:
    """OpenMetrics text (GitLab's ``artifacts:reports:metrics``): gauges per value, statistic and class."""
    fam = _Families()
    if doc["command"] == "compare":
        _openmetrics_compare(doc, fam)
    else:
        s, task = doc["summary"], doc["command"]
        labels = per_class_labels(doc) if task == "seg" else doc["config"].get("class_names") or []  # then regions
        for n in value_names(doc):
            for stat in (*STATS, "pooled"):
                fam.add(_metric_name(n), _help(task, n), {"stat": stat}, s[stat].get(n))
            for stat in ("mean", "pooled"):
                for i, v in enumerate(s["per_class"][stat].get(n, [])):
                    fam.add(_metric_name(n), _help(task, n),
                            {"stat": stat, "class": labels[i] if i < len(labels) else i}, v)
        noun = unit(doc)
        fam.add(f"lossctl_{noun}s", f"{noun}s evaluated or failed", {"state": "evaluated"}, s["count"])
        fam.add(f"lossctl_{noun}s", f"{noun}s evaluated or failed", {"state": "failed"}, len(doc.get("errors", [])))
    for g in doc["gates"]:
        fam.add("lossctl_gate_passed", "1 if the gate passed, 0 if it failed", {"gate": g["gate"]},
                1.0 if g["passed"] else 0.0)
        fam.add("lossctl_gate_value", "the value a gate checked", {"gate": g["gate"]}, g["value"])
    fam.write(stream)


def _openmetrics_compare(doc: Document, fam: _Families) -> None:
    task = doc["config"]["of"]
    for block, stat in (("values", "mean"), ("pooled", "pooled")):
        for key, v in doc[block].items():
            name, _, cls = key.partition("[")
            labels: dict[str, Any] = {"stat": stat, **({"class": cls[:-1]} if cls else {})}
            for side in ("base", "new"):
                fam.add(_metric_name(name), _help(task, name), {"report": side, **labels}, v[side])
            fam.add(_metric_name(name) + "_delta", f"{name}: new - base", labels, v["delta"])
            fam.add(_metric_name(name) + "_rel", f"{name}: (new - base) / |base|", labels, v["rel"])
            if v.get("ci"):
                for bound, x in zip(("low", "high"), v["ci"], strict=True):
                    fam.add(_metric_name(name) + "_delta_ci", f"{name}: 95% paired bootstrap interval of the "
                            "mean per-image delta", {**labels, "bound": bound}, x)
    fam.add("lossctl_paired", "images in both reports", {}, doc["config"]["paired"])


CI_WRITERS: dict[str, Callable[..., None]] = {
    "junit": write_junit,
    "github": write_github,
    "openmetrics": write_openmetrics,
}
