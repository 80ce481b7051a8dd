"""``lossctl cls`` on CSVs as people write them, through the real command line: one file holding ids, labels and
scores, two files paired by id in any order, columns chosen by name or range, class names from the header; each
checked against the same samples given as arrays in row order, and every bad input as one ``error:`` line with its
exit code. The rules themselves are tested in tests/dataset/test_cls_tables.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from support import assert_clean_error, strict_json

NAMES = ("cat", "dog", "bird")


@pytest.fixture
def csvs(cls_data, tmp_path):
    """The standard classification inputs as CSVs with ids: one file (text labels), predictions with a text
    column beside targets in another order, and the same samples as arrays."""
    n, probs, y = cls_data["n"], cls_data["probs"], cls_data["y"]
    ids = [f"s{i:02d}" for i in range(n)]
    scores = [",".join(format(v, ".17g") for v in p) for p in probs]
    one = tmp_path / "scores.csv"
    one.write_text("id,label,p_cat,p_dog,p_bird\n" + "".join(
        f"{i},{NAMES[t]},{p}\n" for i, t, p in zip(ids, y, scores, strict=True)))
    pred = tmp_path / "pred.csv"
    pred.write_text("id,model,p_cat,p_dog,p_bird\n" + "".join(
        f"{i},resnet,{p}\n" for i, p in zip(ids, scores, strict=True)))
    order = np.random.default_rng(18).permutation(n)
    target = tmp_path / "labels.csv"
    target.write_text("id,label\n" + "".join(f"{ids[j]},{y[j]}\n" for j in order))
    return {"one": one, "pred": pred, "target": target, "ids": ids, "order": order, **cls_data}


def _json(cli, *args):
    r = cli("cls", *args, "-f", "json")
    assert r.code == 0, r
    return strict_json(r.out)


def _rows(doc):
    return {row["name"]: row["values"] for row in doc["images"]}


def test_pairing_by_id_in_any_order_gives_the_values_of_the_row_order_arrays(cli, csvs):
    by_id = _json(cli, csvs["pred"], csvs["target"], "--id-column", "id", "--pred-columns", "p_cat:p_bird",
                  "--per-sample")
    arrays = _json(cli, csvs["probs_npy"], csvs["target_npy"], "--per-sample")
    assert by_id["summary"] == arrays["summary"]  # identical, bit for bit
    assert _rows(by_id) == {csvs["ids"][int(i)]: values for i, values in _rows(arrays).items()}
    assert [row["name"] for row in by_id["images"]] == csvs["ids"]  # the prediction file's order, named by id
    cfg = by_id["config"]
    assert cfg["paired_by"] == "id" and by_id["skipped"] == {"missing_gt": [], "missing_pred": []}
    assert cfg["columns"] == {"id": "id", "pred": ["p_cat", "p_dog", "p_bird"], "target": ["label"],
                              "weights": None, "header": {"pred": True, "target": True}}
    assert cfg["class_names"] == list(NAMES) and cfg["class_names_from"] == "header"


def test_one_file_with_class_name_labels_gives_the_values_of_the_arrays(cli, csvs):
    r = cli("cls", csvs["one"], "-f", "json")
    assert r.code == 0, r
    assert strict_json(r.out)["summary"] == _json(cli, csvs["probs_npy"], csvs["target_npy"])["summary"]
    notes = [line for line in r.err.splitlines() if line.startswith("note:")]
    assert notes[0] == (f"note: {csvs['one']}: read the column 'id' as the sample ids, the column 'label' as the "
                        "target and the other 3 columns (p_cat:p_bird) as the predictions, by the default rules; "
                        "choose with --id-column, --target-column, --pred-columns")
    assert "are class names, read as the indices of the classes cat, dog, bird" in notes[1]
    assert strict_json(r.out)["config"]["notes"][:2] == [n.removeprefix("note: ") for n in notes[:2]]


def test_one_file_from_standard_input(cli, csvs):
    r = cli("cls", "-", "--target-column", "label", "--per-sample", "-f", "json", stdin=csvs["one"].read_bytes())
    assert r.code == 0, r
    doc = strict_json(r.out)
    assert doc["config"]["pred"] == doc["config"]["target"] == "-"
    assert [row["name"] for row in doc["images"]] == csvs["ids"]


@pytest.mark.parametrize("selection", [["--pred-columns", "p_cat,p_dog,p_bird"], ["--pred-columns", "p_cat:p_bird"],
                                       ["--pred-columns", "p_cat,p_dog:p_bird", "--target-column", "label"]])
def test_columns_chosen_by_names_or_ranges_read_the_same_values(cli, csvs, selection):
    doc = _json(cli, csvs["one"], *selection)
    assert doc["summary"] == _json(cli, csvs["probs_npy"], csvs["target_npy"])["summary"]
    assert doc["config"]["columns"]["pred"] == ["p_cat", "p_dog", "p_bird"]


def test_a_table_without_a_header_is_chosen_by_position(cli, csvs, tmp_path):
    bare = tmp_path / "bare.csv"
    bare.write_text("".join(f"{100 + i},{t},{','.join(map(repr, p))}\n"
                            for i, (t, p) in enumerate(zip(csvs["y"], csvs["probs"].tolist(), strict=True))))
    doc = _json(cli, bare, "--id-column", "1", "--target-column", "2", "--pred-columns", "3:5", "--class-names",
                "cat,dog,bird", "--per-sample")
    assert doc["summary"] == _json(cli, csvs["probs_npy"], csvs["target_npy"])["summary"]
    assert doc["config"]["columns"]["header"] == {"pred": False, "target": False}
    assert doc["config"]["class_names"] == list(NAMES) and doc["config"]["class_names_from"] == "class_names"
    assert doc["images"][0]["name"] == "100"


def test_unpaired_ids_are_an_input_error_unless_allow_missing(cli, csvs, tmp_path):
    short = tmp_path / "short.csv"
    lines = csvs["target"].read_text().splitlines()
    short.write_text("\n".join(lines[:-2] + ["zz,1"]) + "\n")
    dropped = sorted(line.split(",")[0] for line in lines[-2:])
    args = (csvs["pred"], short, "--id-column", "id", "--pred-columns", "p_cat:p_bird")
    r = cli("cls", *args)
    assert_clean_error(r, 3, f"{csvs['pred']}: 2 predictions have no target in {short}", "1 target has no "
                       f"prediction in {csvs['pred']} (ids zz)", "--allow-missing")
    assert all(i in r.error_lines()[0] for i in dropped)
    r = cli("cls", *args, "--allow-missing", "-f", "json")
    assert r.code == 0, r
    doc = strict_json(r.out)
    assert sorted(doc["skipped"]["missing_gt"]) == dropped and doc["skipped"]["missing_pred"] == ["zz"]
    assert doc["config"]["n_samples"] == csvs["n"] - 2
    assert ("warning: skipped 2 prediction(s) without target and 1 target(s) without prediction (ids in one file "
            "only)") in r.err


def test_weights_are_paired_by_id_too(cli, csvs, tmp_path):
    w = np.linspace(0.5, 2.0, csvs["n"])
    np.save(tmp_path / "w.npy", w)
    weights = tmp_path / "w.csv"
    rows = [f"{csvs['ids'][j]},{format(w[j], '.17g')}\n" for j in csvs["order"][::-1]]  # yet another order
    weights.write_text("id,weight\n" + "".join(rows))
    by_id = _json(cli, csvs["pred"], csvs["target"], "--id-column", "id", "--pred-columns", "p_cat:p_bird",
                  "--weights", weights)
    arrays = _json(cli, csvs["probs_npy"], csvs["target_npy"], "--weights", tmp_path / "w.npy")
    assert by_id["summary"] == arrays["summary"] and by_id["config"]["columns"]["weights"] == ["weight"]


@pytest.mark.parametrize("case, code, fragments", [
    ("duplicate", 3, ["labels.csv: the id 's03' appears twice (rows 5 and 12); give each sample one row"]),
    ("out_of_order", 3, ["pred.csv: sample 1 is id 's00' here but", "pair them by id with --id-column id"]),
    ("missing_column", 3, ["pred.csv: has no column 'p_brid' (--pred-columns); did you mean 'p_bird'? its "
                           "columns: id, model, p_cat, p_dog, p_bird"]),
    ("missing_id", 3, ["pred.csv: has no column 'ID' (--id-column); did you mean 'id'?"]),
    ("text_column", 3, ["pred.csv: row 2, column 2 (model) is not a number ('resnet'); the column holds text in "
                        "every row: choose the predictions' columns with --pred-columns"]),
    ("no_target", 3, ["pred.csv: has no column named label, target or y; name the target column with "
                      "--target-column"]),
    ("unknown_class", 3, ["scores.csv: row", "is 'bird', not a class index nor one of the classes cat, dog, brd; "
                          "did you mean 'brd'?"]),
    ("class_count", 2, ["--class-names names 2 classes but", "holds predictions of 3"]),
    ("malformed", 2, ["--pred-columns 'p_cat:': not a column name nor a range FIRST:LAST"]),
    ("backwards", 3, ["the range 'p_bird:p_cat' of --pred-columns runs backwards"]),
    ("array_columns", 2, ["probs.npy: an array file has no named columns; --pred-columns picks columns of a CSV"]),
    ("array_id", 2, ["target.npy: an array file has no columns, so no id column 'id'"]),
    ("allow_missing_alone", 2, ["--allow-missing leaves out the ids one file lacks; pair the files by id with "
                                "--id-column"]),
])
def test_bad_csv_inputs_are_one_line_naming_the_file_the_problem_and_the_fix(cli, csvs, tmp_path, case, code,
                                                                              fragments):
    pred, target, one = csvs["pred"], csvs["target"], csvs["one"]
    cols = ("--pred-columns", "p_cat:p_bird")
    dup = tmp_path / "dup" / "labels.csv"
    args = {
        "duplicate": (pred, dup, "--id-column", "id", *cols),
        "out_of_order": (pred, target, *cols),
        "missing_column": (pred, target, "--id-column", "id", "--pred-columns", "p_cat:p_brid"),
        "missing_id": (pred, target, "--id-column", "ID", *cols),
        "text_column": (pred, target, "--id-column", "id"),
        "no_target": (pred,),
        "unknown_class": (one, "--class-names", "cat,dog,brd"),
        "class_count": (one, "--class-names", "cat,dog"),
        "malformed": (one, "--pred-columns", "p_cat:"),
        "backwards": (one, "--pred-columns", "p_bird:p_cat"),
        "array_columns": (csvs["probs_npy"], target, *cols),
        "array_id": (pred, csvs["target_npy"], "--id-column", "id", *cols),
        "allow_missing_alone": (pred, target, "--allow-missing", *cols),
    }[case]
    if case == "duplicate":
        dup.parent.mkdir(exist_ok=True)
        text = "id,label\n" + "".join(f"{i},{t}\n" for i, t in zip(csvs["ids"], csvs["y"], strict=True))
        dup.write_text(text + f"s03,{csvs['y'][3]}\n")
    r = cli("cls", *args)
    assert_clean_error(r, code, *fragments)
    assert len(r.error_lines()) == 1 and r.out == ""
