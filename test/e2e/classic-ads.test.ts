// Classic scenario with everything over ADS; see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("ads");
