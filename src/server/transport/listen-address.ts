// `HOST:PORT` listen addresses, IPv6 in brackets (`[::1]:18000`), as flags and library arguments take them.
import { defaultXdsListen, defaultXdsPort } from "../../default-ports.js";
import type { AddressInfo, Server } from "node:net";
import { BadArgumentError, ListenError } from "../../errors.js";

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListenAddress(flag: string, value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) {
    throw new BadArgumentError(`${flag} "${value}": expected HOST:PORT, e.g. ${defaultXdsListen} or [::1]:${defaultXdsPort}`);
  }
  return { host: m[1] ?? m[2], port };
}

/** Listens with a net/http/http2 server; resolves to the bound port (the chosen one when `port` is 0). */
export function listenOn(server: Server, { host, port }: ListenAddress): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: NodeJS.ErrnoException) => reject(new ListenError(formatListenAddress({ host, port }), err.code ?? err.message, { cause: err }));
    server.once("error", fail);
    server.listen(port, host, () => {
      server.off("error", fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** `host:port`, with brackets around an IPv6 host. */
export function formatListenAddress({ host, port }: ListenAddress): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** 127.0.0.0/8, ::1 and localhost: only this machine reaches them (the xDS port's plaintext warning, the admin port's open reads). */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);
}
