"""The exceptions lossctl raises, and the exit code each one maps to.

Every problem a user can cause is a :class:`LossctlError`; ``str(error)`` is the one-line message the CLI prints
(it names the file, the problem and the fix). The CLI maps ``error.exit_code`` to the process exit status in one
place (``lossctl.cli``); nothing else in the package exits or prints.

Exit codes (documented in README.md):

====  ===========================================================
0     evaluated; every gate passed (or no gate was given)
1     evaluated; at least one ``--gate`` failed
2     usage error: a bad option, an unknown name, a malformed gate
3     input error: a file missing, unreadable or invalid
130   interrupted (Ctrl-C)
70    internal error (a bug in lossctl): the traceback is printed, please report it
141   stdout was closed early (``| head``), as a shell reports SIGPIPE
====  ===========================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141


class LossctlError(Exception):
    """Base of every error lossctl reports to a user; ``str(e)`` is the whole message.

    ``option`` names the setting the fix is about (``"pred_kind"``, ``"target_kind"``, ``"ignore_index"``,
    ``"weights"``, ``"class_weights"``...) in the core's words; the command line names its own option for it.
    """

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


class UsageError(LossctlError, ValueError):
    """The command line asks for something that does not exist or does not fit together."""

    exit_code = EXIT_USAGE


class NotAvailable(UsageError):
    """The chosen convention's framework has no such value, or does not take this input or option."""


class InputError(LossctlError, ValueError):
    """A file (or an array) cannot be read, or its contents are not what the command needs.

    ``subject`` says which input is at fault when the core raises it on arrays (``"pred"`` or ``"target"``), so
    that the engine can name the right file; loaders that already name the file leave it ``None``.
    """

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, subject: str | None = None, option: str | None = None) -> None:
        super().__init__(message, option=option)
        self.subject = subject


class ShapeMismatchError(InputError):
    """Prediction and ground truth do not line up (spatial size, rank or class count)."""


class OutputError(LossctlError):
    """The report cannot be written (a full disk, a read-only folder)."""

    exit_code = EXIT_INPUT


class PairingError(InputError):
    """Prediction and ground-truth files cannot be matched one to one."""
