// Endpoint and listener addresses: the one parser for the config file's endpoints, the store's endpoint objects
// and the write API's paths. Only IP literals are accepted: gRPC clients reject host names in EDS, and Envoy's EDS
// endpoints are never resolved either (that is what STRICT_DNS clusters are for).
//
// Every address has one spelling (issue 18): `[::1]:80`, `[0:0:0:0:0:0:0:1]:80` and `[::0001]:80` are one endpoint,
// and so are `1.2.3.4:80` and `1.2.3.4:080`. Any spelling is accepted and turned into the canonical one — IPv6 as
// RFC 5952 §4 writes it (lower case, no leading zeros, the longest run of zero groups as `::`; §5's dotted tail for
// IPv4-mapped addresses), IPv4 dotted decimal (Node's isIP already refuses leading zeros there), the port without
// leading zeros — which is what the store's endpoint names, the duplicate check and the served addresses use. Taking
// every spelling rather than refusing all but one keeps configs and clients that wrote `0:0:0:0:0:0:0:1` working,
// and a client that names an endpoint its own way still finds it. Zones (`fe80::1%eth0`) are refused: Envoy's
// SocketAddress has no zone and parses the address with inet_pton, which refuses one, and gRPC clients refuse them.
import { isIP } from "node:net";

export interface HostPort {
  address: string;
  port: number;
}

/** Whether `address` is an IP literal xdsd serves (no host name, no zone). */
export function isIpLiteral(address: string): boolean {
  return canonicalIp(address) !== undefined;
}

/** The canonical spelling of an IP literal; undefined when `address` is none (a host name, a zone, anything else). */
export function canonicalIp(address: string): string | undefined {
  switch (isIP(address)) {
    case 4:
      return address;
    case 6:
      return address.includes("%") ? undefined : canonicalIpv6(address);
    default:
      return undefined;
  }
}

/** 0.0.0.0 and :: bind every local address, so they clash with any other listener on the same port. */
export function isUnspecified(address: string): boolean {
  return address === "0.0.0.0" || (isIP(address) === 6 && /^[0:]+$/.test(address));
}

/** `"127.0.0.1:8081"` or `"[::1]:8081"` -> {address, port}, canonical; or a reason the text is not such an endpoint. */
export function parseHostPort(text: string): HostPort | { error: string } {
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(text);
  const plain = /^([^:[\]]*):([^:]*)$/.exec(text);
  const match = bracketed ?? plain;
  if (!match) {
    if (isIP(text) !== 0) return { error: `"${text}" has no port; write "address:port" ("[address]:port" for IPv6)` };
    return { error: `"${text}" is not "address:port" ("[address]:port" for IPv6)` };
  }
  const [, written, portText] = match;
  const address = (bracketed ? isIP(written) === 6 : isIP(written) === 4) ? canonicalIp(written) : undefined;
  if (address === undefined) return { error: ipError(written) };
  const port = /^[0-9]{1,10}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) return { error: `port "${portText}" must be a number from 1 to 65535` };
  return { address, port };
}

/** An endpoint as text, the way parseHostPort reads it: `1.2.3.4:80`, `[::1]:80`. */
export function formatHostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

/** Why `address` is not an IP literal xdsd serves. */
export function ipError(address: string): string {
  if (isIP(address) === 6 && address.includes("%")) {
    return `"${address}" has a zone (${address.slice(address.indexOf("%"))}): Envoy's addresses have none and gRPC clients refuse one; write the address without it`;
  }
  return `"${address}" is not an IPv4 or IPv6 address (host names are not allowed: gRPC clients need IP literals)`;
}

/** RFC 5952 §4 (and §5 for IPv4-mapped addresses) for an address isIP calls IPv6, without a zone. */
function canonicalIpv6(address: string): string {
  let text = address.toLowerCase();
  // A dotted IPv4 tail is two groups.
  const dot = text.lastIndexOf(".");
  if (dot >= 0) {
    const cut = text.lastIndexOf(":") + 1;
    const [a, b, c, d] = text.slice(cut).split(".").map(Number);
    text = `${text.slice(0, cut)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const gap = text.indexOf("::");
  const part = (s: string) => (s === "" ? [] : s.split(":").map((g) => Number.parseInt(g, 16)));
  const head = part(gap < 0 ? text : text.slice(0, gap));
  const tail = gap < 0 ? [] : part(text.slice(gap + 2));
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  // ::ffff:0:0/96 keeps its IPv4 address dotted (§5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${groups[6] >> 8}.${groups[6] & 255}.${groups[7] >> 8}.${groups[7] & 255}`;
  }
  // The longest run of two or more zero groups (the first of equal runs) becomes "::" (§4.2).
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = (gs: number[]) => gs.map((g) => g.toString(16)).join(":");
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.length))}`;
}
