"""lossctl.report.compare: the writers of ``lossctl compare`` (every format renders, intervals shown only when
there are some)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "junit", "github", "openmetrics"])
def test_compare_every_format_renders(runs, cli, fmt):
    r = cli("compare", runs["base"], runs["new"], "-f", fmt, "--gate", "delta(dice)>=0")
    assert r.code == 1 and "dice" in r.out, r


def test_compare_and_seg_exit_through_every_writer_of_the_emit_path(runs, cli, tmp_path):
    """compare writes with its own writers (every format but ndjson), to stdout and to -o."""
    assert cli("compare", runs["base"], runs["new"], "-f", "ndjson").code == 2
    out = tmp_path / "c.csv"
    r = cli("compare", runs["base"], runs["new"], "-f", "csv", "-o", out)
    assert r.code == 0 and r.out == "" and out.read_text().startswith("section,value,image,")


@pytest.mark.parametrize("fmt", ["table", "github", "markdown"])
def test_no_interval_column_without_intervals(runs, cli, fmt, tmp_path):
    """--bootstrap 0 (and pooled values always) have no interval: no column of dashes, no title promising one."""
    r = cli("compare", runs["base"], runs["new"], "-f", fmt, "--bootstrap", "0", "--report", tmp_path / "r")
    assert r.code == 0 and "dice" in r.out, r
    assert "CI" not in r.out and "bootstrap" not in r.out
    assert "95% CI" not in (tmp_path / "r" / "index.html").read_text()
    with_ci = cli("compare", runs["base"], runs["new"], "-f", fmt)
    assert with_ci.out.count("95% CI") == 2  # the means' title and column; the pooled table has neither


def test_a_value_in_one_report_only_is_not_applicable_not_undefined(cli, tmp_path):
    """iou is in the new report only: its row says so (``only_in``), and its base, delta and rel are n/a, never
    the undefined mark of a 0/0."""
    from support import SAMPLE

    from lossctl.report.format import NOT_APPLICABLE, UNDEFINED

    for name, values in (("base", ["-m", "dice"]), ("new", ["-m", "dice,iou"])):
        r = cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", *values, "-f", "json", "-o", tmp_path / f"{name}.json")
        assert r.code == 0, r
    doc = cli("compare", tmp_path / "base.json", tmp_path / "new.json", "-f", "json", "--bootstrap", "0").json()
    assert doc["values"]["iou"]["only_in"] == "new" and "only_in" not in doc["values"]["dice"]
    assert doc["values"]["iou"]["base"] is None and doc["values"]["iou"]["new"] is not None
    table = cli("compare", tmp_path / "base.json", tmp_path / "new.json", "--bootstrap", "0").out
    iou = [line for line in table.splitlines() if line.split()[:1] == ["iou"]]
    assert iou and all(line.count(NOT_APPLICABLE) == 3 and UNDEFINED not in line for line in iou), table
