from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from support import ApiUser, FakeKeygate, KeygateServer

# Werkzeug writes a line per request; the tests read their own answers.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@contextmanager
def serving(path: Path) -> Iterator[KeygateServer]:
    """A Keygate started in `path` with a role `device-reader` (`devices:read`) in `acme`, closed
    afterwards."""
    server = KeygateServer(path)
    server.start()
    try:
        server.create_role("device-reader", ["devices:read"])
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def keygate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeygateServer]:
    """A real Keygate, shared by the tests, with a role `device-reader` (`devices:read`) in
    `acme`."""
    with serving(tmp_path_factory.mktemp("keygate")) as server:
        yield server


@pytest.fixture(scope="session")
def gateway(keygate: KeygateServer) -> ApiUser:
    """An API user that may read `device:abc` only."""
    return keygate.create_api_user(["device-reader"], ["device:abc"])


@pytest.fixture
def own_keygate(tmp_path: Path) -> Iterator[KeygateServer]:
    """A Keygate of the test's own, to stop and start."""
    with serving(tmp_path) as server:
        yield server


@pytest.fixture
def fake() -> Iterator[FakeKeygate]:
    server = FakeKeygate()
    try:
        yield server
    finally:
        server.close()
