"""The verifier's memory: decisions by a digest of their question, each for a fixed time."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from .model import Decision


@dataclass(frozen=True)
class Question:
    """One question to Keygate: may the holder of ``token`` (``None``: an anonymous caller) do
    ``permission`` on ``resource`` in ``workspace``, presenting it from ``client_ip`` (``None``: no
    address is judged), using ``cost`` of its rate limits (``None``: Keygate's default, 1)? Its
    ``repr`` never shows the token."""

    token: str | None
    workspace: str | None
    permission: str | None
    resource: str | None
    client_ip: str | None = None
    cost: int | None = None

    def __repr__(self) -> str:
        token = None if self.token is None else "<redacted>"
        return (
            f"Question(token={token!r}, workspace={self.workspace!r}, "
            f"permission={self.permission!r}, resource={self.resource!r}, "
            f"client_ip={self.client_ip!r}, cost={self.cost!r})"
        )

    def key(self) -> bytes:
        """A SHA-256 digest of the question, so that the cache never holds a token in clear. Each
        field is length-prefixed and an absent one is marked, so no two questions share a key. A
        given cost is a sixth field (its decimal text); without one the key is that of the five
        others, as in the Rust client."""
        digest = hashlib.sha256()
        fields = [self.token, self.workspace, self.permission, self.resource, self.client_ip]
        if self.cost is not None:
            fields.append(str(self.cost))
        for text in fields:
            if text is None:
                digest.update(b"\x00")
            else:
                data = text.encode("utf-8", "surrogatepass")
                digest.update(b"\x01")
                digest.update(len(data).to_bytes(8, "big"))
                digest.update(data)
        return digest.digest()

    def body(self) -> dict[str, str | int]:
        """The JSON body of ``POST /api/v1/verify``: the fields asked, the others left out."""
        fields: dict[str, str | int | None] = {
            "token": self.token,
            "workspace": self.workspace,
            "permission": self.permission,
            "resource": self.resource,
            "client_ip": self.client_ip,
            "cost": self.cost,
        }
        return {k: v for k, v in fields.items() if v is not None}


class DecisionCache:
    """Decisions by question digest, each kept ``ttl`` seconds after it was stored, at most
    ``size`` of them (the oldest go first). Safe to share between threads."""

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._lock = threading.Lock()
        # In order of storage, which with one lifetime for all is also the order of expiry.
        self._entries: OrderedDict[bytes, tuple[float, Decision]] = OrderedDict()

    def get(self, key: bytes) -> Decision | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= now:
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: bytes, decision: Decision) -> None:
        now = time.monotonic()
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = (now + self.ttl, decision)
            # Drop what has expired from the front, then the oldest beyond the size.
            while self._entries:
                oldest_key, (expires, _) = next(iter(self._entries.items()))
                if expires > now and len(self._entries) <= self.size:
                    break
                del self._entries[oldest_key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
