// Classic scenario with endpoints over the per-type EndpointDiscoveryService; see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("eds");
