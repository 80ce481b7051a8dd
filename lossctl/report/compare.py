"""The ``table``, ``markdown`` and ``csv`` renderings of a ``lossctl compare`` document, and what every writer of
one shares: the columns of a change (:data:`CHANGE_COLUMNS`, :func:`change_cells`), whether a block has
intervals (:func:`has_interval`), whose worst images a table shows (:func:`worst_shown`) and the Markdown of the
whole comparison (:func:`markdown_lines`, also the ``github`` writer's for a compare document).

Each writer takes ``(document, stream, *, per_class=False, worst=10)``; ``json``, ``junit``, ``github`` and
``openmetrics`` of a compare document are the report's writers (see :data:`lossctl.report.COMPARE_WRITERS`).

* ``table``: for people, in the narrow layout of the report's table: one row per value with
  ``base new delta rel 95% CI`` as columns (cut by columns, never wrapped, when the width is short), the pooled
  values, the gates, the images that got worse the most, the images in one report only (Rich is imported only
  when it renders: it is slow to import).
* ``markdown``: GitHub-flavoured Markdown tables (the ``github`` writer without its size cap).
* ``csv``: one flat table at full precision (see :func:`write_compare_csv`).
"""

from __future__ import annotations

import csv
from typing import Any, TextIO

from lossctl.engine.document import LISTED_WORST, Document, applies, gate_value_name, spec, unit, value_unit
from lossctl.report.format import (
    ARROWS,
    NOT_APPLICABLE,
    UNDEFINED,
    csv_cell,
    fmt,
    md_cell,
    md_gates,
    md_headline,
    md_table,
    percent,
    plural,
    signed,
    with_unit,
)

#: The columns of a compare row, as every writer heads them (the pooled rows have no interval).
CHANGE_COLUMNS = ("base", "new", "delta", "rel", "95% CI")


def change_cells(change: dict[str, Any], interval: bool = True) -> list[str]:
    """The cells of one compare row (``values`` or ``pooled``) under :data:`CHANGE_COLUMNS`, as every writer
    prints them: 4 decimals, signed deltas, ``rel`` in percent, ``—`` where undefined."""
    ci, only_in = change.get("ci"), change.get("only_in")
    if only_in:  # a value one report does not have: nothing to compare
        cells = [fmt(change["base"]) if only_in == "base" else NOT_APPLICABLE,
                 fmt(change["new"]) if only_in == "new" else NOT_APPLICABLE, NOT_APPLICABLE, NOT_APPLICABLE]
        return cells + ([NOT_APPLICABLE] if interval else [])
    cells = [fmt(change["base"]), fmt(change["new"]), signed(change["delta"]), percent(change["rel"])]
    return cells + ([UNDEFINED if not ci else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]"] if interval else [])


def has_interval(doc: Document, block: str) -> bool:
    """Whether a compare document's ``block`` (``values`` or ``pooled``) has a bootstrap interval to show: the
    pooled values never do, nor any value with ``--bootstrap 0`` (no column of dashes)."""
    return block == "values" and any(v.get("ci") for v in doc[block].values())


def worst_shown(doc: Document) -> list[str]:
    """The values whose worst images a table shows: the gated ones, else the first one (JSON has them all)."""
    gated = [gate_value_name(g["gate"]) for g in doc["gates"]]
    shown = [n for n in dict.fromkeys(gated) if n in doc["worst"]]
    return shown or list(doc["worst"])[:1]


# Markdown -------------------------------------------------------------------------------------------------------

def markdown_lines(doc: Document, worst: int) -> list[str]:
    """The comparison in GitHub-flavoured Markdown: verdict, sources, gates, means and pooled values, the
    ``worst`` images that got worse the most per shown value, the images in one report only."""
    cfg = doc["config"]
    lines = ["<!-- lossctl compare -->", md_headline(doc), ""]
    lines += [(f"`{md_cell(cfg.get('base', 'base'))}` → `{md_cell(cfg.get('new', 'new'))}` ({cfg['of']}): "
              f"{cfg['paired']} {unit(doc)}(s) in both, "
              f"{len(doc['only_in_base'])} only in base, {len(doc['only_in_new'])} only in new"), ""]
    lines += md_gates(doc)
    lines += _markdown_changes(doc, "values", f"**Means** (95% CI: paired bootstrap, {cfg['bootstrap']} "
                                              "resamples)" if has_interval(doc, "values") else "**Means**")
    if doc["pooled"]:
        lines += _markdown_changes(doc, "pooled", "**Pooled** (summed confusion matrices)")
    for name, rows in doc["worst"].items():
        if not rows or name not in worst_shown(doc):
            continue
        lines += [f"**Got worse the most: `{name}`**" + (f" ({u})" if (u := value_unit(doc, name)) else ""), ""]
        lines += md_table([unit(doc), "base", "new", "delta"], ["---", "---:", "---:", "---:"],
                          ([f"`{md_cell(r['name'])}`", fmt(r["base"]), fmt(r["new"]), signed(r["delta"])]
                           for r in rows[:worst])) + [""]
    for key in ("only_in_base", "only_in_new"):
        if doc[key]:
            shown = ", ".join(f"`{md_cell(n)}`" for n in doc[key][:50])
            more = f" … and {len(doc[key]) - 50} more" if len(doc[key]) > 50 else ""
            lines += [f"**{key.replace('_', ' ').capitalize()}** ({len(doc[key])}): {shown}{more}", ""]
    return lines


def _markdown_changes(doc: Document, block: str, title: str) -> list[str]:
    interval = has_interval(doc, block)
    header = ["value", *CHANGE_COLUMNS[:5 if interval else 4]]
    rows = [[f"`{md_cell(name)}`" + (f" ({u})" if (u := value_unit(doc, name)) else ""),
             *(change_cells(v, interval) if _applies(doc, name) else [NOT_APPLICABLE] * (len(header) - 1))]
            for name, v in doc[block].items()]
    return [title, ""] + md_table(header, ["---", *["---:"] * (len(header) - 1)], rows) + [""]


def write_compare_markdown(doc: Document, stream: TextIO, *, per_class: bool = False,
                           worst: int = LISTED_WORST) -> None:
    """GitHub-flavoured Markdown tables (the ``github`` writer without the size cap's per-image block)."""
    stream.write("\n".join(markdown_lines(doc, worst)) + "\n")


# CSV ------------------------------------------------------------------------------------------------------------

def write_compare_csv(doc: Document, stream: TextIO, *, per_class: bool = False,
                      worst: int = LISTED_WORST) -> None:
    """One flat table: ``section,value,image,base,new,delta,rel,ci_low,ci_high,passed`` with section ``mean``,
    ``pooled``, ``worst`` (one row per worst image), ``only_in_base``, ``only_in_new`` or ``gate`` (its value in
    ``delta``, for a baseline gate; ``passed`` true or false). Numbers at full precision."""
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(["section", "value", "image", "base", "new", "delta", "rel", "ci_low", "ci_high", "passed"])
    num = csv_cell
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


# The table -----------------------------------------------------------------------------------------------------

def write_compare_table(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = LISTED_WORST,
                        width: int | None = None) -> None:
    """Render a ``lossctl compare`` document for people on ``stream``, no line wider than ``width`` (default:
    the terminal's, see :func:`lossctl.report.terminal.report_width`)."""
    from lossctl.report.terminal import print_parts, report_width  # Rich: slow to import, only when rendering

    width = width or report_width(stream)
    print_parts(render_compare(doc, width, per_class=per_class, worst=worst), stream, width)


def render_compare(doc: Document, width: int, *, per_class: bool = False, worst: int = LISTED_WORST) -> list[Any]:
    """The compare table's parts (Rich renderables), in print order: the title, the detail (per-class changes,
    the images that got worse the most, the images in one report only), then the verdict last: the pooled
    changes, the means' changes, a legend and the gates."""
    from rich.text import Text  # Rich: slow to import, only when rendering

    from lossctl.report.terminal import Block, Column, gates_table, legend, pack

    cfg = doc["config"]
    noun = unit(doc)
    pooled = "from the summed confusion matrices" if cfg["of"] == "seg" else "over all samples"
    interval = (f"; 95% CI: paired bootstrap of the mean per-{noun} delta ({cfg['bootstrap']} resamples)"
                if has_interval(doc, "values") else "")
    titles = {"values": f"means{interval}", "pooled": f"pooled: {pooled}"}
    header = {block: CHANGE_COLUMNS[:5 if has_interval(doc, block) else 4] for block in titles}
    classes: list[Block] = []
    totals: list[Block] = []
    for block in ("pooled", "values"):
        specs = {k: spec(cfg["of"], k) for k in doc[block]}
        scalar = sorted(((k, v) for k, v in doc[block].items() if "[" not in k),  # metrics, then losses
                        key=lambda item: specs[item[0]] is not None and specs[item[0]].kind == "loss")
        if scalar:
            fixed = [Column("value", [with_unit(k, value_unit(doc, k)) for k, _ in scalar], "left"),
                     Column("", [ARROWS[specs[k].higher_is_better if specs[k] else None] for k, _ in scalar],
                            "left")]
            totals.append(Block(fixed, [(titles[block], _change_columns(doc, scalar, header[block]))]))
        by_class = [(k, v) for k, v in doc[block].items() if "[" in k]
        if per_class and by_class:
            names = [k.split("[", 1) for k, _ in by_class]
            fixed = [Column("value", [with_unit(n, value_unit(doc, n)) for n, _ in names], "left"),
                     Column("class", [c[:-1] for _, c in names], "left")]
            sections = [i for i in range(1, len(names)) if names[i][0] != names[i - 1][0]]
            classes.append(Block(fixed, [(f"per class: {'means' if block == 'values' else 'pooled'}",
                                          _change_columns(doc, by_class, header[block], style=None))], sections))
    parts: list[Any] = [Text(f"lossctl compare ({cfg['of']}): {plural(cfg['paired'], noun)} in both reports, "
                             f"{len(doc['only_in_base'])} only in base, {len(doc['only_in_new'])} only in new",
                             style="bold")]
    for block in classes:
        parts += pack(block, width)
    for name in worst_shown(doc):
        rows = doc["worst"][name][:worst]
        if not rows:
            continue
        fixed = [Column(noun, [r["name"] for r in rows], "left")]
        columns = [Column("base", [fmt(r["base"]) for r in rows]), Column("new", [fmt(r["new"]) for r in rows]),
                   Column("delta", [signed(r["delta"]) for r in rows], style="bold")]
        title = (f"the {plural(len(rows), noun)} that got worse the most by {with_unit(name, value_unit(doc, name))}"
                 f" (of {cfg['paired']} in both)")
        parts += pack(Block(fixed, [(title, columns)]), width)
    for key, label in (("only_in_base", "only in base"), ("only_in_new", "only in new")):
        if doc[key]:
            shown = ", ".join(doc[key][:20]) + (", ..." if len(doc[key]) > 20 else "")
            parts += [Text(""), Text(f"{label} ({len(doc[key])}): {shown}")]
    for block in totals:
        parts += pack(block, width)
    parts.append(legend([*classes, *totals], "rel: delta / |base|"))
    if doc["gates"]:
        parts += gates_table(doc, width)
    return parts


def _change_columns(doc: Document, changes: list[tuple[str, dict[str, Any]]], header: tuple[str, ...],
                    style: str | None = "bold") -> list[Any]:
    """The columns of compare rows (``changes``: name and change) under ``header``; every cell ``n/a`` for a
    per-class entry that does not apply."""
    from lossctl.report.terminal import Column

    interval = "95% CI" in header
    cells = [change_cells(v, interval) if _applies(doc, k) else [NOT_APPLICABLE] * len(header) for k, v in changes]
    return [Column(h, [row[j] for row in cells], style=style if h == "delta" else None) for j, h in enumerate(header)]


def _applies(doc: Document, key: str) -> bool:
    """Whether the change ``NAME[CLASS]`` (or ``NAME``) applies (:func:`~lossctl.engine.document.applies`)."""
    name, _, label = key.partition("[")
    return not label or applies(doc, name, label[:-1])
