"""Fixtures shared by the test modules: a seeded generator, the in-process CLI runner and the standard inputs.

``cli``, ``seg`` and ``cls_data`` are defined once here, and the runs several folders read (``runs``: a baseline
and a worse run; ``shards``: a sharded run of the sample data); helpers that build other inputs live in
``support.py``. This file's folder, tests/, is put on ``sys.path`` by pytest (no ``__init__.py``): the modules
of every folder below import ``support``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings
from support import (  # noqa: F401  (cli is a fixture)
    CLASSES,
    SHARDED_RUN,
    SegSet,
    cli,
    make_seg_set,
    write_cls_inputs,
    write_label_png,
)

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


@pytest.fixture
def runs(tmp_path, cli):  # noqa: F811  (the fixture cli)
    """Reports of a baseline run (label predictions) and of a new run worse on image ``b`` only."""
    s = make_seg_set(tmp_path / "data")
    worse = tmp_path / "data" / "worse"
    preds = {}
    for name in s.names:
        pred = s.label_pred(name).copy()
        if name == "b":  # half of b's pixels become class 0
            pred.flat[::2] = 0
        preds[name] = pred
        write_label_png(worse / f"{name}.png", pred)
    out = tmp_path / "out"
    out.mkdir()
    base_json, new_json = out / "base.json", out / "new.json"
    assert cli("seg", s.labels, s.gt, "--class-names", CLASSES, "-f", "json", "-o", base_json).code == 0
    assert cli("seg", worse, s.gt, "--class-names", CLASSES, "-f", "json", "-o", new_json).code == 0
    return {"set": s, "worse": worse, "preds": preds, "base": base_json, "new": new_json, "out": out}


@pytest.fixture
def shards(tmp_path, cli):  # noqa: F811  (the fixture cli)
    """The four shards of :data:`support.SHARDED_RUN`, written as JSON reports: {k: path}."""
    paths = {}
    for k in range(1, 5):
        paths[k] = tmp_path / f"part{k}.json"
        assert cli(*SHARDED_RUN, "--shard", f"{k}/4", "-o", paths[k]).code == 0
    return paths
