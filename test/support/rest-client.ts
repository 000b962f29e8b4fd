// A REST-JSON xDS poller for tests: one POST of a DiscoveryRequest (proto3 JSON) over HTTP/1.1 (fetch) or h2c
// (node:http2, prior knowledge), the answer decoded if it is a DiscoveryResponse.
import http2 from "node:http2";
import { create, fromJsonString, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { DiscoveryRequestSchema, DiscoveryResponseSchema, type DiscoveryResponse } from "../../src/gen/envoy/service/discovery/v3/discovery_pb.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";

export interface PollResult {
  status: number;
  contentType: string | undefined;
  text: string;
  /** Decoded when the status is 200. */
  response?: DiscoveryResponse;
}

export interface PollOptions {
  /** h2c instead of HTTP/1.1. */
  http2?: boolean;
  method?: string;
  contentType?: string;
  /** Sent instead of the request's JSON. */
  rawBody?: string;
}

export async function poll(
  address: string,
  path: string,
  request: MessageInitShape<typeof DiscoveryRequestSchema> | undefined,
  options: PollOptions = {},
): Promise<PollResult> {
  const body = options.rawBody ?? (request ? toJsonString(DiscoveryRequestSchema, create(DiscoveryRequestSchema, request)) : "");
  const method = options.method ?? "POST";
  const contentType = options.contentType ?? "application/json";
  const { status, text, type } = options.http2 ? await h2c(address, path, method, contentType, body) : await http1(address, path, method, contentType, body);
  const result: PollResult = { status, contentType: type, text };
  if (status === 200) result.response = fromJsonString(DiscoveryResponseSchema, text, { registry: envoyRegistry() });
  return result;
}

async function http1(address: string, path: string, method: string, contentType: string, body: string) {
  const res = await fetch(`http://${address}${path}`, {
    method,
    headers: { "content-type": contentType },
    body: method === "GET" ? undefined : body,
  });
  return { status: res.status, text: await res.text(), type: res.headers.get("content-type") ?? undefined };
}

function h2c(address: string, path: string, method: string, contentType: string, body: string): Promise<{ status: number; text: string; type?: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.on("error", reject);
    const stream = session.request({ ":method": method, ":path": path, "content-type": contentType });
    let status = 0;
    let type: string | undefined;
    let text = "";
    stream.on("response", (headers) => {
      status = Number(headers[":status"]);
      type = headers["content-type"] as string | undefined;
    });
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (text += chunk));
    stream.on("end", () => {
      session.close();
      resolve({ status, text, type });
    });
    stream.on("error", reject);
    stream.end(body);
  });
}
