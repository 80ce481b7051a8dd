"""lossctl.cli.output: one atomic write for --output and --write (the runs are in test_robustness.py and
test_ci.py); here, what a failed replacement leaves."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lossctl.cli import output
from lossctl.errors import OutputError


def _json(document, handle, per_class=False):
    handle.write(f"{document}\n")


def test_a_failed_replacement_keeps_the_old_report_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "report.json"
    output._write_file({"run": 1}, _json, target, False)
    assert target.read_text() == "{'run': 1}\n"

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        output._write_file({"run": 2}, _json, target, False)
    assert target.read_text() == "{'run': 1}\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_write_error_names_the_file_and_what_it_was(tmp_path: Path):
    missing = tmp_path / "gone" / "junit.xml"
    with pytest.raises(OutputError) as caught:
        output._write_extra({"gates": []}, [("json", missing)], False)
    assert str(caught.value).startswith(f"{missing}: cannot write the json report (")
