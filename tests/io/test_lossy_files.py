"""Issue 17, item 4: lossy files. A JPEG ground truth, or a JPEG prediction read as labels, is refused (that pair,
exit 3, the others evaluated); a JPEG probability map is read, with a note in its row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from support import write_label_png

H, W = 8, 9


def _jpeg(path: Path, values: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(values.astype(np.uint8), mode="L").save(path, format="JPEG", quality=95)
    return path


def _gt(rng: np.random.Generator) -> np.ndarray:
    gt = np.zeros((H, W), dtype=np.uint8)
    gt[:, 4:] = 1
    gt[rng.uniform(size=gt.shape) < 0.1] ^= 1
    return gt


def test_a_jpeg_ground_truth_is_refused(cli, tmp_path, rng):
    gt = _gt(rng)
    write_label_png(tmp_path / "pred/a.png", gt)
    write_label_png(tmp_path / "pred/b.png", gt)
    write_label_png(tmp_path / "gt/a.png", gt)
    path = _jpeg(tmp_path / "gt/b.jpg", gt)
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json")
    assert r.code == 3, r
    assert r.error_lines() == [f"error: {path}: the ground truth is a JPEG, and JPEG compression changes label "
                               "values (near every edge); save the labels as PNG"]
    assert [row["name"] for row in r.json()["images"]] == ["a"]
    assert r.json()["errors"][0]["file"] == str(path)


def test_a_jpeg_label_prediction_is_refused(cli, tmp_path, rng):
    gt = _gt(rng)
    write_label_png(tmp_path / "gt/a.png", gt)
    path = _jpeg(tmp_path / "pred/a.jpg", gt)
    message = (f"error: {path}: the prediction is a JPEG read as labels, and JPEG compression changes label values "
               "(near every edge); save the labels as PNG (a probability map saved as JPEG: pass --pred-kind probs)")
    for args in ((), ("--pred-kind", "labels")):
        r = cli("seg", tmp_path / "pred", tmp_path / "gt", *args)
        assert r.code == 3 and r.error_lines() == [message], r


def test_a_jpeg_probability_map_is_read_with_a_note(cli, tmp_path, rng):
    gt = _gt(rng)
    write_label_png(tmp_path / "gt/a.png", gt)
    heat = np.clip(0.25 + 0.5 * gt + rng.uniform(-0.2, 0.2, gt.shape), 0, 1)
    path = _jpeg(tmp_path / "pred/a.jpg", np.round(heat * 255))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-kind", "probs", "-f", "json")
    assert r.code == 0, r
    row = r.json()["images"][0]
    assert row["notes"] == ["prediction is a lossy JPEG: its probabilities carry JPEG's compression error",
                            "prediction is a uint8 probability map: read as v / 255"]
    decoded = np.asarray(Image.open(path)) / 255.0  # the values as decoded, artefacts included
    fg = (decoded >= 0.5).astype(int)
    assert row["confusion_matrix"] == [[int(np.sum((gt == i) & (fg == j))) for j in (0, 1)] for i in (0, 1)]
