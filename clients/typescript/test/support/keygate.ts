// A real Keygate for the tests: the binary named by KEYGATE_BIN (default: the repository's
// target/debug/keygate) on a fresh SQLite file in a temporary directory, bound to a random port of
// 127.0.0.1, with an owner of the workspace `acme` bootstrapped.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root, from build/test/support/ inside clients/typescript/. */
const REPO = resolve(fileURLToPath(import.meta.url), "../../../../../..");

export function keygateBinary(): string {
  return process.env.KEYGATE_BIN || join(REPO, "target/debug/keygate");
}

export interface Keygate {
  /** The base URL, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** The owner's personal token, in clear. */
  ownerToken: string;
  /** Everything the server printed so far. */
  logs(): string;
  /** Calls the REST API as the owner; checks the status and returns the JSON body (or null). */
  owner(method: string, path: string, body?: unknown, expect?: number): Promise<any>;
  /** Stops the server (SIGTERM, then SIGKILL) and removes its directory. */
  stop(): Promise<void>;
  /** Whether the server process is still running. */
  running(): boolean;
}

const started = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of started) {
    child.kill("SIGKILL");
  }
});

export async function startKeygate(): Promise<Keygate> {
  const bin = keygateBinary();
  const dir = mkdtempSync(join(tmpdir(), "keygate-ts-"));
  const config = join(dir, "keygate.toml");
  writeFileSync(
    config,
    [
      'bind = "127.0.0.1:0"',
      `database_url = "sqlite://${join(dir, "keygate.db")}"`,
      'log = "info"',
      "",
    ].join("\n"),
  );
  const boot = spawnSync(
    bin,
    ["--config", config, "bootstrap", "--email", "owner@example.com", "--workspace", "acme", "--json"],
    { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 },
  );
  if (boot.status !== 0) {
    throw new Error(`keygate bootstrap failed (${bin}): ${boot.error ?? ""} ${boot.stderr}`);
  }
  const ownerToken = (JSON.parse(boot.stdout) as { token: string }).token;

  const child = spawn(bin, ["--config", config, "serve"], { stdio: ["ignore", "pipe", "pipe"] });
  started.add(child);
  let output = "";
  let exited = false;
  const exit = new Promise<void>((done) =>
    child.on("exit", () => {
      exited = true;
      started.delete(child);
      done();
    }),
  );
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`keygate did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      const found = /listening on (http:\/\/[0-9.:]+)/.exec(output);
      if (found?.[1] !== undefined) {
        clearTimeout(timer);
        done(found[1]);
      }
    };
    child.stdout?.on("data", read);
    child.stderr?.on("data", read);
    child.on("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`keygate exited with ${code}:\n${output}`));
    });
  });
  for (let attempt = 0; ; attempt++) {
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (attempt > 100) throw new Error(`keygate is not healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    ownerToken,
    logs: () => output,
    running: () => !exited,
    async owner(method, path, body, expect) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: {
          authorization: `Token ${ownerToken}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      const wanted = expect ?? (method === "POST" ? 201 : method === "DELETE" ? 204 : 200);
      if (response.status !== wanted) {
        throw new Error(`${method} ${path}: ${response.status} ${text}`);
      }
      return text === "" ? null : JSON.parse(text);
    },
    async stop() {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exit;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
