"""The terminal report (``-f table``): Rich tables that fit the width, whatever the number of values, images
or classes.

From top to bottom:

1. a title line: the command, the counts, the convention;
2. **the summary**: one row per value, the statistics as columns (``mean std min median max pooled``, and
   ``undefined`` when a value was 0/0 somewhere), so it stays narrow however many values were computed;
3. the gates and their verdicts;
4. **per-image rows**: all of them when one table of every value fits the width and there are at most
   :data:`FULL_ROWS` images, or when asked (``per_image``); otherwise the ``worst`` K (default
   :data:`DEFAULT_WORST`) ranked by the first gated value (else the first value) in its own direction (the
   registry's ``higher_is_better``), and a line saying how to see them all;
5. the images' notes, each note once with the images it applies to;
6. with ``per_class``: **one row per class** (index and whole name), per-class values as columns: the pooled
   values (summed confusion matrix), then the means over images.

A table that would be wider than the width is cut by columns into several tables with the same rows (metrics
and losses apart, names never shortened), so a row never wraps. The width is the terminal's (Rich's console
width, which honours ``COLUMNS``) when the stream is a terminal, else :data:`PIPE_WIDTH` unless ``COLUMNS``
says otherwise: the same input gives the same bytes in a pipe or a file. Colour only on a terminal (and never
with ``NO_COLOR``); no meaning is carried by colour alone.

The writer only reads the report document (and the registry, for each value's direction and kind).
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from lossctl.report.flat import ranked_value, row_value_names, worst_rows

Document = dict[str, Any]

#: Width of the table format when stdout is not a terminal (``COLUMNS`` overrides it).
PIPE_WIDTH = 100
#: Per-image rows are all shown, unasked, up to this many images (when they fit the width).
FULL_ROWS = 20
#: How many of the worst images are shown when the per-image rows are cut.
DEFAULT_WORST = 5
STATISTICS = ("mean", "std", "min", "median", "max", "pooled")
UNDEFINED = "—"
_KIND_TITLE = {"metric": "metrics", "loss": "losses"}
_ARROWS = {True: "↑", False: "↓", None: ""}  # by higher_is_better


def _on_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except ValueError:  # a closed stream
        return False


def report_width(stream: TextIO) -> int:
    """The terminal's width when ``stream`` is one, else ``COLUMNS`` if set, else :data:`PIPE_WIDTH`."""
    if _on_terminal(stream):
        return Console(file=stream).width
    columns = os.environ.get("COLUMNS", "").strip()
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


_TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)$", re.M)


def write_table(doc: Document, stream: TextIO, *, per_class: bool = False, per_image: bool = False,
                worst: int | None = None, width: int | None = None) -> None:
    """Render ``doc`` for people on ``stream``, no line wider than ``width`` (default: :func:`report_width`).

    Colour follows Rich's rules for ``stream`` (a terminal, ``NO_COLOR``, ``FORCE_COLOR``); lines carry no
    trailing blanks."""
    width = width or report_width(stream)
    _print(render(doc, width, per_class=per_class, per_image=per_image, worst=worst), stream, width)


def _print(parts: list[Any], stream: TextIO, width: int) -> None:
    """Print ``parts`` at ``width`` on ``stream``, in colour where Rich would colour ``stream``, without
    trailing blanks."""
    probe = Console(file=stream)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=probe.is_terminal,
                      color_system=probe.color_system if probe.is_terminal else None,  # type: ignore[arg-type]
                      highlight=False, markup=False, emoji=False, soft_wrap=False)
    for part in parts:
        console.print(part)
    stream.write(_TRAILING.sub(r"\1", buffer.getvalue()))


def render(doc: Document, width: int, *, per_class: bool = False, per_image: bool = False,
           worst: int | None = None) -> list[Any]:
    """The report's parts (Rich renderables), in print order."""
    values = _Values(doc)
    parts: list[Any] = [_title(doc)]
    if doc["summary"]["count"] == 0:
        parts += _heading(f"no {values.unit} evaluated")
    else:
        parts += _pack(_summary_columns(doc, values), width)
        legend = "↑ higher is better, ↓ lower is better"
        if _has_undefined(doc, per_class):
            legend += f", {UNDEFINED} undefined (0/0)"
        parts.append(Text(legend, style="dim"))
    if doc["gates"]:
        parts += _gates_table(doc, width)
    parts += _image_parts(doc, values, width, per_image, worst)
    parts += _notes(doc, values)
    if per_class:
        parts += _class_parts(doc, width)
    return parts


def _has_undefined(doc: Document, per_class: bool) -> bool:
    """Whether any number the table shows is undefined (``null`` in the document)."""
    s = doc["summary"]
    shown: list[Any] = [v for st in STATISTICS for v in (s.get(st) or {}).values()]
    if per_class:
        shown += [v for st in ("pooled", "mean") for vec in (s.get("per_class", {}).get(st) or {}).values()
                  for v in vec]
    return None in shown or any(None in row["values"].values() for row in doc["images"])


# What is in the document -------------------------------------------------------------------------------------

class _Values:
    """The run's values in catalogue order, with each one's kind and direction from the registry."""

    def __init__(self, doc: Document) -> None:
        from lossctl import registry
        from lossctl.errors import UsageError

        self.command = doc["command"]
        self.unit = "sample" if self.command == "cls" else "image"
        held = row_value_names(doc)
        self.held = set(held)  # the values the rows hold
        names = dict.fromkeys([*(doc["config"].get("values") or []), *doc["summary"]["mean"], *held])
        self.names = [n for n in names if n in doc["summary"]["mean"] or n in self.held]
        self.specs: dict[str, registry.Spec] = {}
        for n in self.names:
            try:
                self.specs[n] = registry.get(self.command, n)
            except UsageError:  # a value this version does not know: no kind, no direction
                pass

    def kind(self, name: str) -> str:
        spec = self.specs.get(name)
        return spec.kind if spec else "metric"

    def higher_is_better(self, name: str) -> bool | None:
        spec = self.specs.get(name)
        return spec.higher_is_better if spec else None

    def arrow(self, name: str) -> str:
        return _ARROWS[self.higher_is_better(name)]

    def by_kind(self, names: Iterable[str]) -> list[list[str]]:
        """``names`` as [metrics, losses] (empty groups dropped), each in catalogue order."""
        names = list(names)
        groups = [[n for n in names if self.kind(n) == "metric"], [n for n in names if self.kind(n) != "metric"]]
        return [g for g in groups if g]


def _plural(n: int, unit: str, plural: str | None = None) -> str:
    return f"{n} {unit if n == 1 else plural or unit + 's'}"


def _cell(v: Any) -> str:
    return UNDEFINED if v is None else f"{v:.4f}"


def _title(doc: Document) -> Text:
    cfg, s = doc["config"], doc["summary"]
    unit = "sample" if doc["command"] == "cls" else "image"
    parts = [f"lossctl {doc['command']}: {_plural(s['count'], unit)}"]
    if doc["errors"]:
        parts.append(f"{len(doc['errors'])} failed")
    if cfg.get("num_classes"):
        parts.append(_plural(cfg["num_classes"], "class", "classes"))
    parts.append(f"convention {cfg.get('convention', 'lossctl')}")
    if cfg.get("shard"):
        parts.append(f"shard {cfg['shard']}")
    return Text(", ".join(parts), style="bold")


# Tables cut to the width ----------------------------------------------------------------------------------

@dataclass
class _Column:
    header: str
    cells: list[str]
    justify: str = "right"
    style: str | None = None
    styles: list[str | None] | None = None  # one per cell, instead of ``style``
    limit: int | None = None  # fold longer cells onto more lines

    @functools.cached_property
    def width(self) -> int:
        """Cells the column needs (its widest cell or header), at most ``limit``."""
        natural = max([cell_len(self.header), *(cell_len(c) for c in self.cells)])
        return natural if self.limit is None else max(cell_len(self.header), min(natural, self.limit))


@dataclass
class _Block:
    """Columns sharing rows: ``fixed`` ones repeat in every table; ``groups`` of value columns are never mixed
    in one table (each group has its own title)."""

    fixed: list[_Column]
    groups: list[tuple[str, list[_Column]]]
    sections: Sequence[int] = ()  # row indices before which a blank line is left


def _heading(title: str) -> list[Text]:
    """A blank line, then the title in bold (printed apart from its table, so it wraps at the console width)."""
    return [Text(""), Text(title, style="bold")]


def _table(columns: Sequence[_Column], sections: Sequence[int] = (), width: int | None = None) -> Text:
    """``columns`` as aligned text lines: bold headers, a rule, the rows (a blank line before each row index in
    ``sections``), two cells between columns, no trailing blanks. When the columns are wider than ``width``,
    the widest left-aligned column (a name) folds onto more lines rather than losing characters."""
    widths = [col.width for col in columns]
    excess = _width_of(columns) - (width or 0)
    names = [k for k, col in enumerate(columns) if col.justify == "left"]
    if width and excess > 0 and names:
        k = max(names, key=lambda j: widths[j])
        widths[k] = max(1, widths[k] - excess)
    lines = [_line([[col.header] for col in columns], widths, columns, "bold"),
             Text("─" * (sum(widths) + 2 * (len(widths) - 1)))]
    for i in range(len(columns[0].cells) if columns else 0):
        if i in sections:
            lines.append(Text(""))
        lines.append(_line([_fold(col.cells[i], w) for col, w in zip(columns, widths, strict=True)], widths, columns,
                           styles=[col.styles[i] if col.styles else col.style for col in columns]))
    return Text("\n").join(lines)


def _line(cells: list[list[str]], widths: list[int], columns: Sequence[_Column], style: str | None = None,
          styles: Sequence[str | None] = ()) -> Text:
    """One row (several lines when a cell was folded), cells padded to their column's width."""
    text = Text()
    for depth in range(max(len(c) for c in cells)):
        if depth:
            text.append("\n")
        for k, (pieces, w, col) in enumerate(zip(cells, widths, columns, strict=True)):
            piece = pieces[depth] if depth < len(pieces) else ""
            pad = " " * (w - cell_len(piece))
            if k:
                text.append("  ")
            text.append(pad if col.justify == "right" else "")
            text.append(piece, style=style or (styles[k] if styles else None))
            text.append("" if col.justify == "right" else pad)
    text.rstrip()
    return text


def _fold(cell: str, width: int) -> list[str]:
    """``cell`` cut into lines of at most ``width`` cells, at spaces where it can (one line when it fits)."""
    if cell_len(cell) <= width:
        return [cell]
    pieces: list[str] = []
    current = ""
    for word in cell.split(" "):
        candidate = f"{current} {word}" if current else word
        if cell_len(candidate) <= width:
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        for char in word:  # a word longer than the width is cut anywhere
            if current and cell_len(current + char) > width:
                pieces.append(current)
                current = ""
            current += char
    return [*pieces, current] if current else pieces


def _width_of(columns: Sequence[_Column]) -> int:
    """The width :func:`_table` renders ``columns`` at: the columns, and two cells between neighbours (one of
    padding, one of separator; no outer edge)."""
    return sum(col.width for col in columns) + 2 * (len(columns) - 1)


def _pack(block: _Block, width: int) -> list[Any]:
    """Titled tables of ``block`` no wider than ``width``: each group's columns, as many per table as fit (at
    least one). The fixed columns may fold, as a last resort, when a name alone is wider than the width."""
    tables: list[Any] = []
    names_limit = max(16, width // 2)  # a longer name folds, so that values still fit beside it
    block = _Block([replace(col, limit=names_limit) if col.justify == "left" else col for col in block.fixed],
                   block.groups, block.sections)
    for title, columns in block.groups:
        parts: list[list[_Column]] = []
        current: list[_Column] = []
        for col in columns:
            if current and _width_of([*block.fixed, *current, col]) > width:
                parts.append(current)
                current = []
            current.append(col)
        if current:
            parts.append(current)
        parts = _balanced(block, parts, width)
        for k, part in enumerate(parts):
            label = title if len(parts) == 1 else f"{title} ({k + 1} of {len(parts)})"
            tables += [*_heading(label), _table([*block.fixed, *part], block.sections, width)]
    return tables


def _balanced(block: _Block, parts: list[list[_Column]], width: int) -> list[list[_Column]]:
    """The greedy ``parts`` re-cut into as many parts of near-equal column counts, when those fit too
    (5 + 1 columns read worse than 3 + 3)."""
    columns = [col for part in parts for col in part]
    n, p = len(columns), len(parts)
    if p < 2:
        return parts
    size, extra = divmod(n, p)
    even, start = [], 0
    for k in range(p):
        stop = start + size + (1 if k < extra else 0)
        even.append(columns[start:stop])
        start = stop
    if all(_width_of([*block.fixed, *part]) <= width for part in even):
        return even
    return parts


# The parts -----------------------------------------------------------------------------------------------

def _summary_columns(doc: Document, values: _Values) -> _Block:
    s = doc["summary"]
    names = [n for group in values.by_kind(values.names) for n in group]
    stats = [st for st in STATISTICS if any(n in s.get(st, {}) for n in names)]
    fixed = [_Column("value", names, "left"), _Column("", [values.arrow(n) for n in names], "left")]
    columns = [_Column(st, ["" if n not in s[st] else _cell(s[st][n]) for n in names],
                       style="bold" if st == "mean" else None) for st in stats]
    undefined = s.get("undefined", {})
    if any(undefined.get(n) for n in names):
        columns.append(_Column("undefined", [str(undefined.get(n, "")) if undefined.get(n) else "" for n in names]))
    first_loss = next((i for i, n in enumerate(names) if values.kind(n) != "metric"), 0)
    title = f"summary over {_plural(s['count'], values.unit)}"
    if "pooled" in stats and doc["command"] == "seg":
        title += "; pooled: from the summed confusion matrix"
    return _Block(fixed, [(title, columns)], sections=[first_loss] if first_loss else [])


def _gates_table(doc: Document, width: int) -> list[Any]:
    gates = doc["gates"]
    columns = [_Column("gate", [g["gate"] for g in gates], "left"),
               _Column("statistic", [g.get("statistic", "") for g in gates], "left"),
               _Column("value", [_cell(g["value"]) for g in gates])]
    if any("base" in g for g in gates):  # baseline gates: the value compared with (delta and rel)
        columns.append(_Column("baseline", [_cell(g["base"]) if "base" in g else "" for g in gates]))
    columns.append(_Column("result", ["PASS" if g["passed"] else "FAIL" for g in gates], "left",
                           styles=["bold green" if g["passed"] else "bold red" for g in gates]))
    failed = sum(not g["passed"] for g in gates)
    verdict = "every gate passed" if not failed else f"{failed} of {len(gates)} gates failed"
    return [*_heading(f"gates: {verdict}"), _table(columns, width=width)]


def _image_block(doc: Document, values: _Values, rows: list[dict[str, Any]], title: str, split: bool) -> _Block:
    names = [n for n in values.names if n in values.held]
    fixed = [_Column(values.unit, [r["name"] for r in rows], "left")]
    groups = values.by_kind(names) if split else [names]
    blocks = []
    for group in groups:
        columns = [_Column(n, [_cell(r["values"].get(n)) for r in rows]) for n in group]
        label = title if not split else f"{title}: {_KIND_TITLE[values.kind(group[0])]}"
        blocks.append((label, columns))
    return _Block(fixed, blocks)


def _one_table(block: _Block, width: int) -> bool:
    """Whether the unsplit ``block`` fits the width as one table."""
    return _width_of([*block.fixed, *block.groups[0][1]]) <= width


def _image_parts(doc: Document, values: _Values, width: int, per_image: bool, worst: int | None) -> list[Any]:
    rows = doc["images"]
    if not rows:
        return []
    n, unit = len(rows), values.unit
    if worst is None and not per_image:  # unasked: every row when they are few and one table of them fits
        worst = n if n <= FULL_ROWS and _one_table(_image_block(doc, values, rows, "", False), width) \
            else DEFAULT_WORST
    if per_image or worst >= n:  # (only then is every row's every cell formatted)
        whole = _image_block(doc, values, rows, f"per {unit}", split=False)
        return _pack(whole if _one_table(whole, width) else _image_block(doc, values, rows, f"per {unit}",
                                                                         split=True), width)
    see_all = "--per-image" if doc["command"] != "cls" else "--per-sample without --worst"
    if worst == 0:
        return [Text(""), Text(f"{_plural(n, unit)} not shown: {see_all} shows them all", style="dim")]
    key = ranked_value(doc)
    order = "lowest" if values.higher_is_better(key) is not False else "highest"
    chosen = worst_rows(doc, worst, key)
    title = f"the {len(chosen)} worst of {_plural(n, unit)} by {key}, {order} first"
    block = _image_block(doc, values, chosen, title, split=False)
    if not _one_table(block, width):
        block = _image_block(doc, values, chosen, title, split=True)
    tables = _pack(block, width)
    more = n - len(chosen)
    hint = Text(f"{_plural(more, 'more ' + unit)} not shown: {see_all} shows them all", style="dim")
    return [*tables, hint]


def _notes(doc: Document, values: _Values) -> list[Any]:
    by_note: dict[str, list[str]] = {}
    for row in doc["images"]:
        for note in row.get("notes") or []:
            by_note.setdefault(note, []).append(row["name"])
    lines = []
    for note, names in by_note.items():
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        lines.append(Text(f"note: {note} ({_plural(len(names), values.unit)}: {shown})"))
    return lines


def _class_parts(doc: Document, width: int) -> list[Any]:
    pc = doc["summary"].get("per_class") or {}
    regions = list(doc["config"].get("regions") or {})  # regions follow the classes in per-class vectors
    c = (doc["config"].get("num_classes") or 0) + len(regions)
    if not c or not (pc.get("pooled") or pc.get("mean")):
        return []
    names = list(doc["config"].get("per_class_names") or doc["config"].get("class_names") or [])
    names += [str(i) for i in range(len(names), c)]
    fixed = [_Column("#", [str(i) for i in range(c)]), _Column("class", names[:c], "left")]
    if names[:c] == [str(i) for i in range(c)]:
        fixed = fixed[:1]
    values = _Values(doc)
    groups = []
    for stat, title in (("pooled", "per class: pooled over all images (summed confusion matrix)"),
                        ("mean", "per class: mean over images")):
        vectors = pc.get(stat) or {}
        kinds = values.by_kind(vectors)
        for names in kinds:
            label = title if len(kinds) == 1 else f"{title}, {_KIND_TITLE[values.kind(names[0])]}"
            groups.append((label, [_Column(n, [_cell(v) for v in vectors[n]]) for n in names]))
    return _pack(_Block(fixed, groups), width)


# The compare table ------------------------------------------------------------------------------------------

def write_compare_table(doc: Document, stream: TextIO, *, per_class: bool = False, worst: int = 10,
                        width: int | None = None) -> None:
    """Render a ``lossctl compare`` document for people, in the narrow layout of :func:`write_table`: one row
    per value with ``base new delta rel 95% CI`` as columns (cut by columns, never wrapped, when the width
    is short), the pooled values, the gates, the images that got worse the most, the images in one report
    only."""
    _print(render_compare(doc, width or report_width(stream), per_class=per_class, worst=worst), stream,
           width or report_width(stream))


def render_compare(doc: Document, width: int, *, per_class: bool = False, worst: int = 10) -> list[Any]:
    """The compare report's parts (Rich renderables), in print order."""
    from lossctl.report.ci import CHANGE_COLUMNS, change_cells, has_interval, worst_shown

    cfg = doc["config"]
    unit = "sample" if cfg["of"] == "cls" else "image"
    parts: list[Any] = [Text(f"lossctl compare ({cfg['of']}): {_plural(cfg['paired'], unit)} in both reports, "
                             f"{len(doc['only_in_base'])} only in base, {len(doc['only_in_new'])} only in new",
                             style="bold")]
    pooled = "from the summed confusion matrices" if cfg["of"] == "seg" else "over all samples"
    for block, title in (("values", f"means; 95% CI: paired bootstrap of the mean per-{unit} delta "
                                    f"({cfg['bootstrap']} resamples)"), ("pooled", f"pooled: {pooled}")):
        interval = has_interval(doc, block)
        title = title if interval or block == "pooled" else "means"
        header = CHANGE_COLUMNS[:5 if interval else 4]
        specs = {k: _spec(cfg["of"], k) for k in doc[block]}
        scalar = sorted(((k, v) for k, v in doc[block].items() if "[" not in k),  # metrics, then losses
                        key=lambda item: specs[item[0]] is not None and specs[item[0]].kind == "loss")
        if scalar:
            first_loss = next((i for i, (k, _) in enumerate(scalar) if specs[k] and specs[k].kind == "loss"), 0)
            fixed = [_Column("value", [k for k, _ in scalar], "left"),
                     _Column("", [_ARROWS[specs[k].higher_is_better if specs[k] else None] for k, _ in scalar],
                             "left")]
            cells = [change_cells(v, interval) for _, v in scalar]
            columns = [_Column(h, [row[j] for row in cells], style="bold" if h == "delta" else None)
                       for j, h in enumerate(header)]
            parts += _pack(_Block(fixed, [(title, columns)], [first_loss] if first_loss else []), width)
        classes = [(k, v) for k, v in doc[block].items() if "[" in k]
        if per_class and classes:
            names = [k.split("[", 1) for k, _ in classes]
            fixed = [_Column("value", [n for n, _ in names], "left"),
                     _Column("class", [c[:-1] for _, c in names], "left")]
            cells = [change_cells(v, interval) for _, v in classes]
            columns = [_Column(h, [row[j] for row in cells]) for j, h in enumerate(header)]
            sections = [i for i in range(1, len(names)) if names[i][0] != names[i - 1][0]]
            parts += _pack(_Block(fixed, [(f"per class: {'means' if interval else 'pooled'}", columns)], sections),
                           width)
    if doc["gates"]:
        parts += _gates_table(doc, width)
    for name in worst_shown(doc):
        rows = doc["worst"][name][:worst]
        if not rows:
            continue
        fixed = [_Column(unit, [r["name"] for r in rows], "left")]
        columns = [_Column("base", [_cell(r["base"]) for r in rows]), _Column("new", [_cell(r["new"]) for r in rows]),
                   _Column("delta", [f"{r['delta']:+.4f}" for r in rows], style="bold")]
        title = f"the {_plural(len(rows), unit)} that got worse the most by {name} (of {cfg['paired']} in both)"
        parts += _pack(_Block(fixed, [(title, columns)]), width)
    for key, label in (("only_in_base", "only in base"), ("only_in_new", "only in new")):
        if doc[key]:
            shown = ", ".join(doc[key][:20]) + (", ..." if len(doc[key]) > 20 else "")
            parts += [Text(""), Text(f"{label} ({len(doc[key])}): {shown}")]
    return parts


def _spec(task: str, key: str) -> Any:
    """The registry entry of a compare row's value (``dice`` of ``dice[road]``), or None for an unknown one."""
    from lossctl import registry

    return registry.REGISTRY.get((task, key.split("[", 1)[0]))
