"""Reading files: images (PNG, TIFF, JPEG), arrays (NPY, NPZ), tables (CSV, TSV) and volumes (NIfTI, NRRD,
MetaImage), each checked against the memory budget before it is decoded. Nothing here knows of classes, losses or
reports.

Modules, each importing only those above it in this list:

* :mod:`~lossctl.io.stores`: files behind URLs (``s3://``, ``gs://``, ``az://``, ``http(s)://``, ``file://``)
  through fsspec, opened with the run's storage options;
* :mod:`~lossctl.io.text`: paths and exceptions as one printable line; the UTF-8 text files that describe a run;
* :mod:`~lossctl.io.budget`: the memory budget and the (deprecated) element limit;
* :mod:`~lossctl.io.formats`: the suffixes read, the format each names, what leading bytes say a file is;
* :mod:`~lossctl.io.volumes`: NIfTI, NRRD and MetaImage with their voxel geometry;
* :mod:`~lossctl.io.checks`: the checks every reader makes and the one-line error contract;
* :mod:`~lossctl.io.images`: PNG and JPEG (Pillow), TIFF (tifffile);
* :mod:`~lossctl.io.arrays`: :class:`Loaded`, NPY and NPZ, and :func:`load_array` (any image, array or volume,
  local or behind a URL);
* :mod:`~lossctl.io.tables`: :func:`load_table` (CSV, TSV, NPY, NPZ, standard input) and :func:`read_table`
  (a CSV or TSV as a :class:`~lossctl.io.tables.TextTable` of named columns).

The names below are the package's interface (each imported from its module when first used); the modules' other
public names serve the package itself.
"""

from __future__ import annotations

import importlib
from typing import Any

#: The module of each name below: imported when the name is first used (``from lossctl.io import stores`` for an
#: option's parser must not import NumPy, which the arrays' module does, into ``lossctl --help``).
_MODULE_OF = {**dict.fromkeys(("ArrayHeader", "Loaded", "array_header", "load_array"), "arrays"),
              **dict.fromkeys(("DEFAULT_MAX_PIXELS", "DEFAULT_MEMORY_FRACTION", "default_memory_budget", "is_bomb",
                               "memory_text", "parse_memory", "suggested_budget"), "budget"),
              **dict.fromkeys(("ARRAY_SUFFIXES", "IMAGE_SUFFIXES", "SUPPORTED_SUFFIXES", "TABLE_SUFFIXES",
                               "file_suffix"), "formats"),
              **dict.fromkeys(("TextTable", "load_table", "read_table"), "tables"),
              **dict.fromkeys(("decode_text", "display_path", "read_text"), "text")}


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_MODULE_OF[name]}"), name)


__all__ = [
    "ARRAY_SUFFIXES",
    "ArrayHeader",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MEMORY_FRACTION",
    "IMAGE_SUFFIXES",
    "SUPPORTED_SUFFIXES",
    "TABLE_SUFFIXES",
    "Loaded",
    "TextTable",
    "array_header",
    "decode_text",
    "default_memory_budget",
    "display_path",
    "file_suffix",
    "is_bomb",
    "load_array",
    "load_table",
    "memory_text",
    "parse_memory",
    "read_table",
    "read_text",
    "suggested_budget",
]
