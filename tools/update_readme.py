"""Rewrite the generated blocks of README.md from the registry (`make readme`); tests/test_docs.py checks them.

Blocks are delimited by ``<!-- BEGIN name -->`` and ``<!-- END name -->`` lines.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lossctl.catalogue import generated_blocks  # noqa: E402


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    for name, body in generated_blocks().items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no block {name}")
        text = pattern.sub(lambda m, body=body: m.group(1) + body + m.group(2), text)
    readme.write_text(text, encoding="utf-8")
    print("README.md blocks updated:", ", ".join(generated_blocks()))


if __name__ == "__main__":
    main()
