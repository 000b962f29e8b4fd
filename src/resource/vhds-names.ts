// How VHDS names virtual hosts, and which virtual host a requested name stands for.
//
// Envoy asks for a virtual host on demand, when a request's Host matches none of its route configuration's, by
// the name `<route configuration name>/<host>` (envoy docs, configuration/http/http_conn_man/vhds.rst; split from
// the right: a host has no "/", a route configuration name may). The name is an alias as much as a name: the
// VirtualHostDiscoveryService proto says the server "will match an alias to a virtual host based on the content of
// domains". So a request for `rc/www.example.com` is answered with the VirtualHost of route configuration `rc`
// that Envoy itself would pick for Host www.example.com — sent under its own name, with the requested name in the
// Resource's `aliases` (Envoy resumes the paused request once a response carries the requested name as a name or
// an alias: RdsRouteConfigProviderImpl::onConfigUpdate matches `resourceIdsInLastVhdsUpdate()`, the names and
// aliases of the update).
//
// Which VirtualHost Envoy would pick is Envoy's own order (source/common/router/config_impl.cc, findVirtualHost),
// host and domains compared in lower case: an exact domain; else the longest `*suffix` domain the host ends with
// (the host longer than the suffix); else the longest `prefix*` domain it starts with; else `*`. Only the
// VirtualHosts whose names are in the route configuration's namespace (`rc/…`) are candidates.
import type { Message } from "@bufbuild/protobuf";
import type { VirtualHost } from "../gen/envoy/config/route/v3/route_components_pb.js";

/**
 * What an alias is resolved among: a snapshot's resources of the type, by name. Structural (an EncodedResource is
 * one) so that the registry can name it without importing the encoded form, which itself reads the registry.
 */
export interface NamedMessage {
  readonly name: string;
  readonly message: Message;
}

/** `<route configuration name>/<host>`, split at the last "/"; undefined for a name without one. */
export function splitVhdsName(name: string): { routeConfig: string; host: string } | undefined {
  const slash = name.lastIndexOf("/");
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return { routeConfig: name.slice(0, slash), host: name.slice(slash + 1) };
}

interface Candidate {
  name: string;
  exact: Set<string>;
  suffixes: string[];
  prefixes: string[];
  any: boolean;
}

/** Per snapshot type map (immutable once built): route configuration name → its VirtualHosts' domains. */
const indexes = new WeakMap<ReadonlyMap<string, NamedMessage>, Map<string, Candidate[]>>();

function indexOf(resources: ReadonlyMap<string, NamedMessage>): Map<string, Candidate[]> {
  let index = indexes.get(resources);
  if (index) return index;
  index = new Map();
  for (const r of resources.values()) {
    const split = splitVhdsName(r.name);
    if (!split) continue;
    const candidate: Candidate = { name: r.name, exact: new Set(), suffixes: [], prefixes: [], any: false };
    for (const raw of (r.message as VirtualHost).domains) {
      const domain = raw.toLowerCase();
      if (domain === "*") candidate.any = true;
      else if (domain.startsWith("*")) candidate.suffixes.push(domain.slice(1));
      else if (domain.endsWith("*")) candidate.prefixes.push(domain.slice(0, -1));
      else candidate.exact.add(domain);
    }
    let list = index.get(split.routeConfig);
    if (!list) index.set(split.routeConfig, (list = []));
    list.push(candidate);
  }
  for (const list of index.values()) list.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  indexes.set(resources, index);
  return index;
}

/**
 * The name of the VirtualHost that a requested VHDS name `<rc>/<host>` stands for among `resources` (the
 * snapshot's VirtualHosts): the one whose name it is, else the one Envoy would pick for that host among route
 * configuration `rc`'s; undefined when there is none.
 */
export function resolveVirtualHostName(requested: string, resources: ReadonlyMap<string, NamedMessage>): string | undefined {
  if (resources.has(requested)) return requested;
  const split = splitVhdsName(requested);
  if (!split) return undefined;
  const candidates = indexOf(resources).get(split.routeConfig);
  if (!candidates) return undefined;
  const host = split.host.toLowerCase();
  const exact = candidates.find((c) => c.exact.has(host));
  if (exact) return exact.name;
  const longest = (patterns: (c: Candidate) => string[], matches: (p: string) => boolean): string | undefined => {
    let best: { name: string; length: number } | undefined;
    for (const c of candidates) {
      for (const p of patterns(c)) if (host.length > p.length && matches(p) && (!best || p.length > best.length)) best = { name: c.name, length: p.length };
    }
    return best?.name;
  };
  return (
    longest(
      (c) => c.suffixes,
      (s) => host.endsWith(s),
    ) ??
    longest(
      (c) => c.prefixes,
      (p) => host.startsWith(p),
    ) ??
    candidates.find((c) => c.any)?.name
  );
}
