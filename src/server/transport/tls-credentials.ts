// The xDS port's TLS credentials: the server's certificate and key, and — for mutual TLS — the CA bundle a client's
// certificate must chain to. Read from PEM files and checked before they are used: a key that does not match its
// certificate, a file that is not PEM, or a certificate outside its validity is refused with the file named. On
// rotation (`reload`, which the daemon calls when a file changes) a bad file is refused the same way and the
// previous credentials stay in use; good new ones apply to new connections while open ones go on (tls.Server's
// setSecureContext). Key material is never put in a message.
import { readFileSync } from "node:fs";
import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { TlsCredentialsError } from "../../errors.js";

/** Where the credentials are read from. */
export interface TlsFiles {
  /** The server's certificate chain (PEM), leaf first. */
  readonly cert: string;
  /** The private key of the leaf certificate (PEM). */
  readonly key: string;
  /** CA certificates (PEM) a client certificate must chain to; given, every client must present one. */
  readonly clientCa?: string;
}

export class TlsCredentials {
  #options: SecureContextOptions;
  #notAfter: Date;
  readonly #listeners = new Set<(options: SecureContextOptions) => void>();

  private constructor(
    readonly files: TlsFiles,
    loaded: { options: SecureContextOptions; notAfter: Date },
  ) {
    this.#options = loaded.options;
    this.#notAfter = loaded.notAfter;
  }

  /** Reads and checks the files; throws TlsCredentialsError naming the file at fault. */
  static load(files: TlsFiles, now = new Date()): TlsCredentials {
    return new TlsCredentials(files, read(files, now));
  }

  /** Whether clients must present a certificate (a client CA is configured). */
  get mutual(): boolean {
    return this.files.clientCa !== undefined;
  }

  /** What tls.createServer / setSecureContext take. */
  get options(): SecureContextOptions {
    return this.#options;
  }

  /** When the server's certificate expires. */
  get notAfter(): Date {
    return this.#notAfter;
  }

  /**
   * Reads the files again. Returns undefined when the new credentials are in use (listeners told), or the error
   * that kept the previous ones in use.
   */
  reload(now = new Date()): TlsCredentialsError | undefined {
    let loaded: { options: SecureContextOptions; notAfter: Date };
    try {
      loaded = read(this.files, now);
    } catch (err) {
      if (err instanceof TlsCredentialsError) return err;
      throw err;
    }
    this.#options = loaded.options;
    this.#notAfter = loaded.notAfter;
    for (const listener of this.#listeners) listener(loaded.options);
    return undefined;
  }

  /** Called with the new options after each successful reload; returns the unsubscribe function. */
  onChange(listener: (options: SecureContextOptions) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

function readPem(file: string, what: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new TlsCredentialsError(file, `cannot read the ${what}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  if (!text.includes("-----BEGIN ")) throw new TlsCredentialsError(file, `the ${what} is not PEM (no "-----BEGIN" line)`);
  return text;
}

/** The PEM blocks of certificates in `text`, each parsed (so that a broken one is reported). */
function certificates(file: string, text: string, what: string): X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TlsCredentialsError(file, `the ${what} holds no PEM certificate`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new TlsCredentialsError(file, `certificate ${i + 1} of the ${what} does not parse: ${(err as Error).message}`, { cause: err });
    }
  });
}

function checkValidity(file: string, cert: X509Certificate, now: Date): void {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  if (now < from) throw new TlsCredentialsError(file, `the certificate ${cert.subject.replace(/\n/g, ", ")} is not valid before ${from.toISOString()}`);
  if (now > to) throw new TlsCredentialsError(file, `the certificate ${cert.subject.replace(/\n/g, ", ")} expired at ${to.toISOString()}`);
}

function read(files: TlsFiles, now: Date): { options: SecureContextOptions; notAfter: Date } {
  const cert = readPem(files.cert, "certificate");
  const key = readPem(files.key, "private key");
  const ca = files.clientCa === undefined ? undefined : readPem(files.clientCa, "client CA bundle");
  const [leaf] = certificates(files.cert, cert, "certificate");
  checkValidity(files.cert, leaf, now);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    // The message of a key that does not parse says nothing of its content.
    throw new TlsCredentialsError(files.key, `the private key does not parse (${(err as NodeJS.ErrnoException).code ?? "invalid"})`, { cause: err });
  }
  if (!leaf.checkPrivateKey(privateKey)) throw new TlsCredentialsError(files.key, `the private key does not match the certificate in ${files.cert}`);
  if (files.clientCa !== undefined && ca !== undefined) certificates(files.clientCa, ca, "client CA bundle");
  const options: SecureContextOptions = { cert, key, ...(ca === undefined ? {} : { ca }) };
  try {
    createSecureContext(options);
  } catch (err) {
    throw new TlsCredentialsError(files.cert, `OpenSSL refuses these credentials: ${(err as Error).message}`, { cause: err });
  }
  return { options, notAfter: new Date(leaf.validTo) };
}
