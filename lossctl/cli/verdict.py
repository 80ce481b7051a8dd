"""What a run's report calls for: the baseline and its gates, the checks of the gates against the data, the
stderr lines (failed pairs before the report; after it the closing line, GitHub annotations) and the exit code.

The exit-code policy of a report lives here, in :func:`verdict_exit_code` (the exit codes of errors are their classes',
:mod:`lossctl.errors`): 3 when a pair failed (unless ``--skip-errors``) or nothing was evaluated (no image, or
every sample or pixel ignored; an empty shard is no failure), else 1 when a gate failed, else 0; a compare
document: its gates alone. It is the command line's, not the engine's: the engine's product is the document, and
exit codes and the stderr lines that explain them are what the command line makes of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lossctl.cli.app import spelled, stderr_line
from lossctl.engine.schema import row_noun
from lossctl.errors import EXIT_GATE_FAILED, EXIT_INPUT, EXIT_OK, UsageError

def load_baseline(path: Path | None, command: str, class_names: tuple[str, ...] = ()) -> dict[str, Any] | None:
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


def apply_baseline(document: dict[str, Any], base: dict[str, Any] | None, path: Path | None,
                    gates: list[Any], match: str = "name") -> None:
    """Check the baseline against the new report (classes: exit 2), print notes, add the baseline gates (images
    paired by ``match``; a note counts and names the run's images that pair with none of the baseline's)."""
    if base is None:
        return
    from lossctl.engine.compare import add_baseline_gates, check_compatible
    from lossctl.engine.gates import validate_compare_gates

    notes = check_compatible(base, document, f"--baseline {path}")
    validate_compare_gates([g for g in gates if g.against is not None], base, document)
    document["config"]["baseline"] = str(path)
    account = add_baseline_gates(document, base, gates, match, f"--baseline {path}")
    document["gates"] = spelled(document["gates"])
    for note in [*notes, *([account] if account else [])]:
        stderr_line(f"note: {note}")


def github_annotations(document: dict[str, Any]) -> None:
    """Under GitHub Actions, one ``::error`` workflow command per failed gate, on stderr: the runner reads
    workflow commands from both output streams, and stdout may carry the report into a pipe."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    from lossctl.report.format import gate_threshold_text

    for g in document["gates"]:
        if not g["passed"]:
            message = f"{g['gate']} failed: {gate_threshold_text(g)}"
            escaped = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            stderr_line(f"::error title=lossctl {document['command']} gate::{escaped}")


def gate_reasons(document: dict[str, Any]) -> None:
    """One ``error:`` line per failed gate that has a reason (its value is undefined: e.g. a vacuous gate, over
    no image), saying why."""
    for g in document["gates"]:
        if not g["passed"] and g.get("reason"):
            stderr_line(f"error: gate {g['gate']!r} failed: {g['reason']}")


def pair_errors(document: dict[str, Any], skip_errors: bool) -> None:
    """The failed pairs on stderr, one line per problem (see :func:`~lossctl.engine.document.error_groups`;
    ``warning:`` with ``--skip-errors``), printed before the report so that the report, its gates and the closing
    line of :func:`finish` end the output."""
    from lossctl.engine.document import error_group_text, error_groups

    for group in error_groups(document):  # the same problem in many pairs: one line
        stderr_line(("warning: " if skip_errors else "error: ") + error_group_text(group))


def finish(document: dict[str, Any], skip_errors: bool) -> int:
    """Print the reasons of failed gates and the closing line (counts and gates) to stderr, the last line of a
    run; return the exit code the document calls for."""
    _check_gates_against_data(document)
    if document["summary"]["count"] or document["config"].get("shard") is not None:  # else exit 3 says why
        gate_reasons(document)
    failed = [g for g in document["gates"] if not g["passed"]]
    n_images, n_errors = document["summary"]["count"], len(document["errors"])
    unit = row_noun(document["command"])
    line = f"lossctl: evaluated {n_images} {unit}(s), {n_errors} failed"
    if document["gates"]:
        line += f"; gates: {len(document['gates']) - len(failed)} passed, {len(failed)} failed"
    ignored = everything_ignored(document)
    stderr_line(f"error: {ignored}" if ignored else line)  # "evaluated 0 samples" would not say why
    github_annotations(document)
    return verdict_exit_code(document, skip_errors)


def verdict_exit_code(document: dict[str, Any], skip_errors: bool = False) -> int:
    """The exit code a report document calls for: 3 (input) when nothing was evaluated (every sample or pixel
    ignored, or no image at all but in an empty shard) or a pair failed (unless ``skip_errors``: then the gates
    decide), else 1 when a gate failed, else 0. A compare document: its gates alone."""
    failed = [g for g in document["gates"] if not g["passed"]]
    if document["command"] != "compare":
        n_images, n_errors = document["summary"]["count"], len(document["errors"])
        if everything_ignored(document):
            return EXIT_INPUT
        empty_shard = document["config"].get("shard") is not None and n_images == 0 and not n_errors
        if (n_errors and not skip_errors) or (n_images == 0 and not empty_shard):
            return EXIT_INPUT
    return EXIT_GATE_FAILED if failed else EXIT_OK


def everything_ignored(document: dict[str, Any]) -> str | None:
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


def _check_gates_against_data(document: dict[str, Any]) -> None:
    """After the report is written: refuse gates on values no image gave (a loss of label predictions) or on a
    class the data does not have (a usage error, exit 2)."""
    from lossctl.engine.gates import check_gates_against_data

    if not document["summary"]["count"]:
        return
    c = document["config"]["num_classes"]
    for name, labels in (document["config"].get("regions") or {}).items():
        if max(labels) >= c:
            raise UsageError(f"--region {name}={','.join(map(str, labels))}: label {max(labels)} is beyond the "
                             f"data's {c} classes (0..{c - 1}); fix the region's labels")
    check_gates_against_data(document)
