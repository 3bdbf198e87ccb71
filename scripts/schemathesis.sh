#!/usr/bin/env bash
# Schema-driven fuzzing of the live server: schemathesis (from PyPI, in a virtual environment
# under target/) against a debug Keygate on a free port with a temporary SQLite database, first
# over the REST API as its OpenAPI document describes it, then over GraphQL, as the owner (a token
# minted by the operator CLI, and again whenever the fuzzer has rotated or revoked it). It fails
# on any 5xx, on an answer that does not match the OpenAPI document (status code, content type,
# headers, body schema), on a panic in the server's log and on a dead server. The GraphQL check
# and the owner's token are in scripts/schemathesis_hooks.py.
#
#   scripts/schemathesis.sh             (as .ci/run calls it)
#
# Knobs (environment): KEYGATE_FUZZ_REST_SECONDS (default 120) and KEYGATE_FUZZ_GRAPHQL_SECONDS
# (default 45) bound each run; KEYGATE_FUZZ_SEED replays a run (each run prints its seed);
# KEYGATE_FUZZ_REPORTS is where the JUnit reports go (default target/schemathesis-report).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

# Pinned: a newer schemathesis may add checks or change what a check means.
schemathesis_version="4.32.5"
rest_seconds="${KEYGATE_FUZZ_REST_SECONDS:-120}"
graphql_seconds="${KEYGATE_FUZZ_GRAPHQL_SECONDS:-45}"
reports="${KEYGATE_FUZZ_REPORTS:-$root/target/schemathesis-report}"
venv="$root/target/schemathesis-venv"
bin="$root/target/debug/keygate"
started=$SECONDS

say() { echo "schemathesis: $*"; }

# The virtual environment, reused while it holds the pinned version.
if [ "$("$venv/bin/schemathesis" --version 2>/dev/null)" != "schemathesis, version ${schemathesis_version}" ]; then
    say "installing schemathesis ${schemathesis_version} into ${venv#"$root"/}"
    rm -rf "$venv"
    python3 -m venv "$venv" || { say "FAILED: python3 cannot create a virtual environment"; exit 1; }
    PIP_NO_INPUT=1 "$venv/bin/pip" install -q --disable-pip-version-check "schemathesis==${schemathesis_version}" \
        || { rm -rf "$venv"; say "FAILED: cannot install schemathesis ${schemathesis_version} from PyPI"; exit 1; }
fi

# The debug binary the tests built; this is a no-op when it is up to date.
cargo build -q -p keygate --bin keygate

work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then
        kill "$server" 2>/dev/null || true
        wait "$server" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
base="http://127.0.0.1:${port}"
# Sign-up is open so that its route is fuzzed too. The failed-authentication throttle is raised:
# the fuzzer sends malformed tokens by the thousand from one address, and a throttled run would
# test little but the 429. Route rules give forward-auth something to match.
cat > "$work/keygate.toml" <<TOML
bind = "127.0.0.1:${port}"
database_url = "sqlite://${work}/keygate.db"
log = "warn"
signup = true
auth_failures_per_minute = 1000000

[[route]]
methods = ["GET", "POST"]
path = "/w/{workspace}/devices/{device}/measurements"
permission = "measurements:read"
resource = "device:{device}"
workspace = "{workspace}"

[[route]]
path = "/w/{workspace}/files/{path*}"
permission = "files:read"
resource = "file:{path}"
workspace = "{workspace}"

[[route]]
methods = ["GET"]
path = "/w/{workspace}/export"
permission = "measurements:read"
workspace = "{workspace}"
query_token = true
TOML

owner="owner@example.com"
"$bin" --config "$work/keygate.toml" bootstrap --email "$owner" --workspace acme --json > /dev/null

"$bin" --config "$work/keygate.toml" serve > "$work/server.log" 2>&1 < /dev/null &
server=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "${base}/healthz" && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log"; say "FAILED: the server did not start"; exit 1; }
    sleep 0.1
done

# The owner's token comes from scripts/schemathesis_hooks.py, minted with the operator CLI and
# minted again whenever the fuzzer has rotated or revoked it (a 401).
export KEYGATE_FUZZ_BIN="$bin" KEYGATE_FUZZ_CONFIG="$work/keygate.toml" KEYGATE_FUZZ_OWNER="$owner"

seed_args=()
[ -n "${KEYGATE_FUZZ_SEED:-}" ] && seed_args=(--seed "$KEYGATE_FUZZ_SEED")
mkdir -p "$reports"

# One worker: the server needs the other core, and CPython 3.11's ast module (which Hypothesis
# uses to describe its strategies) is not safe to call from two threads at once.
fuzz() { # name seconds location checks
    local name="$1" seconds="$2" location="$3" checks="$4"
    say "${name}: ${location} for at most ${seconds}s"
    (cd "$work" && PYTHONPATH="$root/scripts" PYTHONDONTWRITEBYTECODE=1 SCHEMATHESIS_HOOKS=schemathesis_hooks \
        timeout --kill-after=10 "$((seconds + 90))" "$venv/bin/schemathesis" --no-color run "$location" \
        --checks "$checks" \
        --workers 1 \
        --max-time "$seconds" \
        --max-examples 50 \
        --request-timeout 10 \
        --generation-database none \
        --report junit --report-junit-path "${reports}/${name}.xml" \
        "${seed_args[@]}")
}

status=0
fuzz rest "$rest_seconds" "${base}/api/openapi.json" \
    not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    || { status=1; say "REST: failures above"; }
# Schemathesis' own GraphQL check takes Keygate's labelled answers (NOT_FOUND, FORBIDDEN) for
# server errors; scripts/schemathesis_hooks.py says what a server failure is here.
fuzz graphql "$graphql_seconds" "${base}/graphql" keygate_graphql_no_server_error \
    || { status=1; say "GraphQL: failures above"; }

# Still alive, still answering, and nothing panicked on the way.
if ! kill -0 "$server" 2>/dev/null; then
    status=1
    say "the server died"
elif [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${base}/healthz")" != 200 ]; then
    status=1
    say "the server no longer answers /healthz"
fi
if grep -q "panicked" "$work/server.log"; then
    status=1
    say "the server panicked:"
    grep -A3 "panicked" "$work/server.log" | head -40
fi
if [ "$status" != 0 ]; then
    say "server log (last 40 lines):"
    tail -n 40 "$work/server.log"
fi

elapsed=$((SECONDS - started))
if [ "$status" = 0 ]; then
    say "passed: REST and GraphQL fuzzed, no 5xx, every answer as documented, server alive (${elapsed}s)"
else
    say "FAILED (${elapsed}s); JUnit reports in ${reports#"$root"/}"
fi
exit "$status"
