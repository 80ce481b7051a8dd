"""Rewrite the generated blocks of README.md and docs/*.md (`make readme`); tests/test_docs.py checks them.

Blocks are delimited by ``<!-- BEGIN name -->`` and ``<!-- END name -->`` lines, in whichever page holds them
(each block in exactly one page): the catalogue and convention lists come from the registry, the layout list from
the modules' own docstrings, the example outputs from running their commands at 80 columns.
"""

from __future__ import annotations

import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lossctl.report.catalogue import generated_blocks, wrap_markdown  # noqa: E402

#: The pages that may hold generated blocks: the front page and every page of docs/.
def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


#: `make run`'s command (the Makefile's SAMPLE_ARGS, with --per-class).
QUICK_START = ["seg", "sample_data/pred_probs", "sample_data/gt",
               "--class-names", "background,road,building,vegetation", "--per-class"]
#: The front page's example: the label maps, two metrics, a gate, the three worst images.
FRONT_PAGE = ["seg", "sample_data/pred_labels", "sample_data/gt", "--class-names",
              "background,road,building,vegetation", "-m", "dice", "-m", "iou", "--gate", "dice>=0.8", "--worst", "3"]


def command_output(args: list[str], width: int = 80) -> str:
    """What ``lossctl ARGS`` prints in a ``width``-column terminal (stdout then the stderr summary line), as a
    Markdown console block."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "LOSSCTL_FORMAT", "LOSSCTL_OUTPUT")}
    env.update(COLUMNS=str(width), NO_COLOR="1")
    run = subprocess.run([sys.executable, "-m", "lossctl", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return f"```console\n$ lossctl {shlex.join(args)}\n{run.stdout}{run.stderr}```\n"


def quick_start_output(width: int = 80) -> str:
    """What `make run` prints in a ``width``-column terminal, as a Markdown console block."""
    return command_output(QUICK_START, width)


#: The packages from the bottom layer up: each imports only those before it (and the modules at the top of lossctl/
#: that come before it: errors, _numeric, convention, then registry above losses and metrics).
LAYERS = ("errors.py", "_numeric.py", "convention.py", "io", "dataset", "inputs", "metrics", "losses", "registry.py",
          "engine", "report", "cli", "__init__.py", "__main__.py")


def _first_sentence(path: Path) -> str:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    match = re.match(r"(.+?\.)(\s|$)", paragraph)
    sentence = match.group(1) if match else paragraph
    sentence = re.sub(r":[a-z]+:`~?(?:[\w.]+\.)?([^`]+)`", r"`\1`", sentence)  # :class:`~a.b.C` -> `C`
    return sentence.replace("``", "`")


def layout_table() -> str:
    """The layout list of docs/development.md: every module of lossctl/, layer by layer from the bottom, with the
    first sentence of its docstring (what it owns), one item per module."""
    package = ROOT / "lossctl"
    rows = []
    for layer in LAYERS:
        path = package / layer
        files = [path] if path.suffix == ".py" else [path / "__init__.py", *sorted(
            p for p in path.glob("*.py") if p.name != "__init__.py")]
        for file in files:
            name = file.relative_to(ROOT).as_posix()
            rows.append(wrap_markdown(f"- `{name}`: {_first_sentence(file)}"))
    return "\n".join(rows) + "\n"


def blocks() -> dict[str, str]:
    return {**generated_blocks(), "layout": layout_table(), "quick-start-output": quick_start_output(),
            "front-page-output": command_output(FRONT_PAGE)}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)


def find_block(name: str, texts: dict[Path, str]) -> Path:
    """The one page that holds the block ``name``."""
    holders = [path for path, text in texts.items() if block_pattern(name).search(text)]
    if len(holders) != 1:
        where = ", ".join(p.relative_to(ROOT).as_posix() for p in holders) or "no page"
        raise SystemExit(f"the block {name} must be in exactly one page of README.md and docs/; found in {where}")
    return holders[0]


def main() -> None:
    texts = {path: path.read_text(encoding="utf-8") for path in pages()}
    generated = blocks()
    for name, body in generated.items():
        path = find_block(name, texts)
        texts[path] = block_pattern(name).sub(lambda m, body=body: m.group(1) + body + m.group(2), texts[path])
    for path, text in texts.items():
        if path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
    print("blocks updated:", ", ".join(f"{name} ({find_block(name, texts).relative_to(ROOT)})" for name in generated))


if __name__ == "__main__":
    main()
