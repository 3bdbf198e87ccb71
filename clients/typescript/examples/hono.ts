import { Hono } from "hono";
import { Guard, Verifier } from "@keygate/client";

export function devicesApi(keygate: Verifier): Hono {
  const read = new Guard(keygate, "devices:read", { resource: "device:{id}" });
  const app = new Hono();
  app.get("/devices/:id", async (c) => {
    const decision = await read.check(c.req.raw, c.req.param());
    if (!decision.allowed) return decision.response;
    const { user } = decision.identity;
    return c.text(`hello ${user ? user.displayName : "anonymous"}`);
  });
  return app;
}

// Deno, Bun and Cloudflare Workers serve the default export; on Node, `serve(app)` from
// @hono/node-server does.
export default devicesApi(new Verifier({ url: "http://127.0.0.1:8080", workspace: "acme" }));
