"""FastAPI: a dependency per route that asks Keygate for the route's permission on its resource
and gives the handler the verified :class:`~keygate.Identity`.

.. code-block:: python

    keygate = Keygate(AsyncVerifier("http://127.0.0.1:8080", workspace="acme"))
    app = FastAPI()
    keygate.install(app)

    @app.get("/devices/{id}")
    async def show(id: str, caller: Identity = Depends(keygate.require("devices:read", resource="device:{id}"))): ...

Templates name path parameters in braces. :meth:`Keygate.install` makes refusals answer as Keygate
does (status, ``{"error":{"code","message"}}``, ``WWW-Authenticate``).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .guard import Demand, Source, ajudge
from .model import Identity
from .rejection import Rejection
from .transport import TransportError, presented_token
from .verifier import AsyncVerifier, Verifier

__all__ = ["Keygate", "presented", "rejection_handler"]

logger = logging.getLogger("keygate")


async def rejection_handler(request: Request, exc: Exception) -> Response:
    """The answer to a :class:`~keygate.Rejection`, for ``app.add_exception_handler``."""
    if not isinstance(exc, Rejection):  # pragma: no cover - registered for Rejection only
        raise exc
    return Response(
        exc.body_bytes(),
        status_code=exc.status,
        headers=exc.headers(),
        media_type="application/json",
    )


class Keygate:
    """Guards FastAPI routes with ``verifier`` (an :class:`~keygate.AsyncVerifier`, or a
    :class:`~keygate.Verifier`, which is then asked from a worker thread)."""

    def __init__(self, verifier: AsyncVerifier | Verifier) -> None:
        self.verifier = verifier

    def install(self, app: FastAPI) -> None:
        """Makes ``app`` answer refusals as Keygate does. Without it a refusal still refuses, with
        the right status and headers, in FastAPI's ``{"detail": ...}`` shape."""
        app.add_exception_handler(Rejection, rejection_handler)

    def require(
        self,
        permission: Source,
        *,
        resource: Source | None = None,
        workspace: Source | None = None,
    ) -> Callable[[Request], Awaitable[Identity]]:
        """A dependency that lets a request through only when Keygate allows its caller
        ``permission`` (on ``resource``, in ``workspace``), and yields the caller's
        :class:`~keygate.Identity`.

        Each is a template naming path parameters in braces (``"device:{id}"``) or a function of
        the path parameters. Without a workspace, the verifier's is asked about. A template with an
        unbalanced brace raises :class:`ValueError` here.
        """
        demand = Demand.of(permission, resource, workspace)
        verifier = self.verifier

        async def keygate_identity(request: Request) -> Identity:
            try:
                identity = await ajudge(
                    verifier,
                    demand,
                    request.scope["headers"],
                    request.scope.get("query_string"),
                    request.path_params,
                )
            except Rejection as rejection:
                raise self._refusal(request, rejection) from None
            request.state.keygate_identity = identity
            return identity

        return keygate_identity

    @staticmethod
    def _refusal(request: Request, rejection: Rejection) -> Exception:
        if Rejection in getattr(request.scope.get("app"), "exception_handlers", {}):
            return rejection
        logger.warning("Keygate.install(app) was not called: refusals use FastAPI's error shape")
        return HTTPException(rejection.status, rejection.body()["error"], rejection.headers())


async def presented(request: Request) -> str | None:
    """A dependency giving the token the request presents (``None``: anonymous), for handlers
    that ask the verifier questions of their own; refuses the request as a guard would when the
    token cannot be read."""
    try:
        return presented_token(request.scope["headers"], request.scope.get("query_string"))
    except TransportError as e:
        raise Rejection.from_transport(e) from None
