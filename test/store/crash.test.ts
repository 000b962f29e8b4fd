// The SQLite store survives its writer's SIGKILL (crash.ts): 20 kills at random moments.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { SqliteStore } from "../../src/store/sqlite-store.js";
import { killWriterRounds } from "./crash.js";

const dir = mkdtempSync(join(tmpdir(), "xdsd-crash-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("20 SIGKILLs at random moments: the store opens cleanly each time and holds every acknowledged write, once", () =>
  killWriterRounds({ url: `sqlite:${dir}`, open: async () => SqliteStore.open(dir) }, 20));
