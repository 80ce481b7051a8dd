"""The counting metrics and the classification ranking metrics: hand-derived values, properties (symmetry,
invariance, the undefined cases and --empty), and the command line (on request only, gates, units, bad input).
The reference values are in tests/test_golden_counting.py."""

from __future__ import annotations

import numpy as np
import pytest
from support import SPACING, box_labels, write_nifti

from lossctl import registry
from lossctl.inputs.cls import prepare_inputs
from lossctl.metrics import classification, counting

#: A 2 x 2 confusion matrix (rows: truth): TN 5, FP 1, FN 2, TP 4.
CM2 = np.array([[5, 1], [2, 4]])
CM3 = np.array([[5, 1, 0], [2, 4, 1], [0, 1, 3]])


def _seg(name: str, cm, convention: str = "lossctl", **params):
    return registry.get("seg", name).impl(convention).fn(np.asarray(cm), None, **params)


def test_binary_values_by_hand():
    foreground = {"average": "foreground"}
    assert _seg("mcc", CM2)[0] == pytest.approx((4 * 5 - 1 * 2) / np.sqrt(5 * 6 * 6 * 7))
    assert _seg("kappa", CM2)[0] == pytest.approx(2 * (4 * 5 - 1 * 2) / (5 * 6 + 6 * 7))
    assert _seg("specificity", CM2, **foreground)[0] == pytest.approx(5 / 6)
    assert _seg("npv", CM2, **foreground)[0] == pytest.approx(5 / 7)
    assert _seg("fbeta", CM2, beta=2.0, **foreground)[0] == pytest.approx(5 * 4 / (5 * 4 + 4 * 2 + 1))
    assert _seg("fbeta", CM2, beta=0.0, **foreground)[0] == pytest.approx(4 / 5)  # beta 0: precision
    assert _seg("youden", CM2, **foreground)[0] == pytest.approx(4 / 6 + 5 / 6 - 1)
    assert _seg("lr_plus", CM2, **foreground)[0] == pytest.approx((4 / 6) / (1 / 6))
    assert _seg("expected_cost", CM2)[0] == pytest.approx(2 - 4 / 6 - 5 / 6)  # MetricsReloaded's 2 (1 - BA)
    assert _seg("balanced_accuracy", CM2)[0] == pytest.approx((4 / 6 + 5 / 6) / 2)
    assert _seg("net_benefit", CM2, exchange_rate=0.5, **foreground)[0] == pytest.approx((4 - 0.5) / 12)
    assert _seg("rvd", CM2, **foreground)[0] == pytest.approx((5 - 6) / 6)  # signed: the prediction is smaller
    assert _seg("avd", CM2, voxel_volume=1.25, **foreground)[0] == pytest.approx(1.25)


def test_multiclass_kappa_weights_by_hand():
    n, t, p = CM3.sum(), CM3.sum(axis=1), CM3.sum(axis=0)
    expected = np.outer(t, p) / n
    for weights, w in (("linear", np.abs(np.subtract.outer(range(3), range(3)))),
                       ("quadratic", np.subtract.outer(range(3), range(3)) ** 2)):
        want = 1 - (w * CM3).sum() / (w * expected).sum()
        assert _seg("weighted_kappa", CM3, weights=weights)[0] == pytest.approx(want)
    # unweighted: (p_o - p_e) / (1 - p_e)
    p_o, p_e = np.trace(CM3) / n, (t * p).sum() / n**2
    assert _seg("kappa", CM3)[0] == pytest.approx((p_o - p_e) / (1 - p_e))


def test_whole_matrix_values_are_symmetric_and_ignore_class_order():
    rng = np.random.default_rng(3)
    for _ in range(20):
        cm = rng.integers(0, 20, size=(4, 4))
        order = rng.permutation(4)
        moved = cm[np.ix_(order, order)]
        for name in ("mcc", "kappa"):
            assert _seg(name, cm.T)[0] == pytest.approx(_seg(name, cm)[0])  # truth and prediction swapped
            assert _seg(name, moved)[0] == pytest.approx(_seg(name, cm)[0])  # classes renamed
        assert _seg("balanced_accuracy", moved)[0] == pytest.approx(_seg("balanced_accuracy", cm)[0])


def test_expected_cost_is_one_minus_youden_per_class_and_normalised_overall():
    value, per_class = _seg("expected_cost", CM3)
    assert per_class == pytest.approx(1 - _seg("youden", CM3)[1])
    ba = _seg("balanced_accuracy", CM3)[0]
    assert value == pytest.approx((1 - ba) * 3 / 2)


def test_undefined_cases_follow_empty_and_the_references_keep_their_own():
    one_class = np.array([[7, 0], [0, 0]])  # a truth and a prediction of one class
    assert np.isnan(_seg("mcc", one_class)[0])
    assert _seg("mcc", one_class, empty="zero")[0] == 0.0
    assert _seg("mcc", one_class, "sklearn")[0] == 0.0  # matthews_corrcoef's 0.0
    assert np.isnan(_seg("mcc", one_class, "metricsreloaded")[0])
    assert _seg("mcc", one_class, "torch")[0] == 1.0  # torchmetrics: every sample right
    assert np.isnan(_seg("kappa", one_class)[0]) and np.isnan(_seg("kappa", one_class, "sklearn")[0])
    perfect = np.diag([5, 3])  # no false positive: LR+ is undefined
    assert np.isnan(_seg("lr_plus", perfect, average="foreground")[0])
    assert _seg("lr_plus", perfect, empty="one", average="foreground")[0] == 1.0
    absent = np.array([[4, 1, 0], [2, 3, 0], [0, 0, 0]])  # class 2 in no mask
    _, per_class = _seg("fbeta", absent, beta=1.0)
    assert np.isnan(per_class[2]) and _seg("fbeta", absent, beta=1.0, empty="zero")[1][2] == 0.0
    assert _seg("fbeta", absent, "metricsreloaded", beta=1.0)[1][2] == 1.0  # its 1 when nothing is to be found
    assert np.isnan(_seg("balanced_accuracy", absent, "metricsreloaded")[0])  # its NaN for a class absent
    assert _seg("balanced_accuracy", absent)[0] == pytest.approx((4 / 5 + 3 / 5) / 2)  # left out under lossctl
    assert np.isnan(_seg("rvd", absent)[1][2])  # an empty reference
    assert _seg("rvd", absent, "metricsreloaded")[1] == pytest.approx(np.abs(_seg("rvd", absent)[1]), nan_ok=True)


def test_net_benefit_of_a_perfect_prediction_is_the_prevalence():
    perfect = np.diag([9, 3])
    assert _seg("net_benefit", perfect, average="foreground")[0] == pytest.approx(3 / 12)


def test_ranking_by_hand_with_ties():
    y = np.array([0, 1, 0, 1])
    s = np.array([0.1, 0.4, 0.4, 0.8])
    w = np.ones(4)
    assert classification.auroc(y, s, w) == pytest.approx(3.5 / 4)  # the tie counts half a pair
    assert classification.average_precision(y, s, w) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    assert classification.auroc(y, -s, w) == pytest.approx(1 - 3.5 / 4)
    assert classification.auroc(y, np.exp(5 * s), w) == pytest.approx(3.5 / 4)  # only the order counts


def test_ranking_single_class_under_each_convention():
    x = prepare_inputs(np.array([0.2, 0.6, 0.9]), np.zeros(3, dtype=np.int64), kind="probs")
    auroc, ap = registry.get("cls", "auroc"), registry.get("cls", "ap")
    assert np.isnan(auroc.evaluate(x)[0]) and np.isnan(ap.evaluate(x)[0])  # lossctl: undefined (--empty)
    assert auroc.evaluate(x, empty="zero")[0] == 0.0
    assert np.isnan(auroc.evaluate(x, "sklearn")[0]) and ap.evaluate(x, "sklearn")[0] == 0.0
    assert auroc.evaluate(x, "torch")[0] == 0.0 and ap.evaluate(x, "torch")[0] == 0.0


def test_perfect_ranking_reaches_one():
    probs = np.eye(3)[[0, 1, 2, 1, 0]] * 0.8 + 0.2 / 3
    x = prepare_inputs(probs, np.array([0, 1, 2, 1, 0]), kind="probs")
    for name in ("auroc", "ap"):
        for convention in registry.get("cls", name).conventions:
            assert registry.get("cls", name).evaluate(x, convention)[0] == pytest.approx(1.0)


def test_counting_helpers_agree():
    assert counting.gorodkin_mcc(CM2) == pytest.approx(_seg("mcc", CM2)[0])
    assert counting.torch_binary_mcc(0, 3, 0, 0) == -1.0  # every sample wrong


# --- the command line ----------------------------------------------------------------------------------------

COUNTING = [s.name for s in registry.specs("seg") if s.on_request]


def test_counting_metrics_are_computed_on_request_only(cli, seg):
    doc = cli("seg", seg.pred, seg.gt, "-f", "json").json()
    assert not set(COUNTING) & set(doc["summary"]["mean"])
    asked = cli("seg", seg.pred, seg.gt, "-f", "json", *[a for n in COUNTING for a in ("-m", n)]).json()
    assert set(asked["summary"]["mean"]) == set(COUNTING)
    assert set(asked["summary"]["pooled"]) == set(COUNTING)
    assert asked["summary"]["units"] == {"avd": "px"}  # no spacing in the PNG files: pixel counts


def test_cls_counting_and_ranking_are_on_request(cli, cls_data):
    files = (cls_data["probs_npy"], cls_data["target_npy"])
    doc = cli("cls", *files, "-f", "json").json()
    assert not {"mcc", "kappa", "auroc", "ap"} & set(doc["summary"]["mean"])
    asked = cli("cls", *files, "-m", "mcc", "-m", "auroc", "-m", "ap", "-g", "auroc>=0.5", "-f", "json")
    assert asked.code == 0, asked
    assert set(asked.json()["summary"]["pooled"]) == {"mcc", "auroc", "ap"}


def test_gate_on_pooled_mcc(cli, seg):
    ok = cli("seg", seg.pred, seg.gt, "-m", "mcc", "-g", "pooled(mcc)>=0.1", "-f", "json")
    assert ok.code == 0, ok
    assert ok.json()["gates"][0]["passed"] is True
    bad = cli("seg", seg.pred, seg.gt, "-m", "mcc", "-g", "pooled(mcc)>=0.9999")
    assert bad.code == 1


def test_negative_beta_is_a_usage_error(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-m", "fbeta", "-p", "fbeta.beta=-1")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1
    assert "fbeta.beta = -1 is out of range" in r.err
    r = cli("seg", seg.pred, seg.gt, "-m", "weighted_kappa", "-p", "weighted_kappa.weights=cubic")
    assert r.code == 2 and "choose from linear, quadratic" in r.err


def test_avd_is_a_volume_in_cubic_millimetres(cli, tmp_path):
    gt = box_labels()
    pred = gt.copy()
    pred[8, 4:10, 2:7] = 1  # one more slab of class 1: 30 voxels
    write_nifti(tmp_path / "gt" / "v0.nii.gz", gt, SPACING)
    write_nifti(tmp_path / "pred" / "v0.nii.gz", pred, SPACING)
    doc = cli("seg", tmp_path / "pred", tmp_path / "gt", "-m", "avd", "-m", "rvd", "-f", "json").json()
    assert doc["summary"]["units"] == {"avd": "mm^3"}
    volume = 30 * float(np.prod(SPACING))
    image = doc["images"][0]
    assert image["per_class"]["avd"] == pytest.approx([volume, volume, 0.0])
    assert image["per_class"]["rvd"][1] == pytest.approx(30 / int((gt == 1).sum()))  # larger: positive
    assert doc["summary"]["pooled"]["avd"] == pytest.approx(image["values"]["avd"])  # one image


def test_an_undefined_cls_metric_is_counted():
    from lossctl.engine.cls import ClsConfig, build_report

    config = ClsConfig(values=("auroc", "ap", "mcc", "accuracy"))
    summary = build_report(config.prepare(np.array([0.2, 0.6, 0.9]), np.zeros(3, dtype=np.int64)), config)["summary"]
    assert summary["undefined"] == {"auroc": 1, "ap": 1, "mcc": 1}  # one class only; accuracy is defined
    assert summary["mean"]["accuracy"] == pytest.approx(1 / 3)


def test_a_region_of_one_label_has_that_class_entry_and_a_union_is_its_binary_class(cli, seg):
    """Regions read as one binary class against the rest: a region of one label gives that class's one-vs-rest
    entry, image by image and pooled, for every counting metric with per-class entries; a union is evaluated too."""
    asked = [a for n in COUNTING for a in ("-m", n)]
    doc = cli("seg", seg.pred, seg.gt, "-f", "json", "--region", "one=1", "--region", "both=1,2", *asked).json()
    for name, vector in doc["summary"]["per_class"]["pooled"].items():
        c = len(vector) - 2
        assert vector[c] == vector[1] or vector[c] == pytest.approx(vector[1], rel=1e-12), name
        assert vector[c + 1] is not None, name
    for image in doc["images"]:
        for name, vector in image["per_class"].items():
            c = len(vector) - 2
            assert vector[c] == vector[1] or vector[c] == pytest.approx(vector[1], rel=1e-12), name
