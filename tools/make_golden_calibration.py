#!/usr/bin/env python
"""Generate golden values for lossctl's calibration values (ece, mce, rmsce, cw_ece, brier, nll), per convention.

The expected values come from the reference libraries themselves, none of them a project dependency. Run in the
reference environment (``make golden``, or ``$REFPY tools/make_golden_calibration.py``):

* ``torch``: torchmetrics' ``binary_calibration_error`` ((N,) input) and ``multiclass_calibration_error`` ((N, C)
  input), 15 bins (and 10), each norm (l1: ece, max: mce, l2: rmsce);
* ``sklearn``: ``brier_score_loss`` and ``log_loss`` with ``labels=range(C)``;
* ``netcal``: ``netcal.metrics.confidence.ECE`` / ``MCE`` (10 bins, equal width and equal mass), netcal 1.4.0
  installed without its heavy dependencies (only these modules are imported);
* ``metricsreloaded``: ``CalibrationMeasures`` from a checkout of Project-MONAI/MetricsReloaded at commit
  :data:`MR_COMMIT` (``$METRICSRELOADED``, default ``../refs/MetricsReloaded`` beside the project; another commit aborts; it is
  not on the package index); ``pandas``, which its utils import but its calibration code never uses, is stubbed;
* ``lossctl``: uncertainty-calibration's ``get_ece`` (top label; ``mode='marginal'``: class-wise) and its l2
  plug-in estimate (``lower_bound_scaling_ce(p=2, debias=False)``) with equal-width bins, on the cases without a
  probability on a bin edge (its bins are (l, u], lossctl's [l, u)); ``brier_score_loss(scale_by_half=False)``
  and ``log_loss`` for brier and nll (no probability below eps there).

It writes tests/golden/calibration_inputs.npz (``<id>/pred``, ``<id>/target``) and tests/golden/calibration.json
(cases, expected values, provenance). Cases: binary (N,) and multiclass (N, C), probabilities at exactly 0 and 1
and on the bin edges of every convention, a class absent from the truth, a float32 case (torchmetrics then
computes in float32: ``float32_bound``). This script never imports lossctl.
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np

MR_ROOT = Path(os.environ.get("METRICSRELOADED", Path(__file__).resolve().parents[2] / "refs" / "MetricsReloaded"))
MR_COMMIT = "cb38dfc0a5ed4fa3bdc559e4960b6e2b93c3b967"
sys.path.insert(0, str(MR_ROOT))
_stub = "pandas" not in sys.modules
sys.modules.setdefault("pandas", types.ModuleType("pandas"))  # imported by MetricsReloaded's utils, unused here
from MetricsReloaded.metrics.calibration_measures import CalibrationMeasures  # noqa: E402

if _stub:
    del sys.modules["pandas"]  # scikit-learn looks for a real one
import calibration.utils as uc  # noqa: E402
import torch  # noqa: E402
from netcal.metrics.confidence.ECE import ECE  # noqa: E402
from netcal.metrics.confidence.MCE import MCE  # noqa: E402
from sklearn.metrics import brier_score_loss, log_loss  # noqa: E402
from torchmetrics.functional.classification import (  # noqa: E402
    binary_calibration_error,
    multiclass_calibration_error,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "golden"
SEED = 20


def _cases() -> dict[str, tuple[np.ndarray, np.ndarray, bool]]:
    """id -> (pred, target, on_edges): on_edges when some probability lies on a bin edge (or is 0 or 1)."""
    rng = np.random.default_rng(SEED)
    cases: dict[str, tuple[np.ndarray, np.ndarray, bool]] = {}
    p = rng.uniform(0.001, 0.999, 300)
    cases["binary"] = (p, (rng.uniform(size=300) < p ** 1.5).astype(np.int64), False)
    edges = np.concatenate([np.arange(16) / 15, np.linspace(0, 1, 11), np.arange(0, 1.00001, 0.1), [0.0, 1.0] * 4])
    p = np.concatenate([edges, rng.uniform(size=40)])
    cases["binary_edges"] = (p, (rng.uniform(size=p.size) < p).astype(np.int64), True)
    logits = rng.normal(size=(400, 3)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    cases["multiclass"] = (probs, np.array([rng.choice(3, p=row ** 0.7 / (row ** 0.7).sum()) for row in probs]),
                           False)
    probs = rng.dirichlet([0.6, 0.6, 0.6, 0.6], size=200)
    target = rng.choice([0, 1, 3], size=200)  # class 2 absent from the truth
    cases["multiclass_empty_class"] = (probs, target, False)
    rows = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.6, 0.4, 0.0], [0.4, 0.6, 0.0],
            [8 / 15, 7 / 15, 0.0], [0.2, 0.2, 0.6], [0.5, 0.5, 0.0], [0.7, 0.3, 0.0], [0.8, 0.2, 0.0]]
    probs = np.concatenate([np.array(rows * 3), rng.dirichlet([1, 1, 1], size=60)])
    cases["multiclass_edges"] = (probs, rng.integers(0, 3, probs.shape[0]), True)
    probs = rng.dirichlet([1, 1], size=150)
    cases["two_columns"] = (probs, (rng.uniform(size=150) < probs[:, 1]).astype(np.int64), False)
    logits = rng.normal(size=(500, 4)).astype(np.float32) * 2
    probs32 = (np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)).astype(np.float32)
    cases["multiclass_float32"] = (probs32, rng.integers(0, 4, 500), False)
    return cases


def _columns(pred: np.ndarray) -> np.ndarray:
    """(N, C) of a binary (N,) input: [1 - p, p]."""
    return np.stack([1 - pred, pred], axis=1) if pred.ndim == 1 else pred


def _torch(pred: np.ndarray, target: np.ndarray, bins: int) -> dict[str, float]:
    out = {}
    p, t = torch.from_numpy(pred), torch.from_numpy(target)
    for name, norm in (("ece", "l1"), ("mce", "max"), ("rmsce", "l2")):
        if pred.ndim == 1:
            v = binary_calibration_error(p, t, n_bins=bins, norm=norm)
        else:
            v = multiclass_calibration_error(p, t, num_classes=pred.shape[1], n_bins=bins, norm=norm)
        out[name] = float(v)
    return out


def _mr(pred: np.ndarray, target: np.ndarray, bins: int) -> dict[str, float | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = CalibrationMeasures(_columns(pred), target, dict_args={"bins_ece": bins, "bins_mce": bins})
        out: dict[str, float | None] = {"cw_ece": float(m.class_wise_expectation_calibration_error()),
                                        "brier": float(m.brier_score())}
        with np.errstate(divide="ignore"):
            nll = float(m.negative_log_likelihood())
        out["nll"] = nll if np.isfinite(nll) else None  # inf: lossctl reports it undefined
        if pred.ndim == 1:  # binary only (lossctl cls: binary targets)
            out["ece"] = float(m.expectation_calibration_error())
            out["mce"] = float(m.maximum_calibration_error())
    return out


def _netcal(pred: np.ndarray, target: np.ndarray, bins: int, mass: bool) -> dict[str, float]:
    x = pred if pred.ndim == 1 or pred.shape[1] > 2 else pred  # netcal reads (N,) and (N, 2) as binary itself
    return {"ece": float(ECE(bins=bins, equal_intervals=not mass).measure(x, target)),
            "mce": float(MCE(bins=bins, equal_intervals=not mass).measure(x, target))}


def _lossctl(pred: np.ndarray, target: np.ndarray, bins: int) -> dict[str, float]:
    probs = _columns(pred).astype(np.float64)
    c = probs.shape[1]
    return {"ece": float(uc.get_ece(probs, target, num_bins=bins)),
            "rmsce": float(uc.lower_bound_scaling_ce(probs, target, p=2, debias=False, num_bins=bins,
                                                     binning_scheme=uc.get_equal_prob_bins, mode="top-label")),
            "cw_ece": float(uc.get_ece(probs, target, num_bins=bins, mode="marginal")),
            "brier": float(brier_score_loss(target, probs, labels=list(range(c)), scale_by_half=False)),
            "nll": float(log_loss(target, probs, labels=list(range(c))))}


def _sklearn(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    c = _columns(pred).shape[1]
    labels = list(range(c))
    return {"brier": float(brier_score_loss(target, pred, labels=labels)),
            "nll": float(log_loss(target, pred, labels=labels))}


def main() -> None:
    arrays: dict[str, np.ndarray] = {}
    cases = []
    for case_id, (pred, target, on_edges) in _cases().items():
        arrays[f"{case_id}/pred"], arrays[f"{case_id}/target"] = pred, target
        f32 = pred.dtype == np.float32

        def add(convention: str, values: dict, params: dict | None = None, reference: str = "",
                case_id: str = case_id, f32: bool = f32) -> None:
            for name, value in values.items():
                binned = name in ("ece", "mce", "rmsce", "cw_ece")  # brier and nll take no parameter
                cases.append({"id": case_id, "value": name, "convention": convention,
                              "params": (params or {}) if binned else {},
                              "expected": value, "reference": reference,
                              "float32_bound": bool(f32 and convention in ("torch", "netcal"))})

        for bins in (15, 10):
            add("torch", _torch(pred, target, bins), {"bins": bins},
                "torchmetrics binary_/multiclass_calibration_error(n_bins, norm)")
        add("sklearn", _sklearn(pred, target), {}, "sklearn.metrics brier_score_loss / log_loss(labels=range(C))")
        add("metricsreloaded", _mr(pred, target, 10), {"bins": 10}, "MetricsReloaded CalibrationMeasures")
        add("metricsreloaded", {k: v for k, v in _mr(pred, target, 5).items() if k in ("ece", "mce", "cw_ece")},
            {"bins": 5}, "MetricsReloaded CalibrationMeasures (bins_ece=5)")
        if not (pred.ndim == 2 and pred.shape[1] > 2 and len(np.unique(target)) <= 2):  # netcal crashes there
            add("netcal", _netcal(pred, target, 10, False), {"bins": 10, "binning": "width"},
                "netcal.metrics.confidence ECE / MCE(bins, equal_intervals=True)")
            add("netcal", _netcal(pred, target, 10, True), {"bins": 10, "binning": "mass"},
                "netcal.metrics.confidence ECE / MCE(bins, equal_intervals=False)")
        if not on_edges and not f32:
            add("lossctl", _lossctl(pred, target, 15), {"bins": 15},
                "uncertainty-calibration get_ece / lower_bound_scaling_ce(p=2); sklearn brier (unhalved), log_loss")
    np.savez_compressed(OUT / "calibration_inputs.npz", **arrays)
    commit = subprocess.run(["git", "-C", str(MR_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=True).stdout.strip()
    if commit != MR_COMMIT:
        raise SystemExit(f"{MR_ROOT} is at {commit}, not the pinned MetricsReloaded commit {MR_COMMIT}")
    doc = {
        "provenance": {
            "generator": "tools/make_golden_calibration.py",
            "seed": SEED,
            "torch": torch.__version__,
            "torchmetrics": metadata.version("torchmetrics"),
            "scikit-learn": metadata.version("scikit-learn"),
            "netcal": metadata.version("netcal"),
            "uncertainty-calibration": metadata.version("uncertainty-calibration"),
            "MetricsReloaded": f"Project-MONAI/MetricsReloaded@{commit} (from a checkout; pandas stubbed)",
            "numpy": np.__version__,
        },
        "notes": ["binary cases are (N,) positive-class probabilities; the references that take (N, C) get [1-p, p]",
                  "torchmetrics computes in the input's dtype: its float32 case is float32-bound",
                  "netcal is not run on (N, C >= 3) input whose truth has two labels (it raises there)",
                  "MetricsReloaded's ece and mce read pred[:, 1]: binary cases only; its nll is null where it is inf"],
        "cases": cases,
    }
    (OUT / "calibration.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {len(cases)} golden values for {len(_cases())} inputs")


if __name__ == "__main__":
    main()
