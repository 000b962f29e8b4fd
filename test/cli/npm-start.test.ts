// `npm start` (scripts/start.mjs): builds what is out of date, then serves examples/seed.yaml; stopping npm by its
// pid stops the daemon too, and frees its ports. (package.json execs the script, so npm's SIGTERM reaches it.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { test } from "node:test";
import { repoRoot, trackChild } from "../support/processes.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\d+ \([^)]*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8")); // a zombie is gone but for its entry
  } catch {
    return false;
  }
}

/** True if 127.0.0.1:`port` can be listened on, i.e. nothing holds it. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs} ms\n${detail()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} to npm start's pid stops xdsd and frees its ports`, { timeout: 180_000 }, async () => {
    const child = spawn(npm, ["start", "--", "--xds-listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], {
      cwd: repoRoot(),
      env: { ...process.env, XDSD_LOG_FORMAT: "json", XDSD_DEBUG: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    trackChild(child);
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
    const serving = /\{[^\n]*"msg":"xdsd serving xDS on 127\.0\.0\.1:(\d+), admin on http:\/\/127\.0\.0\.1:(\d+)"[^\n]*\}/;
    // A build first if dist/ is out of date: up to a couple of minutes on a busy 2-core machine.
    await until(
      "npm start serves",
      () => serving.test(out),
      150_000,
      () => out,
    );
    const record = JSON.parse(serving.exec(out)![0]) as { pid: number; msg: string };
    const [, xdsPort, adminPort] = serving.exec(out)!.map(Number);
    const parent = Number(readFileSync(`/proc/${record.pid}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
    try {
      child.kill(signal);
      await until(
        "xdsd exits",
        () => !alive(record.pid),
        5000,
        () => out,
      );
    } finally {
      if (alive(record.pid)) process.kill(record.pid, "SIGKILL"); // an orphan would hold its ports after the test
    }
    assert.equal(parent, child.pid, "xdsd was npm's own child (no shell in between)");
    assert.equal(await exited, 0, out);
    await until(
      `port ${xdsPort} is free`,
      () => portFree(xdsPort!),
      5000,
      () => out,
    );
    await until(
      `port ${adminPort} is free`,
      () => portFree(adminPort!),
      5000,
      () => out,
    );
    assert.match(out, new RegExp(`"msg":"${signal} received, closing streams"`));
    assert.match(out, /"msg":"xdsd stopped"/);
  });
}
