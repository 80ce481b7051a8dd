"""A local S3 store for the tests of remote files: moto's server, started once per test session (per xdist worker:
the S3 tests live in one file, so one worker starts it) on 127.0.0.1, port 0, and stopped at the end.

s3fs (aiobotocore) is not intercepted by moto's in-process mocks, so the tests reach the server over HTTP with
``--storage-option endpoint_url=...``; the credentials are dummies (moto accepts any unless its IAM mode is on:
see the ``iam_mode`` fixture).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest

DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server on 127.0.0.1 (dummy credentials in the environment, inherited by the
    processes lossctl starts)."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    logging.getLogger("werkzeug").disabled = True  # the server's request log would land in the captured stderr
    saved = {name: os.environ.get(name) for name in DUMMY_CREDENTIALS}
    os.environ.update(DUMMY_CREDENTIALS)
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def iam_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto checks credentials for this test (its IAM mode: no request is free of authentication), so the
    dummy keys are refused as unknown; the server of this session is shared, so the mode is switched back after."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    monkeypatch.setattr(ActionAuthenticatorMixin, "request_count", 0)
