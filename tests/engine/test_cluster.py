"""lossctl.engine.cluster: ``seg --scheduler`` runs every pair as one task on a Dask cluster and gives the local
run's report byte for byte (2D and 3D sets, failing pairs, gates, exit codes, streamed rows, shards); a worker
killed mid-run loses nothing; a scheduler that cannot be reached, workers of another version and a missing dask
are one line each (exit 2); the options' own refusals are rows of tests/cli/test_seg_bad_input.py.

One LocalCluster of two worker processes on 127.0.0.1 serves the whole file (``pytest -n auto --dist loadfile``
runs a file in one process); every wait is bounded.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import support
from support import (SAMPLE, assert_clean_error, box_labels, make_seg_set, run_subprocess, volume_set,
                     write_nifti)

from lossctl.dataset.pairing import Pair, pair_files
from lossctl.engine import cluster as cluster_module
from lossctl.engine.cluster import Cluster, ClusterTask, evaluate_task, lost_pair, versions
from lossctl.engine.loading import PairFailure
from lossctl.engine.seg import ImageOutcome, build_report, evaluate
from lossctl.engine.seg_config import SegConfig
from lossctl.errors import UsageError

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="session")
def dask_cluster():
    """A LocalCluster of two worker processes (one thread each) and a client of it."""
    local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     dashboard_address=None, silence_logs=logging.CRITICAL, memory_limit=0)
    client = distributed.Client(local, set_as_default=False, timeout=60)
    client.wait_for_workers(2, timeout=60)
    yield local, client
    client.close()
    local.close()


@pytest.fixture
def address(dask_cluster) -> str:
    local, client = dask_cluster
    client.wait_for_workers(2, timeout=60)  # a worker killed by an earlier test is back
    return local.scheduler_address


def _same(local, remote) -> None:
    """The runs printed the same report, the same stderr, and exited alike."""
    assert remote.code == local.code, remote
    assert remote.out == local.out, remote
    assert remote.err == local.err, remote


def _two_d_set(root: Path) -> tuple[Path, Path]:
    """Seven 3-class pairs, of which two fail: an unreadable prediction and one of another shape."""
    s = make_seg_set(root, names=tuple(f"im{i}" for i in range(7)))
    (s.pred / "im3.npy").write_bytes(b"not an array")
    np.save(s.pred / "im5.npy", np.zeros((3, 4, 4), np.float32) + 1 / 3)
    return s.pred, s.gt


def test_a_2d_run_on_the_cluster_is_the_local_run_byte_for_byte(cli, address, tmp_path):
    pred, gt = _two_d_set(tmp_path / "d")
    args = ("seg", pred, gt, "-f", "json", "--gate", "dice>=0.9", "--gate", "min(iou)>=0")
    local = cli(*args, "--workers", "1")
    assert local.code == 3 and len(local.json()["errors"]) == 2 and local.json()["gates"], local
    _same(local, cli(*args, "--scheduler", address))
    gated = ("seg", pred, gt, "-f", "json", "--gate", "min(dice)>=0.99", "--skip-errors")  # the gate: exit 1
    local = cli(*gated, "--workers", "2")
    assert local.code == 1, local
    (tmp_path / "scheduler.json").write_text(json.dumps({"type": "Scheduler", "address": address}))
    _same(local, cli(*gated, "--scheduler-file", tmp_path / "scheduler.json"))


def test_a_3d_run_on_the_cluster_is_the_local_run_byte_for_byte(cli, address, tmp_path):
    pred, gt = volume_set(tmp_path / "v", n=4)
    (pred / "v9.nii.gz").write_bytes(b"\x1f\x8b truncated")  # a pair that fails to read
    write_nifti(gt / "v9.nii.gz", box_labels())
    args = ("seg", pred, gt, "-m", "dice,hd95,nsd", "-f", "json", "--gate", "hd95<=1")
    local = cli(*args)
    assert local.code == 3 and [e["name"] for e in local.json()["errors"]] == ["v9"], local
    assert local.json()["gates"][0]["passed"] is False, local
    _same(local, cli(*args, "--scheduler", address))


#: ``lossctl ARGS`` in a fresh interpreter that then writes to the file ``DASK_IMPORTED`` which of dask and
#: distributed it imported.
LOCAL_RUN = """import sys
from lossctl.cli import main
try:
    main()
finally:
    imported = sorted(m for m in ('dask', 'distributed') if m in sys.modules)
    open('DASK_IMPORTED', 'w').write(repr(imported))
"""


def test_a_cluster_started_for_the_run_gives_the_local_report_and_a_local_run_never_imports_dask(tmp_path):
    """``python -m lossctl ... --scheduler local:1`` (a fresh process: its worker is spawned from it, stderr is the
    real one, with no line of dask's): the local run's report, stderr and exit code; the local run imported
    neither dask nor distributed (its start-up time)."""
    args = ("seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "-f", "json", "--gate", "dice>=0.9")
    env = {**{k: v for k, v in os.environ.items() if k not in support._ENV_TO_CLEAR}, "PYTHONIOENCODING": "utf-8"}
    local = subprocess.run([sys.executable, "-c", LOCAL_RUN, *args], capture_output=True, cwd=tmp_path, timeout=120,
                           env=env, check=False)  # as run_subprocess runs lossctl
    assert local.returncode == 1 and (tmp_path / "DASK_IMPORTED").read_text() == "[]", local
    remote = run_subprocess(*args, "--scheduler", "local:1", cwd=tmp_path, timeout=120)
    assert (remote.returncode, remote.stdout, remote.stderr) == (local.returncode, local.stdout, local.stderr)


def test_rows_stream_in_name_order_and_shards_merge_as_locally(cli, address, tmp_path):
    s = make_seg_set(tmp_path / "d", names=tuple(f"im{i}" for i in range(6)))
    stream = ("seg", s.pred, s.gt, "-f", "ndjson", "--num-classes", "3")
    local = cli(*stream)
    assert [line.get("name") for line in local.ndjson()[1:-1]] == [f"im{i}" for i in range(6)], local
    _same(local, cli(*stream, "--scheduler", address))
    for k in (1, 2):
        shard = ("seg", s.pred, s.gt, "-f", "json", "--shard", f"{k}/2", "-o", tmp_path / f"part-{k}.json")
        on_cluster = cli(*shard[:-1], tmp_path / f"cluster-{k}.json", "--scheduler", address)
        assert cli(*shard).code == on_cluster.code == 0, on_cluster
        assert (tmp_path / f"part-{k}.json").read_bytes() == (tmp_path / f"cluster-{k}.json").read_bytes()
    merged = cli("merge", tmp_path / "cluster-1.json", tmp_path / "cluster-2.json", "--expect", "2", "-f", "json")
    whole = cli("seg", s.pred, s.gt, "-f", "json")
    assert merged.out == whole.out, merged


def test_the_python_api_runs_on_the_cluster_too(address):
    import lossctl

    here = lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", gates=["dice>=0.9"])
    assert lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", gates=["dice>=0.9"], scheduler=address) == here
    with pytest.raises(UsageError, match=r"workers counts this machine's cores"):
        lossctl.evaluate(SAMPLE / "pred_probs", SAMPLE / "gt", scheduler=address, workers=2)


def test_a_relative_path_is_read_from_the_clients_folder_and_named_as_given(tmp_path, monkeypatch):
    s = make_seg_set(tmp_path / "d", names=("a", "b"))
    (s.pred / "b.npy").write_bytes(b"broken")
    monkeypatch.chdir(tmp_path)
    pairs = [Pair(name, Path("d/pred") / f"{name}.npy", Path("d/gt") / f"{name}.png") for name in ("a", "b")]
    task = ClusterTask(SegConfig(), str(tmp_path), versions())
    here = [evaluate_task(pair, task) for pair in pairs]
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # a worker whose working folder is another
    there = [evaluate_task(pair, task) for pair in pairs]
    assert isinstance(there[0], ImageOutcome) and there[0].pair == pairs[0]
    assert isinstance(there[1], PairFailure) and there[1].entry() == here[1].entry()
    assert there[1].error.startswith("d/pred/b.npy: ") and str(tmp_path) not in there[1].error


def test_a_task_on_a_worker_of_other_versions_refuses_to_run(tmp_path):
    s = make_seg_set(tmp_path / "d", names=("a",))
    pair = pair_files(s.pred, s.gt).pairs[0]
    with pytest.raises(UsageError, match=r"runs lossctl .* but this machine lossctl 0\.0\.0-other .* install the "
                                         r"same versions on every worker"):
        evaluate_task(pair, ClusterTask(SegConfig(), os.getcwd(), {**versions(), "lossctl": "0.0.0-other"}))


def test_a_pair_whose_workers_kept_dying_is_its_error_row_and_other_task_errors_are_raised():
    pair = Pair("a", Path("pred/a.npy"), Path("gt/a.png"))
    failure = lost_pair(pair, distributed.scheduler.KilledWorker("evaluate_task-1", "tcp://127.0.0.1:1", 3))
    assert isinstance(failure, PairFailure) and failure.name == "a" and failure.file == "pred/a.npy"
    assert failure.problem.startswith("the Dask workers evaluating it against gt/a.png died each time"), failure
    with pytest.raises(UsageError):
        lost_pair(pair, UsageError("a worker of other versions"))


def test_workers_of_another_version_are_refused_before_any_task_runs(cli, address, dask_cluster, tmp_path):
    _, client = dask_cluster
    s = make_seg_set(tmp_path / "d")
    worker = sorted(client.scheduler_info()["workers"])[0]
    mine = versions()["lossctl"]
    client.run(lambda: setattr(sys.modules["lossctl"], "__version__", "0.0.0-other"), workers=[worker])
    try:
        r = cli("seg", s.pred, s.gt, "-o", tmp_path / "report.json", "--scheduler", address)
    finally:
        client.run(lambda v=mine: setattr(sys.modules["lossctl"], "__version__", v), workers=[worker])
    assert_clean_error(r, 2, f"the Dask worker {worker} runs lossctl 0.0.0-other with NumPy",
                       "a mixed cluster could give other numbers")
    assert len(r.err.splitlines()) == 1 and not (tmp_path / "report.json").exists(), r


def test_an_unreachable_scheduler_is_one_line_not_a_hang(cli, seg, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cluster_module, "CONNECT_TIMEOUT", 1.0)
    r = cli("seg", seg.pred, seg.gt, "--scheduler", f"tcp://127.0.0.1:{port}")
    assert_clean_error(r, 2, f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}: no answer within 1 s")
    assert len(r.err.splitlines()) == 1, r


def test_without_dask_the_line_names_the_extra(cli, seg, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    r = cli("seg", seg.pred, seg.gt, "--scheduler", "local:1")
    assert_clean_error(r, 2, "--scheduler runs the pairs on a Dask cluster, which needs dask.distributed: "
                             "pip install 'lossctl[dask]'")


def test_a_worker_killed_mid_run_loses_nothing(dask_cluster, address, tmp_path):
    """When the first result arrives, a worker with tasks in flight is killed (SIGKILL): the scheduler runs its
    tasks again on the other worker (and on the one its nanny starts), and the report is the local one."""
    _, client = dask_cluster
    root = tmp_path / "v"
    for i in range(16):
        write_nifti(root / "gt" / f"v{i:02}.nii.gz", box_labels((40, 42, 30)))
        write_nifti(root / "pred" / f"v{i:02}.nii.gz", box_labels((40, 42, 30), offset=i % 3))
    pairs = pair_files(root / "pred", root / "gt").pairs
    config = SegConfig(values=("dice", "hd95", "assd"))
    pids = client.run(os.getpid)
    killed: list[str] = []
    finished: list[str] = []  # what the progress bar counts

    def done(outcome) -> None:
        finished.append(outcome.pair.name)
        if not killed:
            busy = next(worker for worker, keys in client.processing().items() if keys)
            os.kill(pids[busy], signal.SIGKILL)
            killed.append(busy)

    outcomes = evaluate(pairs, config, cluster=Cluster(client, address), on_result=done)
    assert killed and killed[0] not in client.scheduler_info()["workers"]  # that worker is gone
    assert sorted(finished) == [pair.name for pair in pairs]  # each pair counted once, rerun or not
    remote = build_report(outcomes, config)
    local = build_report(evaluate(pairs, config), config)
    assert len(remote["images"]) == 16 and not remote["errors"]
    assert json.dumps(remote) == json.dumps(local)


def test_a_failed_pair_travels_without_the_decoders_exception(tmp_path):
    """distributed installs tblib's exception pickling (the cause chain travels); a pair failing inside a decoder
    whose exception cannot be unpickled (imagecodecs' DeflateError) still comes back as its error record."""
    import pickle

    import tifffile

    from lossctl.engine.seg import evaluate_pair

    gt = tmp_path / "a.tif"
    tifffile.imwrite(gt, np.arange(64 * 64, dtype=np.uint8).reshape(64, 64) % 3, compression="zlib")
    gt.write_bytes(gt.read_bytes()[:-40])  # the deflate stream is cut short
    pred = tmp_path / "a.npy"
    np.save(pred, np.zeros((64, 64), np.uint8))
    result = evaluate_pair(Pair("a", pred, gt), SegConfig(num_classes=3))
    assert isinstance(result, PairFailure) and "cannot decode it as TIFF" in result.error
    back = pickle.loads(pickle.dumps(result))
    assert back.entry() == result.entry()
