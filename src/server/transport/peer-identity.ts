// Who a client is, from the certificate it presented in the TLS handshake: its SPIFFE ID (the URI SAN of an X.509
// SVID, as Istio and SPIRE issue them: spiffe.io's X509-SVID standard says an SVID carries exactly one URI SAN), or,
// for a certificate without one, its first DNS SAN. Only a verified certificate names anyone: without a client CA
// the handshake does not verify what a client sends, so no identity is taken from it.
import type { TLSSocket } from "node:tls";

/** The identity a verified client certificate names; undefined for a plaintext or unverified connection. */
export function peerIdentity(socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket> | undefined;
  if (!tls?.encrypted || tls.authorized !== true || typeof tls.getPeerCertificate !== "function") return undefined;
  const cert = tls.getPeerCertificate();
  return cert && typeof cert.subjectaltname === "string" ? identityOf(cert.subjectaltname) : undefined;
}

/**
 * The identity in a certificate's subjectAltName as Node writes it: `DNS:a.test, URI:spiffe://acme.test/edge/a`,
 * a value that holds a comma or a quote written as a JSON string (`URI:"spiffe://x/a,b"`).
 */
export function identityOf(subjectAltName: string): string | undefined {
  const names: { type: string; value: string }[] = [];
  const entry = /(DNS|URI|IP Address|email|othername|DirName|Registered ID):("(?:[^"\\]|\\.)*"|[^,]*)(?:,\s*|$)/g;
  for (let m = entry.exec(subjectAltName); m !== null && m[0] !== ""; m = entry.exec(subjectAltName)) {
    const raw = m[2];
    names.push({ type: m[1], value: raw.startsWith('"') ? (JSON.parse(raw) as string) : raw });
  }
  return names.find((n) => n.type === "URI" && n.value.startsWith("spiffe://"))?.value ?? names.find((n) => n.type === "DNS")?.value;
}
