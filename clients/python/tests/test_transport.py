"""Token transports, as keygate-proto reads them, and the token's shape."""

from __future__ import annotations

import pytest

from keygate import TransportError, looks_like_token, presented_token
from support import GOOD, well_formed

Headers = list[tuple[str | bytes, str | bytes]]


def refused(headers: Headers, query: str | None = None) -> str:
    with pytest.raises(TransportError) as e:
        presented_token(headers, query)
    return e.value.code


def test_each_transport_is_read() -> None:
    for name, value in (
        ("authorization", "Token abc"),
        ("authorization", "token abc"),
        ("Authorization", "Bearer abc"),
        ("authorization", "BEARER  abc "),
        ("API-KEY", "abc"),
        ("api-key", "abc"),
        ("X-API-Key", "abc"),
        ("x-api-key", " abc"),
        (b"x-api-key", b"abc"),
        ("authorization", "Token abc\t"),
    ):
        assert presented_token([(name, value)]) == "abc", (name, value)
    assert presented_token([]) is None
    assert presented_token([("cookie", "api-key=abc"), ("x-api-keys", "abc")]) is None
    # `Authorization: Token` with nothing after it is an empty token, as Keygate reads it.
    assert presented_token([("authorization", "Token")]) == ""


def test_query_token_only_where_allowed() -> None:
    for query in ("x=1&api_token=abc", "a=1&api%5Ftoken=x", "api_token", "api_token="):
        assert refused([], query) == "query_token_not_allowed", query
    for other in ("api=1", "api=1&token=2", "apitoken=1", ""):
        assert presented_token([], other) is None
    assert presented_token([], b"x=%ff&y") is None


def test_two_different_tokens_are_refused_and_the_same_twice_is_fine() -> None:
    assert refused([("authorization", "Token abc"), ("x-api-key", "def")]) == "conflicting_tokens"
    assert refused([("x-api-key", "abc"), ("x-api-key", "def")]) == "conflicting_tokens"
    assert presented_token([("authorization", "Bearer abc"), ("api-key", "abc")]) == "abc"
    # Keygate reads every header before it refuses two tokens.
    assert refused([("x-api-key", "abc"), ("authorization", "Basic x"), ("api-key", "d")]) == (
        "invalid_request"
    )


def test_other_schemes_and_strange_bytes_are_refused() -> None:
    assert refused([("authorization", "Basic dXNlcjpwYXNz")]) == "invalid_request"
    assert refused([("authorization", "Token\tabc")]) == "invalid_request"
    assert refused([("x-api-key", b"abc\xff")]) == "invalid_request"
    assert refused([("x-api-key", "abc\x00")]) == "invalid_request"
    assert refused([("api-key", "é")]) == "invalid_request"
    with pytest.raises(TransportError) as e:
        presented_token([("authorization", "Basic x")])
    assert str(e.value) == "the Authorization header must use the Token or Bearer scheme"


def test_the_shape_of_a_token() -> None:
    assert looks_like_token(GOOD)
    for prefix in ("k", "acme", "abcdefgh", "a1"):
        for kind in "pta":
            assert looks_like_token(well_formed("x", kind, prefix)), (prefix, kind)
    assert not looks_like_token(well_formed("x", "z"))
    assert not looks_like_token(well_formed("x", "t", "abcdefghi"))
    assert not looks_like_token(well_formed("x", "t", "1a"))
    assert not looks_like_token(well_formed("x", "t", "Kg"))
    # Every one-character change breaks it.
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_-"
    for i in range(len(GOOD)):
        for c in alphabet:
            if c != GOOD[i]:
                changed = GOOD[:i] + c + GOOD[i + 1 :]
                assert not looks_like_token(changed), changed
    for other in ("", GOOD[:-1], GOOD + "0", f" {GOOD}", GOOD.upper(), "kgt_" + "0" * 33):
        assert not looks_like_token(other), other
