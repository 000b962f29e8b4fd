// Endpoint and listener addresses. Only IP literals are accepted: gRPC clients reject host names in EDS, and
// Envoy's EDS endpoints are never resolved either (that is what STRICT_DNS clusters are for).
import { isIP } from "node:net";

export interface HostPort {
  address: string;
  port: number;
}

export function isIpLiteral(address: string): boolean {
  return isIP(address) !== 0;
}

/** 0.0.0.0 and :: bind every local address, so they clash with any other listener on the same port. */
export function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || (isIP(address) === 6 && /^[0:]+$/.test(address));
}

/** `"127.0.0.1:8081"` or `"[::1]:8081"` -> {address, port}, or a reason the text is not such an endpoint. */
export function parseHostPort(text: string): HostPort | { error: string } {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  const plain = /^([^:[\]]*):([^:]*)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) {
    if (isIP(text) !== 0) return { error: `"${text}" has no port; write "address:port" ("[address]:port" for IPv6)` };
    return { error: `"${text}" is not "address:port" ("[address]:port" for IPv6)` };
  }
  const [, address, portText] = match;
  if (bracketed ? isIP(address) !== 6 : isIP(address) !== 4) return { error: ipError(address) };
  const port = /^[0-9]+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return { error: `port "${portText}" must be a number from 1 to 65535` };
  return { address, port };
}

export function ipError(address: string): string {
  return `"${address}" is not an IPv4 or IPv6 address (host names are not allowed: gRPC clients need IP literals)`;
}
