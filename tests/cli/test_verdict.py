"""lossctl.cli.verdict: the exit code a report document calls for, in one table (the runs behind each row are in
tests/cli/test_seg_bad_input.py, tests/engine/test_shards.py and the corpus), the message when every pixel or
sample is ignored, and the GitHub Actions error commands."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from support import write_npy

from lossctl.cli.verdict import everything_ignored, verdict_exit_code
from lossctl.errors import EXIT_GATE_FAILED, EXIT_INPUT, EXIT_OK

EVALUATED = [[3, 1], [0, 2]]
VOID = [[0, 0], [0, 0]]


def seg(count: int = 1, errors: int = 0, gates: tuple[bool, ...] = (), shard: str | None = None,
        matrices: list[Any] | None = None) -> dict[str, Any]:
    return {"command": "seg", "summary": {"count": count}, "errors": [{"error": "x"}] * errors,
            "gates": [{"gate": "dice>=0", "passed": p} for p in gates],
            "config": {"shard": shard, "ignore_index": [255]},
            "images": [{"confusion_matrix": m} for m in (matrices if matrices is not None else [EVALUATED] * count)]}


@pytest.mark.parametrize("document, skip_errors, code", [
    (seg(), False, EXIT_OK),
    (seg(gates=(True, False)), False, EXIT_GATE_FAILED),
    (seg(errors=1), False, EXIT_INPUT),
    (seg(errors=1, gates=(False,)), False, EXIT_INPUT),  # a failed pair comes before the gates
    (seg(errors=1), True, EXIT_OK),  # --skip-errors: the gates decide
    (seg(errors=1, gates=(False,)), True, EXIT_GATE_FAILED),
    (seg(count=0, matrices=[]), False, EXIT_INPUT),  # nothing evaluated
    (seg(count=0, matrices=[], shard="3/4"), False, EXIT_OK),  # an empty shard is no failure
    (seg(count=0, errors=1, matrices=[], shard="3/4"), True, EXIT_INPUT),
    (seg(matrices=[VOID]), True, EXIT_INPUT),  # every pixel ignored
    ({"command": "compare", "gates": [{"passed": True}]}, False, EXIT_OK),
    ({"command": "compare", "gates": [{"passed": False}]}, False, EXIT_GATE_FAILED),
])
def test_the_exit_code_of_a_report(document, skip_errors, code):
    assert verdict_exit_code(document, skip_errors) == code


def test_everything_ignored_says_why():
    assert everything_ignored(seg()) is None
    assert "carries an ignore index (255)" in everything_ignored(seg(matrices=[VOID]))
    cls = {"command": "cls", "summary": {"count": 0}, "config": {"n_samples": 4, "ignore_index": -100}}
    assert "every one of the 4 samples carries the ignore index -100" in everything_ignored(cls)


def test_github_actions_error_commands_go_to_stderr(runs, cli):
    s = runs["set"]
    r = cli("seg", s.labels, s.gt, "-f", "json", "--gate", "dice>=0.99", "--gate", "dice>=0",
            env={"GITHUB_ACTIONS": "true"})
    assert r.code == 1
    json.loads(r.out)  # stdout stays machine output
    errors = [ln for ln in r.err.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith("::error title=lossctl seg gate::dice>=0.99 failed: value ")
    quiet = cli("seg", s.labels, s.gt, "--gate", "dice>=0.99")
    assert "::error" not in quiet.err


def test_every_sample_ignored_says_so(cli, cls_data, tmp_path):
    y = write_npy(tmp_path / "void.npy", np.full(cls_data["n"], -100))
    r = cli("cls", cls_data["probs_npy"], y, "--ignore-index", "-100", "-l", "sparse_cce")
    assert r.code == 3, r
    assert f"every one of the {cls_data['n']} samples carries the ignore index -100" in r.err
    assert "--ignore-index" in r.err and "evaluated 0 sample(s)" not in r.err


def test_every_pixel_ignored_says_so(cli, seg, tmp_path):
    from support import write_palette_png

    for name in seg.names:
        write_palette_png(tmp_path / "void" / f"{name}.png", np.full_like(seg.gts[name], 255))
    r = cli("seg", seg.pred, tmp_path / "void", "--ignore-index", "255")
    assert r.code == 3, r
    assert "every pixel of the 3 image(s) carries an ignore index (255)" in r.err and "--ignore-index" in r.err
    assert "evaluated 3 image(s)" not in r.err
