"""``--report DIR``: a static, self-contained HTML report (``DIR/index.html``) and the PNG files of its pictures.

The page needs no network: styles are inline, histograms are inline SVG, images are PNG files beside it, so it
opens from a ``file://`` URL. It holds the summary, the gates, the per-class table, a histogram per value over
images, and the K worst images (ranked by :func:`lossctl.engine.document.worst_rows`, as every writer ranks
them) as error overlays.

The writer reads the document and places the pictures it is given (:class:`lossctl.engine.pictures.Pictures`:
the overlays as PNG bytes, the per-image deltas of a comparison); it reads no input file.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lossctl.engine.document import (
    LISTED_WORST,
    STATS,
    Document,
    class_label,
    ranked_value,
    row_value_names,
    spec,
    unit,
    value_names,
)
from lossctl.errors import spell
from lossctl.report.files import replace_file
from lossctl.report.compare import CHANGE_COLUMNS, change_cells, has_interval
from lossctl.report.format import fmt, signed

if TYPE_CHECKING:
    from lossctl.engine.pictures import Pictures

HIST_BINS = 20

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em;color:#222;background:#fff}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f3f3}
.pass{color:#05734a;font-weight:bold}.fail{color:#b00020;font-weight:bold}
.hists{display:flex;flex-wrap:wrap;gap:1em}.hists figure{margin:0}
.worst{display:flex;flex-wrap:wrap;gap:1.2em}.worst figure{margin:0;max-width:340px}
.worst img{width:320px;image-rendering:pixelated;border:1px solid #999}
.sw{display:inline-block;width:1em;height:1em;vertical-align:middle;border:1px solid #555;margin:0 .3em}
figcaption{font-size:.85em}code{background:#f6f6f6;padding:0 .2em}
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _table(table_id: str, header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    out = [f'<table id="{table_id}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header)
           + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def histogram_svg(values: np.ndarray, name: str, bounds: tuple[float, float], noun: str) -> str:
    """An inline SVG histogram of ``values`` (one per ``noun``: image or sample) in :data:`HIST_BINS` bins over
    ``bounds`` (finite), else over the values' range."""
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
    parts.append(f'<text x="{pad}" y="{height - 6}" font-size="10">{lo:.3g}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 6}" font-size="10" text-anchor="end">{hi:.3g}</text>')
    parts.append(f'<text x="{pad}" y="14" font-size="11">{_e(name)}: {v.size} {noun}(s), max bin {top}</text>')
    return "".join(parts) + "</svg>"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "image"


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------


def write_report(document: Document, directory: Path, pictures: Pictures | None = None, *,
                 worst: int = LISTED_WORST, flags: Mapping[str, str] | None = None) -> Path:
    """Write ``directory/index.html`` (and the overlay PNGs) for a seg, cls, merge or compare document, with the
    ``pictures`` made for it (:func:`lossctl.engine.pictures.make_pictures`; without them, a page without
    overlays or delta histograms). ``worst``: how many images that got worse a compare page lists per value;
    ``flags`` spells the settings a picture's problem names (:func:`lossctl.errors.spell`)."""
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("worst_[0-9][0-9]_*.png"):  # overlays of an earlier report in this folder
        stale.unlink()
    if document["command"] == "compare":
        body = _compare_body(document, worst, pictures)
    else:
        body = _report_body(document, directory, pictures, flags)
    title = f"lossctl {document['command']} report"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f"<body>\n<h1>{_e(title)}</h1>\n{body}\n<footer><p>lossctl {_e(document['lossctl'])}</p></footer>"
            "</body></html>\n")
    target = directory / "index.html"
    replace_file(target.resolve(), page)
    return target


def _gates_html(document: Document) -> str:
    if not document["gates"]:
        return '<h2>Gates</h2><p id="gates">No gates were given.</p>'
    rows = []
    for g in document["gates"]:
        verdict = '<span class="pass">PASS</span>' if g["passed"] else '<span class="fail">FAIL</span>'
        if not g["passed"] and g.get("reason"):  # an undefined value (e.g. a gate over no image): why
            verdict += f" {_e(g['reason'])}"
        rows.append([f"<code>{_e(g['gate'])}</code>", fmt(g["value"]), fmt(g.get("base")), verdict])
    return "<h2>Gates</h2>" + _table("gates", ["gate", "value", "baseline", "result"], rows)


def _report_body(document: Document, directory: Path, pictures: Pictures | None,
                 flags: Mapping[str, str] | None) -> str:
    s, cfg, command = document["summary"], document["config"], document["command"]
    noun = unit(document)
    parts = [f"<p>{s['count']} {noun}(s) evaluated, {len(document['errors'])} failed. "
             + " · ".join(f"{k}: <code>{_e(cfg[k])}</code>" for k in ("pred", "gt", "target", "shard", "baseline")
                          if cfg.get(k)) + "</p>"]
    parts.append(_gates_html(document))
    names = value_names(document)
    rows = [[f"<code>{_e(n)}</code>", *(fmt(s[st].get(n)) for st in STATS), fmt(s["pooled"].get(n))]
            for n in names]
    parts.append("<h2>Summary</h2>" + _table("summary", ["value", *STATS, "pooled"], rows))
    pc = s["per_class"]
    if command == "seg" and (pc["pooled"] or pc["mean"]):
        labels = [class_label(document, i) for i in range(cfg["num_classes"])]
        rows = [[f"{stat} <code>{_e(n)}</code>", *(fmt(v) for v in vector)]
                for stat in ("pooled", "mean") for n, vector in pc[stat].items()]
        parts.append("<h2>Per class</h2><p>pooled: from the summed confusion matrix; mean: over images.</p>"
                     + _table("per-class", ["value", *labels], rows))
    if document["images"]:
        held = set(row_value_names(document))  # a cls run's metrics have no per-sample values
        figures = []
        for n in (n for n in names if n in held):
            v = np.array([r["values"][n] for r in document["images"] if r["values"].get(n) is not None])
            entry = spec(command, n)
            bounds = entry.bounds if entry else (math.inf, math.inf)
            figures.append(f"<figure>{histogram_svg(v, n, bounds, noun)}</figure>")
        parts.append(f'<h2>Histograms over {noun}s</h2><div class="hists" id="histograms">{"".join(figures)}</div>')
    if pictures is not None and pictures.overlays:
        parts.append(_worst_html(document, pictures, directory, flags))
    if document["errors"]:
        items = "".join(f"<li><code>{_e(e['file'])}</code>: {_e(e['error'])}</li>" for e in document["errors"])
        parts.append(f'<h2>Failed pairs</h2><ul id="errors">{items}</ul>')
    return "\n".join(parts)


def _worst_html(document: Document, pictures: Pictures, directory: Path, flags: Mapping[str, str] | None) -> str:
    """The worst images' overlays (their PNG files written beside the page), captioned with their values."""
    legend = "".join(f'<span class="sw" style="background:rgb{colour}"></span>{_e(meaning)} '
                     for colour, meaning in pictures.legend)
    names = value_names(document)
    figures = []
    for rank, overlay in enumerate(pictures.overlays, start=1):
        row = overlay.row
        caption = (f"<b>{rank}. {_e(row['name'])}</b><br>"
                   + ", ".join(f"{_e(n)} {fmt(row['values'].get(n))}" for n in names))
        if overlay.png is None:
            figures.append(f"<figure><figcaption>{caption}<br><i>no overlay: {_e(spell(overlay.problem, flags))}</i>"
                           "</figcaption></figure>")
            continue
        file = f"worst_{rank:02d}_{_safe(row['name'])}.png"
        replace_file((directory / file).resolve(), overlay.png)
        where = (f" (slice {overlay.slice} of {overlay.slices}, the one with the most errors)"
                 if overlay.slice is not None else "")
        figures.append(f'<figure><img src="{_e(file)}" alt="error overlay of {_e(row["name"])}">'
                       f"<figcaption>{caption}{_e(where)}</figcaption></figure>")
    return (f"<h2>The {len(pictures.overlays)} worst images by <code>{_e(ranked_value(document))}</code></h2>"
            f'<p>{legend}</p><div class="worst" id="worst">{"".join(figures)}</div>')


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
        rows = [[f"<code>{_e(name)}</code>", *map(_e, change_cells(v, interval))]
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
                         + _table(f"worst-{_safe(name)}", [unit(document), "base", "new", "delta"], rows))
    return "\n".join(parts)
