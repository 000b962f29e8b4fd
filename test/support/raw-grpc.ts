// A gRPC client at the HTTP/2 frame level, for tests that must send what no well-behaved client library would:
// messages that declare absurd lengths, truncated messages, streams cancelled after the server's trailers.
import http2 from "node:http2";
import { create, toBinary } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import type { RequestInit } from "./xds-client.js";

export const adsPath = "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources";

/** How a call ended, as the client saw it. */
export interface CallEnd {
  /** grpc-status from the trailers (or from trailers-only headers); undefined if none came. */
  status?: number;
  message?: string;
  /** The RST_STREAM code the stream closed with (0 = NO_ERROR), as node reports it. */
  rstCode: number;
  /** Response messages received before the end. */
  messages: number;
}

export function connect(address: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.once("connect", () => resolve(session));
    session.once("error", reject);
  });
}

/** A length-prefixed gRPC message (uncompressed). `declaredLength` lets a test lie about the length. */
export function grpcFrame(payload: Uint8Array, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
}

export function requestBytes(init: RequestInit): Uint8Array {
  return toBinary(DiscoveryRequestSchema, create(DiscoveryRequestSchema, init));
}

export interface RawCall {
  readonly stream: http2.ClientHttp2Stream;
  /** What has been seen so far (messages counted as they arrive). */
  readonly seen: CallEnd;
  /** Resolves when the stream closes. */
  readonly ended: Promise<CallEnd>;
  /** Resolves when the response trailers (or trailers-only headers) arrive. */
  readonly trailers: Promise<CallEnd>;
}

export function openCall(session: http2.ClientHttp2Session, path = adsPath): RawCall {
  const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers" });
  const end: CallEnd = { rstCode: 0, messages: 0 };
  let pending = Buffer.alloc(0);
  const readStatus = (headers: http2.IncomingHttpHeaders) => {
    if (headers["grpc-status"] === undefined) return false;
    end.status = Number(headers["grpc-status"]);
    end.message = decodeURIComponent(String(headers["grpc-message"] ?? ""));
    return true;
  };
  const trailers = new Promise<CallEnd>((resolve) => {
    stream.on("response", (headers) => {
      if (readStatus(headers)) resolve(end);
    });
    stream.on("trailers", (headers) => {
      readStatus(headers);
      resolve(end);
    });
    stream.on("close", () => resolve(end));
  });
  stream.on("data", (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
      pending = pending.subarray(5 + pending.readUInt32BE(1));
      end.messages++;
    }
  });
  stream.on("error", () => {});
  const ended = new Promise<CallEnd>((resolve) =>
    stream.on("close", () => {
      end.rstCode = stream.rstCode ?? 0;
      resolve(end);
    }),
  );
  return { stream, seen: end, ended, trailers };
}

/** Resolves once `predicate` holds, polling; rejects after `timeoutMs` with `what`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
