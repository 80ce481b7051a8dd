"""Dataset descriptions: class names and counts, ignore labels and regions, read from the files datasets ship.

* :func:`read_dataset_json` reads nnU-Net's ``dataset.json``. Its ``labels`` object gives the classes: in the
  nnU-Net v2 form ``{"background": 0, "liver": 1}`` (a name per value), or the v1 form ``{"0": "background"}``.
  A label named ``ignore`` (nnU-Net v2's ignore label) is no class: its value becomes an ignored value. A label
  whose value is a single number names that class; a label whose value is a list (``"lesion": [2, 3]``) is a
  *region*, the union of its values, reported after the classes. A value no label names alone is a class named
  by its number. When a list holds more than one value the dataset is *region-based* (nnU-Net's rule): nnU-Net
  then evaluates every label but the background as a region (a single value is a region of one) and reports the
  mean of those regions' means (``foreground_mean``); :attr:`DatasetDescription.region_mean` names them.
* :func:`read_class_names` reads one class name per line.

Malformed contents are :class:`~lossctl.errors.UsageError` (they describe the run, not one image); a file that
cannot be read is an :class:`~lossctl.errors.InputError`. Messages name the file and no command-line option.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from lossctl.errors import UsageError
from lossctl.io.text import json_place, read_text

__all__ = ["DatasetDescription", "REGION_MEAN", "read_dataset_json", "parse_dataset_json", "read_class_names"]

#: nnU-Net v2's name of the ignore label.
IGNORE_LABEL = "ignore"
#: The name under which a region-based dataset's mean over its regions is reported and gated (``dice[region_mean]``).
REGION_MEAN = "region_mean"


@dataclass(frozen=True)
class DatasetDescription:
    """What a dataset description says about the classes.

    Attributes
    ----------
    class_names : tuple of str
        The name of each class value ``0..C-1``: the label's that has that single value, else the number.
    ignore_index : tuple of int
        Values to leave out (nnU-Net's ``ignore`` label).
    regions : tuple of (str, tuple of int)
        The labels whose value is a list: named unions of class values, in the file's order.
    region_mean : tuple of str
        In a region-based dataset, nnU-Net's regions: every label but the background and ``ignore`` (class
        names and region names), in the file's order; the mean of their means is nnU-Net's headline
        (``foreground_mean``). Empty when the dataset is not region-based.
    """

    class_names: tuple[str, ...]
    ignore_index: tuple[int, ...] = ()
    regions: tuple[tuple[str, tuple[int, ...]], ...] = ()
    region_mean: tuple[str, ...] = ()


def read_dataset_json(path: str | os.PathLike[str]) -> DatasetDescription:
    """Read an nnU-Net ``dataset.json`` (see :func:`parse_dataset_json`).

    Raises
    ------
    InputError
        If the file cannot be read.
    UsageError
        If it is not a valid description (see :func:`parse_dataset_json`).
    """
    text = read_text(path, "dataset.json")
    try:
        data = json.loads(text)
    except ValueError as e:
        raise UsageError(f"{path}: not valid JSON (at {json_place(e)}); fix the file (nnU-Net's dataset.json)") from None
    return parse_dataset_json(data, str(path))


def _label_value(name: str, value: Any, where: str) -> int | tuple[int, ...]:
    if isinstance(value, list):
        if not value:
            raise UsageError(f"{where}: the region {name!r} lists no label; give its labels, e.g. [1, 2, 3]")
        if any(isinstance(v, list) for v in value):
            raise UsageError(f"{where}: the region {name!r} holds a list inside its list; give its labels as one "
                             "flat list, e.g. [1, 2, 3]")
        return tuple(_label_value(name, v, where) for v in value)  # type: ignore[misc]
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UsageError(f"{where}: the label {name!r} has the value {json.dumps(value)}; a label is an integer "
                         "0 or more (or a list of them for a region)")
    return value


def parse_dataset_json(data: Any, where: str = "dataset.json") -> DatasetDescription:
    """The classes, ignore label and regions of a parsed ``dataset.json``.

    Raises
    ------
    UsageError
        If there is no ``labels`` object, a label value is not a non-negative integer (or a non-empty list of
        them), two labels share a value, the class values are not 0, 1, 2, ... without gaps (nnU-Net's rule), or
        a region names a value that is no class.

    Examples
    --------
    >>> parse_dataset_json({"labels": {"background": 0, "liver": 1, "ignore": 2}})
    DatasetDescription(class_names=('background', 'liver'), ignore_index=(2,), regions=(), region_mean=())
    >>> parse_dataset_json({"labels": {"0": "background", "1": "edema"}}).class_names
    ('background', 'edema')
    >>> liver = parse_dataset_json({"labels": {"background": 0, "liver": 1, "tumor": 2, "cyst": 3,
    ...                                        "lesion": [2, 3]}})
    >>> liver.class_names, liver.regions, liver.region_mean
    (('background', 'liver', 'tumor', 'cyst'), (('lesion', (2, 3)),), ('liver', 'tumor', 'cyst', 'lesion'))
    >>> brats = parse_dataset_json({"labels": {"background": 0, "whole_tumor": [1, 2, 3], "enhancing": 3}})
    >>> brats.class_names, brats.regions, brats.region_mean
    (('background', '1', '2', 'enhancing'), (('whole_tumor', (1, 2, 3)),), ('whole_tumor', 'enhancing'))
    """
    labels = data.get("labels") if isinstance(data, dict) else None
    if not isinstance(labels, dict) or not labels:
        raise UsageError(f"{where}: has no \"labels\" object; a dataset.json maps each label name to its value, "
                         "e.g. \"labels\": {\"background\": 0, \"liver\": 1}")
    if all(isinstance(v, str) for v in labels.values()) and all(str(k).strip().isdigit() for k in labels):
        labels = {name: int(value) for value, name in labels.items()}  # nnU-Net v1: "value": "name"
    parsed = {str(name): _label_value(str(name), value, where) for name, value in labels.items()}
    ignore: tuple[int, ...] = ()
    if IGNORE_LABEL in parsed:
        value = parsed.pop(IGNORE_LABEL)
        if not isinstance(value, int):
            raise UsageError(f"{where}: the ignore label is a list; give it one value")
        ignore = (value,)
    lists = {name: v for name, v in parsed.items() if isinstance(v, tuple)}
    singles = {name: v for name, v in parsed.items() if isinstance(v, int)}
    by_value: dict[int, str] = {}
    for name, value in singles.items():
        if value in by_value:
            raise UsageError(f"{where}: the labels {by_value[value]!r} and {name!r} both have the value {value}; "
                             "give each label its own value")
        by_value[value] = name
    values = set(by_value) | {v for r in lists.values() for v in r}
    count = max(values) + 1 if values else 0
    if not lists and sorted(by_value) != list(range(count)):
        gaps = sorted(set(range(count)) - set(by_value))
        raise UsageError(f"{where}: the label values must be 0, 1, 2, ... without gaps (nnU-Net's rule), but "
                         f"{', '.join(map(str, gaps[:5]))} {'is' if len(gaps) == 1 else 'are'} missing; fix the "
                         "labels")
    names = tuple(by_value.get(v, str(v)) for v in range(count))
    for v, name in by_value.items():  # a label named like the number of a class no label names alone
        if name != str(v) and name.strip().isdigit() and int(name) < count and int(name) not in by_value:
            raise UsageError(f"{where}: the label {name!r} has the value {v}, but {int(name)} is the name of class "
                             f"{int(name)}, which no label names alone; give the label {name!r} another name")
    for name, members in lists.items():
        for v in members:
            if v in ignore:
                raise UsageError(f"{where}: the region {name!r} holds {v}, the ignore label; drop it")
    region_based = any(len(members) > 1 for members in lists.values())  # nnU-Net's rule
    if region_based and REGION_MEAN in parsed:
        raise UsageError(f"{where}: the label {REGION_MEAN!r} is a reserved name in a region-based dataset (the "
                         "mean over its regions); rename the label")
    return DatasetDescription(
        class_names=names, ignore_index=ignore, regions=tuple(lists.items()),
        region_mean=tuple(name for name, v in parsed.items() if v != 0) if region_based else ())


def read_class_names(path: str | os.PathLike[str]) -> tuple[str, ...]:
    """One class name per line (surrounding spaces dropped, blank lines skipped), in class order.

    Raises
    ------
    InputError
        If the file cannot be read.
    UsageError
        If it names no class, or a name twice.
    """
    names = tuple(line.strip() for line in read_text(path, "list of class names").splitlines() if line.strip())
    if not names:
        raise UsageError(f"{path}: names no class; write one class name per line")
    seen: dict[str, int] = {}
    for index, name in enumerate(names):
        if name in seen:
            raise UsageError(f"{path}: names {name!r} twice (classes {seen[name]} and {index}); give each class "
                             "its own name")
        seen[name] = index
    return names
