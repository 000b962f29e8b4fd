// Runtime (RTDS) live with a real Envoy 1.40, state of the world (ADS) and incremental (delta ADS), issue 21 item 4:
// the config's `runtime:` is the Runtime "xdsd", which `xdsd bootstrap` makes a layer of Envoy's runtime. The
// listener has the fault filter, which aborts the share of requests its runtime key
// `fault.http.abort.abort_percent` says (0 in its own config); editing only that key in `runtime:` turns the
// aborts on and off in the running Envoy, and xdsd sends only the Runtime for it, never the listener.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

/** A status Envoy never answers on its own: only the fault filter's abort gives it. */
const abortStatus = 418;

function config(upstream: Upstream, port: number, abortPercent: number): string {
  return `clusters:
  - {name: app, endpoints: ["${upstream.address}:${upstream.port}"]}
runtime:
  fault.http.abort.abort_percent: ${abortPercent}
  unrelated: {nested: "kept as is"}
listeners:
  - name: faulty
    address: 127.0.0.1
    port: ${port}
    http_filters:
      - name: envoy.filters.http.fault
        config:
          "@type": type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault
          abort: {http_status: ${abortStatus}, percentage: {numerator: 0, denominator: HUNDRED}}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: /, cluster: app}]}]
`;
}

interface RuntimeEntry {
  layer_values: string[];
  final_value: string;
}

for (const mode of ["ads", "delta-ads"] as const) {
  describe(`runtime (RTDS), ${mode} mode, real Envoy`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    let upstream: Upstream;
    let port = 0;

    before(async () => {
      upstream = await startUpstream("app-1");
      port = await freePort();
      xdsd = await startXdsd(config(upstream, port, 0), { args: ["--log-level", "debug"] });
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `rtds-${mode}`, await freePort());
      envoy = await startEnvoy({ bootstrapYaml, name: `rtds-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      await upstream?.close();
    });

    const runtime = async () => JSON.parse((await envoy.admin("/runtime")).body) as { layers: string[]; entries: Record<string, RuntimeEntry> };
    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await httpGet(`http://127.0.0.1:${port}/`)).status);
      return out;
    };
    /** Rewrites the config with only `runtime:` changed, and waits until Envoy's runtime has the new value. */
    const setAbortPercent = async (percent: number) => {
      const mark = xdsd.log().length;
      xdsd.writeConfig(config(upstream, port, percent));
      await envoy.waitFor(async () => (await runtime()).entries["fault.http.abort.abort_percent"]?.final_value === String(percent), {
        what: `Envoy's runtime to say fault.http.abort.abort_percent ${percent}`,
      });
      return xdsd.log().slice(mark);
    };

    it("starts with xdsd's runtime as a layer: /config_dump shows the rtds_layer, /runtime its keys, requests pass", async () => {
      const boot = (await envoy.configDump()).configs.find((c) => c["@type"].endsWith(".BootstrapConfigDump"));
      assert.ok(boot, "/config_dump has the bootstrap");
      assert.deepEqual((boot.bootstrap as { layered_runtime: unknown }).layered_runtime, {
        layers: [
          { name: "base", static_layer: {} },
          { name: "xdsd", rtds_layer: { name: "xdsd", rtds_config: { ads: {}, resource_api_version: "V3" } } },
          { name: "admin", admin_layer: {} },
        ],
      });
      const rt = await runtime();
      assert.deepEqual(rt.layers, ["base", "xdsd", "admin"]);
      assert.deepEqual(rt.entries["fault.http.abort.abort_percent"], { layer_values: ["", "0", ""], final_value: "0" });
      assert.equal(rt.entries["unrelated.nested"]?.final_value, "kept as is", "a mapping is keys below its key");
      assert.deepEqual(await statuses(4), [200, 200, 200, 200]);
      assert.match(xdsd.log(), /recv .* type=rtds .*(names|subscribe)=\["xdsd"\]/, "Envoy asks for the Runtime by its layer's name");
    });

    it("abort_percent 100 in runtime: every request is aborted by the fault filter, and only the Runtime was sent", async () => {
      const log = await setAbortPercent(100);
      assert.deepEqual(await statuses(5), Array(5).fill(abortStatus));
      assert.match(log, /send .* type=rtds /);
      assert.doesNotMatch(log, /send .* type=(lds|rds|cds|eds) /, "the listener and its routes are as they were");
    });

    it("back to 0: requests pass again", async () => {
      await setAbortPercent(0);
      assert.deepEqual(await statuses(5), Array(5).fill(200));
      assert.equal(await envoy.stat("runtime.load_error"), 0);
    });
  });
}
