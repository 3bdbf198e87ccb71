#!/usr/bin/env bash
# Resident memory of a release `keygate serve` with 1 000 000 tokens in the database and 100 000
# of them in the verification cache (SPEC §7 target: at most 100 MB).
#
#   scripts/memory.sh              SQLite, seeded once into target/bench-data/memory/ and reused
#   KEYGATE_MEMORY_DATABASE_URL=postgres://postgres@127.0.0.1:5432/keygate_memory scripts/memory.sh
#                                  PostgreSQL: an empty database, seeded on first use
#
# Keygate runs as the README starts it, with no log setting (the default `info`, access log off);
# only the cache is sized for the run.
#
# Steps: seed with bench/seed (1 000 workspaces, 10 API users each, 1 000 000 tokens; a sample of
# 100 000 clear tokens in a file beside the database), start `keygate serve` with a cache of
# 100 000 tokens (and a time to live long enough for the whole run), verify the 100 000 sampled
# tokens through `POST /api/v1/verify` from 8 concurrent keep-alive connections, verify them all
# once more, and check on `/metrics` that the first pass missed the cache 100 000 times, the
# second hit it 100 000 times and nothing was evicted: the cache holds all 100 000. Then print
# VmRSS of the server from /proc once it has settled (the allocator returns freed memory a few
# seconds after the load), and the peak, VmHWM.
set -euo pipefail
cd "$(dirname "$0")/.."

tokens="${KEYGATE_MEMORY_TOKENS:-1000000}"
sample="${KEYGATE_MEMORY_SAMPLE:-100000}"
cache="${KEYGATE_MEMORY_CACHE:-100000}"

# KEYGATE_MEMORY_NO_BUILD=1 uses the release binaries already in target/release; KEYGATE_BIN
# names another Keygate binary to measure (it is not built).
build() { [[ -n "${KEYGATE_MEMORY_NO_BUILD:-}" ]] || cargo build --release -q "$@"; }
[[ -n "${KEYGATE_BIN:-}" ]] || build -p keygate --bin keygate
bin="${KEYGATE_BIN:-target/release/keygate}"

data=target/bench-data/memory
mkdir -p "$data"
if [[ -n "${KEYGATE_MEMORY_DATABASE_URL:-}" ]]; then
  url="$KEYGATE_MEMORY_DATABASE_URL"
  sample_file="$data/postgres-${url##*/}.tokens"
else
  url="sqlite://$PWD/$data/memory.db"
  sample_file="$data/memory.tokens"
fi
if [[ ! -s "$sample_file" ]]; then
  if [[ -z "${KEYGATE_MEMORY_DATABASE_URL:-}" ]]; then
    rm -f "$data/memory.db" "$data/memory.db-wal" "$data/memory.db-shm"
  fi
  rm -f "$sample_file.partial"
  build -p seed
  target/release/seed --database-url "$url" --tokens "$tokens" --sample "$sample" \
    --sample-file "$sample_file.partial"
  mv "$sample_file.partial" "$sample_file"
else
  echo "reusing the seeded database ($url) and its sample ($sample_file)"
fi

work="$(mktemp -d)"
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
cat > "$work/keygate.toml" <<TOML
bind = "127.0.0.1:${port}"
database_url = "${url}"
cache_max_tokens = ${cache}
# Long enough that no entry expires during the run.
cache_ttl_seconds = 3600
TOML
"$bin" --config "$work/keygate.toml" serve 2>"$work/serve.log" & pid=$!
for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:${port}/healthz" && break; sleep 0.1; done

source scripts/resident.sh
echo "server started: VmRSS $(mib "$(status "$pid" VmRSS)")"

# The memory is read and printed even when the cache check fails (as it must with a small cache).
check=0
python3 - "$port" "$sample_file" <<'PY' || check=$?
import http.client, json, re, sys, threading, time

port, path = int(sys.argv[1]), sys.argv[2]
sample = [line.split() for line in open(path) if line.strip()]

def metrics():
    c = http.client.HTTPConnection("127.0.0.1", port)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    def value(pattern):
        return sum(float(m) for m in re.findall("^" + pattern + r"\S* (\S+)$", text, re.M))
    return {
        "miss": value(r'keygate_cache_lookups_total\{(?=[^}]*cache="decisions")(?=[^}]*result="miss")'),
        "hit": value(r'keygate_cache_lookups_total\{(?=[^}]*cache="decisions")(?=[^}]*result="hit")'),
        "evicted": value(r"keygate_cache_evictions_total"),
    }

def run(label):
    errors, invalid = [], [0]
    def worker(part):
        c = http.client.HTTPConnection("127.0.0.1", port)
        for token, slug in part:
            body = json.dumps({"token": token, "workspace": slug,
                               "permission": "devices:read", "resource": "device:abc"})
            c.request("POST", "/api/v1/verify", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            answer = r.read()
            if r.status != 200:
                errors.append(r.status)
            elif not json.loads(answer)["valid"]:
                invalid[0] += 1
        c.close()
    threads = [threading.Thread(target=worker, args=(sample[i::8],)) for i in range(8)]
    start = time.time()
    for t in threads: t.start()
    for t in threads: t.join()
    took = time.time() - start
    print(f"{label}: {len(sample)} verifications in {took:.1f} s "
          f"({len(sample) / took:.0f}/s), {invalid[0]} not valid, {len(errors)} errors")
    if errors or invalid[0]:
        sys.exit("every sampled token must verify")

before = metrics()
run("pass 1 (cache cold)")
middle = metrics()
run("pass 2 (cache warm)")
after = metrics()
misses, hits = middle["miss"] - before["miss"], after["hit"] - middle["hit"]
again = after["miss"] - middle["miss"]
evicted = after["evicted"] - before["evicted"]
print(f"decision cache: pass 1 missed {misses:.0f}; pass 2 hit {hits:.0f}, missed {again:.0f}; "
      f"evictions {evicted:.0f}")
if again or hits < len(sample):
    sys.exit(f"the cache does not hold all {len(sample)} tokens")
PY

# Once the allocator has handed freed memory back (scripts/resident.sh).
rss="$(settled_rss "$pid")"
hwm="$(status "$pid" VmHWM)"
case "$url" in sqlite:*) size="$(du -sh "$data" | cut -f1) on disk";; *) size="PostgreSQL";; esac
echo "database: $url ($size), $tokens tokens; cache_max_tokens = $cache; $(wc -l <"$sample_file") distinct tokens verified"
echo "keygate serve, settled: VmRSS $(mib "$rss"), peak VmHWM $(mib "$hwm") (target: at most 100 MB)"
exit "$check"
