// `runtime:` → one Runtime resource (RTDS), issue 21 item 4: runtime keys a running Envoy takes live, such as the
// fault filter's `fault.http.abort.abort_percent`. Envoy reads a Runtime only as a layer its bootstrap names
// (layered_runtime.layers[].rtds_layer), so bootstrap.ts gives every node whose group serves one that layer.
import { create, type JsonObject } from "@bufbuild/protobuf";
import { RuntimeSchema, type Runtime } from "../gen/envoy/service/runtime/v3/rtds_pb.js";
import { runtimeName, type RuntimeValue } from "./model.js";

/** The Runtime `runtimeName` with these keys as its layer (a google.protobuf.Struct, as Envoy takes it). */
export function translateRuntime(values: Record<string, RuntimeValue>): Runtime {
  return create(RuntimeSchema, { name: runtimeName, layer: values as JsonObject });
}
