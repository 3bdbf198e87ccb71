"""An ASGI middleware for Starlette and any other ASGI application: route rules, as Keygate's
forward-auth takes them, say what each request needs; a request is let through only when Keygate
allows its caller that, with the verified :class:`~keygate.Identity` in the ASGI scope.

.. code-block:: python

    app = Starlette(routes=..., middleware=[Middleware(
        KeygateMiddleware,
        verifier=AsyncVerifier("http://127.0.0.1:8080", workspace="acme"),
        rules=[Rule("GET", "/devices/{id}", "devices:read", resource="device:{id}")],
    )])

The first rule whose methods and path match decides. A request that matches none is refused with
403, as forward-auth does (``unmatched="pass"`` lets it through unjudged instead). Paths are
matched as the application's router sees them: percent-decoded, below the ``root_path``; headers
such as ``X-Forwarded-Uri`` or ``X-Forwarded-Prefix`` are never read.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any, Literal

from .guard import Demand, Source, Template, ajudge
from .model import Identity
from .rejection import Rejection
from .verifier import AsyncVerifier, Verifier

__all__ = ["IDENTITY_KEY", "KeygateMiddleware", "Rule", "identity_of"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

IDENTITY_KEY = "keygate.identity"
"""The key of the verified :class:`~keygate.Identity` in the ASGI scope (also set as
``scope["state"]["keygate_identity"]``, which Starlette shows as ``request.state``)."""

_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)


class Rule:
    """What requests with one of ``methods`` (any method when empty) on ``path`` need.

    ``path`` is a template of ``/``-separated segments: literal text, ``{name}`` (one non-empty
    segment) or, last, ``{name*}`` (the rest of the path, with its ``/``). ``permission``,
    ``resource`` and ``workspace`` may name the captures in braces (``"device:{id}"``), or be
    functions of them. Without a workspace, the verifier's is asked about. A template that is not
    well formed, or names a capture the path lacks, raises :class:`ValueError`.
    """

    def __init__(
        self,
        methods: str | Sequence[str],
        path: str,
        permission: Source,
        *,
        resource: Source | None = None,
        workspace: Source | None = None,
    ) -> None:
        if isinstance(methods, str):
            methods = [methods]
        self.methods = frozenset(m.upper() for m in methods)
        self.path = path
        self._segments = _parse_path(path)
        self.demand = Demand.of(permission, resource, workspace)
        captured = {name for _, name in self._segments if name is not None}
        for source in (self.demand.permission, self.demand.resource, self.demand.workspace):
            if isinstance(source, Template):
                for name in source.names:
                    if name not in captured:
                        raise ValueError(
                            f"{source.text!r} uses `{{{name}}}`, which the path {path!r} "
                            "does not capture"
                        )

    def __repr__(self) -> str:
        methods = sorted(self.methods) or "any"
        return f"Rule({methods!r}, {self.path!r})"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The captures, when the rule applies to ``method`` on ``path``; otherwise ``None``."""
        if self.methods and method.upper() not in self.methods:
            return None
        if not path.startswith("/"):
            return None
        segments = path[1:].split("/")
        captures: dict[str, str] = {}
        for i, (literal, name) in enumerate(self._segments):
            if name is not None and literal == "*":
                rest = "/".join(segments[i:])
                if i >= len(segments) or rest == "":
                    return None
                captures[name] = rest
                return captures
            if i >= len(segments):
                return None
            if name is None:
                if segments[i] != literal:
                    return None
            elif segments[i] == "":
                return None
            else:
                captures[name] = segments[i]
        return captures if len(segments) == len(self._segments) else None


def _parse_path(path: str) -> list[tuple[str, str | None]]:
    """The template's segments: ``(text, None)`` for a literal, ``("", name)`` for ``{name}``,
    ``("*", name)`` for ``{name*}``."""
    if not path.startswith("/"):
        raise ValueError(f"the path template {path!r} must start with `/`")
    parts = path[1:].split("/")
    out: list[tuple[str, str | None]] = []
    for i, part in enumerate(parts):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            rest = name.endswith("*")
            name = name[:-1] if rest else name
            if _NAME.fullmatch(name) is None:
                raise ValueError(f"the path template {path!r} has a bad capture {part!r}")
            if rest and i != len(parts) - 1:
                raise ValueError(f"in {path!r}, {part!r} can only be the last segment")
            out.append(("*" if rest else "", name))
        elif "{" in part or "}" in part:
            raise ValueError(f"in {path!r}, a capture must be a whole segment: {part!r}")
        else:
            out.append((part, None))
    return out


def _route_path(scope: Scope) -> str:
    # The path below the application's root_path, as Starlette's router matches it.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("/", ""):
        return path[len(root) :]
    return path


def identity_of(scope: Scope) -> Identity | None:
    """The caller :class:`KeygateMiddleware` verified for this request (pass ``request.scope`` in
    Starlette); ``None`` when it judged none."""
    identity = scope.get(IDENTITY_KEY)
    return identity if isinstance(identity, Identity) else None


class KeygateMiddleware:
    """Judges each HTTP request (and WebSocket handshake, as a ``GET``) by the first of ``rules``
    that matches it, with ``verifier``. Refusals answer as Keygate does; a refused WebSocket
    handshake is closed with code 1008 (policy violation)."""

    def __init__(
        self,
        app: ASGIApp,
        verifier: AsyncVerifier | Verifier,
        rules: Sequence[Rule],
        *,
        unmatched: Literal["refuse", "pass"] = "refuse",
    ) -> None:
        if unmatched not in ("refuse", "pass"):
            raise ValueError("unmatched must be 'refuse' or 'pass'")
        self.app = app
        self.verifier = verifier
        self.rules = list(rules)
        self.unmatched = unmatched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if kind == "http" else "GET"
        path = _route_path(scope)
        try:
            identity = await self._judge(scope, method, path)
        except Rejection as rejection:
            await _refuse(kind, rejection, send)
            return
        if identity is not None:
            scope[IDENTITY_KEY] = identity
            scope.setdefault("state", {})["keygate_identity"] = identity
        await self.app(scope, receive, send)

    async def _judge(self, scope: Scope, method: str, path: str) -> Identity | None:
        for rule in self.rules:
            captures = rule.match(method, path)
            if captures is not None:
                return await ajudge(
                    self.verifier,
                    rule.demand,
                    scope.get("headers", []),
                    scope.get("query_string"),
                    captures,
                )
        if self.unmatched == "pass":
            return None
        raise Rejection(403, "forbidden", f"no route rule allows {method} on this path")


async def _refuse(kind: str, rejection: Rejection, send: Send) -> None:
    if kind == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = rejection.body_bytes()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in rejection.headers().items()]
    await send({"type": "http.response.start", "status": rejection.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
