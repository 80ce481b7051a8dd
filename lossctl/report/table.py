"""The terminal report (``-f table``): Rich tables that fit the width, whatever the number of values, images
or classes, with **the verdict last**, where the eye lands when a run ends (a terminal's last screen).

From top to bottom:

1. a title line: the command, the counts, the convention (and the values computed under another);
2. the detail: **per-image rows**: all of them when one table of every value fits the width and there are at
   most :data:`FULL_ROWS` images, or when asked (``per_image``); otherwise the ``worst`` K (default
   :data:`~lossctl.engine.document.TABLE_WORST`) ranked by the first gated value (else the first value) in its
   own direction (the registry's ``higher_is_better``), and a line saying how to see them all (the setting is
   named in the caller's words: ``flags``, see :func:`lossctl.errors.spell`); the images' notes, each note once
   with the images it applies to; with ``per_class``, **one row per class** (index and whole name), per-class
   values as columns: the pooled values (summed confusion matrix), then the means over images;
3. the verdict: **the summary**: one row per value (metrics, then losses), the statistics as columns (``mean
   std min median max pooled``, and ``undefined`` when a value was 0/0 somewhere), so it stays narrow however
   many values were computed; for a region-based dataset.json, the same for each value's mean over the regions
   (``summary.region_mean``); a legend line (the arrows, and the marks of missing values shown: ``—`` undefined,
   ``n/a`` does not apply); then the gates and their verdicts.

A value with a unit (``summary.units``: the boundary distances) is named with it, ``hd95 (mm)``. A table that
would be wider than the width is cut by columns into several tables with the same rows (metrics and losses
apart, names never shortened), so a row never wraps; the width and the cutting are
:mod:`lossctl.report.terminal`'s. Colour only on a terminal (and never with ``NO_COLOR``); no meaning is carried
by colour alone.

The writer only reads the report document (through :mod:`lossctl.engine.document`: each value's direction and
kind are the registry's).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from rich.text import Text

from lossctl.engine.document import (
    TABLE_WORST,
    Document,
    class_label,
    ranked_value,
    row_value_names,
    spec,
    unit,
    value_unit,
    worst_rows,
)
from lossctl.errors import setting, spell
from lossctl.report.format import (
    ARROWS,
    NA,
    class_cells,
    fmt,
    plural,
    with_unit,
)
from lossctl.report.terminal import (
    Block,
    Column,
    gates_table,
    heading,
    legend,
    pack,
    print_parts,
    report_width,
    width_of,
)

#: Per-image rows are all shown, unasked, up to this many images (when they fit the width).
FULL_ROWS = 20
STATISTICS = ("mean", "std", "min", "median", "max", "pooled")
_KIND_TITLE = {"metric": "metrics", "loss": "losses"}


def write_table(doc: Document, stream: TextIO, *, per_class: bool = False, per_image: bool = False,
                worst: int | None = None, width: int | None = None, flags: Mapping[str, str] | None = None) -> None:
    """Render ``doc`` for people on ``stream``, no line wider than ``width`` (default: :func:`report_width`).

    Colour follows Rich's rules for ``stream`` (a terminal, ``NO_COLOR``, ``FORCE_COLOR``); lines carry no
    trailing blanks. ``flags`` spells the settings a hint names as the caller's options (see
    :func:`lossctl.errors.spell`; without it, as Python arguments)."""
    width = width or report_width(stream)
    parts = render(doc, width, per_class=per_class, per_image=per_image, worst=worst, flags=flags)
    print_parts(parts, stream, width)


def render(doc: Document, width: int, *, per_class: bool = False, per_image: bool = False,
           worst: int | None = None, flags: Mapping[str, str] | None = None) -> list[Any]:
    """The report's parts (Rich renderables), in print order: the title, the detail, the verdict last."""
    values = _Values(doc)
    images, hint = _image_view(doc, values, width, per_image, worst, flags)
    classes = _class_block(doc, values) if per_class else None
    verdict = [] if doc["summary"]["count"] == 0 else [_summary_block(doc, values), _region_mean_block(doc, values)]
    parts: list[Any] = [_title(doc)]
    for part in (images, hint, *_notes(doc, values), classes, *verdict):
        if isinstance(part, Block):
            parts += pack(part, width)
        elif part is not None:
            parts.append(part)
    if doc["summary"]["count"] == 0:
        parts += heading(f"no {values.unit} evaluated")
    else:
        parts.append(legend([b for b in (images, classes, *verdict) if b is not None]))
    if doc["gates"]:
        parts += gates_table(doc, width)
    return parts


# What is in the document -------------------------------------------------------------------------------------

class _Values:
    """The run's values in catalogue order, with each one's kind and direction from the registry."""

    def __init__(self, doc: Document) -> None:
        self.command = doc["command"]
        self.unit = unit(doc)
        held = row_value_names(doc)
        self.held = set(held)  # the values the rows hold
        names = dict.fromkeys([*(doc["config"].get("values") or []), *doc["summary"]["mean"], *held])
        self.names = [n for n in names if n in doc["summary"]["mean"] or n in self.held]
        # a value this version does not know has no entry: no kind, no direction
        self.specs = {n: entry for n in self.names if (entry := spec(self.command, n)) is not None}

    def kind(self, name: str) -> str:
        spec = self.specs.get(name)
        return spec.kind if spec else "metric"

    def higher_is_better(self, name: str) -> bool | None:
        spec = self.specs.get(name)
        return spec.higher_is_better if spec else None

    def arrow(self, name: str) -> str:
        return ARROWS[self.higher_is_better(name)]

    def by_kind(self, names: Iterable[str]) -> list[list[str]]:
        """``names`` as [metrics, losses] (empty groups dropped), each in catalogue order."""
        names = list(names)
        groups = [[n for n in names if self.kind(n) == "metric"], [n for n in names if self.kind(n) != "metric"]]
        return [g for g in groups if g]


def _title(doc: Document) -> Text:
    cfg, s = doc["config"], doc["summary"]
    parts = [f"lossctl {doc['command']}: {plural(s['count'], unit(doc))}"]
    if doc["errors"]:
        parts.append(f"{len(doc['errors'])} failed")
    if cfg.get("num_classes"):
        parts.append(plural(cfg["num_classes"], "class", "classes") + _classes_origin(cfg))
    default = cfg.get("convention", "lossctl")
    own = [f"{n}: {c}" for n, c in (cfg.get("conventions") or {}).items() if c != default]
    parts.append(f"convention {default}" + (f" ({', '.join(own)})" if own else ""))
    if cfg.get("shard"):
        parts.append(f"shard {cfg['shard']}")
    return Text(", ".join(parts), style="bold")


def _classes_origin(cfg: Mapping[str, Any]) -> str:
    """How the title says a class count that the data gave (none was given): from the labels or the channels."""
    source = cfg.get("num_classes_source")
    if source == "labels":
        return f" (inferred from the labels: 0..{cfg['num_classes'] - 1})"
    if source == "channels":
        return " (from the prediction's channels)"
    return ""


# The parts -----------------------------------------------------------------------------------------------

def _summary_block(doc: Document, values: _Values) -> Block:
    s = doc["summary"]
    names = [n for group in values.by_kind(values.names) for n in group]
    stats = [st for st in STATISTICS if any(n in s.get(st, {}) for n in names)]
    fixed = [Column("value", [with_unit(n, value_unit(doc, n)) for n in names], "left"),
             Column("", [values.arrow(n) for n in names], "left")]
    columns = [Column(st, [fmt(s[st][n] if n in s[st] else NA) for n in names],
                      style="bold" if st == "mean" else None) for st in stats]
    undefined = s.get("undefined", {})
    if any(undefined.get(n) for n in names):
        columns.append(Column("undefined", [str(undefined.get(n, "")) if undefined.get(n) else "" for n in names]))
    title = f"summary over {plural(s['count'], values.unit)}"
    if "pooled" in stats and doc["command"] == "seg":
        title += ("; pooled: summed confusion matrix or instances" if doc["config"].get("instances")
                  else "; pooled: from the summed confusion matrix and bins" if s.get("calibration")
                  else "; pooled: from the summed confusion matrix")  # instance values pool every instance
    return Block(fixed, [(title, columns)])


def _region_mean_block(doc: Document, values: _Values) -> Block | None:
    """Each value's mean over a region-based dataset's regions (``summary.region_mean``), as the summary."""
    s = doc["summary"].get("region_mean")
    if not s:
        return None
    names = list(s["mean"])
    stats = [st for st in STATISTICS if any(n in s.get(st, {}) for n in names)]
    fixed = [Column("value", [with_unit(f"{n}[region_mean]", value_unit(doc, n)) for n in names], "left"),
             Column("", [values.arrow(n) for n in names], "left")]
    columns = [Column(st, [fmt(s[st][n] if n in s[st] else NA) for n in names],
                      style="bold" if st == "mean" else None) for st in stats]
    regions = ", ".join(doc["config"].get("region_mean") or [])
    title = (f"mean over the regions ({regions}); mean: of the regions' means, nnU-Net's foreground_mean; "
             "std .. max: over images")
    return Block(fixed, [(title, columns)])


def _image_block(doc: Document, values: _Values, rows: list[dict[str, Any]], title: str, split: bool) -> Block:
    names = [n for n in values.names if n in values.held]
    fixed = [Column(values.unit, [r["name"] for r in rows], "left")]
    groups = values.by_kind(names) if split else [names]
    blocks = []
    for group in groups:
        columns = [Column(with_unit(n, value_unit(doc, n)), [fmt(r["values"].get(n)) for r in rows]) for n in group]
        label = title if not split else f"{title}: {_KIND_TITLE[values.kind(group[0])]}"
        blocks.append((label, columns))
    return Block(fixed, blocks)


def _one_table(block: Block, width: int) -> bool:
    """Whether the unsplit ``block`` fits the width as one table."""
    return width_of([*block.fixed, *block.groups[0][1]]) <= width


def _image_view(doc: Document, values: _Values, width: int, per_image: bool, worst: int | None,
                flags: Mapping[str, str] | None) -> tuple[Block | None, Text | None]:
    """The per-image rows shown (every row, or the worst), and the line saying how to see the others."""
    rows = doc["images"]
    if not rows:
        return None, None
    n, unit = len(rows), values.unit
    if worst is None and not per_image:  # unasked: every row when they are few and one table of them fits
        worst = n if n <= FULL_ROWS and _one_table(_image_block(doc, values, rows, "", False), width) \
            else TABLE_WORST
    if per_image or worst >= n:  # (only then is every row's every cell formatted)
        whole = _image_block(doc, values, rows, f"per {unit}", split=False)
        return (whole if _one_table(whole, width) else _image_block(doc, values, rows, f"per {unit}", split=True),
                None)
    # how to see every row: the table's own setting; a cls run has rows only with per_sample, and all of them
    # when no worst is given
    see_all = spell(setting("per_image", True) if doc["command"] != "cls"
                    else f"{setting('per_sample', True)} without {setting('worst')}", flags)
    if worst == 0:
        return None, Text(f"{plural(n, unit)} not shown: {see_all} shows them all", style="dim")
    key = ranked_value(doc)
    order = "lowest" if values.higher_is_better(key) is not False else "highest"
    chosen = worst_rows(doc, worst, key)
    title = f"the {len(chosen)} worst of {plural(n, unit)} by {key}, {order} first"
    block = _image_block(doc, values, chosen, title, split=False)
    if not _one_table(block, width):
        block = _image_block(doc, values, chosen, title, split=True)
    more = n - len(chosen)
    return block, Text(f"{plural(more, 'more ' + unit)} not shown: {see_all} shows them all", style="dim")


def _notes(doc: Document, values: _Values) -> list[Text]:
    by_note: dict[str, list[str]] = {}
    for row in doc["images"]:
        for note in row.get("notes") or []:
            by_note.setdefault(note, []).append(row["name"])
    lines = []
    for note, names in by_note.items():
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        lines.append(Text(f"note: {note} ({plural(len(names), values.unit)}: {shown})"))
    return lines


def _class_block(doc: Document, values: _Values) -> Block | None:
    """One row per class (then region): the pooled per-class values, then the means over images, metrics and
    losses apart; ``n/a`` where an entry does not apply (``summary.not_applicable``)."""
    pc = doc["summary"].get("per_class") or {}
    regions = list(doc["config"].get("regions") or {})  # regions follow the classes in per-class vectors
    c = (doc["config"].get("num_classes") or 0) + len(regions)
    if not c or not (pc.get("pooled") or pc.get("mean")):
        return None
    labels = [class_label(doc, i) for i in range(c)]
    fixed = [Column("#", [str(i) for i in range(c)]), Column("class", labels, "left")]
    if labels == [str(i) for i in range(c)]:
        fixed = fixed[:1]
    groups = []
    for stat, title in (("pooled", "per class: pooled over all images (summed confusion matrix)"),
                        ("mean", "per class: mean over images")):
        vectors = pc.get(stat) or {}
        kinds = values.by_kind(vectors)
        for names in kinds:
            label = title if len(kinds) == 1 else f"{title}, {_KIND_TITLE[values.kind(names[0])]}"
            groups.append((label, [Column(with_unit(n, value_unit(doc, n)),
                                          [fmt(v) for v in class_cells(doc, n, vectors[n])]) for n in names]))
    return Block(fixed, groups)
