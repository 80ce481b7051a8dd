"""Helpers shared by the tests (imported as ``support``: tests/ is on ``sys.path`` through tests/conftest.py):
run the real CLI and build tiny inputs on disk. This module holds no tests (pytest does not collect it).

* :func:`invoke` runs ``lossctl.cli.main`` in-process (sys.argv set, stdout/stderr captured with ``capsys``,
  ``SystemExit`` caught), so the real error boundary of ``main()`` is exercised;
* :func:`run_subprocess` runs ``python -m lossctl`` for the few end-to-end checks;
* the ``write_*`` functions and :func:`make_seg_set` build 6x7, 3-class inputs in ``tmp_path``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nibabel
import numpy as np
import pytest
from PIL import Image

H, W, C = 6, 7, 3
PALETTE = [0, 0, 0, 128, 128, 128, 200, 0, 0] + [0, 0, 0] * 253
#: Environment variables that would change what the CLI prints; cleared for every in-process run.
_ENV_TO_CLEAR = ("LOSSCTL_FORMAT", "LOSSCTL_OUTPUT", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE",
                 "COLUMNS", "LINES", "GITHUB_ACTIONS")


@dataclass
class Result:
    """What one CLI run produced."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)

    def ndjson(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.splitlines()]

    def csv(self) -> list[list[str]]:
        return list(csv.reader(io.StringIO(self.out)))

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.startswith("error:")]

    def __repr__(self) -> str:  # pytest shows this on a failed assertion
        return f"Result(code={self.code}, err={self.err[-2000:]!r}, out={self.out[:1500]!r})"


def verdict_exit_code(code: Any) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def invoke(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: Any,
           stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
    """Run ``lossctl ARGS`` in this process through ``lossctl.cli.main`` and return exit code, stdout, stderr."""
    from lossctl import cli

    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["lossctl", *(os.fspath(a) if isinstance(a, Path) else str(a) for a in args)])
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    capsys.readouterr()
    try:
        cli.main()
    except SystemExit as done:
        code = verdict_exit_code(done.code)
    else:  # main() must always end in sys.exit
        raise AssertionError("lossctl.cli.main() returned without calling sys.exit")
    out, err = capsys.readouterr()
    return Result(code, out, err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """``cli("seg", pred, gt, "-f", "json")`` -> :class:`Result` (in-process, through ``main()``)."""

    def run(*args: Any, stdin: bytes | None = None, env: dict[str, str] | None = None) -> Result:
        return invoke(capsys, monkeypatch, *args, stdin=stdin, env=env)

    return run


def run_subprocess(*args: Any, stdin: bytes | None = None, cwd: Path | None = None,
                   timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    """``python -m lossctl ARGS`` in a fresh interpreter (bytes in, bytes out)."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_TO_CLEAR}
    env["PYTHONIOENCODING"] = "utf-8"
    return subprocess.run([sys.executable, "-m", "lossctl", *map(os.fspath, map(str, args))], input=stdin,
                          capture_output=True, cwd=cwd, env=env, timeout=timeout, check=False)


_PEAK_RSS_LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
err = child.stderr.read()
_pid, status, usage = os.wait4(child.pid, 0)
sys.stdout.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}\\n")
sys.stdout.flush()
sys.stdout.buffer.write(err)
"""


def peak_rss(*args: Any, timeout: float = 60) -> tuple[int, str, int]:
    """Run ``python -m lossctl ARGS``; return (exit code, stderr, peak RSS in bytes).

    The peak is ``ru_maxrss`` of ``os.wait4`` on the lossctl process: every page it had resident at once,
    memory-mapped file pages included. Linux keeps a process's peak across ``exec``, so a child forked straight
    from the test process would report the test process's size: a small launcher (a fresh interpreter) forks
    lossctl and waits for it."""
    env = {k: v for k, v in os.environ.items() if k not in _ENV_TO_CLEAR}
    env["PYTHONIOENCODING"] = "utf-8"
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS_LAUNCHER, sys.executable, "-m", "lossctl",
                           *map(os.fspath, map(str, args))], capture_output=True, env=env, timeout=timeout,
                          check=True)
    first, _, err = done.stdout.partition(b"\n")
    code, kib = map(int, first.split())
    return code, err.decode("utf-8"), kib * 1024


# ----------------------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------------------


def write_palette_png(path: Path, labels: np.ndarray) -> Path:
    """A palette (mode "P") PNG whose pixel values are the class indices."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="P")
    image.putpalette(PALETTE)
    image.save(path)
    return path


def write_label_png(path: Path, labels: np.ndarray) -> Path:
    """A greyscale (mode "L") PNG of integer labels."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.asarray(labels, dtype=np.uint8), mode="L").save(path)
    return path


def write_npy(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)
    return path


def softmax(logits: np.ndarray, axis: int = 0) -> np.ndarray:
    z = logits - logits.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def random_case(rng: np.random.Generator, hit: float = 1.6) -> tuple[np.ndarray, np.ndarray]:
    """(gt (H,W) uint8 in 0..C-1 with every class present, logits (C,H,W) float64 favouring the truth)."""
    gt = rng.integers(0, C, (H, W)).astype(np.uint8)
    gt.flat[:C] = np.arange(C)
    logits = rng.normal(size=(C, H, W))
    logits[(gt, *np.indices(gt.shape))] += hit
    return gt, logits


@dataclass
class SegSet:
    """Three images a, b, c in pred (NPY probabilities), labels (label PNGs) and gt (palette PNGs)."""

    root: Path
    pred: Path
    labels: Path
    gt: Path
    names: list[str]
    gts: dict[str, np.ndarray]
    probs: dict[str, np.ndarray]
    logits: dict[str, np.ndarray]

    def label_pred(self, name: str) -> np.ndarray:
        return self.probs[name].argmax(axis=0)


def make_seg_set(root: Path, seed: int = 7, names: tuple[str, ...] = ("a", "b", "c")) -> SegSet:
    rng = np.random.default_rng(seed)
    s = SegSet(root, root / "pred", root / "labels", root / "gt", list(names), {}, {}, {})
    for i, name in enumerate(names):
        gt, logits = random_case(rng, hit=1.2 + 0.6 * i)
        probs = softmax(logits).astype(np.float32)
        s.gts[name], s.logits[name], s.probs[name] = gt, logits, probs
        write_palette_png(s.gt / f"{name}.png", gt)
        write_npy(s.pred / f"{name}.npy", probs)
        write_label_png(s.labels / f"{name}.png", probs.argmax(axis=0))
    return s


# ----------------------------------------------------------------------------------------------------------
# Reference metrics (independent of lossctl)
# ----------------------------------------------------------------------------------------------------------


def confusion(gt: np.ndarray, pred: np.ndarray, c: int, valid: np.ndarray | None = None) -> np.ndarray:
    gt = np.asarray(gt, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    if valid is not None:
        gt, pred = gt[valid], pred[valid]
    cm = np.zeros((c, c), dtype=np.int64)
    np.add.at(cm, (gt.ravel(), pred.ravel()), 1)
    return cm


def dice_per_class(cm: np.ndarray, empty: float = float("nan")) -> np.ndarray:
    tp = np.diag(cm).astype(float)
    den = 2 * tp + (cm.sum(0) - tp) + (cm.sum(1) - tp)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2 * tp / np.where(den > 0, den, 1), empty)


def nanmean(values: Any) -> float:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else float("nan")


def write_cls_inputs(root: Path, seed: int = 3, n: int = 10) -> dict[str, Any]:
    """Multiclass (N, 3) probabilities and logits, class-index targets, in .npy/.csv/.tsv."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    y = rng.integers(0, C, n)
    y[:C] = np.arange(C)
    logits = rng.normal(size=(n, C))
    logits[np.arange(n), y] += 1.5
    logits[0] = 0.0
    logits[0, (y[0] + 1) % C] = 4.0  # sample 0 is misclassified: accuracy < 1
    probs = softmax(logits, axis=1)
    files = {
        "probs_npy": write_npy(root / "probs.npy", probs),
        "logits_npy": write_npy(root / "logits.npy", logits),
        "target_npy": write_npy(root / "target.npy", y.astype(np.int64)),
        "probs_csv": root / "probs.csv",
        "probs_csv_noheader": root / "probs_noheader.csv",
        "probs_tsv": root / "probs.tsv",
        "target_csv": root / "target.csv",
    }
    np.savetxt(files["probs_csv"], probs, delimiter=",", header="p0,p1,p2", comments="", fmt="%.17g")
    np.savetxt(files["probs_csv_noheader"], probs, delimiter=",", fmt="%.17g")
    np.savetxt(files["probs_tsv"], probs, delimiter="\t", fmt="%.17g")
    np.savetxt(files["target_csv"], y, fmt="%d", header="label", comments="")
    return {"y": y, "probs": probs, "logits": logits, "n": n, **files}


# ----------------------------------------------------------------------------------------------------------
# What every bad-input matrix checks
# ----------------------------------------------------------------------------------------------------------

#: The images of :func:`make_seg_set`'s default set: a bad-input row adds a bad pair beside them.
GOOD = ["a", "b", "c"]
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: The documentation: the front page, then every page of docs/.
DOC_PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]


def doc_page(name: str) -> str:
    """The text of docs/NAME."""
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


def docs_text() -> str:
    """README.md and every page of docs/, one text (what a statement about "the documentation" searches)."""
    return "\n".join(page.read_text(encoding="utf-8") for page in DOC_PAGES)


def troubleshooting_section() -> str:
    """docs/troubleshooting.md with its lines joined (a message wrapped across two lines reads as one)."""
    return " ".join(doc_page("troubleshooting.md").split())


#: Words of the libraries lossctl builds on (the option parser, pydantic, Python's exceptions, NumPy, Pillow): a
#: message in them is a library's, which never reaches the user; every message is in lossctl's own words.
LIBRARY_WORDS = ("Value error,", "Input should be", "Invalid value for", "[Errno", "OSError:", "ValueError:",
                 "TypeError:", "Expecting value", "could not broadcast", "invalid literal", "Truncated File Read",
                 "cannot reshape", "object arrays", "pydantic")


def assert_no_traceback(r) -> None:
    """No traceback, no internal error and no library's words in the output (see :data:`LIBRARY_WORDS`)."""
    assert "Traceback" not in r.err and "Traceback" not in r.out, r
    assert "internal error" not in r.err, r
    leaked = [words for words in LIBRARY_WORDS if words in r.err]
    assert not leaked, (leaked, r)


# ----------------------------------------------------------------------------------------------------------
# Reports: strict JSON, a minimal document, the classes of the conftest's ``runs``
# ----------------------------------------------------------------------------------------------------------


def _no_nan_constant(token: str) -> float:
    raise AssertionError(f"JSON output holds the non-standard constant {token}")


def strict_json(text: str):
    """json.loads that fails on NaN / Infinity (which json.loads accepts by default)."""
    return json.loads(text, parse_constant=_no_nan_constant)


def minimal_document(command, rows, class_names=("0", "1")):
    """A minimal report document with per-image ``values`` (dict name -> list over rows, None = undefined)."""
    names = list(rows[0][1])
    images = [{"name": n, "values": v, "per_class": {}} for n, v in rows]
    mean = {k: nanmean([v[k] if v[k] is not None else math.nan for _, v in rows]) for k in names}
    return {"lossctl": "0.1.0", "schema": 1, "command": command,
            "config": {"class_names": list(class_names), "num_classes": len(class_names), "values": names},
            "images": images, "summary": {"count": len(rows), "mean": mean, "std": {}, "min": {}, "max": {},
                                          "pooled": {}, "per_class": {"mean": {}, "pooled": {}}},
            "gates": [], "errors": []}


#: The class names of the conftest's ``runs`` (a baseline run and a new run worse on image ``b``).
CLASSES = "bg,road,car"


# ----------------------------------------------------------------------------------------------------------
# Datasets: the seg set laid out as datasets publish it, lists of pairs, reports compared
# ----------------------------------------------------------------------------------------------------------


SOURCE_KEYS = ("pred", "gt", "pred_pattern", "gt_pattern", "pairs")


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The report without what says where the files were (sources and paths)."""
    config = {k: v for k, v in doc["config"].items() if k not in SOURCE_KEYS}
    images = [{k: v for k, v in image.items() if k not in ("pred", "gt")} for image in doc["images"]]
    errors = [{k: v for k, v in e.items() if k != "file"} for e in doc["errors"]]
    return {**doc, "config": config, "images": images, "errors": errors}


def folder_report(cli, s: SegSet, *args: str) -> dict[str, Any]:
    r = cli("seg", s.pred, s.gt, "-f", "json", *args)
    assert r.code == 0, r
    return r.json()


def cityscapes_layout(s: SegSet, root: Path) -> tuple[Path, Path]:
    """The seg set's files renamed as Cityscapes publishes them: gtFine/val/CITY/NAME_gtFine_labelIds.png (with
    a _gtFine_color.png beside each), predictions CITY/NAME_leftImg8bit.npy."""
    pred, gt = root / "pred", root / "gtFine" / "val"
    (gt / "city").mkdir(parents=True)
    (pred / "city").mkdir(parents=True)
    for name in s.names:
        shutil.copy(s.gt / f"{name}.png", gt / "city" / f"{name}_gtFine_labelIds.png")
        shutil.copy(s.gt / f"{name}.png", gt / "city" / f"{name}_gtFine_color.png")
        shutil.copy(s.pred / f"{name}.npy", pred / "city" / f"{name}_leftImg8bit.npy")
    return pred, gt


# The stand-ins of docs/datasets.md: small datasets laid out as they are published ---------------------------


def png(path: Path, labels: Any, mode: str = "L") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)  # uint8 (H,W): mode L; (H,W,3): RGB; uint16: I;16
    Image.fromarray(np.asarray(labels, dtype=np.uint16 if mode == "I;16" else np.uint8)).save(path)


def cityscapes_stand_in(root: Path, results: str, gt_val: str, flat: bool) -> None:
    """Two cities as gtFine publishes them (labelIds, color, instanceIds, polygons beside each other), and
    predictions in label ids, flat (the server's format) or in city folders."""
    rng = np.random.default_rng(11)
    for stem in ("frankfurt_000000_000294", "frankfurt_000001_007973", "lindau_000000_000019"):
        city = stem.split("_")[0]
        gt = rng.integers(0, 34, (6, 8))
        folder = root / gt_val / city
        png(folder / f"{stem}_gtFine_labelIds.png", gt)
        png(folder / f"{stem}_gtFine_color.png", np.stack([gt * 7] * 3, axis=-1), mode="RGB")
        png(folder / f"{stem}_gtFine_instanceIds.png", gt * 1000 + 1, mode="I;16")
        (folder / f"{stem}_gtFine_polygons.json").write_text('{"objects": []}', encoding="utf-8")
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 34, gt.shape))
        png(root / results / ("" if flat else city) / f"{stem}_leftImg8bit.png", pred)


def ade_stand_in(root: Path) -> None:
    rng = np.random.default_rng(12)
    for i in (1, 2):
        gt = rng.integers(0, 151, (7, 9))  # 0 is "other", 1..150 the classes
        png(root / "ADEChallengeData2016/annotations/validation" / f"ADE_val_{i:08d}.png", gt)
        png(root / "ADEChallengeData2016/images/validation" / f"ADE_val_{i:08d}.jpg", gt)  # the images beside
        pred = np.where(gt > 0, gt - 1, rng.integers(0, 150, gt.shape))  # mmsegmentation's indices 0..149
        png(root / "ade20k_pred" / f"ADE_val_{i:08d}.png", pred)


def nnunet_stand_in(root: Path) -> None:
    rng = np.random.default_rng(13)
    dataset = root / "nnUNet_raw/Dataset120_RoadSegmentation"
    dataset.mkdir(parents=True)
    description = {"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "road": 1},
                   "numTraining": 2, "file_ending": ".png"}
    (dataset / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    predictions = root / "nnUNet_results/predictions"
    for case in ("road_0001", "road_0002"):
        gt = rng.integers(0, 2, (8, 8))
        png(dataset / "labelsTr" / f"{case}.png", gt)
        png(dataset / "imagesTr" / f"{case}_0000.png", gt * 255)
        png(predictions / f"{case}.png", np.where(rng.random(gt.shape) < 0.8, gt, 1 - gt))
    (predictions / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    (predictions / "plans.json").write_text("{}", encoding="utf-8")
    (predictions / "predict_from_raw_data_args.json").write_text("{}", encoding="utf-8")


def datasets_page_stand_ins(root: Path) -> None:
    """Every folder the commands of docs/datasets.md name: Cityscapes (gtFine/val in city folders, the server's
    flat results/ and a pred/ in city folders), ADE20K (with ade20k_pred/) and an nnU-Net dataset."""
    cityscapes_stand_in(root, "cityscapes/results", "cityscapes/gtFine/val", flat=True)
    cityscapes_stand_in(root, "cityscapes/pred", "cityscapes/gtFine/val", flat=False)
    ade_stand_in(root)
    nnunet_stand_in(root)


def write_list(path: Path, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(row + "\n" for row in rows), encoding="utf-8")
    return path


def numbers(doc: dict[str, Any]) -> dict[str, Any]:
    """Every number of a report (what the maps must not change when they undo a renumbering)."""
    return {"images": [(i["name"], i["values"], i["per_class"], i["confusion_matrix"]) for i in doc["images"]],
            "summary": doc["summary"], "num_classes": doc["config"]["num_classes"]}


# ----------------------------------------------------------------------------------------------------------
# Volumes: NIfTI label boxes with an anisotropic spacing
# ----------------------------------------------------------------------------------------------------------


#: The voxel spacing :func:`write_nifti` writes (three different values: an axis mixed up shows).
SPACING = (0.8, 1.2, 2.5)


def write_nifti(path: Path, array: np.ndarray, spacing=SPACING, affine: np.ndarray | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nibabel.save(nibabel.Nifti1Image(array, np.diag([*spacing, 1.0]) if affine is None else affine), path)
    return path


def box_labels(shape=(12, 14, 10), offset=0) -> np.ndarray:
    a = np.zeros(shape, np.uint8)
    a[3 + offset:8 + offset, 4:10, 2:7] = 1
    a[5 + offset:7 + offset, 6:8, 3:5] = 2
    return a


def volume_set(root: Path, n: int = 2, spacing=SPACING) -> tuple[Path, Path]:
    for i in range(n):
        write_nifti(root / "gt" / f"v{i}.nii.gz", box_labels(), spacing)
        write_nifti(root / "pred" / f"v{i}.nii.gz", box_labels(offset=i), spacing)
    return root / "pred", root / "gt"


# ----------------------------------------------------------------------------------------------------------
# Decompression bombs: valid files that decode to 1.6 GB
# ----------------------------------------------------------------------------------------------------------


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


def npz_bomb(path: Path, n: int = BOMB * BOMB) -> None:
    """A valid ``.npz`` whose one member, ``a``, is an ``n``-byte uint8 array of zeros (1.6 GB) deflated to 1.6 MB;
    its CRC-32 is computed over 64 MiB blocks of zeros (no array of that size is ever made)."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": (n,)})
    head = header.getvalue()
    block = 64000  # divides 40000 x 40000
    assert n % block == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate, as a zip member holds it
    first = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(bytes(block)) + compressor.flush(zlib.Z_FULL_FLUSH)
    data = first + again * (n // block) + b"\x01\x00\x00\xff\xff"
    crc, zeros, left = zlib.crc32(head), bytes(64 << 20), n
    while left:
        crc = zlib.crc32(zeros[:min(left, len(zeros))], crc)
        left -= min(left, len(zeros))
    name, size = b"a.npy", len(head) + n
    fields = struct.pack("<HHHHHIII", 20, 0, 8, 0, 0, crc, len(data), size)  # version, flags, deflate, time, date
    local = b"PK\x03\x04" + fields + struct.pack("<HH", len(name), 0) + name
    central = (b"PK\x01\x02" + struct.pack("<H", 20) + fields + struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0)
               + name)
    end = b"PK\x05\x06" + struct.pack("<HHHHIIH", 0, 0, 1, 1, len(central), len(local) + len(data), 0)
    path.write_bytes(local + data + central + end)


# ----------------------------------------------------------------------------------------------------------
# A clean CLI error
# ----------------------------------------------------------------------------------------------------------


def assert_clean_error(r, code, *fragments):
    """Exit ``code``; stderr has an ``error:`` line holding every fragment; no traceback anywhere."""
    assert r.code == code, r
    assert_no_traceback(r)
    lines = r.error_lines()
    assert lines, r
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, r)


# ----------------------------------------------------------------------------------------------------------
# Sample data and its sharded run
# ----------------------------------------------------------------------------------------------------------


SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
#: A gated run of the sample label maps, cut into 4 shards by the conftest's ``shards``.


SHARDED_RUN = ["seg", str(SAMPLE / "pred_labels"), str(SAMPLE / "gt"), "-f", "json", "--gate", "dice>=0.5"]


#: The issue's region-based dataset.json labels: four classes and one region (lesion = tumor + cyst).
LIVER = {"background": 0, "liver": 1, "tumor": 2, "cyst": 3, "lesion": [2, 3]}


def region_images(root: Path, n: int = 3, seed: int = 5) -> tuple[Path, Path]:
    """``n`` 12x13 label PNG pairs with labels 0..3 (image 0 has no cyst on either side): (pred dir, gt dir)."""
    rng = np.random.default_rng(seed)
    for side in ("pred", "gt"):
        (root / side).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        gt = rng.integers(0, 4, (12, 13))
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 4, gt.shape))
        if i == 0:  # no cyst in image 0, on either side
            gt[gt == 3], pred[pred == 3] = 0, 0
        Image.fromarray(gt.astype(np.uint8)).save(root / "gt" / f"im{i}.png")
        Image.fromarray(pred.astype(np.uint8)).save(root / "pred" / f"im{i}.png")
    return root / "pred", root / "gt"
