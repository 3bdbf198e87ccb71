// The documented examples (Express, Hono, a Next.js route handler) against a real Keygate: every
// test runs each of them, and checks the status, envelope and challenge the Rust guard answers.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { Guard, VerifyError, isWellFormedToken } from "@keygate/client";
import { Hono } from "hono";

import { checksum } from "#internal/token.js";
import { answerOf, countingVerifier, expressApi, honoApi, nextApi, type Api, type Line } from "./support/apps.js";
import type { Answer } from "./support/http.js";
import { keygateBinary, startKeygate, type Keygate } from "./support/keygate.js";

const CHALLENGE = 'Token realm="keygate"';
const CHALLENGE_INVALID = 'Token realm="keygate", error="invalid_token"';

let keygate: Keygate;
/** The API user `gateway`: devices:read on device:abc only. */
let gateway: { id: string; token: string; tokenId: string };
/** The API user `sensor`, as `gateway`; its token is revoked by one test. */
let sensor: { id: string; token: string; tokenId: string };
/** Every secret of the run, searched for in every answer and log line. */
const secrets: string[] = [];
/** Every line the verifiers logged (console.warn and console.error are captured). */
const logged: string[] = [];
const { warn, error } = console;

before(async () => {
  console.warn = (...args: unknown[]) => void logged.push(args.join(" "));
  console.error = (...args: unknown[]) => void logged.push(args.join(" "));
  keygate = await startKeygate();
  secrets.push(keygate.ownerToken);
  await keygate.owner("POST", "/api/v1/workspaces/acme/roles", {
    name: "device-reader",
    permissions: ["devices:read"],
  });
  const made = async (name: string) => {
    const user = await keygate.owner("POST", "/api/v1/workspaces/acme/api-users", {
      name,
      roles: ["device-reader"],
      grants: ["device:abc"],
    });
    secrets.push(user.token.token);
    return { id: user.id as string, token: user.token.token as string, tokenId: user.token.id as string };
  };
  gateway = await made("gateway");
  sensor = await made("sensor");
});

after(async () => {
  console.warn = warn;
  console.error = error;
  await keygate?.stop();
  const all = logged.join("\n");
  for (const secret of secrets) {
    assert.ok(!all.includes(secret), "a log line shows a token");
  }
});

/** The three examples, each with a verifier of its own. */
async function apis(url = keygate.url): Promise<Api[]> {
  return [await expressApi(url), honoApi(url), await nextApi(url)];
}

/** Runs `check` on each example, naming the example in failures, and closes them. */
async function eachApi(check: (api: Api) => Promise<void>, made?: Api[]): Promise<void> {
  const list = made ?? (await apis());
  try {
    for (const api of list) {
      await check(api).catch((e: unknown) => {
        if (e instanceof Error) e.message = `[${api.name}] ${e.message}`;
        throw e;
      });
    }
  } finally {
    await Promise.all(list.map((api) => api.close()));
  }
}

/** Asserts a refusal: status, `error.code`, a message, and no token anywhere in the answer. */
function refused(got: Answer, status: number, code: string): void {
  assert.equal(got.status, status, got.text);
  assert.equal(got.json?.error?.code, code, got.text);
  assert.ok(typeof got.json.error.message === "string" && got.json.error.message !== "", got.text);
  assert.match(got.headers["content-type"] ?? "", /^application\/json/);
  clean(got);
}

function clean(got: Answer): void {
  for (const secret of secrets) {
    assert.ok(!got.text.includes(secret), `the answer shows a token: ${got.text}`);
  }
}

const bearer = (token: string): Line => ["Authorization", `Bearer ${token}`];

/** A token of the right shape and checksum that Keygate never issued. */
function unknownToken(): string {
  const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  let body = "kgt_";
  for (let i = 0; i < 27; i++) body += alphabet.charAt(Math.floor(Math.random() * 62));
  return body + checksum(body);
}

/** `token` with its last character changed: the checksum no longer matches. */
function mistyped(token: string): string {
  return token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
}

async function eventually(within: number, check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + within;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("an allowed request reaches the handler, by every transport, with one call to Keygate", async () => {
  await eachApi(async (api) => {
    for (const line of [
      ["Authorization", `Token ${gateway.token}`],
      ["authorization", `bearer ${gateway.token}`],
      ["Authorization", `BEARER   ${gateway.token} `],
      ["API-KEY", gateway.token],
      ["api-key", gateway.token],
      ["X-API-Key", ` ${gateway.token}`],
    ] as const) {
      const got = await api.get("/devices/abc", [line]);
      assert.equal(got.status, 200, `${line[0]}: ${got.text}`);
      assert.equal(got.text, "hello gateway");
    }
    assert.equal(api.calls(), 1, "six identical questions, one call");
  });
});

test("another resource is forbidden, naming the resource", async () => {
  await eachApi(async (api) => {
    const got = await api.get("/devices/xyz", [bearer(gateway.token)]);
    refused(got, 403, "forbidden");
    assert.equal(got.json.error.message, "missing `device:xyz`");
    assert.equal(got.json.error.permission, undefined);
    assert.equal(got.headers["www-authenticate"], undefined);
  });
});

test("no token and no public role: 401 asking for a token", async () => {
  await eachApi(async (api) => {
    for (const path of ["/devices/abc", "/devices/demo"]) {
      const got = await api.get(path);
      refused(got, 401, "unauthenticated");
      assert.equal(got.json.error.message, "this endpoint needs a token");
      assert.equal(got.headers["www-authenticate"], CHALLENGE);
    }
    assert.equal(api.calls(), 2);
  });
});

test("an unknown token is asked about and refused with the invalid_token challenge", async () => {
  await eachApi(async (api) => {
    const got = await api.get("/devices/abc", [["X-API-Key", unknownToken()]]);
    refused(got, 401, "invalid_token");
    assert.equal(got.json.error.message, "the token is malformed, unknown or no longer valid");
    assert.equal(got.headers["www-authenticate"], CHALLENGE_INVALID);
    assert.equal(api.calls(), 1);
  });
});

test("a malformed token is refused with 401 without a call", async () => {
  await eachApi(async (api) => {
    for (const token of [
      mistyped(gateway.token),
      gateway.token.slice(0, -1),
      `${gateway.token}0`,
      gateway.token.toUpperCase(),
      "kgt_short",
      "not a token at all",
      `Token ${gateway.token}`, // "Authorization: Token Token <t>", nested
      JSON.stringify({ token: { token: gateway.token } }),
      "x".repeat(8_000),
    ]) {
      const got = await api.get("/devices/abc", [["Authorization", `Token ${token}`]]);
      refused(got, 401, "invalid_token");
      assert.equal(got.headers["www-authenticate"], CHALLENGE_INVALID);
    }
    // An empty token is a presented token, not an anonymous request.
    for (const line of [["Authorization", "Bearer"], ["Authorization", "Token "], ["X-API-Key", ""]] as const) {
      refused(await api.get("/devices/abc", [line]), 401, "invalid_token");
    }
    assert.equal(api.calls(), 0, "a malformed token was sent to Keygate");
  });
});

test("transport rules: two different tokens, another scheme, a URL token, odd bytes are 400 without a call", async () => {
  const other = sensor.token;
  await eachApi(async (api) => {
    const cases: Array<[string, readonly Line[], string]> = [
      ["/devices/abc", [bearer(gateway.token), ["X-API-Key", other]], "conflicting_tokens"],
      ["/devices/abc", [["API-KEY", gateway.token], ["X-API-Key", other]], "conflicting_tokens"],
      ["/devices/abc", [bearer(gateway.token), bearer(other)], "conflicting_tokens"],
      ["/devices/abc", [["X-API-Key", gateway.token], ["X-API-Key", other]], "conflicting_tokens"],
      ["/devices/abc", [bearer(gateway.token), ["X-API-Key", mistyped(gateway.token)]], "conflicting_tokens"],
      ["/devices/abc", [["Authorization", "Basic dXNlcjpwYXNz"]], "invalid_request"],
      ["/devices/abc", [["Authorization", gateway.token]], "invalid_request"],
      ["/devices/abc", [["X-API-Key", Buffer.from([0x61, 0x62, 0xff])]], "invalid_request"],
      ["/devices/abc", [["Authorization", Buffer.concat([Buffer.from("Token "), Buffer.from("é", "utf8")])]], "invalid_request"],
      [`/devices/abc?api_token=${gateway.token}`, [], "query_token_not_allowed"],
      [`/devices/abc?x=1&api%5Ftoken=${gateway.token}`, [bearer(gateway.token)], "query_token_not_allowed"],
      ["/devices/abc?api_token=", [], "query_token_not_allowed"],
    ];
    for (const [path, lines, code] of cases) {
      const got = await api.get(path, lines);
      refused(got, 400, code);
      assert.equal(got.headers["www-authenticate"], undefined);
    }
    assert.equal(api.calls(), 0);
    // The same token twice is one token.
    const same = await api.get("/devices/abc", [bearer(gateway.token), ["X-API-Key", gateway.token], ["api-key", gateway.token]]);
    assert.equal(same.status, 200, same.text);
    assert.equal(api.calls(), 1);
  });
});

test("forged proxy and identity headers change nothing that is checked", async () => {
  await eachApi(async (api) => {
    const forged: Line[] = [
      ["X-Forwarded-Method", "GET"],
      ["X-Forwarded-Uri", "/devices/abc"],
      ["X-Original-Method", "GET"],
      ["X-Original-URI", "/devices/abc"],
      ["X-Forwarded-Host", "keygate.internal"],
      ["X-Forwarded-Proto", "https"],
      ["X-Forwarded-For", "127.0.0.1"],
      ["X-Keygate-User", gateway.id],
      ["X-Keygate-Workspace", "acme"],
      ["X-Keygate-Token-Id", gateway.tokenId],
    ];
    const elsewhere = await api.get("/devices/xyz", [bearer(gateway.token), ...forged]);
    refused(elsewhere, 403, "forbidden");
    assert.equal(elsewhere.json.error.message, "missing `device:xyz`");
    refused(await api.get("/devices/abc", forged), 401, "unauthenticated");
  });
});

test("path input is judged as given: wildcards, traversal, braces and oversized ids get no further", async () => {
  await eachApi(async (api) => {
    const token = [bearer(gateway.token)];
    for (const [path, missing] of [
      ["/devices/%2A", "device:*"],
      ["/devices/*", "device:*"],
      ["/devices/abc%2F..%2Fxyz", "device:abc/../xyz"],
      ["/devices/abc%2F%2A", "device:abc/*"],
      ["/devices/%7Bid%7D", "device:{id}"],
      ["/devices/abc%20", "device:abc "],
      ["/devices/ABC", "device:ABC"],
    ] as const) {
      const got = await api.get(path, token);
      refused(got, 403, "forbidden");
      assert.equal(got.json.error.message, `missing \`${missing}\``, path);
    }
    // A control character makes no resource: Keygate refuses the question, and so the guard the
    // request, with 400.
    refused(await api.get("/devices/abc%00", token), 400, "invalid_request");
    // Malformed percent-encoding: Express refuses it before any middleware runs (its own 400);
    // Hono and Next.js hand the raw text on, which no grant reaches.
    const broken = await api.get("/devices/%E0%A4%A", token);
    if (api.name === "express") {
      assert.equal(broken.status, 400, broken.text);
    } else {
      refused(broken, 403, "forbidden");
    }
    // An id too long for a question Keygate accepts (64 KiB): Keygate refuses the question, and
    // so the guard refuses the request with 400. Node's HTTP server refuses such a URL itself.
    const huge = await api.get(`/devices/${"a".repeat(70_000)}`, token);
    if (api.name === "express") {
      assert.equal(huge.status, 431, `${huge.status}`);
    } else {
      refused(huge, 400, "invalid_request");
      assert.equal(huge.json.error.message, "the request is too large to verify");
    }
    // The API still answers.
    assert.equal((await api.get("/devices/abc", token)).status, 200);
  });
});

test("huge header values are refused cleanly", async () => {
  await eachApi(async (api) => {
    const big = "k".repeat(64 * 1024);
    const got = await api.get("/devices/abc", [["X-API-Key", big]]);
    if (api.name === "express") {
      // Node's HTTP server refuses headers over 16 KiB before any application code runs.
      assert.equal(got.status, 431);
    } else {
      refused(got, 401, "invalid_token");
    }
    const nested = await api.get("/devices/abc", [["Authorization", `Bearer ${"Bearer ".repeat(1000)}${gateway.token}`]]);
    refused(nested, 401, "invalid_token");
    const many: Line[] = Array.from({ length: 50 }, () => bearer(gateway.token));
    const repeated = await api.get("/devices/abc", many);
    assert.equal(repeated.status, 200, repeated.text);
    assert.equal(api.calls(), 1);
    assert.equal((await api.get("/devices/abc", [bearer(gateway.token)])).status, 200);
  });
});

test("anonymous callers: the public role decides", async () => {
  await keygate.owner("PUT", "/api/v1/workspaces/acme/roles/public", {
    permissions: ["devices:read"],
    grants: ["device:demo"],
  });
  try {
    await eachApi(async (api) => {
      const demo = await api.get("/devices/demo");
      assert.equal(demo.status, 200, demo.text);
      assert.equal(demo.text, "hello anonymous");
      const abc = await api.get("/devices/abc");
      refused(abc, 401, "unauthenticated");
      assert.equal(abc.headers["www-authenticate"], CHALLENGE);
      // A token holder also gets what the public role opens.
      const both = await api.get("/devices/demo", [bearer(gateway.token)]);
      assert.equal(both.status, 200, both.text);
      assert.equal(both.text, "hello gateway");
    });
  } finally {
    await keygate.owner("PUT", "/api/v1/workspaces/acme/roles/public", { permissions: [] });
  }
  // Closed again: fresh verifiers ask, and anonymous callers are refused.
  await eachApi(async (api) => refused(await api.get("/devices/demo"), 401, "unauthenticated"));
});

test("the identity, other permissions, other workspaces and questions Keygate refuses", async () => {
  const { verifier, calls } = countingVerifier(keygate.url);
  const app = new Hono();
  const show = new Guard(verifier, "devices:read", { resource: "device:{id}" });
  const remove = new Guard(verifier, "devices:delete", { resource: "device:{id}" });
  const inWorkspace = new Guard(verifier, "devices:read", {
    workspace: "{ws}",
    resource: (p) => (p.id === undefined ? undefined : `device:${p.id}`),
  });
  const byArea = new Guard(verifier, "{area}:read");
  const broken = new Guard(verifier, "devices:read", { resource: "device:{nope}" });
  for (const [method, path, guard] of [
    ["GET", "/devices/:id", show],
    ["DELETE", "/devices/:id", remove],
    ["GET", "/w/:ws/devices/:id", inWorkspace],
    ["GET", "/areas/:area", byArea],
    ["GET", "/broken/:id", broken],
  ] as const) {
    app.on(method, path, async (c) => {
      const decision = await guard.check(c.req.raw, c.req.param());
      if (!decision.allowed) return decision.response;
      return c.json(decision.identity);
    });
  }
  const call = async (method: string, path: string, token?: string) =>
    answerOf(
      await app.fetch(
        new Request(`http://api.test${path}`, {
          method,
          headers: token === undefined ? {} : { authorization: `Token ${token}` },
        }),
      ),
    );

  const ok = await call("GET", "/devices/abc", gateway.token);
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.user.id, gateway.id);
  assert.equal(ok.json.user.kind, "api");
  assert.equal(ok.json.user.displayName, "gateway");
  assert.equal(ok.json.user.email, null);
  assert.equal(ok.json.anonymous, false);
  assert.equal(ok.json.workspace.slug, "acme");
  assert.equal(ok.json.tokenId, gateway.tokenId);
  assert.deepEqual(ok.json.permissions, ["devices:read"]);
  assert.equal(ok.json.expiresAt, null);

  const del = await call("DELETE", "/devices/abc", gateway.token);
  refused(del, 403, "forbidden");
  assert.equal(del.json.error.message, "missing permission `devices:delete`");
  assert.equal(del.json.error.permission, "devices:delete");

  assert.equal((await call("GET", "/w/acme/devices/abc", gateway.token)).status, 200);
  const stranger = await call("GET", "/w/nowhere/devices/abc", gateway.token);
  refused(stranger, 403, "forbidden");
  assert.equal(stranger.json.error.message, "not a member of this workspace");

  // A permission made malformed by the path: Keygate refuses the question; the caller gets 400.
  const bad = await call("GET", "/areas/Not%20An%20Area", gateway.token);
  refused(bad, 400, "invalid_request");
  assert.match(bad.json.error.message, /permission/);

  const misconfigured = await call("GET", "/broken/abc", gateway.token);
  refused(misconfigured, 500, "guard_misconfigured");
  assert.match(misconfigured.json.error.message, /\{nope\}/);
  assert.ok(logged.some((line) => line.includes("misconfigured")));

  // The verifier answers any other question.
  const elsewhere = await verifier.verify({ token: gateway.token, workspace: "nowhere" });
  assert.equal(elsewhere.code, "not_a_member");
  assert.equal(elsewhere.valid, false);
  assert.equal(await verifier.allows({ token: gateway.token }), true);
  assert.ok(calls() > 0);
  // Decisions are shared through the cache, so they cannot be changed.
  const shared = await verifier.verify({ token: gateway.token, permission: "devices:read", resource: "device:abc" });
  assert.throws(() => ((shared.identity.permissions as string[]).push("*")), TypeError);
});

test("a token held to an allow-list: the verifier judges the client address it is given, each cached apart", async () => {
  const made = await keygate.owner("POST", "/api/v1/tokens", { name: "fenced", allowed_ips: ["203.0.113.0/24"] });
  const token = made.token as string;
  secrets.push(token);
  const { verifier, calls } = countingVerifier(keygate.url, { cacheTtlMs: 60_000 });
  const q = { token, permission: "devices:read", resource: "device:abc" };

  const inside = await verifier.verify({ ...q, clientIp: "203.0.113.7" });
  assert.equal(inside.code, "ok");
  assert.equal(inside.valid, true);
  assert.equal(inside.ipChecked, true);
  assert.equal(inside.identity.tokenId, made.id);
  const outside = await verifier.verify({ ...q, clientIp: "198.51.100.1" });
  assert.equal(outside.code, "ip_not_allowed");
  assert.equal(outside.valid, false);
  const unjudged = await verifier.verify(q);
  assert.equal(unjudged.code, "ok");
  assert.equal(unjudged.valid, true);
  assert.equal(unjudged.ipChecked, false);
  assert.equal(calls(), 3);
  // Each address is a question of its own in the cache: asked again, each keeps its answer.
  assert.equal(await verifier.verify({ ...q, clientIp: "198.51.100.1" }), outside);
  assert.equal(await verifier.verify({ ...q, clientIp: "203.0.113.7" }), inside);
  assert.equal(await verifier.verify(q), unjudged);
  assert.equal(calls(), 3);

  // A token held to no allow-list: any address, and no `ipChecked`.
  const free = await verifier.verify({ token: gateway.token, permission: "devices:read", clientIp: "198.51.100.1" });
  assert.equal(free.valid, true);
  assert.equal(free.ipChecked, undefined);
  // Not an address: Keygate refuses the question.
  await assert.rejects(
    verifier.verify({ ...q, clientIp: "not an address" }),
    (e: unknown) => e instanceof VerifyError && e.kind === "bad_question" && e.code === "invalid_body",
  );
  // A guard gives no address, so Keygate judges none and the token passes.
  await eachApi(async (api) => {
    const got = await api.get("/devices/abc", [bearer(token)]);
    assert.equal(got.status, 200, got.text);
  });
});

test("a token held to rate limits: a cost is used only when given, and past the limit a guard answers 429", async () => {
  const made = await keygate.owner("POST", "/api/v1/tokens", {
    name: "metered",
    rate_limits: [{ name: "default", limit: 3, per_seconds: 86400 }],
  });
  const token = made.token as string;
  secrets.push(token);
  const { verifier, calls } = countingVerifier(keygate.url, { cacheTtlMs: 60_000 });
  const q = { token, permission: "devices:read", resource: "device:abc" };

  // A cost of 0 asks without using the limit.
  const peek = await verifier.verify({ ...q, cost: 0 });
  assert.equal(peek.code, "ok");
  assert.equal(peek.rateLimit?.limit, 3);
  assert.equal(peek.rateLimit?.remaining, 3);
  const reset = peek.rateLimit?.reset ?? 0;
  assert.ok(reset > 0 && reset <= 86_400, String(reset));
  for (const left of [2, 1, 0]) {
    const used = await verifier.verify({ ...q, cost: 1 });
    assert.equal(used.code, "ok");
    assert.equal(used.rateLimit?.remaining, left);
  }
  const limited = await verifier.verify({ ...q, cost: 1 });
  assert.equal(limited.code, "rate_limited");
  assert.equal(limited.valid, false);
  assert.equal(limited.rateLimit?.limit, 3);
  assert.equal(limited.rateLimit?.remaining, 0);
  // Nothing asked with a cost was kept: each was a call.
  assert.equal(calls(), 5);
  assert.equal(verifier.cached, 0);
  // A cost of 0 still passes once the limit is used up.
  assert.equal((await verifier.verify({ ...q, cost: 0 })).code, "ok");
  // A token held to no limit has no `rateLimit`, whatever the cost.
  const free = await verifier.verify({ token: gateway.token, permission: "devices:read", cost: 5 });
  assert.equal(free.valid, true);
  assert.equal(free.rateLimit, undefined);

  // A guard gives no cost, so Keygate counts 1 and refuses: 429 with Keygate's headers.
  await eachApi(async (api) => {
    const got = await api.get("/devices/abc", [bearer(token)]);
    refused(got, 429, "rate_limited");
    const seconds = got.headers["ratelimit-reset"] ?? "";
    assert.ok(Number(seconds) > 0 && Number(seconds) <= 86_400, seconds);
    assert.equal(got.headers["retry-after"], seconds);
    assert.equal(got.headers["ratelimit-limit"], "3");
    assert.equal(got.headers["ratelimit-remaining"], "0");
    assert.equal(got.json.error.message, `this token has used its rate limit of 3 in this window; try again in ${seconds} s`);
    assert.equal(got.headers["www-authenticate"], undefined);
  });
});

test("a revoked token passes within the cache lifetime and is refused after it", async () => {
  const ttl = 2_000;
  const cached = [await expressApi(keygate.url, { cacheTtlMs: ttl }), honoApi(keygate.url, { cacheTtlMs: ttl })];
  const defaults = await apis();
  const fresh = countingVerifier(keygate.url, { cacheTtlMs: 0 }).verifier;
  const token = [bearer(sensor.token)];
  try {
    const warmed = Date.now();
    for (const api of [...cached, ...defaults]) {
      assert.equal((await api.get("/devices/abc", token)).status, 200, api.name);
    }
    await keygate.owner("DELETE", `/api/v1/workspaces/acme/api-users/${sensor.id}/tokens/${sensor.tokenId}`);
    const revoked = Date.now();
    assert.ok(revoked - warmed < ttl - 500, `the machine is too slow for this test (${revoked - warmed} ms)`);

    // Keygate refuses it at once; the cached decisions still let it through.
    assert.equal((await fresh.verify({ token: sensor.token, permission: "devices:read", resource: "device:abc" })).code, "token_revoked");
    for (const api of cached) {
      const got = await api.get("/devices/abc", token);
      assert.equal(got.status, 200, `${api.name}: ${got.text}`);
      assert.equal(api.calls(), 1, api.name);
    }
    assert.ok(Date.now() - warmed < ttl, "the check within the lifetime came too late");

    // After the lifetime: 401 token_revoked, from a new call.
    for (const api of [...defaults, ...cached]) {
      let last: Answer | undefined;
      const refusedInTime = await eventually(ttl + 2_000, async () => {
        last = await api.get("/devices/abc", token);
        return last.status === 401;
      });
      const at = Date.now() - warmed;
      assert.ok(refusedInTime, `${api.name}: a revoked token still passes`);
      refused(last as Answer, 401, "token_revoked");
      assert.equal(last?.headers["www-authenticate"], CHALLENGE_INVALID);
      assert.equal(api.calls(), 2, api.name);
      if (cached.includes(api)) {
        assert.ok(at >= ttl, `${api.name}: refused after ${at} ms, before the lifetime ended`);
      }
    }
  } finally {
    await Promise.all([...cached, ...defaults].map((api) => api.close()));
  }
});

test("tokens of a deployment with a prefix of its own are well-formed, and the checksum still counts", () => {
  const dir = mkdtempSync(join(tmpdir(), "keygate-ts-prefix-"));
  try {
    const config = join(dir, "keygate.toml");
    writeFileSync(config, `token_prefix = "acme2"\ndatabase_url = "sqlite://${join(dir, "keygate.db")}"\n`);
    const boot = spawnSync(keygateBinary(), ["--config", config, "bootstrap", "--email", "o@example.com", "--json"], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(boot.status, 0, boot.stderr);
    const token = (JSON.parse(boot.stdout) as { token: string }).token;
    secrets.push(token);
    assert.match(token, /^acme2p_/);
    assert.ok(isWellFormedToken(token));
    assert.ok(!isWellFormedToken(mistyped(token)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const token of [gateway.token, sensor.token, keygate.ownerToken]) {
    assert.ok(isWellFormedToken(token), "an issued token is refused locally");
  }
});

test("Keygate unreachable: 503 keygate_unavailable, logged without the token", async () => {
  // Nothing listens on a port just released.
  const { createServer } = await import("node:net");
  const port: number = await new Promise((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => done(p));
    });
  });
  const before = logged.length;
  await eachApi(
    async (api) => {
      for (const lines of [[bearer(gateway.token)], []] as const) {
        const got = await api.get("/devices/abc", lines);
        refused(got, 503, "keygate_unavailable");
        assert.equal(got.json.error.message, "Keygate cannot be reached to verify this request; try again shortly");
      }
    },
    await apis(`http://127.0.0.1:${port}`),
  );
  const lines = logged.slice(before).join("\n");
  assert.match(lines, /Keygate is unavailable; refusing the request: cannot connect/);
});

test("Keygate stopped: cached decisions last their lifetime, then requests fail closed", async () => {
  const defaults = await apis();
  const long = [await expressApi(keygate.url, { cacheTtlMs: 30_000 }), honoApi(keygate.url, { cacheTtlMs: 30_000 })];
  const token = [bearer(gateway.token)];
  try {
    const warmed = Date.now();
    for (const api of [...defaults, ...long]) {
      assert.equal((await api.get("/devices/abc", token)).status, 200);
    }
    await keygate.stop();
    assert.ok(!keygate.running());
    for (const api of long) {
      const got = await api.get("/devices/abc", token);
      assert.equal(got.status, 200, `${api.name}: ${got.text}`);
    }
    for (const api of [...defaults, ...long]) {
      // A question not asked before fails closed at once.
      refused(await api.get("/devices/xyz", token), 503, "keygate_unavailable");
      refused(await api.get("/devices/abc"), 503, "keygate_unavailable");
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 1_100 - (Date.now() - warmed))));
    for (const api of defaults) {
      refused(await api.get("/devices/abc", token), 503, "keygate_unavailable");
      // Failures are not cached: each request asks again.
      refused(await api.get("/devices/abc", token), 503, "keygate_unavailable");
      assert.equal(api.calls(), 5, api.name);
    }
    for (const api of long) {
      assert.equal(api.calls(), 3, api.name);
    }
  } finally {
    await Promise.all([...defaults, ...long].map((api) => api.close()));
  }
});
