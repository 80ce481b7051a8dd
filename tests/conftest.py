"""Fixtures shared by every test module: a seeded generator, the in-process CLI runner and the standard inputs.

``cli``, ``seg`` and ``cls_data`` are defined once here; helpers that build other inputs live in
``support.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from support import SegSet, cli, make_seg_set, write_cls_inputs  # noqa: F401  (cli is a fixture)

settings.register_profile("default", max_examples=40, deadline=None)
settings.register_profile("slow", max_examples=600, deadline=None)
settings.load_profile(os.environ.get("LOSSCTL_HYPOTHESIS", "default"))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261128)


@pytest.fixture
def seg(tmp_path: Path) -> SegSet:
    """The standard segmentation set (probabilities, logits, labels and ground truth of a few images)."""
    return make_seg_set(tmp_path / "data")


@pytest.fixture
def cls_data(tmp_path: Path) -> dict:
    """The standard classification inputs in every file format."""
    return write_cls_inputs(tmp_path / "cls")
