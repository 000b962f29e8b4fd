// The registry of every protobuf message type that Envoy's v3 API defines (plus xds, udpa, validate and the
// well-known types). It resolves `Any` by type URL: decoding `typed_config` from YAML/JSON (`"@type": ...`),
// and printing resources back as JSON. It is loaded from the descriptor set that scripts/gen-protos.mjs writes
// beside the generated code, so that the registry knows every type without importing ~370 generated modules.
import { readFileSync } from "node:fs";
import { createFileRegistry, fromBinary, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

let registry: Registry | undefined;

export function envoyRegistry(): Registry {
  if (!registry) {
    const url = new URL("../gen/envoy-descriptors.binpb", import.meta.url);
    registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(url)));
  }
  return registry;
}
