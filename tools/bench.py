#!/usr/bin/env python
"""Benchmark lossctl end to end on generated PNG/NPY workloads; write BENCHMARKS.md.

Run with the project's interpreter (``make bench`` does):

    .venv/bin/python tools/bench.py            # default workloads (< 10 minutes on 2 cores)
    .venv/bin/python tools/bench.py --quick    # every workload ~10x smaller: a smoke run
    .venv/bin/python tools/bench.py --full     # adds W1 with 2000 pairs (memory flatness, 200 vs 2000)
    .venv/bin/python tools/bench.py --only W1,W3

Workloads are generated deterministically (seeded NumPy) into ``bench_data/`` (git-ignored) and reused while
their parameters are unchanged (``manifest.json`` in each workload folder):

* W1  200 pairs 512x512, 5 classes: palette-PNG ground truth, float32 (5,512,512) probabilities (NPY); all values
  also through ``--scheduler local:2`` (a Dask cluster started by the run) against ``--workers 2``, when the
  ``dask`` extra is installed;
* W2  20 pairs 2048x2048 binary: label PNG 0/1, float32 (H,W) foreground probability (NPY);
* W3  5000 pairs 64x64, 3 classes: label PNG, float32 (3,64,64) probabilities;
* W4  10 volumes 128x256x256, 3 classes: uint8 (D,H,W) NPY ground truth, float32 (3,D,H,W) probabilities;
* W5  classification, 1,000,000 samples x 10 classes: float32 logits NPY, int64 labels NPY.

Every measured run is a fresh subprocess; its wall time is taken around the process, its peak RSS from the
``rusage`` that ``os.wait4`` returns for it (the largest single process of its tree: for ``--workers 2`` the
largest of the parent and its workers, not their sum). The torch + segmentation_models_pytorch baseline runs in
another interpreter (``--torch-python``, default ``$REFPY`` or .refenv/bin/python) from a small embedded script that
reads the same files; without torch it is skipped with a note. Nothing here imports torch.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import pstats
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WORK = ROOT / "bench_data"
# the torch + smp interpreter: $TORCH_PYTHON, else the reference venv ($REFPY, `make refenv`)
DEFAULT_TORCH_PYTHON = os.environ.get("TORCH_PYTHON") or os.environ.get("REFPY", ".refenv/bin/python")
GEN_VERSION = 1  # bump when the generators change: forces regeneration
SEED = 20240611
MB = 1024.0 * 1024.0
BUSY = 0.25  # other processes using this many cores on average during a run: its numbers are suspect

# name -> parameters (full size); "quick" holds the ~10x smaller overrides; torch_subset: pairs the torch
# baseline runs on in the default run (its loop time is scaled to all pairs; None: all pairs).
WORKLOADS: dict[str, dict[str, Any]] = {
    "W1": dict(task="seg", n=200, shape=(512, 512), classes=5, gt="palette_png", cells=(12, 12),
               desc="200 pairs 512x512, 5 classes, palette PNG GT, float32 (5,H,W) probabilities NPY",
               torch_subset=40, quick=dict(n=20, torch_subset=None)),
    "W2": dict(task="seg", n=20, shape=(2048, 2048), classes=2, gt="label_png", cells=(24, 24),
               desc="20 pairs 2048x2048 binary, label PNG 0/1 GT, float32 (H,W) foreground probability NPY",
               torch_subset=5, quick=dict(n=2, torch_subset=None)),
    "W3": dict(task="seg", n=5000, shape=(64, 64), classes=3, gt="label_png", cells=(4, 4),
               desc="5000 pairs 64x64, 3 classes, label PNG GT, float32 (3,H,W) probabilities NPY",
               torch_subset=1000, quick=dict(n=500, torch_subset=None)),
    "W4": dict(task="seg", n=10, shape=(128, 256, 256), classes=3, gt="npy", cells=(6, 12, 12),
               desc="10 volumes 128x256x256, 3 classes, uint8 (D,H,W) GT NPY, float32 (3,D,H,W) probabilities NPY",
               torch_subset=2, quick=dict(n=2, shape=(64, 256, 256), torch_subset=None)),
    "V3": dict(task="seg", n=3, shape=(200, 512, 512), classes=14, gt="npy", pred="labels", cells=(10, 24, 24),
               desc="3 label volumes 200x512x512, 14 classes, uint8 (D,H,W) GT and prediction NPY",
               torch_subset=None, quick=dict(n=2, shape=(40, 512, 512))),
    "W5": dict(task="cls", n=1_000_000, classes=10,
               desc="classification, 1,000,000 samples x 10 classes, float32 logits NPY, int64 labels NPY",
               torch_subset=None, quick=dict(n=100_000)),
}
EXTRAS = ("P1", "BOMBS")  # the memory experiments: a volume beyond the budget, decompression bombs
W1_FULL_N = 2000  # --full: the memory-flatness run
FLAT_FACTOR = 10  # W1_FULL_N / W1's n (--quick --full: 200 vs 20)
SEG_METRICS = ("dice", "iou", "precision", "recall", "accuracy")
#: Every calibration value (W1: each image's bins and sums over its 5 x 512^2 probabilities).
CALIBRATION = ("ece", "mce", "rmsce", "cw_ece", "brier", "nll")
CLS_METRICS = ("accuracy", "precision", "recall", "f1")

# --------------------------------------------------------------------------------------------------------------
# Workload generation
# --------------------------------------------------------------------------------------------------------------


def _interp_matrix(n_out: int, n_in: int) -> np.ndarray:
    """(n_out, n_in) float32 linear-interpolation matrix (cell centres aligned)."""
    pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = (pos - i0).astype(np.float32)
    m = np.zeros((n_out, n_in), np.float32)
    m[np.arange(n_out), i0] += 1 - w
    m[np.arange(n_out), i1] += w
    return m


def _smooth_field(rng: np.random.Generator, c: int, shape: tuple[int, ...], cells: tuple[int, ...]) -> np.ndarray:
    """(c, *shape) float32 smooth random field: Gaussian noise on a coarse grid, linearly upsampled."""
    f = rng.standard_normal((c, *cells), dtype=np.float32)
    for axis, (n_out, n_in) in enumerate(zip(shape, cells, strict=True)):
        f = np.moveaxis(np.tensordot(_interp_matrix(n_out, n_in), f, axes=(1, axis + 1)), 0, axis + 1)
    f = np.ascontiguousarray(f)
    f /= f.std() + 1e-6
    return f


def _softmax0(logits: np.ndarray) -> np.ndarray:
    logits -= logits.max(axis=0, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=0, keepdims=True)
    return logits


def _label_volume_pair(rng: np.random.Generator, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(predicted labels, true labels), both uint8 (D,H,W): blocks of random classes on a coarse grid; the
    prediction's grid is shifted by a few voxels and 2% of its voxels get a random class."""
    shape, c, cells = tuple(p["shape"]), p["classes"], tuple(p["cells"])
    coarse = rng.integers(0, c, size=tuple(k + 1 for k in cells), dtype=np.uint8)
    reps = [-(-n // k) for n, k in zip(shape, cells, strict=True)]

    def blocks(offset: int) -> np.ndarray:
        v = coarse
        for axis, r in enumerate(reps):
            v = np.repeat(v, r, axis=axis)
        return np.ascontiguousarray(v[tuple(slice(offset, offset + n) for n in shape)])

    gt, pred = blocks(0), blocks(3)
    flip = rng.random(shape, dtype=np.float32) < 0.02
    pred[flip] = rng.integers(0, c, size=int(flip.sum()), dtype=np.uint8)
    return pred, gt


def _seg_pair(rng: np.random.Generator, p: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities float32, labels uint8): blobs (argmax of a smooth field) and a noisy softmax of it."""
    if p.get("pred") == "labels":
        return _label_volume_pair(rng, p)
    shape, c, cells = tuple(p["shape"]), p["classes"], tuple(p["cells"])
    if c == 2:  # binary: foreground probability map (H, W)
        f = _smooth_field(rng, 1, shape, cells)[0]
        gt = (f > 0.5).astype(np.uint8)
        logit = 4.0 * (f - 0.5)
        logit += 1.2 * _smooth_field(rng, 1, shape, tuple(2 * k for k in cells))[0]
        logit += 0.8 * rng.standard_normal(shape, dtype=np.float32)
        prob = 1.0 / (1.0 + np.exp(-logit))
        return prob.astype(np.float32), gt
    f = _smooth_field(rng, c, shape, cells)
    gt = f.argmax(axis=0).astype(np.uint8)
    logits = 3.0 * f
    logits += 1.2 * _smooth_field(rng, c, shape, tuple(2 * k for k in cells))
    logits += 0.8 * rng.standard_normal((c, *shape), dtype=np.float32)
    return _softmax0(logits).astype(np.float32, copy=False), gt


_PALETTE = [0, 0, 0, 128, 128, 128, 220, 20, 60, 34, 139, 34, 30, 144, 255, 255, 215, 0, 148, 0, 211, 0, 206, 209]


def _save_png(labels: np.ndarray, path: Path, palette: bool) -> None:
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(labels, np.uint8))  # mode "L"
    if palette:
        img.putpalette(_PALETTE + [0] * (768 - len(_PALETTE)))  # L -> P, pixel values = palette indices
    img.save(path, format="PNG")


def _gen_params(name: str, p: dict[str, Any]) -> dict[str, Any]:
    keep = {k: v for k, v in p.items() if k not in ("quick", "torch_subset", "desc")}
    return {"workload": name, "gen_version": GEN_VERSION, "seed": SEED,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in keep.items()}}


def _pair_paths(folder: Path, p: dict[str, Any], i: int) -> tuple[Path, Path]:
    gt_suffix = ".npy" if p["gt"] == "npy" else ".png"
    return folder / "pred" / f"{i:05d}.npy", folder / "gt" / f"{i:05d}{gt_suffix}"


def ensure_workload(name: str, p: dict[str, Any], folder: Path, link_from: Path | None = None) -> float:
    """Generate the workload into ``folder`` unless its manifest matches; return the seconds spent."""
    manifest = folder / "manifest.json"
    params = _gen_params(name, p)
    if manifest.exists():
        try:
            if json.loads(manifest.read_text()) == params:
                return 0.0
        except ValueError:
            pass
    t0 = time.perf_counter()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    wl_index = int(name[1]) + (10 if name[0] == "V" else 0)
    if p["task"] == "cls":
        rng = np.random.default_rng([SEED, wl_index])
        n, c = p["n"], p["classes"]
        labels = rng.integers(0, c, size=n, dtype=np.int64)
        logits = 1.5 * rng.standard_normal((n, c), dtype=np.float32)
        logits[np.arange(n), labels] += 2.0
        np.save(folder / "logits.npy", logits)
        np.save(folder / "labels.npy", labels)
    else:
        (folder / "pred").mkdir()
        (folder / "gt").mkdir()
        src_params = None
        if link_from is not None and (link_from / "manifest.json").exists():
            src_params = json.loads((link_from / "manifest.json").read_text())
        for i in range(p["n"]):
            pred_path, gt_path = _pair_paths(folder, p, i)
            if src_params is not None and i < src_params["n"] and \
                    {**src_params, "n": 0} == {**params, "n": 0}:  # same generator: pair i is identical
                src_pred, src_gt = _pair_paths(link_from, p, i)  # type: ignore[arg-type]
                os.link(src_pred, pred_path)
                os.link(src_gt, gt_path)
                continue
            prob, gt = _seg_pair(np.random.default_rng([SEED, wl_index, i]), p)
            np.save(pred_path, prob)
            if p["gt"] == "npy":
                np.save(gt_path, gt)
            else:
                _save_png(gt, gt_path, palette=p["gt"] == "palette_png")
    manifest.write_text(json.dumps(params, indent=1) + "\n")  # last: a partial folder is regenerated
    return time.perf_counter() - t0


def _files(folder: Path) -> list[Path]:
    return sorted(q for q in folder.rglob("*") if q.is_file() and q.suffix in (".npy", ".png"))


def warm_cache(folder: Path) -> None:
    """Read every file once so that all runs (the first included) read from the page cache."""
    buf = bytearray(1 << 22)
    for q in _files(folder):
        with open(q, "rb", buffering=0) as fh:
            while fh.readinto(buf):
                pass


def link_subset(folder: Path, p: dict[str, Any], k: int, dest: Path) -> Path:
    """``dest/{pred,gt}`` holding hard links to the first ``k`` pairs (no extra disk)."""
    if dest.exists():
        shutil.rmtree(dest)
    for side in ("pred", "gt"):
        (dest / side).mkdir(parents=True)
    for i in range(k):
        for src in _pair_paths(folder, p, i):
            os.link(src, dest / src.parent.name / src.name)
    return dest


# --------------------------------------------------------------------------------------------------------------
# Measured subprocesses
# --------------------------------------------------------------------------------------------------------------


# The measured command is started by this tiny runner, not by the benchmark process itself: Linux carries the
# peak RSS of the address space a process had before exec() into its ru_maxrss (with vfork, the parent's), so a
# child spawned directly from this (large) process would report at least this process's peak.
RUNNER = r"""
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_pid, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
proc.returncode = os.waitstatus_to_exitcode(status)
with open(sys.argv[1], "w") as fh:
    json.dump({"wall": wall, "maxrss_kb": ru.ru_maxrss, "cpu": ru.ru_utime + ru.ru_stime, "sys": ru.ru_stime,
               "minflt": ru.ru_minflt, "rc": proc.returncode}, fh)
"""


def _busy_jiffies() -> tuple[int, float]:
    """(busy jiffies of all CPUs, time) from /proc/stat (0 where unavailable)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, time.perf_counter()
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, time.perf_counter()


QUIET = {"budget": 120.0, "waited": 0.0}  # seconds the benchmark may spend waiting for other processes to calm down


def wait_quiet(max_wait: float = 15.0) -> float:
    """Wait (up to ``max_wait`` s, within the run's overall budget) until other processes use < BUSY cores."""
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    t_start = time.perf_counter()
    limit = min(max_wait, QUIET["budget"] - QUIET["waited"])
    while True:
        j0, t0 = _busy_jiffies()
        time.sleep(0.3)
        j1, t1 = _busy_jiffies()
        waited = time.perf_counter() - t_start
        if not j1 or (j1 - j0) / hz / (t1 - t0) < BUSY or waited >= limit:
            QUIET["waited"] += waited
            return waited


def run_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a measured run: this one with Python's bytecode cache on, as for an installed package
    (with ``PYTHONDONTWRITEBYTECODE`` set, every run would compile lossctl's modules again: 0.2-0.4 s a run,
    most of a start-up-bound run such as V3's), plus ``extra``."""
    env = {**os.environ, **(extra or {})}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def compile_bytecode() -> None:
    """Compile lossctl's modules once before the runs (into its ``__pycache__`` folders, git-ignored)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "lossctl")], env=run_env(), check=False,
                   stdout=subprocess.DEVNULL)


def run_measured(cmd: list[str], log: Path, stdout: Path | None = None,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` in a fresh process; return wall seconds, CPU seconds, peak RSS (MB), exit code, and the CPU
    that other processes of the machine used meanwhile (cores busy on average: the benchmark is not alone)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    fd, res_path = tempfile.mkstemp(prefix="bench-", suffix=".json")
    os.close(fd)
    hz = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    wait_quiet()
    try:
        with open(log, "wb") as err, open(stdout or os.devnull, "wb") as out:
            j0, t0 = _busy_jiffies()
            subprocess.run([sys.executable, "-S", "-c", RUNNER, res_path, *cmd], stdout=out, stderr=err,
                           stdin=subprocess.DEVNULL, cwd=ROOT, check=False, env=run_env(env))
            j1, t1 = _busy_jiffies()
        try:
            m = json.loads(Path(res_path).read_text())
        except ValueError:  # the runner itself failed (e.g. the command does not exist)
            m = {"wall": time.perf_counter() - t0, "maxrss_kb": 0, "cpu": 0.0, "sys": 0.0, "minflt": 0, "rc": 127}
    finally:
        Path(res_path).unlink(missing_ok=True)
    others = max(0.0, (j1 - j0) / hz - m["cpu"]) / max(t1 - t0, 1e-9) if j1 else float("nan")
    result = {"cmd": cmd, "wall": m["wall"], "cpu": m["cpu"], "sys": m["sys"], "minflt": m["minflt"],
              "rss_mb": m["maxrss_kb"] / 1024.0, "rc": m["rc"], "others": others}
    if m["rc"] != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        result["error"] = " | ".join(tail)
        print(f"    ! exit {m['rc']}: {result['error']}", file=sys.stderr)
    return result


def best_of(cmd: list[str], log: Path, repeat: int, stdout: Path | None = None) -> dict[str, Any]:
    runs = [run_measured(cmd, log, stdout) for _ in range(max(1, repeat))]
    best = min(runs, key=lambda r: r["wall"])
    best["rss_mb"] = max(r["rss_mb"] for r in runs)
    best["others"] = max(r["others"] for r in runs)
    best["walls"] = [r["wall"] for r in runs]
    return best


LOAD_ONLY_SCRIPT = r"""
import json, sys
import numpy as np
from lossctl import io
task, a, b = sys.argv[1:4]
total = 0.0
if task == "seg":
    from lossctl.dataset.pairing import pair_files
    pairs = pair_files(a, b).pairs
    for pair in pairs:
        for path in (pair.pred, pair.gt):
            total += float(np.asarray(io.load_array(path).array).sum())  # touch every byte of the memory map
    n = len(pairs)
else:
    for path in (a, b):
        arr = io.load_table(path).array
        total += float(np.asarray(arr).sum())
        n = arr.shape[0]
print(json.dumps({"n": n, "checksum": total}))
"""

TORCH_SEG_SCRIPT = r"""
import importlib.util, json, os, sys, time, types
t_start = time.perf_counter()
cfg = json.load(open(sys.argv[1]))
import numpy as np
import torch
import torch.nn.functional as F
sys.path.append(cfg["pil_path"])  # Pillow of the project venv (same interpreter version), appended: numpy stays torch's
from PIL import Image
if cfg["threads"]:
    torch.set_num_threads(cfg["threads"])
spec = importlib.util.find_spec("segmentation_models_pytorch")
pkg = list(spec.submodule_search_locations)[0]
for name, path in (("segmentation_models_pytorch", pkg), ("segmentation_models_pytorch.losses", pkg + "/losses")):
    stub = types.ModuleType(name); stub.__path__ = [path]; sys.modules[name] = stub  # skip smp's __init__ (torchvision)
smp = {}
for name in ("constants", "_functional", "dice", "jaccard", "tversky", "lovasz", "focal"):
    full = "segmentation_models_pytorch.losses." + name
    s = importlib.util.spec_from_file_location(full, os.path.join(pkg, "losses", name + ".py"))
    m = importlib.util.module_from_spec(s); sys.modules[full] = m; s.loader.exec_module(m); smp[name] = m
tv, ftv = cfg["tversky"], cfg["focal_tversky"]
dice = smp["dice"].DiceLoss("multiclass", from_logits=False)
jaccard = smp["jaccard"].JaccardLoss("multiclass", from_logits=False)
tversky = smp["tversky"].TverskyLoss("multiclass", from_logits=False, alpha=tv["alpha"], beta=tv["beta"])
focal_tversky = smp["tversky"].TverskyLoss("multiclass", from_logits=False, alpha=ftv["alpha"], beta=ftv["beta"],
                                           gamma=ftv["gamma"])
focal = smp["focal"].FocalLoss("multiclass", from_logits=False, gamma=cfg["focal_gamma"])
lovasz_softmax = smp["lovasz"]._lovasz_softmax
c = cfg["classes"]

def load(path):
    if path.endswith(".npy"):
        return np.load(path)
    with Image.open(path) as im:
        return np.asarray(im)

t_loop = time.perf_counter()
out = []
with torch.no_grad():
    for pred_path, gt_path in cfg["pairs"]:
        p = torch.from_numpy(load(pred_path))
        y = torch.from_numpy(load(gt_path).astype(np.int64))[None]
        if cfg["binary"]:
            p = torch.stack([1 - p, p])
        p = p[None]  # a batch of one: (1, C, *spatial)
        v = [F.nll_loss(torch.clamp(torch.log(p), min=-100.0), y).item(),  # CE on probabilities
             focal(p, y).item(), dice(p, y).item(), jaccard(p, y).item(), tversky(p, y).item(),
             focal_tversky(p, y).item()]
        if cfg["lovasz"]:
            v.append(lovasz_softmax(p, y, classes="present").item())
        cm = torch.bincount((y.reshape(-1) * c + p.argmax(dim=1).reshape(-1)), minlength=c * c)  # the metrics' input
        v.append(int(cm.sum()))
        out.append(v)
t_end = time.perf_counter()
print(json.dumps({"n": len(out), "import": t_loop - t_start, "loop": t_end - t_loop, "threads": torch.get_num_threads(),
                  "torch": torch.__version__, "smp": open(os.path.join(pkg, "__version__.py")).read().split("=")[-1].strip().strip("\"'")
                  if os.path.exists(os.path.join(pkg, "__version__.py")) else "?",
                  "checksum": float(np.nansum(np.array(out, dtype=float)))}))
"""

TORCH_CLS_SCRIPT = r"""
import json, sys, time
t_start = time.perf_counter()
cfg = json.load(open(sys.argv[1]))
import numpy as np
import torch
import torch.nn.functional as F
if cfg["threads"]:
    torch.set_num_threads(cfg["threads"])
t_loop = time.perf_counter()
with torch.no_grad():
    x = torch.from_numpy(np.load(cfg["pred"])).double()
    y = torch.from_numpy(np.load(cfg["target"]))
    n, c = x.shape
    onehot = F.one_hot(y, c).double()
    logp = F.log_softmax(x, dim=1)
    v = {}
    v["cce"] = F.cross_entropy(x, onehot).item()                      # probability (one-hot) targets
    v["sparse_cce"] = F.cross_entropy(x, y).item()                   # index targets
    v["label_smoothing_ce"] = F.cross_entropy(x, y, label_smoothing=0.1).item()
    lpy = logp.gather(1, y[:, None])[:, 0]
    v["focal"] = (-(1 - lpy.exp()) ** cfg["gamma"] * lpy).mean().item()  # softmax focal
    v["multiclass_hinge"] = F.multi_margin_loss(x, y).item()
    guess = x.argmax(dim=1)
    cm = torch.bincount(y * c + guess, minlength=c * c).reshape(c, c).double()
    tp = cm.diag(); fp = cm.sum(0) - tp; fn = cm.sum(1) - tp
    v["accuracy"] = (tp.sum() / cm.sum()).item()
    v["precision"] = (tp / (tp + fp)).mean().item(); v["recall"] = (tp / (tp + fn)).mean().item()
    v["f1"] = (2 * tp / (2 * tp + fp + fn)).mean().item()
t_end = time.perf_counter()
print(json.dumps({"n": int(n), "import": t_loop - t_start, "loop": t_end - t_loop, "threads": torch.get_num_threads(),
                  "torch": torch.__version__, "values": v}))
"""


def run_torch(torch_python: str, script: str, cfg: dict[str, Any], out: Path,
              stem: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Run a torch baseline script in the side interpreter with ``cfg``; return the measured run and the JSON it
    printed last (None, with the run marked skipped, when it failed)."""
    cfg_path = out / f"{stem}.cfg.json"
    cfg_path.write_text(json.dumps(cfg))
    stdout = out / f"{stem}.out"
    r = run_measured([torch_python, "-c", script, str(cfg_path)], out / f"{stem}.log", stdout)
    info = _last_json(stdout)
    if r["rc"] != 0 or info is None:
        r["skipped"] = f"torch run failed: {r.get('error', 'no output')}"
        return r, None
    r["info"] = info
    return r, info


def _last_json(path: Path) -> dict[str, Any] | None:
    try:
        lines = [ln for ln in path.read_text().splitlines() if ln.strip().startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def probe_torch(torch_python: str | None) -> tuple[str | None, str]:
    """(interpreter or None, note)."""
    if not torch_python:
        return None, "torch baseline skipped (no --torch-python given)"
    if not Path(torch_python).exists():
        return None, f"torch baseline skipped ({torch_python} does not exist)"
    probe = subprocess.run([torch_python, "-c", "import torch, numpy, importlib.util as u; "
                            "assert u.find_spec('segmentation_models_pytorch'); print(torch.__version__)"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["?"])[-1]
        return None, f"torch baseline skipped ({torch_python} cannot import torch + smp: {last})"
    return torch_python, f"torch {probe.stdout.strip()} (the interpreter given as --torch-python / TORCH_PYTHON)"


# --------------------------------------------------------------------------------------------------------------
# One workload
# --------------------------------------------------------------------------------------------------------------


def lossctl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "lossctl", *args]


def rounds(cmds: dict[str, tuple[list[str], Path, Path | None]], repeat: int,
           env: dict[str, dict[str, str]] | None = None) -> dict[str, dict[str, Any]]:
    """Run every command once per round, side by side (A B C, A B C, ...), ``repeat`` rounds. Each result holds
    its median wall/CPU/system time and minor faults, its largest peak RSS, and every round's wall time, so that
    ratios can be taken round by round (the machine's speed drifts; a ratio within a round does not)."""
    walls: dict[str, list[dict[str, Any]]] = {k: [] for k in cmds}
    for _ in range(max(1, repeat)):
        for key, (cmd, log, stdout) in cmds.items():
            walls[key].append(run_measured(cmd, log, stdout, (env or {}).get(key)))
    found = {}
    for key, runs in walls.items():
        failed = [r for r in runs if r["rc"] != 0]
        if failed:
            found[key] = failed[0]
            continue
        med = {k: float(np.median([r[k] for r in runs])) for k in ("wall", "cpu", "sys", "minflt")}
        found[key] = {**runs[0], **med, "rss_mb": max(r["rss_mb"] for r in runs),
                      "others": max(r["others"] for r in runs), "walls": [r["wall"] for r in runs]}
    return found


def bench_seg(name: str, p: dict[str, Any], folder: Path, out: Path, args: argparse.Namespace,
              torch_python: str | None) -> dict[str, Any]:
    pred, gt = str(folder / "pred"), str(folder / "gt")
    n = p["n"]
    pixels = n * int(np.prod(p["shape"]))
    res: dict[str, Any] = {"name": name, "task": "seg", "n": n, "pixels": pixels, "unit": "pixels",
                           "desc": p["desc"], "runs": {}, "notes": [], "labels": p.get("pred") == "labels"}
    metric_args = [a for m in SEG_METRICS for a in ("--metric", m)]
    cmds = {"load": ([sys.executable, "-c", LOAD_ONLY_SCRIPT, "seg", pred, gt], out / f"{name}-load.log", None),
            "metrics": (lossctl_cmd("seg", pred, gt, *metric_args, "-f", "json", "-o",
                                    str(out / f"{name}-metrics.json"), "--workers", "1"), out / f"{name}-metrics.log",
                        None)}
    if name == "W1":  # the calibration values against the metrics alone (one pass of bin sums per image)
        cmds["calibration"] = (lossctl_cmd("seg", pred, gt, "-m", ",".join(CALIBRATION), "-f", "json", "-o",
                                           str(out / f"{name}-calibration.json"), "--workers", "1"),
                               out / f"{name}-calibration.log", None)
    if not res["labels"]:  # label predictions have no losses: the metrics are all values
        for w in (1, 2):
            cmds[f"all_w{w}"] = (lossctl_cmd("seg", pred, gt, "-f", "json", "-o", str(out / f"{name}-all-w{w}.json"),
                                             "--workers", str(w)), out / f"{name}-all-w{w}.log", None)
    if name == "W1" and _has_dask():  # the same run on a Dask cluster of 2 local workers, started by the run
        cmds["all_dask2"] = (lossctl_cmd("seg", pred, gt, "-f", "json", "-o", str(out / f"{name}-all-dask2.json"),
                                         "--scheduler", "local:2"), out / f"{name}-all-dask2.log", None)
    print(f"  {name}: {', '.join(cmds)} side by side, {args.repeat} round(s)", flush=True)
    res["runs"] = rounds(cmds, args.repeat)
    runs = res["runs"]
    if not res["labels"]:
        a, b = out / f"{name}-all-w1.json", out / f"{name}-all-w2.json"
        res["identical_w1_w2"] = a.exists() and b.exists() and a.read_bytes() == b.read_bytes()
        if not res["identical_w1_w2"]:
            res["notes"].append("JSON of --workers 1 and --workers 2 DIFFER")
        if "all_dask2" in cmds:
            dask = out / f"{name}-all-dask2.json"
            res["identical_dask"] = dask.exists() and b.exists() and dask.read_bytes() == b.read_bytes()
            if not res["identical_dask"]:
                res["notes"].append("JSON of --scheduler local:2 and --workers 2 DIFFER")
        if torch_python:
            runs.update(bench_torch_seg(name, p, folder, out, args, torch_python))
    else:
        first_pred, first_gt = _pair_paths(folder, p, 0)
        res["pair_mb"] = (first_pred.stat().st_size + first_gt.stat().st_size) / MB
    return res


def _has_dask() -> bool:
    """Whether the `dask` extra is installed (`seg --scheduler`)."""
    import importlib.util

    return importlib.util.find_spec("distributed") is not None


def bench_torch_seg(name: str, p: dict[str, Any], folder: Path, out: Path, args: argparse.Namespace,
                    torch_python: str) -> dict[str, Any]:
    from PIL import Image

    from lossctl import registry

    n = p["n"]
    k = n if (args.torch_full or not p.get("torch_subset")) else min(n, p["torch_subset"])
    pairs = [[str(q) for q in _pair_paths(folder, p, i)] for i in range(k)]
    cfg = {"pairs": pairs, "classes": p["classes"], "binary": p["classes"] == 2, "threads": args.torch_threads,
           "pil_path": str(Path(Image.__file__).resolve().parents[1]),
           "tversky": registry.get("seg", "tversky_loss").defaults(),
           "focal_tversky": registry.get("seg", "focal_tversky_loss").defaults(),
           "focal_gamma": registry.get("seg", "focal").defaults()["gamma"]}
    found: dict[str, Any] = {}
    for label, lovasz in (("torch", True), ("torch_nolovasz", False)):
        print(f"  {name}: torch + smp baseline{'' if lovasz else ' without Lovasz'} on {k} of {n} pairs", flush=True)
        r, info = run_torch(torch_python, TORCH_SEG_SCRIPT, {**cfg, "lovasz": lovasz}, out, f"{name}-{label}")
        if info is not None:
            r["measured_wall"] = r["wall"]
            if k < n:  # scale the per-pair loop to all pairs; start-up (imports) counted once
                r["wall"] = r["wall"] + info["loop"] * (n / k - 1)
                r["scaled_from"] = k
        found[label] = r
    return found


def bench_cls(name: str, p: dict[str, Any], folder: Path, out: Path, args: argparse.Namespace,
              torch_python: str | None) -> dict[str, Any]:
    pred, target = str(folder / "logits.npy"), str(folder / "labels.npy")
    res: dict[str, Any] = {"name": name, "task": "cls", "n": p["n"], "pixels": p["n"], "unit": "samples",
                           "desc": p["desc"], "runs": {}, "notes": ["lossctl cls has no --workers: single process"]}
    runs = res["runs"]
    print(f"  {name}: load-only", flush=True)
    runs["load"] = best_of([sys.executable, "-c", LOAD_ONLY_SCRIPT, "cls", pred, target], out / f"{name}-load.log",
                           args.repeat)
    print(f"  {name}: lossctl cls metrics only", flush=True)
    metric_args = [a for m in CLS_METRICS for a in ("--metric", m)]
    runs["metrics"] = best_of(lossctl_cmd("cls", pred, target, "--pred-kind", "logits", *metric_args, "-f", "json",
                                          "-o", str(out / f"{name}-metrics.json")), out / f"{name}-metrics.log",
                              args.repeat)
    print(f"  {name}: lossctl cls all losses + metrics", flush=True)
    runs["all_w1"] = best_of(lossctl_cmd("cls", pred, target, "--pred-kind", "logits", "-f", "json", "-o",
                                         str(out / f"{name}-all.json")), out / f"{name}-all.log", args.repeat)
    if torch_python:
        from lossctl import registry

        print(f"  {name}: torch baseline", flush=True)
        cfg = {"pred": pred, "target": target, "threads": args.torch_threads,
               "gamma": registry.get("cls", "focal").defaults()["gamma"]}
        r, info = run_torch(torch_python, TORCH_CLS_SCRIPT, cfg, out, f"{name}-torch")
        if info is not None:
            try:  # the same numbers? (multiclass_hinge: torch's multi_margin_loss is another definition)
                mine = json.loads((out / f"{name}-all.json").read_text())["summary"]["mean"]
                common = [k for k in info["values"] if k in mine and k != "multiclass_hinge" and mine[k] is not None]
                res["crosscheck"] = {"values": common, "max_rel_diff": max(
                    abs(info["values"][k] - mine[k]) / max(1e-12, abs(mine[k])) for k in common)}
            except (OSError, ValueError, KeyError):
                pass
        runs["torch"] = r
    return res


def bench_memory_flatness(p: dict[str, Any], folder_small: Path, base: Path, out: Path) -> dict[str, Any]:
    """W1 with 10x the pairs (2000; --quick: 200), the first ones hard-linked from W1: peak RSS of lossctl all."""
    n_big = FLAT_FACTOR * p["n"]
    p2 = {**p, "n": n_big}
    folder = base / f"W1x{n_big}"
    print(f"  W1x{n_big}: generating (if needed)", flush=True)
    gen = ensure_workload("W1", p2, folder, link_from=folder_small)
    warm_cache(folder)
    print(f"  W1x{n_big}: lossctl all metrics + losses, --workers 1", flush=True)
    r = run_measured(lossctl_cmd("seg", str(folder / "pred"), str(folder / "gt"), "-f", "json", "-o",
                                 str(out / f"W1x{n_big}-all-w1.json"), "--workers", "1"),
                     out / f"W1x{n_big}-all-w1.log")
    return {"n": n_big, "pixels": n_big * int(np.prod(p["shape"])), "run": r, "gen_seconds": gen}


def startup_times(w1_folder: Path, p: dict[str, Any], out: Path) -> dict[str, Any]:
    """``lossctl --help`` and a one-pair ``lossctl seg`` run (W1 pair 0): min of 5 each."""
    pred, gt = _pair_paths(w1_folder, p, 0)
    helps = [run_measured(lossctl_cmd("--help"), out / "help.log") for _ in range(5)]
    ones = [run_measured(lossctl_cmd("seg", str(pred), str(gt), "-f", "json", "-o", str(out / "one-pair.json")),
                         out / "one-pair.log") for _ in range(5)]
    return {"help": min(r["wall"] for r in helps), "help_rss": max(r["rss_mb"] for r in helps),
            "one_pair": min(r["wall"] for r in ones), "one_pair_rss": max(r["rss_mb"] for r in ones),
            "help_rc": max(r["rc"] for r in helps), "one_pair_rc": max(r["rc"] for r in ones)}


def sort_speed(n: int = 1 << 18) -> dict[str, float]:
    """NumPy's ``sort`` of ``n`` uint32 keys below 2**31 (a W1 class's Lovász keys), in ns per value: random keys,
    the same keys already in order, and ``kind='heapsort'`` (a scalar heapsort is several times slower than a
    quicksort and fast on sorted input; a vectorised sort takes about the same time for all three)."""
    import time

    keys = np.random.default_rng(0).integers(0, 1 << 31, n).astype(np.uint32)

    def best(a: np.ndarray, kind: str | None = None) -> float:
        times = []
        for _ in range(7):
            b = a.copy()
            start = time.perf_counter()
            b.sort(kind=kind)  # type: ignore[arg-type]
            times.append(time.perf_counter() - start)
        return 1e9 * min(times) / n

    return {"random": best(keys), "in_order": best(np.sort(keys)), "heapsort": best(keys, "heapsort")}


def profile_run(label: str, lossctl_args: list[str], out: Path) -> dict[str, Any]:
    """cProfile of one lossctl run: the top functions by own time, and lossctl's functions by cumulative time."""
    prof = out / f"{label}-profile.pstats"
    r = run_measured([sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "lossctl", *lossctl_args,
                      "-f", "json", "-o", str(out / f"{label}-profile.json")], out / f"{label}-profile.log")
    if r["rc"] != 0 or not prof.exists():
        return {"error": r.get("error", "no profile written")}
    st = pstats.Stats(str(prof))
    total = st.total_tt  # type: ignore[attr-defined]
    rows = []
    for (file, line, func), (_cc, nc, tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        rows.append({"func": _func_name(file, line, func), "calls": nc, "tottime": tt, "cumtime": ct})
    by_tot = sorted(rows, key=lambda x: -x["tottime"])[:15]
    interesting = [x for x in sorted(rows, key=lambda x: -x["cumtime"])
                   if "lossctl" in x["func"] and "lossctl/cli/" not in x["func"] and "__main__" not in x["func"]][:15]
    share = {"sort": sum(x["tottime"] for x in rows if x["func"].startswith("<method 'sort'")),
             "lovasz": max([x["cumtime"] for x in rows if x["func"].endswith("(lovasz_softmax)")] or [0.0]),
             "sums": max([x["cumtime"] for x in rows if x["func"].endswith("(lovasz_sorted)")] or [0.0])}
    return {"total": total, "wall": r["wall"], "by_tottime": by_tot, "by_cumtime": interesting, "share": share,
            "sort_speed": sort_speed(),
            "pstats": str(prof.relative_to(ROOT)) if prof.is_relative_to(ROOT) else str(prof)}


# --------------------------------------------------------------------------------------------------------------
# Memory: a probability volume beyond the budget (chunks), decompression bombs, glibc's allocator
# --------------------------------------------------------------------------------------------------------------

CHUNKED = dict(task="seg", n=1, shape=(128, 512, 512), classes=5, gt="npy", cells=(6, 24, 24),
               desc="1 probability volume 5x128x512x512 float32 (640 MiB) + uint8 GT, NPY",
               quick=dict(shape=(32, 512, 512)))
#: Budgets below the whole evaluation (5.2 GiB) that still hold the Lovász loss's sort of one whole class (16 bytes a
#: voxel of a class: 512 MiB here): a smaller budget is refused up front, as the budget bounds the real peak.
CHUNK_BUDGETS = ("1G", "768M")


def bench_chunked(base: Path, out: Path, quick: bool) -> dict[str, Any]:
    """The volume evaluated whole (default budget) and in chunks (:data:`CHUNK_BUDGETS`): peak RSS, and
    whether the reports are the same bytes (their recorded --max-memory aside)."""
    p = {**CHUNKED, **(CHUNKED["quick"] if quick else {})}
    folder = base / "P1"
    gen = ensure_workload("P1", p, folder)
    warm_cache(folder)
    found: dict[str, Any] = {"desc": p["desc"], "gen": gen, "runs": {}}
    docs = {}
    for budget in (None, *CHUNK_BUDGETS):
        label = budget or "default"
        print(f"  P1: lossctl seg, all values, --max-memory {label}", flush=True)
        report = out / f"P1-{label}.json"
        extra = ["--max-memory", budget] if budget else []
        found["runs"][label] = run_measured(lossctl_cmd("seg", str(folder / "pred"), str(folder / "gt"), "-f", "json",
                                                        "-o", str(report), "--workers", "1", *extra),
                                            out / f"P1-{label}.log")
        try:
            doc = json.loads(report.read_text())
            doc["config"]["options"].pop("max_memory", None)
            docs[label] = json.dumps(doc, sort_keys=True)
        except (OSError, ValueError, KeyError):
            docs[label] = None
    found["identical"] = docs["default"] is not None and len(set(docs.values())) == 1
    found["volume_mb"] = sum(q.stat().st_size for q in _files(folder)) / MB
    return found


def _zlib_zeros(n: int, block: int) -> bytes:
    """A zlib stream of ``n`` zero bytes in milliseconds: a block compressed after a full flush, repeated."""
    import struct
    import zlib

    c = zlib.compressobj(9)
    head = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(bytes(block)) + c.flush(zlib.Z_FULL_FLUSH)
    return head + again * (n // block - 1) + b"\x01\x00\x00\xff\xff" + struct.pack(">I", (n % 65521) << 16 | 1)


def write_bombs(folder: Path, side: int = 40000) -> list[Path]:
    """A 1-bit PNG and a deflate TIFF of side x side zeros (a few hundred KB each, 1.5 GiB decoded)."""
    import struct
    import zlib

    folder.mkdir(parents=True, exist_ok=True)
    png, tif = folder / "bomb.png", folder / "bomb.tif"
    if not png.exists():
        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
        row = 1 + side // 8
        png.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0))
                        + chunk(b"IDAT", _zlib_zeros(row * side, row * 1000)) + chunk(b"IEND", b""))
    if not tif.exists():
        data = _zlib_zeros(side * side, side * 100)
        tags = [(256, 4, side), (257, 4, side), (258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 0), (277, 3, 1),
                (278, 4, side), (279, 4, len(data))]
        offset = 8 + 2 + 12 * len(tags) + 4
        ifd = b"".join(struct.pack("<HHI", t, k, 1) + (struct.pack("<HH", v, 0) if k == 3 else
                       struct.pack("<I", offset if t == 273 else v)) for t, k, v in tags)
        tif.write_bytes(b"II*\x00" + struct.pack("<IH", 8, len(tags)) + ifd + struct.pack("<I", 0) + data)
    return [png, tif]


def bench_bombs(base: Path, out: Path) -> list[dict[str, Any]]:
    """`lossctl seg` on a pair whose ground truth is a bomb, under --max-memory 1G: exit 3, time, peak RSS."""
    found = []
    for bomb in write_bombs(base / "bombs" / "files"):
        pair = base / "bombs" / bomb.suffix[1:]
        for side in ("pred", "gt"):
            (pair / side).mkdir(parents=True, exist_ok=True)
        np.save(pair / "pred" / "bomb.npy", np.zeros((8, 8), np.float32))
        target = pair / "gt" / bomb.name
        if not target.exists():
            os.link(bomb, target)
        print(f"  bomb: {bomb.name} ({bomb.stat().st_size / 1024:.0f} KiB) under --max-memory 1G", flush=True)
        r = run_measured(lossctl_cmd("seg", str(pair / "pred"), str(pair / "gt"), "--max-memory", "1G"),
                         out / f"bomb-{bomb.suffix[1:]}.log")
        lines = [ln for ln in (out / f"bomb-{bomb.suffix[1:]}.log").read_text().splitlines() if ln.startswith("error:")]
        found.append({"file": bomb.name, "kib": bomb.stat().st_size / 1024, "run": r, "message": lines[0] if lines else ""})
    return found


def bench_malloc(w1_folder: Path, p: dict[str, Any], base: Path, out: Path, repeat: int,
                 k: int = 20) -> dict[str, Any]:
    """All values on the first ``k`` W1 pairs with glibc's allocator as lossctl sets it and with its defaults."""
    k = min(k, p["n"])
    sub = link_subset(w1_folder, p, k, base / f"W1-sub{k}")
    cmd = lossctl_cmd("seg", str(sub / "pred"), str(sub / "gt"), "-f", "json", "-o", str(out / "malloc.json"),
                      "--workers", "1")
    print(f"  W1 x {k}: glibc allocator kept vs defaults, {repeat} round(s)", flush=True)
    runs = rounds({"kept": (cmd, out / "malloc-kept.log", None), "defaults": (cmd, out / "malloc-defaults.log", None)},
                  repeat, env={"defaults": {"LOSSCTL_MALLOC_DEFAULTS": "1"}})
    return {"k": k, "runs": runs}


def extra_targets(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Target rows of the memory experiments."""
    rows: list[dict[str, Any]] = []
    ch = extra.get("chunked")
    if ch:
        runs = ch["runs"]
        ok = all(_ok(r) for r in runs.values())
        rows.append({"workload": "P1", "what": f"JSON across --max-memory default, {', '.join(CHUNK_BUDGETS)} (chunks)",
                     "value": "identical" if ch["identical"] else "DIFFER", "target": "identical",
                     "met": "met" if ch["identical"] and ok else "NOT met", "note": "the recorded --max-memory aside"})
        if ok:
            whole, small = runs["default"]["rss_mb"], runs[CHUNK_BUDGETS[-1]]["rss_mb"]
            rows.append({"workload": "P1", "what": f"peak RSS, --max-memory {CHUNK_BUDGETS[-1]} / whole volume",
                         "value": f"{small / whole:.2f}", "target": "< 1 (bounded)",
                         "met": "met" if small < whole else "NOT met",
                         "note": f"{small:.0f} MB vs {whole:.0f} MB; volume {ch['volume_mb']:.0f} MB on disk"})
    for b in extra.get("bombs", []):
        r = b["run"]
        good = r["rc"] == 3 and r["wall"] < 1.0 and r["rss_mb"] < 200 and "memory budget" in b["message"]
        rows.append({"workload": "bombs", "what": f"{b['file']} ({b['kib']:.0f} KiB) refused: wall s / peak RSS MB",
                     "value": f"{r['wall']:.2f} / {r['rss_mb']:.0f}", "target": "< 1 / < 200, exit 3",
                     "met": "met" if good else "NOT met", "note": f"exit {r['rc']}"})
    return rows


def render_memory(extra: dict[str, Any]) -> list[str]:
    L: list[str] = []
    ch = extra.get("chunked")
    if ch:
        L.append(f"## P1: {ch['desc']}, beyond the memory budget\n")
        L.append("The same volume evaluated whole and, under a small `--max-memory`, in chunks of its leading "
                 "spatial axis (every value the same bits: per-slice partial sums added exactly; Lovász one class "
                 "at a time).\n")
        L.append("| run | wall (s) | CPU (s) | system | minor faults | peak RSS (MB) | other load |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        for label, r in ch["runs"].items():
            if not _ok(r):
                L.append(f"| --max-memory {label} | – | – | – | – | – | {r.get('error', 'failed')} |")
                continue
            L.append(f"| --max-memory {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {_sys_share(r)} | "
                     f"{r['minflt']:,.0f} | {r['rss_mb']:.0f} | {_load(r)} |")
        L.append("")
    if extra.get("bombs"):
        L.append("## Decompression bombs (`--max-memory 1G`)\n")
        for b in extra["bombs"]:
            r = b["run"]
            L.append(f"- `{b['file']}` ({b['kib']:.0f} KiB): exit {r['rc']} in {r['wall']:.2f} s, peak RSS "
                     f"{r['rss_mb']:.0f} MB: `{b['message']}`")
        L.append("")
    m = extra.get("malloc")
    if m and all(_ok(r) for r in m["runs"].values()):
        kept, dflt = m["runs"]["kept"], m["runs"]["defaults"]
        L.append(f"## glibc's allocator: W1, {m['k']} pairs, all values, --workers 1\n")
        L.append("Each image allocates and frees temporaries of its own size. lossctl asks glibc (`mallopt`) to serve "
                 "every block from the heap and to keep freed memory for reuse, up to the memory budget, instead of "
                 "handing it back to the kernel and page-faulting it in again for the next image; "
                 "`LOSSCTL_MALLOC_DEFAULTS=1` leaves glibc's defaults (second row). Measured here: "
                 f"{kept['minflt']:,.0f} against {dflt['minflt']:,.0f} minor faults, system time "
                 f"{_sys_share(kept)} against {_sys_share(dflt)} of the CPU time (the blocked passes and the "
                 "blocked Lovász sums already avoid most image-sized temporaries).\n")
        L.append("| allocator | wall (s) | CPU (s) | system | minor faults | peak RSS (MB) |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, r in (("freed memory kept (lossctl)", kept), ("glibc defaults", dflt)):
            L.append(f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {_sys_share(r)} | {r['minflt']:,.0f} | "
                     f"{r['rss_mb']:.0f} |")
        L.append("")
    return L


def profile_w1(w1_folder: Path, p: dict[str, Any], base: Path, out: Path, k: int = 20) -> dict[str, Any]:
    """cProfile of ``lossctl seg`` (all values, --workers 1) on the first ``k`` W1 pairs."""
    k = min(k, p["n"])
    sub = link_subset(w1_folder, p, k, base / f"W1-sub{k}")
    found = profile_run("W1", ["seg", str(sub / "pred"), str(sub / "gt"), "--workers", "1"], out)
    found["title"] = f"W1, {k} pairs, `lossctl seg` all values, --workers 1"
    found["pixels"] = k * p["classes"] * int(np.prod(p["shape"]))
    return found


def profile_w5(folder: Path, p: dict[str, Any], out: Path) -> dict[str, Any]:
    found = profile_run("W5", ["cls", str(folder / "logits.npy"), str(folder / "labels.npy"), "--pred-kind", "logits"],
                        out)
    found["title"] = f"W5, {p['n']:,} samples, `lossctl cls --pred-kind logits` all values"
    return found


def _func_name(file: str, line: int, func: str) -> str:
    if file == "~":
        return func  # a builtin, e.g. "<method 'sort' of 'numpy.ndarray' objects>"
    path = Path(file)
    parts = path.parts
    if "lossctl" in parts:
        short = "/".join(parts[parts.index("lossctl"):])
    elif "site-packages" in parts:
        short = "/".join(parts[parts.index("site-packages") + 1:])
    else:
        short = path.name
    return f"{short}:{line}({func})"


# --------------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------------


def machine_info() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = f"{int(line.split()[1]) / MB:.1f} GiB"
    except OSError:
        pass
    import PIL

    import lossctl

    rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "lossctl"], cwd=ROOT, capture_output=True, text=True)
    git = rev.stdout.strip() or "?"
    if dirty.stdout.strip():
        git += " + uncommitted changes in lossctl/"
    return {"cpu": cpu, "cores": os.cpu_count(), "ram": ram, "python": platform.python_version(),
            "numpy": np.__version__, "pillow": PIL.__version__, "lossctl": lossctl.__version__, "git": git,
            "os": platform.platform(),
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def _fmt_rate(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.1f} {unit}"
    return f"{x:.0f}"


PERFORMANCE = ROOT / "docs" / "performance.md"
PERF_BEGIN, PERF_END = "<!-- BEGIN perf -->", "<!-- END perf -->"


def target_rows(results: list[dict[str, Any]], extra: dict[str, Any]) -> list[dict[str, Any]]:
    """Every row with a target (informative rows left out), in report order."""
    rows = [{**x, "workload": res["name"]} for res in results
            for x in ratios(res, extra.get("flat"), extra.get("startup", {}).get("one_pair"))]
    return [x for x in rows + extra_targets(extra) if x["met"] != "informative"]


def update_performance_page(rows: list[dict[str, Any]], info: dict[str, Any]) -> None:
    """Replace the performance page's table of targets (between the perf markers) with the targets of this run."""
    text = PERFORMANCE.read_text(encoding="utf-8")
    if PERF_BEGIN not in text or PERF_END not in text:
        return
    table = [PERF_BEGIN, f"From `make bench` at git {info['git']} on {info['date']} ({info['cores']} cores):", "",
             "| workload | ratio | value | target | status |", "|---|---|---:|---:|---|"]
    table += [f"| {x['workload']} | {x['what']} | {x['value'] if x['value'] is not None else '–'} | {x['target']} | "
              f"{x['met']} |" for x in rows]
    head, rest = text.split(PERF_BEGIN, 1)
    PERFORMANCE.write_text(head + "\n".join(table) + "\n" + PERF_END + rest.split(PERF_END, 1)[1], encoding="utf-8")


def _sys_share(r: dict[str, Any]) -> str:
    return f"{100 * r.get('sys', 0.0) / max(r['cpu'], 1e-9):.0f}%" if r.get("cpu") else "–"


def _load(r: dict[str, Any]) -> str:
    v = r.get("others", float("nan"))
    if v != v:
        return "?"
    return f"**{v:.2f}**" if v >= BUSY else f"{v:.2f}"


RUN_LABELS = {
    "load": "load-only baseline (lossctl.io.load_array + sum)",
    "metrics": "lossctl, metrics only, --workers 1",
    "calibration": "lossctl, all calibration values (ece, mce, rmsce, cw_ece, brier, nll), --workers 1",
    "all_w1": "lossctl, all metrics + losses, --workers 1",
    "all_w2": "lossctl, all metrics + losses, --workers 2",
    "torch": "torch + smp: CE, focal, Dice, Jaccard, Tversky, focal Tversky, Lovász, confusion",
    "torch_nolovasz": "torch + smp: the same without Lovász",
}


CLS_LABELS = {
    "load": "load-only baseline (lossctl.io.load_table + sum)",
    "metrics": "lossctl cls --pred-kind logits, metrics only",
    "all_w1": "lossctl cls --pred-kind logits, all losses + metrics",
    "torch": "torch: the same losses and metrics",
}


#: The targets of the speed-and-memory work, by workload: (what, numerator run, denominator run, op, target).
TARGETS: dict[str, list[tuple[str, str, str, str, float]]] = {
    "W1": [("metrics only / load-only (time)", "metrics", "load", "<=", 2.0),
           ("all calibration values / metrics only (time)", "calibration", "metrics", "<=", 5.0),
           ("all values, 1 worker / load-only (time)", "all_w1", "load", "<=", 8.0),
           ("all values, 2 workers / load-only (time)", "all_w2", "load", "<=", 5.0),
           ("torch+smp (all cores) / lossctl all values, 2 workers (time)", "torch", "all_w2", ">=", 10.0),
           ("all values, --scheduler local:2 / --workers 2 (time, the cluster's start-up included)", "all_dask2",
            "all_w2", "<=", 1.3)],
    "W2": [("all values, 1 worker / load-only (time)", "all_w1", "load", "<=", 8.0),
           ("all values, 2 workers / load-only (time)", "all_w2", "load", "<=", 5.0),
           ("torch+smp (all cores) / lossctl all values, 2 workers (time)", "torch", "all_w2", ">=", 10.0)],
    "V3": [("metrics / load-only (time)", "metrics", "load", "<=", 2.0)],
}
#: Ratios shown without a target (informative).
INFORMATIVE = [("metrics only / load-only (time)", "metrics", "load"),
               ("all values, 1 worker / load-only (time)", "all_w1", "load"),
               ("all values, 2 workers / load-only (time)", "all_w2", "load"),
               ("torch+smp (all cores) / lossctl all values, 2 workers (time)", "torch", "all_w2"),
               ("torch+smp without Lovász / lossctl all values, 2 workers", "torch_nolovasz", "all_w2"),
               ("speed-up --workers 1 / --workers 2", "all_w1", "all_w2"),
               ("torch / lossctl cls all (time)", "torch", "all_w1")]
SYS_SHARE = 0.10  # system time may be at most this share of the CPU time of every lossctl run
SYS_MIN_COMPUTE = 1.0  # ... that computes values for more than this many seconds (CPU beyond the start-up run)


def _ok(r: dict[str, Any] | None) -> bool:
    return bool(r) and r.get("rc") == 0 and "skipped" not in r


def _ratio(a: dict[str, Any], b: dict[str, Any]) -> float:
    """a / b in wall time: the median of the round-by-round ratios when both ran side by side."""
    wa, wb = a.get("walls"), b.get("walls")
    if wa and wb and len(wa) == len(wb) and not a.get("scaled_from"):
        return float(np.median([x / y for x, y in zip(wa, wb, strict=True)]))
    return a["wall"] / b["wall"]


def ratios(res: dict[str, Any], flat: dict[str, Any] | None, startup: float | None = None) -> list[dict[str, Any]]:
    """[{what, value, target, met, note}] for one workload: its targets, system time, and informative ratios.

    The system-time target holds for the lossctl runs that compute values for more than a second: CPU time
    beyond ``startup`` (the start-up and one-pair run, when measured) above :data:`SYS_MIN_COMPUTE`; the others
    are start-up-dominated (the imports' page faults) and named in the row's note."""
    runs = res["runs"]
    out: list[dict[str, Any]] = []
    busy_note = ""
    # the Dask run's own scheduler and workers are other processes to its measurement: not a busy machine
    worst_busy = max([r.get("others", 0.0) for key, r in runs.items() if _ok(r) and key != "all_dask2"] or [0.0])
    if worst_busy >= BUSY:
        busy_note = f"other processes used up to {worst_busy:.2f} cores meanwhile"
    targeted = set()
    for what, num, den, op, target in TARGETS.get(res["name"], []):
        a, b = runs.get(num), runs.get(den)
        targeted.add((num, den))
        if not (_ok(a) and _ok(b)):
            out.append({"what": what, "value": None, "target": f"{op} {target:g}", "met": "n/a",
                        "note": "not measured"})
            continue
        v = _ratio(a, b)  # type: ignore[arg-type]
        note = f"torch measured on {a['scaled_from']} of {res['n']} pairs, loop time scaled" \
            if a.get("scaled_from") else ""  # type: ignore[union-attr]
        out.append({"what": what, "value": f"{v:.2f}", "target": f"{op} {target:g}",
                    "met": "met" if (v <= target if op == "<=" else v >= target) else "NOT met",
                    "note": "; ".join(x for x in (note, busy_note) if x)})
    mine = {k: r for k, r in runs.items() if _ok(r) and k not in ("load",) and not k.startswith("torch")}
    short = sorted(k for k, r in mine.items() if startup is not None and r["cpu"] - startup <= SYS_MIN_COMPUTE)
    mine = {k: r for k, r in mine.items() if k not in short}
    cpus = [f"{k} ({runs[k]['cpu']:.2f} s CPU)" for k in short]
    aside = f"; start-up-dominated, left aside: {', '.join(cpus)}" if short else ""
    if mine:
        key, worst = max(mine.items(), key=lambda kv: kv[1]["sys"] / max(kv[1]["cpu"], 1e-9))
        share = worst["sys"] / max(worst["cpu"], 1e-9)
        out.append({"what": "system time / CPU time, worst lossctl run", "value": f"{100 * share:.1f}%",
                    "target": f"<= {100 * SYS_SHARE:.0f}%", "met": "met" if share <= SYS_SHARE else "NOT met",
                    "note": f"{key}: {worst['sys']:.2f} s of {worst['cpu']:.2f} s, {worst['minflt']:,.0f} minor faults"
                            f"{aside}"})
    elif short:  # every run start-up-dominated: the target does not apply, the shares are shown
        shares = ", ".join(f"{k} {100 * runs[k]['sys'] / max(runs[k]['cpu'], 1e-9):.1f}%" for k in short)
        out.append({"what": "system time / CPU time (no run computes values for more than a second)",
                    "value": "–", "target": "–", "met": "informative", "note": f"start-up-dominated: {shares}"})
    if res.get("labels") and _ok(runs.get("metrics")):
        limit = 2.5 * res["pair_mb"] + 100
        rss = runs["metrics"]["rss_mb"]
        out.append({"what": "peak RSS of metrics (MB)", "value": f"{rss:.0f}",
                    "target": f"<= {limit:.0f} (2.5 x {res['pair_mb']:.0f} MB pair + 100)",
                    "met": "met" if rss <= limit else "NOT met", "note": "labels stay uint8 (no int64 copies)"})
    if "all_w2" in runs and res["task"] == "seg":
        out.append({"what": "JSON --workers 1 vs 2", "value": "identical" if res.get("identical_w1_w2") else "DIFFER",
                    "target": "identical", "met": "met" if res.get("identical_w1_w2") else "NOT met", "note": ""})
    if "all_dask2" in runs and "identical_dask" in res:
        same = res["identical_dask"]
        out.append({"what": "JSON --scheduler local:2 vs --workers 2", "value": "identical" if same else "DIFFER",
                    "target": "identical", "met": "met" if same else "NOT met", "note": ""})
    for what, num, den in INFORMATIVE:
        a, b = runs.get(num), runs.get(den)
        if (num, den) in targeted or not (_ok(a) and _ok(b)):
            continue
        if res["task"] == "cls" and num == "torch" and den == "all_w2":
            continue
        if res["task"] == "seg" and "cls" in what:
            continue
        out.append({"what": what, "value": f"{_ratio(a, b):.2f}", "target": "–", "met": "informative",  # type: ignore
                    "note": ""})
    if res["name"] == "W1" and flat and _ok(flat["run"]) and _ok(runs.get("all_w1")):
        v = flat["run"]["rss_mb"] / runs["all_w1"]["rss_mb"]
        out.append({"what": f"peak RSS {flat['n']} / {res['n']} pairs (all, --workers 1)", "value": f"{v:.2f}",
                    "target": "<= 1.1", "met": "met" if v <= 1.1 else "NOT met",
                    "note": f"{flat['run']['rss_mb']:.0f} MB vs {runs['all_w1']['rss_mb']:.0f} MB"})
    return out


def render(results: list[dict[str, Any]], extra: dict[str, Any], info: dict[str, Any], args: argparse.Namespace,
           command: str) -> str:
    L: list[str] = []
    L.append("# lossctl benchmarks\n")
    L.append("Generated by `tools/bench.py` (`make bench`); numbers are from one run on the machine below. "
             "Every value is measured end to end on files (PNG/NPY) in a fresh process: interpreter start-up, "
             "imports (Python's bytecode cache on, compiled once before the runs, as for an installed package), "
             "reading, computing and writing the JSON report. Ratios compare runs of the same invocation.\n")
    L.append("## Machine and versions\n")
    L.append(f"- CPU: {info['cpu']}, {info['cores']} cores; RAM {info['ram']}; {info['os']}")
    L.append(f"- Python {info['python']}, NumPy {info['numpy']}, Pillow {info['pillow']}, lossctl {info['lossctl']} "
             f"(git {info['git']})")
    L.append(f"- torch baseline: {extra['torch_note']}")
    L.append(f"- date: {info['date']}; the benchmark waited {extra.get('waited', QUIET['waited']):.0f} s in all for other processes "
             "to calm down before its runs (at most 15 s per run, 120 s in all)")
    L.append(f"- reproduce: `{command}` (data in `{extra['work']}`, reused while the generator parameters match; "
             f"total run time {extra['total']:.0f} s, of which data generation {extra['gen']:.0f} s)")
    if args.quick:
        L.append("- **--quick run: every workload ~10x smaller; not the reference numbers.**")
    L.append("")
    L.append("Peak RSS is the `ru_maxrss` that `wait4` reports for the run: the largest single process of its "
             "tree (for `--workers 2`, the largest of the parent and its 2 workers, not their sum). "
             "Load-only baseline: the same files read with the same code (`lossctl.dataset.pairing.pair_files` + "
             "`lossctl.io.load_array`, each array summed so memory-mapped NPYs are really read), no compute. "
             "The page cache is warm (every file is read once before the runs). CPU: user + system seconds of the "
             "run's processes. *Other load*: cores that other processes of the machine kept busy on average "
             f"during the run (from /proc/stat); **bold** when >= {BUSY}: that run competed for the 2 cores and "
             "its wall time (and the ratios built on it) is pessimistic. "
             "Minor faults and system time are the run's `ru_minflt` and `ru_stime` (what `/usr/bin/time -v` "
             "reports). The runs of a workload are made side by side in rounds (load-only, metrics, all values with "
             f"1 and 2 workers, then again): {args.repeat} round(s); each figure is the median over the rounds, and "
             "each ratio the median of the ratios within a round (so a drift of the machine's speed cancels).\n")
    all_ratios = []
    for res in results:
        unit = res["unit"]
        L.append(f"## {res['name']}: {res['desc']}\n")
        if args.quick:
            L.append(f"(--quick: {res['n']} {'pairs' if res['task'] == 'seg' else 'samples'})\n")
        L.append(f"| run | wall (s) | CPU (s) | system | minor faults | {unit}/s | peak RSS (MB) | other load | note |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for key, label in (RUN_LABELS if res["task"] == "seg" else CLS_LABELS).items():
            r = res["runs"].get(key)
            if r is None:
                continue
            if "skipped" in r or r.get("rc"):
                L.append(f"| {label} | – | – | – | – | – | – | – | {r.get('skipped') or r.get('error', 'failed')} |")
                continue
            note = ""
            if r.get("scaled_from"):
                note = (f"measured {r['measured_wall']:.1f} s on {r['scaled_from']} of {res['n']} pairs; per-pair loop "
                        f"scaled to {res['n']} (CPU and RSS: the subset run)")
            if key.startswith("torch") and r.get("info"):
                note = (note + "; " if note else "") + f"torch {r['info']['torch']}, {r['info']['threads']} threads, " \
                    f"float32, imports {r['info']['import']:.1f} s"
            if key == "torch" and res["task"] == "cls":
                note = f"torch {r['info']['torch']}, {r['info']['threads']} threads, float64: CE (index, one-hot, " \
                       "label smoothing), softmax focal, multi-margin, confusion metrics"
            if key == "all_w2" and res["task"] == "seg":
                note = "JSON byte-identical to --workers 1" if res.get("identical_w1_w2") else \
                    "**JSON differs from --workers 1**"
            if key == "all_w1" and res["task"] == "cls":
                note = "every loss lossctl cls computes for logits + index labels"
            L.append(f"| {label} | {r['wall']:.2f} | {r['cpu']:.2f} | {_sys_share(r)} | {r.get('minflt', 0):,.0f} | "
                     f"{_fmt_rate(res['pixels'] / r['wall'])} | {r['rss_mb']:.0f} | {_load(r)} | {note} |")
        if res["name"] == "W1" and extra.get("flat"):
            f = extra["flat"]
            r = f["run"]
            if r.get("rc") == 0:
                L.append(f"| lossctl, all, --workers 1, {f['n']} pairs (--full) | {r['wall']:.2f} | {r['cpu']:.2f} | "
                         f"{_sys_share(r)} | {r.get('minflt', 0):,.0f} | {_fmt_rate(f['pixels'] / r['wall'])} | "
                         f"{r['rss_mb']:.0f} | {_load(r)} | memory flatness |")
        for note in res["notes"]:
            L.append(f"\n{note}")
        if res.get("crosscheck"):
            c = res["crosscheck"]
            L.append(f"\nCross-check: torch and lossctl agree on {', '.join(c['values'])} to a relative "
                     f"{c['max_rel_diff']:.1e} (so both computed the same thing).")
        L.append("")
        rs = ratios(res, extra.get("flat"), extra.get("startup", {}).get("one_pair"))
        all_ratios += [{**x, "workload": res["name"]} for x in rs]
    all_ratios += extra_targets(extra)
    L.append("## Ratios and targets\n")
    met = sum(x["met"] == "met" for x in all_ratios)
    missed = sum(x["met"] == "NOT met" for x in all_ratios)
    L.append(f"{met} targets met, {missed} not met (informative rows have no target).\n")
    L.append("| workload | ratio | value | target | status | note |")
    L.append("| --- | --- | ---: | ---: | --- | --- |")
    for x in all_ratios:
        v = "–" if x["value"] is None else x["value"]
        status = f"**{x['met']}**" if x["met"] == "NOT met" else x["met"]
        L.append(f"| {x['workload']} | {x['what']} | {v} | {x['target']} | {status} | {x['note']} |")
    L.append("")
    L += render_memory(extra)
    st = extra.get("startup")
    if st:
        L.append("## Start-up\n")
        L.append("| run | wall (s), min of 5 | peak RSS (MB) |")
        L.append("| --- | ---: | ---: |")
        L.append(f"| `lossctl --help` | {st['help']:.3f} | {st['help_rss']:.0f} |")
        L.append(f"| `lossctl seg` on one W1 pair (512x512, 5 classes, all values, JSON to a file) | "
                 f"{st['one_pair']:.3f} | {st['one_pair_rss']:.0f} |")
        L.append("")
    for prof in extra.get("profiles", []):
        L.append(f"## Where lossctl's time goes: {prof['title']}\n")
        if "error" in prof:
            L.append(f"profile failed: {prof['error']}\n")
            continue
        L.append(f"cProfile (`python -m cProfile -m lossctl ...`, stats in `{prof['pstats']}`): "
                 f"{prof['total']:.2f} s profiled. Own time (tottime) of the top functions:\n")
        L.append("| function | calls | own time (s) | % of total |")
        L.append("| --- | ---: | ---: | ---: |")
        for x in prof["by_tottime"][:12]:
            L.append(f"| `{x['func']}` | {x['calls']} | {x['tottime']:.3f} | {100 * x['tottime'] / prof['total']:.1f} |")
        L.append("\nCumulative time of lossctl's functions:\n")
        L.append("| function | calls | cumulative (s) | % of total |")
        L.append("| --- | ---: | ---: | ---: |")
        for x in prof["by_cumtime"][:12]:
            L.append(f"| `{x['func']}` | {x['calls']} | {x['cumtime']:.3f} | {100 * x['cumtime'] / prof['total']:.1f} |")
        sh = prof.get("share", {})
        if prof.get("pixels") and sh.get("lovasz"):
            per = 1e9 * sh["sort"] / prof["pixels"]
            speed = prof.get("sort_speed", {})
            L.append(f"\nWhat it says: the Lovász-Softmax takes {100 * sh['lovasz'] / prof['total']:.0f}% of the "
                     f"profiled time: `np.sort` {sh['sort']:.2f} s ({100 * sh['sort'] / sh['lovasz']:.0f}%, about "
                     f"{per:.1f} ns per pixel and class: each class sorts one uint32 key per pixel, and its "
                     "foreground probabilities below 0.5), the O(n) sums over the sorted keys "
                     f"(`lovasz_sorted`) {sh['sums']:.2f} s ({100 * sh['sums'] / sh['lovasz']:.0f}%), the rest "
                     "the keys and each class's values. An exact Lovász loss needs the order of each class's errors: "
                     "this sort is the floor of the all-values runs.")
            if speed:
                L.append(f"NumPy's sort of 2^18 random uint32 keys on this machine: {speed['random']:.1f} ns per "
                         f"value; {speed['in_order']:.1f} ns for the same keys already in order and "
                         f"{speed['heapsort']:.1f} ns with `kind='heapsort'`, the marks of NumPy's vectorised "
                         "quicksort (it is not a scalar sort that a radix sort in NumPy calls would beat: see "
                         "docs/performance.md).")
        L.append("")
    if extra.get("skipped_notes"):
        L.append("## Not measured in this run\n")
        for s in extra["skipped_notes"]:
            L.append(f"- {s}")
        L.append("")
    return "\n".join(L)


# --------------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="every workload ~10x smaller (a smoke run)")
    ap.add_argument("--full", action="store_true", help="also W1 with 2000 pairs (memory flatness; ~10 GB of data)")
    ap.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3 (default: all)")
    ap.add_argument("--work", type=Path, default=DEFAULT_WORK, help="data folder (default: bench_data/)")
    ap.add_argument("--output", type=Path, default=None,
                    help="report file (default: BENCHMARKS.md; with --quick or --only: <work>/BENCHMARKS-partial.md)")
    ap.add_argument("--torch-python", default=DEFAULT_TORCH_PYTHON,
                    help="interpreter with torch + segmentation_models_pytorch for the baseline ('' to skip; "
                         "default: $TORCH_PYTHON, else $REFPY, else .refenv/bin/python)")
    ap.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--torch-full", action="store_true", help="run the torch baseline on every pair (no subset)")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of side-by-side runs (default 3; medians)")
    ap.add_argument("--no-profile", action="store_true", help="skip the cProfiles of lossctl (20 W1 pairs; W5)")
    args = ap.parse_args(argv)

    t_total = time.perf_counter()
    selected = [w.strip().upper() for w in args.only.split(",") if w.strip()] or [*WORKLOADS, *EXTRAS]
    unknown = [w for w in selected if w not in WORKLOADS and w not in EXTRAS]
    extras = [w for w in selected if w in EXTRAS]
    selected = [w for w in selected if w in WORKLOADS]
    if unknown:
        ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join([*WORKLOADS, *EXTRAS])}")
    work = args.work.resolve()
    base = work / "quick" if args.quick else work
    out = base / "runs"
    out.mkdir(parents=True, exist_ok=True)
    output = args.output or (work / "BENCHMARKS-partial.md" if (args.quick or args.only) else ROOT / "BENCHMARKS.md")
    torch_python, torch_note = probe_torch(args.torch_python)
    if torch_python and args.torch_threads:
        torch_note += f", {args.torch_threads} threads"
    print(f"lossctl benchmark: {', '.join(selected)}{' (quick)' if args.quick else ''}; {torch_note}", flush=True)
    compile_bytecode()

    results = []
    extra: dict[str, Any] = {"torch_note": torch_note, "skipped_notes": [], "gen": 0.0}
    params = {}
    for name in selected:
        p = {**WORKLOADS[name]}
        if args.quick:
            p.update(p["quick"])
        params[name] = p
        folder = base / name
        print(f"{name}: {p['desc']}" + (f" [quick: n={p['n']}]" if args.quick else ""), flush=True)
        gen = ensure_workload(name, p, folder)
        extra["gen"] += gen
        if gen:
            print(f"  generated in {gen:.1f} s", flush=True)
        warm_cache(folder)
        bench = bench_seg if p["task"] == "seg" else bench_cls
        res = bench(name, p, folder, out, args, torch_python)
        results.append(res)
        for key, r in res["runs"].items():
            if "wall" in r and not r.get("rc"):
                print(f"    {key:15s} {r['wall']:8.2f} s  {r['rss_mb']:7.0f} MB", flush=True)

    if "W1" in selected:
        p1, f1 = params["W1"], base / "W1"
        if args.full:
            extra["flat"] = bench_memory_flatness(p1, f1, base, out)
            extra["gen"] += extra["flat"]["gen_seconds"]
        else:
            extra["skipped_notes"].append(f"W1 with {W1_FULL_N} pairs (peak-RSS flatness 200 vs {W1_FULL_N}): "
                                          "run with --full")
        print("start-up: lossctl --help and one W1 pair (min of 5)", flush=True)
        extra["startup"] = startup_times(f1, p1, out)
        if not args.no_profile:
            print("profile: cProfile of lossctl seg on 20 W1 pairs", flush=True)
            extra.setdefault("profiles", []).append(profile_w1(f1, p1, base, out))
        extra["malloc"] = bench_malloc(f1, p1, base, out, args.repeat)
    if "P1" in extras:
        print(f"P1: {CHUNKED['desc']}, whole and in chunks", flush=True)
        extra["chunked"] = bench_chunked(base, out, args.quick)
        extra["gen"] += extra["chunked"]["gen"]
    if "BOMBS" in extras:
        print("bombs: 40000x40000 PNG and TIFF", flush=True)
        extra["bombs"] = bench_bombs(base, out)
    if "W5" in selected and not args.no_profile:
        print("profile: cProfile of lossctl cls on W5", flush=True)
        extra.setdefault("profiles", []).append(profile_w5(base / "W5", params["W5"], out))
    if not torch_python:
        extra["skipped_notes"].append(torch_note)
    extra["work"] = str(work.relative_to(ROOT)) + "/" if work.is_relative_to(ROOT) else str(work)
    extra["total"] = time.perf_counter() - t_total
    extra["waited"] = QUIET["waited"]
    command = "make bench" if not (args.quick or args.only or args.full) else \
        ".venv/bin/python tools/bench.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    info = machine_info()
    text = render(results, extra, info, args, command)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text.replace(f"{ROOT}/", "") + "\n")  # paths relative to the repository
    if not (args.quick or args.only):
        update_performance_page(target_rows(results, extra), info)
    (base / "results.json").write_text(json.dumps({"info": info, "results": results, "extra": extra},
                                                  indent=1, default=str) + "\n")
    print()
    print(text)
    print(f"\nwritten: {output}  (raw numbers: {base / 'results.json'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
