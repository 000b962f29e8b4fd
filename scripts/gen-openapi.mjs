#!/usr/bin/env node
// Writes schema/openapi.json: the OpenAPI 3.1 description of the admin API's write API (src/admin/write-api.ts),
// served by the daemon at /openapi.json. The objects' schemas are not written here but taken from the config's
// JSON Schema (schema/xdsd-config.schema.json), so that what the API accepts and what the file accepts are one
// definition. The error responses come from the daemon's one table of problem codes (src/problem-details.ts, read
// compiled from dist/: build first). `--check` fails if the file in the repository is not what this would write
// (the test suite runs it).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
/** A module of the daemon, compiled: the one place something this file needs is defined. */
async function built(path) {
  const file = join(root, "dist", "src", path);
  if (!existsSync(file)) {
    console.error(`${file} is missing: run \`node scripts/build.mjs\` first (this reads the daemon's tables from the build)`);
    process.exit(1);
  }
  return import(pathToFileURL(file).href);
}
const { problemStatuses } = await built("problem-details.js");
const { objectKindTable, objectKinds, collectionKinds } = await built("store/store.js");
const { durationPattern } = await built("config/duration.js");
const { defaultAdminUrl } = await built("default-ports.js");
const configSchema = JSON.parse(readFileSync(join(root, "schema", "xdsd-config.schema.json"), "utf8"));
const out = join(root, "schema", "openapi.json");

/** The config schema's definitions as OpenAPI components: `#/definitions/x` becomes `#/components/schemas/x`. */
function components() {
  const text = JSON.stringify(configSchema.definitions).replaceAll('"#/definitions/', '"#/components/schemas/');
  const schemas = JSON.parse(text);
  // ajv's own keywords (errorMessage, patternErrorMessage) are not JSON Schema; OpenAPI tools would warn on them.
  const strip = (v) => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== "object") return v;
    const o = {};
    for (const [k, x] of Object.entries(v)) if (k !== "errorMessage" && k !== "patternErrorMessage") o[k] = strip(x);
    return o;
  };
  return strip(schemas);
}

const ref = (name) => ({ $ref: `#/components/schemas/${name}` });
const problem = (description) => ({ description, content: { "application/problem+json": { schema: ref("Problem") } } });
const json = (description, schema) => ({ description, content: { "application/json": { schema } } });
/** The error responses of an operation that may answer `codes` (docs/errors.md), by the status each is answered with. */
const errors = (...codes) => {
  const byStatus = new Map();
  for (const code of codes) {
    const { status, title } = problemStatuses[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), `${title} (${code})`]);
  }
  return Object.fromEntries([...byStatus].map(([status, what]) => [String(status), problem(what.join("; "))]));
};
/** What every write may be refused for, before what it writes is looked at. */
const writeRefusals = ["XDSD_HTTP_MALFORMED", "XDSD_HTTP_UNAUTHORIZED", "XDSD_HTTP_FORBIDDEN", "XDSD_HTTP_WRITES_DISABLED"];
/** What the write itself may be refused for. */
const writeConflicts = ["XDSD_MANAGED_BY_FILE", "XDSD_STORE_REVISION_CONFLICT", "XDSD_STORE_CONFLICT", "XDSD_CONFIG_INVALID", "XDSD_STORE_UNAVAILABLE"];
const bodyRefusals = ["XDSD_HTTP_BODY_TOO_LARGE", "XDSD_HTTP_UNSUPPORTED_MEDIA_TYPE"];
const readRefusals = ["XDSD_HTTP_MALFORMED", "XDSD_HTTP_NOT_FOUND"];
/** What a read may be refused for off loopback, where reads need a token (admin-auth.ts). */
const readAuthRefusals = ["XDSD_HTTP_UNAUTHORIZED", "XDSD_HTTP_READS_DISABLED"];
/** Who may be refused: any request but /healthz presents its token to admin-auth.ts, which slows down guessing. */
const tooMany = {
  429: {
    ...errors("XDSD_HTTP_TOO_MANY_FAILURES")["429"],
    headers: { "Retry-After": { description: "seconds until this address may authenticate again", schema: { type: "integer" } } },
  },
};
/** A read: open on a loopback admin address (a token presented is checked), a read or write token off loopback. */
const readAuth = { security: [{}, { bearer: [] }] };
const nameParam = (name, description) => ({ name, in: "path", required: true, description, schema: { type: "string", minLength: 1 } });
const ifMatch = {
  name: "If-Match",
  in: "header",
  required: false,
  description: 'The ETag of the object as read ("<revision>"): the write applies only if it is unchanged.',
  schema: { type: "string" },
};
const waitParams = [
  {
    name: "wait",
    in: "query",
    required: false,
    description:
      "`acked`: answer once every connected proxy the change concerns has ACKed it (202, naming the proxies, if the timeout comes first or a proxy NACKs). Without: answer once the snapshot is published.",
    schema: { type: "string", enum: ["acked"] },
  },
  {
    name: "timeout",
    in: "query",
    required: false,
    description: "With wait=acked: how long to wait, in seconds (default 10s, at most 300s).",
    schema: { type: "string", pattern: durationPattern },
  },
];
const ifNoneMatch = { name: "If-None-Match", in: "header", required: false, description: "`*`: create only.", schema: { type: "string", enum: ["*"] } };
const written = json("written; the new snapshot is published", ref("Written"));
const notAllAcked = json("committed and published, but not every proxy concerned ACKed it (wait=acked): see rollout", ref("Written"));
const writeResponses = {
  200: written,
  202: notAllAcked,
  201: json("created; the new snapshot is published", ref("Written")),
  ...errors(...writeRefusals, "XDSD_HTTP_NOT_FOUND", ...writeConflicts, ...bodyRefusals),
  ...tooMany,
};
const deleted = {
  200: json("deleted; the new snapshot is published", ref("Deleted")),
  202: notAllAcked,
  ...errors(...writeRefusals, "XDSD_HTTP_NOT_FOUND", ...writeConflicts),
  ...tooMany,
};
const security = [{ bearer: [] }];

/** GET/PUT/DELETE of one object of a collection. */
function objectPaths(tag, valueSchema, params) {
  return {
    parameters: params,
    get: {
      tags: [tag],
      summary: `One ${tag}`,
      ...readAuth,
      responses: { 200: json("the object; ETag is its revision", { type: "object" }), ...errors(...readRefusals, ...readAuthRefusals), ...tooMany },
    },
    put: {
      tags: [tag],
      summary: `Create or replace a ${tag}`,
      security,
      parameters: [ifMatch, ifNoneMatch, ...waitParams],
      requestBody: { required: true, content: { "application/json": { schema: valueSchema } } },
      responses: writeResponses,
    },
    delete: { tags: [tag], summary: `Delete a ${tag}`, security, parameters: [ifMatch, ...waitParams], responses: deleted },
  };
}

const schemas = components();
const endpointBody = {
  type: "object",
  additionalProperties: false,
  description: "An endpoint's fields; its address and port are those of the path.",
  properties: {
    ...Object.fromEntries(Object.entries(schemas.endpoint.properties).filter(([k]) => k !== "address" && k !== "port")),
    ttl: {
      type: "string",
      pattern: durationPattern,
      description:
        "A registration TTL (1s to 86400s): the endpoint is deregistered unless a PUT renews it within this time. The stored endpoint shows when it expires (expires_at).",
    },
  },
};

const document = {
  openapi: "3.1.0",
  info: {
    title: "xdsd admin write API",
    version: "1",
    description:
      "Clusters, their endpoints, listeners, raw Envoy resources and node groups, kept in xdsd's store and served with the config file as one config. Every write is validated as `xdsd validate` would validate the whole result before anything is stored, and answered once the new snapshot is published. Bodies are the config file's entries as JSON (docs/config.md).",
  },
  servers: [{ url: defaultAdminUrl }],
  paths: {
    "/v1/clusters": {
      get: {
        tags: ["cluster"],
        summary: "The clusters of the store, and the file's clusters that have endpoints registered (managedBy: file)",
        ...readAuth,
        responses: { 200: json("the clusters", { type: "object" }), ...errors(...readAuthRefusals), ...tooMany },
      },
    },
    "/v1/clusters/{name}": objectPaths("cluster", ref("ClusterBody"), [nameParam("name", "The cluster's name.")]),
    "/v1/clusters/{name}/endpoints/{endpoint}": {
      parameters: [nameParam("name", "The cluster's name."), nameParam("endpoint", "host:port, [ipv6]:port for IPv6")],
      get: {
        tags: ["endpoint"],
        summary: "One registered endpoint",
        ...readAuth,
        responses: { 200: json("the endpoint", { type: "object" }), ...errors(...readRefusals, ...readAuthRefusals), ...tooMany },
      },
      put: {
        tags: ["endpoint"],
        summary: "Register an endpoint (or change it: weight, locality, priority, health_status, metadata)",
        security,
        parameters: [ifMatch, ifNoneMatch, ...waitParams],
        requestBody: { required: false, content: { "application/json": { schema: endpointBody } } },
        responses: writeResponses,
      },
      delete: { tags: ["endpoint"], summary: "Deregister an endpoint", security, parameters: [ifMatch, ...waitParams], responses: deleted },
    },
    "/v1/listeners": {
      get: {
        tags: ["listener"],
        summary: "The listeners of the store",
        ...readAuth,
        responses: { 200: json("the listeners", { type: "object" }), ...errors(...readAuthRefusals), ...tooMany },
      },
    },
    "/v1/listeners/{name}": objectPaths("listener", ref("ListenerBody"), [nameParam("name", "The listener's name.")]),
    "/v1/resources": {
      get: {
        tags: ["resource"],
        summary: "The raw resources of the store",
        ...readAuth,
        responses: { 200: json("the resources", { type: "object" }), ...errors(...readAuthRefusals), ...tooMany },
      },
    },
    "/v1/resources/{type}/{name}": objectPaths(
      "resource",
      { type: "object", description: 'The resource in Envoy\'s JSON; "@type" and the name come from the path.' },
      [nameParam("type", "The resource's message type, e.g. envoy.config.cluster.v3.Cluster."), nameParam("name", "The resource's name.")],
    ),
    "/v1/node-groups": {
      get: {
        tags: ["node-group"],
        summary: "The node groups of the store",
        ...readAuth,
        responses: { 200: json("the node groups", { type: "object" }), ...errors(...readAuthRefusals), ...tooMany },
      },
    },
    "/v1/node-groups/{key}": objectPaths("node-group", ref(objectKindTable["node-group"].schemaDefinition), [
      nameParam("key", "The node hash, <node.cluster>/<node.id> by default (URL-encoded)."),
    ]),
    "/v1/batch": {
      post: {
        tags: ["batch"],
        summary: "Many writes in one transaction: all of them, or none",
        security,
        parameters: [
          ...waitParams,
          {
            name: "dry_run",
            in: "query",
            required: false,
            description: "`true`: check the operations exactly as a write would, and store nothing (what `xdsd apply --dry-run` uses).",
            schema: { type: "string", enum: ["true", "false"] },
          },
        ],
        requestBody: { required: true, content: { "application/json": { schema: ref("Batch") } } },
        responses: {
          200: json("applied at one revision; the new snapshot is published", { type: "object" }),
          202: json("applied and published, but not every proxy concerned ACKed it (wait=acked): see rollout", { type: "object" }),
          ...errors(...writeRefusals, ...writeConflicts, ...bodyRefusals),
          ...tooMany,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        description:
          "A token of the file given to xdsd serve --admin-token-file (NAME SCOPE TOKEN per line): writes need a write token; reads need a read or write token when the admin address is not loopback (docs/security.md).",
      },
    },
    schemas: {
      ...schemas,
      ClusterBody: {
        ...schemas[objectKindTable.cluster.schemaDefinition],
        required: [],
        description: "A cluster as the config file writes it; its name comes from the path.",
      },
      ListenerBody: {
        ...schemas[objectKindTable.listener.schemaDefinition],
        required: ["virtual_hosts"],
        description: "A listener as the config file writes it; its name comes from the path.",
      },
      Written: {
        type: "object",
        required: ["revision"],
        properties: { name: { type: "string" }, revision: { type: "integer" }, rollout: ref("Rollout") },
      },
      Rollout: {
        type: "object",
        description: "With wait=acked: how the write reached the connected proxies it concerns.",
        required: ["complete", "groups", "settled", "acked", "nacked", "pending", "timedOut"],
        properties: {
          complete: { type: "boolean", description: "every proxy concerned ACKed" },
          groups: { type: "integer", description: "node groups with connected proxies whose snapshot changed" },
          settled: { type: "integer", description: "streams that ACKed, NACKed or needed nothing" },
          acked: { type: "integer", description: "streams that ACKed the change: those that use what it changed (0: no connected proxy does)" },
          nacked: {
            type: "array",
            items: { type: "object", properties: { node: { type: "string" }, type: { type: "string" }, message: { type: "string" } } },
          },
          pending: {
            type: "array",
            description: "at the timeout: the streams still expected (at most 50)",
            items: { type: "object", properties: { node: { type: "string" }, service: { type: "string" } } },
          },
          timedOut: { type: "boolean" },
        },
      },
      Deleted: {
        type: "object",
        required: ["deleted", "revision"],
        properties: { name: { type: "string" }, deleted: { const: true }, revision: { type: "integer" }, rollout: ref("Rollout") },
      },
      Batch: {
        type: "object",
        required: ["operations"],
        properties: {
          operations: {
            type: "array",
            minItems: 1,
            items: {
              type: "object",
              required: ["op", "kind", "name"],
              properties: {
                op: { enum: ["put", "delete"] },
                kind: { enum: objectKinds },
                name: { type: "string", minLength: 1, description: "Endpoints: <cluster>/<host:port>; resources: type.googleapis.com/<type>/<name>." },
                value: { type: "object" },
                if_revision: { type: "integer", minimum: 0 },
              },
            },
          },
        },
      },
      Problem: {
        type: "object",
        description: "RFC 9457 problem details; `code` is one of docs/errors.md, `errors` every issue of an invalid config.",
        required: ["type", "title", "status", "detail"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          detail: { type: "string" },
          code: { enum: Object.keys(problemStatuses) },
          errors: {
            type: "array",
            items: { type: "object", properties: { path: { type: "string" }, location: { type: "string" }, message: { type: "string" } } },
          },
        },
      },
    },
  },
};

// Every collection of the store's table (store.ts objectKindTable) is described, and nothing else.
const described = Object.keys(document.paths).flatMap((p) => /^\/v1\/([^/]+)$/.exec(p)?.[1] ?? []);
const collections = collectionKinds.map((k) => objectKindTable[k].apiPath);
if (
  described
    .filter((p) => p !== "batch")
    .sort()
    .join() !== [...collections].sort().join()
) {
  console.error(`the paths describe /v1/{${described}}, the store's table has /v1/{${collections}}: describe each collection`);
  process.exit(1);
}

const text = `${JSON.stringify(document, null, 2)}\n`;
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(out, "utf8");
  } catch {}
  if (current !== text) {
    console.error("schema/openapi.json is not what scripts/gen-openapi.mjs writes: run `node scripts/gen-openapi.mjs`");
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
}
