"""Peak memory: what a run may hold is bounded by the memory budget, and a small untrusted file cannot take the
machine. Every check measures the lossctl process's peak RSS (``os.wait4``'s ``ru_maxrss``: memory-mapped pages
included) through :func:`support.peak_rss`, never its time.

* Decompression bombs (a 40000x40000 1-bit PNG of 191 KiB, the same as a deflate TIFF, an ``.npz`` member of
  zeros that decodes to 1.6 GB): without an explicit ``--max-memory`` they are refused from their header (exit 3,
  one line that says how to accept them) in less than 200 MB.
* Every input kind past a 64 MiB budget (PNG, TIFF, NPY, NPZ, NIfTI, NRRD, MetaImage; labels and probability
  maps; 2D and 3D; with regions and boundary metrics) is evaluated in chunks or refused from the headers, and the
  process stays within the budget plus the interpreter's baseline.

The large but genuine files (a 16k x 16k label PNG, a 512x512x1000 CT label volume: gigabytes and tens of seconds)
are measured by tools/bench_memory.py (``make bench``), not here; the refusals are also rows of the bad-input
matrix (tests/cli/test_seg_bad_input.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support import npz_bomb, peak_rss, png_bomb, tiff_bomb, write_label_png

import numpy as np

MiB = 1 << 20
#: What the interpreter and lossctl's imports take before any pair (the issue's "interpreter baseline").
BASELINE = 100 * MiB


@pytest.mark.parametrize("write, suffix", [(png_bomb, ".png"), (tiff_bomb, ".tif"), (npz_bomb, ".npz")],
                         ids=["png", "tiff", "npz"])
def test_a_bomb_is_refused_from_its_header_without_an_explicit_budget(tmp_path: Path, write, suffix: str):
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt").mkdir()
    bomb = tmp_path / "pred" / f"x{suffix}"
    write(bomb)
    write_label_png(tmp_path / "gt" / "x.png", np.zeros((4, 4), np.uint8))
    code, err, peak = peak_rss("seg", tmp_path / "pred", tmp_path / "gt")
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 3 and len(lines) == 1, err
    assert str(bomb) in lines[0] and "decompression bomb" in lines[0], err
    assert "passing --max-memory explicitly" in lines[0], err
    assert "Traceback" not in err
    assert peak < 200 * MiB, peak


# ----------------------------------------------------------------------------------------------------------
# Every input kind past a small budget: evaluated in chunks, or refused, within the budget
# ----------------------------------------------------------------------------------------------------------

BUDGET = 64 * MiB


def sparse_npy(path: Path, shape: tuple[int, ...], dtype: str) -> Path:
    """An ``.npy`` of zeros written as a header and a sparse tail: no page of it is written or read here."""
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": np.dtype(dtype).str, "fortran_order": False,
                                                      "shape": shape})
        handle.truncate(handle.tell() + int(np.prod(shape)) * np.dtype(dtype).itemsize)
    return path


def sparse_nifti(path: Path, shape: tuple[int, ...]) -> Path:
    import nibabel

    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(np.uint8)
    header.set_data_offset(352)
    with open(path, "wb") as handle:
        header.write_to(handle)
        handle.write(bytes(352 - handle.tell()))
        handle.truncate(352 + int(np.prod(shape)))
    return path


def sparse_text_header(path: Path, header: str, n: int) -> Path:
    """A volume whose text header (NRRD, MetaImage) is followed by ``n`` bytes of zeros, sparse."""
    with open(path, "wb") as handle:
        handle.write(header.encode())
        handle.truncate(handle.tell() + n)
    return path


def _labels_png(folder: Path, n: int) -> Path:
    from PIL import Image

    Image.fromarray(np.zeros((n, n), np.uint8)).save(folder / "x.png", compress_level=1)
    return folder / "x.png"


def _labels_tiff(folder: Path, shape: tuple[int, ...]) -> Path:
    import tifffile

    tifffile.imwrite(folder / "x.tif", np.zeros(shape, np.uint8), compression="zlib")
    return folder / "x.tif"


def _probs_npz(folder: Path, shape: tuple[int, ...]) -> Path:
    np.savez_compressed(folder / "x.npz", a=np.zeros(shape, np.float32))
    return folder / "x.npz"


D3 = (64, 1024, 1024)  # a volume of 64 M voxels: 64 MiB of uint8 labels, 256 MiB of float32 probabilities
CHUNKED_3D = (128, 256, 1024)  # 32 M voxels: its labels and one slice's evaluation fit the budget

# id, (pred builder, gt builder), arguments, exit code: 0 evaluated (in chunks), 3 refused
KINDS = [
    ("png-labels-2d", lambda p, g: (_labels_png(p, 6000), _labels_png(g, 6000)), (), 3),
    ("tiff-labels-3d", lambda p, g: (_labels_tiff(p, (48, 1000, 1000)), _labels_tiff(g, (48, 1000, 1000))), (), 3),
    ("npz-probs-2d", lambda p, g: (_probs_npz(p, (4000, 4000)), sparse_npy(g / "x.npy", (4000, 4000), "u1")), (),
     3),
    ("npy-probs-2d-chunks", lambda p, g: (sparse_npy(p / "x.npy", (4000, 4000), "f4"),
                                          sparse_npy(g / "x.npy", (4000, 4000), "u1")), ("-l", "ce,dice_loss"), 0),
    ("npy-probs-3d-chunks-regions", lambda p, g: (sparse_npy(p / "x.npy", D3, "f4"), sparse_npy(g / "x.npy", D3, "u1")),
     ("-m", "dice,iou", "--region", "all=1"), 3),
    ("npy-probs-3d-chunks", lambda p, g: (sparse_npy(p / "x.npy", CHUNKED_3D, "f4"),
                                          sparse_npy(g / "x.npy", CHUNKED_3D, "u1")), ("-m", "dice,iou", "-l", "ce"), 0),
    ("npy-probs-3d-boundary", lambda p, g: (sparse_npy(p / "x.npy", D3, "f4"), sparse_npy(g / "x.npy", D3, "u1")),
     ("-m", "dice,hd95"), 3),
    ("npy-labels-2d-regions", lambda p, g: (sparse_npy(p / "x.npy", (2500, 2500), "u1"),
                                            sparse_npy(g / "x.npy", (2500, 2500), "u1")),
     ("--num-classes", "3", "--region", "fg=1,2"), 0),
    ("npy-labels-3d-chunks", lambda p, g: (sparse_npy(p / "x.npy", D3, "u1"), sparse_npy(g / "x.npy", D3, "u1")),
     ("--num-classes", "3", "--region", "fg=1,2"), 0),
    ("nifti-labels-3d", lambda p, g: (sparse_nifti(p / "x.nii", D3), sparse_nifti(g / "x.nii", D3)), (), 3),
    ("nrrd-labels-3d", lambda p, g: tuple(sparse_text_header(
        f / "x.nrrd", "NRRD0004\ntype: uint8\ndimension: 3\nsizes: 1024 1024 64\nencoding: raw\n\n", 64 << 20)
        for f in (p, g)), (), 3),
    ("metaimage-labels-3d", lambda p, g: tuple(sparse_text_header(
        f / "x.mha", "ObjectType = Image\nNDims = 3\nDimSize = 1024 1024 64\nElementType = MET_UCHAR\n"
        "ElementDataFile = LOCAL\n", 64 << 20) for f in (p, g)), (), 3),
]


@pytest.mark.parametrize("build, args, code", [pytest.param(*k[1:], id=k[0]) for k in KINDS])
def test_every_kind_stays_within_the_budget(tmp_path: Path, build, args, code):
    """Past a 64 MiB budget, each kind is evaluated in chunks or refused from its header (one line naming the file,
    its size and the budget); either way the peak RSS stays within the budget plus the interpreter's baseline."""
    pred, gt = tmp_path / "pred", tmp_path / "gt"
    pred.mkdir()
    gt.mkdir()
    files = build(pred, gt)
    got, err, peak = peak_rss("seg", pred, gt, "--max-memory", "64M", "--workers", "1", *args)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert got == code and "Traceback" not in err, err
    if code:
        assert len(lines) == 1 and any(str(f) in lines[0] for f in files), err
        assert "more than the memory budget of 64 MiB" in lines[0] and "MiB" in lines[0].split(":", 2)[2], err
    assert peak <= BUDGET + BASELINE, (peak / MiB, err)
