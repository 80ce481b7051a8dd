"""Rewrite the generated blocks of README.md (`make readme`); tests/test_docs.py checks them.

Blocks are delimited by ``<!-- BEGIN name -->`` and ``<!-- END name -->`` lines: the catalogue and convention
tables come from the registry, the layout table from the modules' own docstrings, the quick-start output from
running `make run`'s command at 80 columns.
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

from lossctl.report.catalogue import generated_blocks  # noqa: E402

#: `make run`'s command (the Makefile's SAMPLE_ARGS, with --per-class).
QUICK_START = ["seg", "sample_data/pred_probs", "sample_data/gt",
               "--class-names", "background,road,building,vegetation", "--per-class"]


def quick_start_output(width: int = 80) -> str:
    """What `make run` prints in a ``width``-column terminal (stdout then the stderr summary line), as a
    Markdown console block."""
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "LOSSCTL_FORMAT", "LOSSCTL_OUTPUT")}
    env.update(COLUMNS=str(width), NO_COLOR="1")
    run = subprocess.run([sys.executable, "-m", "lossctl", *QUICK_START], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=True)
    return f"```console\n$ lossctl {shlex.join(QUICK_START)}\n{run.stdout}{run.stderr}```\n"


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
    return sentence.replace("``", "`").replace("|", "\\|")


def layout_table() -> str:
    """The README's layout table: every module of lossctl/, layer by layer from the bottom, with the first
    sentence of its docstring (what it owns)."""
    package = ROOT / "lossctl"
    rows = ["| module | what it owns |", "|---|---|"]
    for layer in LAYERS:
        path = package / layer
        files = [path] if path.suffix == ".py" else [path / "__init__.py", *sorted(
            p for p in path.glob("*.py") if p.name != "__init__.py")]
        for file in files:
            name = file.relative_to(ROOT).as_posix()
            rows.append(f"| `{name}` | {_first_sentence(file)} |")
    return "\n".join(rows) + "\n"


def blocks() -> dict[str, str]:
    return {**generated_blocks(), "layout": layout_table(), "quick-start-output": quick_start_output()}


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    generated = blocks()
    for name, body in generated.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no block {name}")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text)
    readme.write_text(text, encoding="utf-8")
    print("README.md blocks updated:", ", ".join(generated))


if __name__ == "__main__":
    main()
