// The README's library example (examples/eds-server.ts) runs as written and a real Envoy takes its endpoints.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, test } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { repoRoot, trackChild } from "../support/processes.js";
import { runXdsd } from "../support/xdsd.js";

let envoy: EnvoyHandle | undefined;
const example = spawn(process.execPath, [join(repoRoot(), "dist", "examples", "eds-server.js")], {
  env: { ...process.env, XDS_PORT: "0" },
  stdio: ["ignore", "pipe", "inherit"],
});
trackChild(example);

after(async () => {
  await envoy?.stop();
  example.kill("SIGTERM");
});

test("examples/eds-server.ts serves EDS that a real Envoy accepts", async () => {
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    example.stdout!.on("data", (d) => {
      out += d;
      const m = /listening on :(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    example.on("exit", (code) => reject(new Error(`example exited with ${code}: ${out}`)));
  });
  const boot = await runXdsd([
    "bootstrap",
    "--config",
    "examples/seed.yaml",
    "--node-id",
    "node0",
    "--node-cluster",
    "cluster.local",
    "--xds",
    `127.0.0.1:${port}`,
    "--listen-port",
    String(await freePort()),
    "--admin-port",
    String(await freePort()),
  ]);
  assert.equal(boot.code, 0, boot.stderr);
  envoy = await startEnvoy({ bootstrapYaml: boot.stdout, name: "library-example" });
  await envoy.waitReady();
  const clusters = await envoy.clusters();
  const ports = (name: string) =>
    clusters.cluster_statuses
      .find((c) => c.name === name)
      ?.host_statuses?.map((h) => h.address?.socket_address?.port_value)
      .sort();
  assert.deepEqual(ports("nginx_cluster"), [8081, 8082]);
  assert.deepEqual(ports("httpd_cluster"), [8083, 8084]);
});
