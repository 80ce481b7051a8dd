"""The bad-input matrix of ``lossctl seg``: one row per way an input can be wrong, run through the real CLI.

Every error row builds a folder of 3 good pairs (``a``, ``b``, ``c``: 6x7, 3 classes) plus ONE bad pair
``bad`` (or one bad condition of the folders or options) and checks what the documentation promises:

* the documented exit code (3 input error, 2 usage error);
* stderr has exactly one ``error:`` line per problem, which names the offending file (its path) or option
  value, and holds the key phrase of the problem AND a fix hint (the same problem in several files is one line
  that names them);
* no ``Traceback`` anywhere;
* per-file problems: the 3 good images are still evaluated (``-f json``: ``images`` holds a, b, c and
  ``errors`` holds the bad file);
* where the message suggests a fix that is an option (``--ignore-index``), running with it succeeds;
* docs/troubleshooting.md mentions the problem class.

The rows that must work (0/255 masks, JPEG ground truth, names with spaces and non-ASCII characters) and
``--skip-errors`` / ``--allow-missing`` are checked after the matrix. Rows that reveal a bug assert the correct
behaviour (the bugs this matrix found are fixed; a new one gets ``bug="..."``, which marks the row
``xfail(strict=True)``, and a documentation gap ``readme_gap="..."``).

Then, in the same spirit: the other usage errors (exit 2) and input errors (exit 3) of ``seg``; the matrix of
volumes and boundary-metric options (:class:`VolumeRow`); and the matrix of pairing, label maps and dataset
descriptions (:class:`DatasetRow`). The loaders' own errors (Python API) are tested in tests/io/; gates that
cannot be answered in tests/engine/test_gates.py; refused output paths in tests/cli/test_output.py.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pytest
from PIL import Image
from support import (  # noqa: F401
    C,
    GOOD,
    H,
    docs_text,
    SAMPLE,
    SHARDED_RUN,
    SegSet,
    W,
    assert_clean_error,
    assert_no_traceback,
    cityscapes_layout,
    comparable,
    folder_report,
    make_seg_set,
    npz_bomb,
    png_bomb,
    run_subprocess,
    softmax,
    tiff_bomb,
    troubleshooting_section,
    write_label_png,
    write_list,
    write_npy,
    write_palette_png,
)

from lossctl import registry


# ----------------------------------------------------------------------------------------------------------
# The rows
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """What a row's builder made: the CLI arguments and what the error must name."""

    pred: Path
    gt: Path
    args: tuple[str, ...] = ()
    offenders: tuple[str, ...] = ()  # the file paths (or option values) the error lines name, each once
    lines: int | None = None  # how many error lines (default: one per offender; a problem shared: one line)


@dataclass
class Row:
    id: str
    build: Callable[[SegSet, Path], Case]
    phrase: str  # regex: the key phrase of the problem
    fix: str  # regex: the fix hint
    readme: str  # regex searched in docs/troubleshooting.md (its lines joined)
    code: int = 3
    per_file: bool = True  # the other images are still evaluated
    fixed_args: tuple[str, ...] | None = None  # adding these (the suggested fix) makes the run pass
    bug: str | None = None
    readme_gap: str | None = None
    patch: Callable[[pytest.MonkeyPatch], None] | None = None  # e.g. make an allocation fail


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(sum(map(ord, name)))


def png_bytes(labels: np.ndarray, mode: str = "P") -> bytes:
    buf = io.BytesIO()
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode=mode)
    if mode == "P":
        image.putpalette([0, 0, 0, 128, 128, 128, 200, 0, 0] + [0, 0, 0] * 253)
    image.save(buf, format="PNG")
    return buf.getvalue()


def good_bad_pair(s: SegSet, *, pred: bool = True, gt: bool = True) -> None:
    """A valid ``bad`` prediction and/or ground truth (the row then breaks the other one)."""
    if pred:
        write_npy(s.pred / "bad.npy", s.probs["a"])
    if gt:
        write_palette_png(s.gt / "bad.png", s.gts["a"])


def bad_pred(array: np.ndarray, *args: str, folder: str = "pred") -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        root = getattr(s, folder)
        write_palette_png(s.gt / "bad.png", s.gts["a"])
        path = write_npy(root / "bad.npy", array)
        return Case(root, s.gt, args, (str(path),))
    return build


def bad_file(side: str, name: str, write: Callable[[Path], None], *args: str) -> Callable[[SegSet, Path], Case]:
    """A good file on one side of the pair ``bad`` and ``write(path)`` on the other (``side``: "gt" or "pred")."""
    def build(s: SegSet, tmp: Path) -> Case:
        good_bad_pair(s, pred=side != "pred", gt=side != "gt")
        path = getattr(s, side) / name
        write(path)
        return Case(s.pred, s.gt, args, (str(path),))
    return build


def bad_gt_file(name: str, write: Callable[[Path], None], *args: str) -> Callable[[SegSet, Path], Case]:
    return bad_file("gt", name, write, *args)


def bad_pred_file(name: str, write: Callable[[Path], None], *args: str) -> Callable[[SegSet, Path], Case]:
    return bad_file("pred", name, write, *args)


def option_row(*args: str, offender: str, pred: str = "pred") -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        return Case(getattr(s, pred), s.gt, args, (offender,))
    return build


# -- builders of the bad files --------------------------------------------------------------------------------

def probs_of(seed: str, c: int = C, shape: tuple[int, ...] = (H, W)) -> np.ndarray:
    return softmax(rng_for(seed).normal(size=(c, *shape))).astype(np.float32)


def write_bytes(data: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(data)


def truncated_png(path: Path) -> None:
    labels = rng_for("png").integers(0, C, (H, W))
    data = png_bytes(labels)
    path.write_bytes(data[: len(data) // 2])


def truncated_npy(path: Path) -> None:
    buf = io.BytesIO()
    np.save(buf, probs_of("npy"))
    data = buf.getvalue()
    path.write_bytes(data[: 128 + (len(data) - 128) // 2])  # the 128-byte header and half the data


def corrupt_npz(path: Path) -> None:
    buf = io.BytesIO()
    np.savez(buf, probs=probs_of("npz"))
    data = buf.getvalue()
    path.write_bytes(data[: int(len(data) * 0.6)])  # a ZIP without its central directory


def random_bytes(path: Path) -> None:
    data = rng_for("tif").integers(0, 256, 600, dtype=np.uint8).tobytes()
    assert not data.startswith((b"II", b"MM"))
    path.write_bytes(data)


def tiff_magic_then_garbage(path: Path) -> None:
    path.write_bytes(b"II*\x00" + rng_for("tiff").integers(0, 256, 600, dtype=np.uint8).tobytes())


def truncated_tiff(path: Path) -> None:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, rng_for("tiff").integers(0, C, (H, W)).astype(np.uint8), compression="zlib")
    path.write_bytes(buf.getvalue()[:-20])


def rgb_png(path: Path) -> None:
    labels = rng_for("rgb").integers(0, C, (H, W))
    colours = np.array([[0, 0, 0], [128, 64, 128], [70, 70, 70]], dtype=np.uint8)
    Image.fromarray(colours[labels], mode="RGB").save(path)


def rgb_tiff(path: Path) -> None:
    import tifffile

    labels = rng_for("rgb").integers(0, C, (H, W))
    colours = np.array([[0, 0, 0], [128, 64, 128], [70, 70, 70]], dtype=np.uint8)
    tifffile.imwrite(path, colours[labels], photometric="rgb")


def ringing_jpeg(path: Path) -> None:
    """Labels 0/2 with sharp edges: JPEG ringing decodes some pixels above class 2."""
    labels = np.zeros((H, W), dtype=np.uint8)
    labels[:, 3:] = 2
    labels[2:4, :] = 2
    Image.fromarray(labels, mode="L").save(path, format="JPEG", quality=90)
    assert np.asarray(Image.open(path)).max() > 2  # precondition of the row


def out_of_memory_in(target: str) -> Callable[[pytest.MonkeyPatch], None]:
    """Make ``target`` (``module.function``) raise MemoryError for the pair named ``bad``."""
    def patch(monkeypatch: pytest.MonkeyPatch) -> None:
        import importlib

        module_name, name = target.rsplit(".", 1)
        module = importlib.import_module(module_name)
        real = getattr(module, name)

        def failing(*args, **kwargs):
            if failing.armed:
                raise MemoryError()
            return real(*args, **kwargs)
        failing.armed = False
        monkeypatch.setattr(module, name, failing)

        load = importlib.import_module("lossctl.io").load_array

        def arming_load(path, *args, **kwargs):  # arm the failure while the pair "bad" is evaluated
            failing.armed = Path(path).stem == "bad"
            return load(path, *args, **kwargs)
        monkeypatch.setattr("lossctl.io.load_array", arming_load)
    return patch


def memory_error_pair(s: SegSet, tmp: Path) -> Case:
    good_bad_pair(s)
    return Case(s.pred, s.gt, (), (str(s.pred / "bad.npy"),))


def pair_beyond_the_budget(labels: bool) -> Callable[[SegSet, Path], Case]:
    """A ``bad`` pair of 60x70 pixels (100 times the good ones) under --max-memory 100K: a 3-class float64 map
    in an .npz (decoded: it cannot be evaluated in chunks within the budget), or a 70x70 label pair whose
    evaluation (the int64 arrays and 8 bytes per pixel) takes more than 100K (in chunks once the class count is
    given)."""
    def build(s: SegSet, tmp: Path) -> Case:
        target = rng_for("budget").integers(0, C, (60, 70))
        if labels:
            for name in GOOD:
                write_npy(s.pred / f"{name}.npy", s.probs[name].argmax(axis=0).astype(np.int64))
                write_npy(s.gt / f"{name}.npy", s.gts[name].astype(np.int64))
            (s.gt / "bad.png").unlink(missing_ok=True)
            target = rng_for("budget").integers(0, C, (70, 70))
            write_npy(s.pred / "bad.npy", target.astype(np.int64))
            write_npy(s.gt / "bad.npy", target.astype(np.int64))
            for name in GOOD:
                (s.gt / f"{name}.png").unlink(missing_ok=True)
            return Case(s.pred, s.gt, ("--max-memory", "100K"), (str(s.pred / "bad.npy"),))
        path = s.pred / "bad.npz"
        np.savez(path, probs=softmax(rng_for("budget").normal(size=(C, 60, 70)), axis=0))
        write_label_png(s.gt / "bad.png", target)
        return Case(s.pred, s.gt, ("--max-memory", "100K"), (str(path),))
    return build


def directory_named_png(path: Path) -> None:
    path.mkdir()


def gt_npy(array: np.ndarray) -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        write_npy(s.pred / "bad.npy", s.probs["a"])
        path = write_npy(s.gt / "bad.npy", array)
        return Case(s.pred, s.gt, (), (str(path),))
    return build


def gt_with_label(value: int, *args: str) -> Callable[[SegSet, Path], Case]:
    def build(s: SegSet, tmp: Path) -> Case:
        labels = s.gts["a"].copy()
        labels[0, 0] = value
        write_npy(s.pred / "bad.npy", s.probs["a"])
        path = write_palette_png(s.gt / "bad.png", labels)
        return Case(s.pred, s.gt, args, (str(path),))
    return build


def negative_label_npy(s: SegSet, tmp: Path) -> Case:
    labels = s.gts["a"].astype(np.int16)
    labels[0, :3] = -1
    write_npy(s.pred / "bad.npy", s.probs["a"])
    path = write_npy(s.gt / "bad.npy", labels)
    return Case(s.pred, s.gt, (), (str(path),))


def float_gt(s: SegSet, tmp: Path) -> Case:
    return gt_npy(s.gts["a"].astype(np.float32))(s, tmp)


def with_nan(s: SegSet, tmp: Path) -> Case:
    probs = s.probs["a"].copy()
    probs[1, 2, 3] = np.nan
    return bad_pred(probs)(s, tmp)


def logits_folder_with_inf(s: SegSet, tmp: Path) -> Case:
    folder = s.root / "pred_logits"
    for name in GOOD:
        write_npy(folder / f"{name}.npy", s.logits[name])
    logits = s.logits["a"].copy()
    logits[2, 0, 0] = np.inf
    write_palette_png(s.gt / "bad.png", s.gts["a"])
    path = write_npy(folder / "bad.npy", logits)
    return Case(folder, s.gt, ("--pred-kind", "logits"), (str(path),))


def probs_outside_0_1(s: SegSet, tmp: Path) -> Case:
    return bad_pred(s.probs["a"] * 1.6 - 0.2)(s, tmp)


def probs_not_summing_to_1(s: SegSet, tmp: Path) -> Case:
    return bad_pred(s.probs["a"] * 0.5)(s, tmp)


def logits_without_kind(s: SegSet, tmp: Path) -> Case:
    return bad_pred(s.logits["a"])(s, tmp)


def label_pred_with_class_5(s: SegSet, tmp: Path) -> Case:
    labels = s.label_pred("a").copy()
    labels[1, 1] = 5
    write_palette_png(s.gt / "bad.png", s.gts["a"])
    path = write_label_png(s.labels / "bad.png", labels)
    return Case(s.labels, s.gt, ("--num-classes", "3"), (str(path),))


def label_volume_for_2d_gt(s: SegSet, tmp: Path) -> Case:
    write_palette_png(s.gt / "bad.png", s.gts["a"])
    path = write_npy(s.labels / "bad.npy", np.stack([s.label_pred("a")] * 2).astype(np.uint8))
    return Case(s.labels, s.gt, (), (str(path),))


def jpeg_gt_beyond_classes(s: SegSet, tmp: Path) -> Case:
    return bad_gt_file("bad.jpg", ringing_jpeg)(s, tmp)


# -- folder-level builders ------------------------------------------------------------------------------------


def missing_pred_dir(s: SegSet, tmp: Path) -> Case:
    missing = tmp / "no_such_pred"
    return Case(missing, s.gt, (), (str(missing),))


def empty_gt_dir(s: SegSet, tmp: Path) -> Case:
    empty = tmp / "empty_gt"
    empty.mkdir()
    return Case(s.pred, empty, (), (str(empty),))


def swapped(s: SegSet, tmp: Path) -> Case:
    # PRED is the folder of label PNGs, GT the folder of float probability NPYs: every pair is refused.
    return Case(s.gt, s.pred, (), tuple(str(s.pred / f"{n}.npy") for n in GOOD), lines=1)


def unpaired_pred(s: SegSet, tmp: Path) -> Case:
    write_npy(s.pred / "extra.npy", s.probs["a"])
    return Case(s.pred, s.gt, (), ("extra",))


def unpaired_gt(s: SegSet, tmp: Path) -> Case:
    write_palette_png(s.gt / "extra.png", s.gts["a"])
    return Case(s.pred, s.gt, (), ("extra",))


def duplicate_stems(s: SegSet, tmp: Path) -> Case:
    write_npy(s.gt / "a.npy", s.gts["a"])
    return Case(s.pred, s.gt, (), (str(s.gt / "a.npy"),))


def directory_named_like_a_file(s: SegSet, tmp: Path) -> Case:
    return bad_gt_file("bad.png", directory_named_png)(s, tmp)


ROWS: list[Row] = [
    # -- paths --------------------------------------------------------------------------------------------
    Row("missing-pred-dir", missing_pred_dir, r"does not exist", r"check the spelling", r"does not exist",
        per_file=False),
    Row("empty-gt-dir", empty_gt_dir, r"ground-truth folder holds no \.png.* file",
        r"point it at the folder", r"folder holds no \.png", per_file=False),
    Row("swapped-pred-gt", swapped, r"ground truth holds floating-point", r"PRED and GT are not swapped",
        r"PRED and GT swapped", per_file=False),
    Row("unpaired-pred", unpaired_pred, r"1 prediction has no ground truth", r"pass --allow-missing",
        r"pass --allow-missing", per_file=False, fixed_args=("--allow-missing",)),
    Row("unpaired-gt", unpaired_gt, r"1 ground-truth file has no prediction", r"pass --allow-missing",
        r"pass --allow-missing", per_file=False, fixed_args=("--allow-missing",)),
    Row("duplicate-stems", duplicate_stems, r"has the same name as .*a\.png", r"keep only one",
        r"same name", per_file=False),
    Row("zero-byte", bad_gt_file("bad.png", write_bytes(b"")), r"is empty \(0 bytes\)", r"re-export it",
        r"is empty \(0 bytes\)"),
    Row("truncated-png", bad_gt_file("bad.png", truncated_png), r"truncated or corrupt",
        r"re-export it as PNG", r"truncated or corrupt"),
    Row("truncated-npy", bad_pred_file("bad.npy", truncated_npy), r"the file is truncated", r"re-export it",
        r"truncated"),
    Row("corrupt-tiff-random-bytes", bad_gt_file("bad.tif", random_bytes), r"not a TIFF file",
        r"re-export it as TIFF", r"`not a PNG file`"),  # the docs abridge "not a <FORMAT> file"
    Row("corrupt-tiff-magic", bad_gt_file("bad.tif", tiff_magic_then_garbage), r"the TIFF holds no image",
        r"re-export it", r"TIFF holds no image"),
    Row("truncated-tiff-deflate", bad_gt_file("bad.tif", truncated_tiff),
        r"cannot decode it as TIFF, the file is truncated or corrupt", r"re-export it as TIFF",
        r"cannot decode it as TIFF"),
    Row("corrupt-npz", bad_pred_file("bad.npz", corrupt_npz), r"truncated or corrupt",
        r"re-export it as NumPy \.npz", r"truncated or corrupt"),
    Row("text-named-png", bad_gt_file("bad.png", write_bytes(b"class map of image bad\n0 1 2\n")),
        r"not a PNG file \(the bytes are plain text\)", r"re-export it as PNG", r"`not a PNG file`"),
    Row("directory-named-png", directory_named_like_a_file, r"is a directory", r"pass|remove|rename",
        r"is a directory"),
    # -- shapes -------------------------------------------------------------------------------------------
    Row("hw-mismatch", bad_pred(probs_of("hw", shape=(5, W))),
        r"the prediction has shape \(3, 5, 7\) but the ground truth has \(6, 7\)", r"resized or cropped",
        r"the prediction has shape"),
    Row("transposed", bad_pred(probs_of("tr", shape=(W, H))), r"has shape \(3, 7, 6\)",
        r"height and width look transposed", r"transposed"),
    Row("channels-last-without-flag", bad_pred(np.moveaxis(probs_of("cl"), 0, -1)), r"has shape \(6, 7, 3\)",
        r"pass --channels-last", r"--channels-last"),
    Row("3d-probs-for-2d-gt", bad_pred(probs_of("3d", shape=(2, H, W))), r"has shape \(3, 2, 6, 7\)",
        r"the prediction is 4-D, the ground truth 2-D", r"2-D vs 3-D"),
    Row("3d-labels-for-2d-gt", label_volume_for_2d_gt, r"has shape \(2, 6, 7\)",
        r"3-D, the ground truth 2-D", r"2-D vs 3-D"),
    Row("channels-vs-num-classes", bad_pred(probs_of("c4", c=4), "--num-classes", "3"),
        r"has 4 channels but there are 3 classes", r"pass the matching class count",
        r"channels but there are N classes"),
    Row("label-pred-beyond-num-classes", label_pred_with_class_5,
        r"the prediction holds label 5 but there are only 3 classes", r"check --num-classes",
        r"but there are only"),
    # -- values -------------------------------------------------------------------------------------------
    Row("gt-label-beyond-num-classes", gt_with_label(7, "--num-classes", "3"),
        r"the ground truth holds label 7 but there are only 3 classes", r"pass --ignore-index",
        r"but there are only", fixed_args=("--ignore-index", "7")),
    Row("gt-negative-label-int16", negative_label_npy, r"the ground truth holds the negative label -1",
        r"pass --ignore-index", r"negative label", fixed_args=("--ignore-index=-1",)),
    Row("gt-float32", float_gt, r"the ground truth holds floating-point \(float32\) values",
        r"PRED and GT are not swapped|save the labels as integers", r"floating-point"),
    Row("nan-in-probs", with_nan, r"holds 1 NaN or infinite value", r"must be finite", r"NaN or infinite"),
    Row("inf-in-logits", logits_folder_with_inf, r"holds 1 NaN or infinite value", r"must be finite",
        r"NaN or infinite"),
    Row("probs-outside-0-1", probs_outside_0_1, r"read as probabilities but holds values in .*outside \[0, 1\]",
        r"pass --pred-kind logits", r"outside \[0, 1\]"),
    Row("probs-not-summing-to-1", probs_not_summing_to_1, r"channels sum to values up to 0\.5 away from 1",
        r"pass --pred-kind logits", r"channels sum to"),
    Row("logits-without-pred-kind", logits_without_kind, r"read as probabilities but holds values",
        r"pass --pred-kind logits", r"--pred-kind logits"),
    Row("rgb-gt-png", bad_gt_file("bad.png", rgb_png), r"the ground truth is an RGB colour image",
        r"save it as a palette \(indexed\) or greyscale PNG", r"RGB\(A\) colour image"),
    Row("rgb-gt-tiff", bad_gt_file("bad.tif", rgb_tiff), r"the ground truth is an RGB colour image",
        r"save it as", r"RGB\(A\) colour image"),
    Row("jpeg-gt-beyond-classes", jpeg_gt_beyond_classes, r"the ground truth is a JPEG, and JPEG compression "
        r"changes label values", r"save the labels as PNG", r"the ground truth is a JPEG, and JPEG compression changes label values"),
    # -- options (exit 2, before any file is read) --------------------------------------------------------
    Row("unknown-loss", option_row("-l", "dise_loss", offender="'dise_loss'"),
        r"unknown seg loss or metric 'dise_loss'", r"choose from: .*dice_loss.*lovasz",
        r"unknown seg loss or metric", code=2, per_file=False),
    Row("unknown-metric", option_row("-m", "dicee", offender="'dicee'"),
        r"unknown seg loss or metric 'dicee'", r"choose from: dice, iou, precision, recall, accuracy",
        r"unknown seg loss or metric", code=2, per_file=False),
    Row("unknown-convention", option_row("--convention", "pytorch", offender="--convention 'pytorch'"),
        r"no such choice \(did you mean torch\?\)", r"choose from: lossctl, torch, keras, sklearn, smp, monai",
        r"no such choice \(did you mean", code=2, per_file=False),
    Row("value-convention-as-run-convention", option_row("--convention", "dice:monai",
                                                         offender="--convention 'dice:monai'"),
        r"--convention is the run's convention", r"name it with its convention: -m dice:monai",
        r"one value's own is `-m NAME:CONVENTION`", code=2, per_file=False),
    Row("workers-not-a-number", option_row("--workers", "two", offender="--workers 'two'"),
        r"expected a whole number", r"0 or more", r"expected a whole number", code=2, per_file=False),
    Row("threshold-out-of-range", option_row("--threshold", "1.5", offender="--threshold '1.5'"),
        r"expected a number", r"from 0 to 1", r"expected a whole number", code=2, per_file=False),
    Row("unknown-metric-close-to-one", option_row("-m", "dice,hd59", offender="'hd59'"),
        r"unknown seg loss or metric 'hd59' \(did you mean hd95\?\)", r"choose from: dice",
        r"unknown seg loss or metric", code=2, per_file=False),
    Row("malformed-gate", option_row("--gate", "dice>>0.8", offender="'dice>>0.8'"), r"malformed --gate",
        r"expected STAT\(NAME\[CLASS\]\) OP NUMBER", r"malformed --gate", code=2, per_file=False),
    Row("gate-on-value-not-computed", option_row("-m", "dice", "--gate", "iou>=0.5", offender="'iou>=0.5'"),
        r"uses 'iou', which this run does not compute", r"computed: dice", r"which this run does not compute",
        code=2, per_file=False),
    Row("gate-on-loss-of-label-predictions",
        option_row("--gate", "ce<=1", offender="'ce<=1'", pred="labels"), r"ce was not computed for any image",
        r"drop the gate", r"was not computed for any image", code=2, per_file=False),
    Row("num-classes-vs-class-names", option_row("--num-classes", "4", "--class-names", "x,y,z",
                                                 offender="--num-classes 4"),
        r"--num-classes 4 but --class-names names 3 classes", r";\s*(drop|pass|give|remove|use|make)",
        r"--class-names", code=2, per_file=False),
    Row("convention-lacks-loss", option_row("--convention", "keras", "-l", "lovasz", offender="lovasz"),
        r"--convention keras has no seg loss lovasz; it is defined under lossctl, smp",
        r"`lossctl losses lovasz` shows each definition", r"--convention C has no", code=2, per_file=False),
    # -- a Dask cluster (refused before dask is imported) -----------------------------------------------------
    Row("scheduler-with-workers", option_row("--scheduler", "local:2", "--workers", "2", offender="--workers 2"),
        r"counts this machine's cores, but --scheduler runs the pairs on the Dask cluster's workers",
        r"drop --workers \(local:N sets the number of local workers\)", r"`--scheduler` with `--workers`",
        code=2, per_file=False),
    Row("scheduler-not-a-url", option_row("--scheduler", "10.0.0.5:8786", offender="--scheduler 10.0.0.5:8786"),
        r"is not a scheduler address", r"give its URL, tcp://HOST:PORT", r"is not a scheduler address",
        code=2, per_file=False),
    Row("scheduler-file-missing", option_row("--scheduler-file", "no-such.json",
                                             offender="--scheduler-file no-such.json"),
        r"no such file", r"start the Dask scheduler first", r"--scheduler-file FILE: no such file", code=2,
        per_file=False),
    Row("two-schedulers", option_row("--scheduler", "local:1", "--scheduler-file", "s.json", offender="--scheduler"),
        r"--scheduler and --scheduler-file both name a Dask scheduler", r"give one of them",
        r"both name a Dask scheduler", code=2, per_file=False),
    # -- memory ----------------------------------------------------------------------------------------------
    Row("png-bomb", bad_gt_file("bad.png", png_bomb, "--max-memory", "1G"),
        r"the image \(40000x40000, mode 1\) decodes to 1\.5 GiB, more than the memory budget of 1 GiB",
        r"raise it \(--max-memory 2G\)", r"more than the memory budget"),
    Row("tiff-bomb", bad_gt_file("bad.tif", tiff_bomb, "--max-memory", "1G"),
        r"the image \(40000x40000\) decodes to 1\.5 GiB, more than the memory budget of 1 GiB",
        r"raise it \(--max-memory 2G\)", r"more than the memory budget"),
    # without an explicit --max-memory, a small compressed file that decodes to far more is refused as a bomb
    Row("png-bomb-default-budget", bad_gt_file("bad.png", png_bomb),
        r"the image \(40000x40000, mode 1\) decodes to 1\.5 GiB from 191 KiB \(8,193 times its size\), the mark of "
        r"a decompression bomb", r"accept it by passing --max-memory explicitly \(at least --max-memory 2G\)",
        r"the mark of a decompression bomb"),
    Row("tiff-bomb-default-budget", bad_gt_file("bad.tif", tiff_bomb),
        r"decodes to 1\.5 GiB from 1\.5 MiB \(1,026 times its size\), the mark of a decompression bomb",
        r"passing --max-memory explicitly", r"the mark of a decompression bomb"),
    Row("npz-bomb-default-budget", bad_pred_file("bad.npz", npz_bomb),
        r"array 'a' \(1600000000\) decodes to 1\.5 GiB from 2\.0 MiB \(771 times its size\), the mark of a "
        r"decompression bomb", r"passing --max-memory explicitly", r"the mark of a decompression bomb"),
    # what one pair's evaluation takes (the arrays and the working memory per pixel), from the headers
    Row("probs-pair-beyond-the-budget", pair_beyond_the_budget(labels=False),
        r"evaluating it against .*bad\.png takes about [\d.]+ KiB \(the 3x60x70 array is 98\.4 KiB decoded\), more "
        r"than the memory budget of 100 KiB", r"raise --max-memory \(to at least 1M\), otherwise crop or downscale",
        r"evaluating it against GT takes about"),
    Row("labels-pair-beyond-the-budget", pair_beyond_the_budget(labels=True),
        r"evaluating it against .*bad\.npy takes about 115 KiB \(the 70x70 array is 38\.3 KiB memory-mapped\), more "
        r"than the memory budget of 100 KiB", r"raise --max-memory \(to at least 1M\).*; or give the class count "
        r"\(--num-classes, above 2\), and the labels are evaluated in chunks", r"evaluating it against GT takes about",
        fixed_args=("--num-classes", "3")),
    Row("out-of-memory-loading", memory_error_pair, r"not enough memory to evaluate it against",
        r"free memory, use fewer --workers, or set --max-memory", r"not enough memory",
        patch=out_of_memory_in("lossctl.engine.seg.prepare")),
    Row("out-of-memory-in-a-loss", memory_error_pair, r"not enough memory to evaluate it against",
        r"free memory, use fewer --workers, or set --max-memory", r"not enough memory",
        patch=out_of_memory_in("lossctl.losses.segmentation.lovasz_sorted")),
]


def _params(rows: list[Row], attr: str) -> list:
    params = []
    for row in rows:
        reason = getattr(row, attr)
        prefix = "BUG: " if attr == "bug" else "README GAP: "
        marks = [pytest.mark.xfail(strict=True, reason=prefix + reason)] if reason else []
        params.append(pytest.param(row, id=row.id, marks=marks))
    return params


# ----------------------------------------------------------------------------------------------------------
# The matrix
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("row", _params(ROWS, "bug"))
def test_bad_input_row(cli, seg, tmp_path, monkeypatch, row: Row):
    if row.patch is not None:
        row.patch(monkeypatch)
    case = row.build(seg, tmp_path)
    r = cli("seg", case.pred, case.gt, *case.args)
    assert r.code == row.code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    assert len(lines) == (len(case.offenders) if case.lines is None else case.lines), r  # one line per problem
    for offender in case.offenders:
        named = [line for line in lines if offender in line]
        assert len(named) == 1, (offender, r)
        assert re.search(row.phrase, named[0]), (row.phrase, named[0])
        assert re.search(row.fix, named[0]), (row.fix, named[0])
    if row.code == 2:  # usage errors stop before any file is read: no report (except gates checked last)
        assert row.id == "gate-on-loss-of-label-predictions" or r.out == "", r

    if row.per_file:
        r = cli("seg", case.pred, case.gt, *case.args, "-f", "json")
        assert r.code == row.code, r
        assert_no_traceback(r)
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == GOOD, r
        assert [(e["name"], e["file"]) for e in doc["errors"]] == [("bad", case.offenders[0])], doc["errors"]
        assert doc["summary"]["count"] == 3

    if row.fixed_args is not None:
        r = cli("seg", case.pred, case.gt, *case.args, *row.fixed_args, "-f", "json")
        assert r.code == 0, r
        assert_no_traceback(r)
        assert r.error_lines() == [] and r.json()["errors"] == [], r


@pytest.mark.parametrize("row", _params(ROWS, "readme_gap"))
def test_readme_troubleshooting_mentions_row(row: Row):
    assert re.search(row.readme, troubleshooting_section()), row.readme


def test_prediction_label_error_suggests_only_fixes_that_work(cli, seg, tmp_path):
    case = label_pred_with_class_5(seg, tmp_path)
    r = cli("seg", case.pred, case.gt, *case.args)
    assert r.code == 3, r
    [line] = r.error_lines()
    if "--ignore-index" in line:  # the suggested fix must then work
        r = cli("seg", case.pred, case.gt, *case.args, "--ignore-index", "5")
        assert r.code == 0, r


# ----------------------------------------------------------------------------------------------------------
# Rows that must work
# ----------------------------------------------------------------------------------------------------------


def test_names_with_spaces_and_non_ascii_characters_work(cli, tmp_path):
    names = ["scan 01", "é ü naïve", "画像 (2)"]
    s = make_seg_set(tmp_path / "données et masques", names=tuple(names))
    r = cli("seg", s.pred, s.gt, "-f", "json")
    assert r.code == 0, r
    assert_no_traceback(r)
    assert [image["name"] for image in r.json()["images"]] == sorted(names)
    assert r.json()["errors"] == []


def test_bad_file_with_spaces_and_non_ascii_name_is_named(cli, seg):
    path = seg.gt / "masque é 1.png"
    path.write_bytes(b"")
    write_npy(seg.pred / "masque é 1.npy", seg.probs["a"])
    r = cli("seg", seg.pred, seg.gt)
    assert r.code == 3, r
    assert_no_traceback(r)
    assert len(r.error_lines()) == 1 and str(path) in r.error_lines()[0], r


def _binary_pair(s: SegSet, foreground: int) -> None:
    """A ``bad`` pair: a foreground probability map (H,W) and a binary mask whose foreground is ``foreground``."""
    mask = (s.gts["a"] == 1).astype(np.uint8)
    mask[0, 0], mask[0, 1] = 0, 1
    write_npy(s.pred / "bad.npy", s.probs["a"][1] / (s.probs["a"][0] + s.probs["a"][1]))
    write_label_png(s.gt / "bad.png", mask * foreground)


def _row(doc, name: str) -> dict:
    return next(image for image in doc["images"] if image["name"] == name)


def test_0_255_mask_is_read_as_0_1_with_a_note(cli, seg, tmp_path):
    _binary_pair(seg, 255)
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 0, r
    assert_no_traceback(r)
    bad = _row(r.json(), "bad")
    assert any("0/255" in note for note in bad["notes"]), bad["notes"]
    assert [image["name"] for image in r.json()["images"]] == sorted([*GOOD, "bad"])

    other = make_seg_set(tmp_path / "zero_one")
    _binary_pair(other, 1)
    r01 = cli("seg", other.pred, other.gt, "-f", "json")
    assert r01.code == 0, r01
    bad01 = _row(r01.json(), "bad")
    assert bad01["notes"] == []
    assert bad["values"] == bad01["values"]
    assert bad["confusion_matrix"] == bad01["confusion_matrix"]


def test_0_255_mask_with_ignore_index_255_warns_that_255_is_ignored(cli, seg):
    _binary_pair(seg, 255)
    r = cli("seg", seg.pred, seg.gt, "--ignore-index", "255", "-f", "json")
    assert r.code == 0, r
    assert_no_traceback(r)
    bad = _row(r.json(), "bad")
    assert any("255 is ignored" in note for note in bad["notes"]), bad["notes"]
    assert np.asarray(bad["confusion_matrix"])[1:].sum() == 0  # every foreground pixel left out


def test_jpeg_ground_truth_is_refused_even_when_it_decodes_exactly(cli, seg):
    write_npy(seg.pred / "bad.npy", seg.probs["a"])
    path = seg.gt / "bad.jpg"
    Image.fromarray(np.ones((H, W), dtype=np.uint8), mode="L").save(path, format="JPEG", quality=100)
    assert np.asarray(Image.open(path)).max() == 1  # precondition: decodes exactly
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 3, r
    assert_no_traceback(r)
    assert [e["file"] for e in r.json()["errors"]] == [str(path)]
    assert len(r.json()["images"]) == 3  # the other pairs are evaluated


def test_the_docs_document_the_notes_rows():
    text = " ".join(docs_text().split())
    assert "0/255" in text and "255 is read as class 1" in text
    assert "every 255 pixel is left out" in text
    assert "a JPEG ground truth, or a JPEG prediction read as labels, is refused" in text


# ----------------------------------------------------------------------------------------------------------
# --allow-missing and --skip-errors
# ----------------------------------------------------------------------------------------------------------


def test_allow_missing_evaluates_the_pairs_and_reports_the_rest(cli, seg):
    write_npy(seg.pred / "extra.npy", seg.probs["a"])
    r = cli("seg", seg.pred, seg.gt, "--allow-missing", "-f", "json")
    assert r.code == 0, r
    assert_no_traceback(r)
    doc = r.json()
    assert [image["name"] for image in doc["images"]] == GOOD
    assert doc["skipped"] == {"missing_gt": ["extra"], "missing_pred": []}
    assert any(line.startswith("warning:") and "skipped 1 prediction" in line for line in r.err.splitlines()), r


@pytest.mark.parametrize("gates, code", [((), 0), (("--gate", "dice>=0"), 0), (("--gate", "dice>=0.999"), 1)],
                         ids=["no-gate", "gate-passes", "gate-fails"])
def test_skip_errors_turns_the_error_into_a_warning_and_the_gates_decide(cli, seg, gates, code):
    good_bad_pair(seg, gt=False)
    path = seg.gt / "bad.png"
    path.write_bytes(b"")
    r = cli("seg", seg.pred, seg.gt, "--skip-errors", *gates, "-f", "json")
    assert r.code == code, r
    assert_no_traceback(r)
    assert r.error_lines() == [], r
    warnings = [line for line in r.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(path) in warnings[0] and "is empty (0 bytes)" in warnings[0], r
    doc = r.json()
    assert [image["name"] for image in doc["images"]] == GOOD
    assert [e["file"] for e in doc["errors"]] == [str(path)]


# ----------------------------------------------------------------------------------------------------------
# Usage errors of options (exit 2)
# ----------------------------------------------------------------------------------------------------------


def test_unknown_seg_loss_lists_the_valid_names(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--loss", "dice_los")
    assert_clean_error(r, 2, "'dice_los'")
    message = r.error_lines()[0]
    for name in registry.names("seg"):
        assert name in message
    assert r.out == ""


def test_unknown_metric_is_a_usage_error(cli, seg):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "--metric", "f1"), 2, "'f1'")


@pytest.mark.parametrize("param, fragment", [
    ("focal.delta=1", "no parameter 'delta'"),
    ("dice_loss.alpha=1", "no parameter 'alpha'"),
    ("nosuch.gamma=1", "'nosuch'"),
    ("focal.gamma", "malformed --param"),
    ("gamma=2", "malformed --param"),
    ("focal.gamma=abc", "not a number"),
])
def test_bad_param(cli, seg, param, fragment):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "--param", param), 2, fragment)


@pytest.mark.parametrize("args, fragments", [
    (("-p", "ece.bins=0"), ("ece.bins = 0", "out of range")),
    (("-p", "ece.bins=2.5"), ("ece.bins = 2.5", "whole number")),
    (("-p", "cw_ece.bins=ten"), ("not a number",)),
    (("-p", "ece.binning=mass", "--gate", "pooled(ece)<=0.1"), ("binning=mass has no pooled value", "mean(ece)")),
    (("--pred-kind", "labels"), ("ece is a calibration value", "probabilities or logits")),
])
def test_bad_calibration_settings_exit_2(cli, seg, args, fragments):
    """Refused before any file is read: one line, exit 2, no traceback."""
    r = cli("seg", seg.labels if "labels" in args else seg.pred, seg.gt, "-m", "ece,cw_ece", *args)
    assert_clean_error(r, 2, *fragments)
    assert r.out == ""


def test_calibration_of_label_predictions_names_the_value(cli, seg):
    """Label predictions detected per file (``auto``): a usage error naming the value, not a failed pair."""
    assert_clean_error(cli("seg", seg.labels, seg.gt, "-m", "dice,brier"), 2, "brier is a calibration value",
                       "give the model's probability or logit maps")


def test_num_classes_and_class_names_disagree(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--num-classes", "2", "--class-names", "bg,road,building")
    assert_clean_error(r, 2, "--num-classes 2", "3 classes")


@pytest.mark.parametrize("args, fragment", [
    (("--format", "xml"), "xml"),
    (("--pred-kind", "scores"), "scores"),
    (("--empty", "maybe"), "maybe"),
    (("--threshold", "1.5"), "threshold"),
    (("--workers", "-1"), "workers"),
    (("--no-such-option",), "no-such-option"),
])
def test_bad_option_value_exits_2_with_usage(cli, seg, args, fragment):
    r = cli("seg", seg.pred, seg.gt, *args)
    assert r.code == 2, r
    assert fragment in r.err and "Traceback" not in r.err
    assert r.out == ""


def test_missing_arguments_exit_2(cli):
    r = cli("seg")
    assert r.code == 2 and "Missing argument" in r.err, r


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("args", [("--param", "dice_loss.smooth=nan"), ("--smooth", "inf")])
def test_non_finite_seg_parameter_is_a_usage_error(cli, seg, args):
    assert_clean_error(cli("seg", seg.pred, seg.gt, "-f", "json", *args), 2)


@pytest.mark.parametrize("args, fragment", [
    (("--gamma", "-1"), "focal.gamma"),
    (("-p", "focal.alpha=1.5"), "focal.alpha"),
    (("-p", "dice_loss.eps=0"), "dice_loss.eps"),
    (("--smooth", "-0.5"), "smooth"),
])
def test_out_of_range_parameters_are_usage_errors(cli, seg, args, fragment):
    r = cli("seg", seg.pred, seg.gt, *args)
    assert r.code == 2 and fragment in r.err and "Traceback" not in r.err


@pytest.mark.parametrize("param", ["dice_loss.eps=none", "focal_tversky_loss.gamma=none", "focal.gamma=none"])
def test_only_optional_parameters_can_be_turned_off(cli, seg, param):
    r = cli("seg", seg.pred, seg.gt, "-p", param)
    assert r.code == 2 and "cannot be turned off" in r.err


@pytest.mark.parametrize("shard", ["0/3", "4/3", "x", "1-3"])
def test_malformed_shard_is_a_usage_error(cli, shard):
    r = cli("seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "--shard", shard)
    assert r.code == 2 and "--shard" in r.err


def test_baseline_with_shard_is_refused(cli, tmp_path):
    base = tmp_path / "base.json"
    assert cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "-f", "json", "-o", base).code == 0
    r = cli(*SHARDED_RUN, "--shard", "1/2", "--baseline", base)
    assert r.code == 2 and "lossctl merge" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# Input errors (exit 3), a failed pair among good ones, --skip-errors
# ----------------------------------------------------------------------------------------------------------


def test_missing_directory(cli, seg, tmp_path):
    r = cli("seg", tmp_path / "nope", seg.gt)
    assert_clean_error(r, 3, "nope", "does not exist")
    assert r.out == ""


def test_unpaired_files_are_counted_and_named(cli, seg):
    for extra in ("x1", "x2"):
        write_npy(seg.pred / f"{extra}.npy", seg.probs["a"])
    (seg.gt / "c.png").unlink()
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert_clean_error(r, 3, "3 predictions have no ground truth", "c, x1, x2", "--allow-missing")
    assert r.out == ""
    (seg.pred / "x1.npy").unlink()
    (seg.pred / "x2.npy").unlink()
    (seg.pred / "c.npy").unlink()
    write_label_png(seg.gt / "only_gt.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt)
    assert_clean_error(r, 3, "1 ground-truth file has no prediction", "only_gt")


def test_allow_missing_evaluates_the_intersection_and_reports_the_rest(cli, seg):
    write_npy(seg.pred / "extra.npy", seg.probs["a"])
    (seg.gt / "c.png").unlink()
    write_label_png(seg.gt / "lonely.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--allow-missing", "-g", "dice>=0")
    assert r.code == 0, r
    doc = r.json()
    assert [im["name"] for im in doc["images"]] == ["a", "b"]
    assert doc["summary"]["count"] == 2
    assert doc["skipped"] == {"missing_gt": ["c", "extra"], "missing_pred": ["lonely"]}
    assert "warning: skipped 2 prediction(s)" in r.err and "1 ground truth file(s)" in r.err
    assert not r.error_lines()


def _corrupt(seg, name="b"):
    bad = seg.pred / f"{name}.npy"
    bad.write_bytes(b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (3, 6, 7), }"
                    + b" " * 40 + b"\n" + b"\x00" * 12)  # a truncated .npy
    return bad


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_corrupt_file_among_good_ones(cli, seg, workers):
    bad = _corrupt(seg)
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--workers", workers)
    assert r.code == 3, r
    doc = json.loads(r.out)  # the report is still written
    assert [im["name"] for im in doc["images"]] == ["a", "c"]
    assert len(doc["errors"]) == 1 and doc["errors"][0]["file"] == str(bad)
    assert str(bad) in doc["errors"][0]["error"]
    lines = r.error_lines()
    assert len(lines) == 1 and str(bad) in lines[0], r
    assert "Traceback" not in r.err
    assert "evaluated 2 image(s), 1 failed" in r.err


def test_a_corrupt_ground_truth_is_named(cli, seg):
    bad = seg.gt / "a.png"
    bad.write_bytes(bad.read_bytes()[:30])
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 3, r
    assert json.loads(r.out)["errors"][0]["file"] == str(bad)
    assert len(r.error_lines()) == 1 and str(bad) in r.error_lines()[0]


def test_skip_errors_leaves_the_verdict_to_the_gates(cli, seg):
    bad = _corrupt(seg)
    ok = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors", "-g", "dice>=0")
    assert ok.code == 0, ok
    assert not ok.error_lines()
    assert any(line.startswith("warning:") and str(bad) in line for line in ok.err.splitlines())
    assert [im["name"] for im in ok.json()["images"]] == ["a", "c"]
    assert len(ok.json()["errors"]) == 1
    failing = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors", "-g", "dice>=0.999")
    assert failing.code == 1, failing
    no_gate = cli("seg", seg.pred, seg.gt, "--skip-errors")
    assert no_gate.code == 0, no_gate
    # without --skip-errors the input error wins over a failed gate
    assert cli("seg", seg.pred, seg.gt, "-g", "dice>=0.999").code == 3


def test_skip_errors_with_nothing_evaluated_is_still_an_input_error(cli, seg):
    for name in seg.names:
        _corrupt(seg, name)
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors")
    assert r.code == 3, r


def test_loss_on_label_predictions_needs_probabilities(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "-f", "json", "--loss", "ce")
    assert r.code == 3, r
    lines = r.error_lines()  # one problem of three pairs: one line naming them
    assert len(lines) == 1 and lines[0].startswith("error: 3 pairs failed: ce needs probabilities"), r
    assert all(str(seg.labels / f"{name}.png") in lines[0] for name in seg.names), r
    assert json.loads(r.out)["images"] == []


def test_probabilities_outside_0_1_suggest_pred_kind_logits(cli, seg, tmp_path):
    logits = write_npy(tmp_path / "logits" / "a.npy", (seg.logits["a"] * 3).astype(np.float32))
    gt = seg.gt / "a.png"
    r = cli("seg", logits, gt)
    assert_clean_error(r, 3, str(logits), "--pred-kind logits")
    assert cli("seg", logits, gt, "--pred-kind", "logits").code == 0


def test_channels_last_array_without_the_flag(cli, seg, tmp_path):
    hwc = write_npy(tmp_path / "hwc" / "a.npy", np.moveaxis(seg.probs["a"], 0, -1).copy())
    r = cli("seg", hwc, seg.gt / "a.png")
    assert_clean_error(r, 3, str(hwc), "--channels-last")
    # the flag on a channels-first array is refused too, with the expected shape
    r = cli("seg", seg.pred / "a.npy", seg.gt / "a.png", "--channels-last")
    assert_clean_error(r, 3, "--channels-last")


def test_more_labels_than_num_classes(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "--num-classes", "2")
    assert r.code == 3, r
    assert any("--num-classes" in line for line in r.error_lines())


def test_swapped_pred_and_gt_are_explained(cli, seg):
    r = cli("seg", seg.gt / "a.png", seg.pred / "a.npy")
    assert_clean_error(r, 3, "swapped")


def test_errors_in_a_real_process_print_no_traceback(seg, tmp_path):
    bad = _corrupt(seg)
    runs = {
        3: run_subprocess("seg", seg.pred, seg.gt, "-f", "json"),
        2: run_subprocess("seg", seg.pred, seg.gt, "--format", "xml"),
    }
    for code, p in runs.items():
        err = p.stderr.decode("utf-8")
        assert p.returncode == code, err
        assert "Traceback" not in err and "internal error" not in err, err
    errors = [line for line in runs[3].stderr.decode("utf-8").splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(bad) in errors[0]
    assert [im["name"] for im in json.loads(runs[3].stdout)["images"]] == ["a", "c"]


def test_0_255_mask_with_ignore_255_says_the_foreground_is_ignored(cli, tmp_path):
    gt = np.zeros((6, 7), np.uint8)
    gt[2:4, 2:5] = 255
    write_label_png(tmp_path / "gt.png", gt)
    write_label_png(tmp_path / "pred.png", (gt > 0).astype(np.uint8))
    r = cli("seg", tmp_path / "pred.png", tmp_path / "gt.png", "--ignore-index", "255", "-f", "json")
    assert r.code == 0
    notes = r.json()["images"][0]["notes"]
    assert any("255 is ignored" in n for n in notes)


# ----------------------------------------------------------------------------------------------------------
# Volumes (NIfTI, NRRD, MetaImage) and the boundary-metric options
# ----------------------------------------------------------------------------------------------------------

# As the matrix above: each row builds 3 good NIfTI pairs (``a``, ``b``, ``c``) plus ONE bad pair (or one bad
# option) and checks the documented exit code, exactly one ``error:`` line naming the offending file (or option)
# with the problem and a fix, no traceback, that the 3 good pairs are still evaluated (per-file rows), and that
# docs/troubleshooting.md mentions the problem.


SPACING = (0.8, 0.8, 2.5)
SHAPE = (10, 12, 8)
BOUNDARY = ("-m", "dice", "-m", "hd95")


def labels(offset: int = 0, shape=SHAPE) -> np.ndarray:
    a = np.zeros(shape, np.uint8)
    a[2 + offset:7 + offset, 3:9, 2:6] = 1
    a[4 + offset:6 + offset, 5:7, 3:5] = 2
    return a


def nifti(path: Path, array: np.ndarray, spacing=SPACING, affine=None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(array, np.diag([*spacing, 1.0]) if affine is None else affine), path)
    return path


def metaimage(path: Path, array_zyx: np.ndarray, spacing_text: str) -> Path:
    header = (f"ObjectType = Image\nNDims = 3\nDimSize = {' '.join(map(str, reversed(array_zyx.shape)))}\n"
              f"ElementSpacing = {spacing_text}\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n")
    path.write_bytes(header.encode() + array_zyx.astype(np.uint8).tobytes())
    return path


@dataclass
class Volumes:
    pred: Path
    gt: Path


@dataclass
class VolumeCase:
    args: tuple[str, ...] = ()
    offender: str = ""


@dataclass
class VolumeRow:
    id: str
    build: Callable[[Volumes], VolumeCase]
    phrase: str
    fix: str
    readme: str
    code: int = 3
    per_file: bool = True


def make_volumes(root: Path) -> Volumes:
    v = Volumes(root / "pred", root / "gt")
    for i, name in enumerate(GOOD):
        nifti(v.gt / f"{name}.nii.gz", labels())
        nifti(v.pred / f"{name}.nii.gz", labels(offset=i % 2))
    return v


def bad_gt(write: Callable[[Path], Path], name: str = "bad.nii.gz", *args: str) -> Callable[[Volumes], VolumeCase]:
    def build(v: Volumes) -> VolumeCase:
        nifti(v.pred / "bad.nii.gz", labels())
        return VolumeCase(args, str(write(v.gt / name)))
    return build


def bad_volume_pred(write: Callable[[Path], Path], *args: str) -> Callable[[Volumes], VolumeCase]:
    def build(v: Volumes) -> VolumeCase:
        nifti(v.gt / "bad.nii.gz", labels())
        return VolumeCase(args, str(write(v.pred / "bad.nii.gz")))
    return build


def option(*args: str, offender: str) -> Callable[[Volumes], VolumeCase]:
    return lambda v: VolumeCase(args, offender)


def four_d(path: Path) -> Path:
    return nifti(path, np.stack([labels(), labels()], axis=-1))


def truncated_gz(path: Path) -> Path:
    nifti(path, labels())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def short_data_nii(path: Path) -> Path:
    full = nifti(path.with_suffix("").with_suffix(".nii"), labels())
    data = full.read_bytes()
    full.write_bytes(data[:-100])  # the header still declares every voxel
    return full


def nifti_zero_spacing(path: Path) -> Path:
    # nibabel repairs a zero pixdim when it writes, so patch the stored header: pixdim[2] is bytes 84..88
    raw = nifti(path.with_name("raw.nii"), labels())
    data = bytearray(raw.read_bytes())
    data[84:88] = np.float32(0.0).tobytes()
    raw.unlink()
    with gzip.open(path, "wb") as handle:
        handle.write(bytes(data))
    return path


def mha_spacing(text: str) -> Callable[[Path], Path]:
    return lambda path: metaimage(path.with_name("bad.mha"), labels().transpose(2, 1, 0), text)


def spacing_mismatch(path: Path) -> Path:
    return nifti(path, labels(), spacing=(0.8, 0.8, 3.0))


def orientation_mismatch(path: Path) -> Path:
    affine = np.diag([*SPACING, 1.0])
    affine[:3, :3] = np.array([[0, 0.8, 0], [0.8, 0, 0], [0, 0, 2.5]])  # axes 0 and 1 swapped in the world
    return nifti(path, labels(), affine=affine)


def shape_mismatch(path: Path) -> Path:
    return nifti(path, labels(shape=(10, 12, 9)))


def non_integral(path: Path) -> Path:
    a = labels().astype(np.float32)
    a[3, 4, 3] = 0.5
    return nifti(path, a)


def mha_gt_with_nifti_pred(v: Volumes) -> VolumeCase:
    nifti(v.pred / "bad.nii.gz", labels())
    return VolumeCase((), str(mha_spacing("2.5 0.8 -0.8")(v.gt / "bad.nii.gz")))


VOLUME_ROWS = [
    VolumeRow("4d-label-volume", bad_gt(four_d), r"a 4D volume \(10, 12, 8, 2\) where a 3D label volume is expected",
        r"save the ground truth as one 3D label map", r"4D volume"),
    VolumeRow("truncated-nii-gz", bad_gt(truncated_gz), r"truncated", r"re-export it", r"truncated"),
    VolumeRow("header-shape-not-matching-data", bad_gt(short_data_nii, "bad.nii"),
        r"the header declares 10x12x8 uint8 voxels .* but the file has", r"re-export it",
        r"header does not match"),
    VolumeRow("zero-spacing-nifti", bad_gt(nifti_zero_spacing), r"voxel spacing 0 on axis 1", r"pass --spacing",
        r"spacing .* is not a positive number"),
    VolumeRow("negative-spacing", mha_gt_with_nifti_pred, r"voxel spacing -0.8 on axis 0 \(of -0.8, 0.8, 2.5\)", r"fix the header",
        r"spacing .* is not a positive number"),
    VolumeRow("nan-spacing", bad_gt(mha_spacing("nan 0.8 2.5"), "bad.mha"), r"voxel spacing nan on axis 2",
        r"pass --spacing to override", r"spacing .* is not a positive number"),
    VolumeRow("spacing-mismatch", bad_volume_pred(spacing_mismatch), r"voxel spacing \(0.8, 0.8, 3\) does not match the "
        r"ground truth .*bad\.nii\.gz \(0.8, 0.8, 2.5\)", r"resample the prediction", r"spacing .* does not match"),
    VolumeRow("orientation-mismatch", bad_volume_pred(orientation_mismatch), r"orientation .* does not match the ground truth",
        r"resample the prediction", r"orientation .* does not match"),
    VolumeRow("shape-mismatch", bad_volume_pred(shape_mismatch), r"shape \(10, 12, 9\) does not match the ground truth",
        r"resample the prediction", r"shape .* does not match"),
    VolumeRow("non-integral-float-labels", bad_gt(non_integral), r"float32 volume with 1 non-integral or negative",
        r"save the labels as integers", r"non-integral"),
    VolumeRow("spacing-option-wrong-length", option(*BOUNDARY, "--spacing", "1,1", offender="--spacing gives 2"),
        r"--spacing gives 2 values but the ground truth has 3 axes", r"give 3 values", r"--spacing gives",
        per_file=False),
    VolumeRow("spacing-option-not-positive", option(*BOUNDARY, "--spacing", "1,0,1", offender="--spacing '1,0,1'"),
        r"0 is not a positive number", r"give finite values", r"--spacing", code=2, per_file=False),
    VolumeRow("region-label-beyond-classes", option("--region", "ET=4", "--num-classes", "3", offender="'ET=4'"),
        r"label 4 is not a foreground class \(1\.\.2\)", r"fix the region's labels", r"not a foreground class",
        code=2, per_file=False),
    VolumeRow("region-label-beyond-data", option("--region", "ET=4", offender="--region ET=4"),
        r"label 4 is beyond the data's 3 classes", r"fix the region's labels", r"beyond the data",
        code=2, per_file=False),
    VolumeRow("region-named-like-a-class", option("--region", "tumour=1,2", "--class-names", "bg,organ,tumour",
                                            offender="'tumour=1,2'"),
        r"'tumour' is a class's name", r"give the region a name of its own", r"a class's name", code=2,
        per_file=False),
    VolumeRow("region-named-like-a-number", option("--region", "2=1,2", offender="'2=1,2'"),
        r"'2' is not a plain name", r"give the region a name of its own", r"a class's name", code=2,
        per_file=False),
    VolumeRow("convention-lacks-boundary-metric", option("-m", "masd", "--convention", "medpy", offender="masd"),
        r"--convention medpy has no masd", r"use --convention lossctl or deepmind", r"has no masd", code=2,
        per_file=False),
    VolumeRow("medpy-percentile", option("-m", "hd95", "--convention", "medpy", "-p", "hd95.percentile=90",
                                   offender="--convention medpy"),
        r"hd95 has no parameter 'percentile' under --convention medpy", r"its parameters: \(none\)",
        r"has no parameter 'percentile'", code=2, per_file=False),
    VolumeRow("bad-empty-distance", option("-m", "hd", "--empty-distance", "far", offender="'far'"),
        r"choose diagonal, nan or a number", r"BraTS 2023 uses 374", r"--empty-distance", code=2,
        per_file=False),
]


@pytest.fixture
def volumes(tmp_path):
    return make_volumes(tmp_path / "v")


@pytest.mark.parametrize("row", VOLUME_ROWS, ids=[r.id for r in VOLUME_ROWS])
def test_bad_volume_row(cli, volumes, row: VolumeRow):
    case = row.build(volumes)
    args = case.args if any(a.startswith("-m") for a in case.args) else (*BOUNDARY, *case.args)
    r = cli("seg", volumes.pred, volumes.gt, *args)
    assert r.code == row.code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    if not row.per_file and case.offender.startswith("--spacing gives"):
        # every pair has the wrong rank: one line for the problem of the pairs
        assert len(lines) == 1 and lines[0].startswith(f"error: {len(GOOD)} pairs failed: {case.offender}"), r
        return
    assert len(lines) == 1, r
    assert case.offender in lines[0], (case.offender, lines[0])
    assert re.search(row.phrase, lines[0]), (row.phrase, lines[0])
    assert re.search(row.fix, lines[0]), (row.fix, lines[0])
    if row.per_file:
        r = cli("seg", volumes.pred, volumes.gt, *args, "-f", "json")
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == GOOD, r
        assert [e["file"] for e in doc["errors"]] == [case.offender]


@pytest.mark.parametrize("row", VOLUME_ROWS, ids=[r.id for r in VOLUME_ROWS])
def test_readme_troubleshooting_mentions_volume_row(row: VolumeRow):
    assert re.search(row.readme, troubleshooting_section()), row.readme


def test_boundary_metric_of_a_2d_image_without_spacing_says_so(cli, tmp_path):
    from support import write_palette_png

    a = np.zeros((9, 10), np.uint8)
    a[2:6, 3:8] = 1
    b = np.roll(a, 1, axis=1)
    write_palette_png(tmp_path / "gt" / "x.png", a)
    write_palette_png(tmp_path / "pred" / "x.png", b)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "hd", "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert "1.0 per axis" in doc["config"]["spacing"]
    assert doc["images"][0]["spacing"] == [1.0, 1.0] and doc["images"][0]["spacing_source"] == "default"
    assert doc["images"][0]["values"]["hd"] == 1.0


def test_nifti_header_spacing_is_float32_and_still_matches(cli, tmp_path):
    # 0.8 is stored as 0.800000011920929 by NIfTI and 0.8 by NRRD: the relative tolerance accepts both
    import nrrd

    nifti(tmp_path / "gt" / "x.nii.gz", labels())
    (tmp_path / "pred").mkdir()
    nrrd.write(str(tmp_path / "pred" / "x.nrrd"), labels(), {"space directions": np.diag(SPACING)})
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", *BOUNDARY, "-f", "json")
    assert r.code == 0, r


def test_gz_that_is_not_nifti_is_named(cli, volumes):
    nifti(volumes.pred / "bad.nii.gz", labels())
    with gzip.open(volumes.gt / "bad.nii.gz", "wb") as handle:
        handle.write(b"not a nifti header" * 30)
    r = cli("seg", volumes.pred, volumes.gt, *BOUNDARY)
    assert r.code == 3 and len(r.error_lines()) == 1 and "bad.nii.gz" in r.error_lines()[0], r
    assert_no_traceback(r)


# ----------------------------------------------------------------------------------------------------------
# Pairing: name patterns, lists of pairs, PRED == GT, standard input
# ----------------------------------------------------------------------------------------------------------


def test_a_missing_file_in_a_list_fails_that_pair_only_unless_allow_missing(cli, seg):
    rows = [f"pred/{n}.npy,gt/{n}.png,{n}" for n in GOOD] + ["pred/x.npy,gt/a.png,x", "pred/a.npy,gt/y.png,y"]
    listing = write_list(seg.root / "l.csv", rows)
    r = cli("seg", "--pairs", listing, "-f", "json")
    assert r.code == 3, r
    assert_no_traceback(r)
    doc = r.json()
    assert [image["name"] for image in doc["images"]] == GOOD
    assert [(e["name"], e["file"]) for e in doc["errors"]] == [("x", str(seg.root / "pred/x.npy")),
                                                              ("y", str(seg.root / "gt/y.png"))]
    lines = r.error_lines()
    assert len(lines) == 2 and f"no such prediction file ({seg.root / 'l.csv'} line 4)" in lines[0], r
    assert f"no such ground-truth file ({seg.root / 'l.csv'} line 5)" in lines[1], r
    r = cli("seg", "--pairs", listing, "--allow-missing", "-f", "json")
    assert r.code == 0, r
    assert r.json()["skipped"] == {"missing_gt": ["y"], "missing_pred": ["x"]}
    assert comparable(r.json())["summary"] == folder_report(cli, seg)["summary"]


@pytest.mark.parametrize("spelling", ["same", "dot-dot", "trailing-slash", "symlink", "file"])
def test_the_same_folder_or_file_on_both_sides_is_refused(cli, seg, spelling):
    pred = seg.gt
    gt = {"same": seg.gt, "dot-dot": seg.gt / ".." / "gt", "trailing-slash": f"{seg.gt}{os.sep}",
          "symlink": seg.root / "link", "file": seg.gt}[spelling]
    if spelling == "symlink":
        os.symlink(seg.gt, gt)
    if spelling == "file":
        pred = gt = seg.gt / "a.png"
    r = cli("seg", pred, gt)
    assert r.code == 2, r
    assert_no_traceback(r)
    [line] = r.error_lines()
    assert "is given as both the prediction and the ground-truth" in line and "scored against itself" in line, line
    assert r.out == ""


def test_dash_is_not_a_seg_input(cli, seg):
    r = cli("seg", "-", seg.gt, stdin=b"")
    assert r.code == 2 and "--pairs -" in r.err, r


@pytest.mark.parametrize("option", [("--label-map", "-"), ("--pred-label-map", "-"), ("--class-names", "@-"),
                                    ("--dataset-json", "-")])
def test_only_the_list_of_pairs_reads_stdin(cli, seg, option):
    r = cli("seg", seg.labels, seg.gt, *option, stdin=b"0:0\n")
    assert r.code == 2 and "standard input" in r.err and r.out == "", r


def test_pairs_from_a_terminal_are_refused(cli, monkeypatch):
    class Terminal:
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal())
    r = cli("seg", "--pairs", "-")
    assert r.code == 2 and "standard input is a terminal" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# Pairing, label maps and dataset descriptions: the rows
# ----------------------------------------------------------------------------------------------------------

# As the matrix above: one ``error:`` line naming the offender, the key phrase and a fix, the documented exit
# code, no traceback, the other pairs still evaluated where the problem is one pair's, and a row of the
# troubleshooting list of docs/troubleshooting.md.


@dataclass
class DatasetCase:
    argv: tuple[Any, ...]
    offenders: tuple[str, ...]
    stdin: bytes | None = None
    good: tuple[str, ...] = tuple(f"gt/{n}" for n in GOOD)  # the images still evaluated (per-file rows)


@dataclass
class DatasetRow:
    id: str
    build: Callable[[SegSet, Path], DatasetCase]
    phrase: str
    fix: str
    readme: str
    code: int
    per_file: bool = False


def patterns(pred_pattern: str | None, gt_pattern: str | None, offender: str) -> Callable[[SegSet, Path], DatasetCase]:
    def build(s: SegSet, tmp: Path) -> DatasetCase:
        pred, gt = cityscapes_layout(s, tmp / "cs")
        args: list[Any] = [pred, gt]
        if pred_pattern is not None:
            args += ["--pred-pattern", pred_pattern]
        if gt_pattern is not None:
            args += ["--gt-pattern", gt_pattern]
        return DatasetCase(tuple(args), (offender.format(gt=gt, pred=pred),))
    return build


def same_name_twice(s: SegSet, tmp: Path) -> DatasetCase:
    pred, gt = cityscapes_layout(s, tmp / "cs")
    shutil.copy(gt / "city" / "a_gtFine_labelIds.png", gt / "city" / "a_gtCoarse_labelIds.png")
    return DatasetCase((pred, gt, "--pred-pattern", "{name}_leftImg8bit.npy", "--gt-pattern", "{name}_*_labelIds.png"),
                (str(gt / "city" / "a_gtCoarse_labelIds.png"),))


def listing(rows: list[str], offender: str = "{list} line {line}", line: int = 0,
            extra: tuple[str, ...] = ()) -> Callable[[SegSet, Path], DatasetCase]:
    def build(s: SegSet, tmp: Path) -> DatasetCase:
        path = write_list(s.root / "pairs.csv", [f"pred/{n}.npy,gt/{n}.png" for n in GOOD] + rows)
        named = offender.format(list=path, line=len(GOOD) + line, root=s.root)
        return DatasetCase(("--pairs", path, *(getattr(s, a) for a in extra)), (named,))
    return build


def folder_option(*args: str, offender: str, bad_gt: Any = None) -> Callable[[SegSet, Path], DatasetCase]:
    """The seg set's folders with ``args``; ``bad_gt(labels) -> labels`` adds a pair ``bad`` whose ground truth
    is ``a``'s changed so."""
    def build(s: SegSet, tmp: Path) -> DatasetCase:
        if bad_gt is not None:
            write_npy(s.pred / "bad.npy", s.probs["a"])
            write_palette_png(s.gt / "bad.png", bad_gt(s.gts["a"].copy()))
        resolved = tuple(str(a).format(tmp=tmp, gt=s.gt) for a in args)
        return DatasetCase((s.pred, s.gt, *resolved), (offender.format(tmp=tmp, gt=s.gt),), good=tuple(GOOD))
    return build


def with_value_9(labels: Any) -> Any:
    labels[0, 0] = 9
    return labels


def dataset_json_file(text: str) -> Callable[[SegSet, Path], DatasetCase]:
    def build(s: SegSet, tmp: Path) -> DatasetCase:
        path = tmp / "dataset.json"
        path.write_text(text, encoding="utf-8")
        return DatasetCase((s.pred, s.gt, "--dataset-json", path), (f"--dataset-json: {path}",))
    return build


DATASET_ROWS = [
    DatasetRow("pattern-without-name", patterns(None, "x_gtFine_labelIds.png", "--gt-pattern"),
        r"has no \{name\} placeholder", r"put exactly one", r"no \{name\}", 2),
    DatasetRow("pattern-with-two-names", patterns("{name}/{name}.npy", None, "--pred-pattern"),
        r"has 2 \{name\} placeholders", r"keep exactly one", r"two `\{name\}`", 2),
    DatasetRow("pattern-matching-no-file", patterns(None, "{name}_gtFine_instanceIds.png", "{gt}"),
        r"no ground-truth file matches the pattern", r"fix the pattern", r"matches the pattern", 3),
    DatasetRow("two-files-one-name", same_name_twice, r"gives the same name 'city/a'", r"make the pattern more specific",
        r"gives the same name", 3),
    DatasetRow("pairs-line-one-column", listing(["pred/b.npy"], line=1), r"has 1 column", r"write PRED<TAB>GT or PRED,GT",
        r"has 1 column", 2),
    DatasetRow("pairs-path-missing", listing(["pred/nope.npy,gt/a.png,nope"], offender="{root}/pred/nope.npy"),
        r"no such prediction file \(.*pairs\.csv line 4\)", r"relative paths are read from the list's folder\), or "
        r"pass --allow-missing", r"no such prediction file", 3, per_file=True),
    DatasetRow("pairs-and-pred-gt", listing([], offender="--pairs", extra=("pred", "gt")),
        r"lists the pairs, so PRED and GT are not given", r"drop .* or --pairs", r"PRED and GT are not given", 2),
    DatasetRow("name-holding-dot-dot", listing(["pred/b.npy,gt/b.png,../b"], line=1), r"the image name '\.\./b' holds '\.\.'",
        r"give a name column without '\.\.'", r"holds '\.\.'", 2),
    DatasetRow("default-name-holding-dot-dot", listing(["pred/b.npy,../data/gt/b.png"], line=1),
        r"the image name '\.\./data/gt/b' holds '\.\.'", r"give a name column", r"holds '\.\.'", 2),
    DatasetRow("label-map-beyond-classes", folder_option("--label-map", "0:0,1:1,2:5", "--num-classes", "3",
                                                  offender="--label-map"),
        r"maps 2 to class 5, but there are 3 classes \(0\.\.2\)", r"fix the map or the class count",
        r"maps V to class K, but there are", 2),
    DatasetRow("malformed-label-map", folder_option("--label-map", "0:0,1:one", offender="--label-map"),
        r"the class 'one' is not an integer", r"write FROM:TO", r"is not an integer", 2),
    DatasetRow("malformed-label-map-file", folder_option("--label-map", "{tmp}/nope.csv", offender="--label-map"),
        r"is a file that does not exist", r"give FROM:TO pairs", r"does not exist", 2),
    DatasetRow("unmapped-value", folder_option("--label-map", "0:0,1:1,2:2", offender="{gt}/bad.png", bad_gt=with_value_9),
        r"the ground truth holds the value 9, which the label map does not name",
        r"add it to the map \(9:ignore leaves a value out\), or pass --unmapped ignore", r"which the label map does not name",
        3, per_file=True),
    DatasetRow("dataset-json-not-json", dataset_json_file('{"labels": {"background": 0,}}'), r"not valid JSON",
        r"fix the file", r"--dataset-json: .*not valid JSON", 2),
    DatasetRow("dataset-json-gap", dataset_json_file('{"labels": {"background": 0, "liver": 2}}'),
        r"must be 0, 1, 2, \.\.\. without gaps \(nnU-Net's rule\), but 1 is missing", r"fix the labels",
        r"without gaps", 2),
    DatasetRow("dataset-json-no-labels", dataset_json_file('{"name": "x"}'), r'has no "labels" object',
        r'"labels": \{"background": 0', r'no "labels" object', 2),
    DatasetRow("pairs-name-used-twice", listing(["pred/b.npy,gt/b.png,gt/a"], line=1), r"is already used by line 1",
        r"give each pair its own name", r"already used by line", 2),
]


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in DATASET_ROWS])
def test_bad_dataset_row(cli, seg, tmp_path, row: DatasetRow):
    case = row.build(seg, tmp_path)
    r = cli("seg", *case.argv, stdin=case.stdin)
    assert r.code == row.code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    assert len(lines) == len(case.offenders), r
    for offender, line in zip(case.offenders, lines, strict=True):
        assert offender in line, (offender, line)
        assert re.search(row.phrase, line), (row.phrase, line)
        assert re.search(row.fix, line), (row.fix, line)
    if row.code == 2:
        assert r.out == "", r
    if row.per_file:
        r = cli("seg", *case.argv, "-f", "json", stdin=case.stdin)
        doc = r.json()
        assert [image["name"] for image in doc["images"]] == list(case.good), doc["images"]
        assert len(doc["errors"]) == 1 and doc["summary"]["count"] == 3


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in DATASET_ROWS])
def test_readme_troubleshooting_mentions_dataset_row(row: DatasetRow):
    assert re.search(row.readme, troubleshooting_section()), row.readme


def test_label_map_options_are_checked(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "--unmapped", "ignore")
    assert r.code == 2 and "give --label-map or --pred-label-map" in r.err, r
    r = cli("seg", seg.labels, seg.gt, "--pred-label-map", "reduce-zero")  # open-ended: no class count
    assert r.code == 2 and "needs the class count" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--pred-label-map", "0:0,1:1,2:2", "--pred-kind", "probs")
    assert r.code == 2 and "maps label predictions" in r.err, r
    r = cli("seg", seg.pred, seg.gt, "--pred-label-map", "0:0,1:1,2:2", "-f", "json")
    assert r.code == 3 and len(r.error_lines()) == 1 and "maps label predictions only" in r.error_lines()[0], r
    assert r.error_lines()[0].startswith("error: 3 pairs failed: "), r


def test_a_map_that_voids_every_pixel_is_named(cli, tmp_path):
    """Not an empty ignore list pointing at --ignore-index: the message names the map, and the fix."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.zeros((2, 3)))  # Cityscapes "unlabeled" only
    write_palette_png(tmp_path / "pred" / "a.png", np.full((2, 3), 7))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "cityscapes")
    assert r.code == 3 and len(r.error_lines()) == 1, r
    line = r.error_lines()[0]
    assert "void under the label map 'cityscapes'" in line and "check that --label-map names" in line, r
    assert "ignore index" not in line and "()" not in line, r
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "5:0", "--unmapped", "ignore",
            "--num-classes", "2", "--ignore-index", "1")
    line = r.error_lines()[0]
    assert r.code == 3 and "'5:0' (with --unmapped ignore" in line and "ignore index (1)" in line, r


@pytest.mark.parametrize("spec", ["0:0,1:1", "0:0,1:1,2:ignore"])
def test_a_prediction_holding_the_maps_void_value_is_beyond_the_classes(cli, tmp_path, spec):
    """The ground truth's void is written as 254 internally; a prediction holding 254 is told it is no class,
    not that it holds an --ignore-index the user never gave."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.array([[0, 1], [2, 0]]))
    write_palette_png(tmp_path / "gt" / "b.png", np.array([[0, 1], [1, 0]]))
    write_palette_png(tmp_path / "pred" / "a.png", np.array([[0, 254], [1, 0]]))
    write_palette_png(tmp_path / "pred" / "b.png", np.array([[0, 1], [1, 1]]))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", spec, "--unmapped", "ignore", "-f", "json")
    assert r.code == 3 and len(r.error_lines()) == 1, r
    line = r.error_lines()[0]
    assert "a.png: the prediction holds label 254 but there are only 2 classes" in line, r
    assert "--ignore-index" not in line, r
    assert [image["name"] for image in r.json()["images"]] == ["b"]  # the other pair is evaluated
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", spec, "--unmapped", "ignore",
            "--ignore-index", "254")  # a value the user names keeps its own message
    assert r.code == 3 and "the --ignore-index (void) label" in r.err, r


def test_a_mapped_value_beyond_the_classes_says_it_is_mapped(cli, tmp_path):
    """ADE20K's 200 becomes 199 under reduce-zero: the message must not leave the user looking for a 199."""
    import numpy as np

    write_palette_png(tmp_path / "gt" / "a.png", np.array([[0, 1], [200, 3]]))
    write_palette_png(tmp_path / "pred" / "a.png", np.array([[0, 0], [1, 2]]))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "reduce-zero", "--num-classes", "150")
    assert r.code == 3, r
    assert "a.png: after --label-map reduce-zero, the ground truth holds label 199 but there are only 150" in r.err, r
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--label-map", "reduce-zero", "--num-classes", "150",
            "--pred-label-map", "0:0,1:1,2:200")
    assert r.code == 2 and "maps 2 to class 200, but there are 150 classes" in r.err, r


@pytest.mark.parametrize("option", ["--pairs", "--label-map", "--class-names", "--dataset-json"])
def test_a_description_file_that_is_not_utf8_is_one_usage_error(cli, seg, tmp_path, option):
    """One reader for the text files that describe a run: not UTF-8 is exit 2 (its contents), a folder exit 3."""
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe,x\n")
    value = f"@{bad}" if option == "--class-names" else str(bad)
    inputs = () if option == "--pairs" else (seg.pred, seg.gt)
    r = cli("seg", *inputs, option, value)
    assert r.code == 2 and "bad.csv: the " in r.err and "is not UTF-8 text (byte 0); save it as UTF-8" in r.err, r
    assert_no_traceback(r)
    if option in ("--pairs", "--dataset-json"):
        r = cli("seg", *inputs, option, tmp_path)
        assert r.code == 3 and "is a folder; give the file" in r.err, r


def test_the_same_problem_in_many_pairs_is_one_line_and_the_json_lists_every_pair(cli, seg):
    for name in ("d", "e", "f", "g"):
        (seg.pred / f"{name}.npy").write_bytes(b"")
        write_palette_png(seg.gt / f"{name}.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "--skip-errors")
    assert r.code == 0, r
    assert r.err.splitlines()[0] == (f"warning: 4 pairs failed: is empty (0 bytes); re-export it (an interrupted "
                                     f"write leaves empty files) ({seg.pred / 'd.npy'}, {seg.pred / 'e.npy'}, "
                                     f"{seg.pred / 'f.npy'} and 1 more; the JSON report's \"errors\" lists every one)")
    errors = r.json()["errors"]
    assert [e["name"] for e in errors] == ["d", "e", "f", "g"]
    assert {e["problem"] for e in errors} == {"is empty (0 bytes); re-export it (an interrupted write leaves empty "
                                              "files)"}
