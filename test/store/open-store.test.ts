// openStore / parseStoreUrl: the store URL's grammar (`sqlite:DIR`, `etcd://HOST:PORT[,HOST:PORT...]`) and the
// options that go with it, each mistake a BadArgumentError (or TlsCredentialsError for a file) that says what is
// expected. Opening etcd itself is tested against a real cluster (etcd-store.test.ts, etcd-tls.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { BadArgumentError, TlsCredentialsError } from "../../src/errors.js";
import { openStore, parseStoreUrl } from "../../src/store/open-store.js";
import { SqliteStore } from "../../src/store/sqlite-store.js";

const root = mkdtempSync(join(tmpdir(), "xdsd-open-store-"));
after(() => rmSync(root, { recursive: true, force: true }));

describe("parseStoreUrl", () => {
  it("reads sqlite:DIR and etcd:// with one or more endpoints (names, IPv4, bracketed IPv6)", () => {
    assert.deepEqual(parseStoreUrl("sqlite:/var/lib/xdsd"), { kind: "sqlite", dir: "/var/lib/xdsd" });
    assert.deepEqual(parseStoreUrl("sqlite:data"), { kind: "sqlite", dir: "data" });
    assert.deepEqual(parseStoreUrl("etcd://127.0.0.1:2379"), { kind: "etcd", endpoints: ["127.0.0.1:2379"] });
    assert.deepEqual(parseStoreUrl("etcd://etcd-0.etcd:2379,etcd-1.etcd:2379,[::1]:2379"), {
      kind: "etcd",
      endpoints: ["etcd-0.etcd:2379", "etcd-1.etcd:2379", "[::1]:2379"],
    });
  });

  for (const [url, why] of [
    ["sqlite:", "no directory after sqlite:"],
    ["etcd://", "no endpoint after etcd://"],
    ["etcd://localhost", 'endpoint 1 ("localhost") is not HOST:PORT'],
    ["etcd://a:2379,b", 'endpoint 2 ("b") is not HOST:PORT'],
    ["etcd://a:2379,", 'endpoint 2 ("") is not HOST:PORT'],
    ["etcd://a:0", 'endpoint 1 ("a:0") has port 0, outside 1-65535'],
    ["etcd://a:65536", "has port 65536"],
    ["etcd://a:2379/xdsd", "an etcd URL holds endpoints only (the key prefix is an option of its own)"],
    ["etcd://user@a:2379", "endpoints only"],
    ["etcd://a:2379,a:2379", "an endpoint is listed twice"],
    ["mysql://a:3306", "unknown kind of store"],
    ["/var/lib/xdsd", "unknown kind of store"],
  ]) {
    it(`refuses ${JSON.stringify(url)}: ${why}`, () => {
      assert.throws(
        () => parseStoreUrl(url),
        (e: unknown) =>
          e instanceof BadArgumentError &&
          e.code === "XDSD_BAD_ARGUMENT" &&
          e.message.startsWith(`store "${url}": `) &&
          e.message.includes(why) &&
          e.message.endsWith("expected sqlite:DIR or etcd://HOST:PORT[,HOST:PORT...]"),
      );
    });
  }
});

describe("openStore", () => {
  it("opens a SQLite store from sqlite:DIR", async () => {
    const store = await openStore(`sqlite:${join(root, "a")}`);
    try {
      assert.ok(store instanceof SqliteStore);
      assert.equal((await store.put("cluster", "a", {})).revision, 1);
    } finally {
      await store.close();
    }
  });

  it("refuses options that do not go with the store or with each other, before connecting", async () => {
    await assert.rejects(
      openStore(`sqlite:${join(root, "b")}`, { etcdPrefix: "/x/", etcdCa: "ca.pem" }),
      /etcdPrefix, etcdCa apply to an etcd:\/\/ store only/,
    );
    await assert.rejects(openStore("etcd://127.0.0.1:1", { sqlite: { changeLogRevisions: 5 } }), /SQLite options do not apply to an etcd store/);
    await assert.rejects(openStore("etcd://127.0.0.1:1", { etcdPrefix: "" }), /the etcd key prefix must not be empty \(default \/xdsd\/\)/);
    await assert.rejects(openStore("etcd://127.0.0.1:1", { etcdCa: "ca.pem", etcdCert: "c.pem" }), /a client certificate and its key go together/);
    await assert.rejects(openStore("etcd://127.0.0.1:1", { etcdCert: "c.pem", etcdKey: "k.pem" }), /TLS to etcd needs the CA file/);
    for (const p of [openStore(`sqlite:${join(root, "c")}`, { etcdPrefix: "/x/" }), openStore("etcd://127.0.0.1:1", { etcdCert: "c.pem", etcdKey: "k.pem" })])
      await assert.rejects(p, BadArgumentError);
  });

  it("a TLS file that cannot be read is a TlsCredentialsError naming it", async () => {
    const missing = join(root, "no-such-ca.pem");
    await assert.rejects(
      openStore("etcd://127.0.0.1:1", { etcdCa: missing }),
      (e: unknown) => e instanceof TlsCredentialsError && e.file === missing && /cannot read the etcd CA/.test(e.message),
    );
  });
});
