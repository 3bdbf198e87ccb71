// The documented examples (examples/*.ts), served the way each framework serves them, behind one
// interface so that every test runs against each of them.

import type { AddressInfo } from "node:net";
import type { Server } from "node:http";

import { Verifier, type VerifierOptions } from "@keygate/client";

import { devicesApi as expressDevicesApi } from "../../examples/express.js";
import { devicesApi as honoDevicesApi } from "../../examples/hono.js";
import { parseAnswer, rawGet, type Answer } from "./http.js";

/** The platform's fetch, before the tests count the Next.js example's calls through it. */
export const realFetch: typeof fetch = globalThis.fetch;

/** A header line: a name and a value (bytes as a latin1 string or a Buffer). */
export type Line = readonly [string, string | Buffer];

export interface Api {
  name: string;
  /** `GET path` with exactly these header lines. */
  get(path: string, headers?: readonly Line[]): Promise<Answer>;
  /** How many times the API's verifier has called Keygate's verify endpoint. */
  calls(): number;
  close(): Promise<void>;
}

/** A verifier of `url` for `acme` whose calls to Keygate are counted. */
export function countingVerifier(
  url: string,
  options: Partial<VerifierOptions> = {},
): { verifier: Verifier; calls: () => number } {
  let calls = 0;
  const verifier = new Verifier({
    url,
    workspace: "acme",
    ...options,
    fetch: (input, init) => {
      calls += 1;
      return realFetch(input, init);
    },
  });
  return { verifier, calls: () => calls };
}

/** The Express example on a random port, reached over raw sockets. */
export async function expressApi(url: string, options: Partial<VerifierOptions> = {}): Promise<Api> {
  const { verifier, calls } = countingVerifier(url, options);
  const server: Server = await new Promise((done) => {
    const s = expressDevicesApi(verifier).listen(0, "127.0.0.1", () => done(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    name: "express",
    get: (path, headers = []) => rawGet(port, path, headers),
    calls,
    close: () =>
      new Promise((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** A Fetch API request for `path` with these header lines (repeated names are joined by Headers). */
export function fetchRequest(path: string, headers: readonly Line[] = []): Request {
  const h = new Headers();
  for (const [name, value] of headers) {
    h.append(name, Buffer.isBuffer(value) ? value.toString("latin1") : value);
  }
  return new Request(`http://api.test${path}`, { headers: h });
}

/** A Fetch API response, read like a raw one. */
export async function answerOf(response: Response): Promise<Answer> {
  const head = [`HTTP/1.1 ${response.status} X`];
  response.headers.forEach((value, name) => head.push(`${name}: ${value}`));
  const body = Buffer.from(await response.arrayBuffer());
  return parseAnswer(Buffer.concat([Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1"), body]));
}

/** The Hono example, called through `app.fetch` as edge runtimes call it. */
export function honoApi(url: string, options: Partial<VerifierOptions> = {}): Api {
  const { verifier, calls } = countingVerifier(url, options);
  const app = honoDevicesApi(verifier);
  return {
    name: "hono",
    get: async (path, headers = []) => answerOf(await app.fetch(fetchRequest(path, headers))),
    calls,
    close: async () => {},
  };
}

let nextCalls = 0;
let nextLoads = 0;
const countVerifyCalls: typeof fetch = (input, init) => {
  if (String(input instanceof Request ? input.url : input).endsWith("/api/v1/verify")) {
    nextCalls += 1;
  }
  return realFetch(input, init);
};

function tryDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * The Next.js route handler, called as Next.js calls it. Each call loads a fresh copy of the
 * module, whose verifier (with its own cache) is made from KEYGATE_URL when the module loads and
 * calls the platform's fetch, which the tests count.
 */
export async function nextApi(url: string): Promise<Api> {
  process.env.KEYGATE_URL = url;
  globalThis.fetch = countVerifyCalls;
  nextLoads += 1;
  const specifier = `../../examples/next-route.js?copy=${nextLoads}`;
  const route = (await import(specifier)) as typeof import("../../examples/next-route.js");
  const base = nextCalls;
  return {
    name: "next",
    get: async (path, headers = []) => {
      const request = fetchRequest(path, headers);
      const id = tryDecode(new URL(request.url).pathname.replace(/^\/devices\//, ""));
      return answerOf(await route.GET(request, { params: Promise.resolve({ id }) }));
    },
    calls: () => nextCalls - base,
    close: async () => {},
  };
}
