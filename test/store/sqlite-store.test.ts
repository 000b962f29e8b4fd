// The SQLite store: the conformance suite (its change log bounded by changeLogRevisions), plus what is SQLite's own — one process per data directory, and a
// damaged file refused with a clear error rather than served.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { StoreUnavailableError } from "../../src/errors.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { storeConformance } from "./conformance.js";

const root = mkdtempSync(join(tmpdir(), "xdsd-store-"));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const dirs = new WeakMap<Store, string>();

storeConformance("SQLite", {
  async open(options) {
    const dir = join(root, `s${++n}`);
    const store = SqliteStore.open(dir, options);
    dirs.set(store, dir);
    return store;
  },
  async reopen(store) {
    const dir = dirs.get(store)!;
    await store.close();
    const again = SqliteStore.open(dir);
    dirs.set(again, dir);
    return again;
  },
});

describe("SQLite store", () => {
  // It keeps what the write API was given, a Secret's private key among them: whatever the umask, a new store is
  // its owner's alone — the directory, the database and the files SQLite makes beside it.
  it("a new store is readable by its owner only: directory 0700, database and WAL 0600", async () => {
    const dir = join(root, "private");
    const store = SqliteStore.open(dir);
    await store.put("resource", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret/s", { private_key: "k" });
    const mode = (file: string) => statSync(file).mode & 0o777;
    assert.deepEqual([mode(dir), mode(join(dir, "xdsd.db")), mode(join(dir, "xdsd.db-wal"))], [0o700, 0o600, 0o600]);
    await store.close();
  });

  it("refuses a second opener of the same data directory while the first holds it", async () => {
    const dir = join(root, "locked");
    const first = SqliteStore.open(dir);
    await first.put("cluster", "a", {});
    assert.throws(
      () => SqliteStore.open(dir),
      (e: unknown) => e instanceof StoreUnavailableError && e.code === "XDSD_STORE_UNAVAILABLE" && /in use by another process/.test(e.message),
    );
    await first.close();
    const second = SqliteStore.open(dir);
    assert.equal((await second.get("cluster", "a"))?.revision, 1);
    await second.close();
  });

  it("refuses a file that is not a database, saying which", () => {
    const dir = join(root, "garbage");
    const s = SqliteStore.open(dir);
    void s.close();
    writeFileSync(join(dir, "xdsd.db"), "this is not a database".repeat(200));
    assert.throws(
      () => SqliteStore.open(dir),
      (e: unknown) => e instanceof StoreUnavailableError && /xdsd\.db/.test(e.message),
    );
  });

  it("a closed store says so", async () => {
    const s = SqliteStore.open(join(root, "closed"));
    await s.close();
    await assert.rejects(s.get("cluster", "a"), /the store is closed/);
  });
});
