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

Names with a leading underscore are private to the package (shared between its modules, not an API). Every
engine, reader and writer is imported where a command needs it, so that ``lossctl --help`` imports no NumPy.
"""

from __future__ import annotations

import sys

import typer

from lossctl import __version__
from lossctl.cli.app import OPTION_NAMES, spell_options, stderr_line, app
from lossctl.cli.cls import cls_command
from lossctl.cli.reports import compare_command, losses_command, merge_command
from lossctl.cli.seg import seg_command
from lossctl.errors import EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, LossctlError, NotAvailable

__all__ = ["app", "main"]

app.command("seg")(seg_command)
app.command("cls")(cls_command)
app.command("merge")(merge_command)
app.command("compare")(compare_command)
app.command("losses")(losses_command)


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
    show = getattr(error, "show", None)
    code = getattr(error, "exit_code", None)
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
