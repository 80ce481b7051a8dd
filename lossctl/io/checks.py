"""The checks every reader makes, and the one-line error contract they keep.

A reader (:mod:`lossctl.io.images`, :mod:`lossctl.io.arrays`, :mod:`lossctl.io.tables`) first makes sure the path
is a readable, non-empty regular file (:func:`open_checked`), then, from the header, that the array holds plain
numbers (:func:`check_dtype`) and fits the limits of :mod:`lossctl.io.budget` (:func:`check_shape`), and decodes
inside :func:`as_input_errors`, which turns whatever a decoding library raises into an
:class:`~lossctl.errors.InputError`. Every message is one line: ``<path>: <what is wrong>; <how to fix it>``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import Any

import numpy as np

from lossctl.errors import InputError, LossctlError, setting
from lossctl.io.budget import check_decoded_bytes, too_many_elements
from lossctl.io.formats import FORMAT_TITLE, HEAD_BYTES
from lossctl.io.text import brief

__all__ = ["as_input_errors", "check_dtype", "check_shape", "native_byte_order", "open_checked", "shape_text",
           "suffix_error"]


def shape_text(shape: tuple[int, ...]) -> str:
    """A shape for messages: ``"40x40x3"`` (``"scalar"`` for none)."""
    return "x".join(str(n) for n in shape) if shape else "scalar"


def open_checked(path: str, d: str) -> tuple[int, bytes]:
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
        raise InputError(f"{d}: cannot access the file ({brief(exc)}); check the path") from exc
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{d}: is not a regular file (a device, pipe or socket); pass a regular file")
    if info.st_size == 0:
        raise InputError(f"{d}: is empty (0 bytes); re-export it (an interrupted write leaves empty files)")
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except IsADirectoryError as exc:  # pragma: no cover - raced with the stat above
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it") from exc
    except (OSError, ValueError) as exc:
        raise InputError(f"{d}: cannot be read ({brief(exc)}); check the file and the disk") from exc
    return info.st_size, head


def check_dtype(d: str, dtype: np.dtype[Any] | None, *, label: str = "the array") -> None:
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


def check_shape(d: str, shape: tuple[int, ...], max_pixels: int | None, *, label: str = "the array",
                 itemsize: int = 0, budget: int | None = None, stored: int | None = None) -> None:
    """Refuse arrays with more than ``max_pixels`` elements (unless None), arrays whose ``itemsize``-byte
    elements would exceed the memory ``budget`` or (without one) decode from ``stored`` compressed bytes as a
    decompression bomb (when ``itemsize``: :func:`~lossctl.io.budget.check_decoded_bytes`), and arrays with no
    element."""
    n = 1
    for length in shape:
        n *= int(length)
    if itemsize:
        check_decoded_bytes(d, f"{label} ({shape_text(shape)})", n * itemsize, budget, stored)
    if max_pixels is not None and n > max_pixels:
        raise too_many_elements(d, f"{label} ({shape_text(shape)})", n, max_pixels)
    if n == 0:
        raise InputError(f"{d}: {label} is empty (shape {tuple(shape)}); re-export it with the data")


@contextlib.contextmanager
def as_input_errors(d: str, fmt: str) -> Iterator[None]:
    """Turn any exception raised while decoding into an :class:`InputError` naming the file (the decoder's own
    words, a library's, are not repeated to the user)."""
    title = FORMAT_TITLE[fmt]
    try:
        yield
    except LossctlError:
        raise
    except MemoryError as exc:
        raise InputError(f"{d}: not enough memory to load it as {title}; free memory, or lower "
                         f"{setting('max_memory')} to refuse such files") from exc
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except Exception as exc:  # noqa: BLE001 - every decoder failure becomes one readable message, in our words
        raise InputError(f"{d}: cannot decode it as {title}, the file is truncated or corrupt; re-export it as {title}"
                         ) from exc


def native_byte_order(array: np.ndarray) -> np.ndarray:
    """Return ``array`` in native byte order (Pillow exposes big-endian 16-bit modes as ``>u2``)."""
    if not array.dtype.isnative:
        return array.astype(array.dtype.newbyteorder("="))
    return array


def suffix_error(d: str, suffix: str, allowed: tuple[str, ...], what: str) -> InputError:
    """The error for a file whose suffix is none of ``allowed`` (``what`` names the files that take them)."""
    shown = f"suffix {suffix!r}" if suffix else "no suffix"
    return InputError(
        f"{d}: unsupported file type ({shown}); {what} must end in {', '.join(allowed)} (convert it to one of them)"
    )
