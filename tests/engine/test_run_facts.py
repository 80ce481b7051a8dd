"""lossctl.engine.seg's run facts: the first evaluated pair (by name) fixes what every row depends on besides its
own pair (the class count when it is known then, labels or maps), a later prediction that disagrees is that pair's
failure, and ``evaluate(on_row=...)`` hands each row on, in name order, as soon as it is final: the rows
:func:`build_report` makes of the same outcomes. The streamed command line is tested in
tests/cli/test_streaming.py."""

from __future__ import annotations

import json

import numpy as np
from support import make_seg_set, write_label_png, write_npy

from lossctl.dataset.pairing import pair_files
from lossctl.engine.seg import build_report, evaluate
from lossctl.engine.seg_config import SegConfig


def _errors(r) -> dict[str, str]:
    return {e["name"]: e["problem"] for e in r.json()["errors"]}


def test_a_run_of_maps_refuses_a_label_prediction_and_the_reverse(cli, seg):
    write_label_png(seg.pred / "z.png", seg.label_pred("a"))  # labels after maps (a, b, c are maps)
    write_label_png(seg.gt / "z.png", seg.gts["a"])
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    assert r.code == 3 and [i["name"] for i in r.json()["images"]] == ["a", "b", "c"], r
    assert _errors(r)["z"].startswith(f"the prediction holds labels but the run's first prediction ({seg.pred / 'a.npy'})"
                                      " holds a probability (or logit) map; give predictions of one kind"), r
    write_npy(seg.labels / "0.npy", seg.probs["a"])  # a map before labels
    write_label_png(seg.gt / "0.png", seg.gts["a"])
    r = cli("seg", seg.labels, seg.gt, "-f", "json", "--allow-missing")
    assert [i["pred_kind"] for i in r.json()["images"]] == ["probs"], r
    assert set(_errors(r)) == {"a", "b", "c"}, r


def test_the_first_maps_channels_are_the_class_count_and_a_map_of_more_classes_fails(cli, seg):
    write_npy(seg.pred / "d.npy", np.concatenate([seg.probs["a"], np.zeros((1, *seg.probs["a"].shape[1:]),
                                                                           np.float32)]))
    write_npy(seg.pred / "e.npy", seg.probs["b"][1] / (seg.probs["b"][0] + seg.probs["b"][1]))  # 2 classes
    for name in "de":
        write_label_png(seg.gt / f"{name}.png", (seg.gts["a"] > 0).astype(np.uint8))
    r = cli("seg", seg.pred, seg.gt, "-f", "json")
    doc = r.json()
    assert doc["config"]["num_classes"] == 3 and doc["config"]["num_classes_source"] == "channels", r
    assert [i["name"] for i in doc["images"]] == ["a", "b", "c", "e"]  # a map of fewer classes is some of them
    assert _errors(r) == {"d": f"the prediction map has 4 classes but the run's first one ({seg.pred / 'a.npy'}) has "
                               "3, the run's class count; give every map the same channels (or the class count: "
                               "--num-classes)"}


def _run(seg, workers: int, **settings):
    pairs = pair_files(seg.pred, seg.gt).pairs
    config = SegConfig(**settings)
    events: list[tuple[str, str]] = []
    rows = []

    def row(facts, image):
        events.append(("row", image["name"]))
        rows.append(image)

    outcomes = evaluate(pairs, config, workers, on_result=lambda o: events.append(("result", o.pair.name)),
                        on_row=row)
    return outcomes, config, events, rows


def test_rows_are_handed_on_in_name_order_as_each_result_arrives_also_from_worker_processes(tmp_path):
    seg = make_seg_set(tmp_path / "d", names=tuple(f"im{i}" for i in range(8)))
    names = [f"im{i}" for i in range(8)]
    for workers in (1, 2):  # 8 pairs on 2 cores: worker processes
        outcomes, config, events, rows = _run(seg, workers, num_classes=3)
        # every result once, in the order they are done; each row in name order, once its pair and every pair
        # before it are done
        assert sorted(name for kind, name in events if kind == "result") == names
        assert [name for kind, name in events if kind == "row"] == names
        for name in names:
            row_at = events.index(("row", name))
            assert {("result", before) for before in names[:names.index(name) + 1]} <= set(events[:row_at])
        if workers == 1:
            assert events == [(kind, name) for name in names for kind in ("result", "row")]
        built = build_report(outcomes, config)
        assert json.dumps(rows) == json.dumps(built["images"])  # the final rows, byte for byte


def test_no_row_is_handed_on_when_the_class_count_comes_from_the_labels(tmp_path):
    seg = make_seg_set(tmp_path / "d")
    seg.pred = seg.labels
    outcomes, config, events, rows = _run(seg, 1)
    assert rows == [] and [kind for kind, _ in events] == ["result"] * 3
    report = build_report(outcomes, config)
    assert report["config"]["num_classes_source"] == "labels"
    assert report["config"]["rows_at_end"].startswith("the class count is inferred from the labels")
    assert report["config"]["values"] == ["dice", "iou", "precision", "recall", "accuracy"]  # no loss of labels
