// Opens the store a URL names (issue 20: `xdsd serve --store URL`): `sqlite:DIR` for the embedded store in DIR,
// `etcd://HOST:PORT[,HOST:PORT...]` for etcd, with its key prefix and TLS files as options. The one place that
// knows the grammar; a bad URL or option is a BadArgumentError that says what is expected.
import { readFileSync } from "node:fs";
import { BadArgumentError, TlsCredentialsError } from "../errors.js";
import { defaultEtcdPrefix, EtcdStore } from "./etcd-store.js";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
import type { Store } from "./store.js";

export const storeUrlGrammar = "sqlite:DIR or etcd://HOST:PORT[,HOST:PORT...]";

export type StoreLocation = { readonly kind: "sqlite"; readonly dir: string } | { readonly kind: "etcd"; readonly endpoints: readonly string[] };

export interface OpenStoreOptions {
  /** etcd: the prefix of every key (default `/xdsd/`). */
  etcdPrefix?: string;
  /** etcd over TLS: a PEM file of the CA that signed the members' certificates. */
  etcdCa?: string;
  /** etcd over mutual TLS: this client's certificate and key (PEM files), both or neither. */
  etcdCert?: string;
  etcdKey?: string;
  /** etcd: how long a call keeps trying across members before it fails (default: etcd-limits.ts). */
  etcdCallTimeoutMs?: number;
  /** SQLite's own options. */
  sqlite?: SqliteStoreOptions;
}

// host:port, the host a name, an IPv4 address or a bracketed IPv6 address.
const endpointRe = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/** Reads a store URL; throws BadArgumentError saying what is wrong and what is expected. */
export function parseStoreUrl(url: string): StoreLocation {
  const bad = (why: string) => new BadArgumentError(`store "${url}": ${why}; expected ${storeUrlGrammar}`);
  if (url.startsWith("sqlite:")) {
    const dir = url.slice("sqlite:".length);
    if (dir === "") throw bad("no directory after sqlite:");
    return { kind: "sqlite", dir };
  }
  if (url.startsWith("etcd://")) {
    const rest = url.slice("etcd://".length);
    if (rest === "") throw bad("no endpoint after etcd://");
    if (/[/?#@]/.test(rest)) throw bad("an etcd URL holds endpoints only (the key prefix is an option of its own)");
    const endpoints = rest.split(",");
    endpoints.forEach((endpoint, i) => {
      const m = endpointRe.exec(endpoint);
      if (!m) throw bad(`endpoint ${i + 1} ("${endpoint}") is not HOST:PORT`);
      const port = Number(m[3]);
      if (port < 1 || port > 65535) throw bad(`endpoint ${i + 1} ("${endpoint}") has port ${port}, outside 1-65535`);
    });
    if (new Set(endpoints).size !== endpoints.length) throw bad("an endpoint is listed twice");
    return { kind: "etcd", endpoints };
  }
  throw bad("unknown kind of store");
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsCredentialsError(file, `cannot read the etcd ${what}: ${(err as Error).message}`, { cause: err });
  }
}

/** Opens the store `url` names; the options that do not apply to its kind are refused. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const location = parseStoreUrl(url);
  const etcdOptions = (["etcdPrefix", "etcdCa", "etcdCert", "etcdKey", "etcdCallTimeoutMs"] as const).filter((k) => options[k] !== undefined);
  if (location.kind === "sqlite") {
    if (etcdOptions.length > 0) throw new BadArgumentError(`store "${url}": ${etcdOptions.join(", ")} apply to an etcd:// store only`);
    return SqliteStore.open(location.dir, options.sqlite);
  }
  if (options.sqlite !== undefined) throw new BadArgumentError(`store "${url}": SQLite options do not apply to an etcd store`);
  const prefix = options.etcdPrefix ?? defaultEtcdPrefix;
  if (prefix === "") throw new BadArgumentError(`store "${url}": the etcd key prefix must not be empty (default ${defaultEtcdPrefix})`);
  if ((options.etcdCert === undefined) !== (options.etcdKey === undefined))
    throw new BadArgumentError(`store "${url}": a client certificate and its key go together (give both, or neither)`);
  const tlsWanted = options.etcdCa !== undefined || options.etcdCert !== undefined;
  if (tlsWanted && options.etcdCa === undefined) throw new BadArgumentError(`store "${url}": TLS to etcd needs the CA file of its members' certificates`);
  const tls = tlsWanted
    ? {
        ca: readPem(options.etcdCa!, "CA"),
        cert: options.etcdCert === undefined ? undefined : readPem(options.etcdCert, "client certificate"),
        key: options.etcdKey === undefined ? undefined : readPem(options.etcdKey, "client key"),
      }
    : undefined;
  return EtcdStore.open({ endpoints: location.endpoints, prefix, tls, callTimeoutMs: options.etcdCallTimeoutMs });
}
