// Classic scenario with every type polled over REST-JSON (HTTP/1.1, no gRPC); see classic-scenario.ts.
import { classicScenario } from "./classic-scenario.js";

classicScenario("rest");
