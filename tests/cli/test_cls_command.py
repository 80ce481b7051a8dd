"""``lossctl cls`` run for real: files and standard input in every table format, per-sample rows, conventions,
logits, sample weights and gates, checked against values computed here with plain NumPy.

Its error paths are in tests/cli/test_cls_bad_input.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from support import run_subprocess, strict_json

from lossctl import registry


def _cls_reference(d):
    p, y = d["probs"], d["y"]
    return {"sparse_cce": float(-np.log(p[np.arange(d["n"]), y]).mean()),
            "accuracy": float((p.argmax(1) == y).mean())}


@pytest.mark.parametrize("pred_key, target_key", [
    ("probs_npy", "target_npy"),
    ("probs_csv", "target_csv"),
    ("probs_csv_noheader", "target_npy"),
    ("probs_tsv", "target_csv"),
])
def test_cls_reads_npy_csv_tsv(cli, cls_data, pred_key, target_key):
    r = cli("cls", cls_data[pred_key], cls_data[target_key], "-f", "json")
    assert r.code == 0, r
    doc = strict_json(r.out)
    assert {"lossctl", "command", "config", "images", "summary", "gates", "errors"} <= set(doc)
    assert doc["command"] == "cls" and doc["config"]["n_samples"] == cls_data["n"]
    assert doc["config"]["pred_kind"] == "probs" and doc["config"]["convention"] == "lossctl"
    assert doc["images"] == []  # no --per-sample
    ref = _cls_reference(cls_data)
    assert doc["summary"]["mean"]["sparse_cce"] == pytest.approx(ref["sparse_cce"], rel=1e-12)
    assert doc["summary"]["mean"]["accuracy"] == pytest.approx(ref["accuracy"])
    assert doc["summary"]["count"] == cls_data["n"]
    assert "evaluated 10 sample(s)" in r.err


def test_cls_stdin_npy_and_csv_in_process(cli, cls_data):
    ref = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json").json()["summary"]
    npy = cli("cls", "-", cls_data["target_npy"], "-f", "json", stdin=cls_data["probs_npy"].read_bytes())
    text = cli("cls", cls_data["probs_npy"], "-", "-f", "json", stdin=cls_data["target_csv"].read_bytes())
    assert npy.code == 0 and text.code == 0, (npy, text)
    assert npy.json()["config"]["pred"] == "-" and text.json()["config"]["target"] == "-"
    assert npy.json()["summary"] == ref
    assert text.json()["summary"] == ref


def test_cls_stdin_subprocess(cls_data):
    npy = run_subprocess("cls", "-", cls_data["target_npy"], "-f", "json", stdin=cls_data["probs_npy"].read_bytes())
    csv_text = run_subprocess("cls", "-", cls_data["target_npy"], "-f", "json",
                              stdin=cls_data["probs_csv"].read_bytes())
    for p in (npy, csv_text):
        assert p.returncode == 0, p.stderr
        assert b"Traceback" not in p.stderr
    a, b = json.loads(npy.stdout), json.loads(csv_text.stdout)
    ref = _cls_reference(cls_data)
    assert a["summary"]["mean"]["sparse_cce"] == pytest.approx(ref["sparse_cce"], rel=1e-12)
    assert b["summary"]["mean"]["sparse_cce"] == pytest.approx(ref["sparse_cce"], rel=1e-12)


@pytest.mark.parametrize("fmt", ["json", "csv", "ndjson", "markdown", "table"])
def test_cls_per_sample_adds_rows(cli, cls_data, fmt):
    n = cls_data["n"]
    base = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", fmt)
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", fmt, "--per-sample")
    assert base.code == r.code == 0, r
    if fmt == "json":
        images = r.json()["images"]
        assert [im["name"] for im in images] == [str(i) for i in range(n)]
        p, y = cls_data["probs"], cls_data["y"]
        assert [im["values"]["sparse_cce"] for im in images] == pytest.approx(
            (-np.log(p[np.arange(n), y])).tolist(), rel=1e-12)
    elif fmt == "csv":
        assert [row[0] for row in r.csv()[1:]].count("image") == n
        assert [row[0] for row in base.csv()[1:]].count("image") == 0
    elif fmt == "ndjson":
        assert [json.loads(x)["type"] for x in r.out.splitlines()].count("image") == n
        assert [json.loads(x)["type"] for x in base.out.splitlines()].count("image") == 0
    elif fmt == "markdown":
        assert [line.split("|")[1].strip() for line in r.out.splitlines()].count("image") == n
        assert [line.split("|")[1].strip() for line in base.out.splitlines()].count("image") == 0
    else:
        # a blank line, the title, the header and its rule, then n rows
        assert len(r.out.splitlines()) == len(base.out.splitlines()) + 4 + n


@pytest.mark.parametrize("convention", ["lossctl", "torch", "keras", "sklearn", "smp", "monai"])
def test_cls_convention_is_recorded(cli, cls_data, convention):
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "--convention", convention)
    assert r.code == 0, r
    doc = r.json()
    assert doc["config"]["convention"] == convention
    if convention in registry.get("cls", "accuracy").conventions:
        assert doc["summary"]["mean"]["accuracy"] == pytest.approx(_cls_reference(cls_data)["accuracy"])
    else:  # Keras, smp and MONAI define no classification metric here: said, not replaced
        assert "accuracy" not in doc["summary"]["mean"] and "accuracy" in doc["config"]["not_available"]
    if "sparse_cce" in doc["summary"]["mean"]:
        assert doc["summary"]["mean"]["sparse_cce"] == pytest.approx(_cls_reference(cls_data)["sparse_cce"],
                                                                     rel=1e-6)
    table = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "--convention", convention)
    if doc["summary"]["mean"]:  # (MONAI has no value of probabilities here: the table is one narrow column)
        assert f"convention {convention}" in table.out


def test_cls_logits_with_pred_kind_logits(cli, cls_data):
    r = cli("cls", cls_data["logits_npy"], cls_data["target_npy"], "-f", "json", "--pred-kind", "logits")
    assert r.code == 0, r
    assert r.json()["config"]["pred_kind"] == "logits"
    ref = _cls_reference(cls_data)
    assert r.json()["summary"]["mean"]["sparse_cce"] == pytest.approx(ref["sparse_cce"], rel=1e-9)


def test_cls_sample_weights(cli, cls_data, tmp_path):
    w = np.linspace(0.5, 2.0, cls_data["n"])
    wfile = tmp_path / "w.csv"
    np.savetxt(wfile, w, fmt="%.17g")
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "--weights", wfile,
            "-l", "sparse_cce")
    assert r.code == 0, r
    p, y = cls_data["probs"], cls_data["y"]
    nll = -np.log(p[np.arange(cls_data["n"]), y])
    assert r.json()["config"]["weights"] is True
    assert r.json()["summary"]["mean"]["sparse_cce"] == pytest.approx((w * nll).sum() / w.sum(), rel=1e-12)


def test_cls_gates(cli, cls_data):
    ok = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json",
             "-g", "sparse_cce<=10", "-g", "max(sparse_cce)<=100", "-g", "p50(sparse_cce)<=100")
    assert ok.code == 0, ok
    doc = ok.json()
    p, y = cls_data["probs"], cls_data["y"]
    nll = -np.log(p[np.arange(cls_data["n"]), y])
    values = [g["value"] for g in doc["gates"]]
    assert values == pytest.approx([nll.mean(), nll.max(), np.percentile(nll, 50)], rel=1e-12)
    bad = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json",
              "-g", "sparse_cce<=10", "-g", "accuracy>=0.99")
    assert bad.code == 1, bad
    gates = bad.json()["gates"]
    assert [g["passed"] for g in gates] == [True, False]
    assert gates[1]["value"] == pytest.approx(_cls_reference(cls_data)["accuracy"])
    assert "gates: 1 passed, 1 failed" in bad.err


@pytest.mark.parametrize("fmt", ["csv", "markdown"])
def test_cls_per_sample_keeps_the_metric_columns(cli, cls_data, fmt):
    base = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", fmt)
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", fmt, "--per-sample")
    assert base.code == r.code == 0, r
    header = r.out.splitlines()[0]
    assert header == base.out.splitlines()[0]
    for metric in ("accuracy", "precision", "recall", "f1"):
        assert metric in header


def test_comma_lists_and_names_in_any_case_are_the_repeated_flags(cli, cls_data):
    repeated = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-m", "accuracy", "-m", "f1:sklearn",
                   "-l", "cce", "-f", "json")
    listed = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-m", "Accuracy,F1:SKLearn", "-l", "CCE",
                 "-f", "json")
    assert repeated.code == listed.code == 0, listed
    assert listed.out == repeated.out
