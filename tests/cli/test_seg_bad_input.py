"""The bad-input matrix of ``lossctl seg``: one row per way an input can be wrong, run through the real CLI.

Every error row builds a folder of 3 good pairs (``a``, ``b``, ``c``: 6x7, 3 classes) plus ONE bad pair
``bad`` (or one bad condition of the folders or options) and checks what README.md promises:

* the documented exit code (3 input error, 2 usage error);
* stderr has exactly one ``error:`` line per problem, which names the offending file (its path) or option
  value, and holds the key phrase of the problem AND a fix hint;
* no ``Traceback`` anywhere;
* per-file problems: the 3 good images are still evaluated (``-f json``: ``images`` holds a, b, c and
  ``errors`` holds the bad file);
* where the message suggests a fix that is an option (``--ignore-index``), running with it succeeds;
* the troubleshooting table of README.md mentions the problem class.

The rows that must work (0/255 masks, JPEG ground truth, names with spaces and non-ASCII characters) and
``--skip-errors`` / ``--allow-missing`` are checked after the matrix. Rows that reveal a bug assert the correct
behaviour (the bugs this matrix found are fixed; a new one gets ``bug="..."``, which marks the row
``xfail(strict=True)``, and a README gap ``readme_gap="..."``).
"""

from __future__ import annotations

import io
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import (  # noqa: F401
    C,
    GOOD,
    H,
    README,
    SegSet,
    W,
    assert_no_traceback,
    make_seg_set,
    softmax,
    troubleshooting_section,
    write_label_png,
    write_npy,
    write_palette_png,
)


# ----------------------------------------------------------------------------------------------------------
# The rows
# ----------------------------------------------------------------------------------------------------------


@dataclass
class Case:
    """What a row's builder made: the CLI arguments and what the error must name."""

    pred: Path
    gt: Path
    args: tuple[str, ...] = ()
    offenders: tuple[str, ...] = ()  # one per expected error line: the file path (or option value) it names


@dataclass
class Row:
    id: str
    build: Callable[[SegSet, Path], Case]
    phrase: str  # regex: the key phrase of the problem
    fix: str  # regex: the fix hint
    readme: str  # regex searched in the README troubleshooting section
    code: int = 3
    per_file: bool = True  # the other images are still evaluated
    fixed_args: tuple[str, ...] | None = None  # adding these (the suggested fix) makes the run pass
    click_error: bool = False  # reported by click ("Error: ..." after the usage lines)
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


def zlib_zeros(n: int, block: int) -> bytes:
    """A zlib stream of ``n`` zero bytes (``block`` divides ``n``), built in milliseconds: one block compressed
    after a full flush (which resets the compressor) is repeated, then an empty final block and the Adler-32
    of ``n`` zeros (A = 1, B = n mod 65521)."""
    compressor = zlib.compressobj(9)
    head = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = head + again * (n // block - 1) + b"\x01\x00\x00\xff\xff" + struct.pack(">I", (n % 65521) << 16 | 1)
    assert len(zlib.decompressobj().decompress(stream[:4096], 1 << 16)) == 1 << 16  # a real stream of zeros
    return stream


BOMB = 40000  # the bombs are 40000 x 40000: 1.6e9 pixels from files of a few hundred KB


def png_bomb(path: Path) -> None:
    """A valid 40000x40000 1-bit PNG of zeros (185 KB): 1.6 GB once decoded."""
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
    row = 1 + BOMB // 8  # a filter byte and 5000 bytes of bits per row
    ihdr = struct.pack(">IIBBBBB", BOMB, BOMB, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib_zeros(row * BOMB, row * 1000))
                     + chunk(b"IEND", b""))


def tiff_bomb(path: Path) -> None:
    """A valid 40000x40000 uint8 deflate TIFF of zeros (one strip, 1.6 MB): 1.6 GB once decoded."""
    data = zlib_zeros(BOMB * BOMB, BOMB * 100)
    tags = [(256, 4, BOMB), (257, 4, BOMB), (258, 3, 8), (259, 3, 8), (262, 3, 1), (273, 4, 0), (277, 3, 1),
            (278, 4, BOMB), (279, 4, len(data))]  # width, length, 8 bits, deflate, min-is-black, one strip
    offset = 8 + 2 + 12 * len(tags) + 4
    ifd = b"".join(struct.pack("<HHI", tag, kind, 1) + (struct.pack("<HH", value, 0) if kind == 3 else
                   struct.pack("<I", offset if tag == 273 else value)) for tag, kind, value in tags)
    path.write_bytes(b"II*\x00" + struct.pack("<IH", 8, len(tags)) + ifd + struct.pack("<I", 0) + data)


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
    return Case(s.gt, s.pred, (), tuple(str(s.pred / f"{n}.npy") for n in GOOD))


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
        r"re-export it as TIFF", r"`not a PNG file`"),  # the README abridges "not a <FORMAT> file"
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
    Row("jpeg-gt-beyond-classes", jpeg_gt_beyond_classes, r"the ground truth holds label \d+ but there are only 3",
        r"pass --ignore-index|check --num-classes", r"but there are only"),
    # -- options (exit 2, before any file is read) --------------------------------------------------------
    Row("unknown-loss", option_row("-l", "dise_loss", offender="'dise_loss'"),
        r"unknown seg loss or metric 'dise_loss'", r"choose from: .*dice_loss.*lovasz",
        r"unknown seg loss or metric", code=2, per_file=False),
    Row("unknown-metric", option_row("-m", "dicee", offender="'dicee'"),
        r"unknown seg loss or metric 'dicee'", r"choose from: dice, iou, precision, recall, accuracy",
        r"unknown seg loss or metric", code=2, per_file=False),
    Row("unknown-convention", option_row("--convention", "pytorch", offender="'pytorch'"),
        r"Invalid value for '--convention'", r"'lossctl', 'torch', 'keras', 'sklearn', 'smp', 'monai'",
        r"unknown option, loss, metric, convention", code=2, per_file=False, click_error=True),
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
    # -- memory ----------------------------------------------------------------------------------------------
    Row("png-bomb", bad_gt_file("bad.png", png_bomb, "--max-memory", "1G"),
        r"the image \(40000x40000, mode 1\) decodes to 1\.5 GiB, more than the memory budget of 1 GiB",
        r"raise it \(--max-memory 2G\)", r"more than the memory budget"),
    Row("tiff-bomb", bad_gt_file("bad.tif", tiff_bomb, "--max-memory", "1G"),
        r"the image \(40000x40000\) decodes to 1\.5 GiB, more than the memory budget of 1 GiB",
        r"raise it \(--max-memory 2G\)", r"more than the memory budget"),
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


def error_lines(r, click_error: bool = False) -> list[str]:
    if click_error:
        return [line for line in r.err.splitlines() if line.lower().startswith("error:")]
    return r.error_lines()


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
    lines = error_lines(r, row.click_error)
    assert len(lines) == len(case.offenders), r  # one error line per problem
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


def test_jpeg_ground_truth_is_read_and_flagged_lossy(cli, seg):
    write_npy(seg.pred / "bad.npy", seg.probs["a"])
    path = seg.gt / "bad.jpg"
    Image.fromarray(np.ones((H, W), dtype=np.uint8), mode="L").save(path, format="JPEG", quality=100)
    assert np.asarray(Image.open(path)).max() == 1  # precondition: decodes exactly
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 0, r
    assert_no_traceback(r)
    bad = _row(r.json(), "bad")
    assert any("lossy" in note for note in bad["notes"]), bad["notes"]
    assert len(r.json()["images"]) == 4


def test_readme_documents_the_notes_rows():
    text = README.read_text(encoding="utf-8")
    assert "0/255" in text and "255 is read as class 1" in text
    assert "every 255 pixel is left out" in text
    assert "flagged as lossy" in text


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


@pytest.mark.parametrize("write, name", [(png_bomb, "bomb.png"), (tiff_bomb, "bomb.tif")], ids=["png", "tiff"])
def test_bombs_are_refused_from_the_header_in_little_memory(tmp_path, write, name):
    """The refusal reads the header only: the process that refuses a 1.6 GB bomb stays under 200 MB."""
    import os
    import subprocess
    import sys

    path = tmp_path / name
    write(path)
    script = ("import sys\nfrom lossctl import io\nfrom lossctl.errors import InputError\n"
              "try:\n    io.load_array(sys.argv[1], max_memory=1 << 30)\nexcept InputError as e:\n    print(e)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE)
    out = proc.stdout.read().decode()
    _pid, status, usage = os.wait4(proc.pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0 and "more than the memory budget of 1 GiB" in out, out
    assert usage.ru_maxrss < 200 * 1024, usage.ru_maxrss  # KiB
