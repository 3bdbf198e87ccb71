"""The adapters' other features, in process, against the stand-in for Keygate: templates and
functions of the path, workspaces from the path, misconfigured guards, the FastAPI dependency
with a synchronous verifier and without `install`, the middleware's rules, and Flask's
`current_identity`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flask
import pytest
from fastapi import Depends, FastAPI
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

import keygate.fastapi
import keygate.flask
from keygate import AsyncVerifier, Identity, RateLimitState, Rejection, Template, Verifier, fill
from keygate.asgi import KeygateMiddleware, Rule, identity_of
from support import ELSEWHERE, GOOD, LIMITED, USER_ID, FakeKeygate

TOKEN = {"X-API-Key": GOOD}
RATE_LIMITED = {
    "error": {
        "code": "rate_limited",
        "message": "this token has used its rate limit of 3 in this window; try again in 42 s",
    }
}
RATE_HEADERS = {
    "retry-after": "42", "ratelimit-limit": "3", "ratelimit-remaining": "0", "ratelimit-reset": "42"
}


def rate_headers(headers: Any) -> dict[str, str]:
    """The ``Retry-After`` and ``RateLimit-*`` headers of an answer (httpx's or Werkzeug's)."""
    return {name: headers[name] for name in RATE_HEADERS if name in headers}


def whoami(identity: Identity) -> dict[str, Any]:
    return {
        "user": str(identity.user_id) if identity.user_id else None,
        "workspace": identity.workspace.slug if identity.workspace else None,
        "anonymous": identity.is_anonymous,
    }


def device_of(params: Mapping[str, str]) -> str | None:
    device = params.get("id")
    return f"device:{device}" if device and device != "none" else None


def fastapi_app(verifier: AsyncVerifier | Verifier, install: bool = True) -> FastAPI:
    kg = keygate.fastapi.Keygate(verifier)
    app = FastAPI()
    if install:
        kg.install(app)

    @app.get("/w/{ws}/devices/{id}")
    async def in_workspace(
        identity: Identity = Depends(kg.require("devices:read", workspace="{ws}", resource=device_of)),
    ) -> dict[str, Any]:
        return whoami(identity)

    @app.post("/devices/{id}/measurements")
    def write(
        identity: Identity = Depends(kg.require("measurements:write", resource="device:{id}")),
    ) -> dict[str, Any]:
        return whoami(identity)

    @app.get("/broken/{id}")
    async def broken(identity: Identity = Depends(kg.require("devices:read", resource="device:{nope}"))) -> None:
        raise AssertionError("never reached")

    @app.get("/token")
    async def token(t: str | None = Depends(keygate.fastapi.presented)) -> dict[str, bool]:
        return {"presented": t is not None}

    return app


@pytest.mark.parametrize("sync", [False, True])
def test_fastapi_templates_functions_and_workspaces(fake: FakeKeygate, sync: bool) -> None:
    verifier: AsyncVerifier | Verifier = (
        Verifier(fake.url, workspace="acme") if sync else AsyncVerifier(fake.url, workspace="acme")
    )
    with TestClient(fastapi_app(verifier)) as client:
        ok = client.get("/w/acme/devices/abc", headers=TOKEN)
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"user": USER_ID, "workspace": "acme", "anonymous": False}
        assert fake.questions[-1] == {
            "token": GOOD, "workspace": "acme", "permission": "devices:read", "resource": "device:abc"
        }
        other = client.get("/w/other/devices/abc", headers=TOKEN)
        assert other.status_code == 403
        assert other.json() == {"error": {"code": "forbidden", "message": "not a member of this workspace"}}
        # A token its allow-list keeps from here: 403, without a challenge.
        elsewhere = client.get("/w/acme/devices/abc", headers={"X-API-Key": ELSEWHERE})
        assert elsewhere.status_code == 403
        assert "www-authenticate" not in elsewhere.headers
        assert elsewhere.json() == {"error": {
            "code": "ip_not_allowed",
            "message": "this token may not be used from this address: its allowed_ips leave it out",
        }}
        # A token past its rate limit: 429 with Retry-After and the RateLimit headers, no challenge.
        limited = client.get("/w/acme/devices/abc", headers={"X-API-Key": LIMITED})
        assert limited.status_code == 429
        assert "www-authenticate" not in limited.headers
        assert rate_headers(limited.headers) == RATE_HEADERS
        assert limited.json() == RATE_LIMITED
        # The function finds no resource in the path: 400, before Keygate is asked.
        calls = fake.calls
        none = client.get("/w/acme/devices/none", headers=TOKEN)
        assert none.status_code == 400 and none.json()["error"]["code"] == "invalid_path"
        assert fake.calls == calls
        # A synchronous handler, a POST.
        assert client.post("/devices/abc/measurements", headers=TOKEN).status_code == 200
        denied = client.post("/devices/xyz/measurements", headers=TOKEN)
        assert denied.json() == {"error": {"code": "forbidden", "message": "missing `device:xyz`"}}
        # A template naming a parameter the route lacks: 500, said plainly.
        broken = client.get("/broken/abc", headers=TOKEN)
        assert broken.status_code == 500
        assert broken.json()["error"]["code"] == "guard_misconfigured"
        assert "{nope}" in broken.json()["error"]["message"]
        # The token, for questions of the handler's own; refused as a guard refuses.
        assert client.get("/token", headers=TOKEN).json() == {"presented": True}
        assert client.get("/token").json() == {"presented": False}
        assert client.get("/token?api_token=x").status_code == 400


def test_fastapi_without_install_still_refuses(fake: FakeKeygate) -> None:
    app = fastapi_app(AsyncVerifier(fake.url, workspace="acme"), install=False)
    with TestClient(app) as client:
        refused = client.get("/w/acme/devices/abc")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Token realm="keygate"'
        assert refused.json() == {
            "detail": {"code": "unauthenticated", "message": "this endpoint needs a token"}
        }
        limited = client.get("/w/acme/devices/abc", headers={"X-API-Key": LIMITED})
        assert limited.status_code == 429
        assert rate_headers(limited.headers) == RATE_HEADERS
        assert limited.json() == {"detail": RATE_LIMITED["error"]}


def test_fastapi_fails_closed(fake: FakeKeygate) -> None:
    fake.mode = "refuse"
    with TestClient(fastapi_app(AsyncVerifier(fake.url, workspace="acme"))) as client:
        refused = client.get("/w/acme/devices/abc", headers=TOKEN)
        assert refused.status_code == 400
        assert refused.json() == {
            "error": {"code": "invalid_request", "message": "permission: not of the form area:action"}
        }
        fake.mode = "fail"
        assert client.get("/w/acme/devices/abc", headers=TOKEN).status_code == 503


def test_a_verifier_serves_a_test_client_that_runs_each_request_in_a_new_loop(
    fake: FakeKeygate,
) -> None:
    client = TestClient(fastapi_app(AsyncVerifier(fake.url, workspace="acme", cache_ttl=0)))
    for _ in range(3):
        assert client.get("/w/acme/devices/abc", headers=TOKEN).status_code == 200


async def show(request: Request) -> JSONResponse:
    identity = identity_of(request.scope)
    assert identity is not None and request.state.keygate_identity is identity
    return JSONResponse({**whoami(identity), "path": request.path_params.get("path")})


async def open_page(request: Request) -> PlainTextResponse:
    assert identity_of(request.scope) is None
    return PlainTextResponse("open")


async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


def starlette_app(verifier: AsyncVerifier, unmatched: str = "refuse") -> Starlette:
    rules = [
        Rule(["GET", "head"], "/w/{ws}/devices/{id}", "devices:read", workspace="{ws}", resource="device:{id}"),
        Rule([], "/files/{path*}", "devices:read", resource="device:{path}"),
        Rule("GET", "/socket", "devices:read", resource="device:abc"),
    ]
    routes = [
        Route("/w/{ws}/devices/{id}", show, methods=["GET", "DELETE"]),
        Route("/files/{path:path}", show, methods=["GET", "POST"]),
        Route("/open", open_page),
        WebSocketRoute("/socket", socket),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(KeygateMiddleware, verifier=verifier, rules=rules, unmatched=unmatched)  # type: ignore[arg-type]
        ],
    )


def test_middleware_rules(fake: FakeKeygate) -> None:
    with TestClient(starlette_app(AsyncVerifier(fake.url, workspace="acme"))) as client:
        ok = client.get("/w/acme/devices/abc", headers=TOKEN)
        assert ok.status_code == 200 and ok.json()["user"] == USER_ID
        assert client.head("/w/acme/devices/abc", headers=TOKEN).status_code == 200
        assert client.get("/w/other/devices/abc", headers=TOKEN).status_code == 403
        limited = client.get("/w/acme/devices/abc", headers={"X-API-Key": LIMITED})
        assert (limited.status_code, limited.json()) == (429, RATE_LIMITED)
        assert rate_headers(limited.headers) == RATE_HEADERS
        # A method no rule names: refused, as forward-auth does, whatever the token.
        delete = client.delete("/w/acme/devices/abc", headers=TOKEN)
        assert delete.status_code == 403
        assert delete.json() == {
            "error": {"code": "forbidden", "message": "no route rule allows DELETE on this path"}
        }
        # HEAD asked the same question as GET: answered from the cache.
        assert fake.calls == 3
        # `{path*}` takes the rest of the path; any method.
        files = client.post("/files/abc", headers=TOKEN)
        assert files.status_code == 200 and files.json()["path"] == "abc"
        deeper = client.get("/files/abc/more", headers=TOKEN)
        assert deeper.status_code == 403
        assert deeper.json()["error"]["message"] == "missing `device:abc/more`"
        # Paths no rule matches, however near.
        for path in ("/open", "/w/acme/devices/abc/", "/w/acme/devices", "/w//devices/abc", "/files/"):
            assert client.get(path, headers=TOKEN).status_code == 403, path
        # A WebSocket handshake is judged like a GET.
        with client.websocket_connect("/socket", headers=TOKEN) as ws:
            assert ws.receive_text() == "hello"
        with pytest.raises(WebSocketDisconnect) as closed:
            with client.websocket_connect("/socket") as ws:
                ws.receive_text()
        assert closed.value.code == 1008


def test_middleware_unmatched_pass_and_mounts(fake: FakeKeygate) -> None:
    inner = starlette_app(AsyncVerifier(fake.url, workspace="acme"), unmatched="pass")
    outer = Starlette(routes=[Mount("/api", app=inner)])
    with TestClient(outer) as client:
        assert client.get("/api/open").text == "open"
        # Below a mount, rules match the path the mounted application's router sees.
        assert client.get("/api/w/acme/devices/abc", headers=TOKEN).status_code == 200
        assert client.get("/api/w/acme/devices/xyz", headers=TOKEN).status_code == 403
        assert client.get("/api/w/acme/devices/abc").status_code == 401


def test_a_rate_limited_refusal_names_the_limit_when_it_is_known() -> None:
    known = Rejection.rate_limited(RateLimitState(limit=100, remaining=0, reset=7))
    assert (known.status, known.code, known.challenge) == (429, "rate_limited", None)
    assert known.headers() == {
        "retry-after": "7", "ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "7"
    }
    assert known.message == "this token has used its rate limit of 100 in this window; try again in 7 s"
    # A decision without `rate_limit` (not one Keygate gives): no headers to tell.
    unknown = Rejection.rate_limited(None)
    assert (unknown.status, unknown.headers()) == (429, {})
    assert unknown.body() == {
        "error": {"code": "rate_limited", "message": "this token has used its rate limit; try again later"}
    }


def test_rules_and_templates_are_checked_when_made() -> None:
    for path in ("devices/{id}", "/devices/pre{id}", "/files/{rest*}/x", "/devices/{bad-name}"):
        with pytest.raises(ValueError):
            Rule("GET", path, "devices:read")
    with pytest.raises(ValueError, match="does not capture"):
        Rule("GET", "/devices/{id}", "devices:read", resource="device:{other}")
    for bad in ("device:{id", "device:id}"):
        with pytest.raises(ValueError):
            Template(bad)
    params = {"id": "abc", "ws": "acme"}
    assert fill("device:{id}", params) == "device:abc"
    assert fill("{ws}/{id}", params) == "acme/abc"
    assert fill("a{{b}}{id}", params) == "a{b}abc"
    assert fill("devices:read", params) == "devices:read"


def flask_app(verifier: Verifier) -> flask.Flask:
    kg = keygate.flask.Keygate(verifier)
    app = flask.Flask(__name__)
    kg.init_app(app)

    @app.get("/w/<ws>/devices/<int:id>")
    @kg.require("devices:read", workspace="{ws}", resource="device:{id}")
    def numbered(ws: str, id: int) -> dict[str, Any]:
        return whoami(keygate.flask.current_identity())

    @app.get("/unguarded")
    def unguarded() -> str:
        keygate.flask.current_identity()
        return "never"

    @app.get("/token")
    def token() -> dict[str, bool]:
        return {"presented": keygate.flask.presented() is not None}

    return app


def test_flask_decorator(fake: FakeKeygate) -> None:
    app = flask_app(Verifier(fake.url, workspace="acme"))
    client = app.test_client()
    denied = client.get("/w/acme/devices/7", headers=TOKEN)
    assert denied.status_code == 403
    assert denied.json == {"error": {"code": "forbidden", "message": "missing `device:7`"}}
    assert fake.questions[-1]["resource"] == "device:7"
    assert client.get("/w/other/devices/7", headers=TOKEN).status_code == 403
    limited = client.get("/w/acme/devices/7", headers={"X-API-Key": LIMITED})
    assert (limited.status_code, limited.json) == (429, RATE_LIMITED)
    assert rate_headers(limited.headers) == RATE_HEADERS
    app.testing = True  # exceptions reach the test
    with pytest.raises(RuntimeError, match="does not guard"):
        client.get("/unguarded")
    assert client.get("/token", headers=TOKEN).json == {"presented": True}
    assert client.get("/token").json == {"presented": False}
    refused = client.get("/token", headers={"Authorization": "Basic dTpw"})
    assert refused.status_code == 400
    assert refused.json is not None and refused.json["error"]["code"] == "invalid_request"
