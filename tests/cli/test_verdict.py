"""lossctl.cli.verdict: the exit code a report document calls for, in one table (the runs behind each row are in
test_cli_errors.py, test_shard_merge.py and the corpus)."""

from __future__ import annotations

from typing import Any

import pytest

from lossctl.cli.verdict import _everything_ignored, _exit_code
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
    assert _exit_code(document, skip_errors) == code


def test_everything_ignored_says_why():
    assert _everything_ignored(seg()) is None
    assert "carries an ignore index (255)" in _everything_ignored(seg(matrices=[VOID]))
    cls = {"command": "cls", "summary": {"count": 0}, "config": {"n_samples": 4, "ignore_index": -100}}
    assert "every one of the 4 samples carries the ignore index -100" in _everything_ignored(cls)
