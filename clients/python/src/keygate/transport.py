"""The token a request presents, read from the transports Keygate itself accepts:
``Authorization: Token <t>`` or ``Bearer <t>``, ``API-KEY`` (any spelling of the name),
``X-API-Key``. A request presents one token or none; the rules below refuse the rest, exactly as
Keygate's own routes do (``keygate-proto``'s ``transport`` module).

Also the shape of a Keygate token, so that a malformed one is refused without asking Keygate.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from urllib.parse import parse_qsl

__all__ = [
    "API_KEY_HEADERS",
    "AUTHORIZATION_SCHEMES",
    "QUERY_TOKEN_PARAM",
    "TransportError",
    "looks_like_token",
    "presented_token",
]

QUERY_TOKEN_PARAM = "api_token"
"""The query parameter reserved for a token in a URL. A guarded route refuses a request that
carries it, as Keygate's own routes do, so that a token never travels where logs keep it."""

AUTHORIZATION_SCHEMES = ("token", "bearer")
"""The ``Authorization`` schemes that carry a token, compared without regard to case."""

API_KEY_HEADERS = ("api-key", "x-api-key")
"""The other headers that carry a token (names compared without regard to case)."""


class TransportError(Exception):
    """Why the token of a request cannot be read; answered with 400 and :attr:`code`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_UNKNOWN_SCHEME = ("invalid_request", "the Authorization header must use the Token or Bearer scheme")
_NOT_VISIBLE_ASCII = (
    "invalid_request",
    "a credentials header contains characters outside visible ASCII",
)
_TOKEN_IN_URL = (
    "query_token_not_allowed",
    "this endpoint does not accept a token in the URL; send it in the Authorization, "
    "API-KEY or X-API-Key header",
)
_CONFLICTING = ("conflicting_tokens", "the request presents more than one different token")


def _visible(value: str) -> bool:
    # What an HTTP header value may hold to be read as text: tab, space and visible ASCII.
    return all(c == "\t" or " " <= c <= "~" for c in value)


def _text(value: str | bytes) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not _visible(value):
        raise TransportError(*_NOT_VISIBLE_ASCII)
    return value


def presented_token(
    headers: Iterable[tuple[str | bytes, str | bytes]], query: str | bytes | None = None
) -> str | None:
    """The token presented in ``headers`` (name and value pairs, in order, repeated names
    included), ``None`` for an anonymous request.

    Two different tokens, an ``Authorization`` header with another scheme, a credentials header
    with bytes outside visible ASCII, and ``api_token`` in the ``query`` string are refused with
    :class:`TransportError`. The same token presented twice is one token. Headers are judged
    first, in order, then the query string.
    """
    # Keygate reads every Authorization header, then every API-KEY, then every X-API-Key: the
    # order decides which refusal a request with several faults gets.
    by_name: dict[str, list[str | bytes]] = {"authorization": [], "api-key": [], "x-api-key": []}
    for raw_name, raw_value in headers:
        name = (raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name).lower()
        if name in by_name:
            by_name[name].append(raw_value)

    found: str | None = None
    conflicting = False

    def add(token: str) -> None:
        nonlocal found, conflicting
        if found is None:
            found = token
        elif found != token:
            conflicting = True

    for raw in by_name["authorization"]:
        scheme, _, credentials = _text(raw).partition(" ")
        if scheme.lower() not in AUTHORIZATION_SCHEMES:
            raise TransportError(*_UNKNOWN_SCHEME)
        add(credentials.strip())
    for name in API_KEY_HEADERS:
        for raw in by_name[name]:
            add(_text(raw).strip())
    if query:
        text = query.decode("latin-1") if isinstance(query, bytes) else query
        for key, _value in parse_qsl(text, keep_blank_values=True, errors="replace"):
            if key == QUERY_TOKEN_PARAM:
                raise TransportError(*_TOKEN_IN_URL)
    if conflicting:
        raise TransportError(*_CONFLICTING)
    return found


# The token format (keygate-domain's `token` module): `{prefix}{kind}_{body}`, where the prefix is
# 1 to 8 lowercase ASCII letters or digits starting with a letter (a deployment's choice), the
# kind is `p`, `t` or `a`, and the body is 27 random base62 characters and a 6-character base62
# CRC32 of everything before it. Any prefix a deployment may choose passes this check.
_TOKEN = re.compile(r"[a-z][a-z0-9]{0,7}[pta]_[0-9A-Za-z]{33}", re.ASCII)
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_LEN = 6


def _checksum(text: str) -> str:
    crc = zlib.crc32(text.encode("ascii"))
    digits = []
    for _ in range(_CHECKSUM_LEN):
        crc, digit = divmod(crc, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def looks_like_token(token: str) -> bool:
    """Whether ``token`` has the shape and checksum of a Keygate token of any deployment. One that
    does not is answered ``invalid_token`` by Keygate without a lookup, so a verifier answers it
    so without asking."""
    if _TOKEN.fullmatch(token) is None:
        return False
    return _checksum(token[:-_CHECKSUM_LEN]) == token[-_CHECKSUM_LEN:]
