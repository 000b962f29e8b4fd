// `npm run demo`: the whole classic scenario on this machine, then the two curl results.
//   four upstreams on 127.0.0.1:8081..8084 (the endpoints of examples/seed.yaml), answering with their name;
//   xdsd serving examples/seed.yaml on 127.0.0.1:18000 (admin 127.0.0.1:18001);
//   a real Envoy 1.40 from `xdsd bootstrap --mode eds`, listening on :10000, admin on 127.0.0.1:9901.
// Pass --keep to leave everything running (Ctrl-C stops it) and try curl yourself.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEnvoy } from "../test/support/envoy.js";
import { httpGet } from "../test/support/http.js";
import { repoRoot, trackChild } from "../test/support/processes.js";
import { startUpstream, type Upstream } from "../test/support/upstream.js";

const root = repoRoot();
const keep = process.argv.includes("--keep");

async function main(): Promise<void> {
  execFileSync(process.execPath, [join(root, "scripts", "install-envoy.mjs")], { stdio: ["ignore", "ignore", "inherit"] });

  const upstreams: Upstream[] = [];
  for (const [name, port] of [
    ["nginx-1", 8081],
    ["nginx-2", 8082],
    ["httpd-1", 8083],
    ["httpd-2", 8084],
  ] as const) {
    upstreams.push(await startUpstream(`${name} (127.0.0.1:${port})`, port).catch((err: Error) => fail(`cannot listen on 127.0.0.1:${port}: ${err.message}`)));
  }
  console.log(`upstreams: ${upstreams.map((u) => u.name).join(", ")}`);

  const xdsd = spawn(
    process.execPath,
    [
      join(root, "bin", "xdsd.js"),
      "serve",
      "--config",
      "examples/seed.yaml",
      "--xds-listen",
      "127.0.0.1:18000",
      "--data-dir",
      mkdtempSync(join(tmpdir(), "xdsd-demo-")),
    ],
    {
      cwd: root,
      stdio: ["ignore", "inherit", keep ? "inherit" : "pipe"],
    },
  );
  trackChild(xdsd);
  await waitFor(async () => (await httpGet("http://127.0.0.1:18001/healthz").catch(() => ({ status: 0 }))).status === 200, "xdsd to listen");
  console.log("xdsd: serving examples/seed.yaml on 127.0.0.1:18000 (admin http://127.0.0.1:18001/config)");

  const bootstrap = execFileSync(
    process.execPath,
    [join(root, "bin", "xdsd.js"), "bootstrap", "--node-id", "node0", "--node-cluster", "cluster.local", "--mode", "eds"],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  const envoy = await startEnvoy({ bootstrapYaml: bootstrap, name: "demo" });
  await envoy.waitReady();
  console.log(`envoy: ready, listener 127.0.0.1:10000, admin ${envoy.adminUrl}`);

  for (const host of ["httpd.local", "nginx.local", "httpd.local", "nginx.local"]) {
    const r = await httpGet("http://127.0.0.1:10000/", { host });
    console.log(`$ curl -H 'Host: ${host}' 127.0.0.1:10000\n${r.body}${r.status === 200 ? "" : `  (HTTP ${r.status})`}`);
  }

  if (keep) {
    console.log("\nrunning; edit examples/seed.yaml and curl again. Ctrl-C stops everything.");
    await new Promise((resolve) => process.once("SIGINT", resolve));
  }
  await envoy.stop();
  xdsd.kill("SIGTERM");
  for (const u of upstreams) await u.close();
}

async function waitFor(cond: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function fail(message: string): never {
  console.error(`demo: ${message}`);
  process.exit(1);
}

main().catch((err: Error) => fail(err.stack ?? err.message));
