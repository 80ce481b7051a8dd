"""Peak memory: what a run may hold is bounded by the memory budget, and a small untrusted file cannot take the
machine. Every check measures the lossctl process's peak RSS (``os.wait4``'s ``ru_maxrss``: memory-mapped pages
included) through :func:`support.peak_rss`, never its time.

* Decompression bombs (a 40000x40000 1-bit PNG of 191 KiB, the same as a deflate TIFF, an ``.npz`` member of
  zeros that decodes to 1.6 GB): without an explicit ``--max-memory`` they are refused from their header (exit 3,
  one line that says how to accept them) in less than 200 MB.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import npz_bomb, peak_rss, png_bomb, tiff_bomb, write_label_png

import numpy as np

MiB = 1 << 20
#: What the interpreter and lossctl's imports take before any pair (the issue's "interpreter baseline").
BASELINE = 100 * MiB


@pytest.mark.parametrize("write, suffix", [(png_bomb, ".png"), (tiff_bomb, ".tif"), (npz_bomb, ".npz")],
                         ids=["png", "tiff", "npz"])
def test_a_bomb_is_refused_from_its_header_without_an_explicit_budget(tmp_path: Path, write, suffix: str):
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    bomb = tmp_path / "pred" / f"x{suffix}"
    write(bomb)
    write_label_png(tmp_path / "gt" / "x.png", np.zeros((4, 4), np.uint8))
    code, err, peak = peak_rss("seg", tmp_path / "pred", tmp_path / "gt")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 3 and len(lines) == 1, err
    assert str(bomb) in lines[0] and "decompression bomb" in lines[0], err
    assert "passing --max-memory explicitly" in lines[0], err
    assert "Traceback" not in err
    assert peak < 200 * MiB, peak
