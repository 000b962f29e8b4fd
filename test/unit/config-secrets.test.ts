// `secrets:` and a listener's or cluster's `tls` (issue 19 item 3): what they translate to (Secrets served over SDS,
// TLS transport sockets naming them), which node gets which, and every bad input refused where it is written with
// the file it names — a file that cannot be read, PEM that does not parse, a key that is not the certificate's —
// while an expired or not-yet-valid certificate is a warning. Certificates are made at run time (test/support/certs.ts).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { parseConfig, type LoadedConfig } from "../../src/config/index.js";
import { ConfigError } from "../../src/errors.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
import { TypeUrl } from "../../src/resource/type-urls.js";
import { snapshotsOf } from "../../src/config/snapshots.js";
import { parseMerged } from "../../src/merge/merged-load.js";
import { renderBootstrap } from "../../src/bootstrap/bootstrap.js";
import { TestCa, type Issued } from "../support/certs.js";
import { columnOf, lines } from "./config-helpers.js";

let dir: string;
let ca: TestCa;
let server: Issued;
let other: Issued;
let expired: Issued;
let file: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), "xdsd-secrets-"));
  ca = new TestCa("secrets", dir);
  server = ca.issue("localhost", { san: ["DNS:localhost"] });
  other = ca.issue("other");
  expired = ca.issue("old", { notBefore: "20200101000000Z", notAfter: "20200102000000Z" });
  file = join(dir, "xdsd.yaml");
});
after(() => rmSync(dir, { recursive: true, force: true }));

const listener = (tls: string) => `  - {name: https, port: 10443, tls: ${tls}, virtual_hosts: [{name: a, domains: ["*"], routes: [{prefix: /, cluster: b}]}]}`;
const cluster = "  - {name: b, endpoints: []}";

function load(text: string): LoadedConfig {
  writeFileSync(file, text);
  return parseConfig(text, file);
}

function issuesOf(text: string) {
  try {
    load(text);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues;
  }
  assert.fail("expected a ConfigError");
}

function json(config: LoadedConfig, typeUrl: string, name: string): Record<string, unknown> {
  const r = config.defaults.find((x) => x.typeUrl === typeUrl && x.name === name);
  assert.ok(r, `no ${typeUrl} ${name}`);
  return toJson(envoyRegistry().getMessage(r.message.$typeName)!, r.message, { registry: envoyRegistry(), useProtoFieldName: true }) as Record<string, unknown>;
}

describe("secrets and tls translate to Envoy's", () => {
  it("a listener's tls: a DownstreamTlsContext naming its secrets over ADS, and the Secrets with their PEM inline", () => {
    const config = load(
      lines(
        "secrets:",
        `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`,
        `  - {name: ca, ca_file: ${ca.cert}}`,
        "listeners:",
        listener("{certificate: cert, validation_context: ca, require_client_certificate: true}"),
        "clusters:",
        cluster,
      ),
    );
    const chain = (json(config, TypeUrl.Listener, "https").filter_chains as Record<string, unknown>[])[0];
    assert.deepEqual(chain.transport_socket, {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
        common_tls_context: {
          tls_certificate_sds_secret_configs: [{ name: "cert", sds_config: { ads: {}, resource_api_version: "V3" } }],
          validation_context_sds_secret_config: { name: "ca", sds_config: { ads: {}, resource_api_version: "V3" } },
        },
        require_client_certificate: true,
      },
    });
    assert.deepEqual(json(config, TypeUrl.Secret, "cert"), {
      name: "cert",
      tls_certificate: {
        certificate_chain: { inline_string: readFileSync(server.cert, "utf8") },
        private_key: { inline_string: readFileSync(server.key, "utf8") },
      },
    });
    assert.deepEqual(json(config, TypeUrl.Secret, "ca"), { name: "ca", validation_context: { trusted_ca: { inline_string: readFileSync(ca.cert, "utf8") } } });
    assert.equal(snapshotsOf(config).defaults.missingReferences().length, 0);
  });

  it("a cluster's tls: an UpstreamTlsContext with SNI, the CA over SDS and the SNI as the DNS SAN the endpoint must have", () => {
    const config = load(
      lines(
        "secrets:",
        `  - {name: ca, ca_pem: ${JSON.stringify(readFileSync(ca.cert, "utf8"))}}`,
        "clusters:",
        "  - {name: b, endpoints: [], tls: {sni: backend.test, validation_context: ca}}",
      ),
    );
    assert.deepEqual(json(config, TypeUrl.Cluster, "b").transport_socket, {
      name: "envoy.transport_sockets.tls",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        common_tls_context: {
          combined_validation_context: {
            default_validation_context: { match_typed_subject_alt_names: [{ san_type: "DNS", matcher: { exact: "backend.test" } }] },
            validation_context_sds_secret_config: { name: "ca", sds_config: { ads: {}, resource_api_version: "V3" } },
          },
        },
        sni: "backend.test",
      },
    });
  });

  it("a node gets only the secrets its own group refers to; one nothing refers to is not served, with a warning", () => {
    const config = load(
      lines(
        "secrets:",
        `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`,
        `  - {name: unused, ca_file: ${ca.cert}}`,
        "listeners:",
        listener("{certificate: cert}"),
        "clusters:",
        cluster,
        "nodes:",
        '  "edge/e1":',
        "    secrets:",
        `      - {name: ca, ca_file: ${ca.cert}}`,
        "    clusters: [{name: up, endpoints: [], tls: {validation_context: ca}}]",
      ),
    );
    const secrets = (resources: LoadedConfig["defaults"]) => resources.filter((r) => r.typeUrl === TypeUrl.Secret).map((r) => r.name);
    assert.deepEqual(secrets(config.defaults), ["cert"]);
    assert.deepEqual(secrets(config.nodes.get("edge/e1")!), ["ca"]);
    assert.equal(config.warnings.length, 1);
    assert.equal(config.warnings[0].location.line, 3);
    assert.match(config.warnings[0].message, /secret "unused" is not served: no listener or cluster of this group refers to it/);
  });

  it("a raw Listener naming a secret over ADS gets it served, and one naming a missing secret is an error there", () => {
    const raw = (name: string) =>
      `  - {"@type": type.googleapis.com/envoy.config.listener.v3.Listener, name: raw, address: {socket_address: {address: 0.0.0.0, port_value: 10444}}, filter_chains: [{filters: [{name: envoy.filters.network.tcp_proxy, typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: t, cluster: b}}], transport_socket: {name: envoy.transport_sockets.tls, typed_config: {"@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext, common_tls_context: {tls_certificate_sds_secret_configs: [{name: ${name}, sds_config: {ads: {}}}]}}}}]}`;
    const config = load(
      lines("secrets:", `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`, "clusters:", cluster, "resources:", raw("cert")),
    );
    assert.deepEqual(
      config.defaults.filter((r) => r.typeUrl === TypeUrl.Secret).map((r) => r.name),
      ["cert"],
    );
    const issues = issuesOf(lines("clusters:", cluster, "resources:", raw("nope")));
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /Listener "raw" gets Secret "nope" over SDS, but no Secret "nope" is defined/);
    assert.match(issues[0].location.path ?? "", /transport_socket\.typed_config\.common_tls_context\.tls_certificate_sds_secret_configs\[0\]\.name$/);
  });
});

describe("bad secrets are refused where they are written, naming the file", () => {
  const oneIssue = (text: string, line: number, key: string, message: RegExp) => {
    const issues = issuesOf(text);
    assert.equal(issues.length, 1, issues.map((i) => i.message).join("\n"));
    const [issue] = issues;
    assert.equal(issue.location.file, file);
    assert.equal(issue.location.line, line);
    assert.equal(issue.location.column, columnOf(text, line, key));
    assert.match(issue.message, message);
    return issue.message;
  };
  const config = (secret: string) => lines("secrets:", `  - ${secret}`, "listeners:", listener("{certificate: cert}"), "clusters:", cluster);

  it("a file that does not exist", () => {
    const missing = join(dir, "missing.pem");
    oneIssue(config(`{name: cert, cert_file: ${missing}, key_file: ${server.key}}`), 2, missing, new RegExp(`cannot read ${missing}: no such file`));
  });

  it("a path that cannot be read as a file", () => {
    oneIssue(config(`{name: cert, cert_file: ${server.cert}, key_file: ${dir}}`), 2, `${dir}}`, new RegExp(`cannot read ${dir}: is a directory`));
  });

  it("a file named relative to the config file's directory", () => {
    writeFileSync(join(dir, "relative.pem"), readFileSync(server.cert));
    const config = load(
      lines(
        "secrets:",
        `  - {name: cert, cert_file: relative.pem, key_file: ${server.key}}`,
        "listeners:",
        listener("{certificate: cert}"),
        "clusters:",
        cluster,
      ),
    );
    assert.ok(config.defaults.some((r) => r.typeUrl === TypeUrl.Secret));
  });

  it("a certificate file that holds no PEM, and one whose PEM does not parse", () => {
    const notPem = join(dir, "not.pem");
    writeFileSync(notPem, "hello\n");
    oneIssue(config(`{name: cert, cert_file: ${notPem}, key_file: ${server.key}}`), 2, notPem, /not\.pem holds no PEM certificate/);
    const broken = join(dir, "broken.pem");
    writeFileSync(broken, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    oneIssue(config(`{name: cert, cert_file: ${broken}, key_file: ${server.key}}`), 2, broken, /certificate 1 of .*broken\.pem does not parse/);
  });

  it("a key whose PEM does not parse, without quoting it", () => {
    const broken = join(dir, "broken.key");
    writeFileSync(broken, "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----\n");
    const message = oneIssue(
      config(`{name: cert, cert_file: ${server.cert}, key_file: ${broken}}`),
      2,
      broken,
      /the private key in .*broken\.key does not parse/,
    );
    assert.doesNotMatch(message, /c2VjcmV0LWtleS1ib2R5/);
  });

  it("a key that is not the certificate's", () => {
    oneIssue(
      config(`{name: cert, cert_file: ${server.cert}, key_file: ${other.key}}`),
      2,
      other.key,
      new RegExp(`the private key in ${other.key} is not the key of the certificate in ${server.cert}`),
    );
  });

  it("an inline key that is not the certificate's, at key_pem", () => {
    const text = config(
      `{name: cert, cert_pem: ${JSON.stringify(readFileSync(server.cert, "utf8"))}, key_pem: ${JSON.stringify(readFileSync(other.key, "utf8"))}}`,
    );
    const message = oneIssue(text, 2, '"-----BEGIN PRIVATE KEY', /the private key in key_pem is not the key of the certificate in cert_pem/);
    assert.doesNotMatch(message, /PRIVATE KEY-----/);
  });

  it("an expired certificate is a warning, and served", () => {
    const loaded = load(config(`{name: cert, cert_file: ${expired.cert}, key_file: ${expired.key}}`));
    assert.ok(loaded.defaults.some((r) => r.typeUrl === TypeUrl.Secret && r.name === "cert"));
    assert.equal(loaded.warnings.length, 1);
    assert.equal(loaded.warnings[0].location.line, 2);
    assert.match(loaded.warnings[0].message, /expired on 2020-01-02T00:00:00\.000Z: peers will refuse it/);
  });

  it("a certificate not valid yet is a warning", () => {
    const future = ca.issue("future", { notBefore: "20991231000000Z", notAfter: "21000101000000Z" });
    const loaded = load(config(`{name: cert, cert_file: ${future.cert}, key_file: ${future.key}}`));
    assert.match(loaded.warnings[0]?.message ?? "", /is not valid before 2099-12-31T00:00:00\.000Z/);
  });

  it("a tls naming a missing secret, or one of the wrong kind", () => {
    const text = lines(
      "secrets:",
      `  - {name: ca, ca_file: ${ca.cert}}`,
      "listeners:",
      listener("{certificate: ca}"),
      "clusters:",
      "  - {name: b, endpoints: [], tls: {validation_context: nope}}",
    );
    const issues = issuesOf(text);
    assert.deepEqual(
      issues.map((i) => [i.location.line, i.message]),
      [
        [
          4,
          'secret "ca" is a validation context (ca_file/ca_pem), but listener "https"\'s certificate must be a TLS certificate (cert_file/cert_pem and a key)',
        ],
        [6, 'cluster "b" gets Secret "nope" over SDS, but no Secret "nope" is defined (define it under secrets, or as a Secret in resources)'],
      ],
    );
  });

  it("a secret that is both a certificate and a CA, and one without a key", () => {
    const both = issuesOf(config(`{name: cert, cert_file: ${server.cert}, key_file: ${server.key}, ca_file: ${ca.cert}}`));
    assert.deepEqual(
      both.map((i) => [i.location.path, i.message]),
      [
        [
          "secrets[0].ca_file",
          "a secret is a TLS certificate (cert_file or cert_pem, with key_file or key_pem) or a validation context (ca_file or ca_pem), not both",
        ],
      ],
    );
    const twice = issuesOf(config(`{name: cert, cert_file: ${server.cert}, cert_pem: x, key_file: ${server.key}}`));
    assert.deepEqual(
      twice.map((i) => [i.location.path, i.message]),
      [["secrets[0].cert_pem", "cert_file and cert_pem both give the certificate; keep one"]],
    );
    const noKey = issuesOf(config(`{name: cert, cert_file: ${server.cert}}`));
    assert.deepEqual(
      noKey.map((i) => [i.location.line, i.message]),
      [[2, 'secret "cert" is a TLS certificate without its private key; add key_file (or key_pem)']],
    );
  });

  it("require_client_certificate without a validation_context", () => {
    const issues = issuesOf(
      lines(
        "secrets:",
        `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`,
        "listeners:",
        listener("{certificate: cert, require_client_certificate: true}"),
        "clusters:",
        cluster,
      ),
    );
    assert.equal(issues.length, 1);
    assert.match(issues[0].message, /requiring client certificates needs a validation_context/);
  });
});

describe("secrets written through the API", () => {
  it("a store node group may not name a secret file (an API client must not make xdsd read its host's files)", () => {
    const text = lines("clusters: []");
    writeFileSync(file, text);
    const group = {
      secrets: [{ name: "cert", cert_file: server.cert, key_file: server.key }],
      listeners: [
        { name: "https", port: 10443, tls: { certificate: "cert" }, virtual_hosts: [{ name: "a", domains: ["*"], routes: [{ prefix: "/", cluster: "b" }] }] },
      ],
      clusters: [{ name: "b", endpoints: [] }],
    };
    try {
      parseMerged(text, file, {}, { overlay: [{ kind: "node-group", name: "edge/e1", value: group }] });
      assert.fail("expected a ConfigError");
    } catch (e) {
      assert.ok(e instanceof ConfigError, String(e));
      assert.deepEqual(
        e.issues.map((i) => [i.location.file, i.location.path, i.message]),
        ["cert", "key"].map((part) => [
          "store",
          `nodes["edge/e1"].secrets[0].${part}_file`,
          `a secret written through the API cannot name a file on xdsd's host; write the PEM inline (${part}_pem)`,
        ]),
      );
    }
    const inline = { ...group, secrets: [{ name: "cert", cert_pem: readFileSync(server.cert, "utf8"), key_pem: readFileSync(server.key, "utf8") }] };
    const config = parseMerged(text, file, {}, { overlay: [{ kind: "node-group", name: "edge/e1", value: inline }] });
    assert.deepEqual(
      config.nodes
        .get("edge/e1")!
        .filter((r) => r.typeUrl === TypeUrl.Secret)
        .map((r) => r.name),
      ["cert"],
    );
  });
});

describe("bootstraps of a config with secrets", () => {
  it("eds mode (static listeners and clusters, no ADS) refuses a listener that gets its certificate over SDS; ads takes it", () => {
    const config = load(
      lines(
        "secrets:",
        `  - {name: cert, cert_file: ${server.cert}, key_file: ${server.key}}`,
        "listeners:",
        listener("{certificate: cert}"),
        "clusters:",
        cluster,
      ),
    );
    const options = { config, nodeId: "n", nodeCluster: "c", xds: { host: "127.0.0.1", port: 18000 } };
    assert.throws(() => renderBootstrap({ ...options, mode: "eds" }), {
      code: "XDSD_BAD_ARGUMENT",
      message:
        'bootstrap: --mode eds: listener "https" gets its TLS secrets over SDS, which eds mode\'s static listeners and clusters cannot fetch; use --mode ads or delta-ads',
    });
    assert.match(renderBootstrap({ ...options, mode: "ads" }), /ads_config/);
  });
});
