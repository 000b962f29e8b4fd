// Stand-in backends for Envoy to route to: each answers every request with its own name, so a response tells the
// test which endpoint Envoy picked.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface Upstream {
  name: string;
  /** Always an IP literal: Envoy STATIC and EDS endpoints must be. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Port 0 (the default) picks a free port; the demo passes the fixed ports of examples/seed.yaml. */
export async function startUpstream(name: string, port = 0): Promise<Upstream> {
  const address = "127.0.0.1";
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain", "x-upstream": name });
    res.end(name);
  });
  // Port 0 and read back what was bound: unlike a pre-picked port, this cannot collide with a parallel test.
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    name,
    address,
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        // Envoy keeps pooled connections to upstreams; without dropping them close() would wait for Envoy.
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
