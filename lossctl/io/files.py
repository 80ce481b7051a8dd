"""Reading arrays and tables from files on disk (or from standard input).

This module knows nothing of losses or metrics: it turns a path into a NumPy array, or into an
:class:`~lossctl.errors.InputError` whose message is one line of the form
``<path>: <what is wrong>; <how to fix it>``. No other exception escapes the loaders for a problem with a file
(a missing, unreadable, empty, truncated, corrupt, misnamed or oversized file, or one holding no numbers).

Supported formats:

* images (one mask or one score map per file): PNG and JPEG through Pillow, TIFF through tifffile (single page,
  multi-page stacks, LZW/deflate/zstd compression through imagecodecs);
* arrays: NumPy ``.npy`` (memory-mapped, never unpickled) and ``.npz`` (one array chosen by key);
* tables (classification inputs): ``.csv`` and ``.tsv`` of numbers, through :func:`load_table`.

Arrays are returned with their stored dtype (bool, unsigned/signed integers, floats); they are never converted
to float here. They may be read-only (memory maps, Pillow buffers): copy before writing into them.

Palette PNGs (Pillow mode ``"P"``) are returned as their palette *indices*, which is how class-index masks are
stored; the colours are ignored. Pixels are returned as stored: a JPEG's EXIF orientation is not applied.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import logging
import os
import stat
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from lossctl.io import volumes
from lossctl.errors import InputError, LossctlError, UsageError

__all__ = [
    "ARRAY_SUFFIXES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MEMORY_FRACTION",
    "IMAGE_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "TABLE_SUFFIXES",
    "Loaded",
    "check_decoded_size",
    "default_memory_budget",
    "display_path",
    "file_suffix",
    "load_array",
    "load_table",
    "memory_text",
    "parse_memory",
]

DEFAULT_MAX_PIXELS = 2**31
"""Images and volumes with more elements than this are refused (decompression bombs, mistaken inputs).
Deprecated in favour of the memory budget (``max_memory``), which is checked first."""

DEFAULT_MEMORY_FRACTION = 0.5
"""Without an explicit budget, one pair may use this fraction of the memory available when lossctl starts."""

_UNITS = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_memory(text: str | int) -> int:
    """Bytes from ``"512M"``, ``"2G"``, ``"1.5g"``, ``"64K"`` or a plain number (binary units: K = 1024).

    >>> parse_memory("1.5G"), parse_memory("64k"), parse_memory(1000)
    (1610612736, 65536, 1000)
    """
    if isinstance(text, (int, np.integer)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        raw = str(text).strip().upper().removesuffix("IB").removesuffix("B")
        unit = raw[-1:] if raw[-1:] in _UNITS else ""
        try:
            value = float(raw[: len(raw) - len(unit)])
        except ValueError:
            raise UsageError(f"--max-memory {text!r} is not a size; write bytes with an optional K, M or G "
                             "suffix, e.g. 512M or 4G") from None
    nbytes = int(value * _UNITS[unit])
    if not value > 0 or nbytes < 1:
        raise UsageError(f"--max-memory {text!r} must be a positive size, e.g. 512M or 4G")
    return nbytes


def memory_text(nbytes: int) -> str:
    """A byte count for messages: ``1.5 GiB``, ``512 MiB``, ``4.0 KiB``, ``12 bytes``."""
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= scale:
            value = nbytes / scale
            return f"{value:.0f} {unit}" if value >= 100 or value == int(value) else f"{value:.1f} {unit}"
    return f"{nbytes} bytes"


def _available_memory() -> int | None:
    """MemAvailable of /proc/meminfo (Linux), else the free physical pages, else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def default_memory_budget() -> int:
    """:data:`DEFAULT_MEMORY_FRACTION` of the memory available now (4 GiB when it cannot be known)."""
    available = _available_memory()
    return int(DEFAULT_MEMORY_FRACTION * available) if available else 4 << 30


def check_decoded_size(d: str, what: str, nbytes: int, budget: int | None) -> None:
    """Refuse a file whose decoded array would take more than ``budget`` bytes, from its header, before decoding.

    The one budget check of every reader (PNG, TIFF, .npz members, standard input, and the volume formats'
    readers): ``d`` is the displayed path, ``what`` describes the array (``"the image (40000x40000, 1-bit)"``).
    ``budget`` None means :func:`default_memory_budget`.
    """
    limit = default_memory_budget() if budget is None else budget
    if nbytes > limit:
        suggest = memory_text(1 << max(20, int(nbytes * 1.25 - 1).bit_length())).replace(" ", "").replace("iB", "")
        raise InputError(
            f"{d}: {what} decodes to {memory_text(nbytes)}, more than the memory budget of {memory_text(limit)}; "
            f"if the file is trusted raise it (--max-memory {suggest}), otherwise crop or downscale it"
        )

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
TABLE_SUFFIXES = (".csv", ".tsv")
SUPPORTED_SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES + volumes.VOLUME_SUFFIXES
"""Suffixes :func:`load_array` reads (and that segmentation folders are scanned for); ``.nii.gz`` is one."""


def file_suffix(name: str) -> str:
    """The suffix of a file name, lower case, with ``.nii.gz`` as one suffix (else the final suffix)."""
    return volumes.volume_suffix(name) or Path(name).suffix.lower()

STDIN_NAME = "<stdin>"
"""How standard input is named in error messages."""

_FORMAT_OF_SUFFIX = {
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".npy": "npy",
    ".npz": "npz",
    ".csv": "csv",
    ".tsv": "tsv",
}
_FORMAT_TITLE = {
    "png": "PNG",
    "tiff": "TIFF",
    "jpeg": "JPEG",
    "npy": "NumPy .npy",
    "npz": "NumPy .npz",
    "csv": "CSV",
    "tsv": "TSV",
}
_SUFFIX_OF_FORMAT = {"png": ".png", "tiff": ".tif", "jpeg": ".jpg", "npy": ".npy", "npz": ".npz"}

# Leading bytes of the formats a user is likely to hand us by mistake: (magic, lossctl format or None, description).
_MAGIC: tuple[tuple[bytes, str | None, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", "a PNG image"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image"),
    (b"II*\x00", "tiff", "a TIFF image"),
    (b"MM\x00*", "tiff", "a TIFF image"),
    (b"II+\x00", "tiff", "a BigTIFF image"),
    (b"MM\x00+", "tiff", "a BigTIFF image"),
    (b"\x93NUMPY", "npy", "a NumPy .npy array"),
    (b"PK\x03\x04", "npz", "a ZIP archive (.npz)"),
    (b"PK\x05\x06", "npz", "an empty ZIP archive (.npz)"),
    (b"GIF87a", None, "a GIF image"),
    (b"GIF89a", None, "a GIF image"),
    (b"\x1f\x8b", None, "gzip-compressed data"),
    (b"\x80\x02", None, "a Python pickle"),
    (b"\x80\x03", None, "a Python pickle"),
    (b"\x80\x04", None, "a Python pickle"),
    (b"\x80\x05", None, "a Python pickle"),
    (b"\x89HDF\r\n\x1a\n", None, "an HDF5 file"),
)
_HEAD_BYTES = 16
_UNKNOWN_CONTENT = ("plain text", "unrecognised binary data")

# Pillow's decompression-bomb limit is a module global: it is changed (and restored) only under this lock.
_PIL_LOCK = threading.Lock()


@dataclass(frozen=True)
class Loaded:
    """An array read from a file, with where and how it was stored.

    Attributes
    ----------
    array : numpy.ndarray
        The data as stored (dtype preserved: bool, unsigned or signed integers, floats); never converted to
        float. It may be read-only (a memory map or a Pillow buffer).
    path : str
        The path as given by the caller (``"-"`` for standard input).
    format : str
        One of ``"png"``, ``"tiff"``, ``"jpeg"``, ``"npy"``, ``"npz"``, ``"csv"``, ``"tsv"``.
    mode : str or None
        The Pillow image mode for PNG and JPEG (``"P"``, ``"L"``, ``"1"``, ``"I;16"``, ``"RGB"``...), else None.
    lossy : bool
        True when the format is lossy (JPEG), so exact class indices cannot be trusted.
    spacing : tuple of float or None
        Volumes (NIfTI, NRRD, MetaImage): the physical voxel size along each spatial array axis, in the array's
        axis order; None when the file carries none.
    direction : tuple or None
        Volumes: the unit direction of each spatial array axis in the format's world frame.
    """

    array: np.ndarray
    path: str
    format: str
    mode: str | None
    lossy: bool
    spacing: tuple[float, ...] | None = None
    direction: tuple[tuple[float, ...], ...] | None = None


# --------------------------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------------------------


def display_path(path: str | bytes | os.PathLike[Any]) -> str:
    """Return a path as one printable line, for error messages.

    Control characters (a newline in a file name) and undecodable bytes (surrogate escapes) are written as
    backslash escapes, so a message stays on one line and can always be printed.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The path to show.

    Returns
    -------
    str
        The path with every non-printable character escaped; ordinary spaces and non-ASCII letters are kept.

    Examples
    --------
    >>> display_path("gt/é x.png")
    'gt/é x.png'
    >>> display_path("bad\\nname.png")
    'bad\\\\nname.png'
    """
    text = os.fsdecode(os.fspath(path))
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text
    )


def _brief(exc: BaseException, limit: int = 160) -> str:
    """Summarise an exception as a short one-line text (its type and the first line of its message)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = display_path(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _describe_head(head: bytes) -> tuple[str | None, str]:
    """Guess what some leading bytes are: (lossctl format or None, human description)."""
    for magic, fmt, description in _MAGIC:
        if head.startswith(magic):
            return fmt, description
    if not head:
        return None, "empty"
    if b"\x00" not in head:
        try:
            text = head.decode("utf-8")
        except UnicodeDecodeError:
            # The head may end in the middle of a multi-byte character.
            try:
                text = head[:-3].decode("utf-8")
            except UnicodeDecodeError:
                text = ""
        if text and all(ch.isprintable() or ch in "\t\r\n" for ch in text):
            if text.lstrip().startswith(("<!DOCTYPE", "<html", "<HTML")):
                return None, "an HTML page"
            if text.startswith("version https://git-lfs"):
                return None, "a Git LFS pointer, not the data"
            return None, "plain text"
    return None, "unrecognised binary data"


def _size_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape) if shape else "scalar"


def _too_large(d: str, what: str, n: int, max_pixels: int, unit: str = "elements") -> InputError:
    return InputError(
        f"{d}: {what} has {n:,} {unit}, more than the limit of {max_pixels:,}; "
        "if the file is trusted raise --max-pixels, otherwise crop or downscale it"
    )


# --------------------------------------------------------------------------------------------------------------
# Checks shared by every loader
# --------------------------------------------------------------------------------------------------------------


def _check_max_pixels(max_pixels: int) -> int:
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels <= 0:
        raise UsageError(f"max_pixels must be a positive integer, got {max_pixels!r}; pass a number such as 2**31")
    return int(max_pixels)


def _open_checked(path: str, d: str) -> tuple[int, bytes]:
    """Make sure ``path`` is a readable, non-empty regular file; return its size and first bytes."""
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        if os.path.islink(path):
            raise InputError(f"{d}: is a broken symbolic link; point it at an existing file") from exc
        raise InputError(f"{d}: no such file; check the path and the current directory") from exc
    except NotADirectoryError as exc:
        raise InputError(f"{d}: no such file (a parent of it is a file, not a folder); check the path") from exc
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied on a parent folder; make the folder readable (chmod u+rx)") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{d}: cannot access the file ({_brief(exc)}); check the path") from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{d}: is not a regular file (a device, pipe or socket); pass a regular file")
    if info.st_size == 0:
        raise InputError(f"{d}: is empty (0 bytes); re-export it (an interrupted write leaves empty files)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except IsADirectoryError as exc:  # pragma: no cover - raced with the stat above
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{d}: cannot be read ({_brief(exc)}); check the file and the disk") from exc
    return info.st_size, head


def _check_content(d: str, fmt: str, head: bytes) -> None:
    """Refuse a file whose leading bytes show it is not in the format its suffix claims."""
    found, description = _describe_head(head)
    if found == fmt:
        return
    if fmt in ("csv", "tsv"):
        if found is not None:
            raise InputError(
                f"{d}: not a {_FORMAT_TITLE[fmt]} table (the bytes are {description}); "
                f"rename it to {_SUFFIX_OF_FORMAT[found]}"
            )
        if description not in _UNKNOWN_CONTENT:
            raise InputError(
                f"{d}: not a {_FORMAT_TITLE[fmt]} table (the bytes are {description}); export the table as CSV"
            )
        return  # text is checked while parsing
    title = _FORMAT_TITLE[fmt]
    if found is not None:
        raise InputError(
            f"{d}: not a {title} file (the bytes are {description}); "
            f"rename it to {_SUFFIX_OF_FORMAT[found]} or re-export it as {title}"
        )
    raise InputError(f"{d}: not a {title} file (the bytes are {description}); re-export it as {title}")


def _check_dtype(d: str, dtype: np.dtype[Any] | None, *, label: str = "the array") -> None:
    """Refuse arrays that do not hold plain numbers (bool, integers, floats)."""
    if dtype is None:
        raise InputError(f"{d}: {label} has an unknown data type; re-save it as bool, integer or float numbers")
    if dtype.hasobject:
        raise InputError(
            f"{d}: {label} holds Python objects (a pickled array), which lossctl never unpickles; "
            "re-save it with a numeric dtype, e.g. np.save(path, np.asarray(a, dtype=float))"
        )
    kind = dtype.kind
    if kind in "biuf":
        return
    what = {
        "c": "complex numbers",
        "U": "text strings",
        "S": "byte strings",
        "V": "structured records (or raw bytes)",
        "M": "dates",
        "m": "time spans",
    }.get(kind, f"values of type {dtype}")
    raise InputError(
        f"{d}: {label} holds {what} ({dtype}), not plain numbers; re-save it as bool, integer or float"
    )


def _check_shape(d: str, shape: tuple[int, ...], max_pixels: int | None, *, label: str = "the array",
                 itemsize: int = 0, budget: int | None = None) -> None:
    """Refuse arrays with more than ``max_pixels`` elements (unless None), arrays whose ``itemsize``-byte
    elements would exceed the memory ``budget`` (when ``itemsize``) and arrays with no element."""
    n = 1
    for length in shape:
        n *= int(length)
    if itemsize:
        check_decoded_size(d, f"{label} ({_size_text(shape)})", n * itemsize, budget)
    if max_pixels is not None and n > max_pixels:
        raise _too_large(d, f"{label} ({_size_text(shape)})", n, max_pixels)
    if n == 0:
        raise InputError(f"{d}: {label} is empty (shape {tuple(shape)}); re-export it with the data")


@contextlib.contextmanager
def _converting(d: str, fmt: str) -> Iterator[None]:
    """Turn any exception raised while decoding into an :class:`InputError` naming the file."""
    title = _FORMAT_TITLE[fmt]
    try:
        yield
    except LossctlError:
        raise
    except MemoryError as exc:
        raise InputError(
            f"{d}: not enough memory to load it as {title}; free memory, or lower --max-memory to refuse such files"
        ) from exc
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes one readable message
        raise InputError(
            f"{d}: cannot decode it as {title}, the file is truncated or corrupt ({_brief(exc)}); "
            f"re-export it as {title}"
        ) from exc


def _native(array: np.ndarray) -> np.ndarray:
    """Return ``array`` in native byte order (Pillow exposes big-endian 16-bit modes as ``>u2``)."""
    if not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    return array


# --------------------------------------------------------------------------------------------------------------
# Format readers
# --------------------------------------------------------------------------------------------------------------


#: Bytes per pixel of the arrays Pillow's modes decode to (other modes: 4 bytes per band).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2,
               "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4, "I": 4, "F": 4}


def _read_pil(path: str, d: str, fmt: str, max_pixels: int, budget: int | None = None) -> tuple[np.ndarray, str]:
    """Read a PNG or JPEG with Pillow; return (array, mode)."""
    from PIL import Image

    pil_format = "PNG" if fmt == "png" else "JPEG"
    with _converting(d, fmt):
        with _PIL_LOCK:
            saved = Image.MAX_IMAGE_PIXELS
            # Pillow warns above the limit and raises above twice the limit; the exact check is ours, below.
            Image.MAX_IMAGE_PIXELS = max_pixels
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                    image = Image.open(path, formats=[pil_format])
            except Image.DecompressionBombError as exc:
                raise InputError(
                    f"{d}: the image is more than twice the limit of {max_pixels:,} pixels; "
                    "if the file is trusted raise --max-pixels, otherwise crop or downscale it"
                ) from exc
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        with image:
            width, height = image.size  # from the header (IHDR): nothing is decoded yet
            per_pixel = _MODE_BYTES.get(image.mode, 4 * len(image.getbands()))
            check_decoded_size(d, f"the image ({width}x{height}, mode {image.mode})", width * height * per_pixel,
                               budget)
            if width * height > max_pixels:
                raise _too_large(d, f"the image ({width}x{height})", width * height, max_pixels, "pixels")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image.load()
            mode = image.mode
            array = np.asarray(image)
        if mode == "PA":  # palette indices plus alpha: keep the indices, the alpha is not a class
            array = array[..., 0]
        array = _native(array)
    return array, mode


class _TifffileCapture(logging.Filter):
    """Collect (and hide) what tifffile logs while *this thread* reads a TIFF for lossctl.

    tifffile reports many kinds of damage (missing strip offsets, bad page offsets, data that cannot be reshaped)
    by logging and returning zeros instead of raising. Installed once on the ``tifffile`` logger, this filter
    diverts those records into a per-thread list during :func:`_read_tiff`, so they neither reach the terminal
    nor go unnoticed; outside of lossctl's reads (and in other threads) tifffile logs as usual.
    """

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    @contextlib.contextmanager
    def capture(self) -> Iterator[list[logging.LogRecord]]:
        records: list[logging.LogRecord] = []
        previous = getattr(self._local, "records", None)
        self._local.records = records
        try:
            yield records
        finally:
            self._local.records = previous

    def filter(self, record: logging.LogRecord) -> bool:
        records = getattr(self._local, "records", None)
        if records is None:
            return True
        records.append(record)
        return False


_TIFFFILE_CAPTURE = _TifffileCapture()


def _tifffile_damage(records: list[logging.LogRecord]) -> str | None:
    """Return the first logged tifffile message that means the pixel data cannot be trusted, if any."""
    for record in records:
        message = record.getMessage()
        if "failed to reshape" in message or (
            record.levelno >= logging.ERROR and not message.startswith("<TiffTag.fromfile>")
        ):
            return message
    return None


def _read_tiff(path: str, d: str, max_pixels: int, budget: int | None = None) -> tuple[np.ndarray, str | None]:
    """Read a TIFF with tifffile: a page as 2-D (or H x W x C), a stack of pages as D x H x W. The mode is
    ``"RGB"``/``"RGBA"`` for a colour (photometric RGB) image, else None."""
    import tifffile

    logger = logging.getLogger("tifffile")
    if _TIFFFILE_CAPTURE not in logger.filters:
        logger.addFilter(_TIFFFILE_CAPTURE)
    with _TIFFFILE_CAPTURE.capture() as records:
        array, mode = _read_tiff_data(tifffile, path, d, max_pixels, records, budget)
    _raise_tiff_damage(d, records)
    return array, mode


def _raise_tiff_damage(d: str, records: list[logging.LogRecord]) -> None:
    damage = _tifffile_damage(records)
    if damage is not None:
        raise InputError(
            f"{d}: cannot decode it as TIFF, the file is truncated or corrupt (tifffile: {_shorten(damage, 160)}); "
            "re-export it as TIFF"
        )


def _read_tiff_data(
    tifffile: Any, path: str, d: str, max_pixels: int, records: list[logging.LogRecord], budget: int | None = None
) -> tuple[np.ndarray, str | None]:
    with _converting(d, "tiff"), tifffile.TiffFile(path) as tif:
        series = list(tif.series)
        if not series:
            raise InputError(f"{d}: the TIFF holds no image; re-export it")
        first = series[0]
        mode = None
        if tif.pages and getattr(tif.pages[0], "photometric", None) == tifffile.PHOTOMETRIC.RGB:
            mode = "RGBA" if tif.pages[0].samplesperpixel == 4 else "RGB"
        dtype = None if first.dtype is None else np.dtype(first.dtype)
        shape = tuple(int(n) for n in first.shape)
        # Pages written one by one (each with its own shape metadata) form one series each: stack them when
        # they agree, as a multi-page TIFF is a volume. Series of other shapes (thumbnails) are ignored.
        stack = len(series) > 1 and all(
            tuple(s.shape) == shape and s.dtype is not None and np.dtype(s.dtype) == dtype for s in series[1:]
        )
        if stack:
            shape = (len(series), *shape)
        _check_dtype(d, dtype)
        _check_shape(d, shape, max_pixels, label="the image", itemsize=dtype.itemsize, budget=budget)  # tags only
        _raise_tiff_damage(d, records)  # damage found while parsing: do not allocate and decode garbage
        if stack:
            array = np.empty(shape, dtype=dtype)
            for index, item in enumerate(series):
                array[index] = item.asarray()
        else:
            array = np.asarray(first.asarray())
        return _native(array), mode


def _npy_header(stream: IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """Read the header of an ``.npy`` stream positioned at its start; return (shape, dtype)."""
    version = np.lib.format.read_magic(stream)
    if version == (1, 0):
        shape, _fortran, dtype = np.lib.format.read_array_header_1_0(stream)
    else:
        # Versions 2.0 and 3.0 share the layout (a 4-byte header length); 3.0 only allows UTF-8 field names,
        # which belong to structured dtypes that are refused anyway.
        shape, _fortran, dtype = np.lib.format.read_array_header_2_0(stream)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _read_npy_file(path: str, d: str, file_size: int, max_pixels: int) -> np.ndarray:
    """Memory-map an ``.npy`` file after checking its header (dtype, size, length of the data)."""
    with _converting(d, "npy"):
        with open(path, "rb") as handle:
            shape, dtype = _npy_header(handle)
            data_offset = handle.tell()
        _check_dtype(d, dtype)
        _check_shape(d, shape, max_pixels)
        needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        have = file_size - data_offset
        if have < needed:
            raise InputError(
                f"{d}: the file is truncated ({have:,} bytes of data for a {_size_text(shape)} {dtype} array "
                f"that needs {needed:,}); re-export it"
            )
        return np.load(path, mmap_mode="r", allow_pickle=False)


def _read_npy_stream(stream: IO[bytes], d: str, max_pixels: int, *, label: str = "the array",
                     budget: int | None = None) -> np.ndarray:
    """Read an ``.npy`` from a stream (standard input, an ``.npz`` member) after checking its header (the array
    is decoded into memory, so its size is checked against the budget)."""
    shape, dtype = _npy_header(stream)
    _check_dtype(d, dtype, label=label)
    _check_shape(d, shape, max_pixels, label=label, itemsize=dtype.itemsize, budget=budget)
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)


def _read_npz(source: str | IO[bytes], d: str, npz_key: str | None, max_pixels: int,
              key_required: bool = True, budget: int | None = None) -> np.ndarray:
    """Read one array of an ``.npz`` archive: ``npz_key``, or the only one it holds (also when ``npz_key`` is
    missing from it, unless ``key_required``)."""
    with _converting(d, "npz"), np.load(source, allow_pickle=False) as archive:
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(f"{d}: not a NumPy .npz archive; re-save it with np.savez")
        keys = list(archive.files)
        shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
        if npz_key is not None and npz_key in keys:
            key = npz_key
        elif npz_key is not None and (key_required or len(keys) != 1):
            if not keys:
                raise InputError(f"{d}: holds no arrays (no key {npz_key!r}); re-save it with np.savez")
            raise InputError(f"{d}: has no array named {npz_key!r} (it holds {shown}); pick one with --npz-key "
                             "(--gt-npz-key for ground truth)")
        elif len(keys) == 1:
            key = keys[0]
        elif not keys:
            raise InputError(f"{d}: holds no arrays; re-save it with np.savez(path, name=array)")
        else:
            raise InputError(f"{d}: holds arrays {shown}; choose one with --npz-key (--gt-npz-key for ground truth)")
        names = archive.zip.namelist()
        member = key + ".npy" if key + ".npy" in names else key
        if not member.endswith(".npy"):
            raise InputError(f"{d}: member {key!r} is not a NumPy array; re-save the archive with np.savez")
        with archive.zip.open(member) as stream:
            return _read_npy_stream(stream, d, max_pixels, label=f"array {key!r}", budget=budget)


# --------------------------------------------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------------------------------------------


def _suffix_error(d: str, suffix: str, allowed: tuple[str, ...], what: str) -> InputError:
    shown = f"suffix {suffix!r}" if suffix else "no suffix"
    return InputError(
        f"{d}: unsupported file type ({shown}); {what} must end in {', '.join(allowed)} (convert it to one of them)"
    )


def load_array(
    path: str | os.PathLike[str],
    *,
    npz_key: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    npz_key_required: bool = True,
    max_memory: int | None = None,
) -> Loaded:
    """Read one image or array file, keeping its stored dtype.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.png``, ``.tif``/``.tiff``, ``.jpg``/``.jpeg``, ``.npy`` or ``.npz`` file (suffix case ignored).
    npz_key : str, optional
        For an ``.npz`` holding several arrays, the one to read. Ignored for other formats.
    max_pixels : int, optional
        Refuse images and arrays with more elements than this, before decoding them (deprecated: the memory
        budget is the limit that matters).
    max_memory : int, optional
        The memory budget in bytes (None: :func:`default_memory_budget`). A PNG, JPEG or TIFF image, an
        ``.npz`` member or standard input whose decoded array (its size read from the header: PNG IHDR,
        TIFF tags, NPY header) exceeds it is refused before decoding. An ``.npy`` file is memory-mapped, not
        decoded: it is never refused for its size here (the evaluation reads it in chunks that fit).

    Returns
    -------
    Loaded
        The array (dtype as stored; palette PNGs as palette indices, mode ``"1"`` as bool, ``"I;16"`` as
        uint16, RGB(A) as H x W x 3|4 uint8; a TIFF page stack as D x H x W) and how it was stored.

    Raises
    ------
    InputError
        For every problem with the file: unknown suffix, missing, a directory, unreadable, empty, content not
        matching the suffix, truncated or corrupt, pickled objects or other non-numeric data, too many
        elements, an empty array, an ``.npz`` key that is missing or needed. The message is one line,
        ``<path>: <what is wrong>; <how to fix it>``.
    UsageError
        If ``max_pixels`` is not a positive integer.
    """
    max_pixels = _check_max_pixels(max_pixels)
    raw = os.fspath(path)
    given = os.fsdecode(raw)
    d = display_path(raw)
    if volumes.volume_format(given):
        _open_checked(given, d)
        volume = volumes.read_volume(given, d, max_pixels, max_memory)
        _check_dtype(d, volume.array.dtype)
        return Loaded(array=volume.array, path=given, format=volume.format, mode=None, lossy=False,
                      spacing=volume.spacing, direction=volume.direction)
    suffix = Path(given).suffix.lower()
    fmt = _FORMAT_OF_SUFFIX.get(suffix)
    if fmt is None or suffix not in SUPPORTED_SUFFIXES:
        if os.path.isdir(given):
            raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
        if not os.path.lexists(given):
            raise InputError(f"{d}: no such file; check the path and the current directory")
        if fmt in ("csv", "tsv"):
            raise InputError(
                f"{d}: a {suffix} table is not an image or array; pass a {', '.join(SUPPORTED_SUFFIXES)} file here"
            )
        raise _suffix_error(d, suffix, SUPPORTED_SUFFIXES, "images and arrays")
    file_size, head = _open_checked(given, d)
    _check_content(d, fmt, head)

    mode: str | None = None
    if fmt in ("png", "jpeg"):
        array, mode = _read_pil(given, d, fmt, max_pixels, max_memory)
    elif fmt == "tiff":
        array, mode = _read_tiff(given, d, max_pixels, max_memory)
    elif fmt == "npy":
        array = _read_npy_file(given, d, file_size, max_pixels)
    else:
        array = _read_npz(given, d, npz_key, max_pixels, npz_key_required, max_memory)
    _check_dtype(d, array.dtype)
    _check_shape(d, tuple(array.shape), None)  # the size limit was checked before decoding
    return Loaded(array=array, path=given, format=fmt, mode=mode, lossy=fmt == "jpeg")


def load_table(
    path: str | os.PathLike[str] | None,
    *,
    stdin_bytes: bytes | None = None,
    npz_key: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Loaded:
    """Read a table of numbers (classification scores, labels) from a file or from standard input.

    ``.csv`` and ``.tsv`` files are parsed as text: comma-separated (tab-separated for ``.tsv``, or when the
    file uses tabs), an optional header row (a first row that is not all numbers is skipped), blank lines and
    lines starting with ``#`` ignored. ``.npy`` and ``.npz`` files are read by :func:`load_array`.

    Parameters
    ----------
    path : str, os.PathLike or None
        The file, or None / ``"-"`` to read ``stdin_bytes``.
    stdin_bytes : bytes, optional
        The bytes of standard input, used only when ``path`` is None or ``"-"``: parsed as ``.npy`` if they
        start with the NumPy magic, as ``.npz`` if they are a ZIP archive, else as CSV (or TSV) text.
    npz_key : str, optional
        Which array of an ``.npz`` to read.
    max_pixels : int, optional
        Refuse ``.npy``/``.npz`` arrays with more elements than this.

    Returns
    -------
    Loaded
        For text: float64 of shape (N,) for one column, else (N, C); ``format`` is ``"csv"`` or ``"tsv"``.
        For ``.npy``/``.npz``: the array as stored.

    Raises
    ------
    InputError
        For every problem with the input; a cell that is not a number is named by row and column (1-based,
        rows counted as lines of the file, header and blank lines included).

    Examples
    --------
    >>> load_table(None, stdin_bytes=b"score,label\\n0.9,1\\n0.2,0\\n").array
    array([[0.9, 1. ],
           [0.2, 0. ]])
    """
    max_pixels = _check_max_pixels(max_pixels)
    if path is None or os.fspath(path) in ("-", b"-"):
        return _load_stdin(stdin_bytes, npz_key, max_pixels)
    raw = os.fspath(path)
    given = os.fsdecode(raw)
    d = display_path(raw)
    suffix = Path(given).suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return load_array(given, npz_key=npz_key, max_pixels=max_pixels)
    if suffix not in TABLE_SUFFIXES:
        if os.path.isdir(given):
            raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
        if not os.path.lexists(given):
            raise InputError(f"{d}: no such file; check the path and the current directory")
        raise _suffix_error(d, suffix, TABLE_SUFFIXES + ARRAY_SUFFIXES, "tables")
    fmt = _FORMAT_OF_SUFFIX[suffix]
    _size, head = _open_checked(given, d)
    _check_content(d, fmt, head)
    try:
        with open(given, "rb") as handle:
            data = handle.read()
    except MemoryError as exc:
        raise InputError(f"{d}: the table is too large to read into memory; split it into smaller files") from exc
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except OSError as exc:
        raise InputError(f"{d}: cannot be read ({_brief(exc)}); check the file and the disk") from exc
    array, fmt = _parse_text_table(data, d, tab=fmt == "tsv")
    return Loaded(array=array, path=given, format=fmt, mode=None, lossy=False)


def _load_stdin(data: bytes | None, npz_key: str | None, max_pixels: int) -> Loaded:
    d = STDIN_NAME
    if not data:
        raise InputError(f"{d}: no data on standard input; pipe a CSV, TSV or .npy file in, or pass a file path")
    found, description = _describe_head(data[:_HEAD_BYTES])
    if found == "npy":
        with _converting(d, "npy"):
            array = _read_npy_stream(io.BytesIO(data), d, max_pixels)
        fmt = "npy"
    elif found == "npz":
        array = _read_npz(io.BytesIO(data), d, npz_key, max_pixels)
        fmt = "npz"
    elif found is not None or description not in _UNKNOWN_CONTENT:
        raise InputError(
            f"{d}: standard input holds {description}, not a table; pipe a CSV, TSV or .npy file instead"
        )
    else:
        array, fmt = _parse_text_table(data, d, tab=False)
    _check_dtype(d, array.dtype)
    _check_shape(d, tuple(array.shape), max_pixels)
    return Loaded(array=array, path="-", format=fmt, mode=None, lossy=False)


def _parse_number(cell: str) -> float | None:
    """Parse one cell as a float (Python syntax, no digit-group underscores); None if it is not a number."""
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _shorten(text: str, limit: int = 40) -> str:
    text = display_path(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _parse_text_table(data: bytes, d: str, *, tab: bool) -> tuple[np.ndarray, str]:
    """Parse CSV/TSV bytes into float64 (N,) or (N, C); return (array, "csv" | "tsv")."""
    if b"\x00" in data:
        raise InputError(f"{d}: holds binary data, not CSV text; export the table as CSV (or save it as .npy)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{d}: is not UTF-8 text (byte {exc.start + 1} is invalid); re-save the table as UTF-8 CSV"
        ) from exc

    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1)]
    content = [(n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise InputError(f"{d}: holds no numbers (the table is blank); export the table with its rows")
    if not tab and "\t" in text:
        tab = "," not in text or "\t" in content[0][1]
    delimiter = "\t" if tab else ","
    fmt = "tsv" if tab else "csv"

    rows: list[tuple[int, list[str]]] = []
    try:
        for number, line in content:
            cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
            rows.append((number, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise InputError(f"{d}: is not valid CSV ({_brief(exc)}); re-export the table") from exc

    first_number, first_cells = rows[0]
    if any(_parse_number(cell) is None for cell in first_cells):
        rows = rows[1:]  # a header row
        if not rows:
            raise InputError(
                f"{d}: holds only a header row (line {first_number}), no numbers; export the table with its rows"
            )

    width = len(rows[0][1])
    width_row = rows[0][0]
    values = np.empty((len(rows), width), dtype=np.float64)
    for index, (number, cells) in enumerate(rows):
        if len(cells) != width:
            raise InputError(
                f"{d}: row {number} has {len(cells)} columns but row {width_row} has {width}; "
                "give every row the same number of columns"
            )
        for column, cell in enumerate(cells, start=1):
            value = _parse_number(cell)
            if value is None:
                if not cell:
                    raise InputError(
                        f"{d}: row {number}, column {column} is empty; fill in a number (nan for a missing value)"
                    )
                hint = "fix that cell (nan for a missing value)"
                parts = cell.split()
                if len(parts) > 1 and all(_parse_number(part) is not None for part in parts):
                    hint = "separate columns with commas (or tabs in a .tsv), not spaces"
                elif "," in cell and delimiter == "\t":
                    hint = "use '.' as the decimal mark, or save the table as CSV"
                raise InputError(f"{d}: row {number}, column {column} is not a number ({_shorten(cell)!r}); {hint}")
            values[index, column - 1] = value
    if width == 1:
        return values[:, 0].copy(), fmt
    return values, fmt
