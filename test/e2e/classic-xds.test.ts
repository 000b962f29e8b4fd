// Classic scenario with one state-of-the-world gRPC stream per type (no ADS); see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("xds");
