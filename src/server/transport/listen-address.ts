// `HOST:PORT` listen addresses, IPv6 in brackets (`[::1]:18000`), as flags and library arguments take them.
import type { AddressInfo, Server } from "node:net";
import { BadArgumentError } from "../../errors.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new BadArgumentError(`${flag} "${value}": expected HOST:PORT, e.g. 0.0.0.0:18000 or [::1]:18000`);
  }
  return { host: m[1] ?? m[2], port };
}

/** Listens with a net/http/http2 server; resolves to the bound port (the chosen one when `port` is 0). */
export function listenOn(server: Server, { host, port }: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
