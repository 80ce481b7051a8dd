"""Reading one array from a file: the :class:`Loaded` record, NumPy ``.npy``/``.npz``, and :func:`load_array`,
which reads any image, array or volume file by its suffix.

This module knows nothing of losses or metrics: it turns a path into a NumPy array, or into an
:class:`~lossctl.errors.InputError` whose message is one line of the form ``<path>: <what is wrong>; <how to fix
it>``. No other exception escapes for a problem with a file (a missing, unreadable, empty, truncated, corrupt,
misnamed or oversized file, or one holding no numbers).

* images (one mask or one score map per file): PNG, JPEG and TIFF, read by :mod:`lossctl.io.images`;
* arrays: NumPy ``.npy`` (memory-mapped, never unpickled) and ``.npz`` (one array chosen by key; a member is
  decoded into memory, so its size is checked against the memory budget first);
* volumes: NIfTI, NRRD and MetaImage, with their voxel geometry, read by :mod:`lossctl.io.volumes`.

A path may be a URL (:mod:`lossctl.io.stores`): the file is read with the same checks and messages
(:func:`_load_url`).

Arrays are returned with their stored dtype (bool, unsigned/signed integers, floats); they are never converted
to float here. They may be read-only (memory maps, Pillow buffers): copy before writing into them.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from lossctl.errors import InputError, setting
from lossctl.io import stores, volumes
from lossctl.io.budget import DEFAULT_MAX_PIXELS, check_max_pixels
from lossctl.io.checks import (as_input_errors, check_dtype, check_shape, open_checked, shape_text,
                               suffix_error)
from lossctl.io.formats import FORMAT_OF_SUFFIX, HEAD_BYTES, SUPPORTED_SUFFIXES, check_content, file_suffix
from lossctl.io.images import pil_header, read_pil, read_tiff, tiff_header
from lossctl.io.text import display_path

__all__ = ["ArrayHeader", "Loaded", "array_header", "load_array", "read_npy_stream", "read_npz"]


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
    origin : tuple of float or None
        Volumes: the world position of the first voxel, when the file has one.
    frame : str or None
        Volumes: the anatomical frame of ``direction``'s world axes (``"RAS"``, ``"LAS"`` or ``"LPS"``:
        :data:`lossctl.io.volumes.FRAMES`), None when the header's world frame is not anatomical.
    """

    array: np.ndarray
    path: str
    format: str
    mode: str | None
    lossy: bool
    spacing: tuple[float, ...] | None = None
    direction: tuple[tuple[float, ...], ...] | None = None
    origin: tuple[float, ...] | None = None
    frame: str | None = None


@dataclass(frozen=True)
class ArrayHeader:
    """What a file's header says of the array :func:`load_array` would return, before anything is decoded:
    its ``shape``, the bytes of one element (``itemsize``) and whether it is memory-mapped (``mapped``: an
    ``.npy``, an uncompressed NIfTI; its pages count in a process's memory as they are read) or decoded into
    memory. ``floating``: the elements are floating-point numbers (None: unknown); ``stored``: the compressed
    bytes a decoded array decodes from (None: not compressed), for the decompression-bomb rule."""

    shape: tuple[int, ...]
    itemsize: int
    mapped: bool
    floating: bool | None = None
    stored: int | None = None

    @property
    def nbytes(self) -> int:
        n = self.itemsize
        for length in self.shape:
            n *= int(length)
        return n


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


def _check_npy_data(d: str, shape: tuple[int, ...], dtype: np.dtype[Any], have: int) -> None:
    """Refuse a .npy file whose data (``have`` bytes after the header) is shorter than its header says."""
    needed = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if have < needed:
        raise InputError(
            f"{d}: the file is truncated ({have:,} bytes of data for a {shape_text(shape)} {dtype} array "
            f"that needs {needed:,}); re-export it"
        )


def read_npy_file(path: str, d: str, file_size: int, max_pixels: int) -> np.ndarray:
    """Memory-map an ``.npy`` file after checking its header (dtype, size, length of the data)."""
    with as_input_errors(d, "npy"):
        with open(path, "rb") as handle:
            shape, dtype = _npy_header(handle)
            data_offset = handle.tell()
        check_dtype(d, dtype)
        check_shape(d, shape, max_pixels)
        _check_npy_data(d, shape, dtype, file_size - data_offset)
        return np.load(path, mmap_mode="r", allow_pickle=False)


def read_npy_stream(stream: IO[bytes], d: str, max_pixels: int, *, label: str = "the array",
                    budget: int | None = None, stored: int | None = None) -> np.ndarray:
    """Read an ``.npy`` from a stream (standard input, an ``.npz`` member) after checking its header (the array
    is decoded into memory, so its size is checked against the budget; ``stored``: the compressed size of an
    ``.npz`` member, for the decompression-bomb rule)."""
    shape, dtype = _npy_header(stream)
    check_dtype(d, dtype, label=label)
    check_shape(d, shape, max_pixels, label=label, itemsize=dtype.itemsize, budget=budget, stored=stored)
    stream.seek(0)
    return np.lib.format.read_array(stream, allow_pickle=False)


def read_npz(source: str | IO[bytes], d: str, npz_key: str | None, max_pixels: int,
             key_required: bool = True, budget: int | None = None) -> np.ndarray:
    """Read one array of an ``.npz`` archive: ``npz_key``, or the only one it holds (also when ``npz_key`` is
    missing from it, unless ``key_required``)."""
    with as_input_errors(d, "npz"), np.load(source, allow_pickle=False) as archive:
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise InputError(f"{d}: not a NumPy .npz archive; re-save it with np.savez")
        keys = list(archive.files)
        shown = ", ".join(keys[:10]) + (f" and {len(keys) - 10} more" if len(keys) > 10 else "")
        if npz_key is not None and npz_key in keys:
            key = npz_key
        elif npz_key is not None and (key_required or len(keys) != 1):
            if not keys:
                raise InputError(f"{d}: holds no arrays (no key {npz_key!r}); re-save it with np.savez")
            raise InputError(f"{d}: has no array named {npz_key!r} (it holds {shown}); pick one with "
                             f"{setting('npz_key')} ({setting('gt_npz_key')} for ground truth)")
        elif len(keys) == 1:
            key = keys[0]
        elif not keys:
            raise InputError(f"{d}: holds no arrays; re-save it with np.savez(path, name=array)")
        else:
            raise InputError(f"{d}: holds arrays {shown}; choose one with {setting('npz_key')} "
                             f"({setting('gt_npz_key')} for ground truth)")
        names = archive.zip.namelist()
        member = key + ".npy" if key + ".npy" in names else key
        if not member.endswith(".npy"):
            raise InputError(f"{d}: member {key!r} is not a NumPy array; re-save the archive with np.savez")
        info = archive.zip.getinfo(member)
        stored = info.compress_size if info.compress_type != zipfile.ZIP_STORED else None
        with archive.zip.open(member) as stream:
            return read_npy_stream(stream, d, max_pixels, label=f"array {key!r}", budget=budget, stored=stored)


def array_header(path: str | os.PathLike[str], *, npz_key: str | None = None,
                 npz_key_required: bool = True) -> ArrayHeader | None:
    """The :class:`ArrayHeader` of the array :func:`load_array` would read from ``path`` (the same format
    rules, the same ``.npz`` member), from the file's header alone; None when the header cannot be read (then
    :func:`load_array` says what is wrong with the file). Images and arrays are read through a binary stream."""
    given = str(path) if stores.is_url(path) else os.fsdecode(os.fspath(path))
    d = display_path(given)
    try:
        if stores.is_url(given):  # a remote volume is copied to a local file, whose loader checks it
            url = stores.as_location(given)
            fmt = None if volumes.volume_format(given) else FORMAT_OF_SUFFIX.get(url.suffix.lower())
            if fmt is None:
                return None
            size = stores.size(url)
            with stores.open_read(url, block_size=1 << 16, size=size) as stream:
                return _stream_header(stream, fmt, npz_key, npz_key_required, size)
        if volumes.volume_format(given):
            shape, itemsize, mapped, stored = volumes.volume_header(given, d)
            return ArrayHeader(shape, itemsize, mapped, None, stored)
        fmt = FORMAT_OF_SUFFIX.get(Path(given).suffix.lower())
        with open(given, "rb") as stream:
            return _stream_header(stream, fmt, npz_key, npz_key_required, os.path.getsize(given))
    except Exception:  # noqa: BLE001 - an unreadable header is load_array's to report, in its words
        return None


def _stream_header(stream: IO[bytes], fmt: str | None, npz_key: str | None, npz_key_required: bool,
                   size: int | None = None) -> ArrayHeader | None:
    """:func:`array_header` of an image or array read from a seekable binary ``stream`` (of ``size`` bytes, when
    known) in format ``fmt``."""
    if fmt in ("png", "jpeg"):
        shape, itemsize = pil_header(stream, fmt)
        return ArrayHeader(shape, itemsize, False, False, size)
    if fmt == "tiff":
        shape, dtype = tiff_header(stream)
        return ArrayHeader(shape, dtype.itemsize, False, dtype.kind == "f", size)
    if fmt == "npy":
        shape, dtype = _npy_header(stream)
        return ArrayHeader(shape, dtype.itemsize, True, dtype.kind == "f")
    if fmt == "npz":
        with zipfile.ZipFile(stream) as archive:
            members = [name.removesuffix(".npy") for name in archive.namelist()]
            if npz_key is not None and npz_key in members:
                key = npz_key
            elif len(members) == 1 and (npz_key is None or not npz_key_required):
                key = members[0]
            else:
                return None
            info = archive.getinfo(key + ".npy" if key + ".npy" in archive.namelist() else key)
            with archive.open(info) as member:
                shape, dtype = _npy_header(member)
        stored = info.compress_size if info.compress_type != zipfile.ZIP_STORED else None
        return ArrayHeader(shape, dtype.itemsize, False, dtype.kind == "f", stored)
    return None


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
        A ``.png``, ``.tif``/``.tiff``, ``.jpg``/``.jpeg``, ``.npy`` or ``.npz`` file, or a volume (``.nii``,
        ``.nii.gz``, ``.nrrd``, ``.mha``, ``.mhd``: :mod:`lossctl.io.volumes`); suffix case ignored. It may be
        a URL (``s3://...``, :mod:`lossctl.io.stores`), read with the same checks (:mod:`lossctl.io.remote`).
    npz_key : str, optional
        For an ``.npz`` holding several arrays, the one to read. Ignored for other formats.
    max_pixels : int, optional
        Refuse images and arrays with more elements than this, before decoding them (deprecated: the memory
        budget is the limit that matters).
    max_memory : int, optional
        The memory budget in bytes (None: :func:`~lossctl.io.budget.default_memory_budget`). A PNG, JPEG or TIFF image, an
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
    max_pixels = check_max_pixels(max_pixels)
    if stores.is_url(path):
        return _load_url(stores.as_location(path), display_path(str(path)), npz_key, max_pixels,
                        npz_key_required, max_memory)
    raw = os.fspath(path)
    given = os.fsdecode(raw)
    d = display_path(raw)
    if volumes.volume_format(given):
        open_checked(given, d)
        volume = volumes.read_volume(given, d, max_pixels, max_memory)
        check_dtype(d, volume.array.dtype)
        return Loaded(array=volume.array, path=given, format=volume.format, mode=None, lossy=False,
                      spacing=volume.spacing, direction=volume.direction, origin=volume.origin,
                      frame=volume.frame)
    suffix = Path(given).suffix.lower()
    fmt = FORMAT_OF_SUFFIX.get(suffix)
    if fmt is None or suffix not in SUPPORTED_SUFFIXES:
        if os.path.isdir(given):
            raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
        if not os.path.lexists(given):
            raise InputError(f"{d}: no such file; check the path and the current directory")
        if fmt in ("csv", "tsv"):
            raise InputError(
                f"{d}: a {suffix} table is not an image or array; pass a {', '.join(SUPPORTED_SUFFIXES)} file here"
            )
        raise suffix_error(d, suffix, SUPPORTED_SUFFIXES, "images and arrays")
    file_size, head = open_checked(given, d)
    check_content(d, fmt, head)

    mode: str | None = None
    if fmt in ("png", "jpeg"):
        array, mode = read_pil(given, d, fmt, max_pixels, max_memory, file_size)
    elif fmt == "tiff":
        array, mode = read_tiff(given, d, max_pixels, max_memory, file_size)
    elif fmt == "npy":
        array = read_npy_file(given, d, file_size, max_pixels)
    else:
        array = read_npz(given, d, npz_key, max_pixels, npz_key_required, max_memory)
    check_dtype(d, array.dtype)
    check_shape(d, tuple(array.shape), None)  # the size limit was checked before decoding
    return Loaded(array=array, path=given, format=fmt, mode=mode, lossy=fmt == "jpeg")


# -- files behind URLs (--------------------------------------------------------------------------------------

def _load_url(url: stores.Url, d: str, npz_key: str | None, max_pixels: int, npz_key_required: bool,
             max_memory: int | None) -> Loaded:
    """:func:`load_array` for a URL (``d``: the URL as shown in messages), with the checks and messages of a
    local file. Images and arrays are read through a seekable file object fetching ranged requests: the decoder
    reads the header, the size is checked against the budget, only then is the body fetched (an ``.npy`` is
    decoded into memory, a local one memory-mapped, so its size is checked against the budget too). Volumes
    are copied to a temporary local folder (disk, not memory; a MetaImage ``.mhd`` with its data file) and read
    as local files. A transient store error makes the whole file be read again."""
    return stores.with_retries(lambda: _load_from_url(url, d, npz_key, max_pixels, npz_key_required, max_memory))


def _load_from_url(url: stores.Url, d: str, npz_key: str | None, max_pixels: int, npz_key_required: bool,
          max_memory: int | None) -> Loaded:
    given = str(url)
    found = stores.info(url)
    if found is not None and found.get("type") == "directory":
        raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
    if found is None:
        raise InputError(f"{d}: no such file; check the path and the current directory")
    if volumes.volume_format(url.name):
        return _load_volume_from_url(url, d, max_pixels, max_memory)
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
    with stores.open_read(url, size=file_size) as handle:
        head = handle.read(HEAD_BYTES)
        handle.seek(0)
        check_content(d, fmt, head)
        if fmt in ("png", "jpeg"):
            array, mode = read_pil(handle, d, fmt, max_pixels, max_memory)  # type: ignore[arg-type]
        elif fmt == "tiff":
            array, mode = read_tiff(handle, d, max_pixels, max_memory)  # type: ignore[arg-type]
        elif fmt == "npy":
            array = _read_npy_from_url(handle, d, file_size, max_pixels, max_memory)
        else:
            array = read_npz(handle, d, npz_key, max_pixels, npz_key_required, max_memory)
    check_dtype(d, array.dtype)
    check_shape(d, tuple(array.shape), None)
    return Loaded(array=array, path=given, format=fmt, mode=mode, lossy=fmt == "jpeg")


def _read_npy_from_url(handle: IO[bytes], d: str, file_size: int, max_pixels: int, budget: int | None) -> np.ndarray:
    """An ``.npy`` from a store: the header checked (dtype, size against the budget, length of the data), then
    the body fetched and decoded."""
    with as_input_errors(d, "npy"):
        shape, dtype = _npy_header(handle)
        data_offset = handle.tell()
        check_dtype(d, dtype)
        check_shape(d, shape, max_pixels, itemsize=dtype.itemsize, budget=budget)
        _check_npy_data(d, shape, dtype, file_size - data_offset)
        handle.seek(0)
        return np.lib.format.read_array(handle, allow_pickle=False)


def _load_volume_from_url(url: stores.Url, d: str, max_pixels: int, max_memory: int | None) -> Loaded:
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
