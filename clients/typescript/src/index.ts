/**
 * Guard an HTTP API with Keygate, on any platform with the Fetch API (Node 20+, Deno, Bun, edge
 * runtimes).
 *
 * A {@link Verifier} asks Keygate's `POST /api/v1/verify` and keeps each decision for a moment
 * (one second by default) in a local cache keyed by a SHA-256 digest of the question. A
 * {@link Guard} reads the caller's token from the transports Keygate accepts, asks for a route's
 * permission on its resource, and answers refusals the way Keygate does: 401 with
 * `WWW-Authenticate`, 403 naming what is missing, 400 for two different tokens, 429 with
 * `Retry-After` past a rate limit, and `503 keygate_unavailable` when Keygate cannot be reached
 * or fails (fail closed).
 *
 * Express and other Node middleware stacks: `@keygate/client/express`.
 *
 * @module
 */

export {
  Guard,
  fill,
  rejectionOf,
  type GuardDecision,
  type GuardOptions,
  type PathParams,
  type RequestParts,
  type Source,
} from "./guard.js";
export {
  CHALLENGE,
  CHALLENGE_INVALID_TOKEN,
  Rejection,
  type ErrorEnvelope,
  type RejectionCode,
} from "./rejection.js";
export { isWellFormedToken } from "./token.js";
export {
  QUERY_TOKEN_PARAM,
  fetchHeaderPairs,
  presentedToken,
  type HeaderPairs,
} from "./transport.js";
export {
  DEFAULT_CACHE_SIZE,
  DEFAULT_CACHE_TTL_MS,
  DEFAULT_TIMEOUT_MS,
  Verifier,
  VerifyError,
  type Code,
  type Decision,
  type Identity,
  type Logger,
  type Question,
  type RateLimitState,
  type User,
  type VerifierOptions,
  type VerifyErrorKind,
  type Workspace,
} from "./verifier.js";
