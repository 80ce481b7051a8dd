"""lossctl.dataset.label_maps: parsing every SPEC form, the built-ins against their published definitions, and applying a
map through a lookup table over the stored dtype (narrow output, no wide copy)."""

from __future__ import annotations

import csv
import json
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

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
