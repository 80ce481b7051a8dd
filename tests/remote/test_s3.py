"""Reading and writing S3 URLs against a local moto server (tests/remote/conftest.py): folders, patterns, lists of
pairs, volumes, ``-o``/``--write``/``--baseline``/``--report`` to URLs, the same report as from disk, and the
one-line refusals (a missing bucket, credentials the store refuses, an append to an object store).

All S3 tests are in this one file: pytest-xdist (``--dist loadfile``) runs a file in one worker, so the moto
server is started once."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support import assert_no_traceback, make_seg_set, write_list


@pytest.fixture
def store(s3_endpoint):
    """A fresh bucket: (s3fs filesystem, bucket name, the storage option that reaches the server)."""
    import s3fs

    fs = s3fs.S3FileSystem(endpoint_url=s3_endpoint, use_listings_cache=False)
    bucket = f"lossctl-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    return fs, bucket, f"endpoint_url={s3_endpoint}"


def _upload(fs, local: Path, remote: str) -> None:
    for path in sorted(local.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{remote}/{path.relative_to(local).as_posix()}", path.read_bytes())


def _as_local(doc: dict, url_prefix: str, local_prefix: str) -> dict:
    """The report with the URL prefix written as the local one (what may differ between the two runs)."""
    text = json.dumps(doc).replace(url_prefix, local_prefix)
    out = json.loads(text)
    out["config"].pop("storage_options", None)
    return out


@pytest.fixture
def data(tmp_path):
    """The standard set plus a pair whose prediction is not an array (an error row)."""
    s = make_seg_set(tmp_path / "data")
    (s.pred / "broken.npy").write_bytes(b"not an array")
    (s.gt / "broken.png").write_bytes((s.gt / "a.png").read_bytes())
    return s


@pytest.fixture
def clean(tmp_path):
    """The standard set, every pair readable."""
    return make_seg_set(tmp_path / "clean")


def test_folders_give_the_report_of_the_same_files_on_disk(cli, store, data, monkeypatch):
    fs, bucket, option = store
    _upload(fs, data.root, f"{bucket}/data")
    monkeypatch.chdir(data.root.parent)
    local = cli("seg", "data/pred", "data/gt", "-f", "json", "-g", "dice>=0.1")
    remote = cli("seg", f"s3://{bucket}/data/pred", f"s3://{bucket}/data/gt", "-f", "json", "-g", "dice>=0.1",
                 "--storage-option", option)
    assert local.code == remote.code == 3  # the broken pair is an error row in both
    doc = remote.json()
    assert doc["config"]["pred"] == f"s3://{bucket}/data/pred"
    assert doc["images"][0]["pred"].startswith(f"s3://{bucket}/data/pred/")
    assert doc["errors"][0]["file"] == f"s3://{bucket}/data/pred/broken.npy"
    assert doc["config"]["storage_options"] == {"endpoint_url": option.split("=", 1)[1]}
    assert "storage_options" not in doc["config"]["options"]  # an execution option: merge does not compare it
    assert _as_local(doc, f"s3://{bucket}/data", "data") == local.json()
    assert remote.err.replace(f"s3://{bucket}/data", "data") == local.err


def test_patterns_and_output_to_a_url(cli, store, data):
    fs, bucket, option = store
    _upload(fs, data.pred, f"{bucket}/p")
    for name in data.names:
        fs.pipe_file(f"{bucket}/g/{name}_mask.png", (data.gt / f"{name}.png").read_bytes())
    fs.pipe_file(f"{bucket}/out/report.json", b"the previous report")
    r = cli("seg", f"s3://{bucket}/p", f"s3://{bucket}/g", "--gt-pattern", "{name}_mask.png", "-f", "json",
            "-o", f"s3://{bucket}/out/report.json", "--write", f"csv=s3://{bucket}/out/images.csv",
            "--storage-option", option)
    assert r.code == 3 and r.out == ""  # p/broken.npy has no ground truth under the pattern: missing, exit 3
    r = cli("seg", f"s3://{bucket}/p", f"s3://{bucket}/g", "--gt-pattern", "{name}_mask.png", "-f", "json",
            "-o", f"s3://{bucket}/out/report.json", "--write", f"csv=s3://{bucket}/out/images.csv",
            "--storage-option", option, "--allow-missing")
    assert r.code == 0, r.err
    doc = json.loads(fs.cat_file(f"{bucket}/out/report.json"))
    assert [i["name"] for i in doc["images"]] == data.names
    assert doc["images"][0]["gt"] == f"s3://{bucket}/g/a_mask.png"
    assert fs.cat_file(f"{bucket}/out/images.csv").decode().startswith("row,name,")
    assert sorted(fs.ls(f"{bucket}/out")) == [f"{bucket}/out/images.csv", f"{bucket}/out/report.json"]


def test_a_list_of_pairs_in_the_store_with_a_baseline_there(cli, store, data):
    fs, bucket, option = store
    _upload(fs, data.root, f"{bucket}/data")
    rows = ["pred,gt"] + [f"pred/{n}.npy,gt/{n}.png" for n in data.names[:2]]
    rows.append(f"s3://{bucket}/data/pred/c.npy,s3://{bucket}/data/gt/c.png")  # a URL in a list
    fs.pipe_file(f"{bucket}/data/pairs.csv", "".join(r + "\n" for r in rows).encode())
    first = cli("seg", "--pairs", f"s3://{bucket}/data/pairs.csv", "-f", "json", "--storage-option", option,
                "-o", f"s3://{bucket}/base.json")
    assert first.code == 0, first.err
    base = json.loads(fs.cat_file(f"{bucket}/base.json"))
    assert [i["gt"] for i in base["images"]] == [f"s3://{bucket}/data/gt/{n}.png" for n in data.names]
    again = cli("seg", "--pairs", f"s3://{bucket}/data/pairs.csv", "-f", "json", "--storage-option", option,
                "--baseline", f"s3://{bucket}/base.json", "-g", "delta(dice)>=0")
    assert again.code == 0, again.err
    assert again.json()["gates"][0]["passed"] is True


def test_volumes_in_the_store_read_as_on_disk(cli, store, tmp_path, monkeypatch):
    import nibabel

    fs, bucket, option = store
    rng = np.random.default_rng(5)
    for side in ("pred", "gt"):
        (tmp_path / side).mkdir()
        labels = rng.integers(0, 3, (6, 7, 5)).astype(np.uint8)
        nibabel.save(nibabel.Nifti1Image(labels, np.diag([0.5, 0.7, 2.0, 1.0])), tmp_path / side / "v.nii.gz")
        header = ("ObjectType = Image\nNDims = 3\nDimSize = 5 7 6\nElementSpacing = 1 1 3\n"
                  "ElementType = MET_UCHAR\nElementDataFile = m.raw\n")
        (tmp_path / side / "m.mhd").write_text(header)
        (tmp_path / side / "m.raw").write_bytes(labels.tobytes())
        _upload(fs, tmp_path / side, f"{bucket}/{side}")
    monkeypatch.chdir(tmp_path)
    local = cli("seg", "pred", "gt", "-f", "json", "-m", "dice,hd95")
    remote = cli("seg", f"s3://{bucket}/pred", f"s3://{bucket}/gt", "-f", "json", "-m", "dice,hd95",
                 "--storage-option", option)
    assert local.code == remote.code == 0, remote.err
    assert _as_local(remote.json(), f"s3://{bucket}/", "") == local.json()


def test_an_interrupted_write_leaves_the_previous_object(cli, store, data, monkeypatch):
    from lossctl.report import WRITERS

    fs, bucket, option = store
    fs.pipe_file(f"{bucket}/report.json", b"previous")
    original = WRITERS["json"]

    def interrupted(document, stream, **kwargs):  # half a report, then Ctrl-C
        stream.write("{")
        raise KeyboardInterrupt

    monkeypatch.setitem(WRITERS, "json", interrupted)
    r = cli("seg", data.pred, data.gt, "-f", "json", "-o", f"s3://{bucket}/report.json", "--storage-option",
            option)
    assert r.code == 130
    assert fs.cat_file(f"{bucket}/report.json") == b"previous"
    assert fs.ls(bucket) == [f"{bucket}/report.json"]  # no temporary object
    assert original is not interrupted


def test_the_html_report_to_a_url(cli, store, clean):
    fs, bucket, option = store
    r = cli("seg", clean.pred, clean.gt, "--report", f"s3://{bucket}/html", "--storage-option", option)
    assert r.code == 0, r.err
    assert fs.cat_file(f"{bucket}/html/index.html").startswith(b"<!DOCTYPE html>")


def test_github_summary_cannot_be_appended_to_an_object(cli, store, clean):
    fs, bucket, option = store
    r = cli("seg", clean.pred, clean.gt, "--write", f"github=s3://{bucket}/summary.md", "--storage-option", option)
    assert r.code == 2
    assert r.err.count("\n") == 1 and "cannot be appended" in r.err and f"s3://{bucket}/summary.md" in r.err


def test_a_missing_bucket_is_one_line_naming_the_url(cli, store, data):
    _fs, _bucket, option = store
    r = cli("seg", "s3://no-such-bucket-here/pred", "s3://no-such-bucket-here/gt", "--storage-option", option)
    assert r.code == 3
    assert_no_traceback(r)
    assert r.err.count("\n") == 1 and r.err.startswith("error: s3://no-such-bucket-here/pred:")
    r = cli("seg", data.pred, data.gt, "-o", "s3://no-such-bucket-here/r.json", "--storage-option", option)
    assert r.code == 3 and r.err.count("\n") == 1 and "s3://no-such-bucket-here/r.json" in r.err
    assert "bucket no-such-bucket-here does not exist" in r.err


def test_credentials_the_store_refuses_are_one_line_naming_the_url(cli, store, data, iam_mode):
    _fs, bucket, option = store
    r = cli("seg", f"s3://{bucket}/pred", f"s3://{bucket}/gt", "--storage-option", option)
    assert r.code == 3
    assert_no_traceback(r)
    assert r.err.count("\n") == 1 and r.err.startswith(f"error: s3://{bucket}/pred: the store refused access")


def test_secrets_among_the_storage_options_are_redacted(cli, store, clean):
    fs, bucket, option = store
    _upload(fs, clean.root, f"{bucket}/data")
    r = cli("seg", f"s3://{bucket}/data/labels", f"s3://{bucket}/data/gt", "-f", "json", "--storage-option", option,
            "--storage-option", "key=testing", "--storage-option", "secret=testing")
    assert r.code == 0, r.err
    recorded = r.json()["config"]["storage_options"]
    assert recorded["key"] == recorded["secret"] == "***" and "testing" not in json.dumps(r.json())


def test_worker_processes_open_the_urls_with_the_runs_options(cli, store, clean):
    fs, bucket, option = store
    _upload(fs, clean.root, f"{bucket}/data")
    one = cli("seg", f"s3://{bucket}/data/labels", f"s3://{bucket}/data/gt", "-f", "json", "--storage-option", option)
    two = cli("seg", f"s3://{bucket}/data/labels", f"s3://{bucket}/data/gt", "-f", "json", "--storage-option", option,
              "--workers", "2")
    assert one.code == two.code == 0, two.err
    assert one.json()["images"] == two.json()["images"]


def test_a_list_naming_an_absent_object_skips_it_with_allow_missing(cli, store, clean, tmp_path):
    fs, bucket, option = store
    _upload(fs, clean.root, f"{bucket}/data")
    listed = write_list(tmp_path / "pairs.csv", [f"s3://{bucket}/data/labels/{n}.png,s3://{bucket}/data/gt/{n}.png"
                                                 for n in [*clean.names, "gone"]])
    r = cli("seg", "--pairs", listed, "-f", "json", "--storage-option", option, "--allow-missing")
    assert r.code == 0, r.err
    skipped = r.json()["skipped"]
    assert skipped["missing_gt"] + skipped["missing_pred"] == [f"s3://{bucket}/data/gt/gone"]


def test_shards_written_to_the_store_merge_and_compare_from_there(cli, store, clean):
    fs, bucket, option = store
    _upload(fs, clean.root, f"{bucket}/data")
    src = (f"s3://{bucket}/data/labels", f"s3://{bucket}/data/gt")
    for k in (1, 2):
        r = cli("seg", *src, "-f", "json", "--shard", f"{k}/2", "-o", f"s3://{bucket}/part-{k}.json",
                "--storage-option", option)
        assert r.code == 0, r.err
    whole = cli("seg", *src, "-f", "json", "--storage-option", option)
    merged = cli("merge", f"s3://{bucket}/part-1.json", f"s3://{bucket}/part-2.json", "--expect", "2", "-f",
                 "json", "--storage-option", option, "-o", f"s3://{bucket}/merged.json")
    assert merged.code == 0, merged.err
    assert fs.cat_file(f"{bucket}/merged.json").decode() == whole.out  # byte for byte, as from disk
    compared = cli("compare", f"s3://{bucket}/part-1.json", f"s3://{bucket}/merged.json", "-f", "json",
                   "--storage-option", option)
    assert compared.code == 0, compared.err


def test_cls_reads_its_tables_from_the_store(cli, store, cls_data):
    fs, bucket, option = store
    for name in ("probs_csv", "target_npy"):
        fs.pipe_file(f"{bucket}/cls/{cls_data[name].name}", cls_data[name].read_bytes())
    plain = cli("cls", cls_data["probs_csv"], cls_data["target_npy"], "-f", "json")
    remote = cli("cls", f"s3://{bucket}/cls/probs.csv", f"s3://{bucket}/cls/target.npy", "-f", "json",
                 "--storage-option", option, "--storage-option", "key=testing", "--storage-option", "secret=testing")
    assert plain.code == remote.code == 0, remote.err
    assert remote.json()["summary"] == plain.json()["summary"]
    assert remote.json()["config"]["storage_options"]["secret"] == "***"


def test_the_python_api_reads_urls_with_its_storage_options(store, clean):
    import lossctl

    fs, bucket, option = store
    _upload(fs, clean.root, f"{bucket}/data")
    remote = lossctl.evaluate(f"s3://{bucket}/data/labels", f"s3://{bucket}/data/gt", workers=1,
                              storage_options={"endpoint_url": option.split("=", 1)[1]})
    local = lossctl.evaluate(clean.labels, clean.gt, workers=1)
    assert remote["config"]["pred"] == f"s3://{bucket}/data/labels"
    assert remote["summary"] == local["summary"]


def test_a_pair_beyond_the_memory_budget_is_refused_from_its_headers_as_on_disk(cli, store, tmp_path, monkeypatch):
    """The pair estimate reads the two headers through ranged reads: the same refusal line as for local files."""
    fs, bucket, option = store
    rng = np.random.default_rng(3)
    for side in ("pred", "gt"):
        (tmp_path / side).mkdir()
    np.save(tmp_path / "pred" / "big.npy", rng.random((4, 1024, 1024), dtype=np.float32))
    Image.fromarray(rng.integers(0, 4, (1024, 1024), dtype=np.uint8)).save(tmp_path / "gt" / "big.png")
    for side in ("pred", "gt"):
        _upload(fs, tmp_path / side, f"{bucket}/{side}")
    monkeypatch.chdir(tmp_path)
    args = ("-f", "json", "-m", "dice,hd95", "--max-memory", "64M")
    local = cli("seg", "pred", "gt", *args)
    remote = cli("seg", f"s3://{bucket}/pred", f"s3://{bucket}/gt", *args, "--storage-option", option)
    assert local.code == remote.code == 3, remote.err
    assert "memory budget" in local.err
    assert remote.err.replace(f"s3://{bucket}/", "") == local.err
