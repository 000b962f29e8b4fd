// Secrets over SDS, issue 19 item 3: `secrets:` names TLS certificates (a certificate chain and its private key) and
// validation contexts (trusted CAs), inline or in files, and a listener's or cluster's `tls` refers to them by name.
// Each becomes an Envoy Secret with its PEM inline (an Envoy on another host has no access to xdsd's files), fetched
// over the group's config source (`sds_config: {ads: {}}` under ADS). Files are read here, on every load (they are
// not part of the config's text, so nothing translated from them is cached), and the daemon watches them
// (daemon/reloader.ts), so a rotated certificate reaches Envoy without a restart. What cannot be served is an error
// where it is written: a file that cannot be read, PEM that does not parse, a key that is not the certificate's.
import { createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import type { ConfigIssue } from "../errors.js";
import type { ConfigSource as EnvoyConfigSource } from "../gen/envoy/config/core/v3/config_source_pb.js";
import { TransportSocketSchema, type TransportSocket } from "../gen/envoy/config/core/v3/base_pb.js";
import { SecretSchema, type Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { SubjectAltNameMatcher_SanType } from "../gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { DownstreamTlsContextSchema, UpstreamTlsContextSchema, type CommonTlsContextSchema } from "../gen/envoy/extensions/transport_sockets/tls/v3/tls_pb.js";
import type { DownstreamTlsConfig, SecretEntry, UpstreamTlsConfig } from "./model.js";
import type { DocumentSource, Path } from "./source.js";
import { asArray, isObj } from "./validate.js";

/** Envoy's name for its TLS transport socket. */
export const tlsTransportSocketName = "envoy.transport_sockets.tls";

/** What a secret entry holds once its files are read and its PEM checked. */
export type SecretMaterial = { kind: "certificate"; certificateChain: string; privateKey: string } | { kind: "validation_context"; trustedCa: string };

/** How the loader reads a secret's file (the daemon's config worker records what it read, to watch it). */
export type SecretFileReader = (path: string) => Buffer;

export const readSecretFile: SecretFileReader = (path) => readFileSync(path);

export interface SecretsRead {
  /** Per entry of the group's `secrets`, in order: its material, or undefined when it has issues. */
  materials: (SecretMaterial | undefined)[];
  issues: ConfigIssue[];
  /** Certificates that are expired or not valid yet: served all the same, but clients will refuse them. */
  warnings: ConfigIssue[];
}

/**
 * Reads and checks the `secrets` of the group at `base`. A file is named relative to the config file's directory;
 * a store object may not name one (an API client must not make xdsd read, and serve, a file of xdsd's host).
 */
export function readSecrets(
  source: DocumentSource,
  base: Path,
  entries: unknown,
  invalid: (path: Path) => boolean,
  readFile: SecretFileReader = readSecretFile,
  now = new Date(),
): SecretsRead {
  const out: SecretsRead = { materials: [], issues: [], warnings: [] };
  const issue = (at: Path, message: string) => out.issues.push({ location: source.locate(at), message });
  asArray(entries).forEach((value, i) => {
    const at: Path = [...base, "secrets", i];
    out.materials.push(undefined);
    if (!isObj(value) || invalid(at)) return;
    const entry = value as unknown as SecretEntry;
    /** The PEM text of one part: inline, or read from its file. */
    const text = (part: "cert" | "key" | "ca"): { pem: string; at: Path; what: string } | undefined => {
      const inline = entry[`${part}_pem`];
      if (typeof inline === "string") return { pem: inline, at: [...at, `${part}_pem`], what: `${part}_pem` };
      const file = entry[`${part}_file`];
      if (typeof file !== "string") return undefined;
      const fileAt = [...at, `${part}_file`];
      if (source.locate(fileAt).file !== source.file) {
        issue(fileAt, `a secret written through the API cannot name a file on xdsd's host; write the PEM inline (${part}_pem)`);
        return undefined;
      }
      const path = resolve(dirname(source.file), file);
      try {
        return { pem: readFile(path).toString("utf8"), at: fileAt, what: path };
      } catch (err) {
        issue(
          fileAt,
          `cannot read ${path}: ${readError(err as NodeJS.ErrnoException)}; fix the path (relative to the config file's directory) or the file's permissions`,
        );
        return undefined;
      }
    };
    const shape = shapeIssue(entry);
    if (shape) {
      issue(shape.key === undefined ? at : [...at, shape.key], shape.message);
      return;
    }
    const ca = text("ca");
    if (ca) {
      const certs = certificatesOf(ca.pem, ca.at, ca.what, issue);
      if (certs) {
        for (const c of certs) validity(c, ca.at, ca.what, now, out.warnings, source);
        out.materials[i] = { kind: "validation_context", trustedCa: ca.pem };
      }
      return;
    }
    const cert = text("cert");
    const key = text("key");
    const chain = cert && certificatesOf(cert.pem, cert.at, cert.what, issue);
    const privateKey = key && privateKeyOf(key.pem, key.at, key.what, issue);
    if (!chain || !privateKey || !cert || !key) return;
    const leaf = chain[0];
    if (!leaf.checkPrivateKey(privateKey)) {
      issue(
        key.at,
        `the private key in ${key.what} is not the key of the certificate in ${cert.what} (${leaf.subject.replace(/\n/g, ", ")}); give the key the certificate was issued for`,
      );
      return;
    }
    validity(leaf, cert.at, cert.what, now, out.warnings, source);
    out.materials[i] = { kind: "certificate", certificateChain: cert.pem, privateKey: key.pem };
  });
  return out;
}

const kindsMessage = "a secret is a TLS certificate (cert_file or cert_pem, with key_file or key_pem) or a validation context (ca_file or ca_pem)";

/** What is wrong with the keys an entry has (one of each part, of one kind), and at which key; undefined: nothing. */
function shapeIssue(entry: SecretEntry): { key?: string; message: string } | undefined {
  for (const part of ["cert", "key", "ca"] as const) {
    if (entry[`${part}_file`] !== undefined && entry[`${part}_pem`] !== undefined) {
      return {
        key: `${part}_pem`,
        message: `${part}_file and ${part}_pem both give the ${part === "ca" ? "CA bundle" : part === "cert" ? "certificate" : "key"}; keep one`,
      };
    }
  }
  const has = (part: string) => entry[`${part}_file` as keyof SecretEntry] !== undefined || entry[`${part}_pem` as keyof SecretEntry] !== undefined;
  if (has("ca") && (has("cert") || has("key"))) return { key: entry.ca_file !== undefined ? "ca_file" : "ca_pem", message: `${kindsMessage}, not both` };
  if (has("ca")) return undefined;
  if (!has("cert")) return { message: `${kindsMessage}; this one has ${has("key") ? "a key and no certificate" : "neither"}` };
  if (!has("key")) return { message: `secret "${entry.name}" is a TLS certificate without its private key; add key_file (or key_pem)` };
  return undefined;
}

function readError(err: NodeJS.ErrnoException): string {
  if (err.code === "ENOENT") return "no such file";
  if (err.code === "EACCES") return "permission denied";
  if (err.code === "EISDIR") return "is a directory";
  return err.code ?? "unreadable";
}

/** The certificates of a PEM text, each parsed; undefined (with an issue) when there is none or one does not parse. */
function certificatesOf(pem: string, at: Path, what: string, issue: (at: Path, message: string) => void): X509Certificate[] | undefined {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    issue(at, `${what} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block); give a PEM certificate file`);
    return undefined;
  }
  const certs: X509Certificate[] = [];
  for (const [n, block] of blocks.entries()) {
    try {
      certs.push(new X509Certificate(block));
    } catch (err) {
      issue(at, `certificate ${n + 1} of ${what} does not parse (${(err as Error).message}); give a PEM certificate as openssl writes it`);
      return undefined;
    }
  }
  return certs;
}

/** The private key of a PEM text; undefined (with an issue) when it does not parse. The key is never quoted. */
function privateKeyOf(pem: string, at: Path, what: string, issue: (at: Path, message: string) => void): KeyObject | undefined {
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
    issue(at, `${what} holds no PEM private key (a "-----BEGIN PRIVATE KEY-----" block); give the certificate's unencrypted PEM key`);
    return undefined;
  }
  try {
    return createPrivateKey({ key: pem, format: "pem" });
  } catch (err) {
    // OpenSSL's reason ("DECODER routines::unsupported") names no part of the key.
    issue(at, `the private key in ${what} does not parse (${(err as Error).message}); give the certificate's unencrypted PEM key`);
    return undefined;
  }
}

/** An expired or not-yet-valid certificate is a warning: Envoy takes it, its clients will refuse it. */
function validity(cert: X509Certificate, at: Path, what: string, now: Date, warnings: ConfigIssue[], source: DocumentSource): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const subject = cert.subject.replace(/\n/g, ", ");
  if (to < now) {
    warnings.push({
      location: source.locate(at),
      message: `the certificate in ${what} (${subject}) expired on ${to.toISOString()}: peers will refuse it; renew it`,
    });
  } else if (from > now) {
    warnings.push({
      location: source.locate(at),
      message: `the certificate in ${what} (${subject}) is not valid before ${from.toISOString()}: peers will refuse it until then`,
    });
  }
}

/** A secret's Envoy Secret: its PEM inline. */
export function translateSecret(name: string, material: SecretMaterial): Secret {
  const inline = (text: string) => ({ specifier: { case: "inlineString" as const, value: text } });
  return create(
    SecretSchema,
    material.kind === "certificate"
      ? { name, type: { case: "tlsCertificate", value: { certificateChain: inline(material.certificateChain), privateKey: inline(material.privateKey) } } }
      : { name, type: { case: "validationContext", value: { trustedCa: inline(material.trustedCa) } } },
  );
}

type CommonTlsInit = MessageInitShape<typeof CommonTlsContextSchema>;

/** Secrets by name, over `source`. */
function sdsSecret(name: string, source: EnvoyConfigSource) {
  return { name, sdsConfig: source };
}

/** A listener's `tls`: the DownstreamTlsContext transport socket of its filter chain. */
export function downstreamTlsSocket(tls: DownstreamTlsConfig, source: EnvoyConfigSource): TransportSocket {
  const common: CommonTlsInit = {
    tlsCertificateSdsSecretConfigs: [sdsSecret(tls.certificate, source)],
    validationContextType:
      tls.validation_context !== undefined
        ? { case: "validationContextSdsSecretConfig", value: sdsSecret(tls.validation_context, source) }
        : { case: undefined },
  };
  const context = create(DownstreamTlsContextSchema, {
    commonTlsContext: common,
    requireClientCertificate: tls.require_client_certificate === true ? true : undefined,
  });
  return create(TransportSocketSchema, {
    name: tlsTransportSocketName,
    configType: { case: "typedConfig", value: anyPack(DownstreamTlsContextSchema, context) },
  });
}

/**
 * A cluster's `tls`: the UpstreamTlsContext transport socket. With `sni`, the endpoint's certificate must also name
 * it (a DNS subject alternative name): a CA alone says who signed a certificate, not whom it was issued to.
 */
export function upstreamTlsSocket(tls: UpstreamTlsConfig, source: EnvoyConfigSource): TransportSocket {
  const validation: CommonTlsInit["validationContextType"] =
    tls.sni === undefined
      ? { case: "validationContextSdsSecretConfig", value: sdsSecret(tls.validation_context, source) }
      : {
          case: "combinedValidationContext",
          value: {
            defaultValidationContext: {
              matchTypedSubjectAltNames: [{ sanType: SubjectAltNameMatcher_SanType.DNS, matcher: { matchPattern: { case: "exact", value: tls.sni } } }],
            },
            validationContextSdsSecretConfig: sdsSecret(tls.validation_context, source),
          },
        };
  const context = create(UpstreamTlsContextSchema, {
    commonTlsContext: {
      tlsCertificateSdsSecretConfigs: tls.certificate !== undefined ? [sdsSecret(tls.certificate, source)] : [],
      validationContextType: validation,
    },
    sni: tls.sni ?? "",
  });
  return create(TransportSocketSchema, {
    name: tlsTransportSocketName,
    configType: { case: "typedConfig", value: anyPack(UpstreamTlsContextSchema, context) },
  });
}
