"""``lossctl cls``: its options, reading the prediction, target and weights tables (files or stdin), and naming
the file an input error is about.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Annotated, Optional

import typer

from lossctl.cli.app import spelled, stderr_line
from lossctl.cli.options import (BaselineMatch, BaselineMatchOpt, BaselineOpt, ClsConvention, ClsPredKind, FormatOpt,
                                 GateOpt, OutputFormat, OutputOpt, ParamOpt, ReportDirOpt, StorageOptionOpt, TargetKind,
                                 WorstOpt,
                                 WriteOpt, own_spelling, parse_params, split_values)
from lossctl.cli.output import (check_output_path, check_report_dir, emit, parse_writes, write_extra,
                                write_report_dir, writer_for)
from lossctl.cli.verdict import apply_baseline, finish, load_baseline
from lossctl.errors import LossctlError, NotAvailable, UsageError
from lossctl.io import stores

def cls_command(
    pred: Annotated[str, typer.Argument(help="Scores, probabilities or logits: (N,) or (N,C), from .npy, .npz, "
                                        ".csv/.tsv (header optional) or '-' (stdin, NPY or CSV).",
                                        show_default=False, metavar="PRED")],
    target: Annotated[Optional[str], typer.Argument(
        help="Targets: (N,) labels, or (N,C) one-hot, soft or multilabel. Omitted: PRED is a CSV holding the "
             "target column too.", show_default=False, metavar="TARGET")] = None,
    pred_kind: Annotated[ClsPredKind, typer.Option(
        help="auto: values in [0,1] (rows summing to 1 for class-index targets) are probabilities; "
             "anything else is refused, never guessed to be logits.")] = ClsPredKind.auto,
    convention: Annotated[ClsConvention, typer.Option(
        help="Reproduce this framework's definition of every loss and metric (a value named NAME:CONVENTION takes "
             "its own; see `lossctl losses NAME`).", case_sensitive=False)
    ] = ClsConvention.lossctl,
    target_kind: Annotated[TargetKind, typer.Option(
        help="How targets are read: binary, index (class indices), onehot, multilabel or soft. auto: (N,) by the "
             "prediction's shape; (N,C) rows exactly one-hot are onehot (a note says so), other 0/1 rows "
             "multilabel, rows of fractions summing to 1 soft.")] = TargetKind.auto,
    loss: Annotated[Optional[list[str]], typer.Option("--loss", "-l", help="Losses to compute (repeatable, or a comma "
                                                      "list), NAME or NAME:CONVENTION (e.g. bce:torch); default: "
                                                      "every loss the inputs allow.")] = None,
    metric: Annotated[Optional[list[str]], typer.Option("--metric", "-m", help="Metrics (repeatable, or a comma list), "
                                                        "NAME or NAME:CONVENTION (e.g. accuracy,f1:sklearn); default: "
                                                        "accuracy, precision, recall, f1; the others (auroc, mcc, "
                                                        "ece, ...) when named.")] = None,
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
    id_column: Annotated[Optional[str], typer.Option(
        help="CSV column of sample ids: pairs predictions and targets by id, in any order, and names the samples "
             "(default: a column named id names them; rows pair by order).")] = None,
    pred_columns: Annotated[Optional[str], typer.Option(
        help="CSV columns of the predictions: names or FIRST:LAST ranges, comma-separated (p_cat:p_bird); "
             "positions 1,2,... in a file without a header. Default: every column but the id (and the target).")
    ] = None,
    target_column: Annotated[Optional[str], typer.Option(
        help="CSV column of the targets (same syntax; several for (N,C) targets). Default: in one file, the "
             "column named label, target or y; in a TARGET file, every column but the id.")] = None,
    class_names: Annotated[Optional[str], typer.Option(
        help="Comma-separated class names, in class order, or @FILE (default: the prediction columns' header "
             "names less their common prefix and suffix, e.g. p_cat,p_dog -> cat,dog). Targets may be these names.")
    ] = None,
    allow_missing: Annotated[bool, typer.Option(help="With --id-column: evaluate the ids in both files and list "
                                                "the others (default: an id in one file only is an error).")
    ] = False,
    param: ParamOpt = None,
    per_sample: Annotated[bool, typer.Option(help="Also output one row per sample.")] = False,
    npz_key: Annotated[Optional[str], typer.Option(help="Array to read from NPZ files holding several.")] = None,
    gate: GateOpt = None,
    output_format: FormatOpt = OutputFormat.table,
    output: OutputOpt = None,
    write: WriteOpt = None,
    baseline: BaselineOpt = None,
    baseline_match: BaselineMatchOpt = BaselineMatch.name,
    report: ReportDirOpt = None,
    worst: WorstOpt = None,
    storage_option: StorageOptionOpt = None,
) -> None:
    """Evaluate classification predictions (N samples) against targets."""
    from lossctl import io as lio
    from lossctl import registry
    from lossctl.dataset.classes import parse_class_names
    from lossctl.dataset.cls_tables import ColumnChoice, read_cls_tables
    from lossctl.engine.cls import ClsConfig, build_report
    from lossctl.engine.gates import parse_gate, validate_cls_gates

    storage = stores.parse_storage_options(storage_option or [])
    stores.configure(storage)  # before anything is read: URLs are opened with these options
    named, own = split_values(loss, metric, "cls", convention.value)
    implied: tuple[str, ...] = ()
    if loss and not metric:  # with the metrics the convention defines, left out where the inputs do not allow them
        implied = registry.default_metrics("cls", convention.value)
    names_ = implied + named
    params = parse_params(param, {"label_smoothing": label_smoothing, "gamma": gamma, "alpha": alpha,
                                   "pos_weight": pos_weight, "hinge": hinge}, "cls",
                           ClsConfig(values=names_).selected(), convention.value, own=own)
    cw = None
    if class_weights:
        try:
            cw = tuple(float(v) for v in class_weights.split(","))
        except ValueError:
            raise UsageError(f"--class-weights {class_weights!r}: expected numbers separated by commas") from None

    if pred == "-" and target == "-":
        raise UsageError("PRED and TARGET cannot both be '-' (stdin)")
    if allow_missing and id_column is None:
        raise UsageError("--allow-missing leaves out the ids one file lacks; pair the files by id with --id-column")
    one_file = target is None or target == pred
    gates = [parse_gate(g) for g in gate or []]
    config = ClsConfig(values=names_, implied=implied, convention=convention.value, conventions=own,
                       target_kind=target_kind.value, ignore_index=ignore_index, class_weights=cw, params=params,
                       per_sample=per_sample or bool(worst))
    if not names_ and not any(convention.value in s.conventions for s in config.selected()):
        own_values = [s.name for s in registry.specs("cls") if convention.value in s.conventions]
        raise UsageError(f"--convention {convention.value} defines no value computed by default, only "
                         f"{', '.join(own_values)}; name them with -m, e.g. -m {own_values[0]}")
    for spec in config.selected():
        if spec.name in named:
            spec.impl(config.convention_of(spec.name))  # asked for by name: refused now if the convention lacks it
    validate_cls_gates(gates, config.selected(), baseline=baseline is not None)
    target_file = pred if one_file else target
    inputs = [stores.as_location(p) for p in (pred, target_file, weights) if p and p != "-"]
    check_output_path(output, inputs)
    writes = parse_writes(write, [f.value for f in OutputFormat], inputs, output)
    check_report_dir(report, inputs)
    base = load_baseline(baseline, "cls")
    stdin = sys.stdin.buffer.read() if "-" in (pred, target_file, weights) else None
    read = {label: lio.read_table(None if path == "-" else path, stdin_bytes=stdin if path == "-" else None,
                                  npz_key=npz_key)
            for label, path in (("pred", pred), ("target", None if one_file else target), ("weights", weights))
            if path is not None}
    choice = ColumnChoice(pred_columns=pred_columns, target_column=target_column, id_column=id_column,
                          class_names=parse_class_names(class_names) if class_names else (),
                          allow_missing=allow_missing)
    tables = read_cls_tables(read["pred"], read.get("target"), read.get("weights"), choice)
    config = replace(config, class_names=tables.class_names)
    try:
        x = config.prepare(tables.pred, tables.target, tables.weights, pred_kind.value)
    except LossctlError as e:
        subject = getattr(e, "subject", None) or "pred"
        file = {"pred": pred, "target": target_file, "weights": weights}.get(subject) or pred
        raise _with_file(e, "<stdin>" if file == "-" else file) from None
    recorded = {"storage_options": stores.redacted(storage)} if storage else {}  # an execution option
    try:
        document = spelled(build_report(x, config, [g for g in gates if g.against is None],
                                         sources={"pred": pred, "target": target_file, **tables.config, **recorded},
                                         sample_names=tables.sample_names, notes=tables.notes))
    except NotAvailable as e:  # a value asked for under its own convention: name it as it was given
        raise NotAvailable(own_spelling(e.raw, own, "cls"), option=e.option) from None
    if tables.config["paired_by"] == "id":
        document["skipped"] = {"missing_gt": list(tables.missing_target), "missing_pred": list(tables.missing_pred)}
        if tables.missing_target or tables.missing_pred:
            stderr_line(f"warning: skipped {len(tables.missing_target)} prediction(s) without target and "
                        f"{len(tables.missing_pred)} target(s) without prediction (ids in one file only)")
    for note in document["config"]["notes"]:
        stderr_line(f"note: {note}")
    dropped = registry.not_computed_note(document["config"]["not_available"], config.convention)
    if dropped:  # one note on every value selected by default and not computed
        stderr_line(f"note: {dropped}")
    apply_baseline(document, base, baseline, gates, baseline_match.value)
    emit(document, writer_for(output_format.value, worst, per_image=worst is None), output, False)
    write_extra(document, writes, False, worst)
    write_report_dir(document, report, worst, None)
    raise typer.Exit(finish(document, False))


def _with_file(error: LossctlError, file: str) -> LossctlError:
    """The same error, its message prefixed with the file it is about."""
    copy = type(error)(f"{file}: {error.raw}")
    copy.option = error.option
    return copy
