"""lossctl.cli.output: where a report goes (stdout, ``-o``, ``--write FORMAT=PATH``, ``--report DIR``): the paths
refused before any work, one atomic write (what a failed replacement or an interrupt leaves), devices, pipes,
symbolic links, a full disk and a closed stdout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import assert_clean_error, make_seg_set

from lossctl.cli import output
from lossctl.errors import OutputError


def _json(document, handle, per_class=False):
    handle.write(f"{document}\n")


def test_a_failed_replacement_keeps_the_old_report_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "report.json"
    output.write_file({"run": 1}, _json, target, False)
    assert target.read_text() == "{'run': 1}\n"

    def refuse(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError):
        output.write_file({"run": 2}, _json, target, False)
    assert target.read_text() == "{'run': 1}\n" and sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_write_error_names_the_file_and_what_it_was(tmp_path: Path):
    missing = tmp_path / "gone" / "junit.xml"
    with pytest.raises(OutputError) as caught:
        output.write_extra({"gates": []}, [("json", missing)], False)
    assert str(caught.value).startswith(f"{missing}: cannot write the json report (")


# ----------------------------------------------------------------------------------------------------------
# Through the CLI: -o and the environment, refused destinations, devices, pipes, links, a full disk
# ----------------------------------------------------------------------------------------------------------


FORMATS = ("table", "json", "ndjson", "csv", "markdown")


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_file_holds_the_bytes_of_stdout(cli, seg, tmp_path, fmt):
    args = ("seg", seg.pred, seg.gt, "-f", fmt, "--per-class", "-g", "dice>=0")
    stdout = cli(*args)
    assert stdout.code == 0, stdout
    target = tmp_path / f"report.{fmt}"
    to_file = cli(*args, "--output", target)
    assert to_file.code == 0, to_file
    assert to_file.out == ""
    assert target.read_bytes() == stdout.out.encode("utf-8")
    dash = cli(*args, "-o", "-")
    assert dash.code == 0 and dash.out == stdout.out
    assert not list(tmp_path.glob(".report*"))  # no temporary file left behind


def test_format_and_output_from_the_environment(cli, seg, tmp_path):
    flag = cli("seg", seg.pred, seg.gt, "-f", "json")
    r = cli("seg", seg.pred, seg.gt, env={"LOSSCTL_FORMAT": "json"})
    assert r.code == 0 and r.out == flag.out, r
    target = tmp_path / "env.json"
    r = cli("seg", seg.pred, seg.gt, env={"LOSSCTL_FORMAT": "json", "LOSSCTL_OUTPUT": str(target)})
    assert r.code == 0 and r.out == "" and target.read_text(encoding="utf-8") == flag.out, r
    # the command line wins over the environment
    r = cli("seg", seg.pred, seg.gt, "-f", "csv", env={"LOSSCTL_FORMAT": "json"})
    assert r.csv()[0][:2] == ["row", "name"]


def test_output_inside_an_input_folder_is_refused(cli, seg):
    target = seg.gt / "report.json"
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", target)
    assert_clean_error(r, 2, "--output")
    assert not target.exists()
    nested = seg.pred / "sub" / "report.json"
    assert_clean_error(cli("seg", seg.pred, seg.gt, "-o", nested), 2, "--output")


def test_output_onto_an_input_file_or_a_folder_is_refused(cli, seg, tmp_path):
    pred, gt = seg.pred / "a.npy", seg.gt / "a.png"
    before = gt.read_bytes()
    assert_clean_error(cli("seg", pred, gt, "-f", "json", "-o", gt), 2, "--output")
    assert gt.read_bytes() == before
    assert_clean_error(cli("seg", pred, gt, "-o", tmp_path), 2, "directory")


def test_cls_output_onto_an_input_is_refused(cli, cls_data):
    before = cls_data["target_npy"].read_bytes()
    r = cli("cls", cls_data["probs_npy"], cls_data["target_npy"], "-f", "json", "-o", cls_data["target_npy"])
    assert_clean_error(r, 2, "--output")
    assert cls_data["target_npy"].read_bytes() == before


def test_output_in_a_missing_folder_is_a_clean_error(cli, seg, tmp_path):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", tmp_path / "no_such_dir" / "out.json")
    assert_clean_error(r, 2, "no_such_dir")


def test_a_failed_write_leaves_the_previous_report_intact(cli, seg, tmp_path, monkeypatch):
    out = tmp_path / "report.json"
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", out).code == 0
    before = out.read_bytes()

    def broken_writer(document, stream, *, per_class=False):
        stream.write('{"half": ')
        raise KeyboardInterrupt

    from lossctl import report

    monkeypatch.setitem(report.WRITERS, "json", broken_writer)
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", out).code == 130
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".report")) == []


def test_output_to_a_device_or_pipe_is_written_not_replaced(cli, seg, tmp_path):
    import stat
    import threading

    assert cli("seg", seg.pred, seg.gt, "-f", "csv", "-o", os.devnull).code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    assert cli("seg", seg.pred, seg.gt, "-f", "csv", "-o", fifo).code == 0
    reader.join(timeout=10)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and received and received[0].startswith(b"row,name")


def test_output_through_a_symlink_updates_the_target_and_keeps_the_link(cli, seg, tmp_path):
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    assert cli("seg", seg.pred, seg.gt, "-f", "json", "-o", link).code == 0
    assert link.is_symlink() and real.read_text().startswith("{")
    assert oct(real.stat().st_mode & 0o777) != oct(0o600)  # the umask decides, not mkstemp's private mode


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_is_an_output_error(cli, seg):
    r = cli("seg", seg.pred, seg.gt, "-f", "json", "-o", "/dev/full")
    assert r.code == 3 and "cannot write the report" in r.err and "Traceback" not in r.err


def test_a_closed_stdout_exits_141_quietly(seg):
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "lossctl", "seg", str(seg.pred), str(seg.gt), "-f", "ndjson"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader goes away before the report is written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141 and "Traceback" not in err


def test_output_to_dev_stdout_through_a_pipe(seg):
    import subprocess
    import sys

    out = subprocess.run(f"{sys.executable} -m lossctl seg {seg.pred} {seg.gt} -f csv -o /dev/stdout | cat",
                         shell=True, capture_output=True, text=True)
    assert out.stdout.startswith("row,name") and "Traceback" not in out.stderr


def test_a_stdout_closed_from_the_start(seg):
    import subprocess
    import sys

    out = subprocess.run(f"{sys.executable} -m lossctl seg {seg.pred} {seg.gt} -f csv >&-", shell=True,
                         capture_output=True, text=True)
    assert out.returncode == 141 and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------------------------------------
# --write FORMAT=PATH and --report DIR
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


def test_report_inside_an_input_is_refused(tmp_path, cli):
    s = make_seg_set(tmp_path / "data")
    for target in (s.gt / "report", s.pred, s.pred / "deeper" / "report"):
        r = cli("seg", s.pred, s.gt, "--report", target)
        assert r.code == 2 and "--report" in r.err and "input" in r.err, r
    assert not (s.gt / "report").exists()
