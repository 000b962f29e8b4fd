// The protocols a server speaks, and how a service is named in logs, /nodes, rollouts and metrics.

/** The protocol a service speaks: a field of every call and poller, never read back out of a label. */
export type Protocol = "sotw" | "delta" | "rest" | "csds" | "lrs";

/** How logs, /nodes and rollouts name a service: `ads` and `eds` (state of the world), `delta-ads`, `rest-cds`. */
export function serviceLabel(protocol: Protocol, service: string): string {
  return protocol === "sotw" ? service : `${protocol}-${service}`;
}

/** The service of a label made by serviceLabel (`delta-ads` → `ads`), for the metrics' `service` label. */
export function serviceOfLabel(protocol: Protocol, label: string): string {
  return protocol === "sotw" ? label : label.slice(protocol.length + 1);
}
