/**
 * `Guard`: asks Keygate whether a request may do a route's permission on its resource, and gives
 * the verified {@link Identity}, or the {@link Rejection} to answer with.
 */

import { Rejection } from "./rejection.js";
import { fetchHeaderPairs, presentedToken, type HeaderPairs } from "./transport.js";
import { VerifyError, type Identity, type Verifier } from "./verifier.js";

/** The path parameters of the matched route, by name, decoded. */
export type PathParams = Readonly<Record<string, string | undefined>>;

/**
 * How a guard finds a value (permission, resource or workspace) for a request: a template whose
 * `{name}` placeholders are filled from the path parameters (`device:{id}`; `{{` and `}}` are
 * literal braces), or a function of the path parameters, whose `undefined` or `null` refuses the
 * request with 400.
 */
export type Source = string | ((params: PathParams) => string | null | undefined);

/** Where a guard finds the resource and workspace of a request. */
export interface GuardOptions {
  /** The resource the request touches, e.g. `device:{id}`; without one, only the permission. */
  resource?: Source | undefined;
  /** The workspace (slug or id), e.g. `{ws}` or a fixed slug; without one, the verifier's. */
  workspace?: Source | undefined;
}

/** What a guard needs of a request, whatever the framework: its headers, URL and path parameters. */
export interface RequestParts {
  /** Every header line as a name and value pair (a name may repeat). */
  headers: HeaderPairs;
  /** The request's URL, or its path and query string; only the query string is read. */
  url: string;
  /** The path parameters of the matched route. */
  params?: PathParams | undefined;
}

/** A guard's verdict on a Fetch API request. */
export type GuardDecision =
  | { readonly allowed: true; readonly identity: Identity }
  | {
      readonly allowed: false;
      /** Why the request is refused. */
      readonly rejection: Rejection;
      /** The answer to send: Keygate's status, envelope and challenge. */
      readonly response: Response;
    };

/** One piece of a parsed template: literal text, or the name of a path parameter. */
type Piece = { text: string } | { param: string };

/** `template` split into literal text and `{name}` placeholders, or why it is broken. */
function parseTemplate(template: string): Piece[] {
  const pieces: Piece[] = [];
  let text = "";
  let i = 0;
  while (i < template.length) {
    const c = template.charAt(i);
    if ((c === "{" || c === "}") && template.charAt(i + 1) === c) {
      text += c;
      i += 2;
    } else if (c === "{") {
      const end = template.indexOf("}", i + 1);
      if (end < 0) {
        throw new TypeError(`the guard's template ${JSON.stringify(template)} has a \`{\` without its \`}\``);
      }
      if (text !== "") {
        pieces.push({ text });
        text = "";
      }
      pieces.push({ param: template.slice(i + 1, end) });
      i = end + 1;
    } else if (c === "}") {
      throw new TypeError(`the guard's template ${JSON.stringify(template)} has a \`}\` without its \`{\``);
    } else {
      text += c;
      i += 1;
    }
  }
  if (text !== "") {
    pieces.push({ text });
  }
  return pieces;
}

/**
 * `template` with each `{name}` replaced by the path parameter `name`, in one pass (a value that
 * holds braces is not read as a template). A placeholder the route does not capture is a
 * misconfiguration: a {@link Rejection} with status 500.
 */
export function fill(template: string, params: PathParams): string {
  let pieces: Piece[];
  try {
    pieces = parseTemplate(template);
  } catch (error) {
    throw Rejection.misconfigured((error as Error).message);
  }
  return fillPieces(template, pieces, params);
}

function fillPieces(template: string, pieces: readonly Piece[], params: PathParams): string {
  let out = "";
  for (const piece of pieces) {
    if ("text" in piece) {
      out += piece.text;
      continue;
    }
    const value = Object.hasOwn(params, piece.param) ? params[piece.param] : undefined;
    if (typeof value !== "string") {
      throw Rejection.misconfigured(
        `the guard's template ${JSON.stringify(template)} names \`{${piece.param}}\`, which the route does not capture`,
      );
    }
    out += value;
  }
  return out;
}

/** A {@link Source}, with its template parsed once. */
class Compiled {
  readonly #source: Source;
  readonly #pieces: Piece[] | undefined;

  constructor(source: Source) {
    this.#source = source;
    // A broken template is found when the guard is made, not on the first request.
    this.#pieces = typeof source === "string" ? parseTemplate(source) : undefined;
  }

  value(params: PathParams): string {
    if (typeof this.#source === "string") {
      return fillPieces(this.#source, this.#pieces ?? [], params);
    }
    const value = this.#source(params);
    if (typeof value !== "string") {
      throw Rejection.badRequest("invalid_path", "the path does not name what this route needs");
    }
    return value;
  }
}

/**
 * Lets a request through only when Keygate allows its caller the guard's permission (on the
 * guard's resource, in the guard's workspace). One guard per route; it holds no state of its own
 * beyond the verifier's cache.
 *
 * ```ts
 * const read = new Guard(keygate, "devices:read", { resource: "device:{id}" });
 * const decision = await read.check(request, { id: "abc" });
 * if (!decision.allowed) return decision.response;
 * ```
 */
export class Guard {
  readonly verifier: Verifier;
  readonly #permission: Compiled;
  readonly #resource: Compiled | undefined;
  readonly #workspace: Compiled | undefined;

  /**
   * A guard demanding `permission` (a template: `{area}:read` works), on the resource and in the
   * workspace of `options`. Throws a `TypeError` for a template with unbalanced braces.
   */
  constructor(verifier: Verifier, permission: Source, options: GuardOptions = {}) {
    this.verifier = verifier;
    this.#permission = new Compiled(permission);
    this.#resource = options.resource === undefined ? undefined : new Compiled(options.resource);
    this.#workspace = options.workspace === undefined ? undefined : new Compiled(options.workspace);
  }

  /**
   * The verified caller of a request, whatever its framework. Rejects with a {@link Rejection} when
   * the request is refused: its token transports first (400, before Keygate is asked), then
   * Keygate's decision (401, 403, 429), or Keygate's failure (503: fail closed).
   */
  async judge(request: RequestParts): Promise<Identity> {
    const token = presentedToken(request.headers, request.url);
    const params = request.params ?? {};
    try {
      const permission = this.#permission.value(params);
      const resource = this.#resource?.value(params);
      const workspace = this.#workspace?.value(params) ?? this.verifier.workspace;
      if (workspace === undefined) {
        throw Rejection.misconfigured("no workspace: give one to the Verifier or to the guard");
      }
      return await this.#decide(token, workspace, permission, resource);
    } catch (error) {
      if (error instanceof Rejection && error.code === "guard_misconfigured") {
        this.verifier.logger.error(`a Keygate guard is misconfigured: ${error.message}`);
      }
      throw error;
    }
  }

  async #decide(
    token: string | undefined,
    workspace: string,
    permission: string,
    resource: string | undefined,
  ): Promise<Identity> {
    let decision;
    try {
      // A guard cannot tell a proxy's address from its client's: it gives no `clientIp`, and
      // Keygate answers `ip_checked: false` for a token held to an allow-list. It gives no `cost`
      // either: Keygate counts 1 each time it is asked (not for an answer from the cache).
      decision = await this.verifier.verify({ token, workspace, permission, resource });
    } catch (error) {
      throw rejectionOf(error);
    }
    if (decision.valid) {
      return decision.identity;
    }
    switch (decision.code) {
      case "invalid_token":
      case "token_expired":
      case "token_revoked":
        throw Rejection.invalidToken(decision.code);
    }
    if (token === undefined) {
      // An anonymous caller the public role does not allow is asked for a token.
      throw Rejection.unauthenticated();
    }
    if (decision.code === "not_a_member") {
      throw Rejection.notAMember();
    }
    if (decision.code === "ip_not_allowed") {
      throw Rejection.ipNotAllowed();
    }
    if (decision.code === "rate_limited") {
      throw Rejection.rateLimited(decision.rateLimit);
    }
    const missing = decision.missing ?? permission;
    throw Rejection.forbidden(missing, missing === permission);
  }

  /**
   * The verdict on a Fetch API `Request` (Hono, Next.js route handlers, Deno, Bun, Cloudflare
   * Workers, …), with the path parameters the framework matched.
   */
  async check(request: Request, params: PathParams = {}): Promise<GuardDecision> {
    try {
      const identity = await this.judge({
        headers: fetchHeaderPairs(request.headers),
        url: request.url,
        params,
      });
      return { allowed: true, identity };
    } catch (error) {
      if (error instanceof Rejection) {
        return { allowed: false, rejection: error, response: error.toResponse() };
      }
      throw error;
    }
  }
}

/**
 * The refusal for a failed {@link Verifier.verify}: 503 when Keygate is unavailable, 400 for a
 * question Keygate refuses, 500 when no workspace is known. Other errors are returned as they are.
 */
export function rejectionOf(error: unknown): unknown {
  if (!(error instanceof VerifyError)) {
    return error;
  }
  switch (error.kind) {
    case "unavailable":
      return Rejection.unavailable();
    case "bad_question":
      return Rejection.badRequest("invalid_request", error.message);
    case "no_workspace":
      return Rejection.misconfigured(error.message);
  }
}
