"""Flask: a decorator per view that asks Keygate for the route's permission on its resource, and
makes the verified :class:`~keygate.Identity` available to the view as :func:`current_identity`.

.. code-block:: python

    keygate = Keygate(Verifier("http://127.0.0.1:8080", workspace="acme"))

    @app.get("/devices/<id>")
    @keygate.require("devices:read", resource="device:{id}")
    def show(id: str): ...

Templates name the URL rule's variables in braces. Refusals answer as Keygate does (status,
``{"error":{"code","message"}}``, ``WWW-Authenticate``).

WSGI servers join a header sent twice into one value: a request that repeats a credentials header
is judged on the joined value, which is never a token, and so refused.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, request

from .guard import Demand, Source, judge
from .model import Identity
from .rejection import Rejection
from .transport import TransportError, presented_token
from .verifier import Verifier

__all__ = ["Keygate", "current_identity", "presented", "rejection_response"]

F = TypeVar("F", bound=Callable[..., Any])


def rejection_response(rejection: Rejection) -> Response:
    """The answer to a refused request."""
    return Response(
        rejection.body_bytes(),
        status=rejection.status,
        headers=rejection.headers(),
        mimetype="application/json",
    )


def current_identity() -> Identity:
    """The caller that :meth:`Keygate.require` verified for the current request. In a view
    without the decorator, raises :class:`RuntimeError`."""
    identity = g.get("keygate_identity")
    if not isinstance(identity, Identity):
        raise RuntimeError("current_identity() is called in a view that Keygate does not guard")
    return identity


def presented() -> str | None:
    """The token the current request presents (``None``: anonymous), for views that ask the
    verifier questions of their own. Raises :class:`~keygate.Rejection` (a 400) when the token
    cannot be read; :meth:`Keygate.init_app` answers it."""
    try:
        return presented_token(_headers(), request.query_string)
    except TransportError as e:
        raise Rejection.from_transport(e) from None


def _headers() -> list[tuple[str, str]]:
    # Straight from the WSGI environ, where values are the bytes received, as latin-1 text.
    environ = request.environ
    pairs = []
    for key, name in (
        ("HTTP_AUTHORIZATION", "authorization"),
        ("HTTP_API_KEY", "api-key"),
        ("HTTP_X_API_KEY", "x-api-key"),
    ):
        value = environ.get(key)
        if isinstance(value, str):
            pairs.append((name, value))
    return pairs


class Keygate:
    """Guards Flask views with ``verifier``."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier

    def init_app(self, app: Flask) -> None:
        """Makes ``app`` answer a :class:`~keygate.Rejection` raised in a view (by
        :func:`presented`, or by the view itself) as Keygate does. The decorator needs none of
        it."""
        app.register_error_handler(Rejection, rejection_response)

    def require(
        self,
        permission: Source,
        *,
        resource: Source | None = None,
        workspace: Source | None = None,
    ) -> Callable[[F], F]:
        """A view decorator (under ``@app.get(...)``) that lets a request through only when
        Keygate allows its caller ``permission`` (on ``resource``, in ``workspace``).

        Each is a template naming the URL rule's variables in braces (``"device:{id}"``) or a
        function of them. Without a workspace, the verifier's is asked about. A template with an
        unbalanced brace raises :class:`ValueError` here.
        """
        demand = Demand.of(permission, resource, workspace)
        verifier = self.verifier

        def decorate(view: F) -> F:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                try:
                    identity = judge(
                        verifier,
                        demand,
                        _headers(),
                        request.query_string,
                        request.view_args or {},
                    )
                except Rejection as rejection:
                    return rejection_response(rejection)
                g.keygate_identity = identity
                return view(*args, **kwargs)

            return cast(F, guarded)

        return decorate
