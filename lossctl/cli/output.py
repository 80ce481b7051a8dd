"""Where a report goes: stdout or ``--output`` (``-o``), the ``--write FORMAT=PATH`` files and the ``--report`` folder.

Every path is checked before any work (a file outside the inputs, in a folder that exists, no path written
twice). Every file is written by :func:`write_file`: a regular (or new) file is replaced atomically
(:func:`lossctl.report.files.replace_file`, as the ``--report`` folder's files are: a temporary
file beside it, then a rename), so an interrupted run never leaves half a report; a device or a pipe is written
to directly. The one exception is the github step summary, appended to (a job's steps share it). An output
may be a URL (:mod:`lossctl.io.stores`): written in one call (one PUT on an object store, atomic), and only into a
bucket that exists; ``file://`` URLs are written as local files. A file that
cannot be written is an :class:`~lossctl.errors.OutputError` saying what and where (:func:`_cannot_write`).
"""

from __future__ import annotations

import io as _io
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import typer

from lossctl.cli.app import option_flags, stderr_line
from lossctl.errors import EXIT_BROKEN_PIPE, OutputError, UsageError
from lossctl.io import stores


def emit(document: dict[str, Any], writer: Callable[..., None], output: str | None, per_class: bool) -> None:
    """Render with ``writer`` (see :func:`writer_for`) to stdout, or to ``output``.

    A regular file (or a new one) is written atomically: a temporary file beside it, then a rename, so an
    interrupted run never leaves half a report (a symbolic link keeps pointing at the new report). Anything
    else that exists (``/dev/null``, a named pipe, a terminal) is written to directly: renaming over it would
    replace the device or pipe with a file.
    """
    if output in (None, "-"):
        with to_stdout() as stdout:
            writer(document, stdout, per_class=per_class)
        return
    try:
        write_file(document, writer, stores.as_location(output), per_class)
    except OSError as e:
        raise _cannot_write(output, "the report", e) from None


@contextmanager
def to_stdout() -> Iterator[TextIO]:
    """Standard output, to write a report to (flushed at the end): a reader that went away (``| head``) stops the
    run quietly with exit 141, as a SIGPIPE would; so does a run started with stdout closed."""
    if sys.stdout is None:
        raise typer.Exit(EXIT_BROKEN_PIPE)
    try:
        yield sys.stdout
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(EXIT_BROKEN_PIPE) from None


def write_extra(document: dict[str, Any], writes: list[tuple[str, Any]], per_class: bool,
                 worst: int | None = None, compare: bool = False) -> None:
    """The ``--write`` outputs: each replaced atomically, except ``github``, appended to (the step summary file
    is shared by a job's steps)."""
    for fmt, path in writes:
        writer = writer_for(fmt, worst, compare)
        try:
            if fmt == "github":
                buffer = _io.StringIO()
                writer(document, buffer, per_class=per_class)
                if isinstance(path, stores.Url):  # file:// only (parse_writes refuses the others)
                    path = Path(stores.local_path(path) or str(path))
                with open(path, "a", encoding="utf-8", newline="") as handle:
                    handle.write(buffer.getvalue())
            else:
                write_file(document, writer, path, per_class)
        except OSError as e:
            raise _cannot_write(path, f"the {fmt} report", e) from None


def write_report_dir(document: dict[str, Any], directory: Any, worst: int | None,
                      config: Any, compared: tuple[dict[str, Any], dict[str, Any]] | None = None,
                      images: Any = None) -> None:
    """The ``--report`` folder: ``index.html``, written by :func:`lossctl.report.html.write_report` (which replaces
    it atomically, as ``-o`` and ``--write`` are) with the pictures of ``document`` (``images``: the input
    images, :class:`lossctl.engine.pictures.InputImages`; those missing are one note on stderr)."""
    if directory is None:
        return
    from lossctl.engine.document import LISTED_WORST
    from lossctl.engine.pictures import make_pictures
    from lossctl.report.html import write_report

    k = LISTED_WORST if worst is None else worst
    pictures = make_pictures(document, k, config, compared, images)
    missing = [case.row["name"] for case in pictures.worst if case.image_note]
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        stderr_line(f"note: --images {images.folder}: the HTML report shows no input image for {len(missing)} of "
                    f"the {len(pictures.worst)} worst images ({shown}); each one's reason is in the report")
    try:
        if isinstance(directory, stores.Url) and stores.local_path(directory) is None:
            import tempfile

            with tempfile.TemporaryDirectory(prefix="lossctl-report-") as local:  # the page, then one PUT
                write_report(document, Path(local), pictures, worst=k, flags=option_flags())
                stores.write_bytes(directory / "index.html", (Path(local) / "index.html").read_bytes(),
                                   "HTML report")
        else:
            write_report(document, _local(directory), pictures, worst=k, flags=option_flags())
    except OSError as e:
        raise _cannot_write(directory, "the HTML report", e) from None


def _cannot_write(path: str | Path, what: str, error: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write {what} ({error.strerror or error}); check the path and the free "
                       "space")


def write_file(document: dict[str, Any], writer: Any, target: Any, per_class: bool) -> None:
    """Write to a device or pipe directly (``/dev/stdout`` included), to a regular (or new) file atomically
    beside the file a symbolic link points to, to a URL in one call (one PUT on an object store: atomic)."""
    if isinstance(target, stores.Url) and stores.local_path(target) is None:
        buffer = _io.StringIO()
        writer(document, buffer, per_class=per_class)
        stores.write_bytes(target, buffer.getvalue().encode("utf-8"), "report")
        return
    target = _local(target)
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8", newline="") as handle:
            writer(document, handle, per_class=per_class)
        return
    from lossctl.report.files import replace_file  # the report package: its writers, the registry, NumPy

    target = target.resolve()
    buffer = _io.StringIO()
    writer(document, buffer, per_class=per_class)
    replace_file(target, buffer.getvalue())


def writer_for(name: str, worst: int | None, compare: bool = False, per_image: bool = False) -> Callable[..., None]:
    """The writer of format ``name`` (``compare``: of a compare document), with ``worst`` set if it takes it
    (and, for the table, ``per_image``)."""
    import functools
    import inspect

    from lossctl.engine.document import LISTED_WORST
    from lossctl.report import COMPARE_WRITERS, WRITERS

    writer = (COMPARE_WRITERS if compare else WRITERS)[name]
    if "flags" in inspect.signature(writer).parameters:  # a writer's hints name settings: spelled as our options
        writer = functools.partial(writer, flags=option_flags())
    if name == "table" and not compare:  # the table decides how many rows fit unless told (worst None)
        return functools.partial(writer, worst=worst, per_image=per_image)
    if "worst" in inspect.signature(writer).parameters:
        return functools.partial(writer, worst=LISTED_WORST if worst is None else worst)
    return writer


def _local(path: Any) -> Path:
    """A local path, or the local path of a ``file://`` URL."""
    return Path(stores.local_path(path) or str(path)) if isinstance(path, stores.Url) else Path(path)


def _check_url_output(option: str, text: str, inputs: list[Any]) -> None:
    """An output URL: not onto or inside an input URL, in a bucket that exists (a ``file://`` URL: as a path)."""
    url = stores.as_location(text)
    for path in inputs:
        if isinstance(path, stores.Url) and (url == path or str(url).startswith(f"{path}/")):
            raise UsageError(f"{option} {text} would overwrite or write inside the input {path}; "
                             "choose a path outside the inputs")
    local = stores.local_path(url)
    if local is not None:
        check_output_path(local, [p for p in inputs if not isinstance(p, stores.Url)], option)
        return
    problem = stores.check_writable_parent(url)
    if problem:
        raise OutputError(f"{option} {text}: {problem}")


def check_output_path(output: str | None, inputs: list[Any], option: str = "--output") -> None:
    if output in (None, "-"):
        return
    if stores.is_url(output):
        _check_url_output(option, output, inputs)
        return
    inputs = [p for p in inputs if not isinstance(p, stores.Url)]
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


def _same_file_key(path: str) -> Any:
    """What says two outputs are the same file: the resolved path, or the URL."""
    return path if stores.is_url(path) else Path(path).resolve()


def parse_writes(items: list[str] | None, formats: list[str], inputs: list[Any],
                  output: str | None) -> list[tuple[str, Any]]:
    """``--write FORMAT=PATH`` items, checked before any work: a known format, a path in an existing folder
    (or a bucket that exists), outside the inputs, and no path written twice (by two --write, or by --write and
    --output); ``github`` (an append) not to an object store, which cannot append."""
    writes: list[tuple[str, Any]] = []
    seen: dict[Any, str] = {}
    if output not in (None, "-"):
        seen[_same_file_key(output)] = f"--output {output}"
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
        if fmt == "github" and stores.is_url(path) and not stores.can_append(stores.as_location(path)):
            raise UsageError(f"--write {item!r}: github appends to its file, and {path.split('://')[0]}:// "
                             "objects cannot be appended to; write the summary to a local file")
        check_output_path(path, inputs, "--write")
        resolved = _same_file_key(path)
        if resolved in seen:
            raise UsageError(f"--write {item!r} writes the same file as {seen[resolved]}; give each output "
                             "its own path")
        seen[resolved] = f"--write {item}"
        writes.append((fmt, stores.as_location(path)))
    return writes


def check_report_dir(directory: Any, inputs: list[Any]) -> None:
    """``--report DIR``: refused inside (or onto) an input, or onto a file; its parent must exist (a URL: its
    bucket)."""
    if directory is None:
        return
    if isinstance(directory, stores.Url) and stores.local_path(directory) is None:
        _check_url_output("--report", str(directory / "index.html"), inputs)
        return
    directory = _local(directory)
    inputs = [p for p in inputs if not isinstance(p, stores.Url)]
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
