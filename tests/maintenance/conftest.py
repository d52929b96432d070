"""Fixtures of the maintenance tests: a real S3-compatible server (moto in server mode), media folders."""

from __future__ import annotations

import logging
import socket
import uuid

import pytest

from resources.media_s3 import S3MediaStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto's S3 server on 127.0.0.1, one per test session (each test gets its own bucket)."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch):
    """Dummy credentials for the local server; never real ones."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_bucket(moto_endpoint, aws_env) -> str:
    name = f"media-{uuid.uuid4().hex[:12]}"
    S3MediaStore(name, moto_endpoint).client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(s3_bucket, moto_endpoint) -> S3MediaStore:
    return S3MediaStore(s3_bucket, moto_endpoint)
