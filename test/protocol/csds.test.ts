// The Client Status Discovery Service on the xDS port, asked by a real grpc-js client, unary (FetchClientStatus) and
// streaming (StreamClientStatus), about real SotW and delta clients: per resource the version sent and where it
// stands — ACKED, NACKED with the client's error, DOES_NOT_EXIST for a name asked that xdsd does not have — node
// matchers choose the clients, secrets are listed without their contents, and exclude_resource_contents is honoured.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { StatusSchema } from "../../src/gen/google/rpc/status_pb.js";
import {
  ClientStatusRequestSchema,
  ClientStatusResponseSchema,
  ConfigStatus,
  type ClientStatusResponse,
} from "../../src/gen/envoy/service/status/v3/csds_pb.js";
import { ClientResourceStatus } from "../../src/gen/envoy/admin/v3/config_dump_shared_pb.js";
import { SecretSchema } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { UpstreamTlsContextSchema } from "../../src/gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import { ClusterSchema, Cluster_DiscoveryType } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { SnapshotCache } from "../../src/cache/snapshot-cache.js";
import { Snapshot } from "../../src/cache/snapshot.js";
import { XdsServer } from "../../src/server/xds-server.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { RawDeltaClient, RawXdsClient } from "../support/xds-client.js";
import { edsCluster, endpoints, node } from "../support/resources.js";

const cache = new SnapshotCache();
const secret = create(SecretSchema, {
  name: "edge-cert",
  type: { case: "tlsCertificate", value: { privateKey: { specifier: { case: "inlineString", value: "-----BEGIN PRIVATE KEY-----\nSECRETKEYBODY\n" } } } },
});
// A cluster whose TLS context carries its private key inline (a raw resource may): key material in a Cluster.
const inlineKeyCluster = create(ClusterSchema, {
  name: "inline-key",
  clusterDiscoveryType: { case: "type", value: Cluster_DiscoveryType.STATIC },
  transportSocket: {
    name: "envoy.transport_sockets.tls",
    configType: {
      case: "typedConfig",
      value: anyPack(
        UpstreamTlsContextSchema,
        create(UpstreamTlsContextSchema, {
          commonTlsContext: {
            tlsCertificates: [{ privateKey: { specifier: { case: "inlineString", value: "-----BEGIN PRIVATE KEY-----\nINLINEKEYBODY\n" } } }],
          },
        }),
      ),
    },
  },
});
cache.setDefaultSnapshot(
  Snapshot.from([edsCluster("a"), edsCluster("b"), endpoints("a", "10.0.0.1:80"), endpoints("b", "10.0.0.2:80"), secret, inlineKeyCluster]),
);
const server = new XdsServer({ cache });
const address = `127.0.0.1:${await server.listen("127.0.0.1:0")}`;
const closers: (() => void)[] = [];
after(async () => {
  for (const c of closers) c();
  await server.close(200);
});

const csds = new grpc.Client(address, grpc.credentials.createInsecure());
closers.push(() => csds.close());
const toBytes = (r: Parameters<typeof toBinary<typeof ClientStatusRequestSchema>>[1]) => Buffer.from(toBinary(ClientStatusRequestSchema, r));
const fromBytes = (b: Buffer) => fromBinary(ClientStatusResponseSchema, b);

function fetchStatus(init: Parameters<typeof create<typeof ClientStatusRequestSchema>>[1] = {}): Promise<ClientStatusResponse> {
  return new Promise((resolve, reject) =>
    csds.makeUnaryRequest(
      "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus",
      toBytes,
      fromBytes,
      create(ClientStatusRequestSchema, init),
      (err, value) => (err ? reject(err) : resolve(value!)),
    ),
  );
}

/** type short name/resource name → [config status, client status, version] of one node's entries. */
function statusOf(response: ClientStatusResponse, nodeId: string): Map<string, [string, string, string]> {
  const config = response.config.find((c) => c.node?.id === nodeId);
  assert.ok(config, `node ${nodeId} in ${response.config.map((c) => c.node?.id).join(", ")}`);
  return new Map(
    config.genericXdsConfigs.map((g) => [
      `${g.typeUrl.slice(g.typeUrl.lastIndexOf(".") + 1)}/${g.name}`,
      [ConfigStatus[g.configStatus], ClientResourceStatus[g.clientStatus], g.versionInfo] as [string, string, string],
    ]),
  );
}

// One SotW client that ACKs CDS and NACKs EDS, having asked for a name that does not exist; one delta client.
const sotw = new RawXdsClient(address);
closers.push(() => sotw.close());
sotw.send({ node: node("csds-sotw"), typeUrl: TypeUrl.Cluster });
const cds = await sotw.next();
sotw.ack(cds);
sotw.send({ typeUrl: TypeUrl.ClusterLoadAssignment, resourceNames: ["a", "missing"] });
const eds = await sotw.next();
sotw.send({
  typeUrl: TypeUrl.ClusterLoadAssignment,
  versionInfo: "",
  responseNonce: eds.nonce,
  resourceNames: ["a", "missing"],
  errorDetail: create(StatusSchema, { code: 3, message: "endpoint a rejected on purpose" }),
});
const delta = new RawDeltaClient(address);
closers.push(() => delta.close());
delta.send({ node: node("csds-delta"), typeUrl: TypeUrl.Cluster });
delta.ack(await delta.next());
delta.send({ typeUrl: TypeUrl.Secret, resourceNamesSubscribe: ["edge-cert"] });
delta.ack(await delta.next());
await new Promise((r) => setTimeout(r, 100)); // the ACKs and the NACK reach the server

test("FetchClientStatus: per resource, ACKED and SYNCED at the version sent; NACKED with the client's error; DOES_NOT_EXIST", async () => {
  const response = await fetchStatus();
  assert.deepEqual(
    response.config.map((c) => c.node?.id),
    ["csds-delta", "csds-sotw"],
  );
  const s = statusOf(response, "csds-sotw");
  assert.deepEqual(s.get("Cluster/a"), ["SYNCED", "ACKED", cds.versionInfo]);
  assert.deepEqual(s.get("Cluster/b"), ["SYNCED", "ACKED", cds.versionInfo]);
  // After a NACK, the version the client keeps (it never ACKed an EDS response: none), as Envoy's /config_dump and
  // grpc-js-xds's own CSDS say; the rejected one is error_state.version_info.
  assert.deepEqual(s.get("ClusterLoadAssignment/a"), ["ERROR", "NACKED", ""]);
  assert.deepEqual(s.get("ClusterLoadAssignment/missing"), ["NOT_SENT", "DOES_NOT_EXIST", ""]);
  const nacked = response.config
    .find((c) => c.node?.id === "csds-sotw")!
    .genericXdsConfigs.find((g) => g.typeUrl === TypeUrl.ClusterLoadAssignment && g.name === "a")!;
  assert.equal(nacked.errorState?.details, "endpoint a rejected on purpose");
  assert.equal(nacked.errorState?.versionInfo, eds.versionInfo);
  assert.ok(nacked.lastUpdated, "when it was sent");
  const d = statusOf(response, "csds-delta");
  assert.deepEqual(d.get("Cluster/a")?.slice(0, 2), ["SYNCED", "ACKED"]);
});

test("the resource's contents are there unless excluded, and a secret's never are, nor a resource's with a key inline", async () => {
  const withContents = await fetchStatus();
  const entries = withContents.config.find((c) => c.node?.id === "csds-delta")!.genericXdsConfigs;
  assert.ok(entries.find((g) => g.typeUrl === TypeUrl.Cluster && g.name === "a")?.xdsConfig, "a cluster's contents");
  const sec = entries.find((g) => g.typeUrl === TypeUrl.Secret && g.name === "edge-cert");
  assert.ok(sec, "the secret is listed");
  assert.equal(sec.clientStatus, ClientResourceStatus.ACKED);
  assert.equal(sec.xdsConfig, undefined, "without its key");
  assert.ok(!Buffer.from(toBinary(ClientStatusResponseSchema, withContents)).includes("SECRETKEYBODY"));
  // A Cluster with a private key inline in its TLS context: listed, bare (issue 19 item 3).
  const inline = entries.find((g) => g.typeUrl === TypeUrl.Cluster && g.name === "inline-key");
  assert.equal(inline?.clientStatus, ClientResourceStatus.ACKED, "the cluster is listed");
  assert.equal(inline?.xdsConfig, undefined, "without its contents");
  assert.ok(!Buffer.from(toBinary(ClientStatusResponseSchema, withContents)).includes("INLINEKEYBODY"));
  const excluded = await fetchStatus({ excludeResourceContents: true });
  assert.ok(excluded.config.every((c) => c.genericXdsConfigs.every((g) => g.xdsConfig === undefined)));
});

test("node matchers choose the clients: by id (exact, prefix, regex) and by metadata", async () => {
  const only = await fetchStatus({ nodeMatchers: [{ nodeId: { matchPattern: { case: "exact", value: "csds-delta" } } }] });
  assert.deepEqual(
    only.config.map((c) => c.node?.id),
    ["csds-delta"],
  );
  const prefixed = await fetchStatus({ nodeMatchers: [{ nodeId: { matchPattern: { case: "prefix", value: "csds-" } } }] });
  assert.equal(prefixed.config.length, 2);
  const regex = await fetchStatus({ nodeMatchers: [{ nodeId: { matchPattern: { case: "safeRegex", value: { regex: "csds-s.*" } } } }] });
  assert.deepEqual(
    regex.config.map((c) => c.node?.id),
    ["csds-sotw"],
  );
  const none = await fetchStatus({
    nodeMatchers: [
      { nodeMetadatas: [{ path: [{ segment: { case: "key", value: "zone" } }], value: { matchPattern: { case: "presentMatch", value: true } } }] },
    ],
  });
  assert.equal(none.config.length, 0, "no client has that metadata");
});

test("StreamClientStatus answers each request, and ends with OK when the client half-closes", async () => {
  const call = csds.makeBidiStreamRequest("/envoy.service.status.v3.ClientStatusDiscoveryService/StreamClientStatus", toBytes, fromBytes);
  const responses: ClientStatusResponse[] = [];
  const ended = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  call.on("data", (r: ClientStatusResponse) => responses.push(r));
  call.on("error", () => {});
  call.write(create(ClientStatusRequestSchema, {}));
  call.write(create(ClientStatusRequestSchema, { nodeMatchers: [{ nodeId: { matchPattern: { case: "exact", value: "csds-sotw" } } }] }));
  call.end();
  assert.equal((await ended).code, grpc.status.OK);
  assert.deepEqual(
    responses.map((r) => r.config.length),
    [2, 1],
  );
});
