"""``--report DIR``: a static, self-contained HTML report, ``DIR/index.html``.

The page is one file that needs no network and runs no script: styles are inline, histograms are inline SVG and
pictures are PNG ``data:`` URIs, so it opens from a ``file://`` URL, as a CI artifact or an e-mail attachment.
For ``seg``, ``cls`` and ``merge`` it holds, in order (:func:`_report_body`, one function per section):

* what was evaluated, the gates and their verdicts;
* **the summary**: one row per value, its direction (↑ higher is better, ↓ lower is better: the registry's) and
  unit (:func:`lossctl.engine.document.value_unit`), ``mean std min median max pooled``; for a region-based
  dataset.json the same of each value's mean over the regions;
* **per class**: one row per class, then per region (so 150 classes make a long table, never a wide one), the
  pooled values and the means over images as columns, and with per-instance rows the detection counts
  (:func:`lossctl.engine.document.detection_counts`: ground-truth instances, matched, missed, false) as integers;
* recall by ground-truth instance size (``summary.recall_by_size``, in voxels or mm³);
* a histogram per value over the images (with its median);
* **calibration**: a reliability diagram (inline SVG) per binned calibration value, one per class for
  ``cw_ece``, from ``summary.calibration`` (seg: the bins summed over the images; cls: the run's);
* **the K worst images** (ranked by :func:`lossctl.engine.document.worst_rows`, as every writer ranks them),
  each as the ground truth, the prediction and the error map side by side (the input image under them), one
  row of them for a 2D image, three for a volume (axial, coronal, sagittal, or array axes), every picture drawn
  at its physical aspect ratio, with a legend of the colours and of the hatched ignored pixels; with instance
  values, the instance panels beside them (matched, missed and false instances) and their legend;
* the pairs that failed.

For ``compare``: the gates, the means and pooled tables, a histogram of the per-image deltas of each value and
the images that got worse the most. Every table has one header cell per column.

The writer reads the document and places the pictures it is given (:class:`lossctl.engine.pictures.Pictures`:
the views of the worst images as PNG bytes, the per-image deltas of a comparison); it reads no input file.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lossctl.engine.document import (
    DETECTIONS,
    LISTED_WORST,
    Document,
    applies,
    class_label,
    detection_counts,
    gate_value_name,
    higher_is_better,
    per_class_labels,
    ranked_value,
    row_value_names,
    spec,
    task,
    unit,
    value_names,
    value_unit,
)
from lossctl.errors import spell
from lossctl.report.compare import CHANGE_COLUMNS, change_cells, has_interval
from lossctl.report.files import replace_file
from lossctl.report.format import ARROWS, NOT_APPLICABLE, UNDEFINED, fmt, gate_value, plural, signed

if TYPE_CHECKING:
    from lossctl.engine.pictures import Panel, Pictures, Plane, Swatch, WorstImage

HIST_BINS = 20
#: The statistics of the summary tables (``pooled`` follows).
SUMMARY_STATS = ("mean", "std", "min", "median", "max")
#: The longer physical side of a worst image's planes, in CSS pixels (the others in proportion) ...
PANEL_PX = 300
#: ... narrower when a plane has more than three panels (instance panels), so that this many CSS pixels hold
#: them side by side, down to :data:`PANEL_MIN_PX` (more panels than that wrap to the next row).
ROW_PX = 1160
PANEL_MIN_PX = 200
_DIRECTION_WORDS = {True: "higher is better", False: "lower is better"}

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}h3{font-size:1.05em;margin:.2em 0}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.2em .5em}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}th{background:#f3f3f3}
tr.region td{background:#f8f8ff}.wide{max-width:100%;overflow-x:auto}
.pass{color:#05734a;font-weight:bold}.fail{color:#b00020;font-weight:bold}.note{color:#555;font-size:.85em}
.hists{display:flex;flex-wrap:wrap;gap:1em}.hists figure{margin:0}
.case{margin:1em 0 1.6em;padding-top:.4em;border-top:1px solid #eee}.plane{margin:.6em 0}
.panels{display:flex;flex-wrap:wrap;gap:.6em;align-items:flex-start}.panels figure{margin:0}
.panels img{display:block;max-width:100%;height:auto;image-rendering:pixelated;outline:1px solid #999}
.key{display:inline-block}.sw{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #555;margin:0 .3em 0 .8em}
figcaption{font-size:.85em}code{background:#f6f6f6;padding:0 .2em}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(table_id: str, header: list[str], rows: list[list[str]], numeric_from: int = 1,
           groups: list[tuple[str, int]] | None = None, row_class: list[str] | None = None) -> str:
    """A table with one header cell per column (``header``: HTML), above it a row of ``groups`` (title, how
    many columns) when given; cells from ``numeric_from`` on are right-aligned numbers."""
    head = ""
    if groups:
        head = "<tr>" + "".join(f'<th colspan="{span}">{_e(title)}</th>' for title, span in groups) + "</tr>"
    out = [f'<table id="{table_id}"><thead>{head}<tr>' + "".join(f"<th>{h}</th>" for h in header)
           + "</tr></thead><tbody>"]
    for k, r in enumerate(rows):
        attribute = f' class="{row_class[k]}"' if row_class and row_class[k] else ""
        out.append(f"<tr{attribute}>" + "".join(f'<td class="n">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                                                for i, c in enumerate(r)) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def _value_head(document: Document, name: str) -> str:
    """A value as a table heads it: its name (which may wrap after an underscore), its unit and its direction's
    arrow (the words in a tooltip)."""
    direction = higher_is_better(task(document), name)
    units = value_unit(document, name)
    arrow = (f' <span title="{_DIRECTION_WORDS[direction]}">{ARROWS[direction]}</span>' if direction is not None
             else "")
    breakable = _e(name).replace("_", "_<wbr>")  # a long name may wrap in a narrow column
    return f"<code>{breakable}</code>" + (f" ({_e(units)})" if units else "") + arrow


def _with_unit(document: Document, name: str, value: Any) -> str:
    units = value_unit(document, name)
    return fmt(value) + (f" {units}" if units and value is not None else "")


def histogram_svg(values: np.ndarray, name: str, bounds: tuple[float, float], noun: str) -> str:
    """An inline SVG histogram of ``values`` (one per ``noun``: image or sample) in :data:`HIST_BINS` bins over
    ``bounds`` (finite), else over the values' range, with a dashed line at their median."""
    v = np.asarray(values, dtype=np.float64)
    lo, hi = bounds
    if not (math.isfinite(lo) and math.isfinite(hi)):
        lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=HIST_BINS, range=(lo, hi))
    width, height, pad = 320, 130, 22
    bar = (width - 2 * pad) / HIST_BINS
    top = max(int(counts.max()) if counts.size else 0, 1)
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="histogram of {_e(name)}"><rect width="100%" height="100%" fill="#fafafa"/>')]
    for i, c in enumerate(counts):
        h = (height - 2 * pad) * c / top
        x, y = pad + i * bar, height - pad - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" fill="#0072b2">'
                     f"<title>[{edges[i]:.4g}, {edges[i + 1]:.4g}): {int(c)} {noun}(s)</title></rect>")
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>')
    if lo < 0 < hi:  # where "no change" is, for deltas
        zero = pad + (width - 2 * pad) * (0 - lo) / (hi - lo)
        parts.append(f'<line x1="{zero:.1f}" y1="{pad}" x2="{zero:.1f}" y2="{height - pad}" stroke="#b00020" '
                     'stroke-dasharray="3,2"><title>0</title></line>')
    median = ""
    if v.size:
        m = float(np.median(v))
        at = pad + (width - 2 * pad) * (m - lo) / (hi - lo)
        parts.append(f'<line x1="{at:.1f}" y1="{pad - 4}" x2="{at:.1f}" y2="{height - pad}" stroke="#d55e00" '
                     f'stroke-width="2" stroke-dasharray="5,3"><title>median {m:.4g}</title></line>')
        median = f", median {m:.4g}"
    parts.append(f'<text x="{pad}" y="{height - 6}" font-size="10">{lo:.3g}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 6}" font-size="10" text-anchor="end">{hi:.3g}</text>')
    parts.append(f'<text x="{pad}" y="13" font-size="11">{_e(name)}: {v.size} {noun}(s){median}; '
                 f"tallest bar {top}</text>")
    return "".join(parts) + "</svg>"


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------


def write_report(document: Document, directory: Path, pictures: Pictures | None = None, *,
                 worst: int = LISTED_WORST, flags: Mapping[str, str] | None = None) -> Path:
    """Write ``directory/index.html`` for a seg, cls, merge or compare document, with the ``pictures`` made for
    it (:func:`lossctl.engine.pictures.make_pictures`; without them, a page without the worst images' views or
    the delta histograms). ``worst``: how many images that got worse a compare page lists per value; ``flags``
    spells the settings a picture's problem names (:func:`lossctl.errors.spell`)."""
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("worst_[0-9][0-9]_*.png"):  # picture files of an earlier version's report
        stale.unlink()
    if document["command"] == "compare":
        body = _compare_body(document, worst, pictures)
    else:
        body = _report_body(document, pictures, flags)
    title = f"lossctl {document['command']} report"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f"<body>\n<h1>{_e(title)}</h1>\n{body}\n<footer><p>lossctl {_e(document['lossctl'])}</p></footer>"
            "</body></html>\n")
    target = directory / "index.html"
    replace_file(target.resolve(), page)
    return target


def _report_body(document: Document, pictures: Pictures | None, flags: Mapping[str, str] | None) -> str:
    """The sections of a seg, cls or merge page, in order."""
    sections = [_overview(document), _gates_html(document), _summary_html(document), _per_class_html(document),
                _recall_by_size_html(document), _histograms_html(document), _calibration_html(document)]
    if pictures is not None and pictures.worst:
        sections.append(_worst_html(document, pictures, flags))
    sections.append(_errors_html(document))
    return "\n".join(s for s in sections if s)


def _overview(document: Document) -> str:
    s, cfg = document["summary"], document["config"]
    return (f"<p>{s['count']} {unit(document)}(s) evaluated, {len(document['errors'])} failed. "
            + " · ".join(f"{k}: <code>{_e(cfg[k])}</code>" for k in ("pred", "gt", "target", "shard", "baseline")
                         if cfg.get(k)) + "</p>")


def _gates_html(document: Document) -> str:
    if not document["gates"]:
        return '<h2>Gates</h2><p id="gates">No gates were given.</p>'
    rows = []
    for g in document["gates"]:
        verdict = '<span class="pass">PASS</span>' if g["passed"] else '<span class="fail">FAIL</span>'
        if not g["passed"] and g.get("reason"):  # an undefined value (e.g. a gate over no image): why
            verdict += f" {_e(g['reason'])}"
        value = gate_value(g, value_unit(document, gate_value_name(g["gate"])))
        rows.append([f"<code>{_e(g['gate'])}</code>", _e(value), fmt(g.get("base")), verdict])
    return "<h2>Gates</h2>" + _table("gates", ["gate", "value", "baseline", "result"], rows)


def _summary_html(document: Document) -> str:
    """The summary (and, for a region-based dataset.json, the regions' mean) with a legend of its marks."""
    s = document["summary"]
    parts = [f"<h2>Summary over {s['count']} {unit(document)}(s)</h2>",
             _stats_table("summary", document, s, value_names(document))]
    region_mean = s.get("region_mean")
    if region_mean:
        regions = ", ".join(document["config"].get("region_mean") or [])
        parts.append(f"<h3>Mean over the regions ({_e(regions)})</h3><p class=\"note\">mean: of the regions' means "
                     "(nnU-Net's foreground_mean); std to max: over images.</p>"
                     + _stats_table("region-mean", document, region_mean, list(region_mean["mean"])))
    pooled = " pooled: from the summed confusion matrix;" if document["command"] == "seg" else ""
    parts.append(f'<p class="note">↑ higher is better, ↓ lower is better;{pooled} {UNDEFINED} undefined (0/0); '
                 f"{NOT_APPLICABLE} not applicable (left out by the run's rules: <code>summary.not_applicable</code>); "
                 f"statistics over the {unit(document)}s where a value is defined.</p>")
    return "\n".join(parts)


def _stats_table(table_id: str, document: Document, block: Mapping[str, Any], names: list[str]) -> str:
    stats = [st for st in (*SUMMARY_STATS, "pooled") if any(n in (block.get(st) or {}) for n in names)]
    rows = [[_value_head(document, n), *(fmt(block[st][n]) if n in (block.get(st) or {}) else NOT_APPLICABLE
                                         for st in stats)] for n in names]
    return _table(table_id, ["value", *stats], rows)


def _per_class_html(document: Document) -> str:
    """One row per class, then per region; the pooled values and the means over images as columns."""
    pc, cfg = document["summary"]["per_class"], document["config"]
    blocks = [(stat, title, list(pc.get(stat) or {})) for stat, title in
              (("pooled", "pooled (summed confusion matrix)"), ("mean", "mean over images"))]
    blocks = [b for b in blocks if b[2]]
    if document["command"] != "seg" or not blocks:
        return ""
    counted = detection_counts(document)
    if counted:  # the pooled counts are the sums the detection columns show
        blocks = [(stat, title, [n for n in names if stat != "pooled" or n not in DETECTIONS])
                  for stat, title, names in blocks]
    labels = per_class_labels(document)
    n = cfg["num_classes"]
    regions = cfg.get("regions") or {}
    named = labels[:n] != [str(i) for i in range(n)] or bool(regions)
    lead = ["#", "class"] if named else ["#"]
    rows, kinds = [], []
    for i, label in enumerate(labels):
        index = str(i) if i < n else "{" + ",".join(map(str, regions[label])) + "}"
        cells = [_e(index), *([_e(label)] if named else [])]
        for stat, _, names in blocks:
            cells += [fmt(pc[stat][name][i] if i < len(pc[stat][name]) else None) if applies(document, name, label)
                      else NOT_APPLICABLE for name in names]
        if counted:
            cells += [str(counted[label][k]) if label in counted else NOT_APPLICABLE for k in DETECTIONS]
        rows.append(cells)
        kinds.append("region" if i >= n else "")
    header = lead + [_value_head(document, name) for _, _, names in blocks for name in names]
    groups = [("", len(lead))] + [(title, len(names)) for _, title, names in blocks if names]
    if counted:
        header += ["ground-truth instances", *(f"{_value_head(document, k)} {w}" for k, w in
                                               zip(DETECTIONS[1:], ("matched", "missed", "false"), strict=True))]
        groups.append(("instances (counted over images)", len(DETECTIONS)))
    note = (f'<p class="note">{len(labels) - n} region(s) after the classes (# lists their labels).</p>'
            if regions else "")
    if counted:
        note += ('<p class="note">Instances: the ground-truth instances of each class and region over every image, '
                 "those matched (<code>inst_tp</code>) and missed (<code>inst_fn</code>), and the false predicted "
                 "instances (<code>inst_fp</code>), counted from the per-instance rows "
                 "(<code>images[i].instances</code>).</p>")
    return (f"<h2>Per class ({len(labels)} row(s))</h2>{note}<div class=\"wide\">"
            + _table("per-class", header, rows, numeric_from=len(lead), groups=groups, row_class=kinds) + "</div>")


def _recall_by_size_html(document: Document) -> str:
    """``summary.recall_by_size`` (``--size-bins``): per class and region, the recall of the ground-truth
    instances of each size bin, with the matched and all instances of the bin."""
    bins = document["summary"].get("recall_by_size")
    if not bins:
        return ""
    unit_ = "mm³" if (document["config"].get("options") or {}).get("size_unit") == "mm3" else "voxels"
    edges = next(iter(bins.values()))
    header = ["class or region", *(f"[{b['low']:g}, {'∞' if b['high'] is None else format(b['high'], 'g')})"
                                   for b in edges)]
    rows = [[_e(entry), *(f"{fmt(b['recall'])} ({b['matched']}/{b['instances']})" for b in found)]
            for entry, found in bins.items()]
    return (f"<h2>Recall by ground-truth instance size ({_e(unit_)})</h2>"
            f'<p class="note">Each bin: the recall of the ground-truth instances whose size, in {_e(unit_)}, is in '
            f"it (matched / instances); {UNDEFINED} for a bin without instances.</p>"
            '<div class="wide">' + _table("recall-by-size", header, rows) + "</div>")


def _histograms_html(document: Document) -> str:
    if not document["images"]:
        return ""
    noun, command = unit(document), document["command"]
    held = set(row_value_names(document))  # a cls run's metrics have no per-sample values
    figures = []
    for n in (n for n in value_names(document) if n in held):
        v = np.array([r["values"][n] for r in document["images"] if r["values"].get(n) is not None])
        entry = spec(command, n)
        bounds = entry.bounds if entry else (math.inf, math.inf)
        units = value_unit(document, n)
        figures.append(f"<figure>{histogram_svg(v, n + (f' ({units})' if units else ''), bounds, noun)}</figure>")
    return (f'<h2>Histograms over {noun}s</h2><div class="hists" id="histograms">{"".join(figures)}</div>'
            f'<p class="note">{HIST_BINS} bins over the value\'s range; the dashed orange line is the median.</p>')


def reliability_svg(tally: Mapping[str, Any], row: int, title: str) -> str:
    """An inline SVG reliability diagram of one row of a calibration tally (``summary.calibration``): per non-empty
    bin, a bar from 0 to its mean accuracy ``A_b / n_b`` over the bin's interval, a dot at its mean confidence
    ``S_b / n_b``, the diagonal of perfect calibration, and the share of samples of each bin in its tooltip."""
    count = np.asarray(tally["count"][row], dtype=np.float64)
    conf = np.asarray(tally["confidence"][row], dtype=np.float64)
    acc = np.asarray(tally["accuracy"][row], dtype=np.float64)
    edges = list(tally["edges"][row] if isinstance(tally["edges"][0], list) else tally["edges"])
    edges += [1.0] * (count.size + 1 - len(edges))  # torchmetrics' bin of p = 1.0: drawn at 1
    size, pad = 220, 26
    side = size - 2 * pad

    def x(v: float) -> float:
        return pad + side * v

    def y(v: float) -> float:
        return size - pad - side * v

    total = count.sum()
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" role="img" '
              f'aria-label="reliability diagram of {_e(title)}"><rect width="100%" height="100%" fill="#fafafa"/>'),
             f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(1):.1f}" y2="{y(1):.1f}" stroke="#999" '
             'stroke-dasharray="4,3"><title>perfect calibration</title></line>']
    for b in np.flatnonzero(count > 0):
        lo, hi = edges[b], max(edges[b + 1], edges[b] + 0.004)
        a, c = acc[b] / count[b], conf[b] / count[b]
        tip = (f"[{lo:.4g}, {edges[b + 1]:.4g}]: {count[b]:g} ({100 * count[b] / total:.1f}%), accuracy {a:.4f}, "
               f"confidence {c:.4f}")
        parts.append(f'<rect x="{x(lo):.1f}" y="{y(a):.1f}" width="{max(side * (hi - lo) - 1, 1):.1f}" '
                     f'height="{side * a:.1f}" fill="#0072b2" fill-opacity="0.75"><title>{_e(tip)}</title></rect>')
        parts.append(f'<circle cx="{x(c):.1f}" cy="{y(c):.1f}" r="2.5" fill="#d55e00"><title>{_e(tip)}</title>'
                     "</circle>")
    parts.append(f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(1)}" y2="{y(0)}" stroke="#333"/>'
                 f'<line x1="{x(0)}" y1="{y(0)}" x2="{x(0)}" y2="{y(1)}" stroke="#333"/>')
    parts.append(f'<text x="{x(0)}" y="{size - 8}" font-size="10">0</text>'
                 f'<text x="{x(1)}" y="{size - 8}" font-size="10" text-anchor="end">confidence 1</text>'
                 f'<text x="4" y="{y(1) + 4:.1f}" font-size="10">1</text>'
                 f'<text x="{pad}" y="14" font-size="11">{_e(title)}</text>')
    return "".join(parts) + "</svg>"


def _calibration_html(document: Document) -> str:
    """Reliability diagrams of the binned calibration values (``summary.calibration``)."""
    tallies = document["summary"].get("calibration") or {}
    names = document["config"].get("class_names") or []
    figures, skipped = [], []
    for name, tally in tallies.items():
        if tally is None:
            skipped.append(name)
            continue
        if "count" not in tally:  # brier, nll: sums, no bins
            continue
        rows = len(tally["count"])
        for row in range(rows):
            label = name if rows == 1 else f"{name} [{names[row] if row < len(names) else row}]"
            figures.append(f"<figure>{reliability_svg(tally, row, label)}</figure>")
    if not figures and not skipped:
        return ""
    note = ("Bars: the mean accuracy of each bin's samples; dots: their mean confidence; dashed: perfect "
            "calibration. ece, mce and rmsce bin the top label (or the positive class, as the convention reads "
            "it); cw_ece each class's own probability.")
    if skipped:
        note += f" {', '.join(skipped)}: equal-mass bins are per image, so there is no pooled diagram."
    return (f'<h2>Calibration</h2><div class="hists" id="calibration">{"".join(figures)}</div>'
            f'<p class="note">{_e(note)}</p>')


def _errors_html(document: Document) -> str:
    if not document["errors"]:
        return ""
    items = "".join(f"<li><code>{_e(e['file'])}</code>: {_e(e['error'])}</li>" for e in document["errors"])
    return f'<h2>Failed pairs</h2><ul id="errors">{items}</ul>'


# ----------------------------------------------------------------------------------------------------------
# The worst images
# ----------------------------------------------------------------------------------------------------------


def _swatch(swatch: Swatch) -> str:
    colour = f"rgb{swatch.colour}"
    fill = (f"repeating-linear-gradient(45deg,{colour} 0 3px,rgb{swatch.stripes} 3px 6px)" if swatch.stripes
            else colour)
    return f'<span class="key"><span class="sw" style="background:{fill}"></span>{_e(swatch.meaning)}</span>'


def _worst_html(document: Document, pictures: Pictures, flags: Mapping[str, str] | None) -> str:
    """The worst images' views, with the legends of the error map's colours and of the classes' colours."""
    by = ranked_value(document)
    order = "highest" if higher_is_better(document["command"], by) is False else "lowest"
    classes = "".join(_swatch_of_class(class_label(document, c), colour) for c, colour in pictures.classes)
    cases = "".join(_case_html(document, rank, case, flags) for rank, case in enumerate(pictures.worst, start=1))
    instances = ""
    if pictures.instance_legend:
        instances = ('<p class="note">The instance panels: every instance of the foreground classes (then of each '
                     "region, one panel each), coloured by what the matching of the run's instance values made of "
                     "it, the colours of the error map for the same outcome, applied to whole instances: where a "
                     "ground-truth instance is, its outcome, elsewhere the predicted instance's; outlines part "
                     "touching instances.</p>"
                     f'<p id="instance-legend">Instances:{"".join(_swatch(s) for s in pictures.instance_legend)}</p>')
    return (f"<h2>The {plural(len(pictures.worst), 'worst image')} by <code>{_e(by)}</code> ({order} first)</h2>"
            '<p class="note">Each image: its ground truth, its prediction and their errors side by side; a volume '
            "in three planes through its worst error, each the slice with the most wrong voxels along its axis. "
            "Every picture is drawn at its physical aspect ratio (the spacing of the run).</p>"
            f'<p id="legend">Errors:{"".join(_swatch(s) for s in pictures.legend)}</p>'
            + (f'<p id="classes">Classes:{classes}</p>' if classes else "") + instances
            + f'<div id="worst">{cases}</div>')


def _swatch_of_class(label: str, colour: tuple[int, int, int]) -> str:
    return f'<span class="key"><span class="sw" style="background:rgb{colour}"></span>{_e(label)}</span>'


def _case_html(document: Document, rank: int, case: WorstImage, flags: Mapping[str, str] | None) -> str:
    row = case.row
    values = ", ".join(f"{_e(n)} {_with_unit(document, n, row['values'].get(n))}" for n in value_names(document)
                       if n in row["values"])
    parts = [f'<section class="case"><h3>{rank}. <code>{_e(row["name"])}</code></h3><p class="note">{values}</p>']
    if case.problem is not None:
        parts.append(f'<p class="note"><i>no pictures: {_e(spell(case.problem, flags))}</i></p>')
    if case.orientation_note:
        parts.append(f'<p class="note">Planes named by their array axes: {_e(case.orientation_note)}.</p>')
    if case.planes:
        panels = 3 + max(len(plane.instances) for plane in case.planes)
        side = max(min(PANEL_PX, ROW_PX / panels), PANEL_MIN_PX)
        scale = side / max(max(plane.extent) for plane in case.planes)
        parts += [_plane_html(plane, scale) for plane in case.planes]
    if case.image_note:
        parts.append(f'<p class="note">No input image: {_e(case.image_note)}.</p>')
    return "".join(parts) + "</section>"


def _plane_html(plane: Plane, scale: float) -> str:
    """One plane: what it is, then its three panels side by side and the input image under them, each
    ``scale`` CSS pixels per unit of its physical extent."""
    h, w = plane.extent
    size = f"{h:.4g} × {w:.4g} {'pixels' if plane.unit == 'px' else plane.unit}"
    if plane.axis is None:
        where = f"The whole image, {size}."
    else:
        name = f"{plane.name} plane" if plane.name else f"Plane across array axis {plane.axis}"
        at = f"axis {plane.axis} at index {plane.index} (of 0..{plane.slices - 1})"
        why = (f"the slice with the most wrong voxels along it ({plane.wrong:,} wrong)" if plane.wrong
               else "the middle slice: no voxel is wrong")
        if plane.name:
            sides = f"top: {plane.top}, left: {plane.left}"
        else:
            sides = f"rows along {plane.top}, columns along {plane.left}, index 0 at the top left"
        where = f"{name[0].upper()}{name[1:]}: {at}, {why}; {sides}; {size}."
    style = f"width:{w * scale:.1f}px;aspect-ratio:{w:.6g} / {h:.6g}"
    panels = [(plane.truth, "ground truth"), (plane.prediction, "prediction"), (plane.errors, "errors"),
              *((panel, title) for title, panel in plane.instances)]
    out = [f'<div class="plane" data-extent="{h:.6g} {w:.6g}"><p class="note">{_e(where)}</p>',
           '<div class="panels">' + "".join(_panel_html(p, t, style) for p, t in panels) + "</div>"]
    if plane.image is not None:
        out.append('<div class="panels">' + _panel_html(plane.image, "input image", style) + "</div>")
    return "".join(out) + "</div>"


def _panel_html(panel: Panel, title: str, style: str) -> str:
    return (f'<figure><img src="{_data_uri(panel.png)}" alt="{_e(title)}" width="{panel.width}" '
            f'height="{panel.height}" style="{style}"><figcaption>{_e(title)}</figcaption></figure>')


# ----------------------------------------------------------------------------------------------------------
# Compare
# ----------------------------------------------------------------------------------------------------------


def _delta_histograms(document: Document, deltas: dict[str, np.ndarray]) -> str:
    noun = unit(document)
    figures = []
    for name, d in deltas.items():
        m = float(np.abs(d).max()) or 1.0
        figures.append(f"<figure>{histogram_svg(d, f'delta {name}', (-m, m), noun)}</figure>")
    if not figures:
        return ""
    return (f"<h2>Per-{noun} deltas (new - base), over the {noun}s in both reports</h2>"
            f'<div class="hists" id="histograms">{"".join(figures)}</div>')


def _compare_body(document: Document, worst: int, pictures: Pictures | None) -> str:
    cfg = document["config"]
    parts = [(f"<p><code>{_e(cfg.get('base', 'base'))}</code> → <code>{_e(cfg.get('new', 'new'))}</code> "
             f"({_e(cfg['of'])}): {cfg['paired']} in both reports, {len(document['only_in_base'])} only in base, "
             f"{len(document['only_in_new'])} only in new.</p>"), _gates_html(document)]
    for block, title, table_id in (("values", "Means (95% CI: paired bootstrap of the mean per-image delta)",
                                    "summary"), ("pooled", "Pooled", "pooled")):
        interval = has_interval(document, block)  # none for pooled values, nor with --bootstrap 0
        rows = [[_value_head(document, name), *map(_e, change_cells(v, interval))]
                for name, v in document[block].items()]
        title = title if interval or block == "pooled" else "Means"
        if rows:
            header = ["value", *CHANGE_COLUMNS[:5 if interval else 4]]
            parts.append(f"<h2>{_e(title)}</h2>" + _table(table_id, header, rows))
    if pictures is not None and pictures.deltas is not None:
        parts.append(_delta_histograms(document, pictures.deltas))
    for name, rows_ in document["worst"].items():
        if rows_:
            rows = [[f"<code>{_e(r['name'])}</code>", fmt(r["base"]), fmt(r["new"]), signed(r["delta"])]
                    for r in rows_[:worst]]
            parts.append(f"<h2>Got worse the most: <code>{_e(name)}</code></h2>"
                         + _table(f"worst-{_safe_id(name)}", [unit(document), "base", "new", "delta"], rows))
    return "\n".join(parts)


def _safe_id(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "_-" else "_" for ch in name)
