"""Units and the marks of missing numbers, as every text output spells them.

``summary.units`` gives the boundary distances their unit (``mm`` from the headers or ``--spacing``, ``px`` or
``voxels`` at 1.0 per axis, ``mixed``); ``summary.not_applicable`` names the per-class entries that are ``null``
by rule, which tables print ``n/a``, apart from the undefined ``—`` (0/0). Gate values: a ``worse()`` count as an
integer, ``rel()`` in percent, ``delta()`` signed, in the terminal, Markdown and messages alike.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from lossctl.engine.document import applies, value_unit
from lossctl.engine.seg import distance_units
from lossctl.engine.seg_config import SegConfig
from lossctl.report.flat import write_markdown, write_table
from lossctl.report.format import (
    NA,
    NOT_APPLICABLE,
    UNDEFINED,
    count,
    csv_cell,
    fmt,
    gate_threshold_text,
    gate_value,
    md_gates,
    percent,
    with_unit,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
VOLUMES = ("seg", SAMPLE / "volumes" / "pred", SAMPLE / "volumes" / "gt", "--class-names",
           "background,organ,lesion")


def test_numbers_counts_changes_and_missing_marks():
    assert (fmt(0.5), fmt(None), fmt(NA)) == ("0.5000", UNDEFINED, NOT_APPLICABLE)
    assert (percent(-0.0302), percent(0.25926), percent(None)) == ("-3.02%", "+25.93%", UNDEFINED)
    assert (count(2.0), count(0.0), count(None)) == ("2", "0", UNDEFINED)
    assert csv_cell(NA) == csv_cell(None) == ""  # CSV: an empty cell for both
    assert with_unit("hd95", "mm") == "hd95 (mm)" and with_unit("dice", None) == "dice"


def test_gate_values_by_form():
    worse = {"gate": "worse(dice,0.05)<=1", "statistic": "image", "value": 2.0, "passed": False, "margin": 0.05,
             "paired": 4}
    rel = {"gate": "rel(iou)>=-0.02", "statistic": "mean", "value": -0.0302, "passed": False, "base": 0.5,
           "new": 0.4849}
    delta = {"gate": "delta(hd95)<=0", "statistic": "mean", "value": 0.25, "passed": False, "base": 1.0, "new": 1.25}
    plain = {"gate": "hd95<=2", "statistic": "mean", "value": 1.5, "passed": True}
    assert gate_value(worse) == "2" and gate_value(rel) == "-3.02%"
    assert gate_value(delta, "mm") == "+0.2500 mm" and gate_value(plain, "mm") == "1.5000 mm"
    assert gate_value({**plain, "value": None}, "mm") == UNDEFINED
    assert gate_threshold_text(rel).startswith("value -3.02%; threshold >= -2%")
    assert gate_threshold_text(worse).startswith("value 2; threshold <= 1")
    doc = {"command": "seg", "config": {}, "summary": {"units": {"hd95": "mm"}}, "gates": [worse, rel, delta]}
    rows = "\n".join(md_gates(doc))
    assert "| `worse(dice,0.05)<=1` | 2 |" in rows and "| -3.02% |" in rows and "| +0.2500 mm |" in rows


def test_units_from_the_spacing(cli):
    volumes = cli(*VOLUMES, "-m", "dice", "-m", "hd95", "-m", "nsd", "-f", "json")
    assert volumes.code == 0, volumes
    doc = volumes.json()
    assert doc["summary"]["units"] == {"hd95": "mm"}  # nsd is a fraction: no unit
    assert value_unit(doc, "hd95[organ]") == "mm" and value_unit(doc, "nsd") is None
    pngs = cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-m", "hd95", "-m", "assd", "-f", "json").json()
    assert pngs["summary"]["units"] == {"hd95": "px", "assd": "px"}  # no spacing in PNG files
    given = cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-m", "hd95", "--spacing", "0.5,0.5", "-f", "json")
    assert given.json()["summary"]["units"] == {"hd95": "mm"}
    assert cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-f", "json").json()["summary"]["units"] == {}


def test_units_of_volumes_without_spacing_and_of_mixed_sources():
    config = SegConfig(values=("hd95",))
    rows = [{"spacing": [1.0, 1.0, 1.0], "spacing_source": "default"}]
    assert distance_units(config, rows) == {"hd95": "voxels"}
    rows.append({"spacing": [0.8, 0.8, 2.5], "spacing_source": "header"})
    assert distance_units(config, rows) == {"hd95": "mixed"}
    assert distance_units(config, []) == {}


def test_not_applicable_entries_by_rule(cli):
    doc = cli(*VOLUMES, "-m", "dice", "-m", "hd95", "--region", "all=1,2", "-f", "json").json()
    assert doc["summary"]["not_applicable"] == {"hd95": ["background"]}  # boundary metrics: the foreground
    assert doc["summary"]["per_class"]["mean"]["hd95"][0] is None
    assert not applies(doc, "hd95", "background") and applies(doc, "hd95", "all") and applies(doc, "dice",
                                                                                              "background")
    excluded = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "--exclude-background", "-m", "dice", "-l",
                   "dice_loss", "-l", "ce", "-f", "json").json()
    assert excluded["summary"]["not_applicable"] == {"dice_loss": ["0"]}  # ce has no per-class values
    assert all(row["per_class"]["dice_loss"][0] is None for row in excluded["images"])
    kept = cli("seg", SAMPLE / "pred_probs", SAMPLE / "gt", "-m", "dice", "-l", "dice_loss", "-f", "json").json()
    assert kept["summary"]["not_applicable"] == {}


def _table(doc: dict, **view) -> str:
    buffer = io.StringIO()
    write_table(doc, buffer, width=100, **view)
    return buffer.getvalue()


def test_tables_tell_not_applicable_from_undefined(cli, tmp_path):
    doc = cli(*VOLUMES, "-m", "dice", "-m", "hd95", "--per-class", "-f", "json").json()
    text = _table(doc, per_class=True)
    background = re.search(r"^0  background +(\S+) +(\S+)$", text.split("per class: mean over images")[1], re.M)
    assert background and background.group(2) == NOT_APPLICABLE  # hd95 of the background
    assert re.search(r"^hd95 \(mm\) +↓ .* n/a$", text, re.M)  # no pooled hd95
    assert "n/a does not apply" in text and "undefined (0/0)" not in text
    undefined = json.loads(json.dumps(doc))
    undefined["summary"]["per_class"]["mean"]["hd95"][1] = None  # a 0/0 of a class that applies
    assert "— undefined (0/0)" in _table(undefined, per_class=True)
    markdown = io.StringIO()
    write_markdown(doc, markdown, per_class=True)
    header, _, first, *_ = markdown.getvalue().splitlines()
    cells = dict(zip(header.split(" | "), first.split(" | "), strict=True))
    assert cells["hd95[background] (mm)"] == NOT_APPLICABLE and cells["hd95 (mm)"] != NOT_APPLICABLE


@pytest.mark.parametrize("fmt_", ["table", "markdown"])
def test_compare_carries_units_and_not_applicable(cli, tmp_path, fmt_):
    out = cli(*VOLUMES, "-m", "dice", "-m", "hd95", "-f", "json", "-o", tmp_path / "a.json")
    assert out.code == 0, out
    r = cli("compare", tmp_path / "a.json", tmp_path / "a.json", "--per-class", "-f", fmt_, "--bootstrap", "0")
    assert r.code == 0, r
    line = next(line for line in r.out.splitlines() if "hd95" in line and "background" in line)
    assert line.count(NOT_APPLICABLE) >= 4 and "(mm)" in line
    doc = cli("compare", tmp_path / "a.json", tmp_path / "a.json", "-f", "json", "--bootstrap", "0").json()
    assert doc["config"]["units"] == {"hd95": "mm"} and doc["config"]["not_applicable"] == {"hd95": ["background"]}
