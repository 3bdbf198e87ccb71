/**
 * `Verifier`: asks Keygate's `POST /api/v1/verify` over the platform's `fetch`, and remembers each
 * decision for a short time in a local cache keyed by a SHA-256 digest of the question.
 */

import { isWellFormedToken } from "./token.js";

/** How long a decision is reused by default, in milliseconds. */
export const DEFAULT_CACHE_TTL_MS = 1000;
/** How many decisions the cache keeps by default. */
export const DEFAULT_CACHE_SIZE = 10_000;
/** How long a call to Keygate may take by default, in milliseconds, connection included. */
export const DEFAULT_TIMEOUT_MS = 2000;

/**
 * One question to Keygate: may the holder of `token` (none: an anonymous caller, judged by the
 * workspace's public role) do `permission` on `resource` in `workspace`, presenting it from
 * `clientIp`, using `cost` of its rate limits? Without a workspace, the verifier's own is asked
 * about.
 */
export interface Question {
  /** The token presented; absent for an anonymous caller. */
  token?: string | null | undefined;
  /** The workspace, by slug or id; absent for the verifier's own. */
  workspace?: string | null | undefined;
  /** The permission asked about, e.g. `devices:read`. */
  permission?: string | null | undefined;
  /** The concrete resource the request touches, e.g. `device:abc`; used with a permission. */
  resource?: string | null | undefined;
  /**
   * The address (IPv4 or IPv6) of the client that presented the token, as the asking service saw
   * it, sent as `client_ip`: Keygate judges it against the token's `allowed_ips` and answers
   * `ip_not_allowed` when the list leaves it out. Absent: no address is judged (see
   * {@link Decision.ipChecked}). One that is not an address is a `bad_question`.
   */
  clientIp?: string | null | undefined;
  /**
   * What the question uses of the token's rate limits (`rate_limits`, its own or its API user's)
   * when Keygate answers it `ok`: a whole number, `0` to ask without using any. Absent: none is
   * sent, and Keygate counts 1. A question with a cost is always asked, and its decision is not
   * cached, since each answer uses the limit; a question without one uses it only when Keygate is
   * asked, not when it is answered from the cache. Past a limit the code is `rate_limited`; see
   * {@link Decision.rateLimit}. Anything but a whole number, zero or more, is a `bad_question`
   * (code `invalid_body`), refused without a call.
   */
  cost?: number | null | undefined;
}

/** The class of a decision. `unknown` stands for a code this version does not know (a refusal). */
export type Code =
  | "ok"
  | "invalid_token"
  | "token_expired"
  | "token_revoked"
  | "ip_not_allowed"
  | "rate_limited"
  | "not_a_member"
  | "forbidden"
  | "unknown";

const CODES: ReadonlySet<string> = new Set([
  "ok",
  "invalid_token",
  "token_expired",
  "token_revoked",
  "ip_not_allowed",
  "rate_limited",
  "not_a_member",
  "forbidden",
]);

/** A Keygate user: a person (`kind: "human"`) or an API user (`kind: "api"`). */
export interface User {
  readonly id: string;
  /** `human` or `api`. */
  readonly kind: string;
  /** `null` for an API user. */
  readonly email: string | null;
  readonly displayName: string;
  readonly isInstanceAdmin: boolean;
  /** RFC 3339. */
  readonly createdAt: string;
}

/** A Keygate workspace. */
export interface Workspace {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  /** The longest lifetime, in days, of tokens that act in the workspace; `null` for no cap. */
  readonly maxTokenLifetimeDays: number | null;
  /** RFC 3339. */
  readonly createdAt: string;
  /** RFC 3339. */
  readonly updatedAt: string;
}

/** The verified caller. */
export interface Identity {
  /** The token's user; `null` for an anonymous caller. */
  readonly user: User | null;
  /** Whether the caller is anonymous: no user. */
  readonly anonymous: boolean;
  /**
   * The workspace asked about, when the caller is a member of it (Keygate names a workspace only
   * to its members, so an anonymous caller sees `null`).
   */
  readonly workspace: Workspace | null;
  /** The token's id; `null` for an anonymous caller. */
  readonly tokenId: string | null;
  /** The permissions that apply in the workspace asked about, the public role's included. */
  readonly permissions: readonly string[];
  /** When the token expires (RFC 3339), if it does. */
  readonly expiresAt: string | null;
}

/** Where a token stands against the tightest of its rate limits, as the `RateLimit-*` headers say it. */
export interface RateLimitState {
  /** The limit's size per window. */
  readonly limit: number;
  /** What is left of it in this window. */
  readonly remaining: number;
  /** Seconds until the window ends. */
  readonly reset: number;
}

/** Keygate's answer to a question. Decisions are shared through the cache, and frozen. */
export interface Decision {
  /** True only with code `ok`. */
  readonly valid: boolean;
  readonly code: Code;
  /** With `forbidden`: the permission, or the resource, that is missing. */
  readonly missing: string | null;
  /** Who asked, and what they may do in the workspace asked about. */
  readonly identity: Identity;
  /**
   * Only for a token held to an allow-list (`allowed_ips`): `true` when the question's `clientIp`
   * was judged (and allowed), `false` when the question gave none, so no address was judged.
   * Absent for a token without a list, an anonymous caller or an invalid token.
   */
  readonly ipChecked?: boolean | undefined;
  /**
   * Only for a token held to rate limits (`rate_limits`, its own or its API user's): the tightest
   * limit after this question, or with `rate_limited` the one that is used up. Absent otherwise.
   */
  readonly rateLimit?: RateLimitState | undefined;
}

/** Why Keygate gave no decision. */
export type VerifyErrorKind =
  /** Keygate could not be reached, took too long, or answered with a server error or something
   * that is not a decision. Callers should refuse the request (fail closed). */
  | "unavailable"
  /** Keygate refused the question itself (400, or 413 for an oversized one). */
  | "bad_question"
  /** A question about a permission, or without a token, with no workspace to ask it in. */
  | "no_workspace";

/** Why Keygate gave no decision. Its message never quotes a token. */
export class VerifyError extends Error {
  override readonly name = "VerifyError";
  readonly kind: VerifyErrorKind;
  /** With `bad_question`: Keygate's error code, e.g. `invalid_input`; `payload_too_large` for a 413. */
  readonly code: string | undefined;

  constructor(kind: VerifyErrorKind, message: string, code?: string) {
    super(message);
    this.kind = kind;
    this.code = code;
  }
}

/** Where the verifier reports that Keygate is unavailable. `console` fits. */
export interface Logger {
  warn(message: string): void;
  error(message: string): void;
}

/** Settings of a {@link Verifier}. */
export interface VerifierOptions {
  /** Keygate's base URL, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The workspace (slug or id) asked about when a question or guard names none. */
  workspace?: string | undefined;
  /**
   * How long a decision is reused, in milliseconds (1000 by default). A revoked token or a removed
   * right may still pass for this long. Zero turns the cache off.
   */
  cacheTtlMs?: number | undefined;
  /** How many decisions the cache keeps (10 000 by default). Zero turns the cache off. */
  cacheSize?: number | undefined;
  /** How long one call to Keygate may take, in milliseconds (2000 by default); past it, 503. */
  timeoutMs?: number | undefined;
  /** The `fetch` to call Keygate with; the platform's by default. */
  fetch?: typeof fetch | undefined;
  /** Where failures are reported; `console` by default. */
  logger?: Logger | undefined;
}

interface CacheEntry {
  decision: Decision;
  /** `performance.now()` past which the entry is stale. */
  expires: number;
}

/** A question with the verifier's workspace filled in. */
interface Asked {
  token: string | undefined;
  workspace: string | undefined;
  permission: string | undefined;
  resource: string | undefined;
  clientIp: string | undefined;
  cost: number | undefined;
}

const ENCODER = new TextEncoder();

/** The decision Keygate gives for a malformed token, given without asking it. */
const MALFORMED: Decision = freeze({
  valid: false,
  code: "invalid_token",
  missing: null,
  identity: {
    user: null,
    anonymous: true,
    workspace: null,
    tokenId: null,
    permissions: [],
    expiresAt: null,
  },
});

/**
 * Asks Keygate, through a local cache. One verifier serves a whole application; it holds no
 * connection of its own (the platform's `fetch` keeps them alive).
 */
export class Verifier {
  /** The URL of Keygate's verify endpoint that this verifier calls. */
  readonly endpoint: string;
  /** The workspace asked about when a question names none. */
  readonly workspace: string | undefined;
  /** Where failures are reported. */
  readonly logger: Logger;
  readonly #ttl: number;
  readonly #size: number;
  readonly #timeout: number;
  readonly #fetch: typeof fetch;
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Map<string, Promise<Decision>>();

  constructor(options: VerifierOptions) {
    this.endpoint = endpointOf(options.url);
    this.workspace = options.workspace;
    this.#ttl = nonNegative("cacheTtlMs", options.cacheTtlMs, DEFAULT_CACHE_TTL_MS);
    this.#size = nonNegative("cacheSize", options.cacheSize, DEFAULT_CACHE_SIZE);
    this.#timeout = nonNegative("timeoutMs", options.timeoutMs, DEFAULT_TIMEOUT_MS);
    if (options.fetch !== undefined) {
      this.#fetch = options.fetch;
    } else if (typeof globalThis.fetch === "function") {
      // Called as a method of something else, some platforms' fetch refuses to run.
      this.#fetch = (input, init) => globalThis.fetch(input, init);
    } else {
      throw new TypeError("this platform has no fetch: give one in the options");
    }
    this.logger = options.logger ?? console;
  }

  /**
   * Keygate's decision on `question`, from the cache when the same question was answered within
   * the cache lifetime. Concurrent identical questions share one call. Only decisions are cached,
   * never failures. A question with a `cost` is always asked and never cached. A token that cannot
   * be a Keygate token is answered `invalid_token` at once. Rejects with a {@link VerifyError}.
   */
  async verify(question: Question): Promise<Decision> {
    const asked: Asked = {
      // Keygate ignores surrounding spaces; so does the cache.
      token: question.token?.trim() ?? undefined,
      workspace: question.workspace ?? this.workspace,
      permission: question.permission ?? undefined,
      resource: question.resource ?? undefined,
      clientIp: question.clientIp?.trim() ?? undefined,
      cost: question.cost ?? undefined,
    };
    if (asked.workspace === undefined && (asked.permission !== undefined || asked.token === undefined)) {
      throw new VerifyError(
        "no_workspace",
        "no workspace to ask in: give one in the question or to the verifier",
      );
    }
    // JSON would write NaN or Infinity as null, which Keygate reads as no cost (1).
    if (asked.cost !== undefined && !(Number.isSafeInteger(asked.cost) && asked.cost >= 0)) {
      throw new VerifyError("bad_question", "cost: a whole number, zero or more", "invalid_body");
    }
    if (asked.token !== undefined && !isWellFormedToken(asked.token)) {
      return MALFORMED;
    }
    // Each answer to a question with a cost uses the limit: it is neither read nor kept.
    if (this.#ttl === 0 || this.#size === 0 || asked.cost !== undefined) {
      return this.#ask(asked);
    }
    const key = await cacheKey(asked);
    const now = performance.now();
    const cached = this.#cache.get(key);
    if (cached !== undefined) {
      if (cached.expires > now) {
        return cached.decision;
      }
      this.#cache.delete(key);
    }
    const pending = this.#inflight.get(key);
    if (pending !== undefined) {
      return pending;
    }
    const call = this.#ask(asked).then(
      (decision) => {
        this.#inflight.delete(key);
        this.#remember(key, decision);
        return decision;
      },
      (error: unknown) => {
        this.#inflight.delete(key);
        throw error;
      },
    );
    this.#inflight.set(key, call);
    return call;
  }

  /** Whether `question` is allowed, as {@link verify} decides it. */
  async allows(question: Question): Promise<boolean> {
    return (await this.verify(question)).valid;
  }

  /** How many decisions the cache holds, stale ones included until they are swept. */
  get cached(): number {
    return this.#cache.size;
  }

  #remember(key: string, decision: Decision): void {
    const now = performance.now();
    if (this.#cache.size >= this.#size) {
      for (const [k, entry] of this.#cache) {
        if (entry.expires <= now) {
          this.#cache.delete(k);
        }
      }
      // Still full: the oldest entries go (a Map iterates in insertion order).
      for (const k of this.#cache.keys()) {
        if (this.#cache.size < this.#size) {
          break;
        }
        this.#cache.delete(k);
      }
    }
    this.#cache.delete(key);
    this.#cache.set(key, { decision, expires: now + this.#ttl });
  }

  async #ask(asked: Asked): Promise<Decision> {
    const body: Record<string, string | number> = {};
    for (const field of ["token", "workspace", "permission", "resource"] as const) {
      const value = asked[field];
      if (value !== undefined) {
        body[field] = value;
      }
    }
    if (asked.clientIp !== undefined) {
      body.client_ip = asked.clientIp;
    }
    if (asked.cost !== undefined) {
      body.cost = asked.cost;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeout);
    let status: number;
    let text: string;
    try {
      const response = await this.#fetch(this.endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify(body),
        redirect: "manual",
        signal: abort.signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      throw this.#unavailable(abort.signal.aborted ? "the call timed out" : describe(error));
    } finally {
      clearTimeout(timer);
    }
    if (status === 200) {
      const decision = parseDecision(text);
      if (decision === undefined) {
        throw this.#unavailable("the answer is not a decision");
      }
      return decision;
    }
    if (status === 400) {
      const envelope = parseEnvelope(text);
      if (envelope !== undefined) {
        throw new VerifyError("bad_question", envelope.message, envelope.code);
      }
    }
    if (status === 413) {
      throw new VerifyError(
        "bad_question",
        "the request is too large to verify",
        "payload_too_large",
      );
    }
    // Anything else (a 5xx, a 404 from a wrong base URL, a proxy's error page, a redirect)
    // leaves the request undecided, and so refused.
    throw this.#unavailable(`it answered ${status}`);
  }

  #unavailable(reason: string): VerifyError {
    this.logger.warn(
      `Keygate is unavailable; refusing the request: ${reason} (endpoint ${this.endpoint})`,
    );
    return new VerifyError("unavailable", `Keygate is unavailable: ${reason}`);
  }
}

function nonNegative(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) {
    return fallback;
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`${name} must be a finite number, zero or more`);
  }
  return value;
}

/** `{base}/api/v1/verify`, or why the base URL cannot be used. */
function endpointOf(base: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new TypeError(`invalid Keygate base URL ${JSON.stringify(base)}: not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `invalid Keygate base URL ${JSON.stringify(base)}: the scheme must be http or https`,
    );
  }
  if (url.search !== "" || url.hash !== "" || base.includes("?") || base.includes("#")) {
    throw new TypeError(
      `invalid Keygate base URL ${JSON.stringify(base)}: a base URL has no query string or fragment`,
    );
  }
  if (!url.pathname.endsWith("/")) {
    url.pathname = `${url.pathname}/`;
  }
  return new URL("api/v1/verify", url).href;
}

/** A fetch failure and its causes on one line. Request bodies (where the token travels) are never
 * part of these messages. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    parts.push(current.message);
    current = (current as { cause?: unknown }).cause;
  }
  const text = parts.join(": ");
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|connect/i.test(text)
    ? `cannot connect: ${text}`
    : `the call failed: ${text || String(error)}`;
}

/**
 * The cache key: a SHA-256 digest of the question, so the cache never holds a token in clear.
 * Each field is length-prefixed and absent fields are marked, so no two questions share a key. A
 * given cost is a sixth field (its decimal text); without one the key is that of the five others,
 * as in the Rust client.
 */
export async function cacheKey(question: Question): Promise<string> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  const fields = [
    question.token,
    question.workspace,
    question.permission,
    question.resource,
    question.clientIp,
  ];
  if (question.cost !== undefined && question.cost !== null) {
    fields.push(String(question.cost));
  }
  for (const field of fields) {
    let chunk: Uint8Array;
    if (field === undefined || field === null) {
      chunk = Uint8Array.of(0);
    } else {
      const bytes = ENCODER.encode(field);
      chunk = new Uint8Array(9 + bytes.length);
      chunk[0] = 1;
      new DataView(chunk.buffer).setBigUint64(1, BigInt(bytes.length));
      chunk.set(bytes, 9);
    }
    chunks.push(chunk);
    length += chunk.length;
  }
  const input = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    input.set(chunk, at);
    at += chunk.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", input));
  let hex = "";
  for (const byte of digest) {
    hex += byte.toString(16).padStart(2, "0");
  }
  return hex;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function parseEnvelope(text: string): { code: string; message: string } | undefined {
  const value = parseJson(text);
  if (!isObject(value) || !isObject(value.error)) {
    return undefined;
  }
  const { code, message } = value.error;
  return typeof code === "string" && typeof message === "string" ? { code, message } : undefined;
}

/** Thrown inside {@link parseDecision} when the answer does not have a decision's shape. */
class NotADecision extends Error {}

function str(value: Json | undefined): string {
  if (typeof value !== "string") {
    throw new NotADecision();
  }
  return value;
}

function optionalStr(value: Json | undefined): string | null {
  return value === undefined || value === null ? null : str(value);
}

function optionalBool(value: Json | undefined): boolean | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value !== "boolean") {
    throw new NotADecision();
  }
  return value;
}

function count(value: Json | undefined): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new NotADecision();
  }
  return value;
}

function parseRateLimit(value: Json | undefined): RateLimitState | undefined {
  if (value === undefined || value === null) {
    return undefined;
  }
  if (!isObject(value)) {
    throw new NotADecision();
  }
  return { limit: count(value.limit), remaining: count(value.remaining), reset: count(value.reset) };
}

function parseUser(value: Json | undefined): User | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (!isObject(value) || typeof value.is_instance_admin !== "boolean") {
    throw new NotADecision();
  }
  return {
    id: str(value.id),
    kind: str(value.kind),
    email: optionalStr(value.email),
    displayName: str(value.display_name),
    isInstanceAdmin: value.is_instance_admin,
    createdAt: str(value.created_at),
  };
}

function parseWorkspace(value: Json | undefined): Workspace | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (!isObject(value)) {
    throw new NotADecision();
  }
  const cap = value.max_token_lifetime_days;
  if (cap !== undefined && cap !== null && typeof cap !== "number") {
    throw new NotADecision();
  }
  return {
    id: str(value.id),
    slug: str(value.slug),
    name: str(value.name),
    maxTokenLifetimeDays: cap ?? null,
    createdAt: str(value.created_at),
    updatedAt: str(value.updated_at),
  };
}

/**
 * The decision in Keygate's answer, read leniently as keygate-proto reads it: unknown fields are
 * ignored, and lists or optional fields left out take their empty value. `undefined` when the
 * answer is not a decision.
 */
function parseDecision(text: string): Decision | undefined {
  const value = parseJson(text);
  if (!isObject(value) || typeof value.valid !== "boolean" || typeof value.code !== "string") {
    return undefined;
  }
  try {
    const code: Code = CODES.has(value.code) ? (value.code as Code) : "unknown";
    const permissions = value.permissions ?? [];
    if (!Array.isArray(permissions)) {
      return undefined;
    }
    const user = parseUser(value.user);
    return freeze({
      valid: value.valid && code === "ok",
      code,
      missing: optionalStr(value.missing),
      identity: {
        user,
        anonymous: user === null,
        workspace: parseWorkspace(value.workspace),
        tokenId: optionalStr(value.token_id),
        permissions: permissions.map(str),
        expiresAt: optionalStr(value.expires_at),
      },
      ipChecked: optionalBool(value.ip_checked),
      rateLimit: parseRateLimit(value.rate_limit),
    });
  } catch (error) {
    if (error instanceof NotADecision) {
      return undefined;
    }
    throw error;
  }
}

/** `value`, frozen all the way down: a cached decision is shared by every request that asks. */
function freeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) {
      freeze(inner);
    }
    Object.freeze(value);
  }
  return value;
}
