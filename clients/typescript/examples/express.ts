import { fileURLToPath } from "node:url";

import express from "express";
import { Guard, Verifier } from "@keygate/client";
import { guardMiddleware, identityOf } from "@keygate/client/express";

export function devicesApi(keygate: Verifier): express.Express {
  const read = new Guard(keygate, "devices:read", { resource: "device:{id}" });
  const app = express();
  app.get("/devices/:id", guardMiddleware(read), (req, res) => {
    const { user } = identityOf(req);
    res.send(`hello ${user ? user.displayName : "anonymous"}`);
  });
  return app;
}

// node examples/express.js: the API on port 8090, guarded by the Keygate on port 8080.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const keygate = new Verifier({ url: "http://127.0.0.1:8080", workspace: "acme" });
  devicesApi(keygate).listen(8090, "127.0.0.1");
}
