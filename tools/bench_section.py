"""One section of BENCHMARKS.md, owned by one bench tool: written between its markers, the rest of the file kept."""

from __future__ import annotations

from pathlib import Path


def write_section(output: Path, begin: str, end: str, section: str) -> None:
    """Put ``section`` (which starts with ``begin`` and ends with ``end`` and a newline) in ``output``: in place of
    the text between the two markers when the file has them, else at its end."""
    text = output.read_text(encoding="utf-8") if output.exists() else "# lossctl benchmarks\n"
    if begin in text and end in text:
        text = text[:text.index(begin)] + section + text[text.index(end) + len(end) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    output.write_text(text, encoding="utf-8")
