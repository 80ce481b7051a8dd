#!/usr/bin/env python
"""Golden values for the metrics under each convention and for the framework quirks of issue 11.

Computed by the real libraries, run in the reference venv (``make golden``; ``make refenv`` builds it):

* segmentation metrics: scikit-learn ``*_score(average='macro')`` and ``accuracy_score``; torchmetrics
  ``multiclass_*(average='macro')``; MONAI ``DiceMetric`` / ``MeanIoU`` (``include_background``,
  ``ignore_empty``, ``reduction='mean'`` over a batch: the dataset value); nnU-Net v2's
  ``compute_metrics_on_folder`` (per class means and ``foreground_mean``), loaded by path from its wheel;
* classification metrics: scikit-learn (``average='binary'`` / ``'macro'``, ``sample_weight``,
  ``zero_division``) and torchmetrics (``binary_*`` with its strict ``> threshold``, ``multiclass_*`` macro,
  ``multiclass_accuracy``'s macro default);
* quirks: smp ``FocalLoss(from_logits=False)`` on probability maps; MONAI ``FocalLoss(use_softmax=True)`` and
  ``FocalLoss(ignore_index=...)`` (sum / number of valid voxels) on images; scikit-learn ``hinge_loss`` with
  any two labels; torch ``MultiMarginLoss(margin)``; Keras ``CategoricalFocalCrossentropy`` with one-hot
  targets and ``CategoricalCrossentropy`` renormalising probability rows that do not sum to 1.

It writes ``tests/golden/conventions.json`` (cases, expected values, the reference call, library versions) and
``tests/golden/conventions_inputs.npz`` (inputs, ``<id>/pred``, ``<id>/target``, ``<id>/weights``). It never
imports lossctl. Segmentation metric cases hold B label images (B, H, W): the prediction's hard labels are
given directly (metrics read labels). Classification metric cases hold probabilities or logits; the hard labels
fed to the library follow lossctl's documented rule (argmax; ``p >= 0.5`` / ``x >= 0``), except torchmetrics,
which thresholds itself.
"""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # noqa: E402  (must precede the keras import)

import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import sklearn.metrics as skm
import torch
import torchmetrics.functional.classification as tmc
from monai.metrics import DiceMetric, MeanIoU

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

SEED = 20261201
RNG = np.random.default_rng(SEED)
COMMAND = "make golden (tools/make_golden_conventions.py in the reference venv)"
warnings.filterwarnings("ignore")  # sklearn UndefinedMetricWarning, MONAI single-channel warnings

SMP_DIR, SMP = references.load_smp_losses(("constants", "_functional", "focal"))
MonaiFocal64 = references.make_monai_focal64()
NNUNET_WHEEL, NNUNET_VERSION, NNUNET = references.load_nnunet_evaluation()
VERSIONS = {**references.versions(("torch", "keras", "keras_backend", "keras_floatx", "scikit-learn",
                                   "segmentation_models_pytorch", "monai", "numpy"), ""),
            "torchmetrics": references.dist_version("torchmetrics"), "nnunetv2": NNUNET_VERSION}
VERSIONS.pop("torchvision", None)

CASES: list[dict] = []
ARRAYS: dict[str, np.ndarray] = {}


def add(case_id: str, arrays: dict[str, np.ndarray], **fields) -> None:
    assert all(c["id"] != case_id for c in CASES), case_id
    for key, value in arrays.items():
        if value is not None:
            ARRAYS[f"{case_id}/{key}"] = np.ascontiguousarray(value)
    CASES.append({"id": case_id, **fields})


def T(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def nan_to_none(v):
    v = float(v)
    return None if np.isnan(v) else v


# --------------------------------------------------------------------------------------------------------------
# segmentation metrics over a batch of label images
# --------------------------------------------------------------------------------------------------------------

def seg_batch(b, c, shape=(12, 14), absent=(), predicted_only=(), void=None, frac_right=0.6):
    """B ground-truth/prediction label images; classes in ``absent`` never occur in the ground truth of image 0
    (``predicted_only`` of them are predicted there anyway); ``void`` marks 10% of the pixels ignored."""
    gt = RNG.integers(0, c, size=(b, *shape))
    pred = np.where(RNG.random(gt.shape) < frac_right, gt, RNG.integers(0, c, size=gt.shape))
    for k in absent:
        gt[0][gt[0] == k] = 0
        pred[0][pred[0] == k] = 0
    for k in predicted_only:
        pred[0].reshape(-1)[:5] = k
    if void is not None:
        gt = np.where(RNG.random(gt.shape) < 0.1, void, gt)
    return pred.astype(np.int64), gt.astype(np.int64)


def valid_pixels(pred, gt, void):
    keep = np.ones(gt.shape, bool) if void is None else gt != void
    return pred[keep], gt[keep]


SK_FN = {"dice": skm.f1_score, "iou": skm.jaccard_score, "precision": skm.precision_score,
         "recall": skm.recall_score}
TM_FN = {"dice": tmc.multiclass_f1_score, "iou": tmc.multiclass_jaccard_index,
         "precision": tmc.multiclass_precision, "recall": tmc.multiclass_recall,
         "accuracy": tmc.multiclass_accuracy}


def seg_sklearn(case_id, pred, gt, c, void=None, exclude_background=False, zero_division="warn"):
    for value in ("dice", "iou", "precision", "recall", "accuracy"):
        if value == "iou" and zero_division == "nan":
            continue  # jaccard_score takes 0 or 1 only
        per_image = []
        for p, g in zip(pred, gt, strict=True):
            yp, yt = valid_pixels(p, g, void)
            if value == "accuracy":
                per_image.append(skm.accuracy_score(yt, yp))
                continue
            labels = sorted(set(yt.tolist()) | set(yp.tolist()))
            if exclude_background:
                labels = [k for k in labels if k != 0]
            zd = {"nan": np.nan}.get(zero_division, zero_division)
            per_image.append(SK_FN[value](yt, yp, labels=labels, average="macro", zero_division=zd)
                             if labels else np.nan)
        params = {} if value == "accuracy" else {"zero_division": str(zero_division)}
        call = ("accuracy_score(y_true, y_pred)" if value == "accuracy" else
                f"{SK_FN[value].__name__}(y_true, y_pred, labels=<present in y_true or y_pred"
                f"{', minus 0' if exclude_background else ''}>, average='macro', zero_division={zero_division!r})")
        add(f"seg-{value}-sklearn-{case_id}", {"pred": pred, "target": gt}, task="seg", value=value,
            convention="sklearn", params=params, ignore_index=void, exclude_background=exclude_background,
            num_classes=c, expected_per_image=[nan_to_none(v) for v in per_image], expected_dataset=None,
            reference=f"sklearn.metrics.{call} on each image's valid pixels")


def seg_torchmetrics(case_id, pred, gt, c, void=None):
    for value, fn in TM_FN.items():
        per_image = []
        for p, g in zip(pred, gt, strict=True):
            kw = {"num_classes": c, "average": "macro"}
            if void is not None:
                kw["ignore_index"] = void
            per_image.append(float(fn(T(p).reshape(-1), T(g).reshape(-1), **kw)))
        add(f"seg-{value}-torch-{case_id}", {"pred": pred, "target": gt}, task="seg", value=value,
            convention="torch", params={}, ignore_index=void, exclude_background=False, num_classes=c,
            expected_per_image=[nan_to_none(v) for v in per_image], expected_dataset=None,
            reference=f"torchmetrics.functional.classification.{fn.__name__}(pred.reshape(-1), target.reshape(-1), "
                      f"num_classes={c}, average='macro'{f', ignore_index={void}' if void is not None else ''})")


def one_hot(labels, c):
    return np.moveaxis(np.eye(c)[labels], -1, 1)  # (B, C, H, W)


def seg_monai(case_id, pred, gt, c, include_background=True, ignore_empty=True):
    for value, cls in (("dice", DiceMetric), ("iou", MeanIoU)):
        y_pred, y = T(one_hot(pred, c)), T(one_hot(gt, c))
        metric = cls(include_background=include_background, reduction="mean", ignore_empty=ignore_empty)
        metric(y_pred=y_pred, y=y)
        dataset = float(metric.aggregate())
        per = cls(include_background=include_background, reduction="none", ignore_empty=ignore_empty)
        per(y_pred=y_pred, y=y)
        matrix = per.aggregate().double().numpy()  # (B, C or C-1), NaN for ignored empty classes
        per_image = [np.nan if np.isnan(row).all() else float(np.nanmean(row)) for row in matrix]
        add(f"seg-{value}-monai-{case_id}", {"pred": pred, "target": gt}, task="seg", value=value, convention="monai",
            params={"ignore_empty": ignore_empty}, ignore_index=None, exclude_background=not include_background,
            num_classes=c, expected_per_image=[nan_to_none(v) for v in per_image], expected_dataset=dataset,
            reference=f"monai.metrics.{cls.__name__}(include_background={include_background}, reduction='mean', "
                      f"ignore_empty={ignore_empty}) on one-hot (B, C, H, W) of the labels, .aggregate(); per image: "
                      "the nan-mean of reduction='none'")


def seg_nnunet(case_id, pred, gt, c, void=None):
    labels = list(range(1, c))
    result = NNUNET.run(pred, gt, labels, void)
    per_class_means = [nan_to_none(result["mean"][k]["Dice"]) for k in labels]
    for value, key in (("dice", "Dice"), ("iou", "IoU")):
        per_image = []
        for case in result["metric_per_case"]:
            row = [case["metrics"][k][key] for k in labels]
            per_image.append(np.nan if np.isnan(row).all() else float(np.nanmean(row)))
        add(f"seg-{value}-nnunet-{case_id}", {"pred": pred, "target": gt}, task="seg", value=value,
            convention="nnunet", params={}, ignore_index=void, exclude_background=False, num_classes=c,
            expected_per_image=[nan_to_none(v) for v in per_image],
            expected_dataset=nan_to_none(result["foreground_mean"][key]),
            expected_class_means=[nan_to_none(result["mean"][k][key]) for k in labels],
            reference=f"nnunetv2.evaluation.evaluate_predictions.compute_metrics_on_folder(labels={labels}, "
                      f"ignore_label={void}) ['foreground_mean'][{key!r}]; per image: the nan-mean over the "
                      "foreground of 'metric_per_case' (lossctl's reading)")
    del per_class_means


def make_seg_metric_cases():
    pred, gt = seg_batch(3, 4, absent=(3,), predicted_only=(3,))
    seg_sklearn("01-C4_absent3_predicted", pred, gt, 4)
    seg_torchmetrics("01-C4_absent3_predicted", pred, gt, 4)
    seg_monai("01-C4_absent3_predicted", pred, gt, 4)
    seg_monai("02-C4_absent3_predicted_nobg_noignore", pred, gt, 4, include_background=False, ignore_empty=False)
    seg_nnunet("01-C4_absent3_predicted", pred, gt, 4)
    pred, gt = seg_batch(2, 5, absent=(2, 4), predicted_only=(), void=255)
    seg_sklearn("02-C5_absent_void", pred, gt, 5, void=255)
    seg_sklearn("03-C5_absent_void_nobg_zd1", pred, gt, 5, void=255, exclude_background=True, zero_division=1)
    seg_torchmetrics("02-C5_absent_void", pred, gt, 5, void=255)
    seg_nnunet("02-C5_absent_void", pred, gt, 5, void=255)
    pred, gt = seg_batch(4, 3, shape=(6, 7), absent=(1, 2), predicted_only=(2,), frac_right=0.3)
    seg_sklearn("04-C3_sparse", pred, gt, 3, zero_division="nan")
    seg_torchmetrics("03-C3_sparse", pred, gt, 3)
    seg_monai("03-C3_sparse", pred, gt, 3)
    seg_nnunet("03-C3_sparse", pred, gt, 3)
    pred, gt = seg_batch(2, 3, shape=(5, 6), absent=(1, 2))  # class 1 and 2 absent from image 0 on both sides
    gt[1][gt[1] == 2] = 0
    pred[1][pred[1] == 2] = 0  # class 2 absent everywhere: nnU-Net's foreground_mean is NaN
    seg_nnunet("04-C3_class2_never", pred, gt, 3)
    seg_monai("04-C3_class2_never", pred, gt, 3)


# --------------------------------------------------------------------------------------------------------------
# classification metrics
# --------------------------------------------------------------------------------------------------------------

def cls_hard(pred, kind):
    if pred.ndim == 2:
        return pred.argmax(axis=1)
    return (pred >= (0.5 if kind == "probs" else 0.0)).astype(np.int64)


def cls_metric_cases():
    n = 40
    sets = []
    p = RNG.random(n)
    p[:3] = 0.5  # exactly on the threshold: sklearn's rule (lossctl: >= 0.5) and torchmetrics' (> 0.5) differ
    y = (RNG.random(n) < 0.4).astype(np.int64)
    sets.append(("binary_probs", p, y, "probs", None, None))
    logits = RNG.normal(size=(n, 4)) * 2
    yc = RNG.integers(0, 3, n)  # class 3 never true; predicted sometimes
    sets.append(("C4_logits_absent3", logits, yc, "logits", None, None))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    w = RNG.random(n) * 2
    sets.append(("C4_probs_weights", probs, yc, "probs", w, None))
    yi = yc.copy()
    yi[:6] = -100
    sets.append(("C4_probs_ignore", probs, yi, "probs", None, -100))
    for desc, pred, target, kind, weights, ignore in sets:
        keep = np.ones(n, bool) if ignore is None else target != ignore
        yt, yp = target[keep], cls_hard(pred, kind)[keep]
        sw = None if weights is None else weights[keep]
        binary = pred.ndim == 1
        for value in ("accuracy", "precision", "recall", "f1"):
            if ignore is None:
                for zd in (("warn",) if value == "accuracy" else ("warn", 1.0)):
                    if value == "accuracy":
                        expected, call = skm.accuracy_score(yt, yp, sample_weight=sw), "accuracy_score"
                        params = {}
                    else:
                        fn = {"precision": skm.precision_score, "recall": skm.recall_score, "f1": skm.f1_score}[value]
                        avg = "binary" if binary else "macro"
                        expected = fn(yt, yp, average=avg, sample_weight=sw, zero_division=zd)
                        call = f"{fn.__name__}(average={avg!r}, zero_division={zd!r})"
                        params = {"zero_division": "warn" if zd == "warn" else "1"}
                    add(f"cls-{value}-sklearn-{desc}-zd{zd}", {"pred": pred, "target": target, "weights": weights},
                        task="cls", value=value, convention="sklearn", input=kind, params=params,
                        ignore_index=ignore, expected=float(expected),
                        reference=f"sklearn.metrics.{call}(y_true, hard(pred), sample_weight=weights); hard: "
                                  "argmax, or p >= 0.5 / x >= 0")
            if weights is not None:
                continue  # torchmetrics has no sample weights
            tp = T(pred)
            tt = T(np.where(keep, target, target))
            kw = {} if ignore is None else {"ignore_index": ignore}
            if binary:
                fn = {"accuracy": tmc.binary_accuracy, "precision": tmc.binary_precision,
                      "recall": tmc.binary_recall, "f1": tmc.binary_f1_score}[value]
                if kind == "logits":
                    tp = torch.sigmoid(tp)
                expected = float(fn(tp, tt, threshold=0.5, **kw))
                call = f"{fn.__name__}(pred, target, threshold=0.5)"
            else:
                fn = {"accuracy": tmc.multiclass_accuracy, "precision": tmc.multiclass_precision,
                      "recall": tmc.multiclass_recall, "f1": tmc.multiclass_f1_score}[value]
                expected = float(fn(tp, tt, num_classes=pred.shape[1], average="macro", **kw))
                call = f"{fn.__name__}(pred, target, num_classes={pred.shape[1]}, average='macro'{', ignore_index=-100' if ignore is not None else ''})"
            add(f"cls-{value}-torch-{desc}", {"pred": pred, "target": target}, task="cls", value=value,
                convention="torch", input=kind, params={}, ignore_index=ignore, expected=expected,
                reference=f"torchmetrics.functional.classification.{call}")


# --------------------------------------------------------------------------------------------------------------
# quirks
# --------------------------------------------------------------------------------------------------------------

def quirk_cases():
    # smp FocalLoss(from_logits=False) on probability maps, multiclass and binary
    c, shape = 3, (9, 10)
    logits = RNG.normal(size=(c, *shape)) * 2
    probs = np.exp(logits) / np.exp(logits).sum(axis=0)
    target = RNG.integers(0, c, size=shape)
    loss = SMP["focal"].FocalLoss(mode="multiclass", from_logits=False)
    expected = float(loss(T(probs[None]), T(target[None])))
    add("seg-focal-smp-probs_C3", {"pred": probs, "target": target}, task="seg", value="focal", convention="smp",
        input="probs", params={}, ignore_index=[], expected=expected,
        reference="smp FocalLoss(mode='multiclass', from_logits=False)(probs[None], target[None])")
    fg = 1.0 / (1.0 + np.exp(-RNG.normal(size=shape) * 2))
    fg[0, :3] = [0.0, 1.0, 0.5]
    binary_target = (RNG.random(shape) < 0.4).astype(np.int64)
    loss = SMP["focal"].FocalLoss(mode="binary", from_logits=False, alpha=0.3)
    expected = float(loss(T(fg[None, None]), T(binary_target[None, None])))
    add("seg-focal-smp-probs_binary_a0.3", {"pred": fg, "target": binary_target}, task="seg", value="focal",
        convention="smp", input="probs", params={"alpha": 0.3}, ignore_index=[], expected=expected,
        reference="smp FocalLoss(mode='binary', from_logits=False, alpha=0.3)(p[None, None], target[None, None])")
    # MONAI FocalLoss(use_softmax=True) and (ignore_index=255) on images
    c = 4
    logits = RNG.normal(size=(c, *shape)) * 2
    target = RNG.integers(0, c, size=shape)
    for desc, kw, params in (("softmax_C4", {"use_softmax": True}, {"use_softmax": True}),
                             ("softmax_a0.3_C4", {"use_softmax": True, "alpha": 0.3},
                              {"use_softmax": True, "alpha": 0.3})):
        expected = float(MonaiFocal64(to_onehot_y=True, **kw)(T(logits[None]), T(target[None, None])))
        add(f"seg-focal-monai-{desc}", {"pred": logits, "target": target}, task="seg", value="focal",
            convention="monai", input="logits", params=params, ignore_index=[], expected=expected,
            reference=f"monai FocalLoss(to_onehot_y=True, {', '.join(f'{k}={v}' for k, v in kw.items())}) "
                      "(float64 forward)(logits[None], target[None, None])")
    voided = np.where(RNG.random(shape) < 0.2, 255, target)
    for desc, kw in (("ignore255_sigmoid_C4", {}), ("ignore255_softmax_C4", {"use_softmax": True})):
        expected = float(MonaiFocal64(to_onehot_y=True, ignore_index=255, **kw)(T(logits[None]), T(voided[None, None])))
        add(f"seg-focal-monai-{desc}", {"pred": logits, "target": voided}, task="seg", value="focal",
            convention="monai", input="logits", params=dict(kw), ignore_index=[255], expected=expected,
            reference=f"monai FocalLoss(to_onehot_y=True, ignore_index=255{', use_softmax=True' if kw else ''}) "
                      "(float64 forward): sum over valid voxels and channels / number of valid voxels")
    # scikit-learn hinge_loss with any two labels (the greater is +1), and one label (all -1)
    n = 30
    scores = RNG.normal(size=n) * 1.5
    for desc, labels in (("labels_3_7", (3, 7)), ("labels_-1_2", (-1, 2)), ("labels_0_1", (0, 1))):
        y = np.where(RNG.random(n) < 0.5, labels[0], labels[1]).astype(np.int64)
        add(f"cls-hinge-sklearn-{desc}", {"pred": scores, "target": y}, task="cls", value="hinge",
            convention="sklearn", input="scores", params={}, ignore_index=None,
            expected=float(skm.hinge_loss(y, scores)), reference="sklearn.metrics.hinge_loss(target, pred)")
    y = np.full(n, 1, dtype=np.int64)
    add("cls-hinge-sklearn-one_label_1", {"pred": scores, "target": y}, task="cls", value="hinge",
        convention="sklearn", input="scores", params={}, ignore_index=None,
        expected=float(skm.hinge_loss(y, scores)),
        reference="sklearn.metrics.hinge_loss(target, pred) with a single label: LabelBinarizer makes every y -1")
    # torch MultiMarginLoss(p=2, margin=0.5)
    f = RNG.normal(size=(n, 4))
    yc = RNG.integers(0, 4, n)
    for p, margin in ((2, 0.5), (1, 2.0)):
        expected = float(torch.nn.MultiMarginLoss(p=p, margin=margin)(T(f), T(yc)))
        add(f"cls-multiclass_hinge-torch-p{p}_margin{margin}", {"pred": f, "target": yc}, task="cls",
            value="multiclass_hinge", convention="torch", input="scores", params={"p": p, "margin": margin},
            ignore_index=None, expected=expected, reference=f"torch.nn.MultiMarginLoss(p={p}, margin={margin})(pred, "
                                                            "target)")
    # Keras CategoricalFocalCrossentropy with one-hot targets; CategoricalCrossentropy renormalising rows
    logits = (RNG.normal(size=(n, 3)) * 2).astype(np.float32)
    onehot = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, n)]
    expected = float(keras.ops.convert_to_numpy(keras.losses.CategoricalFocalCrossentropy(from_logits=True)(
        onehot, logits)))
    add("cls-focal-keras-onehot_logits_C3", {"pred": logits, "target": onehot}, task="cls", value="focal",
        convention="keras", input="logits", params={}, ignore_index=None, expected=expected, float32_bound=True,
        reference="keras.losses.CategoricalFocalCrossentropy(from_logits=True)(target, pred), one-hot (N, C) targets")
    raw = RNG.random((n, 3)).astype(np.float32) * 0.6 + 0.05  # rows sum to about 0.3 .. 1.95
    for loss, target, desc in (("cce", onehot, "onehot"), ("focal", onehot, "onehot_focal")):
        fn = (keras.losses.CategoricalCrossentropy() if loss == "cce" else keras.losses.CategoricalFocalCrossentropy())
        expected = float(keras.ops.convert_to_numpy(fn(target, raw)))
        add(f"cls-{loss}-keras-unnormalised_{desc}", {"pred": raw, "target": target}, task="cls", value=loss,
            convention="keras", input="probs", params={}, ignore_index=None, expected=expected, float32_bound=True,
            reference=f"keras.losses.{type(fn).__name__}()(target, pred) with probability rows that do not sum to 1 "
                      "(Keras divides each row by its sum)")


def main():
    make_seg_metric_cases()
    cls_metric_cases()
    quirk_cases()
    doc = {"generated_by": "tools/make_golden_conventions.py", "command": COMMAND, "seed": SEED,
           "versions": VERSIONS, "nnunet_wheel": Path(NNUNET_WHEEL).name, "cases": CASES}
    references.write_golden(references.GOLDEN_DIR, "conventions_inputs.npz", ARRAYS, "conventions.json", doc)
    print(f"{len(CASES)} cases written")


if __name__ == "__main__":
    main()
