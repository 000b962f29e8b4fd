// The table of every service xdsd serves (service-table.ts): what XdsServer and addXdsServices offer by default.
import { deltaServices } from "./protocol/delta-service.js";
import { restServices } from "./protocol/rest-service.js";
import { sotwServices } from "./protocol/sotw-service.js";
import { csdsServices } from "./protocol/csds-service.js";
import { lrsService } from "./protocol/lrs-service.js";
import type { ServiceEntry } from "./service-table.js";

export const xdsServices: readonly ServiceEntry[] = [
  ...sotwServices,
  ...deltaServices,
  ...restServices,
  ...csdsServices,
  lrsService,
] as readonly ServiceEntry[];
