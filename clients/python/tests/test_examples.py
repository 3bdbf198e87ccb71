"""The examples that docs/guard-your-api.md quotes (FastAPI, Flask, Starlette), each on a real
HTTP server, against the real Keygate binary."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from support import (
    ApiUser,
    KeygateServer,
    eventually,
    free_port,
    run_example,
    well_formed,
)

EXAMPLES = ["fastapi", "flask", "starlette"]

INVALID_CHALLENGE = 'Token realm="keygate", error="invalid_token"'


@pytest.fixture(scope="module", params=EXAMPLES)
def example(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def api(example: str, keygate: KeygateServer) -> Iterator[str]:
    """The example, asking the shared Keygate."""
    with run_example(example, keygate.url) as url:
        yield url


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def error(response: httpx.Response) -> dict[str, Any]:
    """The error of a refusal, checked to be Keygate's envelope."""
    assert response.headers["content-type"] == "application/json", response.text
    body = response.json()
    assert set(body) == {"error"}, body
    detail: dict[str, Any] = body["error"]
    assert isinstance(detail["code"], str) and detail["message"], body
    return detail


def test_an_allowed_request_reaches_the_route_by_every_transport(
    api: str, http: httpx.Client, gateway: ApiUser
) -> None:
    t = gateway.token
    for headers in (
        {"Authorization": f"Token {t}"},
        {"Authorization": f"bearer {t}"},
        {"API-KEY": t},
        {"api-key": t},
        {"X-API-Key": t},
        # The same token twice is one token.
        {"Authorization": f"Bearer {t}", "X-API-Key": t},
    ):
        response = http.get(f"{api}/devices/abc", headers=headers)
        assert response.status_code == 200, (headers.keys(), response.text)
        assert response.json() == {"device": "abc", "hello": gateway.name}


def test_another_resource_is_forbidden(api: str, http: httpx.Client, gateway: ApiUser) -> None:
    response = http.get(f"{api}/devices/xyz", headers={"X-API-Key": gateway.token})
    assert response.status_code == 403
    assert error(response) == {"code": "forbidden", "message": "missing `device:xyz`"}
    assert "www-authenticate" not in response.headers


def test_a_missing_permission_is_named(
    api: str, http: httpx.Client, keygate: KeygateServer
) -> None:
    idle = keygate.create_api_user([], [])
    response = http.get(f"{api}/devices/abc", headers={"X-API-Key": idle.token})
    assert response.status_code == 403
    assert error(response) == {
        "code": "forbidden",
        "message": "missing permission `devices:read`",
        "permission": "devices:read",
    }


def test_a_stranger_to_the_workspace_is_forbidden(
    api: str, http: httpx.Client, keygate: KeygateServer
) -> None:
    outsider = keygate.create_outsider()
    response = http.get(f"{api}/devices/abc", headers={"Authorization": f"Token {outsider}"})
    assert response.status_code == 403
    assert error(response) == {"code": "forbidden", "message": "not a member of this workspace"}


def test_bad_tokens_are_asked_for_again(api: str, http: httpx.Client) -> None:
    for token in (
        well_formed("neverIssued"),  # well formed: Keygate is asked, and knows no such token
        "kgt_notARealToken",  # malformed: refused without asking
        "Token",
    ):
        response = http.get(f"{api}/devices/abc", headers={"Authorization": f"Token {token}"})
        assert response.status_code == 401, token
        assert error(response) == {
            "code": "invalid_token",
            "message": "the token is malformed, unknown or no longer valid",
        }
        assert response.headers["www-authenticate"] == INVALID_CHALLENGE
    # `Authorization: Token` with nothing after it: an empty token, as Keygate reads it.
    response = http.get(f"{api}/devices/abc", headers={"Authorization": "Token"})
    assert response.status_code == 401 and error(response)["code"] == "invalid_token"


def test_anonymous_callers_get_the_public_role(
    api: str, http: httpx.Client, keygate: KeygateServer, gateway: ApiUser
) -> None:
    def anonymous(device: str) -> httpx.Response:
        return http.get(f"{api}/devices/{device}")

    keygate.set_public_role([], [])
    try:
        # Without a public role: asked for a token.
        response = anonymous("demo")
        assert response.status_code == 401
        assert error(response) == {"code": "unauthenticated", "message": "this endpoint needs a token"}
        assert response.headers["www-authenticate"] == 'Token realm="keygate"'

        # With one: `device:demo` is open (once the cached refusal has expired), nothing else.
        keygate.set_public_role(["devices:read"], ["device:demo"])
        assert eventually(lambda: anonymous("demo").status_code == 200, within=3)
        assert anonymous("demo").json() == {"device": "demo", "hello": "anonymous"}
        response = anonymous("abc")
        assert response.status_code == 401 and error(response)["code"] == "unauthenticated"
        # Members get the public part too.
        member = http.get(f"{api}/devices/demo", headers={"X-API-Key": gateway.token})
        assert member.status_code == 200, member.text
    finally:
        keygate.set_public_role([], [])
    # Closed again: refused once the cached answer has expired.
    assert eventually(lambda: anonymous("demo").status_code == 401, within=3)


def test_a_revoked_token_passes_for_the_cache_lifetime_then_is_refused(
    api: str, http: httpx.Client, keygate: KeygateServer
) -> None:
    # Timing on a loaded machine: the check needs the revocation and one more request to fit in
    # the one-second cache lifetime, so a round that takes longer is tried again, with a new token.
    for _ in range(5):
        user = keygate.create_api_user(["device-reader"], ["device:abc"])
        headers = {"X-API-Key": user.token}
        warmed = time.monotonic()
        assert http.get(f"{api}/devices/abc", headers=headers).status_code == 200
        keygate.revoke(user)
        still = http.get(f"{api}/devices/abc", headers=headers)
        if time.monotonic() - warmed < 0.9:
            break
    else:
        pytest.fail("could not revoke and ask again within the cache lifetime")
    assert still.status_code == 200, "the cached decision was not used"

    def refused() -> bool:
        response = http.get(f"{api}/devices/abc", headers=headers)
        return response.status_code == 401 and error(response)["code"] == "token_revoked"

    assert eventually(refused, within=2.5), "a revoked token still passes after the cache lifetime"
    response = http.get(f"{api}/devices/abc", headers=headers)
    assert error(response) == {"code": "token_revoked", "message": "the token has been revoked"}
    assert response.headers["www-authenticate"] == INVALID_CHALLENGE


def test_a_token_past_its_rate_limit_is_429_with_keygates_headers(
    api: str, http: httpx.Client, keygate: KeygateServer
) -> None:
    token, _ = keygate.create_token(
        rate_limits=[{"name": "default", "limit": 1, "per_seconds": 86400}]
    )
    headers = {"X-API-Key": token}
    assert http.get(f"{api}/devices/abc", headers=headers).status_code == 200
    # A guard gives no cost: Keygate counts 1 each time it is asked, so once the cached decision
    # has expired, the limit of 1 is used up.
    assert eventually(
        lambda: http.get(f"{api}/devices/abc", headers=headers).status_code == 429, within=3
    )
    response = http.get(f"{api}/devices/abc", headers=headers)
    reset = response.headers["ratelimit-reset"]
    assert 0 < int(reset) <= 86400
    assert error(response) == {
        "code": "rate_limited",
        "message": f"this token has used its rate limit of 1 in this window; try again in {reset} s",
    }
    assert response.headers["retry-after"] == reset
    assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == ("1", "0")
    assert "www-authenticate" not in response.headers


def test_transport_rules_are_keygates(api: str, http: httpx.Client, gateway: ApiUser) -> None:
    url = f"{api}/devices/abc"
    t = gateway.token
    cases: list[tuple[dict[str, str] | list[tuple[bytes, bytes]], str, str]] = [
        ({"Authorization": f"Token {t}", "X-API-Key": well_formed("other")}, "", "conflicting_tokens"),
        ({"API-KEY": t, "X-API-Key": well_formed("other")}, "", "conflicting_tokens"),
        ({"Authorization": "Basic dTpw"}, "", "invalid_request"),
        ({"Authorization": "Basic dTpw", "X-API-Key": t}, "", "invalid_request"),
        ([(b"X-API-Key", t.encode() + b"\xff")], "", "invalid_request"),
        ([(b"Authorization", b"Token \xc3\xa9")], "", "invalid_request"),
        ({"X-API-Key": t}, f"?api_token={t}", "query_token_not_allowed"),
        ({}, "?x=1&api%5Ftoken=", "query_token_not_allowed"),
    ]
    for headers, query, code in cases:
        response = http.get(url + query, headers=headers)
        assert response.status_code == 400, (code, response.text)
        assert error(response)["code"] == code
        assert t not in response.text
    # Other query parameters are no concern.
    assert http.get(f"{url}?token={t}&api=1", headers={"X-API-Key": t}).status_code == 200


def test_a_header_sent_twice(api: str, example: str, http: httpx.Client, gateway: ApiUser) -> None:
    t = gateway.token
    other = well_formed("other")
    same = http.get(f"{api}/devices/abc", headers=[("X-API-Key", t), ("X-API-Key", t)])
    different = http.get(f"{api}/devices/abc", headers=[("X-API-Key", t), ("X-API-Key", other)])
    if example == "flask":
        # A WSGI server joins the two into one value, which is not a token.
        assert same.status_code == 401 and error(same)["code"] == "invalid_token"
        assert different.status_code == 401 and error(different)["code"] == "invalid_token"
    else:
        assert same.status_code == 200, same.text
        assert different.status_code == 400 and error(different)["code"] == "conflicting_tokens"


FORGED = {
    "X-Forwarded-Uri": "/devices/{}",
    "X-Original-URI": "/devices/{}",
    "X-Original-URL": "/devices/{}",
    "X-Rewrite-URL": "/devices/{}",
    "X-Forwarded-Path": "/devices/{}",
    "X-Forwarded-Prefix": "/devices/{}",
    "X-Forwarded-Method": "DELETE",
    "X-HTTP-Method-Override": "DELETE",
    "X-Forwarded-Host": "keygate.example.com",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-For": "10.0.0.1",
    # What forward-auth answers a proxy with: never read by a guard.
    "X-Keygate-User": "0190f5a6-0000-7000-8000-0000000000a1",
    "X-Keygate-Token-Id": "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59",
}


def test_forged_forwarding_headers_change_nothing(
    api: str, http: httpx.Client, gateway: ApiUser
) -> None:
    def forged(device: str) -> dict[str, str]:
        headers = {k: v.format(device) for k, v in FORGED.items()}
        headers["X-API-Key"] = gateway.token
        return headers

    response = http.get(f"{api}/devices/xyz", headers=forged("abc"))
    assert response.status_code == 403
    assert error(response)["message"] == "missing `device:xyz`"
    response = http.get(f"{api}/devices/abc", headers=forged("xyz"))
    assert response.status_code == 200, response.text
    assert response.json()["device"] == "abc"


def test_huge_and_nested_header_values_are_refused_cleanly(
    api: str, http: httpx.Client, gateway: ApiUser
) -> None:
    for value in (
        "kgt_" + "A" * 8000,
        "[" * 3000 + "]" * 3000,
        '{"a":' * 1500 + "1" + "}" * 1500,
        "Token " * 1000 + "x",
        "%00" * 2000,
    ):
        response = http.get(f"{api}/devices/abc", headers={"Authorization": f"Token {value}"})
        assert response.status_code == 401, (value[:20], response.text[:200])
        assert error(response)["code"] == "invalid_token"
    # Beyond what the HTTP server reads, the server refuses it itself (or drops the connection);
    # the API lives on.
    try:
        response = http.get(f"{api}/devices/abc", headers={"X-API-Key": "A" * 200_000})
        assert 400 <= response.status_code < 500, response.status_code
    except httpx.TransportError:
        pass
    response = http.get(
        f"{api}/devices/abc", headers=[("X-API-Key", gateway.token)] * 50
    )
    assert response.status_code in (200, 401), response.text
    ok = http.get(f"{api}/devices/abc", headers={"X-API-Key": gateway.token})
    assert ok.status_code == 200


def test_bad_path_input_is_judged_as_it_reads(
    api: str, http: httpx.Client, gateway: ApiUser
) -> None:
    headers = {"X-API-Key": gateway.token}
    # A resource is a literal: `device:*` is not every device.
    for raw, resource in (
        ("%2A", "device:*"),
        ("ab%2A", "device:ab*"),
        ("abc%20", "device:abc "),
        ("%C3%A9", "device:é"),
        ("%2E%2E", "device:.."),
    ):
        response = http.get(f"{api}/devices/{raw}", headers=headers)
        assert response.status_code == 403, (raw, response.text)
        assert error(response) == {"code": "forbidden", "message": f"missing `{resource}`"}
    # A control character makes no resource: Keygate refuses the question, and so the guard the
    # request, with 400.
    response = http.get(f"{api}/devices/abc%00", headers=headers)
    assert response.status_code == 400, response.text
    assert error(response)["code"] == "invalid_request"
    # Bytes that are not UTF-8 are read as U+FFFD.
    response = http.get(f"{api}/devices/%FF", headers=headers)
    assert response.status_code == 403 and error(response)["message"] == "missing `device:\ufffd`"
    # A slash, even escaped, makes another path, which this route does not serve.
    for raw in ("abc%2Fxyz", "abc/xyz", "abc/../xyz"):
        response = http.get(f"{api}/devices/{raw}", headers=headers)
        assert response.status_code in (403, 404), (raw, response.text)
    # A very long path is refused, by the HTTP server or as a resource the token cannot reach.
    response = http.get(f"{api}/devices/{'a' * 60_000}", headers=headers)
    assert 400 <= response.status_code < 500, response.status_code
    assert http.get(f"{api}/devices/abc", headers=headers).status_code == 200


def test_keygate_down_refuses_with_503_and_recovers_at_once(
    example: str, own_keygate: KeygateServer, http: httpx.Client
) -> None:
    user = own_keygate.create_api_user(["device-reader"], ["device:abc"])
    headers = {"X-API-Key": user.token}
    with run_example(example, own_keygate.url) as api:
        assert http.get(f"{api}/devices/abc", headers=headers).status_code == 200
        own_keygate.stop()

        def unavailable() -> bool:
            return http.get(f"{api}/devices/abc", headers=headers).status_code == 503

        # Within the cache lifetime the last answer may stand; then the API fails closed.
        assert eventually(unavailable, within=2.5)
        response = http.get(f"{api}/devices/abc", headers=headers)
        assert response.status_code == 503
        assert error(response) == {
            "code": "keygate_unavailable",
            "message": "Keygate cannot be reached to verify this request; try again shortly",
        }
        anonymous = http.get(f"{api}/devices/demo")
        assert anonymous.status_code == 503
        # A malformed token needs no call: refused as Keygate would, even now.
        malformed = http.get(f"{api}/devices/abc", headers={"X-API-Key": "kgt_short"})
        assert malformed.status_code == 401 and error(malformed)["code"] == "invalid_token"

        # Failures are not remembered: once Keygate is back, so is the API.
        own_keygate.start()
        response = http.get(f"{api}/devices/abc", headers=headers)
        assert response.status_code == 200, response.text


def test_nothing_listening_is_503(example: str, http: httpx.Client, gateway: ApiUser) -> None:
    with run_example(example, f"http://127.0.0.1:{free_port()}") as api:
        response = http.get(f"{api}/devices/abc", headers={"X-API-Key": gateway.token})
        assert response.status_code == 503
        assert error(response)["code"] == "keygate_unavailable"
