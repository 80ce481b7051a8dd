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
