"""lossctl.metrics.instances: hand-derived values (components, relabelling, the overlap table, the three matchers,
the threshold rules, the empty-case table, AJI and AJI+, boundary values of matched pairs, per-instance rows) and
properties (relabelling changes nothing, a perfect prediction scores 1, the one-to-one matchers are one-to-one, the
Hungarian total is at least the greedy one).

Golden values from panoptica and HoVer-Net are in test_instances_golden.py; BraTS's in test_instances_lesions.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossctl.metrics import instances as inst
from lossctl.metrics.boundary import boundary_metrics


def _maps(gt, pred) -> tuple[inst.InstanceMap, inst.InstanceMap]:
    return inst.relabel(np.asarray(gt)), inst.relabel(np.asarray(pred))


def _values(gt, pred, **kw) -> dict[str, float]:
    g, p = _maps(gt, pred)
    names = kw.pop("names", ("inst_tp", "inst_fp", "inst_fn", "inst_precision", "inst_recall", "rq", "sq", "pq",
                             "sq_dice", "pq_dice"))
    return inst.instance_values(inst.evaluate(g, p, **kw), names)


# --------------------------------------------------------------------------------------------------------------
# Instances and the overlap table
# --------------------------------------------------------------------------------------------------------------


def test_connectivity_ranks_in_2d_and_3d() -> None:
    diagonal = np.array([[1, 0], [0, 1]])
    assert inst.connected_components(diagonal, 1).count == 2
    assert inst.connected_components(diagonal).count == 1  # default: the full neighbourhood (8 in 2D)
    corner = np.zeros((2, 2, 2), bool)
    corner[0, 0, 0] = corner[1, 1, 1] = True
    edge = np.zeros((2, 2, 2), bool)
    edge[0, 0, 0] = edge[0, 1, 1] = True
    assert [inst.connected_components(corner, r).count for r in (1, 2, 3)] == [2, 2, 1]
    assert [inst.connected_components(edge, r).count for r in (1, 2, 3)] == [2, 1, 1]
    for bad in (0, 4, 2.5):
        with pytest.raises(ValueError, match="connectivity rank"):
            inst.connected_components(corner, bad)
    # numbered in raster order of the first voxel
    assert inst.connected_components(np.array([[0, 1, 0, 1], [1, 0, 0, 1]]), 1).labels.tolist() == \
        [[0, 1, 0, 2], [3, 0, 0, 2]]


def test_relabel_keeps_the_order_of_any_ids() -> None:
    huge = np.array([[0, 2**31 - 1, 2**31 + 5], [7, 7, 0]], dtype=np.int64)
    m = inst.relabel(huge)
    assert m.labels.tolist() == [[0, 2, 3], [1, 1, 0]] and m.ids.tolist() == [7, 2**31 - 1, 2**31 + 5]
    assert m.labels.dtype == np.int32
    small = inst.relabel(np.array([[3, 0, 9], [9, 3, 0]], np.uint16))
    assert small.labels.tolist() == [[1, 0, 2], [2, 1, 0]] and small.ids.tolist() == [3, 9]
    already = inst.relabel(np.array([1, 2, 0, 2]))
    assert already.labels.tolist() == [1, 2, 0, 2] and already.count == 2
    assert inst.relabel(np.zeros((3, 3), np.int64)).count == 0
    assert inst.relabel(np.array([True, False])).ids.tolist() == [1]
    with pytest.raises(ValueError, match="non-negative"):
        inst.relabel(np.array([-1, 2]))
    with pytest.raises(ValueError, match="integers"):
        inst.relabel(np.array([0.5, 2.0]))


def test_the_overlap_table_dense_and_sparse_agree_with_a_direct_count(rng, monkeypatch) -> None:
    gt = rng.integers(0, 16, size=(6, 8))  # 16 x 21 bins for 48 voxels: the sparse path once the dense one is off
    pred = rng.integers(0, 21, size=(6, 8))
    g, p = _maps(gt, pred)
    dense = inst.overlap_table(g, p)
    monkeypatch.setattr(inst, "DENSE_OVERLAP_BINS", 0)
    sparse = inst.overlap_table(g, p)
    for a, b in zip((dense.gt_sizes, dense.pred_sizes, dense.gt, dense.pred, dense.inter),
                    (sparse.gt_sizes, sparse.pred_sizes, sparse.gt, sparse.pred, sparse.inter), strict=True):
        assert a.tolist() == b.tolist()
    for k in range(dense.inter.size):
        assert dense.inter[k] == np.count_nonzero((g.labels == dense.gt[k]) & (p.labels == dense.pred[k]))
    assert dense.gt_sizes.tolist() == [np.count_nonzero(g.labels == i) for i in range(1, g.count + 1)]
    iou = dense.score("iou")
    union = np.count_nonzero((g.labels == dense.gt[0]) | (p.labels == dense.pred[0]))
    assert iou[0] == dense.inter[0] / union
    with pytest.raises(ValueError, match="unknown matching score"):
        dense.score("hd")


# --------------------------------------------------------------------------------------------------------------
# Matchers and thresholds
# --------------------------------------------------------------------------------------------------------------

# gt 1 (4x4 = 16) overlaps pred 1 (rows 0-3, cols 0-2: 12 voxels) and pred 2 (cols 3-5 of row 0-3: 12 voxels)
CROSS_GT = np.zeros((4, 12), int)
CROSS_GT[:, 0:4] = 1
CROSS_GT[:, 5:9] = 2
CROSS_PRED = np.zeros((4, 12), int)
CROSS_PRED[:, 0:3] = 1  # gt1 ∩ = 12: IoU 12/16 = 0.75
CROSS_PRED[:, 3:6] = 2  # gt1 ∩ = 4 (IoU 4/24), gt2 ∩ = 4 (IoU 4/24)
CROSS_PRED[:, 6:9] = 3  # gt2 ∩ = 12: IoU 12/16 = 0.75


def test_greedy_takes_the_best_candidate_first_one_to_one() -> None:
    g, p = _maps(CROSS_GT, CROSS_PRED)
    ev = inst.evaluate(g, p, threshold=0.5)
    assert ev.pairs_gt.tolist() == [1, 2] and ev.pairs_pred == ((1,), (3,))
    assert ev.iou.tolist() == [0.75, 0.75] and ev.dice.tolist() == [24 / 28, 24 / 28]
    v = inst.instance_values(ev, ("inst_tp", "inst_fp", "inst_fn", "rq", "sq", "pq"))
    assert v == {"inst_tp": 2.0, "inst_fp": 1.0, "inst_fn": 0.0, "rq": 2 / 2.5, "sq": 0.75, "pq": 0.75 * 0.8}


def test_the_hungarian_total_beats_a_greedy_first_choice() -> None:
    # gt 1 overlaps pred 1 (IoU 0.45) and pred 2 (0.40); gt 2 overlaps pred 1 only (0.42): at T = 0.3 greedy
    # takes (1, 1) and leaves gt 2 unmatched, the Hungarian matcher takes (1, 2) and (2, 1).
    from lossctl.metrics.instances import Overlaps

    ov = Overlaps(np.array([100, 100]), np.array([100, 100]), np.array([1, 1, 2]), np.array([1, 2, 1]),
                  np.array([0, 0, 0]))
    scores = np.array([0.45, 0.40, 0.42])
    greedy = inst.match_greedy(ov, scores, 0.3, True)
    hungarian = inst.match_hungarian(ov, scores, 0.3, True)
    assert greedy.assigned.tolist() == [0, 1, 0] and hungarian.assigned.tolist() == [0, 2, 1]
    # with T = 0.41 the pair (1, 2) fails: "exclude" never matches it, "after" drops it after the assignment
    assert inst.match_hungarian(ov, scores, 0.41, True, "exclude").assigned.tolist() == [0, 1, 0]
    assert inst.match_hungarian(ov, scores, 0.41, True, "after").assigned.tolist() == [0, 2, 0]
    with pytest.raises(ValueError, match="unknown Hungarian rule"):
        inst.match_hungarian(ov, scores, 0.41, True, "other")


def test_merge_unions_predictions_while_the_score_improves() -> None:
    gt = np.zeros((4, 10), int)
    gt[:, 0:8] = 1  # 32 voxels
    pred = np.zeros((4, 10), int)
    pred[:, 0:5] = 1  # 20 inside: IoU 20/32 = 0.625
    pred[:, 5:7] = 2  # 8 inside: IoU 0.25; the union of both 28/32 = 0.875 > 0.625: merged
    pred[:, 7:10] = 3  # 4 inside, 8 outside: IoU 4/36; union of all 32/40 = 0.8 < 0.875: not merged
    g, p = _maps(gt, pred)
    ev = inst.evaluate(g, p, matcher="merge", threshold=0.5)
    assert ev.pairs_pred == ((1, 2),) and ev.iou.tolist() == [28 / 32]
    assert (ev.tp, ev.n_pred, ev.fp, ev.fn) == (1, 2, 1, 0)  # the merged group counts as one prediction
    assert inst.instance_rows(ev)["unmatched_pred"] == [{"id": 3, "voxels": 12}]
    # the first match must pass the threshold: at 0.7 nothing is matched
    assert inst.evaluate(g, p, matcher="merge", threshold=0.7).tp == 0
    # greedy keeps one prediction
    assert inst.evaluate(g, p, threshold=0.5).pairs_pred == ((1,),)


@pytest.mark.parametrize("strict,matched", [(True, 0), (False, 1)])
def test_a_score_at_the_threshold_passes_only_when_the_test_is_not_strict(strict: bool, matched: int) -> None:
    gt = np.zeros((4, 8), int)
    gt[:, 0:4] = 1
    pred = np.zeros((4, 8), int)
    pred[:, 0:2] = 1  # IoU 8/16 = 0.5 exactly
    for matcher in inst.MATCHERS:
        assert _values(gt, pred, matcher=matcher, strict=strict)["inst_tp"] == matched
    pred[:, 0:2] = 0
    pred[:, 2:6] = 1  # Dice 16/32 = 0.5 exactly (IoU 1/3)
    assert _values(gt, pred, metric="dice", strict=strict)["inst_tp"] == matched
    with pytest.raises(ValueError, match="not in \\[0, 1\\]"):
        _values(gt, pred, threshold=1.5)
    with pytest.raises(ValueError, match="unknown matcher"):
        _values(gt, pred, matcher="best")


def test_ties_go_to_the_lower_predicted_then_ground_truth_id() -> None:
    gt = np.zeros((4, 8), int)
    gt[:, 0:4] = 5
    pred = np.zeros((4, 8), int)
    pred[:, 0:2] = 40  # IoU 0.5
    pred[:, 2:4] = 30  # IoU 0.5: the lower id wins
    g, p = _maps(gt, pred)
    ev = inst.evaluate(g, p, strict=False)
    assert inst.instance_rows(ev)["gt"][0]["matched"] == [30]
    gt2 = np.zeros((4, 8), int)
    gt2[:, 0:2] = 9
    gt2[:, 2:4] = 8
    pred2 = np.zeros((4, 8), int)
    pred2[:, 0:4] = 1
    rows = inst.instance_rows(inst.evaluate(*_maps(gt2, pred2), strict=False))["gt"]
    assert [r["matched"] for r in rows] == [[1], []]  # gt 8 (the lower id) takes it


# --------------------------------------------------------------------------------------------------------------
# The empty-case table
# --------------------------------------------------------------------------------------------------------------

NAN = math.nan
#: (gt, pred) -> the module docstring's row for each value
EMPTY_ROWS = {
    "none": ([[0, 0]], [[0, 0]], dict(inst_tp=0, inst_fp=0, inst_fn=0, inst_precision=NAN, inst_recall=NAN, rq=NAN,
                                      sq=NAN, pq=NAN, sq_dice=NAN, pq_dice=NAN, aji=NAN, aji_plus=NAN)),
    "gt only": ([[1, 2]], [[0, 0]], dict(inst_tp=0, inst_fp=0, inst_fn=2, inst_precision=NAN, inst_recall=0, rq=0,
                                         sq=0, pq=0, sq_dice=0, pq_dice=0, aji=0, aji_plus=0)),
    "pred only": ([[0, 0]], [[1, 0]], dict(inst_tp=0, inst_fp=1, inst_fn=0, inst_precision=0, inst_recall=NAN,
                                           rq=0, sq=0, pq=0, sq_dice=0, pq_dice=0, aji=0, aji_plus=0)),
    "none matched": ([[1, 1, 1, 0]], [[0, 0, 1, 1]], dict(inst_tp=0, inst_fp=1, inst_fn=1, inst_precision=0,
                                                    inst_recall=0, rq=0, sq=0, pq=0, sq_dice=0, pq_dice=0,
                                                    aji=1 / 4, aji_plus=1 / 4)),
}


@pytest.mark.parametrize("row", EMPTY_ROWS, ids=str)
def test_the_empty_case_table(row: str) -> None:
    gt, pred, want = EMPTY_ROWS[row]
    got = _values(gt, pred, names=(*want, *inst.BOUNDARY_VALUES), boundary_metrics=("hd95", "assd", "nsd"))
    for name, value in want.items():
        assert (math.isnan(got[name]) if math.isnan(value) else got[name] == pytest.approx(value)), name
    assert all(math.isnan(got[name]) for name in inst.BOUNDARY_VALUES)


# --------------------------------------------------------------------------------------------------------------
# AJI, AJI+, HoVer-Net's epsilons
# --------------------------------------------------------------------------------------------------------------


def test_aji_pairs_each_gt_with_its_best_prediction_and_aji_plus_one_to_one() -> None:
    split_gt = np.zeros((4, 4), int)
    split_gt[:, :] = 1
    split_pred = np.zeros((4, 4), int)
    split_pred[:, :2] = 1
    split_pred[:, 2:] = 2
    ov = inst.overlap_table(*_maps(split_gt, split_pred))
    assert inst.aji(ov) == 8 / (16 + 8) and inst.aji_plus(ov) == 8 / (16 + 8)  # the unused half joins the union
    ov = inst.overlap_table(*_maps(split_pred, split_gt))  # one prediction over two gts
    assert inst.aji(ov) == 16 / 32  # both gts pair with it: its area is counted twice
    assert inst.aji_plus(ov) == 8 / 24  # one-to-one: the second gt is unpaired


def test_hovernet_divides_by_tp_plus_a_millionth() -> None:
    m = inst.relabel(np.array([[1, 1, 0, 2]]))
    ev = inst.convention_evaluate(m, m, "hovernet")
    v = inst.convention_values(ev, "hovernet")
    assert v["sq"] == 2 / (2 + 1e-6) and v["rq"] == 1.0 and v["pq"] == v["sq"]
    with pytest.raises(ValueError, match="inst_precision not defined under the hovernet convention"):
        inst.convention_values(ev, "hovernet", ["inst_precision"])
    assert inst.CONVENTIONS["hovernet"].matcher_for(0.3) == ("hungarian", "after")
    assert inst.CONVENTIONS["panoptica"].rank(2) == 1 and inst.CONVENTIONS["panoptica"].rank(3) == 3
    assert inst.CONVENTIONS["lossctl"].rank(2) == 2


# --------------------------------------------------------------------------------------------------------------
# Boundary values of the matched pairs, rows
# --------------------------------------------------------------------------------------------------------------


def test_boundary_values_on_cropped_pairs_equal_the_whole_image_metrics(rng) -> None:
    gt = np.zeros((30, 40), int)
    pred = np.zeros((30, 40), int)
    gt[2:10, 2:12] = 1
    pred[3:11, 2:13] = 4
    gt[15:28, 20:38] = 2
    pred[16:26, 22:38] = 7
    pred[16:26, 10:14] = 8  # unmatched
    g, p = _maps(gt, pred)
    spacing = (0.7, 1.3)
    for rule, hd95_convention, assd_name in (("lossctl", "lossctl", "assd"), ("panoptica", "medpy", "masd")):
        ev = inst.evaluate(g, p, boundary_metrics=("hd95", "assd", "nsd"), spacing=spacing, boundary_rule=rule,
                           tolerance=1.0)
        assert ev.pairs_pred == ((1,), (2,))
        for k, (gid, pid) in enumerate(((1, 4), (2, 7))):
            a, b = (pred == pid).astype(np.uint8), (gt == gid).astype(np.uint8)
            whole = boundary_metrics(a, b, [(1,)], ["hd95"], spacing=spacing, convention=hd95_convention)
            assert ev.boundary["hd95"][k] == pytest.approx(whole["hd95"][0], rel=1e-12)
            whole = boundary_metrics(a, b, [(1,)], [assd_name], spacing=spacing, convention="lossctl")
            assert ev.boundary["assd"][k] == pytest.approx(whole[assd_name][0], rel=1e-12)
        values = inst.instance_values(ev, inst.BOUNDARY_VALUES)
        assert values["sq_hd95"] == pytest.approx(ev.boundary["hd95"].mean())
    with pytest.raises(ValueError, match="sq_nsd needs the boundary metric nsd"):
        inst.instance_values(inst.evaluate(g, p), ["sq_nsd"])


def test_nsd_rules() -> None:
    """A 4x4 square against the same square shifted by one row: 12 of 16 pixels overlap."""
    gt = np.zeros((10, 10), int)
    gt[2:6, 2:6] = 1
    pred = np.zeros((10, 10), int)
    pred[3:7, 2:6] = 1
    g, p = _maps(gt, pred)
    # every surface pixel of either square lies within 1 of the other's surface (12 surface pixels each)
    lossctl = inst.evaluate(g, p, boundary_metrics=("nsd",), tolerance=1.0).boundary["nsd"][0]
    panoptica = inst.evaluate(g, p, boundary_metrics=("nsd",), boundary_rule="panoptica").boundary["nsd"][0]
    assert lossctl == 1.0 and panoptica == 1.0
    tight = inst.evaluate(g, p, boundary_metrics=("nsd",), tolerance=0.5).boundary["nsd"][0]
    # within 0.5: the side pixels of the three shared rows, 6 of each square's 12 surface pixels
    assert tight == pytest.approx(12 / 24)


def test_instance_rows_name_the_original_ids() -> None:
    gt = np.array([[10, 10, 0, 20, 20, 0, 30]])
    pred = np.array([[7, 7, 0, 0, 9, 9, 0]])
    ev = inst.evaluate(*_maps(gt, pred), boundary_metrics=("hd95",))
    rows = inst.instance_rows(ev)
    assert rows["gt"][0] == {"id": 10, "voxels": 2, "matched": [7], "iou": 1.0, "dice": 1.0, "hd95": 0.0}
    assert rows["gt"][1] == {"id": 20, "voxels": 2, "matched": [], "iou": None, "dice": None, "hd95": None}
    assert rows["unmatched_pred"] == [{"id": 9, "voxels": 2}]


# --------------------------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------------------------


@st.composite
def instance_pairs(draw) -> tuple[np.ndarray, np.ndarray]:
    """Two small instance maps: random boxes of random ids (later boxes overwrite earlier ones)."""
    shape = (draw(st.integers(4, 14)), draw(st.integers(4, 14)))
    maps = []
    for _ in range(2):
        a = np.zeros(shape, np.int64)
        for k in range(draw(st.integers(0, 6))):
            r0, c0 = draw(st.integers(0, shape[0] - 1)), draw(st.integers(0, shape[1] - 1))
            r1, c1 = draw(st.integers(r0 + 1, shape[0])), draw(st.integers(c0 + 1, shape[1]))
            a[r0:r1, c0:c1] = k + 1
        maps.append(a)
    return maps[0], maps[1]


ALL = ("inst_tp", "inst_fp", "inst_fn", "inst_precision", "inst_recall", "rq", "sq", "pq", "sq_dice", "pq_dice",
       "aji", "aji_plus")


def _same(a: dict, b: dict) -> bool:
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == pytest.approx(b[k], rel=1e-12) for k in a)


@given(instance_pairs(), st.sampled_from(inst.MATCHERS), st.sampled_from(["iou", "dice"]),
       st.sampled_from([0.25, 0.5]), st.booleans(), st.integers(0, 2**20))
def test_relabelling_with_the_same_order_changes_nothing(pair, matcher, metric, threshold, strict, seed) -> None:
    gt, pred = pair
    rng = np.random.default_rng(seed)
    bigger = lambda a: np.where(a > 0, a * 1000 + rng.integers(0, 999) + 2**31 - 10**6, 0)  # same order, huge ids
    kw = dict(matcher=matcher, metric=metric, threshold=threshold, strict=strict, names=ALL)
    assert _same(_values(gt, pred, **kw), _values(bigger(gt), bigger(pred), **kw))


@given(instance_pairs(), st.integers(0, 2**20))
def test_any_permutation_of_ids_changes_nothing_when_the_matching_is_unique(pair, seed) -> None:
    """IoU > 0.5 pairs are unique, so no tie is ever broken by an id."""
    gt, pred = pair
    rng = np.random.default_rng(seed)
    shuffle = lambda a: np.concatenate([[0], rng.permutation(np.arange(1, a.max(initial=0) + 1))])[a]
    names = ALL[:-2]  # AJI breaks its ties by id
    for matcher in ("greedy", "hungarian"):
        kw = dict(matcher=matcher, threshold=0.5, strict=True, names=names)
        assert _same(_values(gt, pred, **kw), _values(shuffle(gt), shuffle(pred), **kw))


@given(instance_pairs())
def test_a_perfect_prediction_scores_one(pair) -> None:
    gt = pair[0]
    if gt.max() == 0:
        return
    g = inst.relabel(gt)
    for convention in ("lossctl", "panoptica"):
        for matcher in inst.MATCHERS:
            ev = inst.convention_evaluate(g, g, convention, matcher=matcher, boundary_metrics=("hd95", "nsd"))
            v = inst.convention_values(ev, convention, ["rq", "sq", "pq", "sq_dice", "sq_hd95", "sq_nsd"])
            assert v == {"rq": 1.0, "sq": 1.0, "pq": 1.0, "sq_dice": 1.0, "sq_hd95": 0.0, "sq_nsd": 1.0}
    v = inst.convention_values(inst.convention_evaluate(g, g, "hovernet"), "hovernet", ["rq", "aji", "aji_plus"])
    assert v == {"rq": 1.0, "aji": 1.0, "aji_plus": 1.0}


@given(instance_pairs(), st.sampled_from(["iou", "dice"]), st.sampled_from([0.0, 0.1, 0.3, 0.5]), st.booleans())
def test_one_to_one_matchers_and_the_hungarian_total(pair, metric, threshold, strict) -> None:
    g, p = _maps(*pair)
    ov = inst.overlap_table(g, p)
    scores = ov.score(metric)
    totals = {}
    for matcher in ("greedy", "hungarian"):
        m = inst.match(ov, matcher, metric, threshold, strict)
        matched = m.assigned[m.assigned > 0]
        assert matched.size == np.unique(matched).size  # one prediction per ground-truth instance
        k = inst._pair_index(ov, m.assigned[m.assigned > 0], np.flatnonzero(m.assigned))
        assert (k >= 0).all() and inst.passes(scores[k], threshold, strict).all()
        totals[matcher] = scores[k].sum()
    assert totals["hungarian"] >= totals["greedy"] - 1e-6 * ov.inter.size  # up to panoptica's 1e-6 per match
    # merge: a group scores at least its best pair, which passes the threshold (merging only ever improves it)
    ev = inst.evaluate(g, p, matcher="merge", metric=metric, threshold=threshold, strict=strict)
    group_scores = ev.iou if metric == "iou" else ev.dice
    for gid, preds, score in zip(ev.pairs_gt, ev.pairs_pred, group_scores, strict=True):
        best = scores[inst._pair_index(ov, np.full(len(preds), gid), np.array(preds))].max()
        assert score >= best - 1e-12 and inst.passes(best, threshold, strict)


@given(instance_pairs())
def test_split_assignment_equals_the_dense_one(pair) -> None:
    g, p = _maps(*pair)
    ov = inst.overlap_table(g, p)
    scores = ov.score("iou")
    dense = inst.match_hungarian(ov, scores, 0.0, True, "after")
    old = inst.DENSE_ASSIGNMENT_CELLS
    try:
        inst.DENSE_ASSIGNMENT_CELLS = 0
        split = inst.match_hungarian(ov, scores, 0.0, True, "after")
    finally:
        inst.DENSE_ASSIGNMENT_CELLS = old
    total = lambda m: scores[inst._pair_index(ov, m.assigned[m.assigned > 0], np.flatnonzero(m.assigned))].sum()
    assert total(split) == pytest.approx(total(dense), rel=1e-12, abs=1e-12)


# --------------------------------------------------------------------------------------------------------------
# Pooled values and recall by size (from the per-instance rows, as the engine will keep them)
# --------------------------------------------------------------------------------------------------------------


@given(st.lists(instance_pairs(), min_size=1, max_size=5), st.sampled_from(inst.MATCHERS), st.integers(0, 2**20))
def test_pooled_values_sum_the_images_exactly_in_any_order(pairs, matcher, seed) -> None:
    evs = [inst.evaluate(*_maps(gt, pred), matcher=matcher, threshold=0.3) for gt, pred in pairs]
    rows = [inst.instance_rows(ev) for ev in evs]
    pooled = inst.pooled_values(rows)
    assert pooled["inst_tp"] == sum(ev.tp for ev in evs) and pooled["inst_fp"] == sum(ev.fp for ev in evs)
    assert pooled["inst_fn"] == sum(ev.fn for ev in evs)
    order = np.random.default_rng(seed).permutation(len(rows))
    shuffled = inst.pooled_values([rows[k] for k in order])
    assert all(pooled[k] == shuffled[k] or (math.isnan(pooled[k]) and math.isnan(shuffled[k])) for k in pooled)
    if len(evs) == 1:  # one image: the image's own values
        assert _same(pooled, inst.instance_values(evs[0], tuple(pooled)))


def test_pooled_sq_is_the_mean_over_all_matched_pairs_not_the_mean_of_the_images() -> None:
    one = {"gt": [{"matched": [1], "iou": 1.0, "dice": 1.0}], "unmatched_pred": []}
    three = {"gt": [{"matched": [1], "iou": 0.5, "dice": 0.6}] * 3, "unmatched_pred": [{"id": 9}]}
    pooled = inst.pooled_values([one, three])
    assert pooled["sq"] == (1.0 + 1.5) / 4 and pooled["rq"] == 4 / 4.5 and pooled["inst_precision"] == 4 / 5
    assert math.isnan(inst.pooled_values([{"gt": [], "unmatched_pred": []}])["sq"])


def test_recall_by_size_bins_voxels_or_physical_volume() -> None:
    rows = {"gt": [{"voxels": 9, "matched": [1]}, {"voxels": 10, "matched": []}, {"voxels": 500, "matched": [2]},
                   {"voxels": 2000, "matched": []}], "unmatched_pred": []}
    bins = inst.recall_by_size([rows, rows], [10, 1000])
    assert [(b["low"], b["high"], b["instances"], b["matched"], b["recall"]) for b in bins] == [
        (0.0, 10.0, 2, 2, 1.0), (10.0, 1000.0, 4, 2, 0.5), (1000.0, None, 2, 0, 0.0)]
    mm3 = inst.recall_by_size([rows], [10, 1000], voxel_volume=0.5)  # 4.5, 5, 250, 1000 mm³
    assert [b["instances"] for b in mm3] == [2, 1, 1]
    per_image = inst.recall_by_size([rows, rows], [10, 1000], voxel_volume=[1.0, 0.5])
    assert [b["instances"] for b in per_image] == [3, 3, 2]
    assert inst.recall_by_size([rows], [1])[0]["recall"] is None
    with pytest.raises(ValueError, match="not increasing"):
        inst.recall_by_size([rows], [100, 10])


@pytest.mark.parametrize("seed", range(12))
def test_block_labelling_equals_one_label_of_the_whole(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Labelling by clusters of occupied blocks gives ndimage.label's labels, numbering and boxes, on sparse masks
    of any shape (not a multiple of the block, a non-contiguous view) and every rank."""
    from scipy import ndimage

    monkeypatch.setattr(inst, "SPARSE_LABEL_VOXELS", 0)
    monkeypatch.setattr(inst, "BLOCK", (2, 4, 8)[seed % 3])
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(64, 130 if seed % 2 else 400, size=2 + seed % 2))
    mask = np.zeros(shape, bool)
    for _ in range(3 + seed):  # small blobs, some touching or sharing blocks
        corner = [int(rng.integers(0, n - 5)) for n in shape]
        mask[tuple(slice(c, c + int(rng.integers(1, 6))) for c in corner)] = True
        mask[tuple(c + 5 for c in corner)] = True
    if seed % 4 == 0:
        mask = mask[..., ::-1]
    by_blocks = 0
    for rank in range(1, mask.ndim + 1):
        expected, count = ndimage.label(mask, ndimage.generate_binary_structure(mask.ndim, rank))
        got = inst.connected_components(mask, rank)
        assert got.count == count
        np.testing.assert_array_equal(got.labels, expected)
        if got.boxes is not None:
            assert list(got.boxes) == ndimage.find_objects(expected)
            by_blocks += 1
    assert by_blocks  # the path under test was taken
