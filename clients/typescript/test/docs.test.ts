// The documentation quotes the examples that the other tests run: docs/guard-your-api.md (its
// TypeScript section) and this package's README show each file exactly as it is.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

const here = new URL("../../", import.meta.url);
const read = (path: string, base = here) => readFileSync(new URL(path, base), "utf8");

function typescriptSection(): string {
  const guide = read("../../docs/guard-your-api.md");
  const start = guide.indexOf("\n## TypeScript\n");
  assert.ok(start >= 0, "docs/guard-your-api.md has no `## TypeScript` section");
  const next = guide.indexOf("\n## ", start + 1);
  return guide.slice(start, next < 0 ? undefined : next);
}

test("the guide's TypeScript section quotes the tested examples exactly", () => {
  const section = typescriptSection();
  for (const example of ["express.ts", "hono.ts", "next-route.ts"]) {
    const code = read(`examples/${example}`);
    assert.ok(section.includes("```ts\n" + code + "```\n"), `the guide does not quote examples/${example} as it is`);
    assert.ok(section.includes(`clients/typescript/examples/${example}`), `the guide does not name examples/${example}`);
  }
});

test("the README quotes the tested Express example exactly", () => {
  const readme = read("README.md");
  assert.ok(readme.includes("```ts\n" + read("examples/express.ts") + "```\n"));
});
