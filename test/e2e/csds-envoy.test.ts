// CSDS against a real Envoy 1.40 over ADS: what xdsd reports per type — as JSON on the admin port
// (POST /v3/discovery:client_status) and over gRPC on the xDS port (FetchClientStatus) — agrees with Envoy's own
// /config_dump: the version of CDS and LDS Envoy holds, ACKED; then a cluster Envoy rejects shows NACKED with Envoy's
// error, while Envoy's dump still holds the version before it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ClientStatusRequestSchema, ClientStatusResponseSchema, type ClientStatusResponse } from "../../src/gen/envoy/service/status/v3/csds_pb.js";
import { freePort, startEnvoy, type EnvoyHandle } from "../support/envoy.js";
import { startUpstream, type Upstream } from "../support/upstream.js";
import { bootstrapFor, runXdsd, startXdsd, type XdsdHandle } from "../support/xdsd.js";
import type { NodeDiff } from "../../src/server/node-diff.js";

interface GenericJson {
  typeUrl: string;
  name: string;
  versionInfo?: string;
  configStatus?: string;
  clientStatus?: string;
  errorState?: { details?: string; versionInfo?: string };
}

describe("CSDS agrees with a real Envoy's /config_dump", () => {
  let xdsd: XdsdHandle;
  let envoy: EnvoyHandle;
  let upstream: Upstream;
  let port = 0;
  const config = (extra = "") => `clusters:
  - {name: web, endpoints: ["${upstream.address}:${upstream.port}"]}
listeners:
  - name: http
    address: 127.0.0.1
    port: ${port}
    virtual_hosts: [{name: all, domains: ["*"], routes: [{prefix: "/", cluster: web}]}]
${extra}`;

  before(async () => {
    upstream = await startUpstream("csds-1");
    port = await freePort();
    xdsd = await startXdsd(config());
    envoy = await startEnvoy({ bootstrapYaml: await bootstrapFor(xdsd, "ads", "csds-envoy", await freePort()), name: "csds-envoy" });
    await envoy.waitReady();
  });

  after(async () => {
    await envoy?.stop();
    await xdsd?.stop();
    await upstream?.close();
  });

  /** CSDS as JSON from the admin port: the node's entries. */
  async function csdsJson(): Promise<GenericJson[]> {
    const res = await fetch(`${xdsd.adminUrl}/v3/discovery:client_status`, { method: "POST", body: JSON.stringify({}) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { config?: { node?: { id?: string }; genericXdsConfigs?: GenericJson[] }[] };
    return body.config?.find((c) => c.node?.id === "csds-envoy")?.genericXdsConfigs ?? [];
  }

  /** Envoy's own version per type, from /config_dump. */
  async function dumpVersions(): Promise<{ cds: string; lds: string }> {
    const dump = (await envoy.configDump()) as unknown as { configs: { "@type": string; version_info?: string }[] };
    const of = (suffix: string) => dump.configs.find((c) => c["@type"].endsWith(suffix))?.version_info ?? "";
    return { cds: of("ClustersConfigDump"), lds: of("ListenersConfigDump") };
  }

  it("reports the CDS and LDS versions Envoy holds, ACKED and SYNCED — as JSON on the admin port and over gRPC", async () => {
    const entries = await envoy.waitFor(
      async () => {
        const e = await csdsJson();
        // Every type, not the listener alone: its route configuration is sent after it is ACKed.
        const acked = new Set(e.filter((g) => g.clientStatus === "ACKED").map((g) => g.typeUrl.split(".").pop()));
        return ["Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration"].every((t) => acked.has(t)) && e.every((g) => g.clientStatus === "ACKED")
          ? e
          : undefined;
      },
      { what: "CSDS to show every type ACKED" },
    );
    const dumped = await dumpVersions();
    const cluster = entries.find((g) => g.typeUrl.endsWith(".Cluster") && g.name === "web");
    const listener = entries.find((g) => g.typeUrl.endsWith(".Listener") && g.name === "http");
    assert.equal(cluster?.versionInfo, dumped.cds);
    assert.equal(listener?.versionInfo, dumped.lds);
    assert.equal(cluster?.configStatus, "SYNCED");

    const client = new grpc.Client(`127.0.0.1:${xdsd.xdsPort}`, grpc.credentials.createInsecure());
    const response = await new Promise<ClientStatusResponse>((resolve, reject) =>
      client.makeUnaryRequest(
        "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus",
        (r: ReturnType<typeof create<typeof ClientStatusRequestSchema>>) => Buffer.from(toBinary(ClientStatusRequestSchema, r)),
        (b: Buffer) => fromBinary(ClientStatusResponseSchema, b),
        create(ClientStatusRequestSchema, { nodeMatchers: [{ nodeId: { matchPattern: { case: "exact", value: "csds-envoy" } } }] }),
        (err, value) => (err ? reject(err) : resolve(value!)),
      ),
    );
    client.close();
    const grpcCluster = response.config[0]?.genericXdsConfigs.find((g) => g.typeUrl.endsWith(".Cluster") && g.name === "web");
    assert.equal(grpcCluster?.versionInfo, dumped.cds, "gRPC and JSON say the same");

    // xdsd status says the same: one row, every type SYNCED; the node's resources at the versions Envoy holds.
    const table = await runXdsd(["status", "--admin", xdsd.adminUrl]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NODE\s+IDENTITY\s+STREAMS\s+CDS\s+EDS\s+LDS\s+RDS$/m);
    assert.match(table.stdout, /^cluster\.local\/csds-envoy\s+-\s+ads\s+SYNCED\s+SYNCED\s+SYNCED\s+SYNCED$/m);
    const one = await runXdsd(["status", "csds-envoy", "--admin", xdsd.adminUrl]);
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, new RegExp(`^cds\\s+web\\s+${dumped.cds}\\s+SYNCED$`, "m"));
    assert.match(one.stdout, new RegExp(`^lds\\s+http\\s+${dumped.lds}\\s+SYNCED$`, "m"));
    // Against what xdsd would send now: in sync, every resource held at its current version.
    assert.match(one.stdout, /^in sync with what xdsd serves now$/m);
    assert.match(one.stdout, new RegExp(`^  cds: in sync \\(1 resource, version ${dumped.cds}\\)$`, "m"));
    const oneJson = JSON.parse((await runXdsd(["status", "csds-envoy", "-o", "json", "--admin", xdsd.adminUrl])).stdout) as { diff: NodeDiff };
    assert.equal(oneJson.diff.in_sync, true);
    const web = oneJson.diff.types.cds.resources.find((r) => r.name === "web");
    assert.ok(web?.held && web.held === web.current, JSON.stringify(web));
    // The config version served: the one proxy holds it (exit 0).
    const served = (await xdsd.admin<{ config: { version: string } }>("/config")).json.config.version;
    const converged = await runXdsd(["status", "--version", served, "--admin", xdsd.adminUrl]);
    assert.equal(converged.code, 0, converged.stdout + converged.stderr);
    assert.equal(converged.stdout, `${served} (the config being served): 1 of 1 proxies hold it\n`);
    // A type's version of /config: the proxies subscribed to it in that group.
    const byType = JSON.parse((await runXdsd(["status", "--version", dumped.cds, "-o", "json", "--admin", xdsd.adminUrl])).stdout);
    assert.deepEqual([byType.concerned, byType.holding], [1, 1], JSON.stringify(byType));
    const missing = await runXdsd(["status", "nobody", "--admin", xdsd.adminUrl]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no connected proxy has node id "nobody"/);
    const unknown = await runXdsd(["status", "--version", "nonesuch", "--admin", xdsd.adminUrl]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--version nonesuch: neither the config version served/);
  });

  it("a cluster Envoy rejects is NACKED with Envoy's error, and Envoy's dump keeps the version before it", async () => {
    const before = await dumpVersions();
    // Valid protobuf, so xdsd accepts it; Envoy's own validation requires connect_timeout > 0.
    xdsd.writeConfig(
      config(`resources:
  - "@type": type.googleapis.com/envoy.config.cluster.v3.Cluster
    name: raw_cluster
    type: STATIC
    connect_timeout: 0s
    load_assignment: {cluster_name: raw_cluster, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: ${upstream.port}}}}}]}]}
`),
    );
    const entries = await envoy.waitFor(
      async () => {
        const e = await csdsJson();
        return e.some((g) => g.clientStatus === "NACKED") ? e : undefined;
      },
      { what: "CSDS to show the NACK" },
    );
    const nacked = entries.filter((g) => g.clientStatus === "NACKED");
    assert.ok(
      nacked.every((g) => g.typeUrl.endsWith(".Cluster")),
      JSON.stringify(nacked),
    );
    assert.ok(
      nacked.some((g) => g.name === "raw_cluster"),
      JSON.stringify(nacked),
    );
    assert.match(nacked[0].errorState?.details ?? "", /connect_timeout|Proto constraint validation failed/i);
    assert.equal(nacked[0].configStatus, "ERROR");
    assert.equal((await dumpVersions()).cds, before.cds, "Envoy still holds the version before");
    assert.notEqual(nacked[0].errorState?.versionInfo, before.cds, "the rejected version is the new one");
    assert.equal(nacked.find((g) => g.name === "web")?.versionInfo, before.cds, "CSDS says the version Envoy keeps, as its dump does");
    const status = await runXdsd(["status", "-o", "json", "--admin", xdsd.adminUrl]);
    const row = (JSON.parse(status.stdout) as { proxies: { id: string; types: Record<string, string> }[] }).proxies.find((p) => p.id === "csds-envoy");
    assert.match(
      row?.types.cds ?? "",
      /^NACKED: Proto constraint validation failed \(ClusterValidationError\.ConnectTimeout: value must be greater than 0s\)$/,
    );
    assert.equal(row?.types.lds, "SYNCED");
    // The diff: Envoy holds web only; raw_cluster, which it rejected, is still to send; the config served is not
    // held by the proxy (exit 1), and why.
    const diff = JSON.parse((await runXdsd(["status", "csds-envoy", "-o", "json", "--admin", xdsd.adminUrl])).stdout).diff as NodeDiff;
    assert.equal(diff.in_sync, false);
    assert.equal(diff.types.cds.status, "NACKED");
    assert.equal(diff.types.cds.kept_version, before.cds);
    assert.deepEqual(diff.types.cds.missing, ["raw_cluster"]);
    assert.equal(diff.types.lds.in_sync, true);
    const served = (await xdsd.admin<{ config: { version: string } }>("/config")).json.config.version;
    const converged = await runXdsd(["status", "--version", served, "--admin", xdsd.adminUrl]);
    assert.equal(converged.code, 1, converged.stdout + converged.stderr);
    assert.match(converged.stdout, /: 0 of 1 proxies hold it\n {2}cluster\.local\/csds-envoy: cds NACKED version \S+, keeps \S+; to send raw_cluster$/m);
  });
});
