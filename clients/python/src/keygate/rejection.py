"""``Rejection``: why a guarded request is refused, answered with Keygate's own statuses, JSON error
envelope (``{"error":{"code","message"}}``) and ``WWW-Authenticate`` challenges."""

from __future__ import annotations

import json
import logging

from .model import BadQuestion, Code, NoWorkspace, RateLimitState, VerifyError
from .transport import TransportError

__all__ = ["CHALLENGE", "CHALLENGE_INVALID_TOKEN", "Rejection"]

CHALLENGE = 'Token realm="keygate"'
"""The challenge of a 401 to a request without a token."""
CHALLENGE_INVALID_TOKEN = 'Token realm="keygate", error="invalid_token"'
"""The challenge of a 401 to a request whose token is malformed, unknown, expired or revoked."""

logger = logging.getLogger("keygate")

_INVALID_MESSAGES = {
    Code.TOKEN_EXPIRED: ("token_expired", "the token has expired"),
    Code.TOKEN_REVOKED: ("token_revoked", "the token has been revoked"),
}


class Rejection(Exception):
    """A refused request: :attr:`status`, and the body and headers to answer it with. Its message
    never quotes a token."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        permission: str | None = None,
        challenge: str | None = None,
        rate_limit: RateLimitState | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.permission = permission
        self.challenge = challenge
        self.rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"Rejection({self.status}, {self.code!r}, {self.message!r})"

    # The refusals, as a Keygate guard makes them.

    @classmethod
    def bad_request(cls, code: str, message: str) -> Rejection:
        """400: the request cannot be judged (transport rules, a question Keygate refuses)."""
        return cls(400, code, message)

    @classmethod
    def unauthenticated(cls) -> Rejection:
        """401 ``unauthenticated``: no token, and the public role does not allow the request."""
        return cls(401, "unauthenticated", "this endpoint needs a token", challenge=CHALLENGE)

    @classmethod
    def invalid_token(cls, code: Code = Code.INVALID_TOKEN) -> Rejection:
        """401 ``invalid_token``, ``token_expired`` or ``token_revoked``."""
        error, message = _INVALID_MESSAGES.get(
            code, ("invalid_token", "the token is malformed, unknown or no longer valid")
        )
        return cls(401, error, message, challenge=CHALLENGE_INVALID_TOKEN)

    @classmethod
    def forbidden(cls, missing: str, *, is_permission: bool) -> Rejection:
        """403: ``missing`` is the permission lacking (then also given as ``error.permission``),
        or the resource when the permission is held but not on it."""
        if is_permission:
            return cls(403, "forbidden", f"missing permission `{missing}`", permission=missing)
        return cls(403, "forbidden", f"missing `{missing}`")

    @classmethod
    def not_a_member(cls) -> Rejection:
        """403: the token's user is not a member of the workspace."""
        return cls(403, "forbidden", "not a member of this workspace")

    @classmethod
    def ip_not_allowed(cls) -> Rejection:
        """403 ``ip_not_allowed``: the token is held to an allow-list (``allowed_ips``) that leaves
        the client's address out. No challenge: the token is right, authenticating again will not
        help."""
        return cls(
            403,
            "ip_not_allowed",
            "this token may not be used from this address: its allowed_ips leave it out",
        )

    @classmethod
    def rate_limited(cls, rate_limit: RateLimitState | None) -> Rejection:
        """429 ``rate_limited``: the token, or its API user, has used up one of its rate limits.
        With the decision's ``rate_limit``, the answer carries ``Retry-After`` and the
        ``RateLimit-*`` headers, as Keygate's own 429 does. No challenge."""
        if rate_limit is None:
            return cls(429, "rate_limited", "this token has used its rate limit; try again later")
        return cls(
            429,
            "rate_limited",
            f"this token has used its rate limit of {rate_limit.limit} in this window; "
            f"try again in {rate_limit.reset} s",
            rate_limit=rate_limit,
        )

    @classmethod
    def unavailable(cls) -> Rejection:
        """503 ``keygate_unavailable``: Keygate cannot be reached or fails (fail closed)."""
        return cls(
            503,
            "keygate_unavailable",
            "Keygate cannot be reached to verify this request; try again shortly",
        )

    @classmethod
    def misconfigured(cls, message: str) -> Rejection:
        """500 ``guard_misconfigured``: the guard asks for something the route cannot give (a
        path parameter it does not capture, no workspace at all). Logged as an error."""
        logger.error("a Keygate guard is misconfigured: %s", message)
        return cls(500, "guard_misconfigured", message)

    @classmethod
    def from_transport(cls, error: TransportError) -> Rejection:
        """400 for a request whose token cannot be read."""
        return cls.bad_request(error.code, error.message)

    @classmethod
    def from_verify_error(cls, error: VerifyError) -> Rejection:
        """For code that asks the verifier questions of its own: an unreachable Keygate is a 503,
        a question Keygate refuses a 400."""
        if isinstance(error, BadQuestion):
            return cls.bad_request("invalid_request", error.message)
        if isinstance(error, NoWorkspace):
            return cls.misconfigured(str(error))
        # KeygateUnavailable, or any other failure to decide: refuse.
        return cls.unavailable()

    # The answer.

    def body(self) -> dict[str, dict[str, str]]:
        """The JSON envelope, ``{"error": {"code", "message"[, "permission"]}}``."""
        error = {"code": self.code, "message": self.message}
        if self.permission is not None:
            error["permission"] = self.permission
        return {"error": error}

    def body_bytes(self) -> bytes:
        """:meth:`body`, encoded as compact JSON."""
        try:
            return json.dumps(self.body(), separators=(",", ":"), ensure_ascii=False).encode()
        except UnicodeEncodeError:  # a lone surrogate from a path: escape it
            return json.dumps(self.body(), separators=(",", ":")).encode()

    def headers(self) -> dict[str, str]:
        """The headers of the answer besides its content type: ``WWW-Authenticate`` on a 401;
        ``Retry-After`` and ``RateLimit-Limit``, ``-Remaining`` and ``-Reset`` on a 429 that knows
        the limit."""
        headers = {"www-authenticate": self.challenge} if self.challenge is not None else {}
        if self.rate_limit is not None:
            headers["retry-after"] = str(self.rate_limit.reset)
            headers["ratelimit-limit"] = str(self.rate_limit.limit)
            headers["ratelimit-remaining"] = str(self.rate_limit.remaining)
            headers["ratelimit-reset"] = str(self.rate_limit.reset)
        return headers
