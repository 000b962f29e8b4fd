// The REST-JSON polling paths: one per registered type whose discovery service has a Fetch method
// (`/v3/discovery:clusters`, `:endpoints`, `:listeners`, `:routes`, `:scoped-routes`, `:secrets`, `:runtime`,
// `:extension_configs`), each answered by rest-poll.ts.
import { discoveryMethods } from "../../resource/discovery-service.js";
import { resourceTypes } from "../../resource/types.js";
import type { PollService } from "../service-table.js";
import { serviceLabel } from "../service-label.js";

export const restServices: readonly PollService[] = resourceTypes.flatMap((t) => {
  const path = t.perTypeService && discoveryMethods(t.perTypeService).rest;
  return path ? [{ kind: "poll" as const, protocol: "rest" as const, path, label: serviceLabel("rest", t.short), typeUrl: t.typeUrl }] : [];
});
