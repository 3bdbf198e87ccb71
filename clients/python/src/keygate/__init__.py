"""Guard a Python API with Keygate.

A :class:`Verifier` (or, in asyncio code, an :class:`AsyncVerifier`) asks Keygate's
``POST /api/v1/verify`` over a pooled httpx client and keeps each answer for a moment (one second
by default) in a local cache keyed by a SHA-256 digest of the question, so that a revocation or a
change of rights lands within about that long.

The adapters read the caller's token from the transports Keygate accepts
(``Authorization: Token|Bearer``, ``API-KEY``, ``X-API-Key``; none: an anonymous caller, judged by
the workspace's public role), ask for the route's permission on the route's resource, and answer
refusals the way Keygate does: ``401`` with ``WWW-Authenticate``, ``403`` naming what is missing,
``400`` for two different tokens, ``429`` with ``Retry-After`` past a rate limit, and
``503 keygate_unavailable`` when Keygate cannot be reached or fails (fail closed):

- :mod:`keygate.fastapi`: ``Depends(keygate.require("devices:read", resource="device:{id}"))``;
- :mod:`keygate.asgi`: a middleware with route rules, for Starlette and any ASGI application;
- :mod:`keygate.flask`: ``@keygate.require("devices:read", resource="device:{id}")``.
"""

from .guard import Demand, Template, fill
from .model import (
    BadQuestion,
    Code,
    Decision,
    Identity,
    KeygateUnavailable,
    NoWorkspace,
    RateLimitState,
    User,
    VerifyError,
    Workspace,
)
from .rejection import CHALLENGE, CHALLENGE_INVALID_TOKEN, Rejection
from .transport import QUERY_TOKEN_PARAM, TransportError, looks_like_token, presented_token
from .verifier import (
    DEFAULT_CACHE_SIZE,
    DEFAULT_CACHE_TTL,
    DEFAULT_TIMEOUT,
    AsyncVerifier,
    Verifier,
)

__all__ = [
    "CHALLENGE",
    "CHALLENGE_INVALID_TOKEN",
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_TIMEOUT",
    "QUERY_TOKEN_PARAM",
    "AsyncVerifier",
    "BadQuestion",
    "Code",
    "Decision",
    "Demand",
    "Identity",
    "KeygateUnavailable",
    "NoWorkspace",
    "RateLimitState",
    "Rejection",
    "Template",
    "TransportError",
    "User",
    "Verifier",
    "VerifyError",
    "Workspace",
    "fill",
    "looks_like_token",
    "presented_token",
]

__version__ = "0.1.0"
