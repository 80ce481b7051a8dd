"""Evaluation on a Dask cluster: every pair one task, and the report exactly as a local run builds it.

:func:`connect` gives a :class:`Cluster`: a ``dask.distributed`` client of a running scheduler (its address,
``tcp://host:8786``, or the scheduler file ``dask scheduler`` writes) or of a LocalCluster of N worker processes
started here (``local:N``: one thread each, on 127.0.0.1, no dashboard), which :meth:`Cluster.close` ends.
:meth:`Cluster.map` runs :func:`~lossctl.engine.seg.evaluate_pair` on it through the client's
``concurrent.futures`` executor, the code path of the local worker processes (:func:`lossctl.engine.pool.map_in_order`):
a task carries its pair (two paths) and the run's :class:`~lossctl.engine.seg_config.SegConfig` (with the client's
working folder and versions: :class:`ClusterTask`), never arrays; the worker reads the files itself and returns the
small per-image record (an :class:`~lossctl.engine.seg.ImageOutcome` or the pair's
:class:`~lossctl.engine.loading.PairFailure`) that a local worker process returns. The results are put in name
order, so the report does not depend on the number of workers or on the order in which tasks finish.

* **Faults.** A task only reads files and computes, so running it twice is harmless: the scheduler runs the tasks
  of a worker that dies again elsewhere. A pair whose task kept killing its workers (the scheduler gives up after
  ``distributed.scheduler.allowed-failures`` deaths) is that pair's failure (:func:`lost_pair`); a pair that
  fails to read is its failure inside the task, as locally. A scheduler that cannot be reached within
  :data:`CONNECT_TIMEOUT`, or that is lost during the run, is a :class:`~lossctl.errors.UsageError`.
* **Same code everywhere.** :func:`check_versions` refuses, before any task runs, a cluster whose workers run
  another lossctl or NumPy than this process (a mixed cluster could give other numbers); each task checks again
  (a worker may join later).
* **Paths** are read as given; a relative one is read from this process's working folder, also on a worker whose
  working folder is another, and named as given in the report (:func:`evaluate_task`).
* **Memory.** Without ``max_memory``, each worker takes its budget from its own available memory (the budget is
  worked out where a file is read); a LocalCluster sets no Dask memory limit of its own, as ``workers`` does not.

dask and distributed are an optional extra (``pip install 'lossctl[dask]'``), imported here on first use only: a
local run never imports them. Their own log lines are silenced (every problem is one line of lossctl's).
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Executor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lossctl.dataset.pairing import Pair
from lossctl.engine import pool
from lossctl.engine.loading import PairFailure
from lossctl.engine.seg import ImageOutcome, Outcome, evaluate_pair
from lossctl.engine.seg_config import SegConfig
from lossctl.errors import UsageError, setting
from lossctl.io import display_path

#: How long to try to reach a scheduler before giving up (seconds): an unreachable one is refused well within
#: 30 s of the start.
CONNECT_TIMEOUT = 10.0
#: A LocalCluster started here: ``local:N``.
LOCAL = re.compile(r"local:(\d+)")
#: A scheduler's address: a URL of one of distributed's transports (``tcp://host:8786``).
ADDRESS = re.compile(r"(tcp|tls|ws|wss|ucx)://([^\s/:\[\]]+|\[[0-9A-Fa-f:.]+\])(:\d+)?/?")
#: The loggers whose lines are silenced.
QUIET = ("distributed", "tornado")


def versions() -> dict[str, str]:
    """The versions that decide the numbers: lossctl's and NumPy's, in this process."""
    import numpy
    import lossctl

    return {"lossctl": lossctl.__version__, "numpy": numpy.__version__}


def parse_scheduler(text: str) -> int | str:
    """``local:N`` (the number of worker processes, N >= 1) or a scheduler's address (a URL, kept as given);
    anything else is a :class:`~lossctl.errors.UsageError`."""
    local = LOCAL.fullmatch(text.strip())
    if local:
        n = int(local.group(1))
        if n < 1:
            raise UsageError(f"{setting('scheduler', text)}: a local cluster needs at least one worker process, "
                             "e.g. local:2")
        return n
    if not ADDRESS.fullmatch(text.strip()):
        raise UsageError(f"{setting('scheduler', text)} is not a scheduler address; give its URL, "
                         "tcp://HOST:PORT (e.g. tcp://10.0.0.5:8786), or local:N for N worker processes on this "
                         "machine")
    return text.strip()


def read_scheduler_file(path: str | Path) -> str:
    """The address in a scheduler file (the JSON that ``dask scheduler`` writes with its scheduler-file option);
    a file that is missing or holds no address is a :class:`~lossctl.errors.UsageError`."""
    where = setting("scheduler_file", str(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{where}: no such file; start the Dask scheduler first, with this file as its scheduler "
                         "file (it writes its address there)") from None
    except OSError as e:
        raise UsageError(f"{where}: cannot read it ({e.strerror or e}); give the file the Dask scheduler wrote") from None
    try:
        address = json.loads(text)["address"]
    except (ValueError, KeyError, TypeError):
        address = None
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        raise UsageError(f"{where}: not a Dask scheduler file (a JSON object with the scheduler's address); give "
                         "the file the Dask scheduler wrote")
    return address


@dataclass(frozen=True)
class ClusterTask:
    """What every task of a run carries besides its pair: the run's ``config``, the client's working ``folder``
    (relative paths are read from it) and the client's :func:`versions`."""

    config: SegConfig
    folder: str
    versions: dict[str, str]


class Cluster:
    """A connection to a Dask cluster (:func:`connect`); a context manager that closes it (and the LocalCluster
    it started, if any)."""

    def __init__(self, client: Any, where: str, local: Any = None) -> None:
        self.client = client
        self.where = where
        self.local = local

    def map(self, pairs: Sequence[Pair], config: SegConfig, on_result: Callable[[Outcome], None] | None = None,
            on_done: Callable[[Outcome], None] | None = None) -> list[Outcome]:
        """:func:`~lossctl.engine.seg.evaluate_pair` over ``pairs``, one task each (:func:`evaluate_task`),
        results in the pairs' order (``on_result``; ``on_done`` as each is done, in any order)."""
        executor: Executor = self.client.get_executor(pure=False)
        task = ClusterTask(config, os.getcwd(), versions())
        try:
            return pool.map_in_order(evaluate_task, pairs, task, executor=executor, on_result=on_result,
                                     on_done=on_done, lost=lost_pair, keep=config.memory_budget())
        except CancelledError:  # the scheduler went away: it cancels every task
            raise UsageError(f"lost the Dask scheduler at {self.where} during the run (its tasks were cancelled); "
                             "run again once it is back") from None

    def close(self) -> None:
        _quiet()
        try:
            self.client.close()
        finally:
            if self.local is not None:
                self.local.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(scheduler: str | None = None, scheduler_file: str | Path | None = None) -> Cluster:
    """A :class:`Cluster`: of the scheduler at ``scheduler`` (a URL), of the one a ``scheduler_file`` names, or a
    LocalCluster of N worker processes (``scheduler="local:N"``). The workers' versions are checked
    (:func:`check_versions`). A bad address, a missing file, a scheduler not reached within
    :data:`CONNECT_TIMEOUT`, dask not installed: a :class:`~lossctl.errors.UsageError`."""
    if (scheduler is None) == (scheduler_file is None):
        raise UsageError(f"give one of {setting('scheduler')} and {setting('scheduler_file')}")
    target = parse_scheduler(scheduler) if scheduler is not None else read_scheduler_file(scheduler_file)  # type: ignore[arg-type]
    name = "scheduler" if scheduler is not None else "scheduler_file"
    try:
        _quiet()
        import distributed
    except ImportError:
        raise UsageError(f"{setting(name)} runs the pairs on a Dask cluster, which needs dask.distributed: "
                         "pip install 'lossctl[dask]'") from None
    _quiet()
    if isinstance(target, int):
        _local_settings()
        with warnings.catch_warnings():  # "port 8787 is in use" (of its health routes): it takes another
            warnings.simplefilter("ignore")
            local = distributed.LocalCluster(n_workers=target, threads_per_worker=1, processes=True,
                                             host="127.0.0.1", dashboard_address=None, silence_logs=logging.CRITICAL,
                                             memory_limit=0)
        cluster = Cluster(distributed.Client(local, set_as_default=False), f"local:{target}", local)
    else:
        try:
            client = distributed.Client(target, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except OSError as e:  # a timeout included
            why = f"no answer within {CONNECT_TIMEOUT:g} s" if "Timed out" in str(e) or isinstance(e, TimeoutError) \
                else str(e)
            raise UsageError(f"cannot reach the Dask scheduler at {target}: {why}; start it, or fix the address"
                             ) from None
        cluster = Cluster(client, target)
    try:
        check_versions(cluster.client)
    except BaseException:
        cluster.close()
        raise
    return cluster


def check_versions(client: Any) -> None:
    """Refuse (a :class:`~lossctl.errors.UsageError`) a cluster with a worker whose lossctl or NumPy version is
    not this process's, or that cannot run lossctl at all."""
    mine = versions()
    found = client.run(versions, on_error="return")
    for address, theirs in sorted(found.items()):
        if isinstance(theirs, BaseException):
            raise UsageError(f"the Dask worker {address} cannot run lossctl ({type(theirs).__name__}: {theirs}); "
                             f"install lossctl {mine['lossctl']} with NumPy {mine['numpy']} on every worker")
        if theirs != mine:
            raise UsageError(mismatch(address, theirs, mine))


def mismatch(worker: str, theirs: dict[str, str], mine: dict[str, str]) -> str:
    """The one line that refuses a worker of other versions."""
    return (f"the Dask worker {worker} runs lossctl {theirs['lossctl']} with NumPy {theirs['numpy']}, but this "
            f"machine lossctl {mine['lossctl']} with NumPy {mine['numpy']}: a mixed cluster could give other "
            "numbers; install the same versions on every worker")


_PREPARED: list[bool] = []


def evaluate_task(pair: Pair, task: ClusterTask) -> Outcome:
    """One pair's task, on a worker: :func:`~lossctl.engine.seg.evaluate_pair` after checking the worker's
    versions against the client's (a worker of others raises, which ends the run with one line). A relative path
    is read from the client's working folder when the worker's is another, and the record names it as given."""
    mine = versions()
    if mine != task.versions:
        raise UsageError(mismatch(_worker_address(), mine, task.versions))
    if not _PREPARED:  # the worker process's allocator, as a local worker process sets it
        pool.keep_freed_memory(task.config.memory_budget())
        _PREPARED.append(True)
    if os.getcwd() == task.folder or not any(_relative(p) for p in (pair.pred, pair.gt)):
        return evaluate_pair(pair, task.config)
    moved = replace(pair, pred=_under(task.folder, pair.pred), gt=_under(task.folder, pair.gt))
    return _as_given(evaluate_pair(moved, task.config), pair, moved)


def lost_pair(pair: Pair, error: BaseException) -> Outcome:
    """The failure of a pair whose task the scheduler gave up on because the workers running it kept dying (out
    of memory, killed); any other error of a task is raised."""
    if type(error).__name__ != "KilledWorker":
        raise error
    fix = (f"give the workers more memory, or set {setting('max_memory')} below it so that such files are refused "
           "(or chunked) up front")
    return PairFailure(str(pair.pred), f"{display_path(pair.pred)}: the Dask workers evaluating it against "
                       f"{display_path(pair.gt)} died each time (out of memory, or killed); {fix}", pair.name)


def _relative(path: Any) -> bool:
    text = str(path)
    return "://" not in text and not os.path.isabs(text)


def _under(folder: str, path: Any) -> Any:
    """``path`` read from ``folder`` (of the same type) when it is relative."""
    return type(path)(os.path.join(folder, str(path))) if _relative(path) else path


def _as_given(outcome: Outcome, given: Pair, moved: Pair) -> Outcome:
    """``outcome`` of the ``moved`` pair (its paths resolved) as the outcome of the pair as ``given``."""
    if isinstance(outcome, ImageOutcome):
        return replace(outcome, pair=given)
    swaps = sorted({(shown(m), shown(g)) for m, g in ((moved.pred, given.pred), (moved.gt, given.gt))
                    for shown in (str, display_path)}, key=lambda swap: -len(swap[0]))

    def back(text: str) -> str:
        for resolved, as_given in swaps:
            text = text.replace(resolved, as_given)
        return text

    return PairFailure(back(outcome.file), back(outcome.error), outcome.name, back(outcome.problem))


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return "(this process)"


#: The settings of a LocalCluster started here (dask's configuration, which its workers inherit): its worker
#: processes are forked from a server process that has already imported what a task needs (dask, NumPy, lossctl's
#: engine), as a local worker pool forks its processes, so that each starts without importing them again (the
#: server is single-threaded: forking it is safe); dask's statistical profiler (which samples the stack of every
#: task 100 times a second) is off, and its event-loop and system monitors look 25 and 10 times less often. Measured
#: on 60 W1 pairs (all values, 2 workers, 2 shared cores): the workers' CPU time went from 1.27x a local pool's to about 1.0x, the
#: client's own from 1.4 s to 0.9 s, the cluster's start-up from 6.5 s to 2.7 s and its close from 1.3 s to 0.05 s.
LOCAL_SETTINGS = {"distributed.worker.multiprocessing-method": "forkserver",
                  "distributed.worker.profile.enabled": False,
                  "distributed.admin.tick.interval": "500ms",
                  "distributed.admin.system-monitor.interval": "5s"}


def _local_settings() -> None:
    """Apply :data:`LOCAL_SETTINGS` (for the rest of this process, as a LocalCluster started here lives as long)."""
    import dask
    from distributed.utils import get_mp_context

    dask.config.set(LOCAL_SETTINGS)
    get_mp_context().set_forkserver_preload(["distributed", "numpy", __name__])


def _quiet() -> None:
    """Silence dask's and its libraries' log lines in this process (every problem is one line of lossctl's)."""
    for name in [*QUIET, *(n for n in logging.root.manager.loggerDict if n.startswith(QUIET))]:
        logger = logging.getLogger(name)
        logger.setLevel(logging.CRITICAL + 1)
        logger.propagate = False


__all__ = ["CONNECT_TIMEOUT", "ClusterTask", "Cluster", "connect", "parse_scheduler", "read_scheduler_file",
           "check_versions", "versions", "evaluate_task", "lost_pair"]
