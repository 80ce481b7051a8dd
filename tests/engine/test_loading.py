"""lossctl.engine.loading: the one loader of pairs, through the CLI: the NPZ arrays it reads on each side, and
the alpha channel it drops from a ground-truth PNG (with a note)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _as_npz(seg, root, pred_arrays, gt_arrays):
    """Copies of the set as NPZ archives; ``*_arrays`` map an array name to "data" or to a filler."""
    from PIL import Image

    pred, gt = root / "p", root / "g"
    pred.mkdir()
    gt.mkdir()
    for name in seg.names:
        data = {"pred": np.load(Path(seg.pred) / f"{name}.npy"),
                "gt": np.asarray(Image.open(Path(seg.gt) / f"{name}.png"))}
        for folder, arrays, side in ((pred, pred_arrays, "pred"), (gt, gt_arrays, "gt")):
            np.savez(folder / f"{name}.npz", **{k: data[side] if v == "data" else np.zeros(1)
                                               for k, v in arrays.items()})
    return pred, gt


def test_ground_truth_npz_has_its_own_key(cli, seg, tmp_path):
    pred, gt = _as_npz(seg, tmp_path, {"probs": "data", "other": "filler"}, {"mask": "data"})
    r = cli("seg", pred, gt, "--npz-key", "probs", "-f", "json")
    assert r.code == 0, r
    r2 = cli("seg", pred, gt, "--npz-key", "probs", "--gt-npz-key", "nope")
    assert r2.code == 3 and "nope" in r2.err


def test_npz_key_also_names_the_ground_truth_array(cli, seg, tmp_path):
    pred, gt = _as_npz(seg, tmp_path, {"mask": "data", "meta": "filler"}, {"mask": "data", "meta": "filler"})
    assert cli("seg", pred, gt, "--npz-key", "mask").code == 0


def test_grey_alpha_png_ground_truth_drops_the_alpha(cli, seg, tmp_path):
    from PIL import Image

    name = seg.names[0]
    labels = np.asarray(Image.open(Path(seg.gt) / f"{name}.png"))
    la = np.stack([labels, np.full_like(labels, 255)], axis=-1)
    Image.fromarray(la, mode="LA").save(Path(seg.gt) / f"{name}.png")
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 0
    assert any("alpha channel was dropped" in n for im in r.json()["images"] for n in im["notes"])
