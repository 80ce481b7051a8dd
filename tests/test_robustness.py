"""Faults and determinism: interrupts, atomic output, parameter ranges, the 0/255 + ignore rule, listing order."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from support import make_seg_set, write_label_png  # noqa: F401  (cli is a fixture)

from lossctl.engine import seg as seg_engine


def test_keyboard_interrupt_exits_130_without_traceback(cli, seg, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(seg_engine, "evaluate", interrupted)
    r = cli("seg", seg.pred, seg.gt)
    assert r.code == 130
    assert "Traceback" not in r.err and "interrupted" in r.err


def test_a_failed_write_leaves_the_previous_report_intact(cli, seg, tmp_path, monkeypatch):
    out = tmp_path / "report.json"
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", out).code == 0
    before = out.read_bytes()

    def broken_writer(document, stream, *, per_class=False):
        stream.write('{"half": ')
        raise KeyboardInterrupt

    from lossctl import report

    monkeypatch.setitem(report.WRITERS, "json", broken_writer)
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", out).code == 130
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


@pytest.mark.parametrize("args, fragment", [
    (("--gamma", "-1"), "focal.gamma"),
    (("-p", "focal.alpha=1.5"), "focal.alpha"),
    (("-p", "dice_loss.eps=0"), "dice_loss.eps"),
    (("--smooth", "-0.5"), "smooth"),
])
def test_out_of_range_parameters_are_usage_errors(cli, seg, args, fragment):
    r = cli("seg", seg.pred, seg.gt, *args)
    assert r.code == 2 and fragment in r.err and "Traceback" not in r.err


def test_gate_on_a_class_that_does_not_exist(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-g", "dice[7]>=0.5")
    assert r.code == 2 and "no class 7" in r.err


def test_0_255_mask_with_ignore_255_says_the_foreground_is_ignored(cli, tmp_path):
    gt = np.zeros((6, 7), np.uint8)
    gt[2:4, 2:5] = 255
    write_label_png(tmp_path / "gt.png", gt)
    write_label_png(tmp_path / "pred.png", (gt > 0).astype(np.uint8))
    r = cli("seg", tmp_path / "pred.png", tmp_path / "gt.png", "--ignore-index", "255", "-f", "json")
    assert r.code == 0
    notes = r.json()["images"][0]["notes"]
    assert any("255 is ignored" in n for n in notes)


def test_output_does_not_depend_on_directory_listing_order(cli, tmp_path, monkeypatch):
    data = make_seg_set(tmp_path / "data", names=("b", "a", "c", "d"))
    first = cli("seg", data.pred, data.gt, "-f", "json", "--workers", "1").out
    real = os.scandir

    def reversed_scandir(path="."):
        entries = list(real(path))
        return _Iter(entries[::-1])

    monkeypatch.setattr(os, "scandir", reversed_scandir)
    assert cli("seg", data.pred, data.gt, "-f", "json", "--workers", "1").out == first
    assert cli("seg", data.pred, data.gt, "-f", "csv", "--workers", "2").out == cli(
        "seg", data.pred, data.gt, "-f", "csv", "--workers", "1").out


class _Iter:
    """A scandir-like iterator over a list (supports the context-manager protocol os.walk uses)."""

    def __init__(self, entries):
        self._it = iter(entries)

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._it)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def close(self):
        pass


def test_identical_runs_are_byte_identical(cli, seg):
    runs = [cli("seg", seg.pred, seg.gt, "-f", fmt).out for fmt in ("json", "csv", "json", "csv")]
    assert runs[0] == runs[2] and runs[1] == runs[3]


def test_output_to_a_device_or_pipe_is_written_not_replaced(cli, seg, tmp_path):
    import stat
    import threading

    assert cli("seg", seg.pred, seg.gt, "-f", "csv", "-o", os.devnull).code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert cli("seg", seg.pred, seg.gt, "-f", "csv", "-o", fifo).code == 0
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and received and received[0].startswith(b"row,name")


def test_output_through_a_symlink_updates_the_target_and_keeps_the_link(cli, seg, tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", link).code == 0
    assert link.is_symlink() and real.read_text().startswith("{")
    assert oct(real.stat().st_mode & 0o777) != oct(0o600)  # the umask decides, not mkstemp's private mode


@pytest.fixture
def cls_files(tmp_path):
    from support import write_cls_inputs

    return write_cls_inputs(tmp_path / "cls")


@pytest.mark.parametrize("gate, fragment", [
    ("sparse_cce[1]<=10", "no per-class values"),
    ("pooled(sparse_cce)<=10", "pooled() exists for metrics only"),
])
def test_cls_gates_that_cannot_be_answered_are_usage_errors(cli, cls_files, gate, fragment):
    r = cli("cls", cls_files["probs_npy"], cls_files["target_npy"], "-g", gate)
    assert r.code == 2 and fragment in r.err


@pytest.mark.parametrize("weights", ["nan,1,1", "inf,1,1", "-1,1,1", "0,0,0"])
def test_bad_class_weights_are_usage_errors(cli, cls_files, weights):
    r = cli("cls", cls_files["probs_npy"], cls_files["target_npy"], "--class-weights", weights, "-f", "json")
    assert r.code == 2 and "--class-weights" in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("param", ["dice_loss.eps=none", "focal_tversky_loss.gamma=none", "focal.gamma=none"])
def test_only_optional_parameters_can_be_turned_off(cli, seg, param):
    r = cli("seg", seg.pred, seg.gt, "-p", param)
    assert r.code == 2 and "cannot be turned off" in r.err


def test_merge_of_a_json_that_is_not_a_report_names_it(cli, tmp_path):
    for name, text in (("list.json", "[]"), ("dict.json", '{"command": "cls"}')):
        (tmp_path / name).write_text(text)
        r = cli("merge", tmp_path / name)
        assert r.code == 3 and name in r.err and "Traceback" not in r.err


def test_merge_time_gates_are_validated(cli, seg, tmp_path):
    part = tmp_path / "p.json"
    assert cli("seg", seg.labels, seg.gt, "-f", "json", "-o", part).code == 0
    r = cli("merge", part, "-g", "pooled(ce)<=1")
    assert r.code == 2 and "ce" in r.err


def test_a_preset_refuses_parameters_its_framework_lacks(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--convention", "keras", "-l", "dice_loss", "-p", "dice_loss.smooth=1")
    assert r.code == 2 and "under --convention keras" in r.err
    ok = cli("seg", seg.pred, seg.gt, "--convention", "keras", "-l", "dice_loss", "--smooth", "1", "-f", "json")
    assert ok.code == 0 and ok.json()["config"]["params"]["dice_loss"] == {}


def test_an_empty_shard_is_not_an_error(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--shard", "9/9", "-f", "json")
    assert r.code == 0 and r.json()["images"] == []


def _as_npz(seg, root, pred_arrays, gt_arrays):
    """Copies of the set as NPZ archives; ``*_arrays`` map an array name to "data" or to a filler."""
    from PIL import Image

    pred, gt = root / "p", root / "g"
    pred.mkdir()
    gt.mkdir()
    for name in seg.names:
        data = {"pred": np.load(Path(seg.pred) / f"{name}.npy"),
                "gt": np.asarray(Image.open(Path(seg.gt) / f"{name}.png"))}
        for folder, arrays, side in ((pred, pred_arrays, "pred"), (gt, gt_arrays, "gt")):
            np.savez(folder / f"{name}.npz", **{k: data[side] if v == "data" else np.zeros(1)
                                               for k, v in arrays.items()})
    return pred, gt


def test_ground_truth_npz_has_its_own_key(cli, seg, tmp_path):
    pred, gt = _as_npz(seg, tmp_path, {"probs": "data", "other": "filler"}, {"mask": "data"})
    r = cli("seg", pred, gt, "--npz-key", "probs", "-f", "json")
    assert r.code == 0, r
    r2 = cli("seg", pred, gt, "--npz-key", "probs", "--gt-npz-key", "nope")
    assert r2.code == 3 and "nope" in r2.err


def test_grey_alpha_png_ground_truth_drops_the_alpha(cli, seg, tmp_path):
    from PIL import Image

    name = seg.names[0]
    labels = np.asarray(Image.open(Path(seg.gt) / f"{name}.png"))
    la = np.stack([labels, np.full_like(labels, 255)], axis=-1)
    Image.fromarray(la, mode="LA").save(Path(seg.gt) / f"{name}.png")
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 0
    assert any("alpha channel was dropped" in n for im in r.json()["images"] for n in im["notes"])


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_an_output_error(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", "/dev/full")
    assert r.code == 3 and "cannot write the report" in r.err and "Traceback" not in r.err


def test_a_closed_stdout_exits_141_quietly(seg):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "lossctl", "seg", str(seg.pred), str(seg.gt), "-f", "ndjson"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before the report is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err


def test_workers_split_into_processes_or_threads_without_changing_the_report(cli, tmp_path):
    from lossctl.engine.pool import split_workers

    assert split_workers(2, 4) == (2, 1) and split_workers(2, 3) == (1, 2) and split_workers(1, 100) == (1, 1)
    data = make_seg_set(tmp_path / "d", names=tuple("abcde"))
    outs = {w: cli("seg", data.pred, data.gt, "-f", "json", "--workers", str(w)).out for w in (1, 2, 3)}
    assert outs[1] == outs[2] == outs[3]  # 5 pairs: 2 processes, then 3 threads in one process


def test_a_real_class_may_be_ignored_with_label_predictions(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "--ignore-index", "0", "--num-classes", "3", "-f", "json")
    assert r.code == 0, r


def test_npz_key_also_names_the_ground_truth_array(cli, seg, tmp_path):
    pred, gt = _as_npz(seg, tmp_path, {"mask": "data", "meta": "filler"}, {"mask": "data", "meta": "filler"})
    assert cli("seg", pred, gt, "--npz-key", "mask").code == 0


def test_alpha_shortcut_sets_tversky_not_focal(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--alpha", "0.7", "--beta", "0.3", "-f", "json")
    assert r.code == 0, r
    params = r.json()["config"]["params"]
    assert params["tversky_loss"]["alpha"] == 0.7 and params["focal"]["alpha"] is None


def test_signed_targets_with_an_ignore_value(cli, tmp_path):
    np.save(tmp_path / "p.npy", np.array([0.9, 0.2, 0.7, 0.5]))
    np.save(tmp_path / "t.npy", np.array([1, -1, 1, -100]))
    r = cli("cls", tmp_path / "p.npy", tmp_path / "t.npy", "-l", "bce", "--ignore-index", "-100", "-f", "json")
    assert r.code == 0, r
    assert r.json()["summary"]["mean"]["bce"] == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.7)) / 3)
    np.save(tmp_path / "t2.npy", np.array([1, -1, 1, -1]))
    r2 = cli("cls", tmp_path / "p.npy", tmp_path / "t2.npy", "-l", "bce", "--ignore-index", "0")
    assert r2.code == 2 and "collides" in r2.err


def test_cls_metric_statistics_over_samples_are_refused(cli, cls_files):
    r = cli("cls", cls_files["probs_npy"], cls_files["target_npy"], "-g", "min(accuracy)>=0")
    assert r.code == 2 and "one value over all samples" in r.err


def test_merge_gates_do_not_depend_on_file_order(cli, seg, tmp_path):
    parts = []
    for k in (1, 2, 3, 4):  # 3 pairs: shard 4/4 is empty
        path = tmp_path / f"s{k}.json"
        assert cli("seg", seg.pred, seg.gt, "-f", "json", "--shard", f"{k}/4", "-o", path).code == 0
        parts.append(path)
    assert cli("merge", parts[3], *parts[:3], "-g", "dice_loss<=1").code == 0


def test_output_to_dev_stdout_through_a_pipe(seg):
    import subprocess
    import sys

    out = subprocess.run(f"{sys.executable} -m lossctl seg {seg.pred} {seg.gt} -f csv -o /dev/stdout | cat",
                         shell=True, capture_output=True, text=True)
    assert out.stdout.startswith("row,name") and "Traceback" not in out.stderr


def test_a_stdout_closed_from_the_start(seg):
    import subprocess
    import sys

    out = subprocess.run(f"{sys.executable} -m lossctl seg {seg.pred} {seg.gt} -f csv >&-", shell=True,
                         capture_output=True, text=True)
    assert out.returncode == 141 and "Traceback" not in out.stderr


def test_classification_loss_api_refuses_metrics_and_bad_weights():
    from lossctl import losses
    from lossctl.errors import UsageError

    with pytest.raises(UsageError, match="metric"):
        losses.classification_loss("accuracy", [0.9, 0.2], [1, 0])
    with pytest.raises(UsageError, match="class weights"):
        losses.classification_loss("cce", [[0.7, 0.3], [0.2, 0.8]], [0, 1], class_weights=[-1, 1])
