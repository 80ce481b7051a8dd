"""The README's dataset recipes ("Datasets": Cityscapes, ADE20K, nnU-Net and a list of pairs on stdin) run as
written, on small stand-ins laid out as the datasets publish them.

What each recipe relies on is tested with its subject: pairing in tests/dataset/test_pairing.py, label maps in
tests/dataset/test_label_maps.py, dataset.json in tests/dataset/test_descriptions.py, and their bad inputs in
tests/cli/test_seg_bad_input.py.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def datasets_commands() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## Datasets\n")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"```console\n(.*?)```", section, re.S)
    return [line for block in blocks for line in block.splitlines() if "lossctl seg" in line]


def png(path: Path, labels: Any, mode: str = "L") -> None:
    import numpy as np
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)  # uint8 (H,W): mode L; (H,W,3): RGB; uint16: I;16
    Image.fromarray(np.asarray(labels, dtype=np.uint16 if mode == "I;16" else np.uint8)).save(path)


def cityscapes_stand_in(root: Path, results: str, gt_val: str, flat: bool) -> None:
    """Two cities as gtFine publishes them (labelIds, color, instanceIds, polygons beside each other), and
    predictions in label ids, flat (the server's format) or in city folders."""
    import numpy as np

    rng = np.random.default_rng(11)
    for stem in ("frankfurt_000000_000294", "frankfurt_000001_007973", "lindau_000000_000019"):
        city = stem.split("_")[0]
        gt = rng.integers(0, 34, (6, 8))
        folder = root / gt_val / city
        png(folder / f"{stem}_gtFine_labelIds.png", gt)
        png(folder / f"{stem}_gtFine_color.png", np.stack([gt * 7] * 3, axis=-1), mode="RGB")
        png(folder / f"{stem}_gtFine_instanceIds.png", gt * 1000 + 1, mode="I;16")
        (folder / f"{stem}_gtFine_polygons.json").write_text('{"objects": []}', encoding="utf-8")
        pred = np.where(rng.random(gt.shape) < 0.7, gt, rng.integers(0, 34, gt.shape))
        png(root / results / ("" if flat else city) / f"{stem}_leftImg8bit.png", pred)


def ade_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(12)
    for i in (1, 2):
        gt = rng.integers(0, 151, (7, 9))  # 0 is "other", 1..150 the classes
        png(root / "ADEChallengeData2016/annotations/validation" / f"ADE_val_{i:08d}.png", gt)
        png(root / "ADEChallengeData2016/images/validation" / f"ADE_val_{i:08d}.jpg", gt)  # the images beside
        pred = np.where(gt > 0, gt - 1, rng.integers(0, 150, gt.shape))  # mmsegmentation's indices 0..149
        png(root / "pred" / f"ADE_val_{i:08d}.png", pred)


def nnunet_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(13)
    dataset = root / "nnUNet_raw/Dataset120_RoadSegmentation"
    dataset.mkdir(parents=True)
    description = {"channel_names": {"0": "R", "1": "G", "2": "B"}, "labels": {"background": 0, "road": 1},
                   "numTraining": 2, "file_ending": ".png"}
    (dataset / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    predictions = root / "nnUNet_results/predictions"
    for case in ("road_0001", "road_0002"):
        gt = rng.integers(0, 2, (8, 8))
        png(dataset / "labelsTr" / f"{case}.png", gt)
        png(dataset / "imagesTr" / f"{case}_0000.png", gt * 255)
        png(predictions / f"{case}.png", np.where(rng.random(gt.shape) < 0.8, gt, 1 - gt))
    (predictions / "dataset.json").write_text(json.dumps(description), encoding="utf-8")
    (predictions / "plans.json").write_text("{}", encoding="utf-8")
    (predictions / "predict_from_raw_data_args.json").write_text("{}", encoding="utf-8")


def mirrored_stand_in(root: Path) -> None:
    import numpy as np

    rng = np.random.default_rng(14)
    for name in ("a", "sub/b"):
        gt = rng.integers(0, 3, (5, 5))
        png(root / "gt" / f"{name}.png", gt)
        png(root / "pred" / f"{name}.png", np.where(rng.random(gt.shape) < 0.8, gt, 0))


def stand_in_for(command: str, root: Path) -> None:
    if "ADEChallengeData2016" in command:
        ade_stand_in(root)
    elif "nnUNet_raw" in command:
        nnunet_stand_in(root)
    elif "cityscapes/gtFine" in command:
        cityscapes_stand_in(root, "results", "cityscapes/gtFine/val", flat=True)
    elif "--pred-pattern" in command:
        cityscapes_stand_in(root, "pred", "gtFine/val", flat=False)
    elif "--pairs -" in command:
        mirrored_stand_in(root)
    else:
        raise AssertionError(f"no stand-in for the README command {command!r}")


def test_the_readme_shows_the_three_datasets():
    commands = datasets_commands()
    assert any("--label-map cityscapes" in c for c in commands)
    assert any("--label-map reduce-zero" in c for c in commands)
    assert any("--dataset-json" in c for c in commands)


@pytest.mark.parametrize("command", datasets_commands())
def test_readme_dataset_commands_run(command: str, tmp_path: Path):
    import shlex
    import subprocess
    import sys

    stand_in_for(command, tmp_path)
    lossctl = f"{shlex.quote(sys.executable)} -m lossctl"
    line = re.sub(r"(^|\| )lossctl ", lambda m: f"{m.group(1)}{lossctl} ", command) + " -f json"
    env = {**os.environ, "PYTHONPATH": str(README.parent)}
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {line}"], cwd=tmp_path, capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, (line, done.stderr)
    doc = json.loads(done.stdout)
    assert doc["summary"]["count"] >= 2 and doc["errors"] == [], doc
    if "cityscapes" in command:
        assert doc["config"]["num_classes"] == 19 and doc["config"]["class_names"][0] == "road"
        assert all("/" not in image["name"] for image in doc["images"])  # */ dropped the city folder
    if "reduce-zero" in command:
        assert doc["config"]["num_classes"] == 150
    if "dataset-json" in command:
        assert doc["config"]["class_names"] == ["background", "road"]
