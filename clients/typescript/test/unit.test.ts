// The pieces that need no Keygate: the token shape, cache keys, token transports, templates,
// refusals, base URLs, and the promise that the core runs on any platform with the Fetch API.

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { Guard, Rejection, Verifier, fill, isWellFormedToken, presentedToken } from "@keygate/client";

import { cacheKey } from "#internal/verifier.js";
import { fetchHeaderPairs } from "#internal/transport.js";

/** Tokens Keygate issued (from docs/api.md and a `keygate bootstrap`). */
const ISSUED = [
  "kga_YLJegIlRgRYdglQnOjOPh0IO3RV3PTfSh",
  "kga_KDVfXegkbr8taFBSB0Rb9AYW5PD3PMW4z",
  "kgp_AXuC4HvGM72g0vQNcpR54PU7CL70AfnIo",
];
const ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

test("issued tokens are well-formed, and every one-character change is not", () => {
  for (const token of ISSUED) {
    assert.ok(isWellFormedToken(token), token);
    for (let i = 0; i < token.length; i++) {
      for (const c of ["_", ...ALNUM]) {
        if (c === token.charAt(i)) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        assert.ok(!isWellFormedToken(changed), `${changed} passes`);
      }
    }
    assert.ok(!isWellFormedToken(token.slice(1)));
    assert.ok(!isWellFormedToken(token.slice(0, -1)));
    assert.ok(!isWellFormedToken(`${token}a`));
    assert.ok(!isWellFormedToken(` ${token}`));
  }
  for (const bad of ["", "kgt_", "kgt_abc", "KGT_YLJegIlRgRYdglQnOjOPh0IO3RV3PTfSh", "x".repeat(100_000)]) {
    assert.ok(!isWellFormedToken(bad), bad.slice(0, 40));
  }
});

test("cache keys tell every field apart and never hold the token", async () => {
  const base = { token: "kgt_a", workspace: "acme", permission: "devices:read", resource: "device:abc" };
  const variants = [
    base,
    { ...base, token: undefined },
    { ...base, token: "kgt_b" },
    { ...base, workspace: "other" },
    { ...base, permission: "devices:write" },
    { ...base, resource: undefined },
    { ...base, resource: "" },
    { ...base, clientIp: "203.0.113.7" },
    { ...base, clientIp: "198.51.100.1" },
    { ...base, cost: 0 },
    { ...base, cost: 1 },
    { ...base, clientIp: "1", cost: 1 },
    // Moving text between fields changes the key.
    { ...base, permission: "devices:readdevice:abc", resource: "" },
    { ...base, resource: "device:abc203.0.113.7", clientIp: "" },
    { token: "kgt_aacme", workspace: "", permission: "devices:read", resource: "device:abc" },
  ];
  const keys = await Promise.all(variants.map(cacheKey));
  assert.equal(new Set(keys).size, variants.length);
  assert.equal(await cacheKey({ ...base }), keys[0]);
  // No cost, or `null`, is the same question.
  assert.equal(await cacheKey({ ...base, cost: null }), keys[0]);
  for (const key of keys) {
    assert.match(key, /^[0-9a-f]{64}$/);
  }
  // The Rust client's key for the same question (SHA-256 of the same length-prefixed fields): a
  // question without a cost keeps it.
  const expected = await crypto.subtle.digest(
    "SHA-256",
    Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 5, ...new TextEncoder().encode("kgt_a"), 0, 0, 0, 0),
  );
  assert.equal(
    await cacheKey({ token: "kgt_a" }),
    Buffer.from(expected).toString("hex"),
  );
});

function token(headers: Array<[string, string]>, url = "/"): string | undefined {
  return presentedToken(headers, url);
}

function refusal(headers: Array<[string, string]>, url = "/"): string {
  try {
    presentedToken(headers, url);
  } catch (error) {
    assert.ok(error instanceof Rejection);
    assert.equal(error.status, 400);
    return error.code;
  }
  assert.fail("expected a refusal");
}

test("each transport is read, as Keygate reads it", () => {
  for (const [name, value] of [
    ["authorization", "Token abc"],
    ["Authorization", "token abc"],
    ["authorization", "Bearer abc"],
    ["authorization", "BEARER  abc "],
    ["API-KEY", "abc"],
    ["api-key", "abc"],
    ["X-API-Key", "abc"],
    ["x-api-key", " abc"],
  ] as const) {
    assert.equal(token([[name, value]]), "abc", `${name}: ${value}`);
  }
  assert.equal(token([]), undefined);
  assert.equal(token([["x-other", "abc"], ["cookie", "api_token=abc"]]), undefined);
  assert.equal(token([["authorization", "Token"]]), "");
});

test("URL tokens, two different tokens, other schemes and odd bytes are refused", () => {
  assert.equal(refusal([], "/devices/abc?x=1&api_token=abc"), "query_token_not_allowed");
  assert.equal(refusal([], "http://h/devices?a=1&api%5Ftoken=x"), "query_token_not_allowed");
  assert.equal(refusal([], "/d?api_token"), "query_token_not_allowed");
  for (const other of ["/d?api=1", "/d?api=1&token=2", "/d#api_token=1", "/d?xapi_token=1"]) {
    assert.equal(token([], other), undefined, other);
  }
  assert.equal(refusal([["authorization", "Token abc"], ["x-api-key", "def"]]), "conflicting_tokens");
  assert.equal(refusal([["authorization", "Token abc"], ["authorization", "Bearer def"]]), "conflicting_tokens");
  assert.equal(refusal([["api-key", "abc"]], "/?api_token=def"), "query_token_not_allowed");
  assert.equal(token([["authorization", "Bearer abc"], ["api-key", "abc"], ["X-Api-Key", "abc "]]), "abc");
  assert.equal(refusal([["authorization", "Basic dXNlcjpwYXNz"]]), "invalid_request");
  assert.equal(refusal([["authorization", "abc"]]), "invalid_request");
  assert.equal(refusal([["x-api-key", "abc\u00ff"]]), "invalid_request");
  assert.equal(refusal([["x-api-key", "abc\u0000"]]), "invalid_request");
  assert.equal(refusal([["authorization", "Token ab\u00e9"]]), "invalid_request");
  assert.equal(token([["x-api-key", "a\tb"]]), "a\tb");
});

test("Fetch API headers joined by the platform are split back into their lines", () => {
  const joined = new Headers();
  joined.append("authorization", "Token abc");
  joined.append("authorization", "Bearer def");
  joined.append("x-forwarded-for", "1.2.3.4");
  assert.deepEqual(fetchHeaderPairs(joined), [
    ["authorization", "Token abc"],
    ["authorization", "Bearer def"],
  ]);
  assert.equal(refusal(fetchHeaderPairs(joined)), "conflicting_tokens");
  const same = new Headers([["x-api-key", "abc"], ["api-key", "abc"]]);
  same.append("x-api-key", "abc");
  assert.equal(token(fetchHeaderPairs(same)), "abc");
});

test("templates are filled from path parameters, once", () => {
  const p = { id: "abc", ws: "acme", braces: "{ws}" };
  assert.equal(fill("device:{id}", p), "device:abc");
  assert.equal(fill("{ws}", p), "acme");
  assert.equal(fill("devices:read", p), "devices:read");
  assert.equal(fill("{ws}/{id}", p), "acme/abc");
  assert.equal(fill("a{{b}}{id}", p), "a{b}abc");
  assert.equal(fill("device:{braces}", p), "device:{ws}");
  for (const bad of ["device:{other}", "device:{id", "device:id}", "device:{toString}", "{__proto__}"]) {
    assert.throws(
      () => fill(bad, p),
      (e: unknown) => e instanceof Rejection && e.status === 500 && e.code === "guard_misconfigured" && e.message.includes(bad),
      bad,
    );
  }
  const verifier = new Verifier({ url: "http://127.0.0.1:1", workspace: "acme" });
  for (const bad of ["device:{id", "device:id}", "{"]) {
    assert.throws(() => new Guard(verifier, "devices:read", { resource: bad }), TypeError, bad);
    assert.throws(() => new Guard(verifier, bad), TypeError, bad);
  }
});

test("refusals carry Keygate's envelope and challenges", async () => {
  const forbidden = Rejection.forbidden("devices:delete", true);
  assert.deepEqual(forbidden.toJSON(), {
    error: { code: "forbidden", message: "missing permission `devices:delete`", permission: "devices:delete" },
  });
  assert.equal(
    JSON.stringify(Rejection.forbidden("device:xyz", false)),
    '{"error":{"code":"forbidden","message":"missing `device:xyz`"}}',
  );
  assert.deepEqual(Rejection.unauthenticated().headers(), {
    "content-type": "application/json",
    "www-authenticate": 'Token realm="keygate"',
  });
  for (const code of ["invalid_token", "token_expired", "token_revoked"] as const) {
    const r = Rejection.invalidToken(code);
    assert.equal(r.status, 401);
    assert.equal(r.challenge, 'Token realm="keygate", error="invalid_token"');
  }
  assert.equal(Rejection.invalidToken("token_expired").message, "the token has expired");
  assert.equal(Rejection.notAMember().challenge, undefined);
  const elsewhere = Rejection.ipNotAllowed();
  assert.equal(elsewhere.status, 403);
  assert.equal(elsewhere.challenge, undefined);
  assert.deepEqual(elsewhere.toJSON(), {
    error: { code: "ip_not_allowed", message: "this token may not be used from this address: its allowed_ips leave it out" },
  });
  const limited = Rejection.rateLimited({ limit: 100, remaining: 0, reset: 7 });
  assert.equal(limited.status, 429);
  assert.equal(limited.challenge, undefined);
  assert.deepEqual(limited.headers(), {
    "content-type": "application/json",
    "retry-after": "7",
    "ratelimit-limit": "100",
    "ratelimit-remaining": "0",
    "ratelimit-reset": "7",
  });
  assert.deepEqual(limited.toJSON(), {
    error: { code: "rate_limited", message: "this token has used its rate limit of 100 in this window; try again in 7 s" },
  });
  // A decision without `rate_limit` (not one Keygate gives): no headers to tell.
  const unknown = Rejection.rateLimited();
  assert.deepEqual(unknown.headers(), { "content-type": "application/json" });
  assert.equal(unknown.message, "this token has used its rate limit; try again later");
  const limitedResponse = limited.toResponse();
  assert.equal(limitedResponse.status, 429);
  assert.equal(limitedResponse.headers.get("Retry-After"), "7");
  assert.equal(limitedResponse.headers.get("RateLimit-Remaining"), "0");
  const response = Rejection.unavailable().toResponse();
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.deepEqual(await response.json(), {
    error: {
      code: "keygate_unavailable",
      message: "Keygate cannot be reached to verify this request; try again shortly",
    },
  });
});

test("base URLs and settings are checked", () => {
  for (const bad of ["", "not a url", "ftp://host", "http://h/?x=1", "http://h/#f", "http://h/?"]) {
    assert.throws(() => new Verifier({ url: bad }), TypeError, bad);
  }
  for (const [base, endpoint] of [
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/verify"],
    ["http://h:1/", "http://h:1/api/v1/verify"],
    ["http://h/keygate", "http://h/keygate/api/v1/verify"],
    ["https://h/keygate/", "https://h/keygate/api/v1/verify"],
  ] as const) {
    assert.equal(new Verifier({ url: base }).endpoint, endpoint);
  }
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => new Verifier({ url: "http://h", cacheTtlMs: bad }), RangeError);
    assert.throws(() => new Verifier({ url: "http://h", timeoutMs: bad }), RangeError);
  }
});

test("the package uses no Node-only API, so it runs on Deno, Bun and edge runtimes", () => {
  const dist = fileURLToPath(new URL("../../dist/", import.meta.url));
  const files = readdirSync(dist).filter((f) => f.endsWith(".js"));
  assert.ok(files.includes("index.js") && files.includes("express.js"), files.join(" "));
  for (const file of files) {
    const code = readFileSync(dist + file, "utf8");
    for (const nodeOnly of [/from\s+["']node:/, /from\s+["'](fs|http|net|crypto|path|os|url|buffer)["']/, /\brequire\(/, /\bprocess\./, /\bBuffer\b/, /__dirname/, /\bimport\s*\(/]) {
      assert.doesNotMatch(code, nodeOnly, `${file} uses ${nodeOnly}`);
    }
    for (const spec of code.matchAll(/from\s+["']([^"']+)["']/g)) {
      assert.match(spec[1] ?? "", /^\.\/[a-z]+\.js$/, `${file} imports ${spec[1]}: the package has no dependencies`);
    }
  }
  const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  assert.equal(manifest.dependencies, undefined);
  assert.equal(manifest.peerDependencies, undefined);
});
