"""Schemathesis hooks for Keygate (loaded by scripts/schemathesis.sh): a check for the GraphQL
endpoint, and the owner's token for every request.

Schemathesis' own `not_a_server_error` counts every GraphQL error that carries a `path` and no
label it knows as a server failure, so it flags `NOT_FOUND`, `FORBIDDEN` and the like, which are
answers, not failures. Keygate labels every error it raises with `extensions.code`, and an
internal failure with `INTERNAL_SERVER_ERROR` (`api/graphql/mod.rs`); the errors with no code
come from the GraphQL engine refusing the request (syntax, validation, argument coercion). So a
server failure here is a 5xx, a body that is not a GraphQL response, or an error labelled as one.
"""

import json
import os
import subprocess

import schemathesis

SERVER_FAILURE_CODES = {"INTERNAL_SERVER_ERROR", "UNAVAILABLE"}


@schemathesis.check
def keygate_graphql_no_server_error(ctx, response, case):
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.text[:500]}")
    try:
        payload = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"the answer is not JSON ({error}): {response.text[:500]}") from None
    # A refusal before GraphQL runs (a body too large, a bad token transport) is Keygate's error
    # envelope with a 4xx.
    keys = set(payload) if isinstance(payload, dict) else set()
    if not (keys & {"data", "errors"} or (400 <= response.status_code < 500 and "error" in keys)):
        raise AssertionError(f"not a GraphQL answer: {response.text[:500]}")
    for error in payload.get("errors") or []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if code in SERVER_FAILURE_CODES:
            raise AssertionError(f"{code}: {error.get('message')}")


class OwnerToken:
    """The owner's token for every request, minted by the operator CLI (`keygate token create`).

    The fuzzer rotates and revokes the tokens it finds, its own among them, and refreshes the
    owner's personal token: a token minted over the API would die with the first of these and
    leave the rest of the run unauthenticated. On a 401 schemathesis asks for a new token here and
    replays the request; the CLI works on the database directly, so it does not depend on any token.
    """

    def get(self, case, context):
        output = subprocess.run(
            [
                os.environ["KEYGATE_FUZZ_BIN"],
                "--config",
                os.environ["KEYGATE_FUZZ_CONFIG"],
                "token",
                "create",
                "--user",
                os.environ["KEYGATE_FUZZ_OWNER"],
                "--name",
                "fuzzer",
                "--json",
            ],
            check=True,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        ).stdout
        return json.loads(output)["token"]

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


if os.environ.get("KEYGATE_FUZZ_BIN"):
    # A new token only when the current one is refused (a 401), not on a timer.
    schemathesis.auth(refresh_interval=24 * 3600)(OwnerToken)
