"""lossctl.report.ci: the junit / github / openmetrics writers (parsed with junitparser and prometheus_client's
OpenMetrics parser), the github summary's 1 MiB cap, and one ranking of the worst images that the table, github,
junit and the HTML report all list."""

from __future__ import annotations

import io
import json
import re

from support import CLASSES, minimal_document, write_cls_inputs

from lossctl.report import ci as ci_formats


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
    doc = minimal_document("cls", rows)
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
    page = (tmp_path / "r" / "index.html").read_text()
    assert re.findall(r"<h3>\d+\. <code>(\w+)</code>", page) == [im["name"] for im in two]  # the same worst two


def test_openmetrics_names_regions_by_their_names(cli):
    """A region's per-class gauges carry its name, as the classes' do (not its position in the vectors)."""
    from support import SAMPLE

    r = cli("seg", SAMPLE / "pred_labels", SAMPLE / "gt", "--class-names", "background,road,building,vegetation",
            "-m", "dice", "--region", "built=2,3", "-f", "openmetrics")
    assert r.code == 0, r
    labels = {line.split('class="', 1)[1].split('"', 1)[0] for line in r.out.splitlines() if 'class="' in line}
    assert labels == {"background", "road", "building", "vegetation", "built"}
