"""``file://`` URLs work everywhere a path does (read through fsspec's local filesystem, written as local files:
atomically, by rename), and give the report of the same paths written plainly, apart from their spelling."""

from __future__ import annotations

import json

from support import make_seg_set, write_list


def _url(path) -> str:
    return f"file://{path}"


def _plain(doc: dict, url_prefix: str) -> dict:
    return json.loads(json.dumps(doc).replace(url_prefix, ""))


def test_every_input_and_output_may_be_a_file_url(cli, tmp_path):
    s = make_seg_set(tmp_path / "data")
    (tmp_path / "names.txt").write_text("bg\nfg\nedge\n", encoding="utf-8")
    (tmp_path / "map.csv").write_text("from,to\n0,0\n1,1\n2,2\n", encoding="utf-8")
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {"bg": 0, "fg": 1, "edge": 2}}), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    local = cli("seg", s.pred, s.gt, "-f", "json", "--class-names", f"@{tmp_path}/names.txt",
                "--label-map", tmp_path / "map.csv", "-o", out / "base.json")
    assert local.code == 0, local.err
    args = ("--class-names", f"@{_url(tmp_path)}/names.txt", "--label-map", _url(tmp_path / "map.csv"),
            "--baseline", _url(out / "base.json"), "-g", "delta(dice)>=0")
    remote = cli("seg", _url(s.pred), _url(s.gt), "-f", "json", *args, "-o", _url(out / "run.json"),
                 "--write", f"csv={_url(out / 'run.csv')}", "--write", f"github={_url(out / 'summary.md')}",
                 "--report", _url(out / "html"))
    assert remote.code == 0, remote.err
    doc = json.loads((out / "run.json").read_text())
    assert doc["images"][0]["pred"] == _url(s.pred / "a.npy")
    again = cli("seg", s.pred, s.gt, "-f", "json", "--class-names", f"@{tmp_path}/names.txt", "--label-map",
                tmp_path / "map.csv", "--baseline", out / "base.json", "-g", "delta(dice)>=0")
    assert again.code == 0, again.err
    assert _plain(doc, "file://") == again.json()
    assert (out / "run.csv").read_text().startswith("row,name,")
    assert (out / "summary.md").read_text() and (out / "html" / "index.html").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["base.json", "html", "run.csv", "run.json", "summary.md"]
    described = cli("seg", _url(s.labels), _url(s.gt), "-f", "json", "--dataset-json",
                    _url(tmp_path / "dataset.json"))
    assert described.code == 0 and described.json()["config"]["class_names"] == ["bg", "fg", "edge"]


def test_a_list_of_pairs_given_as_a_file_url(cli, tmp_path):
    s = make_seg_set(tmp_path / "data")
    listed = write_list(tmp_path / "data" / "pairs.tsv", [f"labels/{n}.png\tgt/{n}.png" for n in s.names])
    plain = cli("seg", "--pairs", listed, "-f", "json")
    url = cli("seg", "--pairs", _url(listed), "-f", "json")
    assert plain.code == url.code == 0, url.err
    assert url.json()["images"][0]["gt"] == _url(s.gt / "a.png")
    assert _plain(url.json(), "file://")["images"] == plain.json()["images"]


def test_a_missing_file_url_is_the_missing_path_message(cli, tmp_path):
    r = cli("seg", _url(tmp_path / "nope"), _url(tmp_path / "gt"))
    assert r.code == 3 and r.err.count("\n") == 1 and r.err.startswith(f"error: {_url(tmp_path / 'nope')}:")


def test_cls_reads_tables_from_file_urls(cli, cls_data):
    pred, target = cls_data["probs_csv"], cls_data["target_csv"]
    plain = cli("cls", pred, target, "-f", "json")
    url = cli("cls", _url(pred), _url(target), "-f", "json")
    assert plain.code == url.code == 0, url.err
    assert url.json()["summary"] == plain.json()["summary"]
