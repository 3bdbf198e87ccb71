"""The verifiers: against a stand-in for Keygate that counts calls (to prove the cache) and fails on
demand (to prove that they fail closed), and against the real Keygate."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from uuid import UUID

import pytest

from keygate import (
    AsyncVerifier,
    BadQuestion,
    Code,
    Decision,
    KeygateUnavailable,
    NoWorkspace,
    RateLimitState,
    Verifier,
)
from support import (
    ELSEWHERE,
    GOOD,
    LIMITED,
    REVOKED,
    STRANGER,
    TOKEN_ID,
    USER_ID,
    ApiUser,
    FakeKeygate,
    KeygateServer,
    free_port,
)


@pytest.fixture
def verifier(fake: FakeKeygate) -> Iterator[Verifier]:
    with Verifier(fake.url, workspace="acme") as v:
        yield v


def test_a_decision_carries_the_identity(verifier: Verifier, fake: FakeKeygate) -> None:
    decision = verifier.verify(GOOD, permission="devices:read", resource="device:abc")
    assert decision.valid and decision.code is Code.OK
    identity = decision.identity
    assert identity.user_id == UUID(USER_ID)
    assert identity.user is not None and identity.user.display_name == "gateway"
    assert identity.user.kind == "api" and identity.user.email is None
    # Nanoseconds are cut to the microsecond.
    assert identity.user.created_at == datetime(2025, 1, 15, 10, 0, 0, 123456, timezone.utc)
    assert identity.workspace is not None and identity.workspace.slug == "acme"
    assert identity.token_id == UUID(TOKEN_ID)
    assert identity.permissions == ("devices:read", "measurements:write")
    assert identity.expires_at == datetime(2027, 1, 1, tzinfo=timezone.utc)
    assert not identity.is_anonymous
    # Exactly the question asked, with the verifier's workspace.
    assert fake.questions == [
        {"token": GOOD, "workspace": "acme", "permission": "devices:read", "resource": "device:abc"}
    ]


def test_refusals_and_anonymous_decisions(verifier: Verifier) -> None:
    forbidden = verifier.verify(GOOD, permission="devices:read", resource="device:xyz")
    assert (forbidden.valid, forbidden.code, forbidden.missing) == (False, Code.FORBIDDEN, "device:xyz")
    assert verifier.verify(REVOKED, permission="devices:read").code is Code.TOKEN_REVOKED
    assert verifier.verify(STRANGER, permission="devices:read").code is Code.NOT_A_MEMBER
    elsewhere = verifier.verify(ELSEWHERE, permission="devices:read", client_ip="198.51.100.1")
    assert (elsewhere.valid, elsewhere.code) == (False, Code.IP_NOT_ALLOWED)
    limited = verifier.verify(LIMITED, permission="devices:read")
    assert (limited.valid, limited.code) == (False, Code.RATE_LIMITED)
    assert limited.rate_limit == RateLimitState(limit=3, remaining=0, reset=42)
    anonymous = verifier.verify(permission="devices:read", resource="device:demo")
    assert anonymous.valid and anonymous.identity.is_anonymous
    assert anonymous.identity.permissions == ("devices:read",)
    assert not verifier.allows(permission="devices:read", resource="device:abc")
    assert verifier.allows(GOOD, workspace="acme", permission="measurements:write")


def test_answers_are_cached_by_question(verifier: Verifier, fake: FakeKeygate) -> None:
    for _ in range(5):
        assert verifier.allows(GOOD, permission="devices:read", resource="device:abc")
    assert fake.calls == 1, "five identical questions, one call"
    # Refusals are cached too; a different question is a different entry.
    for _ in range(3):
        assert not verifier.allows(GOOD, permission="devices:read", resource="device:xyz")
    assert fake.calls == 2
    # Anonymous and token questions never share an entry, nor do workspaces.
    assert not verifier.allows(permission="devices:read", resource="device:abc")
    assert not verifier.allows(GOOD, workspace="other", permission="devices:read", resource="device:abc")
    assert fake.calls == 4
    # Surrounding spaces do not make another question.
    assert verifier.allows(f" {GOOD} ", permission="devices:read", resource="device:abc")
    assert fake.calls == 4


def test_a_client_address_is_sent_only_when_given_and_cached_apart(
    verifier: Verifier, fake: FakeKeygate
) -> None:
    for _ in range(3):
        assert verifier.allows(GOOD, permission="devices:read", client_ip="203.0.113.7")
    # Surrounding spaces do not make another address.
    assert verifier.allows(GOOD, permission="devices:read", client_ip=" 203.0.113.7 ")
    assert verifier.allows(GOOD, permission="devices:read", client_ip="198.51.100.1")
    assert verifier.allows(GOOD, permission="devices:read")
    assert fake.questions == [
        {"token": GOOD, "workspace": "acme", "permission": "devices:read", "client_ip": "203.0.113.7"},
        {"token": GOOD, "workspace": "acme", "permission": "devices:read", "client_ip": "198.51.100.1"},
        {"token": GOOD, "workspace": "acme", "permission": "devices:read"},
    ]
    # A token held to no allow-list has no `ip_checked`.
    assert verifier.verify(GOOD, permission="devices:read", client_ip="203.0.113.7").ip_checked is None


def test_ip_checked_is_read_from_the_answer() -> None:
    answer = {"valid": True, "code": "ok", "user": None, "workspace": None, "workspaces": [],
              "token_id": None, "permissions": [], "expires_at": None}
    assert Decision.from_json(answer).ip_checked is None
    assert Decision.from_json({**answer, "ip_checked": None}).ip_checked is None
    assert Decision.from_json({**answer, "ip_checked": True}).ip_checked is True
    assert Decision.from_json({**answer, "ip_checked": False}).ip_checked is False
    with pytest.raises(ValueError):
        Decision.from_json({**answer, "ip_checked": "yes"})
    refused = Decision.from_json({**answer, "valid": False, "code": "ip_not_allowed"})
    assert (refused.valid, refused.code) == (False, Code.IP_NOT_ALLOWED)


def test_a_cost_is_sent_only_when_given_and_never_cached(
    verifier: Verifier, fake: FakeKeygate
) -> None:
    # Each answer to a question with a cost uses the limit: every one is asked, none is kept.
    for _ in range(3):
        assert verifier.allows(GOOD, permission="devices:read", cost=1)
    assert verifier.allows(GOOD, permission="devices:read", cost=0)
    assert repr(verifier).endswith("cached=0)")
    # Without a cost, the question is cached as before.
    for _ in range(2):
        assert verifier.allows(GOOD, permission="devices:read")
    q = {"token": GOOD, "workspace": "acme", "permission": "devices:read"}
    assert fake.questions == [{**q, "cost": 1}] * 3 + [{**q, "cost": 0}, q]

    # Nor do identical questions with a cost share a call.
    async def together() -> list[bool]:
        async with AsyncVerifier(fake.url, workspace="acme") as av:
            return await asyncio.gather(
                *(av.allows(GOOD, permission="devices:read", cost=2) for _ in range(3))
            )

    fake.delay = 0.2
    assert asyncio.run(together()) == [True] * 3
    assert fake.questions[-3:] == [{**q, "cost": 2}] * 3


def test_a_cost_is_part_of_the_question_key() -> None:
    from keygate._cache import Question

    base = Question("kgt_a", None, None, None)
    variants = [base, replace(base, cost=0), replace(base, cost=1), replace(base, client_ip="1")]
    assert len({q.key() for q in variants}) == len(variants)
    # Without a cost, the key is the Rust client's: five length-prefixed or absent fields.
    rust = hashlib.sha256(b"\x01" + (5).to_bytes(8, "big") + b"kgt_a" + b"\x00" * 4).digest()
    assert base.key() == rust
    assert repr(replace(base, cost=3)).endswith("cost=3)")


def test_rate_limit_is_read_from_the_answer() -> None:
    answer = {"valid": True, "code": "ok", "user": None, "workspace": None, "workspaces": [],
              "token_id": None, "permissions": [], "expires_at": None}
    assert Decision.from_json(answer).rate_limit is None
    assert Decision.from_json({**answer, "rate_limit": None}).rate_limit is None
    state = {"limit": 3, "remaining": 2, "reset": 60, "a_field_from_a_later_version": 1}
    assert Decision.from_json({**answer, "rate_limit": state}).rate_limit == RateLimitState(3, 2, 60)
    for bad in ("3", [3, 2, 60], {**state, "remaining": -1}, {**state, "limit": True},
                {**state, "reset": "60"}, {**state, "limit": 2.5}):
        with pytest.raises(ValueError):
            Decision.from_json({**answer, "rate_limit": bad})
    with pytest.raises(KeyError):
        Decision.from_json({**answer, "rate_limit": {"limit": 3}})
    refused = Decision.from_json({**answer, "code": "rate_limited", "rate_limit": {**state, "remaining": 0}})
    assert (refused.valid, refused.code) == (False, Code.RATE_LIMITED)
    assert refused.rate_limit == RateLimitState(3, 0, 60)


def test_a_cached_answer_expires_after_its_lifetime(fake: FakeKeygate) -> None:
    with Verifier(fake.url, workspace="acme", cache_ttl=0.5) as v:
        assert v.allows(GOOD, permission="devices:read")
        assert v.allows(GOOD, permission="devices:read")
        assert fake.calls == 1
        time.sleep(1.0)
        assert v.allows(GOOD, permission="devices:read")
        assert fake.calls == 2
    # With the cache off, every question is asked.
    with Verifier(fake.url, workspace="acme", cache_ttl=0) as off:
        for _ in range(3):
            assert off.allows(GOOD, permission="devices:read")
    assert fake.calls == 5


def test_the_cache_keeps_at_most_its_size(fake: FakeKeygate) -> None:
    with Verifier(fake.url, workspace="acme", cache_size=2) as v:
        for device in ("a", "b", "c"):
            v.verify(GOOD, permission="devices:read", resource=f"device:{device}")
        assert repr(v).endswith("cached=2)")
        v.verify(GOOD, permission="devices:read", resource="device:a")  # the oldest went
        assert fake.calls == 4


def test_concurrent_identical_misses_share_one_call(fake: FakeKeygate) -> None:
    fake.delay = 0.5
    with Verifier(fake.url, workspace="acme") as v:
        results: list[bool] = []
        threads = [
            threading.Thread(target=lambda: results.append(v.allows(GOOD, permission="devices:read")))
            for _ in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [True] * 8
    assert fake.calls == 1

    async def together() -> list[bool]:
        async with AsyncVerifier(fake.url, workspace="acme") as av:
            return await asyncio.gather(
                *(av.allows(GOOD, permission="measurements:write") for _ in range(8))
            )

    assert asyncio.run(together()) == [True] * 8
    assert fake.calls == 2


def test_concurrent_misses_share_a_failure_but_do_not_keep_it(fake: FakeKeygate) -> None:
    fake.mode, fake.delay = "fail", 0.5
    with Verifier(fake.url, workspace="acme") as v:
        errors: list[Exception] = []

        def ask() -> None:
            try:
                v.verify(GOOD, permission="devices:read")
            except KeygateUnavailable as e:
                errors.append(e)

        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 4 and fake.calls == 1
        fake.mode, fake.delay = "decide", 0
        assert v.allows(GOOD, permission="devices:read")
        assert fake.calls == 2


@pytest.mark.parametrize("mode", ["fail", "garbage", "slow"])
def test_an_unavailable_keygate_is_an_error_never_cached(fake: FakeKeygate, mode: str) -> None:
    with Verifier(fake.url, workspace="acme", timeout=0.5) as v:
        fake.mode = mode
        with pytest.raises(KeygateUnavailable):
            v.verify(GOOD, permission="devices:read")
        fake.mode = "decide"
        assert v.allows(GOOD, permission="devices:read")


def test_an_async_verifier_fails_closed_too(fake: FakeKeygate) -> None:
    async def run() -> None:
        async with AsyncVerifier(fake.url, workspace="acme", timeout=0.5) as v:
            for mode in ("fail", "garbage", "slow"):
                fake.mode = mode
                with pytest.raises(KeygateUnavailable):
                    await v.verify(GOOD, permission="devices:read")
            fake.mode = "decide"
            assert await v.allows(GOOD, permission="devices:read")
            fake.mode = "refuse"
            with pytest.raises(BadQuestion):
                await v.verify(GOOD, permission="x")
        async with AsyncVerifier(f"http://127.0.0.1:{free_port()}", workspace="acme") as closed:
            with pytest.raises(KeygateUnavailable, match="cannot connect"):
                await closed.verify(GOOD, permission="devices:read")

    asyncio.run(run())


def test_nothing_listening_is_unavailable() -> None:
    with Verifier(f"http://127.0.0.1:{free_port()}", workspace="acme") as v:
        with pytest.raises(KeygateUnavailable, match="cannot connect"):
            v.verify(GOOD, permission="devices:read")


def test_questions_keygate_refuses_are_bad_questions(verifier: Verifier, fake: FakeKeygate) -> None:
    fake.mode = "refuse"
    with pytest.raises(BadQuestion) as refused:
        verifier.verify(GOOD, permission="not a permission")
    assert refused.value.code == "invalid_input"
    assert refused.value.message == "permission: not of the form area:action"
    fake.mode = "too_large"
    with pytest.raises(BadQuestion) as too_large:
        verifier.verify(GOOD, permission="devices:read", resource="device:" + "a" * 10)
    assert too_large.value.code == "payload_too_large"


def test_a_malformed_token_is_invalid_without_a_call(verifier: Verifier, fake: FakeKeygate) -> None:
    for token in ("", "kgt_short", GOOD[:-1] + ("A" if GOOD[-1] != "A" else "B"), "x" * 10_000):
        decision = verifier.verify(token, permission="devices:read")
        assert (decision.valid, decision.code) == (False, Code.INVALID_TOKEN)
    assert fake.calls == 0
    # Unless the check is turned off.
    with Verifier(fake.url, workspace="acme", check_token_format=False) as unchecked:
        assert unchecked.verify("kgt_short", permission="devices:read").code is Code.INVALID_TOKEN
    assert fake.calls == 1


def test_a_question_needs_a_workspace(fake: FakeKeygate) -> None:
    with Verifier(fake.url) as v:
        with pytest.raises(NoWorkspace):
            v.verify(GOOD, permission="devices:read")
        with pytest.raises(NoWorkspace):
            v.verify()
        assert v.verify(GOOD).valid is False  # a token alone is a question
    assert fake.calls == 1


def test_base_urls_are_checked() -> None:
    for bad in ("", "not a url", "ftp://host", "http://h/?x=1", "http://h/#f", "http:///path"):
        with pytest.raises(ValueError):
            Verifier(bad)
    for base, endpoint in (
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/verify"),
        ("http://h:1/", "http://h:1/api/v1/verify"),
        ("https://h/keygate", "https://h/keygate/api/v1/verify"),
    ):
        with Verifier(base) as v:
            assert v.endpoint == endpoint


def test_no_token_in_logs_errors_reprs_or_the_cache(
    fake: FakeKeygate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    with Verifier(fake.url, workspace="acme", timeout=0.5) as v:
        v.verify(GOOD, permission="devices:read")
        for mode in ("fail", "garbage", "slow", "refuse", "too_large"):
            fake.mode = mode
            try:
                v.verify(GOOD, permission="devices:write")
            except Exception as e:  # noqa: BLE001
                shown += [str(e), repr(e)]
        shown.append(repr(v))
        assert v._s.cache is not None
        entries = list(v._s.cache._entries.items())
        assert entries and all(len(key) == 32 for key, _ in entries)
        shown.append(repr(entries))
    from keygate._cache import Question

    shown.append(repr(Question(GOOD, "acme", None, None)))
    assert "Keygate is unavailable" in caplog.text
    for text in [caplog.text, *shown]:
        assert GOOD not in text
        assert GOOD[4:] not in text


# Against the real Keygate.


def test_the_real_keygate_decides(keygate: KeygateServer, gateway: ApiUser) -> None:
    with Verifier(keygate.url, workspace="acme") as v:
        allowed = v.verify(gateway.token, permission="devices:read", resource="device:abc")
        assert allowed.valid, allowed
        identity = allowed.identity
        assert identity.user_id == UUID(gateway.id)
        assert identity.user is not None and identity.user.kind == "api"
        assert identity.user.display_name == gateway.name
        assert identity.workspace is not None and identity.workspace.slug == "acme"
        assert identity.token_id == UUID(gateway.token_id)
        assert identity.permissions == ("devices:read",)
        assert identity.expires_at is None

        refused = v.verify(gateway.token, permission="devices:read", resource="device:xyz")
        assert (refused.code, refused.missing) == (Code.FORBIDDEN, "device:xyz")
        elsewhere = v.verify(gateway.token, workspace="nowhere", permission="devices:read")
        assert elsewhere.code is Code.NOT_A_MEMBER
        with pytest.raises(BadQuestion) as bad:
            v.verify(gateway.token, permission="not a permission")
        assert bad.value.code == "invalid_input"
        with pytest.raises(BadQuestion) as too_large:
            v.verify(gateway.token, permission="devices:read", resource="device:" + "a" * 70_000)
        assert too_large.value.code == "payload_too_large"


def test_the_real_keygate_decides_asynchronously(keygate: KeygateServer, gateway: ApiUser) -> None:
    async def run() -> None:
        async with AsyncVerifier(keygate.url, workspace="acme") as v:
            decisions = await asyncio.gather(
                v.verify(gateway.token, permission="devices:read", resource="device:abc"),
                v.verify(gateway.token, permission="devices:read", resource="device:xyz"),
                v.verify(permission="devices:read", resource="device:abc"),
            )
        assert [d.code for d in decisions] == [Code.OK, Code.FORBIDDEN, Code.FORBIDDEN]
        assert decisions[2].identity.is_anonymous

    asyncio.run(run())


def test_the_real_keygate_judges_the_client_address(keygate: KeygateServer, gateway: ApiUser) -> None:
    token, token_id = keygate.create_token(["203.0.113.0/24"])
    with Verifier(keygate.url, workspace="acme", cache_ttl=60) as v:
        inside = v.verify(token, permission="devices:read", client_ip="203.0.113.7")
        assert (inside.valid, inside.code, inside.ip_checked) == (True, Code.OK, True), inside
        assert inside.identity.token_id == UUID(token_id)
        outside = v.verify(token, permission="devices:read", client_ip="198.51.100.1")
        assert (outside.valid, outside.code) == (False, Code.IP_NOT_ALLOWED), outside
        unjudged = v.verify(token, permission="devices:read")
        assert (unjudged.valid, unjudged.code, unjudged.ip_checked) == (True, Code.OK, False), unjudged
        # Each address is a question of its own in the cache: asked again, each keeps its answer.
        assert repr(v).endswith("cached=3)")
        assert v.verify(token, permission="devices:read", client_ip="198.51.100.1") is outside
        assert v.verify(token, permission="devices:read", client_ip="203.0.113.7") is inside
        assert v.verify(token, permission="devices:read") is unjudged
        assert repr(v).endswith("cached=3)")
        # A token held to no allow-list: any address, and no `ip_checked`.
        free = v.verify(gateway.token, permission="devices:read", client_ip="198.51.100.1")
        assert (free.valid, free.ip_checked) == (True, None), free
        with pytest.raises(BadQuestion) as bad:
            v.verify(token, permission="devices:read", client_ip="not an address")
        assert bad.value.code == "invalid_body"

    async def run() -> None:
        async with AsyncVerifier(keygate.url, workspace="acme") as av:
            decisions = await asyncio.gather(
                av.verify(token, permission="devices:read", client_ip="2001:db8::1"),
                av.verify(token, permission="devices:read", client_ip="203.0.113.200"),
            )
        assert [d.code for d in decisions] == [Code.IP_NOT_ALLOWED, Code.OK]
        assert decisions[1].ip_checked is True

    asyncio.run(run())


def test_the_real_keygate_counts_costs_against_rate_limits(
    keygate: KeygateServer, gateway: ApiUser
) -> None:
    token, _ = keygate.create_token(
        rate_limits=[{"name": "default", "limit": 3, "per_seconds": 86400}]
    )
    with Verifier(keygate.url, workspace="acme", cache_ttl=60) as v:
        # A cost of 0 asks without using the limit.
        peek = v.verify(token, permission="devices:read", cost=0)
        assert peek.code is Code.OK and peek.rate_limit is not None, peek
        assert (peek.rate_limit.limit, peek.rate_limit.remaining) == (3, 3)
        assert 0 < peek.rate_limit.reset <= 86400
        for left in (2, 1, 0):
            used = v.verify(token, permission="devices:read", cost=1)
            assert used.code is Code.OK and used.rate_limit is not None, used
            assert used.rate_limit.remaining == left
        limited = v.verify(token, permission="devices:read", cost=1)
        assert (limited.valid, limited.code) == (False, Code.RATE_LIMITED), limited
        assert limited.rate_limit is not None
        assert (limited.rate_limit.limit, limited.rate_limit.remaining) == (3, 0)
        # Nothing asked with a cost was kept.
        assert repr(v).endswith("cached=0)")
        # Without a cost Keygate counts 1, so it is refused too; this decision is kept.
        assert v.verify(token, permission="devices:read").code is Code.RATE_LIMITED
        assert repr(v).endswith("cached=1)")
        # A token held to no limit has no `rate_limit`, whatever the cost.
        free = v.verify(gateway.token, permission="devices:read", cost=5)
        assert (free.valid, free.rate_limit) == (True, None), free

    async def run() -> None:
        async with AsyncVerifier(keygate.url, workspace="acme") as av:
            # A cost of 0 still passes once the limit is used up.
            peek = await av.verify(token, permission="devices:read", cost=0)
            assert peek.code is Code.OK and peek.rate_limit is not None, peek
            assert peek.rate_limit.remaining == 0
            assert (await av.verify(token, permission="devices:read", cost=1)).code is Code.RATE_LIMITED

    asyncio.run(run())
