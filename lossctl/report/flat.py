"""Writers: render a report document (see docs/output.md, "The JSON document") as a table, JSON, NDJSON, CSV or Markdown.

One function per format, all with the signature ``write(document, stream, *, per_class)`` (the table writer also
takes ``per_image``, ``worst`` and ``width``: how its rows fit the terminal, and ``flags``: how the caller spells
the settings its hints name); :data:`FLAT_WRITERS` maps those ``--format`` names to them. Writers only read the
document (through :mod:`lossctl.engine.document`): every number was computed before.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Mapping
from typing import Any, TextIO

from lossctl.engine.document import STATS, Document, class_label, gate_value_name, value_names, value_unit
from lossctl.report.format import NA, class_cells, csv_cell, fmt, gate_value, gate_verdict, md_cell, with_unit


def _columns(doc: Document) -> int:
    """Per-class columns: the classes, then the regions."""
    return doc["config"]["num_classes"] + len(doc["config"].get("regions") or {})


def write_json(doc: Document, stream: TextIO, *, per_class: bool = False) -> None:
    """The whole document, pretty-printed, keys in a fixed order; NaN never appears (it is ``null``)."""
    json.dump(doc, stream, indent=2, allow_nan=False)
    stream.write("\n")


def write_ndjson(doc: Document, stream: TextIO, *, per_class: bool = False) -> None:
    """One JSON object per line: a ``config`` line, one ``image`` line per image, then ``summary``, ``skipped``
    (seg, when files were skipped) or ``not_available`` (cls, when losses were skipped), one ``gate`` line per gate
    and one ``error`` line per failed file. :class:`NdjsonStream` writes the same lines as a run goes."""
    NdjsonStream(stream).finish(doc)


class NdjsonStream:
    """:func:`write_ndjson` as a run goes: :meth:`row` writes each ``image`` line as soon as the engine has the row
    (the ``config`` line before the first), :meth:`finish` the lines still to write once the document is done.
    The lines are those :func:`write_ndjson` writes of the finished document, byte for byte; each is flushed, so
    that a pipe reads it at once."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.config_line: str | None = None
        self.rows: list[str] = []  # the names of the rows written

    def row(self, head: Document, row: Mapping[str, Any]) -> None:
        """Write one finished per-image ``row`` (in the document's order); ``head`` is the document before its rows
        (the run's ``config``), written first."""
        if self.config_line is None:
            self.config_line = self._line(_config_object(head))
        self._line({"type": "image", **row})
        self.rows.append(row["name"])

    def finish(self, doc: Document, stream: TextIO | None = None, *, per_class: bool = False) -> None:
        """Write the rest of the finished ``doc`` (a writer's signature: ``stream`` is this one's). The lines
        written before must be the document's own: a difference is a bug, and raises."""
        if self.config_line is None:
            self._line(_config_object(doc))
        elif (self.config_line != _encoded(_config_object(doc))
              or self.rows != [row["name"] for row in doc["images"][:len(self.rows)]]):
            raise RuntimeError("the streamed config line or rows differ from the finished report")
        for row in doc["images"][len(self.rows):]:
            self._line({"type": "image", **row})
        self._line({"type": "summary", **doc["summary"]})
        if doc.get("skipped") and any(doc["skipped"].values()):
            self._line({"type": "skipped", **doc["skipped"]})
        if doc["command"] == "cls" and doc["config"].get("not_available"):
            self._line({"type": "not_available", "losses": doc["config"]["not_available"]})
        for gate in doc["gates"]:
            self._line({"type": "gate", **gate})
        for error in doc["errors"]:
            self._line({"type": "error", **error})

    def _line(self, obj: Mapping[str, Any]) -> str:
        text = _encoded(obj)
        self.stream.write(text)
        self.stream.flush()
        return text


def _config_object(doc: Document) -> dict[str, Any]:
    return {"type": "config", "lossctl": doc["lossctl"], "command": doc["command"], "config": doc["config"]}


def _encoded(obj: Mapping[str, Any]) -> str:
    return json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n"


def _flat_rows(doc: Document, per_class: bool) -> tuple[list[str], list[list[Any]]]:
    """The header and rows of ``csv`` and ``markdown``: :data:`~lossctl.report.format.NA` where a value does not
    apply (a statistic the value lacks, a per-class entry the run leaves out), ``None`` where it is undefined."""
    names = value_names(doc)
    class_cols: list[tuple[str, int]] = []
    if per_class:
        c = _columns(doc)
        keys = list(doc["summary"]["per_class"]["mean"]) + [
            k for k in doc["summary"]["per_class"]["pooled"] if k not in doc["summary"]["per_class"]["mean"]]
        class_cols = [(n, i) for n in keys for i in range(c)]
    s = doc["summary"]
    region_mean = s.get("region_mean") or {}  # a region-based dataset.json: NAME[region_mean] columns
    regional = list(region_mean.get("mean") or {})
    header = ["row", "name", *names, *(f"{n}[region_mean]" for n in regional),
              *(f"{n}[{class_label(doc, i)}]" for n, i in class_cols)]
    cells = {n: class_cells(doc, n, range(_columns(doc))) for n in {n for n, _ in class_cols}}
    rows: list[list[Any]] = []
    for im in doc["images"]:
        pc = im["per_class"]
        rows.append(["image", im["name"], *_get(im["values"], names),
                     *_get(im.get("region_mean") or {}, regional),
                     *((pc[n][i] if n in pc and cells[n][i] is not NA else NA) for n, i in class_cols)])
    for stat in [*STATS, "pooled"]:
        means = s["per_class"][stat] if stat in ("mean", "pooled") else {}
        rows.append([stat, "", *_get(s[stat], names), *_get(region_mean.get(stat) or {}, regional),
                     *((means[n][i] if n in means and cells[n][i] is not NA else NA) for n, i in class_cols)])
    return header, rows


def _get(values: dict[str, Any], names: list[str]) -> list[Any]:
    """The ``values`` of ``names``: :data:`~lossctl.report.format.NA` for a name it does not hold."""
    return [values[n] if n in values else NA for n in names]


def write_csv(doc: Document, stream: TextIO, *, per_class: bool = False) -> None:
    """Per-image rows (``row=image``), then ``mean``, ``std``, ``min``, ``max`` and ``pooled`` rows; empty
    cells are undefined values. Numbers are written with full precision (Python ``repr``)."""
    header, rows = _flat_rows(doc, per_class)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])


def write_markdown(doc: Document, stream: TextIO, *, per_class: bool = False) -> None:
    """GitHub-flavoured Markdown tables: images and summary (4 decimals, ``—`` undefined, ``n/a`` does not
    apply; a value with a unit names it, ``hd95 (mm)``), then gates."""
    header, rows = _flat_rows(doc, per_class)
    header = header[:2] + [with_unit(h, value_unit(doc, h)) for h in header[2:]]
    stream.write("| " + " | ".join(header) + " |\n")
    stream.write("|" + "|".join("---" if i < 2 else "---:" for i in range(len(header))) + "|\n")
    for row in rows:
        stream.write("| " + " | ".join(fmt(v) if (i >= 2) else str(v) for i, v in enumerate(row)) + " |\n")
    if doc["gates"]:
        stream.write("\n| gate | value | result |\n|---|---:|---|\n")
        for g in doc["gates"]:
            value = gate_value(g, value_unit(doc, gate_value_name(g["gate"])))
            stream.write(f"| `{g['gate']}` | {value} | {md_cell(gate_verdict(g))} |\n")


def write_table(doc: Document, stream: TextIO, *, per_class: bool = False, per_image: bool = False,
                worst: int | None = None, width: int | None = None, flags: Mapping[str, str] | None = None) -> None:
    """Rich tables for people, fitted to the width: summary, gates, per-image rows (all, or the ``worst`` K),
    per-class rows; see :mod:`lossctl.report.table` (imported here lazily: Rich is slow to import)."""
    from lossctl.report.table import write_table as write

    write(doc, stream, per_class=per_class, per_image=per_image, worst=worst, width=width, flags=flags)


FLAT_WRITERS: dict[str, Callable[..., None]] = {
    "table": write_table,
    "json": write_json,
    "ndjson": write_ndjson,
    "csv": write_csv,
    "markdown": write_markdown,
}

