// Port selection for tests that run in parallel processes (node --test runs each file in its own process).
//
// Where a server can listen on port 0 and report what it got, prefer that: it cannot race. freePort() is for the
// other case, a port that must be written into a config before the server that binds it starts (an Envoy listener
// sent over xDS, for instance). The kernel hands out a port nobody holds at that moment; the small window between
// our close and the real bind is an accepted risk.
import { createServer } from "node:net";

const HOST = "127.0.0.1";

/** Ports already handed out by this process: the kernel may offer a just-closed port again, and two listeners in
 *  one test asking for "a free port" must not get the same one. */
const handedOut = new Set<number>();

function bindEphemeral(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error(`could not read the port bound on ${host}`))));
    });
  });
}

/** A TCP port on 127.0.0.1 that was free a moment ago and that this process has not handed out before. */
export async function freePort(host: string = HOST): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await bindEphemeral(host);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`freePort: the kernel kept offering ports this process already handed out on ${host}`);
}
