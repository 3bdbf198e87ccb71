"""What the tests share: a real Keygate on a free port over a temporary SQLite file, the example
applications served on real HTTP servers, and a small stand-in for Keygate's verify endpoint that
counts calls and fails on demand."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import uvicorn
from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
CLIENT = HERE.parent
REPO = CLIENT.parent.parent
EXAMPLES = CLIENT / "examples"


def keygate_binary() -> Path:
    """``KEYGATE_BIN``, or the debug build in the repository's ``target/``."""
    given = os.environ.get("KEYGATE_BIN")
    path = Path(given) if given else REPO / "target" / "debug" / "keygate"
    if not path.is_file():
        raise RuntimeError(f"no Keygate binary at {path}: build it or set KEYGATE_BIN")
    return path.resolve()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def eventually(check: Callable[[], bool], within: float, step: float = 0.05) -> bool:
    """Polls ``check`` until it is true or ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


class KeygateServer:
    """``keygate serve`` in a child process, over a SQLite file in ``directory``, with an owner of
    the workspace ``acme`` bootstrapped on first start."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.binary = keygate_binary()
        self.config = directory / "keygate.toml"
        self.log = directory / "keygate.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.owner_token = ""
        self.port = 0
        self.http = httpx.Client(timeout=10)

    def _env(self) -> dict[str, str]:
        # Only the configuration file speaks: no KEYGATE_* or RUST_LOG from outside.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEYGATE_")}
        env.pop("RUST_LOG", None)
        return env

    def _write_config(self, port: int) -> None:
        self.config.write_text(
            f'bind = "127.0.0.1:{port}"\n'
            f'database_url = "sqlite://{self.directory / "keygate.db"}"\n'
            'log = "info"\n'
            # The tests' webhook listeners are on loopback.
            'webhook_allowed_networks = ["127.0.0.0/8"]\n'
        )

    def start(self, port: int = 0) -> None:
        """Starts Keygate (on ``port``, or a free one the first time)."""
        first = not self.owner_token
        self._write_config(port or self.port)
        if first:
            done = subprocess.run(
                [str(self.binary), "--config", str(self.config), "bootstrap",
                 "--email", "owner@example.com", "--workspace", "acme", "--json"],
                env=self._env(), capture_output=True, check=True, stdin=subprocess.DEVNULL,
                timeout=60,
            )
            self.owner_token = json.loads(done.stdout)["token"]
        with self.log.open("ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                ["nice", "-n", "19", str(self.binary), "--config", str(self.config), "serve"],
                env=self._env(), stdout=log, stderr=log, stdin=subprocess.DEVNULL,
            )
        listening = re.compile(rb"listening on (http://127\.0\.0\.1:(\d+))")
        deadline = time.monotonic() + 60
        while True:
            match = listening.search(self.log.read_bytes()[offset:])
            if match:
                self.url, self.port = match.group(1).decode(), int(match.group(2))
                break
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Keygate did not start:\n{self.log.read_text()}")
            time.sleep(0.02)
        ok = eventually(lambda: self._healthy(), within=30)
        assert ok, f"Keygate is not healthy:\n{self.log.read_text()}"

    def _healthy(self) -> bool:
        try:
            return self.http.get(f"{self.url}/healthz").status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Stops Keygate with SIGKILL: no shutdown, nothing flushed."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def close(self) -> None:
        self.stop()
        self.http.close()

    # The REST API, as the owner.

    def rest(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.http.request(
            method, f"{self.url}{path}", json=body,
            headers={"Authorization": f"Token {self.owner_token}"},
        )
        assert response.status_code == expect, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    def create_role(self, name: str, permissions: list[str]) -> None:
        self.rest("POST", "/api/v1/workspaces/acme/roles",
                  {"name": name, "permissions": permissions}, 201)

    def create_api_user(self, roles: list[str], grants: list[str]) -> ApiUser:
        """An API user of ``acme`` with a unique name, and its first token."""
        name = f"gateway-{uuid.uuid4().hex[:8]}"
        body = self.rest("POST", "/api/v1/workspaces/acme/api-users",
                         {"name": name, "roles": roles, "grants": grants}, 201)
        return ApiUser(body["id"], name, body["token"]["token"], body["token"]["id"])

    def create_token(
        self,
        allowed_ips: list[str] | None = None,
        rate_limits: list[dict[str, Any]] | None = None,
    ) -> tuple[str, str]:
        """A token of the owner's own, with a unique name, held to ``allowed_ips`` and
        ``rate_limits`` (when given): its secret and its id."""
        request: dict[str, Any] = {"name": f"fenced-{uuid.uuid4().hex[:8]}"}
        if allowed_ips is not None:
            request["allowed_ips"] = allowed_ips
        if rate_limits is not None:
            request["rate_limits"] = rate_limits
        body = self.rest("POST", "/api/v1/tokens", request, 201)
        return body["token"], body["id"]

    def revoke(self, user: ApiUser) -> None:
        self.rest("DELETE",
                  f"/api/v1/workspaces/acme/api-users/{user.id}/tokens/{user.token_id}",
                  None, 204)

    def create_outsider(self) -> str:
        """The personal token of a person who is a member of no workspace."""
        email = f"outsider-{uuid.uuid4().hex[:8]}@example.com"
        body = self.rest("POST", "/api/v1/admin/users", {"email": email}, 201)
        token: str = body["personal_token"]["token"]
        return token

    def set_public_role(self, permissions: list[str], grants: list[str]) -> None:
        self.rest("PUT", "/api/v1/workspaces/acme/roles/public",
                  {"permissions": permissions, "grants": grants})


class ApiUser:
    def __init__(self, id: str, name: str, token: str, token_id: str) -> None:
        self.id = id
        self.name = name
        self.token = token
        self.token_id = token_id


# The examples, each loaded afresh and served on a real HTTP server.

_loaded = 0


def load_example(name: str, keygate_url: str) -> ModuleType:
    """``examples/{name}_app.py`` as a new module, with ``KEYGATE_URL`` set to ``keygate_url``
    while it loads."""
    global _loaded
    _loaded += 1
    spec = importlib.util.spec_from_file_location(
        f"example_{name}_{_loaded}", EXAMPLES / f"{name}_app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    before = os.environ.get("KEYGATE_URL")
    os.environ["KEYGATE_URL"] = keygate_url
    try:
        spec.loader.exec_module(module)
    finally:
        if before is None:
            del os.environ["KEYGATE_URL"]
        else:
            os.environ["KEYGATE_URL"] = before
    return module


@contextlib.contextmanager
def serve_asgi(app: Any) -> Iterator[str]:
    """``app`` on uvicorn, in a thread, on a free port; yields its base URL."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    assert eventually(lambda: server.started, within=10), "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """``app`` on Werkzeug's threaded server, in a thread, on a free port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextlib.contextmanager
def run_example(name: str, keygate_url: str) -> Iterator[str]:
    """The example ``name`` (``fastapi``, ``flask`` or ``starlette``), asking the Keygate at
    ``keygate_url``, served on a free port; yields its base URL."""
    module = load_example(name, keygate_url)
    serve = serve_wsgi if name == "flask" else serve_asgi
    with serve(module.app) as url:
        yield url


# A stand-in for Keygate's verify endpoint.

USER_ID = "0190f5a6-0000-7000-8000-0000000000a1"
TOKEN_ID = "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59"
WORKSPACE_ID = "0190f5a6-0000-7000-8000-000000000001"


def well_formed(body: str, kind: str = "t", prefix: str = "kg") -> str:
    """A token of Keygate's shape with a good checksum: ``body`` padded to 27 characters."""
    from keygate.transport import _checksum

    head = f"{prefix}{kind}_{body.ljust(27, '0')[:27]}"
    return head + _checksum(head)


GOOD = well_formed("good")
REVOKED = well_formed("revoked")
STRANGER = well_formed("stranger")
ELSEWHERE = well_formed("elsewhere")
LIMITED = well_formed("limited")
NOBODY = well_formed("nobody")


def _refusal(code: str, missing: str | None = None) -> dict[str, Any]:
    return {"valid": False, "code": code, "missing": missing, "user": None, "workspace": None,
            "workspaces": [], "token_id": None, "permissions": [], "expires_at": None}


def fake_answer(q: dict[str, Any]) -> dict[str, Any]:
    """Keygate's rules in miniature: ``GOOD`` holds ``devices:read`` and ``measurements:write``
    on ``device:abc`` in ``acme``; ``REVOKED`` is revoked, ``STRANGER`` no member, ``ELSEWHERE``
    used from an address its allow-list leaves out, ``LIMITED`` past its rate limit of 3 (42 s
    before the window ends); anonymous callers may read ``device:demo``."""
    permission = q.get("permission") or ""
    resource = q.get("resource")
    token = q.get("token")
    if token is None:
        if resource == "device:demo" and permission == "devices:read":
            return {"valid": True, "code": "ok", "user": None, "workspace": None, "workspaces": [],
                    "token_id": None, "permissions": ["devices:read"], "expires_at": None}
        return _refusal("forbidden", permission)
    if token == REVOKED:
        return _refusal("token_revoked")
    if token == STRANGER:
        return _refusal("not_a_member")
    if token == ELSEWHERE:
        return _refusal("ip_not_allowed")
    if token == LIMITED:
        return {**_refusal("rate_limited"), "rate_limit": {"limit": 3, "remaining": 0, "reset": 42}}
    if token != GOOD:
        return _refusal("invalid_token")
    if q.get("workspace") != "acme":
        return _refusal("not_a_member")
    if permission not in ("devices:read", "measurements:write"):
        return _refusal("forbidden", permission)
    if resource is not None and resource != "device:abc":
        return _refusal("forbidden", resource)
    return {
        "valid": True, "code": "ok",
        "user": {"id": USER_ID, "kind": "api", "email": None, "display_name": "gateway",
                 "is_instance_admin": False, "created_at": "2025-01-15T10:00:00.123456789Z"},
        "workspace": {"id": WORKSPACE_ID, "slug": "acme", "name": "Acme",
                      "created_at": "2025-01-01T09:00:00Z", "updated_at": "2025-01-01T09:00:00Z"},
        "workspaces": [],
        "token_id": TOKEN_ID,
        "permissions": ["devices:read", "measurements:write"],
        "expires_at": "2027-01-01T00:00:00+00:00",
        "a_field_from_a_later_version": True,
    }


class FakeKeygate:
    """``POST /api/v1/verify`` on a free port. ``mode`` is ``decide`` (by :func:`fake_answer`),
    ``fail`` (500), ``garbage`` (200 with HTML), ``slow`` (3 s), ``refuse`` (400 with Keygate's
    envelope) or ``too_large`` (413). ``delay`` slows every answer."""

    def __init__(self) -> None:
        self.mode = "decide"
        self.delay = 0.0
        self.questions: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                question = json.loads(self.rfile.read(length))
                with fake._lock:
                    fake.questions.append(question)
                if fake.delay:
                    time.sleep(fake.delay)
                status, body = fake.answer(question)
                data = body.encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.questions)

    def answer(self, question: dict[str, Any]) -> tuple[int, str]:
        if self.mode == "fail":
            return 500, '{"error":{"code":"internal","message":"internal error"}}'
        if self.mode == "garbage":
            return 200, "<html>not a decision</html>"
        if self.mode == "slow":
            time.sleep(3)
        if self.mode == "refuse":
            return 400, json.dumps({"error": {"code": "invalid_input",
                                              "message": "permission: not of the form area:action",
                                              "field": "permission"}})
        if self.mode == "too_large":
            return 413, '{"error":{"code":"payload_too_large","message":"request body too large"}}'
        return 200, json.dumps(fake_answer(question))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
