"""Reading images: PNG and JPEG through Pillow, TIFF through tifffile.

* PNG and JPEG (:func:`read_pil`): one image per file. Palette PNGs (Pillow mode ``"P"``) are returned as their
  palette *indices*, which is how class-index masks are stored; the colours are ignored. Mode ``"1"`` is bool,
  ``"I;16"`` uint16, RGB(A) H x W x 3|4 uint8. Pixels are returned as stored: a JPEG's EXIF orientation is not
  applied.
* TIFF (:func:`read_tiff`): a single page, or a stack of pages (a volume, D x H x W); LZW/deflate/zstd
  compression through imagecodecs. tifffile logs (and zero-fills) damage it finds instead of raising: those
  records are captured and turned into an error.

The size of the decoded image is read from the header (PNG IHDR, TIFF tags) and checked against the limits of
:mod:`lossctl.io.budget` before anything is decoded: the memory budget, and without an explicit budget the
decompression-bomb rule (decoded size against the file's size). Pillow's own guard (``Image.MAX_IMAGE_PIXELS``,
179 M pixels: it would refuse a genuine 16k x 16k label PNG) is replaced by these: it is raised to the deprecated
element limit while a file is opened.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import IO, Any

import numpy as np

from lossctl.errors import InputError, setting
from lossctl.io.budget import check_decoded_bytes, too_many_elements
from lossctl.io.checks import as_input_errors, check_dtype, check_shape, native_byte_order
from lossctl.io.text import shorten

__all__ = ["pil_header", "read_pil", "read_tiff", "tiff_header"]

#: Bytes per pixel of the arrays Pillow's modes decode to (other modes: 4 bytes per band).
_MODE_BYTES = {"1": 1, "L": 1, "P": 1, "LA": 2, "PA": 2, "La": 2, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2,
               "RGB": 3, "YCbCr": 3, "LAB": 3, "HSV": 3, "RGBA": 4, "RGBa": 4, "CMYK": 4, "I": 4, "F": 4}


# Pillow's decompression-bomb limit is a module global: it is changed (and restored) only under this lock.
_PIL_LOCK = threading.Lock()


def read_pil(path: str, d: str, fmt: str, max_pixels: int, budget: int | None = None,
             stored: int | None = None) -> tuple[np.ndarray, str]:
    """Read a PNG or JPEG with Pillow; return (array, mode). ``stored``: the file's size (what the image decodes
    from, for the decompression-bomb rule of :func:`~lossctl.io.budget.check_decoded_bytes`)."""
    from PIL import Image

    pil_format = "PNG" if fmt == "png" else "JPEG"
    with as_input_errors(d, fmt):
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
                    f"if the file is trusted raise {setting('max_pixels')}, otherwise crop or downscale it"
                ) from exc
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        with image:
            width, height = image.size  # from the header (IHDR): nothing is decoded yet
            per_pixel = _MODE_BYTES.get(image.mode, 4 * len(image.getbands()))
            check_decoded_bytes(d, f"the image ({width}x{height}, mode {image.mode})", width * height * per_pixel,
                                budget, stored)
            if width * height > max_pixels:
                raise too_many_elements(d, f"the image ({width}x{height})", width * height, max_pixels, "pixels")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image.load()
            mode = image.mode
            array = np.asarray(image)
        if mode == "PA":  # palette indices plus alpha: keep the indices, the alpha is not a class
            array = array[..., 0]
        array = native_byte_order(array)
    return array, mode


def pil_header(source: str | IO[bytes], fmt: str) -> tuple[tuple[int, ...], int]:
    """(shape, bytes per element) of the array a PNG or JPEG (a path, or a seekable binary stream) decodes to,
    from its header alone (PNG IHDR, JPEG SOF): H x W, or H x W x bands for multi-band modes."""
    from PIL import Image

    with _PIL_LOCK:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None  # a header is read, not decoded: the limits are checked by the caller
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = Image.open(source, formats=["PNG" if fmt == "png" else "JPEG"])
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    with image:
        width, height = image.size
        bands = len(image.getbands())
        per_pixel = _MODE_BYTES.get(image.mode, 4 * bands)
    if image.mode in ("1", "L", "P", "I", "F") or image.mode.startswith("I;16"):
        return (height, width), per_pixel
    return (height, width, bands), max(1, per_pixel // bands)


def tiff_header(source: str | IO[bytes]) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """(shape, dtype) of the array a TIFF (a path, or a seekable binary stream) decodes to, from its
    tags alone (:func:`read_tiff`'s layout: a stack of same-shaped pages is a volume)."""
    import tifffile

    with tifffile.TiffFile(source) as tif:
        shape, dtype, _stack = _tiff_layout(tif)
    if dtype is None:
        raise ValueError("no image data type")
    return shape, dtype


def _tiff_layout(tif: Any) -> tuple[tuple[int, ...], np.dtype[Any] | None, bool]:
    """(shape, dtype, stacked) of a TIFF's first series, or of its same-shaped series stacked as a volume."""
    series = list(tif.series)
    if not series:
        return (), None, False
    first = series[0]
    dtype = None if first.dtype is None else np.dtype(first.dtype)
    shape = tuple(int(n) for n in first.shape)
    # Pages written one by one (each with its own shape metadata) form one series each: stack them when
    # they agree, as a multi-page TIFF is a volume. Series of other shapes (thumbnails) are ignored.
    stack = len(series) > 1 and all(
        tuple(s.shape) == shape and s.dtype is not None and np.dtype(s.dtype) == dtype for s in series[1:]
    )
    return ((len(series), *shape) if stack else shape), dtype, stack


class _TifffileCapture(logging.Filter):
    """Collect (and hide) what tifffile logs while *this thread* reads a TIFF for lossctl.

    tifffile reports many kinds of damage (missing strip offsets, bad page offsets, data that cannot be reshaped)
    by logging and returning zeros instead of raising. Installed once on the ``tifffile`` logger, this filter
    diverts those records into a per-thread list during :func:`read_tiff`, so they neither reach the terminal
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


def read_tiff(path: str, d: str, max_pixels: int, budget: int | None = None,
              stored: int | None = None) -> tuple[np.ndarray, str | None]:
    """Read a TIFF with tifffile: a page as 2-D (or H x W x C), a stack of pages as D x H x W. The mode is
    ``"RGB"``/``"RGBA"`` for a colour (photometric RGB) image, else None."""
    import tifffile

    logger = logging.getLogger("tifffile")
    if _TIFFFILE_CAPTURE not in logger.filters:
        logger.addFilter(_TIFFFILE_CAPTURE)
    with _TIFFFILE_CAPTURE.capture() as records:
        array, mode = _read_tiff_data(tifffile, path, d, max_pixels, records, budget, stored)
    _raise_tiff_damage(d, records)
    return array, mode


def _raise_tiff_damage(d: str, records: list[logging.LogRecord]) -> None:
    damage = _tifffile_damage(records)
    if damage is not None:
        raise InputError(
            f"{d}: cannot decode it as TIFF, the file is truncated or corrupt (tifffile: {shorten(damage, 160)}); "
            "re-export it as TIFF"
        )


def _read_tiff_data(
    tifffile: Any, path: str, d: str, max_pixels: int, records: list[logging.LogRecord], budget: int | None = None,
    stored: int | None = None) -> tuple[np.ndarray, str | None]:
    with as_input_errors(d, "tiff"), tifffile.TiffFile(path) as tif:
        series = list(tif.series)
        if not series:
            raise InputError(f"{d}: the TIFF holds no image; re-export it")
        first = series[0]
        mode = None
        if tif.pages and getattr(tif.pages[0], "photometric", None) == tifffile.PHOTOMETRIC.RGB:
            mode = "RGBA" if tif.pages[0].samplesperpixel == 4 else "RGB"
        shape, dtype, stack = _tiff_layout(tif)
        check_dtype(d, dtype)
        check_shape(d, shape, max_pixels, label="the image", itemsize=dtype.itemsize, budget=budget,
                    stored=stored)  # tags only
        _raise_tiff_damage(d, records)  # damage found while parsing: do not allocate and decode garbage
        if stack:
            array = np.empty(shape, dtype=dtype)
            for index, item in enumerate(series):
                array[index] = item.asarray()
        else:
            array = np.asarray(first.asarray())
        return native_byte_order(array), mode
