// Acknowledged writes survive a crash: a child process acknowledges writes in a loop (crash-writer.ts) and is
// killed with SIGKILL at a random moment, 20 times; after every kill the store opens cleanly (its own integrity
// check passes) and every write the child acknowledged is there, with its content.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { SqliteStore } from "../../src/store/sqlite-store.js";

const writer = fileURLToPath(new URL("./crash-writer.js", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "xdsd-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer from `first` until killed `afterMs` after its first ack; resolves with every index it acked. */
function runAndKill(first: number, afterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, dir, String(first)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let armed = false;
    const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk;
      if (!armed && out.includes("ack ")) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), afterMs);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (err += chunk));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(guard);
      if (signal !== "SIGKILL") return reject(new Error(`the writer exited on its own (code ${code}): ${err}`));
      // A line cut by the kill was not acknowledged: only whole lines count.
      resolve([...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1])));
    });
  });
}

test("20 SIGKILLs at random moments: the store opens cleanly each time and holds every acknowledged write", async () => {
  let next = 0;
  let totalAcked = 0;
  for (let round = 0; round < 20; round++) {
    const acked = await runAndKill(next, 20 + Math.floor(Math.random() * 200));
    assert.ok(acked.length > 0, `round ${round}: the writer acknowledged nothing`);
    totalAcked += acked.length;
    const store = SqliteStore.open(dir); // throws StoreUnavailableError if it does not open cleanly
    try {
      for (const i of acked) {
        assert.deepEqual((await store.get("endpoint", `c/10.0.0.1:${i}`))?.value, { i }, `round ${round}: acknowledged write ${i} lost`);
        if (i % 2 === 1) assert.deepEqual((await store.get("cluster", `c${i}`))?.value, { i }, `round ${round}: half of transaction ${i} lost`);
      }
      // A write in flight at the kill is there whole or not at all.
      const cut = acked[acked.length - 1] + 1;
      const endpoint = await store.get("endpoint", `c/10.0.0.1:${cut}`);
      if (cut % 2 === 1) assert.equal(endpoint === undefined, (await store.get("cluster", `c${cut}`)) === undefined, "a transaction was half applied");
      // Every acknowledged write took a revision of its own.
      const revision = await store.revision();
      assert.ok(revision >= totalAcked, `revision ${revision} after ${totalAcked} acknowledged writes`);
      next = cut + 1;
    } finally {
      await store.close();
    }
  }
  assert.ok(totalAcked >= 20);
});
