from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from support import ApiUser, FakeKeygate, KeygateServer

# Werkzeug writes a line per request; the tests read their own answers.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def keygate(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KeygateServer]:
    """A real Keygate, shared by the tests, with a role `device-reader` (`devices:read`) in
    `acme`."""
    server = KeygateServer(tmp_path_factory.mktemp("keygate"))
    server.start()
    server.create_role("device-reader", ["devices:read"])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def gateway(keygate: KeygateServer) -> ApiUser:
    """An API user that may read `device:abc` only."""
    return keygate.create_api_user(["device-reader"], ["device:abc"])


@pytest.fixture
def own_keygate(tmp_path: Path) -> Iterator[KeygateServer]:
    """A Keygate of the test's own, to stop and start."""
    server = KeygateServer(tmp_path)
    server.start()
    server.create_role("device-reader", ["devices:read"])
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def fake() -> Iterator[FakeKeygate]:
    server = FakeKeygate()
    try:
        yield server
    finally:
        server.close()
