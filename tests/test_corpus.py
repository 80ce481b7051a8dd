"""Every run of the output corpus (tests/corpus/runs.py) prints, exits and writes byte for byte what is kept in
tests/corpus/expected/. A change of output on purpose regenerates them (``python tests/corpus/runs.py``) in the
same commit, so that the diff shows what changed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "corpus"))
import runs as corpus  # noqa: E402


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    corpus.build_inputs(folder)
    return folder


def test_every_run_has_a_record() -> None:
    kept = {path.stem for path in corpus.EXPECTED.glob("*.txt")}
    assert kept == {run.name for run in corpus.RUNS}


@pytest.mark.parametrize("run", corpus.RUNS, ids=lambda run: run.name)
def test_run_output_is_unchanged(run: corpus.Run, work: Path) -> None:
    # runs are parametrised in order, so a run that reads an earlier one's output (a baseline, shards) finds it
    expected = corpus.expected_path(run).read_text(encoding="utf-8")
    assert corpus.execute(run, work) == expected
