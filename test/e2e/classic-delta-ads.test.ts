// Classic scenario over incremental (delta) ADS; see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("delta-ads");
