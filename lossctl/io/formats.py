"""What a file is: the suffixes lossctl reads and the format each names, and what a file's leading bytes say it is.

A file is read as the format its suffix names (suffix case ignored; ``.nii.gz`` is one suffix). Its first
:data:`HEAD_BYTES` bytes are looked at before it is decoded (:func:`check_content`), so that a PNG saved as
``.npy``, an HTML error page or a Git LFS pointer saved under a data file's name is named for what it is, with
the suffix to rename it to.
"""

from __future__ import annotations

from pathlib import Path

from lossctl.errors import InputError

__all__ = [
    "ARRAY_SUFFIXES",
    "FORMAT_OF_SUFFIX",
    "FORMAT_TITLE",
    "HEAD_BYTES",
    "IMAGE_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "TABLE_SUFFIXES",
    "UNKNOWN_CONTENT",
    "VOLUME_SUFFIXES",
    "check_content",
    "describe_head",
    "file_suffix",
    "read_formats_text",
    "volume_format",
    "volume_suffix",
]

#: Volume suffixes, compound ones first (``.nii.gz`` is one suffix), and the format each names (read by
#: :mod:`lossctl.io.volumes`).
VOLUME_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")
_VOLUME_FORMAT = {".nii.gz": "nifti", ".nii": "nifti", ".nrrd": "nrrd", ".mha": "metaimage", ".mhd": "metaimage"}
TITLE = {"nifti": "NIfTI", "nrrd": "NRRD", "metaimage": "MetaImage"}

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg")
ARRAY_SUFFIXES = (".npy", ".npz")
TABLE_SUFFIXES = (".csv", ".tsv")
SUPPORTED_SUFFIXES = IMAGE_SUFFIXES + ARRAY_SUFFIXES + VOLUME_SUFFIXES
"""Suffixes :func:`load_array` reads (and that segmentation folders are scanned for); ``.nii.gz`` is one."""


def read_formats_text() -> str:
    """The suffixes :func:`~lossctl.io.arrays.load_array` reads, grouped, for a help text: ``images (.png,
    .tif/.tiff, .jpg/.jpeg), arrays (.npy, .npz) or volumes (NIfTI .nii/.nii.gz, NRRD .nrrd, MetaImage
    .mha/.mhd)`` (the suffixes of one format joined by ``/``; volumes with their format's name)."""
    def listed(suffixes: tuple[str, ...], titled: bool) -> str:
        by_format: dict[str, list[str]] = {}
        for suffix in suffixes:
            by_format.setdefault(FORMAT_OF_SUFFIX.get(suffix) or volume_format(suffix) or suffix,
                                 []).append(suffix)
        return ", ".join((f"{TITLE[fmt]} " if titled else "") + "/".join(sorted(same, key=len))
                         for fmt, same in by_format.items())

    return (f"images ({listed(IMAGE_SUFFIXES, False)}), arrays ({listed(ARRAY_SUFFIXES, False)}) or volumes "
            f"({listed(VOLUME_SUFFIXES, True)})")


def volume_suffix(name: str) -> str | None:
    """The volume suffix of a file name (``.nii.gz`` counts as one), or None."""
    lower = name.lower()
    for suffix in VOLUME_SUFFIXES:
        if lower.endswith(suffix):
            return suffix
    return None


def volume_format(name: str) -> str | None:
    suffix = volume_suffix(name)
    return _VOLUME_FORMAT[suffix] if suffix else None


def file_suffix(name: str) -> str:
    """The suffix of a file name, lower case, with ``.nii.gz`` as one suffix (else the final suffix)."""
    return volume_suffix(name) or Path(name).suffix.lower()


#: The format lossctl reads a file of each suffix as (volumes: :data:`VOLUME_SUFFIXES`).
FORMAT_OF_SUFFIX = {
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
#: How each format is named in messages.
FORMAT_TITLE = {
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
#: How many leading bytes :func:`describe_head` looks at.
HEAD_BYTES = 16
#: The descriptions of leading bytes that match no known format.
UNKNOWN_CONTENT = ("plain text", "unrecognised binary data")


def describe_head(head: bytes) -> tuple[str | None, str]:
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


def check_content(d: str, fmt: str, head: bytes) -> None:
    """Refuse a file whose leading bytes show it is not in the format its suffix claims."""
    found, description = describe_head(head)
    if found == fmt:
        return
    if fmt in ("csv", "tsv"):
        if found is not None:
            raise InputError(
                f"{d}: not a {FORMAT_TITLE[fmt]} table (the bytes are {description}); "
                f"rename it to {_SUFFIX_OF_FORMAT[found]}"
            )
        if description not in UNKNOWN_CONTENT:
            raise InputError(
                f"{d}: not a {FORMAT_TITLE[fmt]} table (the bytes are {description}); export the table as CSV"
            )
        return  # text is checked while parsing
    title = FORMAT_TITLE[fmt]
    if found is not None:
        raise InputError(
            f"{d}: not a {title} file (the bytes are {description}); "
            f"rename it to {_SUFFIX_OF_FORMAT[found]} or re-export it as {title}"
        )
    raise InputError(f"{d}: not a {title} file (the bytes are {description}); re-export it as {title}")
