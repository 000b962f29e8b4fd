// Port selection for tests that run in parallel processes (node --test runs each file in its own process).
//
// Where a server can listen on port 0 and report what it got, prefer that: it cannot race. freePort() is for the
// other case, a port that must be written into a config before the server that binds it starts (an Envoy listener
// sent over xDS, for instance), seconds later.
//
// Such a port is not taken from the kernel's ephemeral range: in those seconds the kernel may give it to anyone —
// another test's listen(0), or the source port of any outgoing connection — and a test's Envoy then failed to bind
// its listener ("Address already in use") while its HTTP checks reached another test's Envoy. Ports below that
// range are never handed out by the kernel; between the test processes of one machine, a port is claimed by
// creating a file named after it (O_EXCL, so only one process gets it), removed when the process exits.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const HOST = "127.0.0.1";
const claimsDir = join(tmpdir(), "xdsd-test-ports");
/** A claim older than this was left by a process that did not exit cleanly (SIGKILL): it is taken back. */
const staleClaimMs = 2 * 60 * 60 * 1000;

const claimed = new Set<number>();
process.once("exit", () => {
  for (const port of claimed) rmSync(join(claimsDir, String(port)), { force: true });
});

/** Ports the kernel never picks on its own: from 10000 to just below its ephemeral range. */
function range(): { low: number; high: number } {
  let ephemeralLow = 32768;
  try {
    ephemeralLow = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || ephemeralLow;
  } catch {
    // not Linux: the IANA ephemeral range starts at 49152, Linux's default at 32768; the lower is safe for both
  }
  return { low: 10_000, high: Math.max(10_100, ephemeralLow - 1) };
}

/** Claims `port` for this process among the test processes of this machine; false when another holds it. */
function claim(port: number): boolean {
  const file = join(claimsDir, String(port));
  try {
    closeSync(openSync(file, "wx"));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    try {
      if (Date.now() - statSync(file).mtimeMs < staleClaimMs) return false;
      rmSync(file, { force: true });
      closeSync(openSync(file, "wx"));
    } catch {
      return false;
    }
  }
  claimed.add(port);
  return true;
}

function bindable(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once("error", () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A TCP port that no other test process of this machine has, that the kernel will not give to anyone on its own, and
 * that nothing held a moment ago on `host`.
 */
export async function freePort(host: string = HOST): Promise<number> {
  mkdirSync(claimsDir, { recursive: true });
  const { low, high } = range();
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (claimed.has(port) || !claim(port)) continue;
    if (await bindable(port, host)) return port;
    // Something outside the tests holds it: keep the claim (so it is not tried again here) and pick another.
  }
  throw new Error(`freePort: no free port found in 200 tries between ${low} and ${high}; is ${claimsDir} full of claims (remove it)?`);
}
