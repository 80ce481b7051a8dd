"""Where the cores go: a function over the pairs of a run, in order, in worker processes or in one process.

With at least :data:`PAIRS_PER_PROCESS` pairs per core, :func:`map_in_order` runs one worker process per core
(results in the pairs' order, whatever finishes first); with fewer, one process evaluates the pairs and its
Lovász-Softmax computes the classes of an image in threads (:func:`lossctl.losses.segmentation.set_threads`).
Given a ``concurrent.futures`` executor instead (a Dask cluster's: :mod:`lossctl.engine.cluster`), it runs one
task per pair on it, through the same code as the worker processes: submit, take the results as they are done,
hand them on in the pairs' order. The results never depend on the number of cores or workers.

Every process first asks glibc's allocator to keep freed memory, up to the run's memory budget
(:func:`keep_freed_memory`): a process-wide setting, made here because it is about the pattern of a run (each
pair allocates and frees temporaries of its own size).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

from lossctl.losses import segmentation

#: Worker processes need at least this many pairs each; with fewer, the cores go to threads inside one process.
PAIRS_PER_PROCESS = 2
#: The most freed memory glibc's ``mallopt`` can be asked to keep (its argument is a C ``int``): 2 GiB.
MAX_KEPT = (1 << 31) - 1
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
                 on_result: Callable[[Result], None] | None = None, executor: Executor | None = None,
                 on_done: Callable[[Result], None] | None = None,
                 lost: Callable[[Item, BaseException], Result] | None = None, keep: int = MAX_KEPT) -> list[Result]:
    """``[fn(item, shared) for item in items]`` on ``workers`` cores (see the module's docstring), or, given an
    ``executor`` (a :class:`concurrent.futures.Executor`: a Dask cluster's, :mod:`lossctl.engine.cluster`), as one
    task per item on it; ``fn`` and its arguments are pickled to the processes that run them.

    ``on_done`` is called with each result as soon as it is done, in any order (a progress display);
    ``on_result`` with each result in the items' order, as soon as it and every one before it are done (a
    streamed row); when either raises, the items not started are dropped. ``lost`` turns the exception of an
    item's task (a task the executor gave up on: the workers running it died) into its result, or raises it.
    This process and the worker processes keep up to ``keep`` bytes of freed memory (:func:`keep_freed_memory`;
    an executor's workers set their own)."""
    keep_freed_memory(keep)
    if executor is not None:
        return _in_order(executor, fn, items, shared, 1, on_result, on_done, lost)
    processes, threads = split_workers(workers, len(items))
    if processes == 1:
        results: list[Result] = []
        segmentation.set_threads(threads)
        try:
            for item in items:
                results.append(fn(item, shared))
                for callback in (on_done, on_result):
                    if callback:
                        callback(results[-1])
        finally:
            segmentation.set_threads(1)
        return results
    chunk = min(MAX_CHUNK, max(1, len(items) // (processes * 8)))
    with ProcessPoolExecutor(max_workers=processes, initializer=keep_freed_memory,
                             initargs=(keep,)) as pool:
        return _in_order(pool, fn, items, shared, chunk, on_result, on_done, lost)


def _in_order(executor: Executor, fn: Callable[[Item, Shared], Result], items: Sequence[Item], shared: Shared,
              chunk: int, on_result: Callable[[Result], None] | None, on_done: Callable[[Result], None] | None,
              lost: Callable[[Item, BaseException], Result] | None) -> list[Result]:
    """Submit the items to ``executor`` (``chunk`` items per task: one task of ``fn`` per item when 1), take the
    results as they are done, hand them on in the items' order."""
    starts = range(0, len(items), chunk)
    futures: dict[Future[Any], int] = {
        (executor.submit(fn, items[start], shared) if chunk == 1 else
         executor.submit(_run_chunk, fn, items[start:start + chunk], shared)): start for start in starts}
    done: dict[int, list[Result] | BaseException] = {}
    results: list[Result] = []
    try:
        for future in as_completed(futures):
            start = futures[future]
            error = future.exception()
            if error is None:
                batch = [future.result()] if chunk == 1 else future.result()
            elif lost is not None and chunk == 1:
                batch = [lost(items[start], error)]
            else:  # raised when its turn comes: the first failing item in order, whatever finished first
                done[start] = error
                batch = []
            for result in batch:
                if on_done:
                    on_done(result)
            if batch:
                done[start] = batch
            while len(results) in done:
                ready = done.pop(len(results))
                if isinstance(ready, BaseException):
                    raise ready
                for result in ready:
                    results.append(result)
                    if on_result:
                        on_result(result)
    except BaseException:  # the reader went away (a closed pipe), Ctrl-C, a failed task: drop the items not started
        for future in futures:
            future.cancel()
        raise
    return results


def _run_chunk(fn: Callable[[Item, Shared], Result], chunk: Sequence[Item], shared: Shared) -> list[Result]:
    """``fn`` over a few items in one task (fewer round trips to a worker process)."""
    return [fn(item, shared) for item in chunk]


def keep_freed_memory(keep: int = MAX_KEPT) -> None:
    """Ask glibc's allocator to keep up to ``keep`` bytes of freed memory for reuse (at most :data:`MAX_KEPT`)
    instead of handing it back to the kernel at once; a run passes its memory budget, the memory one pair may
    use (``max_memory``, or :func:`~lossctl.io.budget.default_memory_budget`).

    Every image allocates and frees temporaries of its own size (the Lovász sort keys, the float64 sums); with
    glibc's defaults the top of the heap is trimmed after each free and the next image page-faults the same
    memory in again (and blocks above 32 MB are always fresh mappings). Each block therefore comes from the heap,
    and the heap is trimmed only when more than ``keep`` bytes are free at its top: what a pair may use, it may
    keep for the next pair. Measured with ``/usr/bin/time -v``: on 20 W1 pairs 241k -> 14k minor page faults,
    system time from 25% to 4% of the CPU time; on 5 W2 pairs system time 0.60 s -> 0.09 s; on the 10 W4 volumes
    (3x128x256x256, 600 MB of temporaries: each volume's were trimmed and faulted in again, as 2 MB huge pages,
    under the former fixed 256 MB) with one worker 1,779 -> about 300 huge-page faults, 51k -> 27k minor faults,
    system time 1.57 s -> 0.53 s (medians of 3; 17% -> 6% of the CPU time).
    Peak memory is unchanged (freed memory is reused, not added; the kept memory was resident at the peak
    already); the setting lasts for the rest of the process (a Python caller's too). A no-op where the C library
    is not glibc, or when ``LOSSCTL_MALLOC_DEFAULTS`` is set (the benchmark measures both).
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
    mallopt(m_trim_threshold, max(0, min(keep, MAX_KEPT)))  # trim the top of the heap only beyond this much free
    mallopt(m_top_pad, 64 << 20)


__all__ = ["PAIRS_PER_PROCESS", "MAX_CHUNK", "MAX_KEPT", "resolve_workers", "split_workers", "map_in_order",
           "keep_freed_memory"]
