"""lossctl.engine.pictures' instance panels (``--instances``), hand-derived: every instance coloured by what the
run's own matching made of it (matched, missed, false; a matched prediction beyond its instance; BraTS lesions
not counted), outlined so that touching instances are parted, from the engine's one loader
(:func:`lossctl.engine.instances.match_entries`, the call behind the values and rows), and agreeing with the
document's counts (:func:`lossctl.engine.document.detection_counts`).

The report that places them is tested in tests/report/test_html.py.
"""

from __future__ import annotations

import io

import nibabel
import numpy as np
from PIL import Image
from support import write_label_png, write_npy

from lossctl.engine import instances
from lossctl.engine.document import detection_counts
from lossctl.engine.pictures import (
    BACKGROUND,
    COLOURS,
    INSTANCE_COLOURS,
    INSTANCE_LEGEND,
    MIN_SIDE,
    OUTLINES,
    UNCOUNTED,
    instance_codes,
    make_pictures,
    outline,
)
from lossctl.engine.seg_config import SegConfig

MATCHED, MISSED, FALSE, BEYOND = (INSTANCE_COLOURS[k] for k in ("matched", "missed", "false", "beyond"))
WHITE, BLACK = OUTLINES


def _rgb(panel) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(panel.png)))


def _seg(cli, tmp_path, *args):
    r = cli("seg", tmp_path / "pred", tmp_path / "gt", "-f", "json", *args)
    assert r.code == 0, r
    return r.json()


def test_matched_missed_and_false_instances_hand_derived(tmp_path, cli):
    gt = np.zeros((10, 12), np.uint8)
    gt[1:4, 1:4] = 1  # A: predicted exactly -> matched
    gt[6:9, 1:4] = 1  # B: no prediction -> missed
    gt[1:4, 7:10] = 1  # C: predicted one column wider (IoU 9/12) -> matched, the extra column beyond it
    pred = np.zeros_like(gt)
    pred[1:4, 1:4] = 1
    pred[1:4, 7:11] = 1
    pred[6:9, 7:10] = 1  # F: no ground truth -> false
    write_label_png(tmp_path / "gt" / "x.png", gt)
    write_label_png(tmp_path / "pred" / "x.png", pred)
    document = _seg(cli, tmp_path, "--instances", "cc", "-m", "rq")
    assert detection_counts(document) == {"1": {"instances": 3, "inst_tp": 2, "inst_fn": 1, "inst_fp": 1}}
    assert document["images"][0]["values"]["rq"] == 2 / (2 + 0.5 + 0.5)
    pictures = make_pictures(document, 1)
    assert pictures.instance_legend == INSTANCE_LEGEND  # no lesion left out: no "not counted" entry
    [plane] = pictures.worst[0].planes
    [(title, panel)] = plane.instances
    assert title == "instances"
    rgb = _rgb(panel)
    g = MIN_SIDE // 12  # each pixel a g x g block

    def at(r, c, dr=g // 2, dc=g // 2):  # a pixel of the panel inside the image's pixel (r, c)
        return tuple(int(v) for v in rgb[r * g + dr, c * g + dc])

    assert at(2, 2) == MATCHED and at(2, 8) == MATCHED  # A's and C's insides
    assert at(7, 2) == MISSED and at(7, 8) == FALSE and at(2, 10) == BEYOND
    assert at(0, 0) == BACKGROUND and at(5, 5) == BACKGROUND
    assert at(1, 2, dr=0) == WHITE and at(6, 2, dr=0) == WHITE  # ground-truth outlines (over the predictions')
    assert at(6, 8, dr=0) == BLACK and at(2, 10, dc=g - 1) == BLACK  # predicted outlines: F, C's extra column
    assert at(2, 9, dc=g - 1) == WHITE  # C's own edge inside its wider prediction
    # the instance colours are the error map's for the same outcome (the legend says so)
    assert (MATCHED, MISSED, FALSE) == (COLOURS["tp"], COLOURS["fn"], COLOURS["fp"])


def test_touching_instances_of_an_id_map_are_parted_by_their_outlines(tmp_path, cli):
    gt = np.zeros((10, 10), np.uint16)
    gt[2:6, 2:5], gt[2:6, 5:8] = 7, 3  # two nuclei side by side
    gt[8:10, 2:4] = 9  # missed
    pred = np.zeros((10, 10), np.int64)
    pred[2:6, 2:5], pred[2:6, 5:8] = 70000, 5  # ids of any size: relabelled
    pred[8:10, 7:9] = 2  # false
    write_npy(tmp_path / "gt" / "x.npy", gt)
    write_npy(tmp_path / "pred" / "x.npy", pred)
    document = _seg(cli, tmp_path, "--instances", "labels", "-m", "pq")
    assert detection_counts(document) == {"1": {"instances": 3, "inst_tp": 2, "inst_fn": 1, "inst_fp": 1}}
    [plane] = make_pictures(document, 1).worst[0].planes
    rgb = _rgb(plane.instances[0][1])
    g = MIN_SIDE // 10
    row = rgb[4 * g]  # through both nuclei
    assert tuple(row[5 * g - 1]) == WHITE and tuple(row[5 * g]) == WHITE  # the line between them
    assert tuple(row[4 * g]) == MATCHED and tuple(row[6 * g]) == MATCHED
    assert tuple(rgb[9 * g, 3 * g]) == MISSED  # the inside of the missed one
    assert tuple(rgb[9 * g + g // 2, 8 * g]) == FALSE


def test_outline_marks_each_instance_edge_and_no_background():
    ids = np.array([[0, 0, 0, 0, 0],
                    [0, 1, 1, 2, 2],
                    [0, 1, 1, 2, 2],
                    [0, 1, 1, 2, 2]])
    assert outline(ids).astype(int).tolist() == [[0, 0, 0, 0, 0],
                                                 [0, 1, 1, 1, 1],
                                                 [0, 1, 1, 1, 0],
                                                 [0, 1, 1, 1, 0]]  # the picture's edge is no neighbour


def test_brats_lesions_left_out_are_drawn_apart_and_explained(tmp_path, cli):
    gt = np.zeros((12, 12, 6), np.uint8)
    gt[2:6, 2:6, 1:5] = 1  # a lesion of 64 mm³: kept, hit
    gt[9, 9, 3] = 1  # 1 mm³: dropped under MET (2 mm³ or less)
    pred = np.zeros_like(gt)
    pred[2:6, 2:6, 1:4] = 1
    pred[9, 10, 3] = 1  # touches only the dropped lesion: neither a hit nor a false positive
    pred[0, 11, 0] = 1  # touches nothing: false
    for folder, array in (("gt", gt), ("pred", pred)):
        (tmp_path / folder).mkdir()
        nibabel.save(nibabel.Nifti1Image(array, np.eye(4)), tmp_path / folder / "v.nii.gz")
    document = _seg(cli, tmp_path, "--instances", "cc", "--convention", "brats", "-m", "lesion_dice",
                    "-p", "lesion_dice.task=MET")
    assert detection_counts(document) == {"1": {"instances": 1, "inst_tp": 1, "inst_fn": 0, "inst_fp": 1}}
    config = SegConfig.from_options(document["config"]["options"])
    entries, n = instances.instance_entries(pred, gt, 2, config)
    [match] = instances.match_entries(entries, config, (1.0, 1.0, 1.0)).values()
    codes = instance_codes(match)
    assert n == 1 and codes[3, 3, 2] == 1 and codes[9, 9, 3] == 5 and codes[9, 10, 3] == 5 and codes[0, 11, 0] == 3
    assert codes[3, 3, 4] == 1 and codes[0, 0, 0] == 0  # the lesion's own voxel beyond the prediction
    pictures = make_pictures(document, 1)
    assert pictures.instance_legend == (*INSTANCE_LEGEND, UNCOUNTED)
    assert [len(p.instances) for p in pictures.worst[0].planes] == [1, 1, 1]
