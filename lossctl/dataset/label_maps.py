"""Label maps: rewrite the values stored in label masks into the classes that are evaluated.

Datasets store values that are not the evaluated classes: Cityscapes masks hold the 34 *label ids* while
evaluation uses 19 *train ids* (every other id is void); ADE20K-style datasets store 0 as "other", and
evaluation "reduces the zero label" (mmsegmentation). A :class:`LabelMap` says what each stored value becomes: a
class number, or *void* (``ignore``, ``None`` here).

A map is written (:func:`parse_label_map`) as

* ``FROM:TO,...`` (``7:0,8:1,0:ignore``; FROM may be negative);
* a JSON object (``{"7": 0, "0": "ignore"}``; ``null`` is also void), inline or in a ``.json`` file;
* a two-column CSV or TSV file (``from,to`` per line, header optional);
* a built-in name: ``cityscapes`` (label ids to the 19 train ids, with the class names, from the published
  Cityscapes label table) or ``reduce-zero`` (0 and 255 void, every other 8-bit value minus one: the
  mmsegmentation rule, in which 255 stays void).

:func:`apply_label_map` rewrites an array through a lookup table over its own narrow dtype (no int64 copy):
ground-truth void becomes :attr:`LabelMap.void` (to be ignored), a prediction's void the index the caller gives
(the extra "predicted no class" column of the confusion matrix). A value the map does not name is an error
(:class:`UnmappedValueError`) unless it is to be treated as void.

Messages name no command-line option: the CLI and the engine add those.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lossctl.errors import InputError, UsageError
from lossctl.io.stores import is_url
from lossctl.io.text import json_place, read_text

__all__ = ["LabelMap", "BUILTINS", "parse_label_map", "check_classes", "apply_label_map", "UnmappedValueError"]

#: How a map names void (case-insensitive).
IGNORE_WORDS = ("ignore",)

# The Cityscapes label table (cityscapesScripts, helpers/labels.py): the label ids that are evaluated, in the
# order of their train ids 0..18, with their names. Every other id of the table (0-6, 9, 10, 14-16, 18, 29, 30,
# and -1 for the license plate) is ignored in evaluation.
_CITYSCAPES_EVALUATED = ((7, "road"), (8, "sidewalk"), (11, "building"), (12, "wall"), (13, "fence"),
                         (17, "pole"), (19, "traffic light"), (20, "traffic sign"), (21, "vegetation"),
                         (22, "terrain"), (23, "sky"), (24, "person"), (25, "rider"), (26, "car"), (27, "truck"),
                         (28, "bus"), (31, "train"), (32, "motorcycle"), (33, "bicycle"))
_CITYSCAPES_IDS = range(-1, 34)


@dataclass(frozen=True)
class LabelMap:
    """What each stored value becomes.

    Attributes
    ----------
    name : str
        How the map was given: a built-in's name, the inline text, or the file.
    table : tuple of (int, int or None)
        ``(from, to)`` sorted by ``from``; ``to`` is a class number, or None for void.
    class_names : tuple of str
        The names of classes ``0..`` when the map knows them (``cityscapes``), else empty.
    defines_classes : bool
        Whether the largest ``to`` + 1 is the class count (False for ``reduce-zero``, which is open-ended).
    rule : str or None
        A built-in's rule in words, recorded instead of its table.
    """

    name: str
    table: tuple[tuple[int, int | None], ...]
    class_names: tuple[str, ...] = ()
    defines_classes: bool = True
    rule: str | None = None

    @property
    def max_to(self) -> int:
        """The largest class number the map produces (-1 when it only voids)."""
        return max((to for _, to in self.table if to is not None), default=-1)

    @property
    def num_classes(self) -> int | None:
        """The class count the map implies, or None when it does not define one."""
        return self.max_to + 1 if self.defines_classes else None

    @property
    def voids(self) -> bool:
        """Whether some value becomes void."""
        return any(to is None for _, to in self.table)

    @property
    def void(self) -> int:
        """The value ground-truth void is written as: 254, 65534 or 2**32 - 2, the first above every class."""
        return _void_above(self.max_to)

    def to_dict(self) -> dict[str, Any]:
        """How the report's ``config`` records the map: its name, and its table (``"ignore"`` for void) or rule."""
        record: dict[str, Any] = {"name": self.name}
        if self.rule is not None:
            record["rule"] = self.rule
        else:
            record["map"] = {str(src): "ignore" if to is None else to for src, to in self.table}
        if self.class_names:
            record["class_names"] = list(self.class_names)
        return record

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabelMap:
        """Inverse of :func:`dataclasses.asdict` (a JSON report's ``config.options``)."""
        table = tuple((int(src), None if to is None else int(to)) for src, to in data["table"])
        return cls(name=data["name"], table=table, class_names=tuple(data.get("class_names", ())),
                   defines_classes=bool(data.get("defines_classes", True)), rule=data.get("rule"))


def _void_above(top: int) -> int:
    for void in (254, 65534, 2**32 - 2):
        if top < void:
            return void
    raise UsageError(f"a label map producing class {top} is beyond what lossctl stores; use fewer classes")


def _cityscapes() -> LabelMap:
    train = {label_id: i for i, (label_id, _) in enumerate(_CITYSCAPES_EVALUATED)}
    return LabelMap("cityscapes", tuple((i, train.get(i)) for i in _CITYSCAPES_IDS),
                    class_names=tuple(name for _, name in _CITYSCAPES_EVALUATED),
                    rule="Cityscapes label ids -> the 19 train ids; every other id ignored")


def _reduce_zero() -> LabelMap:
    return LabelMap("reduce-zero", tuple((v, None if v in (0, 255) else v - 1) for v in range(256)),
                    defines_classes=False, rule="0 and 255 ignored; 1..254 -> 0..253 (mmsegmentation's "
                    "reduce_zero_label)")


#: The built-in maps, by name.
BUILTINS = {"cityscapes": _cityscapes, "reduce-zero": _reduce_zero}


# -- parsing ------------------------------------------------------------------------------------------------------

_EXAMPLE = "e.g. 7:0,8:1,0:ignore, a JSON object, a from,to CSV file, or " + " or ".join(BUILTINS)


def parse_label_map(spec: str) -> LabelMap:
    """Read a map from its spec: a built-in name, a file (``.json``: an object; else a ``from,to`` CSV/TSV), an
    inline JSON object, or ``FROM:TO,...``.

    Raises
    ------
    UsageError
        If the spec or the file's contents are malformed: a value that is not an integer, a TO that is negative
        (and not ``ignore``), a FROM given twice, no entry at all; or the spec is ``-`` (standard input is for
        the list of pairs).
    InputError
        If the named file cannot be read.

    Examples
    --------
    >>> parse_label_map("7:0, 8:1, 0:ignore").table
    ((0, None), (7, 0), (8, 1))
    >>> parse_label_map('{"-1": "ignore", "3": 2}').table
    ((-1, None), (3, 2))
    >>> parse_label_map("cityscapes").class_names[:3]
    ('road', 'sidewalk', 'building')
    """
    text = spec.strip()
    if text in BUILTINS:
        return BUILTINS[text]()
    if text == "-":
        raise UsageError("a label map cannot be read from standard input (it carries the list of pairs); give "
                         "the map's file or write it inline")
    if text.startswith("{"):
        return _from_pairs(spec, _json_entries(text, f"label map {_short(spec)}"))
    if is_url(text):  # a map in a store: read as a file (its suffix says JSON or CSV)
        content = read_text(text, "label map")
        if text.lower().endswith(".json"):
            return _from_pairs(text, _json_entries(content, text))
        return _from_pairs(text, _csv_entries(content, text))
    path = Path(text)
    if path.is_file():
        content = read_text(path, "label map")
        if path.suffix.lower() == ".json":
            return _from_pairs(str(path), _json_entries(content, f"{path}"))
        return _from_pairs(str(path), _csv_entries(content, f"{path}"))
    if path.is_dir():
        raise UsageError(f"{path}: is a folder, not a label map; give the map's file, or write it inline")
    if ":" not in text:
        looks_like = "a file that does not exist" if ("/" in text or "." in text) else "no built-in map"
        raise UsageError(f"label map {_short(spec)} is {looks_like}; give FROM:TO pairs, {_EXAMPLE}")
    entries = []
    for item in text.split(","):
        src, sep, dst = item.partition(":")
        if not sep:
            raise UsageError(f"label map {_short(spec)}: {item.strip()!r} is not FROM:TO; write {_EXAMPLE}")
        entries.append((src, dst, f"label map {_short(spec)}"))
    return _from_pairs(spec, entries)


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _json_entries(text: str, where: str) -> list[tuple[Any, Any, str]]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{where}: not valid JSON (at {json_place(e)}); write an object such as {{\"7\": 0, \"0\": "
                         "\"ignore\"}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{where}: the JSON is a {type(data).__name__}, not an object; write an object "
                         "{\"FROM\": TO, ...}")
    return [(src, dst, where) for src, dst in data.items()]


def _csv_entries(text: str, where: str) -> list[tuple[Any, Any, str]]:
    entries = []
    rows = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text), delimiter="\t" if "\t" in text else ","),
                                            start=1) if any(cell.strip() for cell in row)]
    for index, (number, row) in enumerate(rows):
        cells = [cell.strip() for cell in row]
        if index == 0 and [cell.lower() for cell in cells] == ["from", "to"]:
            continue
        if len(cells) != 2:
            raise UsageError(f"{where} line {number}: has {len(cells)} column(s); write two, FROM,TO (TO may be "
                             "ignore)")
        entries.append((cells[0], cells[1], f"{where} line {number}"))
    return entries


def _integer(value: Any, what: str, where: str) -> int:
    if isinstance(value, bool):
        raise UsageError(f"{where}: {what} {value!r} is not an integer; write a class number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    try:
        return int(str(value).strip())
    except ValueError:
        raise UsageError(f"{where}: {what} {str(value).strip()!r} is not an integer; write FROM:TO with whole "
                         "numbers (TO may be ignore)") from None


def _from_pairs(name: str, entries: list[tuple[Any, Any, str]]) -> LabelMap:
    table: dict[int, int | None] = {}
    for raw_src, raw_dst, where in entries:
        src = _integer(raw_src, "the value", where)
        if raw_dst is None or (isinstance(raw_dst, str) and raw_dst.strip().lower() in IGNORE_WORDS):
            dst = None
        else:
            dst = _integer(raw_dst, "the class", where)
            if dst < 0:
                raise UsageError(f"{where}: maps {src} to {dst}; a class number is 0 or more (write ignore for "
                                 "void)")
        if src in table:
            raise UsageError(f"{where}: maps {src} twice; give each value once")
        table[src] = dst
    if not table:
        raise UsageError(f"label map {_short(name)} has no entry; write FROM:TO pairs, {_EXAMPLE}")
    return LabelMap(name, tuple(sorted(table.items())))


def check_classes(label_map: LabelMap, num_classes: int) -> None:
    """Refuse a map producing a class number outside ``0..num_classes-1``. A rule that defines no class count
    (``reduce-zero``) is not checked: a value it maps beyond the classes is the data's problem, reported per image.

    Raises
    ------
    UsageError
        Naming the first value mapped beyond the classes.
    """
    if not label_map.defines_classes:
        return
    for src, to in label_map.table:
        if to is not None and to >= num_classes:
            raise UsageError(f"label map {_short(label_map.name)} maps {src} to class {to}, but there are "
                             f"{num_classes} classes (0..{num_classes - 1}); fix the map or the class count")


# -- applying -----------------------------------------------------------------------------------------------------


class UnmappedValueError(InputError):
    """The array holds values the map does not name; ``values`` lists a few of them (ascending)."""

    def __init__(self, values: list[int], count: int) -> None:
        shown = ", ".join(map(str, values))
        more = f" ({count} values in all)" if count > len(values) else ""
        noun = "value" if count == 1 else "values"
        super().__init__(f"holds the {noun} {shown}{more}, which the label map does not name")
        self.values = values
        self.count = count


#: Widest value range tabulated directly for wide integer dtypes; beyond it, values are matched by sorting.
_MAX_TABLE = 1 << 22


def apply_label_map(label_map: LabelMap, labels: np.ndarray, *, void: int, unmapped_to_void: bool = False
                    ) -> np.ndarray:
    """Rewrite ``labels`` through ``label_map``.

    A lookup table is built over the values the array's dtype can hold (8- and 16-bit data: every value; wider
    data: the range between its smallest and largest value) and indexed by the array itself, so the only new
    array is the result, in the narrowest unsigned dtype that holds every class and ``void``.

    Parameters
    ----------
    label_map : LabelMap
    labels : integer or boolean array
    void : int
        What void becomes (:attr:`LabelMap.void` for a ground truth; the class count for a prediction).
    unmapped_to_void : bool
        Treat values the map does not name as void instead of refusing them.

    Raises
    ------
    UnmappedValueError
        If ``labels`` holds a value the map does not name (and ``unmapped_to_void`` is False).
    """
    top = max(label_map.max_to, void)
    dtype = np.dtype(np.uint8 if top < 255 else np.uint16 if top < 65535 else np.uint32)
    missing = void if unmapped_to_void else int(np.iinfo(dtype).max)  # the marker is never a class nor void
    a = labels.view(np.uint8) if labels.dtype == np.bool_ else labels
    if a.dtype.itemsize <= 2:  # every value of the dtype, indexed by its bit pattern
        if not a.dtype.isnative:  # a big-endian file's array: the bit patterns must be this machine's
            a = a.astype(a.dtype.newbyteorder("="))
        unsigned = a.view(np.dtype(f"u{a.dtype.itemsize}"))
        values = np.arange(1 << (8 * a.dtype.itemsize), dtype=np.int64)
        if a.dtype.kind == "i":
            values = values.astype(np.dtype(f"u{a.dtype.itemsize}")).view(a.dtype).astype(np.int64)
        out = _table(label_map, values, dtype, void, missing)[unsigned]
    elif a.size == 0:
        out = np.zeros(a.shape, dtype=dtype)
    else:
        lo, hi = int(a.min()), int(a.max())
        if hi - lo < _MAX_TABLE:
            offset = np.subtract(a, lo, dtype=a.dtype.type) if lo else a
            out = _table(label_map, np.arange(lo, hi + 1, dtype=np.int64), dtype, void, missing)[offset]
        else:  # a few values spread over a huge range: match the distinct values
            present, inverse = np.unique(a, return_inverse=True)
            out = _table(label_map, present.astype(np.int64), dtype, void, missing)[inverse].reshape(a.shape)
    if not unmapped_to_void and out.size and int(out.max()) == missing:  # the marker is the dtype's top value
        bad = np.unique(np.asarray(labels)[out == missing])
        raise UnmappedValueError([int(v) for v in bad[:3]], int(bad.size))
    return out


def _table(label_map: LabelMap, values: np.ndarray, dtype: np.dtype, void: int, missing: int) -> np.ndarray:
    """The lookup table: what each of ``values`` becomes."""
    table = np.full(values.shape, missing, dtype=dtype)
    if not label_map.table:
        return table
    sources = np.array([src for src, _ in label_map.table], dtype=np.int64)
    targets = np.array([void if to is None else to for _, to in label_map.table], dtype=np.int64)
    where = np.searchsorted(sources, values)
    where[where == sources.size] = 0
    hit = sources[where] == values
    table[hit] = targets[where[hit]]
    return table

