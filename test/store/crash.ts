// Acknowledged writes survive a crash of the writer (the durability test of every store: crash.test.ts for
// SQLite, etcd-store.test.ts for etcd): a child process acknowledges writes in a loop (crash-writer.ts) and is
// killed with SIGKILL at a random moment, round after round; after every kill the store opens cleanly (SQLite's
// integrity check passes) and every write the child acknowledged is there, with its content, exactly once.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Store, StoreChange } from "../../src/store/store.js";
import { watchUntil } from "./conformance.js";

const writer = fileURLToPath(new URL("./crash-writer.js", import.meta.url));

/** Runs the writer from `first` until killed `afterMs` after its first ack; resolves with every index it acked. */
function runAndKill(args: string[], afterMs: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, ...args], { stdio: ["ignore", "pipe", "pipe"] });
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

export interface CrashTarget {
  /** What the writer opens: a store URL, and the etcd key prefix if any. */
  url: string;
  etcdPrefix?: string;
  /** The same store, opened by the test process (after each kill). */
  open(): Promise<Store>;
}

export async function killWriterRounds(target: CrashTarget, rounds: number): Promise<void> {
  let next = 0;
  const acknowledged: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const args = [target.url, String(next), ...(target.etcdPrefix === undefined ? [] : [target.etcdPrefix])];
    const acked = await runAndKill(args, 20 + Math.floor(Math.random() * 200));
    assert.ok(acked.length > 0, `round ${round}: the writer acknowledged nothing`);
    acknowledged.push(...acked);
    const store = await target.open(); // SQLite: throws StoreUnavailableError if it does not open cleanly
    try {
      for (const i of acked) {
        assert.deepEqual((await store.get("endpoint", `c/10.0.0.1:${i}`))?.value, { i }, `round ${round}: acknowledged write ${i} lost`);
        if (i % 2 === 1) assert.deepEqual((await store.get("cluster", `c${i}`))?.value, { i }, `round ${round}: half of transaction ${i} lost`);
      }
      // A write in flight at the kill is there whole or not at all.
      const cut = acked[acked.length - 1] + 1;
      const endpoint = await store.get("endpoint", `c/10.0.0.1:${cut}`);
      if (cut % 2 === 1) assert.equal(endpoint === undefined, (await store.get("cluster", `c${cut}`)) === undefined, "a transaction was half applied");
      next = cut + 1;
    } finally {
      await store.close();
    }
  }
  // Exactly once: the whole history holds one write of each acknowledged endpoint, each at a revision of its own.
  const store = await target.open();
  try {
    const upTo = await store.revision();
    const history = await watchUntil(store, 0, (changes) => changes[changes.length - 1].revision >= upTo);
    const writes = new Map<string, StoreChange[]>();
    for (const c of history) if (c.kind === "endpoint") writes.set(c.name, [...(writes.get(c.name) ?? []), c]);
    for (const i of acknowledged)
      assert.equal(writes.get(`c/10.0.0.1:${i}`)?.length, 1, `write ${i} is in the history ${writes.get(`c/10.0.0.1:${i}`)?.length ?? 0} times`);
    assert.equal(new Set(history.filter((c) => c.kind === "endpoint").map((c) => c.revision)).size, writes.size);
  } finally {
    await store.close();
  }
  assert.ok(acknowledged.length >= rounds);
}
