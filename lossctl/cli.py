"""The ``lossctl`` command line: parse options, call the engines, pick a writer, map errors to exit codes.

Data goes to stdout (or ``--output``); messages, warnings and the summary line go to stderr. Every
:class:`~lossctl.errors.LossctlError` is turned into ``error: <message>`` and its exit code here, in
:func:`main`, and nowhere else.
"""

from __future__ import annotations

import functools
import io as _io
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.main

from lossctl import __version__
from lossctl.errors import (
    EXIT_BROKEN_PIPE,
    EXIT_GATE_FAILED,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    InputError,
    LossctlError,
    NotAvailable,
    OutputError,
    UsageError,
)

app = typer.Typer(
    name="lossctl",
    help="Losses and metrics of model outputs, computed from files on disk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)


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

#: The command-line option of each setting the core's messages refer to (``LossctlError.option``).
OPTION_NAMES = {"alpha": "--alpha", "pred_kind": "--pred-kind", "target_kind": "--target-kind", "ignore_index": "--ignore-index",
                "weights": "--weights", "class_weights": "--class-weights", "format": "--format",
                "convention": "--convention"}


class Unmapped(str, Enum):
    error = "error"
    ignore = "ignore"


class EmptyPolicy(str, Enum):
    nan = "nan"
    zero = "zero"
    one = "one"


def _stderr(message: str) -> None:
    sys.stderr.write(_spell(message) + "\n")


def _spell(text: str) -> str:
    """``text`` with the settings the core names (:func:`lossctl.errors.setting`) spelled as this CLI's options."""
    from lossctl.errors import spell

    return spell(text, _flags()) if "\x1f" in text else text


def _spelled(document: dict[str, Any]) -> dict[str, Any]:
    """The report document with every setting the core named in it spelled as this CLI's options."""
    from lossctl.errors import spell_all

    return spell_all(document, _flags())


@functools.lru_cache(maxsize=1)
def _flags() -> dict[str, str]:
    """Each setting the core names -> its option: every command's parameter name -> its long flag (the Typer
    parameters are named after the settings), then the few settings the core names in other words."""
    command = typer.main.get_command(app)
    flags: dict[str, str] = {}
    for sub in getattr(command, "commands", {}).values():
        for param in sub.params:
            long_flags = [o for o in param.opts if o.startswith("--")]
            if param.name and long_flags:
                flags.setdefault(param.name, long_flags[0])
    return {**flags, **OPTION_NAMES}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lossctl {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """lossctl: evaluate segmentation and classification outputs against ground truth.

    Exit codes: 0 evaluated and every gate passed; 1 a gate failed; 2 usage error; 3 input error
    (a file missing, unreadable or invalid); 70 internal error; 130 interrupted.
    """


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
BaselineOpt = Annotated[Optional[Path], typer.Option(
    "--baseline", help="A JSON report of an earlier run to compare with: enables the gates delta(V), rel(V) "
                       "and worse(NAME,M).", show_default=False)]
ReportDirOpt = Annotated[Optional[Path], typer.Option(
    "--report", help="Write a self-contained HTML report to DIR/index.html (with error overlays of the worst "
                     "images).", metavar="DIR", show_default=False)]
WorstOpt = Annotated[Optional[int], typer.Option(
    "--worst", min=0, metavar="K", help="The K worst images, ranked by the first gated value (else the first "
    "value) in its own direction: the table shows them when not every row fits (default 5), the HTML report and "
    "the github summary list them (default 10).", show_default=False)]
PerImageOpt = Annotated[bool, typer.Option(help="Table: show every image's row (by default all of them only when "
                                            "they fit the width, else the --worst few).")]


#: The losses a seg shortcut option sets (the same name means different things in focal and Tversky).
SEG_SHORTCUT_TARGETS = {"alpha": ("tversky_loss", "focal_tversky_loss"),
                        "beta": ("tversky_loss", "focal_tversky_loss"), "gamma": ("focal",)}


def _parse_params(items: list[str] | None, shortcuts: dict[str, Any], task: str,
                  selected: list[Any], convention: str = "lossctl",
                  targets: dict[str, tuple[str, ...]] | None = None) -> dict[str, dict[str, Any]]:
    """Merge shortcut options (``--smooth``: every selected value having that parameter under ``convention``, or
    the values ``targets`` names) and ``--param NAME.KEY=VALUE`` items, each parsed by its parameter's kind."""
    from lossctl import registry

    params: dict[str, dict[str, Any]] = {}
    for key, value in shortcuts.items():
        if value is not None and isinstance(value, float) and not math.isfinite(value):
            raise UsageError(f"--{key.replace('_', '-')} {value}: a parameter must be a finite number")
    for spec in selected:
        impl = spec.conventions.get(convention)
        for key, value in shortcuts.items():
            if key in (targets or {}) and spec.name not in (targets or {})[key]:
                continue
            param = impl.param(key) if impl is not None else None
            if value is None or param is None:
                continue
            parse = (lambda p=param, v=value, n=spec.name: p.parse(v, n) if isinstance(v, str) else p.check(v, n))
            params.setdefault(spec.name, {})[key] = _checked(f"--{key.replace('_', '-')}", parse)
    for item in items or []:
        target, sep, raw = item.partition("=")
        name, dot, key = target.strip().partition(".")
        if not sep or not dot:
            raise UsageError(f"malformed --param {item!r}; expected NAME.KEY=VALUE, e.g. focal.gamma=3")
        spec = registry.get(task, name)
        impl = spec.impl(convention)
        param = impl.param(key)
        if param is None:
            under = f" under --convention {convention}" if convention != "lossctl" else ""
            raise UsageError(f"{name} has no parameter {key!r}{under}; its parameters: "
                             f"{', '.join(p.name for p in impl.params) or '(none)'}")
        params.setdefault(name, {})[key] = _checked(f"--param {item!r}",
                                                    lambda p=param, r=raw, n=name: p.parse(r, n))
    return params


def _checked(where: str, parse: Callable[[], Any]) -> Any:
    """``parse()``, with the option that gave the value named in a usage error."""
    try:
        return parse()
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None


def _emit(document: dict[str, Any], writer: Callable[..., None], output: str | None, per_class: bool) -> None:
    """Render with ``writer`` (see :func:`_writer`) to stdout, or to ``output``.

    A regular file (or a new one) is written atomically: a temporary file beside it, then a rename, so an
    interrupted run never leaves half a report (a symbolic link keeps pointing at the new report). Anything
    else that exists (``/dev/null``, a named pipe, a terminal) is written to directly: renaming over it would
    replace the device or pipe with a file.
    """
    if output in (None, "-"):
        if sys.stdout is None:  # started with stdout closed
            raise typer.Exit(EXIT_BROKEN_PIPE)
        try:
            writer(document, sys.stdout, per_class=per_class)
            sys.stdout.flush()
        except BrokenPipeError:  # the reader went away (`| head`): stop quietly, as a SIGPIPE would
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(EXIT_BROKEN_PIPE) from None
        return
    try:
        _write_file(document, writer, Path(output), per_class)
    except OSError as e:
        raise OutputError(f"{output}: cannot write the report ({e.strerror or e}); check the path and the "
                          "free space") from None


def _write_file(document: dict[str, Any], writer: Any, target: Path, per_class: bool) -> None:
    """Write to a device or pipe directly (``/dev/stdout`` included), to a regular (or new) file atomically
    beside the file a symbolic link points to."""
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer(document, handle, per_class=per_class)
        return
    target = target.resolve()
    buffer = _io.StringIO()
    writer(document, buffer, per_class=per_class)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_output_path(output: str | None, inputs: list[Path], option: str = "--output") -> None:
    if output in (None, "-"):
        return
    target = Path(output).resolve()
    for path in inputs:
        p = path.resolve()
        if target == p or (p.is_dir() and p in target.parents):
            raise UsageError(f"{option} {output} would overwrite or write inside the input {path}; "
                             "choose a path outside the inputs")
    if target.is_dir():
        raise UsageError(f"{option} {output} is a directory; give a file name")
    if not target.parent.is_dir():
        raise UsageError(f"{option} {output}: the folder {target.parent} does not exist; create it first")


def _parse_writes(items: list[str] | None, formats: list[str], inputs: list[Path],
                  output: str | None) -> list[tuple[str, Path]]:
    """``--write FORMAT=PATH`` items, checked before any work: a known format, a path in an existing folder,
    outside the inputs, and no path written twice (by two --write, or by --write and --output)."""
    writes: list[tuple[str, Path]] = []
    seen: dict[Path, str] = {}
    if output not in (None, "-"):
        seen[Path(output).resolve()] = f"--output {output}"
    for item in items or []:
        fmt, sep, path = item.partition("=")
        fmt = fmt.strip()
        if not sep or fmt not in formats:
            raise UsageError(f"malformed --write {item!r}; expected FORMAT=PATH with FORMAT one of "
                             f"{', '.join(formats)}")
        if not path:
            raise UsageError(f"--write {item!r} has an empty path (an unset variable such as "
                             "$GITHUB_STEP_SUMMARY?); give a file")
        if path == "-":
            raise UsageError(f"--write {item!r}: stdout carries the -f/--format output; give a file")
        _check_output_path(path, inputs, "--write")
        resolved = Path(path).resolve()
        if resolved in seen:
            raise UsageError(f"--write {item!r} writes the same file as {seen[resolved]}; give each output "
                             "its own path")
        seen[resolved] = f"--write {item}"
        writes.append((fmt, Path(path)))
    return writes


def _writer(name: str, worst: int | None, compare: bool = False, per_image: bool = False) -> Callable[..., None]:
    """The writer of format ``name`` (``compare``: of a compare document), with ``worst`` set if it takes it
    (and, for the table, ``per_image``)."""
    import functools
    import inspect

    from lossctl.report import COMPARE_WRITERS, WRITERS
    from lossctl.report.ci import DEFAULT_WORST

    writer = (COMPARE_WRITERS if compare else WRITERS)[name]
    if name == "table" and not compare:  # the table decides how many rows fit unless told (worst None)
        return functools.partial(writer, worst=worst, per_image=per_image)
    if "worst" in inspect.signature(writer).parameters:
        return functools.partial(writer, worst=DEFAULT_WORST if worst is None else worst)
    return writer


def _write_extra(document: dict[str, Any], writes: list[tuple[str, Path]], per_class: bool,
                 worst: int | None = None, compare: bool = False) -> None:
    """The ``--write`` outputs: each replaced atomically, except ``github``, appended to (the step summary file
    is shared by a job's steps)."""
    for fmt, path in writes:
        writer = _writer(fmt, worst, compare)
        try:
            if fmt == "github":
                buffer = _io.StringIO()
                writer(document, buffer, per_class=per_class)
                with open(path, "a", encoding="utf-8", newline="") as handle:
                    handle.write(buffer.getvalue())
            else:
                _write_file(document, writer, path, per_class)
        except OSError as e:
            raise OutputError(f"{path}: cannot write the {fmt} report ({e.strerror or e}); check the path and "
                              "the free space") from None


def _load_baseline(path: Path | None, command: str, class_names: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """Read ``--baseline`` (exit 3 if unreadable); refuse one of another command, or (before any work) of other
    class names than the run gives (exit 2): the report would have these names, and compare would refuse it."""
    if path is None:
        return None
    from lossctl.engine.compare import load_report

    base = load_report(path)
    if base["command"] != command:
        raise UsageError(f"--baseline {path} is a report of `lossctl {base['command']}`, not of `lossctl "
                         f"{command}`; give a baseline written by the same command")
    names = base["config"].get("class_names") or []
    if class_names and list(class_names) != names:
        raise UsageError(f"--baseline {path} has the classes {', '.join(map(str, names))} but this run names "
                         f"{', '.join(class_names)}; compare runs over the same classes (same --class-names)")
    return base


def _apply_baseline(document: dict[str, Any], base: dict[str, Any] | None, path: Path | None,
                    gates: list[Any]) -> None:
    """Check the baseline against the new report (classes: exit 2), print notes, add the baseline gates."""
    if base is None:
        return
    from lossctl.engine.compare import add_baseline_gates, check_compatible, validate_compare_gates

    notes = check_compatible(base, document, f"--baseline {path}")
    validate_compare_gates([g for g in gates if g.against is not None], base, document)
    for note in notes:
        _stderr(f"note: {note}")
    document["config"]["baseline"] = str(path)
    add_baseline_gates(document, base, gates)


def _github_annotations(document: dict[str, Any]) -> None:
    """Under GitHub Actions, one ``::error`` workflow command per failed gate, on stderr: the runner reads
    workflow commands from both output streams, and stdout may carry the report into a pipe."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from lossctl.engine.compare import gate_threshold_text

    for g in document["gates"]:
        if not g["passed"]:
            message = f"{g['gate']} failed: {gate_threshold_text(g)}"
            escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            _stderr(f"::error title=lossctl {document['command']} gate::{escaped}")


@contextmanager
def _progress(total: int, unit: str = "pairs") -> Iterator[Callable[[Any], None] | None]:
    """A transient progress bar on stderr, only when stderr is a terminal and there is more than one pair: done
    and total, throughput (pairs per second) and the estimated time left."""
    if total < 2 or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[rate]}"), TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("evaluating", total=total, rate=f"- {unit}/s")

        def advance(_outcome: Any) -> None:
            bar.advance(task)
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:.1f} {unit}/s" if speed else f"- {unit}/s")

        yield advance


def _finish(document: dict[str, Any], skip_errors: bool) -> int:
    """Print errors and the summary line to stderr; return the exit code the document calls for."""
    _check_gates_against_data(document)
    for err in document["errors"]:
        _stderr(("warning: " if skip_errors else "error: ") + err["error"])
    failed = [g for g in document["gates"] if not g["passed"]]
    n_images, n_errors = document["summary"]["count"], len(document["errors"])
    unit = "sample" if document["command"] == "cls" else "image"
    line = f"lossctl: evaluated {n_images} {unit}(s), {n_errors} failed"
    if document["gates"]:
        line += f"; gates: {len(document['gates']) - len(failed)} passed, {len(failed)} failed"
    ignored = _everything_ignored(document)
    _stderr(f"error: {ignored}" if ignored else line)  # "evaluated 0 samples" would not say why
    _github_annotations(document)
    if ignored:
        return EXIT_INPUT
    empty_shard = document["config"].get("shard") is not None and n_images == 0 and not n_errors
    if (n_errors and not skip_errors) or (n_images == 0 and not empty_shard):
        return EXIT_INPUT
    return EXIT_GATE_FAILED if failed else EXIT_OK


@app.command("seg")
def seg_command(
    pred: Annotated[Optional[Path], typer.Argument(help="Prediction file or folder (PNG, TIFF, NPY, NPZ).",
                                                   show_default=False, metavar="PRED")] = None,
    gt: Annotated[Optional[Path], typer.Argument(help="Ground-truth file or folder of integer label masks.",
                                                 show_default=False, metavar="GT")] = None,
    pred_pattern: Annotated[Optional[str], typer.Option(help="Name predictions by this pattern of their path "
                                                        "in PRED, with one {name}, e.g. '{name}_leftImg8bit.png'.")
                            ] = None,
    gt_pattern: Annotated[Optional[str], typer.Option(help="Name ground-truth files by this pattern of their path "
                                                      "in GT, e.g. '{name}_gtFine_labelIds.png'.")] = None,
    pairs: Annotated[Optional[str], typer.Option(help="Read the pairs from this list instead of PRED and GT ('-': "
                                                 "stdin): PRED<TAB>GT or PRED,GT lines, an optional name column.")
                     ] = None,
    pred_kind: Annotated[PredKind, typer.Option(
        help="What the prediction holds. auto: integer data are labels, floating-point data are "
             "probabilities (checked); logits are never guessed.")] = PredKind.auto,
    channels_last: Annotated[bool, typer.Option(help="Probability/logit arrays are (H,W,C), not (C,H,W).")] = False,
    npz_key: Annotated[Optional[str], typer.Option(help="Array to read from prediction NPZ files holding "
                                                   "several.")] = None,
    gt_npz_key: Annotated[Optional[str], typer.Option(help="Array to read from ground-truth NPZ files holding "
                                                      "several.")] = None,
    num_classes: Annotated[Optional[int], typer.Option(min=1, help="Number of classes (default: the number "
                                                       "of channels, or the largest label + 1).")] = None,
    class_names: Annotated[Optional[str], typer.Option(help="Comma-separated class names, in class order, or "
                                                       "@FILE (one name per line).")] = None,
    dataset_json: Annotated[Optional[Path], typer.Option(help="nnU-Net dataset.json: class names and count, the "
                                                         "ignore label, regions.")] = None,
    label_map: Annotated[Optional[str], typer.Option(help="Map ground-truth values before anything is computed: "
                                                     "FROM:TO,... (TO may be ignore), a JSON object, a from,to CSV, "
                                                     "or cityscapes / reduce-zero.")] = None,
    pred_label_map: Annotated[Optional[str], typer.Option(help="Map label predictions too (same SPEC); a value "
                                                          "mapped to ignore predicts no class.")] = None,
    unmapped: Annotated[Optional[Unmapped], typer.Option(help="A value a label map does not name: error "
                                                         "(default), or ignore (void).")] = None,
    ignore_index: Annotated[Optional[list[int]], typer.Option(
        help="Ground-truth label to leave out of every value (repeatable), e.g. 255.")] = None,
    threshold: Annotated[float, typer.Option(min=0.0, max=1.0, help="Foreground threshold for a binary "
                                             "probability/logit map (hard metrics).")] = 0.5,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", "-l", help="Loss to compute (repeatable); "
                                                      "default: all when the prediction is soft.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metric to compute "
                                                        "(repeatable); default: all.")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Tversky's false-positive weight (tversky_loss and "
                                                   "focal_tversky_loss).")] = None,
    beta: Annotated[Optional[float], typer.Option(help="Tversky's false-negative weight (tversky_loss and "
                                                  "focal_tversky_loss).")] = None,
    gamma: Annotated[Optional[float], typer.Option(help="focal's focusing exponent (focal_tversky_loss's "
                                                   "exponent: -p focal_tversky_loss.gamma=...).")] = None,
    smooth: Annotated[Optional[float], typer.Option(help="Set smooth of every region loss.")] = None,
    eps: Annotated[Optional[float], typer.Option(help="Set eps of every region loss.")] = None,
    param: ParamOpt = None,
    empty: Annotated[EmptyPolicy, typer.Option(help="Value of a 0/0 metric (a class absent from both "
                                               "masks): nan is left out of means and counted.")] = EmptyPolicy.nan,
    exclude_background: Annotated[bool, typer.Option(help="Leave class 0 out of class means.")] = False,
    convention: Annotated[SegConvention, typer.Option(
        help="Compute each loss and metric as this framework defines it; see `lossctl losses NAME`.")
    ] = SegConvention.lossctl,
    per_class: Annotated[bool, typer.Option(help="Also show per-class values.")] = False,
    per_image: PerImageOpt = False,
    gate: GateOpt = None,
    allow_missing: Annotated[bool, typer.Option(help="Evaluate the files present on both sides and report "
                                                "the rest, instead of failing.")] = False,
    skip_errors: Annotated[bool, typer.Option(help="Report unreadable or invalid pairs as warnings; the "
                                              "gates alone decide the exit code.")] = False,
    workers: Annotated[int, typer.Option(min=0, help="Cores to use (0 = all): processes over the pairs when "
                                         "there are at least 2 per process, else threads inside one.")] = 0,
    max_memory: Annotated[Optional[str], typer.Option(
        help="Memory one pair may use (bytes; K, M, G suffixes): larger decoded images are refused before "
             "decoding, larger probability volumes evaluated in chunks. Default: half the available memory.",
        show_default=False)] = None,
    max_pixels: Annotated[int, typer.Option(min=1, hidden=True, help="Deprecated: use --max-memory. Refuse "
                                            "images or volumes with more elements.")] = 2**31,
    shard: Annotated[Optional[str], typer.Option(help="Evaluate only the K-th of N deterministic slices of the "
                                                 "pairs (K/N); combine the JSON reports with `lossctl merge`.")] = None,
    spacing: Annotated[Optional[str], typer.Option(help="Voxel spacing S0,S1[,S2] in the arrays' axis order, for "
                                                   "files without one (NPY, PNG, TIFF); overrides headers.")] = None,
    nsd_tolerance: Annotated[Optional[str], typer.Option(help="nsd tolerance in physical units: one value, or one "
                                                         "per foreground class then per region.")] = None,
    empty_distance: Annotated[str, typer.Option(help="hd/hd95/assd/masd of a class present in exactly one mask: "
                                                "diagonal (the image's), nan (undefined) or a number.")] = "diagonal",
    region: Annotated[Optional[list[str]], typer.Option(help="Evaluate a union of labels as one more class: "
                                                        "NAME=L1,L2,... (repeatable), e.g. WT=1,2,3.")] = None,
    output_format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    write: WriteOpt = None,
    baseline: BaselineOpt = None,
    report: ReportDirOpt = None,
    worst: WorstOpt = None,
) -> None:
    """Evaluate segmentation predictions against ground-truth masks or volumes (files or folders)."""
    from lossctl import registry
    from lossctl.engine.gates import parse_gate
    from lossctl.io import parse_memory
    from lossctl.engine.seg import (SegConfig, build_report, check_gate_names, evaluate, parse_shard, resolve_workers,
                             select_shard)

    names_ = tuple(dict.fromkeys([*(loss or []), *(metric or [])]))
    for n in names_:
        registry.get("seg", n)
    if loss and not metric:  # with the metrics the convention defines
        names_ = tuple(s.name for s in registry.specs("seg", "metric")
                       if convention.value in s.conventions and not s.opt_in) + names_
    classes = _dataset_options(num_classes, class_names, dataset_json, label_map, pred_label_map, unmapped,
                               tuple(ignore_index or ()), pred_kind.value)
    dataset_regions = classes.pop("region_items")
    region_items = dataset_regions + list(region or [])  # dataset.json's regions, then --region
    if dataset_regions:
        _stderr(f"note: {_region_based_note(dataset_json, dataset_regions, classes['num_classes'])}")
    config = SegConfig(values=names_, pred_kind=pred_kind.value, **classes,
                       threshold=threshold, channels_last=channels_last, npz_key=npz_key, gt_npz_key=gt_npz_key,
                       max_pixels=max_pixels, max_memory=None if max_memory is None else parse_memory(max_memory),
                       empty=empty.value, include_background=not exclude_background,
                       convention=convention.value, spacing=_positive_numbers("--spacing", spacing),
                       nsd_tolerance=_positive_numbers("--nsd-tolerance", nsd_tolerance, zero=True) or (1.0,),
                       empty_distance=_empty_distance(empty_distance),
                       regions=_parse_regions(region_items, tuple(classes.get("class_names") or ()),
                                              classes.get("num_classes")))
    shortcuts = {"alpha": alpha, "beta": beta, "gamma": gamma, "smooth": smooth, "eps": eps}
    config = replace(config, params=_parse_params(param, shortcuts, "seg", config.selected(), convention.value,
                                                  SEG_SHORTCUT_TARGETS))
    _check_boundary_options(config)
    for spec in config.selected():
        reason = spec.unavailable(config.convention, config.pred_kind)
        if reason:
            raise NotAvailable(reason)
        if (spec.kind == "metric" and spec.per_class and config.empty != "nan" and not spec.opt_in
                and spec.impl(config.convention).param("empty") is None):
            raise UsageError(f"--empty {config.empty}: {spec.name} under --convention {config.convention} has its "
                             "own rule for 0/0 (see `lossctl losses NAME`); drop --empty")
    gates = [parse_gate(g) for g in gate or []]
    check_gate_names(gates, config, baseline=baseline is not None)
    _check_view(per_image, worst)
    inputs = [Path(p) for p in (pred, gt, pairs) if p is not None and str(p) != "-"]
    writes = _parse_writes(write, [f.value for f in OutputFormat], inputs, output)
    _check_report_dir(report, inputs)
    base = _load_baseline(baseline, "seg", config.class_names)
    if shard is not None:
        parse_shard(shard)
        if base is not None:
            raise UsageError("--baseline with --shard would compare one shard with the whole baseline; give "
                             "--baseline and the baseline gates to `lossctl merge`, which sees every image")
    pairing, sources = _pair_inputs(pred, gt, pairs, pred_pattern, gt_pattern, output)
    if pairs is not None:  # the listed files may live anywhere: the report must not go inside their folders
        _check_report_dir(report, sorted({q.parent for pair in pairing.pairs for q in (pair.pred, pair.gt)}))

    if allow_missing and pairs is not None:
        pairing = pairing.without_absent_files()
    if not allow_missing:
        pairing.require_complete()
    elif pairing.missing_gt or pairing.missing_pred:
        _stderr(f"warning: skipped {len(pairing.missing_gt)} prediction(s) without ground truth and "
                f"{len(pairing.missing_pred)} ground truth file(s) without prediction")
    selected = select_shard(pairing.pairs, shard)
    absent = _absent_listed_files(selected) if pairs is not None else []
    selected = [pair for pair in selected if pair.name not in {failure.name for failure in absent}]
    with _progress(len(selected)) as advance:
        outcomes = evaluate(selected, config, resolve_workers(workers), on_result=advance) + absent
    document = _spelled(build_report(outcomes, config, [g for g in gates if g.against is None], sources=sources,
                                     shard=shard))
    document["skipped"] = {"missing_gt": pairing.missing_gt, "missing_pred": pairing.missing_pred}
    _apply_baseline(document, base, baseline, gates)
    _emit(document, _writer(output_format.value, worst, per_image=per_image), output, per_class)
    _write_extra(document, writes, per_class, worst)
    _write_report_dir(document, report, worst, config)
    raise typer.Exit(_finish(document, skip_errors))


def _positive_numbers(flag: str, text: str | None, zero: bool = False) -> tuple[float, ...] | None:
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


def _empty_distance(text: str) -> str:
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


def _parse_regions(items: list[str], classes: tuple[str, ...], num_classes: int | None
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
            raise UsageError(f"malformed --region {item!r}; expected NAME=L1,L2,..., e.g. WT=1,2,3")
        if name in classes or name.lstrip("+-").isdigit() or not name.replace("_", "a").isalnum():
            what = "a class's name" if name in classes else "not a plain name (letters, digits, _)"
            raise UsageError(f"--region {item!r}: {name!r} is {what}; give the region a name of its own "
                             "(it is used in per_class and in gates such as dice[WT])")
        if name in (n for n, _ in regions):
            raise UsageError(f"--region {item!r}: the name {name!r} is given twice; give each region once")
        for v in labels:
            if v < 1 or (num_classes is not None and v >= num_classes):
                top = f"1..{num_classes - 1}" if num_classes is not None else "1 or more"
                raise UsageError(f"--region {item!r}: label {v} is not a foreground class ({top}); fix the "
                                 "region's labels")
        regions.append((name, labels))
    return tuple(regions)


def _check_boundary_options(config: Any) -> None:
    """Boundary metrics exist under lossctl, monai, medpy and deepmind, each with the metrics it defines."""
    from lossctl.metrics import boundary

    for name in config.boundary_names():
        rule = boundary.CONVENTIONS.get(config.convention)
        if rule is None:
            raise UsageError(f"{name} under --convention {config.convention}: that framework has no boundary "
                             f"metrics; use --convention {', '.join(boundary.CONVENTIONS)}")
        if not rule.has(name):
            others = [c for c, r in boundary.CONVENTIONS.items() if r.has(name)]
            raise UsageError(f"--convention {config.convention} has no {name}; drop -m {name} or use "
                             f"--convention {' or '.join(others)}")


def _absent_listed_files(pairs: list[Any]) -> list[Any]:
    """A failure for each listed pair with a file that does not exist (the other pairs are evaluated)."""
    from lossctl.io import display_path
    from lossctl.dataset.pairing import absent_files
    from lossctl.engine.seg import PairFailure

    return [PairFailure(str(path), f"{display_path(path)}: no such {side} file ({pair.origin}); fix the path "
                        "(relative paths are read from the list's folder), or pass --allow-missing to leave such "
                        "lines out", pair.name) for pair, path, side in absent_files(pairs)]


def _pair_inputs(pred: Path | None, gt: Path | None, pairs: str | None, pred_pattern: str | None,
                 gt_pattern: str | None, output: str | None) -> tuple[Any, dict[str, str]]:
    """Pair PRED and GT (by name, or by name patterns), or read the list of pairs; also return the report's
    ``config`` entries that say where the pairs came from."""
    from lossctl.io import decode_text
    from lossctl.dataset.pair_lists import read_pairs, read_pairs_file
    from lossctl.dataset.pairing import compile_pattern, pair_files

    if pairs is not None:
        if pred is not None or gt is not None:
            raise UsageError(f"--pairs {pairs} lists the pairs, so PRED and GT are not given; drop "
                             f"{' and '.join(str(p) for p in (pred, gt) if p is not None)} or --pairs")
        if pred_pattern or gt_pattern:
            raise UsageError("--pred-pattern and --gt-pattern name the files of PRED and GT folders; with --pairs, "
                             "name images in the list's third column")
        _check_output_path(output, [Path(pairs)] if pairs != "-" else [])
        if pairs == "-":
            if sys.stdin is None or sys.stdin.isatty():
                raise UsageError("--pairs -: standard input is a terminal; pipe the list in (e.g. `find ... | "
                                 "lossctl seg --pairs -`) or give the list's file")
            return read_pairs(decode_text(sys.stdin.buffer.read(), "<stdin>", "list of pairs"), base=Path.cwd(),
                              source="<stdin>"), {"pairs": "-"}
        return read_pairs_file(pairs), {"pairs": pairs}
    if pred is None or gt is None:
        missing = "GT" if pred is not None else "PRED and GT"
        raise UsageError(f"Missing argument {missing}: give PRED and GT (two folders or two files), or --pairs FILE "
                         "('-' for stdin)")
    for path in (pred, gt):
        if str(path) == "-":
            raise UsageError("seg reads PRED and GT from files, not from standard input; to pipe a list of "
                             "pairs in, use --pairs -")
    patterns = {}
    for flag, text in (("--pred-pattern", pred_pattern), ("--gt-pattern", gt_pattern)):
        if text is not None:
            try:
                patterns[flag] = compile_pattern(text)
            except UsageError as e:
                raise UsageError(f"{flag}: {e}") from None
    _check_output_path(output, [pred, gt])
    pairing = pair_files(pred, gt, pred_pattern=patterns.get("--pred-pattern"),
                         gt_pattern=patterns.get("--gt-pattern"))
    sources = {"pred": str(pred), "gt": str(gt)}
    sources.update({key: text for key, text in (("pred_pattern", pred_pattern), ("gt_pattern", gt_pattern))
                    if text is not None})
    return pairing, sources


def _check_view(per_image: bool, worst: int | None) -> None:
    if per_image and worst is not None:
        raise UsageError("--per-image shows every image and --worst K only the K worst; give one of them")


def _flagged(flag: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, with a usage error's message prefixed by the option it came from."""
    try:
        return fn(*args)
    except UsageError as e:
        raise UsageError(f"{flag}: {e}") from None


def _region_based_note(path: Path | None, items: list[str], count: int | None) -> str:
    """How a region-based dataset.json is reported: nnU-Net reports only its regions; lossctl lists the labels
    (the confusion matrix's classes) first, and its mean values are over those labels."""
    names = ", ".join(item.partition("=")[0] for item in items)
    labels = f"labels 0..{count - 1}" if count else "labels"
    first = items[0].partition("=")[0]
    return (f"{path} is region-based: nnU-Net reports only its regions ({names}); lossctl lists the {labels} "
            f"first and its mean values (dice, iou, ...) are over those labels, the regions follow in per_class: "
            f"read and gate the regions by name, e.g. -g 'dice[{first}]>=0.8'")


def _dataset_options(num_classes: int | None, class_names: str | None, dataset_json: Path | None,
                     label_map: str | None, pred_label_map: str | None, unmapped: Unmapped | None,
                     ignore_index: tuple[int, ...], pred_kind: str) -> dict[str, Any]:
    """The class names and count, ignored values and label maps of a seg run, from --num-classes,
    --class-names (or @FILE), --dataset-json, --label-map, --pred-label-map and --unmapped."""
    from lossctl.dataset.descriptions import read_class_names, read_dataset_json
    from lossctl.dataset.label_maps import check_classes, parse_label_map

    maps = {flag: _flagged(flag, parse_label_map, spec)
            for flag, spec in (("--label-map", label_map), ("--pred-label-map", pred_label_map)) if spec is not None}
    if unmapped is not None and not maps:
        raise UsageError("--unmapped says what a label map does with values it does not name; give --label-map or "
                         "--pred-label-map, or drop --unmapped")
    if "--pred-label-map" in maps and pred_kind in ("probs", "logits"):
        raise UsageError(f"--pred-label-map maps label predictions, but --pred-kind is {pred_kind}; drop one")
    if class_names and dataset_json:
        raise UsageError("--class-names and --dataset-json both name the classes; give one of them")
    names: tuple[str, ...] = ()
    region_items: list[str] = []  # dataset.json's regions, as --region items
    if class_names == "@-":
        raise UsageError("--class-names @-: standard input is for --pairs -; give the file of class names")
    if class_names and class_names.startswith("@"):
        names = _flagged("--class-names", read_class_names, class_names[1:])
    elif class_names:
        names = tuple(c.strip() for c in class_names.split(","))
    elif dataset_json is not None:
        if str(dataset_json) == "-":
            raise UsageError("--dataset-json -: standard input is for --pairs -; give the dataset.json file")
        description = _flagged("--dataset-json", read_dataset_json, dataset_json)
        names = description.class_names
        region_items = [f"{name}={','.join(map(str, labels))}" for name, labels in description.regions]
        ignore_index = tuple(dict.fromkeys((*ignore_index, *description.ignore_index)))
    where = "--class-names" if class_names else "--dataset-json"
    if names and num_classes is not None and num_classes != len(names):
        raise UsageError(f"--num-classes {num_classes} but {where} names {len(names)} classes; drop "
                         "--num-classes (the names set it) or name every class")
    own = next((m.class_names for m in maps.values() if m.class_names), ())  # a built-in's names (cityscapes)
    if not names and own and num_classes in (None, len(own)):
        names = own
    count = num_classes or len(names) or max((m.num_classes or 0 for m in maps.values()), default=0) or None
    if count is not None:
        for flag, m in maps.items():
            _flagged(flag, check_classes, m, count)
    pred_map = maps.get("--pred-label-map")
    if pred_map is not None and count is None and (pred_map.voids or unmapped is Unmapped.ignore):
        raise UsageError("--pred-label-map maps values to ignore, and a prediction of no class needs the class "
                         "count; pass --num-classes or --class-names")
    if region_items:  # checked as --region items are, the message naming the file
        _flagged(f"--dataset-json {dataset_json}", _parse_regions, region_items, names, count)
    return {"num_classes": count, "class_names": names, "ignore_index": ignore_index,
            "label_map": maps.get("--label-map"), "pred_label_map": pred_map,
            "unmapped": (unmapped or Unmapped.error).value, "region_items": region_items}


class ClsPredKind(str, Enum):
    auto = "auto"
    probs = "probs"
    logits = "logits"
    scores = "scores"


@app.command("cls")
def cls_command(
    pred: Annotated[str, typer.Argument(help="Scores, probabilities or logits: (N,) or (N,C), from .npy, .npz, "
                                        ".csv/.tsv (header optional) or '-' (stdin, NPY or CSV).",
                                        show_default=False, metavar="PRED")],
    target: Annotated[str, typer.Argument(help="Targets: (N,) labels, or (N,C) one-hot, soft or multilabel.",
                                          show_default=False, metavar="TARGET")],
    pred_kind: Annotated[ClsPredKind, typer.Option(
        help="auto: values in [0,1] (rows summing to 1 for class-index targets) are probabilities; "
             "anything else is refused, never guessed to be logits.")] = ClsPredKind.auto,
    convention: Annotated[ClsConvention, typer.Option(
        help="Reproduce this framework's definition of every loss and metric (see `lossctl losses NAME`).")
    ] = ClsConvention.lossctl,
    target_kind: Annotated[TargetKind, typer.Option(
        help="How targets are read: binary, index (class indices), onehot, multilabel or soft. auto: (N,) by the "
             "prediction's shape; (N,C) rows exactly one-hot are onehot (a note says so), other 0/1 rows "
             "multilabel, rows of fractions summing to 1 soft.")] = TargetKind.auto,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", "-l", help="Loss to compute (repeatable); "
                                                      "default: every loss the inputs allow.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metric (repeatable); "
                                                        "default: all.")] = None,
    weights: Annotated[Optional[str], typer.Option(help="Per-sample weights file, (N,).")] = None,
    class_weights: Annotated[Optional[str], typer.Option(help="Comma-separated class weights w0,w1,...")] = None,
    pos_weight: Annotated[Optional[float], typer.Option(help="weighted_bce positive weight (default "
                                                        "#neg/#pos).")] = None,
    label_smoothing: Annotated[Optional[float], typer.Option(min=0.0, max=1.0, help="Set label_smoothing of "
                                                             "every selected loss having it.")] = None,
    gamma: Annotated[Optional[float], typer.Option(help="Focal gamma.")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="Focal alpha (weight of class 1).")] = None,
    hinge: Annotated[Optional[str], typer.Option(help="multiclass_hinge flavour: crammer_singer, "
                                                 "weston_watkins or keras_categorical.")] = None,
    ignore_index: Annotated[Optional[int], typer.Option(help="Target value to leave out, e.g. -100.")] = None,
    param: ParamOpt = None,
    per_sample: Annotated[bool, typer.Option(help="Also output one row per sample.")] = False,
    npz_key: Annotated[Optional[str], typer.Option(help="Array to read from NPZ files holding several.")] = None,
    gate: GateOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    write: WriteOpt = None,
    baseline: BaselineOpt = None,
    report: ReportDirOpt = None,
    worst: WorstOpt = None,
) -> None:
    """Evaluate classification predictions (N samples) against targets."""
    from lossctl import io as lio
    from lossctl import registry
    from lossctl.engine.cls import ClsConfig, build_report
    from lossctl.engine.gates import parse_gate, validate_gates

    names_ = tuple(dict.fromkeys([*(loss or []), *(metric or [])]))
    for n in names_:
        registry.get("cls", n)
    if loss and not metric:  # with the metrics the convention defines
        names_ = tuple(s.name for s in registry.specs("cls", "metric") if convention.value in s.conventions) + names_
    params = _parse_params(param, {"label_smoothing": label_smoothing, "gamma": gamma, "alpha": alpha,
                                   "pos_weight": pos_weight, "hinge": hinge}, "cls",
                           ClsConfig(values=names_).selected(), convention.value)
    cw = None
    if class_weights:
        try:
            cw = tuple(float(v) for v in class_weights.split(","))
        except ValueError:
            raise UsageError(f"--class-weights {class_weights!r}: expected numbers separated by commas") from None

    if pred == "-" and target == "-":
        raise UsageError("PRED and TARGET cannot both be '-' (stdin)")
    gates = [parse_gate(g) for g in gate or []]
    config = ClsConfig(values=names_, convention=convention.value, target_kind=target_kind.value,
                       ignore_index=ignore_index, class_weights=cw, params=params,
                       per_sample=per_sample or bool(worst))
    for spec in config.selected():
        if spec.name in names_:
            spec.impl(config.convention)  # asked for by name: refused now if the convention lacks it
    validate_gates(gates, {s.name: s for s in config.selected()}, per_class=False, metrics_per_item=False,
                   baseline=baseline is not None)
    inputs = [Path(p) for p in (pred, target, weights) if p and p != "-"]
    _check_output_path(output, inputs)
    writes = _parse_writes(write, [f.value for f in OutputFormat], inputs, output)
    _check_report_dir(report, inputs)
    base = _load_baseline(baseline, "cls")
    stdin = sys.stdin.buffer.read() if "-" in (pred, target) else None
    arrays = {}
    for label, path in (("pred", pred), ("target", target), ("weights", weights)):
        if path is None:
            continue
        arrays[label] = lio.load_table(None if path == "-" else path, stdin_bytes=stdin if path == "-" else None,
                                       npz_key=npz_key).array
    try:
        x = config.prepare(arrays["pred"], arrays["target"], arrays.get("weights"), pred_kind.value)
    except LossctlError as e:
        subject = getattr(e, "subject", None) or "pred"
        file = {"pred": pred, "target": target, "weights": weights}.get(subject) or pred
        raise _with_file(e, "<stdin>" if file == "-" else file) from None
    document = _spelled(build_report(x, config, [g for g in gates if g.against is None],
                                     sources={"pred": pred, "target": target}))
    _apply_baseline(document, base, baseline, gates)
    _emit(document, _writer(output_format.value, worst, per_image=worst is None), output, False)
    _write_extra(document, writes, False, worst)
    _write_report_dir(document, report, worst, None)
    for note in document["config"]["notes"]:
        _stderr(f"note: {note}")
    for name, reason in document["config"]["not_available"].items():
        if "convention" in reason:
            _stderr(f"note: {name} skipped: {reason}")
    raise typer.Exit(_finish(document, False))


@app.command("merge")
def merge_command(
    reports: Annotated[list[Path], typer.Argument(help="JSON reports of the shards of one `lossctl seg` run.",
                                                  show_default=False)],
    gate: GateOpt = None,
    per_class: Annotated[bool, typer.Option(help="Also show per-class values.")] = False,
    per_image: PerImageOpt = False,
    skip_errors: Annotated[bool, typer.Option(help="Failed pairs are warnings; the gates decide.")] = False,
    output_format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    expect: Annotated[Optional[int], typer.Option(min=1, help="The number of shards N the run was split into: "
                                                  "names the missing or repeated shards (exit 3).")] = None,
    write: WriteOpt = None,
    report: ReportDirOpt = None,
    worst: WorstOpt = None,
    baseline: BaselineOpt = None,
) -> None:
    """Combine sharded `lossctl seg --shard K/N -f json` reports into the report of the whole run."""
    import json

    from lossctl.engine.gates import parse_gate, validate_gates
    from lossctl.engine.seg import merge_reports

    documents = []
    for path in reports:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{path}: cannot read it as a JSON report ({type(e).__name__}); give the files "
                             "written by `lossctl seg -f json`") from None
        if not (isinstance(document, dict) and document.get("command") == "seg"):
            raise InputError(f"{path}: not a report of `lossctl seg -f json`; give the files it wrote")
        documents.append(document)
    _check_output_path(output, list(reports))
    _check_view(per_image, worst)
    writes = _parse_writes(write, [f.value for f in OutputFormat], list(reports), output)
    _check_report_dir(report, list(reports))
    base = _load_baseline(baseline, "seg")
    extra = [parse_gate(g) for g in gate or []]
    if base is None:
        validate_gates([g for g in extra if g.against], {}, baseline=False)  # refused before the work
    document = _spelled(merge_reports(documents, [g for g in extra if g.against is None], expect=expect))
    if base is not None:
        merged = [parse_gate(t) for t in document["config"]["gates"]]
        _apply_baseline(document, base, baseline, merged + [g for g in extra if g.against is not None])
    _emit(document, _writer(output_format.value, worst, per_image=per_image), output, per_class)
    _write_extra(document, writes, per_class, worst)
    _write_report_dir(document, report, worst, None)
    raise typer.Exit(_finish(document, skip_errors))


CompareFormat = _choices("CompareFormat", [f.value for f in OutputFormat if f is not OutputFormat.ndjson])


@app.command("compare")
def compare_command(
    base: Annotated[Path, typer.Argument(help="The baseline: a JSON report of `lossctl seg` or `lossctl cls`.",
                                         show_default=False, metavar="BASE.json")],
    new: Annotated[Path, typer.Argument(help="The new JSON report, of the same command.", show_default=False,
                                        metavar="NEW.json")],
    gate: GateOpt = None,
    bootstrap: Annotated[int, typer.Option(min=0, help="Bootstrap resamples for the 95% intervals of the mean "
                                           "per-image delta (0: no intervals).")] = 2000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the bootstrap (the same seed gives the same "
                                      "intervals).")] = 0,
    worst: Annotated[int, typer.Option(min=0, help="Per value, list the K images that got worse the "
                                       "most.")] = 10,
    per_class: Annotated[bool, typer.Option(help="Also show per-class values in the table.")] = False,
    output_format: Annotated[CompareFormat, typer.Option("--format", "-f", envvar="LOSSCTL_FORMAT",
                                                         help="Output format written to stdout (or --output).")
                             ] = CompareFormat.table,
    output: OutputOpt = None,
    write: WriteOpt = None,
    report: ReportDirOpt = None,
) -> None:
    """Compare a new report with a baseline: deltas, paired bootstrap intervals, images that got worse, gates."""
    from lossctl.engine.compare import check_compatible, compare_reports, load_report, validate_compare_gates
    from lossctl.engine.gates import parse_gate

    gates = [parse_gate(g) for g in gate or []]
    _check_output_path(output, [base, new])
    writes = _parse_writes(write, [f.value for f in CompareFormat], [base, new], output)
    _check_report_dir(report, [base, new])
    base_doc, new_doc = load_report(base, "baseline"), load_report(new, "new")
    notes = check_compatible(base_doc, new_doc, str(base))
    validate_compare_gates(gates, base_doc, new_doc)
    for note in notes:
        _stderr(f"note: {note}")
    document = _spelled(compare_reports(base_doc, new_doc, gates, resamples=bootstrap, worst=worst, seed=seed,
                                        sources={"base": str(base), "new": str(new)}, notes=notes))
    _emit(document, _writer(output_format.value, worst, compare=True), output, per_class)
    _write_extra(document, writes, per_class, worst, compare=True)
    _write_report_dir(document, report, worst, None, (base_doc, new_doc))
    failed = [g for g in document["gates"] if not g["passed"]]
    unit = "sample" if new_doc["command"] == "cls" else "image"
    line = (f"lossctl: compared {document['config']['paired']} {unit}(s) in both reports "
            f"({len(document['only_in_base'])} only in base, {len(document['only_in_new'])} only in new)")
    if gates:
        line += f"; gates: {len(gates) - len(failed)} passed, {len(failed)} failed"
    _stderr(line)
    _github_annotations(document)
    raise typer.Exit(EXIT_GATE_FAILED if failed else EXIT_OK)


def _check_report_dir(directory: Path | None, inputs: list[Path]) -> None:
    """``--report DIR``: refused inside (or onto) an input, or onto a file; its parent must exist."""
    if directory is None:
        return
    target = directory.resolve()
    for path in inputs:
        p = path.resolve()
        if target == p or p in target.parents:
            raise UsageError(f"--report {directory} is (or is inside) the input {path}; write the report "
                             "outside the inputs")
    if target.exists() and not target.is_dir():
        raise UsageError(f"--report {directory} is a file; give a folder (it will hold index.html)")
    if not target.parent.is_dir():
        raise UsageError(f"--report {directory}: the folder {target.parent} does not exist; create it first")


def _write_report_dir(document: dict[str, Any], directory: Path | None, worst: int | None,
                      config: Any, compared: tuple[dict[str, Any], dict[str, Any]] | None = None) -> None:
    if directory is None:
        return
    from lossctl.report.html import write_report

    try:
        write_report(document, directory, worst=10 if worst is None else worst, config=config, compared=compared)
    except OSError as e:
        raise OutputError(f"{directory}: cannot write the HTML report ({e.strerror or e}); check the path and "
                          "the free space") from None


@app.command("losses")
def losses_command(
    name: Annotated[Optional[str], typer.Argument(help="Show one entry in full.", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table or markdown")] = "table",
) -> None:
    """List every loss and metric (or explain one): task, input, direction, parameters, formula."""
    from lossctl.report.catalogue import explain, render

    sys.stdout.write(explain(name) if name else render(output_format))


def main() -> None:
    """Entry point: run the app, turning lossctl errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
            _stderr("lossctl: interrupted")
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except LossctlError as error:
        _stderr(f"error: {_with_option(error)}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        _stderr("lossctl: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except MemoryError:  # outside a pair (a pair's own MemoryError is that pair's error): still one line
        _stderr("error: not enough memory to finish; free memory, use fewer --workers, or lower --max-memory so "
                "that oversized files are refused up front")
        sys.exit(EXIT_INPUT)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # click usage errors and aborts arrive here in non-standalone mode
        _handle_click_error(error)


def _everything_ignored(document: dict[str, Any]) -> str | None:
    """The message for a run with inputs in which every sample (cls) or every pixel (seg) carries the ignore
    index, so that nothing was evaluated; None otherwise."""
    config = document["config"]
    ignore = config.get("ignore_index")
    if document["command"] == "cls":
        if config.get("n_samples") and not document["summary"]["count"]:
            return (f"every one of the {config['n_samples']} samples carries the ignore index {ignore}, so nothing "
                    "was evaluated; check --ignore-index (or the target file)")
        return None
    images = document["images"]
    if images and not any(any(map(any, row["confusion_matrix"])) for row in images):
        values = ", ".join(map(str, ignore or []))
        label_map = config.get("label_map")
        if label_map:  # the map's void is no --ignore-index value: name the map
            also = f" or carries an ignore index ({values})" if ignore else ""
            unnamed = " (with --unmapped ignore, every value it does not name is void)" if (
                config.get("unmapped") == "ignore") else ""
            return (f"every pixel of the {len(images)} image(s) is void under the label map "
                    f"{label_map['name']!r}{unnamed}{also}, so nothing was evaluated; check that --label-map "
                    "names the values the ground truth holds (or drop it if the masks hold the classes already)"
                    + (", and check --ignore-index" if ignore else ""))
        return (f"every pixel of the {len(images)} image(s) carries an ignore index ({values}), so nothing was "
                "evaluated; check --ignore-index (or the ground truth)")
    return None


def _with_option(error: LossctlError) -> str:
    """The message, with the command-line option of the setting it is about (the core does not know flags)."""
    message = _spell(error.raw)
    if isinstance(error, NotAvailable):  # every such message is about a convention: name its option
        message = message.replace("convention ", "--convention ", 1)
    flag = OPTION_NAMES.get(error.option or "")
    if flag and flag not in message:
        message += f" ({flag})"
    return message


def _with_file(error: LossctlError, file: str) -> LossctlError:
    """The same error, its message prefixed with the file it is about."""
    copy = type(error)(f"{file}: {error.raw}")
    copy.option = error.option
    return copy


def _check_gates_against_data(document: dict[str, Any]) -> None:
    """After the report is written: refuse gates on values no image gave (a loss of label predictions) or on a
    class the data does not have (a usage error, exit 2)."""
    from lossctl.engine.gates import class_index, parse_gate

    if not document["summary"]["count"]:
        return
    unit = "sample" if document["command"] == "cls" else "image"
    c = document["config"]["num_classes"]
    for name, labels in (document["config"].get("regions") or {}).items():
        if max(labels) >= c:
            raise UsageError(f"--region {name}={','.join(map(str, labels))}: label {max(labels)} is beyond the "
                             f"data's {c} classes (0..{c - 1}); fix the region's labels")
    for result in document["gates"]:
        gate = parse_gate(result["gate"])
        if gate.name not in document["summary"]["mean"]:
            raise UsageError(f"--gate {gate.text!r}: {gate.name} was not computed for any {unit} (e.g. a loss of "
                             "label predictions, or a loss the inputs' shapes do not allow); drop the gate")
        regions = document["config"].get("regions") or {}
        if gate.cls is not None and gate.cls not in regions and not 0 <= class_index(
                gate.cls, document["config"]["class_names"]) < c:
            raise UsageError(f"--gate {gate.text!r}: there is no class {gate.cls} in the data ({c} classes, "
                             f"0..{c - 1}); fix the class")


def _handle_click_error(error: Exception) -> None:
    show = getattr(error, "show", None)
    code = getattr(error, "exit_code", None)
    if callable(show) and isinstance(code, int):
        show()
        sys.exit(code)
    if type(error).__name__ == "Abort":
        _stderr("lossctl: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    import traceback

    traceback.print_exception(error)
    _stderr(f"lossctl {__version__}: internal error (a bug); please report it with the traceback above")
    sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    main()
