"""The ``lossctl`` command line: parse options, call the engines, pick a writer, map errors to exit codes.

Data goes to stdout (or ``--output``); messages, warnings and the summary line go to stderr. Every
:class:`~lossctl.errors.LossctlError` is turned into ``error: <message>`` and its exit code here, in
:func:`main`, and nowhere else.

The package's modules, each importing only those above it in this list:

* ``app``: the Typer app, and the spelling of the settings the core names as this command line's options;
* ``options``: the options the commands share, and the parsing of option text into values;
* ``output``: stdout, ``--output``, ``--write`` and ``--report``, each file written atomically;
* ``verdict``: the baseline and its gates, the stderr summary, and the exit code a report calls for;
* ``seg``, ``cls``: the evaluating commands; ``reports``: ``merge``, ``compare`` and ``losses``;
* this module: the commands, in the order ``--help`` lists them, and :func:`main`, the one error boundary.

Names with a leading underscore are private to the package (shared between its modules, not an API). A command's
module is imported, and its options built, when the command is run or listed (:func:`~lossctl.cli.app.command`);
every engine, reader and writer where a command needs it: ``lossctl --help`` and ``--version`` import no NumPy,
and ``lossctl seg`` builds no other command.
"""

from __future__ import annotations

import sys
from typing import Any

import typer

from lossctl import __version__
from lossctl.cli.app import OPTION_NAMES, app, command, spell_options, stderr_line
from lossctl.errors import (EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, LossctlError,
                            NotAvailable, did_you_mean)

__all__ = ["app", "main"]

command("seg", "lossctl.cli.seg:seg_command")
command("cls", "lossctl.cli.cls:cls_command")
command("merge", "lossctl.cli.reports:merge_command")
command("compare", "lossctl.cli.reports:compare_command")
command("losses", "lossctl.cli.reports:losses_command")


def main() -> None:
    """Entry point: run the app, turning lossctl errors into one line and an exit code."""
    try:
        code = app(standalone_mode=False)
        if code == EXIT_INTERRUPTED:  # Typer turns KeyboardInterrupt into Exit(130)
            stderr_line("lossctl: interrupted")
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except LossctlError as error:
        stderr_line(f"error: {_with_option(error)}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        stderr_line("lossctl: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    except MemoryError:  # outside a pair (a pair's own MemoryError is that pair's error): still one line
        stderr_line("error: not enough memory to finish; free memory, use fewer --workers, or lower --max-memory so "
                "that oversized files are refused up front")
        sys.exit(EXIT_INPUT)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except Exception as error:  # click usage errors and aborts arrive here in non-standalone mode
        _handle_click_error(error)


def _with_option(error: LossctlError) -> str:
    """The message, with the command-line option of the setting it is about (the core does not know flags)."""
    message = spell_options(error.raw)
    if isinstance(error, NotAvailable):  # every such message is about a convention: name its option
        message = message.replace("convention ", "--convention ", 1)
    flag = OPTION_NAMES.get(error.option or "")
    if flag and flag not in message:
        message += f" ({flag})"
    return message


def _handle_click_error(error: Exception) -> None:
    code = getattr(error, "exit_code", None)
    if isinstance(error, typer.BadParameter) and getattr(error, "param", None) is not None:
        stderr_line(f"error: {_bad_value(error)}")  # in our words: the parser's own are a library's
        sys.exit(code if isinstance(code, int) else EXIT_USAGE)
    show = getattr(error, "show", None)
    if callable(show) and isinstance(code, int):
        show()
        sys.exit(code)
    if type(error).__name__ == "Abort":
        stderr_line("lossctl: interrupted")
        sys.exit(EXIT_INTERRUPTED)
    import traceback

    traceback.print_exception(error)
    stderr_line(f"lossctl {__version__}: internal error (a bug); please report it with the traceback above")
    sys.exit(EXIT_INTERNAL)


def _bad_value(error: Any) -> str:
    """The one line for an option value the parser refused (``--workers abc``, ``--convention pytorch``): the
    option, the value given and what it takes, from the option's declaration (its type, choices and bounds);
    the choice closest to the value as a "did you mean"."""
    import enum
    import typing

    param, command = error.param, error.ctx.command
    flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
    cause = getattr(error.__cause__, "errors", None)  # the value as given, when the parser kept it
    given = cause()[0].get("input") if callable(cause) and cause() else None
    shown = f"{flag} {given!r}" if isinstance(given, str) else flag
    try:
        kind = typing.get_type_hints(command.callback, include_extras=True)[param.name]
    except (AttributeError, KeyError, TypeError):
        kind = None
    while typing.get_args(kind) and not (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        kind = next(a for a in typing.get_args(kind) if a is not type(None))  # Annotated, Optional, list
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        choices = [str(member.value) for member in kind]
        if flag == "--convention" and isinstance(given, str) and ":" in given:  # NAME:CONVENTION belongs to -m/-l
            name, _, own = given.partition(":")
            return (f"{shown}: --convention is the run's convention, one of {', '.join(choices)}; to compute {name} "
                    f"under {own}, name it with its convention: -m {given} (-l for a loss)")
        hint = did_you_mean(given, choices) if isinstance(given, str) else ""
        return f"{shown}: no such choice{hint}; choose from: {', '.join(choices)}"
    if kind in (int, float):
        what = "a whole number" if kind is int else "a number"
        low, high = getattr(param, "min", None), getattr(param, "max", None)
        if low is not None and high is not None:
            what += f" from {low:g} to {high:g}"
        elif low is not None:
            what += f", {low:g} or more"
        elif high is not None:
            what += f", {high:g} or less"
        return f"{shown}: expected {what}"
    return f"{flag}: {error.message}"
