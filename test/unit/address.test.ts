// Endpoint addresses have one spelling (address.ts, issue 18 item 6): IPv6 as RFC 5952 writes it — checked against
// the C library's inet_ntop (node's SocketAddress) on generated spellings — ports without leading zeros, zones
// refused; and the config's duplicate check and its served addresses use that spelling.
import assert from "node:assert/strict";
import { SocketAddress } from "node:net";
import { test } from "node:test";
import { canonicalIp, parseHostPort } from "../../src/config/address.js";
import { parseConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors.js";
import type { ClusterLoadAssignment } from "../../src/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { TypeUrl } from "../../src/resource/type-urls.js";

/** A small seeded generator (mulberry32), so that a failure names the same address every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("IPv6 addresses, spelled every way, come out as inet_ntop writes them", () => {
  const next = random(18);
  for (let n = 0; n < 2000; n++) {
    // Mostly zeros, so that runs of zero groups of every length and place come up.
    const groups = Array.from({ length: 8 }, () => (next() < 0.6 ? 0 : Math.floor(next() * 0x10000)));
    // inet_ntop writes IPv4-compatible addresses (::a.b.c.d, deprecated) dotted, RFC 5952 does not: none here.
    if (groups.slice(0, 6).every((g) => g === 0)) groups[2] = 1;
    const written = groups.map((g) => {
      const hex = g.toString(16);
      const padded = next() < 0.3 ? hex.padStart(4, "0") : hex;
      return next() < 0.3 ? padded.toUpperCase() : padded;
    });
    const full = written.join(":");
    const spellings = [full];
    // Compress a random run of zero groups.
    const zeroAt = groups.indexOf(0);
    if (zeroAt >= 0) {
      let end = zeroAt;
      while (end < 8 && groups[end] === 0 && next() < 0.8) end++;
      if (end > zeroAt) spellings.push(`${written.slice(0, zeroAt).join(":")}::${written.slice(end).join(":")}`);
    }
    for (const spelling of spellings) {
      const expected = new SocketAddress({ address: spelling, family: "ipv6" }).address;
      assert.equal(canonicalIp(spelling), expected, `${spelling} (groups ${groups.map((g) => g.toString(16)).join(":")})`);
    }
  }
  assert.equal(canonicalIp("0:0:0:0:0:0:0:0"), "::");
  assert.equal(canonicalIp("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(canonicalIp("::FFFF:1.2.3.4"), "::ffff:1.2.3.4", "IPv4-mapped: dotted (RFC 5952 §5)");
  assert.equal(canonicalIp("0:0:0:0:0:ffff:102:304"), "::ffff:1.2.3.4");
  assert.equal(canonicalIp("1:0:0:1:0:0:0:1"), "1:0:0:1::1", "the longest run");
  assert.equal(canonicalIp("1:0:0:1:0:0:1:1"), "1::1:0:0:1:1", "the first of equal runs");
  assert.equal(canonicalIp("1:2:3:4:5:6:0:8"), "1:2:3:4:5:6:0:8", "one zero group stays");
});

test("host:port: any spelling of one endpoint reads the same; a zone, a host name or a bad port is refused", () => {
  for (const text of ["[::1]:80", "[0:0:0:0:0:0:0:1]:80", "[::0001]:80", "[0::1]:080"])
    assert.deepEqual(parseHostPort(text), { address: "::1", port: 80 }, text);
  assert.deepEqual(parseHostPort("1.2.3.4:0080"), { address: "1.2.3.4", port: 80 });
  assert.match((parseHostPort("[fe80::1%eth0]:80") as { error: string }).error, /has a zone \(%eth0\): Envoy's addresses have none/);
  assert.match((parseHostPort("01.2.3.4:80") as { error: string }).error, /is not an IPv4 or IPv6 address/);
  assert.match((parseHostPort("[1.2.3.4]:80") as { error: string }).error, /is not an IPv4 or IPv6 address/);
  for (const port of ["0", "65536", "+80", "00000000000080"]) assert.ok("error" in parseHostPort(`1.2.3.4:${port}`), port);
});

test("a config listing one endpoint in two spellings is refused; what is served is spelled canonically", () => {
  const config = (endpoints: string) => `clusters:\n  - name: a\n    endpoints: ${endpoints}\n`;
  const issues = (text: string) => {
    try {
      parseConfig(text, "f.yaml");
      return [];
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.issues.map((i) => `${i.location.path}: ${i.message}`);
    }
  };
  assert.deepEqual(issues(config('["[::1]:80", "[0:0::1]:80"]')), [
    "clusters[0].endpoints[1]: endpoint [::1]:80 is listed twice (also at clusters[0].endpoints[0], line 3); gRPC clients reject the cluster",
  ]);
  assert.deepEqual(issues(config('["1.2.3.4:80", {address: 1.2.3.4, port: 80}]')), [
    "clusters[0].endpoints[1]: endpoint 1.2.3.4:80 is listed twice (also at clusters[0].endpoints[0], line 3); gRPC clients reject the cluster",
  ]);
  assert.match(issues(config("[{address: 'fe80::1%eth0', port: 80}]"))[0], /^clusters\[0\]\.endpoints\[0\]\.address: "fe80::1%eth0" has a zone/);
  const loaded = parseConfig(config('["[0:0::1]:080", {address: "0:0:0:0:0:0:0:2", port: 81}]'), "f.yaml");
  const cla = loaded.defaults.find((r) => r.typeUrl === TypeUrl.ClusterLoadAssignment)!.message as ClusterLoadAssignment;
  const served = cla.endpoints[0].lbEndpoints.map((e) => {
    const a = e.hostIdentifier.case === "endpoint" ? e.hostIdentifier.value.address?.address : undefined;
    return a?.case === "socketAddress" ? `${a.value.address} ${a.value.portSpecifier.value}` : "";
  });
  assert.deepEqual(served, ["::1 80", "::2 81"]);
});
