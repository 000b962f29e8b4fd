// resource/redact.ts: the one place that knows what key material is (issue 19 item 3). Whatever shows a resource or
// a config entry (/config, the write API, config errors) passes it through here; these tests pin what it hides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactedValue, redactKeyMaterial, withoutPrivateKeys } from "../../src/resource/redact.js";
import { ConfigError } from "../../src/errors.js";

const key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

describe("redactKeyMaterial", () => {
  it("hides a Secret's private key and password, in proto and JSON field names, and keeps the certificate", () => {
    const secret = {
      name: "s",
      tls_certificate: { certificate_chain: { inline_string: "CERT" }, private_key: { inline_string: key }, password: { inline_string: "pw" } },
    };
    assert.deepEqual(redactKeyMaterial(secret), {
      name: "s",
      tls_certificate: { certificate_chain: { inline_string: "CERT" }, private_key: redactedValue, password: redactedValue },
    });
    assert.deepEqual(redactKeyMaterial({ tlsCertificate: { privateKey: { inlineBytes: "AAAA" } } }), { tlsCertificate: { privateKey: redactedValue } });
    assert.equal(secret.tls_certificate.private_key.inline_string, key, "the value given is not changed");
  });

  it("hides keys at any depth: inline in a Listener's TLS context, a node group's secrets' key_pem, generic secrets", () => {
    const listener = {
      filter_chains: [{ transport_socket: { typed_config: { common_tls_context: { tls_certificates: [{ private_key: { filename: "/k" } }] } } } }],
    };
    assert.equal(redactKeyMaterial(listener).filter_chains[0].transport_socket.typed_config.common_tls_context.tls_certificates[0].private_key, redactedValue);
    const group = { secrets: [{ name: "c", cert_pem: "CERT", key_pem: key }] };
    assert.deepEqual(redactKeyMaterial(group), { secrets: [{ name: "c", cert_pem: "CERT", key_pem: redactedValue }] });
    assert.deepEqual(redactKeyMaterial({ generic_secret: { secret: { inline_string: "hmac" } }, session_ticket_keys: { keys: [] } }), {
      generic_secret: redactedValue,
      session_ticket_keys: redactedValue,
    });
  });

  it("returns what has no key material as it is (no copy)", () => {
    const cluster = { name: "c", endpoints: ["127.0.0.1:80"], nested: [{ a: 1 }] };
    assert.equal(redactKeyMaterial(cluster), cluster);
    assert.equal(redactKeyMaterial("text"), "text");
    assert.equal(redactKeyMaterial(null), null);
  });
});

describe("withoutPrivateKeys", () => {
  it("replaces a PEM private key in a message, whole or cut short, and keeps the rest", () => {
    const body = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg";
    const out = withoutPrivateKeys(`must be a list, not the string ${JSON.stringify(key)}; fix it`);
    assert.doesNotMatch(out, new RegExp(body));
    assert.match(out, /^must be a list, not the string "-----BEGIN PRIVATE KEY----- \[redacted\]\\n"; fix it$/);
    assert.doesNotMatch(withoutPrivateKeys(`cut: -----BEGIN EC PRIVATE KEY-----\n${body.slice(0, 20)}`), /MIGHAgEA/);
    assert.equal(withoutPrivateKeys("no key here"), "no key here");
  });

  it("config errors never carry a private key, in their issues or their message", () => {
    const err = new ConfigError([{ location: { file: "x.yaml", line: 1 }, message: `must be a mapping, not the string ${JSON.stringify(key)}` }]);
    assert.doesNotMatch(err.message, /MIGHAgEA/);
    assert.doesNotMatch(err.issues[0].message, /MIGHAgEA/);
  });
});
