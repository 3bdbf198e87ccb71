// The verifier and the guards against a small stand-in for Keygate's POST /api/v1/verify on a
// random port: it counts calls (to prove the cache), records the questions and their headers,
// and fails on demand in every way a real outage or a wrong base URL can (to prove that guards
// fail closed).

import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, test } from "node:test";

import express from "express";
import { Guard, Verifier, VerifyError, type VerifierOptions } from "@keygate/client";
import { guardMiddleware, identityOf, maybeIdentityOf, rejectionHandler } from "@keygate/client/express";

import { answerOf, fetchRequest } from "./support/apps.js";
import { rawGet } from "./support/http.js";

/** A token the fake knows: devices:read and measurements:write on device:abc in acme. */
const GOOD = "kgt_good000000000000000000000000aogcT";
/** Well-formed tokens the fake calls revoked, not a member, and unknown. */
const REVOKED = "kgt_revoked000000000000000000002sNXnZ";
const STRANGER = "kgt_stranger00000000000000000004ReAdB";
/** A well-formed token the fake says is used from an address its allow-list leaves out. */
const ELSEWHERE = "kgt_elsewhere00000000000000000006oLqu";
/** A well-formed token the fake says is past its rate limit of 3, 42 s before the window ends. */
const LIMITED = "kgt_limited000000000000000000001G1Mgj";
const USER_ID = "0190f5a6-0000-7000-8000-0000000000a1";
const TOKEN_ID = "0190f5a6-3c1e-7b7a-9a52-6f1d2c3b4a59";

type Mode = "decide" | "fail500" | "garbage" | "slow" | "refuse" | "too_large" | "redirect" | "not_found" | "odd_code" | "not_json_shape" | "bad_rate_limit";

const fake = {
  mode: "decide" as Mode,
  /** How long each answer waits, in ms. */
  delay: 0,
  calls: 0,
  questions: [] as unknown[],
  headers: [] as IncomingHttpHeaders[],
};
let server: Server;
let url: string;
const logged: string[] = [];
const logger = { warn: (m: string) => void logged.push(m), error: (m: string) => void logged.push(m) };

function refusal(code: string, missing: string | null = null) {
  return { valid: false, code, missing, user: null, workspace: null, workspaces: [], token_id: null, permissions: [], expires_at: null };
}

/** Keygate's rules in miniature. Anonymous callers may read device:demo. */
function decide(q: Record<string, string | undefined>): unknown {
  const { token, permission = "", resource } = q;
  if (token === undefined) {
    return resource === "device:demo" && permission === "devices:read"
      ? { valid: true, code: "ok", user: null, workspace: null, workspaces: [], token_id: null, permissions: ["devices:read"], expires_at: null }
      : refusal("forbidden", permission);
  }
  if (token === REVOKED) return refusal("token_revoked");
  if (token === ELSEWHERE) return refusal("ip_not_allowed");
  if (token === LIMITED) return { ...refusal("rate_limited"), rate_limit: { limit: 3, remaining: 0, reset: 42 } };
  if (token === STRANGER || (token === GOOD && q.workspace !== undefined && q.workspace !== "acme")) return refusal("not_a_member");
  if (token !== GOOD) return refusal("invalid_token");
  if (permission !== "" && !["devices:read", "measurements:write"].includes(permission)) return refusal("forbidden", permission);
  if (resource !== undefined && resource !== "device:abc") return refusal("forbidden", resource);
  return {
    valid: true,
    code: "ok",
    user: { id: USER_ID, kind: "api", email: null, display_name: "gateway", is_instance_admin: false, created_at: "2025-01-15T10:00:00Z" },
    workspace: { id: "0190f5a6-0000-7000-8000-000000000001", slug: "acme", name: "Acme", created_at: "2025-01-01T09:00:00Z", updated_at: "2025-01-01T09:00:00Z" },
    workspaces: [],
    token_id: TOKEN_ID,
    permissions: ["devices:read", "measurements:write"],
    expires_at: null,
    a_field_from_a_later_version: true,
  };
}

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      fake.calls += 1;
      fake.headers.push(req.headers);
      const question = JSON.parse(body) as Record<string, string>;
      fake.questions.push(question);
      const send = (status: number, text: string, type = "application/json") => {
        setTimeout(() => {
          if (!res.destroyed) {
            res.writeHead(status, { "content-type": type }).end(text);
          }
        }, fake.mode === "slow" ? 3_000 : fake.delay);
      };
      if (req.url !== "/api/v1/verify" || req.method !== "POST") return send(404, "{}");
      switch (fake.mode) {
        case "fail500":
          return send(500, '{"error":{"code":"internal","message":"internal error"}}');
        case "garbage":
          return send(200, "<html>not a decision</html>", "text/html");
        case "not_json_shape":
          return send(200, '{"valid":"yes","code":"ok"}');
        case "bad_rate_limit":
          return send(200, JSON.stringify({ ...refusal("rate_limited"), rate_limit: { limit: 3, remaining: -1, reset: 42 } }));
        case "refuse":
          return send(400, '{"error":{"code":"invalid_input","field":"permission","message":"permission: not of the form area:action"}}');
        case "too_large":
          return send(413, "");
        case "redirect":
          res.writeHead(302, { location: "http://example.invalid/" }).end();
          return;
        case "not_found":
          return send(404, '{"error":{"code":"not_found","message":"no such route"}}');
        case "odd_code":
          return send(200, JSON.stringify({ ...refusal("quota_exceeded_v9"), valid: true }));
        default:
          return send(200, JSON.stringify(decide(question)));
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
  const all = logged.join("\n");
  for (const token of [GOOD, REVOKED, STRANGER, ELSEWHERE, LIMITED]) {
    assert.ok(!all.includes(token), "a log line shows a token");
  }
});

beforeEach(() => {
  fake.mode = "decide";
  fake.delay = 0;
  fake.calls = 0;
  fake.questions = [];
  fake.headers = [];
});

function verifier(options: Partial<VerifierOptions> = {}): Verifier {
  return new Verifier({ url, workspace: "acme", logger, ...options });
}

test("the guard asks exactly the route's question, and nothing of the caller's request goes along", async () => {
  const guard = new Guard(verifier(), "devices:read", { resource: "device:{id}" });
  const request = fetchRequest("/devices/abc?x=1", [
    ["Authorization", `Token ${GOOD}`],
    ["Cookie", "session=1"],
    ["X-Forwarded-For", "10.0.0.1"],
  ]);
  const decision = await guard.check(request, { id: "abc" });
  assert.ok(decision.allowed);
  assert.equal(decision.identity.user?.displayName, "gateway");
  assert.equal(decision.identity.tokenId, TOKEN_ID);
  assert.equal(decision.identity.workspace?.slug, "acme");
  assert.equal(decision.identity.workspace?.maxTokenLifetimeDays, null);
  assert.deepEqual(fake.questions, [{ token: GOOD, workspace: "acme", permission: "devices:read", resource: "device:abc" }]);
  const sent = fake.headers[0] ?? {};
  assert.equal(sent["content-type"], "application/json");
  for (const name of ["authorization", "cookie", "x-forwarded-for", "api-key", "x-api-key"]) {
    assert.equal(sent[name], undefined, name);
  }
  // An anonymous question has no token field at all.
  await guard.check(fetchRequest("/devices/demo"), { id: "demo" });
  assert.deepEqual(fake.questions[1], { workspace: "acme", permission: "devices:read", resource: "device:demo" });
});

test("decisions are cached for the lifetime, keyed by the whole question", async () => {
  const v = verifier({ cacheTtlMs: 1_000 });
  const q = { token: GOOD, permission: "devices:read", resource: "device:abc" };
  for (let i = 0; i < 5; i++) assert.equal(await v.allows(q), true);
  assert.equal(fake.calls, 1, "five identical questions, one call");
  // Surrounding spaces are the same token, as Keygate reads it.
  assert.equal(await v.allows({ ...q, token: ` ${GOOD} ` }), true);
  assert.equal(fake.calls, 1);
  // Refusals are cached too; a different question is a different entry.
  for (let i = 0; i < 3; i++) assert.equal(await v.allows({ ...q, resource: "device:xyz" }), false);
  assert.equal(fake.calls, 2);
  assert.equal(await v.allows({ ...q, token: undefined }), false);
  assert.equal(fake.calls, 3);
  assert.equal(await v.allows({ ...q, workspace: "other" }), false);
  assert.equal(fake.calls, 4);
  // Past the lifetime, the question goes to Keygate again.
  await new Promise((r) => setTimeout(r, 1_200));
  assert.equal(await v.allows(q), true);
  assert.equal(fake.calls, 5);

  // With the cache off (a lifetime or a size of zero), every question is asked.
  for (const off of [verifier({ cacheTtlMs: 0 }), verifier({ cacheSize: 0 })]) {
    const start: number = fake.calls;
    for (let i = 0; i < 3; i++) assert.equal(await off.allows(q), true);
    assert.equal(fake.calls - start, 3);
  }
});

test("a client address is sent as client_ip only when given, and each is cached apart", async () => {
  const v = verifier();
  const q = { token: GOOD, permission: "devices:read" };
  for (let i = 0; i < 3; i++) assert.equal(await v.allows({ ...q, clientIp: "203.0.113.7" }), true);
  // Surrounding spaces do not make another address.
  assert.equal(await v.allows({ ...q, clientIp: " 203.0.113.7 " }), true);
  assert.equal(await v.allows({ ...q, clientIp: "198.51.100.1" }), true);
  assert.equal(await v.allows({ ...q, clientIp: null }), true);
  assert.deepEqual(fake.questions, [
    { token: GOOD, workspace: "acme", permission: "devices:read", client_ip: "203.0.113.7" },
    { token: GOOD, workspace: "acme", permission: "devices:read", client_ip: "198.51.100.1" },
    { token: GOOD, workspace: "acme", permission: "devices:read" },
  ]);
  // A token held to no allow-list has no `ipChecked`.
  assert.equal((await v.verify({ ...q, clientIp: "203.0.113.7" })).ipChecked, undefined);
});

test("a cost is sent only when given, and a question with one is neither read from the cache nor kept", async () => {
  const v = verifier();
  const q = { token: GOOD, permission: "devices:read" };
  assert.equal(await v.allows(q), true);
  // Each answer to a question with a cost uses the limit: every one is asked, none is kept.
  for (let i = 0; i < 3; i++) assert.equal(await v.allows({ ...q, cost: 1 }), true);
  assert.equal(await v.allows({ ...q, cost: 0 }), true);
  assert.equal(v.cached, 1);
  // Without a cost (or with `null`), the question is cached as before.
  assert.equal(await v.allows({ ...q, cost: null }), true);
  const asked = { token: GOOD, workspace: "acme", permission: "devices:read" };
  assert.deepEqual(fake.questions, [asked, { ...asked, cost: 1 }, { ...asked, cost: 1 }, { ...asked, cost: 1 }, { ...asked, cost: 0 }]);
  // Nor do identical questions with a cost share a call.
  fake.delay = 100;
  assert.deepEqual(await Promise.all(Array.from({ length: 3 }, () => v.allows({ ...q, cost: 2 }))), [true, true, true]);
  assert.equal(fake.calls, 8);
  // A cost JSON cannot carry as a whole number is refused without a call.
  for (const cost of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(v.verify({ ...q, cost }), (e: unknown) => e instanceof VerifyError && e.kind === "bad_question" && e.code === "invalid_body", String(cost));
  }
  assert.equal(fake.calls, 8);
});

test("a token past its rate limit: rate_limited, and the guard answers 429 with Retry-After and the RateLimit headers", async () => {
  const decision = await verifier().verify({ token: LIMITED, permission: "devices:read" });
  assert.equal(decision.code, "rate_limited");
  assert.equal(decision.valid, false);
  assert.deepEqual(decision.rateLimit, { limit: 3, remaining: 0, reset: 42 });
  assert.equal((await verifier().verify({ token: GOOD, permission: "devices:read" })).rateLimit, undefined);
  const expected = {
    status: 429,
    headers: { "retry-after": "42", "ratelimit-limit": "3", "ratelimit-remaining": "0", "ratelimit-reset": "42" },
    json: { error: { code: "rate_limited", message: "this token has used its rate limit of 3 in this window; try again in 42 s" } },
  };
  const rateHeaders = (headers: Record<string, string | undefined>) =>
    Object.fromEntries(Object.keys(expected.headers).map((name) => [name, headers[name]]));

  const guard = new Guard(verifier(), "devices:read", { resource: "device:{id}" });
  const checked = await guard.check(fetchRequest("/devices/abc", [["X-API-Key", LIMITED]]), { id: "abc" });
  assert.ok(!checked.allowed);
  assert.equal(checked.rejection.challenge, undefined);
  const got = await answerOf(checked.response);
  assert.deepEqual({ status: got.status, headers: rateHeaders(got.headers), json: got.json }, expected);
  assert.equal(got.headers["www-authenticate"], undefined);

  const app = express();
  app.get("/devices/:id", guardMiddleware(guard), (_req, res) => void res.end());
  const server = await new Promise<Server>((done) => {
    const s = app.listen(0, "127.0.0.1", () => done(s));
  });
  try {
    const answer = await rawGet((server.address() as AddressInfo).port, "/devices/abc", [["X-API-Key", LIMITED]]);
    assert.deepEqual({ status: answer.status, headers: rateHeaders(answer.headers), json: answer.json }, expected);
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});

test("the cache keeps at most its size, dropping the oldest", async () => {
  const v = verifier({ cacheSize: 2, cacheTtlMs: 60_000 });
  for (const id of ["a", "b", "c"]) await v.verify({ token: GOOD, permission: "devices:read", resource: `device:${id}` });
  assert.equal(v.cached, 2);
  assert.equal(fake.calls, 3);
  await v.verify({ token: GOOD, permission: "devices:read", resource: "device:c" });
  assert.equal(fake.calls, 3);
  await v.verify({ token: GOOD, permission: "devices:read", resource: "device:a" });
  assert.equal(fake.calls, 4, "the oldest answer was kept");
});

test("concurrent identical misses share one call, and a shared failure is not cached", async () => {
  const v = verifier();
  fake.delay = 100;
  const q = { token: GOOD, permission: "devices:read", resource: "device:abc" };
  const answers = await Promise.all(Array.from({ length: 8 }, () => v.allows(q)));
  assert.deepEqual(answers, Array(8).fill(true));
  assert.equal(fake.calls, 1);

  fake.mode = "fail500";
  const other = { ...q, resource: "device:other" };
  const failed = await Promise.allSettled(Array.from({ length: 4 }, () => v.verify(other)));
  assert.ok(failed.every((r) => r.status === "rejected" && r.reason instanceof VerifyError && r.reason.kind === "unavailable"));
  assert.equal(fake.calls, 2);
  fake.mode = "decide";
  assert.equal((await v.verify(other)).code, "forbidden");
  assert.equal(fake.calls, 3, "the failure was remembered");
});

test("a malformed token is answered invalid_token without a call", async () => {
  const v = verifier();
  for (const token of ["", "kgt_short", `${GOOD}x`, GOOD.replace("good", "Good"), "x".repeat(1_000_000)]) {
    const decision = await v.verify({ token, permission: "devices:read" });
    assert.equal(decision.code, "invalid_token");
    assert.equal(decision.valid, false);
    assert.equal(decision.identity.user, null);
  }
  assert.equal(fake.calls, 0);
});

test("every way Keygate can fail leaves the request refused with 503, and it is not remembered", async () => {
  const guard = new Guard(verifier({ timeoutMs: 300 }), "devices:read", { resource: "device:{id}" });
  const ask = () => guard.check(fetchRequest("/devices/abc", [["X-API-Key", GOOD]]), { id: "abc" });
  for (const mode of ["fail500", "garbage", "not_json_shape", "bad_rate_limit", "slow", "redirect", "not_found"] as const) {
    fake.mode = mode;
    const start = logged.length;
    const decision = await ask();
    assert.ok(!decision.allowed, mode);
    const got = await answerOf(decision.response);
    assert.equal(got.status, 503, `${mode}: ${got.text}`);
    assert.equal(got.json.error.code, "keygate_unavailable");
    assert.equal(got.headers["www-authenticate"], undefined);
    assert.match(logged.slice(start).join("\n"), /Keygate is unavailable; refusing the request/, mode);
  }
  assert.match(logged.join("\n"), /the call timed out/);
  assert.match(logged.join("\n"), /it answered 302/);
  fake.mode = "decide";
  assert.ok((await ask()).allowed, "a failure was remembered");

  // A question Keygate refuses is the caller's 400, with Keygate's reason; an oversized one too.
  fake.mode = "refuse";
  let decision = await guard.check(fetchRequest("/devices/q", [["X-API-Key", GOOD]]), { id: "q" });
  assert.ok(!decision.allowed);
  assert.equal(decision.rejection.status, 400);
  assert.equal(decision.rejection.code, "invalid_request");
  assert.equal(decision.rejection.message, "permission: not of the form area:action");
  fake.mode = "too_large";
  decision = await guard.check(fetchRequest("/devices/r", [["X-API-Key", GOOD]]), { id: "r" });
  assert.ok(!decision.allowed);
  assert.equal(decision.rejection.status, 400);
  await assert.rejects(verifier().verify({ token: GOOD, permission: "x" }), (e: unknown) => e instanceof VerifyError && e.kind === "bad_question" && e.code === "payload_too_large");

  // Nothing listening.
  const closed = await new Promise<number>((done) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => done(port));
    });
  });
  const nowhere = new Verifier({ url: `http://127.0.0.1:${closed}`, workspace: "acme", logger });
  await assert.rejects(nowhere.verify({ token: GOOD, permission: "devices:read" }), (e: unknown) => {
    assert.ok(e instanceof VerifyError && e.kind === "unavailable");
    assert.ok(!e.message.includes(GOOD));
    return true;
  });
  assert.match(logged.at(-1) ?? "", /cannot connect/);
});

test("a code this version does not know is a refusal, whatever `valid` says", async () => {
  fake.mode = "odd_code";
  const guard = new Guard(verifier(), "devices:read");
  const decision = await guard.check(fetchRequest("/", [["X-API-Key", GOOD]]));
  assert.ok(!decision.allowed);
  assert.equal(decision.rejection.status, 403);
  assert.equal(decision.rejection.permission, "devices:read");
  assert.equal((await verifier().verify({ token: GOOD })).code, "unknown");
});

test("refusals by code: revoked, not a member, another address, anonymous", async () => {
  const guard = new Guard(verifier(), "devices:read", { resource: "device:{id}" });
  const check = async (id: string, token?: string) => {
    const d = await guard.check(fetchRequest(`/devices/${id}`, token === undefined ? [] : [["Authorization", `Bearer ${token}`]]), { id });
    return d.allowed ? undefined : d.rejection;
  };
  assert.equal((await check("abc", REVOKED))?.code, "token_revoked");
  assert.equal((await check("abc", REVOKED))?.status, 401);
  assert.equal((await check("abc", STRANGER))?.message, "not a member of this workspace");
  assert.equal((await check("abc", STRANGER))?.status, 403);
  const elsewhere = await check("abc", ELSEWHERE);
  assert.equal(elsewhere?.status, 403);
  assert.equal(elsewhere?.code, "ip_not_allowed");
  assert.equal(elsewhere?.message, "this token may not be used from this address: its allowed_ips leave it out");
  assert.equal(elsewhere?.challenge, undefined);
  assert.equal((await verifier().verify({ token: ELSEWHERE, clientIp: "198.51.100.1" })).code, "ip_not_allowed");
  assert.equal((await check("abc"))?.code, "unauthenticated");
  assert.equal(await check("demo"), undefined);
});

test("without a workspace, a guard is misconfigured and a verifier refuses the question", async () => {
  const bare = new Verifier({ url, logger });
  await assert.rejects(bare.verify({ permission: "devices:read" }), (e: unknown) => e instanceof VerifyError && e.kind === "no_workspace");
  await assert.rejects(bare.verify({}), (e: unknown) => e instanceof VerifyError && e.kind === "no_workspace");
  assert.equal((await bare.verify({ token: GOOD })).valid, true);
  const decision = await new Guard(bare, "devices:read").check(fetchRequest("/", [["X-API-Key", GOOD]]));
  assert.ok(!decision.allowed);
  assert.equal(decision.rejection.status, 500);
  assert.equal(decision.rejection.code, "guard_misconfigured");
  // A function that finds nothing in the path: 400.
  const byFunction = new Guard(verifier(), "devices:read", { resource: (p) => (p.id === "" ? null : `device:${p.id}`) });
  const empty = await byFunction.check(fetchRequest("/"), { id: "" });
  assert.ok(!empty.allowed);
  assert.equal(empty.rejection.code, "invalid_path");
});

test("Express: middleware on routes, identities for handlers, misconfiguration answered as JSON", async () => {
  const v = verifier();
  const app = express();
  app.get("/devices/:id", guardMiddleware(new Guard(v, "devices:read", { resource: "device:{id}" })), (req, res) => {
    res.json({ id: identityOf(req).user?.id, anonymous: identityOf(req).anonymous });
  });
  app.post("/devices/:id/measurements", guardMiddleware(new Guard(v, "measurements:write", { resource: "device:{id}" })), (_req, res) => {
    res.status(201).end();
  });
  app.get("/unguarded", (req, res) => {
    res.json({ maybe: maybeIdentityOf(req) ?? null, identity: identityOf(req) });
  });
  app.use(rejectionHandler);
  const server = await new Promise<Server>((done) => {
    const s = app.listen(0, "127.0.0.1", () => done(s));
  });
  const port = (server.address() as AddressInfo).port;
  try {
    const ok = await rawGet(port, "/devices/abc", [["X-API-Key", GOOD]]);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(ok.json, { id: USER_ID, anonymous: false });
    const demo = await rawGet(port, "/devices/demo");
    assert.deepEqual(demo.json, { anonymous: true });
    const written = await fetch(`http://127.0.0.1:${port}/devices/abc/measurements`, { method: "POST", headers: { authorization: `Token ${GOOD}` } });
    assert.equal(written.status, 201);
    const other = await fetch(`http://127.0.0.1:${port}/devices/xyz/measurements`, { method: "POST", headers: { authorization: `Token ${GOOD}` } });
    assert.equal(other.status, 403);
    assert.equal(other.headers.get("content-type"), "application/json");
    assert.deepEqual(await other.json(), { error: { code: "forbidden", message: "missing `device:xyz`" } });
    const unguarded = await rawGet(port, "/unguarded");
    assert.equal(unguarded.status, 500);
    assert.equal(unguarded.json.error.code, "guard_misconfigured");
  } finally {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  }
});
