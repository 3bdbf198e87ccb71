/**
 * Express middleware (also Connect, and Node's own `http` server): a {@link Guard} in front of a
 * route, and the verified {@link Identity} for its handler.
 *
 * ```ts
 * app.get("/devices/:id", guardMiddleware(read), (req, res) => {
 *   res.send(`hello ${identityOf(req).user?.displayName ?? "anonymous"}`);
 * });
 * ```
 *
 * Written against the shape of Node's request and response, so it needs neither Express nor
 * Node's types at run time.
 *
 * @module
 */

import type { Guard, PathParams } from "./guard.js";
import { Rejection } from "./rejection.js";
import type { Identity } from "./verifier.js";

/** What the middleware reads of a request: Node's `IncomingMessage`, with Express's additions. */
export interface NodeRequest {
  /** Every header line, names and values in turn, as Node keeps them. */
  rawHeaders?: readonly string[] | undefined;
  /** The headers as Node folds them; read only without `rawHeaders`. */
  headers?: Readonly<Record<string, string | readonly string[] | undefined>> | undefined;
  /** Express: the URL before routers in between cut its mount path. */
  originalUrl?: string | undefined;
  url?: string | undefined;
  /** Express: the path parameters of the matched route. */
  params?: PathParams | undefined;
}

/** What the middleware writes of a response: Node's `ServerResponse`. */
export interface NodeResponse {
  statusCode: number;
  headersSent?: boolean | undefined;
  setHeader(name: string, value: string): unknown;
  end(body: string): unknown;
}

/** Connect and Express's `next`. */
export type Next = (error?: unknown) => void;

/** A guard as middleware. */
export type GuardMiddleware = (req: NodeRequest, res: NodeResponse, next: Next) => void;

const identities = new WeakMap<object, Identity>();

/** The header lines of a Node request, repeated names kept apart. */
function headerPairs(req: NodeRequest): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      pairs.push([raw[i] as string, raw[i + 1] as string]);
    }
    return pairs;
  }
  for (const [name, value] of Object.entries(req.headers ?? {})) {
    if (typeof value === "string") {
      pairs.push([name, value]);
    } else if (value !== undefined) {
      for (const one of value) {
        pairs.push([name, one]);
      }
    }
  }
  return pairs;
}

/** Writes `rejection` as the answer: Keygate's status, envelope and challenge. */
export function sendRejection(res: NodeResponse, rejection: Rejection): void {
  res.statusCode = rejection.status;
  for (const [name, value] of Object.entries(rejection.headers())) {
    res.setHeader(name, value);
  }
  res.end(JSON.stringify(rejection));
}

/**
 * Middleware that lets a request through only when `guard` allows it, and keeps the caller's
 * {@link Identity} for {@link identityOf}. Refusals are answered here, as Keygate answers them.
 * Add it to a route (`app.get(path, guardMiddleware(g), handler)`) so that its path parameters
 * are known. Works with Express 4 and 5.
 */
export function guardMiddleware(guard: Guard): GuardMiddleware {
  return (req, res, next) => {
    guard
      .judge({
        headers: headerPairs(req),
        url: req.originalUrl ?? req.url ?? "/",
        params: req.params,
      })
      .then(
        (identity) => {
          identities.set(req, identity);
          next();
        },
        (error: unknown) => {
          if (error instanceof Rejection && !res.headersSent) {
            sendRejection(res, error);
          } else {
            next(error);
          }
        },
      )
      // A failure inside `next` is the application's: hand it to Express's error handling.
      .catch(next);
  };
}

/**
 * The caller that the guard in front of this route verified. Throws a 500 `guard_misconfigured`
 * {@link Rejection} on a route without a guard; {@link maybeIdentityOf} is for routes where a
 * guard is optional.
 */
export function identityOf(req: object): Identity {
  const identity = identities.get(req);
  if (identity === undefined) {
    throw Rejection.misconfigured(
      "the handler asks for an identity but its route has no Keygate guard",
    );
  }
  return identity;
}

/** The caller verified by a guard in front of this route, if there is one. */
export function maybeIdentityOf(req: object): Identity | undefined {
  return identities.get(req);
}

/**
 * Express error middleware that answers a {@link Rejection} thrown by a handler (e.g.
 * {@link identityOf} on a route without a guard) as Keygate would, and passes any other error on.
 * Add it after the routes: `app.use(rejectionHandler)`.
 */
export function rejectionHandler(error: unknown, _req: NodeRequest, res: NodeResponse, next: Next): void {
  if (error instanceof Rejection && !res.headersSent) {
    if (error.code === "guard_misconfigured") {
      console.error(`a Keygate guard is misconfigured: ${error.message}`);
    }
    sendRejection(res, error);
  } else {
    next(error);
  }
}
