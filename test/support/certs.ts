// Test certificates, made at run time with openssl (Debian's package) in a scratch directory — never checked in.
// A CA issues server and client certificates with the subject alternative names a test asks for, valid now or over
// a window in the past (expired); keys are EC P-256, as quick to make as anything.
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Issued {
  /** The certificate (PEM) file. */
  cert: string;
  /** Its private key (PEM) file. */
  key: string;
}

export interface IssueOptions {
  /** Subject alternative names, as openssl writes them: `DNS:localhost`, `IP:127.0.0.1`, `URI:spiffe://acme.test/a`. */
  san?: string[];
  /** Validity as `YYYYMMDDHHMMSSZ` (openssl ca's -startdate/-enddate); default: from an hour ago, for a day. */
  notBefore?: string;
  notAfter?: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    const e = err as { code?: string; stderr?: Buffer };
    if (e.code === "ENOENT") throw new Error("openssl is not on PATH: the TLS tests make their certificates with it (apt-get install openssl)");
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
}

function stamp(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

/** A certificate authority in its own scratch directory. */
export class TestCa {
  readonly dir: string;
  readonly cert: string;
  readonly key: string;
  #serial = 0;

  constructor(
    readonly name: string,
    parent?: string,
  ) {
    this.dir = mkdtempSync(join(parent ?? tmpdir(), `xdsd-ca-${name}-`));
    this.cert = join(this.dir, "ca.pem");
    this.key = join(this.dir, "ca.key");
    mkdirSync(join(this.dir, "issued"));
    writeFileSync(join(this.dir, "index.txt"), "");
    writeFileSync(join(this.dir, "serial"), "1000\n");
    writeFileSync(
      join(this.dir, "ca.cnf"),
      [
        "[ca]",
        "default_ca = d",
        "[d]",
        "database = index.txt",
        "serial = serial",
        "new_certs_dir = issued",
        "default_md = sha256",
        "policy = p",
        "unique_subject = no",
        "copy_extensions = copy",
        "[p]",
        "commonName = supplied",
        "",
      ].join("\n"),
    );
    openssl(
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        this.key,
        "-out",
        this.cert,
        "-days",
        "2",
        "-subj",
        `/CN=${name} test CA`,
      ],
      this.dir,
    );
  }

  /** A certificate for `commonName`, signed by this CA. */
  issue(commonName: string, options: IssueOptions = {}): Issued {
    const n = ++this.#serial;
    const base = join(this.dir, `${commonName.replace(/[^a-z0-9.-]/gi, "_")}-${n}`);
    const key = `${base}.key`;
    const csr = `${base}.csr`;
    const cert = `${base}.pem`;
    const san = options.san ?? [];
    openssl(
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        csr,
        "-subj",
        `/CN=${commonName}`,
        ...(san.length > 0 ? ["-addext", `subjectAltName=${san.join(",")}`] : []),
      ],
      this.dir,
    );
    const now = Date.now();
    openssl(
      [
        "ca",
        "-batch",
        "-config",
        "ca.cnf",
        "-cert",
        this.cert,
        "-keyfile",
        this.key,
        "-in",
        csr,
        "-out",
        cert,
        "-notext",
        "-startdate",
        options.notBefore ?? stamp(new Date(now - 3_600_000)),
        "-enddate",
        options.notAfter ?? stamp(new Date(now + 86_400_000)),
      ],
      this.dir,
    );
    return { cert, key };
  }
}

/** The serial number of a certificate file. */
export function serialOf(file: string): string {
  return new X509Certificate(readFileSync(file)).serialNumber;
}

/**
 * The serial number of the certificate a TLS server on 127.0.0.1:`port` presents to a new connection of `client`'s,
 * offering the application protocols `alpn` (the xDS port's h2; http/1.1 for the admin port).
 */
export function servedSerial(port: number, ca: TestCa, client: Issued, alpn = ["h2"]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        servername: "localhost",
        ca: readFileSync(ca.cert),
        key: readFileSync(client.key),
        cert: readFileSync(client.cert),
        ALPNProtocols: alpn,
      },
      () => {
        resolve(socket.getPeerCertificate().serialNumber);
        socket.destroy();
      },
    );
    socket.on("error", reject);
  });
}
