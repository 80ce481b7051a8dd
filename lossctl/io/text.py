"""Text to and from people: paths and exceptions as one printable line for messages, and the UTF-8 text files
that describe a run (a dataset.json, class names, a label map, a list of pairs).

Every message lossctl prints is one line; a file name may hold a newline or undecodable bytes, so messages show
paths through :func:`display_path`, and an operating-system error through :func:`brief`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lossctl.errors import InputError, UsageError
from lossctl.io import stores
from lossctl.io.stores import is_url

__all__ = ["brief", "counted", "decode_text", "display_path", "json_place", "read_text", "shorten"]

def display_path(path: str | bytes | os.PathLike[Any]) -> str:
    """Return a path as one printable line, for error messages.

    Control characters (a newline in a file name) and undecodable bytes (surrogate escapes) are written as
    backslash escapes, so a message stays on one line and can always be printed.

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The path to show.

    Returns
    -------
    str
        The path with every non-printable character escaped; ordinary spaces and non-ASCII letters are kept.

    Examples
    --------
    >>> display_path("gt/é x.png")
    'gt/é x.png'
    >>> display_path("bad\\nname.png")
    'bad\\\\nname.png'
    """
    text = os.fsdecode(os.fspath(path)) if isinstance(path, (str, bytes, os.PathLike)) else str(path)  # or a Url
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii") for ch in text
    )


def brief(exc: BaseException, limit: int = 160) -> str:
    """Summarise an exception as a short one-line text: the system's words for an operating-system error
    (``Input/output error``), else its type and the first line of its message."""
    if isinstance(exc, OSError) and exc.strerror:
        return display_path(exc.strerror)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = display_path(text)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def json_place(error: ValueError) -> str:
    """Where a JSON text stops being valid, for a message in lossctl's words: ``line 3, column 5`` (the parser's
    own description is a library's), or ``its start`` when the parser does not say."""
    line, column = getattr(error, "lineno", None), getattr(error, "colno", None)
    return f"line {line}, column {column}" if line is not None and column is not None else "its start"


def shorten(text: str, limit: int = 40) -> str:
    """``text`` as one printable line of at most ``limit`` characters (cut with ``...``)."""
    text = display_path(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, in the plural (an added ``s``) unless ``n`` is 1: ``1 column``, ``4 predictions``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def read_text(path: str | os.PathLike[str], what: str) -> str:
    """The text of a UTF-8 file that describes the run (a byte-order mark allowed): a dataset.json, class names,
    a label map, a list of pairs; ``what`` names it in messages.

    Raises
    ------
    InputError
        If the file cannot be read (absent, a folder, not permitted).
    UsageError
        If it is not UTF-8 text (see :func:`decode_text`).
    """
    where = display_path(str(path))
    if is_url(path):
        url = stores.as_location(path)
        found = stores.info(url, what)
        if found is None:
            raise InputError(f"{where}: no such file; check the path of the {what}")
        if found.get("type") == "directory":
            raise InputError(f"{where}: is a folder; give the file (the {what})")
        return decode_text(stores.read_bytes(url, what), where, what)
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"{where}: is a folder; give the file (the {what})") from None
    except FileNotFoundError:
        raise InputError(f"{where}: no such file; check the path of the {what}") from None
    except OSError as e:
        raise InputError(f"{where}: cannot read the {what} ({e.strerror or e}); check the file") from None
    return decode_text(data, where, what)


def decode_text(data: bytes, where: str, what: str) -> str:
    """``data`` as UTF-8 text (a byte-order mark allowed); a :class:`UsageError` naming ``where`` otherwise."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(f"{where}: the {what} is not UTF-8 text (byte {e.start}); save it as UTF-8") from None
