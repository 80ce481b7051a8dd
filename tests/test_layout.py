"""The house holds: every import points down the layers, no import cycle, no ``--flag`` text below the command line,
and the layout list of docs/development.md names every module (docs/development.md, "Layout").

The layers come from ``tools/update_readme.py`` (``LAYERS``, bottom up), the same list that generates the table.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "lossctl"
sys.path.insert(0, str(ROOT / "tools"))
import update_readme  # noqa: E402

MODULES = sorted(PACKAGE.rglob("*.py"))
#: A long option inside a string: two dashes, a lowercase letter, then letters and dashes (`--pred-kind`).
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    """The index in ``LAYERS`` of the layer ``module`` (``lossctl.x.y``) belongs to."""
    parts = module.split(".")
    if len(parts) == 1:  # the package face
        return update_readme.LAYERS.index("__init__.py")
    head = parts[1]
    return update_readme.LAYERS.index(head if head in update_readme.LAYERS else f"{head}.py")


def _imports(path: Path) -> list[tuple[str, int]]:
    """The lossctl modules ``path`` imports, anywhere in it (module level or inside functions), with the line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "lossctl":
            for alias in node.names:  # `from lossctl.io import arrays` imports lossctl.io.arrays when it exists
                sub = f"{node.module}.{alias.name}"
                sub_path = ROOT / Path(*sub.split("."))
                found.append((sub if sub_path.with_suffix(".py").exists() or sub_path.is_dir() else node.module,
                              node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "lossctl"]
    return found


def test_the_layers_name_every_top_level_module_and_package():
    top = {p.name for p in PACKAGE.iterdir() if (p.suffix == ".py" or (p / "__init__.py").exists())}
    assert top == set(update_readme.LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_imports_point_down_the_layers(path: Path):
    own = _layer(_module_name(path))
    upward = [(module, line) for module, line in _imports(path)
              if module != "lossctl" and _layer(module) > own]
    assert not upward, f"{path.relative_to(ROOT)} imports from a layer above it: {upward}"


def test_no_import_cycle():
    """No module imports, even inside a function, a module that imports it back. What a module takes from the
    package face itself (``from lossctl import __version__``) is no edge: Python runs lossctl/__init__.py before
    any module of the package, and the face defines its constants before it imports anything (its one import,
    of ``lossctl.evaluate``, happens on first use; tests/engine/test_evaluate.py checks that it is not made before)."""
    graph = {_module_name(p): {m for m, _ in _imports(p) if m != "lossctl"} for p in MODULES}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join(trail + [node, nxt])}"
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def _strings_outside_docstrings(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and (body := node.body) and isinstance(body[0], ast.Expr)
                  and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings]


@pytest.mark.parametrize("path", [p for p in MODULES if "cli" not in p.relative_to(PACKAGE).parts],
                         ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_flag_text_below_the_command_line(path: Path):
    """The core names settings with errors.setting(); only lossctl/cli/ spells options."""
    flags = [(line, text) for line, text in _strings_outside_docstrings(path) if FLAG.search(text)]
    assert not flags, f"{path.relative_to(ROOT)} spells command-line flags: {flags}"


def test_the_layout_list_is_the_tree():
    page = (ROOT / "docs" / "development.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- BEGIN layout -->\n(.*?)<!-- END layout -->", page, re.S)
    assert block and block.group(1) == update_readme.layout_table(), \
        "docs/development.md's layout is stale: run `make readme`"
    listed = set(re.findall(r"^- `(lossctl/[\w/]+\.py)`: ", block.group(1), re.M))
    assert listed == {p.relative_to(ROOT).as_posix() for p in MODULES}
