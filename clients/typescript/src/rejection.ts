/**
 * `Rejection`: why a guarded request is refused, answered with Keygate's own statuses, JSON error
 * envelope (`{"error":{"code","message"}}`) and `WWW-Authenticate` challenges.
 */

import type { RateLimitState } from "./verifier.js";

/** The challenge of a 401 to a request without a token. */
export const CHALLENGE = 'Token realm="keygate"';
/** The challenge of a 401 to a request whose token is malformed, unknown, expired or revoked. */
export const CHALLENGE_INVALID_TOKEN = 'Token realm="keygate", error="invalid_token"';

/** The body of every refusal. */
export interface ErrorEnvelope {
  error: {
    /** A stable snake_case code, e.g. `forbidden`. */
    code: string;
    /** What went wrong, for people; it never quotes a token. */
    message: string;
    /** With `forbidden`: the permission that is missing, when one is. */
    permission?: string;
  };
}

/** The `error.code` of each kind of refusal. */
export type RejectionCode =
  | "invalid_request"
  | "conflicting_tokens"
  | "query_token_not_allowed"
  | "invalid_path"
  | "unauthenticated"
  | "invalid_token"
  | "token_expired"
  | "token_revoked"
  | "forbidden"
  | "ip_not_allowed"
  | "rate_limited"
  | "keygate_unavailable"
  | "guard_misconfigured";

const INVALID_TOKEN_MESSAGES = {
  invalid_token: "the token is malformed, unknown or no longer valid",
  token_expired: "the token has expired",
  token_revoked: "the token has been revoked",
} as const;

/** A refused request: its status, its envelope and its challenge. Its message never quotes a token. */
export class Rejection extends Error {
  override readonly name = "Rejection";
  /** The HTTP status of the answer. */
  readonly status: number;
  /** The answer's `error.code`. */
  readonly code: RejectionCode;
  /** With `forbidden`: the missing permission (absent when a resource is what is missing). */
  readonly permission: string | undefined;
  /** With `rate_limited`: the limit that is used up, when the decision said it. */
  readonly rateLimit: RateLimitState | undefined;

  private constructor(
    status: number,
    code: RejectionCode,
    message: string,
    permission?: string,
    rateLimit?: RateLimitState,
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.permission = permission;
    this.rateLimit = rateLimit;
  }

  /** 400: the request cannot be judged (its token transports, its path, a question Keygate refuses). */
  static badRequest(
    code: "invalid_request" | "conflicting_tokens" | "query_token_not_allowed" | "invalid_path",
    message: string,
  ): Rejection {
    return new Rejection(400, code, message);
  }

  /** 401 `unauthenticated`: no token, and the public role does not allow the request. */
  static unauthenticated(): Rejection {
    return new Rejection(401, "unauthenticated", "this endpoint needs a token");
  }

  /** 401 `invalid_token`, `token_expired` or `token_revoked`. */
  static invalidToken(code: "invalid_token" | "token_expired" | "token_revoked"): Rejection {
    return new Rejection(401, code, INVALID_TOKEN_MESSAGES[code]);
  }

  /**
   * 403 `forbidden`: `missing` is the permission lacking or, when the permission is held but not
   * on the resource, the resource.
   */
  static forbidden(missing: string, isPermission: boolean): Rejection {
    return isPermission
      ? new Rejection(403, "forbidden", `missing permission \`${missing}\``, missing)
      : new Rejection(403, "forbidden", `missing \`${missing}\``);
  }

  /** 403 `forbidden`: the token's user is not a member of the workspace. */
  static notAMember(): Rejection {
    return new Rejection(403, "forbidden", "not a member of this workspace");
  }

  /**
   * 403 `ip_not_allowed`: the token is held to an allow-list (`allowed_ips`) that leaves the
   * client's address out. No challenge: the token is right, authenticating again will not help.
   */
  static ipNotAllowed(): Rejection {
    return new Rejection(
      403,
      "ip_not_allowed",
      "this token may not be used from this address: its allowed_ips leave it out",
    );
  }

  /**
   * 429 `rate_limited`: the token, or its API user, has used up one of its rate limits. With the
   * decision's `rateLimit`, the answer carries `Retry-After` and the `RateLimit-*` headers, as
   * Keygate's own 429 does. No challenge.
   */
  static rateLimited(rateLimit?: RateLimitState): Rejection {
    if (rateLimit === undefined) {
      return new Rejection(429, "rate_limited", "this token has used its rate limit; try again later");
    }
    return new Rejection(
      429,
      "rate_limited",
      `this token has used its rate limit of ${rateLimit.limit} in this window; try again in ${rateLimit.reset} s`,
      undefined,
      rateLimit,
    );
  }

  /** 503 `keygate_unavailable`: Keygate cannot be reached or fails (the request fails closed). */
  static unavailable(): Rejection {
    return new Rejection(
      503,
      "keygate_unavailable",
      "Keygate cannot be reached to verify this request; try again shortly",
    );
  }

  /** 500 `guard_misconfigured`: the guard asks for something the route cannot give. */
  static misconfigured(message: string): Rejection {
    return new Rejection(500, "guard_misconfigured", message);
  }

  /** The `WWW-Authenticate` challenge of a 401, if this is one. */
  get challenge(): string | undefined {
    if (this.code === "unauthenticated") {
      return CHALLENGE;
    }
    return this.status === 401 ? CHALLENGE_INVALID_TOKEN : undefined;
  }

  /** The JSON body of the answer. */
  toJSON(): ErrorEnvelope {
    const error: ErrorEnvelope["error"] = { code: this.code, message: this.message };
    if (this.permission !== undefined) {
      error.permission = this.permission;
    }
    return { error };
  }

  /**
   * The headers of the answer, names in lower case: `WWW-Authenticate` on a 401; `Retry-After` and
   * `RateLimit-Limit`, `-Remaining` and `-Reset` on a 429 that knows the limit.
   */
  headers(): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    const challenge = this.challenge;
    if (challenge !== undefined) {
      headers["www-authenticate"] = challenge;
    }
    if (this.rateLimit !== undefined) {
      headers["retry-after"] = String(this.rateLimit.reset);
      headers["ratelimit-limit"] = String(this.rateLimit.limit);
      headers["ratelimit-remaining"] = String(this.rateLimit.remaining);
      headers["ratelimit-reset"] = String(this.rateLimit.reset);
    }
    return headers;
  }

  /** The answer as a Fetch API `Response`. */
  toResponse(): Response {
    return new Response(JSON.stringify(this), { status: this.status, headers: this.headers() });
  }
}
