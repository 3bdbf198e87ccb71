"""``Verifier`` and ``AsyncVerifier``: ask Keygate's ``POST /api/v1/verify`` over a pooled httpx
client, and remember each decision for a short time in a local cache keyed by a digest of the
question.

Both behave alike: one second of cache by default, failures never cached, concurrent identical
questions sharing one call, a malformed token answered ``invalid_token`` without a call, and any
failure to get a decision raised as :class:`~keygate.KeygateUnavailable` so that guards refuse the
request (fail closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import weakref
from typing import Any
from urllib.parse import urlsplit

import httpx

from ._cache import DecisionCache, Question
from .model import BadQuestion, Code, Decision, KeygateUnavailable, NoWorkspace
from .transport import looks_like_token

__all__ = [
    "DEFAULT_CACHE_SIZE",
    "DEFAULT_CACHE_TTL",
    "DEFAULT_TIMEOUT",
    "AsyncVerifier",
    "Verifier",
]

DEFAULT_CACHE_TTL = 1.0
"""Seconds an answer is reused by default. Keygate applies a revocation or a change of rights at
once; this bounds how much longer a service guarded by this package may act on the old answer."""
DEFAULT_CACHE_SIZE = 10_000
"""How many answers the cache keeps by default."""
DEFAULT_TIMEOUT = 2.0
"""Seconds a call to Keygate may take by default, for connecting and again for answering."""

logger = logging.getLogger("keygate")

_HEADERS = {"content-type": "application/json", "accept": "application/json"}


def _endpoint(base_url: str) -> str:
    def bad(reason: str) -> ValueError:
        return ValueError(f"invalid Keygate base URL {base_url!r}: {reason}")

    try:
        parts = urlsplit(base_url)
    except ValueError as e:
        raise bad(str(e)) from None
    if parts.scheme not in ("http", "https"):
        raise bad("the scheme must be http or https")
    if not parts.netloc:
        raise bad("it names no host")
    if parts.query or parts.fragment or "?" in base_url or "#" in base_url:
        raise bad("a base URL has no query string or fragment")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{parts.netloc}{path}api/v1/verify"


def _invalid_token() -> Decision:
    # What Keygate answers for a malformed token, whatever else is asked.
    return Decision(valid=False, code=Code.INVALID_TOKEN)


def _unavailable(endpoint: str, reason: str) -> KeygateUnavailable:
    logger.warning(
        "Keygate is unavailable; refusing the request (endpoint %s: %s)", endpoint, reason
    )
    return KeygateUnavailable(reason)


def _describe(e: Exception) -> str:
    """An error of the HTTP client in a few words. Request bodies (where the token travels) are
    never part of httpx's messages."""
    if isinstance(e, httpx.TimeoutException):
        what = "the call timed out"
    elif isinstance(e, httpx.ConnectError):
        what = "cannot connect"
    else:
        what = "the call failed"
    detail = str(e)
    return f"{what}: {detail}" if detail else what


class _Settings:
    """What both verifiers share: where Keygate is, the default workspace, the cache."""

    def __init__(
        self,
        base_url: str,
        workspace: str | None,
        cache_ttl: float,
        cache_size: int,
        timeout: float,
        check_token_format: bool,
    ) -> None:
        self.endpoint = _endpoint(base_url)
        self.workspace = workspace
        self.timeout = timeout
        self.check_token_format = check_token_format
        self.cache = DecisionCache(cache_ttl, cache_size) if cache_ttl > 0 and cache_size > 0 else None

    def question(
        self,
        token: str | None,
        workspace: str | None,
        permission: str | None,
        resource: str | None,
        client_ip: str | None,
        cost: int | None,
    ) -> Question:
        workspace = workspace if workspace is not None else self.workspace
        if workspace is None and (permission is not None or token is None):
            raise NoWorkspace()
        # Keygate ignores surrounding spaces; so does the cache.
        token = token.strip() if token is not None else None
        client_ip = client_ip.strip() if client_ip is not None else None
        return Question(token, workspace, permission, resource, client_ip, cost)

    def known_without_asking(self, question: Question) -> Decision | None:
        if (
            self.check_token_format
            and question.token is not None
            and not looks_like_token(question.token)
        ):
            return _invalid_token()
        return None

    def content(self, question: Question) -> bytes:
        # ASCII escapes keep any string sendable, even one with lone surrogates from a path.
        return json.dumps(question.body(), ensure_ascii=True).encode("ascii")

    def read(self, response: httpx.Response) -> Decision:
        status = response.status_code
        if status == 200:
            try:
                return Decision.from_json(response.json())
            except (ValueError, KeyError, TypeError) as e:
                raise _unavailable(self.endpoint, f"the answer is not a decision: {e}") from None
        if status == 400:
            try:
                error = response.json()["error"]
                code, message = error["code"], error["message"]
            except (ValueError, KeyError, TypeError):
                pass
            else:
                if isinstance(code, str) and isinstance(message, str):
                    raise BadQuestion(code, message)
        if status == 413:
            raise BadQuestion("payload_too_large", "the request is too large to verify")
        # Anything else (a 5xx, a 404 from a wrong base URL, a proxy's error page) leaves the
        # request undecided, and so refused.
        raise _unavailable(self.endpoint, f"it answered {status}")

    def describe(self, cls: str) -> str:
        cached = len(self.cache) if self.cache is not None else None
        return f"{cls}(endpoint={self.endpoint!r}, workspace={self.workspace!r}, cached={cached})"


def _again(error: BaseException) -> BaseException:
    """The leader's failure, as a new exception for a waiting thread to raise."""
    if isinstance(error, KeygateUnavailable):
        return KeygateUnavailable(error.reason)
    if isinstance(error, BadQuestion):
        return BadQuestion(error.code, error.message)
    return error


class _Call:
    """One call to Keygate that identical questions arriving meanwhile wait for."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.decision: Decision | None = None
        self.error: BaseException | None = None


class Verifier:
    """Asks Keygate, through a local cache; for synchronous code (Flask, Django, scripts). Safe
    to share between threads, which share its connection pool and cache.

    ``base_url`` is Keygate's, e.g. ``http://127.0.0.1:8080``. ``workspace`` (slug or id) is
    asked about when a question or guard names none. ``cache_ttl`` seconds (one by default) is
    how long a decision is reused: a revoked token or a removed right may still pass for this long;
    ``0`` turns the cache off. ``cache_size`` is the most decisions kept. ``timeout`` bounds a
    call to Keygate; past it the request is refused. ``check_token_format`` answers a string that
    cannot be a Keygate token ``invalid_token`` without a call. ``http_client`` replaces the
    verifier's own httpx client (e.g. for TLS settings); the verifier then does not close it.
    """

    def __init__(
        self,
        base_url: str,
        *,
        workspace: str | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        check_token_format: bool = True,
        http_client: httpx.Client | None = None,
    ) -> None:
        self._s = _Settings(base_url, workspace, cache_ttl, cache_size, timeout, check_token_format)
        self._own_client = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._lock = threading.Lock()
        self._calls: dict[bytes, _Call] = {}

    @property
    def workspace(self) -> str | None:
        """The workspace asked about when a question names none."""
        return self._s.workspace

    @property
    def endpoint(self) -> str:
        """The URL of Keygate's verify endpoint that this verifier calls."""
        return self._s.endpoint

    def __repr__(self) -> str:
        return self._s.describe("Verifier")

    def verify(
        self,
        token: str | None = None,
        *,
        workspace: str | None = None,
        permission: str | None = None,
        resource: str | None = None,
        client_ip: str | None = None,
        cost: int | None = None,
    ) -> Decision:
        """Keygate's decision: may the holder of ``token`` (``None``: an anonymous caller, judged
        by the workspace's public role) do ``permission`` on ``resource`` in ``workspace`` (the
        verifier's own when ``None``)?

        ``client_ip`` is the address (IPv4 or IPv6) of the client that presented the token, as the
        asking service saw it: Keygate judges it against the token's ``allowed_ips`` and answers
        :attr:`~keygate.Code.IP_NOT_ALLOWED` when the list leaves it out. ``None`` judges no
        address (see :attr:`~keygate.Decision.ip_checked`); one that is not an address is a
        :class:`~keygate.BadQuestion`.

        ``cost`` is what the question uses of the token's rate limits (``rate_limits``, its own or
        its API user's) when Keygate answers it :attr:`~keygate.Code.OK`; ``None`` sends none,
        and Keygate counts 1; ``0`` asks without using any. Past a limit the decision is
        :attr:`~keygate.Code.RATE_LIMITED`; :attr:`~keygate.Decision.rate_limit` says where the
        token stands.

        From the cache when the same question was answered within the cache lifetime; concurrent
        identical questions share one call. A question with a ``cost`` is always asked, and its
        decision is not kept, since each answer uses the limit; a question without one uses it
        only when Keygate is asked, not when it is answered from the cache. Raises
        :class:`~keygate.KeygateUnavailable`, :class:`~keygate.BadQuestion` or
        :class:`~keygate.NoWorkspace`, which are never cached.
        """
        question = self._s.question(token, workspace, permission, resource, client_ip, cost)
        known = self._s.known_without_asking(question)
        if known is not None:
            return known
        cache = self._s.cache
        if cache is None or question.cost is not None:
            return self._ask(question)
        key = question.key()
        with self._lock:
            hit = cache.get(key)
            if hit is not None:
                return hit
            call = self._calls.get(key)
            leader = call is None
            if call is None:
                call = self._calls[key] = _Call()
        if not leader:
            call.done.wait()
            if call.error is not None:
                raise _again(call.error)
            assert call.decision is not None
            return call.decision
        try:
            call.decision = self._ask(question)
            cache.put(key, call.decision)
            return call.decision
        except BaseException as e:
            call.error = e
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()

    def allows(
        self,
        token: str | None = None,
        *,
        workspace: str | None = None,
        permission: str | None = None,
        resource: str | None = None,
        client_ip: str | None = None,
        cost: int | None = None,
    ) -> bool:
        """Whether the question is allowed, as :meth:`verify` decides it."""
        return self.verify(
            token,
            workspace=workspace,
            permission=permission,
            resource=resource,
            client_ip=client_ip,
            cost=cost,
        ).valid

    def _ask(self, question: Question) -> Decision:
        try:
            response = self._http.post(
                self._s.endpoint, content=self._s.content(question), headers=_HEADERS
            )
        except Exception as e:  # noqa: BLE001 - any failure leaves the request undecided
            raise _unavailable(self._s.endpoint, _describe(e)) from None
        return self._s.read(response)

    def close(self) -> None:
        """Closes the connection pool (unless the client was given)."""
        if self._own_client:
            self._http.close()

    def __enter__(self) -> Verifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncVerifier:
    """Asks Keygate, through a local cache; for asyncio code (FastAPI, Starlette, any ASGI app).
    The same settings as :class:`Verifier`.

    Each event loop that uses it gets its own httpx client (connections belong to a loop), so one
    verifier also serves a test client that runs each request in a new loop. The cache is shared.
    """

    def __init__(
        self,
        base_url: str,
        *,
        workspace: str | None = None,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        cache_size: int = DEFAULT_CACHE_SIZE,
        timeout: float = DEFAULT_TIMEOUT,
        check_token_format: bool = True,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self._s = _Settings(base_url, workspace, cache_ttl, cache_size, timeout, check_token_format)
        self._given_client = http_client
        self._lock = threading.Lock()
        # Loops that cannot be weakly referenced are kept in `_pinned`, for the verifier's life.
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._pinned: dict[int, tuple[asyncio.AbstractEventLoop, _LoopState]] = {}

    @property
    def workspace(self) -> str | None:
        """The workspace asked about when a question names none."""
        return self._s.workspace

    @property
    def endpoint(self) -> str:
        """The URL of Keygate's verify endpoint that this verifier calls."""
        return self._s.endpoint

    def __repr__(self) -> str:
        return self._s.describe("AsyncVerifier")

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        with self._lock:
            try:
                state = self._loops.get(loop)
            except TypeError:
                pinned = self._pinned.get(id(loop))
                state = pinned[1] if pinned is not None else None
            if state is None:
                client = self._given_client or httpx.AsyncClient(
                    timeout=self._s.timeout, follow_redirects=False
                )
                state = _LoopState(client)
                try:
                    self._loops[loop] = state
                except TypeError:
                    self._pinned[id(loop)] = (loop, state)
            return state

    async def verify(
        self,
        token: str | None = None,
        *,
        workspace: str | None = None,
        permission: str | None = None,
        resource: str | None = None,
        client_ip: str | None = None,
        cost: int | None = None,
    ) -> Decision:
        """As :meth:`Verifier.verify`."""
        question = self._s.question(token, workspace, permission, resource, client_ip, cost)
        known = self._s.known_without_asking(question)
        if known is not None:
            return known
        state = self._state()
        cache = self._s.cache
        if cache is None or question.cost is not None:
            return await self._ask(state.client, question)
        key = question.key()
        hit = cache.get(key)
        if hit is not None:
            return hit
        task = state.calls.get(key)
        if task is None:
            task = asyncio.ensure_future(self._ask_and_keep(state.client, question, key))
            state.calls[key] = task
            task.add_done_callback(lambda done: _forget(state.calls, key, done))
        # The call goes on for the others if this caller is cancelled.
        return await asyncio.shield(task)

    async def allows(
        self,
        token: str | None = None,
        *,
        workspace: str | None = None,
        permission: str | None = None,
        resource: str | None = None,
        client_ip: str | None = None,
        cost: int | None = None,
    ) -> bool:
        """Whether the question is allowed, as :meth:`verify` decides it."""
        decision = await self.verify(
            token,
            workspace=workspace,
            permission=permission,
            resource=resource,
            client_ip=client_ip,
            cost=cost,
        )
        return decision.valid

    async def _ask_and_keep(
        self, client: httpx.AsyncClient, question: Question, key: bytes
    ) -> Decision:
        decision = await self._ask(client, question)
        assert self._s.cache is not None
        self._s.cache.put(key, decision)
        return decision

    async def _ask(self, client: httpx.AsyncClient, question: Question) -> Decision:
        try:
            response = await client.post(
                self._s.endpoint, content=self._s.content(question), headers=_HEADERS
            )
        except Exception as e:  # noqa: BLE001 - any failure leaves the request undecided
            raise _unavailable(self._s.endpoint, _describe(e)) from None
        return self._s.read(response)

    async def aclose(self) -> None:
        """Closes the connection pool of the running event loop (unless the client was given)."""
        if self._given_client is not None:
            return
        loop = asyncio.get_running_loop()
        with self._lock:
            try:
                state = self._loops.pop(loop, None)
            except TypeError:
                pinned = self._pinned.pop(id(loop), None)
                state = pinned[1] if pinned is not None else None
        if state is not None:
            await state.client.aclose()

    async def __aenter__(self) -> AsyncVerifier:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _LoopState:
    """An event loop's httpx client and calls in flight."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.calls: dict[bytes, asyncio.Future[Decision]] = {}


def _forget(calls: dict[bytes, Any], key: bytes, done: asyncio.Future[Decision]) -> None:
    if calls.get(key) is done:
        del calls[key]
    # Mark a failure as seen even when every waiter was cancelled.
    if not done.cancelled():
        done.exception()
