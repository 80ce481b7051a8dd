"""The options the commands share (their Annotated types and choice enums), and the parsing of option text into
the values the engines take: ``-l``/``-m`` (``NAME`` or ``NAME:CONVENTION``), ``--param`` and its shortcut
options, comma lists of numbers, ``--empty-distance``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from lossctl.errors import UsageError, did_you_mean, prefixed
from lossctl.io import stores


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    markdown = "markdown"
    junit = "junit"
    github = "github"
    openmetrics = "openmetrics"


class PredKind(str, Enum):
    auto = "auto"
    labels = "labels"
    probs = "probs"
    logits = "logits"


def _choices(name: str, values: list[str]) -> Any:
    """A str Enum of ``values`` for an option's choices (generated from the registry's tables)."""
    return Enum(name, {v: v for v in values}, type=str)


def _conventions(task: str) -> list[str]:
    from lossctl.convention import TASK_CONVENTIONS  # no NumPy: the tables' lists, checked by a test

    return list(TASK_CONVENTIONS[task])


SegConvention = _choices("SegConvention", _conventions("seg"))
ClsConvention = _choices("ClsConvention", _conventions("cls"))
TargetKind = _choices("TargetKind", ["auto", "binary", "index", "onehot", "multilabel", "soft"])


class Geometry(str, Enum):
    check = "check"
    gt = "gt"


class Unmapped(str, Enum):
    error = "error"
    ignore = "ignore"


class EmptyPolicy(str, Enum):
    nan = "nan"
    zero = "zero"
    one = "one"


class Instances(str, Enum):
    cc = "cc"
    labels = "labels"


class Matcher(str, Enum):
    greedy = "greedy"
    hungarian = "hungarian"
    merge = "merge"


class MatchMetric(str, Enum):
    iou = "iou"
    dice = "dice"


def parse_size_bins(text: str | None) -> tuple[tuple[float, ...], str]:
    """``--size-bins V1,V2,...`` (voxels) or ``V1,V2,...mm3``: increasing positive edges, and their unit."""
    if text is None:
        return (), "voxels"
    unit = "mm3" if text.strip().lower().endswith("mm3") else "voxels"
    body = text.strip()[:-3] if unit == "mm3" else text
    try:
        edges = tuple(float(v) for v in body.split(","))
    except ValueError:
        raise UsageError(f"--size-bins {text!r}: expected increasing sizes separated by commas, e.g. 10,100,1000 "
                         "(voxels) or 10,100mm3") from None
    if any(not math.isfinite(e) or e <= 0 for e in edges) or list(edges) != sorted(set(edges)):
        raise UsageError(f"--size-bins {text!r}: the edges must be increasing positive numbers, e.g. 10,100,1000")
    return edges, unit


class Average(str, Enum):
    auto = "auto"
    foreground = "foreground"
    mean = "mean"


class ClsPredKind(str, Enum):
    auto = "auto"
    probs = "probs"
    logits = "logits"
    scores = "scores"


CompareFormat = _choices("CompareFormat", [f.value for f in OutputFormat if f is not OutputFormat.ndjson])


# Options shared by the evaluating commands ---------------------------------------------------------------
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", envvar="LOSSCTL_FORMAT",
                                                 help="Output format written to stdout (or --output).")]
OutputOpt = Annotated[Optional[str], typer.Option("--output", "-o", envvar="LOSSCTL_OUTPUT",
                                                  help="Write the report to this file (atomically); '-' is stdout.")]
GateOpt = Annotated[Optional[list[str]], typer.Option(
    "--gate", "-g", help="Quality gate, repeatable: 'dice>=0.85', 'min(dice)>=0.5', 'pooled(iou[road])>0.7', "
    "'p05(dice)>=0.6', 'ce<=0.4'; against --baseline: 'delta(dice)>=-0.01', 'rel(dice)>=-0.02', "
    "'worse(dice,0.05)<=3'. A failed gate exits 1.")]
ParamOpt = Annotated[Optional[list[str]], typer.Option(
    "--param", "-p", help="Set one loss parameter, repeatable: NAME.KEY=VALUE, e.g. focal.gamma=3.")]
WriteOpt = Annotated[Optional[list[str]], typer.Option(
    "--write", "-w", metavar="FORMAT=PATH",
    help="Also write the report in FORMAT to PATH, repeatable (e.g. json=report.json, junit=junit.xml, "
         "github=\"$GITHUB_STEP_SUMMARY\"); files are replaced atomically, github appends.")]
StorageOptionOpt = Annotated[Optional[list[str]], typer.Option(
    "--storage-option", metavar="KEY=VALUE",
    help="Pass an option to the filesystem of URL paths (s3://, gs://, az://, http(s)://), repeatable, e.g. "
         "endpoint_url=http://127.0.0.1:9000; recorded with secrets redacted.", show_default=False)]
BaselineOpt = Annotated[Optional[Path], typer.Option(
    "--baseline", parser=stores.as_location, metavar="<path>",
    help="A JSON report of an earlier run to compare with: enables the gates delta(V), rel(V) and worse(NAME,M).",
    show_default=False)]
class BaselineMatch(str, Enum):
    name = "name"
    stem = "stem"
    path = "path"


BaselineMatchOpt = Annotated[BaselineMatch, typer.Option(
    "--baseline-match", help="How images pair with the baseline's: name (the default); stem, the name's last part "
    "(a folder run's img_000 and a --pairs run's a/gt/img_000); path, the ground-truth file as both reports "
    "record it.")]
ReportDirOpt = Annotated[Optional[Path], typer.Option(
    "--report", parser=stores.as_location,
    help="Write a self-contained HTML report to DIR/index.html: the summary, the per-class table, histograms, "
         "and the worst images' ground truth, prediction and errors side by side.",
    metavar="DIR", show_default=False)]
WorstOpt = Annotated[Optional[int], typer.Option(
    "--worst", min=0, metavar="K", help="The K worst images, ranked by the first gated value (else the first "
    "value) in its own direction: the table shows them when not every row fits (default 5), the HTML report and "
    "the github summary list them (default 10).", show_default=False)]
PerImageOpt = Annotated[bool, typer.Option(help="Table: show every image's row (by default all of them only when "
                                            "they fit the width, else the --worst few).")]


def split_values(loss: list[str] | None, metric: list[str] | None, task: str,
                  convention: str) -> tuple[tuple[str, ...], dict[str, str]]:
    """The values ``-l`` and ``-m`` name (losses first, in order, each once) and the convention of each value
    named with one (``-m hd95:medpy``); ``convention`` is the run's, that of a value named alone.

    Each flag is repeatable and takes a comma list (``-m dice,iou`` is ``-m dice -m iou``); names and conventions
    are read case-insensitively (``-m HD95:MedPy``), an unknown one is refused with the closest name. One run
    computes a value under one convention: a value named twice under two (``-m hd95:medpy -m hd95`` with the
    run's lossctl) is a usage error, as is a convention that does not define the value."""
    from lossctl import registry

    seen: dict[str, tuple[str, str]] = {}  # name -> (the item as given, its convention)
    own: dict[str, str] = {}
    for flag, items in (("-l", loss), ("-m", metric)):
        for item in (piece for given in items or [] for piece in given.split(",")):
            name, sep, wanted = (part.strip() for part in item.partition(":"))
            if not name or (sep and not wanted):
                raise UsageError(f"malformed {flag} {','.join(items or [])!r}; expected NAME or NAME:CONVENTION, "
                                 "or a comma list of them, e.g. hd95, hd95:medpy or dice,iou")
            spec = registry.get(task, name)
            name, wanted = spec.name, wanted.lower()
            if sep and wanted not in spec.conventions:
                hint = did_you_mean(wanted, spec.conventions, f"{name}:{{}}".format)
                raise UsageError(f"{flag} {item}: {name} has no convention {wanted!r}{hint}; its conventions: "
                                 f"{', '.join(spec.conventions)} (`lossctl losses {name}` shows each definition)")
            given = f"{flag} {item}" if sep else f"{flag} {name} (--convention {convention})"
            effective = wanted if sep else convention
            if name in seen and seen[name][1] != effective:
                raise UsageError(f"{seen[name][0]} and {given} give {name} two conventions; a run computes each "
                                 f"value under one: name {name} once")
            seen.setdefault(name, (given, effective))
            if sep:
                own[name] = wanted
    return tuple(seen), own


def convention_phrase(spec: Any, convention: str, own: Mapping[str, str]) -> str:
    """How a message names the convention ``spec`` is computed under: ``-m NAME:CONV`` for a value's own,
    else ``--convention CONV``."""
    if spec.name in own:
        return f"{'-l' if spec.kind == 'loss' else '-m'} {spec.name}:{own[spec.name]}"
    return f"--convention {convention}"


def own_spelling(message: str, own: Mapping[str, str], task: str) -> str:
    """A core message about a value under its own convention (``NAME under convention CONV``), as the command
    line spells it (``NAME under -m NAME:CONV``)."""
    from lossctl import registry

    for name, convention in own.items():
        spec = registry.get(task, name)
        message = message.replace(f"{name} under convention {convention}",
                                  f"{name} under {convention_phrase(spec, convention, own)}")
    return message


def parse_params(items: list[str] | None, shortcuts: dict[str, Any], task: str,
                  selected: list[Any], convention: str = "lossctl",
                  targets: dict[str, tuple[str, ...]] | None = None,
                  own: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Merge shortcut options (``--smooth``: every selected value having that parameter under its convention, or
    the values ``targets`` names) and ``--param NAME.KEY=VALUE`` items, each parsed by its parameter's kind and
    checked against the value's convention (its own, ``own``, else the run's ``convention``)."""
    from lossctl import registry

    own = own or {}

    params: dict[str, dict[str, Any]] = {}
    for key, value in shortcuts.items():
        if value is not None and isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{key.replace('_', '-')} {value}: a parameter must be a finite number")
    for spec in selected:
        impl = spec.conventions.get(own.get(spec.name, convention))
        for key, value in shortcuts.items():
            if key in (targets or {}) and spec.name not in (targets or {})[key]:
                continue
            param = impl.param(key) if impl is not None else None
            if value is None or param is None:
                continue
            parse = (lambda p=param, v=value, n=spec.name: p.parse(v, n) if isinstance(v, str) else p.check(v, n))
            params.setdefault(spec.name, {})[key] = prefixed(f"--{key.replace('_', '-')}", parse)
    for item in items or []:
        target, sep, raw = item.partition("=")
        name, dot, key = target.strip().partition(".")
        if not sep or not dot:
            raise UsageError(f"malformed --param {item!r}; expected NAME.KEY=VALUE, e.g. focal.gamma=3")
        spec = registry.get(task, name)
        name = spec.name
        impl = spec.impl(own.get(name, convention))
        param = impl.param(key)
        if param is None:
            under = (f" under {convention_phrase(spec, convention, own)}" if name in own or convention != "lossctl" else "")
            raise UsageError(f"{name} has no parameter {key!r}{under}; its parameters: "
                             f"{', '.join(p.name for p in impl.params) or '(none)'}")
        params.setdefault(name, {})[key] = prefixed(f"--param {item!r}",
                                                    lambda p=param, r=raw, n=name: p.parse(r, n))
    return params


def positive_numbers(flag: str, text: str | None, zero: bool = False) -> tuple[float, ...] | None:
    """A comma list of positive (``zero``: non-negative) finite numbers, or None when not given."""
    if text is None:
        return None
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"{flag} {text!r}: expected numbers separated by commas, e.g. 0.8,0.8,3") from None
    for v in values:
        if not (math.isfinite(v) and (v > 0 or (zero and v == 0))):
            raise UsageError(f"{flag} {text!r}: {v:g} is not a {'non-negative' if zero else 'positive'} number; "
                             "give finite values in physical units (e.g. mm)")
    return values


def parse_prob_scale(value: float | None, pred_kind: str) -> float | None:
    """``--prob-scale``: a positive finite number, with ``--pred-kind probs``."""
    if value is None:
        return None
    if not (math.isfinite(value) and value > 0):
        raise UsageError(f"--prob-scale {value:g}: give the positive stored value that means probability 1 (e.g. "
                         "255, 100, 10000)")
    if pred_kind != "probs":
        raise UsageError(f"--prob-scale {value:g} reads a probability map stored as integers (or scaled), but "
                         f"--pred-kind is {pred_kind}; pass --pred-kind probs with it")
    return value


def parse_pred_axes(text: str | None) -> str | tuple[int, ...] | None:
    """``--pred-axes``: ``reversed``, or a permutation of the prediction's axes (``0,3,2,1``)."""
    if text is None:
        return None
    if text.strip().lower() == "reversed":
        return "reversed"
    try:
        axes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--pred-axes {text!r}: give reversed, or a permutation of the prediction's axes "
                         "separated by commas (numpy.transpose's order), e.g. 0,3,2,1") from None
    if sorted(axes) != list(range(len(axes))):
        raise UsageError(f"--pred-axes {text!r}: not a permutation; give each of 0..{len(axes) - 1} once, e.g. "
                         f"{','.join(map(str, [0, *reversed(range(1, max(len(axes), 2)))]))}")
    return axes


def parse_empty_distance(text: str) -> str:
    if text in ("diagonal", "nan"):
        return text
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--empty-distance {text!r}: choose diagonal, nan or a number (BraTS 2023 uses 374)"
                         ) from None
    if not (math.isfinite(value) and value >= 0):
        raise UsageError(f"--empty-distance {text!r}: give a finite, non-negative distance, diagonal or nan")
    return repr(value)


def check_view(per_image: bool, worst: int | None) -> None:
    if per_image and worst is not None:
        raise UsageError("--per-image shows every image and --worst K only the K worst; give one of them")
