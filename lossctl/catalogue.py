"""The catalogue printed by ``lossctl losses`` and embedded in README.md, generated from the registry."""

from __future__ import annotations

from lossctl import boundary, registry
from lossctl.losses import seg_presets

_COLUMNS = ("name", "task", "kind", "input", "better", "parameters (default)", "formula")


def _param_text(spec: registry.Spec) -> str:
    return ", ".join(f"{p.name}={p.default}" for p in spec.params) or "—"


def _rows() -> list[tuple[str, ...]]:
    return [(s.name, s.task, s.kind, "probs/logits" if s.needs == "soft" else "labels/probs/logits",
             s.direction, _param_text(s), s.formula) for s in registry.REGISTRY.values()]


def markdown_table() -> str:
    """The catalogue as a Markdown table (the README's table between the catalogue markers)."""
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for row in _rows():
        cells = [f"`{row[0]}`", *row[1:6], f"`{row[6]}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render(fmt: str = "table") -> str:
    """The catalogue as a Rich table (``table``) or Markdown (``markdown``)."""
    if fmt == "markdown":
        return markdown_table()
    if fmt != "table":
        raise registry.UsageError(f"unknown --format {fmt!r} for the catalogue; choose table or markdown")
    import io

    from rich.console import Console
    from rich.table import Table

    buffer = io.StringIO()
    table = Table(title="lossctl losses and metrics", title_justify="left")
    for col in _COLUMNS:
        table.add_column(col, overflow="fold")
    for row in _rows():
        table.add_row(*row)
    Console(file=buffer, width=160, highlight=False).print(table)
    return buffer.getvalue()


def explain(name: str) -> str:
    """Everything about one entry: formula, convention, parameters, reference (every task that has it)."""
    found = [s for s in registry.REGISTRY.values() if s.name == name]
    if not found:
        every = sorted({s.name for s in registry.REGISTRY.values()})
        raise registry.UsageError(f"unknown loss or metric {name!r}; choose from: {', '.join(every)}")
    out = []
    for s in found:
        out += [f"{s.name} ({s.task} {s.kind}, {s.direction} is better, bounds {list(s.bounds)})",
                f"  input:      {'probabilities or logits' if s.needs == 'soft' else 'labels, probabilities or logits'}",
                f"  formula:    {s.formula}",
                f"  convention: {s.convention}",
                f"  reference:  {s.reference}"]
        for p in s.params:
            out.append(f"  param {p.name} = {p.default}: {p.help}")
        for convention, text in conventions(s).items():
            out.append(f"  --convention {convention}: {text}")
        out.append("")
    return "\n".join(out)


def conventions(spec: registry.Spec) -> dict[str, str]:
    """How each ``--convention`` defines ``spec`` ("not available" where the framework lacks it)."""
    if spec.opt_in:  # the boundary metrics: their own conventions
        return {c: spec.presets.get(c, "not available") for c in boundary.CONVENTIONS}
    if spec.kind == "metric":
        return {"all": "the same under every convention"}
    if spec.task == "cls":
        return {c: spec.presets.get(c, "not available") for c in registry.CONVENTIONS}
    out = {"lossctl": spec.convention}
    for c in registry.CONVENTIONS[1:]:
        fn = seg_presets.SEG_PRESETS.get((spec.name, c))
        if fn is None:
            out[c] = "not available"
            continue
        doc = (fn.__doc__ or "").strip().splitlines()
        text = doc[0] if doc else f"as lossctl (from {c})"
        if (spec.name, c) in seg_presets.LOGITS_ONLY:
            text += " [logits only]"
        extra = seg_presets.PRESET_DEFAULTS.get((spec.name, c))
        out[c] = text + (f" (defaults {extra})" if extra else "")
    return out


def convention_table(task: str) -> str:
    """Markdown table: one row per loss of ``task``, one column per convention (what it does, or "—")."""
    lines = ["| loss | " + " | ".join(registry.CONVENTIONS) + " |", "|---|" + "---|" * len(registry.CONVENTIONS)]
    for spec in registry.specs(task, "loss"):
        cells = conventions(spec)
        row = [f"`{spec.name}`"] + [("—" if cells[c] == "not available" else cells[c]).replace("|", "\\|")
                                    for c in registry.CONVENTIONS]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def boundary_convention_table() -> str:
    """Markdown table: one row per boundary metric, one column per boundary convention."""
    names = list(boundary.CONVENTIONS)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for spec in registry.specs("seg", "metric"):
        if spec.opt_in:
            cells = conventions(spec)
            row = [f"`{spec.name}`"] + [("—" if cells[c] == "not available" else cells[c]).replace("|", "\\|")
                                        for c in names]
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def generated_blocks() -> dict[str, str]:
    """The README blocks generated from the registry, by marker name."""
    return {"catalogue": markdown_table(), "seg-conventions": convention_table("seg"),
            "cls-conventions": convention_table("cls"), "boundary-conventions": boundary_convention_table()}
