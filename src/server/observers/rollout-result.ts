// How a node group's rollout of a version ended. Its own module, importing nothing: the change history's JSON
// (daemon/change-entry-json.ts) carries it to the dashboard.

export type RolloutResult = "acked" | "nacked" | "superseded" | "disconnected";
