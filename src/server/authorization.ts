// Node identity authorization (issue 19 item 2; docs/security.md "Authorization"): with client certificates, a
// client is served a node group's config only if the identity its certificate names (transport/peer-identity.ts)
// matches the group's `identities:` — carried by the group's snapshot (Snapshot.readers), so that a config load
// changes what is served and who may read it at once. The node id a client sends is its own claim: claiming
// another node's id leads to that node's group, and to its identities check. The check runs before anything of a
// snapshot is sent, on a stream's first request, whenever the snapshot served to its node changes (a reload that
// takes a client's access away ends its stream at the push that would have carried the change), and on every poll.
import type { SnapshotCache, SnapshotSource } from "../cache/snapshot-cache.js";
import type { Logger } from "../log.js";
import type { Snapshot } from "../cache/snapshot.js";
import type { ClientStatusReader } from "./client-status.js";

/**
 * Whether the client named `identity` (undefined: its certificate names none) may be served `snapshot`, the one
 * served to node key `nodeKey`: undefined if so, else why not, for the client and the log — the node key and the
 * identity, never what the group holds or whom it lets in.
 */
export type NodeAuthorizer = (identity: string | undefined, nodeKey: string, snapshot: Snapshot) => string | undefined;

/** The group's `identities:` decide (every client when the group and the top level list none). */
export const authorizeByIdentities: NodeAuthorizer = (identity, nodeKey, snapshot) => {
  const readers = snapshot.readers;
  if (!readers || readers.matches(identity)) return undefined;
  const who = identity === undefined ? "a client certificate that names no identity (no spiffe:// URI SAN, no DNS SAN)" : `identity "${identity}"`;
  return `${who} may not be served the config of node "${nodeKey}": the identities: of that config do not let it in (docs/security.md)`;
};

/**
 * The clients whose node's config `identity` may read, of `reader`: what CSDS (and anything else that shows one
 * client what others hold) may show it. Without this, CSDS on the xDS port would tell a client the names and
 * versions of a group it may not be served.
 */
export function clientsReadableBy(
  reader: ClientStatusReader,
  source: SnapshotSource,
  authorize: NodeAuthorizer,
  identity: string | undefined,
): ClientStatusReader {
  return {
    *clients() {
      for (const client of reader.clients()) {
        const key = client.info.nodeKey;
        const snapshot = key === undefined ? undefined : source.snapshotFor(key);
        if (key !== undefined && snapshot !== undefined && authorize(identity, key, snapshot) === undefined) yield client;
      }
    },
  };
}

/**
 * Warns, once, when the config served lists `identities:` that a server without a client CA cannot enforce (no
 * client proves an identity): an operator who wrote them believes the groups are closed. Checks at once and after
 * each publish until it has warned; returns the cancel function.
 */
export function warnUnenforcedIdentities(cache: SnapshotCache, log: Logger): () => void {
  const listed = () => cache.defaultSnapshot()?.readers !== undefined || cache.keys().some((k) => cache.snapshotFor(k)?.readers !== undefined);
  const warn = () =>
    log.warn(
      "the config lists identities:, but xDS clients are not asked for certificates (no --xds-client-ca): the lists are not enforced, and every client is served its node's config. Serve with --xds-client-ca (docs/security.md)",
    );
  if (listed()) {
    warn();
    return () => {};
  }
  const cancel = cache.onPublish(() => {
    if (!listed()) return;
    cancel();
    warn();
  });
  return cancel;
}
