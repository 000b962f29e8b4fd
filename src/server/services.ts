// The table of every service xdsd serves (service-table.ts): what XdsServer and addXdsServices offer by default.
import { deltaServices } from "./protocol/delta-service.js";
import { sotwServices } from "./protocol/sotw-service.js";
import type { XdsService } from "./service-table.js";

export const xdsServices: readonly XdsService[] = [...sotwServices, ...deltaServices] as readonly XdsService[];
