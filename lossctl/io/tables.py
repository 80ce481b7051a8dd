"""Reading tables of numbers (classification scores, labels, weights): CSV and TSV files, ``.npy``/``.npz``, and
standard input.

:func:`read_table` reads ``.csv`` and ``.tsv`` as a :class:`TextTable` (its header and its cells as text, for a
reader that picks columns by name), ``.npy`` and ``.npz`` through :func:`lossctl.io.arrays.load_array`, and
recognises what is piped on standard input (NPY, NPZ or CSV text) by its leading bytes; :func:`load_table` reads
every column of a text table as float64 (one column: shape (N,), else (N, C)). Every problem is one
:class:`~lossctl.errors.InputError` line that names the file and, for a bad cell, its row and column.

**The header rule.** Blank lines and lines starting with ``#`` are skipped; the first remaining row is the header
when one of its cells is not a number (``p_cat``, ``label``, an empty cell), else it is data and the columns are
named by their 1-based position (``1``, ``2``, ...). A header of numbers only (``0,1,2``) is therefore read as data.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lossctl.errors import InputError
from lossctl.io import stores
from lossctl.io.arrays import Loaded, load_array, read_npy_stream, read_npz
from lossctl.io.budget import DEFAULT_MAX_PIXELS, check_max_pixels
from lossctl.io.checks import as_input_errors, check_dtype, check_shape, open_checked, suffix_error
from lossctl.io.formats import (ARRAY_SUFFIXES, FORMAT_OF_SUFFIX, HEAD_BYTES, TABLE_SUFFIXES, UNKNOWN_CONTENT,
                                check_content, describe_head)
from lossctl.io.stores import is_url
from lossctl.io.text import brief, display_path, shorten

__all__ = ["STDIN_NAME", "TextTable", "load_table", "parse_number", "read_table"]

STDIN_NAME = "<stdin>"
"""How standard input is named in error messages."""


def parse_number(cell: str) -> float | None:
    """Parse one cell as a float (Python syntax, no digit-group underscores); None if it is not a number."""
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


@dataclass(frozen=True)
class TextTable:
    """A CSV or TSV table as text: its header (see the module's header rule) and its rows of stripped cells.

    Attributes
    ----------
    source : str
        How messages name the table: its path as printable text, or ``<stdin>``.
    format : str
        ``"csv"`` or ``"tsv"``.
    header : tuple of str or None
        The header row's names (an empty string for an empty header cell), or None when the first row is data.
    rows : tuple of (int, tuple of str)
        Each data row's line number in the file (1-based, blank and comment lines counted) and its cells; every
        row has :attr:`width` cells.
    """

    source: str
    format: str
    header: tuple[str, ...] | None
    rows: tuple[tuple[int, tuple[str, ...]], ...]

    @property
    def width(self) -> int:
        """The number of columns."""
        return len(self.rows[0][1])

    @property
    def columns(self) -> tuple[str, ...]:
        """Each column's name: the header's, or its 1-based position (``"1"``, ``"2"``...) without a header."""
        return self.header if self.header is not None else tuple(str(i) for i in range(1, self.width + 1))

    def column_text(self, index: int) -> str:
        """A column as messages name it: ``column 3 (p_cat)``, or ``column 3`` without a header name."""
        name = self.header[index] if self.header is not None else ""
        return f"column {index + 1} ({shorten(name)})" if name else f"column {index + 1}"

    def cells(self, index: int) -> list[str]:
        """The cells of column ``index`` (0-based), one per row."""
        return [cells[index] for _, cells in self.rows]

    def numbers(self, indices: Sequence[int], hint: Callable[[int], str | None] | None = None) -> np.ndarray:
        """Columns ``indices`` (0-based) as float64 of shape (N, len(indices)).

        A cell that is not a number raises an :class:`InputError` naming its row and column; ``hint(index)``
        may give the fix for a column (None: the generic fix, from what the cell looks like).
        """
        values = np.empty((len(self.rows), len(indices)), dtype=np.float64)
        for out, index in enumerate(indices):
            for row, (number, cells) in enumerate(self.rows):
                value = parse_number(cells[index])
                if value is None:
                    raise InputError(self._not_a_number(number, index, cells[index], hint))
                values[row, out] = value
        return values

    def _not_a_number(self, number: int, index: int, cell: str, hint: Callable[[int], str | None] | None) -> str:
        where = f"{self.source}: row {number}, {self.column_text(index)}"
        if not cell:
            return f"{where} is empty; fill in a number (nan for a missing value)"
        fix = hint(index) if hint is not None else None
        if fix is None:
            fix = "fix that cell (nan for a missing value)"
            parts = cell.split()
            if len(parts) > 1 and all(parse_number(part) is not None for part in parts):
                fix = "separate columns with commas (or tabs in a .tsv), not spaces"
            elif "," in cell and self.format == "tsv":
                fix = "use '.' as the decimal mark, or save the table as CSV"
        return f"{where} is not a number ({shorten(cell)!r}); {fix}"


def read_table(
    path: str | os.PathLike[str] | None,
    *,
    stdin_bytes: bytes | None = None,
    npz_key: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> TextTable | Loaded:
    """Read a table from a file or from standard input: CSV or TSV text as a :class:`TextTable`, an array file
    (or NPY/NPZ bytes on standard input) as a :class:`Loaded` array.

    ``.csv`` and ``.tsv`` files are comma-separated (tab-separated for ``.tsv``, or when the file uses tabs);
    the first row is a header by the module's header rule. Parameters as :func:`load_table`.

    Raises
    ------
    InputError
        For every problem with the input (absent, unreadable, not UTF-8 text, rows of different widths).

    Examples
    --------
    >>> table = read_table(None, stdin_bytes=b"id,label,p_cat\\na1,1,0.9\\n")
    >>> table.columns, table.rows
    (('id', 'label', 'p_cat'), ((2, ('a1', '1', '0.9')),))
    """
    max_pixels = check_max_pixels(max_pixels)
    if path is None or os.fspath(path) in ("-", b"-"):
        return _read_stdin(stdin_bytes, npz_key, max_pixels)
    raw = os.fspath(path)
    given = os.fsdecode(raw)
    d = display_path(raw)
    suffix = Path(given).suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return load_array(given, npz_key=npz_key, max_pixels=max_pixels)
    if suffix not in TABLE_SUFFIXES:
        if is_url(given):
            raise suffix_error(d, suffix, TABLE_SUFFIXES + ARRAY_SUFFIXES, "tables")
        if os.path.isdir(given):
            raise InputError(f"{d}: is a directory, not a file; pass one of the files inside it")
        if not os.path.lexists(given):
            raise InputError(f"{d}: no such file; check the path and the current directory")
        raise suffix_error(d, suffix, TABLE_SUFFIXES + ARRAY_SUFFIXES, "tables")
    fmt = FORMAT_OF_SUFFIX[suffix]
    if is_url(given):  # a table in a store: read whole (tables are small), then checked as a local one
        data = read_remote_table(given, d)
        check_content(d, fmt, data[:HEAD_BYTES])
        return _parse_text_table(data, d, tab=fmt == "tsv")
    _size, head = open_checked(given, d)
    check_content(d, fmt, head)
    try:
        with open(given, "rb") as handle:
            data = handle.read()
    except MemoryError as exc:
        raise InputError(f"{d}: the table is too large to read into memory; split it into smaller files") from exc
    except PermissionError as exc:
        raise InputError(f"{d}: permission denied; make the file readable (chmod u+r)") from exc
    except OSError as exc:
        raise InputError(f"{d}: cannot be read ({brief(exc)}); check the file and the disk") from exc
    return _parse_text_table(data, d, tab=fmt == "tsv")


def load_table(
    path: str | os.PathLike[str] | None,
    *,
    stdin_bytes: bytes | None = None,
    npz_key: str | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Loaded:
    """Read a table of numbers (classification scores, labels) from a file or from standard input.

    ``.csv`` and ``.tsv`` files are parsed as text: comma-separated (tab-separated for ``.tsv``, or when the
    file uses tabs), an optional header row (the module's header rule: a first row that is not all numbers),
    blank lines and lines starting with ``#`` ignored. ``.npy`` and ``.npz`` files are read by :func:`load_array`.

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
    table = read_table(path, stdin_bytes=stdin_bytes, npz_key=npz_key, max_pixels=max_pixels)
    if isinstance(table, Loaded):
        return table
    values = table.numbers(range(table.width))
    array = values[:, 0].copy() if table.width == 1 else values
    given = "-" if path is None or os.fspath(path) in ("-", b"-") else os.fsdecode(os.fspath(path))
    return Loaded(array=array, path=given, format=table.format, mode=None, lossy=False)


def _read_stdin(data: bytes | None, npz_key: str | None, max_pixels: int) -> TextTable | Loaded:
    d = STDIN_NAME
    if not data:
        raise InputError(f"{d}: no data on standard input; pipe a CSV, TSV or .npy file in, or pass a file path")
    found, description = describe_head(data[:HEAD_BYTES])
    if found == "npy":
        with as_input_errors(d, "npy"):
            array = read_npy_stream(io.BytesIO(data), d, max_pixels)
        fmt = "npy"
    elif found == "npz":
        array = read_npz(io.BytesIO(data), d, npz_key, max_pixels)
        fmt = "npz"
    elif found is not None or description not in UNKNOWN_CONTENT:
        raise InputError(
            f"{d}: standard input holds {description}, not a table; pipe a CSV, TSV or .npy file instead"
        )
    else:
        return _parse_text_table(data, d, tab=False)
    check_dtype(d, array.dtype)
    check_shape(d, tuple(array.shape), max_pixels)
    return Loaded(array=array, path="-", format=fmt, mode=None, lossy=False)


def _parse_text_table(data: bytes, d: str, *, tab: bool) -> TextTable:
    """Split CSV/TSV bytes into a :class:`TextTable` (header by the module's rule; rows of one width)."""
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

    rows: list[tuple[int, tuple[str, ...]]] = []
    for number, line in content:
        try:
            cells = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
        except csv.Error as exc:  # e.g. a field beyond the csv module's size limit: said in our words
            raise InputError(f"{d}: line {number} cannot be read as CSV; re-export the table") from exc
        rows.append((number, tuple(cell.strip() for cell in cells)))

    header: tuple[str, ...] | None = None
    first_number, first_cells = rows[0]
    if any(parse_number(cell) is None for cell in first_cells):
        header = first_cells
        rows = rows[1:]
        if not rows:
            raise InputError(
                f"{d}: holds only a header row (line {first_number}), no numbers; export the table with its rows"
            )

    width = len(rows[0][1])
    width_row = rows[0][0]
    for number, cells in rows:
        if len(cells) != width:
            raise InputError(
                f"{d}: row {number} has {len(cells)} columns but row {width_row} has {width}; "
                "give every row the same number of columns"
            )
    if header is not None and len(header) != width:
        raise InputError(
            f"{d}: the header (line {first_number}) names {len(header)} columns but row {width_row} has {width}; "
            "give every column one name in the header"
        )
    return TextTable(source=d, format=fmt, header=header, rows=tuple(rows))


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
