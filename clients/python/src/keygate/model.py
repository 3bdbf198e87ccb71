"""Keygate's answers as Python values: the decision of ``POST /api/v1/verify``, the verified caller
(:class:`Identity`), and why a verifier may give no decision (:class:`VerifyError`).

Answers are read leniently, as Keygate's own clients read them: fields this version does not know
are ignored, lists an older Keygate leaves out are empty, and a code from a newer Keygate is
:attr:`Code.UNKNOWN`, a refusal.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

__all__ = [
    "BadQuestion",
    "Code",
    "Decision",
    "Identity",
    "KeygateUnavailable",
    "NoWorkspace",
    "RateLimitState",
    "User",
    "VerifyError",
    "Workspace",
]


class Code(str, enum.Enum):
    """The class of a decision: ``ok``, or why not."""

    OK = "ok"
    """The answer is yes."""
    INVALID_TOKEN = "invalid_token"
    """The token is malformed, unknown, replaced by rotation or refresh, or its user is disabled."""
    TOKEN_EXPIRED = "token_expired"
    """The token has expired."""
    TOKEN_REVOKED = "token_revoked"
    """The token has been revoked."""
    IP_NOT_ALLOWED = "ip_not_allowed"
    """The token, or its API user, is held to an allow-list (``allowed_ips``) that leaves the
    question's ``client_ip`` out."""
    RATE_LIMITED = "rate_limited"
    """The token, or its API user, has used up one of its rate limits (``rate_limits``) in the
    current window; the decision's ``rate_limit`` says when it resets."""
    NOT_A_MEMBER = "not_a_member"
    """The token's user is not a member of the workspace, and the public role does not allow it."""
    FORBIDDEN = "forbidden"
    """The request is not allowed; the decision's ``missing`` says what is lacking."""
    UNKNOWN = "unknown"
    """A code this version does not know (from a newer Keygate); treated as a refusal."""

    @classmethod
    def parse(cls, text: str) -> Code:
        """The code written ``text`` on the wire; :attr:`UNKNOWN` for any other."""
        try:
            code = cls(text)
        except ValueError:
            return cls.UNKNOWN
        return code

    def is_token_failure(self) -> bool:
        """Whether the code says the token itself is not good (a 401)."""
        return self in (Code.INVALID_TOKEN, Code.TOKEN_EXPIRED, Code.TOKEN_REVOKED)


@dataclass(frozen=True)
class User:
    """A Keygate user: a person (``kind == "human"``) or an API user (``kind == "api"``)."""

    id: UUID
    kind: str
    email: str | None
    display_name: str
    is_instance_admin: bool
    created_at: datetime


@dataclass(frozen=True)
class Workspace:
    """A Keygate workspace."""

    id: UUID
    slug: str
    name: str
    max_token_lifetime_days: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Identity:
    """The verified caller, as a guard hands it to a handler."""

    user: User | None = None
    """The token's user; ``None`` for an anonymous caller."""
    workspace: Workspace | None = None
    """The workspace asked about, when the caller is a member of it (Keygate names a workspace only
    to its members, so an anonymous caller sees ``None``)."""
    token_id: UUID | None = None
    """The token's id; ``None`` for an anonymous caller."""
    permissions: tuple[str, ...] = ()
    """The permissions that apply in the workspace asked about, the public role's included."""
    expires_at: datetime | None = None
    """When the token expires, if it does."""

    @property
    def user_id(self) -> UUID | None:
        """The user's id; ``None`` for an anonymous caller."""
        return self.user.id if self.user is not None else None

    @property
    def is_anonymous(self) -> bool:
        """Whether the caller is anonymous: no user."""
        return self.user is None


@dataclass(frozen=True)
class RateLimitState:
    """Where a token stands against the tightest of its rate limits, as the ``RateLimit-*`` headers
    say it."""

    limit: int
    """The limit's size per window."""
    remaining: int
    """What is left of it in this window."""
    reset: int
    """Seconds until the window ends."""


@dataclass(frozen=True)
class Decision:
    """Keygate's answer to one question."""

    valid: bool
    """True only with :attr:`Code.OK`."""
    code: Code
    """The class of the decision."""
    missing: str | None = None
    """With :attr:`Code.FORBIDDEN`: the permission, or the resource, that is missing."""
    identity: Identity = field(default_factory=Identity)
    """Who asked, and what they may do in the workspace asked about."""
    ip_checked: bool | None = None
    """Only for a token held to an allow-list (``allowed_ips``): ``True`` when the question's
    ``client_ip`` was judged (and allowed), ``False`` when the question gave none, so no address
    was judged. ``None`` for a token without a list, an anonymous caller or an invalid token."""
    rate_limit: RateLimitState | None = None
    """Only for a token held to rate limits (``rate_limits``, its own or its API user's): the
    tightest limit after this question, or with :attr:`Code.RATE_LIMITED` the one that is used up.
    ``None`` otherwise."""

    @classmethod
    def from_json(cls, answer: Any) -> Decision:
        """Reads an answer of ``POST /api/v1/verify``; raises :class:`ValueError` when it is not
        one."""
        if not isinstance(answer, Mapping):
            raise ValueError("the answer is not a JSON object")
        valid = answer["valid"]
        code_text = answer["code"]
        if not isinstance(valid, bool) or not isinstance(code_text, str):
            raise ValueError("`valid` or `code` has the wrong type")
        code = Code.parse(code_text)
        identity = Identity(
            user=_optional(answer.get("user"), _user),
            workspace=_optional(answer.get("workspace"), _workspace),
            token_id=_optional(answer.get("token_id"), _uuid),
            permissions=tuple(_strings(answer.get("permissions"))),
            expires_at=_optional(answer.get("expires_at"), _datetime),
        )
        return cls(
            valid=valid and code is Code.OK,
            code=code,
            missing=_optional(answer.get("missing"), _string),
            identity=identity,
            ip_checked=_optional(answer.get("ip_checked"), _bool),
            rate_limit=_optional(answer.get("rate_limit"), _rate_limit),
        )


class VerifyError(Exception):
    """Keygate gave no decision. Messages never quote a token."""


class KeygateUnavailable(VerifyError):
    """Keygate could not be reached, took too long, or answered with a server error or something
    that is not a decision. Callers should refuse the request (fail closed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Keygate is unavailable: {reason}")
        self.reason = reason


class BadQuestion(VerifyError):
    """Keygate refused the question itself (400, or 413 for an oversized one): a malformed
    permission or resource, or a question without a workspace. The message is Keygate's."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NoWorkspace(VerifyError):
    """The verifier was asked about a permission, or an anonymous caller, without any workspace
    to ask in."""

    def __init__(self) -> None:
        super().__init__("no workspace to ask in: give one in the question or to the verifier")


# Reading answers.


def _optional(value: Any, read: Any) -> Any:
    return None if value is None else read(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected a string")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected a boolean")
    return value


def _count(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("expected a whole number, zero or more")
    return value


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return [_string(v) for v in value]


def _uuid(value: Any) -> UUID:
    return UUID(_string(value))


# RFC 3339 as Keygate writes it; more than six fractional digits are cut to the microsecond.
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", re.ASCII)


def _datetime(value: Any) -> datetime:
    match = _RFC3339.match(_string(value))
    if match is None:
        raise ValueError("expected an RFC 3339 timestamp")
    whole, fraction, offset = match.groups()
    fraction = (fraction or "")[:7]
    offset = "+00:00" if offset == "Z" else offset
    return datetime.fromisoformat(f"{whole}{fraction}{offset}")


def _user(value: Any) -> User:
    if not isinstance(value, Mapping):
        raise ValueError("`user` is not an object")
    return User(
        id=_uuid(value["id"]),
        kind=_string(value["kind"]),
        email=_optional(value.get("email"), _string),
        display_name=_string(value["display_name"]),
        is_instance_admin=bool(value.get("is_instance_admin", False)),
        created_at=_datetime(value["created_at"]),
    )


def _rate_limit(value: Any) -> RateLimitState:
    if not isinstance(value, Mapping):
        raise ValueError("`rate_limit` is not an object")
    return RateLimitState(
        limit=_count(value["limit"]),
        remaining=_count(value["remaining"]),
        reset=_count(value["reset"]),
    )


def _workspace(value: Any) -> Workspace:
    if not isinstance(value, Mapping):
        raise ValueError("`workspace` is not an object")
    lifetime = value.get("max_token_lifetime_days")
    if lifetime is not None and (not isinstance(lifetime, int) or isinstance(lifetime, bool)):
        raise ValueError("`max_token_lifetime_days` is not a number")
    return Workspace(
        id=_uuid(value["id"]),
        slug=_string(value["slug"]),
        name=_string(value["name"]),
        max_token_lifetime_days=lifetime,
        created_at=_datetime(value["created_at"]),
        updated_at=_datetime(value["updated_at"]),
    )
