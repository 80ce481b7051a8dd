"""The store layer (lossctl.io.stores) without a store: URL paths, storage options and their redaction, the
retry rule, the one-line refusals (unknown protocol, missing backend, malformed option), and local runs that never
import fsspec."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from support import write_label_png

from lossctl.errors import InputError, UsageError
from lossctl.io import stores


def test_a_url_keeps_its_spelling_through_path_operations():
    url = stores.Url("s3://bucket/pred/")
    assert str(url) == "s3://bucket/pred" and url.protocol == "s3"
    child = url / "a" / "x.nii.gz"
    assert str(child) == "s3://bucket/pred/a/x.nii.gz" and child.name == "x.nii.gz"
    assert child.parent.parent == url and child.relative_to(url).as_posix() == "a/x.nii.gz"
    assert stores.as_location("s3://b/x") == stores.Url("s3://b/x")
    assert not stores.is_url(stores.as_location("pred/x.png"))
    assert str(stores.joined(url, "b.png")) == "s3://bucket/pred/b.png"
    assert str(stores.joined(url, "gs://other/c.png")) == "gs://other/c.png"


def test_storage_options_are_parsed_and_secrets_redacted():
    options = stores.parse_storage_options(["endpoint_url=http://h:9000", "anon=false", "max_concurrency=4",
                                            "aws_secret_access_key=s", "token=t", "profile=dev"])
    assert options == {"endpoint_url": "http://h:9000", "anon": False, "max_concurrency": 4,
                       "aws_secret_access_key": "s", "token": "t", "profile": "dev"}
    assert stores.redacted(options) == {"endpoint_url": "http://h:9000", "anon": False, "max_concurrency": 4,
                                        "aws_secret_access_key": "***", "token": "***", "profile": "dev"}
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        stores.parse_storage_options(["endpoint_url"])


def test_transient_errors_are_retried_a_bounded_number_of_times():
    calls, pauses = [], []

    def flaky(failures: int, error: Exception):
        def read():
            calls.append(1)
            if len(calls) <= failures:
                raise error
            return "body"
        return read

    assert stores.with_retries(flaky(2, OSError("SlowDown: reduce your request rate")), pauses.append) == "body"
    assert len(calls) == stores.ATTEMPTS == 3 and pauses == [0.5, 1.0]
    calls.clear()
    with pytest.raises(OSError, match="503"):
        stores.with_retries(flaky(5, OSError("server answered 503 Service Unavailable")), pauses.append)
    assert len(calls) == stores.ATTEMPTS
    calls.clear()
    with pytest.raises(FileNotFoundError):  # not transient: not retried
        stores.with_retries(flaky(1, FileNotFoundError("gone")), pauses.append)
    assert len(calls) == 1
    calls.clear()
    wrapped = InputError("s3://b/x.png: cannot decode it as PNG")  # a read cut by the store, in lossctl's words
    wrapped.__cause__ = TimeoutError()
    assert stores.with_retries(flaky(1, wrapped), pauses.append) == "body"


def test_an_unknown_protocol_and_a_missing_backend_are_usage_errors(monkeypatch):
    with pytest.raises(UsageError, match="unknown protocol 'nosuch'"):
        stores.info(stores.Url("nosuch://b/x"))
    import fsspec

    def not_installed(protocol):
        raise ImportError("Install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec, "get_filesystem_class", not_installed)
    with pytest.raises(UsageError, match=r"gs://b/x: the gs:// backend is not installed; pip install 'lossctl\[gcs\]'"):
        stores.info(stores.Url("gs://b/x"))


def test_cli_refusals_are_one_line_exit_2(cli, tmp_path, monkeypatch):
    write_label_png(tmp_path / "x.png", np.array([[0, 1]], np.uint8))
    r = cli("seg", tmp_path / "x.png", tmp_path / "x.png", "--storage-option", "endpoint_url")
    assert r.code == 2 and r.err.count("\n") == 1 and "--storage-option endpoint_url" in r.err
    r = cli("seg", "nosuch://b/pred", "nosuch://b/gt")
    assert r.code == 2 and r.err.count("\n") == 1 and "nosuch://b/pred: unknown protocol" in r.err
    import fsspec

    def not_installed(protocol):
        raise ImportError("Install adlfs to access Azure Datalake Gen2 and Azure Blob Storage")

    monkeypatch.setattr(fsspec, "get_filesystem_class", not_installed)
    r = cli("seg", "az://c/pred", "az://c/gt")
    assert r.code == 2 and r.err == ("error: az://c/pred: the az:// backend is not installed; "
                                     "pip install 'lossctl[azure]'\n")


def test_a_local_run_never_imports_fsspec(tmp_path):
    write_label_png(tmp_path / "p" / "a.png", np.array([[0, 1], [1, 1]], np.uint8))
    write_label_png(tmp_path / "g" / "a.png", np.array([[0, 1], [0, 1]], np.uint8))
    code = ("import atexit, sys; atexit.register(lambda: print('fsspec' in sys.modules, 's3fs' in sys.modules)); "
            f"sys.argv = ['lossctl', 'seg', {str(tmp_path / 'p')!r}, {str(tmp_path / 'g')!r}, '-f', 'csv']; "
            "from lossctl.cli import main; main()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False False"
