// The limits that keep one client, or many, from taking the server's memory: every default is chosen to keep a
// 2-core box serving while letting the benchmark's 5,000 proxies on one loopback address connect (each proxy is
// its own connection). docs/limits.md lists them with the flags that change them.
import { kebabCaseFlags } from "../../limit-flags.js";
export interface TransportLimits {
  /** Largest request message accepted (gRPC's default receive limit is 4 MiB). */
  maxRequestBytes: number;
  /** Bytes one connection may hold for request messages being assembled, over all its streams (each message holds its declared length). */
  maxBufferedBytesPerConnection: number;
  /** The same, over every connection of the server. */
  maxBufferedBytes: number;
  /** Streams open at once on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); more are refused by the client's stack. */
  maxStreamsPerConnection: number;
  /** Streams a connection may open in a burst, and per second after it (stream-rate-limit.ts explains why). */
  streamBurstPerConnection: number;
  streamsPerSecondPerConnection: number;
  /**
   * UTF-8 bytes of a node's `id`, and of its `cluster`, each (every protocol): status, logs, node keys and REST
   * pollers' keys repeat them. A request over it is refused before anything of it is kept (issue 18).
   */
  maxNodeIdBytes: number;
  /** Encoded (protobuf) bytes of a node's `metadata`, every protocol; refused like the id. */
  maxNodeMetadataBytes: number;
  /**
   * Bytes the REST pollers remembered may take in all (protocol/rest-poll.ts counts each one); past it the least
   * recently seen are forgotten, as past their count.
   */
  maxRestPollerBytes: number;
}

export const defaultTransportLimits: Readonly<TransportLimits> = Object.freeze({
  maxRequestBytes: 4 * 1024 * 1024,
  maxBufferedBytesPerConnection: 8 * 1024 * 1024,
  maxBufferedBytes: 128 * 1024 * 1024,
  // Envoy opens one stream per xDS type at most (per-type services) or one for ADS; grpc-go's server default is 100.
  maxStreamsPerConnection: 100,
  // Below nghttp2's own rapid-reset limit (1,000 and 33/s), so that this one, which says why, is met first.
  streamBurstPerConnection: 500,
  streamsPerSecondPerConnection: 16,
  // Node ids are a few hundred bytes at most in practice (Istio's `sidecar~IP~pod.ns~ns.svc.cluster.local`);
  // Envoy 1.40's whole node is about 61 kB, nearly all of it its list of extensions, with no metadata by default.
  maxNodeIdBytes: 4096,
  maxNodeMetadataBytes: 64 * 1024,
  maxRestPollerBytes: 128 * 1024 * 1024,
});

/** The `xdsd serve` flag that changes each limit: its name in kebab case (`maxRequestBytes` → `--max-request-bytes`). */
export const transportLimitFlags = kebabCaseFlags(defaultTransportLimits);
