"""Writers for CI systems (:data:`CI_WRITERS`, part of :data:`lossctl.report.WRITERS`): ``junit``, ``github`` and
``openmetrics``; and the ``table``, ``markdown`` and ``csv`` renderings of a ``lossctl compare`` document
(:data:`COMPARE_WRITERS`).

Every writer takes ``(document, stream, *, per_class=False, worst=10)`` and reads a report document of ``seg``
or ``cls`` (``merge`` writes a ``seg`` one) or a ``compare`` document; it only renders numbers computed before.

* ``junit``: one ``<testcase>`` per gate (a failed gate holds a ``<failure>`` whose message gives the value, the
  threshold and, for baseline gates, the baseline), one per failed pair (an ``<error>``).
* ``github``: GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY``, never more than :data:`GITHUB_LIMIT`
  bytes: gate verdicts, the summary, the worst images, then as many per-image rows as fit, with a note.
* ``openmetrics``: one gauge family per value, ``lossctl_dice{stat="mean"} 0.85`` (per class with a ``class``
  label), ending with ``# EOF``. Undefined values are left out (OpenMetrics would need NaN).
"""

from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any, TextIO

from lossctl import registry
from lossctl.report import flat
from lossctl.engine.compare import gate_threshold_text

Document = dict[str, Any]

#: GitHub refuses a step summary above 1 MiB ("upload aborted, supports content up to a size of 1024k").
GITHUB_LIMIT = 1024 * 1024
#: Kept free below the limit for the closing lines.
_GITHUB_RESERVE = 4096
DEFAULT_WORST = 10
STATS = ("mean", "std", "min", "max")


def _unit(doc: Document) -> str:
    return "sample" if _task(doc) == "cls" else "image"


def _fmt(v: Any, digits: int = 4) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _signed(v: Any, digits: int = 4) -> str:
    return "—" if v is None else f"{v:+.{digits}f}"


def _failed(doc: Document) -> list[dict[str, Any]]:
    return [g for g in doc["gates"] if not g["passed"]]


def _task(doc: Document) -> str:
    return doc["config"]["of"] if doc["command"] == "compare" else doc["command"]


def _direction(task: str, name: str) -> bool | None:
    base = name.split("[", 1)[0]
    spec = registry.REGISTRY.get((task, base))
    return None if spec is None else spec.higher_is_better


# ----------------------------------------------------------------------------------------------------------
# JUnit XML
# ----------------------------------------------------------------------------------------------------------


def write_junit(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = DEFAULT_WORST) -> None:
    """JUnit XML: ``<testsuites><testsuite name="lossctl seg">``, one testcase per gate and per failed pair."""
    command = doc["command"]
    errors = doc.get("errors", [])
    failures = len(_failed(doc))
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
    from lossctl.engine.gates import parse_gate

    name, unit = parse_gate(gate["gate"]).name, _unit(doc)
    if doc["command"] == "compare":
        worse = doc["worst"].get(name, [])[:k]
        items = [f"{r['name']} ({_signed(r['delta'])})" for r in worse]
        what = f"the {unit}s that got worse the most by {name}"
    else:
        rows = flat.worst_rows(doc, k, name) if name in flat.row_value_names(doc) else []
        items = [f"{r['name']} ({_fmt(r['values'].get(name))})" for r in rows]
        what = f"the {len(items)} worst {unit}s by {name}"
    return [f"{what}: {', '.join(items)}"] if items else []


def _properties(doc: Document) -> list[tuple[str, str]]:
    cfg = doc["config"]
    props = [("lossctl", str(doc["lossctl"])), ("command", doc["command"])]
    if doc["command"] == "compare":
        props += [(k, str(cfg[k])) for k in ("base", "new", "of", "paired") if k in cfg]
    else:
        props += [(k, str(cfg[k])) for k in ("pred", "gt", "target", "convention", "shard", "baseline")
                  if cfg.get(k) is not None]
        props.append((f"{_unit(doc)}s", str(doc["summary"]["count"])))
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


def _cell(text: Any) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], align: list[str], rows: Iterable[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _gate_lines(doc: Document) -> list[str]:
    if not doc["gates"]:
        return []
    rows = []
    for g in doc["gates"]:
        base = _fmt(g["base"]) if "base" in g else ""
        verdict = "✅ pass" if g["passed"] else "❌ **FAIL**"
        rows.append([f"`{_cell(g['gate'])}`", _fmt(g["value"]), base, verdict])
    return _table(["gate", "value", "baseline", "result"], ["---", "---:", "---:", "---"], rows) + [""]


def write_github(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = DEFAULT_WORST,
                 limit: int = GITHUB_LIMIT) -> None:
    """GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY`` (appended to by ``--write github=PATH``), at most
    ``limit`` bytes in UTF-8: per-image rows that do not fit are cut, and a note says how many are shown."""
    budget = _Budget(limit - _GITHUB_RESERVE)
    fixed = _github_compare(doc, worst) if doc["command"] == "compare" else _github_report(doc, worst, per_class)
    for shown, line in enumerate(fixed):
        if not budget.add(line):
            budget.force("")
            budget.force(f"_Cut here ({len(fixed) - shown} more lines) to stay under GitHub's 1 MiB step-summary "
                         "limit; the full report is in the JSON output (`--write json=PATH`)._")
            break
    else:
        if doc["command"] != "compare":
            _github_rows(doc, budget)
    budget.force("")
    stream.write("\n".join(budget.lines) + "\n")


def _headline(doc: Document) -> str:
    failed = _failed(doc)
    if not doc["gates"]:
        verdict = "no gates"
    elif failed:
        verdict = f"❌ {len(failed)} of {len(doc['gates'])} gate(s) failed"
    else:
        verdict = f"✅ {len(doc['gates'])} gate(s) passed"
    return f"### lossctl {doc['command']}: {verdict}"


def _github_report(doc: Document, worst: int, per_class: bool) -> list[str]:
    s, cfg = doc["summary"], doc["config"]
    unit = _unit(doc)
    lines = [f"<!-- lossctl {doc['command']} -->", _headline(doc), ""]
    where = " vs ".join(f"`{_cell(cfg[k])}`" for k in ("pred", "gt", "target") if cfg.get(k))
    lines += [f"{s['count']} {unit}(s) evaluated, {len(doc.get('errors', []))} failed"
              + (f" · {where}" if where else "") + (f" · shard {cfg['shard']}" if cfg.get("shard") else "")
              + (f" · baseline `{_cell(cfg['baseline'])}`" if cfg.get("baseline") else ""), ""]
    lines += _gate_lines(doc)
    names = flat._value_names(doc)
    rows = [[f"`{n}`", *(_fmt(s[stat].get(n)) for stat in STATS), _fmt(s["pooled"].get(n))] for n in names]
    lines += [f"**Summary** over {s['count']} {unit}(s)", ""]
    lines += _table(["value", *STATS, "pooled"], ["---", *["---:"] * 5], rows) + [""]
    pc = s["per_class"]
    if doc["command"] == "seg" and (pc["pooled"] or pc["mean"]):
        c = cfg["num_classes"]
        labels = [_cell(flat._class_label(doc, i)) for i in range(c)]
        rows = [[f"{stat} `{n}`", *(_fmt(v) for v in vector)] for stat in ("pooled", "mean")
                for n, vector in pc[stat].items()]
        lines += ["**Per class** (pooled: summed confusion matrix; mean: over images)", ""]
        lines += _table(["value", *labels], ["---", *["---:"] * c], rows) + [""]
    lines += _worst_images(doc, worst)
    errors = doc.get("errors", [])
    if errors:
        lines += [f"**Failed pairs** ({len(errors)})", ""]
        lines += [f"- `{_cell(e['file'])}`: {_cell(e['error'])}" for e in errors[:worst]]
        if len(errors) > worst:
            lines.append(f"- … and {len(errors) - worst} more (see the JSON report)")
        lines.append("")
    return lines


def _row_names(doc: Document) -> list[str]:
    """The values the per-image rows hold (a cls run's metrics are over all samples: no column of them)."""
    held = set(flat.row_value_names(doc))
    return [n for n in flat._value_names(doc) if n in held]


def _worst_images(doc: Document, k: int) -> list[str]:
    by = flat.ranked_value(doc)
    rows = flat.worst_rows(doc, k, by)
    if not rows:
        return []
    names = _row_names(doc)
    order = "highest" if _direction(doc["command"], by) is False else "lowest"
    lines = [f"**The {len(rows)} worst {_unit(doc)}(s)** by `{by}` ({order} first)", ""]
    lines += _table([_unit(doc), *(f"`{n}`" for n in names)], ["---", *["---:"] * len(names)],
                    ([f"`{_cell(r['name'])}`", *(_fmt(r["values"].get(n)) for n in names)] for r in rows))
    return lines + [""]


def _github_rows(doc: Document, budget: _Budget) -> None:
    """Every image's row in a collapsed block, as many as the budget allows."""
    images = doc["images"]
    if not images:
        return
    names = _row_names(doc)
    head = [f"<details><summary>All {len(images)} {_unit(doc)}(s)</summary>", ""]
    head += _table([_unit(doc), *(f"`{n}`" for n in names)], ["---", *["---:"] * len(names)], [])
    tail_size = 600  # the closing lines and the note
    if budget.used + sum(len(x.encode()) + 1 for x in head) + tail_size > budget.limit:
        budget.force(f"_Per-{_unit(doc)} rows left out to stay under GitHub's 1 MiB summary limit; the full "
                     "table is in the JSON report._")
        return
    budget.limit -= tail_size
    for line in head:
        budget.add(line)
    shown = 0
    for r in images:
        if not budget.add("| " + " | ".join([f"`{_cell(r['name'])}`", *(_fmt(r["values"].get(n)) for n in names)])
                          + " |"):
            break
        shown += 1
    budget.limit += tail_size
    budget.force("")
    budget.force("</details>")
    if shown < len(images):
        budget.force("")
        budget.force(f"_Rows cut: {shown} of {len(images)} {_unit(doc)}s shown, to stay under GitHub's 1 MiB "
                     "step-summary limit; the full table is in the JSON report (`--write json=PATH`)._")


def _github_compare(doc: Document, worst: int) -> list[str]:
    cfg = doc["config"]
    lines = ["<!-- lossctl compare -->", _headline(doc), ""]
    lines += [(f"`{_cell(cfg.get('base', 'base'))}` → `{_cell(cfg.get('new', 'new'))}` ({cfg['of']}): "
              f"{cfg['paired']} {_unit(doc)}(s) in both, "
              f"{len(doc['only_in_base'])} only in base, {len(doc['only_in_new'])} only in new"), ""]
    lines += _gate_lines(doc)
    lines += _compare_table_lines(doc, "values", f"**Means** (95% CI: paired bootstrap, {cfg['bootstrap']} "
                                                  "resamples)" if has_interval(doc, "values") else "**Means**")
    if doc["pooled"]:
        lines += _compare_table_lines(doc, "pooled", "**Pooled** (summed confusion matrices)")
    for name, rows in doc["worst"].items():
        if not rows or name not in worst_shown(doc):
            continue
        lines += [f"**Got worse the most: `{name}`**", ""]
        lines += _table([_unit(doc), "base", "new", "delta"], ["---", "---:", "---:", "---:"],
                        ([f"`{_cell(r['name'])}`", _fmt(r["base"]), _fmt(r["new"]), _signed(r["delta"])]
                         for r in rows[:worst])) + [""]
    for key in ("only_in_base", "only_in_new"):
        if doc[key]:
            shown = ", ".join(f"`{_cell(n)}`" for n in doc[key][:50])
            more = f" … and {len(doc[key]) - 50} more" if len(doc[key]) > 50 else ""
            lines += [f"**{key.replace('_', ' ').capitalize()}** ({len(doc[key])}): {shown}{more}", ""]
    return lines


#: The columns of a compare row, as every writer heads them (the pooled rows have no interval).
CHANGE_COLUMNS = ("base", "new", "delta", "rel", "95% CI")


def change_cells(change: dict[str, Any], interval: bool = True) -> list[str]:
    """The cells of one compare row (``values`` or ``pooled``) under :data:`CHANGE_COLUMNS`, as every writer
    prints them: 4 decimals, signed deltas, ``rel`` in percent, ``—`` where undefined."""
    ci = change.get("ci")
    cells = [_fmt(change["base"]), _fmt(change["new"]), _signed(change["delta"]),
             "—" if change["rel"] is None else f"{100 * change['rel']:+.2f}%"]
    return cells + (["—" if not ci else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"] if interval else [])


def has_interval(doc: Document, block: str) -> bool:
    """Whether a compare document's ``block`` (``values`` or ``pooled``) has a bootstrap interval to show: the
    pooled values never do, nor any value with ``--bootstrap 0`` (no column of dashes)."""
    return block == "values" and any(v.get("ci") for v in doc[block].values())


def _compare_table_lines(doc: Document, block: str, title: str) -> list[str]:
    interval = has_interval(doc, block)
    rows = [[f"`{_cell(name)}`", *change_cells(v, interval)] for name, v in doc[block].items()]
    header = ["value", *CHANGE_COLUMNS[:5 if interval else 4]]
    return [title, ""] + _table(header, ["---", *["---:"] * (len(header) - 1)], rows) + [""]


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
    spec = registry.REGISTRY.get((task, name))
    return f"{name} ({spec.kind}, {spec.direction} is better): {spec.formula}" if spec else name


def write_openmetrics(doc: Document, stream: TextIO, *, per_class: bool = False,
                      worst: int = DEFAULT_WORST) -> None:
    """OpenMetrics text (GitLab's ``artifacts:reports:metrics``): gauges per value, statistic and class."""
    fam = _Families()
    if doc["command"] == "compare":
        _openmetrics_compare(doc, fam)
    else:
        s, task = doc["summary"], doc["command"]
        labels = doc["config"].get("class_names") or []
        for n in flat._value_names(doc):
            for stat in (*STATS, "pooled"):
                fam.add(_metric_name(n), _help(task, n), {"stat": stat}, s[stat].get(n))
            for stat in ("mean", "pooled"):
                for i, v in enumerate(s["per_class"][stat].get(n, [])):
                    fam.add(_metric_name(n), _help(task, n),
                            {"stat": stat, "class": labels[i] if i < len(labels) else i}, v)
        unit = _unit(doc)
        fam.add(f"lossctl_{unit}s", f"{unit}s evaluated or failed", {"state": "evaluated"}, s["count"])
        fam.add(f"lossctl_{unit}s", f"{unit}s evaluated or failed", {"state": "failed"}, len(doc.get("errors", [])))
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


# ----------------------------------------------------------------------------------------------------------
# compare: table, Markdown, CSV
# ----------------------------------------------------------------------------------------------------------


def write_compare_table(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = DEFAULT_WORST,
                        width: int | None = None) -> None:
    """The table format of a compare document, fitted to the width like the report's table: see
    :func:`lossctl.report.table.write_compare_table` (imported here lazily: Rich is slow to import)."""
    from lossctl.report.table import write_compare_table as write

    write(doc, stream, per_class=per_class, worst=worst, width=width)


def worst_shown(doc: Document) -> list[str]:
    """The values whose worst images a table shows: the gated ones, else the first one (JSON has them all)."""
    from lossctl.engine.gates import parse_gate

    gated = [parse_gate(g["gate"]).name for g in doc["gates"]]
    shown = [n for n in dict.fromkeys(gated) if n in doc["worst"]]
    return shown or list(doc["worst"])[:1]


def write_compare_markdown(doc: Document, stream: TextIO, *, per_class: bool = False,
                           worst: int = DEFAULT_WORST) -> None:
    """GitHub-flavoured Markdown tables (the ``github`` writer without the size cap's per-image block)."""
    stream.write("\n".join(_github_compare(doc, worst)) + "\n")


def write_compare_csv(doc: Document, stream: TextIO, *, per_class: bool = False,
                      worst: int = DEFAULT_WORST) -> None:
    """One flat table: ``section,value,image,base,new,delta,rel,ci_low,ci_high,passed`` with section ``mean``,
    ``pooled``, ``worst`` (one row per worst image), ``only_in_base``, ``only_in_new`` or ``gate`` (its value in
    ``delta``, for a baseline gate; ``passed`` true or false). Numbers at full precision."""
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(["section", "value", "image", "base", "new", "delta", "rel", "ci_low", "ci_high", "passed"])

    def num(v: Any) -> str:
        return "" if v is None else repr(v)

    for block, section in (("values", "mean"), ("pooled", "pooled")):
        for name, v in doc[block].items():
            ci = v.get("ci") or [None, None]
            w.writerow([section, name, "", num(v["base"]), num(v["new"]), num(v["delta"]), num(v["rel"]),
                        num(ci[0]), num(ci[1]), ""])
    for name, rows in doc["worst"].items():
        for r in rows:
            w.writerow(["worst", name, r["name"], num(r["base"]), num(r["new"]), num(r["delta"]), "", "", "", ""])
    for key in ("only_in_base", "only_in_new"):
        for n in doc[key]:
            w.writerow([key, "", n, "", "", "", "", "", "", ""])
    for g in doc["gates"]:
        w.writerow(["gate", g["gate"], "", num(g.get("base")), num(g.get("new")), num(g["value"]), "", "", "",
                    "true" if g["passed"] else "false"])


CI_WRITERS: dict[str, Callable[..., None]] = {
    "junit": write_junit,
    "github": write_github,
    "openmetrics": write_openmetrics,
}

COMPARE_WRITERS: dict[str, Callable[..., None]] = {
    "table": write_compare_table,
    "json": flat.write_json,
    "csv": write_compare_csv,
    "markdown": write_compare_markdown,
    **CI_WRITERS,
}
