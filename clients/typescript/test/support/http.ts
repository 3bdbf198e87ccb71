// A raw HTTP/1.1 client: sends header lines exactly as given (repeated names, any bytes), which
// neither fetch nor node:http allow, and reads the answer.

import { connect } from "node:net";

export interface Answer {
  status: number;
  /** Header names in lower case; repeated ones joined with `, `. */
  headers: Record<string, string>;
  text: string;
  /** The body as JSON, or undefined when it is not JSON. */
  json: any;
}

function decodeChunked(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const end = body.indexOf("\r\n", at);
    if (end < 0) break;
    const size = parseInt(body.subarray(at, end).toString("latin1"), 16);
    if (!(size > 0)) break;
    out.push(body.subarray(end + 2, end + 2 + size));
    at = end + 2 + size + 2;
  }
  return Buffer.concat(out);
}

export function parseAnswer(raw: Buffer): Answer {
  const split = raw.indexOf("\r\n\r\n");
  const head = raw.subarray(0, split < 0 ? raw.length : split).toString("latin1");
  let body = split < 0 ? Buffer.alloc(0) : raw.subarray(split + 4);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  if (headers["transfer-encoding"]?.includes("chunked")) {
    body = decodeChunked(body);
  }
  const text = body.toString("utf8");
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status, headers, text, json };
}

/** `GET path` on `port` with `headers` (name and value pairs, values as bytes when Buffers). */
export function rawGet(
  port: number,
  path: string,
  headers: ReadonlyArray<readonly [string, string | Buffer]> = [],
): Promise<Answer> {
  return new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (chunk) => chunks.push(chunk));
    socket.on("error", fail);
    socket.on("end", () => done(parseAnswer(Buffer.concat(chunks))));
    const parts: Buffer[] = [Buffer.from(`GET ${path} HTTP/1.1\r\nHost: api.test\r\nConnection: close\r\n`, "latin1")];
    for (const [name, value] of headers) {
      parts.push(Buffer.from(`${name}: `, "latin1"), Buffer.isBuffer(value) ? value : Buffer.from(value, "latin1"), Buffer.from("\r\n"));
    }
    parts.push(Buffer.from("\r\n"));
    socket.write(Buffer.concat(parts));
  });
}
