"""lossctl.engine.document's failed pairs grouped by problem: the same problem in many pairs is one line with a
count and the first names, while the report's ``errors`` keep every pair (the line's runs are in the corpus:
seg_errors_grouped*)."""

from __future__ import annotations

from lossctl.engine.document import NAMED_FAILURES, error_group_text, error_groups
from lossctl.engine.loading import PairFailure


def _entry(file: str, problem: str) -> dict:
    return PairFailure(file, f"{file}: {problem}", file.split("/")[-1][:-4]).entry()


def test_failures_with_the_same_problem_are_one_line_and_a_lone_one_keeps_its_message():
    entries = [_entry(f"p/{n}.png", "the prediction is an RGB colour image; save it as PNG") for n in "abcdef"]
    entries.insert(2, _entry("p/x.png", "cannot decode it as PNG; re-export it"))
    groups = error_groups({"errors": entries})
    assert [len(g) for g in groups] == [6, 1]
    assert error_group_text(groups[0]) == ('6 pairs failed: the prediction is an RGB colour image; save it as PNG '
                                           '(p/a.png, p/b.png, p/c.png and 3 more; the JSON report\'s "errors" lists '
                                           'every one)')
    assert error_group_text(groups[1]) == "p/x.png: cannot decode it as PNG; re-export it"
    two = error_groups({"errors": entries[:2]})
    assert error_group_text(two[0]) == ("2 pairs failed: the prediction is an RGB colour image; save it as PNG "
                                        "(p/a.png, p/b.png)")
    assert NAMED_FAILURES == 3


def test_the_problem_is_the_message_without_its_file_and_older_reports_group_by_message():
    failure = PairFailure("dir/a b.png", "dir/a b.png: is empty (0 bytes); re-export it", "a b")
    assert failure.problem == "is empty (0 bytes); re-export it"
    assert PairFailure("a.png", "no file prefix here", "a").problem == "no file prefix here"
    older = [{"name": n, "file": f"{n}.png", "error": f"{n}.png: same"} for n in "ab"]  # without "problem"
    assert [len(g) for g in error_groups({"errors": older})] == [1, 1]


def test_a_pickled_failure_keeps_its_problem():
    import pickle

    failure = PairFailure("a.png", "a.png: no such prediction file (line 2 of l.csv); fix it", "a",
                          problem="no such prediction file; fix it")
    assert pickle.loads(pickle.dumps(failure)).entry() == failure.entry()
