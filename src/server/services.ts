// The table of every service xdsd serves (service-table.ts): what XdsServer and addXdsServices offer by default.
import type { XdsService } from "./service-table.js";
import { sotwServices } from "./protocol/sotw-service.js";

export const xdsServices: readonly XdsService[] = [...sotwServices] as readonly XdsService[];
