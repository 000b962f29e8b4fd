// docs/limits.md is true to the code: each row that names a flag, or a library option of the code's, gives that
// limit's default as the code defines it, and every limit flag of `xdsd serve`/`validate` has its row (issue 17).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { defaultMaxBatchOperations, defaultMaxBodyBytes } from "../../src/admin/write-api.js";
import { configLimitFlags, defaultConfigLimits } from "../../src/config/config-limits.js";
import { defaultWorkerHeapMb } from "../../src/daemon/config-loader.js";
import { maxWriteAttempts } from "../../src/daemon/reloader.js";
import { defaultRestPollOptions } from "../../src/server/protocol/rest-poll.js";
import { defaultTransportLimits, transportLimitFlags } from "../../src/server/transport/transport-limits.js";
import { defaultChangeLogBytes, defaultChangeLogRevisions } from "../../src/store/sqlite-store.js";
import { adminLimitFlags, defaultAdminLimits } from "../../src/admin/admin-limits.js";
import { coalesceMs } from "../../src/admin/ui-events.js";
import { defaultChangeHistorySize, maxChangesShown } from "../../src/daemon/change-history.js";
import { defaultEtcdLimits, etcdLimitFlags } from "../../src/store/etcd-limits.js";
import { defaultLoadReportLimits, loadReportLimitFlags } from "../../src/server/load-report-limits.js";
import type { LimitFlags } from "../../src/limit-flags.js";

const doc = readFileSync(new URL("../../../docs/limits.md", import.meta.url), "utf8");

/** Each flag of a limit, and the code's default for it: every set of limits in the one shape (limit-flags.ts). */
const flagged = <T extends object>(defaults: T, flags: LimitFlags<T>) =>
  (Object.keys(flags) as (keyof T)[]).map((key) => [flags[key]!, defaults[key] as number] as [string, number]);
const flagDefaults = new Map<string, number>([
  ...flagged(defaultConfigLimits, configLimitFlags),
  ...flagged(defaultTransportLimits, transportLimitFlags),
  ...flagged(defaultEtcdLimits, etcdLimitFlags),
  ...flagged(defaultAdminLimits, adminLimitFlags),
  ...flagged(defaultLoadReportLimits, loadReportLimitFlags),
]);

/** A flag as a cell writes it, with or without its value's name (`--etcd-timeout SECONDS`). */
const flagInCell = /`(--[a-z-]+)(?: [A-Z]+)?`/g;

/** Limits without a flag, by the name the row gives them (library options and constants). */
const namedDefaults = new Map<string, number>([
  ["workerHeapMb", defaultWorkerHeapMb],
  ["changeLogRevisions", defaultChangeLogRevisions],
  ["changeLogBytes", defaultChangeLogBytes],
  ["maxBatchOperations", defaultMaxBatchOperations],
  ["maxBodyBytes", defaultMaxBodyBytes],
  ["maxWriteAttempts", maxWriteAttempts],
  ["restPollers.maxClients", defaultRestPollOptions.maxClients],
  ["restPollers.idleMs", defaultRestPollOptions.idleMs],
  ["authFailureWindowMs", defaultAdminLimits.authFailureWindowMs],
  ["limits.maxAuthFailureAddresses", defaultAdminLimits.maxAuthFailureAddresses],
  ["ChangeHistory.size", defaultChangeHistorySize],
  ["maxChangesShown", maxChangesShown],
  ["coalesceMs", coalesceMs],
]);

interface Row {
  line: number;
  cells: string[];
}

/** The rows of every table whose header has `default` and `flag` columns: [the row's line, its default, its flag]. */
function limitRows(): { line: number; defaultCell: string; flagCell: string }[] {
  const out: { line: number; defaultCell: string; flagCell: string }[] = [];
  let header: string[] | undefined;
  for (const [i, text] of doc.split("\n").entries()) {
    if (!text.startsWith("|")) {
      header = undefined;
      continue;
    }
    const row: Row = {
      line: i + 1,
      cells: text
        .slice(1, -1)
        .split(" | ")
        .map((c) => c.trim()),
    };
    if (!header) {
      header = row.cells;
      continue;
    }
    const d = header.indexOf("default");
    const f = header.indexOf("flag");
    if (d < 0 || f < 0 || /^-+$/.test(row.cells[0])) continue;
    out.push({ line: row.line, defaultCell: row.cells[d], flagCell: row.cells[f] });
  }
  return out;
}

/** Whether a default cell says `value`: as digits, with thousands separators, or (for times in ms) in minutes. */
function says(cell: string, value: number): boolean {
  const spellings = [String(value), value.toLocaleString("en-US")];
  if (value % 60_000 === 0) spellings.push(`${value / 60_000} minutes`);
  if (value % 1000 === 0) spellings.push(`${value / 1000} s`);
  return spellings.some((s) => new RegExp(`(?<![0-9]|[0-9][.,])${s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![0-9]|[.,][0-9])`).test(cell));
}

test("each row of docs/limits.md gives the code's default for its flag or option", () => {
  const rows = limitRows();
  assert.ok(rows.length >= 15, `only ${rows.length} limit rows found`);
  for (const { line, defaultCell, flagCell } of rows) {
    const flags = [...flagCell.matchAll(flagInCell)].map((m) => m[1]);
    const names = [...flagCell.matchAll(/(?:`|\{|\()([a-zA-Z.]+)(?:`|\}|\))/g)].map((m) => m[1]).filter((n) => namedDefaults.has(n));
    const values = [...flags.map((f) => flagDefaults.get(f)), ...names.map((n) => namedDefaults.get(n))];
    assert.ok(values.length > 0, `docs/limits.md:${line}: the flag cell ${JSON.stringify(flagCell)} names no limit of the code`);
    for (const [i, value] of values.entries()) {
      assert.notEqual(value, undefined, `docs/limits.md:${line}: ${[...flags, ...names][i]} is no limit flag of xdsd`);
      assert.ok(
        says(defaultCell, value!),
        `docs/limits.md:${line}: the default of ${[...flags, ...names][i]} is ${value}, the row says ${JSON.stringify(defaultCell)}`,
      );
    }
  }
});

test("every limit flag has a row in docs/limits.md", () => {
  const documented = new Set(limitRows().flatMap((r) => [...r.flagCell.matchAll(flagInCell)].map((m) => m[1])));
  for (const flag of flagDefaults.keys()) assert.ok(documented.has(flag), `${flag} has no row in docs/limits.md`);
});
