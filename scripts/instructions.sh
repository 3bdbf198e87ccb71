#!/usr/bin/env bash
# Instructions per request, counted by callgrind: repeatable whatever else the machine runs, so
# this is the figure to compare before and after a change to the request path. A release Keygate
# as the README starts it (SQLite, no log setting, a valid cached token) runs under
# `valgrind --tool=callgrind`; one keep-alive client sends a warm-up, then for each call the
# counters are zeroed, N requests are sent and the counters are dumped. Prints instructions per
# request, and leaves the dumps (for `callgrind_annotate`) in the directory named last.
#
#   scripts/instructions.sh [REQUESTS]     (default: 2000 per call)
#   KEYGATE_BIN=/path/to/keygate scripts/instructions.sh
#   scripts/instructions.sh 2000 reference   the same calls on bench/reference, for comparison
#   KEYGATE_BENCH_RATE_LIMIT="default 1000000000/86400" scripts/instructions.sh
#                                            the same calls with a token held to that rate limit
#
# Needs valgrind (Debian: apt-get install valgrind) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
server="${2:-keygate}"
[[ "$server" == keygate || "$server" == reference ]] || { echo "usage: $0 [REQUESTS] [keygate|reference]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }

# KEYGATE_BIN=path measures another build (an earlier commit's) instead of building this one.
if [ -z "${KEYGATE_BIN:-}" ]; then cargo build --release -q -p keygate --bin keygate; fi
if [ "$server" = reference ]; then cargo build --release -q -p reference; fi
bin="${KEYGATE_BIN:-target/release/keygate}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

source scripts/bench-server.sh
port="$(free_port)"
bench_config "$work" "$port"
token="$(bench_token "$bin" "$work")"
if [ -n "${KEYGATE_BENCH_RATE_LIMIT:-}" ] && [ "$server" = keygate ]; then
  token="$(bench_limited_token "$bin" "$work" "$KEYGATE_BENCH_RATE_LIMIT")"
fi
if [ "$server" = reference ]; then
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
    target/release/reference "127.0.0.1:${port}" "$token" 2>"$work/serve.log" & pid=$!
else
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out.%p" \
    "$bin" --config "$work/keygate.toml" serve 2>"$work/serve.log" & pid=$!
fi
for _ in $(seq 600); do curl -s -o /dev/null "http://127.0.0.1:${port}/healthz" && break; sleep 0.1; done

cat > "$work/client.py" <<'PY'
import http.client, sys
port, token, call, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
body = ('{"token":"%s","workspace":"bench","permission":"devices:read","resource":"device:abc"}' % token)
c = http.client.HTTPConnection("127.0.0.1", port)
for _ in range(n):
    if call == "verify":
        c.request("POST", "/api/v1/verify", body, {"Content-Type": "application/json"})
    elif call == "forward":
        c.request("GET", "/auth/forward", headers={"Authorization": "Token " + token,
                  "X-Forwarded-Method": "GET", "X-Forwarded-Uri": "/w/bench/devices/abc"})
    else:
        c.request("GET", "/healthz")
    r = c.getresponse(); r.read()
    assert r.status == 200, (call, r.status)
PY
echo "callgrind, ${server}, ${n} requests per call on one keep-alive connection, $(date -u +%F)"
for call in healthz verify forward; do
  python3 "$work/client.py" "$port" "$token" "$call" 200
  callgrind_control -z "$pid" >/dev/null
  python3 "$work/client.py" "$port" "$token" "$call" "$n"
  callgrind_control -d "$call" "$pid" >/dev/null
  sleep 1
  dump="$(grep -l "^desc: Trigger: .*${call}\$" "$work"/callgrind.out.* | tail -1)"
  total="$(awk '/^summary:|^totals:/ {print $2; exit}' "$dump")"
  printf '%-8s %8d instructions per request\n' "$call" "$((total / n))"
  cp "$dump" "$work/$call.callgrind"
done
echo "dumps: $work/{healthz,verify,forward}.callgrind"
