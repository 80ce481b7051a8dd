"""Issue 17, item 3: probabilities stored as integers.

``--pred-kind probs`` reads uint8 maps as v / 255 and uint16 maps as v / 65535 (float64), any map as v / S with
``--prob-scale S``; the channel-sum check allows the rounding (C / S). ``auto`` keeps integers as labels, but a
prediction that cannot be labels of the run's classes says it may be a probability map and how to read it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import write_label_png, write_npy

from lossctl import losses

H, W = 12, 10


@pytest.fixture
def heat(tmp_path: Path, rng: np.random.Generator) -> dict:
    """A binary task: 0/1 ground truth PNGs and a foreground heatmap of each, as 8-bit PNGs (the common case)."""
    out = {"gt": tmp_path / "gt", "png": tmp_path / "png", "u16": tmp_path / "u16", "ref": tmp_path / "ref",
           "ref16": tmp_path / "ref16", "maps": {}}
    for name in ("a", "b"):
        gt = (rng.uniform(size=(H, W)) > 0.5).astype(np.uint8)
        gt.flat[:2] = (0, 1)
        p = np.clip(0.3 + 0.4 * gt + rng.uniform(-0.3, 0.3, gt.shape), 0, 1)
        v8 = np.round(p * 255).astype(np.uint8)
        v16 = np.round(p * 65535).astype(np.uint16)
        write_label_png(out["gt"] / f"{name}.png", gt)
        write_label_png(out["png"] / f"{name}.png", v8)
        out["u16"].mkdir(exist_ok=True)
        Image.fromarray(v16).save(out["u16"] / f"{name}.png")
        write_npy(out["ref"] / f"{name}.npy", v8.astype(np.float64) / 255)  # what the reading must equal
        write_npy(out["ref16"] / f"{name}.npy", v16.astype(np.float64) / 65535)
        out["maps"][name] = (v8, gt)
    return out


def _same_numbers(a: dict, b: dict) -> None:
    assert [r["values"] for r in a["images"]] == [r["values"] for r in b["images"]]
    assert [r["confusion_matrix"] for r in a["images"]] == [r["confusion_matrix"] for r in b["images"]]


def test_an_8_bit_heatmap_png_of_a_binary_task_end_to_end(cli, heat):
    r = cli("seg", heat["png"], heat["gt"], "--pred-kind", "probs", "-f", "json")
    assert r.code == 0, r
    doc = r.json()
    ref = cli("seg", heat["ref"], heat["gt"], "--pred-kind", "probs", "-f", "json").json()
    _same_numbers(doc, ref)  # every loss and metric: the map is read as v / 255 in float64
    assert "ce" in doc["images"][0]["values"] and "lovasz" in doc["images"][0]["values"]
    assert doc["config"]["prob_scale"] is None and doc["config"]["num_classes"] == 2
    assert doc["images"][0]["notes"] == ["prediction is a uint8 probability map: read as v / 255"]
    table = cli("seg", heat["png"], heat["gt"], "--pred-kind", "probs", "-m", "dice")
    assert "note: prediction is a uint8 probability map: read as v / 255 (2 images: a, b)" in table.out


def test_a_16_bit_map_is_read_as_v_over_65535(cli, heat):
    doc = cli("seg", heat["u16"], heat["gt"], "--pred-kind", "probs", "-f", "json").json()
    _same_numbers(doc, cli("seg", heat["ref16"], heat["gt"], "--pred-kind", "probs", "-f", "json").json())
    assert doc["images"][0]["notes"] == ["prediction is a uint16 probability map: read as v / 65535"]


def test_prob_scale_reads_any_integer_map(cli, heat, tmp_path):
    for name, (v8, _) in heat["maps"].items():
        write_npy(tmp_path / "pct" / f"{name}.npy", np.round(v8 / 255 * 100).astype(np.int32))
        write_npy(tmp_path / "pct_ref" / f"{name}.npy", np.round(v8 / 255 * 100).astype(np.int32) / 100.0)
    r = cli("seg", tmp_path / "pct", heat["gt"], "--pred-kind", "probs", "--prob-scale", "100", "-f", "json")
    assert r.code == 0, r
    _same_numbers(r.json(), cli("seg", tmp_path / "pct_ref", heat["gt"], "--pred-kind", "probs", "-f", "json").json())
    assert r.json()["config"]["prob_scale"] == 100.0
    assert r.json()["images"][0]["notes"] == ["prediction is an int32 probability map: read as v / 100"]


def test_another_integer_type_needs_a_scale(cli, heat, tmp_path):
    path = write_npy(tmp_path / "i32/a.npy", heat["maps"]["a"][0].astype(np.int32))
    r = cli("seg", path, heat["gt"] / "a.png", "--pred-kind", "probs")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: --pred-kind probs reads integer maps as uint8 (v / 255) or uint16 (v / 65535), but the "
        "prediction holds int32 values; pass --prob-scale S, the stored value that means probability 1, or "
        "--pred-kind labels for label maps"]


def test_a_scale_below_the_values_is_refused(cli, heat):
    path = heat["png"] / "a.png"
    r = cli("seg", path, heat["gt"] / "a.png", "--pred-kind", "probs", "--prob-scale", "100")
    assert r.code == 3, r
    top = int(heat["maps"]["a"][0].max())
    low = int(heat["maps"]["a"][0].min())
    assert r.error_lines() == [
        f"error: {path}: the prediction is read as probabilities v / 100 but holds values in [{low}, {top}], "
        "outside [0, 100]; pass the stored value that means probability 1 as --prob-scale"]


@pytest.mark.parametrize("args, message", [
    (("--prob-scale", "255"), "--prob-scale 255 reads a probability map stored as integers (or scaled), but "
                              "--pred-kind is auto; pass --pred-kind probs with it"),
    (("--pred-kind", "probs", "--prob-scale", "0"),
     "--prob-scale 0: give the positive stored value that means probability 1 (e.g. 255, 100, 10000)"),
])
def test_prob_scale_usage(cli, heat, args, message):
    r = cli("seg", heat["png"], heat["gt"], *args)
    assert r.code == 2 and r.error_lines() == [f"error: {message}"], r


def test_multichannel_maps_allow_the_rounding_of_c_over_scale(cli, tmp_path, rng):
    gt = rng.integers(0, 3, (H, W)).astype(np.uint8)
    gt.flat[:3] = (0, 1, 2)
    logits = rng.normal(size=(3, H, W))
    p = np.exp(logits) / np.exp(logits).sum(axis=0)
    v = np.round(p * 255).astype(np.uint8)  # the channels now sum to 1 +- 1.5/255
    assert np.abs(v.sum(axis=0) / 255 - 1).max() > 1e-3  # the float tolerance alone would refuse it
    write_label_png(tmp_path / "gt/a.png", gt)
    write_npy(tmp_path / "pred/a.npy", v)
    ok = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-kind", "probs", "-f", "json")
    assert ok.code == 0, ok
    row = ok.json()["images"][0]
    labels = v.argmax(axis=0)
    assert row["confusion_matrix"] == [[int(np.sum((gt == i) & (labels == j))) for j in range(3)] for i in range(3)]
    p_true = np.take_along_axis(v, gt[None].astype(np.intp), axis=0)[0] / 255.0
    assert row["values"]["ce"] == pytest.approx(float(np.mean(-np.maximum(np.log(p_true), -100))), rel=1e-12)
    bad = v.copy()
    bad[0] = 0  # a channel missing: sums far below 1
    path = write_npy(tmp_path / "pred/a.npy", bad)
    worst = float(np.abs(bad.sum(axis=0, dtype=np.float64) / 255 - 1).max())
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-kind", "probs")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: the prediction is read as probabilities v / 255 but its channels sum to values up to "
        f"{worst:.3g} away from 1 (more than the rounding of 3 channels, {3 / 255:.3g}); check --prob-scale, or pass "
        "--pred-kind labels if these are not probabilities"]


def test_auto_refuses_a_heatmap_read_as_labels(cli, heat):
    r = cli("seg", heat["png"], heat["gt"], "-m", "dice")
    assert r.code == 3, r
    lines = r.error_lines()
    assert len(lines) == 2
    for line, name in zip(lines, ("a", "b"), strict=True):
        v8 = heat["maps"][name][0]
        assert line == (
            f"error: {heat['png'] / f'{name}.png'}: the prediction holds {len(np.unique(v8))} distinct values up to "
            f"{v8.max()} but its ground truth's labels go up to 1: it looks like a probability map stored as "
            "integers, not labels; pass --pred-kind probs (read as v / 255), or --num-classes if these are class "
            "labels")


def test_auto_with_a_given_count_says_it_may_be_a_probability_map(cli, heat):
    path = heat["png"] / "a.png"
    v8 = heat["maps"]["a"][0]
    r = cli("seg", path, heat["gt"] / "a.png", "--num-classes", "3")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: the prediction holds label {v8.max()} but there are only 3 classes (0..2); check "
        "--num-classes (a predicted label must be one of the classes; only the ground truth may hold void labels); "
        f"it holds {len(np.unique(v8))} distinct values, more than the 3 classes: if it is a probability map stored "
        "as integers, pass --pred-kind probs (read as v / 255)"]


def test_an_integer_multichannel_map_read_as_labels_says_so(cli, tmp_path, rng):
    write_label_png(tmp_path / "gt/a.png", rng.integers(0, 3, (H, W)))
    path = write_npy(tmp_path / "pred/a.npy", rng.integers(0, 256, (3, H, W)).astype(np.uint8))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt")
    assert r.code == 3, r
    assert r.error_lines() == [
        f"error: {path}: the label prediction has shape (3, {H}, {W}) but the ground truth has ({H}, {W}); they "
        "must match pixel for pixel (the prediction is 3-D, the ground truth 2-D; if it is a probability map stored "
        "as integers, pass --pred-kind probs)"]


def test_label_predictions_with_a_few_labels_beyond_the_truth_stay_labels(cli, tmp_path, rng):
    """A multiclass image whose ground truth shows classes 0 and 1 while the model predicts 2 and 3: labels."""
    write_label_png(tmp_path / "gt/a.png", rng.integers(0, 2, (H, W)))
    write_label_png(tmp_path / "pred/a.png", rng.integers(0, 4, (H, W)))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json")
    assert r.code == 0 and r.json()["config"]["num_classes"] == 4, r


def test_declared_labels_are_not_second_guessed(cli, heat):
    r = cli("seg", heat["png"], heat["gt"], "-m", "dice", "--pred-kind", "labels", "-f", "json")
    top = max(int(v.max()) for v, _ in heat["maps"].values())
    assert r.code == 0 and r.json()["config"]["num_classes"] == top + 1, r


def test_the_python_api_reads_integer_maps_too(heat):
    v8, gt = heat["maps"]["a"]
    assert losses.cross_entropy(v8, gt, kind="probs") == losses.cross_entropy(v8 / 255.0, gt, kind="probs")
    assert losses.dice_loss(v8.astype(np.int32), gt, kind="probs", prob_scale=255) == losses.dice_loss(
        v8 / 255.0, gt, kind="probs")


def test_an_integer_map_beyond_the_memory_budget_is_evaluated_in_chunks(cli, tmp_path, rng):
    gt = rng.integers(0, 3, (64, 80)).astype(np.uint8)
    logits = rng.normal(size=(3, 64, 80))
    logits[(gt, *np.indices(gt.shape))] += 1.0
    p = np.exp(logits) / np.exp(logits).sum(axis=0)
    write_npy(tmp_path / "gt/a.npy", gt)
    write_npy(tmp_path / "pred/a.npy", np.round(p * 255).astype(np.uint8))
    whole = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-kind", "probs", "-f", "json")
    chunked = cli("seg", tmp_path / "pred", tmp_path / "gt", "--pred-kind", "probs", "--max-memory", "100K",
                  "-f", "json")
    assert whole.code == chunked.code == 0, chunked
    assert _same_numbers(whole.json(), chunked.json()) is None
    assert chunked.json()["images"][0]["notes"] == ["prediction is a uint8 probability map: read as v / 255"]
