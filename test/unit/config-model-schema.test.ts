// The config model's lists of names (src/config/model.ts) are the schema's enums, and each name the translation
// hands to Envoy is a value of Envoy's own enum: a name added to one place and not the others fails here.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { durationPattern } from "../../src/config/duration.js";
import { configSourceKinds, healthStatusNames, lbPolicyNames, localityKeys } from "../../src/config/model.js";
import { Cluster_LbPolicy } from "../../src/gen/envoy/config/cluster/v3/cluster_pb.js";
import { HealthStatus } from "../../src/gen/envoy/config/core/v3/health_check_pb.js";

const schema = JSON.parse(readFileSync(new URL("../../../schema/xdsd-config.schema.json", import.meta.url), "utf8"));

test("model.ts's names are the schema's enums, in the same order", () => {
  assert.deepEqual([...lbPolicyNames], schema.definitions.cluster.properties.lb_policy.enum);
  assert.deepEqual([...healthStatusNames], schema.definitions.endpoint.properties.health_status.enum);
  assert.deepEqual([...configSourceKinds], schema.definitions.config_source.enum);
  assert.deepEqual([...localityKeys], Object.keys(schema.definitions.locality.properties));
});

test("each lb_policy and health_status name is a value of Envoy's enum of that name", () => {
  for (const name of lbPolicyNames) assert.equal(typeof Cluster_LbPolicy[name], "number", `Cluster.LbPolicy has no ${name}`);
  for (const name of healthStatusNames) assert.equal(typeof HealthStatus[name], "number", `core.v3.HealthStatus has no ${name}`);
});

test("the config's duration pattern is the one grammar of config/duration.ts", () => {
  assert.equal(schema.definitions.duration.pattern, durationPattern);
  // A TTL is a duration (its range is ttlError's, in code, for the config and the write API alike).
  assert.deepEqual(schema.definitions.ttl.allOf, [{ $ref: "#/definitions/duration" }]);
  assert.equal(schema.definitions.ttl.pattern, undefined);
});
