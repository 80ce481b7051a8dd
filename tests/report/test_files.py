"""lossctl.report.files: the one atomic write behind -o, --write and --report."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lossctl.report import files


def test_text_and_bytes_replace_the_file_with_the_umask_permissions(tmp_path: Path):
    target = tmp_path / "index.html"
    target.write_text("old")
    files.replace_file(target, "new\r\nline")
    assert target.read_bytes() == b"new\r\nline"  # newlines are written as given
    files.replace_file(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG"
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["index.html"]


def test_a_failed_replacement_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path, monkeypatch):
    target = tmp_path / "report.json"
    target.write_text("old")

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(OSError):
        files.replace_file(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
