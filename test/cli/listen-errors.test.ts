// A port already taken is one clear line and exit 1, with nothing left running (no hang, no stack trace), for the
// xDS port and for the admin port alike.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { runXdsd } from "../support/xdsd.js";

const taken: Server[] = [];
after(() => {
  for (const s of taken) s.close();
});

async function takePort(): Promise<number> {
  const server = createServer();
  taken.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

for (const which of ["xds", "admin"] as const) {
  test(`the ${which} port in use: one line, exit 1`, { timeout: 30_000 }, async () => {
    const port = await takePort();
    const free = "127.0.0.1:0";
    const r = await runXdsd([
      "serve",
      "--config",
      "examples/seed.yaml",
      "--xds-listen",
      which === "xds" ? `127.0.0.1:${port}` : free,
      "--admin-listen",
      which === "admin" ? `127.0.0.1:${port}` : free,
    ]);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines[lines.length - 1], `xdsd: cannot listen on 127.0.0.1:${port}: address already in use`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
  });
}
