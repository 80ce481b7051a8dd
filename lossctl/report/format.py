"""How every writer spells what it shows: numbers (4 decimals for people, full precision in CSV), counts, the
direction arrows, and the GitHub-flavoured Markdown that ``github`` and compare's ``markdown`` share (cells,
tables, the verdict headline, the gates table).

An undefined value (``null`` in the document: 0/0) is :data:`UNDEFINED` wherever people read it, an empty cell
in CSV.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lossctl.engine.document import Document

#: An undefined value (``null`` in the document), as people read it.
UNDEFINED = "—"
#: A value's direction (``higher_is_better``; None: a value the registry does not know) as the tables mark it.
ARROWS = {True: "↑", False: "↓", None: ""}


def fmt(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` decimals (an integer, a count, as it is), or :data:`UNDEFINED`."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return UNDEFINED if v is None else f"{v:.{digits}f}"


def signed(v: Any, digits: int = 4) -> str:
    """``v`` with its sign and ``digits`` decimals (a change: ``+0.0123``), or :data:`UNDEFINED`."""
    return UNDEFINED if v is None else f"{v:+.{digits}f}"


def csv_cell(v: Any) -> Any:
    """A CSV cell: a float at full precision (Python ``repr``), empty when undefined, anything else as it is."""
    return "" if v is None else (repr(v) if isinstance(v, float) else v)


def plural(n: int, unit: str, plural: str | None = None) -> str:
    """``1 image``, ``2 images`` (``plural``: when the plural is not ``unit + "s"``)."""
    return f"{n} {unit if n == 1 else plural or unit + 's'}"


# GitHub-flavoured Markdown ------------------------------------------------------------------------------------

def md_cell(text: Any) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header: list[str], align: list[str], rows: Iterable[list[str]]) -> list[str]:
    """The lines of a Markdown table (``align``: ``---`` or ``---:`` per column)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def failed_gates(doc: Document) -> list[dict[str, Any]]:
    """The gate results of ``doc`` that failed."""
    return [g for g in doc["gates"] if not g["passed"]]


def md_headline(doc: Document) -> str:
    """``### lossctl seg: ✅ 2 gate(s) passed`` (or how many failed, or ``no gates``)."""
    failed = failed_gates(doc)
    if not doc["gates"]:
        verdict = "no gates"
    elif failed:
        verdict = f"❌ {len(failed)} of {len(doc['gates'])} gate(s) failed"
    else:
        verdict = f"✅ {len(doc['gates'])} gate(s) passed"
    return f"### lossctl {doc['command']}: {verdict}"


def md_gates(doc: Document) -> list[str]:
    """The gates as a Markdown table (gate, value, baseline, result) and a blank line; nothing without gates."""
    if not doc["gates"]:
        return []
    rows = []
    for g in doc["gates"]:
        base = fmt(g["base"]) if "base" in g else ""
        verdict = "✅ pass" if g["passed"] else "❌ **FAIL**" + (f": {md_cell(g['reason'])}" if g.get("reason") else "")
        rows.append([f"`{md_cell(g['gate'])}`", fmt(g["value"]), base, verdict])
    return md_table(["gate", "value", "baseline", "result"], ["---", "---:", "---:", "---"], rows) + [""]
