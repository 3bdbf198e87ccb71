#!/usr/bin/env bash
# Load benchmark on loopback, in one run: `GET /healthz`, `POST /api/v1/verify` and
# `/auth/forward` of a release Keygate (SQLite, valid cached token), and the same two calls on the
# reference server in bench/reference (plain axum: parse, SHA-256, hash-map lookup, answer), with
# wrk over HTTP/1.1 keep-alive: requests/s at 32 connections, p99 latency at 4 connections, and the
# ratios Keygate / reference of both. The servers are measured in turns over several rounds (the
# one measured first alternating), and the ratios are of the rounds together: requests/s summed
# over the rounds, p99 the median round's; each round's own ratio is printed too. Keygate runs as the README starts it: no log setting (the
# default `info`, access log off). At the end, the resident memory of the Keygate server after the
# load: VmRSS once it has settled (as scripts/memory.sh reads it) and the peak, VmHWM.
#
#   scripts/load.sh [SECONDS] [ROUNDS]     (default: 5 s per measurement, 5 rounds)
#
# Needs wrk (Debian: apt-get install wrk).
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-5}"
rounds="${2:-5}"
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
measure() { # name url script round -> rps at 32 connections, p99 at 4 connections (microseconds)
  local busy quiet
  busy="$(wrk -t2 -c32 -d"${duration}s" -s "$3" "$2")"
  quiet="$(wrk -t1 -c4 -d"${duration}s" --latency -s "$3" "$2")"
  awk '/Requests\/sec/ {print $2}' <<<"$busy" > "$work/$1.$4.rps"
  # wrk prints 812.00us, 1.02ms or 1.10s: kept in microseconds.
  awk '$1=="99%" {v = $2 + 0; if ($2 ~ /us$/) {} else if ($2 ~ /ms$/) v *= 1000; else if ($2 ~ /s$/) v *= 1000000; print v}' \
    <<<"$quiet" > "$work/$1.$4.p99"
}

# The two servers take turns, call by call, and the one measured first alternates from round to
# round: whatever else slows the machine for a while falls on both.
echo "wrk ${duration}s per measurement, ${rounds} rounds, loopback, $(nproc) cores, $(date -u +%F)"
for round in $(seq "$rounds"); do
  for kind in healthz verify forward; do
    case "$kind" in
      healthz) path=/healthz; script="$work/none.lua" ;;
      verify) path=/api/v1/verify; script="$work/verify.lua" ;;
      forward) path=/auth/forward; script="$work/forward.lua" ;;
    esac
    order=(keygate reference)
    (( round % 2 == 0 )) && order=(reference keygate)
    for server in "${order[@]}"; do
      port="$kg_port"; [[ "$server" == reference ]] && port="$ref_port"
      measure "$server-$kind" "http://127.0.0.1:${port}${path}" "$script" "$round"
    done
  done
  echo "round $round done"
done
python3 - "$work" "$rounds" <<'PY'
import statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
read = lambda name, r: float(open(f"{work}/{name}.{r}").read())
for kind in ("healthz", "verify", "forward"):
    kg = [read(f"keygate-{kind}", f"{r}.rps") for r in range(1, rounds + 1)]
    ref = [read(f"reference-{kind}", f"{r}.rps") for r in range(1, rounds + 1)]
    kp99 = statistics.median(read(f"keygate-{kind}", f"{r}.p99") for r in range(1, rounds + 1))
    rp99 = statistics.median(read(f"reference-{kind}", f"{r}.p99") for r in range(1, rounds + 1))
    each = ", ".join(f"{k / r * 100:.1f}%" for k, r in zip(kg, ref))
    print(f"{kind:8s} requests/s (median of {rounds}) keygate {statistics.median(kg):.0f}, "
          f"reference {statistics.median(ref):.0f}, keygate / reference = "
          f"{sum(kg) / sum(ref) * 100:.1f}% (rounds: {each})")
    print(f"{'':8s} p99 at 4 connections (median) keygate {kp99 / 1000:.3f} ms, "
          f"reference {rp99 / 1000:.3f} ms, keygate / reference = {kp99 / rp99:.2f}")
PY

# Once the allocator has handed freed memory back (scripts/resident.sh).
source scripts/resident.sh
rss="$(settled_rss "$kg_pid")"
echo "keygate serve after the load, settled: VmRSS $(mib "$rss"), peak VmHWM $(mib "$(status "$kg_pid" VmHWM)") (target: at most 40 MB)"
