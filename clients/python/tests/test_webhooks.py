"""Keygate's webhooks as a receiver sees them: each delivery verifies with the Standard Webhooks
reference library (``standardwebhooks`` from PyPI), and a delivery whose change was committed
survives a ``kill -9`` of the server before it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from support import KeygateServer, eventually, free_port


class Listener:
    """An HTTP server on loopback that keeps every POST it gets (headers and raw body)."""

    def __init__(self, port: int = 0) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the standard library's name)
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    try:
        yield server
    finally:
        server.close()


def register(keygate: KeygateServer, url: str, events: list[str]) -> str:
    """Registers an endpoint of ``acme``; returns its secret."""
    created = keygate.rest("POST", "/api/v1/workspaces/acme/webhooks",
                           {"url": url, "events": events}, 201)
    secret: str = created["secret"]
    return secret


def test_a_delivery_verifies_with_the_standard_webhooks_library(
    own_keygate: KeygateServer, listener: Listener
) -> None:
    secret = register(own_keygate, listener.url, ["api_user.created", "token.revoked"])
    user = own_keygate.create_api_user(["device-reader"], [])
    own_keygate.revoke(user)
    assert eventually(lambda: len(listener.received) >= 2, within=15), listener.received

    events = []
    for headers, body in listener.received:
        payload = Webhook(secret).verify(body, headers)
        events.append(payload["type"])
        assert headers["webhook-id"].startswith("msg_")
        # The payload never holds the token.
        assert user.token.encode() not in body
    assert sorted(events) == ["api_user.created", "token.revoked"]

    # A body changed on the way, or another endpoint's secret, does not verify.
    headers, body = listener.received[0]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body.replace(b"acme", b"acne") + b" ", headers)
    other = register(own_keygate, listener.url, ["token.created"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)


def test_a_delivery_survives_a_kill_9_between_the_change_and_the_delivery(
    own_keygate: KeygateServer,
) -> None:
    # Nothing listens on the endpoint's port yet: the delivery cannot be made before the kill.
    port = free_port()
    secret = register(own_keygate, f"http://127.0.0.1:{port}/hook", ["api_user.created"])
    user = own_keygate.create_api_user(["device-reader"], [])
    own_keygate.kill()

    receiver = Listener(port)
    try:
        own_keygate.start()
        # A first attempt before the kill, if any, failed; the next is due 5 s after it.
        assert eventually(lambda: len(receiver.received) >= 1, within=30), "never delivered"
        headers, body = receiver.received[0]
        payload = Webhook(secret).verify(body, headers)
        assert payload["type"] == "api_user.created"
        assert payload["data"]["target"]["id"] == user.id
        assert json.loads(body)["data"]["details"]["name"] == user.name
    finally:
        receiver.close()
