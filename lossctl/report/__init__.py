"""The writers: each turns a report document into one format and only reads it.

:data:`WRITERS` maps every ``--format`` of ``seg``, ``cls`` and ``merge`` to its writer, :data:`COMPARE_WRITERS` those
of ``compare``.
"""

from __future__ import annotations

from collections.abc import Callable

from lossctl.report.ci import CI_WRITERS
from lossctl.report.compare import write_compare_csv, write_compare_markdown, write_compare_table
from lossctl.report.flat import FLAT_WRITERS, write_json

WRITERS: dict[str, Callable[..., None]] = {**FLAT_WRITERS, **CI_WRITERS}

COMPARE_WRITERS: dict[str, Callable[..., None]] = {
    "table": write_compare_table,
    "json": write_json,
    "csv": write_compare_csv,
    "markdown": write_compare_markdown,
    **CI_WRITERS,
}

__all__ = ["WRITERS", "COMPARE_WRITERS"]
