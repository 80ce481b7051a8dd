"""lossctl.engine.pool: pairs split over processes and threads, and a report that does not depend on the split."""

from __future__ import annotations

from support import make_seg_set


def test_workers_split_into_processes_or_threads_without_changing_the_report(cli, tmp_path):
    from lossctl.engine.pool import split_workers

    assert split_workers(2, 4) == (2, 1) and split_workers(2, 3) == (1, 2) and split_workers(1, 100) == (1, 1)
    data = make_seg_set(tmp_path / "d", names=tuple("abcde"))
    outs = {w: cli("seg", data.pred, data.gt, "-f", "json", "--workers", str(w)).out for w in (1, 2, 3)}
    assert outs[1] == outs[2] == outs[3]  # 5 pairs: 2 processes, then 3 threads in one process


def test_output_is_byte_identical_across_runs_and_worker_counts(cli, seg):
    one = cli("seg", seg.pred, seg.gt, "-f", "json", "--workers", "1")
    again = cli("seg", seg.pred, seg.gt, "-f", "json", "--workers", "1")
    two = cli("seg", seg.pred, seg.gt, "-f", "json", "--workers", "2")
    assert one.code == again.code == two.code == 0
    assert one.out == again.out == two.out
