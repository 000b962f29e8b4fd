// What every transport shares: the list of state-of-the-world methods, and the binding of one call to one
// SotwStream (ids, events, protocol errors, bookkeeping of live calls for shutdown). A transport only moves bytes.
import type { DiscoveryRequest } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { SnapshotSource } from "../cache/snapshot-cache.js";
import { resourceTypes } from "../resource/types.js";
import { StreamProtocolError } from "../errors.js";
import { SotwStream } from "./sotw-stream.js";
import type { SotwResponse } from "./response.js";
import type { StreamInfo, XdsServerEvents } from "./events.js";
import { GrpcStatus, type GrpcStatusCode } from "./grpc-status.js";
import { PushScheduler } from "./push-scheduler.js";

export interface XdsServiceOptions {
  cache: SnapshotSource;
  events?: XdsServerEvents;
  /** Sent as `control_plane.identifier` in every response. */
  controlPlaneId?: string;
  /** Streams that push a new snapshot per event-loop turn (default 256); 0 pushes all at once. */
  pushBatchSize?: number;
}

export interface SotwMethod {
  /** `/package.Service/Method` */
  path: string;
  /** `ads`, or the short name of the type a per-type service serves. */
  service: string;
  fixedTypeUrl?: string;
}

/** ADS and the per-type service of every registered type. */
export const sotwMethods: readonly SotwMethod[] = [
  { path: "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources", service: "ads" },
  ...resourceTypes.flatMap((t) =>
    t.perTypeService ? [{ path: `/${t.perTypeService.service}/${t.perTypeService.sotwMethod}`, service: t.short, fixedTypeUrl: t.typeUrl }] : [],
  ),
];

/** One call as a transport sees it. */
export interface SotwCall {
  readonly peer: string;
  send(response: SotwResponse): void;
  /** Ends the call with a status other than OK. */
  fail(code: GrpcStatusCode, message: string): void;
}

/** The calls open on a server, with their state machines. */
export class SotwCalls {
  readonly #live = new Set<SotwCallHandler>();
  #nextId = 1;
  readonly scheduler: PushScheduler | undefined;

  constructor(readonly options: XdsServiceOptions) {
    this.scheduler = options.pushBatchSize === 0 ? undefined : new PushScheduler(options.pushBatchSize);
  }

  /** Binds a new call; the transport then feeds the handler its requests and its end. */
  open(method: SotwMethod, call: SotwCall): SotwCallHandler {
    const handler = new SotwCallHandler(this, this.#nextId++, method, call);
    this.#live.add(handler);
    return handler;
  }

  streams(): StreamInfo[] {
    return [...this.#live].map((h) => h.info);
  }

  /** Ends every call with `code`: clients reconnect (to another replica, if there is one). */
  closeAll(code: GrpcStatusCode, message: string, reason: string): void {
    for (const handler of [...this.#live]) {
      handler.ended(reason);
      handler.call.fail(code, message);
    }
  }

  /** @internal */
  forget(handler: SotwCallHandler): void {
    this.#live.delete(handler);
  }
}

export class SotwCallHandler {
  readonly info: StreamInfo;
  readonly #stream: SotwStream;
  #ended = false;

  constructor(
    private readonly calls: SotwCalls,
    id: number,
    method: SotwMethod,
    readonly call: SotwCall,
  ) {
    const { options } = calls;
    this.info = { id, service: method.service, peer: call.peer };
    this.#stream = new SotwStream({
      source: options.cache,
      info: this.info,
      events: options.events,
      fixedTypeUrl: method.fixedTypeUrl,
      controlPlaneId: options.controlPlaneId,
      schedulePush: calls.scheduler && ((push) => calls.scheduler!.schedule(push)),
      // At most one response per type is in flight (sotw-stream.ts), so what a transport buffers per call is
      // bounded by the number of types: no queue is needed here.
      send: (response) => call.send(response),
    });
    options.events?.streamOpened?.(this.info);
  }

  request(req: DiscoveryRequest): void {
    if (this.#ended) return;
    try {
      this.#stream.handleRequest(req);
    } catch (err) {
      const protocol = err instanceof StreamProtocolError;
      const message = (err as Error).message;
      this.ended(protocol ? `protocol error: ${message}` : `internal error: ${message}`);
      this.call.fail(protocol ? GrpcStatus.INVALID_ARGUMENT : GrpcStatus.INTERNAL, message);
    }
  }

  /** The call is over (client closed, cancelled, transport error, shutdown). Idempotent. */
  ended(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.calls.forget(this);
    this.#stream.close(reason);
  }
}
