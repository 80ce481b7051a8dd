"""CI features: `lossctl compare`, baseline gates (`--baseline`), `--write FORMAT=PATH`, the junit / github /
openmetrics writers (parsed with junitparser and prometheus_client's OpenMetrics parser), GitHub workflow
commands, and the progress display."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pytest
from support import C, confusion, dice_per_class, make_seg_set, nanmean, write_cls_inputs, write_label_png  # noqa: F401

from lossctl.engine import compare
from lossctl.report import ci as ci_formats
from lossctl.errors import InputError, UsageError
from lossctl.engine.gates import parse_gate, unique_gates

CLASSES = "bg,road,car"


# ----------------------------------------------------------------------------------------------------------
# Fixtures: a baseline run and a new run that is worse on image "b" only
# ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def runs(tmp_path, cli):
    s = make_seg_set(tmp_path / "data")
    worse = tmp_path / "data" / "worse"
    preds = {}
    for name in s.names:
        pred = s.label_pred(name).copy()
        if name == "b":  # half of b's pixels become class 0
            pred.flat[::2] = 0
        preds[name] = pred
        write_label_png(worse / f"{name}.png", pred)
    out = tmp_path / "out"
    out.mkdir()
    base_json, new_json = out / "base.json", out / "new.json"
    assert cli("seg", s.labels, s.gt, "--class-names", CLASSES, "-f", "json", "-o", base_json).code == 0
    assert cli("seg", worse, s.gt, "--class-names", CLASSES, "-f", "json", "-o", new_json).code == 0
    return {"set": s, "worse": worse, "preds": preds, "base": base_json, "new": new_json, "out": out}


def _dice(gt, pred):
    return nanmean(dice_per_class(confusion(gt, pred, C)))


# ----------------------------------------------------------------------------------------------------------
# Gate grammar
# ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, against, stat, name, cls, margin", [
    ("delta(dice)>=-0.01", "delta", "mean", "dice", None, None),
    ("delta(pooled(iou[road])) >= -0.02", "delta", "pooled", "iou", "road", None),
    ("rel(dice)>=-0.02", "rel", "mean", "dice", None, None),
    ("rel(p05(dice[1]))>-0.1", "rel", "p05", "dice", "1", None),
    ("worse(dice,0.05)<=3", "worse", "image", "dice", None, 0.05),
    ("worse( ce [car] , 0 ) < 1", "worse", "image", "ce", "car", 0.0),
])
def test_baseline_gate_forms_parse(text, against, stat, name, cls, margin):
    g = parse_gate(text)
    assert (g.against, g.statistic, g.name, g.cls, g.margin) == (against, stat, name, cls, margin)


@pytest.mark.parametrize("text", ["delta(dice>=0", "worse(dice)<=3", "worse(dice,-0.1)<=3", "delta()>=0",
                                  "rel(dice,0.1)>=0", "worse(pooled(dice),0.1)<=1", "delta(dice)=>0"])
def test_malformed_baseline_gates_are_usage_errors(text):
    with pytest.raises(UsageError, match="malformed gate"):  # the Python API names the argument
        parse_gate(text)


def test_one_gate_whatever_its_spelling():
    gates = [parse_gate(t) for t in ("dice>=0.8", "mean(dice) >= 0.80", "delta(dice)>=0", "dice>=0.9")]
    assert [g.text for g in unique_gates(gates)] == ["dice>=0.8", "delta(dice)>=0", "dice>=0.9"]


# ----------------------------------------------------------------------------------------------------------
# compare: the numbers
# ----------------------------------------------------------------------------------------------------------


def _doc(command, rows, class_names=("0", "1")):
    """A minimal report document with per-image ``values`` (dict name -> list over rows, None = undefined)."""
    names = list(rows[0][1])
    images = [{"name": n, "values": v, "per_class": {}} for n, v in rows]
    mean = {k: nanmean([v[k] if v[k] is not None else math.nan for _, v in rows]) for k in names}
    return {"lossctl": "0.1.0", "schema": 1, "command": command,
            "config": {"class_names": list(class_names), "num_classes": len(class_names), "values": names},
            "images": images, "summary": {"count": len(rows), "mean": mean, "std": {}, "min": {}, "max": {},
                                          "pooled": {}, "per_class": {"mean": {}, "pooled": {}}},
            "gates": [], "errors": []}


def test_compare_hand_derived_deltas_direction_and_only_in():
    base = _doc("seg", [("a", {"dice": 0.8, "ce": 0.3}), ("b", {"dice": 0.6, "ce": 0.5}),
                        ("c", {"dice": 0.9, "ce": 0.2}), ("old", {"dice": 0.1, "ce": 0.9})])
    new = _doc("seg", [("a", {"dice": 0.7, "ce": 0.4}), ("b", {"dice": 0.65, "ce": 0.45}),
                       ("c", {"dice": 0.5, "ce": 0.1}), ("fresh", {"dice": 1.0, "ce": 0.0})])
    doc = compare.compare_reports(base, new, resamples=500, worst=10)
    dice = doc["values"]["dice"]
    assert dice["base"] == pytest.approx(0.6) and dice["new"] == pytest.approx(0.7125)
    assert dice["delta"] == pytest.approx(0.1125) and dice["rel"] == pytest.approx(0.1125 / 0.6)
    # dice: higher is better, so a and c got worse (c the most); b improved
    assert [(r["name"], round(r["delta"], 12)) for r in doc["worst"]["dice"]] == [("c", -0.4), ("a", -0.1)]
    # ce: lower is better, so only a got worse (0.3 -> 0.4)
    assert [r["name"] for r in doc["worst"]["ce"]] == ["a"]
    assert doc["only_in_base"] == ["old"] and doc["only_in_new"] == ["fresh"]
    lo, hi = dice["ci"]  # paired deltas -0.1, +0.05, -0.4: the interval lies within their range
    assert -0.4 - 1e-12 <= lo <= np.mean([-0.1, 0.05, -0.4]) <= hi <= 0.05 + 1e-12
    assert doc["config"]["paired"] == 3


def test_compare_worst_k_and_undefined_values():
    base = _doc("seg", [(f"i{k}", {"dice": 0.9}) for k in range(6)] + [("u", {"dice": None})])
    new = _doc("seg", [(f"i{k}", {"dice": 0.9 - 0.1 * k}) for k in range(6)] + [("u", {"dice": 0.5})])
    doc = compare.compare_reports(base, new, worst=2, resamples=10)
    assert [r["name"] for r in doc["worst"]["dice"]] == ["i5", "i4"]
    assert doc["values"]["dice"]["base"] == pytest.approx(0.9)  # the undefined image is left out of the mean


def test_bootstrap_matches_a_loop_over_resamples_and_is_chunked():
    d = np.random.default_rng(5).normal(size=37)
    got = compare.paired_bootstrap_ci(d, 300, seed=11)
    idx = np.random.default_rng(11).integers(0, d.size, size=(300, d.size))
    means = [d[row].mean() for row in idx]  # the reference: one resample at a time
    assert got == pytest.approx(list(np.percentile(means, [2.5, 97.5])), rel=1e-12)
    assert compare.paired_bootstrap_ci(d, 300, seed=11) == got  # deterministic
    assert compare.paired_bootstrap_ci(np.array([]), 300, seed=0) is None
    assert compare.paired_bootstrap_ci(np.array([0.25]), 300, seed=0) == [0.25, 0.25]


def test_bootstrap_memory_is_bounded_by_chunks(monkeypatch):
    """20,000 paired images x 2000 resamples would be 320 MB of indices at once; chunks keep it at 32 MiB."""
    seen = []
    real = np.random.default_rng

    class Spy:
        def __init__(self, seed):
            self.rng = real(seed)

        def integers(self, low, high, size):
            seen.append(size)
            return self.rng.integers(low, high, size=size)

    monkeypatch.setattr(np.random, "default_rng", Spy)
    ci = compare.paired_bootstrap_ci(np.linspace(-1, 1, 20_000), 2000, seed=0)
    assert len(seen) > 1 and all(r * n <= compare.BOOTSTRAP_CHUNK for r, n in seen)
    assert sum(r for r, _ in seen) == 2000 and ci[0] < 0 < ci[1]


def test_compare_cli_numbers_match_the_pictures(runs, cli):
    s = runs["set"]
    r = cli("compare", runs["base"], runs["new"], "-f", "json", "--worst", "1")
    assert r.code == 0, r
    doc = r.json()
    assert list(doc) == ["lossctl", "schema", "command", "config", "values", "pooled", "only_in_base",
                         "only_in_new", "worst", "gates"]
    assert set(doc["values"]["dice"]) == {"base", "new", "delta", "rel", "ci"}
    base = np.mean([_dice(s.gts[n], s.label_pred(n)) for n in s.names])
    new = np.mean([_dice(s.gts[n], runs["preds"][n]) for n in s.names])
    v = doc["values"]["dice"]
    assert v["base"] == pytest.approx(base, rel=1e-12) and v["new"] == pytest.approx(new, rel=1e-12)
    assert v["delta"] == pytest.approx(new - base, rel=1e-9)
    assert [w["name"] for w in doc["worst"]["dice"]] == ["b"]  # a and c did not change
    assert "dice[road]" in doc["values"] and "iou[car]" in doc["pooled"]


def test_compare_json_is_byte_identical_across_runs(runs, cli):
    outs = [cli("compare", runs["base"], runs["new"], "-f", "json", "--gate", "delta(dice)>=-1").out
            for _ in range(2)]
    assert outs[0] == outs[1] and outs[0]
    from support import run_subprocess
    fresh = run_subprocess("compare", runs["base"], runs["new"], "-f", "json", "--gate", "delta(dice)>=-1")
    assert fresh.stdout.decode() == outs[0]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv", "junit", "github", "openmetrics"])
def test_compare_every_format_renders(runs, cli, fmt):
    r = cli("compare", runs["base"], runs["new"], "-f", fmt, "--gate", "delta(dice)>=0")
    assert r.code == 1 and "dice" in r.out, r


def test_compare_gates_and_exit_codes(runs, cli):
    ok = cli("compare", runs["base"], runs["new"], "--gate", "delta(dice)>=-0.5", "--gate", "worse(dice,0.05)<=1",
             "--gate", "dice>=0.1", "-f", "json")
    assert ok.code == 0, ok
    fail = cli("compare", runs["base"], runs["new"], "--gate", "delta(pooled(iou[road]))>=0", "-f", "json")
    assert fail.code == 1 and fail.json()["gates"][0]["passed"] is False
    assert "gates: 0 passed, 1 failed" in fail.err


# ----------------------------------------------------------------------------------------------------------
# Bad baselines: each a row
# ----------------------------------------------------------------------------------------------------------


def _rewrite(path: Path, target: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    target.write_text(json.dumps(doc))
    return target


def test_baseline_of_another_schema_version_exits_3(runs, cli):
    other = _rewrite(runs["base"], runs["out"] / "v9.json", lambda d: d.update(schema=9))
    for args in (["compare", other, runs["new"]], ["seg", runs["worse"], runs["set"].gt, "--baseline", other]):
        r = cli(*args)
        assert r.code == 3 and "schema version 9" in r.err and "regenerate" in r.err, r


def test_cls_baseline_for_seg_exits_2(runs, cli, tmp_path):
    c = write_cls_inputs(tmp_path / "cls")
    cls_json = runs["out"] / "cls.json"
    assert cli("cls", c["probs_npy"], c["target_npy"], "-f", "json", "-o", cls_json).code == 0
    r = cli("compare", cls_json, runs["new"])
    assert r.code == 2 and "same command" in r.err, r
    r = cli("seg", runs["worse"], runs["set"].gt, "--baseline", cls_json)
    assert r.code == 2 and "lossctl cls" in r.err, r


def test_baseline_with_other_class_names_exits_2(runs, cli):
    other = _rewrite(runs["base"], runs["out"] / "names.json",
                     lambda d: d["config"].update(class_names=["bg", "lane", "car"]))
    r = cli("compare", other, runs["new"])
    assert r.code == 2 and "classes" in r.err and "lane" in r.err, r
    r = cli("seg", runs["worse"], runs["set"].gt, "--class-names", CLASSES, "--baseline", other,
            "--gate", "delta(dice)>=-1")
    assert r.code == 2 and "same classes" in r.err, r


def test_nan_in_the_baseline_exits_3(runs, cli):
    text = runs["base"].read_text().replace('"dice": 0.', '"dice": NaN, "x": 0.', 1)
    bad = runs["out"] / "nan.json"
    bad.write_text(text)
    r = cli("compare", bad, runs["new"])
    assert r.code == 3 and "nan.json" in r.err and "NaN" in r.err and "Traceback" not in r.err, r


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", '{"command": "merge"}'])
def test_unreadable_baseline_exits_3(runs, cli, content):
    path = runs["out"] / "bad.json"
    if content is not None:
        path.write_text(content)
    r = cli("seg", runs["worse"], runs["set"].gt, "--baseline", path, "--gate", "delta(dice)>=0")
    assert r.code == 3 and "bad.json" in r.err and len(r.error_lines()) == 1, r


@pytest.mark.parametrize("edit", [
    lambda d: d["summary"]["mean"].update(dice="high"),
    lambda d: d["images"][0]["values"].update(dice=[1]),
    lambda d: d["images"][1].pop("name"),
    lambda d: d["summary"]["per_class"]["pooled"].update(dice=0.5),
    lambda d: d["summary"].update(pooled=None),
])
def test_damaged_baseline_exits_3_without_a_traceback(runs, cli, edit):
    bad = _rewrite(runs["base"], runs["out"] / "damaged.json", edit)
    r = cli("compare", bad, runs["new"], "--gate", "worse(dice,0)<=3")
    assert r.code == 3 and "damaged.json" in r.err and "damaged" in r.err and "Traceback" not in r.err, r


def test_load_report_names_the_file(tmp_path):
    with pytest.raises(InputError, match="missing.json"):
        compare.load_report(tmp_path / "missing.json")


# ----------------------------------------------------------------------------------------------------------
# seg / cls --baseline
# ----------------------------------------------------------------------------------------------------------


def test_seg_baseline_gates(runs, cli):
    s = runs["set"]
    r = cli("seg", runs["worse"], s.gt, "--class-names", CLASSES, "--baseline", runs["base"], "-f", "json",
            "--gate", "delta(dice)>=-0.01", "--gate", "dice>=0.1", "--gate", "worse(dice,0.05)<=0",
            "--gate", "rel(dice)>=-0.5", "--gate", "delta(pooled(iou[road]))>=-1")
    doc = r.json()
    assert r.code == 1, r
    gates = {g["gate"]: g for g in doc["gates"]}
    assert list(gates) == ["delta(dice)>=-0.01", "dice>=0.1", "worse(dice,0.05)<=0", "rel(dice)>=-0.5",
                           "delta(pooled(iou[road]))>=-1"]  # the order given
    base = np.mean([_dice(s.gts[n], s.label_pred(n)) for n in s.names])
    new = np.mean([_dice(s.gts[n], runs["preds"][n]) for n in s.names])
    assert gates["delta(dice)>=-0.01"]["value"] == pytest.approx(new - base, rel=1e-9)
    assert gates["delta(dice)>=-0.01"]["base"] == pytest.approx(base, rel=1e-12)
    assert gates["delta(dice)>=-0.01"]["passed"] is False
    assert gates["worse(dice,0.05)<=0"]["value"] == 1 and gates["worse(dice,0.05)<=0"]["paired"] == 3
    assert gates["rel(dice)>=-0.5"]["value"] == pytest.approx((new - base) / base, rel=1e-9)
    assert doc["config"]["baseline"] == str(runs["base"]) and doc["config"]["gates"] == ["dice>=0.1"]


def test_worse_follows_the_direction_of_a_loss(tmp_path, cli):
    s = make_seg_set(tmp_path / "d")
    base, new = tmp_path / "base.json", tmp_path / "new.json"
    assert cli("seg", s.pred, s.gt, "-f", "json", "-o", base, "-l", "ce").code == 0
    sharper = tmp_path / "sharper"  # probabilities moved toward the truth: every ce goes down
    for n in s.names:
        onehot = np.eye(C, dtype=np.float32)[s.gts[n]].transpose(2, 0, 1)
        from support import write_npy
        write_npy(sharper / f"{n}.npy", (0.5 * s.probs[n] + 0.5 * onehot).astype(np.float32))
    assert cli("seg", sharper, s.gt, "-f", "json", "-o", new, "-l", "ce").code == 0
    better = cli("compare", base, new, "--gate", "worse(ce,0)<=0", "--gate", "delta(ce)<=0", "-f", "json")
    assert better.code == 0 and better.json()["worst"]["ce"] == [], better
    reverse = cli("compare", new, base, "--gate", "worse(ce,0)<=0", "-f", "json")
    assert reverse.code == 1 and reverse.json()["gates"][0]["value"] == 3
    assert [w["delta"] > 0 for w in reverse.json()["worst"]["ce"]] == [True] * 3


def test_baseline_gate_on_a_value_the_baseline_lacks_is_a_usage_error(runs, cli):
    s = runs["set"]  # the baseline holds label predictions: no losses
    r = cli("seg", s.pred, s.gt, "--class-names", CLASSES, "--baseline", runs["base"], "--gate", "delta(ce)<=0")
    assert r.code == 2 and "the baseline report has no ce" in r.err, r


def test_baseline_gate_without_baseline_is_a_usage_error(runs, cli):
    r = cli("seg", runs["worse"], runs["set"].gt, "--gate", "delta(dice)>=0")
    assert r.code == 2 and "--baseline" in r.err, r


def test_cls_baseline(tmp_path, cli):
    c = write_cls_inputs(tmp_path / "cls")
    base = tmp_path / "base.json"
    assert cli("cls", c["probs_npy"], c["target_npy"], "-f", "json", "-o", base).code == 0
    r = cli("cls", c["logits_npy"], c["target_npy"], "--pred-kind", "logits", "--baseline", base, "-f", "json",
            "--gate", "delta(sparse_cce)<=1e-9", "--gate", "delta(accuracy)>=0")
    assert r.code == 0, r
    assert abs(r.json()["gates"][0]["value"]) < 1e-9  # the same model, given as logits
    r = cli("cls", c["probs_npy"], c["target_npy"], "--baseline", base, "--gate", "worse(accuracy,0)<=0")
    assert r.code == 2 and "one value over all samples" in r.err, r
    r = cli("cls", c["probs_npy"], c["target_npy"], "--baseline", base, "--gate", "worse(sparse_cce,0)<=0")
    assert r.code == 2 and "--per-sample" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# --write
# ----------------------------------------------------------------------------------------------------------


def test_write_several_formats_atomically_and_github_appends(runs, cli):
    s, out = runs["set"], runs["out"]
    summary = out / "summary.md"
    summary.write_text("earlier step\n")
    args = ["seg", s.labels, s.gt, "-f", "json", "--write", f"json={out / 'r.json'}",
            "--write", f"junit={out / 'j.xml'}", "--write", f"github={summary}",
            "--write", f"openmetrics={out / 'm.txt'}", "--write", f"csv={out / 'r.csv'}", "--gate", "dice>=0"]
    r = cli(*args)
    assert r.code == 0, r
    assert (out / "r.json").read_text() == r.out
    assert cli(*args).code == 0
    text = summary.read_text()
    assert text.startswith("earlier step\n") and text.count("<!-- lossctl seg -->") == 2
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []  # no temporary files left


@pytest.mark.parametrize("make_args, message", [
    (lambda o: ["--write", f"json={o / 'missing' / 'r.json'}"], "does not exist"),
    (lambda o: ["--write", f"json={o / 'r.json'}", "--write", f"junit={o / 'r.json'}"], "same file"),
    (lambda o: ["-o", str(o / "r.json"), "--write", f"csv={o / 'r.json'}"], "same file"),
    (lambda o: ["--write", "yaml=x.yaml"], "malformed --write"),
    (lambda o: ["--write", "github="], "empty path"),
    (lambda o: ["--write", "json=-"], "stdout"),
])
def test_bad_write_options_are_usage_errors(runs, cli, make_args, message):
    s = runs["set"]
    r = cli("seg", s.labels, s.gt, *make_args(runs["out"]))
    assert r.code == 2 and message in r.err and r.out == "", r


def test_write_inside_an_input_is_refused(runs, cli):
    s = runs["set"]
    r = cli("seg", s.labels, s.gt, "--write", f"json={s.gt / 'r.json'}")
    assert r.code == 2 and "inside the input" in r.err, r


# ----------------------------------------------------------------------------------------------------------
# junit, openmetrics, github
# ----------------------------------------------------------------------------------------------------------


def test_junit_parses_with_a_junit_parser(tmp_path, runs, cli):
    from junitparser import Error, Failure, JUnitXml

    s = runs["set"]
    (s.labels / "broken.png").write_bytes(b"not a png")
    (s.gt / "broken.png").write_bytes(b"\x89PNG broken")
    junit = tmp_path / "j.xml"
    r = cli("seg", s.labels, s.gt, "--baseline", runs["base"], "--write", f"junit={junit}", "--class-names",
            CLASSES, "--gate", "dice>=0.99", "--gate", "delta(dice)>=-1", "--skip-errors")
    assert r.code == 1, r
    suites = JUnitXml.fromfile(str(junit))
    cases = {case.name: case for suite in suites for case in suite}
    assert set(cases) == {"dice>=0.99", "delta(dice)>=-1", "broken"}
    failure = cases["dice>=0.99"].result[0]
    assert isinstance(failure, Failure)
    assert "threshold >= 0.99" in failure.message and "value 0." in failure.message
    assert cases["delta(dice)>=-1"].is_passed
    baseline_fail = tmp_path / "j2.xml"
    assert cli("seg", runs["worse"], s.gt, "--baseline", runs["base"], "--write", f"junit={baseline_fail}",
               "--class-names", CLASSES, "--gate", "delta(dice)>=0", "--allow-missing").code == 1
    message = next(iter(next(iter(JUnitXml.fromfile(str(baseline_fail)))))).result[0].message
    assert "baseline 0." in message and "threshold >= 0" in message and "value -0." in message
    error = cases["broken"].result[0]
    assert isinstance(error, Error) and "broken.png" in error.message
    suite = next(iter(suites))
    assert (suite.tests, suite.failures, suite.errors) == (3, 1, 1)


def _families(text):
    from prometheus_client.openmetrics.parser import text_string_to_metric_families

    return {f.name: f for f in text_string_to_metric_families(text)}


def test_openmetrics_parses_with_prometheus_client(runs, cli):
    s = runs["set"]
    r = cli("seg", s.labels, s.gt, "--class-names", CLASSES, "-f", "openmetrics", "--gate", "dice>=0.99")
    assert r.out.endswith("# EOF\n")
    fams = _families(r.out)
    base = json.loads(runs["base"].read_text())
    samples = {(x.name, tuple(sorted(x.labels.items()))): x.value for x in fams["lossctl_dice"].samples}
    assert fams["lossctl_dice"].type == "gauge"
    assert samples[("lossctl_dice", (("stat", "mean"),))] == base["summary"]["mean"]["dice"]
    road = base["summary"]["per_class"]["pooled"]["dice"][1]
    assert samples[("lossctl_dice", (("class", "road"), ("stat", "pooled")))] == road
    gate = fams["lossctl_gate_passed"].samples[0]
    assert gate.labels == {"gate": "dice>=0.99"} and gate.value == 0
    assert fams["lossctl_images"].samples[0].value == 3


def test_openmetrics_of_cls_and_compare(runs, cli, tmp_path):
    c = write_cls_inputs(tmp_path / "cls")
    fams = _families(cli("cls", c["probs_npy"], c["target_npy"], "-f", "openmetrics").out)
    assert "lossctl_sparse_cce" in fams and "lossctl_samples" in fams
    fams = _families(cli("compare", runs["base"], runs["new"], "-f", "openmetrics").out)
    delta = {tuple(sorted(x.labels.items())): x.value for x in fams["lossctl_dice_delta"].samples}
    doc = cli("compare", runs["base"], runs["new"], "-f", "json").json()
    assert delta[(("stat", "mean"),)] == doc["values"]["dice"]["delta"]
    assert {x.labels["bound"] for x in fams["lossctl_dice_delta_ci"].samples} == {"low", "high"}


def _big_document(n):
    rows = [{"name": f"case_{i:05d}_with_a_rather_long_descriptive_file_name", "values": {
        "dice": (i % 97) / 97, "iou": (i % 89) / 89, "precision": 0.5, "recall": 0.25, "accuracy": 0.75},
        "per_class": {}, "notes": []} for i in range(n)]
    stats = {k: {"dice": 0.5, "iou": 0.4, "precision": 0.5, "recall": 0.25, "accuracy": 0.75}
             for k in ("mean", "std", "min", "max", "pooled")}
    return {"lossctl": "0.1.0", "schema": 1, "command": "seg",
            "config": {"pred": "p", "gt": "g", "num_classes": 2, "class_names": ["0", "1"]},
            "images": rows, "summary": {"count": n, **stats, "per_class": {"mean": {}, "pooled": {}}},
            "gates": [{"gate": "dice>=0.6", "statistic": "mean", "value": 0.5, "passed": False}],
            "errors": [{"name": f"bad{i}", "file": f"p/bad{i}.png", "error": "p/bad.png: broken"} for i in range(50)]}


def test_github_summary_stays_under_1_mib_on_20000_images():
    buffer = io.StringIO()
    ci_formats.write_github(_big_document(20_000), buffer, worst=10)
    text = buffer.getvalue()
    size = len(text.encode("utf-8"))
    assert size <= ci_formats.GITHUB_LIMIT
    assert size > 0.9 * ci_formats.GITHUB_LIMIT  # it fills the space rather than dropping everything
    assert "Rows cut:" in text and "of 20000 images shown" in text
    assert "the full table is in the JSON report (`write='json=PATH'`)" in text  # named as the CLI's setting
    assert "❌ 1 of 1 gate(s) failed" in text and "The 10 worst image(s)" in text
    assert text.count("\n| `case_") < 20_000


def test_github_summary_cap_holds_whatever_the_worst_k():
    buffer = io.StringIO()
    ci_formats.write_github(_big_document(20_000), buffer, worst=20_000)
    text = buffer.getvalue()
    assert len(text.encode("utf-8")) <= ci_formats.GITHUB_LIMIT and "_Cut here (" in text


def test_github_summary_keeps_every_row_when_it_fits():
    buffer = io.StringIO()
    ci_formats.write_github(_big_document(40), buffer)
    text = buffer.getvalue()
    assert "Rows cut" not in text and all(f"case_{i:05d}" in text for i in range(40))


def test_github_actions_error_commands_go_to_stderr(runs, cli):
    s = runs["set"]
    r = cli("seg", s.labels, s.gt, "-f", "json", "--gate", "dice>=0.99", "--gate", "dice>=0",
            env={"GITHUB_ACTIONS": "true"})
    assert r.code == 1
    json.loads(r.out)  # stdout stays machine output
    errors = [ln for ln in r.err.splitlines() if ln.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith("::error title=lossctl seg gate::dice>=0.99 failed: value ")
    quiet = cli("seg", s.labels, s.gt, "--gate", "dice>=0.99")
    assert "::error" not in quiet.err


def test_progress_shows_throughput_and_eta(monkeypatch):
    from lossctl.cli import seg as cli_module

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    fake = Terminal()
    monkeypatch.setattr("sys.stderr", fake)
    monkeypatch.setenv("COLUMNS", "160")
    with cli_module._progress(4) as advance:
        assert advance is not None
        for _ in range(4):
            advance(None)
    text = fake.getvalue()
    assert "pairs/s" in text and "eta" in text and "4/4" in text


def test_progress_on_a_real_terminal(tmp_path):
    """stderr on a pseudo-terminal: the bar shows done/total, pairs per second and the ETA; stdout stays data."""
    import os
    import pty
    import subprocess
    import sys

    s = make_seg_set(tmp_path / "d", names=tuple(f"im{i}" for i in range(6)))
    leader, follower = pty.openpty()
    env = {**os.environ, "COLUMNS": "150", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    chunks = []

    def drain():  # read the terminal while the run writes to it, so that it never blocks on a full buffer
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    import threading

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    done = subprocess.run([sys.executable, "-m", "lossctl", "seg", str(s.pred), str(s.gt), "-f", "json",
                           "--workers", "1"], stdout=subprocess.PIPE, stderr=follower, env=env, timeout=120,
                          check=False)
    os.close(follower)
    reader.join(timeout=10)
    os.close(leader)
    err = b"".join(chunks).decode("utf-8", "replace")
    assert done.returncode == 0 and json.loads(done.stdout)["summary"]["count"] == 6
    assert "pairs/s" in err and "eta" in err and "/6" in err, err[-2000:]


# ----------------------------------------------------------------------------------------------------------
# One ranking of the worst images: table, github, junit and the HTML report list the same ones
# ----------------------------------------------------------------------------------------------------------


def _github_worst(text):
    """(title, names) of the github summary's worst-images table."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("**The "))
    names = []
    for line in lines[start + 4:]:
        if not line.startswith("| `"):
            break
        names.append(line.split("`")[1])
    return lines[start], names


def test_cls_gated_metric_ranks_by_the_first_loss_everywhere(tmp_path, cli):
    """A cls metric has no per-sample values: every list ranks by the first loss the rows hold, not by the gated
    metric (which gave an empty github list), and the github rows carry no columns of dashes for metrics."""
    from lossctl.engine.document import worst_rows

    c = write_cls_inputs(tmp_path / "cls", n=12)
    args = ("cls", c["probs_npy"], c["target_npy"], "--per-sample", "-g", "accuracy>=0.99")
    doc = cli(*args, "-f", "json").json()
    first = next(n for n in doc["summary"]["mean"] if n in doc["images"][0]["values"])
    expected = [r["name"] for r in sorted(doc["images"], key=lambda r: -r["values"][first])[:3]]
    assert [r["name"] for r in worst_rows(doc, 3)] == expected
    github = cli(*args, "-f", "github", "--worst", "3").out
    title, names = _github_worst(github)
    assert title == f"**The 3 worst sample(s)** by `{first}` (highest first)" and names == expected
    assert "`accuracy`" not in github.split("<details>")[1]  # no per-sample accuracy column
    table = cli(*args, "--worst", "3").out
    assert f"the 3 worst of 12 samples by {first}, highest first" in table
    out = tmp_path / "r"
    cli(*args, "--report", out)
    assert "accuracy: 0 sample(s)" not in (out / "index.html").read_text()  # no empty histograms


def test_undefined_values_rank_last_and_ties_keep_the_document_order():
    from lossctl.engine.document import worst_rows

    rows = [("10", {"cce": 0.5}), ("2", {"cce": None}), ("3", {"cce": 0.5}), ("4", {"cce": 0.9})]
    doc = _doc("cls", rows)
    # cce: lower is better, so highest first; 10 and 3 tie (document order, not "10" < "3" by name)
    assert [r["name"] for r in worst_rows(doc, 4)] == ["4", "10", "3", "2"]
    assert [r["name"] for r in worst_rows(doc, 2, "cce")] == ["4", "10"]
    assert worst_rows(doc, 0) == [] and worst_rows({**doc, "images": []}, 3) == []
    gh = io.StringIO()
    ci_formats.write_github(doc, gh, worst=3)
    assert _github_worst(gh.getvalue())[1] == ["4", "10", "3"]


def test_junit_failure_names_the_worst_images_of_the_gated_value(runs, cli, tmp_path):
    from junitparser import JUnitXml

    s = runs["set"]
    junit = tmp_path / "j.xml"
    r = cli("seg", runs["worse"], s.gt, "--class-names", CLASSES, "--gate", "dice>=0.99", "--worst", "2",
            "--write", f"junit={junit}", "--report", tmp_path / "r")
    assert r.code == 1, r
    doc = cli("seg", runs["worse"], s.gt, "--class-names", CLASSES, "-f", "json").json()
    two = sorted(doc["images"], key=lambda im: im["values"]["dice"])[:2]
    failure = next(iter(next(iter(JUnitXml.fromfile(str(junit)))))).result[0]
    listed = ", ".join(f"{im['name']} ({im['values']['dice']:.4f})" for im in two)
    assert failure.text.splitlines()[1] == f"the 2 worst images by dice: {listed}"
    overlays = sorted(p.name for p in (tmp_path / "r").glob("worst_*.png"))
    assert overlays == [f"worst_{k:02d}_{im['name']}.png" for k, im in enumerate(two, start=1)]


def test_baseline_with_other_class_names_is_refused_before_any_work(runs, cli, tmp_path):
    """The run names its classes: a baseline with other names is refused before a file is read (it was refused
    only after the whole evaluation)."""
    r = cli("seg", tmp_path / "no-such-folder", runs["set"].gt, "--class-names", "bg,lane,car",
            "--baseline", runs["base"], "--gate", "delta(dice)>=-1")
    assert r.code == 2 and "same classes" in r.err and "bg, road, car" in r.err and "no-such-folder" not in r.err, r
    same = cli("seg", runs["worse"], runs["set"].gt, "--class-names", CLASSES, "--baseline", runs["base"],
               "--gate", "delta(dice)>=-1", "-f", "json")
    assert same.code == 0, same


def test_compare_and_seg_exit_through_every_writer_of_the_emit_path(runs, cli, tmp_path):
    """compare writes with its own writers (every format but ndjson), to stdout and to -o."""
    assert cli("compare", runs["base"], runs["new"], "-f", "ndjson").code == 2
    out = tmp_path / "c.csv"
    r = cli("compare", runs["base"], runs["new"], "-f", "csv", "-o", out)
    assert r.code == 0 and r.out == "" and out.read_text().startswith("section,value,image,")


@pytest.mark.parametrize("fmt", ["table", "github", "markdown"])
def test_no_interval_column_without_intervals(runs, cli, fmt, tmp_path):
    """--bootstrap 0 (and pooled values always) have no interval: no column of dashes, no title promising one."""
    r = cli("compare", runs["base"], runs["new"], "-f", fmt, "--bootstrap", "0", "--report", tmp_path / "r")
    assert r.code == 0 and "dice" in r.out, r
    assert "CI" not in r.out and "bootstrap" not in r.out
    assert "95% CI" not in (tmp_path / "r" / "index.html").read_text()
    with_ci = cli("compare", runs["base"], runs["new"], "-f", fmt)
    assert with_ci.out.count("95% CI") == 2  # the means' title and column; the pooled table has neither
