"""lossctl.inputs.seg: segmentation inputs as ``prepare`` reads them: label predictions from maps (thresholds),
0/255 masks, the ignore index, channels-last arrays, and the one-line errors of inputs that do not fit."""

from __future__ import annotations

import numpy as np
import pytest

from lossctl.errors import InputError, ShapeMismatchError
from lossctl.inputs.seg import prepare


def test_binary_threshold_for_hard_metrics():
    p = np.array([0.4, 0.6, 0.5])
    assert prepare(p, np.array([0, 1, 1]), kind="probs").labels.tolist() == [0, 1, 1]
    assert prepare(p, np.array([0, 1, 1]), kind="probs", threshold=0.55).labels.tolist() == [0, 1, 0]
    logits = np.log(p / (1 - p))
    assert prepare(logits, np.array([0, 1, 1]), kind="logits").labels.tolist() == [0, 1, 1]


def test_0_255_masks_are_read_as_binary_and_say_so():
    x = prepare(np.array([0, 255, 255], np.uint8), np.array([0, 255, 0], np.uint8))
    assert x.target.tolist() == [0, 1, 0] and x.labels.tolist() == [0, 1, 1]
    assert any("0/255" in n for n in x.notes)


def test_0_255_mask_with_ignore_255_keeps_255_as_void():
    x = prepare(np.array([0, 1, 1], np.uint8), np.array([0, 255, 1], np.uint8), ignore_index=(255,))
    assert x.target.tolist() == [0, 1] and not x.notes


@pytest.mark.parametrize("pred, target, kind, fragment, error", [
    (np.zeros((3, 4, 5)), np.zeros((4, 6), int), "probs", "shape", ShapeMismatchError),
    (np.zeros((4, 5, 3)), np.zeros((4, 5), int), "probs", "pass channels_last=True", ShapeMismatchError),
    (np.zeros((5, 4)), np.zeros((4, 5), int), "probs", "transposed", ShapeMismatchError),
    (np.full((2, 2), 3.0), np.zeros((2, 2), int), "auto", "pass kind='logits'", InputError),
    (np.full((2, 2, 2), 0.2), np.zeros((2, 2), int), "probs", "sum", InputError),
    (np.array([np.nan, 0.5]), np.array([0, 1]), "probs", "NaN", InputError),
    (np.array([0.5, 0.5]), np.array([0.0, 1.0]), "probs", "swapped", InputError),
    (np.array([0, 1]), np.array([0, 7]), "labels", "label 7", InputError),
    (np.array([0, 1]), np.array([0, -1]), "labels", "negative", InputError),
])
def test_bad_inputs_raise_one_line_errors(pred, target, kind, fragment, error):
    with pytest.raises(error) as info:
        prepare(pred, target, kind=kind, num_classes=None if kind != "labels" else 2)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_channels_last_option():
    probs = np.full((4, 5, 3), 1 / 3)
    x = prepare(probs, np.zeros((4, 5), int), kind="probs", channels_last=True)
    assert x.num_classes == 3


def test_0_255_prediction_against_ignored_255_is_refused():
    with pytest.raises(InputError, match="void"):
        prepare(np.array([0, 255, 255], np.uint8), np.array([0, 1, 255], np.uint8), ignore_index=(255,))


def test_0_255_rule_is_the_same_for_prediction_and_ground_truth():
    mask = np.array([0, 255, 255, 0], np.uint8)
    x = prepare(mask, mask, num_classes=256)  # 256 classes declared: 255 is a class on both sides
    assert x.target.tolist() == x.labels.tolist() == [0, 255, 255, 0]


def test_a_huge_label_is_not_taken_for_a_class_count():
    with pytest.raises(InputError, match="pass ignore_index=65535 "):
        prepare(np.array([0, 1], np.uint16), np.array([0, 65535], np.uint16))


def test_a_single_foreground_map_needs_two_classes():
    with pytest.raises(ShapeMismatchError, match="single foreground map"):
        prepare(np.array([0.2, 0.9]), np.array([0, 1]), kind="probs", num_classes=3)


def test_boolean_ground_truth_of_the_wrong_rank_is_refused():
    with pytest.raises(ShapeMismatchError):
        prepare(np.zeros((2, 2, 2, 2), bool), np.zeros((2, 2, 2, 2), bool))


def test_threshold_zero_on_logits_makes_everything_foreground(recwarn):
    x = prepare(np.array([-5.0, 3.0]), np.array([0, 1]), kind="logits", threshold=0.0)
    assert x.labels.tolist() == [1, 1] and not recwarn.list


def test_a_real_class_may_be_ignored_with_label_predictions(cli, seg):
    r = cli("seg", seg.labels, seg.gt, "--ignore-index", "0", "--num-classes", "3", "-f", "json")
    assert r.code == 0, r
