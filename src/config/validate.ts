// Semantic checks over one node group (or the top level): what a JSON Schema can't express. Each check is here
// because a client would otherwise reject the config, or silently misbehave, only once it is served:
// duplicate names (clients NACK the whole response), references to resources nobody provides (Envoy warms until
// a timeout, gRPC fails the RPCs), non-IP endpoints and priority gaps (grpc-js rejects the cluster), port clashes
// (Envoy cannot bind the second listener). The input may be partly invalid by the schema: every value is
// checked for its shape before use, and items the schema rejected are skipped where their shape matters.
import type { ConfigIssue } from "../errors.js";
import { TypeUrl, messageNameOf, simpleNameOf } from "../resource/type-urls.js";
import { fetchedOver, namespaceOpenedBy, resourceType } from "../resource/types.js";
import { splitVhdsName } from "../resource/vhds-names.js";
import type { ScopedRouteConfiguration } from "../gen/envoy/config/route/v3/scoped_route_pb.js";
import type { Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { RouterSchema } from "../gen/envoy/extensions/filters/http/router/v3/router_pb.js";
import { decodeTypedConfig } from "./extension-configs.js";
import { identityPatternError } from "../cache/identity-patterns.js";
import { canonicalIp, formatHostPort, ipError, isIpLiteral, isUnspecified, parseHostPort } from "./address.js";
import { isIP } from "node:net";
import { writtenPath, type RawResource } from "./raw-resources.js";
import { defaultListenerAddress, grpcServerListenerName, localityGroupKey, localityWeightLimit, runtimeName, type LocalityConfig } from "./model.js";
import { formatPath, type DocumentSource, type Path } from "./source.js";
import { ttlError } from "./duration.js";
import { definedByEntry, type DefinedName } from "./short-form-names.js";

type Obj = Record<string, unknown>;

/** What a secret is: a TLS certificate (chain and key) or a validation context (trusted CAs). */
type SecretKind = "certificate" | "validation_context";

const grpcLbPolicies = new Set(["ROUND_ROBIN", "RING_HASH"]);

interface ClusterRef {
  name: string;
  at: Path;
  /** Set when a gRPC API listener routes here: the cluster must then use an LB policy gRPC supports. */
  grpcListener?: string;
}

/**
 * A resource a client will fetch from xdsd by name because another one names it. For a raw resource, its type's
 * referencesOf in the registry (resource/types.ts) says what it names — the same rule the snapshot's consistency
 * check follows. For a short-form entry, what its translation will name (the snapshot check would find the same,
 * but only after translation, and without the field): test/unit/config-references-agree.test.ts holds these to
 * the registry's referencesOf of the translated resources.
 */
export interface FetchedReference {
  typeUrl: string;
  name: string;
  /** The referring resource, as the registry names it. */
  fromType: string;
  from: string;
  /**
   * Where the name is written: `origin`, and `key` inside it when given. Paths and messages are made only for a
   * reference that is missing: a group of thousands of entries is checked on every store write (store-writes.ts).
   */
  origin: Path;
  key?: string;
  /** The referring entry as the author knows it, for messages: `Listener` (`Listener "web"`), `scope`. */
  kind: string;
}

export class GroupChecker {
  readonly issues: ConfigIssue[] = [];
  /** Per type, each name defined and the item that defined it first. */
  private readonly defined = new Map<string, Map<string, Path>>();
  private readonly duplicateReported = new Set<string>();
  private readonly ports = new Map<number, { address: string; listener: string; origin: Path }[]>();
  private readonly lbPolicies = new Map<string, { policy: string; at: Path }>();
  /** Clusters that routes send traffic to (not fetched by name: a missing one answers 503). */
  readonly clustersUsed: ClusterRef[] = [];
  /** Every resource a client of the group will fetch by name because another names it. */
  readonly references: FetchedReference[] = [];
  /** Scope keys (SRDS) and the scope that has each first, to refuse a second scope with the same key. */
  private readonly scopeKeys = new Map<string, Path>();
  /** Route configurations that get virtual hosts over VHDS (short-form with on-demand virtual hosts, raw with vhds). */
  private readonly vhdsRouteConfigs = new Set<string>();
  /** Raw VirtualHosts, whose names must be `<route configuration with vhds>/<host>`. */
  private readonly vhdsNames: { name: string; routeConfig: string; at: Path }[] = [];
  /** The group's config_source. */
  private configSource = "ads";
  /** Each secret's kind (a `secrets` entry's, a raw Secret's), and a listener's or cluster's `tls` references to them. */
  private readonly secretKinds = new Map<string, SecretKind>();
  /** A listener's or cluster's `tls` references (also in `references`), whose secrets must be of the kind named. */
  private readonly secretRefs: { name: string; kind: SecretKind; at: Path; from: string }[] = [];

  constructor(
    private readonly source: DocumentSource,
    private readonly base: Path,
    /** Whether the schema rejected the value at this path or anything inside it. */
    private readonly invalid: (path: Path) => boolean,
    /**
     * Whether this exact short-form cluster entry was part of the last config that loaded without issues: then
     * the checks that look at nothing but the entry (its endpoints) found nothing then and would find nothing now.
     * Checks across entries (names, references, ports) always run.
     */
    private readonly checkedBefore: (entry: object) => boolean = () => false,
  ) {}

  /** All checks of a group, in document order; returns the issues found. */
  check(group: Obj, raw: readonly RawResource[]): ConfigIssue[] {
    // gRPC clients fetch everything over their one ADS stream (gRFC A27: a config source must be `ads` or `self`).
    const source = group.config_source;
    if (typeof source === "string") this.configSource = source;
    if (typeof source === "string" && source !== "ads") {
      for (const [i, l] of asArray(group.listeners).entries()) {
        if (isObj(l) && l.grpc === true) {
          this.issue(
            [...this.base, "listeners", i, "grpc"],
            `gRPC clients fetch over ADS only, but this group's config_source is ${source}; use config_source: ads`,
          );
        }
      }
      for (const i of asArray(group.grpc_servers).keys()) {
        this.issue([...this.base, "grpc_servers", i], `gRPC servers fetch over ADS only, but this group's config_source is ${source}; use config_source: ads`);
      }
    }
    const clusters = asArray(group.clusters);
    for (let i = 0; i < clusters.length; i++) this.cluster(clusters[i], [...this.base, "clusters", i]);
    const listeners = asArray(group.listeners);
    for (let i = 0; i < listeners.length; i++) this.listener(listeners[i], [...this.base, "listeners", i]);
    if (group.runtime !== undefined) this.runtime(group.runtime, [...this.base, "runtime"]);
    for (const [i, e] of asArray(group.extension_configs).entries()) this.extensionConfig(e, [...this.base, "extension_configs", i]);
    for (const [i, scope] of asArray(group.scopes).entries()) this.scope(scope, [...this.base, "scopes", i]);
    for (const [i, server] of asArray(group.grpc_servers).entries()) this.grpcServer(server, [...this.base, "grpc_servers", i]);
    for (const [i, secret] of asArray(group.secrets).entries()) this.secret(secret, [...this.base, "secrets", i]);
    for (const r of raw) this.raw(r);
    for (const [i, resource] of asArray(group.resources).entries()) if (isObj(resource)) this.ttl(resource, [...this.base, "resources", i]);
    for (const [i, pattern] of asArray(group.identities).entries()) {
      const error = typeof pattern === "string" ? identityPatternError(pattern) : undefined;
      if (error) this.issue([...this.base, "identities", i], error);
    }
    this.resolveReferences();
    return this.issues;
  }

  private issue(at: Path, message: string): void {
    this.issues.push({ location: this.source.locate(at), message });
  }

  /** Where `path` is, for a message: the file's path and line, or the store object's field path. */
  private where(path: Path): string {
    const at = this.source.locate(path);
    if (at.line !== undefined) return `${formatPath(path)}, line ${at.line}`;
    return at.path ?? formatPath(path);
  }

  /**
   * `origin` (the item) defines `name` of `typeUrl`, at its key `at` (or at the path `at`). Paths are made only for
   * a duplicate: a group of thousands of entries is checked on every store write (store-writes.ts).
   */
  private define(typeUrl: string, name: string, origin: Path, at: string | Path = "name"): void {
    let names = this.defined.get(typeUrl);
    if (!names) this.defined.set(typeUrl, (names = new Map()));
    const first = names.get(name);
    if (!first) {
      names.set(name, origin);
      return;
    }
    const path = typeof at === "string" ? [...origin, at] : at;
    // A short-form cluster defines a Cluster and a ClusterLoadAssignment under one name node: one report is enough.
    const key = formatPath(path);
    if (this.duplicateReported.has(key)) return;
    this.duplicateReported.add(key);
    this.issue(path, `duplicate ${simpleNameOf(typeUrl)} name "${name}": already defined by ${this.where(first)}`);
  }

  private has(typeUrl: string, name: string): boolean {
    return this.defined.get(typeUrl)?.has(name) ?? false;
  }

  /** Defines what a short-form entry of `list` becomes, by name (short-form-names.ts); returns it. */
  private defineEntry(list: keyof typeof definedByEntry, entry: Obj, at: Path): DefinedName[] {
    const defined = definedByEntry[list](entry);
    for (const d of defined) this.define(d.typeUrl, d.name, at, d.field);
    return defined;
  }

  /**
   * `fromType` `from` (a `kind` to the author) names `typeUrl` `name` at `origin` (its `key`): a client will fetch
   * it; it must be defined in the group.
   */
  /** An entry's xDS TTL: a duration by the schema, at least a second by the one TTL rule (duration.ts). */
  private ttl(entry: Obj, at: Path): void {
    if (entry.ttl === undefined || this.invalid([...at, "ttl"])) return;
    const error = ttlError(entry.ttl);
    if (error) this.issue([...at, "ttl"], error);
  }

  private fetch(typeUrl: string, name: string, origin: Path, key: string | undefined, fromType: string, from: string, kind: string): void {
    this.references.push(key === undefined ? { typeUrl, name, fromType, from, origin, kind } : { typeUrl, name, fromType, from, origin, key, kind });
  }

  private cluster(value: unknown, at: Path): void {
    if (!isObj(value)) return;
    this.ttl(value, at);
    this.defineEntry("clusters", value, at);
    if (typeof value.name === "string") {
      // An EDS cluster with its own ClusterLoadAssignment (translate.ts translateCluster).
      this.fetch(TypeUrl.ClusterLoadAssignment, value.name, at, "name", TypeUrl.Cluster, value.name, "cluster");
      if (!this.lbPolicies.has(value.name) && typeof value.lb_policy === "string") {
        this.lbPolicies.set(value.name, { policy: value.lb_policy, at: [...at, "lb_policy"] });
      }
    }
    if (value.on_demand === true) this.needsIncrementalAds([...at, "on_demand"], "a cluster on demand (on-demand CDS)");
    if (isObj(value.tls)) this.tls(value.tls, [...at, "tls"], TypeUrl.Cluster, String(value.name), "cluster");
    if (this.checkedBefore(value)) return;
    const seen = new Map<string, Path>();
    const firstAtPriority = new Map<number, Path>();
    /** Per locality (and priority): what its endpoints weigh together, and the endpoint that took it past the limit. */
    const localityWeights = new Map<string, { weight: number; over?: Path }>();
    for (const [j, endpoint] of asArray(value.endpoints).entries()) {
      const ep: Path = [...at, "endpoints", j];
      if (this.invalid(ep)) continue;
      let address: string | undefined;
      let port: number;
      let priority = 0;
      if (typeof endpoint === "string") {
        const parsed = parseHostPort(endpoint);
        if ("error" in parsed) {
          this.issue(ep, parsed.error);
          continue;
        }
        ({ address, port } = parsed);
      } else if (isObj(endpoint)) {
        address = canonicalIp(endpoint.address as string);
        port = endpoint.port as number;
        priority = (endpoint.priority as number | undefined) ?? 0;
        if (address === undefined) {
          this.issue([...ep, "address"], ipError(endpoint.address as string));
          continue;
        }
      } else {
        continue;
      }
      // Canonical addresses (address.ts): two spellings of one endpoint are the same endpoint.
      const key = formatHostPort(address, port);
      const first = seen.get(key);
      if (first) {
        this.issue(ep, `endpoint ${key} is listed twice (also at ${this.where(first)}); gRPC clients reject the cluster`);
      } else {
        seen.set(key, ep);
      }
      if (!firstAtPriority.has(priority)) firstAtPriority.set(priority, [...ep, "priority"]);
      const weight = isObj(endpoint) && typeof endpoint.weight === "number" ? endpoint.weight : 1;
      const locality = isObj(endpoint) && isObj(endpoint.locality) ? endpoint.locality : isObj(value.locality) ? value.locality : {};
      const group = localityGroupKey(priority, locality as LocalityConfig);
      const sum = localityWeights.get(group) ?? { weight: 0 };
      sum.weight += weight;
      localityWeights.set(group, sum);
      if (sum.weight > localityWeightLimit && !sum.over) {
        sum.over = isObj(endpoint) && endpoint.weight !== undefined ? [...ep, "weight"] : ep;
        this.issue(
          sum.over,
          `the endpoints of this locality (and priority) weigh ${sum.weight} together with this one, over ${localityWeightLimit}: a locality's weight is the sum of its endpoints', a uint32 to Envoy and gRPC; use smaller weights`,
        );
      }
    }
    const priorities = [...firstAtPriority.keys()].sort((a, b) => a - b);
    const gap = priorities.findIndex((p, i) => p !== i);
    if (gap >= 0) {
      this.issue(
        firstAtPriority.get(priorities[gap])!,
        `priority ${priorities[gap]} is used but priority ${gap} has no endpoints; priorities must have no gaps (gRPC clients reject the cluster)`,
      );
    }
  }

  /**
   * On-demand discovery (VHDS, on-demand CDS) is incremental xDS only (Envoy: "vhds: only 'DELTA_GRPC' or 'ADS'
   * (which uses Delta xDS)"; OdCdsApiImpl handles delta updates only), and xdsd serves it over ADS (there is no
   * per-type VirtualHostDiscoveryService here): the group's resources must say `ads`, and its nodes' bootstraps
   * incremental ADS (bootstrap.ts refuses other modes for such a config).
   */
  private needsIncrementalAds(at: Path, what: string): void {
    if (this.configSource === "ads") return;
    this.issue(
      at,
      `${what} is fetched over incremental ADS only, but this group's config_source is ${this.configSource}; use config_source: ads with xdsd bootstrap --mode delta-ads`,
    );
  }

  private listener(value: unknown, at: Path): void {
    if (!isObj(value)) return;
    this.ttl(value, at);
    const name = typeof value.name === "string" ? value.name : undefined;
    const routes = this.defineEntry("listeners", value, at).find((d) => d.typeUrl === TypeUrl.RouteConfiguration);
    const routeConfigName = routes?.name;
    const grpc = value.grpc === true;
    // A listener routing by scope has no route table of its own (its scopes name theirs).
    if (typeof value.scope_header === "string") this.scopedListener(value, at, grpc);
    else if (routes && name !== undefined) {
      // Its HTTP connection manager gets its RouteConfiguration over RDS (translate.ts translateListener).
      this.fetch(TypeUrl.RouteConfiguration, routes.name, at, routes.field, TypeUrl.Listener, name, "Listener");
    }
    this.httpFilters(value.http_filters, [...at, "http_filters"], name ?? "", grpc);
    if (isObj(value.tls)) {
      // gRPC clients take TLS from certificate providers named in their bootstrap (gRFC A29), never over SDS.
      if (grpc) this.issue([...at, "tls"], "gRPC clients do not fetch certificates over SDS (gRFC A29 certificate providers); remove tls");
      else if (name !== undefined) this.tls(value.tls, [...at, "tls"], TypeUrl.Listener, name, "listener");
    }
    if (!grpc && typeof value.address === "string" && !this.invalid([...at, "address"]) && !isIpLiteral(value.address)) {
      this.issue([...at, "address"], `"${value.address}" is not an IPv4 or IPv6 address; listeners bind to an IP address`);
    } else if (!grpc && typeof value.port === "number" && !this.invalid([...at, "port"])) {
      this.claimPort(typeof value.address === "string" ? value.address : defaultListenerAddress, value.port, [...at, "port"], name ?? "", at);
    }

    const allDomains = this.virtualHosts(value.virtual_hosts, at, grpc ? name : undefined, (vhost, vat) => {
      if (vhost.on_demand === true) this.onDemandVirtualHost(vhost, vat, grpc, routeConfigName);
    });

    // gRPC clients choose the virtual host by matching the dialed target (the listener name) against domains.
    if (grpc && name !== undefined && allDomains.length > 0 && !allDomains.some((d) => domainMatches(d, name))) {
      this.issue(
        [...at, "virtual_hosts"],
        `no virtual host has a domain matching "${name}"; gRPC clients pick the virtual host by the target they dial (add "${name}" or "*" to domains)`,
      );
    }
  }

  /**
   * The virtual hosts of one route table (a listener's, a scope's) at `at`: domains unique across them, routes
   * checked. `each` adds what depends on whose they are. Returns every domain, for the gRPC target check.
   */
  private virtualHosts(list: unknown, at: Path, grpcListener: string | undefined, each: (vhost: Obj, at: Path) => void): string[] {
    const domains = new Map<string, Path>();
    const allDomains: string[] = [];
    asArray(list).forEach((vhost, k) => {
      const vat: Path = [...at, "virtual_hosts", k];
      if (!isObj(vhost)) return;
      asArray(vhost.domains).forEach((domain, m) => {
        if (typeof domain !== "string") return;
        allDomains.push(domain);
        const first = domains.get(domain.toLowerCase());
        if (first) {
          this.issue(
            [...vat, "domains", m],
            `domain "${domain}" is already served by ${this.where(first)}; Envoy rejects a route configuration with duplicate domains`,
          );
        } else {
          domains.set(domain.toLowerCase(), vat);
        }
      });
      for (const [n, route] of asArray(vhost.routes).entries()) this.route(route, [...vat, "routes", n], grpcListener);
      each(vhost, vat);
    });
    return allDomains;
  }

  /**
   * An xDS-enabled gRPC server (gRFC A36): its Listener is named by the address and port it binds, which the
   * server compares with the Listener's socket_address, so both must be that IP literal and port.
   */
  private grpcServer(value: unknown, at: Path): void {
    if (isObj(value)) this.ttl(value, at);
    if (!isObj(value) || typeof value.address !== "string" || this.invalid([...at, "address"])) return;
    if (!isIpLiteral(value.address)) {
      this.issue(
        [...at, "address"],
        `"${value.address}" is not an IPv4 or IPv6 address; a gRPC server asks for its listener by the IP address it binds (e.g. 0.0.0.0, 127.0.0.1, ::)`,
      );
      return;
    }
    if (typeof value.port !== "number" || this.invalid([...at, "port"])) return;
    const name = grpcServerListenerName(value.address, value.port);
    // The same address and port twice is one mistake: say it once, as the duplicate name.
    const again = this.has(TypeUrl.Listener, name);
    // Its Listener's HTTP connection manager gets the RouteConfiguration over RDS (translate-grpc-server.ts).
    for (const d of this.defineEntry("grpc_servers", value, at)) {
      if (d.typeUrl === TypeUrl.RouteConfiguration) this.fetch(d.typeUrl, d.name, at, d.field, TypeUrl.Listener, name, "gRPC server");
    }
    if (!again) this.claimPort(value.address, value.port, [...at, "port"], name, at);
  }

  /** A short-form virtual host with `on_demand: true`: the VirtualHost `<route configuration>/<name>`, over VHDS. */
  private onDemandVirtualHost(vhost: Obj, at: Path, grpc: boolean, routeConfigName: string | undefined): void {
    const onDemandAt = [...at, "on_demand"];
    if (grpc) {
      this.issue(onDemandAt, "gRPC clients do not fetch virtual hosts on demand (VHDS is for Envoy); remove on_demand");
      return;
    }
    this.needsIncrementalAds(onDemandAt, "a virtual host on demand (VHDS)");
    if (routeConfigName === undefined || typeof vhost.name !== "string") return;
    this.vhdsRouteConfigs.add(routeConfigName);
    if (vhost.name.includes("/")) {
      this.issue(
        [...at, "name"],
        `an on-demand virtual host's name may not contain "/": it is served as "${routeConfigName}/${vhost.name}", and VHDS names are split at the last "/" into route configuration and host`,
      );
      return;
    }
    this.define(TypeUrl.VirtualHost, `${routeConfigName}/${vhost.name}`, at);
  }

  private route(value: unknown, at: Path, grpcListener: string | undefined): void {
    if (!isObj(value)) return;
    if (typeof value.regex === "string") {
      try {
        new RegExp(value.regex, "u");
      } catch (e) {
        // V8 says "Invalid regular expression: /(/u: Unterminated group"; keep only the reason.
        const reason = (e as Error).message.replace(/^.*: /, "");
        this.issue([...at, "regex"], `invalid regular expression ${JSON.stringify(value.regex)}: ${reason}`);
      }
    }
    if (typeof value.cluster === "string") this.clustersUsed.push({ name: value.cluster, at: [...at, "cluster"], grpcListener });
    const weighted = value.weighted_clusters;
    if (Array.isArray(weighted)) {
      weighted.forEach((wc, o) => {
        if (isObj(wc) && typeof wc.name === "string") this.clustersUsed.push({ name: wc.name, at: [...at, "weighted_clusters", o, "name"], grpcListener });
      });
      const wat: Path = [...at, "weighted_clusters"];
      if (!this.invalid(wat) && weighted.length > 0 && weighted.every((wc) => isObj(wc) && wc.weight === 0)) {
        this.issue(wat, "the weights of weighted_clusters add up to 0; at least one must be positive");
      }
    }
  }

  /** A listener's `http_filters`: inline configs decode as Envoy's; an `extension_config` is one the group defines. */
  private httpFilters(list: unknown, at: Path, listener: string, grpc: boolean): void {
    asArray(list).forEach((filter, i) => {
      const fat: Path = [...at, i];
      if (!isObj(filter) || this.invalid(fat)) return;
      if (typeof filter.extension_config === "string") {
        const eat = [...fat, "extension_config"];
        // gRPC clients take HTTP filter configs inline only (gRFC A39 leaves config_discovery out).
        if (grpc) this.issue(eat, "gRPC clients do not fetch filter configs over ECDS; write the filter inline, with name and config");
        else this.fetch(TypeUrl.ExtensionConfig, filter.extension_config, eat, undefined, TypeUrl.Listener, listener, "Listener");
        return;
      }
      const config = filter.config;
      if (!isObj(config) || typeof config["@type"] !== "string") return;
      if (messageNameOf(config["@type"]) === RouterSchema.typeName) {
        this.issue([...fat, "config", "@type"], "every listener ends with the router filter, which xdsd adds; remove this one");
        return;
      }
      const decoded = decodeTypedConfig(this.source, config, [...fat, "config"]);
      if (Array.isArray(decoded)) this.issues.push(...decoded);
    });
  }

  /** A listener routing by scope (SRDS): a socket listener's HTTP connection manager, with no route table of its own. */
  private scopedListener(value: Obj, at: Path, grpc: boolean): void {
    // gRPC clients take their routes over RDS or inline only (gRFC A27: an HCM's route_specifier is rds or
    // route_config), never by scope.
    if (grpc) this.issue([...at, "scope_header"], "gRPC clients do not route by scope (SRDS); give this listener virtual_hosts instead");
    if (value.route_config_name !== undefined) {
      this.issue(
        [...at, "route_config_name"],
        "a listener with scope_header has no route configuration of its own (each scope names its own); remove route_config_name",
      );
    }
  }

  /** `runtime:` — the Runtime resource `runtimeName`; its values as Envoy's runtime takes them. */
  private runtime(value: unknown, at: Path): void {
    if (!isObj(value)) return;
    this.define(TypeUrl.Runtime, runtimeName, at, at);
    // Envoy's runtime keeps a number as a double and as an integer (fault percentages are read as integers): YAML's
    // .nan and .inf are neither, and JSON cannot carry them to Envoy's REST clients.
    const walk = (v: unknown, path: Path) => {
      if (typeof v === "number" && !Number.isFinite(v)) this.issue(path, `${v} is not a number Envoy's runtime can hold; use a finite number`);
      else if (isObj(v)) for (const [k, inner] of Object.entries(v)) walk(inner, [...path, k]);
    };
    walk(value, at);
  }

  /** An `extension_configs` entry: a TypedExtensionConfig whose config decodes as Envoy's. */
  private extensionConfig(value: unknown, at: Path): void {
    if (!isObj(value)) return;
    this.defineEntry("extension_configs", value, at);
    const cat = [...at, "config"];
    if (!isObj(value.config) || typeof value.config["@type"] !== "string" || this.invalid(cat)) return;
    const decoded = decodeTypedConfig(this.source, value.config, cat);
    if (Array.isArray(decoded)) this.issues.push(...decoded);
  }

  /** A `scopes` entry: a ScopedRouteConfiguration with a key of its own, and its route table (or the one it names). */
  private scope(value: unknown, at: Path): void {
    if (!isObj(value)) return;
    const name = typeof value.name === "string" ? value.name : undefined;
    const ownRoutes = this.defineEntry("scopes", value, at).find((d) => d.typeUrl === TypeUrl.RouteConfiguration);
    if (typeof value.key === "string") this.scopeKey([value.key], [...at, "key"]);
    if (typeof value.route_config_name === "string") {
      if (name !== undefined)
        this.fetch(TypeUrl.RouteConfiguration, value.route_config_name, at, "route_config_name", TypeUrl.ScopedRouteConfiguration, name, "scope");
    } else if (value.virtual_hosts !== undefined) {
      // A route table of its own, named after the scope, which the scope names (scoped-routes.ts).
      if (ownRoutes && name !== undefined) this.fetch(ownRoutes.typeUrl, ownRoutes.name, at, ownRoutes.field, TypeUrl.ScopedRouteConfiguration, name, "scope");
      this.virtualHosts(value.virtual_hosts, at, undefined, (vhost, vat) => {
        if (vhost.on_demand === true)
          this.issue([...vat, "on_demand"], "a scope's virtual hosts are sent with its route table; on_demand (VHDS) is for a listener's virtual hosts");
      });
    }
  }

  /**
   * Every scope of a group reaches each of its nodes' scoped listeners (Envoy subscribes to them all at once), and
   * Envoy refuses an update in which two scopes have one key ("scope key conflict"): keys are unique per group.
   */
  private scopeKey(fragments: readonly string[], at: Path): void {
    const key = JSON.stringify(fragments);
    const first = this.scopeKeys.get(key);
    if (!first) {
      this.scopeKeys.set(key, at);
      return;
    }
    this.issue(
      at,
      `scope key ${fragments.map((f) => JSON.stringify(f)).join(", ")} is already the key of ${this.where(first)}; Envoy refuses two scopes with one key`,
    );
  }

  /** A `secrets` entry: a Secret of the group, a TLS certificate or a validation context by its keys. */
  private secret(value: unknown, at: Path): void {
    if (!isObj(value) || typeof value.name !== "string") return;
    this.defineEntry("secrets", value, at);
    const ca = "ca_file" in value || "ca_pem" in value;
    const certificate = ["cert_file", "cert_pem", "key_file", "key_pem"].some((k) => k in value);
    // An entry that is both is an error of its own (secrets.ts); its kind is nobody's to check against.
    if (ca !== certificate) this.secretKinds.set(value.name, ca ? "validation_context" : "certificate");
  }

  /** A listener's or cluster's `tls`: the secrets it names over SDS, each of the kind its key says. */
  private tls(value: Obj, at: Path, fromType: string, fromName: string, kind: string): void {
    for (const key of ["certificate", "validation_context"] as const) {
      const name = value[key];
      if (typeof name !== "string") continue;
      this.secretRefs.push({ name, kind: key, at: [...at, key], from: `${kind} "${fromName}"` });
      this.fetch(TypeUrl.Secret, name, at, key, fromType, fromName, kind);
    }
    if (value.require_client_certificate === true && value.validation_context === undefined) {
      this.issue(
        [...at, "require_client_certificate"],
        "requiring client certificates needs a validation_context (the CA they must chain to); name one, or remove require_client_certificate",
      );
    }
  }

  /** A raw resource: what its type's registry entry (resource/types.ts) says it names, binds and uses. */
  private raw(r: RawResource): void {
    const type = resourceType(r.typeUrl);
    const message = r.message as never;
    this.define(r.typeUrl, r.name, r.path, this.inRaw(r, [type.nameField]));
    const kind = simpleNameOf(r.typeUrl);
    const what = `${kind} "${r.name}"`;
    const socket = type.socketOf?.(message);
    if (socket) this.claimPort(socket.address, socket.port, this.inRaw(r, socket.at), r.name, r.path);
    for (const ref of type.referencesOf(message)) this.fetch(ref.typeUrl, ref.name, this.inRaw(r, ref.at), undefined, r.typeUrl, r.name, kind);
    for (const ref of type.clustersUsedBy?.(message) ?? []) this.clustersUsed.push({ name: ref.name, at: this.inRaw(r, ref.at) });
    const lb = type.lbPolicyOf?.(message);
    if (lb && !this.lbPolicies.has(r.name)) this.lbPolicies.set(r.name, { policy: lb.policy, at: this.inRaw(r, lb.at) });
    if (type.onDemandOf?.(message)) this.needsIncrementalAds(this.inRaw(r, ["metadata"]), `${what}, marked on demand,`);
    const namespace = namespaceOpenedBy(r.typeUrl, r.message);
    if (namespace !== undefined) this.vhdsRouteConfigs.add(namespace);
    if (r.typeUrl === TypeUrl.Secret) {
      const kind = (r.message as Secret).type.case;
      if (kind === "tlsCertificate") this.secretKinds.set(r.name, "certificate");
      if (kind === "validationContext") this.secretKinds.set(r.name, "validation_context");
    }
    if (r.typeUrl === TypeUrl.ScopedRouteConfiguration) {
      const fragments = (r.message as ScopedRouteConfiguration).key?.fragments ?? [];
      this.scopeKey(
        fragments.map((f) => f.type.value ?? ""),
        this.inRaw(r, ["key"]),
      );
    }
    if (r.typeUrl === TypeUrl.VirtualHost) {
      const at = this.inRaw(r, ["name"]);
      const split = splitVhdsName(r.name);
      if (split) this.vhdsNames.push({ name: r.name, routeConfig: split.routeConfig, at });
      else this.issue(at, `VirtualHost "${r.name}" is never fetched: Envoy asks for virtual hosts (VHDS) by "<route configuration name>/<host>"`);
    }
  }

  private inRaw(r: RawResource, protoPath: Path): Path {
    return [...r.path, ...writtenPath(r.json, protoPath)];
  }

  private claimPort(address: string, port: number, at: Path, listener: string, origin: Path): void {
    if (port === 0) return; // an ephemeral port never clashes
    const taken = this.ports.get(port) ?? [];
    const clash = taken.find((t) => t.address === address || ((isUnspecified(t.address) || isUnspecified(address)) && isIP(t.address) === isIP(address)));
    if (clash) {
      this.issue(
        at,
        `port ${port} on ${address} clashes with listener "${clash.listener}" on ${formatHostPort(clash.address, port)} (${this.where(clash.origin)})`,
      );
      return;
    }
    taken.push({ address, listener, origin });
    this.ports.set(port, taken);
  }

  private resolveReferences(): void {
    const grpcReported = new Set<string>();
    for (const ref of this.clustersUsed) {
      if (!this.has(TypeUrl.Cluster, ref.name)) {
        this.issue(ref.at, `route to undefined cluster "${ref.name}" (define it under clusters, or as a Cluster in resources)`);
        continue;
      }
      const lb = this.lbPolicies.get(ref.name);
      if (ref.grpcListener !== undefined && lb && !grpcLbPolicies.has(lb.policy) && !grpcReported.has(ref.name)) {
        grpcReported.add(ref.name);
        this.issue(
          lb.at,
          `grpc listener "${ref.grpcListener}" routes to cluster "${ref.name}", but gRPC clients reject lb_policy ${lb.policy} (use ROUND_ROBIN or RING_HASH)`,
        );
      }
    }
    for (const v of this.vhdsNames) {
      if (this.vhdsRouteConfigs.has(v.routeConfig)) continue;
      const defined = this.has(TypeUrl.RouteConfiguration, v.routeConfig);
      this.issue(
        v.at,
        `VirtualHost "${v.name}" is never fetched: Envoy asks for it over VHDS for route configuration "${v.routeConfig}", but ${defined ? `that RouteConfiguration has no vhds (add vhds: {config_source: {ads: {}}})` : "no RouteConfiguration of that name is defined"}`,
      );
    }
    for (const ref of this.secretRefs) {
      const kind = this.secretKinds.get(ref.name);
      if (kind !== undefined && kind !== ref.kind) {
        const what = (k: SecretKind) => (k === "certificate" ? "a TLS certificate (cert_file/cert_pem and a key)" : "a validation context (ca_file/ca_pem)");
        this.issue(ref.at, `secret "${ref.name}" is ${what(kind)}, but ${ref.from}'s ${ref.kind} must be ${what(ref.kind)}`);
      }
    }
    for (const ref of this.references) {
      if (!this.has(ref.typeUrl, ref.name)) {
        const short = simpleNameOf(ref.typeUrl);
        const hint = definedUnder[ref.typeUrl];
        this.issue(
          ref.key === undefined ? ref.origin : [...ref.origin, ref.key],
          `${ref.kind} "${ref.from}" gets ${short} "${ref.name}" ${fetchedOver(ref.typeUrl)}, but no ${short} "${ref.name}" is defined${hint ? ` (define it under ${hint}, or as a ${short} in resources)` : ""}`,
        );
      }
    }
  }
}

/** The short-form section that defines a type's resources by name, for the hint of a missing one. */
const definedUnder: Partial<Record<string, string>> = {
  [TypeUrl.Secret]: "secrets",
  [TypeUrl.ExtensionConfig]: "extension_configs",
};

/** Envoy's and gRPC's virtual host domain matching: exact, `*suffix`, `prefix*`, or `*`. */
export function domainMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const h = host.toLowerCase();
  if (p === "*") return true;
  if (p.startsWith("*")) return h.endsWith(p.slice(1));
  if (p.endsWith("*")) return h.startsWith(p.slice(0, -1));
  return p === h;
}

export function isObj(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
