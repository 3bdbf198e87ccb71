// app/devices/[id]/route.ts in a Next.js app.
import { Guard, Verifier } from "@keygate/client";

const keygate = new Verifier({
  url: process.env.KEYGATE_URL ?? "http://127.0.0.1:8080",
  workspace: "acme",
});
const read = new Guard(keygate, "devices:read", { resource: "device:{id}" });

export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }) {
  const decision = await read.check(request, await params);
  if (!decision.allowed) return decision.response;
  const { user } = decision.identity;
  return new Response(`hello ${user ? user.displayName : "anonymous"}`);
}
