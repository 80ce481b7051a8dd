"""The exceptions lossctl raises, and the exit code each one maps to.

Every problem a user can cause is a :class:`LossctlError`; ``str(error)`` is the one-line message the CLI prints
(it names the file, the problem and the fix). The CLI maps ``error.exit_code`` to the process exit status in one
place (``lossctl.cli``); nothing else in the package exits or prints.

Exit codes (documented in README.md and docs/ci.md):

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

from collections.abc import Callable, Iterable, Mapping
from typing import Any

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INPUT = 3
EXIT_INTERRUPTED = 130
EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141


#: Marks a setting named inside a message (see :func:`setting`); ASCII "unit separator", never typed by a user.
_MARK = "\x1f"
_VALUE = "\x1e"
_NO_VALUE = object()


def setting(name: str, value: Any = _NO_VALUE) -> str:
    """A setting named inside a message, in the core's words: the argument ``name`` (and the value to give it).

    The core never spells a command-line flag. A message says ``f"pass {setting('pred_kind', 'logits')}"``;
    :func:`spell` renders it for whoever reads it: ``pass pred_kind='logits'`` for a Python caller (``str(error)``),
    ``pass --pred-kind logits`` on the command line (the CLI's map of flags). ``value=True`` names a switch.
    """
    return _MARK + name + ("" if value is _NO_VALUE else _VALUE + repr(value)) + _MARK


def spell(text: str, flags: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None) -> str:
    """``text`` with every :func:`setting` rendered: as the command-line option of ``flags`` (``--flag VALUE``;
    ``--flag`` for a switch), or, without ``flags`` or for a setting it does not map, as the Python argument
    (``name=VALUE``), named as ``names`` renames it (the argument of a function that calls the core by another
    name: ``evaluate(pred_kind=...)`` for the core's ``kind``)."""
    if _MARK not in text:
        return text
    pieces = text.split(_MARK)
    for i in range(1, len(pieces), 2):
        name, _, value = pieces[i].partition(_VALUE)
        flag = (flags or {}).get(name)
        if flag is None:
            name = (names or {}).get(name, name)
            pieces[i] = f"{name}={value}" if value else name
        elif value in ("", "True"):
            pieces[i] = flag
        else:
            shown = value[1:-1] if value[:1] in "'\"" and value[-1:] == value[:1] else value  # a str's repr
            pieces[i] = f"{flag} {shown}"
    return "".join(pieces)


def spell_all(obj: Any, flags: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None) -> Any:
    """A copy of ``obj`` (a report document: dicts, lists, strings, numbers) with every string :func:`spell`-ed."""
    if isinstance(obj, str):
        return spell(obj, flags, names)
    if isinstance(obj, dict):
        return {key: spell_all(value, flags, names) for key, value in obj.items()}
    if isinstance(obj, list):
        return [spell_all(value, flags, names) for value in obj]
    return obj


def did_you_mean(given: str, known: Iterable[str], spelled: Callable[[str], str] = str) -> str:
    """`` (did you mean NAME?)`` for the name of ``known`` closest to ``given`` (case ignored), shown as
    ``spelled(NAME)``; empty when none is close."""
    import difflib

    close = difflib.get_close_matches(given.lower(), [k.lower() for k in known], n=1)
    return f" (did you mean {spelled(close[0])}?)" if close else ""


class LossctlError(Exception):
    """Base of every error lossctl reports to a user; ``str(e)`` is the whole message, with the settings it names
    spelled as Python arguments; :meth:`render` spells them as the caller's options (the CLI's flags).

    ``option`` names the setting the fix is about (``"pred_kind"``, ``"target_kind"``, ``"ignore_index"``,
    ``"weights"``, ``"class_weights"``...) in the core's words; the command line names its own option for it.
    """

    exit_code = EXIT_INPUT

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option

    @property
    def raw(self) -> str:
        """The message with its :func:`setting` marks, for an error that wraps this one."""
        return str(self.args[0]) if self.args else ""

    def render(self, flags: Mapping[str, str] | None = None) -> str:
        """The message with its settings spelled by ``flags`` (see :func:`spell`)."""
        return spell(self.raw, flags)

    def __str__(self) -> str:
        return self.render()


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


def prefixed(where: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, a :class:`UsageError` it raises prefixed by ``where``: the setting (or the setting and the
    value, see :func:`setting`) that gave the value ``fn`` rejects, e.g. ``label_map: ...``."""
    try:
        return fn(*args)
    except UsageError as e:
        raise UsageError(f"{where}: {e.raw}") from None
