// Extension configs (ECDS) live with a real Envoy 1.40, state of the world (ADS) and incremental (delta ADS), issue
// 21 item 4: the listener's HTTP filter `{extension_config: ratelimit}` gets its config over ECDS from the config's
// `extension_configs:`, a local rate limit. Editing only that entry — a token bucket of 1000, then of 1, then of
// 1000 again — makes the running Envoy answer 429 from the second request on and then let everything through again,
// and xdsd sends only the TypedExtensionConfig for it, never the listener.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { httpGet } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, startXdsd, type XdsdHandle } from "../support/xdsd.js";

const localRateLimit = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

/** `tokens` requests a minute: the bucket starts full and refills only after 60 s, long after the test. */
function config(upstream: Upstream, port: number, tokens: number): string {
  return `clusters:
  - {name: app, endpoints: ["${upstream.address}:${upstream.port}"]}
extension_configs:
  - name: ratelimit
    config:
      "@type": ${localRateLimit}
      stat_prefix: app_rl
      token_bucket: {max_tokens: ${tokens}, tokens_per_fill: ${tokens}, fill_interval: 60s}
      filter_enabled: {default_value: {numerator: 100, denominator: HUNDRED}, runtime_key: app_rl_enabled}
      filter_enforced: {default_value: {numerator: 100, denominator: HUNDRED}, runtime_key: app_rl_enforced}
listeners:
  - name: limited
    address: 127.0.0.1
    port: ${port}
    http_filters:
      - extension_config: ratelimit
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: /, cluster: app}]}]
`;
}

interface EcdsDump {
  ecds_filters: { ecds_filter: { name: string; typed_config: { "@type": string; token_bucket: { max_tokens: number } } } }[];
}

for (const mode of ["ads", "delta-ads"] as const) {
  describe(`extension configs (ECDS), ${mode} mode, real Envoy`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    let upstream: Upstream;
    let port = 0;

    before(async () => {
      upstream = await startUpstream("app-1");
      port = await freePort();
      xdsd = await startXdsd(config(upstream, port, 1000), { args: ["--log-level", "debug"] });
      const bootstrapYaml = await bootstrapFor(xdsd, mode, `ecds-${mode}`, await freePort());
      envoy = await startEnvoy({ bootstrapYaml, name: `ecds-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      await upstream?.close();
    });

    const statuses = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await httpGet(`http://127.0.0.1:${port}/`)).status);
      return out;
    };
    const ecdsFilters = async () => {
      const dump = (await envoy.configDump()).configs.find((c) => c["@type"].endsWith(".EcdsConfigDump")) as EcdsDump | undefined;
      return dump?.ecds_filters.map((f) => f.ecds_filter) ?? [];
    };
    /** Rewrites the config with only the extension config's bucket changed, and waits until Envoy holds it. */
    const setTokens = async (tokens: number) => {
      const mark = xdsd.log().length;
      xdsd.writeConfig(config(upstream, port, tokens));
      await envoy.waitFor(async () => (await ecdsFilters())[0]?.typed_config.token_bucket.max_tokens === tokens, {
        what: `Envoy's ECDS filter to have max_tokens ${tokens}`,
      });
      return xdsd.log().slice(mark);
    };

    it("the listener's filter comes over ECDS: /config_dump shows it and the listener's config_discovery; requests pass", async () => {
      const filters = await ecdsFilters();
      assert.deepEqual(
        filters.map((f) => [f.name, f.typed_config["@type"], f.typed_config.token_bucket.max_tokens]),
        [["ratelimit", localRateLimit, 1000]],
      );
      const listeners = JSON.stringify(await envoy.configDump("dynamic_listeners"));
      assert.ok(
        listeners.includes(`"name":"ratelimit","config_discovery":{"config_source":{"ads":{},"resource_api_version":"V3"},"type_urls":["${localRateLimit}"]}`),
        listeners,
      );
      assert.deepEqual(await statuses(4), [200, 200, 200, 200]);
      assert.match(xdsd.log(), /recv .* type=ecds .*(names|subscribe)=\["ratelimit"\]/, "Envoy asks for it by the filter's name");
    });

    it("a bucket of 1 token: the next requests get 429 from the filter, and only the extension config was sent", async () => {
      const log = await setTokens(1);
      // The new bucket starts full: one request passes, then the filter answers for itself.
      assert.deepEqual(await statuses(5), [200, 429, 429, 429, 429]);
      assert.equal(await envoy.stat("app_rl.http_local_rate_limit.rate_limited"), 4);
      assert.match(log, /send .* type=ecds /);
      assert.doesNotMatch(log, /send .* type=(lds|rds|cds|eds) /, "the listener and its routes are as they were");
    });

    it("back to 1000 tokens: requests pass again", async () => {
      await setTokens(1000);
      assert.deepEqual(await statuses(5), Array(5).fill(200));
      assert.equal(await envoy.stat("app_rl.http_local_rate_limit.rate_limited"), 4, "no request limited since");
    });
  });
}
