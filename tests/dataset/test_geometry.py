"""lossctl.dataset.geometry through the CLI: which spacing a pair gets (given, header, default), floating-point
label volumes read as labels, probability maps compared with the ground truth by their spatial shape."""

from __future__ import annotations

import numpy as np
import pytest
from support import SPACING, box_labels, volume_set, write_nifti


def test_spacing_option_overrides_headers_and_numpy_has_none(cli, tmp_path):
    a, b = box_labels(), box_labels(offset=1)
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    np.save(tmp_path / "p" / "x.npy", b)
    np.save(tmp_path / "g" / "x.npy", a)
    r = cli("seg", tmp_path / "p", tmp_path / "g", "-m", "hd", "-f", "json")
    image = r.json()["images"][0]
    assert image["spacing"] == [1.0, 1.0, 1.0] and image["spacing_source"] == "default"
    assert "1.0 per axis" in " ".join(image["notes"]) and "1.0 per axis" in r.json()["config"]["spacing"]
    assert image["values"]["hd"] == 1.0
    r = cli("seg", tmp_path / "p", tmp_path / "g", "-m", "hd", "--spacing", "3,1,1", "-f", "json")
    assert r.json()["images"][0]["values"]["hd"] == 3.0 and r.json()["config"]["spacing"] == [3.0, 1.0, 1.0]
    pred, gt = volume_set(tmp_path / "v")
    r = cli("seg", pred, gt, "-m", "hd", "--spacing", "2,1,1", "-f", "json")
    assert r.json()["images"][1]["values"]["hd"] == 2.0
    assert r.json()["images"][1]["spacing_source"] == "given"


def test_integral_float_ground_truth_is_read_as_labels_with_a_note(cli, tmp_path):
    write_nifti(tmp_path / "gt" / "x.nii.gz", box_labels().astype(np.float32))
    write_nifti(tmp_path / "pred" / "x.nii.gz", box_labels())
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice", "-f", "json")
    assert r.code == 0, r
    image = r.json()["images"][0]
    assert image["values"]["dice"] == 1.0
    assert any("float32 volume with integral values: read as uint8 labels" in n for n in image["notes"])


@pytest.mark.parametrize("fmt", ["nifti", "npy"])
def test_probability_maps_as_c_d_h_w(cli, tmp_path, fmt):
    gt = box_labels()
    probs = np.stack([(gt == c).astype(np.float32) for c in range(3)]) * 0.9 + 0.1 / 3
    write_nifti(tmp_path / "gt" / "x.nii.gz", gt)
    if fmt == "nifti":
        write_nifti(tmp_path / "pred" / "x.nii.gz", probs.astype(np.float32), affine=np.diag([1.0, *SPACING[:2], 1.0]))
    else:
        (tmp_path / "pred").mkdir()
        np.save(tmp_path / "pred" / "x.npy", probs.astype(np.float32))
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "dice", "-m", "hd95", "-l", "dice_loss", "-f", "json")
    assert r.code == 0, r
    image = r.json()["images"][0]
    assert image["pred_kind"] == "probs" and image["values"]["dice"] == 1.0 and image["values"]["hd95"] == 0.0
    assert image["spacing"] == pytest.approx(SPACING)  # the ground truth's; the map's 4D header is not used
