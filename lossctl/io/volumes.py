"""Reading medical volumes with their voxel geometry: NIfTI, NRRD and MetaImage.

Each reader returns the array exactly as that format's standard reader orders it, and the spacing in the same
axis order:

* NIfTI (``.nii``, ``.nii.gz``) through nibabel: ``img.dataobj`` (its data order, the stored dtype when the
  header has no scaling), spacing ``header.get_zooms()``, orientation the direction cosines of the affine (in
  NIfTI's RAS world frame);
* NRRD (``.nrrd``) through pynrrd: ``nrrd.read`` with its default (Fortran, x-first) order, spacing from
  ``space directions`` (the norm of each axis's vector) or ``spacings``, orientation the normalised directions
  (in the frame its ``space`` field names);
* MetaImage (``.mha``, ``.mhd`` + its data file) through a small reader of ours: the array as SimpleITK's
  ``GetArrayFromImage`` gives it (z, y, x), the header's ``ElementSpacing`` (x, y, z) reversed to match, the
  ``TransformMatrix`` (direction) reversed likewise (in ITK's LPS world frame). MetaImage is a text header and raw (optionally zlib)
  data, so a page of code reads it; SimpleITK would add a 50 MB binary wheel for it.

The decoded size is checked from the header before any data is read (:func:`_check_header_shape`: the
``max_pixels`` elements and the memory budget of :mod:`lossctl.io.budget`). Every problem becomes an :class:`~lossctl.errors.InputError` of one line: ``<path>: <problem>; <fix>``.
"""

from __future__ import annotations

import logging
import math
import os
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from lossctl.errors import InputError, LossctlError, setting
from lossctl.io.budget import check_decoded_bytes
from lossctl.io.formats import TITLE, VOLUME_SUFFIXES, volume_format, volume_suffix
#: The anatomical world frames a header may state, by the direction each world axis points to: R(ight) or
#: L(eft), A(nterior) or P(osterior), S(uperior). NIfTI's is RAS, MetaImage's (ITK's) LPS, NRRD's its ``space``.
FRAMES = ("RAS", "LAS", "LPS")
_NRRD_SPACES = {"right-anterior-superior": "RAS", "ras": "RAS", "left-anterior-superior": "LAS", "las": "LAS",
                "left-posterior-superior": "LPS", "lps": "LPS"}


@dataclass(frozen=True)
class Volume:
    """A volume's data and geometry: ``spacing[i]`` is the physical size along array axis ``i`` (None when the
    file has none), ``direction`` the unit direction of each spatial array axis in the format's world frame,
    ``origin`` the world position of the first voxel (None when the file has none), ``frame`` the anatomical
    meaning of the world axes (:data:`FRAMES`: ``"RAS"``: x toward the patient's right, y anterior, z superior), None
    when the format's world frame is not anatomical (an NRRD ``space`` such as ``scanner-xyz``) or unknown."""

    array: np.ndarray
    format: str
    spacing: tuple[float, ...] | None
    direction: tuple[tuple[float, ...], ...] | None
    origin: tuple[float, ...] | None = None
    frame: str | None = None


def _check_header_shape(d: str, shape: tuple[int, ...], itemsize: int, max_pixels: int,
                        budget: int | None = None, stored: int | None = None) -> None:
    """Refuse, from the shape its header declares, a volume with more than ``max_pixels`` elements or none, or
    one that decodes to more than the memory ``budget`` (:func:`lossctl.io.budget.check_decoded_bytes`, None:
    the default; ``stored``: the size of compressed data, for the decompression-bomb rule)."""
    n = math.prod(int(s) for s in shape)
    if n > max_pixels:
        raise InputError(f"{d}: the header declares {'x'.join(map(str, shape))} = {n:,} voxels "
                         f"({n * itemsize / 2**20:,.0f} MiB decoded), more than the limit of {max_pixels:,}; "
                         f"if the file is trusted raise {setting('max_pixels')}, otherwise crop or downsample it")
    if n == 0:
        raise InputError(f"{d}: the header declares an empty volume (shape {tuple(shape)}); re-export it")
    check_decoded_bytes(d, f"the volume ({'x'.join(map(str, shape))}, {itemsize} byte(s) per voxel)", n * itemsize,
                        budget, stored)


def _check_spacing(d: str, spacing: tuple[float, ...]) -> tuple[float, ...]:
    for i, s in enumerate(spacing):
        if not (math.isfinite(s) and s > 0):
            raise InputError(f"{d}: voxel spacing {s:g} on axis {i} (of {', '.join(f'{v:g}' for v in spacing)}) "
                             f"is not a positive number; fix the header, or pass {setting('spacing')} to override it")
    return spacing


def _unit_rows(d: str, vectors: np.ndarray) -> tuple[tuple[float, ...], ...]:
    norms = np.linalg.norm(vectors, axis=1)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise InputError(f"{d}: the header's orientation has a zero or non-finite axis; fix the header")
    return tuple(tuple(float(v) for v in row) for row in vectors / norms[:, None])


def read_volume(path: str, d: str, max_pixels: int, budget: int | None = None) -> Volume:
    """Read a NIfTI, NRRD or MetaImage file (format from the suffix); ``budget``: the memory budget in bytes."""
    fmt = volume_format(path)
    try:
        if fmt == "nifti":
            return _read_nifti(path, d, max_pixels, budget)
        if fmt == "nrrd":
            return _read_nrrd(path, d, max_pixels, budget)
        if fmt == "metaimage":
            return _read_metaimage(path, d, max_pixels, budget)
    except LossctlError:
        raise
    except MemoryError:
        raise InputError(f"{d}: not enough memory to decode it; free memory, or lower {setting('max_pixels')}"
                         ) from None
    except Exception:  # noqa: BLE001 - every decoder failure becomes one readable message
        title = TITLE[fmt or "nifti"]
        raise InputError(f"{d}: cannot read it as {title}, the file is truncated or corrupt; re-export it") from None
    raise InputError(f"{d}: not a volume file; use .nii, .nii.gz, .nrrd, .mha or .mhd")


def volume_header(path: str, d: str) -> tuple[tuple[int, ...], int, bool, int | None]:
    """(shape, bytes per voxel, memory-mapped, compressed size) of the array :func:`read_volume` returns, from
    the header alone: an uncompressed, unscaled NIfTI is memory-mapped; every other volume is decoded into
    memory. The compressed size (what the decompression-bomb rule weighs) is the file's for a ``.nii.gz``, a
    gzip or bzip2 NRRD and a compressed MetaImage, else None."""
    fmt = volume_format(path)
    if fmt == "nifti":
        import nibabel

        image = nibabel.load(path)
        slope, inter = image.header.get_slope_inter()
        scaled = not (slope in (None, 1.0) and inter in (None, 0.0))
        itemsize = 8 if scaled else image.header.get_data_dtype().itemsize
        compressed = path.lower().endswith(".gz")
        return (tuple(int(s) for s in image.shape), itemsize, not scaled and not compressed,
                os.path.getsize(path) if compressed else None)
    if fmt == "nrrd":
        import nrrd

        with open(path, "rb") as handle:
            header = nrrd.read_header(handle)
        compressed = str(header.get("encoding", "raw")).lower() in ("gzip", "gz", "bzip2", "bz2")
        return (tuple(int(s) for s in header["sizes"]), np.dtype(nrrd.reader._determine_datatype(header)).itemsize,
                False, os.path.getsize(path) if compressed else None)
    fields, _offset = _metaimage_header(path, d)
    dims = _numbers(d, fields, "DimSize", int)
    channels = int(fields.get("ElementNumberOfChannels", "1"))
    itemsize = np.dtype(_MET_TYPES[fields.get("ElementType", "")]).itemsize
    compressed = fields.get("CompressedData", "False").lower() == "true"
    return (tuple(reversed(dims)) + ((channels,) if channels > 1 else ()), itemsize, False,
            os.path.getsize(path) if compressed else None)


# --------------------------------------------------------------------------------------------------------------
# NIfTI
# --------------------------------------------------------------------------------------------------------------


def _read_nifti(path: str, d: str, max_pixels: int, budget: int | None) -> Volume:
    import gzip

    import nibabel

    logging.getLogger("nibabel.global").setLevel(logging.ERROR)  # header fixes are ours to report, not its log's
    try:
        image = nibabel.load(path)
    except (nibabel.filebasedimages.ImageFileError, EOFError, OSError, ValueError, gzip.BadGzipFile):
        raise InputError(f"{d}: cannot read its NIfTI header, the file is truncated or not NIfTI; re-export it"
                         ) from None
    header = image.header
    shape = tuple(int(s) for s in image.shape)
    dtype = header.get_data_dtype()
    compressed = path.lower().endswith(".gz")
    _check_header_shape(d, shape, dtype.itemsize, max_pixels, budget, os.path.getsize(path) if compressed else None)
    if not compressed:  # an uncompressed file must hold every voxel the header declares
        needed = int(getattr(image.dataobj, "offset", 0)) + math.prod(shape) * dtype.itemsize
        have = os.path.getsize(path)
        if have < needed:
            raise InputError(f"{d}: the header declares {'x'.join(map(str, shape))} {dtype} voxels "
                             f"({needed:,} bytes with the header) but the file has {have:,} bytes; the header "
                             "does not match the data (or the file is truncated): re-export it")
    try:
        array = np.asanyarray(image.dataobj)
    except (EOFError, OSError, ValueError, zlib.error) as exc:
        raise InputError(f"{d}: the data ends before the {'x'.join(map(str, shape))} voxels its header declares "
                         f"(truncated or header not matching the data: {type(exc).__name__}); re-export it"
                         ) from None
    array = np.asarray(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    # the stored pixdim: nibabel's checked header replaces a zero spacing by 1 (and logs it)
    from nibabel.openers import ImageOpener

    with ImageOpener(path) as handle:
        stored = type(header).from_fileobj(handle, check=False)
    zooms = tuple(float(z) for z in np.asarray(stored["pixdim"], dtype=np.float64)[1:1 + len(shape)])
    spatial = min(len(shape), 3)
    spacing = _check_spacing(d, zooms[:spatial]) if spatial else None
    affine = np.asarray(image.affine, dtype=np.float64)
    direction = _unit_rows(d, affine[:3, :spatial].T) if spatial else None
    return Volume(array, "nifti", spacing, direction, _origin(affine[:3, 3]), "RAS")


# --------------------------------------------------------------------------------------------------------------
# NRRD
# --------------------------------------------------------------------------------------------------------------


def _read_nrrd(path: str, d: str, max_pixels: int, budget: int | None) -> Volume:
    import nrrd

    with open(path, "rb") as handle:
        try:
            header = nrrd.read_header(handle)
        except Exception:  # noqa: BLE001 - pynrrd raises its own NRRDError and others
            raise InputError(f"{d}: cannot read its NRRD header, the file is truncated or not NRRD; re-export it"
                             ) from None
        sizes = tuple(int(s) for s in header["sizes"])
        dtype = np.dtype(nrrd.reader._determine_datatype(header))
        compressed = str(header.get("encoding", "raw")).lower() in ("gzip", "gz", "bzip2", "bz2")
        stored = os.path.getsize(path) if compressed and "data file" not in header and "datafile" not in header \
            else None
        _check_header_shape(d, sizes, dtype.itemsize, max_pixels, budget, stored)
        try:
            array = nrrd.read_data(header, handle, path)
        except Exception:  # noqa: BLE001
            raise InputError(f"{d}: the data does not match the {'x'.join(map(str, sizes))} {dtype} volume its "
                             "header declares (truncated or corrupt); re-export it") from None
    array = np.asarray(array)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    spacing = direction = None
    directions = header.get("space directions")
    if directions is not None:
        rows = [np.asarray(r, dtype=np.float64) for r in directions
                if r is not None and not (isinstance(r, float) and math.isnan(r))]
        rows = [r for r in rows if r.size and not np.all(np.isnan(r))]
        if rows:
            vectors = np.stack(rows)
            spacing = _check_spacing(d, tuple(float(n) for n in np.linalg.norm(vectors, axis=1)))
            direction = _unit_rows(d, vectors)
    elif "spacings" in header:
        values = tuple(float(s) for s in header["spacings"])
        spatial = tuple(s for s in values if not math.isnan(s))
        spacing = _check_spacing(d, spatial) if spatial else None
    origin = header.get("space origin")
    frame = _NRRD_SPACES.get(str(header.get("space", "")).lower().removesuffix("-time"))
    return Volume(array, "nrrd", spacing, direction, _origin(origin) if origin is not None else None, frame)


# --------------------------------------------------------------------------------------------------------------
# MetaImage
# --------------------------------------------------------------------------------------------------------------

_MET_TYPES = {
    "MET_CHAR": "i1", "MET_UCHAR": "u1", "MET_SHORT": "i2", "MET_USHORT": "u2", "MET_INT": "i4",
    "MET_UINT": "u4", "MET_LONG": "i4", "MET_ULONG": "u4", "MET_LONG_LONG": "i8", "MET_ULONG_LONG": "u8",
    "MET_FLOAT": "f4", "MET_DOUBLE": "f8",
}
_HEADER_LIMIT = 1 << 16


def _metaimage_header(path: str, d: str) -> tuple[dict[str, str], int]:
    """The header's key = value pairs (keys as written) and the byte offset where the data starts."""
    with open(path, "rb") as handle:
        head = handle.read(_HEADER_LIMIT)
    fields: dict[str, str] = {}
    offset = 0
    for raw in head.splitlines(keepends=True):
        offset += len(raw)
        line = raw.decode("latin-1").strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InputError(f"{d}: line {line[:40]!r} of the MetaImage header is not KEY = VALUE; re-export it")
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            return fields, offset
    raise InputError(f"{d}: the MetaImage header has no ElementDataFile line (not a MetaImage file, or "
                     "truncated); re-export it")


def _numbers(d: str, fields: dict[str, str], key: str, kind: type = float) -> list[Any]:
    try:
        return [kind(v) for v in fields[key].split()]
    except (KeyError, ValueError):
        raise InputError(f"{d}: the MetaImage header's {key} is missing or not numbers; re-export it") from None


def _read_metaimage(path: str, d: str, max_pixels: int, budget: int | None) -> Volume:
    fields, offset = _metaimage_header(path, d)
    dims = _numbers(d, fields, "DimSize", int)
    ndims = int(fields.get("NDims", len(dims)))
    if len(dims) != ndims:
        raise InputError(f"{d}: NDims = {ndims} but DimSize has {len(dims)} values; fix the header")
    element = fields.get("ElementType", "")
    if element not in _MET_TYPES:
        raise InputError(f"{d}: unsupported MetaImage ElementType {element!r}; re-save it as integers or floats")
    channels = int(fields.get("ElementNumberOfChannels", "1"))
    msb = (fields.get("BinaryDataByteOrderMSB") or fields.get("ElementByteOrderMSB") or "False").lower() == "true"
    dtype = np.dtype((">" if msb else "<") + _MET_TYPES[element])
    shape = tuple(reversed(dims)) + ((channels,) if channels > 1 else ())
    source = fields["ElementDataFile"]
    stored = None
    if fields.get("CompressedData", "False").lower() == "true":  # the bytes the data decodes from
        beside = os.path.join(os.path.dirname(path), source)
        stored = os.path.getsize(path if source == "LOCAL" or not os.path.isfile(beside) else beside)
    _check_header_shape(d, shape, dtype.itemsize, max_pixels, budget, stored)
    if source == "LOCAL":
        with open(path, "rb") as handle:
            handle.seek(int(fields.get("HeaderSize", offset)) if fields.get("HeaderSize", "-1") != "-1" else offset)
            data = handle.read()
    elif source in ("LIST",) or "%" in source:
        raise InputError(f"{d}: MetaImage data split over several files ({source}) is not supported; "
                         "re-save it as one .mha")
    else:
        data_path = os.path.join(os.path.dirname(path), source)
        if not os.path.isfile(data_path):
            raise InputError(f"{d}: its data file {source} is missing (expected beside the header); copy it too")
        with open(data_path, "rb") as handle:
            data = handle.read()
    needed = math.prod(shape) * dtype.itemsize
    if fields.get("CompressedData", "False").lower() == "true":
        try:
            data = zlib.decompressobj().decompress(data, needed)
        except zlib.error:
            raise InputError(f"{d}: the compressed MetaImage data is corrupt; re-export it") from None
    if len(data) < needed:
        raise InputError(f"{d}: the header declares {'x'.join(map(str, dims))} {element} voxels ({needed:,} bytes) "
                         f"but the data has {len(data):,}; the file is truncated or the header does not match the "
                         "data: re-export it")
    array = np.frombuffer(data, dtype=dtype, count=math.prod(shape)).reshape(shape)
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    spacing = None
    if "ElementSpacing" in fields:
        spacing = _check_spacing(d, tuple(reversed(_numbers(d, fields, "ElementSpacing"))))
    direction = None
    if "TransformMatrix" in fields:
        matrix = np.asarray(_numbers(d, fields, "TransformMatrix"), dtype=np.float64)
        if matrix.size == ndims * ndims:
            # MetaIO writes the direction matrix column by column: row k is the world direction of ITK axis k
            # (x, y, z); the array's axis i is ITK axis n-1-i
            axes = matrix.reshape(ndims, ndims)
            direction = _unit_rows(d, axes[::-1])
    key = next((k for k in ("Offset", "Origin", "Position") if k in fields), None)
    origin = _origin(_numbers(d, fields, key)) if key else None
    return Volume(array, "metaimage", spacing, direction, origin, "LPS")


def _origin(values: Any) -> tuple[float, ...] | None:
    """A header's origin as floats (None when it is not finite numbers: the origin is only ever compared)."""
    try:
        origin = tuple(float(v) for v in np.asarray(values, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        return None
    return origin if all(math.isfinite(v) for v in origin) else None


__all__ = ["VOLUME_SUFFIXES", "Volume", "read_volume", "volume_format", "volume_header", "volume_suffix"]
