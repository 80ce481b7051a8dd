#!/usr/bin/env python
"""Golden values of the counting metrics (lossctl.metrics.counting) and the classification ranking metrics (auroc,
ap), from scikit-learn, torchmetrics and MetricsReloaded, run in the reference venv (``make golden``).

* ``seg`` cases: B label images of C classes (binary masks with a perfect, an empty-prediction and an empty image;
  multi-class images with a class absent from both masks and one absent from a prediction; 3D volumes with an
  anisotropic spacing for avd). Per image and pooled (every image's pixels at once; avd: volumes summed), the
  value and the per-class (one-vs-rest) entries of each (metric, convention):

  - ``sklearn``: matthews_corrcoef, cohen_kappa_score (weights, labels=None), balanced_accuracy_score, fbeta_score
    on the flattened label vectors; per class the same call on the class's 0/1 vectors;
  - ``torch``: torchmetrics' multiclass_matthews_corrcoef / multiclass_cohen_kappa (num_classes=C); per class the
    binary ones;
  - ``metricsreloaded``: MultiClassPairwiseMeasures (mcc, wck with the linear / quadratic weight matrix, ba,
    normalised_expected_cost) and BinaryPairwiseMeasures of each class mask (specificity, npv, fbeta, youden,
    LR+, net benefit, AVDR, and the one-vs-rest mcc, kappa, ba, ec), from the checkout at its commit;
  - ``lossctl``: the same references where they define the value, an undefined case (the reference's NaN, its
    0.0 or its 1 for a 0/0, as each case's ``reference`` says) recorded as undefined (lossctl's ``--empty nan``);
    avd from the definition |V_P - V_R| with the voxel volume of the spacing, rvd as MetricsReloaded's AVDR with
    the sign of V_P - V_R.

  An image's value of a one-vs-rest metric is the documented rule: the mean of the defined per-class entries, or
  class 1's of a two-class run (scikit-learn's fbeta: its own average='macro' / 'binary').
* ``cls`` cases: N samples (binary probabilities with ties, one class only, all positive; 4-class probabilities
  with ties, and with a class absent from the truth): roc_auc_score (multi_class='ovr') and
  average_precision_score; torchmetrics' binary / multiclass AUROC and AveragePrecision; and every counting
  metric of the hard predictions (argmax; p >= 0.5, or > 0.5 for torchmetrics) as above.

It writes ``tests/golden/counting.json`` and ``tests/golden/counting_inputs.npz``; it never imports lossctl.
MetricsReloaded imports pandas for functions not used here: a stub module stands in for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import sklearn.metrics as skm
import torch
import torchmetrics.functional.classification as tmf

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

MR_DIR = Path(os.environ.get("METRICSRELOADED", str(references.ROOT.parent / "refs" / "MetricsReloaded")))
sys.modules.setdefault("pandas", types.ModuleType("pandas"))  # imported by MetricsReloaded, unused here
sys.path.insert(0, str(MR_DIR))
from MetricsReloaded.metrics.pairwise_measures import (  # noqa: E402
    BinaryPairwiseMeasures, MultiClassPairwiseMeasures)

if not hasattr(sys.modules["pandas"], "DataFrame"):
    del sys.modules["pandas"]  # the stub only for that import (scikit-learn looks pandas up)

warnings.filterwarnings("ignore")  # the references' warnings on their undefined cases
SEED = 20261206
RNG = np.random.default_rng(SEED)
MR_COMMIT = subprocess.run(["git", "-C", str(MR_DIR), "rev-parse", "HEAD"], capture_output=True, text=True,
                           check=True).stdout.strip()
VERSIONS = {**references.versions(("scikit-learn", "torch", "numpy"), ""), "torchmetrics": references.dist_version("torchmetrics"),
            "MetricsReloaded": f"Project-MONAI/MetricsReloaded@{MR_COMMIT}"}
CASES: list[dict] = []
ARRAYS: dict[str, np.ndarray] = {}
NAN = float("nan")


def none(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def nones(vs) -> list[float | None]:
    return [none(v) for v in vs]


# --- references of one label vector pair (g: truth, p: prediction), C classes ---------------------------------------

def mr_binary(p, g, c, **dict_args):
    return BinaryPairwiseMeasures((p == c).astype(np.int32), (g == c).astype(np.int32), dict_args=dict_args)


def mr_multi(p, g, k, **dict_args):
    return MultiClassPairwiseMeasures(p, g, list(range(k)), dict_args=dict_args)


def weight_matrix(k, weights):
    i = np.arange(k, dtype=np.float64)
    d = i[:, None] - i[None, :]
    return np.abs(d) if weights == "linear" else d * d


def per_class(fn, p, g, k):
    return [float(fn((p == c).astype(int), (g == c).astype(int), c)) for c in range(k)]


def t(x):
    return torch.from_numpy(np.asarray(x))


def undefined_if(value, condition):
    return NAN if condition else float(value)


def cm_counts(p, g, c):
    tp = float(np.sum((p == c) & (g == c)))
    fp = float(np.sum((p == c) & (g != c)))
    fn = float(np.sum((p != c) & (g == c)))
    return tp, fp, fn, float(p.size) - tp - fp - fn


def sk_mcc_defined(p, g):  # R_K's denominator (N^2 - p.p)(N^2 - t.t) is 0 iff one class in the truth or the prediction
    return np.unique(p).size > 1 and np.unique(g).size > 1


#: (value, convention) -> fn(p, g, k, params) -> (value, per-class list) of one pair of flat label vectors.
def references_of(value, convention, params):
    beta = params.get("beta", 1.0)
    weights = params.get("weights", "linear")
    er = params.get("exchange_rate", 1.0)

    def ovr_mean(entries, k):
        v = np.array(entries, dtype=np.float64)
        if k == 2:
            return v[1]
        return float(np.nanmean(v)) if (~np.isnan(v)).any() else NAN

    def mr_ovr(method, fix=None, **kw):
        def fn(p, g, k):
            entries = [float(getattr(mr_binary(p, g, c, **kw), method)()) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn

    if convention == "metricsreloaded":
        multi = {"mcc": lambda m: m.matthews_correlation_coefficient(), "kappa": lambda m: m.weighted_cohens_kappa(),
                 "weighted_kappa": lambda m: m.weighted_cohens_kappa(), "balanced_accuracy": lambda m: m.balanced_accuracy(),
                 "expected_cost": lambda m: m.normalised_expected_cost()}
        binary = {"mcc": "matthews_correlation_coefficient", "kappa": "cohens_kappa", "weighted_kappa": "cohens_kappa",
                  "balanced_accuracy": "balanced_accuracy", "expected_cost": "normalised_expected_cost"}
        if value in multi:
            def fn(p, g, k):
                kw = {"weights": weight_matrix(k, weights)} if value == "weighted_kappa" else {}
                whole = float(multi[value](mr_multi(p, g, k, **kw)))
                return whole, [float(getattr(mr_binary(p, g, c), binary[value])()) for c in range(k)]
            return fn
        method = {"specificity": "specificity", "npv": "negative_predictive_value", "fbeta": "fbeta",
                  "youden": "youden_index", "lr_plus": "positive_likelihood_ratio", "net_benefit": "net_benefit_treated",
                  "rvd": "absolute_volume_difference_ratio"}[value]
        kw = {"beta": beta} if value == "fbeta" else {"exchange_rate": er} if value == "net_benefit" else {}
        return mr_ovr(method, **kw)

    if convention == "sklearn":
        if value == "mcc":
            return lambda p, g, k: (skm.matthews_corrcoef(g, p), per_class(
                lambda pp, gg, c: skm.matthews_corrcoef(gg, pp), p, g, k))
        if value in ("kappa", "weighted_kappa"):
            w = weights if value == "weighted_kappa" else None
            every = params.get("labels", "present") == "all"

            def fn(p, g, k):
                return (skm.cohen_kappa_score(g, p, weights=w, labels=list(range(k)) if every else None),
                        per_class(lambda pp, gg, c: skm.cohen_kappa_score(gg, pp), p, g, k))
            return fn
        if value == "balanced_accuracy":
            return lambda p, g, k: (skm.balanced_accuracy_score(g, p), per_class(
                lambda pp, gg, c: skm.balanced_accuracy_score(gg, pp), p, g, k))
        if value == "fbeta":
            zd = params.get("zero_division", "warn")
            zero = {"warn": "warn", "0": 0.0, "1": 1.0, "nan": np.nan}[zd]

            def fn(p, g, k):
                present = sorted(set(np.unique(p)) | set(np.unique(g)))
                entries = [float(skm.fbeta_score(g == c, p == c, beta=beta, zero_division=zero)) if c in present
                           else NAN for c in range(k)]
                if k == 2:
                    return skm.fbeta_score(g, p, beta=beta, average="binary", zero_division=zero,
                                           labels=[0, 1]), entries
                return skm.fbeta_score(g, p, beta=beta, average="macro", zero_division=zero), entries
            return fn

    if convention == "torch":
        if value == "mcc":
            def fn(p, g, k):
                return (float(tmf.multiclass_matthews_corrcoef(t(p), t(g), num_classes=k)),
                        [float(tmf.binary_matthews_corrcoef(t((p == c).astype(np.int64)), t((g == c).astype(np.int64))))
                         for c in range(k)])
            return fn
        if value in ("kappa", "weighted_kappa"):
            w = weights if value == "weighted_kappa" else None

            def fn(p, g, k):
                return (float(tmf.multiclass_cohen_kappa(t(p), t(g), num_classes=k, weights=w)),
                        [float(tmf.binary_cohen_kappa(t((p == c).astype(np.int64)), t((g == c).astype(np.int64))))
                         for c in range(k)])
            return fn

    # lossctl: the references where they define the value, undefined where they do not
    if value == "mcc":
        def fn(p, g, k):
            entries = [undefined_if(skm.matthews_corrcoef(g == c, p == c), not sk_mcc_defined(p == c, g == c))
                       for c in range(k)]
            return undefined_if(skm.matthews_corrcoef(g, p), not sk_mcc_defined(p, g)), entries
        return fn
    if value in ("kappa", "weighted_kappa"):
        w = weights if value == "weighted_kappa" else None
        return lambda p, g, k: (skm.cohen_kappa_score(g, p, weights=w, labels=list(range(k))),
                                per_class(lambda pp, gg, c: skm.cohen_kappa_score(gg, pp, labels=[0, 1]), p, g, k))
    if value in ("balanced_accuracy", "expected_cost"):
        def fn(p, g, k):
            ba = skm.balanced_accuracy_score(g, p)
            kk = np.unique(g).size
            entries = []
            for c in range(k):
                tp, fp, fn_, tn = cm_counts(p, g, c)
                defined = tp + fn_ > 0 and tn + fp > 0
                one = undefined_if(skm.balanced_accuracy_score(g == c, p == c), not defined)
                entries.append(one if value == "balanced_accuracy" else 2 * (1 - one))
            if value == "balanced_accuracy":
                return ba, entries
            return ((1 - ba) * kk / (kk - 1) if kk > 1 else NAN), entries
        return fn
    if value == "specificity":
        def fn(p, g, k):
            entries = [float(skm.recall_score(g != c, p != c, zero_division=np.nan)) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn
    if value == "npv":
        def fn(p, g, k):
            entries = [float(skm.precision_score(g != c, p != c, zero_division=np.nan)) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn
    if value == "fbeta":
        def fn(p, g, k):
            entries = [float(skm.fbeta_score(g == c, p == c, beta=beta, zero_division=np.nan)) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn
    if value == "lr_plus":
        def fn(p, g, k):
            entries = [float(skm.class_likelihood_ratios(g == c, p == c, labels=[False, True])[0]) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn
    if value in ("youden", "net_benefit"):
        method = "youden_index" if value == "youden" else "net_benefit_treated"
        return mr_ovr(method, **({"exchange_rate": er} if value == "net_benefit" else {}))
    if value == "rvd":
        def fn(p, g, k):
            entries = [float(np.sign(np.sum(p == c) - np.sum(g == c)) *
                             mr_binary(p, g, c).absolute_volume_difference_ratio()) for c in range(k)]
            return ovr_mean(entries, k), entries
        return fn
    raise KeyError((value, convention))


def avd_reference(p, g, k, voxel_volume):
    """|V_P - V_R| per class from MetricsReloaded's voxel counts (n_pos_pred, n_pos_ref) times the voxel volume."""
    entries = [abs(float(mr_binary(p, g, c).n_pos_pred()) - float(mr_binary(p, g, c).n_pos_ref())) * voxel_volume
               for c in range(k)]
    return (entries[1] if k == 2 else float(np.mean(entries))), entries


# --- the cases ---------------------------------------------------------------------------------------------------------

SEG_VALUES = {
    "lossctl": ("mcc", "kappa", "weighted_kappa", "balanced_accuracy", "specificity", "npv", "fbeta", "youden",
                "lr_plus", "expected_cost", "net_benefit", "rvd"),
    "sklearn": ("mcc", "kappa", "weighted_kappa", "balanced_accuracy", "fbeta"),
    "torch": ("mcc", "kappa", "weighted_kappa"),
    "metricsreloaded": ("mcc", "kappa", "weighted_kappa", "balanced_accuracy", "specificity", "npv", "fbeta",
                        "youden", "lr_plus", "expected_cost", "net_benefit", "rvd"),
}
PARAMS = {"fbeta": [{"beta": 1.0}, {"beta": 2.0}, {"beta": 0.5}], "weighted_kappa": [{"weights": "linear"},
          {"weights": "quadratic"}], "net_benefit": [{"exchange_rate": 1.0}, {"exchange_rate": 0.25}]}


def seg_images():
    """(name, pred (B, ...), target (B, ...), C, spacing)."""
    shape = (9, 11)
    gt = (RNG.random((4, *shape)) < 0.35).astype(np.int64)
    pred = np.where(RNG.random(gt.shape) < 0.8, gt, 1 - gt)
    pred[1] = gt[1]  # perfect
    pred[2] = 0  # nothing predicted
    gt[3], pred[3] = 0, 0  # no foreground anywhere: one class
    yield "binary", pred, gt, 2, None
    gt = RNG.integers(0, 4, size=(3, 8, 10))
    pred = np.where(RNG.random(gt.shape) < 0.7, gt, RNG.integers(0, 4, size=gt.shape))
    gt[1][gt[1] == 3], pred[1][pred[1] == 3] = 0, 0  # class 3 absent from both masks of image 1
    pred[0][pred[0] == 2] = 1  # class 2 absent from image 0's prediction
    gt[2] = pred[2]  # perfect
    yield "multiclass", pred, gt, 4, None
    gt = RNG.integers(0, 3, size=(2, 4, 5, 6))
    pred = np.where(RNG.random(gt.shape) < 0.75, gt, RNG.integers(0, 3, size=gt.shape))
    yield "volume", pred, gt, 3, (0.5, 1.0, 2.5)


def add(case_id, arrays, **fields):
    """One case; its inputs are stored once per data set, as ``<task>-<data>/pred`` and ``/target``."""
    assert all(c["id"] != case_id for c in CASES), case_id
    for key, array in arrays.items():
        ARRAYS[f"{fields['task']}-{fields['data']}/{key}"] = array
    CASES.append({"id": case_id, **fields})


def seg_cases():
    for name, pred, gt, k, spacing in seg_images():
        voxel = float(np.prod(spacing)) if spacing else 1.0
        stored = {"pred": pred.astype(np.int64), "target": gt.astype(np.int64)}
        for convention, values in SEG_VALUES.items():
            for value in values:
                for params in PARAMS.get(value, [{}]):
                    for labels in (("present", "all") if convention == "sklearn" and "kappa" in value else (None,)):
                        full = {**params, **({"labels": labels} if labels else {})}
                        fn = references_of(value, convention, full)
                        per_image = [fn(p.reshape(-1), g.reshape(-1), k) for p, g in zip(pred, gt, strict=True)]
                        pooled = fn(pred.reshape(-1), gt.reshape(-1), k)
                        suffix = "-".join(f"{a}_{b}" for a, b in full.items())
                        add(f"seg-{name}-{value}-{convention}{'-' + suffix if suffix else ''}", stored, task="seg",
                            data=name, value=value, convention=convention, params=full, num_classes=k,
                            spacing=list(spacing) if spacing else None,
                            expected=[none(v) for v, _ in per_image], per_class=[nones(e) for _, e in per_image],
                            pooled=none(pooled[0]), pooled_per_class=nones(pooled[1]), reference=REFERENCE[convention])
        per_image = [avd_reference(p.reshape(-1), g.reshape(-1), k, voxel) for p, g in zip(pred, gt, strict=True)]
        pooled = avd_reference(pred.reshape(-1), gt.reshape(-1), k, voxel)
        add(f"seg-{name}-avd-lossctl", stored, task="seg", data=name, value="avd", convention="lossctl", params={},
            num_classes=k, spacing=list(spacing) if spacing else None, expected=[v for v, _ in per_image],
            per_class=[e for _, e in per_image], pooled=pooled[0], pooled_per_class=pooled[1],
            reference="|V_P - V_R| from MetricsReloaded's n_pos_pred / n_pos_ref times the voxel volume prod(spacing)")


REFERENCE = {
    "sklearn": "sklearn.metrics on the flattened label vectors (labels=None unless labels=all); per class the class's "
               "0/1 vectors",
    "torch": "torchmetrics.functional.classification multiclass_* (num_classes=C); per class binary_*",
    "metricsreloaded": "MetricsReloaded MultiClassPairwiseMeasures (whole matrix) / BinaryPairwiseMeasures of each "
                       "class mask",
    "lossctl": "scikit-learn / MetricsReloaded where they define the value (the case's value); undefined where they "
               "replace a 0/0",
}

CLS_COUNTING = {c: tuple(v for v in values if v != "rvd") for c, values in SEG_VALUES.items()}


def cls_inputs():
    """(name, pred, target, kind): probabilities rounded to one decimal (ties), never exactly 0.5."""
    p = np.round(RNG.uniform(0.02, 0.98, 40), 1)
    p[p == 0.5] = 0.6
    y = (RNG.random(40) < p).astype(np.int64)
    yield "binary", p, y
    yield "binary_one_class", p, np.zeros(40, np.int64)
    yield "binary_all_positive", p, np.ones(40, np.int64)
    yield "two_columns", np.stack([1 - p, p], axis=1), y  # a binary task given as (N, 2) probabilities
    logits = RNG.normal(size=(60, 4))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs = np.round(probs, 1)
    probs[:, 0] += 1 - probs.sum(axis=1)  # rows sum to 1 again; ties within each column stay
    labels = np.array([RNG.choice(4, p=np.clip(row, 0.01, None) / np.clip(row, 0.01, None).sum()) for row in probs])
    yield "multiclass", probs, labels
    yield "multiclass_absent_class", probs, np.where(labels == 3, 0, labels)


def cls_hard(pred, strict):
    if pred.ndim == 2:
        return pred.argmax(axis=1)
    return (pred > 0.5 if strict else pred >= 0.5).astype(np.int64)


def ranking(value, convention, pred, y):
    if convention in ("sklearn", "lossctl"):
        fn = skm.roc_auc_score if value == "auroc" else skm.average_precision_score
        try:
            if pred.ndim == 1:
                v = float(fn(y, pred))
            elif pred.shape[1] == 2 and convention == "sklearn":  # a 2-D score of a binary task raises; sklearn
                v = float(fn(y, pred[:, 1]))  # documents the greater label's column as the binary score
            elif value == "auroc":
                v = float(fn(y, pred, multi_class="ovr", average="macro"))
            else:
                v = float(fn(y, pred, average="macro"))
        except ValueError:
            v = NAN  # sklearn raises: undefined
        if convention == "lossctl":  # one-vs-rest mean of the defined classes: auroc needs a positive and a
            # negative, ap a positive
            def defined(yc):
                return 0 < yc.sum() < yc.size if value == "auroc" else yc.sum() > 0
            if pred.ndim == 1:
                return v if defined(y) else NAN
            entries = []
            for c in range(pred.shape[1]):
                yc = (y == c).astype(int)
                entries.append(float(fn(yc, pred[:, c])) if defined(yc) else NAN)
            return float(np.nanmean(entries))
        return v
    if pred.ndim == 1:
        f = tmf.binary_auroc if value == "auroc" else tmf.binary_average_precision
        return float(f(t(pred), t(y)))
    f = tmf.multiclass_auroc if value == "auroc" else tmf.multiclass_average_precision
    return float(f(t(pred), t(y), num_classes=pred.shape[1]))


def cls_cases():
    for name, pred, y in cls_inputs():
        stored = {"pred": pred.astype(np.float64), "target": y}
        k = 2 if pred.ndim == 1 else pred.shape[1]
        for value in ("auroc", "ap"):
            for convention in ("lossctl", "sklearn", "torch"):
                add(f"cls-{name}-{value}-{convention}", stored, task="cls", data=name, value=value,
                    convention=convention, params={}, expected=none(ranking(value, convention, pred, y)),
                    reference={"sklearn": "sklearn.metrics.roc_auc_score(multi_class='ovr') / "
                               "average_precision_score (a ValueError: undefined)",
                               "torch": "torchmetrics.functional.classification binary_/multiclass_auroc, "
                               "binary_/multiclass_average_precision",
                               "lossctl": "scikit-learn's per class (one-vs-rest), the mean of the defined ones"}
                    [convention])
        if name == "two_columns":  # for the ranking values; counting values of a categorical task are the
            continue  # class mean under lossctl and metricsreloaded, which references_of does not model
        for convention, values in CLS_COUNTING.items():
            hard = cls_hard(pred, strict=convention == "torch")
            for value in values:
                for params in PARAMS.get(value, [{}])[:1]:
                    fn = references_of(value, convention, params)
                    v, _ = fn(hard, y, k)  # binary: class 1's, or the 2 x 2 matrix's whole value
                    add(f"cls-{name}-{value}-{convention}", stored, task="cls", data=name, value=value,
                        convention=convention, params=params, expected=none(v), reference=REFERENCE[convention])


def main():
    seg_cases()
    cls_cases()
    doc = {"generated_by": "tools/make_golden_counting.py", "command": "make golden", "seed": SEED,
           "versions": VERSIONS, "cases": CASES}
    references.write_golden(references.GOLDEN_DIR, "counting_inputs.npz", ARRAYS, "counting.json", doc)
    print(f"wrote {len(CASES)} cases")


if __name__ == "__main__":
    main()
