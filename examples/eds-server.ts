// The classic EDS server (go-control-plane's first example) with xdsd as a library: endpoints for two clusters,
// served to the Envoy node "cluster.local/node0" on :18000. Run: npm run build && node dist/examples/eds-server.js
import { Snapshot, SnapshotCache, XdsServer, translateEndpoints } from "xdsd";

const cache = new SnapshotCache(); // snapshots are keyed by "<node.cluster>/<node.id>"
cache.setSnapshot(
  "cluster.local/node0",
  Snapshot.from([
    translateEndpoints({ name: "nginx_cluster", endpoints: ["127.0.0.1:8081", "127.0.0.1:8082"] }),
    translateEndpoints({ name: "httpd_cluster", endpoints: ["127.0.0.1:8083", "127.0.0.1:8084"] }),
  ]),
);

const server = new XdsServer({ cache });
const port = await server.listen(`0.0.0.0:${process.env.XDS_PORT ?? 18000}`);
console.log(`xDS server listening on :${port}`);
process.once("SIGTERM", () => void server.close());
