"""The terminal's layout, shared by the tables of a report and of a compare document (Rich, imported at the top:
import this module only to render a table).

* :func:`report_width`: the width a table is fitted to: the terminal's (Rich's console width, which honours
  ``COLUMNS``) when the stream is a terminal, else :data:`PIPE_WIDTH` unless ``COLUMNS`` says otherwise, so the
  same input gives the same bytes in a pipe or a file;
* :class:`Column` and :class:`Block`: columns sharing rows; :func:`pack` cuts a block by columns into titled
  tables no wider than the width (names never shortened, a row never wraps), :func:`table` renders one (a
  text column folds onto more lines when the table is still too wide);
* :func:`print_parts`: prints the renderables in colour only where Rich would colour the stream (never with
  ``NO_COLOR``), without trailing blanks (nor a blank first line);
* :func:`legend`: the line under the tables that says what their arrows and marks mean;
* :func:`gates_table`: the gates and their verdicts, as both tables show them (a ``worse()`` count as an
  integer, ``rel()`` in percent, a ``delta()`` with its sign, a distance with its unit).
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, TextIO

from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from lossctl.engine.document import Document, gate_value_name, value_unit
from lossctl.report.format import NOT_APPLICABLE, UNDEFINED, fmt, gate_value

#: Width of the table format when stdout is not a terminal (``COLUMNS`` overrides it).
PIPE_WIDTH = 100


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


def print_parts(parts: list[Any], stream: TextIO, width: int) -> None:
    """Print ``parts`` (Rich renderables) at ``width`` on ``stream``, in colour where Rich would colour
    ``stream``, without trailing blanks."""
    probe = Console(file=stream)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=probe.is_terminal,
                      color_system=probe.color_system if probe.is_terminal else None,  # type: ignore[arg-type]
                      highlight=False, markup=False, emoji=False, soft_wrap=False)
    if parts and isinstance(parts[0], Text) and not parts[0].plain:
        parts = parts[1:]  # a heading's blank line, at the top
    for part in parts:
        console.print(part)
    stream.write(_TRAILING.sub(r"\1", buffer.getvalue()))


# Tables cut to the width ----------------------------------------------------------------------------------

@dataclass
class Column:
    """One column: its header and cells (already formatted), how they align, their style."""

    header: str
    cells: list[str]
    justify: str = "right"
    style: str | None = None
    styles: list[str | None] | None = None  # one per cell, instead of ``style``
    limit: int | None = None  # fold longer cells onto more lines

    @functools.cached_property
    def width(self) -> int:
        """Cells the column needs (its widest cell or header), at most ``limit``."""
        natural = max(cell_len(line) for text in (self.header, *self.cells) for line in text.split("\n"))
        return natural if self.limit is None else max(cell_len(self.header), min(natural, self.limit))


@dataclass
class Block:
    """Columns sharing rows: ``fixed`` ones repeat in every table; ``groups`` of value columns are never mixed
    in one table (each group has its own title)."""

    fixed: list[Column]
    groups: list[tuple[str, list[Column]]]
    sections: Sequence[int] = ()  # row indices before which a blank line is left


def heading(title: str) -> list[Text]:
    """A blank line, then the title in bold (printed apart from its table, so it wraps at the console width)."""
    return [Text(""), Text(title, style="bold")]


def table(columns: Sequence[Column], sections: Sequence[int] = (), width: int | None = None) -> Text:
    """``columns`` as aligned text lines: bold headers, a rule, the rows (a blank line before each row index in
    ``sections``), two cells between columns, no trailing blanks. When the columns are wider than ``width``,
    the left-aligned columns (names, text) fold onto more lines, the widest first, rather than losing
    characters; a cell's own line breaks are kept."""
    widths = _fitted(columns, width)
    lines = [_line([_fold(col.header, w) for col, w in zip(columns, widths, strict=True)], widths, columns, "bold"),
             Text("─" * (sum(widths) + 2 * (len(widths) - 1)))]
    for i in range(len(columns[0].cells) if columns else 0):
        if i in sections:
            lines.append(Text(""))
        lines.append(_line([_fold(col.cells[i], w) for col, w in zip(columns, widths, strict=True)], widths, columns,
                           styles=[col.styles[i] if col.styles else col.style for col in columns]))
    return Text("\n").join(lines)


def _fitted(columns: Sequence[Column], width: int | None) -> list[int]:
    """The columns' widths, the widest left-aligned one narrowed a cell at a time until the table fits
    ``width`` (or every left-aligned column is one cell wide)."""
    widths = [col.width for col in columns]
    excess = width_of(columns) - width if width else 0
    folding = [k for k, col in enumerate(columns) if col.justify == "left"]
    while excess > 0 and folding:
        k = max(folding, key=lambda j: widths[j])
        if widths[k] <= 1:
            break
        widths[k] -= 1
        excess -= 1
    return widths


def _line(cells: list[list[str]], widths: list[int], columns: Sequence[Column], style: str | None = None,
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
    """``cell`` cut into lines of at most ``width`` cells, at its line breaks, then at spaces where it can (one
    line when it fits)."""
    if "\n" in cell:
        return [piece for line in cell.split("\n") for piece in _fold(line, width)]
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


def width_of(columns: Sequence[Column]) -> int:
    """The width :func:`table` renders ``columns`` at: the columns, and two cells between neighbours (one of
    padding, one of separator; no outer edge)."""
    return sum(col.width for col in columns) + 2 * (len(columns) - 1)


def pack(block: Block, width: int) -> list[Any]:
    """Titled tables of ``block`` no wider than ``width``: each group's columns, as many per table as fit (at
    least one). The fixed columns may fold, as a last resort, when a name alone is wider than the width."""
    tables: list[Any] = []
    names_limit = max(16, width // 2)  # a longer name folds, so that values still fit beside it
    block = Block([replace(col, limit=names_limit) if col.justify == "left" else col for col in block.fixed],
                  block.groups, block.sections)
    for title, columns in block.groups:
        parts: list[list[Column]] = []
        current: list[Column] = []
        for col in columns:
            if current and width_of([*block.fixed, *current, col]) > width:
                parts.append(current)
                current = []
            current.append(col)
        if current:
            parts.append(current)
        parts = _balanced(block, parts, width)
        for k, part in enumerate(parts):
            label = title if len(parts) == 1 else f"{title} ({k + 1} of {len(parts)})"
            tables += [*heading(label), table([*block.fixed, *part], block.sections, width)]
    return tables


def _balanced(block: Block, parts: list[list[Column]], width: int) -> list[list[Column]]:
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
    if all(width_of([*block.fixed, *part]) <= width for part in even):
        return even
    return parts


def legend(blocks: Sequence[Block], *also: str) -> Text:
    """The legend line under the tables of ``blocks``: the arrows, ``also``, and the marks of missing values
    that those tables show (``—`` undefined, ``n/a`` does not apply)."""
    shown = {cell for block in blocks for _, columns in block.groups for col in columns for cell in col.cells}
    marks = ["↑ higher is better, ↓ lower is better", *also]
    marks += [f"{UNDEFINED} undefined (0/0)"] * (UNDEFINED in shown)
    marks += [f"{NOT_APPLICABLE} does not apply"] * (NOT_APPLICABLE in shown)
    return Text(", ".join(marks), style="dim")


def gates_table(doc: Document, width: int) -> list[Any]:
    """The gates of ``doc`` with their statistic, value (and baseline) and verdict, under a heading that counts
    the failures."""
    gates = doc["gates"]
    columns = [Column("gate", [g["gate"] for g in gates], "left"),
               Column("statistic", [g.get("statistic", "") for g in gates], "left"),
               Column("value", [gate_value(g, value_unit(doc, gate_value_name(g["gate"]))) for g in gates])]
    if any("base" in g for g in gates):  # baseline gates: the value compared with (delta and rel)
        columns.append(Column("baseline", [fmt(g["base"]) if "base" in g else "" for g in gates]))
    columns.append(Column("result", ["PASS" if g["passed"] else "FAIL" for g in gates], "left",
                          styles=["bold green" if g["passed"] else "bold red" for g in gates]))
    failed = sum(not g["passed"] for g in gates)
    verdict = "every gate passed" if not failed else f"{failed} of {len(gates)} gates failed"
    reasons = [Text(f"{g['gate']} failed: {g['reason']}", style="red") for g in gates
               if not g["passed"] and g.get("reason")]  # an undefined value (e.g. over no image): why
    return [*heading(f"gates: {verdict}"), table(columns, width=width), *reasons]

