"""The limits on what a reader decodes: the memory budget, and the deprecated limit on elements.

Every reader (PNG, JPEG, TIFF, ``.npz`` members, standard input, NIfTI, NRRD, MetaImage) learns the size of the
array it would decode from the file's header and refuses the file *before* decoding when:

* the decoded array would take more bytes than the memory budget (:func:`check_decoded_bytes`): ``max_memory``,
  by default :data:`DEFAULT_MEMORY_FRACTION` of the memory available when lossctl starts
  (:func:`default_memory_budget`);
* without an explicit budget, the file (or ``.npz`` member) is compressed and would decode to both more than
  :data:`BOMB_MIN_BYTES` and more than :data:`BOMB_RATIO` times its stored size: a decompression bomb (a small
  untrusted file that would take the machine), refused from its header; an explicit budget accepts it;
* it has more elements than ``max_pixels`` (:data:`DEFAULT_MAX_PIXELS`, deprecated: the budget is the limit that
  matters; :func:`too_many_elements` is its message).

Sizes are written and read in binary units (:func:`parse_memory`, :func:`memory_text`: K = 1024).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from lossctl.errors import InputError, UsageError, setting

__all__ = [
    "BOMB_MIN_BYTES",
    "BOMB_RATIO",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MEMORY_FRACTION",
    "check_decoded_bytes",
    "check_max_pixels",
    "default_memory_budget",
    "is_bomb",
    "memory_text",
    "parse_memory",
    "suggested_budget",
    "too_many_elements",
]

DEFAULT_MAX_PIXELS = 2**31
"""Images and volumes with more elements than this are refused (decompression bombs, mistaken inputs).
Deprecated in favour of the memory budget (``max_memory``), which is checked first."""

DEFAULT_MEMORY_FRACTION = 0.5
"""Without an explicit budget, one pair may use this fraction of the memory available when lossctl starts."""

BOMB_MIN_BYTES = 256 << 20
"""Without an explicit budget, a compressed file that decodes to more than this many bytes and more than
:data:`BOMB_RATIO` times its stored size is refused as a decompression bomb."""

BOMB_RATIO = 500
"""Decoded bytes per stored byte beyond which a large compressed file is taken for a decompression bomb (without
an explicit budget). Ordinary label images and volumes compress 10 to 300 times (a 512x512x1000 CT label volume
with a body outline: about 120 to 200 times); zeros compress about 1030 times under deflate, and a 1-bit image
decodes to 8 times that (one byte per pixel): a 40000x40000 1-bit PNG of 191 KiB decodes to 1.5 GiB, 8000
times its size."""

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
            raise UsageError(f"{setting('max_memory')} {text!r} is not a size; write bytes with an optional K, M "
                             "or G suffix, e.g. 512M or 4G") from None
    nbytes = int(value * _UNITS[unit])
    if not value > 0 or nbytes < 1:
        raise UsageError(f"{setting('max_memory')} {text!r} must be a positive size, e.g. 512M or 4G")
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


def suggested_budget(nbytes: int) -> str:
    """A ``max_memory`` setting comfortably above ``nbytes`` (a power of two, at least 1M): ``"2G"``."""
    return memory_text(1 << max(20, int(nbytes * 1.25 - 1).bit_length())).replace(" ", "").replace("iB", "")


def is_bomb(nbytes: int, stored: int | None) -> bool:
    """Whether ``nbytes`` decoded from ``stored`` compressed bytes is a decompression bomb: more than
    :data:`BOMB_MIN_BYTES` and more than :data:`BOMB_RATIO` times ``stored`` (None: not compressed).

    >>> is_bomb(40000 * 40000, 195_000), is_bomb(16384 * 16384, 2_000_000), is_bomb(200 << 20, 1000)
    (True, False, False)
    """
    return stored is not None and nbytes > BOMB_MIN_BYTES and nbytes > BOMB_RATIO * max(stored, 1)


def check_decoded_bytes(d: str, what: str, nbytes: int, budget: int | None, stored: int | None = None) -> None:
    """Refuse a file whose decoded array would take more than ``budget`` bytes, or (without an explicit budget) a
    decompression bomb (:func:`is_bomb`), from its header, before decoding.

    The one budget check of every reader (PNG, TIFF, .npz members, standard input, and the volume formats'
    readers): ``d`` is the displayed path, ``what`` describes the array (``"the image (40000x40000, 1-bit)"``),
    ``nbytes`` its size once decoded, ``stored`` the compressed bytes it decodes from (None: not compressed).
    ``budget`` None means :func:`default_memory_budget`.
    """
    if budget is None and is_bomb(nbytes, stored):
        assert stored is not None
        raise InputError(
            f"{d}: {what} decodes to {memory_text(nbytes)} from {memory_text(stored)} "
            f"({nbytes // max(stored, 1):,} times its size), the mark of a decompression bomb; if the file is "
            f"trusted accept it by passing {setting('max_memory')} explicitly "
            f"(at least {setting('max_memory', suggested_budget(nbytes))}), otherwise crop or downscale it"
        )
    limit = default_memory_budget() if budget is None else budget
    if nbytes > limit:
        raise InputError(
            f"{d}: {what} decodes to {memory_text(nbytes)}, more than the memory budget of {memory_text(limit)}; "
            f"if the file is trusted raise it ({setting('max_memory', suggested_budget(nbytes))}), otherwise crop "
            "or downscale it"
        )


def check_max_pixels(max_pixels: int) -> int:
    """``max_pixels`` as an int, or a :class:`UsageError` when it is not a positive integer."""
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels <= 0:
        raise UsageError(f"max_pixels must be a positive integer, got {max_pixels!r}; pass a number such as 2**31")
    return int(max_pixels)


def too_many_elements(d: str, what: str, n: int, max_pixels: int, unit: str = "elements") -> InputError:
    """The error for an array of ``n`` elements (``unit``), more than the ``max_pixels`` limit."""
    return InputError(
        f"{d}: {what} has {n:,} {unit}, more than the limit of {max_pixels:,}; "
        f"if the file is trusted raise {setting('max_pixels')}, otherwise crop or downscale it"
    )
