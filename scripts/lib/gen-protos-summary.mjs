// What gen-protos.mjs says when it is done: how many files it generated and, when it matters, the Envoy v3 files it
// left out because @grpc/grpc-js-xds does not ship what they import. That list is the same on every build of the same
// package versions, so an ordinary build says it only when it differs from the last build's (issue 18, item 21:
// "5 Envoy v3 files left out" on every build was noise); --verbose and --dry-run always say it.

/**
 * @param {{ generated: number, skipped: [string, string[]][], dryRun?: boolean, verbose?: boolean, lastLeftOut?: string }} o
 *   `skipped`: each file left out with the imports it lacks; `lastLeftOut`: the `leftOut` of the last build, if any.
 * @returns {{ line: string, leftOut: string }} the line to print, and what to keep for the next build to compare.
 */
export function genProtosSummary({ generated, skipped, dryRun = false, verbose = false, lastLeftOut }) {
  const line = `gen-protos: ${generated} files ${dryRun ? "would be generated" : "generated"} into src/gen`;
  const leftOut = leftOutText(skipped);
  if (leftOut === "" || (!dryRun && !verbose && leftOut === lastLeftOut)) return { line, leftOut };
  return { line: `${line}; ${leftOut}`, leftOut };
}

/** The files left out, grouped by the imports they lack, in one sentence; "" when none is. */
function leftOutText(skipped) {
  if (skipped.length === 0) return "";
  const byMissing = new Map(); // the missing imports, as one string → the files that lack them
  for (const [file, missing] of skipped) {
    const key = missing.join(", ");
    byMissing.set(key, [...(byMissing.get(key) ?? []), file]);
  }
  const list = [...byMissing].map(([missing, files]) => `${files.join(", ")} (imports ${missing})`);
  return (
    `${skipped.length} Envoy v3 file${skipped.length === 1 ? "" : "s"} left out because @grpc/grpc-js-xds does not ship what ` +
    `${skipped.length === 1 ? "it imports" : "they import"}, so there are no types for them: ${list.join("; ")}`
  );
}
