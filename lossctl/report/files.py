"""Writing a rendered report to a file atomically: the one implementation behind ``-o``, ``--write`` and
``--report`` (a temporary file in the target's folder, renamed over it), so that an interrupted or failed run never
leaves half a report under the final name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def replace_file(target: Path, content: str | bytes) -> None:
    """Replace the file ``target`` (resolved: no symbolic link) with ``content`` atomically: a temporary file in
    its folder, given the permissions a new file gets (the umask), then renamed over it; removed if anything
    fails. Text is written as UTF-8 with the newlines it holds."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(content)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
