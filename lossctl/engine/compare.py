"""Compare two reports of one command (a baseline and a new run): changes per value, paired bootstrap
confidence intervals, the images that got worse, and baseline gates.

Definitions (docs/ci.md, "lossctl compare and baseline gates"):

* ``base`` and ``new`` are each report's own summary mean (``summary.mean``; per class ``summary.per_class.mean``),
  ``delta = new - base`` and ``rel = delta / |base|`` (undefined when ``base`` is 0).
* ``ci`` is a paired percentile bootstrap 95% interval of the mean per-image delta ``d_i = new_i - base_i`` over
  the P images present in both reports with both values defined: B resamples of P images drawn with
  replacement (``numpy.random.default_rng(seed)``, restarted for each set of values paired over the same images,
  so each interval is the one its value would get alone: it depends only on its own deltas and the seed), the
  2.5th and 97.5th percentiles of the B resampled means.
* Images pair by a key (``match``, :data:`MATCHES`): their ``name`` (the default), their ``stem`` (the name's last
  part, after its last ``/``: a folder run's ``img_000`` and a ``--pairs`` run's ``a/gt/img_000``) or their
  ground-truth ``path`` as each report records it (normalised). A key held twice in one report is refused.
* An image got worse by ``w_i = base_i - new_i`` when higher is better (the registry's ``higher_is_better``),
  ``new_i - base_i`` otherwise (losses); ``worst`` lists, per value, the K largest ``w_i > 0``.

Everything here reads report documents (plain dicts) and returns plain dicts; nothing touches files except
:func:`load_report`.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lossctl import __version__, registry
from lossctl.dataset.descriptions import REGION_MEAN
from lossctl.engine.gates import Baseline, Gate, change, check_gates, row_series
from lossctl.engine.schema import REPORT_SCHEMA, SCHEMA_CHANGES, CompareReport, Document, GateResult, row_noun
from lossctl.errors import InputError, UsageError, setting
from lossctl.io.stores import is_url
from lossctl.io.text import json_place, read_text

#: Resampled indices held in memory at once (int64): the bootstrap runs in chunks of this many elements.
BOOTSTRAP_CHUNK = 1 << 22
CONFIDENCE = 0.95
#: Config entries whose difference between the two reports is worth a note (classes are refused outright).
_NOTED_CONFIG = ("convention", "conventions", "ignore_index", "empty", "include_background", "threshold", "params",
                 "class_weights", "weights")


class _NonStandardNumber(ValueError):
    pass


def _refuse_constant(token: str) -> float:
    raise _NonStandardNumber(token)


def load_report(path: Path, what: str = "baseline") -> Document:
    """Read a JSON report written by ``lossctl seg|cls -f json`` (or ``--write json=``).

    Unreadable files, other JSON, NaN or Infinity (never written by lossctl) and reports of another schema
    version are an :class:`InputError` (exit 3) naming the file and the fix.
    """
    try:
        text = read_text(path, f"{what} report") if is_url(path) else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else type(e).__name__
        raise InputError(f"{path}: cannot read the {what} report ({reason}); give a file written by "
                         "`lossctl seg|cls -f json`") from None
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except _NonStandardNumber as e:
        raise InputError(f"{path}: the {what} report holds {e} (lossctl writes undefined values as null); "
                         "regenerate it with `lossctl ... -f json`") from None
    except ValueError as e:
        raise InputError(f"{path}: the {what} report is not valid JSON (at {json_place(e)}); give a file written by "
                         "`lossctl seg|cls -f json`") from None
    if not (isinstance(document, dict) and document.get("command") in ("seg", "cls")
            and isinstance(document.get("summary"), dict) and isinstance(document.get("config"), dict)
            and isinstance(document.get("images"), list)):
        raise InputError(f"{path}: not a report of `lossctl seg` or `lossctl cls` (no command/summary/images); "
                         "give a file written with -f json")
    check_schema(document, path)
    problem = _layout_problem(document)
    if problem:
        raise InputError(f"{path}: the {what} report is damaged ({problem}); regenerate it with "
                         f"`lossctl {document['command']} ... -f json`")
    return document


def check_schema(document: Document, path: Path | str) -> None:
    """Refuse (an :class:`InputError`, exit 3) a report written by another schema version, with the command
    that regenerates it; reports without the field are schema 1."""
    schema = document.get("schema", 1)
    if schema == REPORT_SCHEMA:
        return
    why = f" ({SCHEMA_CHANGES[schema]})" if schema in SCHEMA_CHANGES else ""
    command = document.get("command") if document.get("command") in ("seg", "cls") else "seg|cls"
    raise InputError(f"{path}: written by report schema version {schema!r}{why}, but this lossctl {__version__} "
                     f"reads schema version {REPORT_SCHEMA}; regenerate it with this lossctl (`lossctl {command} ... "
                     f"-f json -o {path}`)")


def _is_number(v: Any) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def _layout_problem(doc: Document) -> str | None:
    """What, if anything, breaks the layout that comparing reads: numbers (or null) where values are."""
    s, cfg = doc["summary"], doc["config"]
    for stat in ("mean", "pooled"):
        block = s.get(stat)
        if not isinstance(block, dict) or not all(_is_number(v) for v in block.values()):
            return f"summary.{stat} must map names to numbers or null"
    per_class = s.get("per_class", {"mean": {}, "pooled": {}})
    for stat in ("mean", "pooled"):
        block = per_class.get(stat, {}) if isinstance(per_class, dict) else None
        if not isinstance(block, dict) or not all(isinstance(v, list) and all(map(_is_number, v))
                                                  for v in block.values()):
            return f"summary.per_class.{stat} must map names to lists of numbers or null"
    if not isinstance(cfg.get("class_names", []), list):
        return "config.class_names must be a list"
    for i, row in enumerate(doc["images"]):
        if not (isinstance(row, dict) and isinstance(row.get("name"), str) and isinstance(row.get("values"), dict)
                and all(_is_number(v) for v in row["values"].values())
                and isinstance(row.get("per_class", {}), dict)
                and all(isinstance(v, list) and all(map(_is_number, v)) for v in row.get("per_class", {}).values())):
            return f"images[{i}] must have a name and numbers (or null) as values"
    return None


def check_compatible(base: Document, new: Document, base_name: str = "the baseline") -> list[str]:
    """Refuse (a :class:`UsageError`, exit 2) reports of different commands or classes; return notes on other
    configuration differences (a convention, ignored labels, parameters), which are allowed."""
    if base["command"] != new["command"]:
        raise UsageError(f"{base_name} is a report of `lossctl {base['command']}` but the new one is of "
                         f"`lossctl {new['command']}`; compare reports of the same command")
    bc, nc = base["config"], new["config"]
    if bc.get("num_classes") != nc.get("num_classes") or (base["command"] == "seg"
                                                          and bc.get("class_names") != nc.get("class_names")):
        raise UsageError(f"{base_name} has classes {_classes(bc)} but the new report has {_classes(nc)}; compare "
                         f"runs over the same classes (same {setting('class_names')} / {setting('num_classes')})")
    if base["command"] == "seg" and bc.get("average") != nc.get("average"):
        raise InputError(f"{base_name}: its dice, iou, precision and recall are {_AVERAGED[bc.get('average')]}, "
                         f"but the new report's are {_AVERAGED[nc.get('average')]}; regenerate the baseline with "
                         f"the new run's settings ({setting('average', nc.get('average'))}), or run the new one "
                         f"with {setting('average', bc.get('average'))}")
    notes = []
    for key in _NOTED_CONFIG:
        if key not in bc or key not in nc:
            continue
        changes = _changes(bc[key], nc[key])
        if key == "conventions":  # the values that only follow the runs' conventions: said by "convention"
            changes = [c for c in changes if (c[1], c[2]) != (bc.get("convention"), nc.get("convention"))]
        if changes:
            notes.append(f"{base_name} differs in {key}: {_changes_text(changes)}")
    return notes


def _changes(base: Any, new: Any, name: str = "") -> list[tuple[str, Any, Any]]:
    """(name, base, new) of each entry of two config entries that differs: in mappings (the per-value
    ``conventions`` and ``params``), only the keys both have (a value one run does not compute is no difference),
    named ``value.param``; other entries whole."""
    if isinstance(base, dict) and isinstance(new, dict):
        return [change for key in base if key in new
                for change in _changes(base[key], new[key], f"{name}.{key}" if name else key)]
    return [] if base == new else [(name, base, new)]


def _changes_text(changes: list[tuple[str, Any, Any]]) -> str:
    """``dice, iou: "lossctl" (base) vs "monai" (new); focal.gamma: 2.0 (base) vs 3.0 (new)``: the names that
    changed the same way share a clause; a whole entry has no name."""
    clauses: dict[tuple[str, str], list[str]] = {}
    for name, base, new in changes:
        clauses.setdefault((json.dumps(base), json.dumps(new)), []).append(name)
    return "; ".join(f"{', '.join(names) + ': ' if any(names) else ''}{base} (base) vs {new} (new)"
                     for (base, new), names in clauses.items())


#: How each ``config.average`` reads in a message.
_AVERAGED = {"foreground": "class 1's (config.average foreground)",
             "mean": "the class mean (config.average mean)", None: "of unknown averaging (no config.average)"}


def _classes(config: dict[str, Any]) -> str:
    names = config.get("class_names") or []
    return f"{config.get('num_classes')} ({', '.join(map(str, names))})" if names else str(config.get("num_classes"))


# ----------------------------------------------------------------------------------------------------------
# Per-image values of a report, paired by image name (or stem, or ground-truth path)
# ----------------------------------------------------------------------------------------------------------

#: How the images of two reports pair (``match``): by name, by stem (the name's last part), by ground-truth path.
MATCHES = ("name", "stem", "path")
#: How many unpaired images a note names.
_SHOWN = 3


def pairing_keys(doc: Document, match: str, which: str = "the report") -> list[str]:
    """The key each image (sample) of ``doc`` pairs by under ``match`` (:data:`MATCHES`), in row order.

    A key held by two images of one report is a :class:`UsageError` naming both (``which`` names the report), as
    is ``path`` for rows that record no ground-truth file (``cls`` samples).
    """
    rows = doc["images"]
    if match == "name":
        keys = [r["name"] for r in rows]
    elif match == "stem":
        keys = [r["name"].rsplit("/", 1)[-1] for r in rows]
    elif match == "path":
        if any("gt" not in r for r in rows):
            raise UsageError(f"{setting('baseline_match', 'path')} pairs images by their ground-truth file, which "
                             f"{which} does not record ({doc['command']} samples have none); pair them by name")
        keys = [posixpath.normpath(str(r["gt"]).replace("\\", "/")) for r in rows]
    else:
        raise UsageError(f"{setting('baseline_match', match)}: images pair by {', '.join(MATCHES)}")
    seen: dict[str, str] = {}
    for row, key in zip(rows, keys, strict=True):
        if key in seen:
            other = "path" if match == "stem" else "name"
            raise UsageError(f"{which} has two images with the {match} {key!r} ({seen[key]!r} and {row['name']!r}), "
                             f"so {setting('baseline_match', match)} cannot pair them; pair them by {other}")
        seen[key] = row["name"]
    return keys


def _examples(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names) - _SHOWN} more)" if len(names) > _SHOWN else "")


class PairedValues:
    """The per-image values of two reports as arrays, aligned on the images present in both (sorted by their key
    under ``match``, :func:`pairing_keys`; ``names`` are the new report's names of them).

    Each report's rows are read once per value into a float array (NaN: undefined); every value then pairs by
    indexing, with no loop over images per value.
    """

    def __init__(self, base: Document, new: Document, match: str = "name") -> None:
        self.command = new["command"]
        self.match = match
        self._docs = (base, new)
        keys = (pairing_keys(base, match, "the baseline"), pairing_keys(new, match, "the new report"))
        position = [{k: i for i, k in enumerate(ks)} for ks in keys]
        common = sorted(position[0].keys() & position[1].keys())
        self._index = [np.array([pos[k] for k in common], dtype=np.int64) for pos in position]
        new_names = [r["name"] for r in new["images"]]
        self.names = np.array([new_names[i] for i in self._index[1].tolist()], dtype=str)
        self.only_in_base = sorted(r["name"] for r, k in zip(base["images"], keys[0], strict=True)
                                   if k not in position[1])
        self.only_in_new = sorted(n for n, k in zip(new_names, keys[1], strict=True) if k not in position[0])
        self._columns: dict[tuple[int, str, int | str | None], np.ndarray] = {}

    @property
    def paired(self) -> int:
        """How many images (samples) of the new report pair with one of the baseline."""
        return int(self.names.size)

    def _better_match(self) -> str:
        """``; MATCH would pair K`` for the other rule that pairs the most images, when one pairs more."""
        base, new = self._docs
        best, most = None, self.paired
        for match in MATCHES:
            if match == self.match:
                continue
            try:
                count = len(set(pairing_keys(base, match)) & set(pairing_keys(new, match)))
            except UsageError:  # the rule does not apply (a key held twice, no ground-truth paths)
                continue
            if count > most:
                best, most = match, count
        return f"; {setting('baseline_match', best)} would pair {most}" if best else ""

    def account(self, base_name: str = "the baseline") -> str | None:
        """One line on the images of the new report that pair with none of ``base_name`` (how many, by which
        rule, the first of them, and the rule that would pair more); None when every one pairs."""
        if not self.only_in_new:
            return None
        unit = row_noun(self.command)
        total = len(self._docs[1]["images"])
        return (f"{self.paired} of the {total} {unit}s of the new report pair with one of {base_name} by "
                f"{self.match}; without a partner: {_examples(self.only_in_new)}{self._better_match()}")

    def nothing_paired(self, base_name: str = "the baseline") -> str | None:
        """Why no image pairs (one line, the first of each side's names and the rule that would pair them);
        None when some do."""
        if self.paired:
            return None
        unit = row_noun(self.command)
        base, new = (d["images"] for d in self._docs)
        if not new or not base:
            empty = "the new report" if not new else base_name
            only = f" (a cls report has them only with {setting('per_sample')})" if self.command == "cls" else ""
            return f"{empty} has no {unit} rows to pair{only}"
        return (f"none of the {len(new)} {unit}s of the new report pairs with one of the {len(base)} of {base_name} "
                f"by {self.match} (e.g. {new[0]['name']!r} here, {base[0]['name']!r} in the baseline)"
                f"{self._better_match()}")

    def _column(self, side: int, name: str, idx: int | str | None) -> np.ndarray:
        key = (side, name, idx)
        if key not in self._columns:
            rows = self._docs[side]["images"]
            if idx is None or idx == REGION_MEAN:
                self._columns[key] = np.array([(r["values"] if idx is None else r.get("region_mean") or {}).get(name)
                                               for r in rows], dtype=np.float64)
            else:
                width = max([len(r.get("per_class", {}).get(name) or ()) for r in rows] + [idx + 1])
                table = np.array([(list(r.get("per_class", {}).get(name) or ()) + [None] * width)[:width]
                                  for r in rows], dtype=np.float64).reshape(len(rows), width)
                for j in range(width):
                    self._columns[(side, name, j)] = table[:, j]
        return self._columns[key]

    def values(self, name: str, idx: int | str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(names, base, new) over the paired images where both values are defined."""
        b = self._column(0, name, idx)[self._index[0]]
        n = self._column(1, name, idx)[self._index[1]]
        keep = ~(np.isnan(b) | np.isnan(n))
        return self.names[keep], b[keep], n[keep]

    def worsening(self, name: str, idx: int | str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(names, base, new, w) over the paired images, ``w`` > 0 where the image got worse."""
        names, b, n = self.values(name, idx)
        w = b - n if registry.get(self.command, name).higher_is_better else n - b
        return names, b, n, w


def baseline_of(base: Document, new: Document, match: str = "name", base_name: str = "the baseline",
                pairing: PairedValues | None = None) -> Baseline:
    """The :class:`~lossctl.engine.gates.Baseline` that baseline gates of ``new`` read from ``base`` (images
    paired by ``match``; ``base_name``: how messages name the baseline)."""
    pairing = pairing or PairedValues(base, new, match)
    return Baseline(base["summary"], row_series(base["images"]), lambda name, idx: pairing.worsening(name, idx)[3],
                    pairing.paired, pairing.nothing_paired(base_name))


# ----------------------------------------------------------------------------------------------------------
# Bootstrap
# ----------------------------------------------------------------------------------------------------------


def paired_bootstrap_ci(deltas: np.ndarray, resamples: int, seed: int,
                        confidence: float = CONFIDENCE) -> list[float] | None:
    """Percentile bootstrap interval of the mean of ``deltas`` (P paired differences): ``resamples`` means of P
    values drawn with replacement (see :func:`bootstrap_intervals`). None when there is nothing to resample.

    >>> paired_bootstrap_ci(np.array([0.5, 0.5, 0.5]), 100, seed=0)
    [0.5, 0.5]
    """
    d = np.asarray(deltas, dtype=np.float64)
    return bootstrap_intervals(d[:, None], resamples, seed, confidence)[0]


def bootstrap_intervals(deltas: np.ndarray, resamples: int, seed: int,
                        confidence: float = CONFIDENCE) -> list[list[float] | None]:
    """Paired percentile bootstrap intervals of the column means of ``deltas`` (P images x V values), all
    columns resampled with the same draws of images from ``numpy.random.default_rng(seed)``: column ``v``'s
    interval is the one a single column would get, so it depends only on its deltas and the seed.

    Vectorised: each chunk of resamples draws its (R, P) indices at once (at most :data:`BOOTSTRAP_CHUNK`, 32 MiB),
    counts how often each image is drawn (one ``bincount``), and takes every resample's mean of every column as
    one matrix product ``counts @ deltas / P``. No Python loop over resamples or values.
    """
    d = np.asarray(deltas, dtype=np.float64)
    p, v = d.shape
    if p == 0 or resamples < 1:
        return [None] * v
    rng = np.random.default_rng(seed)
    means = np.empty((resamples, v), dtype=np.float64)
    chunk = max(1, min(resamples, BOOTSTRAP_CHUNK // p))
    for start in range(0, resamples, chunk):
        r = min(resamples, start + chunk) - start
        drawn = rng.integers(0, p, size=(r, p))
        drawn += p * np.arange(r)[:, None]
        counts = np.bincount(drawn.ravel(), minlength=r * p).reshape(r, p).astype(np.float64)
        means[start:start + r] = counts @ d / p
    tail = 50.0 * (1.0 - confidence)
    bounds = np.percentile(means, [tail, 100.0 - tail], axis=0)
    return [[float(bounds[0, j]), float(bounds[1, j])] for j in range(v)]


# ----------------------------------------------------------------------------------------------------------
# The compare document
# ----------------------------------------------------------------------------------------------------------


def _change(base: float | None, new: float | None, only_in: str | None = None) -> dict[str, Any]:
    """One compare row: both values, their change, and ``only_in`` (``base`` or ``new``) for a value one report
    does not have (then its side, the delta and rel do not apply: ``null``, not undefined)."""
    row = {"base": base, "new": new, "delta": change("delta", base, new), "rel": change("rel", base, new)}
    return {**row, "only_in": only_in} if only_in else row


def _only_in(target: tuple[str, str, int | str | None], base_targets: set[Any], new_targets: set[Any]) -> str | None:
    """Which report alone has ``target`` (``base`` or ``new``), None when both have it."""
    return None if (target in base_targets) == (target in new_targets) else "base" if target in base_targets else "new"


def _targets(doc: Document, block: str) -> list[tuple[str, str, int | str | None]]:
    """(key, value name, class index) of the scalar values, the per-class values, then the means over the
    regions of a summary block (``"mean"`` or ``"pooled"``); per-class keys are ``NAME[class name]``, region
    means ``NAME[region_mean]``."""
    s = doc["summary"]
    out: list[tuple[str, str, int | str | None]] = [(n, n, None) for n in s[block]]
    labels = doc["config"].get("class_names") or []
    for n, vector in s.get("per_class", {}).get(block, {}).items():
        out += [(f"{n}[{labels[i] if i < len(labels) else i}]", n, i) for i in range(len(vector))]
    out += [(f"{n}[{REGION_MEAN}]", n, REGION_MEAN) for n in (s.get("region_mean") or {}).get(block, {})]
    return out


def _block(doc: Document, block: str, name: str, idx: int | str | None) -> float | None:
    s = doc["summary"]
    if idx == REGION_MEAN:
        return (s.get("region_mean") or {}).get(block, {}).get(name)
    if idx is None:
        return s[block].get(name)
    vector = s.get("per_class", {}).get(block, {}).get(name)
    return vector[idx] if vector is not None and idx < len(vector) else None


def gate_results(gates: Sequence[Gate], base: Document, new: Document, match: str = "name",
                 base_name: str = "the baseline", pairing: PairedValues | None = None) -> list[GateResult]:
    """Every gate evaluated on ``new`` (absolute gates) or on ``new`` against ``base`` (baseline gates, images
    paired by ``match``)."""
    return check_gates(gates, row_series(new["images"]), new["summary"], new["config"].get("class_names") or (),
                       baseline_of(base, new, match, base_name, pairing),
                       unit=row_noun(new["command"]), own="the new report")


def add_baseline_gates(document: Document, base: Document, gates: Sequence[Gate], match: str = "name",
                       base_name: str = "the baseline") -> str | None:
    """Put the results of the baseline gates among the absolute ones already in ``document["gates"]``, in the
    order the gates were given (``lossctl seg|cls --baseline``); record how the images paired
    (``config.baseline_pairing``: ``match``, ``paired``, ``only_in_base``, ``only_in_new``), which every image
    decides: the config is final only at the end, and ``config.rows_at_end`` (seg) says so. Returns the note
    on the run's images that pair with none of the baseline's (:meth:`PairedValues.account`), or None."""
    pairing = PairedValues(base, document, match)
    config = document["config"]
    config["baseline_pairing"] = {"match": match, "paired": pairing.paired, "only_in_base": pairing.only_in_base,
                                  "only_in_new": pairing.only_in_new}
    if "rows_at_end" in config and config["rows_at_end"] is None:
        config["rows_at_end"] = ("the config records how the images pair with the baseline's (baseline_pairing), "
                                 "known when every pair is done")
    absolute = iter(document["gates"])
    baseline_results = iter(gate_results([g for g in gates if g.against is not None], base, document, match,
                                         base_name, pairing))
    document["gates"] = [next(baseline_results) if g.against is not None else next(absolute) for g in gates]
    return pairing.account(base_name)


def _read_as(base: Document, new: Document) -> dict[str, Any]:
    """The compare document's ``units`` (each value's unit: the reports', ``mixed`` where they differ) and
    ``not_applicable`` (the per-class entries either report leaves out by rule), when the reports have them."""
    units = {**(base["summary"].get("units") or {}), **(new["summary"].get("units") or {})}
    units = {name: unit if (base["summary"].get("units") or {}).get(name, unit) == unit else "mixed"
             for name, unit in units.items()}
    entries: dict[str, list[str]] = {}
    for doc in (base, new):
        for name, labels in (doc["summary"].get("not_applicable") or {}).items():
            entries[name] = list(dict.fromkeys([*entries.get(name, []), *labels]))
    return {"units": units, "not_applicable": entries} if new["command"] == "seg" else {}


def compare_reports(base: Document, new: Document, gates: Sequence[Gate] = (), *, resamples: int = 2000,
                    worst: int = 10, seed: int = 0, sources: dict[str, str] | None = None,
                    notes: Sequence[str] = (), match: str = "name",
                    base_name: str = "the baseline") -> CompareReport:
    """The ``lossctl compare`` document (docs/ci.md, "lossctl compare and baseline gates"): the same inputs give the same bytes.
    Images pair by ``match`` (:data:`MATCHES`); when some of the new report's pair with none of the baseline's,
    ``config.notes`` ends with a note that counts and names them (:meth:`PairedValues.account`)."""
    command = new["command"]
    in_new, in_base = _targets(new, "mean"), _targets(base, "mean")
    keys = dict.fromkeys(in_new + in_base)
    values: dict[str, Any] = {}
    worst_rows: dict[str, list[dict[str, Any]]] = {}
    groups: dict[bytes, list[tuple[str, np.ndarray]]] = {}  # values paired over the same images
    pairing = PairedValues(base, new, match)
    account = pairing.account(base_name)
    for key, name, idx in keys:
        values[key] = _change(_block(base, "mean", name, idx), _block(new, "mean", name, idx),
                              _only_in((key, name, idx), set(in_base), set(in_new)))
        if (command, name) in registry.REGISTRY:
            names, b, n, w = pairing.worsening(name, idx)
        else:  # a value this lossctl does not know: no direction, no pairing
            names, b, n, w = (np.empty(0, dtype=str), *(np.empty(0),) * 3)
        groups.setdefault("\0".join(names.tolist()).encode() + b"|%d" % names.size, []).append((key, n - b))
        if idx is None:
            order = [i for i in np.lexsort((names, -w)) if w[i] > 0][:worst]
            worst_rows[key] = [{"name": str(names[i]), "base": float(b[i]), "new": float(n[i]),
                                "delta": float(n[i] - b[i])} for i in order]
    for members in groups.values():
        matrix = np.stack([d for _, d in members], axis=1)
        for (key, _), ci in zip(members, bootstrap_intervals(matrix, resamples, seed), strict=True):
            values[key]["ci"] = ci
    pooled_new, pooled_base = _targets(new, "pooled"), _targets(base, "pooled")
    pooled = {key: {**_change(_block(base, "pooled", name, idx), _block(new, "pooled", name, idx),
                              _only_in((key, name, idx), set(pooled_base), set(pooled_new))), "ci": None}
              for key, name, idx in dict.fromkeys(pooled_new + pooled_base)}
    return {
        "lossctl": __version__,
        "schema": REPORT_SCHEMA,
        "command": "compare",
        "config": {**(sources or {}), "of": command, "class_names": list(new["config"].get("class_names") or []),
                   "match": match, "paired": pairing.paired, "bootstrap": resamples, "seed": seed,
                   "confidence": CONFIDENCE, "worst": worst, "notes": [*notes, *([account] if account else [])],
                   "gates": [g.text for g in gates], **_read_as(base, new)},
        "values": values,
        "pooled": pooled,
        "only_in_base": pairing.only_in_base,
        "only_in_new": pairing.only_in_new,
        "worst": worst_rows,
        "gates": gate_results(gates, base, new, match, base_name, pairing),
    }


__all__ = ["load_report", "check_schema", "check_compatible", "compare_reports", "paired_bootstrap_ci",
           "bootstrap_intervals", "gate_results", "add_baseline_gates", "PairedValues", "baseline_of", "MATCHES",
           "pairing_keys"]
