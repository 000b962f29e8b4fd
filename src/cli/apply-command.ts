// `xdsd apply -f FILE [--dry-run]`: declarative writes. FILE is written like a config file (clusters, listeners,
// resources, nodes — docs/config.md), and what it says becomes what the store of a running xdsd holds: objects it
// names are created or replaced, store objects it does not name are deleted. The diff is printed first; then the
// whole change is checked by the daemon (POST /v1/batch?dry_run=true) and, unless --dry-run, applied as one
// transaction in which every replaced or deleted object must still be at the revision the diff was made from (a
// concurrent writer makes the apply fail with 412 rather than be overwritten), and created ones must not exist yet.
//
// Endpoints registered one by one (`xdsd endpoints add`, a service registry) are registrations, not declarations:
// apply leaves them alone, except those of a cluster it deletes, which go with it as DELETE /v1/clusters/{name} does.
import { readFileSync } from "node:fs";
import { parseCommandLine } from "./command-line.js";
import { isDeepStrictEqual } from "node:util";
import { stringify } from "yaml";
import { BadArgumentError, ConfigError, formatLocation, type ConfigIssue } from "../errors.js";
import { durationMs } from "../config/duration.js";
import { ConfigSource, parsePath, type Path } from "../config/source.js";
import { findResourceType } from "../resource/types.js";
import { collectionKinds, objectKindTable, type ObjectKind } from "../store/store.js";
import { adminDescription, adminOptions, adminSynopsis, adminTarget, call, fail, failed, rolloutFailure } from "./admin-client.js";
import type { CommandUsage } from "./usage.js";

export const applyUsage: CommandUsage = {
  synopsis: `xdsd apply -f FILE [--dry-run] [--timeout 10s] [--no-wait] ${adminSynopsis}`,
  description: `Make the store of a running xdsd hold what FILE declares (written like a config file: clusters, listeners,
resources, nodes): creates, replaces and deletes store objects, printing the diff first, all in one
transaction. --dry-run prints the diff and has the daemon check it, changing nothing. Endpoints registered
with \`xdsd endpoints\` are kept (but those of a deleted cluster). Waits for the proxies' ACKs like endpoints.
${adminDescription}`,
};

/** One store object as apply sees it: what the file says, or what the store holds. */
interface Stored {
  kind: ObjectKind;
  name: string;
  value: Record<string, unknown>;
}

interface Declared extends Stored {
  /** Where FILE declares it. */
  at: Path;
}

interface Held extends Stored {
  revision: number;
  /** A cluster's registered endpoints (`<host:port>`), deleted with it. */
  endpoints: string[];
}

/** The API's collections, the JSON key of each listing, and the key of the value in an item (store.ts objectKindTable). */
const collections = collectionKinds.map((kind) => {
  const { apiPath, plural, singular } = objectKindTable[kind];
  return { kind, path: apiPath, list: plural, item: singular };
});

export async function runApply(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine({
    args,
    allowPositionals: true,
    options: {
      file: { type: "string", short: "f" },
      "dry-run": { type: "boolean" },
      ...adminOptions,
      timeout: { type: "string", default: "10s" },
      "no-wait": { type: "boolean" },
    },
  });
  if (positionals.length > 0) throw new BadArgumentError(`unexpected "${positionals[0]}": the file comes with -f`);
  if (!values.file) throw new BadArgumentError("-f FILE is required");
  const timeoutMs = durationMs(values.timeout);
  if (timeoutMs === undefined) throw new BadArgumentError(`--timeout "${values.timeout}": expected seconds, like 10s`);
  const source = declaration(values.file);
  const declared = declaredObjects(source);
  const admin = adminTarget(values);

  const held = new Map<string, Held>();
  for (const c of collections) {
    const reply = await call(admin, "GET", `/v1/${c.path}`);
    if (failed(reply)) return fail(reply);
    for (const item of (reply.body[c.list] as Record<string, unknown>[]) ?? []) {
      // The file's clusters with registered endpoints are listed too; they are the daemon's file's, not the store's.
      if (item.managedBy === "file") continue;
      const name = String(item.name);
      const endpoints = ((item.endpoints as { endpoint: string }[] | undefined) ?? []).map((e) => e.endpoint);
      held.set(key(c.kind, name), { kind: c.kind, name, value: item[c.item] as Record<string, unknown>, revision: Number(item.revision), endpoints });
    }
  }

  const operations: Record<string, unknown>[] = [];
  const out: string[] = [];
  for (const d of declared.values()) {
    const h = held.get(key(d.kind, d.name));
    if (!h) {
      operations.push({ op: "put", kind: d.kind, name: d.name, value: d.value, if_revision: 0 });
      out.push(`+ ${d.kind} ${d.name}`, ...indent(stringify(d.value), "+ "));
    } else if (!isDeepStrictEqual(normalized(d), normalized(h))) {
      operations.push({ op: "put", kind: d.kind, name: d.name, value: d.value, if_revision: h.revision });
      out.push(`~ ${d.kind} ${d.name} (revision ${h.revision})`, ...lineDiff(stringify(normalized(h)), stringify(normalized(d))));
    }
  }
  for (const h of held.values()) {
    if (declared.has(key(h.kind, h.name))) continue;
    operations.push({ op: "delete", kind: h.kind, name: h.name, if_revision: h.revision });
    for (const e of h.endpoints) operations.push({ op: "delete", kind: "endpoint", name: `${h.name}/${e}` });
    out.push(`- ${h.kind} ${h.name} (revision ${h.revision})${h.endpoints.length > 0 ? `, with ${h.endpoints.length} registered endpoint(s)` : ""}`);
  }
  if (operations.length === 0) {
    process.stdout.write("no changes: the store holds what the file declares\n");
    return 0;
  }
  const summary = `${operations.length} operation(s)`;
  // Checked before the diff is shown: a diff that cannot be applied is not printed, only why, located in FILE.
  const checked = await call(admin, "POST", "/v1/batch?dry_run=true", { operations });
  if (failed(checked)) return fail(checked, (issue) => locateInFile(issue, source, declared));
  process.stdout.write(`${out.join("\n")}\n`);
  if (values["dry-run"]) {
    process.stdout.write(`dry run: ${summary} checked by xdsd, nothing changed\n`);
    return 0;
  }
  const query = values["no-wait"] ? "" : `?wait=acked&timeout=${values.timeout}`;
  const applied = await call(admin, "POST", `/v1/batch${query}`, { operations }, timeoutMs + 30_000);
  if (failed(applied)) return fail(applied);
  const unconfirmed = rolloutFailure(applied);
  if (unconfirmed !== undefined) return unconfirmed;
  process.stdout.write(`applied: ${summary} at revision ${String(applied.body.revision)}\n`);
  return 0;
}

/** FILE read with the positions of its values, as the config loader reads a config file; syntax errors refused. */
function declaration(path: string): ConfigSource {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new BadArgumentError(`-f ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`);
  }
  const source = new ConfigSource(text, path);
  if (source.syntaxIssues.length > 0) throw new ConfigError(source.syntaxIssues);
  return source;
}

/** The file's objects, keyed like the store's. What is not a declaration of store objects is refused, located. */
function declaredObjects(source: ConfigSource): Map<string, Declared> {
  const issues: ConfigIssue[] = [];
  const refuse = (at: Path, message: string): void => {
    issues.push({ location: source.locate(at), message });
  };
  const doc = source.value ?? {};
  const out = new Map<string, Declared>();
  if (typeof doc !== "object" || Array.isArray(doc)) {
    refuse([], "expected a mapping with clusters, listeners, resources or nodes");
    throw new ConfigError(issues);
  }
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) {
    if (!["clusters", "listeners", "resources", "nodes"].includes(k)) {
      issues.push({ location: source.locateKey([k]), message: `apply declares clusters, listeners, resources and nodes; not ${k}` });
    }
  }
  const add = (d: Declared) => {
    if (out.has(key(d.kind, d.name))) refuse(d.at, `${d.kind} "${d.name}" is declared twice`);
    else out.set(key(d.kind, d.name), d);
  };
  const list = (k: string) => {
    const v = top[k] ?? [];
    if (Array.isArray(v)) return v as unknown[];
    refuse([k], `${k} must be a list`);
    return [];
  };
  for (const [kind, k] of [
    ["cluster", "clusters"],
    ["listener", "listeners"],
  ] as const) {
    list(k).forEach((entry, i) => {
      const e = entry as Record<string, unknown> | null;
      if (!e || typeof e !== "object" || typeof e.name !== "string") {
        refuse([k, i], "must be a mapping with a name");
        return;
      }
      const { name, ...value } = e;
      add({ kind, name, value: kind === "cluster" ? { endpoints: [], ...value } : value, at: [k, i] });
    });
  }
  list("resources").forEach((entry, i) => {
    const r = entry as Record<string, unknown> | null;
    const typeUrl = typeof r?.["@type"] === "string" ? (r["@type"] as string) : "";
    const type = findResourceType(typeUrl);
    const name = type && r ? r[type.nameField] : undefined;
    if (!type || typeof name !== "string") {
      refuse(["resources", i], 'must have the "@type" of an xDS resource type and its name');
      return;
    }
    add({ kind: "resource", name: `${typeUrl}/${name}`, value: r!, at: ["resources", i] });
  });
  const nodes = top.nodes ?? {};
  if (typeof nodes !== "object" || Array.isArray(nodes)) refuse(["nodes"], "nodes must be a mapping of node group keys");
  else
    for (const [name, value] of Object.entries(nodes as Record<string, unknown>))
      add({ kind: "node-group", name, value: value as Record<string, unknown>, at: ["nodes", name] });
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

/** Which kind of store object each list of a store path names (store-overlay.ts writes `<list>.<name>.<field path>`). */
const kindOfList: Record<string, ObjectKind> = Object.fromEntries(collectionKinds.map((kind) => [objectKindTable[kind].documentKey, kind]));

/**
 * Where in FILE an issue of the daemon's check is: the store path of an object FILE declares, turned into the line
 * and column of the same field in FILE. Issues elsewhere (in the daemon's config file) keep their location.
 */
function locateInFile(issue: { path?: string; location?: string }, source: ConfigSource, declared: Map<string, Declared>): string | undefined {
  const path = issue.path === undefined ? undefined : parsePath(issue.path);
  const [list, name, ...inside] = path ?? [];
  const kind = typeof list === "string" ? kindOfList[list] : undefined;
  const d = kind && typeof name === "string" ? declared.get(key(kind, name)) : undefined;
  return d ? formatLocation(source.locate([...d.at, ...inside])) : undefined;
}

/** Values compared as the API stores them: a cluster without endpoints has an empty list. */
function normalized(o: Stored): Record<string, unknown> {
  return o.kind === "cluster" ? { endpoints: [], ...o.value } : o.value;
}

function key(kind: string, name: string): string {
  return `${kind}\u0000${name}`;
}

function indent(text: string, prefix: string): string[] {
  return text
    .trimEnd()
    .split("\n")
    .map((l) => `${prefix}  ${l}`);
}

/** The lines of `before` and `after` as a diff: unchanged lines indented, removed `-`, added `+` (longest common subsequence). */
function lineDiff(before: string, after: string): string[] {
  const a = before.trimEnd().split("\n");
  const b = after.trimEnd().split("\n");
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(`    ${a[i++]}`);
      j++;
    } else if (j < b.length && (i === a.length || lcs[i][j + 1] >= lcs[i + 1][j])) out.push(`+   ${b[j++]}`);
    else out.push(`-   ${a[i++]}`);
  }
  return out;
}
