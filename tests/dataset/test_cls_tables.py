"""The rules of classification CSVs (lossctl.dataset.cls_tables): the header, the columns each default picks, the
selection syntax, class names from the header, class-name targets, ids and the pairing by id.

The same rules through the real command line are in tests/cli/test_cls_csv.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from lossctl.dataset.cls_tables import ColumnChoice, class_names_of, parse_selection, read_cls_tables
from lossctl.errors import InputError, PairingError, UsageError, spell
from lossctl.io.arrays import Loaded
from lossctl.io.tables import read_table


def table(text: str):
    return read_table(None, stdin_bytes=text.encode())


SCORES = "id,label,p_cat,p_dog,p_bird\na1,cat,0.7,0.2,0.1\na2,dog,0.1,0.8,0.1\na3,bird,0.3,0.3,0.4\n"
PRED = "id,p_cat,p_dog,p_bird\na1,0.7,0.2,0.1\na2,0.1,0.8,0.1\na3,0.3,0.3,0.4\n"


# -- the header rule ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, header, columns", [
    ("id,p\na,0.5\n", ("id", "p"), ("id", "p")),
    ("0.2,0.8\n0.5,0.5\n", None, ("1", "2")),
    ("0,1,2\n0.2,0.3,0.5\n", None, ("1", "2", "3")),  # a header of numbers is a row
    (",0,1\n0,0.4,0.6\n", ("", "0", "1"), ("", "0", "1")),  # pandas' unnamed index: an empty cell is not a number
    ("# a comment\n\np\n0.5\n", ("p",), ("p",)),
])
def test_the_first_row_is_a_header_when_one_cell_is_not_a_number(text, header, columns):
    t = table(text)
    assert t.header == header and t.columns == columns


def test_a_header_that_names_more_or_fewer_columns_than_the_rows_is_refused():
    with pytest.raises(InputError, match=r"<stdin>: the header \(line 1\) names 2 columns but row 2 has 3"):
        table("a,b\n1,2,3\n")


# -- selections -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, picked", [
    ("p_cat,p_dog,p_bird", [2, 3, 4]),
    ("p_cat:p_bird", [2, 3, 4]),
    ("p_bird,p_cat", [4, 2]),  # the order given
    ("label, p_dog:p_bird", [1, 3, 4]),
    ("id:id", [0]),
])
def test_a_selection_is_names_and_inclusive_ranges_in_the_files_order(spec, picked):
    assert parse_selection(table(SCORES), spec, "pred_columns") == picked


def test_a_table_without_a_header_is_selected_by_position():
    assert parse_selection(table("1,0,0.2,0.8\n2,1,0.6,0.4\n"), "3:4", "pred_columns") == [2, 3]


@pytest.mark.parametrize("spec", ["", "a,", ",a", "a::b", "a:", ":b"])
def test_a_malformed_selection_is_a_usage_error(spec):
    with pytest.raises(UsageError, match="not a column name nor a range FIRST:LAST"):
        parse_selection(table(SCORES), spec, "pred_columns")


@pytest.mark.parametrize("spec, fragments", [
    ("p_cta", ["has no column 'p_cta'", "did you mean 'p_cat'?", "its columns: id, label, p_cat, p_dog, p_bird"]),
    ("P_CAT", ["did you mean 'p_cat'?"]),
    ("p_bird:p_cat", ["runs backwards", "column 5 (p_bird) to column 3 (p_cat)"]),
    ("p_cat:p_dog,p_dog", ["selects column 4 (p_dog) twice"]),
    ("3:5", ["has no column '3'"]),  # a header names the columns: positions are for tables without one
])
def test_a_selection_the_table_does_not_answer_names_the_file_and_the_columns(spec, fragments):
    with pytest.raises(InputError) as excinfo:
        parse_selection(table(SCORES), spec, "pred_columns")
    message = str(excinfo.value)
    assert message.startswith("<stdin>: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_header_that_looks_like_data_is_said_to_be_the_header():
    with pytest.raises(InputError, match="its first row was read as the header because it holds text"):
        parse_selection(table("a1,0.2,0.8\na2,0.6,0.4\n"), "2:3", "pred_columns")


def test_a_name_given_to_two_columns_is_refused_when_selected():
    with pytest.raises(InputError, match="the header names 2 columns 'p'"):
        parse_selection(table("p,p,y\n0.2,0.8,1\n"), "p", "pred_columns")


# -- class names from the header ---------------------------------------------------------------------------------


@pytest.mark.parametrize("columns, names", [
    (["p_cat", "p_dog", "p_bird"], ("cat", "dog", "bird")),
    (["prob_car", "prob_cat"], ("car", "cat")),  # the common prefix stops at its last separator
    (["cat_prob", "dog_prob"], ("cat", "dog")),
    (["score.cat.v2", "score.dog.v2"], ("cat", "dog")),
    (["p0", "p1", "p2"], ("p0", "p1", "p2")),  # no separator: kept whole
    (["x_a", "x_"], ("x_a", "x_")),  # a name would be left empty: kept whole
    (["p_cat"], ()),  # one column names no classes
    (["p", "p"], ()),  # nor do repeated or empty names
    (["", "p"], ()),
])
def test_class_names_are_the_column_names_without_their_common_affixes(columns, names):
    assert class_names_of(columns) == names


def test_class_names_come_from_the_header_and_class_name_targets_are_read_as_indices():
    t = read_cls_tables(table(SCORES), None)
    assert t.class_names == ("cat", "dog", "bird") and t.config["class_names_from"] == "header"
    np.testing.assert_array_equal(t.target, [0, 1, 2])
    assert any("are class names, read as the indices of the classes cat, dog, bird" in n for n in t.notes)


def test_given_class_names_override_the_header_and_must_fit_the_predictions():
    t = read_cls_tables(table(SCORES.replace("cat,0.7", "kitten,0.7")), None,
                        choice=ColumnChoice(class_names=("kitten", "dog", "bird")))
    assert t.class_names == ("kitten", "dog", "bird") and t.config["class_names_from"] == "class_names"
    with pytest.raises(UsageError, match="names 2 classes but <stdin> holds predictions of 3"):
        read_cls_tables(table(SCORES), None, choice=ColumnChoice(class_names=("a", "b")))


def test_a_target_that_is_no_class_name_is_refused_with_the_closest_name():
    with pytest.raises(InputError, match=r"row 3, column 2 \(label\) is 'dgo', not a class index nor one of the "
                                         r"classes cat, dog, bird; did you mean 'dog'\?"):
        read_cls_tables(table(SCORES.replace("a2,dog", "a2,dgo")), None)


def test_numeric_targets_are_indices_and_a_note_says_so_when_the_header_names_classes_by_numbers():
    t = read_cls_tables(table("id,y,p_1,p_2\na,0,0.9,0.1\nb,1,0.2,0.8\n"), None)
    np.testing.assert_array_equal(t.target, [0, 1])
    assert any("numeric targets are class indices counted from 0" in n for n in t.notes)


def test_target_columns_naming_the_classes_in_another_order_are_refused():
    pred = table("p_cat,p_dog\n0.9,0.1\n0.2,0.8\n")
    with pytest.raises(InputError, match="name the classes dog, cat but the prediction columns cat, dog"):
        read_cls_tables(pred, table("y_dog,y_cat\n0,1\n1,0\n"))


# -- the defaults ------------------------------------------------------------------------------------------------


def test_one_file_defaults_pick_the_id_the_target_and_the_rest_and_one_note_says_so():
    t = read_cls_tables(table(SCORES), None)
    assert t.config["columns"] == {"id": "id", "pred": ["p_cat", "p_dog", "p_bird"], "target": ["label"],
                                   "weights": None, "header": {"pred": True, "target": True}}
    assert t.sample_names == ("a1", "a2", "a3") and t.config["paired_by"] == "row order"
    assert spell(t.notes[0]) == ("<stdin>: read the column 'id' as the sample ids, the column 'label' as the target "
                                 "and the other 3 columns (p_cat:p_bird) as the predictions, by the default rules; "
                                 "choose with id_column, target_column, pred_columns")


def test_an_unnamed_first_column_is_the_id_as_pandas_writes_an_index():
    t = read_cls_tables(table(",0,1\n7,0.3,0.7\n9,0.6,0.4\n"), table(",y\n7,1\n9,0\n"))
    assert t.sample_names == ("7", "9") and t.config["columns"]["pred"] == ["0", "1"]


def test_two_files_without_a_choice_and_without_names_give_no_note():
    t = read_cls_tables(table("p0,p1\n0.3,0.7\n"), table("label\n1\n"))
    assert t.notes == () and t.sample_names is None and t.class_names == ("p0", "p1")


@pytest.mark.parametrize("text, fragment", [
    ("id,p_cat,p_dog\na,0.5,0.5\n", "has no column named label, target or y"),
    ("id,label,y,p\na,1,1,0.5\n", "has 2 columns that may be the target ('label', 'y')"),
])
def test_one_file_without_one_target_column_asks_for_target_column(text, fragment):
    with pytest.raises(InputError, match="target_column") as excinfo:
        read_cls_tables(table(text), None)
    assert fragment in str(excinfo.value)


def test_a_text_column_among_the_default_predictions_says_how_to_leave_it_out():
    with pytest.raises(InputError, match=r"row 2, column 1 \(name\) is not a number \('a'\); choose the "
                                         r"predictions' columns with pred_columns, or pass id_column='name'"):
        read_cls_tables(table("name,p0,p1\na,0.3,0.7\n"), table("y\n1\n"))


def test_the_target_cannot_also_be_a_prediction():
    with pytest.raises(UsageError, match=r"takes column 2 \(label\), which is the target; leave it out"):
        read_cls_tables(table("id,label,p_cat,p_dog\na1,0,0.7,0.3\n"), None,
                        choice=ColumnChoice(pred_columns="label:p_dog"))


# -- ids and pairing --------------------------------------------------------------------------------------------


def test_pairing_by_id_takes_any_order_and_keeps_the_prediction_files_order():
    target = table("id,label\na3,2\na1,0\na2,1\n")
    t = read_cls_tables(table(PRED), target, choice=ColumnChoice(id_column="id"))
    assert t.sample_names == ("a1", "a2", "a3") and t.config["paired_by"] == "id"
    np.testing.assert_array_equal(t.target, [0, 1, 2])
    np.testing.assert_array_equal(t.pred[:, 0], [0.7, 0.1, 0.3])


def test_ids_in_one_file_only_are_an_error_or_with_allow_missing_left_out():
    target = table("id,label\na3,2\na9,0\na1,0\n")
    with pytest.raises(PairingError) as excinfo:
        read_cls_tables(table(PRED), target, choice=ColumnChoice(id_column="id"))
    assert str(excinfo.value) == ("<stdin>: 1 prediction has no target in <stdin> (ids a2) and 1 target has no "
                                  "prediction in <stdin> (ids a9); add the missing rows, or pass "
                                  "allow_missing=True to evaluate only the 2 paired samples")
    t = read_cls_tables(table(PRED), target, choice=ColumnChoice(id_column="id", allow_missing=True))
    assert t.sample_names == ("a1", "a3") and t.missing_target == ("a2",) and t.missing_pred == ("a9",)
    np.testing.assert_array_equal(t.target, [0, 2])


@pytest.mark.parametrize("pred, target, fragment", [
    (PRED, "id,label\na1,0\na2,1\na1,0\n", "the id 'a1' appears twice (rows 2 and 4)"),
    (PRED.replace("a2,", ",", 1), "id,label\na1,0\na2,1\na3,0\n", "row 3 has no id"),
])
def test_a_duplicate_or_empty_id_is_an_error_naming_the_id_and_its_rows(pred, target, fragment):
    with pytest.raises(InputError) as excinfo:
        read_cls_tables(table(pred), table(target), choice=ColumnChoice(id_column="id"))
    assert fragment in str(excinfo.value)


def test_id_column_must_be_in_every_file():
    with pytest.raises(InputError, match="has no column 'id' \\(id_column\\); its columns: label"):
        read_cls_tables(table(PRED), table("label\n0\n1\n2\n"), choice=ColumnChoice(id_column="id"))
    array = Loaded(array=np.array([0, 1, 2]), path="t.npy", format="npy", mode=None, lossy=False)
    with pytest.raises(UsageError, match="t.npy: an array file has no columns, so no id column 'id'"):
        read_cls_tables(table(PRED), array, choice=ColumnChoice(id_column="id"))


def test_rows_by_order_must_agree_on_their_ids_when_both_files_have_them():
    with pytest.raises(InputError, match="sample 1 is id 'a1' here but 'a3' in <stdin>; rows pair by their order, "
                                         "pair them by id with id_column='id'"):
        read_cls_tables(table(PRED), table("id,label\na3,2\na1,0\na2,1\n"))
    same = read_cls_tables(table(PRED), table("id,label\na1,0\na2,1\na3,2\n"))
    assert same.config["paired_by"] == "row order" and same.sample_names == ("a1", "a2", "a3")
    assert "rows pair by their order, their ids checked to agree" in spell(same.notes[0])


def test_weights_pair_by_id_with_the_samples():
    weights = table("id,w\na2,2\na3,3\na1,1\n")
    t = read_cls_tables(table(PRED), table("id,label\na3,2\na1,0\na2,1\n"), weights,
                        ColumnChoice(id_column="id"))
    np.testing.assert_array_equal(t.weights, [1, 2, 3])
    assert t.config["columns"]["weights"] == ["w"]
    with pytest.raises(InputError, match="1 sample has no weight \\(ids a3\\)"):
        read_cls_tables(table(PRED), table("id,label\na3,2\na1,0\na2,1\n"), table("id,w\na2,2\na1,1\n"),
                        ColumnChoice(id_column="id"))
