"""The catalogue printed by ``lossctl losses`` and embedded in the documentation, generated from the registry's tables."""

from __future__ import annotations

from collections.abc import Sequence

from lossctl import registry
from lossctl.convention import Impl
from lossctl.errors import did_you_mean
from lossctl.metrics.boundary import BOUNDARY_METRICS
from lossctl.metrics.topology import TOPOLOGY_METRICS

_COLUMNS = ("name", "task", "kind", "input", "better", "parameters (default)", "conventions", "formula")
_KINDS = {"labels": "labels", "probs": "probs", "logits": "logits", "scores": "scores"}


def _inputs(impl: Impl) -> str:
    return "/".join(k for k in _KINDS if k in impl.inputs)


def _param_text(impl: Impl) -> str:
    return ", ".join(p.text() for p in impl.params) or "—"


def _rows() -> list[tuple[str, ...]]:
    return [(s.name, s.task, s.kind, _inputs(s.impl()), s.direction, _param_text(s.impl()),
             ", ".join(s.conventions), s.formula) for s in registry.REGISTRY.values()]


def markdown_table() -> str:
    """The catalogue as a Markdown table (the table between the catalogue markers of docs/conventions.md)."""
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for row in _rows():
        cells = [f"`{row[0]}`", *row[1:-1], f"`{row[-1]}`"]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def render(fmt: str = "table", width: int = 100) -> str:
    """The catalogue as tables for people (``table``: one table per task and kind, fitted to ``width``: a row
    per value, its name, its direction and a cell of text that folds, holding the formula, the inputs, the
    parameters with their defaults and the conventions) or as Markdown (``markdown``)."""
    if fmt == "markdown":
        return markdown_table()
    if fmt != "table":
        raise registry.UsageError(f"unknown catalogue format {fmt!r}; choose table or markdown", option="format")
    import io

    from rich.text import Text

    from lossctl.report.terminal import Block, Column, pack, print_parts

    parts: list[object] = [Text("lossctl losses and metrics (`lossctl losses NAME` explains one in full)",
                                style="bold")]
    for task, kind in (("seg", "metric"), ("seg", "loss"), ("cls", "loss"), ("cls", "metric")):
        specs = registry.specs(task, kind)
        fixed = [Column("name", [s.name for s in specs], "left"),
                 Column("", ["↑" if s.higher_is_better else "↓" for s in specs], "left")]
        about = Column("formula; input; parameters (default); conventions", [_about(s) for s in specs], "left")
        parts += pack(Block(fixed, [(f"{task} {kind}{'es' if kind == 'loss' else 's'}", [about])],
                            sections=range(1, len(specs))), width)
    parts += [Text(""), Text("↑ higher is better, ↓ lower is better", style="dim")]
    buffer = io.StringIO()
    print_parts(parts, buffer, width)
    return buffer.getvalue()


def _about(spec: registry.Spec) -> str:
    """A value's catalogue cell: its formula, inputs, parameters and conventions, one line each."""
    params = _param_text(spec.impl())
    unit = ("; a length: mm (px or voxels without a spacing)" if spec.distance else
            "; a volume: mm^3 (mm^2 in 2D; px or voxels without a spacing)" if spec.volume else "")
    return "\n".join([spec.formula,
                      f"input: {_inputs(spec.impl())}" + (f"; {params}" if params != "—" else "") + unit,
                      f"conventions: {', '.join(spec.conventions)}"])


def _describe(name: str, impl: Impl, task: str) -> list[str]:
    lines = [f"  {name}: {impl.definition}"]  # "convention: definition", one per convention
    facts = [f"input {_inputs(impl)}"]
    if task == "cls" and impl.targets:
        facts.append("targets " + "/".join(sorted(impl.targets)))
    if task == "cls" and impl.options != frozenset({"weights", "class_weights", "ignore_index"}):
        facts.append("takes " + (", ".join(o.replace("_", " ") for o in sorted(impl.options)) or "no weights or "
                                 "ignore index"))
    lines.append(f"    {'; '.join(facts)}")
    for p in impl.params:
        lines.append(f"    param {p.text()}: {p.help}")
    if impl.reference:
        lines.append(f"    reference: {impl.reference}")
    return lines


def explain(name: str, width: int = 100) -> str:
    """One value in full (its name's case ignored): its formula, then every convention's definition, parameters,
    inputs and reference, one after another (every task that has the name); a line longer than ``width``
    continues on the next ones, indented under its start."""
    found = [s for s in registry.REGISTRY.values() if s.name == name.strip().lower()]
    if not found:
        every = sorted({s.name for s in registry.REGISTRY.values()})
        raise registry.UsageError(f"unknown loss or metric {name!r}{did_you_mean(name, every)}; choose from: "
                                  f"{', '.join(every)}")
    out = []
    for s in found:
        missing = [c for c in registry.conventions(s.task) if c not in s.conventions]
        out += [f"{s.name} ({s.task} {s.kind}, {s.direction} is better, bounds {list(s.bounds)})",
                f"  formula: {s.formula}", "  conventions:"]
        for convention, impl in s.conventions.items():
            out += _describe(convention, impl, s.task)
        if missing:
            out.append(f"  not defined under: {', '.join(missing)}")
        out.append("")
    return "\n".join(_wrapped(line, width) for line in out)


def _wrapped(line: str, width: int) -> str:
    """``line`` cut at spaces into lines of at most ``width`` characters, the next ones indented four more than
    it (deeper than the lines that belong to it)."""
    import textwrap

    indent = " " * (len(line) - len(line.lstrip()) + 4)
    return textwrap.fill(line, width, subsequent_indent=indent, break_on_hyphens=False) if line else line


def conventions(spec: registry.Spec) -> dict[str, str]:
    """How each convention of the task defines ``spec`` ("not available" where the framework lacks it)."""
    out = {}
    for convention in registry.conventions(spec.task):
        impl = spec.conventions.get(convention)
        if impl is None:
            out[convention] = "not available"
            continue
        text = impl.definition
        if impl.inputs == frozenset({"logits"}):
            text += " [logits only]"
        if impl.params:
            text += f" ({_param_text(impl)})"
        out[convention] = text
    return out


#: The width the generated Markdown is wrapped to (the source stays readable; the rendering is unchanged).
WRAP = 110


def wrap_markdown(text: str, indent: str = "  ", width: int = WRAP) -> str:
    """``text`` on lines of at most ``width`` characters (a longer word stands alone), continuation lines
    indented by ``indent``; never broken before a word that would start a list item or a heading (``-``, ``+``,
    ``*``, ``#``, ``1.``)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        starts_a_block = word in ("-", "+", "*") or word.startswith("#") or word.rstrip(".)").isdigit()
        if line and len(line) + 1 + len(word) > width and not starts_a_block:
            lines.append(line)
            line = indent + word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line])


def convention_blocks(task: str, kind: str, opt_in: bool = False, instance: bool = False,
                      names: Sequence[str] | None = None, calibration: bool = False) -> str:
    """Markdown, one block per value of ``task`` and ``kind`` (the opt-in boundary metrics, the instance values, the
    calibration values, or the others; only ``names`` when given): its name, then one item per convention that
    defines it (its definition, ``[logits only]``, its parameters' defaults), then the conventions of the task that
    do not."""
    specs = [s for s in registry.specs(task, kind) if s.opt_in == (opt_in or instance or calibration)
             and s.instance == instance and s.calibration == calibration and (names is None or s.name in names)]
    used = [c for c in registry.conventions(task) if any(c in s.conventions for s in specs)]
    blocks = []
    for spec in specs:
        cells = conventions(spec)
        lines = [f"**`{spec.name}`**", ""]
        lines += [wrap_markdown(f"- `{c}`: {cells[c]}".replace("*", "\\*")) for c in used
                  if cells[c] != "not available"]
        missing = [c for c in used if cells[c] == "not available"]
        if missing:
            lines.append(f"- not defined under: {', '.join(f'`{c}`' for c in missing)}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def generated_blocks() -> dict[str, str]:
    """The documentation's blocks generated from the registry, by marker name (docs/conventions.md, docs/volumes.md)."""
    return {"catalogue": markdown_table(), "seg-conventions": convention_blocks("seg", "loss"),
            "seg-metric-conventions": convention_blocks("seg", "metric"),
            "cls-conventions": convention_blocks("cls", "loss"),
            "cls-metric-conventions": convention_blocks("cls", "metric"),
            "boundary-conventions": convention_blocks("seg", "metric", opt_in=True, names=BOUNDARY_METRICS),
            "topology-conventions": convention_blocks("seg", "metric", opt_in=True, names=TOPOLOGY_METRICS),
            "instance-conventions": convention_blocks("seg", "metric", instance=True),
            "calibration-conventions": convention_blocks("seg", "metric", calibration=True)}
