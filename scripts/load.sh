#!/usr/bin/env bash
# Load benchmark on loopback, in one run: `GET /healthz`, `POST /api/v1/verify` and
# `/auth/forward` of a release Keygate (SQLite, valid cached token), and the same two calls on the
# reference server in bench/reference (plain axum: parse, SHA-256, hash-map lookup, answer), with
# wrk over HTTP/1.1 keep-alive: requests/s at 32 connections, p99 latency at 4 connections, and the
# ratios Keygate / reference of both. Keygate runs as the README starts it: no log setting (the
# default `info`, access log off). At the end, the resident memory of the Keygate server after the
# load: VmRSS once it has settled (as scripts/memory.sh reads it) and the peak, VmHWM.
#
#   scripts/load.sh [SECONDS]     (default: 10 s per measurement)
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-10}"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 1; }

# KEYGATE_LOAD_NO_BUILD=1 uses the release binaries already in target/release; KEYGATE_BIN names
# another Keygate binary to measure (it is not built).
build() { [[ -n "${KEYGATE_LOAD_NO_BUILD:-}" ]] || cargo build --release -q "$@"; }
[[ -n "${KEYGATE_BIN:-}" ]] || build -p keygate --bin keygate
build -p reference
bin="${KEYGATE_BIN:-target/release/keygate}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

source scripts/bench-server.sh
kg_port="$(free_port)"
ref_port="$(free_port)"
bench_config "$work" "$kg_port"
token="$(bench_token "$bin" "$work")"
"$bin" --config "$work/keygate.toml" serve 2>"$work/serve.log" & pids+=($!)
kg_pid=$!
target/release/reference "127.0.0.1:${ref_port}" "$token" & pids+=($!)
for port in "$kg_port" "$ref_port"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:${port}/healthz" && break; sleep 0.1; done
done

cat > "$work/verify.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"token":"${token}","workspace":"bench","permission":"devices:read","resource":"device:abc"}'
LUA
cat > "$work/forward.lua" <<LUA
wrk.headers["Authorization"] = "Token ${token}"
wrk.headers["X-Forwarded-Method"] = "GET"
wrk.headers["X-Forwarded-Uri"] = "/w/bench/devices/abc"
LUA

touch "$work/none.lua"
measure() { # name url script -> one line: rps at 32 connections, p99 at 4 connections
  local busy quiet rps p99
  busy="$(wrk -t2 -c32 -d"${duration}s" -s "$3" "$2")"
  quiet="$(wrk -t1 -c4 -d"${duration}s" --latency -s "$3" "$2")"
  rps="$(awk '/Requests\/sec/ {print $2}' <<<"$busy")"
  p99="$(awk '$1=="99%" {print $2}' <<<"$quiet")"
  printf '%-20s %12s req/s (32 conn)   p99 %8s (4 conn)\n' "$1" "$rps" "$p99"
  echo "$rps" > "$work/$1.rps"
  # wrk prints 812.00us, 1.02ms or 1.10s: kept in microseconds.
  awk '{v = $1 + 0; if ($1 ~ /us$/) {} else if ($1 ~ /ms$/) v *= 1000; else if ($1 ~ /s$/) v *= 1000000; print v}' \
    <<<"$p99" > "$work/$1.p99"
}

echo "wrk ${duration}s per measurement, loopback, $(nproc) cores, $(date -u +%F)"
measure keygate-healthz "http://127.0.0.1:${kg_port}/healthz" "$work/none.lua"
measure reference-healthz "http://127.0.0.1:${ref_port}/healthz" "$work/none.lua"
measure keygate-verify "http://127.0.0.1:${kg_port}/api/v1/verify" "$work/verify.lua"
measure reference-verify "http://127.0.0.1:${ref_port}/api/v1/verify" "$work/verify.lua"
measure keygate-forward "http://127.0.0.1:${kg_port}/auth/forward" "$work/forward.lua"
measure reference-forward "http://127.0.0.1:${ref_port}/auth/forward" "$work/forward.lua"
for kind in healthz verify forward; do
  python3 - "$work" "$kind" <<'PY'
import sys
work, kind = sys.argv[1:]
read = lambda name: float(open(f"{work}/{name}").read())
rps = read(f"keygate-{kind}.rps") / read(f"reference-{kind}.rps")
kp99, rp99 = read(f"keygate-{kind}.p99"), read(f"reference-{kind}.p99")
print(f"{kind:8s} requests/s keygate / reference = {rps * 100:.1f}%   "
      f"p99 keygate {kp99 / 1000:.3f} ms, reference {rp99 / 1000:.3f} ms, "
      f"keygate / reference = {kp99 / rp99:.2f}")
PY
done

# Once the allocator has handed freed memory back (scripts/resident.sh).
source scripts/resident.sh
rss="$(settled_rss "$kg_pid")"
echo "keygate serve after the load, settled: VmRSS $(mib "$rss"), peak VmHWM $(mib "$(status "$kg_pid" VmHWM)") (target: at most 40 MB)"
