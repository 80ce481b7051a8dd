"""Classification tables: which columns of a CSV are the sample ids, the predictions and the target, what the
classes are called, and which prediction goes with which target.

The rules (README.md, "lossctl cls"), each recorded in the report's ``config``:

* **Columns are named** by the table's header (:mod:`lossctl.io.tables` says when the first row is one), or by
  their 1-based position (``1``, ``2``, ...) in a table without a header. A **selection** (``pred_columns``,
  ``target_column``) is a comma-separated list of items, each a column name or an inclusive range
  ``FIRST:LAST`` of columns in the file's order: ``p_cat,p_dog,p_bird``, ``p_cat:p_bird``, ``2:4``.
* **Defaults**, each said in a note when it applies: the **id column** is the column named ``id`` (any case),
  else an unnamed first column (pandas writes its index so); in one file holding both, the **target** is the
  column named ``label``, ``target`` or ``y`` (any case) and the **predictions** every other column; in two
  files, every column of each but the id.
* **Pairing.** With ``id_column`` the samples are paired by id, in any order (each file must hold that column);
  the samples keep the prediction file's order and are named by their ids. An id in one file only is an error,
  or, with ``allow_missing``, left out and listed. A duplicate or empty id is an error. Otherwise rows pair
  by their order; when both files have an id column (by the default rule) their ids must agree row by row.
* **Class names**, when not given: the prediction columns' header names (two columns or more, distinct and
  not empty) without the longest common prefix that ends with a separator (``_``, ``-``, ``.``, ``:``, a
  space) and the longest common suffix that starts with one, when every name keeps a character:
  ``p_cat,p_dog,p_bird`` name ``cat, dog, bird``; ``cat_prob,dog_prob`` ``cat, dog``; ``p0,p1,p2`` keep
  their names. Positions never name classes. A target column holding text is read as class names (each cell
  a class name, or a number: a class index counted from 0).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossctl.errors import InputError, PairingError, ShapeMismatchError, UsageError, setting
from lossctl.io.arrays import Loaded
from lossctl.io.tables import STDIN_NAME, TextTable, parse_number
from lossctl.io.text import counted, display_path, shorten

__all__ = ["ColumnChoice", "ClsTables", "read_cls_tables", "class_names_of", "SEPARATORS", "TARGET_NAMES"]

#: Characters that end a common prefix (or start a common suffix) of column names stripped to name classes.
SEPARATORS = "_-.: "
#: The names (any case) of the column read as the target of a file holding predictions and target.
TARGET_NAMES = ("label", "target", "y")
#: The name (any case) of the column read as the sample ids by default.
ID_NAME = "id"
_SHOWN = 3  # how many unpaired ids a message names per side
_LISTED = 12  # how many columns a message lists


@dataclass(frozen=True)
class ColumnChoice:
    """What the caller chose; None (or empty) leaves a choice to the module's default rules."""

    pred_columns: str | None = None
    target_column: str | None = None
    id_column: str | None = None
    class_names: tuple[str, ...] = ()
    allow_missing: bool = False


@dataclass(frozen=True)
class ClsTables:
    """The predictions, targets and weights of the samples to evaluate, as read by the rules.

    ``sample_names`` are the ids in the samples' order (None: the samples are named by index); ``config`` holds
    the report's ``config`` entries that record every choice (``columns``, ``paired_by``, ``class_names``,
    ``class_names_from``); ``missing_target`` and ``missing_pred`` list the ids left out with ``allow_missing``
    (predictions without a target, targets without a prediction).
    """

    pred: np.ndarray
    target: np.ndarray
    weights: np.ndarray | None
    sample_names: tuple[str, ...] | None
    class_names: tuple[str, ...]
    config: dict[str, Any]
    notes: tuple[str, ...] = ()
    missing_target: tuple[str, ...] = ()
    missing_pred: tuple[str, ...] = ()


Source = TextTable | Loaded


def read_cls_tables(pred: Source, target: Source | None, weights: Source | None = None,
                    choice: ColumnChoice = ColumnChoice()) -> ClsTables:
    """Read the predictions, targets (``target`` None: the prediction table holds them) and weights.

    Raises
    ------
    UsageError
        A malformed selection, or a choice that does not fit the inputs (columns of an array file).
    InputError
        A column that does not exist, a cell that is not a number (or a class name), class names that do not fit
        the predictions, a duplicate or empty id; :class:`~lossctl.errors.PairingError` for ids in one file only.
    """
    reader = _Reader(choice)
    return reader.read(pred, target, weights)


def class_names_of(columns: Sequence[str]) -> tuple[str, ...]:
    """The class names a header gives prediction columns (the module's rule), or ``()`` when it gives none.

    >>> class_names_of(["p_cat", "p_dog", "p_bird"])
    ('cat', 'dog', 'bird')
    >>> class_names_of(["cat_prob", "dog_prob"])
    ('cat', 'dog')
    >>> class_names_of(["p0", "p1"])
    ('p0', 'p1')
    """
    names = list(columns)
    if len(names) < 2 or len(set(names)) != len(names) or not all(names):
        return ()
    prefix = os.path.commonprefix(names)
    cut = max((i + 1 for i, ch in enumerate(prefix) if ch in SEPARATORS), default=0)
    suffix = os.path.commonprefix([n[::-1] for n in names])[::-1]
    end = min((i for i, ch in enumerate(suffix) if ch in SEPARATORS), default=len(suffix))
    tail = len(suffix) - end
    if all(len(n) > cut + tail for n in names):
        return tuple(n[cut:len(n) - tail] for n in names)
    if all(len(n) > cut for n in names):
        return tuple(n[cut:] for n in names)
    return tuple(names)


# ----------------------------------------------------------------------------------------------------------
# One side: a table (or an array) and the roles of its columns
# ----------------------------------------------------------------------------------------------------------


@dataclass
class _Side:
    """One input file and what its columns are read as; ``role`` names it in messages (``predictions``...)."""

    source: Source
    role: str
    id_index: int | None = None
    id_by_default: bool = False
    ids: list[str] | None = None

    @property
    def table(self) -> TextTable | None:
        return self.source if isinstance(self.source, TextTable) else None

    @property
    def name(self) -> str:
        if isinstance(self.source, TextTable):
            return self.source.source
        return STDIN_NAME if self.source.path == "-" else display_path(self.source.path)


@dataclass
class _Reader:
    choice: ColumnChoice
    notes: list[str] = field(default_factory=list)

    def read(self, pred_source: Source, target_source: Source | None, weights_source: Source | None) -> ClsTables:
        one_file = target_source is None
        pred = _Side(pred_source, "predictions")
        target = pred if one_file else _Side(target_source, "targets")  # type: ignore[arg-type]
        weights = None if weights_source is None else _Side(weights_source, "weights")
        sides = [s for s in (pred, None if one_file else target, weights) if s is not None]
        for side in sides:
            self._find_id(side)
        chosen: dict[str, str] = {}  # what a default rule chose, for the note
        if one_file:
            target_idx = self._one_file_target(pred, chosen)
            exclude = {**_ids(pred), **dict.fromkeys(target_idx, "the target")}
            pred_idx = self._select(pred, "pred_columns", exclude=exclude, chosen=chosen)
        else:
            pred_idx = self._select(pred, "pred_columns", exclude=_ids(pred))
            target_idx = self._select(target, "target_column", exclude=_ids(target))
        weight_idx = self._select(weights, None, exclude=_ids(weights)) if weights is not None else None

        self._default_note(pred, target, one_file, chosen)
        pred_array = self._numbers(pred, pred_idx, "pred_columns")
        class_names, names_from = self._class_names(pred, pred_idx, pred_array)
        target_array = self._target(target, target_idx, class_names, names_from)
        if target_idx is not None and len(target_idx) > 1 and pred_idx is not None:
            _check_class_order(pred, pred_idx, target, target_idx)
        weight_array = self._numbers(weights, weight_idx, None) if weights is not None else None

        for side in sides:
            _read_ids(side)
        by_id = self.choice.id_column is not None and not one_file
        names: list[str] | None = pred.ids if pred.ids is not None else target.ids
        missing_target: list[str] = []
        missing_pred: list[str] = []
        if by_id:
            rows, missing_target, missing_pred = _pair_by_id(pred, target, self.choice.allow_missing)
            names = [pred.ids[i] for i, _ in rows]  # type: ignore[index]
            pred_array, target_array = pred_array[[i for i, _ in rows]], target_array[[j for _, j in rows]]
        elif not one_file:
            _check_row_order(pred, target, len(pred_array), len(target_array))
        if weights is not None and weight_array is not None:
            weight_array = _pair_weights(weights, weight_array, names, missing_target + missing_pred, by_id=by_id)
        config = {
            "columns": {
                "id": _id_name(pred) if pred.id_index is not None else _id_name(target),
                "pred": _names(pred, pred_idx), "target": _names(target, target_idx),
                "weights": _names(weights, weight_idx) if weights is not None else None,
                "header": {role: (s.table.header is not None if s.table is not None else None)
                           for role, s in (("pred", pred), ("target", target), ("weights", weights))
                           if s is not None},
            },
            "paired_by": "id" if by_id else "row order",
            "class_names_from": names_from,
        }
        return ClsTables(pred_array, target_array, weight_array, tuple(names) if names is not None else None,
                         class_names, config, tuple(self.notes), tuple(missing_target), tuple(missing_pred))

    # -- roles ------------------------------------------------------------------------------------------------

    def _find_id(self, side: _Side) -> None:
        """The id column of ``side``: the one ``id_column`` names (every file must have it), else by default."""
        table = side.table
        wanted = self.choice.id_column
        if wanted is not None:
            if table is None:
                raise UsageError(f"{side.name}: an array file has no columns, so no id column {wanted!r}; give the "
                                 f"{side.role} as a CSV with that column, or drop {setting('id_column')}")
            side.id_index = _resolve(table, wanted, "id_column")
            return
        if table is None or table.header is None:
            return
        named = [i for i, name in enumerate(table.header) if name.casefold() == ID_NAME]
        if len(named) == 1:
            side.id_index, side.id_by_default = named[0], True
        elif not named and table.header[0] == "":
            side.id_index, side.id_by_default = 0, True

    def _one_file_target(self, side: _Side, chosen: dict[str, str]) -> list[int]:
        table = side.table
        if self.choice.target_column is not None:
            return self._select(side, "target_column", exclude=_ids(side)) or []
        if table is None:
            raise UsageError(f"{side.name}: an array file holds no target column; give TARGET as a second file")
        named = [i for i, name in enumerate(table.columns) if name.casefold() in TARGET_NAMES]
        if len(named) != 1:
            found = ", ".join(repr(table.columns[i]) for i in named)
            problem = f"has {len(named)} columns that may be the target ({found})" if named else (
                f"has no column named {', '.join(TARGET_NAMES[:-1])} or {TARGET_NAMES[-1]}")
            raise InputError(f"{side.name}: {problem}; name the target column with {setting('target_column')} "
                             f"(its columns: {_column_list(table)}), or give TARGET as a second file"
                             + _header_hint(table))
        chosen["target"] = f"{_quoted(table, named[0])} as the target"
        return named

    def _select(self, side: _Side, option: str | None, *, exclude: dict[int, str],
                chosen: dict[str, str] | None = None) -> list[int] | None:
        """The columns ``option`` selects in ``side`` (every column but ``exclude`` when it is not given);
        None for an array file read whole."""
        table = side.table
        spec = getattr(self.choice, option) if option is not None else None
        if spec is not None:
            if table is None:
                raise UsageError(f"{side.name}: an array file has no named columns; {setting(option)} picks "
                                 "columns of a CSV or TSV table")
            picked = parse_selection(table, spec, option)  # type: ignore[arg-type]
            taken = [i for i in picked if i in exclude]
            if taken:
                raise UsageError(f"{side.name}: {setting(option)} {spec!r} takes {table.column_text(taken[0])}, "
                                 f"which is {exclude[taken[0]]}; leave it out")
            return picked
        if table is None:
            return None
        rest = [i for i in range(table.width) if i not in exclude]
        if not rest:
            fix = f"add them, or choose them with {setting(option)}" if option is not None else "add them"
            raise InputError(f"{side.name}: no column is left for the {side.role} (its columns: "
                             f"{_column_list(table)}); {fix}")
        if chosen is not None:
            other = "the other column" if len(rest) == 1 else f"the other {len(rest)} columns"
            chosen["pred"] = f"{other} ({_selection_text(table, rest)}) as the predictions"
        return rest

    # -- values -----------------------------------------------------------------------------------------------

    def _numbers(self, side: _Side, indices: list[int] | None, option: str | None) -> np.ndarray:
        """The values of ``indices`` (an array file: the whole array), (N,) for one column."""
        table = side.table
        if table is None or indices is None:
            return np.asarray(side.source.array)  # type: ignore[union-attr]
        given = option is not None and getattr(self.choice, option) is not None

        def hint(index: int) -> str | None:
            if given:
                return None
            if option is None:  # the weights: every column but the id
                return f"give the {side.role} as one column of numbers (and the id column, if any)"
            choose = f"choose the {side.role}' columns with {setting(option)}"
            if any(parse_number(cell) is not None for cell in table.cells(index)):
                return f"fix that cell (nan for a missing value), or {choose}"
            if side.id_index is None and table.columns[index]:
                return f"{choose}, or pass {setting('id_column', table.columns[index])} if it names the samples"
            return f"the column holds text in every row: {choose}"

        values = table.numbers(indices, hint)
        return values[:, 0].copy() if values.shape[1] == 1 else values

    def _class_names(self, pred: _Side, pred_idx: list[int] | None,
                     values: np.ndarray) -> tuple[tuple[str, ...], str | None]:
        """The class names (given, else from the prediction columns' header names) and where they come from."""
        count = values.shape[1] if values.ndim == 2 else 2
        given = self.choice.class_names
        if given:
            if len(given) != count:
                named = f"{len(given)} class" if len(given) == 1 else f"{len(given)} classes"
                raise UsageError(f"{setting('class_names')} names {named} but {pred.name} holds predictions of "
                                 f"{count}; give one name per class, in class order")
            return tuple(given), "class_names"
        table = pred.table
        if table is None or table.header is None or pred_idx is None:
            return (), None
        names = class_names_of([table.header[i] for i in pred_idx])
        return names, ("header" if names else None)

    def _target(self, side: _Side, indices: list[int] | None, class_names: tuple[str, ...],
                names_from: str | None) -> np.ndarray:
        """The targets: numbers, or (one text column) class names read as their indices."""
        table = side.table
        if table is None or indices is None or len(indices) != 1:
            return self._numbers(side, indices, "target_column")
        index = indices[0]
        cells = table.cells(index)
        numeric = [parse_number(cell) for cell in cells]
        if all(v is not None for v in numeric):
            shifted = [n for i, n in enumerate(class_names) if parse_number(n) not in (None, float(i))]
            if shifted and names_from == "header":
                self.notes.append(f"{side.name}: numeric targets are class indices counted from 0, not class "
                                  f"names (the class named {shifted[0]!r} is class {class_names.index(shifted[0])})")
            return np.asarray(numeric, dtype=np.float64)
        position = {name: i for i, name in enumerate(class_names)}
        values = np.empty(len(cells), dtype=np.float64)
        for row, ((number, _), cell, value) in enumerate(zip(table.rows, cells, numeric, strict=True)):
            if value is not None:
                values[row] = value
            elif not cell:
                raise InputError(f"{side.name}: row {number}, {table.column_text(index)} is empty; fill in the "
                                 "sample's class")
            elif cell in position:
                values[row] = position[cell]
            else:
                raise InputError(_not_a_class(side.name, table, number, index, cell, class_names))
        origin = "as given" if names_from == "class_names" else "named by the prediction columns' header"
        self.notes.append(f"{side.name}: the targets in {_quoted(table, index)} are class names, read as the "
                          f"indices of the classes {', '.join(class_names)} ({origin})")
        return values

    # -- the note ---------------------------------------------------------------------------------------------

    def _default_note(self, pred: _Side, target: _Side, one_file: bool, chosen: dict[str, str]) -> None:
        """One note that says what the default rules chose (nothing when they chose nothing by a name)."""
        parts = []
        id_sides = [s for s in ((pred,) if one_file else (pred, target)) if s.id_by_default]
        if id_sides:
            table = id_sides[0].table
            assert table is not None and id_sides[0].id_index is not None
            parts.append(f"{_quoted(table, id_sides[0].id_index)} as the sample ids")
        parts += [chosen[k] for k in ("target", "pred") if k in chosen]
        if not parts:
            return
        where = ", ".join(dict.fromkeys(s.name for s in (id_sides or [pred])))
        said = ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
        options = [setting("id_column")] if id_sides else []
        options += [setting("target_column")] if "target" in chosen else []
        options += [setting("pred_columns")] if "pred" in chosen else []
        pairing = ""
        if not one_file and len(id_sides) == 2:
            same = _id_name(pred) == _id_name(target)
            pairing = ("; rows pair by their order, their ids checked to agree"
                       + (f" ({setting('id_column', _id_name(pred))} pairs them by id)" if same else ""))
        self.notes.append(f"{where}: read {said}, by the default rules{pairing}; choose with "
                          f"{', '.join(options)}")


# ----------------------------------------------------------------------------------------------------------
# Selections
# ----------------------------------------------------------------------------------------------------------


def parse_selection(table: TextTable, spec: str, option: str) -> list[int]:
    """The 0-based columns ``spec`` selects (the module's syntax), in the order given.

    Raises
    ------
    UsageError
        A malformed ``spec`` (an empty item, a range without two ends).
    InputError
        A name the table does not have, a range that runs backwards, a column selected twice.
    """
    picked: list[int] = []
    items = [(item.strip(), [end.strip() for end in item.split(":")]) for item in spec.split(",")]
    for item, ends in items:
        if not item or len(ends) > 2 or not all(ends):
            what = "" if item == spec.strip() else f" {item!r}"
            raise UsageError(f"{setting(option)} {spec!r}:{what} not a column name nor a range FIRST:LAST; "
                             "give names (or 1-based positions in a table without a header) separated by commas, "
                             "e.g. p_cat,p_dog or p_cat:p_bird")
    for item, ends in items:
        first, last = (_resolve(table, end, option) for end in (ends[0], ends[-1]))
        if last < first:
            raise InputError(f"{table.source}: the range {item!r} of {setting(option)} runs backwards ("
                             f"{table.column_text(first)} to {table.column_text(last)}); give FIRST:LAST in the "
                             "file's column order")
        for index in range(first, last + 1):
            if index in picked:
                raise InputError(f"{table.source}: {setting(option)} {spec!r} selects {table.column_text(index)} "
                                 "twice; select each column once")
            picked.append(index)
    return picked


def _resolve(table: TextTable, name: str, option: str) -> int:
    """The 0-based column named ``name``; an :class:`InputError` naming the columns there are otherwise."""
    found = [i for i, column in enumerate(table.columns) if column == name]
    if len(found) == 1:
        return found[0]
    if found:
        raise InputError(f"{table.source}: the header names {len(found)} columns {name!r} (columns "
                         f"{', '.join(str(i + 1) for i in found)}); give each column its own name")
    named = [c for c in table.columns if c]
    close = [c for c in named if c.casefold() == name.casefold()] or difflib.get_close_matches(name, named, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    if table.header is None:
        hint += "(a table without a header names its columns by position) "
    raise InputError(f"{table.source}: has no column {shorten(name)!r} ({setting(option)}); {hint}its columns: "
                     f"{_column_list(table)}" + _header_hint(table))


# ----------------------------------------------------------------------------------------------------------
# Ids and pairing
# ----------------------------------------------------------------------------------------------------------


def _read_ids(side: _Side) -> None:
    """Read the ids of ``side`` (when it has an id column): each one not empty and given once."""
    table = side.table
    if table is None or side.id_index is None or side.ids is not None:
        return
    seen: dict[str, int] = {}
    ids = []
    for number, cells in table.rows:
        value = cells[side.id_index]
        if not value:
            raise InputError(f"{side.name}: row {number} has no id (the column {_id_name(side)!r} is empty); "
                             "give every sample an id")
        if value in seen:
            raise InputError(f"{side.name}: the id {shorten(value)!r} appears twice (rows {seen[value]} and "
                             f"{number}); give each sample one row")
        seen[value] = number
        ids.append(value)
    side.ids = ids


def _pair_by_id(pred: _Side, target: _Side, allow_missing: bool) -> tuple[list[tuple[int, int]], list[str],
                                                                          list[str]]:
    """(prediction row, target row) of every id in both files, in the prediction file's order, and the ids of
    each file that the other lacks; a :class:`PairingError` for those unless ``allow_missing``."""
    assert pred.ids is not None and target.ids is not None
    row_of = {value: j for j, value in enumerate(target.ids)}
    rows = [(i, row_of[value]) for i, value in enumerate(pred.ids) if value in row_of]
    in_pred = set(pred.ids)
    missing_target = [value for value in pred.ids if value not in row_of]
    missing_pred = [value for value in target.ids if value not in in_pred]
    if (missing_target or missing_pred) and not allow_missing:
        parts = []
        if missing_target:
            n = len(missing_target)
            parts.append(f"{counted(n, 'prediction')} {'has' if n == 1 else 'have'} no target in {target.name} "
                         f"(ids {_examples(missing_target)})")
        if missing_pred:
            n = len(missing_pred)
            parts.append(f"{counted(n, 'target')} {'has' if n == 1 else 'have'} no prediction in {pred.name} "
                         f"(ids {_examples(missing_pred)})")
        paired = counted(len(rows), "paired sample")
        raise PairingError(f"{pred.name}: {' and '.join(parts)}; add the missing rows, or pass "
                           f"{setting('allow_missing', True)} to evaluate only the {paired}")
    if not rows:
        raise PairingError(f"{pred.name}: no id is in both {pred.name} and {target.name} (the column "
                           f"{_id_name(pred)!r}); check that the two files describe the same samples")
    return rows, missing_target, missing_pred


def _check_row_order(pred: _Side, target: _Side, n_pred: int, n_target: int) -> None:
    """Rows pair by order: the counts must agree (left to the inputs' check otherwise) and, when both files
    have ids, the ids row by row."""
    if pred.ids is None or target.ids is None:
        return
    if n_pred != n_target:
        raise ShapeMismatchError(f"{pred.name}: {n_pred} predictions but {target.name} has {n_target} targets; "
                                 f"pair them by id with {setting('id_column', _id_name(pred))}"
                                 if _id_name(pred) == _id_name(target) else
                                 f"{pred.name}: {n_pred} predictions but {target.name} has {n_target} targets; "
                                 "give both files the same samples")
    for row, (a, b) in enumerate(zip(pred.ids, target.ids, strict=True)):
        if a != b:
            fix = (f"pair them by id with {setting('id_column', _id_name(pred))}" if _id_name(pred) == _id_name(target)
                   else f"name both id columns alike and pass {setting('id_column')} to pair them by id")
            raise InputError(f"{pred.name}: sample {row + 1} is id {shorten(a)!r} here but {shorten(b)!r} in "
                             f"{target.name}; rows pair by their order, {fix}")


def _pair_weights(side: _Side, values: np.ndarray, names: list[str] | None, skipped: list[str], *,
                  by_id: bool) -> np.ndarray:
    """The weights in the samples' order: by id when the samples are, else by row (ids checked when present)."""
    if not by_id:
        if side.ids is not None and names is not None and side.ids != names[:len(side.ids)]:
            row = next(i for i, (a, b) in enumerate(zip(side.ids, names, strict=False)) if a != b)
            raise InputError(f"{side.name}: weight {row + 1} is for id {shorten(side.ids[row])!r} but sample "
                             f"{row + 1} is {shorten(names[row])!r}; list the weights in the samples' order, or "
                             f"pair every file by id with {setting('id_column')}")
        return values
    assert side.ids is not None and names is not None
    row_of = {value: j for j, value in enumerate(side.ids)}
    lacking = [value for value in names if value not in row_of]
    if lacking:
        raise InputError(f"{side.name}: {counted(len(lacking), 'sample')} {'has' if len(lacking) == 1 else 'have'} "
                         f"no weight (ids {_examples(lacking)}); give every sample a weight")
    known = set(names) | set(skipped)
    extra = [value for value in side.ids if value not in known]
    if extra:
        raise InputError(f"{side.name}: {counted(len(extra), 'weight')} {'is' if len(extra) == 1 else 'are'} for "
                         f"ids that are no sample's (ids {_examples(extra)}); remove them, or check the id column")
    return values[[row_of[value] for value in names]]


def _check_class_order(pred: _Side, pred_idx: list[int], target: _Side, target_idx: list[int]) -> None:
    """(N, C) targets whose column names name the same classes as the predictions', in another order, would be
    scored against the wrong classes: refused."""
    if pred.table is None or target.table is None or pred.table.header is None or target.table.header is None:
        return
    p = class_names_of([pred.table.header[i] for i in pred_idx])
    t = class_names_of([target.table.header[i] for i in target_idx])
    if p and t and p != t and sorted(p) == sorted(t):
        raise InputError(f"{target.name}: the target columns name the classes {', '.join(t)} but the prediction "
                         f"columns {', '.join(p)}; select the target columns in the predictions' class order "
                         f"with {setting('target_column')}")


# ----------------------------------------------------------------------------------------------------------
# Text for messages
# ----------------------------------------------------------------------------------------------------------


def _ids(side: _Side | None) -> dict[int, str]:
    """The id column of ``side`` as a column a selection must not take."""
    return {side.id_index: "the id column"} if side is not None and side.id_index is not None else {}


def _id_name(side: _Side) -> str | None:
    if side.table is None or side.id_index is None:
        return None
    return side.table.columns[side.id_index]


def _names(side: _Side, indices: list[int] | None) -> list[str] | None:
    return None if side.table is None or indices is None else [side.table.columns[i] for i in indices]


def _quoted(table: TextTable, index: int) -> str:
    """A column in a note: ``'label'``, or ``the unnamed column 1``."""
    name = table.columns[index]
    return f"the column {name!r}" if name else f"the unnamed column {index + 1}"


def _column_list(table: TextTable) -> str:
    names = [c if c else f"(unnamed {i + 1})" for i, c in enumerate(table.columns)]
    shown = ", ".join(shorten(n, 30) for n in names[:_LISTED])
    return shown + (f", ... ({len(names) - _LISTED} more)" if len(names) > _LISTED else "")


def _selection_text(table: TextTable, indices: list[int]) -> str:
    """Columns as a selection would name them: ``p_cat:p_bird`` when they follow each other, else a list."""
    names = [table.columns[i] for i in indices]
    if len(indices) > 2 and indices == list(range(indices[0], indices[-1] + 1)) and all(names):
        return f"{names[0]}:{names[-1]}"
    return ",".join(names)


def _header_hint(table: TextTable) -> str:
    """When the header holds numbers, say why the first row was read as one."""
    if table.header is not None and any(parse_number(name) is not None for name in table.header):
        return ("; its first row was read as the header because it holds text (add a header row that names the "
                "columns)")
    return ""


def _examples(ids: list[str]) -> str:
    shown = ", ".join(shorten(value, 30) for value in ids[:_SHOWN])
    return shown + (f", ... ({len(ids) - _SHOWN} more)" if len(ids) > _SHOWN else "")


def _not_a_class(where: str, table: TextTable, number: int, index: int, cell: str,
                 class_names: tuple[str, ...]) -> str:
    at = f"{where}: row {number}, {table.column_text(index)} is {shorten(cell)!r}"
    if not class_names:
        return (f"{at}, not a number; targets given as class names need the classes' names: name the prediction "
                f"columns after the classes, or give {setting('class_names')}")
    close = difflib.get_close_matches(cell, list(class_names), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"{at}, not a class index nor one of the classes {', '.join(class_names[:_LISTED])}"
            f"{', ...' if len(class_names) > _LISTED else ''}; {hint}fix the target, or give the classes' names "
            f"with {setting('class_names')}")
