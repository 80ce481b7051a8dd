"""lossctl.dataset.label_maps: parsing every SPEC form, the built-ins against their published definitions, and applying a
map through a lookup table over the stored dtype (narrow output, no wide copy); through the CLI, maps that undo a
renumbering and Cityscapes scored as its official evaluator scores it (the bad maps are rows of
tests/cli/test_seg_bad_input.py)."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from support import SegSet, folder_report, numbers, write_palette_png

from lossctl.errors import UsageError
from lossctl.dataset.label_maps import LabelMap, UnmappedValueError, apply_label_map, check_classes, parse_label_map

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


# -- parsing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["7:0,8:1,0:ignore", " 7 : 0 , 8:1, 0:IGNORE ", '{"7": 0, "8": 1, "0": "ignore"}',
                                  '{"8": 1, "7": 0, "0": null}'])
def test_inline_forms(spec: str) -> None:
    assert parse_label_map(spec).table == ((0, None), (7, 0), (8, 1))


@pytest.mark.parametrize("name, text", [
    ("map.json", '{"-1": "ignore", "7": 0, "8": 1}'),
    ("map.csv", "from,to\n-1,ignore\n7,0\n\n8,1\n"),
    ("map.csv", "-1,ignore\n7,0\n8,1\n"),
    ("map.tsv", "from\tto\n-1\tignore\n7\t0\n8\t1\n"),
    ("map.txt", "\ufeff-1, ignore\r\n7, 0\r\n8, 1\r\n"),
])
def test_file_forms(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    m = parse_label_map(str(path))
    assert m.table == ((-1, None), (7, 0), (8, 1))
    assert m.name == str(path) and m.num_classes == 2 and m.voids
    assert m.to_dict() == {"name": str(path), "map": {"-1": "ignore", "7": 0, "8": 1}}


@pytest.mark.parametrize("spec, phrase", [
    ("7:a", "the class 'a' is not an integer"),
    ("x:1", "the value 'x' is not an integer"),
    ("7:0,8", "'8' is not FROM:TO"),
    ("7:-1", "maps 7 to -1; a class number is 0 or more"),
    ("7:0,7:1", "maps 7 twice"),
    ("{}", "has no entry"),
    ("[1, 2]", "no built-in map"),
    ("{7: 0}", "not valid JSON"),
    ('{"7": true}', "is not an integer"),
    ("citiscapes", "no built-in map"),
    ("maps/nope.csv", "a file that does not exist"),
    ("-", "standard input"),
])
def test_malformed_specs(spec: str, phrase: str) -> None:
    with pytest.raises(UsageError) as excinfo:
        parse_label_map(spec)
    message = str(excinfo.value)
    assert phrase in message and "\n" not in message and "--" not in message, message


def test_malformed_files(tmp_path: Path) -> None:
    bad_csv = tmp_path / "m.csv"
    bad_csv.write_text("from,to\n7,0,1\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"m\.csv line 2: has 3 column"):
        parse_label_map(str(bad_csv))
    bad_json = tmp_path / "m.json"
    bad_json.write_text("[[7, 0]]", encoding="utf-8")
    with pytest.raises(UsageError, match="not an object"):
        parse_label_map(str(bad_json))
    binary = tmp_path / "m.map"
    binary.write_bytes(b"\xff\xfe7\x00:\x000")
    with pytest.raises(UsageError, match="not UTF-8"):
        parse_label_map(str(binary))
    with pytest.raises(UsageError, match="is a folder, not a label map"):
        parse_label_map(str(tmp_path))


def test_check_classes() -> None:
    check_classes(parse_label_map("1:0,2:1"), 2)
    with pytest.raises(UsageError, match=r"maps 2 to class 1, but there are 1 classes \(0\.\.0\)"):
        check_classes(parse_label_map("1:0,2:1"), 1)


# -- the built-ins against their published definitions -------------------------------------------------------------


def published_cityscapes() -> list[dict[str, str]]:
    with open(GOLDEN / "cityscapes_labels.csv", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def test_cityscapes_is_the_published_label_table() -> None:
    rows = published_cityscapes()
    assert len(rows) == 35  # ids 0..33 and the license plate (-1)
    m = parse_label_map("cityscapes")
    table = dict(m.table)
    assert sorted(table) == sorted(int(r["id"]) for r in rows)  # every id of the table, and no other
    evaluated = [r for r in rows if r["ignore_in_eval"] == "false"]
    for r in rows:
        if r["ignore_in_eval"] == "true":
            assert table[int(r["id"])] is None, r  # ignored in evaluation: void
        else:
            assert table[int(r["id"])] == int(r["train_id"]), r
    assert len(evaluated) == 19 and sorted(int(r["train_id"]) for r in evaluated) == list(range(19))
    by_train_id = {int(r["train_id"]): r["name"] for r in evaluated}
    assert m.class_names == tuple(by_train_id[i] for i in range(19))
    assert m.num_classes == 19 and m.voids


def mmseg_reduce_zero(labels: np.ndarray) -> np.ndarray:
    """mmsegmentation's LoadAnnotations(reduce_zero_label=True) as its documentation states the steps, on uint8:
    0 becomes 255, then every value drops by one, then 254 (a former 0 or 255) becomes 255 again."""
    out = labels.copy()
    out[out == 0] = 255
    out = out - 1
    out[out == 254] = 255
    return out


def test_reduce_zero_is_mmsegmentations_rule() -> None:
    values = np.arange(256, dtype=np.uint8)
    m = parse_label_map("reduce-zero")
    mapped = apply_label_map(m, values, void=255)
    expected = mmseg_reduce_zero(values)
    assert np.array_equal(mapped, expected)  # 255 is mmseg's ignore value, and lossctl's void here
    assert m.num_classes is None and not m.defines_classes
    assert "rule" in m.to_dict() and "map" not in m.to_dict()
    with pytest.raises(UnmappedValueError, match="holds the value 300"):
        apply_label_map(m, np.array([1, 300], dtype=np.uint16), void=m.void)


# -- applying -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.int32, np.uint32, np.int64])
def test_apply_over_every_dtype(dtype) -> None:
    m = parse_label_map("-1:ignore,7:0,8:1,26:2")
    labels = np.array([[7, 8, 26], [-1 if np.dtype(dtype).kind == "i" else 7, 26, 7]]).astype(dtype)
    out = apply_label_map(m, labels, void=m.void)
    assert out.dtype == np.uint8 and out.shape == labels.shape
    expected = np.array([[0, 1, 2], [m.void if np.dtype(dtype).kind == "i" else 0, 2, 0]])
    assert np.array_equal(out, expected)


@pytest.mark.parametrize("dtype", [">u2", ">i2", "<i2", ">i4"])
def test_apply_to_either_byte_order(dtype: str) -> None:
    m = parse_label_map("-1:ignore,7:0,300:1")
    values = [7, 300, 7] if dtype.endswith("u2") else [7, 300, -1]
    out = apply_label_map(m, np.array(values, dtype=dtype), void=m.void)
    assert out.tolist() == ([0, 1, 0] if dtype.endswith("u2") else [0, 1, m.void])


def test_apply_bool_and_empty_and_huge_ranges() -> None:
    m = parse_label_map("0:1,1:0")
    assert apply_label_map(m, np.array([True, False]), void=m.void).tolist() == [0, 1]
    assert apply_label_map(m, np.zeros((0, 3), np.int32), void=m.void).shape == (0, 3)
    wide = parse_label_map("0:0,4000000000:1")
    sparse = np.array([[0, 4_000_000_000], [4_000_000_000, 0]], dtype=np.int64)  # a range too wide to tabulate
    assert apply_label_map(wide, sparse, void=wide.void).tolist() == [[0, 1], [1, 0]]


def test_unmapped_values_are_named_or_voided() -> None:
    m = parse_label_map("7:0,8:1")
    labels = np.array([7, 40, 8, 41, 40, 99, 3], dtype=np.uint8)
    with pytest.raises(UnmappedValueError) as excinfo:
        apply_label_map(m, labels, void=m.void)
    assert str(excinfo.value) == "holds the values 3, 40, 41 (4 values in all), which the label map does not name"
    assert excinfo.value.values == [3, 40, 41] and excinfo.value.count == 4
    assert apply_label_map(m, labels, void=m.void, unmapped_to_void=True).tolist() == [0, 254, 1, 254, 254, 254, 254]


def test_prediction_void_is_the_index_given_and_the_dtype_grows_with_the_classes() -> None:
    m = parse_label_map("0:ignore,1:0,2:1")
    assert apply_label_map(m, np.array([0, 1, 2], np.uint8), void=2).tolist() == [2, 0, 1]
    big = LabelMap("big", ((0, 300), (1, None)))
    out = apply_label_map(big, np.array([0, 1], np.uint8), void=big.void)
    assert out.dtype == np.uint16 and out.tolist() == [300, 65534]


def test_no_wide_copy_of_a_big_mask() -> None:
    """Mapping a 16-bit 4-megapixel mask allocates the uint8 result and a boolean check (4 MB each) and a
    65536-entry table, never an int64 copy (32 MB)."""
    labels = np.random.default_rng(0).integers(0, 34, (2000, 2000)).astype(np.uint16)
    m = parse_label_map("cityscapes")
    tracemalloc.start()
    try:
        out = apply_label_map(m, labels, void=m.void)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.dtype == np.uint8
    assert peak < 2.5 * labels.size, peak


def test_label_map_round_trips_through_a_json_report() -> None:
    from dataclasses import asdict

    m = parse_label_map("cityscapes")
    assert LabelMap.from_dict(json.loads(json.dumps(asdict(m)))) == m


# ----------------------------------------------------------------------------------------------------------
# Through the CLI: maps undo a renumbering, Cityscapes as its evaluator scores it
# ----------------------------------------------------------------------------------------------------------


def renumbered_gt(s: SegSet, root: Path, mapping: dict[int, int]) -> Path:
    folder = root / "gt_renumbered"
    for name in s.names:
        labels = s.gts[name].copy()
        out = labels.copy()
        for src, dst in mapping.items():
            out[labels == src] = dst
        write_palette_png(folder / f"{name}.png", out)
    return folder


@pytest.mark.parametrize("spec_form", ["inline", "json", "csv"])
def test_a_label_map_undoes_a_renumbering(cli, seg, tmp_path, spec_form):
    gt = renumbered_gt(seg, tmp_path, {0: 10, 1: 20, 2: 30})
    spec = {"inline": "10:0,20:1,30:2", "json": '{"10": 0, "20": 1, "30": 2}', "csv": str(tmp_path / "m.csv")}[spec_form]
    (tmp_path / "m.csv").write_text("from,to\n10,0\n20,1\n30,2\n", encoding="utf-8")
    r = cli("seg", seg.pred, gt, "--label-map", spec, "-f", "json")
    assert r.code == 0, r
    assert numbers(r.json()) == numbers(folder_report(cli, seg))
    assert r.json()["config"]["label_map"]["map"] == {"10": 0, "20": 1, "30": 2}
    assert r.json()["config"]["pred_label_map"] is None and r.json()["config"]["unmapped"] == "error"


def test_ground_truth_mapped_to_ignore_is_ignore_index(cli, seg, tmp_path):
    mapped = cli("seg", seg.pred, seg.gt, "--label-map", "0:0,1:ignore,2:2", "--num-classes", "3", "-f", "json")
    ignored = cli("seg", seg.pred, seg.gt, "--ignore-index", "1", "--num-classes", "3", "-f", "json")
    assert mapped.code == ignored.code == 0, (mapped, ignored)
    assert numbers(mapped.json()) == numbers(ignored.json())
    unmapped = cli("seg", seg.pred, seg.gt, "--label-map", "0:0,2:2", "--unmapped", "ignore", "--num-classes", "3",
                   "-f", "json")
    assert numbers(unmapped.json()) == numbers(ignored.json())


def test_a_prediction_map_without_void_is_the_same_as_mapped_files(cli, seg, tmp_path):
    shifted = tmp_path / "labels_shifted"
    for name in seg.names:
        write_palette_png(shifted / f"{name}.png", seg.label_pred(name) + 5)
    r = cli("seg", shifted, seg.gt, "--pred-label-map", "5:0,6:1,7:2", "-f", "json")
    assert r.code == 0, r
    assert numbers(r.json()) == numbers(folder_report(cli, SegSet(**{**seg.__dict__, "pred": seg.labels})))
    assert len(r.json()["summary"]["confusion_matrix"]) == 3  # no void column: nothing predicts void


# -- Cityscapes: the official evaluator's class IoUs ---------------------------------------------------------------


def cityscapes_table() -> list[dict[str, str]]:
    return published_cityscapes()


def evaluator_class_ious(gts: list[Any], preds: list[Any]) -> dict[int, float]:
    """The class IoUs as the official Cityscapes evaluator (evalPixelLevelSemanticLabeling) documents them, keyed
    by train id: one confusion matrix over the label ids 0..33, summed over images; for an evaluated label,
    TP is its diagonal entry, FN its row sum minus TP (predictions of any id, void ones included), FP its column
    sum over the rows of the *evaluated* labels other than itself; IoU = TP / (TP + FP + FN), NaN when 0/0."""
    import numpy as np

    rows = [r for r in cityscapes_table() if int(r["id"]) >= 0]
    ignored = {int(r["id"]): r["ignore_in_eval"] == "true" for r in rows}
    conf = np.zeros((34, 34), dtype=np.int64)
    for gt, pred in zip(gts, preds, strict=True):
        np.add.at(conf, (gt.ravel().astype(np.int64), pred.ravel().astype(np.int64)), 1)
    ious = {}
    for r in rows:
        label = int(r["id"])
        if ignored[label]:
            continue
        tp = int(conf[label, label])
        fn = int(conf[label, :].sum()) - tp
        others = [k for k in ignored if not ignored[k] and k != label]
        fp = int(conf[others, label].sum())
        ious[int(r["train_id"])] = float("nan") if tp + fp + fn == 0 else float(tp) / (tp + fp + fn)
    return ious


def write_cityscapes(root: Path, gts: list[Any], preds: list[Any]) -> tuple[Path, Path]:
    from PIL import Image

    gt_root, results = root / "gtFine" / "val", root / "results"
    results.mkdir(parents=True)
    for i, (gt, pred) in enumerate(zip(gts, preds, strict=True)):
        stem = f"{['aachen', 'bonn', 'lindau'][i % 3]}_{i:06d}_000019"
        city = gt_root / stem.split("_")[0]
        city.mkdir(parents=True, exist_ok=True)
        Image.fromarray(gt.astype("uint8"), mode="L").save(city / f"{stem}_gtFine_labelIds.png")
        Image.fromarray(gt.astype("uint8"), mode="L").save(city / f"{stem}_gtFine_color.png")
        Image.fromarray(pred.astype("uint8"), mode="L").save(results / f"{stem}_leftImg8bit.png")
    return results, gt_root


CITYSCAPES_ARGS = ("--pred-pattern", "{name}_leftImg8bit.png", "--gt-pattern", "*/{name}_gtFine_labelIds.png",
                   "--label-map", "cityscapes", "--pred-label-map", "cityscapes", "-m", "iou", "-f", "json")


def test_cityscapes_by_hand(cli, tmp_path):
    """Eight pixels in label ids, counted by hand with the evaluator's rule:

    ====  =====================  ======================  ===========================================
    px    ground truth           prediction              counts
    ====  =====================  ======================  ===========================================
    1     7 road                 7 road                  TP road
    2     7 road                 8 sidewalk              FN road, FP sidewalk
    3     8 sidewalk             8 sidewalk              TP sidewalk
    4     0 unlabeled (void)     7 road                  nothing (a void ground truth is ignored)
    5     26 car                 26 car                  TP car
    6     26 car                 29 caravan (void)       FN car, FP of none
    7     24 person              24 person               TP person
    8     7 road                 0 unlabeled (void)      FN road, FP of none
    ====  =====================  ======================  ===========================================

    road 1/(1+0+2), sidewalk 1/(1+1+0), car 1/(1+0+1), person 1/1; the 15 other classes are 0/0 (NaN, null).
    The class score is the mean of the four (summed in label-id order, as the evaluator does): 7/12.
    """
    import numpy as np

    gt = np.array([[7, 7, 8, 0], [26, 26, 24, 7]])
    pred = np.array([[7, 8, 8, 7], [26, 29, 24, 0]])
    results, gt_root = write_cityscapes(tmp_path, [gt], [pred])
    r = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    assert r.code == 0, r
    doc = r.json()
    expected = [None] * 19
    expected[0], expected[1], expected[13], expected[11] = 1 / 3, 1 / 2, 1 / 2, 1.0
    assert doc["summary"]["per_class"]["pooled"]["iou"] == expected
    assert doc["summary"]["pooled"]["iou"] == (1 / 3 + 1 / 2 + 1.0 + 1 / 2) / 4  # road, sidewalk, person, car
    assert doc["config"]["class_names"][13] == "car" and doc["config"]["num_classes"] == 19
    cm = np.array(doc["summary"]["confusion_matrix"])
    assert cm.shape == (20, 20) and cm[13, 19] == 1 and cm[0, 19] == 1 and cm[19].sum() == 0  # the void column
    assert doc["images"][0]["values"]["iou"] == doc["summary"]["pooled"]["iou"]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cityscapes_class_ious_equal_the_evaluators_to_the_last_digit(cli, tmp_path, seed):
    import numpy as np

    rng = np.random.default_rng(seed)
    shapes = [(9, 13), (7, 11), (12, 5), (6, 6)]
    gts = [rng.integers(0, 34, shape) for shape in shapes]
    # predictions: right half of the time, else any label id (void ones included)
    preds = [np.where(rng.random(g.shape) < 0.5, g, rng.integers(0, 34, g.shape)) for g in gts]
    results, gt_root = write_cityscapes(tmp_path, gts, preds)
    r = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    assert r.code == 0, r
    doc = r.json()
    reference = evaluator_class_ious(gts, preds)
    ours = doc["summary"]["per_class"]["pooled"]["iou"]
    for train_id in range(19):
        want = reference[train_id]
        if np.isnan(want):
            assert ours[train_id] is None
        else:
            assert ours[train_id] == want, (train_id, ours[train_id], want)  # bit for bit
    assert doc["config"]["pred_label_map"]["name"] == "cityscapes" and doc["config"]["unmapped"] == "error"
    in_processes = cli("seg", results, gt_root, *CITYSCAPES_ARGS, "--workers", "2")  # 2 processes, maps pickled
    assert in_processes.code == 0 and in_processes.json() == doc, in_processes
    kept = [v for v in reference.values() if not np.isnan(v)]
    assert doc["summary"]["pooled"]["iou"] == pytest.approx(sum(kept) / len(kept), rel=1e-15, abs=0)
    # sharded and merged: the same numbers (the void column survives the JSON round trip)
    parts = []
    for k in (1, 2):
        out = tmp_path / f"p{k}.json"
        assert cli("seg", results, gt_root, *CITYSCAPES_ARGS, "--shard", f"{k}/2", "-o", out).code == 0
        parts.append(out)
    merged = cli("merge", *parts, "-f", "json")
    assert merged.code == 0, merged
    assert merged.json()["summary"] == doc["summary"]


def test_cityscapes_predictions_in_train_ids(cli, tmp_path):
    import numpy as np

    rng = np.random.default_rng(5)
    gts = [rng.integers(0, 34, (8, 8))]
    train = dict(parse_map("cityscapes").table)
    evaluated = [i for i, t in train.items() if t is not None]
    preds = [rng.choice(evaluated, size=(8, 8))]  # label ids of evaluated classes only
    results, gt_root = write_cityscapes(tmp_path / "ids", gts, preds)
    in_ids = cli("seg", results, gt_root, *CITYSCAPES_ARGS)
    as_train = [np.vectorize(train.get)(p) for p in preds]
    results_t, gt_root_t = write_cityscapes(tmp_path / "train", gts, as_train)
    args = [a for a in CITYSCAPES_ARGS if a not in ("--pred-label-map",)]
    args.remove("cityscapes")  # the second one (the prediction map's)
    in_train = cli("seg", results_t, gt_root_t, *args)
    assert in_ids.code == in_train.code == 0, (in_ids, in_train)
    assert in_ids.json()["summary"]["per_class"]["pooled"] == in_train.json()["summary"]["per_class"]["pooled"]


def parse_map(spec: str) -> Any:
    from lossctl.dataset.label_maps import parse_label_map

    return parse_label_map(spec)


def test_a_built_in_maps_names_are_used_unless_names_are_given(cli, tmp_path):
    import numpy as np

    results, gt_root = write_cityscapes(tmp_path, [np.full((2, 2), 7)], [np.full((2, 2), 7)])
    base = (results, gt_root, *CITYSCAPES_ARGS)
    assert cli("seg", *base, "--num-classes", "19").json()["config"]["class_names"][18] == "bicycle"
    names = ",".join(f"c{i}" for i in range(19))
    assert cli("seg", *base, "--class-names", names).json()["config"]["class_names"][18] == "c18"
    r = cli("seg", *base, "--num-classes", "20")
    assert r.code == 0 and r.json()["config"]["class_names"][19] == "19", r
