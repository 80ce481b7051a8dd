"""Every table fits the width: each run of the output corpus (tests/corpus/runs.py) whose standard output is for
people (the table format of ``seg``, ``cls``, ``merge`` and ``compare``, the catalogue of ``losses`` and its
entries) replayed with ``COLUMNS`` at 60, 80, 100 and 120 columns, as in a pipe: no line of it is wider, in the
cells a terminal gives it (Rich's ``cell_len``: ``↑`` and ``—`` are one cell each).

``--help`` is Typer's, and left out: an option's list of choices (``<table|json|...>``) is one word it does not
break."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import runs as corpus  # noqa: E402

WIDTHS = (60, 80, 100, 120)


def for_people(run: corpus.Run) -> bool:
    """Whether ``run`` prints a report for people on stdout: the table format (the default; ``-f table``) of a
    command that has one, and no ``-o`` sending it to a file."""
    args = list(run.args)
    formats = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-f", "--format")]
    to_file = any(a in ("-o", "--output") for a in args)
    return (args[0] in ("seg", "cls", "merge", "compare", "losses") and "--help" not in args
            and formats in ([], ["table"]) and not to_file)


PEOPLE = [run for run in corpus.RUNS if for_people(run)]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The corpus inputs, and the files that runs write for later ones (baselines, shards), once."""
    folder = tmp_path_factory.mktemp("widths")
    corpus.build_inputs(folder)
    for run in corpus.RUNS:
        if run.files or "-o" in run.args:
            corpus.streams(run, folder)
    return folder


def test_every_kind_of_table_is_replayed() -> None:
    commands = {run.args[0] for run in PEOPLE}
    assert {"seg", "cls", "merge", "compare", "losses"} <= commands
    assert any("--per-class" in run.args for run in PEOPLE) and any("-g" in run.args for run in PEOPLE)
    assert any(run.args[:1] == ("losses",) and len(run.args) == 2 for run in PEOPLE)  # an entry in full
    assert not for_people(corpus.Run("x", ("seg", "a", "b", "-f", "json")))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("run", PEOPLE, ids=lambda run: run.name)
def test_no_line_is_wider_than_the_columns(run: corpus.Run, width: int, work: Path) -> None:
    _, stdout, _ = corpus.streams(run, work, {"COLUMNS": str(width)})
    lines = stdout.splitlines()
    widest = max(lines, key=cell_len, default="")
    assert cell_len(widest) <= width, f"{run.name}: a line of {cell_len(widest)} cells at {width}: {widest!r}"
