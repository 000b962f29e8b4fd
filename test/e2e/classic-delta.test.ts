// Classic scenario with one incremental (delta) gRPC stream per type (no ADS); see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("delta");
