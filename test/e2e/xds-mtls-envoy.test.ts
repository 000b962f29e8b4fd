// A real Envoy 1.40 reaching xdsd over mutual TLS, in ads and delta-ads modes, with the bootstrap `xdsd bootstrap
// --tls-ca --tls-cert --tls-key` writes and certificates made by openssl for this run: traffic flows through it,
// Envoy's own stats say its xDS connection is up, xdsd names Envoy's stream by the SPIFFE ID of its certificate,
// and a rotation of xdsd's certificate keeps the open stream (a change made after it still reaches Envoy). The config
// lets only spiffe://acme.test/edge/* read it (identities:): an Envoy with another identity, claiming the allowed
// Envoy's node id, is refused with PERMISSION_DENIED, counted and logged, and holds no cluster.
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { countUpstreams } from "../support/http.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";
import { serialOf, TestCa } from "../support/certs.js";

const scratch = mkdtempSync(join(tmpdir(), "xdsd-mtls-envoy-"));
const ca = new TestCa("mtls-envoy", scratch);
const serverFiles = { cert: join(scratch, "xdsd.pem"), key: join(scratch, "xdsd.key") };
const initial = ca.issue("xdsd", { san: ["IP:127.0.0.1"] });
copyFileSync(initial.cert, serverFiles.cert);
copyFileSync(initial.key, serverFiles.key);

function config(upstream: Upstream, port: number, extra = ""): string {
  return `identities: ["spiffe://acme.test/edge/*"]
clusters:
  - {name: web, endpoints: ["${upstream.address}:${upstream.port}"]}${extra}
listeners:
  - name: http
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: web}]}]
`;
}

for (const mode of ["ads", "delta-ads"] as const) {
  describe(`Envoy over mutual TLS, ${mode} mode`, () => {
    let xdsd: XdsdHandle;
    let envoy: EnvoyHandle;
    const upstreams: Upstream[] = [];
    let port = 0;
    const envoyCert = ca.issue(`envoy-${mode}`, { san: [`URI:spiffe://acme.test/edge/${mode}`] });
    // Envoy's client certificate files, which a rotation replaces; Envoy takes them over file-based SDS
    // (bootstrap --tls-cert-sds), which is what makes it reread them.
    const envoyDir = mkdtempSync(join(scratch, `envoy-${mode}-`));
    const envoyFiles = { cert: join(envoyDir, "envoy.pem"), key: join(envoyDir, "envoy.key"), sds: join(scratch, `envoy-${mode}-sds.yaml`) };
    copyFileSync(envoyCert.cert, envoyFiles.cert);
    copyFileSync(envoyCert.key, envoyFiles.key);

    before(async () => {
      upstreams.push(await startUpstream(`mtls-${mode}-1`), await startUpstream(`mtls-${mode}-2`));
      port = await freePort();
      xdsd = await startXdsd(config(upstreams[0], port), {
        args: ["--xds-tls-cert", serverFiles.cert, "--xds-tls-key", serverFiles.key, "--xds-client-ca", ca.cert, "--log-level", "debug"],
      });
      const boot = await runXdsd([
        "bootstrap",
        "--config",
        xdsd.configPath,
        "--mode",
        mode,
        "--node-id",
        `mtls-${mode}`,
        "--node-cluster",
        "cluster.local",
        "--xds",
        `127.0.0.1:${xdsd.xdsPort}`,
        "--admin-port",
        String(await freePort()),
        "--tls-ca",
        ca.cert,
        "--tls-cert",
        envoyFiles.cert,
        "--tls-key",
        envoyFiles.key,
        "--tls-cert-sds",
        envoyFiles.sds,
      ]);
      assert.equal(boot.code, 0, boot.stderr);
      envoy = await startEnvoy({ bootstrapYaml: boot.stdout, name: `mtls-${mode}` });
      await envoy.waitReady();
    });

    after(async () => {
      await envoy?.stop();
      await xdsd?.stop();
      for (const u of upstreams) await u.close();
    });

    it("serves traffic from config received over mutual TLS; xdsd knows Envoy by its certificate's SPIFFE ID", async () => {
      await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${port}/`, "any", 2)).get(`mtls-${mode}-1`) === 2, {
        what: "traffic through the listener xdsd sent over mutual TLS",
      });
      assert.equal(await envoy.stat("control_plane.connected_state"), 1);
      const nodes = await xdsd.admin<{ nodes: { node: string; identity?: string }[] }>("/nodes");
      const node = nodes.json.nodes.find((n) => n.node.includes(`mtls-${mode}`));
      assert.equal(node?.identity, `spiffe://acme.test/edge/${mode}`, JSON.stringify(nodes.json));
    });

    it("an Envoy whose identity the config does not list gets nothing, even claiming the allowed Envoy's node id; xdsd counts the denial", async () => {
      const intruderCert = ca.issue(`intruder-${mode}`, { san: [`URI:spiffe://acme.test/intruder/${mode}`] });
      const mark = xdsd.log().length;
      const boot = await runXdsd([
        "bootstrap",
        "--mode",
        mode,
        "--node-id",
        `mtls-${mode}`,
        "--node-cluster",
        "cluster.local",
        "--xds",
        `127.0.0.1:${xdsd.xdsPort}`,
        "--admin-port",
        String(await freePort()),
        "--listen-port",
        String(await freePort()),
        "--tls-ca",
        ca.cert,
        "--tls-cert",
        intruderCert.cert,
        "--tls-key",
        intruderCert.key,
      ]);
      assert.equal(boot.code, 0, boot.stderr);
      const intruder = await startEnvoy({ bootstrapYaml: boot.stdout, name: `mtls-intruder-${mode}` });
      try {
        const line = await xdsd.waitForLog(
          new RegExp(
            `PERMISSION_DENIED .*identity "spiffe://acme\\.test/intruder/${mode}" may not be served the config of node "cluster\\.local/mtls-${mode}"`,
          ),
          10_000,
          mark,
        );
        assert.match(line, /PERMISSION_DENIED/);
        const protocol = mode === "ads" ? "sotw" : "delta";
        const metrics = await (await fetch(`${xdsd.adminUrl}/metrics`)).text();
        const denied = new RegExp(`^xdsd_authorization_denied_total\\{protocol="${protocol}"\\} (\\d+)$`, "m").exec(metrics);
        assert.ok(
          denied && Number(denied[1]) >= 1,
          metrics
            .split("\n")
            .filter((l) => l.includes("authorization"))
            .join("\n"),
        );
        // Retried and refused again: still not one dynamic cluster, while the allowed Envoy is served.
        await new Promise((r) => setTimeout(r, 1000));
        const dump = await intruder.configDump("dynamic_active_clusters");
        assert.doesNotMatch(JSON.stringify(dump), /"name":"web"/);
        assert.equal(await intruder.stat("cluster_manager.cds.update_success"), 0);
        assert.equal((await countUpstreams(`http://127.0.0.1:${port}/`, "any", 1)).size, 1, "the allowed Envoy still serves traffic");
      } finally {
        await intruder.stop();
      }
    });

    it("a rotation of xdsd's certificate keeps Envoy's stream: a later change still reaches it", async () => {
      const mark = xdsd.log().length;
      const next = ca.issue(`xdsd-next-${mode}`, { san: ["IP:127.0.0.1"] });
      copyFileSync(next.cert, serverFiles.cert);
      copyFileSync(next.key, serverFiles.key);
      await xdsd.waitForLog(/xDS TLS credentials reloaded/, 5000, mark);
      const connects = await envoy.stat("cluster.xds_cluster.upstream_cx_total");
      xdsd.writeConfig(config(upstreams[1], port).replace(`${upstreams[0].port}`, `${upstreams[1].port}`));
      await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${port}/`, "any", 2)).get(`mtls-${mode}-2`) === 2, {
        what: "the change made after the rotation to reach Envoy",
      });
      assert.equal(await envoy.stat("cluster.xds_cluster.upstream_cx_total"), connects, "no new connection to xdsd was needed");
    });

    it("a rotation of Envoy's own client certificate (moved into place: key, then certificate) is taken without a restart, and its stream goes on", async () => {
      // /certs: the certificates of Envoy's TLS contexts; only xds_cluster's presents one of its own.
      const envoySerials = async () => {
        const body = (await envoy.admin("/certs")).body;
        const certs = JSON.parse(body) as { certificates: { cert_chain?: { serial_number: string }[] }[] };
        return { serials: certs.certificates.flatMap((c) => c.cert_chain ?? []).map((c) => c.serial_number.toUpperCase()), body };
      };
      const before = await envoySerials();
      assert.deepEqual(before.serials, [serialOf(envoyCert.cert).toUpperCase()], before.body);
      const connects = await envoy.stat("cluster.xds_cluster.upstream_cx_total");
      const next = ca.issue(`envoy-next-${mode}`, { san: [`URI:spiffe://acme.test/edge/${mode}`] });
      // Renames, as a certificate manager (or Kubernetes' ..data symlink swap) writes: the watched directory sees
      // them. After the key alone the pair does not match and Envoy keeps the old one; after the certificate, both.
      for (const [from, to] of [
        [next.key, envoyFiles.key],
        [next.cert, envoyFiles.cert],
      ]) {
        copyFileSync(from, `${to}.tmp`);
        renameSync(`${to}.tmp`, to);
      }
      await envoy.waitFor(async () => (await envoySerials()).serials.join() === serialOf(next.cert).toUpperCase(), {
        what: "Envoy to take the rotated client certificate",
      });
      xdsd.writeConfig(config(upstreams[0], port));
      await envoy.waitFor(async () => (await countUpstreams(`http://127.0.0.1:${port}/`, "any", 2)).get(`mtls-${mode}-1`) === 2, {
        what: "a change made after Envoy's rotation to reach it",
      });
      assert.equal(await envoy.stat("cluster.xds_cluster.upstream_cx_total"), connects, "the stream to xdsd was kept");
    });
  });
}
