"""``--report DIR``: a static, self-contained HTML report (``DIR/index.html``) and PNG error overlays.

The page needs no network: styles are inline, histograms are inline SVG, images are PNG files beside it, so it
opens from a ``file://`` URL. It holds the summary, the gates, the per-class table, a histogram per value over
images, and the K worst images (ranked by :func:`lossctl.report.flat.worst_rows`, as every writer ranks them) as
error overlays.

An overlay is drawn over the ground truth (classes as shades of grey) from labels recomputed by reading the
pair again exactly as evaluation reads it (:func:`lossctl.engine.seg.load_pair`, then
:func:`lossctl.inputs.seg.prepare` with the run's options).
Per pixel, class 0 counting as background:

* true positive (``pred == gt``, gt not 0): bluish green; false positive (gt 0, pred not 0): vermillion;
  false negative (gt not 0, pred 0): blue; wrong class (both not 0, different): yellow; ignored: black.
  (Okabe-Ito colours, distinguishable with the common colour-vision deficiencies.)
* For a volume, the slice (along the first axis) with the most wrong pixels is shown.
"""

from __future__ import annotations

import html
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from lossctl import registry

Document = dict[str, Any]

COLOURS = {"tp": (0, 158, 115), "fp": (213, 94, 0), "fn": (0, 114, 178), "wrong": (240, 228, 66),
           "ignored": (0, 0, 0)}
LEGEND = {"tp": "true positive", "fp": "false positive (background predicted as a class)",
          "fn": "false negative (a class predicted as background)", "wrong": "wrong class", "ignored": "ignored"}
#: Weight of an outcome's colour over the grey of the ground truth.
_BLEND = 0.7
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


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{v:.4f}"


def _table(table_id: str, header: list[str], rows: list[list[str]], numeric_from: int = 1) -> str:
    out = [f'<table id="{table_id}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in header)
           + "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i >= numeric_from else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def histogram_svg(values: np.ndarray, name: str, bounds: tuple[float, float], unit: str) -> str:
    """An inline SVG histogram of ``values`` in :data:`HIST_BINS` bins over ``bounds`` (finite), else over the
    values' range."""
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
                     f"<title>[{edges[i]:.4g}, {edges[i + 1]:.4g}): {int(c)} {unit}(s)</title></rect>")
    parts.append(f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#333"/>')
    if lo < 0 < hi:  # where "no change" is, for deltas
        zero = pad + (width - 2 * pad) * (0 - lo) / (hi - lo)
        parts.append(f'<line x1="{zero:.1f}" y1="{pad}" x2="{zero:.1f}" y2="{height - pad}" stroke="#b00020" '
                     'stroke-dasharray="3,2"><title>0</title></line>')
    parts.append(f'<text x="{pad}" y="{height - 6}" font-size="10">{lo:.3g}</text>')
    parts.append(f'<text x="{width - pad}" y="{height - 6}" font-size="10" text-anchor="end">{hi:.3g}</text>')
    parts.append(f'<text x="{pad}" y="14" font-size="11">{_e(name)}: {v.size} {unit}(s), max bin {top}</text>')
    return "".join(parts) + "</svg>"


# ----------------------------------------------------------------------------------------------------------
# Overlays
# ----------------------------------------------------------------------------------------------------------


def outcome_map(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per pixel: 0 correct background, 1 TP, 2 FP, 3 FN, 4 wrong class, 5 ignored (class 0 is background)."""
    out = np.zeros(gt.shape, dtype=np.uint8)
    fg_gt, fg_pred = gt != 0, pred != 0
    out[(pred == gt) & fg_gt] = 1
    out[(pred != gt) & ~fg_gt & fg_pred] = 2
    out[(pred != gt) & fg_gt & ~fg_pred] = 3
    out[(pred != gt) & fg_gt & fg_pred] = 4
    out[~valid] = 5
    return out


def render_overlay(pred: np.ndarray, gt: np.ndarray, valid: np.ndarray, num_classes: int) -> tuple[np.ndarray,
                                                                                                    int | None]:
    """(H, W, 3) uint8 overlay, and the slice index shown for a volume (the one with the most wrong pixels)."""
    index = None
    if gt.ndim == 3:
        wrong = ((pred != gt) & valid).reshape(gt.shape[0], -1).sum(axis=1)
        index = int(np.argmax(wrong))
        pred, gt, valid = pred[index], gt[index], valid[index]
    grey = (40 + 170 * np.clip(gt, 0, None) / max(num_classes - 1, 1)).astype(np.float64)
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    outcome = outcome_map(pred, gt, valid)
    for code, key in enumerate(("tp", "fp", "fn", "wrong", "ignored"), start=1):
        mask = outcome == code
        weight = 1.0 if key == "ignored" else _BLEND
        rgb[mask] = (1 - weight) * rgb[mask] + weight * np.array(COLOURS[key], dtype=np.float64)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8), index


def _seg_config(document: Document, config: Any) -> Any:
    from lossctl.engine.seg_config import SegConfig

    return config if config is not None else SegConfig.from_options(document["config"].get("options") or {})


def recompute_labels(row: dict[str, Any], config: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Read an image's pair again exactly as evaluation reads it (:func:`lossctl.engine.seg.load_pair`, then
    :func:`~lossctl.inputs.seg.prepare`) and return (pred labels, gt labels, valid mask, classes), spatial."""
    from lossctl.errors import InputError
    from lossctl.dataset.pairing import Pair
    from lossctl.engine.loading import PairFailure, label_images, load_pair
    from lossctl.inputs.seg import prepare

    loaded = load_pair(Pair(row["name"], Path(row["pred"]), Path(row["gt"])), config)
    if isinstance(loaded, PairFailure):
        raise InputError(loaded.error)
    x = prepare(loaded.prediction, loaded.target, **loaded.options)
    target = np.asarray(loaded.target)
    valid = (~np.isin(target, np.asarray(loaded.ignore, dtype=np.int64)) if loaded.ignore
             else np.ones(target.shape, dtype=bool))
    if int(valid.sum()) != x.target.size:
        raise InputError(f"{row['gt']}: its valid pixels do not match the evaluated ones; no overlay")
    labels, gt_labels = label_images(x, target, loaded.ignore)
    return labels, gt_labels, valid, x.num_classes


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:80] or "image"


# ----------------------------------------------------------------------------------------------------------
# The page
# ----------------------------------------------------------------------------------------------------------


def write_report(document: Document, directory: Path, *, worst: int = 10, config: Any = None,
                 compared: tuple[Document, Document] | None = None) -> Path:
    """Write ``directory/index.html`` (and the overlay PNGs) for a seg, cls, merge or compare document
    (``compared``: the two reports of a compare document, for the histograms of the per-image deltas)."""
    directory.mkdir(exist_ok=True)
    for stale in directory.glob("worst_[0-9][0-9]_*.png"):  # overlays of an earlier report in this folder
        stale.unlink()
    if document["command"] == "compare":
        body = _compare_body(document, worst, compared)
    else:
        body = _report_body(document, directory, worst, config)
    title = f"lossctl {document['command']} report"
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>'
            f"<body>\n<h1>{_e(title)}</h1>\n{body}\n<footer><p>lossctl {_e(document['lossctl'])}</p></footer>"
            "</body></html>\n")
    target = directory / "index.html"
    tmp = directory / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target


def _gates_html(document: Document) -> str:
    if not document["gates"]:
        return '<h2>Gates</h2><p id="gates">No gates were given.</p>'
    rows = []
    for g in document["gates"]:
        verdict = '<span class="pass">PASS</span>' if g["passed"] else '<span class="fail">FAIL</span>'
        rows.append([f"<code>{_e(g['gate'])}</code>", _fmt(g["value"]), _fmt(g.get("base")), verdict])
    return "<h2>Gates</h2>" + _table("gates", ["gate", "value", "baseline", "result"], rows)


def _report_body(document: Document, directory: Path, worst: int, config: Any) -> str:
    from lossctl.report import flat as report

    s, cfg, command = document["summary"], document["config"], document["command"]
    unit = "sample" if command == "cls" else "image"
    parts = [f"<p>{s['count']} {unit}(s) evaluated, {len(document['errors'])} failed. "
             + " · ".join(f"{k}: <code>{_e(cfg[k])}</code>" for k in ("pred", "gt", "target", "shard", "baseline")
                          if cfg.get(k)) + "</p>"]
    parts.append(_gates_html(document))
    names = report._value_names(document)
    rows = [[f"<code>{_e(n)}</code>", *(_fmt(s[st].get(n)) for st in ("mean", "std", "min", "max")),
             _fmt(s["pooled"].get(n))] for n in names]
    parts.append("<h2>Summary</h2>" + _table("summary", ["value", "mean", "std", "min", "max", "pooled"], rows))
    pc = s["per_class"]
    if command == "seg" and (pc["pooled"] or pc["mean"]):
        labels = [report._class_label(document, i) for i in range(cfg["num_classes"])]
        rows = [[f"{stat} <code>{_e(n)}</code>", *(_fmt(v) for v in vector)]
                for stat in ("pooled", "mean") for n, vector in pc[stat].items()]
        parts.append("<h2>Per class</h2><p>pooled: from the summed confusion matrix; mean: over images.</p>"
                     + _table("per-class", ["value", *labels], rows))
    if document["images"]:
        held = set(report.row_value_names(document))  # a cls run's metrics have no per-sample values
        figures = []
        for n in (n for n in names if n in held):
            v = np.array([r["values"][n] for r in document["images"] if r["values"].get(n) is not None])
            spec = registry.REGISTRY.get((command, n))
            bounds = spec.bounds if spec else (math.inf, math.inf)
            figures.append(f"<figure>{histogram_svg(v, n, bounds, unit)}</figure>")
        parts.append(f'<h2>Histograms over {unit}s</h2><div class="hists" id="histograms">{"".join(figures)}</div>')
    by = report.ranked_value(document)
    if command == "seg" and by is not None and worst > 0:
        rows_ = report.worst_rows(document, worst, by)
        parts.append(_worst_html(document, rows_, by, directory, _seg_config(document, config)))
    if document["errors"]:
        items = "".join(f"<li><code>{_e(e['file'])}</code>: {_e(e['error'])}</li>" for e in document["errors"])
        parts.append(f'<h2>Failed pairs</h2><ul id="errors">{items}</ul>')
    return "\n".join(parts)


def _worst_html(document: Document, rows: list[dict[str, Any]], by: str, directory: Path, config: Any) -> str:
    from lossctl.report import flat as report
    from lossctl.errors import LossctlError
    from PIL import Image

    legend = "".join(f'<span class="sw" style="background:rgb{COLOURS[k]}"></span>{_e(LEGEND[k])} '
                     for k in COLOURS)
    names = report._value_names(document)
    figures = []
    for rank, row in enumerate(rows, start=1):
        caption = (f"<b>{rank}. {_e(row['name'])}</b><br>"
                   + ", ".join(f"{_e(n)} {_fmt(row['values'].get(n))}" for n in names))
        try:
            pred, gt, valid, c = recompute_labels(row, config)
            rgb, index = render_overlay(pred, gt, valid, c)
        except (LossctlError, ValueError, OSError) as e:
            figures.append(f"<figure><figcaption>{caption}<br><i>no overlay: {_e(e)}</i></figcaption></figure>")
            continue
        file = f"worst_{rank:02d}_{_safe(row['name'])}.png"
        Image.fromarray(rgb, mode="RGB").save(directory / file)
        where = f" (slice {index} of {gt.shape[0]}, the one with the most errors)" if index is not None else ""
        figures.append(f'<figure><img src="{_e(file)}" alt="error overlay of {_e(row["name"])}">'
                       f"<figcaption>{caption}{_e(where)}</figcaption></figure>")
    return (f"<h2>The {len(rows)} worst images by <code>{_e(by)}</code></h2><p>{legend}</p>"
            f'<div class="worst" id="worst">{"".join(figures)}</div>')


def _delta_histograms(document: Document, compared: tuple[Document, Document]) -> str:
    from lossctl.engine.compare import PairedValues

    pairing = PairedValues(*compared)
    unit = "sample" if document["config"]["of"] == "cls" else "image"
    figures = []
    for name in document["values"]:
        if "[" in name or (pairing.command, name) not in registry.REGISTRY:
            continue
        _, b, n = pairing.values(name, None)
        if not b.size:
            continue
        d = n - b
        m = float(np.abs(d).max()) or 1.0
        figures.append(f"<figure>{histogram_svg(d, f'delta {name}', (-m, m), unit)}</figure>")
    if not figures:
        return ""
    return (f"<h2>Per-{unit} deltas (new - base), over the {unit}s in both reports</h2>"
            f'<div class="hists" id="histograms">{"".join(figures)}</div>')


def _compare_body(document: Document, worst: int, compared: tuple[Document, Document] | None = None) -> str:
    from lossctl.report.ci import CHANGE_COLUMNS, change_cells, has_interval

    cfg = document["config"]
    unit = "sample" if cfg["of"] == "cls" else "image"
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
    if compared is not None:
        parts.append(_delta_histograms(document, compared))
    for name, rows_ in document["worst"].items():
        if rows_:
            rows = [[f"<code>{_e(r['name'])}</code>", _fmt(r["base"]), _fmt(r["new"]), f"{r['delta']:+.4f}"]
                    for r in rows_[:worst]]
            parts.append(f"<h2>Got worse the most: <code>{_e(name)}</code></h2>"
                         + _table(f"worst-{_safe(name)}", [unit, "base", "new", "delta"], rows))
    return "\n".join(parts)
