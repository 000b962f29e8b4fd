// A fixture's state as an xdsd config file: every resource a raw Envoy resource (`resources:`, proto3 JSON with
// "@type"), one per line, so that a change to one resource changes one line of the file. The daemon decodes them
// like any operator's file and serves them byte for byte as the fixture has them (the load generator checks it).
// Used by the daemon bench server and by the reload bench, so that both measure the same file.
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import { resourceType } from "../../src/resource/types.js";
import { envoyRegistry } from "../../src/resource/proto-registry.js";
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
