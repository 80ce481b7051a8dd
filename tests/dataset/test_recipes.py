"""The dataset recipes of docs/datasets.md (Cityscapes, ADE20K, nnU-Net) give what their datasets' own evaluations
give, on small stand-ins laid out as the datasets publish them (``support.datasets_page_stand_ins``); the docs
test (tests/test_docs.py) runs every command of the page, these look at the numbers.

What each recipe relies on is tested with its subject: pairing in tests/dataset/test_pairing.py, label maps in
tests/dataset/test_label_maps.py, dataset.json in tests/dataset/test_descriptions.py, and their bad inputs in
tests/cli/test_seg_bad_input.py.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from support import datasets_page_stand_ins, doc_page


def recipe_commands() -> list[str]:
    """The commands of the page's recipes block (continuation lines joined)."""
    text = doc_page("datasets.md")
    section = text[text.index("## Recipes: datasets as they are published"):]
    block = re.search(r"```console\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]
    return [line for line in re.sub(r"\\\n\s*", "", block).splitlines() if line.startswith("lossctl seg")]


def test_the_page_shows_the_three_datasets():
    commands = recipe_commands()
    assert any("--label-map cityscapes" in c for c in commands)
    assert any("--label-map reduce-zero" in c for c in commands)
    assert any("--dataset-json" in c for c in commands)


@pytest.mark.parametrize("command", recipe_commands())
def test_recipe_reports(command: str, tmp_path: Path, cli, monkeypatch):
    datasets_page_stand_ins(tmp_path)
    monkeypatch.chdir(tmp_path)
    r = cli(*shlex.split(command)[1:], "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    assert doc["summary"]["count"] >= 2 and doc["errors"] == [], doc
    if "--label-map cityscapes" in command:
        assert doc["config"]["num_classes"] == 19 and doc["config"]["class_names"][0] == "road"
        assert all("/" not in image["name"] for image in doc["images"])  # */ dropped the city folder
    if "reduce-zero" in command:
        assert doc["config"]["num_classes"] == 150
    if "dataset-json" in command:
        assert doc["config"]["class_names"] == ["background", "road"]
