"""The writers: each turns a report document into one format and only reads it.

:data:`WRITERS` maps every ``--format`` of ``seg``, ``cls`` and ``merge`` to its writer, :data:`COMPARE_WRITERS` those
of ``compare``.
"""

from __future__ import annotations

from lossctl.report.ci import CI_WRITERS, COMPARE_WRITERS
from lossctl.report.flat import FLAT_WRITERS

WRITERS = {**FLAT_WRITERS, **CI_WRITERS}

__all__ = ["WRITERS", "COMPARE_WRITERS"]
