"""Reading an image, array or volume behind a URL (:mod:`lossctl.io.stores`), with the checks and messages of a
local file.

* Images and arrays (PNG, JPEG, TIFF, ``.npy``, ``.npz``) are read through a seekable file object that fetches
  ranged requests: the decoder reads the header first, the size is checked against the memory budget, and only
  then is the body fetched. An ``.npy`` is decoded into memory (a local one is memory-mapped), so its size is
  checked against the budget too.
* Volumes (NIfTI, NRRD, MetaImage with its data file) are copied to a temporary local folder (disk, not memory)
  and read as local files; their header is checked against the budget before they are decoded.

A transient store error makes the whole file be read again (:func:`lossctl.io.stores.with_retries`).
"""

from __future__ import annotations

import os
import tempfile
from typing import IO

import numpy as np

from lossctl.errors import InputError
from lossctl.io import stores, volumes
from lossctl.io.arrays import Loaded, _npy_header, read_npz
from lossctl.io.checks import as_input_errors, check_dtype, check_shape, shape_text, suffix_error
from lossctl.io.formats import FORMAT_OF_SUFFIX, HEAD_BYTES, SUPPORTED_SUFFIXES, check_content, file_suffix
from lossctl.io.images import read_pil, read_tiff

__all__ = ["load_url", "read_remote_table"]


def load_url(url: stores.Url, d: str, npz_key: str | None, max_pixels: int, npz_key_required: bool,
             max_memory: int | None) -> Loaded:
    """:func:`lossctl.io.arrays.load_array` for a URL (``d``: the URL as shown in messages)."""
    return stores.with_retries(lambda: _load(url, d, npz_key, max_pixels, npz_key_required, max_memory))


def _load(url: stores.Url, d: str, npz_key: str | None, max_pixels: int, npz_key_required: bool,
          max_memory: int | None) -> Loaded:
    given = str(url)
    found = stores.info(url)
    if found is not None and found.get("type") == "directory":
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
    if found is None:
        raise InputError(f"{d}: no such file; check the path and the current directory")
    if volumes.volume_format(url.name):
        return _load_volume(url, d, max_pixels, max_memory)
    suffix = file_suffix(url.name)
    fmt = FORMAT_OF_SUFFIX.get(suffix)
    if fmt is None or suffix not in SUPPORTED_SUFFIXES:
        if fmt in ("csv", "tsv"):
            raise InputError(
                f"{d}: a {suffix} table is not an image or array; pass a {', '.join(SUPPORTED_SUFFIXES)} file here"
            )
        raise suffix_error(d, suffix, SUPPORTED_SUFFIXES, "images and arrays")
    file_size = int(found.get("size") or 0)
    if file_size == 0:
        raise InputError(f"{d}: is empty (0 bytes); re-export it (an interrupted write leaves empty files)")
    mode: str | None = None
    with stores.open_read(url) as handle:
        head = handle.read(HEAD_BYTES)
        handle.seek(0)
        check_content(d, fmt, head)
        if fmt in ("png", "jpeg"):
            array, mode = read_pil(handle, d, fmt, max_pixels, max_memory)  # type: ignore[arg-type]
        elif fmt == "tiff":
            array, mode = read_tiff(handle, d, max_pixels, max_memory)  # type: ignore[arg-type]
        elif fmt == "npy":
            array = _read_npy(handle, d, file_size, max_pixels, max_memory)
        else:
            array = read_npz(handle, d, npz_key, max_pixels, npz_key_required, max_memory)
    check_dtype(d, array.dtype)
    check_shape(d, tuple(array.shape), None)
    return Loaded(array=array, path=given, format=fmt, mode=mode, lossy=fmt == "jpeg")


def read_remote_table(given: str, d: str) -> bytes:
    """The bytes of a CSV or TSV table behind a URL (tables are small: read whole), after the checks of a local
    file (absent, a folder, empty)."""
    url = stores.as_location(given)
    found = stores.info(url)
    if found is None:
        raise InputError(f"{d}: no such file; check the path and the current directory")
    if found.get("type") == "directory":
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
    if not found.get("size"):
        raise InputError(f"{d}: is empty (0 bytes); re-export it (an interrupted write leaves empty files)")
    return stores.read_bytes(url)


def _read_npy(handle: IO[bytes], d: str, file_size: int, max_pixels: int, budget: int | None) -> np.ndarray:
    """An ``.npy`` from a store: the header checked (dtype, size against the budget, length of the data), then
    the body fetched and decoded."""
    with as_input_errors(d, "npy"):
        shape, dtype = _npy_header(handle)
        data_offset = handle.tell()
        check_dtype(d, dtype)
        check_shape(d, shape, max_pixels, itemsize=dtype.itemsize, budget=budget)
        needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        have = file_size - data_offset
        if have < needed:
            raise InputError(
                f"{d}: the file is truncated ({have:,} bytes of data for a {shape_text(shape)} {dtype} array "
                f"that needs {needed:,}); re-export it"
            )
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)


def _load_volume(url: stores.Url, d: str, max_pixels: int, max_memory: int | None) -> Loaded:
    """A volume copied to a temporary folder (a MetaImage ``.mhd`` with its data file), read as a local file."""
    with tempfile.TemporaryDirectory(prefix="lossctl-") as folder:
        local = os.path.join(folder, url.name)
        stores.copy_to_local(url, local)
        if volumes.volume_format(url.name) == "metaimage":
            fields, _ = volumes._metaimage_header(local, d)
            source = fields.get("ElementDataFile", "LOCAL")
            if source not in ("LOCAL", "LIST") and "%" not in source and "/" not in source:
                data = url.parent / source
                if stores.exists(data):
                    stores.copy_to_local(data, os.path.join(folder, source))
        volume = volumes.read_volume(local, d, max_pixels, max_memory)
        check_dtype(d, volume.array.dtype)
        array = np.array(volume.array) if _file_backed(volume.array) else volume.array
    return Loaded(array=array, path=str(url), format=volume.format, mode=None, lossy=False,
                  spacing=volume.spacing, direction=volume.direction, origin=volume.origin, frame=volume.frame)


def _file_backed(array: np.ndarray) -> bool:
    """Whether ``array`` maps a file (which the temporary folder's removal would take away)."""
    import mmap

    base: object = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False
