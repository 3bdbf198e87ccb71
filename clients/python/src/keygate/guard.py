"""What a route demands (a permission, optionally on a resource, in a workspace), and the judgement
every adapter shares: read the request's token, fill the route's templates from its path
parameters, ask Keygate, and turn a refusal into a :class:`~keygate.Rejection`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

import anyio.to_thread

from .model import Code, Decision, Identity, VerifyError
from .rejection import Rejection
from .transport import TransportError, presented_token
from .verifier import AsyncVerifier, Verifier

__all__ = ["Demand", "Source", "Template", "fill"]

Source = Union[str, Callable[[Mapping[str, str]], Union[str, None]]]
"""A value a route demands: a template such as ``"device:{id}"``, filled from the path parameters,
or a function of the path parameters that answers ``None`` when the path does not name it (the
request is then refused with 400)."""


class Template:
    """Text with ``{name}`` placeholders for path parameters; ``{{`` and ``}}`` are literal braces.
    Checked when made: an unbalanced brace raises :class:`ValueError`."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Literal text and parameter names, alternating; even positions are literal.
        self._parts: list[str] = []
        literal: list[str] = []
        i = 0
        while i < len(text):
            c = text[i]
            if text.startswith("{{", i) or text.startswith("}}", i):
                literal.append(c)
                i += 2
            elif c == "{":
                end = text.find("}", i + 1)
                if end < 0:
                    raise ValueError(f"the template {text!r} has a `{{` without its `}}`")
                self._parts += ["".join(literal), text[i + 1 : end]]
                literal = []
                i = end + 1
            elif c == "}":
                raise ValueError(f"the template {text!r} has a `}}` without its `{{`")
            else:
                literal.append(c)
                i += 1
        self._parts.append("".join(literal))

    @property
    def names(self) -> list[str]:
        """The path parameters the template names."""
        return self._parts[1::2]

    def fill(self, params: Mapping[str, str]) -> str:
        """The text with each placeholder replaced by its path parameter. A name the route does
        not capture is a misconfiguration, refused with 500."""
        out: list[str] = []
        for i, part in enumerate(self._parts):
            if i % 2 == 0:
                out.append(part)
                continue
            value = params.get(part)
            if value is None:
                raise Rejection.misconfigured(
                    f"the guard's template {self.text!r} names `{{{part}}}`, "
                    "which the route does not capture"
                )
            out.append(str(value))
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template({self.text!r})"


def fill(template: str, params: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced by the path parameter ``name``."""
    return Template(template).fill(params)


@dataclass(frozen=True)
class Demand:
    """What a route demands: ``permission``, optionally on ``resource``, in ``workspace`` (the
    verifier's own when ``None``). Each is a template or a function of the path parameters."""

    permission: Template | Callable[[Mapping[str, str]], str | None]
    resource: Template | Callable[[Mapping[str, str]], str | None] | None = None
    workspace: Template | Callable[[Mapping[str, str]], str | None] | None = None

    @classmethod
    def of(
        cls, permission: Source, resource: Source | None = None, workspace: Source | None = None
    ) -> Demand:
        """The demand, with strings read as templates (checked now)."""

        def source(s: Source) -> Template | Callable[[Mapping[str, str]], str | None]:
            return Template(s) if isinstance(s, str) else s

        return cls(
            source(permission),
            source(resource) if resource is not None else None,
            source(workspace) if workspace is not None else None,
        )

    def question(
        self,
        default_workspace: str | None,
        headers: Iterable[tuple[str | bytes, str | bytes]],
        query: str | bytes | None,
        path_params: Mapping[str, Any],
    ) -> _Asked:
        """What to ask Keygate about this request, or the :class:`Rejection` for it."""
        try:
            token = presented_token(headers, query)
        except TransportError as e:
            raise Rejection.from_transport(e) from None
        params = {str(k): str(v) for k, v in path_params.items()}
        permission = _value(self.permission, params)
        resource = _value(self.resource, params) if self.resource is not None else None
        workspace = _value(self.workspace, params) if self.workspace is not None else None
        workspace = workspace if workspace is not None else default_workspace
        if workspace is None:
            raise Rejection.misconfigured("no workspace: give one to the verifier or to the guard")
        return _Asked(token, workspace, permission, resource)


def _value(source: Template | Callable[[Mapping[str, str]], str | None], params: Mapping[str, str]) -> str:
    if isinstance(source, Template):
        return source.fill(params)
    value = source(params)
    if value is None:
        raise Rejection.bad_request("invalid_path", "the path does not name what this route needs")
    return value


@dataclass(frozen=True)
class _Asked:
    token: str | None
    workspace: str
    permission: str
    resource: str | None

    def __repr__(self) -> str:
        token = None if self.token is None else "<redacted>"
        return f"_Asked(token={token!r}, workspace={self.workspace!r}, permission={self.permission!r}, resource={self.resource!r})"

    def conclude(self, decision: Decision) -> Identity:
        """The caller, when Keygate allows the request; the :class:`Rejection` otherwise."""
        if decision.valid:
            return decision.identity
        if decision.code.is_token_failure():
            raise Rejection.invalid_token(decision.code)
        # An anonymous caller the public role does not allow is asked for a token.
        if self.token is None:
            raise Rejection.unauthenticated()
        if decision.code is Code.NOT_A_MEMBER:
            raise Rejection.not_a_member()
        if decision.code is Code.IP_NOT_ALLOWED:
            raise Rejection.ip_not_allowed()
        if decision.code is Code.RATE_LIMITED:
            raise Rejection.rate_limited(decision.rate_limit)
        missing = decision.missing if decision.missing is not None else self.permission
        raise Rejection.forbidden(missing, is_permission=missing == self.permission)


def judge(
    verifier: Verifier,
    demand: Demand,
    headers: Iterable[tuple[str | bytes, str | bytes]],
    query: str | bytes | None,
    path_params: Mapping[str, Any],
) -> Identity:
    """The caller of a request, when Keygate allows it what ``demand`` asks; raises
    :class:`Rejection` otherwise."""
    asked = demand.question(verifier.workspace, headers, query, path_params)
    # A guard cannot tell a proxy's address from its client's: it gives no `client_ip`, and
    # Keygate answers `ip_checked: false` for a token held to an allow-list. It gives no `cost`
    # either: Keygate counts 1 each time it is asked (not for an answer from the cache).
    try:
        decision = verifier.verify(
            asked.token,
            workspace=asked.workspace,
            permission=asked.permission,
            resource=asked.resource,
        )
    except VerifyError as e:
        raise Rejection.from_verify_error(e) from None
    return asked.conclude(decision)


async def ajudge(
    verifier: AsyncVerifier | Verifier,
    demand: Demand,
    headers: Iterable[tuple[str | bytes, str | bytes]],
    query: str | bytes | None,
    path_params: Mapping[str, Any],
) -> Identity:
    """As :func:`judge`, in an event loop; a synchronous :class:`Verifier` is asked from a worker
    thread."""
    if isinstance(verifier, Verifier):
        sync = verifier
        return await anyio.to_thread.run_sync(
            lambda: judge(sync, demand, headers, query, path_params)
        )
    asked = demand.question(verifier.workspace, headers, query, path_params)
    try:
        decision = await verifier.verify(
            asked.token,
            workspace=asked.workspace,
            permission=asked.permission,
            resource=asked.resource,
        )
    except VerifyError as e:
        raise Rejection.from_verify_error(e) from None
    return asked.conclude(decision)
