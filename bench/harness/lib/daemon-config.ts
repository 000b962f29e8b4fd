// The config files the daemon benches give xdsd. A fixture's state (DaemonConfigText): every resource a raw Envoy
// resource (`resources:`, proto3 JSON with "@type"), one per line, so that a change to one resource changes one line
// of the file. The daemon decodes them like any operator's file and serves them byte for byte as the fixture has
// them (the load generator checks it). Used by the daemon bench server and by the reload bench, so that both measure
// the same file. And scenario A's shape in the short form an operator writes (shortFormConfig), for the benches of
// the daemon's own paths: a file change (daemon-update.ts, config-reload.ts) and a write (api-writes.ts).
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { resourceType } from "../../../src/resource/types.js";
import { envoyRegistry } from "../../../src/resource/proto-registry.js";
import type { FixtureStep } from "./fixture-file.js";

export class DaemonConfigText {
  /** "typeUrl\0name" → the resource's line. */
  readonly #lines = new Map<string, string>();

  apply(step: FixtureStep): this {
    for (const u of step.upserts) {
      const schema = resourceType(u.typeUrl).schema;
      const json = toJsonString(schema, fromBinary(schema, u.value), { registry: envoyRegistry() });
      this.#lines.set(`${u.typeUrl}\u0000${u.name}`, `{"@type":${JSON.stringify(u.typeUrl)},${json.slice(1)}`);
    }
    for (const r of step.removes) this.#lines.delete(`${r.typeUrl}\u0000${r.name}`);
    return this;
  }

  text(): string {
    return `resources:\n- ${[...this.#lines.values()].join("\n- ")}\n`;
  }
}

/**
 * N clusters named `<prefix><i>` with M endpoints each, `10.<i>.<k>:8080`, in the config file's short form. At
 * `version` > 0, cluster (version % N) has its endpoints on port 9000 + version instead: each version moves one
 * cluster's endpoints.
 */
export function shortFormConfig(clusters: number, endpointsPer: number, version = 0, prefix = "c"): string {
  const lines = ["clusters:"];
  for (let i = 0; i < clusters; i++) {
    const port = version > 0 && i === version % clusters ? 9000 + version : 8080;
    const endpoints = Array.from({ length: endpointsPer }, (_, k) => `"10.${i >> 8}.${i & 255}.${k + 1}:${port}"`);
    lines.push(`  - name: ${prefix}${i}`, `    endpoints: [${endpoints.join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}
