"""The classes of a segmentation run: their names and count, the ignored values, the label maps and the regions.

:func:`resolve_classes` puts together what the settings say about the classes (``num_classes``, ``class_names``
or a file of them, an nnU-Net ``dataset_json``, ``label_map``, ``pred_label_map``, ``unmapped``,
``ignore_index``) and refuses what does not fit together: two sources of names, a count the names contradict, a
label map beyond the classes. The count is the one given, else the number of names, else the largest class a
label map names + 1, else unknown (the data will tell). A dataset.json contributes its ignore label, its regions
(the labels whose value is a list), written as ``NAME=L1,L2,...`` items (the form of the ``region`` setting),
and, when it is region-based, the names of nnU-Net's regions, whose mean is reported as ``region_mean``.

:func:`parse_regions` reads such items: a region is a named union of foreground labels evaluated as one more
class (BraTS' whole tumour ``WT=1,2,3``); its name is its own (not a class's name, not a number, not
``region_mean``: it is used in ``per_class`` and in gates such as ``dice[WT]``).

Every problem is a :class:`~lossctl.errors.UsageError` that names the settings in the core's words
(:func:`lossctl.errors.setting`); the command line spells them as its options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lossctl.dataset.descriptions import REGION_MEAN, read_class_names, read_dataset_json
from lossctl.dataset.label_maps import check_classes, parse_label_map
from lossctl.errors import UsageError, prefixed, setting

__all__ = ["resolve_classes", "parse_class_names", "parse_regions"]


def resolve_classes(num_classes: int | None, class_names: str | None, dataset_json: Path | None,
                    label_map: str | None, pred_label_map: str | None, unmapped: str | None,
                    ignore_index: tuple[int, ...], pred_kind: str) -> dict[str, Any]:
    """The class names and count, ignored values and label maps of a seg run, from ``num_classes``,
    ``class_names`` (comma-separated, or ``@FILE``), ``dataset_json``, ``label_map``, ``pred_label_map`` and
    ``unmapped`` (``"error"`` or ``"ignore"``; None: ``"error"``).

    Returns the :class:`~lossctl.engine.seg.SegConfig` fields ``num_classes``, ``class_names``, ``ignore_index``,
    ``label_map``, ``pred_label_map``, ``unmapped``, ``classes_source`` (the setting the count comes from:
    ``"num_classes"``, ``"class_names"``, ``"dataset_json"``, ``"label_map"``, or None when the data will tell)
    and ``region_mean`` (a region-based dataset.json's regions, by name), and ``region_items``: the
    dataset.json's regions as ``NAME=L1,L2,...`` items (already checked), for :func:`parse_regions` with any
    other regions.
    """
    maps = {name: prefixed(setting(name), parse_label_map, spec)
            for name, spec in (("label_map", label_map), ("pred_label_map", pred_label_map)) if spec is not None}
    if unmapped is not None and not maps:
        raise UsageError(f"{setting('unmapped')} says what a label map does with values it does not name; give "
                         f"{setting('label_map')} or {setting('pred_label_map')}, or drop {setting('unmapped')}")
    if "pred_label_map" in maps and pred_kind in ("probs", "logits"):
        raise UsageError(f"{setting('pred_label_map')} maps label predictions, but {setting('pred_kind')} is "
                         f"{pred_kind}; drop one")
    if class_names and dataset_json:
        raise UsageError(f"{setting('class_names')} and {setting('dataset_json')} both name the classes; give one "
                         "of them")
    names: tuple[str, ...] = ()
    region_items: list[str] = []  # dataset.json's regions, as region items
    region_mean: tuple[str, ...] = ()  # a region-based dataset.json's regions (nnU-Net's), by name
    if class_names == "@-":
        raise UsageError(f"{setting('class_names', '@-')}: standard input is for {setting('pairs', '-')}; give "
                         "the file of class names")
    if class_names:
        names = parse_class_names(class_names)
    elif dataset_json is not None:
        if str(dataset_json) == "-":
            raise UsageError(f"{setting('dataset_json', '-')}: standard input is for {setting('pairs', '-')}; "
                             "give the dataset.json file")
        description = prefixed(setting("dataset_json"), read_dataset_json, dataset_json)
        names = description.class_names
        region_items = [f"{name}={','.join(map(str, labels))}" for name, labels in description.regions]
        region_mean = description.region_mean
        ignore_index = tuple(dict.fromkeys((*ignore_index, *description.ignore_index)))
    where = setting("class_names") if class_names else setting("dataset_json")
    if names and num_classes is not None and num_classes != len(names):
        raise UsageError(f"{setting('num_classes', num_classes)} but {where} names {len(names)} classes; drop "
                         f"{setting('num_classes')} (the names set it) or name every class")
    own = next((m.class_names for m in maps.values() if m.class_names), ())  # a built-in's names (cityscapes)
    if not names and own and num_classes in (None, len(own)):
        names = own
    count = num_classes or len(names) or max((m.num_classes or 0 for m in maps.values()), default=0) or None
    source = ("num_classes" if num_classes else "class_names" if class_names else "dataset_json" if dataset_json
              else "label_map" if count else None)
    if count is not None:
        for name, m in maps.items():
            prefixed(setting(name), check_classes, m, count)
    pred_map = maps.get("pred_label_map")
    if pred_map is not None and count is None and (pred_map.voids or unmapped == "ignore"):
        raise UsageError(f"{setting('pred_label_map')} maps values to ignore, and a prediction of no class needs "
                         f"the class count; pass {setting('num_classes')} or {setting('class_names')}")
    if region_items:  # checked as region items are, the message naming the file
        prefixed(f"{setting('dataset_json')} {dataset_json}", parse_regions, region_items, names, count)
    return {"num_classes": count, "class_names": names, "ignore_index": ignore_index,
            "label_map": maps.get("label_map"), "pred_label_map": pred_map,
            "unmapped": unmapped or "error", "classes_source": source, "region_mean": region_mean,
            "region_items": region_items}


def parse_class_names(spec: str) -> tuple[str, ...]:
    """The class names of ``class_names``: comma-separated, in class order, or ``@FILE`` (one name per line)."""
    if spec == "@-":
        raise UsageError(f"{setting('class_names', '@-')}: standard input holds the inputs; give the file of class "
                         "names")
    if spec.startswith("@"):
        return prefixed(setting("class_names"), read_class_names, spec[1:])
    return tuple(c.strip() for c in spec.split(","))


def parse_regions(items: list[str], classes: tuple[str, ...], num_classes: int | None
                  ) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """``NAME=L1,L2,...`` items as (name, labels); a name must not be a class's name or a number, and a label
    must be a foreground class (1 .. C-1 when the class count is known)."""
    regions: list[tuple[str, tuple[int, ...]]] = []
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        try:
            labels = tuple(dict.fromkeys(int(v) for v in raw.split(","))) if sep else ()
        except ValueError:
            labels = ()
        if not name or not labels:
            raise UsageError(f"malformed {setting('region')} {item!r}; expected NAME=L1,L2,..., e.g. WT=1,2,3")
        if (name in classes or name == REGION_MEAN or name.lstrip("+-").isdigit()
                or not name.replace("_", "a").isalnum()):
            what = ("a class's name" if name in classes else "reserved (the mean over a region-based dataset's "
                    "regions)" if name == REGION_MEAN else "not a plain name (letters, digits, _)")
            raise UsageError(f"{setting('region')} {item!r}: {name!r} is {what}; give the region a name of its own "
                             "(it is used in per_class and in gates such as dice[WT])")
        if name in (n for n, _ in regions):
            raise UsageError(f"{setting('region')} {item!r}: the name {name!r} is given twice; give each region "
                             "once")
        for v in labels:
            if v < 1 or (num_classes is not None and v >= num_classes):
                top = f"1..{num_classes - 1}" if num_classes is not None else "1 or more"
                raise UsageError(f"{setting('region')} {item!r}: label {v} is not a foreground class ({top}); fix "
                                 "the region's labels")
        regions.append((name, labels))
    return tuple(regions)
