// The etcd store over mutual TLS (`--etcd-ca/--etcd-cert/--etcd-key`, through openStore), on a real etcd member
// that requires client certificates; a client without one, or that trusts another CA, is refused.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, it } from "node:test";
import { StoreUnavailableError } from "../../src/errors.js";
import { openStore } from "../../src/store/open-store.js";
import { TestCa } from "../support/certs.js";
import { type EtcdCluster, startEtcdCluster } from "../support/etcd.js";
import { watchUntil } from "./conformance.js";

let cluster: EtcdCluster;
const ca = new TestCa("etcd");
const otherCa = new TestCa("other");
const server = ca.issue("etcd", { san: ["IP:127.0.0.1"] });
const client = ca.issue("xdsd");
before(async () => {
  cluster = await startEtcdCluster({
    members: 1,
    tls: { ca: ca.cert, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key },
  });
});
after(async () => {
  await cluster?.stop();
  for (const dir of [ca.dir, otherCa.dir]) rmSync(dir, { recursive: true, force: true });
});

it("writes, reads and watches over mutual TLS", async () => {
  const store = await openStore(cluster.url, { etcdPrefix: "/tls/", etcdCa: ca.cert, etcdCert: client.cert, etcdKey: client.key });
  try {
    const written = await store.put("cluster", "secure", { v: 1 });
    assert.deepEqual((await store.get("cluster", "secure"))?.value, { v: 1 });
    assert.deepEqual(
      (await watchUntil(store, 0, (changes) => changes.length === 1)).map((c) => c.revision),
      [written.revision],
    );
  } finally {
    await store.close();
  }
});

it("without a client certificate, or trusting another CA, opening fails with StoreUnavailableError", async () => {
  await assert.rejects(openStore(cluster.url, { etcdCa: ca.cert, etcdCallTimeoutMs: 1_000 }), StoreUnavailableError);
  await assert.rejects(
    openStore(cluster.url, { etcdCa: otherCa.cert, etcdCert: client.cert, etcdKey: client.key, etcdCallTimeoutMs: 1_000 }),
    StoreUnavailableError,
  );
});
