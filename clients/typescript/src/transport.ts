/**
 * The token a request presents, read from the same transports Keygate itself accepts:
 * `Authorization: Token <t>` or `Bearer <t>`, `API-KEY` (any spelling of the name), `X-API-Key`.
 * A guarded route refuses a token in its URL (`api_token=`), as Keygate's own routes do, so a
 * token never travels where logs keep it.
 */

import { Rejection } from "./rejection.js";

/** The query parameter reserved for a token in a URL; guarded routes refuse it. */
export const QUERY_TOKEN_PARAM = "api_token";

/** The `Authorization` schemes that carry a token, compared without regard to case. */
const AUTHORIZATION_SCHEMES = ["token", "bearer"];
/** The other headers that carry a token, in lower case. */
const API_KEY_HEADERS = ["api-key", "x-api-key"];

/** A request's headers as name and value pairs, one pair per header line. */
export type HeaderPairs = Iterable<readonly [string, string]>;

/** Whether `name` (any case) is a header that can carry a token. */
export function isCredentialsHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === "authorization" || API_KEY_HEADERS.includes(lower);
}

/** Tab, space and visible ASCII: what Keygate reads as header text. */
function isHeaderText(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (!(c === 0x09 || (c >= 0x20 && c < 0x7f))) {
      return false;
    }
  }
  return true;
}

/** The query string of `url` (a full URL or a path with a query), without the `?`. */
function queryOf(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) {
    return "";
  }
  const hash = url.indexOf("#", at);
  return url.slice(at + 1, hash < 0 ? undefined : hash);
}

/**
 * The token presented in `headers`, `undefined` for an anonymous request. Two different tokens,
 * an `Authorization` header with another scheme, a credentials header with bytes outside visible
 * ASCII, and a token in the query string of `url` are refused with a 400 {@link Rejection}. The
 * same token presented twice is one token.
 */
export function presentedToken(headers: HeaderPairs, url: string): string | undefined {
  let found: string | undefined;
  let conflicting = false;
  const add = (token: string) => {
    if (found === undefined) {
      found = token;
    } else if (found !== token) {
      conflicting = true;
    }
  };
  const authorization: string[] = [];
  const apiKeys: string[] = [];
  for (const [name, value] of headers) {
    const lower = name.toLowerCase();
    if (lower === "authorization") {
      authorization.push(value);
    } else if (API_KEY_HEADERS.includes(lower)) {
      apiKeys.push(value);
    }
  }
  for (const value of authorization) {
    if (!isHeaderText(value)) {
      throw notText();
    }
    const space = value.indexOf(" ");
    const scheme = space < 0 ? value : value.slice(0, space);
    const credentials = space < 0 ? "" : value.slice(space + 1);
    if (!AUTHORIZATION_SCHEMES.includes(scheme.toLowerCase())) {
      throw Rejection.badRequest(
        "invalid_request",
        "the Authorization header must use the Token or Bearer scheme",
      );
    }
    add(credentials.trim());
  }
  for (const value of apiKeys) {
    if (!isHeaderText(value)) {
      throw notText();
    }
    add(value.trim());
  }
  const query = queryOf(url);
  if (query !== "") {
    // URLSearchParams decodes names as the server does: `api%5Ftoken` is the same parameter.
    if (new URLSearchParams(query).has(QUERY_TOKEN_PARAM)) {
      throw Rejection.badRequest(
        "query_token_not_allowed",
        "this endpoint does not accept a token in the URL; send it in the Authorization, " +
          "API-KEY or X-API-Key header",
      );
    }
  }
  if (conflicting) {
    throw Rejection.badRequest(
      "conflicting_tokens",
      "the request presents more than one different token",
    );
  }
  return found;
}

function notText(): Rejection {
  return Rejection.badRequest(
    "invalid_request",
    "a credentials header contains characters outside visible ASCII",
  );
}

/**
 * The header pairs of a Fetch API `Headers`. `Headers` joins repeated header lines with `, `; a
 * token never contains a comma, so a credentials header is split back into its lines and two
 * different tokens sent in two lines are still told apart.
 */
export function fetchHeaderPairs(headers: Headers): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  headers.forEach((value, name) => {
    if (isCredentialsHeader(name)) {
      for (const part of value.split(",")) {
        pairs.push([name, part.trim()]);
      }
    }
  });
  return pairs;
}
