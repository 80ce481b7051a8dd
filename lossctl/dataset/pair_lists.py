"""Lists of pairs: a text file (or standard input) that names each prediction and its ground truth.

One pair per line, ``PRED<TAB>GT`` or ``PRED,GT`` (a CSV row: quotes allowed), an optional third column naming
the image, and an optional header ``pred,gt[,name]``. Relative paths are read from the list's folder; without a
name column the name is the ground-truth path as written, without its suffix. The files are not looked at here
(:meth:`~lossctl.dataset.pairing.Pairing.without_absent_files` does that): a list is read into the same
:class:`~lossctl.dataset.pairing.Pairing` as two folders are.

A malformed line is a :class:`~lossctl.errors.UsageError` that names the list and the line number.
"""

from __future__ import annotations

import csv
import os
import posixpath
import unicodedata

from lossctl.dataset.pairing import Pair, Pairing
from lossctl.errors import UsageError
from lossctl.io import stores
from lossctl.io.formats import file_suffix
from lossctl.io.text import counted, display_path, read_text

__all__ = ["PAIRS_HEADER", "read_pairs", "read_pairs_file"]

#: The header line a list of pairs may start with (the name column is optional).
PAIRS_HEADER = ("pred", "gt", "name")


def _cells(line: str) -> list[str]:
    """The cells of one line: split at tabs when it has one, else read as a CSV row (quotes allowed)."""
    if "\t" in line:
        cells = line.split("\t")
    else:
        cells = next(csv.reader([line], skipinitialspace=True), [])
    return [cell.strip() for cell in cells]


def _holds_parent(name: str) -> bool:
    return ".." in name.replace("\\", "/").split("/")


def _default_name(gt: str) -> str:
    """The ground-truth path as written, without its final suffix (and without a leading ``./``)."""
    while gt.startswith("./"):
        gt = gt[2:]
    suffix = file_suffix(posixpath.basename(gt)) or posixpath.splitext(gt)[1]  # ``.nii.gz`` is one suffix
    root = gt[: len(gt) - len(suffix)]
    return unicodedata.normalize("NFC", root if suffix and root and not root.endswith("/") else gt)


def read_pairs(text: str, *, base: str | os.PathLike[str], source: str) -> Pairing:
    """Pairs from the lines of a list (a file's text, or standard input's).

    Parameters
    ----------
    text : str
        The list: one pair per line, ``PRED<TAB>GT[<TAB>NAME]`` or ``PRED,GT[,NAME]`` (a CSV row: quotes allowed),
        optionally after a header ``pred,gt`` or ``pred,gt,name``. Blank lines are skipped.
    base : str or os.PathLike
        The folder relative paths are read from (the list's folder, or the current folder for standard input).
    source : str
        How messages name the list (its path, or ``<stdin>``).

    Returns
    -------
    Pairing
        One pair per line, sorted by name; the files are not looked at (see
        :meth:`Pairing.without_absent_files`): a missing one is reported when it is read.

    Raises
    ------
    UsageError
        For a malformed line, naming its number: fewer than two or more than three cells, an empty path or name,
        a name holding a ``..`` folder, the same file on both sides, a name used twice. The list holding no pair.

    Examples
    --------
    >>> [p.name for p in read_pairs("pred,gt\\np/b.npy,g/b.png\\np/a.npy,g/a.png,first\\n", base="/d",
    ...                             source="l.csv").pairs]
    ['first', 'g/b']
    """
    root = stores.as_location(base)
    pairs: list[Pair] = []
    seen: dict[str, int] = {}
    first_row = True
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        cells = _cells(raw)
        where = f"{source} line {number}"
        if first_row and [cell.lower() for cell in cells] in (list(PAIRS_HEADER[:2]), list(PAIRS_HEADER)):
            first_row = False
            continue
        first_row = False
        if len(cells) < 2 or len(cells) > 3:
            raise UsageError(
                f"{where}: has {counted(len(cells), 'column')} ({display_path(raw.strip())[:60]!r}); write "
                "PRED<TAB>GT or PRED,GT, optionally followed by a name column"
            )
        pred, gt = cells[0], cells[1]
        if not pred or not gt:
            raise UsageError(f"{where}: the {'prediction' if not pred else 'ground-truth'} path is empty; give "
                             "both paths")
        if len(cells) == 3:
            name = unicodedata.normalize("NFC", cells[2])
            if not name:
                raise UsageError(f"{where}: the name column is empty; name the image or drop the column")
        else:
            name = _default_name(gt)
        if _holds_parent(name):
            raise UsageError(
                f"{where}: the image name {display_path(name)!r} holds '..'; give a name column without '..' "
                "(without one, the name is the ground-truth path as written)"
            )
        if name in seen:
            raise UsageError(f"{where}: the name {display_path(name)!r} is already used by line {seen[name]}; "
                             "give each pair its own name (a third column)")
        seen[name] = number
        pred_path, gt_path = stores.joined(root, pred), stores.joined(root, gt)
        if os.path.normpath(str(pred_path)) == os.path.normpath(str(gt_path)):
            raise UsageError(f"{where}: {display_path(pred)} is both the prediction and the ground truth, so it "
                             "would be scored against itself; give the ground-truth file")
        pairs.append(Pair(name=name, pred=pred_path, gt=gt_path, origin=where))
    if not pairs:
        raise UsageError(f"{source}: holds no pair; write one PRED<TAB>GT or PRED,GT line per pair")
    pairs.sort(key=lambda pair: pair.name)
    return Pairing(pairs=pairs, missing_gt=[], missing_pred=[])


def read_pairs_file(path: str | os.PathLike[str]) -> Pairing:
    """:func:`read_pairs` of a UTF-8 text file, with relative paths read from the file's folder.

    Raises
    ------
    InputError
        If the file cannot be read.
    UsageError
        If it is not UTF-8 text, or a line is malformed (see :func:`read_pairs`).
    """
    return read_pairs(read_text(path, "list of pairs"), base=stores.as_location(path).parent,
                      source=display_path(str(path)))
