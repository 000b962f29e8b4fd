// Scoped routes (SRDS) live with a real Envoy 1.40, state of the world (ADS) and incremental (delta ADS), issue 21
// item 4: the listener `tenants` routes by the request header x-tenant, among the config's `scopes:` — scope a
// (key "a") with a route table of its own to cluster A, scope b to cluster B. Then, each by a config edit:
//   - scope a's route table sends to B instead: x-tenant a moves to B (the RouteConfiguration changed, over RDS);
//   - a scope c is added: x-tenant c is routed, and a and b still are (a state-of-the-world SRDS update must carry
//     every scope: Envoy removes the scopes missing from it);
//   - scope c is removed: x-tenant c gets 404 again.
// Before xdsd served SRDS as Envoy subscribes to it (every scope at once, no names), Envoy's first request went
// unanswered until its 15 s initial fetch timeout, and every scope answered 404.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

interface Variant {
  /** The cluster scope a's own route table sends to. */
  aTo: "cluster_a" | "cluster_b";
  /** Scope c, pointing at scope a's route table. */
  withC: boolean;
}

function config(a: Upstream, b: Upstream, port: number, v: Variant): string {
  const table = (cluster: string) => `[{name: all, domains: ["*"], routes: [{prefix: /, cluster: ${cluster}}]}]`;
  return `clusters:
  - {name: cluster_a, endpoints: ["${a.address}:${a.port}"]}
  - {name: cluster_b, endpoints: ["${b.address}:${b.port}"]}
scopes:
  - {name: scope_a, key: a, virtual_hosts: ${table(v.aTo)}}
  - {name: scope_b, key: b, virtual_hosts: ${table("cluster_b")}}
${v.withC ? "  - {name: scope_c, key: c, route_config_name: scope_a}\n" : ""}listeners:
  - name: tenants
    address: 127.0.0.1
    port: ${port}
    scope_header: x-tenant
`;
}

interface ScopedDump {
  dynamic_scoped_route_configs: { name: string; scoped_route_configs: { name: string; route_configuration_name: string; key: unknown }[] }[];
}

for (const mode of ["ads", "delta-ads"] as const) {
  describe(`scoped routes (SRDS), ${mode} mode, real Envoy`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    let a: Upstream;
    let b: Upstream;
    let port = 0;
    let readyMs = 0;

    before(async () => {
      a = await startUpstream("A");
      b = await startUpstream("B");
      port = await freePort();
      xdsd = await startXdsd(config(a, b, port, { aTo: "cluster_a", withC: false }), { args: ["--log-level", "debug"] });
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `srds-${mode}`, await freePort());
      const t0 = Date.now();
      envoy = await startEnvoy({ bootstrapYaml, name: `srds-${mode}` });
      await envoy.waitReady();
      readyMs = Date.now() - t0;
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      await a?.close();
      await b?.close();
    });

    /** Who answers each tenant: an upstream's name, or `http:<status>`. */
    const route = async (...tenants: string[]) => {
      const out: Record<string, string> = {};
      for (const t of tenants) {
        const res = await httpGet(`http://127.0.0.1:${port}/`, { headers: { "x-tenant": t } });
        out[t] = res.status === 200 ? res.body : `http:${res.status}`;
      }
      return out;
    };
    const scopes = async () => {
      const dump = (await envoy.configDump()).configs.find((c) => c["@type"].endsWith(".ScopedRoutesConfigDump")) as ScopedDump | undefined;
      return Object.fromEntries(
        (dump?.dynamic_scoped_route_configs ?? []).map((d) => [d.name, d.scoped_route_configs.map((s) => [s.name, s.route_configuration_name, s.key]).sort()]),
      );
    };
    /** Rewrites the config and waits until requests are routed as `expected`. */
    const change = async (v: Variant, expected: Record<string, string>) => {
      const mark = xdsd.log().length;
      xdsd.writeConfig(config(a, b, port, v));
      await envoy.waitFor(
        async () => {
          const routed = JSON.stringify(await route(...Object.keys(expected)));
          if (routed !== JSON.stringify(expected)) throw new Error(`routed ${routed}`);
          return true;
        },
        { what: `routing ${JSON.stringify(expected)}` },
      );
      return xdsd.log().slice(mark);
    };

    it("routes by the x-tenant header to each scope's route table; /config_dump shows the scopes", async () => {
      assert.ok(readyMs < 10_000, `Envoy took ${readyMs} ms to be ready: its SRDS request was not answered`);
      assert.equal(await envoy.stat("http.tenants.scoped_rds.tenants.init_fetch_timeout"), 0);
      assert.deepEqual(await route("a", "b", "c"), { a: "A", b: "B", c: "http:404" });
      assert.deepEqual(await scopes(), {
        tenants: [
          ["scope_a", "scope_a", { fragments: [{ string_key: "a" }] }],
          ["scope_b", "scope_b", { fragments: [{ string_key: "b" }] }],
        ],
      });
      assert.match(xdsd.log(), /recv .* type=srds nonce=- .*(names|subscribe)=\[\]/, "Envoy asks for every scope, naming none");
    });

    it("a change of scope a's route table moves x-tenant a live; only its RouteConfiguration is sent", async () => {
      const log = await change({ aTo: "cluster_b", withC: false }, { a: "B", b: "B" });
      assert.match(log, /send .* type=rds /);
      assert.doesNotMatch(log, /send .* type=(lds|srds) /, "the listener and the scopes are as they were");
    });

    it("a scope added: x-tenant c is routed by it, and the other scopes stay", async () => {
      const log = await change({ aTo: "cluster_b", withC: true }, { a: "B", b: "B", c: "B" });
      assert.match(log, mode === "ads" ? /send .* type=srds .* resources=3/ : /send .* type=srds .* resources=1 removed=0/);
      assert.deepEqual(
        (await scopes()).tenants?.map((s) => s[0]),
        ["scope_a", "scope_b", "scope_c"],
      );
    });

    it("a scope removed: x-tenant c answers 404 again, the others are routed", async () => {
      await change({ aTo: "cluster_a", withC: false }, { a: "A", b: "B", c: "http:404" });
      assert.deepEqual(
        (await scopes()).tenants?.map((s) => s[0]),
        ["scope_a", "scope_b"],
      );
    });
  });
}
