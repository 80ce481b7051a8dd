"""How every writer spells what it shows: numbers (4 decimals for people, full precision in CSV), counts,
relative changes, units, the direction arrows, the two kinds of missing value, and the GitHub-flavoured Markdown
that ``github`` and compare's ``markdown`` share (cells, tables, the verdict headline, the gates table).

Missing values, as people read them (JSON has ``null`` for both; CSV an empty cell):

* :data:`UNDEFINED` (``—``): a value the convention leaves undefined (0/0: a class absent from both masks, a
  statistic over no image);
* :data:`NOT_APPLICABLE` (``n/a``): a value that does not apply: a statistic the value does not have (a loss
  has no ``pooled`` value, a cls metric no spread over samples), or a per-class entry the run's rules leave out
  (``summary.not_applicable``, see :func:`lossctl.engine.document.applies`). In a row of values a writer
  passes it as :data:`NA`.

A relative change (``rel``: a fraction in JSON and in gates) is shown in percent, :func:`percent`, everywhere
people read it; a count (``worse()`` gates) as an integer.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lossctl.engine.document import Document, applies, class_label, gate_comparison, gate_value_name, value_unit
from lossctl.engine.gates import parse_gate

#: An undefined value (``null`` in the document: 0/0), as people read it.
UNDEFINED = "—"
#: A value that does not apply (absent, or named in ``summary.not_applicable``), as people read it.
NOT_APPLICABLE = "n/a"
#: A value's direction (``higher_is_better``; None: a value the registry does not know) as the tables mark it.
ARROWS = {True: "↑", False: "↓", None: ""}


class _NotApplicable:
    """The type of :data:`NA`."""

    def __repr__(self) -> str:
        return "NA"


#: The cell of a value that does not apply, in rows of values (:func:`fmt` prints it :data:`NOT_APPLICABLE`,
#: :func:`csv_cell` leaves it empty).
NA = _NotApplicable()


def fmt(v: Any, digits: int = 4) -> str:
    """``v`` with ``digits`` decimals (an integer, a count, as it is), :data:`UNDEFINED` (None) or
    :data:`NOT_APPLICABLE` (:data:`NA`)."""
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return _missing(v) or f"{v:.{digits}f}"


def signed(v: Any, digits: int = 4) -> str:
    """``v`` with its sign and ``digits`` decimals (a change: ``+0.0123``), or a missing value's mark."""
    return _missing(v) or f"{v:+.{digits}f}"


def percent(v: Any) -> str:
    """A relative change (a fraction) in percent with its sign: ``-3.02%``, or a missing value's mark."""
    return _missing(v) or f"{100 * v:+.2f}%"


def count(v: Any) -> str:
    """A count as an integer (``2``, not ``2.0000``), or a missing value's mark."""
    return _missing(v) or str(int(v))


def _missing(v: Any) -> str:
    return UNDEFINED if v is None else NOT_APPLICABLE if v is NA else ""


def with_unit(name: str, unit: str | None) -> str:
    """A value's name with its unit when it has one: ``hd95 (mm)``; ``dice``."""
    return f"{name} ({unit})" if unit else name


def gate_value(result: dict[str, Any], unit: str | None = None) -> str:
    """The value a gate result read, as the gates tables print it: a count for ``worse()`` (``2``), percent for
    ``rel()`` (``-3.02%``), a signed change for ``delta()`` (``+0.0123``), else 4 decimals; with ``unit`` (of the
    gated value) after a value that has it (``1.2500 mm``)."""
    form = gate_comparison(result)
    if form == "worse":
        return count(result["value"])
    if form == "rel":
        return percent(result["value"])
    text = signed(result["value"]) if form == "delta" else fmt(result["value"])
    return f"{text} {unit}" if unit and result["value"] is not None else text


def class_cells(doc: Document, name: str, vector: Iterable[Any]) -> list[Any]:
    """A per-class vector of value ``name`` with :data:`NA` where the entry does not apply
    (:func:`~lossctl.engine.document.applies`)."""
    return [v if applies(doc, name, class_label(doc, i)) else NA for i, v in enumerate(vector)]


def gate_threshold_text(result: dict[str, Any]) -> str:
    """``value V; threshold OP T[; baseline B, new N][; REASON]`` for messages (JUnit failures, workflow
    commands): numbers in 6 significant digits, a ``rel()`` gate's value and threshold in percent, a
    ``worse()`` gate's count as an integer."""
    g = parse_gate(result["gate"])
    number = _relative if g.against == "rel" else _number
    text = f"value {number(result['value'])}; threshold {g.op} {number(g.threshold)}"
    if "base" in result:
        text += f"; baseline {_number(result['base'])}, new {_number(result['new'])}"
    if "margin" in result:
        text += f"; images worse by more than {result['margin']:g} (of {result['paired']} in both reports)"
    if result.get("reason"):
        text += f"; {result['reason']}"
    return text


def gate_verdict(result: dict[str, Any]) -> str:
    """``PASS``, ``FAIL``, or ``FAIL: REASON`` for a gate whose value is undefined (a vacuous gate: over no
    image)."""
    if result["passed"]:
        return "PASS"
    return f"FAIL: {result['reason']}" if result.get("reason") else "FAIL"


def _number(v: float | None) -> str:
    return "undefined" if v is None else f"{v:.6g}"


def _relative(v: float | None) -> str:
    return "undefined" if v is None else f"{100 * v:+.6g}%"


def csv_cell(v: Any) -> Any:
    """A CSV cell: a float at full precision (Python ``repr``), empty when missing, anything else as it is."""
    return "" if v is None or v is NA else (repr(v) if isinstance(v, float) else v)


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
    """The gates as a Markdown table (gate, value, baseline, result) and a blank line; nothing without gates.
    Values as :func:`gate_value` prints them."""
    if not doc["gates"]:
        return []
    rows = []
    for g in doc["gates"]:
        base = fmt(g["base"]) if "base" in g else ""
        verdict = "✅ pass" if g["passed"] else "❌ **FAIL**" + (f": {md_cell(g['reason'])}" if g.get("reason") else "")
        value = gate_value(g, value_unit(doc, gate_value_name(g["gate"])))
        rows.append([f"`{md_cell(g['gate'])}`", value, base, verdict])
    return md_table(["gate", "value", "baseline", "result"], ["---", "---:", "---:", "---"], rows) + [""]
