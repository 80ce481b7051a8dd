"""Where the cores go: a function over the pairs of a run, in order, in worker processes or in one process.

With at least :data:`PAIRS_PER_PROCESS` pairs per core, :func:`map_in_order` runs one worker process per core
(results in the pairs' order, whatever finishes first); with fewer, one process evaluates the pairs and its
Lovász-Softmax computes the classes of an image in threads (:func:`lossctl.losses.segmentation.set_threads`).
The results never depend on the number of cores.

Every process first asks glibc's allocator to keep freed memory (:func:`keep_freed_memory`): a process-wide
setting, made here because it is about the pattern of a run (each pair allocates and frees temporaries of its
own size).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

from lossctl.losses import segmentation

#: Worker processes need at least this many pairs each; with fewer, the cores go to threads inside one process.
PAIRS_PER_PROCESS = 2
#: The most pairs sent to a worker process at once: results come back in order, a batch at a time, so a small
#: batch has the first result (a streamed row) back after a few pairs, not after a share of the run.
MAX_CHUNK = 4

Item = TypeVar("Item")
Shared = TypeVar("Shared")
Result = TypeVar("Result")


def resolve_workers(requested: int | None) -> int:
    """``None``/0 means auto: every core."""
    return requested or (os.cpu_count() or 1)


def split_workers(workers: int, n_items: int) -> tuple[int, int]:
    """(processes, threads per process) for ``workers`` cores and ``n_items`` pairs."""
    if workers > 1 and n_items >= PAIRS_PER_PROCESS * workers:
        return workers, 1
    return 1, max(1, workers)


def map_in_order(fn: Callable[[Item, Shared], Result], items: Sequence[Item], shared: Shared, workers: int = 1,
                 on_result: Callable[[Result], None] | None = None) -> list[Result]:
    """``[fn(item, shared) for item in items]`` on ``workers`` cores (see the module's docstring); ``fn`` and its
    arguments are pickled to worker processes. ``on_result`` is called with each result as it arrives, in the
    items' order (a progress display, a streamed row); when it raises, the items not started are dropped."""
    processes, threads = split_workers(workers, len(items))
    results: list[Result] = []
    keep_freed_memory()
    if processes == 1:
        segmentation.set_threads(threads)
        try:
            for item in items:
                results.append(fn(item, shared))
                if on_result:
                    on_result(results[-1])
        finally:
            segmentation.set_threads(1)
        return results
    chunk = min(MAX_CHUNK, max(1, len(items) // (processes * 8)))
    with ProcessPoolExecutor(max_workers=processes, initializer=keep_freed_memory) as pool:
        try:
            for result in pool.map(fn, items, [shared] * len(items), chunksize=chunk):
                results.append(result)
                if on_result:
                    on_result(result)
        except BaseException:  # the reader went away (a closed pipe), Ctrl-C: drop the pairs not started (and
            pool.shutdown(wait=True, cancel_futures=True)  # wait for the few running, so that the pool ends cleanly)
            raise
    return results


def keep_freed_memory() -> None:
    """Ask glibc's allocator to keep freed memory for reuse instead of handing it back to the kernel at once.

    Every image allocates and frees temporaries of its own size (the Lovász sort keys, the float64 sums); with
    glibc's defaults the top of the heap is trimmed after each free and the next image page-faults the same
    memory in again (and blocks above 32 MB are always fresh mappings). Measured with ``/usr/bin/time -v``: on 20
    W1 pairs 241k -> 14k minor page faults, system time from 25% to 4% of the CPU time; on 5 W2 pairs system time
    0.60 s -> 0.09 s. Peak memory is unchanged (freed memory is reused, not added). A no-op where
    the C library is not glibc, or when ``LOSSCTL_MALLOC_DEFAULTS`` is set (the benchmark measures both).
    """
    if os.environ.get("LOSSCTL_MALLOC_DEFAULTS"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_top_pad, m_mmap_max = -1, -2, -4
    mallopt(m_mmap_max, 0)  # every block from the heap, also those above glibc's 32 MB mmap ceiling (2048^2 float64)
    mallopt(m_trim_threshold, 256 << 20)  # keep up to 256 MB freed at the top of the heap
    mallopt(m_top_pad, 64 << 20)


__all__ = ["PAIRS_PER_PROCESS", "MAX_CHUNK", "resolve_workers", "split_workers", "map_in_order", "keep_freed_memory"]
