#!/usr/bin/env bash
# The TypeScript client's checks, from scratch: the locked dependencies (`npm ci`, the only step
# that uses the network), the strict type check and build (tsc), the packed package as an app
# installs it, then the tests with Node's test runner against the real `keygate` binary, taken
# from KEYGATE_BIN (default: target/debug/keygate at the repository root).
set -euo pipefail
export CI=true

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${KEYGATE_BIN:-$root/target/debug/keygate}"
case "$bin" in
    /*) ;;
    *) bin="$PWD/$bin" ;;
esac
if [ ! -x "$bin" ]; then
    echo "no Keygate binary at $bin: build it with \`cargo build -p keygate --bin keygate\` or set KEYGATE_BIN" >&2
    exit 1
fi
export KEYGATE_BIN="$bin"

node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$node_major" -lt 20 ]; then
    echo "Node 20 or later is needed; this is $(node --version)" >&2
    exit 1
fi

cd "$here"
step() { printf '\n== %s\n' "$*"; }

step "npm ci"
nice -n 19 npm ci --no-audit --no-fund < /dev/null

step "tsc: the package (strict, no Node types)"
rm -rf dist build
nice -n 19 npx --no-install tsc -p tsconfig.json < /dev/null

step "tsc: the examples and the tests"
nice -n 19 npx --no-install tsc -p tsconfig.test.json < /dev/null

step "the packed package, installed in an app without Node's types"
app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
npm pack --silent --ignore-scripts --pack-destination "$app" < /dev/null > /dev/null
cat > "$app/package.json" <<'JSON'
{ "name": "app", "version": "1.0.0", "private": true, "type": "module" }
JSON
cat > "$app/app.ts" <<'TS'
import { Guard, Verifier, type GuardDecision } from "@keygate/client";
import { guardMiddleware } from "@keygate/client/express";

const keygate = new Verifier({ url: "http://127.0.0.1:8080", workspace: "acme" });
const read = new Guard(keygate, "devices:read", { resource: "device:{id}" });
export const middleware = guardMiddleware(read);
export async function handle(request: Request): Promise<Response> {
  const decision: GuardDecision = await read.check(request, { id: "abc" });
  if (!decision.allowed) return decision.response;
  return new Response(decision.identity.user?.displayName ?? "anonymous");
}
TS
cat > "$app/tsconfig.json" <<'JSON'
{ "compilerOptions": { "strict": true, "module": "NodeNext", "moduleResolution": "NodeNext",
  "target": "ES2022", "lib": ["ES2022", "DOM", "DOM.Iterable"], "types": [], "noEmit": true } }
JSON
(cd "$app" && npm install --offline --no-audit --no-fund --silent ./keygate-client-*.tgz < /dev/null)
nice -n 19 "$here/node_modules/.bin/tsc" -p "$app/tsconfig.json" < /dev/null
(cd "$app" && node --input-type=module -e '
    const { Verifier, Guard } = await import("@keygate/client");
    const { guardMiddleware } = await import("@keygate/client/express");
    if (typeof Verifier !== "function" || typeof Guard !== "function" || typeof guardMiddleware !== "function") {
        throw new Error("the packed package lacks its exports");
    }' < /dev/null)
echo "ok"

step "node --test (Keygate: $KEYGATE_BIN)"
nice -n 19 node --test --test-concurrency=1 --test-timeout=120000 \
    build/test/unit.test.js build/test/docs.test.js build/test/fake.test.js build/test/real.test.js < /dev/null
