"""The commands over reports: ``lossctl merge`` (the shards of one run), ``lossctl compare`` (a new report against
a baseline) and ``lossctl losses`` (the catalogue of every loss and metric).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from lossctl.cli.app import spelled, stderr_line
from lossctl.cli.options import (BaselineMatch, BaselineMatchOpt, BaselineOpt, CompareFormat, FormatOpt, GateOpt, OutputFormat, OutputOpt, PerImageOpt,
                                 ReportDirOpt, StorageOptionOpt, WorstOpt, WriteOpt, check_view)
from lossctl.cli.output import (check_output_path, check_report_dir, emit, parse_writes, write_extra,
                                write_report_dir, writer_for)
from lossctl.cli.verdict import (apply_baseline, verdict_exit_code, finish, gate_reasons, github_annotations,
                                 load_baseline, pair_errors)
from lossctl.engine.schema import row_noun
from lossctl.errors import InputError
from lossctl.io import stores
from lossctl.io.text import read_text

def merge_command(
    reports: Annotated[list[Path], typer.Argument(help="JSON reports of the shards of one `lossctl seg` run.",
                                                  show_default=False, path_type=str)],
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
    baseline_match: BaselineMatchOpt = BaselineMatch.name,
    storage_option: StorageOptionOpt = None,
) -> None:
    """Combine sharded `lossctl seg --shard K/N -f json` reports into the report of the whole run."""
    import json

    from lossctl.engine.compare import check_schema
    from lossctl.engine.gates import parse_gate, validate_gates
    from lossctl.engine.shards import merge_reports

    storage = stores.parse_storage_options(storage_option or [])
    stores.configure(storage)
    reports = [stores.as_location(p) for p in reports]  # a URL keeps its "//"
    documents = []
    for path in reports:
        try:
            text = read_text(path, "report") if stores.is_url(path) else path.read_text(encoding="utf-8")
            document = json.loads(text)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise InputError(f"{path}: cannot read it as a JSON report ({type(e).__name__}); give the files "
                             "written by `lossctl seg -f json`") from None
        if not (isinstance(document, dict) and document.get("command") == "seg"):
            raise InputError(f"{path}: not a report of `lossctl seg -f json`; give the files it wrote")
        check_schema(document, path)
        documents.append(document)
    check_output_path(output, list(reports))
    check_view(per_image, worst)
    writes = parse_writes(write, [f.value for f in OutputFormat], list(reports), output)
    check_report_dir(report, list(reports))
    base = load_baseline(baseline, "seg")
    extra = [parse_gate(g) for g in gate or []]
    if base is None:
        validate_gates([g for g in extra if g.against], {}, baseline=False)  # refused before the work
    document = spelled(merge_reports(documents, [g for g in extra if g.against is None], expect=expect))
    if storage:  # an execution option, as seg records it: the merge's own, not the shards'
        document["config"]["storage_options"] = stores.redacted(storage)
    for note in document["config"]["notes"]:
        stderr_line(f"note: {note}")
    if base is not None:
        merged = [parse_gate(t) for t in document["config"]["gates"]]
        apply_baseline(document, base, baseline, merged + [g for g in extra if g.against is not None],
                        baseline_match.value)
    pair_errors(document, skip_errors)
    emit(document, writer_for(output_format.value, worst, per_image=per_image), output, per_class)
    write_extra(document, writes, per_class, worst)
    write_report_dir(document, report, worst, None)
    raise typer.Exit(finish(document, skip_errors))


def compare_command(
    base: Annotated[Path, typer.Argument(help="The baseline: a JSON report of `lossctl seg` or `lossctl cls`.",
                                         show_default=False, metavar="BASE.json", path_type=str)],
    new: Annotated[Path, typer.Argument(help="The new JSON report, of the same command.", show_default=False,
                                        metavar="NEW.json", path_type=str)],
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
    baseline_match: BaselineMatchOpt = BaselineMatch.name,
    storage_option: StorageOptionOpt = None,
) -> None:
    """Compare a new report with a baseline: deltas, paired bootstrap intervals, images that got worse, gates."""
    from lossctl.engine.compare import check_compatible, compare_reports, load_report
    from lossctl.engine.gates import parse_gate, validate_compare_gates

    stores.configure(stores.parse_storage_options(storage_option or []))
    base, new = stores.as_location(base), stores.as_location(new)  # a URL keeps its "//"
    gates = [parse_gate(g) for g in gate or []]
    check_output_path(output, [base, new])
    writes = parse_writes(write, [f.value for f in CompareFormat], [base, new], output)
    check_report_dir(report, [base, new])
    base_doc, new_doc = load_report(base, "baseline"), load_report(new, "new")
    notes = check_compatible(base_doc, new_doc, str(base))
    validate_compare_gates(gates, base_doc, new_doc)
    for note in notes:
        stderr_line(f"note: {note}")
    document = spelled(compare_reports(base_doc, new_doc, gates, resamples=bootstrap, worst=worst, seed=seed,
                                        sources={"base": str(base), "new": str(new)}, notes=notes,
                                        match=baseline_match.value, base_name=str(base)))
    for note in document["config"]["notes"][len(notes):]:  # how the images paired, when some did not
        stderr_line(f"note: {note}")
    emit(document, writer_for(output_format.value, worst, compare=True), output, per_class)
    write_extra(document, writes, per_class, worst, compare=True)
    write_report_dir(document, report, worst, None, (base_doc, new_doc))
    failed = [g for g in document["gates"] if not g["passed"]]
    unit = row_noun(new_doc["command"])
    line = (f"lossctl: compared {document['config']['paired']} {unit}(s) in both reports "
            f"({len(document['only_in_base'])} only in base, {len(document['only_in_new'])} only in new)")
    if gates:
        line += f"; gates: {len(gates) - len(failed)} passed, {len(failed)} failed"
    gate_reasons(document)
    stderr_line(line)
    github_annotations(document)
    raise typer.Exit(verdict_exit_code(document))


def losses_command(
    name: Annotated[Optional[str], typer.Argument(help="Show one entry in full.", show_default=False)] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="table or markdown")] = "table",
) -> None:
    """List every loss and metric (or explain one): task, input, direction, parameters, formula."""
    from lossctl.report.catalogue import explain, render
    from lossctl.report.terminal import report_width

    width = report_width(sys.stdout)
    sys.stdout.write(explain(name, width) if name else render(output_format, width))
