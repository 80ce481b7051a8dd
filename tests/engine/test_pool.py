"""lossctl.engine.pool: pairs split over processes and threads, and a report that does not depend on the split."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys

import pytest
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


KEPT_PROBE = """
import ctypes, sys
import numpy as np
from lossctl.engine.pool import keep_freed_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
keep_freed_memory(int(sys.argv[1]) << 20)
block = np.ones(300 << 20, dtype=np.uint8)  # 300 MB, freed at the top of the heap
del block
print(libc.mallinfo2().keepcost >> 20)
"""


def test_freed_memory_is_kept_up_to_the_budget(tmp_path):
    """Under glibc, 300 MB freed at the top of the heap stay in the process with a 512 MB budget (the next pair
    reuses them, no page faults) and go back to the kernel, but for the 64 MB pad, with a 128 MB one."""
    libc = ctypes.util.find_library("c")
    if not libc or not hasattr(ctypes.CDLL(libc), "mallinfo2"):
        pytest.skip("glibc >= 2.33 only (mallopt, mallinfo2)")
    env = {k: v for k, v in os.environ.items() if k != "LOSSCTL_MALLOC_DEFAULTS"}
    kept = {budget: int(subprocess.run([sys.executable, "-c", KEPT_PROBE, str(budget)], env=env, check=True,
                                       capture_output=True, text=True).stdout) for budget in (512, 128)}
    assert kept[512] >= 300 and kept[128] < 100
